/*
 * recent_calls.c - the writer thread's record of the latest call start
 * per called number, so that a sync re-attributes only the leases that
 * can matter (see below). Reads calls through the store; the store knows
 * nothing of it: the record is freed by a thread-exit destructor when the
 * writer thread stops.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

/*
 * Which numbers had a call lately, so that a sync re-attributes only the
 * leases that can matter: a heartbeat on a lease whose number has had no
 * call since the lease started cannot change any call's attribution.
 * Kept by the writer thread alone (all jobs run there): loaded once from
 * calls (number, start) and raised by every webhook. A value too high
 * (a webhook job rolled back, a call whose start moved earlier) only costs
 * a useless check; it is never too low.
 */
typedef struct recent_entry {
    char number[24];
    double latest;
} recent_entry_t;

typedef struct recent_calls {
    recent_entry_t *v; /* open addressing; number[0] == 0 is empty */
    size_t mask, n;
    int loaded;
    int broken; /* could not load or grow: every number counts as called */
} recent_calls_t;

static _Thread_local recent_calls_t tl_recent;

static size_t hash_number(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static recent_entry_t *recent_slot(recent_calls_t *r, const char *number)
{
    size_t i = hash_number(number) & r->mask;
    while (r->v[i].number[0] && strcmp(r->v[i].number, number))
        i = (i + 1) & r->mask;
    return &r->v[i];
}

static void recent_put(recent_calls_t *r, const char *number, double t)
{
    if (r->broken || strlen(number) >= sizeof r->v[0].number)
        return;
    if (!r->v || 2 * (r->n + 1) > r->mask + 1) {
        size_t cap = r->v ? 2 * (r->mask + 1) : 1024;
        recent_entry_t *old = r->v;
        size_t oldcap = r->v ? r->mask + 1 : 0;
        r->v = calloc(cap, sizeof *r->v);
        if (!r->v) {
            r->v = old;
            r->broken = 1;
            return;
        }
        r->mask = cap - 1;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].number[0])
                *recent_slot(r, old[i].number) = old[i];
        free(old);
    }
    recent_entry_t *e = recent_slot(r, number);
    if (!e->number[0]) {
        snprintf(e->number, sizeof e->number, "%s", number);
        e->latest = t;
        r->n++;
    } else if (t > e->latest) {
        e->latest = t;
    }
}

/* Frees a thread's record when the thread exits (the writer, when the
 * store closes). */
static pthread_key_t recent_key;
static pthread_once_t recent_once = PTHREAD_ONCE_INIT;

static void recent_free(void *p)
{
    recent_calls_t *r = p;
    free(r->v);
    memset(r, 0, sizeof *r);
}

static void recent_key_make(void)
{
    pthread_key_create(&recent_key, recent_free);
}

static void recent_load(dni_db_t *db)
{
    recent_calls_t *r = &tl_recent;
    if (r->loaded)
        return;
    r->loaded = 1;
    pthread_once(&recent_once, recent_key_make);
    pthread_setspecific(recent_key, r);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT to_number, max(started_at) FROM calls GROUP BY to_number");
    int rc = DNI_ERR;
    if (st) {
        while ((rc = dni__step(st)) == DNI_ROW)
            recent_put(r, dni__col_text(st, 0),
                       dni__col_double(st, 1));
        dni__reset(st);
    }
    if (rc != DNI_DONE)
        r->broken = 1;
}

void dni__recent_call_note(dni_db_t *db, const char *number, double start)
{
    recent_load(db);
    recent_put(&tl_recent, number, start);
}

int dni__recent_call_since(dni_db_t *db, const char *number, double since)
{
    /* Other processes record calls too: this one's record may be low. */
    if (dni__db_shared(db))
        return 1;
    recent_load(db);
    recent_calls_t *r = &tl_recent;
    if (r->broken || strlen(number) >= sizeof r->v[0].number)
        return 1;
    if (!r->v)
        return 0;
    recent_entry_t *e = recent_slot(r, number);
    return e->number[0] && e->latest >= since;
}
