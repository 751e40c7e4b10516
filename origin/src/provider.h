/*
 * provider.h - where tracking numbers come from: the telephony provider
 * interface.
 *
 * A provider is a table of function pointers, one file per
 * implementation, opened once at start (as a VFS is):
 *
 *   provider_inventory.c  numbers the operator already owns, loaded
 *                         through the API (POST /v1/inventory); the
 *                         embedded default, no network
 *   provider_twilio.c     Twilio's REST API through libcurl
 *
 * The lifecycle (lifecycle.c) is the only caller. It never calls a
 * provider while holding the database: every purchase or release is
 * first written down as an intent, then asked of the provider, then
 * recorded as done or failed. The answer DNI_PROV_UNKNOWN (a timeout, a
 * dropped connection) means the provider may or may not have done it;
 * the intent then stays pending and is settled against list() later.
 *
 * Thread safety: a provider is used by one thread at a time (the
 * lifecycle serialises its work behind one lock).
 */
#ifndef DNI_PROVIDER_H
#define DNI_PROVIDER_H

#include <stddef.h>

#include "origin.h"

/* What a provider call did. */
enum {
    DNI_PROV_OK = 0,
    DNI_PROV_FAILED = -1, /* refused or failed: certainly not done */
    DNI_PROV_UNKNOWN = -2 /* no answer (timeout, connection lost): maybe done */
};

/* A number as a provider knows it. */
typedef struct dni_prov_number {
    char number[20];    /* E.164 */
    char sid[64];       /* the provider's id of an owned number ("" none) */
    char area_code[8];  /* "" when it has none or it is unknown */
    int toll_free;
    char label[96];     /* the provider's free-text name of an owned number */
} dni_prov_number_t;

/* What to search for. */
typedef struct dni_prov_query {
    const char *country;   /* ISO 3166 alpha-2, e.g. "US" */
    int toll_free;         /* 1: toll-free numbers, 0: local numbers */
    const char *area_code; /* local only; NULL: any */
    const char *contains;  /* digits the number must contain; NULL: any */
    int limit;             /* most results wanted (1..50) */
} dni_prov_query_t;

/* Where the provider must send calls to an acquired number. */
typedef struct dni_prov_hooks {
    const char *voice_url;  /* the voice URL (POST /v1/voice) */
    const char *status_url; /* call status events (POST /v1/webhooks/call) */
    const char *label;      /* a name to remember it by, e.g. "edgedni p1" */
} dni_prov_hooks_t;

typedef struct dni_provider dni_provider_t;

/* Called by list() once per owned number; return nonzero to stop. */
typedef int (*dni_prov_each_fn)(void *ud, const dni_prov_number_t *n);

struct dni_provider {
    const char *kind; /* "inventory", "twilio" */

    /* Fills out[0..max) with numbers that could be acquired now; returns
     * how many, or DNI_PROV_FAILED / DNI_PROV_UNKNOWN with err set. */
    int (*search)(dni_provider_t *p, const dni_prov_query_t *q,
                  dni_prov_number_t *out, int max, char *err, size_t errlen);

    /* Acquires number (E.164, from search) and points its voice URL and
     * status callback at hooks. Fills *got (its sid). DNI_PROV_OK, or
     * DNI_PROV_FAILED / DNI_PROV_UNKNOWN with err set. */
    int (*acquire)(dni_provider_t *p, const char *number,
                   const dni_prov_hooks_t *hooks, dni_prov_number_t *got,
                   char *err, size_t errlen);

    /* Gives an owned number back (n->sid when the provider needs it; an
     * empty sid is looked up by number). A number already gone is OK. */
    int (*release)(dni_provider_t *p, const dni_prov_number_t *n, char *err,
                   size_t errlen);

    /* Calls each() for every number owned. DNI_PROV_OK or an error. */
    int (*list)(dni_provider_t *p, dni_prov_each_fn each, void *ud,
                char *err, size_t errlen);

    void (*close)(dni_provider_t *p);
};

/* ---- implementations --------------------------------------------------- */

/* The operator's own numbers, kept in the database (inventory table). */
dni_provider_t *dni__provider_inventory_open(dni_store_t *store);

/* Twilio's REST API. base: e.g. "https://api.twilio.com" (no trailing
 * '/'); account: the account SID; user/secret: Basic credentials (the
 * account SID and auth token, or an API key SID and its secret);
 * timeout_s: per request. NULL after writing a reason into err. */
typedef struct dni_twilio_config {
    const char *base;
    const char *account;
    const char *user;
    const char *secret;
    double timeout_s;
} dni_twilio_config_t;

dni_provider_t *dni__provider_twilio_open(const dni_twilio_config_t *c,
                                          char *err, size_t errlen);

/* The area code of a North American number (+1NPA...) into out[4] and
 * whether it is toll-free; 0, or -1 when number is not +1 and 11 digits
 * (out is then ""). */
int dni__nanp_area(const char *e164, char out[8], int *toll_free);

#endif /* DNI_PROVIDER_H */
