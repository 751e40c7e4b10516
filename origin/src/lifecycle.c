/*
 * lifecycle.c - a pool's numbers over time: the stockpile, auto-scaling,
 * the month-end scale-down, alerts, and settling what a provider did
 * when its answer was lost.
 *
 * One scheduler thread wakes every second and, for each pool, runs the
 * rules of scaling.c on figures read from the database, then carries out
 * what they decided through the pool's provider (provider.h). Every
 * action is serialised behind one lock (the on-demand scale-down route
 * takes it too), so a rule never races itself.
 *
 * Never lose a number, never buy one twice:
 *   1. the intent (number_ops, state pending) is committed first, together
 *      with the record that this rule ran for this period (lifecycle_runs),
 *      so a restart never runs a step twice;
 *   2. then the provider is asked;
 *   3. then the outcome is committed: the number joins the pool (numbers
 *      row, the pool object's list, owned_numbers) and the intent is done;
 *      or the intent failed.
 * An answer that never came (timeout, crash between 2 and 3) leaves the
 * intent pending; pending purchases are settled against the provider's
 * list of owned numbers (at start, and after any lost answer): listed
 * means bought, unlisted means not. A purchase the provider completed
 * after we gave up on it is adopted when a later list shows it.
 *
 * Releasing: a number leaves the pool first (the edges stop showing it at
 * their next sync, at the latest when its grant expires), and is given
 * back to the provider only after --grant-ttl more (plus a margin), so no
 * edge can still be showing it. A release that fails is retried; the
 * number stays recorded as ours until the provider confirms.
 */
#define _GNU_SOURCE

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "origin.h"
#include "provider.h"
#include "scaling.h"

#define ALERT_EVERY_S 3600.0   /* one alert of a kind per pool per hour */
#define ALERT_ATTEMPTS 5       /* deliveries tried, 2^n s apart */
#define ALERT_TIMEOUT_S 5.0
#define RELEASE_MARGIN_S 5.0   /* after the grants of a released number */
#define SEARCH_BACKOFF_S 60.0  /* after a failed search or purchase */
#define SLOW_EVERY_S 60.0      /* not swapping, pruning */
#define ADOPT_EVERY_S 600.0    /* full reconciliation against the list */
#define MAX_ACQUIRE 20         /* numbers acquired per pool per tick */
#define BACKOFFS 64

struct dni_lifecycle {
    dni_origin_t *o;
    pthread_t thread;
    pthread_mutex_t work; /* one lifecycle action at a time */
    pthread_mutex_t mu;   /* stopping, with cv */
    pthread_cond_t cv;
    int stopping;
    dni_provider_t *inventory, *twilio;
    int reconcile;     /* pending purchases to settle */
    double next_slow, next_adopt;
    dni_duty_t duty;   /* one process runs the lifecycle (duty.c) */
    char voice_url[600], status_url[600];
    struct {
        char pool[80];
        double until;
    } backoff[BACKOFFS];
};

static dni_provider_t *provider_of(dni_lifecycle_t *L, const char *kind)
{
    if (!strcmp(kind, "twilio"))
        return L->twilio;
    if (!strcmp(kind, "inventory"))
        return L->inventory;
    return NULL;
}

static int backed_off(dni_lifecycle_t *L, const char *pool, double now)
{
    for (int i = 0; i < BACKOFFS; i++)
        if (!strcmp(L->backoff[i].pool, pool))
            return now < L->backoff[i].until;
    return 0;
}

static void back_off(dni_lifecycle_t *L, const char *pool, double until)
{
    int slot = 0;
    for (int i = 0; i < BACKOFFS; i++) {
        if (!strcmp(L->backoff[i].pool, pool)) {
            slot = i;
            break;
        }
        if (L->backoff[i].until < L->backoff[slot].until)
            slot = i;
    }
    snprintf(L->backoff[slot].pool, sizeof L->backoff[slot].pool, "%s", pool);
    L->backoff[slot].until = until;
}

/* ---- database helpers (inside write jobs) ------------------------------ */

static int exec_done(dni_stmt_t *st)
{
    int rc = dni__step(st);
    dni__reset(st);
    return rc == DNI_DONE ? 0 : -1;
}

static int event_add(dni_db_t *db, const char *pool, double t,
                     const char *kind, const char *number, const char *reason,
                     const char *figures)
{
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO pool_events (pool_id, t, kind, number, reason, figures)"
            " VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, '{}'))");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_double(st, 2, t);
    dni__bind_text(st, 3, kind);
    if (number)
        dni__bind_text(st, 4, number);
    dni__bind_text(st, 5, reason);
    dni__bind_text(st, 6, figures ? figures : "{}");
    return exec_done(st);
}

/* Raises an alert unless one of the same kind went out for this pool less
 * than ALERT_EVERY_S ago. 1 raised, 0 rate-limited, -1 database error. */
static int alert_add(dni_db_t *db, const char *pool, double now,
                     const char *alert, const char *reason,
                     const char *figures)
{
    dni_stmt_t *st = dni__stmt(db, "SELECT max(t) FROM pool_events"
                                     " WHERE pool_id = ?1 AND alert = ?2");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_text(st, 2, alert);
    double last = 0;
    if (dni__step(st) == DNI_ROW &&
        !dni__col_is_null(st, 0))
        last = dni__col_double(st, 0);
    dni__reset(st);
    if (!dni__alert_allowed(last, now, ALERT_EVERY_S))
        return 0;
    st = dni__stmt(
        db, "INSERT INTO pool_events (pool_id, t, kind, reason, figures, alert,"
            " delivery, next_try) SELECT ?1, ?2, 'alert', ?3,"
            " coalesce(?4, '{}'), ?5,"
            " CASE WHEN (SELECT alert_url FROM pool_telephony WHERE pool_id = ?1)"
            " IS NULL THEN 'none' ELSE 'pending' END, ?2");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_double(st, 2, now);
    dni__bind_text(st, 3, reason);
    dni__bind_text(st, 4, figures ? figures : "{}");
    dni__bind_text(st, 5, alert);
    return exec_done(st) ? -1 : 1;
}

/*
 * Adds number to (add = 1) or removes it from (add = 0) the pool's object
 * and its numbers rows, as a PATCH of `numbers` would: version + 1, so
 * the edges take the new config, and number_limit raised if an addition
 * needs it. Returns 1 when done, 0 when the pool does not exist, -1 on a
 * database error.
 */
static int pool_edit(dni_db_t *db, const char *pool, const char *number,
                     int add, double now)
{
    cJSON *cfg = dni__pool_load(db, pool);
    if (!cfg)
        return 0;
    cJSON *nums = cJSON_GetObjectItemCaseSensitive(cfg, "numbers");
    if (!cJSON_IsArray(nums)) {
        cJSON_Delete(cfg);
        return -1;
    }
    int at = -1, i = 0;
    for (cJSON *it = nums->child; it; it = it->next, i++)
        if (cJSON_IsString(it) && !strcmp(it->valuestring, number))
            at = i;
    if (add && at < 0)
        cJSON_AddItemToArray(nums, cJSON_CreateString(number));
    else if (!add && at >= 0)
        cJSON_DeleteItemFromArray(nums, at);
    int count = cJSON_GetArraySize(nums);
    cJSON *lim = cJSON_GetObjectItemCaseSensitive(cfg, "number_limit");
    if (cJSON_IsNumber(lim) && lim->valuedouble < count)
        cJSON_SetNumberValue(lim, count);
    cJSON *ver = cJSON_GetObjectItemCaseSensitive(cfg, "version");
    double version = cJSON_IsNumber(ver) ? ver->valuedouble + 1 : 1;
    if (ver)
        cJSON_SetNumberValue(ver, version);
    cJSON *upd = cJSON_GetObjectItemCaseSensitive(cfg, "updated_at");
    if (upd)
        cJSON_SetNumberValue(upd, now);
    char *text = cJSON_PrintUnformatted(cfg);
    char *settings = dni__pool_settings_text(cfg, pool);
    cJSON_Delete(cfg);
    if (!text || !settings) {
        free(text);
        free(settings);
        return -1;
    }
    dni_stmt_t *st = dni__stmt(
        db, "UPDATE pools SET version = ?2, config = ?3, updated_at = ?4,"
            " settings = ?5 WHERE id = ?1");
    if (!st) {
        free(text);
        free(settings);
        return -1;
    }
    dni__bind_text(st, 1, pool);
    dni__bind_int64(st, 2, (int64_t)version);
    dni__bind_text_copy(st, 3, text);
    free(text);
    dni__bind_double(st, 4, now);
    dni__bind_text_copy(st, 5, settings);
    free(settings);
    if (exec_done(st))
        return -1;
    st = dni__stmt(db, add ? "INSERT INTO numbers (number, pool_id)"
                             " VALUES (?1, ?2) ON CONFLICT DO NOTHING"
                           : "DELETE FROM numbers WHERE number = ?1"
                             " AND pool_id = ?2");
    if (!st)
        return -1;
    dni__bind_text(st, 1, number);
    dni__bind_text(st, 2, pool);
    return exec_done(st) ? -1 : 1;
}

/* ---- intents ----------------------------------------------------------- */

typedef struct intent {
    int64_t id;
    char pool[80];
    char op[8];
    char number[20];
    char kind[16];
    char sid[64];
    char area[8];
    int toll_free;
    int attempts;
    char reason[128];
    char figures[512];
} intent_t;

static void intent_read(intent_t *it, dni_stmt_t *st)
{
    /* id, pool_id, op, number, provider, provider_sid, area_code,
     * toll_free, attempts, reason, figures */
    memset(it, 0, sizeof *it);
    it->id = dni__col_int64(st, 0);
    snprintf(it->pool, sizeof it->pool, "%s", dni__col_text(st, 1));
    snprintf(it->op, sizeof it->op, "%s", dni__col_text(st, 2));
    snprintf(it->number, sizeof it->number, "%s", dni__col_text(st, 3));
    snprintf(it->kind, sizeof it->kind, "%s", dni__col_text(st, 4));
    if (!dni__col_is_null(st, 5))
        snprintf(it->sid, sizeof it->sid, "%s", dni__col_text(st, 5));
    if (!dni__col_is_null(st, 6))
        snprintf(it->area, sizeof it->area, "%s", dni__col_text(st, 6));
    it->toll_free = dni__col_int(st, 7);
    it->attempts = dni__col_int(st, 8);
    snprintf(it->reason, sizeof it->reason, "%s", dni__col_text(st, 9));
    snprintf(it->figures, sizeof it->figures, "%s", dni__col_text(st, 10));
}

#define INTENT_COLS                                                           \
    "id, pool_id, op, number, provider, provider_sid, area_code, toll_free,"  \
    " attempts, reason, figures"

typedef struct intents_job {
    const char *rule, *period; /* the run to record, or NULL */
    intent_t *it;
    int n;
    double now;
    int already; /* the run was recorded before: nothing done */
} intents_job_t;

static int intents_job(dni_db_t *db, void *arg)
{
    intents_job_t *j = arg;
    dni_stmt_t *st;
    if (j->rule) {
        st = dni__stmt(db, "INSERT INTO lifecycle_runs (pool_id, rule, period,"
                           " t) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->it[0].pool);
        dni__bind_text(st, 2, j->rule);
        dni__bind_text(st, 3, j->period);
        dni__bind_double(st, 4, j->now);
        if (exec_done(st))
            return 500;
        if (dni__changes(db) == 0) {
            j->already = 1;
            return 409;
        }
    }
    for (int i = 0; i < j->n; i++) {
        intent_t *it = &j->it[i];
        st = dni__stmt(db, "INSERT INTO number_ops (pool_id, op, number, provider,"
                           " area_code, toll_free, state, reason, figures,"
                           " created_at, attempts) VALUES (?1, 'acquire', ?2, ?3,"
                           " ?4, ?5, 'pending', ?6, coalesce(?7, '{}'), ?8, 1)"
                           " RETURNING id");
        if (!st)
            return 500;
        dni__bind_text(st, 1, it->pool);
        dni__bind_text(st, 2, it->number);
        dni__bind_text(st, 3, it->kind);
        if (it->area[0])
            dni__bind_text(st, 4, it->area);
        dni__bind_int(st, 5, it->toll_free);
        dni__bind_text(st, 6, it->reason);
        dni__bind_text(st, 7, it->figures);
        dni__bind_double(st, 8, j->now);
        int rc = dni__step(st);
        if (rc == DNI_ROW)
            it->id = dni__col_int64(st, 0);
        dni__reset(st);
        if (rc == DNI_CONSTRAINT)
            return 409; /* a pending intent for this number already */
        if (rc != DNI_ROW)
            return 500;
    }
    return 200;
}

/* A rule that found nothing to do still records its run, with an event
 * saying why (no number available, provider failing). */
typedef struct note_job {
    const char *pool, *rule, *period;
    const char *kind, *reason, *figures;
    const char *alert; /* raise this alert too, or NULL */
    double now;
} note_job_t;

static int note_job(dni_db_t *db, void *arg)
{
    note_job_t *j = arg;
    if (j->rule) {
        dni_stmt_t *st = dni__stmt(db, "INSERT INTO lifecycle_runs"
                                         " (pool_id, rule, period, t)"
                                         " VALUES (?1, ?2, ?3, ?4)"
                                         " ON CONFLICT DO NOTHING");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->pool);
        dni__bind_text(st, 2, j->rule);
        dni__bind_text(st, 3, j->period);
        dni__bind_double(st, 4, j->now);
        if (exec_done(st))
            return 500;
    }
    if (j->kind && event_add(db, j->pool, j->now, j->kind, NULL, j->reason,
                             j->figures))
        return 500;
    if (j->alert && alert_add(db, j->pool, j->now, j->alert, j->reason,
                              j->figures) < 0)
        return 500;
    return 200;
}

/* Settles an acquisition: ok (the provider sold it: got) or failed. */
typedef struct settle_job {
    const intent_t *it;
    const dni_prov_number_t *got; /* NULL: failed */
    const char *error;
    const char *note;  /* how it was settled, for the event */
    int revive;        /* a failed intent may be settled as bought */
    double now;
    int added;
} settle_job_t;

static int settle_job(dni_db_t *db, void *arg)
{
    settle_job_t *j = arg;
    const intent_t *it = j->it;
    dni_stmt_t *st = dni__stmt(db, "SELECT state FROM number_ops WHERE id = ?1");
    if (!st)
        return 500;
    dni__bind_int64(st, 1, it->id);
    char state[16] = "";
    if (dni__step(st) == DNI_ROW)
        snprintf(state, sizeof state, "%s", dni__col_text(st, 0));
    dni__reset(st);
    if (strcmp(state, "pending") && !(j->revive && !strcmp(state, "failed")))
        return 200; /* settled already */
    char figures[700];
    snprintf(figures, sizeof figures, "%s", it->figures[0] ? it->figures : "{}");
    if (!j->got) {
        st = dni__stmt(db, "UPDATE number_ops SET state = 'failed', done_at = ?2,"
                           " error = ?3 WHERE id = ?1");
        if (!st)
            return 500;
        dni__bind_int64(st, 1, it->id);
        dni__bind_double(st, 2, j->now);
        dni__bind_text(st, 3, j->error ? j->error : "failed");
        if (exec_done(st))
            return 500;
        char reason[400];
        snprintf(reason, sizeof reason, "could not acquire %s (%s): %s",
                 it->number, it->reason, j->error ? j->error : "failed");
        if (event_add(db, it->pool, j->now, "provider_error", it->number,
                      reason, figures) ||
            alert_add(db, it->pool, j->now, "provider_failing", reason,
                      figures) < 0)
            return 500;
        return 200;
    }
    const dni_prov_number_t *g = j->got;
    st = dni__stmt(db, "UPDATE number_ops SET state = 'done', done_at = ?2,"
                       " provider_sid = ?3, error = NULL WHERE id = ?1");
    if (!st)
        return 500;
    dni__bind_int64(st, 1, it->id);
    dni__bind_double(st, 2, j->now);
    dni__bind_text(st, 3, g->sid);
    if (exec_done(st))
        return 500;
    st = dni__stmt(db, "INSERT INTO owned_numbers (number, pool_id,"
                       " provider, provider_sid, area_code, toll_free, acquired_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (number)"
                       " DO UPDATE SET pool_id = excluded.pool_id,"
                       " provider = excluded.provider,"
                       " provider_sid = excluded.provider_sid,"
                       " area_code = excluded.area_code,"
                       " toll_free = excluded.toll_free,"
                       " acquired_at = excluded.acquired_at");
    if (!st)
        return 500;
    dni__bind_text(st, 1, it->number);
    dni__bind_text(st, 2, it->pool);
    dni__bind_text(st, 3, it->kind);
    dni__bind_text(st, 4, g->sid);
    const char *area = g->area_code[0] ? g->area_code : it->area;
    if (*area)
        dni__bind_text(st, 5, area);
    dni__bind_int(st, 6, g->toll_free || it->toll_free);
    dni__bind_double(st, 7, j->now);
    if (exec_done(st))
        return 500;
    int in_pool = pool_edit(db, it->pool, it->number, 1, j->now);
    if (in_pool < 0)
        return 500;
    j->added = in_pool;
    char reason[300];
    snprintf(reason, sizeof reason, "%s%s%s", it->reason, j->note ? ": " : "",
             j->note ? j->note : "");
    if (in_pool && event_add(db, it->pool, j->now, "added", it->number, reason,
                             figures))
        return 500;
    return 200;
}

/* ---- acquiring --------------------------------------------------------- */

typedef struct pool_row {
    char id[80];
    double created_at;
    int has_alert;
    char kind[16], country[4], area[8];
    int toll_free;
    int scale_enabled;
    double step_s;
    unsigned step_numbers, max, stockpile, limit;
    double window_s;
    unsigned numbers, pending;
} pool_row_t;

/* 1 when a number offered by a provider is already ours in some way. */
static int taken(dni_db_t *db, const char *number)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT EXISTS (SELECT 1 FROM numbers WHERE number = ?1)"
            " OR EXISTS (SELECT 1 FROM owned_numbers WHERE number = ?1)"
            " OR EXISTS (SELECT 1 FROM number_ops WHERE number = ?1"
            " AND state = 'pending')"
            " OR EXISTS (SELECT 1 FROM pools WHERE default_number = ?1"
            " OR overflow_number = ?1)");
    if (!st)
        return 1;
    dni__bind_text(st, 1, number);
    int t = dni__step(st) != DNI_ROW || dni__col_int(st, 0);
    dni__reset(st);
    return t;
}

static int run_done(dni_db_t *db, const char *pool, const char *rule,
                    const char *period)
{
    dni_stmt_t *st = dni__stmt(db, "SELECT 1 FROM lifecycle_runs WHERE"
                                     " pool_id = ?1 AND rule = ?2 AND period = ?3");
    if (!st)
        return 1;
    dni__bind_text(st, 1, pool);
    dni__bind_text(st, 2, rule);
    dni__bind_text(st, 3, period);
    int done = dni__step(st) == DNI_ROW;
    dni__reset(st);
    return done;
}

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dni-origin: lifecycle: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Asks the provider for one intent's number and settles it. */
static void acquire_one(dni_lifecycle_t *L, dni_provider_t *prov,
                        const intent_t *it)
{
    char err[300] = "";
    dni_prov_number_t got;
    char label[120];
    snprintf(label, sizeof label, "edgedni %s", it->pool);
    dni_prov_hooks_t hooks = {L->voice_url, L->status_url, label};
    int rc = prov->acquire(prov, it->number, &hooks, &got, err, sizeof err);
    double now = dni__now();
    if (rc == DNI_PROV_UNKNOWN) {
        /* Maybe bought: the list says, next tick. */
        log_line("no answer acquiring %s for %s (%s); settling against the "
                 "provider's list", it->number, it->pool, err);
        L->reconcile = 1;
        return;
    }
    settle_job_t j = {it, rc == DNI_PROV_OK ? &got : NULL, err, NULL, 0, now, 0};
    if (dni__store_write(L->o->store, settle_job, &j) >= 400)
        L->reconcile = 1; /* the outcome is in doubt for us: settle later */
    if (rc != DNI_PROV_OK)
        back_off(L, it->pool, now + SEARCH_BACKOFF_S);
    if (j.added)
        dni__grants_changed();
}

/*
 * Acquires up to n numbers for pool p: searches by the pool's plan (local
 * in its area code, then toll-free), writes the intents and the run, then
 * buys each. rule/period: the run to record (NULL for the stockpile,
 * which needs none: it counts pending purchases).
 */
static void acquire(dni_lifecycle_t *L, const pool_row_t *p, unsigned n,
                    const char *reason, const char *figures, const char *rule,
                    const char *period)
{
    double now = dni__now();
    dni_provider_t *prov = provider_of(L, p->kind);
    char why[400];
    if (n > MAX_ACQUIRE)
        n = MAX_ACQUIRE;
    if (!prov) {
        snprintf(why, sizeof why, "%s: provider \"%s\" is not configured",
                 reason, p->kind);
        note_job_t j = {p->id, rule, period, "provider_error", why, figures,
                        "provider_failing", now};
        dni__store_write(L->o->store, note_job, &j);
        back_off(L, p->id, now + SEARCH_BACKOFF_S);
        return;
    }
    dni_search_step_t plan[2];
    int steps = dni__search_plan(p->toll_free, p->area[0] ? p->area : NULL, plan);
    intent_t it[MAX_ACQUIRE];
    int have = 0;
    char err[300] = "";
    int failed = 0;
    for (int s = 0; s < steps && have < (int)n; s++) {
        dni_prov_number_t found[50];
        dni_prov_query_t q = {p->country, plan[s].toll_free, plan[s].area_code,
                              NULL, (int)n + 10 > 50 ? 50 : (int)n + 10};
        int k = prov->search(prov, &q, found, 50, err, sizeof err);
        if (k < 0) {
            failed = 1;
            break;
        }
        dni_db_t *db = dni__store_reader(L->o->store);
        for (int i = 0; i < k && have < (int)n; i++) {
            int dup = 0;
            for (int h = 0; h < have; h++)
                dup |= !strcmp(it[h].number, found[i].number);
            if (dup || taken(db, found[i].number))
                continue;
            intent_t *x = &it[have++];
            memset(x, 0, sizeof *x);
            snprintf(x->pool, sizeof x->pool, "%s", p->id);
            snprintf(x->number, sizeof x->number, "%s", found[i].number);
            snprintf(x->kind, sizeof x->kind, "%s", prov->kind);
            snprintf(x->area, sizeof x->area, "%s",
                     found[i].area_code[0] ? found[i].area_code
                     : plan[s].area_code ? plan[s].area_code : "");
            x->toll_free = plan[s].toll_free;
            if (plan[s].toll_free)
                snprintf(x->reason, sizeof x->reason, "%s (toll-free)", reason);
            else if (plan[s].area_code)
                snprintf(x->reason, sizeof x->reason, "%s (local, area code %s)",
                         reason, plan[s].area_code);
            else
                snprintf(x->reason, sizeof x->reason, "%s (local)", reason);
            snprintf(x->figures, sizeof x->figures, "%s", figures);
        }
        dni__store_reader_done(L->o->store, db);
    }
    if (have == 0) {
        if (failed)
            snprintf(why, sizeof why, "%s: the provider's search failed: %s",
                     reason, err);
        else
            snprintf(why, sizeof why, "%s: the provider has no number available"
                     " (%s)", reason, p->toll_free ? "toll-free"
                     : p->area[0] ? "local in the area code, then toll-free"
                                  : "local, then toll-free");
        note_job_t j = {p->id, rule, period, "provider_error", why, figures,
                        "provider_failing", now};
        dni__store_write(L->o->store, note_job, &j);
        back_off(L, p->id, now + SEARCH_BACKOFF_S);
        return;
    }
    intents_job_t ij = {rule, period, it, have, now, 0};
    int status = dni__store_write(L->o->store, intents_job, &ij);
    if (status >= 400)
        return; /* ran already, or a pending intent for one of them */
    for (int i = 0; i < have; i++)
        acquire_one(L, prov, &it[i]);
}

/* ---- settling lost answers --------------------------------------------- */

typedef struct owned_list {
    dni_prov_number_t *v;
    size_t n, cap;
} owned_list_t;

static int collect(void *ud, const dni_prov_number_t *n)
{
    owned_list_t *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        dni_prov_number_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return 1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *n;
    return 0;
}

static const dni_prov_number_t *owned_find(const owned_list_t *l,
                                           const char *number)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].number, number))
            return &l->v[i];
    return NULL;
}

/*
 * Settles the pending purchases of one provider against its list of
 * owned numbers; with adopt, also takes in numbers the provider lists
 * whose purchase we recorded as failed in the last 7 days (it completed
 * after we gave up). Returns 0, or -1 when the list could not be read.
 */
static int reconcile(dni_lifecycle_t *L, dni_provider_t *prov, int adopt)
{
    double now = dni__now();
    intent_t pend[64];
    int np = 0;
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT " INTENT_COLS " FROM number_ops WHERE op = 'acquire'"
            " AND provider = ?1 AND (state = 'pending' OR (?2 AND state ="
            " 'failed' AND created_at > ?3 AND NOT EXISTS (SELECT 1 FROM"
            " owned_numbers o WHERE o.number = number_ops.number)))"
            " ORDER BY state DESC, id LIMIT 64");
    if (st) {
        dni__bind_text(st, 1, prov->kind);
        dni__bind_int(st, 2, adopt);
        dni__bind_double(st, 3, now - 7 * 86400.0);
        while (np < 64 && dni__step(st) == DNI_ROW)
            intent_read(&pend[np++], st);
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    if (np == 0)
        return 0;
    owned_list_t l = {NULL, 0, 0};
    char err[300] = "";
    if (prov->list(prov, collect, &l, err, sizeof err) != DNI_PROV_OK) {
        free(l.v);
        log_line("cannot read %s's list of numbers (%s); will retry",
                 prov->kind, err);
        return -1;
    }
    int added = 0;
    for (int i = 0; i < np; i++) {
        const dni_prov_number_t *o = owned_find(&l, pend[i].number);
        int was_failed = 0;
        /* A failed intent is only revived by a listed number. */
        db = dni__store_reader(L->o->store);
        st = dni__stmt(db, "SELECT state = 'failed' FROM number_ops WHERE id = ?1");
        if (st) {
            dni__bind_int64(st, 1, pend[i].id);
            if (dni__step(st) == DNI_ROW)
                was_failed = dni__col_int(st, 0);
            dni__reset(st);
        }
        dni__store_reader_done(L->o->store, db);
        if (was_failed && !o)
            continue;
        settle_job_t j = {&pend[i], o, "the provider does not list it: not bought",
                          was_failed ? "adopted: the provider completed the purchase late"
                                     : "settled against the provider's list",
                          was_failed, now, 0};
        if (dni__store_write(L->o->store, settle_job, &j) < 400)
            added |= j.added;
    }
    free(l.v);
    if (added)
        dni__grants_changed();
    return 0;
}

/* ---- releasing --------------------------------------------------------- */

typedef struct shrink_job {
    dni_origin_t *o;
    const char *pool;
    const char *reason;
    const char *rule, *period; /* the run to record, or NULL (on demand) */
    double now;
    int already, missing;
    const char *why;
    cJSON *released;
    char figures[400];
} shrink_job_t;

/* Fills the scale-down figures of every number of the pool. */
typedef struct use_set {
    char (*number)[20];
    dni_number_use_t *use;
    size_t n;
} use_set_t;

static int gather_use(dni_db_t *db, const char *pool,
                      const dni_pool_settings_t *s, double now, use_set_t *u)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT n.number, o.acquired_at,"
            " (SELECT max(started_at) FROM calls c WHERE c.to_number = n.number),"
            " EXISTS (SELECT 1 FROM calls c WHERE c.to_number = n.number"
            " AND c.active = 1)"
            " FROM numbers n LEFT JOIN owned_numbers o ON o.number = n.number"
            " WHERE n.pool_id = ?1 ORDER BY n.number");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    size_t cap = 0;
    while (dni__step(st) == DNI_ROW) {
        if (u->n == cap) {
            cap = cap ? cap * 2 : 64;
            void *a = realloc(u->number, cap * sizeof *u->number);
            if (!a)
                break;
            u->number = a;
            void *b = realloc(u->use, cap * sizeof *u->use);
            if (!b)
                break;
            u->use = b;
        }
        dni_number_use_t *x = &u->use[u->n];
        memset(x, 0, sizeof *x);
        snprintf(u->number[u->n], sizeof u->number[0], "%s",
                 dni__col_text(st, 0));
        x->releasable = !dni__col_is_null(st, 1);
        x->acquired_at = dni__col_double(st, 1);
        x->last_called = dni__col_double(st, 2);
        x->on_hold = dni__col_int(st, 3);
        u->n++;
    }
    dni__reset(st);
    for (size_t i = 0; i < u->n; i++) {
        st = dni__stmt(db, "SELECT start, last_seen, last_join, released_at"
                           " FROM leases WHERE number = ?1"
                           " ORDER BY start DESC LIMIT 16");
        if (!st)
            return -1;
        dni__bind_text(st, 1, u->number[i]);
        while (dni__step(st) == DNI_ROW) {
            double end = dni_lease_end_time(s, dni__col_double(st, 0),
                                            dni__col_double(st, 1),
                                            dni__col_double(st, 2));
            int released = !dni__col_is_null(st, 3);
            if (released && dni__col_double(st, 3) < end)
                end = dni__col_double(st, 3);
            if (!released && end >= now)
                u->use[i].live_lease = 1;
            if (end > u->use[i].last_shown)
                u->use[i].last_shown = end > now ? now : end;
        }
        dni__reset(st);
    }
    return 0;
}

static double last_overflow(dni_db_t *db, const char *pool)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT max(coalesce((SELECT (max(hour) + 1) * 3600.0 FROM"
            " overflow_counts WHERE pool_id = ?1), 0), coalesce((SELECT"
            " max(sec) + 1.0 FROM overflow_recent WHERE pool_id = ?1), 0))");
    if (!st)
        return 0;
    dni__bind_text(st, 1, pool);
    double t = dni__step(st) == DNI_ROW ? dni__col_double(st, 0) : 0;
    dni__reset(st);
    return t;
}

static int shrink_job(dni_db_t *db, void *arg)
{
    shrink_job_t *j = arg;
    dni_stmt_t *st;
    if (j->rule) {
        st = dni__stmt(db, "INSERT INTO lifecycle_runs (pool_id, rule, period,"
                           " t) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->pool);
        dni__bind_text(st, 2, j->rule);
        dni__bind_text(st, 3, j->period);
        dni__bind_double(st, 4, j->now);
        if (exec_done(st))
            return 500;
        if (dni__changes(db) == 0) {
            j->already = 1;
            return 200;
        }
    }
    cJSON *sj = dni__pool_load_settings(db, j->pool);
    st = dni__stmt(db, "SELECT stockpile FROM pool_telephony WHERE pool_id = ?1");
    if (!sj || !st) {
        cJSON_Delete(sj);
        j->missing = 1;
        return 404;
    }
    dni_pool_settings_t s;
    dni__pool_settings(sj, &s);
    cJSON_Delete(sj);
    dni__bind_text(st, 1, j->pool);
    unsigned stockpile = 0;
    if (dni__step(st) == DNI_ROW)
        stockpile = (unsigned)dni__col_int(st, 0);
    dni__reset(st);

    use_set_t u = {NULL, NULL, 0};
    if (gather_use(db, j->pool, &s, j->now, &u)) {
        free(u.number);
        free(u.use);
        return 500;
    }
    st = dni__stmt(db, "SELECT count(*) FROM number_ops WHERE pool_id = ?1"
                       " AND op = 'release' AND reason LIKE 'scale-down%'"
                       " AND created_at >= ?2");
    unsigned released_month = 0;
    if (st) {
        dni__bind_text(st, 1, j->pool);
        dni__bind_double(st, 2, dni__month_start(j->now));
        if (dni__step(st) == DNI_ROW)
            released_month = (unsigned)dni__col_int(st, 0);
        dni__reset(st);
    }
    dni_scale_down_in_t in = {u.use, u.n, stockpile, released_month,
                              last_overflow(db, j->pool),
                              s.attribution_window_s, j->now};
    dni_scale_down_policy_t pol;
    dni__scale_down_policy_init(&pol);
    size_t *pick = malloc((u.n ? u.n : 1) * sizeof *pick);
    size_t k = pick ? dni__scale_down_select(&in, &pol, pick, u.n, &j->why) : 0;
    snprintf(j->figures, sizeof j->figures,
             "{\"numbers\":%zu,\"stockpile\":%u,\"released_this_month\":%u,"
             "\"last_overflow\":%.0f,\"released\":%zu}",
             u.n, stockpile, released_month, in.last_overflow, k);
    int rc = 200;
    double not_before = j->now + j->o->cfg.grant_ttl_s + RELEASE_MARGIN_S;
    for (size_t i = 0; i < k && rc == 200; i++) {
        const char *num = u.number[pick[i]];
        const dni_number_use_t *x = &u.use[pick[i]];
        char fig[400], reason[200];
        snprintf(fig, sizeof fig,
                 "{\"pool_size\":%zu,\"last_shown\":%.0f,\"last_called\":%.0f,"
                 "\"acquired_at\":%.0f,\"last_overflow\":%.0f}",
                 u.n, x->last_shown, x->last_called, x->acquired_at,
                 in.last_overflow);
        snprintf(reason, sizeof reason, "scale-down: %s", j->reason);
        if (pool_edit(db, j->pool, num, 0, j->now) < 0) {
            rc = 500;
            break;
        }
        st = dni__stmt(db, "INSERT INTO number_ops (pool_id, op, number, provider,"
                           " provider_sid, area_code, toll_free, state, reason,"
                           " figures, created_at, not_before)"
                           " SELECT pool_id, 'release', number, provider,"
                           " provider_sid, area_code, toll_free, 'pending', ?2,"
                           " ?3, ?4, ?5 FROM owned_numbers WHERE number = ?1");
        if (!st) {
            rc = 500;
            break;
        }
        dni__bind_text(st, 1, num);
        dni__bind_text(st, 2, reason);
        dni__bind_text(st, 3, fig);
        dni__bind_double(st, 4, j->now);
        dni__bind_double(st, 5, not_before);
        if (exec_done(st) || event_add(db, j->pool, j->now, "released", num,
                                       reason, fig)) {
            rc = 500;
            break;
        }
        cJSON_AddItemToArray(j->released, cJSON_CreateString(num));
    }
    if (rc == 200 && k == 0 && j->rule) {
        /* A month-end run that released nothing says why, once. */
        char reason[200];
        snprintf(reason, sizeof reason, "scale-down: %s: nothing released (%s)",
                 j->reason, j->why);
        if (event_add(db, j->pool, j->now, "scale_down", NULL, reason,
                      j->figures))
            rc = 500;
    }
    free(pick);
    free(u.number);
    free(u.use);
    return rc;
}

/* Numbers we acquired that are in no pool any more (the pool was deleted,
 * or the number was taken out of it by hand): give them back. */
static int orphans_job(dni_db_t *db, void *arg)
{
    dni_lifecycle_t *L = arg;
    double now = dni__now();
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO number_ops (pool_id, op, number, provider, provider_sid,"
            " area_code, toll_free, state, reason, created_at, not_before)"
            " SELECT o.pool_id, 'release', o.number, o.provider, o.provider_sid,"
            " o.area_code, o.toll_free, 'pending', 'no longer in its pool', ?1, ?2"
            " FROM owned_numbers o WHERE NOT EXISTS (SELECT 1 FROM numbers n"
            " WHERE n.number = o.number) AND NOT EXISTS (SELECT 1 FROM number_ops p"
            " WHERE p.number = o.number AND p.state = 'pending')");
    if (!st)
        return 500;
    dni__bind_double(st, 1, now);
    dni__bind_double(st, 2, now + L->o->cfg.grant_ttl_s + RELEASE_MARGIN_S);
    return exec_done(st) ? 500 : 200;
}

/* A cheap look first: the write job runs only when there is one. */
static int orphans_exist(dni_lifecycle_t *L)
{
    static const char *const sql =
        "SELECT EXISTS (SELECT 1 FROM owned_numbers o WHERE NOT EXISTS"
        " (SELECT 1 FROM numbers n WHERE n.number = o.number) AND NOT EXISTS"
        " (SELECT 1 FROM number_ops p WHERE p.number = o.number"
        " AND p.state = 'pending'))";
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(db, sql);
    int yes = 0;
    if (st) {
        yes = dni__step(st) == DNI_ROW && dni__col_int(st, 0);
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    return yes;
}

typedef struct release_done {
    const intent_t *it;
    int ok;
    const char *error;
    double now;
} release_done_t;

static int release_done_job(dni_db_t *db, void *arg)
{
    release_done_t *j = arg;
    const intent_t *it = j->it;
    dni_stmt_t *st;
    if (j->ok) {
        st = dni__stmt(db, "UPDATE number_ops SET state = 'done', done_at = ?2,"
                           " error = NULL WHERE id = ?1 AND state = 'pending'");
        if (!st)
            return 500;
        dni__bind_int64(st, 1, it->id);
        dni__bind_double(st, 2, j->now);
        if (exec_done(st))
            return 500;
        /* Unless it came back into a pool meanwhile (then it stays ours:
         * the provider no longer has it, but that is for an operator). */
        st = dni__stmt(db, "DELETE FROM owned_numbers WHERE number = ?1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, it->number);
        if (exec_done(st))
            return 500;
        char reason[200];
        snprintf(reason, sizeof reason, "given back to the provider (%s)",
                 it->reason);
        return event_add(db, it->pool, j->now, "returned", it->number, reason,
                         NULL)
                   ? 500
                   : 200;
    }
    int attempts = it->attempts + 1;
    double wait = 10.0 * pow(2, attempts < 9 ? attempts : 9);
    st = dni__stmt(db, "UPDATE number_ops SET attempts = ?2, error = ?3,"
                       " not_before = ?4 WHERE id = ?1");
    if (!st)
        return 500;
    dni__bind_int64(st, 1, it->id);
    dni__bind_int(st, 2, attempts);
    dni__bind_text(st, 3, j->error);
    dni__bind_double(st, 4, j->now + wait);
    if (exec_done(st))
        return 500;
    char reason[400];
    snprintf(reason, sizeof reason, "could not give %s back (attempt %d, next "
             "in %.0f s): %s", it->number, attempts, wait, j->error);
    if (event_add(db, it->pool, j->now, "provider_error", it->number, reason,
                  NULL) ||
        alert_add(db, it->pool, j->now, "provider_failing", reason, NULL) < 0)
        return 500;
    return 200;
}

static void release_due(dni_lifecycle_t *L, double now)
{
    intent_t due[32];
    int n = 0;
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(db, "SELECT " INTENT_COLS " FROM number_ops"
                                     " WHERE state = 'pending' AND op = 'release'"
                                     " AND not_before <= ?1 ORDER BY id LIMIT 32");
    if (st) {
        dni__bind_double(st, 1, now);
        while (n < 32 && dni__step(st) == DNI_ROW)
            intent_read(&due[n++], st);
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    for (int i = 0; i < n; i++) {
        dni_provider_t *prov = provider_of(L, due[i].kind);
        char err[300] = "provider not configured";
        int ok = 0;
        if (prov) {
            dni_prov_number_t num;
            memset(&num, 0, sizeof num);
            snprintf(num.number, sizeof num.number, "%s", due[i].number);
            snprintf(num.sid, sizeof num.sid, "%s", due[i].sid);
            ok = prov->release(prov, &num, err, sizeof err) == DNI_PROV_OK;
        }
        release_done_t j = {&due[i], ok, err, dni__now()};
        dni__store_write(L->o->store, release_done_job, &j);
    }
}

/* ---- alerts ------------------------------------------------------------ */

typedef struct delivery {
    int64_t id;
    int attempts;
    int ok;
    char error[200];
    double now;
} delivery_t;

static int delivery_job(dni_db_t *db, void *arg)
{
    delivery_t *d = arg;
    int attempts = d->attempts + 1;
    dni_stmt_t *st = dni__stmt(
        db, "UPDATE pool_events SET attempts = ?2, delivery = ?3,"
            " last_error = ?4, next_try = ?5 WHERE id = ?1");
    if (!st)
        return 500;
    const char *state = d->ok ? "sent"
                        : attempts >= ALERT_ATTEMPTS ? "failed"
                                                     : "pending";
    dni__bind_int64(st, 1, d->id);
    dni__bind_int(st, 2, attempts);
    dni__bind_text(st, 3, state);
    if (!d->ok)
        dni__bind_text(st, 4, d->error);
    dni__bind_double(st, 5, d->now + pow(2, attempts));
    return exec_done(st) ? 500 : 200;
}

static void deliver_alerts(dni_lifecycle_t *L, double now)
{
    typedef struct pending_alert {
        int64_t id;
        int attempts;
        char *body;
        char url[2048];
    } pending_alert_t;
    pending_alert_t a[16];
    int n = 0;
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT e.id, e.attempts, t.alert_url, json_object('text',"
            " 'edgedni: pool ' || e.pool_id || ': ' || e.reason, 'pool',"
            " e.pool_id, 'alert', e.alert, 't', e.t, 'figures',"
            " json(e.figures))"
            " FROM pool_events e JOIN pool_telephony t ON t.pool_id = e.pool_id"
            " WHERE e.delivery = 'pending' AND e.next_try <= ?1"
            " AND t.alert_url IS NOT NULL ORDER BY e.next_try LIMIT 16");
    if (st) {
        dni__bind_double(st, 1, now);
        while (n < 16 && dni__step(st) == DNI_ROW) {
            a[n].id = dni__col_int64(st, 0);
            a[n].attempts = dni__col_int(st, 1);
            snprintf(a[n].url, sizeof a[n].url, "%s", dni__col_text(st, 2));
            a[n].body = strdup(dni__col_text(st, 3));
            if (a[n].body)
                n++;
        }
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    for (int i = 0; i < n; i++) {
        delivery_t d = {a[i].id, a[i].attempts, 0, "", 0};
        long status = dni__fetch("POST", a[i].url, "application/json",
                                 a[i].body, ALERT_TIMEOUT_S, d.error,
                                 sizeof d.error);
        d.ok = status >= 200 && status < 300;
        d.now = dni__now();
        free(a[i].body);
        dni__store_write(L->o->store, delivery_job, &d);
    }
}

/* "Pool too small": overflows in the last hour past the threshold while
 * auto-scaling cannot grow the pool (off, or at its max). */
static void check_too_small(dni_lifecycle_t *L, const pool_row_t *p,
                            double now)
{
    /* While auto-scaling can still grow the pool, overflow is its job:
     * the figures are not even read. */
    if (!dni__too_small(p->scale_enabled, p->numbers + p->pending, p->max,
                        UINT64_MAX))
        return;
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(db, "SELECT coalesce(sum(n), 0) FROM"
                                     " overflow_recent WHERE pool_id = ?1"
                                     " AND sec >= ?2");
    int64_t ovf = 0;
    if (st) {
        dni__bind_text(st, 1, p->id);
        dni__bind_double(st, 2, floor(now - DNI_TOO_SMALL_WINDOW_S));
        if (dni__step(st) == DNI_ROW)
            ovf = dni__col_int64(st, 0);
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    if (!dni__too_small(p->scale_enabled, p->numbers + p->pending, p->max,
                        (uint64_t)ovf))
        return;
    char reason[300], fig[200];
    snprintf(reason, sizeof reason,
             "pool too small: %lld visitors were shown the overflow or default "
             "number in the last hour; it has %u numbers%s",
             (long long)ovf, p->numbers,
             p->scale_enabled ? " and auto-scaling is at its max"
                              : " and auto-scaling is off");
    snprintf(fig, sizeof fig,
             "{\"overflows\":%lld,\"window_s\":%.0f,\"numbers\":%u,\"max\":%u}",
             (long long)ovf, DNI_TOO_SMALL_WINDOW_S, p->numbers, p->max);
    note_job_t j = {p->id, NULL, NULL, NULL, reason, fig, "pool_too_small", now};
    dni__store_write(L->o->store, note_job, &j);
}

/* "Not swapping": a pool that normally makes leases made none for a
 * window scaled to its usual traffic (the last 7 days). */
static void check_quiet(dni_lifecycle_t *L, const pool_row_t *p, double now)
{
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT count(*), min(l.start), max(l.start) FROM numbers n"
            " JOIN leases l ON l.number = n.number AND l.start >= ?2"
            " WHERE n.pool_id = ?1");
    int64_t count = 0;
    double first = 0, last = 0;
    if (st) {
        dni__bind_text(st, 1, p->id);
        dni__bind_double(st, 2, now - 7 * 86400.0);
        if (dni__step(st) == DNI_ROW) {
            count = dni__col_int64(st, 0);
            first = dni__col_double(st, 1);
            last = dni__col_double(st, 2);
        }
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    double per_day, window;
    if (!dni__not_swapping((uint64_t)count, first, last, now, &per_day,
                           &window))
        return;
    char reason[300], fig[200];
    snprintf(reason, sizeof reason,
             "not swapping: no visitor was given a number for %.0f minutes "
             "(usually %.0f a day); check the snippet and the edge route",
             (now - last) / 60, per_day);
    snprintf(fig, sizeof fig,
             "{\"leases_per_day\":%.1f,\"window_s\":%.0f,\"last_lease\":%.0f}",
             per_day, window, last);
    note_job_t j = {p->id, NULL, NULL, NULL, reason, fig, "not_swapping", now};
    dni__store_write(L->o->store, note_job, &j);
}

/* ---- the scheduler ----------------------------------------------------- */

static int pools_read(dni_lifecycle_t *L, pool_row_t **out)
{
    *out = NULL;
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT t.pool_id, t.created_at, t.alert_url IS NOT NULL,"
            " t.provider_kind, t.provider_country, t.provider_toll_free,"
            " t.provider_area_code, t.scale_enabled, t.scale_step_s,"
            " t.scale_step_numbers, t.scale_max, t.stockpile, t.number_limit,"
            " t.attribution_window_s,"
            " (SELECT count(*) FROM numbers n WHERE n.pool_id = t.pool_id),"
            " (SELECT count(*) FROM number_ops o WHERE o.state = 'pending'"
            " AND o.op = 'acquire' AND o.pool_id = t.pool_id)"
            " FROM pool_telephony t ORDER BY t.pool_id");
    int n = 0, cap = 0;
    pool_row_t *v = NULL;
    while (st && dni__step(st) == DNI_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            pool_row_t *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        pool_row_t *p = &v[n++];
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "%s", dni__col_text(st, 0));
        p->created_at = dni__col_double(st, 1);
        p->has_alert = dni__col_int(st, 2);
        snprintf(p->kind, sizeof p->kind, "%s", dni__col_text(st, 3));
        snprintf(p->country, sizeof p->country, "%s", dni__col_text(st, 4));
        p->toll_free = dni__col_int(st, 5);
        if (!dni__col_is_null(st, 6))
            snprintf(p->area, sizeof p->area, "%s", dni__col_text(st, 6));
        p->scale_enabled = dni__col_int(st, 7);
        p->step_s = dni__col_double(st, 8);
        p->step_numbers = (unsigned)dni__col_int(st, 9);
        p->max = (unsigned)dni__col_int(st, 10);
        p->stockpile = (unsigned)dni__col_int(st, 11);
        p->limit = (unsigned)dni__col_int(st, 12);
        p->window_s = dni__col_double(st, 13);
        p->numbers = (unsigned)dni__col_int(st, 14);
        p->pending = (unsigned)dni__col_int(st, 15);
    }
    if (st)
        dni__reset(st);
    dni__store_reader_done(L->o->store, db);
    *out = v;
    return n;
}

static int64_t overflows_between(dni_lifecycle_t *L, const char *pool,
                                       double from, double to)
{
    dni_db_t *db = dni__store_reader(L->o->store);
    dni_stmt_t *st = dni__stmt(db, "SELECT coalesce(sum(n), 0) FROM"
                                     " overflow_recent WHERE pool_id = ?1"
                                     " AND sec >= ?2 AND sec < ?3");
    int64_t n = 0;
    if (st) {
        dni__bind_text(st, 1, pool);
        dni__bind_double(st, 2, from);
        dni__bind_double(st, 3, to);
        if (dni__step(st) == DNI_ROW)
            n = dni__col_int64(st, 0);
        dni__reset(st);
    }
    dni__store_reader_done(L->o->store, db);
    return n;
}

static void grow(dni_lifecycle_t *L, const pool_row_t *p, double now)
{
    if (backed_off(L, p->id, now))
        return;
    char fig[300];
    unsigned have = p->numbers + p->pending;
    unsigned miss = dni__stockpile_missing(have, p->stockpile, p->limit);
    if (miss) {
        snprintf(fig, sizeof fig, "{\"stockpile\":%u,\"numbers\":%u,\"pending\":%u}",
                 p->stockpile, p->numbers, p->pending);
        acquire(L, p, miss, "stockpile", fig, NULL, NULL);
        return; /* counts changed: the next tick looks again */
    }
    if (!p->scale_enabled || p->step_s <= 0)
        return;
    int64_t step = dni__step_index(now, p->step_s) - 1;
    char period[64];
    snprintf(period, sizeof period, "%.0f:%lld", p->step_s, (long long)step);
    double from = (double)step * p->step_s, to = from + p->step_s;
    int64_t ovf = overflows_between(L, p->id, from, to);
    dni_scale_up_in_t in = {p->scale_enabled, p->step_numbers, p->max, have,
                            (uint64_t)ovf};
    unsigned n = dni__scale_up_count(&in);
    if (!n)
        return;
    dni_db_t *db = dni__store_reader(L->o->store);
    int done = run_done(db, p->id, "scale_up", period);
    dni__store_reader_done(L->o->store, db);
    if (done)
        return;
    snprintf(fig, sizeof fig,
             "{\"overflows\":%lld,\"step_start\":%.0f,\"step_s\":%g,"
             "\"numbers\":%u,\"max\":%u}",
             (long long)ovf, from, p->step_s, have, p->max);
    acquire(L, p, n, "auto-scale: overflow shown during the last step", fig,
            "scale_up", period);
}

static void month_end(dni_lifecycle_t *L, const pool_row_t *p, double now)
{
    char key[8];
    if (!dni__month_end_due(now, p->created_at, key))
        return;
    dni_db_t *db = dni__store_reader(L->o->store);
    int done = run_done(db, p->id, "scale_down", key);
    dni__store_reader_done(L->o->store, db);
    if (done)
        return;
    char reason[64];
    snprintf(reason, sizeof reason, "month end %s", key);
    shrink_job_t j;
    memset(&j, 0, sizeof j);
    j.o = L->o;
    j.pool = p->id;
    j.reason = reason;
    j.rule = "scale_down";
    j.period = key;
    j.now = now;
    j.released = cJSON_CreateArray();
    dni__store_write(L->o->store, shrink_job, &j);
    if (cJSON_GetArraySize(j.released))
        dni__grants_changed();
    cJSON_Delete(j.released);
}

static void slow_checks(dni_lifecycle_t *L, const pool_row_t *v, int n,
                        double now)
{
    for (int i = 0; i < n; i++)
        check_quiet(L, &v[i], now);
}

typedef struct prune_job {
    double now;
} prune_job_t;

static int prune_job(dni_db_t *db, void *arg)
{
    prune_job_t *j = arg;
    dni_stmt_t *st = dni__stmt(db, "DELETE FROM overflow_recent WHERE sec < ?1");
    if (!st)
        return 500;
    dni__bind_double(st, 1, j->now - 2 * 86400.0);
    return exec_done(st) ? 500 : 200;
}

static void tick(dni_lifecycle_t *L)
{
    if (!dni__duty_hold(L->o, &L->duty))
        return;
    if (L->duty.gained)
        L->reconcile = 1; /* settle what the previous holder left in doubt */
    double now = dni__now();
    if (L->reconcile || now >= L->next_adopt) {
        int adopt = now >= L->next_adopt;
        int bad = 0;
        if (L->inventory)
            bad |= reconcile(L, L->inventory, adopt) < 0;
        if (L->twilio)
            bad |= reconcile(L, L->twilio, adopt) < 0;
        L->reconcile = bad;
        if (adopt)
            L->next_adopt = now + ADOPT_EVERY_S;
        if (bad)
            return; /* no new purchase while one is in doubt */
    }
    pool_row_t *v;
    int n = pools_read(L, &v);
    for (int i = 0; i < n; i++) {
        grow(L, &v[i], now);
        if (L->reconcile)
            break;
        month_end(L, &v[i], now);
        check_too_small(L, &v[i], now);
    }
    if (now >= L->next_slow) {
        slow_checks(L, v, n, now);
        prune_job_t pj = {now};
        dni__store_write(L->o->store, prune_job, &pj);
        L->next_slow = now + SLOW_EVERY_S;
    }
    free(v);
    if (orphans_exist(L))
        dni__store_write(L->o->store, orphans_job, L);
    release_due(L, dni__now());
    deliver_alerts(L, dni__now());
}

static void *scheduler_main(void *arg)
{
    dni_lifecycle_t *L = arg;
    pthread_mutex_lock(&L->mu);
    while (!L->stopping) {
        pthread_mutex_unlock(&L->mu);
        pthread_mutex_lock(&L->work);
        tick(L);
        pthread_mutex_unlock(&L->work);
        pthread_mutex_lock(&L->mu);
        if (L->stopping)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&L->cv, &L->mu, &until);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

dni_lifecycle_t *dni__lifecycle_start(dni_origin_t *o, char *err,
                                      size_t errlen)
{
    dni_lifecycle_t *L = calloc(1, sizeof *L);
    if (!L) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    L->o = o;
    L->duty.name = "lifecycle";
    L->duty.ttl_s = 60;
    pthread_mutex_init(&L->work, NULL);
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    char base[400];
    if (o->cfg.public_url) {
        size_t bl = strlen(o->cfg.public_url);
        while (bl > 0 && o->cfg.public_url[bl - 1] == '/')
            bl--;
        snprintf(base, sizeof base, "%.*s", (int)bl, o->cfg.public_url);
    } else {
        snprintf(base, sizeof base, "http://%s", o->cfg.listen);
    }
    snprintf(L->voice_url, sizeof L->voice_url, "%s/v1/voice", base);
    snprintf(L->status_url, sizeof L->status_url, "%s/v1/webhooks/call", base);
    L->inventory = dni__provider_inventory_open(o->store);
    if (o->cfg.twilio_account) {
        dni_twilio_config_t tc = {
            o->cfg.twilio_api ? o->cfg.twilio_api : "https://api.twilio.com",
            o->cfg.twilio_account,
            o->cfg.twilio_key ? o->cfg.twilio_key : o->cfg.twilio_account,
            o->cfg.twilio_key ? o->cfg.twilio_secret : o->cfg.twilio_token,
            o->cfg.provider_timeout_s};
        L->twilio = dni__provider_twilio_open(&tc, err, errlen);
        if (!L->twilio) {
            if (L->inventory)
                L->inventory->close(L->inventory);
            free(L);
            return NULL;
        }
        dni__twilio_configured = 1;
    }
    if (!L->inventory) {
        snprintf(err, errlen, "out of memory");
        free(L);
        return NULL;
    }
    /* Settle whatever a previous run left in doubt before anything else. */
    L->reconcile = 1;
    L->next_adopt = 0;
    L->next_slow = dni__now() + 5;
    if (pthread_create(&L->thread, NULL, scheduler_main, L) != 0) {
        snprintf(err, errlen, "cannot start the lifecycle thread");
        L->inventory->close(L->inventory);
        if (L->twilio)
            L->twilio->close(L->twilio);
        free(L);
        return NULL;
    }
    o->lifecycle = L;
    return L;
}

void dni__lifecycle_stop(dni_lifecycle_t *L)
{
    if (!L)
        return;
    pthread_mutex_lock(&L->mu);
    L->stopping = 1;
    pthread_cond_signal(&L->cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->thread, NULL);
    L->o->lifecycle = NULL;
    L->inventory->close(L->inventory);
    if (L->twilio)
        L->twilio->close(L->twilio);
    dni__twilio_configured = 0;
    free(L);
}

/* ---- routes ------------------------------------------------------------ */

/* The lifecycle, or NULL after answering 503 when it is not running. */
static dni_lifecycle_t *running_lifecycle(dni_origin_t *o, dni_resp_t *resp)
{
    if (!o->lifecycle)
        dni__resp_error(resp, 503, "the lifecycle is not running");
    return o->lifecycle;
}

static int pool_exists(dni_origin_t *o, const char *id)
{
    dni_db_t *db = dni__store_reader(o->store);
    dni_stmt_t *st = dni__stmt(db, "SELECT 1 FROM pools WHERE id = ?1");
    int yes = 0;
    if (st) {
        dni__bind_text(st, 1, id);
        yes = dni__step(st) == DNI_ROW;
        dni__reset(st);
    }
    dni__store_reader_done(o->store, db);
    return yes;
}

void dni__pool_scale_down_handle(dni_origin_t *o, const dni_req_t *r,
                                 dni_resp_t *resp)
{
    dni_lifecycle_t *L = running_lifecycle(o, resp);
    if (!L)
        return;
    if (r->body_len) {
        cJSON *b = dni__req_json(r, resp);
        if (!b)
            return;
        int ok = cJSON_IsObject(b) && !b->child;
        cJSON_Delete(b);
        if (!ok) {
            dni__resp_error(resp, 422, "the body is an empty object {}");
            return;
        }
    }
    shrink_job_t j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.pool = r->id;
    j.reason = "on demand";
    j.released = cJSON_CreateArray();
    pthread_mutex_lock(&L->work);
    j.now = dni__now();
    int status = dni__store_write(o->store, shrink_job, &j);
    pthread_mutex_unlock(&L->work);
    if (cJSON_GetArraySize(j.released))
        dni__grants_changed();
    if (status >= 400) {
        cJSON_Delete(j.released);
        dni__resp_error(resp, status, j.missing ? "no such pool" : "database error");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "pool", r->id);
    cJSON_AddItemToObject(out, "released", j.released);
    cJSON_AddStringToObject(out, "why", j.why ? j.why : "");
    cJSON *fig = cJSON_Parse(j.figures);
    cJSON_AddItemToObject(out, "figures", fig ? fig : cJSON_CreateObject());
    cJSON_AddNumberToObject(out, "release_at",
                            j.now + o->cfg.grant_ttl_s + RELEASE_MARGIN_S);
    dni__resp_json(resp, 200, out);
}

/* Runs st (?1 the pool, ?2 the limit), whose one column is a JSON object
 * per row, and appends the objects to arr; 1 when there was a row. */
static int json_rows(dni_stmt_t *st, const char *pool, long long limit,
                     cJSON *arr)
{
    int found = 0;
    if (!st)
        return 0;
    dni__bind_text(st, 1, pool);
    dni__bind_int64(st, 2, limit);
    while (dni__step(st) == DNI_ROW) {
        cJSON *e = cJSON_Parse(dni__col_text(st, 0));
        if (e)
            cJSON_AddItemToArray(arr, e);
        found = 1;
    }
    dni__reset(st);
    return found;
}

void dni__pool_events_handle(dni_origin_t *o, const dni_req_t *r,
                             dni_resp_t *resp)
{
    long long limit;
    if (dni__req_query_whole(r, "limit", 1, 10000, 200, 400, &limit, resp) < 0)
        return;
    dni_db_t *db = dni__store_reader(o->store);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "pool", r->id);
    cJSON *ev = cJSON_AddArrayToObject(out, "events");
    dni_stmt_t *st = dni__stmt(
        db, "SELECT json_object('id', id, 't', t, 'kind', kind, 'number',"
            " number, 'reason', reason, 'figures', json(figures), 'alert',"
            " alert, 'delivery', delivery, 'attempts', attempts,"
            " 'last_error', last_error)"
            " FROM pool_events WHERE pool_id = ?1 ORDER BY id DESC LIMIT ?2");
    int found = json_rows(st, r->id, limit, ev);
    cJSON *ops = cJSON_AddArrayToObject(out, "operations");
    st = dni__stmt(
        db, "SELECT json_object('id', id, 'op', op, 'number', number,"
            " 'provider', provider, 'state', state, 'reason', reason,"
            " 'created_at', created_at, 'not_before', not_before,"
            " 'attempts', attempts, 'done_at', done_at, 'error', error)"
            " FROM number_ops WHERE pool_id = ?1 ORDER BY id DESC LIMIT ?2");
    found |= json_rows(st, r->id, limit, ops);
    dni__store_reader_done(o->store, db);
    if (!found && !pool_exists(o, r->id)) {
        cJSON_Delete(out);
        dni__resp_error(resp, 404, "no such pool");
        return;
    }
    dni__resp_json(resp, 200, out);
}

/* All of s is in set and its length is within [lo, hi]. */
static int chars_in(const char *s, const char *set, size_t lo, size_t hi)
{
    size_t n = strlen(s);
    return n >= lo && n <= hi && strspn(s, set) == n;
}

/*
 * GET /v1/providers/{kind}/available?country=US&area_code=415
 *     &toll_free=false&contains=555&limit=20
 * What the provider could give a pool now (the search the lifecycle makes
 * before each purchase), for an operator choosing a pool's provider
 * settings. Nothing is bought or reserved.
 */
void dni__provider_available_handle(dni_origin_t *o, const dni_req_t *r,
                                    dni_resp_t *resp)
{
    dni_lifecycle_t *L = running_lifecycle(o, resp);
    if (!L)
        return;
    dni_provider_t *prov = provider_of(L, r->id);
    if (!prov) {
        dni__resp_errorf(resp, 404, "no provider %s here (kinds: inventory%s)",
                         r->id, L->twilio ? ", twilio" : "; twilio needs "
                                                         "DNI_TWILIO_ACCOUNT_SID");
        return;
    }
    const char *country = dni__req_query(r, "country");
    const char *area = dni__req_query(r, "area_code");
    const char *tf = dni__req_query(r, "toll_free");
    const char *contains = dni__req_query(r, "contains");
    if (!country || !*country)
        country = "US";
    if (!chars_in(country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2, 2)) {
        dni__resp_error(resp, 422, "country must be two capital letters (ISO 3166, e.g. US)");
        return;
    }
    int toll_free = 0;
    if (tf && !strcmp(tf, "true"))
        toll_free = 1;
    else if (tf && strcmp(tf, "false") != 0) {
        dni__resp_error(resp, 422, "toll_free must be true or false");
        return;
    }
    if (area && *area && !chars_in(area, "0123456789", 1, 6)) {
        dni__resp_error(resp, 422, "area_code must be 1..6 digits");
        return;
    }
    if (area && *area && toll_free) {
        dni__resp_error(resp, 422, "area_code is for local numbers, not toll_free=true");
        return;
    }
    if (contains && *contains && !chars_in(contains, "0123456789", 1, 15)) {
        dni__resp_error(resp, 422, "contains must be 1..15 digits");
        return;
    }
    long long limit;
    if (dni__req_query_whole(r, "limit", 1, 50, 20, 422, &limit, resp) < 0)
        return;
    dni_prov_query_t q = {country, toll_free, area && *area ? area : NULL,
                          contains && *contains ? contains : NULL, (int)limit};
    dni_prov_number_t found[50];
    char err[300] = "";
    /* A provider is used by one thread at a time: the lifecycle's. */
    pthread_mutex_lock(&L->work);
    int k = prov->search(prov, &q, found, (int)limit, err, sizeof err);
    pthread_mutex_unlock(&L->work);
    if (k < 0) {
        dni__resp_errorf(resp, k == DNI_PROV_UNKNOWN ? 504 : 502,
                         "provider %s: %s", prov->kind,
                         err[0] ? err : "search failed");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "provider", prov->kind);
    cJSON *qo = cJSON_AddObjectToObject(out, "query");
    cJSON_AddStringToObject(qo, "country", country);
    cJSON_AddBoolToObject(qo, "toll_free", toll_free);
    if (q.area_code)
        cJSON_AddStringToObject(qo, "area_code", q.area_code);
    else
        cJSON_AddNullToObject(qo, "area_code");
    if (q.contains)
        cJSON_AddStringToObject(qo, "contains", q.contains);
    else
        cJSON_AddNullToObject(qo, "contains");
    cJSON_AddNumberToObject(qo, "limit", (double)limit);
    cJSON *arr = cJSON_AddArrayToObject(out, "numbers");
    for (int i = 0; i < k; i++) {
        cJSON *n = cJSON_CreateObject();
        cJSON_AddStringToObject(n, "number", found[i].number);
        if (found[i].area_code[0])
            cJSON_AddStringToObject(n, "area_code", found[i].area_code);
        else
            cJSON_AddNullToObject(n, "area_code");
        cJSON_AddBoolToObject(n, "toll_free", found[i].toll_free);
        cJSON_AddItemToArray(arr, n);
    }
    dni__resp_json(resp, 200, out);
}
