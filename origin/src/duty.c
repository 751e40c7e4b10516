/*
 * duty.c - scheduled work that must run in one process at a time (the
 * number lifecycle, postback delivery) when several processes share one
 * database.
 *
 * A duty is a row of `settings` (key "duty:NAME") saying until when which
 * process holds it: "UNTIL|HOLDER", UNTIL in milliseconds, zero-padded to
 * 20 digits so that text order is time order. A process takes the duty
 * when the row is missing or has run out, and renews it while it holds
 * it; the upsert's WHERE decides inside the database, so two processes
 * asking at once cannot both get it. A process is named by its host and
 * listening address: one restarted after a crash takes its duties back at
 * once; one that is gone keeps them only until UNTIL, and another takes
 * over then. With a database only this process writes (SQLite), every
 * duty is this process's and nothing is written.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "origin.h"

static char me[400];
static const char *me_listen;
static pthread_once_t me_once = PTHREAD_ONCE_INIT;

static void me_init(void)
{
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    snprintf(me, sizeof me, "%s %s", host, me_listen ? me_listen : "");
}

typedef struct duty_job {
    const char *key;
    double now, until;
    int held;
} duty_job_t;

static void stamp(char *out, size_t n, double t)
{
    snprintf(out, n, "%020lld", (long long)(t * 1000));
}

static int duty_job(dni_db_t *db, void *arg)
{
    duty_job_t *j = arg;
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO settings (key, value) VALUES (?1, ?2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            " WHERE substr(settings.value, 1, 20) < ?3"
            " OR substr(settings.value, 22) = ?4");
    if (!st)
        return 500;
    char value[440], now[24];
    stamp(value, 21, j->until);
    snprintf(value + 20, sizeof value - 20, "|%s", me);
    stamp(now, sizeof now, j->now);
    dni__bind_text(st, 1, j->key);
    dni__bind_text(st, 2, value);
    dni__bind_text(st, 3, now);
    dni__bind_text(st, 4, me);
    int rc = dni__step(st);
    j->held = rc == DNI_DONE && dni__changes(db) > 0;
    dni__reset(st);
    return rc == DNI_DONE ? 200 : 500;
}

int dni__duty_hold(dni_origin_t *o, dni_duty_t *d)
{
    dni_store_t *s = o->store;
    if (!dni__store_shared(s))
        return 1;
    me_listen = o->cfg.listen;
    pthread_once(&me_once, me_init);
    d->gained = 0;
    double now = dni__now();
    if (d->held_until - now > d->ttl_s / 2)
        return 1;
    if (d->held_until <= now && now < d->next_try)
        return 0;
    char key[80];
    snprintf(key, sizeof key, "duty:%s", d->name);
    duty_job_t j = {key, now, now + d->ttl_s, 0};
    int status = dni__store_write(s, duty_job, &j);
    int was = d->held_until > now;
    if (status < 400 && j.held) {
        d->held_until = j.until;
        d->gained = !was;
        return 1;
    }
    if (was && status >= 400)
        return now < d->held_until; /* not renewed: still ours until then */
    d->held_until = 0;
    d->next_try = now + 1;
    return 0;
}
