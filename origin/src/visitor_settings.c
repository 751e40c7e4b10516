/*
 * visitor_settings.c - the pool settings the edge reads to decide who may
 * take one of the pool's numbers (docs/edge.md, "How leases are
 * protected"; docs/pool.md for unconfirmed_hold_s). pools.c accepts these
 * keys and calls the check below; the values reach the edges inside the
 * pool's config, as stored.
 *
 *   priority            order among pools sharing a default number: the
 *                       lowest is tried first (ties: by id); default 0
 *   unconfirmed_hold_s  how long a new lease holds until the snippet or a
 *                       second page view confirms it; default 60
 *   consent_required    make a lease only with the consent cookie; false
 *   consent_cookie      its name; "dni_consent"
 *   client_budget       new leases per client address per window, 0 for
 *                       no limit; 10
 *   client_budget_s     the window, seconds; 600
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "visitors.h"

static const char *const keys[] = {"priority",         "unconfirmed_hold_s",
                                   "consent_required", "consent_cookie",
                                   "client_budget",    "client_budget_s",
                                   NULL};

int dni__pool_visitor_key(const char *key)
{
    for (int i = 0; key && keys[i]; i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

/* A cookie name as RFC 6265 allows it (a token), 1..64 bytes. */
static int cookie_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c))
            return 0;
    }
    return 1;
}

const char *dni__pool_validate_visitors(cJSON *pool, char *msg, size_t msglen)
{
    const char *e;
    if ((e = dni__number_field(pool, "priority", 0, -1e6, 1e6, 1, msg, msglen)) ||
        (e = dni__number_field(pool, "unconfirmed_hold_s", 60, 1, 604800, 0, msg,
                    msglen)) ||
        (e = dni__number_field(pool, "client_budget", 10, 0, 1e6, 1, msg, msglen)) ||
        (e = dni__number_field(pool, "client_budget_s", 600, 1, 604800, 0, msg, msglen)))
        return e;
    cJSON *req = cJSON_GetObjectItemCaseSensitive(pool, "consent_required");
    if (!req)
        cJSON_AddFalseToObject(pool, "consent_required");
    else if (!cJSON_IsBool(req)) {
        snprintf(msg, msglen, "consent_required must be true or false");
        return msg;
    }
    cJSON *ck = cJSON_GetObjectItemCaseSensitive(pool, "consent_cookie");
    if (!ck)
        cJSON_AddStringToObject(pool, "consent_cookie", "dni_consent");
    else if (!cJSON_IsString(ck) || !cookie_name(ck->valuestring)) {
        snprintf(msg, msglen,
                 "consent_cookie must be a cookie name (1..64 token bytes)");
        return msg;
    }
    return NULL;
}
