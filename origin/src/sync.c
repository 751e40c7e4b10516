/*
 * sync.c - POST /v1/edge/sync: applies an edge's batch of lease events and
 * answers with its grants (docs/origin.md, "Edge sync", is the contract).
 *
 * Three steps, so that the single writer thread does only what must be
 * serial:
 *   1. the request thread parses and validates the batch and turns it into
 *      a flat array of events (tags already printed as JSON text). A batch
 *      whose envelope is wrong (edge, generation, seq, events not an array)
 *      is a 422 and nothing of it is applied; an event that is wrong is
 *      refused alone, reported by its index with the reason, and the
 *      batch's other events are applied: one bad event never stops the
 *      events behind it;
 *   2. the writer applies the events, attributes again the calls the new
 *      lease information concerns, closes calls that have gone silent for
 *      max_call_s, moves numbers between edges and records
 *      (edge, generation, seq), all in one job of the group commit;
 *   3. once that is on disk, the request thread builds the answer from a
 *      read connection inside one read transaction, so it describes a
 *      committed state (this batch's or a later one), writing the JSON
 *      text directly, splicing each pool's stored config as it is and
 *      reusing grant lists while no number has moved (see "grant lists").
 *
 * Fencing is done inside the SQL of each event: an event changes a row only
 * when the number's current epoch and edge match, so an event with a stale
 * epoch is never applied, without a read-then-write race.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"
#include "visitors.h"

static int valid_edge(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.:-") == n;
}

static int whole(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
           v->valuedouble <= 9007199254740992.0 &&
           v->valuedouble == floor(v->valuedouble);
}

typedef enum ev_type {
    EV_ASSIGN,
    EV_SEEN,
    EV_JOIN,
    EV_TAG,
    EV_RELEASE,
    EV_OVERFLOW,
    EV_LIMITED /* page views past a client's lease budget (limited.c) */
} ev_type_t;

/* One event; strings point into the parsed request body. */
typedef struct sync_event {
    const char *refused; /* why the event is not applied, or NULL */
    ev_type_t type;
    int has_epoch;
    int64_t epoch;
    double t;
    const char *lease, *pool, *number, *visitor, *referrer, *url;
    char *tags; /* JSON text (malloc'ed) for assign and tag, else NULL */
    long beat;  /* index in the batch's heartbeat table, or -1 */
    char e164[24]; /* an assign's number, normalised */
    int64_t limited[2]; /* EV_LIMITED: page views, clients */
} sync_event_t;

/*
 * Heartbeats (seen, and join without an explicit epoch) are most of what
 * edges send, one per live lease every few seconds. They are folded per
 * lease on the request thread and applied by one statement for the whole
 * batch (dni__beats_apply, beats.h), which notes which leases' heartbeats
 * were applied. One statement instead of one per event saves most of the
 * per-statement cost on the single writer.
 */
typedef struct beats {
    dni_beat_t *v; /* in key order (by lease) */
    size_t n;
} beats_t;

typedef struct sync_job {
    dni_origin_t *o;
    const char *edge;
    const char *generation; /* "" for an edge that sends none */
    int64_t seq;
    sync_event_t *ev;
    size_t nev;
    beats_t *beats;
    int duplicate;
    double now;
    long applied, rejected, overflow;
    long refused;       /* events refused as malformed (never applied) */
    long reattributed;
    long calls_expired;
    int restarted;      /* a new generation of a known edge */
    int moved; /* rows of numbers changed */
    char msg[160];
} sync_job_t;

/* The current epoch of a lease's number, when the number is still granted
 * to (or draining from) this edge; the lease's own epoch must equal it. */
#define FENCE                                                                 \
    " AND EXISTS (SELECT 1 FROM numbers n WHERE n.number = leases.number"     \
    " AND n.epoch = leases.epoch AND n.edge = ?1 AND n.state > 0)"            \
    " AND (epoch = ?4 OR ?4 IS NULL)"

static const char *const sql_seen =
    "UPDATE leases SET last_seen = max(last_seen, ?3)"
    " WHERE edge = ?1 AND lease = ?2" FENCE;
static const char *const sql_join =
    "UPDATE leases SET last_seen = max(last_seen, ?3),"
    " last_join = max(last_join, ?3) WHERE edge = ?1 AND lease = ?2" FENCE;
static const char *const sql_tag =
    "UPDATE leases SET tags = json_patch(coalesce(tags, '{}'), ?5)"
    " WHERE edge = ?1 AND lease = ?2" FENCE;
static const char *const sql_release =
    "UPDATE leases SET released_at = coalesce(released_at, max(?3, start))"
    " WHERE edge = ?1 AND lease = ?2" FENCE;
static const char *const sql_assign =
    "INSERT INTO leases (edge, lease, pool_id, number, epoch,"
    " visitor, tags, referrer, url, start, last_seen, last_join)"
    " SELECT ?1, ?2, pool_id, number, epoch, ?6, ?7, ?8, ?9, ?3, ?3, ?3"
    " FROM numbers WHERE number = ?5 AND pool_id = ?10 AND edge = ?1"
    " AND state > 0 AND epoch = ?4 ON CONFLICT DO NOTHING";
static const char *const sql_assign_again =
    "SELECT 1 FROM leases WHERE edge = ?1 AND lease = ?2 AND number = ?3"
    " AND epoch = ?4";
static const char *const sql_overflow =
    "INSERT INTO overflow_counts (pool_id, hour, n)"
    " SELECT id, ?2, 1 FROM pools WHERE id = ?1"
    " ON CONFLICT (pool_id, hour) DO UPDATE SET n = overflow_counts.n + 1";

/* Applies one event; returns 1 applied, 0 rejected, -1 database error. */
static int apply(dni_db_t *db, const char *edge, const sync_event_t *ev,
                 long *ovf)
{
    dni_stmt_t *st;
    if (ev->type == EV_LIMITED)
        return dni__limited_apply(db, ev->pool, ev->t, ev->limited[0],
                                  ev->limited[1]);
    if (ev->type == EV_OVERFLOW) {
        st = dni__stmt(db, sql_overflow);
        if (!st)
            return -1;
        dni__bind_text(st, 1, ev->pool);
        dni__bind_int64(st, 2, (int64_t)(ev->t / 3600));
        if (dni__step(st) != DNI_DONE)
            return -1;
        int ch = dni__changes(db);
        dni__reset(st);
        /* Its time too, for the pool report (reports.c, pool_trace.c). */
        if (ch > 0 && dni__overflow_note(db, ev->pool, ev->t))
            return -1;
        *ovf += ch;
        return ch > 0;
    }
    static const char *const *const sql_of[] = {
        [EV_ASSIGN] = &sql_assign, [EV_SEEN] = &sql_seen,
        [EV_JOIN] = &sql_join,     [EV_TAG] = &sql_tag,
        [EV_RELEASE] = &sql_release};
    st = dni__stmt(db, *sql_of[ev->type]);
    if (!st)
        return -1;
    if (ev->type == EV_ASSIGN) {
        dni__bind_text(st, 5, ev->number);
        dni__bind_text(st, 6, ev->visitor);
        dni__bind_text(st, 7, ev->tags ? ev->tags : "{}");
        dni__bind_text(st, 8, ev->referrer);
        dni__bind_text(st, 9, ev->url);
        dni__bind_text(st, 10, ev->pool);
    } else if (ev->type == EV_TAG) {
        dni__bind_text(st, 5, ev->tags);
    }
    dni__bind_text(st, 1, edge);
    dni__bind_text(st, 2, ev->lease);
    dni__bind_double(st, 3, ev->t);
    if (ev->has_epoch)
        dni__bind_int64(st, 4, ev->epoch);
    int rc = dni__step(st);
    int ch = dni__changes(db);
    dni__reset(st);
    if (rc != DNI_DONE)
        return -1;
    if (ch == 0 && ev->type == EV_ASSIGN) {
        /* The same assign sent again in a later batch is not stale. */
        st = dni__stmt(db, sql_assign_again);
        if (!st)
            return -1;
        dni__bind_text(st, 1, edge);
        dni__bind_text(st, 2, ev->lease);
        dni__bind_text(st, 3, ev->number);
        dni__bind_int64(st, 4, ev->epoch);
        ch = dni__step(st) == DNI_ROW;
        dni__reset(st);
    }
    return ch > 0;
}

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* qsort() order of dni_beat_t pointers: by lease. */
static int cmp_beat(const void *a, const void *b)
{
    return strcmp((*(dni_beat_t *const *)a)->lease,
                  (*(dni_beat_t *const *)b)->lease);
}

/* Applies the batch's heartbeats; 0 or -1 on a database error. */
static int apply_beats(dni_db_t *db, const char *edge, beats_t *b)
{
    if (!b || !b->n)
        return 0;
    return dni__beats_apply(db, edge, b->v, b->n);
}

static int step_done(dni_stmt_t *st)
{
    int rc = st ? dni__step(st) : DNI_ERR;
    if (st)
        dni__reset(st);
    return rc == DNI_DONE || rc == DNI_ROW ? 0 : -1;
}

/* step_done() for a statement whose outcome the job reads no further
 * (dni__step_later: PostgreSQL answers it with the next statement). */
static int step_later(dni_stmt_t *st)
{
    int rc = st ? dni__step_later(st) : DNI_ERR;
    if (st)
        dni__reset(st);
    return rc == DNI_DONE ? 0 : -1;
}

/* step_done() for a statement that writes `numbers`: notes whether it
 * moved any. */
static int step_numbers(int *moved, dni_db_t *db, dni_stmt_t *st)
{
    int rc = step_done(st);
    if (rc == 0 && dni__changes(db) > 0)
        *moved = 1;
    return rc;
}


static int64_t count(dni_db_t *db, const char *sql, const char *a,
                           const char *b)
{
    dni_stmt_t *st = dni__stmt(db, sql);
    int64_t n = 0;
    if (!st)
        return -1;
    dni__bind_text(st, 1, a);
    if (b)
        dni__bind_text(st, 2, b);
    if (dni__step(st) == DNI_ROW)
        n = dni__col_int64(st, 0);
    dni__reset(st);
    return n;
}

/* ---- the pools' settings, read once per batch -------------------------- */

/* The batch's view of the pools: settings by id, and what identifies the
 * pool's current list of numbers (its version and last change). */
typedef struct pools_view {
    dni_settings_map_t m;
    int64_t *version;
    double *updated;
} pools_view_t;

static void pools_free(pools_view_t *p)
{
    for (size_t i = 0; i < p->m.n; i++)
        free(p->m.ids[i]);
    free(p->m.ids);
    free(p->m.settings);
    free(p->version);
    free(p->updated);
    memset(p, 0, sizeof *p);
}

static int pools_load(dni_db_t *db, pools_view_t *p)
{
    memset(p, 0, sizeof *p);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT id, settings, version, updated_at FROM pools ORDER BY id");
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = dni__step(st)) == DNI_ROW) {
        if (p->m.n == cap) {
            cap = cap ? cap * 2 : 8;
            char **ids = realloc(p->m.ids, cap * sizeof *ids);
            if (ids)
                p->m.ids = ids;
            dni_pool_settings_t *s = realloc(p->m.settings, cap * sizeof *s);
            if (s)
                p->m.settings = s;
            int64_t *v = realloc(p->version, cap * sizeof *v);
            if (v)
                p->version = v;
            double *u = realloc(p->updated, cap * sizeof *u);
            if (u)
                p->updated = u;
            if (!ids || !s || !v || !u)
                break;
        }
        cJSON *c = cJSON_Parse(dni__col_text(st, 1));
        char *id = strdup(dni__col_text(st, 0));
        if (!id) {
            cJSON_Delete(c);
            break;
        }
        dni__pool_settings(c, &p->m.settings[p->m.n]);
        cJSON_Delete(c);
        p->version[p->m.n] = dni__col_int64(st, 2);
        p->updated[p->m.n] = dni__col_double(st, 3);
        p->m.ids[p->m.n++] = id;
    }
    dni__reset(st);
    if (rc != DNI_DONE) {
        pools_free(p);
        return -1;
    }
    return 0;
}

/*
 * How many numbers a pool has, remembered by the writer thread per pool
 * version: a pool's numbers change only with its version (and updated_at,
 * which also tells a pool deleted and created again apart), so every sync
 * need not count them again.
 */
#define COUNT_CACHE 64
typedef struct pool_count {
    char id[65];
    int64_t version;
    double updated;
    int64_t n;
} pool_count_t;
static _Thread_local pool_count_t tl_counts[COUNT_CACHE];

static int64_t pool_numbers(dni_db_t *db, const char *id,
                                  int64_t version, double updated)
{
    size_t slot = 0;
    for (; slot < COUNT_CACHE && tl_counts[slot].id[0]; slot++) {
        pool_count_t *c = &tl_counts[slot];
        if (!strcmp(c->id, id)) {
            if (c->version == version && c->updated == updated)
                return c->n;
            break;
        }
    }
    if (slot == COUNT_CACHE)
        slot = hash_str(id) % COUNT_CACHE; /* full: replace one */
    dni_stmt_t *st =
        dni__stmt(db, "SELECT count(*) FROM numbers WHERE pool_id = ?1");
    if (!st)
        return -1;
    dni__bind_text(st, 1, id);
    int64_t n = dni__step(st) == DNI_ROW ? dni__col_int64(st, 0)
                                                     : -1;
    dni__reset(st);
    if (n >= 0 && strlen(id) < sizeof tl_counts[slot].id) {
        pool_count_t *c = &tl_counts[slot];
        snprintf(c->id, sizeof c->id, "%s", id);
        c->version = version;
        c->updated = updated;
        c->n = n;
    }
    return n;
}

/* ---- attribution of calls the batch concerns --------------------------- */

/*
 * A call can be attributed only to a lease the origin knows of; the edge
 * reports leases every few seconds (and keeps them while offline), so a
 * fast caller's webhook often arrives first and finds no lease. After the
 * batch's events are applied, every call on the number of a lease the
 * batch mentions, of the lease's pool, that started inside the lease's
 * span (from its start to the end dni_lease_end() gives, and for a call
 * still unattributed up to attribution_window_s after it) is attributed
 * again through the same core rules as the webhook path. One statement for
 * the whole batch: per lease one primary-key seek and one seek in
 * calls (to_number, started_at).
 */
static const char *const sql_affected =
    "SELECT DISTINCT c.sid, c.to_number, c.started_at, c.pool_id"
    " FROM leases l JOIN calls c ON c.to_number = l.number"
    " AND c.started_at >= l.start AND c.started_at <="
    " dni_lease_end(l.pool_id, l.start, l.last_seen, l.last_join,"
    " l.released_at, 1)"
    " WHERE l.edge = ?1 AND l.lease IN (SELECT value FROM json_each(?2))"
    " AND c.pool_id = l.pool_id AND (c.kind = 'unattributed' OR"
    " (c.kind = 'session' AND c.started_at <= dni_lease_end(l.pool_id,"
    " l.start, l.last_seen, l.last_join, l.released_at, 0)))";

typedef struct affected {
    char sid[65];
    char to[24];
    char pool[80];
    double start;
} affected_t;

/* The JSON list of leases whose calls may need attributing again: the
 * batch's lease events other than heartbeats and assigns (few), and the
 * applied heartbeats and assigns whose number had a call since the lease
 * started. NULL when there is none. */
static char *affected_leases(sync_job_t *j, dni_db_t *db, int *oom)
{
    dni_jsonbuf_t b = {0};
    dni__jsonbuf_put(&b, "[", 1);
    for (size_t i = 0; i < j->nev; i++) {
        const sync_event_t *e = &j->ev[i];
        if (e->refused || e->type == EV_OVERFLOW || e->type == EV_LIMITED ||
            e->type == EV_TAG || e->beat >= 0)
            continue;
        if (e->type == EV_ASSIGN &&
            !dni__recent_call_since(db, e->number, e->t))
            continue;
        if (b.len > 1)
            dni__jsonbuf_put(&b, ",", 1);
        dni__jsonbuf_str(&b, e->lease);
    }
    for (size_t i = 0; j->beats && i < j->beats->n; i++) {
        const dni_beat_t *x = &j->beats->v[i];
        if (!x->applied || !dni__recent_call_since(db, x->number, x->start))
            continue;
        if (b.len > 1)
            dni__jsonbuf_put(&b, ",", 1);
        dni__jsonbuf_str(&b, x->lease);
    }
    dni__jsonbuf_put(&b, "]", 1);
    *oom = b.oom;
    if (b.oom || b.len <= 2) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static int reattribute(sync_job_t *j, dni_db_t *db,
                       const dni_settings_map_t *m)
{
    int oom = 0;
    char *leases = affected_leases(j, db, &oom);
    if (!leases)
        return oom ? -1 : 0;
    dni_stmt_t *st = dni__stmt(db, sql_affected);
    if (!st) {
        free(leases);
        return -1;
    }
    affected_t *list = NULL;
    size_t n = 0, cap = 0;
    dni__settings_map_use(m);
    dni__bind_text(st, 1, j->edge);
    dni__bind_text_copy(st, 2, leases);
    free(leases);
    int rc;
    while ((rc = dni__step(st)) == DNI_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            affected_t *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = DNI_ERR;
                break;
            }
            list = nl;
        }
        affected_t *a = &list[n++];
        snprintf(a->sid, sizeof a->sid, "%s", dni__col_text(st, 0));
        snprintf(a->to, sizeof a->to, "%s", dni__col_text(st, 1));
        a->start = dni__col_double(st, 2);
        snprintf(a->pool, sizeof a->pool, "%s", dni__col_text(st, 3));
    }
    dni__reset(st);
    dni__settings_map_use(NULL);
    if (rc != DNI_DONE) {
        free(list);
        return -1;
    }
    /* Read first, then write: the calls are updated after the statement
     * that found them is finished. */
    for (size_t i = 0; i < n; i++) {
        const dni_pool_settings_t *s = dni__settings_map_find(m, list[i].pool);
        if (!s)
            continue;
        int r = dni__call_attribute(db, list[i].sid, list[i].to, s,
                                    list[i].start);
        if (r < 0) {
            free(list);
            return -1;
        }
        j->reattributed += r;
    }
    free(list);
    return 0;
}

/* ---- moving numbers between edges -------------------------------------- */

/* Moves numbers of one pool so this edge converges on its share and
 * renews its grants. 0, or -1 on a database error. */
static int balance_pool(sync_job_t *j, dni_db_t *db, const pools_view_t *p,
                        size_t k, double now, int64_t share_idx,
                        int64_t edges)
{
    const char *pool = p->m.ids[k];
    const dni_pool_settings_t *set = &p->m.settings[k];
    const char *e = j->edge;
    double max_lease = set->max_lease_s;
    dni_stmt_t *st;

    /* Numbers of edges that stopped syncing: once their grants expired
     * (grant_ttl after their last sync) and max_lease_s more passed, no
     * lease they made can still be live. Grants are renewed per edge, by
     * its last sync, so a sync does not rewrite every number row. */
    /* Cheap check first: almost always no edge is dead. */
    st = dni__stmt(db, "SELECT 1 FROM edges WHERE id <> ?1 AND"
                       " last_sync + ?2 + ?3 < ?4 LIMIT 1");
    if (!st)
        return -1;
    dni__bind_text(st, 1, e);
    dni__bind_double(st, 2, j->o->cfg.grant_ttl_s);
    dni__bind_double(st, 3, max_lease);
    dni__bind_double(st, 4, now);
    int dead = dni__step(st) == DNI_ROW;
    dni__reset(st);
    if (dead) {
        st = dni__stmt(db, "UPDATE numbers SET state = 0, edge = NULL,"
                           " released_at = ?3 WHERE pool_id = ?1 AND"
                           " state > 0 AND edge IN (SELECT id FROM edges"
                           " WHERE id <> ?2 AND last_sync + ?5 + ?4 < ?3)");
        if (!st)
            return -1;
        dni__bind_text(st, 1, pool);
        dni__bind_text(st, 2, e);
        dni__bind_double(st, 3, now);
        dni__bind_double(st, 4, max_lease);
        dni__bind_double(st, 5, j->o->cfg.grant_ttl_s);
        if (step_numbers(&j->moved, db, st))
            return -1;
    }

    /* Revoked numbers this edge no longer uses become free. */
    st = dni__stmt(db, "UPDATE numbers SET state = 0, edge = NULL, released_at = ?3"
                       " WHERE pool_id = ?1 AND edge = ?2 AND state = 2"
                       " AND NOT EXISTS (SELECT 1 FROM leases l WHERE"
                       " l.number = numbers.number AND l.edge = ?2"
                       " AND l.released_at IS NULL)"
                       " AND NOT EXISTS (SELECT 1 FROM calls c WHERE"
                       " c.to_number = numbers.number AND c.active = 1)");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_text(st, 2, e);
    dni__bind_double(st, 3, now);
    if (step_numbers(&j->moved, db, st))
        return -1;

    int64_t n = pool_numbers(db, pool, p->version[k], p->updated[k]);
    int64_t held = count(db, "SELECT count(*) FROM numbers WHERE"
                                   " pool_id = ?1 AND edge = ?2 AND state = 1",
                               pool, e);
    if (n < 0 || held < 0)
        return -1;
    int64_t target = n / edges + (share_idx < n % edges ? 1 : 0);
    if (held > target) {
        st = dni__stmt(db, "UPDATE numbers SET state = 2 WHERE number IN"
                           " (SELECT number FROM numbers WHERE pool_id = ?1"
                           " AND edge = ?2 AND state = 1 ORDER BY EXISTS"
                           " (SELECT 1 FROM leases l WHERE l.number ="
                           " numbers.number AND l.edge = ?2 AND"
                           " l.released_at IS NULL), number LIMIT ?3)");
        if (!st)
            return -1;
        dni__bind_text(st, 1, pool);
        dni__bind_text(st, 2, e);
        dni__bind_int64(st, 3, held - target);
        if (step_numbers(&j->moved, db, st))
            return -1;
    } else if (held < target) {
        /* Least recently released first: the widest gap before a number is
         * shown again, so late calls still attribute right. A number with
         * a call in progress is never handed out. */
        st = dni__stmt(db, "UPDATE numbers SET state = 1, edge = ?2,"
                           " epoch = epoch + 1, expires_at = ?4 WHERE number IN"
                           " (SELECT number FROM numbers WHERE pool_id = ?1"
                           " AND state = 0 AND NOT EXISTS (SELECT 1 FROM calls c"
                           " WHERE c.to_number = numbers.number AND c.active = 1)"
                           " ORDER BY released_at, number LIMIT ?3)");
        if (!st)
            return -1;
        dni__bind_text(st, 1, pool);
        dni__bind_text(st, 2, e);
        dni__bind_int64(st, 3, target - held);
        dni__bind_double(st, 4, now + j->o->cfg.grant_ttl_s);
        if (step_numbers(&j->moved, db, st))
            return -1;
    }
    return 0;
}

/* ---- edges that lost their state --------------------------------------- */

/*
 * Whether this batch opens a new generation of an edge the origin knows:
 * the edge was restarted without its state, so its shards no longer know
 * the leases its earlier generations made. (An edge whose earlier batches
 * carried no generation only starts to send one: not a restart.) Those leases end where they
 * would have ended, and no later than now: nobody will report them again.
 * The numbers they held are taken back (revoked, then freed by
 * balance_pool at once, last in line to be handed out again), so a visitor
 * of the lost state still looking at one is not mistaken for a new one.
 * Numbers without such a lease stay granted. Batches of a generation seen
 * before (a late retry of the old one) change nothing here.
 */
static int edge_generation(sync_job_t *j, dni_db_t *db,
                           const pools_view_t *pv)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT generation <> '' AND generation <> ?2 AND NOT EXISTS"
            " (SELECT 1 FROM"
            " sync_batches WHERE edge = ?1 AND generation = ?2)"
            " FROM edges WHERE id = ?1");
    if (!st)
        return -1;
    dni__bind_text(st, 1, j->edge);
    dni__bind_text(st, 2, j->generation);
    j->restarted = dni__step(st) == DNI_ROW && dni__col_int(st, 0);
    dni__reset(st);
    if (!j->restarted)
        return 0;
    st = dni__stmt(db, "UPDATE numbers SET state = 2 WHERE edge = ?1 AND"
                       " state = 1 AND number IN (SELECT number FROM leases"
                       " WHERE edge = ?1 AND released_at IS NULL)");
    if (!st)
        return -1;
    dni__bind_text(st, 1, j->edge);
    if (step_numbers(&j->moved, db, st))
        return -1;
    st = dni__stmt(db, "UPDATE leases SET released_at = max(start, min(?2,"
                       " coalesce(dni_lease_end(pool_id, start, last_seen,"
                       " last_join, NULL, 0), last_seen)))"
                       " WHERE edge = ?1 AND released_at IS NULL");
    if (!st)
        return -1;
    dni__settings_map_use(&pv->m);
    dni__bind_text(st, 1, j->edge);
    dni__bind_double(st, 2, j->now);
    int rc = step_done(st);
    dni__settings_map_use(NULL);
    return rc;
}

/* Applies the batch's events: all but the heartbeats in order, then the
 * heartbeats (which commute with them: they only raise last_seen and
 * last_join). Refused events are skipped. 0, or -1 on a database error. */
static int apply_events(sync_job_t *j, dni_db_t *db)
{
    for (size_t i = 0; i < j->nev; i++) {
        if (j->ev[i].refused || j->ev[i].beat >= 0)
            continue;
        int r = apply(db, j->edge, &j->ev[i], &j->overflow);
        if (r < 0)
            return -1;
        if (r)
            j->applied++;
        else
            j->rejected++;
    }
    if (apply_beats(db, j->edge, j->beats))
        return -1;
    for (size_t i = 0; i < j->nev; i++) {
        if (j->ev[i].refused || j->ev[i].beat < 0)
            continue;
        if (j->beats->v[j->ev[i].beat].applied)
            j->applied++;
        else
            j->rejected++;
    }
    return 0;
}

static int sync_job(dni_db_t *db, void *arg)
{
    sync_job_t *j = arg;
    double now = dni__now();
    j->now = now;
    dni_stmt_t *st = dni__stmt(
        db, "SELECT 1 FROM sync_batches WHERE edge = ?1 AND generation = ?2"
            " AND seq = ?3");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->edge);
    dni__bind_text(st, 2, j->generation);
    dni__bind_int64(st, 3, j->seq);
    j->duplicate = dni__step(st) == DNI_ROW;
    dni__reset(st);
    pools_view_t pv;
    if (pools_load(db, &pv))
        return 500;
    int status = 500;
    if (!j->duplicate) {
        if (edge_generation(j, db, &pv) || apply_events(j, db))
            goto out;
        if (reattribute(j, db, &pv.m))
            goto out;
        st = dni__stmt(db, "INSERT INTO sync_batches (edge, generation, seq,"
                           " applied, rejected, refused, at)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        if (!st)
            goto out;
        dni__bind_text(st, 1, j->edge);
        dni__bind_text(st, 2, j->generation);
        dni__bind_int64(st, 3, j->seq);
        dni__bind_int64(st, 4, j->applied);
        dni__bind_int64(st, 5, j->rejected);
        dni__bind_int64(st, 6, j->refused);
        dni__bind_double(st, 7, now);
        if (step_later(st))
            goto out;
    }
    if (dni__calls_expire(db, now, j->o->cfg.max_call_s, &j->calls_expired))
        goto out;
    if (j->calls_expired)
        j->moved = 1; /* holds lifted: the answers' lists change */
    st = dni__stmt(db, "INSERT INTO edges (id, last_sync, last_seq, generation)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
                       " last_sync = excluded.last_sync,"
                       " last_seq = CASE WHEN edges.generation = excluded.generation"
                       " THEN max(edges.last_seq, excluded.last_seq)"
                       " ELSE excluded.last_seq END,"
                       " generation = CASE WHEN ?5 OR edges.generation = ''"
                       " THEN excluded.generation ELSE edges.generation END");
    if (!st)
        goto out;
    dni__bind_text(st, 1, j->edge);
    dni__bind_double(st, 2, now);
    dni__bind_int64(st, 3, j->seq);
    dni__bind_text(st, 4, j->generation);
    dni__bind_int(st, 5, j->restarted);
    if (step_later(st))
        goto out;

    /* This edge's place among the active edges decides its share. */
    int64_t edges = 0, idx = 0;
    st = dni__stmt(db, "SELECT count(*),"
                       " coalesce(sum(CASE WHEN id < ?1 THEN 1 ELSE 0 END), 0)"
                       " FROM edges"
                       " WHERE last_sync >= ?2");
    if (!st)
        goto out;
    dni__bind_text(st, 1, j->edge);
    dni__bind_double(st, 2, now - j->o->cfg.edge_ttl_s);
    if (dni__step(st) == DNI_ROW) {
        edges = dni__col_int64(st, 0);
        idx = dni__col_int64(st, 1);
    }
    dni__reset(st);
    if (edges < 1)
        edges = 1;
    for (size_t i = 0; i < pv.m.n; i++)
        if (balance_pool(j, db, &pv, i, now, idx, edges))
            goto out;
    status = 200;
out:
    pools_free(&pv);
    if (status != 200)
        snprintf(j->msg, sizeof j->msg, "database error");
    return status;
}

/* ---- the request ------------------------------------------------------- */

static const char oom_reason[] = "out of memory";

/* Longest tags object of one event, printed as JSON. */
#define MAX_TAGS_JSON 16384

static int str_ok(const cJSON *v, size_t max)
{
    return cJSON_IsString(v) && *v->valuestring && strlen(v->valuestring) <= max;
}

/*
 * Checks one event and fills *ev from it in one pass over its members (a
 * batch holds thousands; looking each field up by name would compare every
 * key again for each). Returns NULL, a reason for a 422, or oom_reason.
 * Strings of *ev point into the parsed body; tags are printed (malloc'ed).
 * Of a key given twice, the first counts.
 */
static const char *read_event(const cJSON *in, sync_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->beat = -1;
    if (!cJSON_IsObject(in))
        return "every event is an object";
    const cJSON *type = NULL, *t = NULL, *epoch = NULL, *lease = NULL,
                *pool = NULL, *number = NULL, *visitor = NULL,
                *referrer = NULL, *url = NULL, *tags = NULL;
    for (const cJSON *m = in->child; m; m = m->next) {
        const char *k = m->string;
        const cJSON **slot = NULL;
        switch (k[0]) {
        case 't':
            slot = !strcmp(k, "type") ? &type
                   : !strcmp(k, "t")  ? &t
                   : !strcmp(k, "tags") ? &tags
                                        : NULL;
            break;
        case 'e': slot = !strcmp(k, "epoch") ? &epoch : NULL; break;
        case 'l': slot = !strcmp(k, "lease") ? &lease : NULL; break;
        case 'p': slot = !strcmp(k, "pool") ? &pool : NULL; break;
        case 'n': slot = !strcmp(k, "number") ? &number : NULL; break;
        case 'v': slot = !strcmp(k, "visitor") ? &visitor : NULL; break;
        case 'r': slot = !strcmp(k, "referrer") ? &referrer : NULL; break;
        case 'u': slot = !strcmp(k, "url") ? &url : NULL; break;
        default: break;
        }
        if (slot && !*slot)
            *slot = m;
    }
    if (!cJSON_IsString(type))
        return "event without a type";
    if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0)
        return "event without a time t";
    if (epoch && !whole(epoch))
        return "epoch must be a whole number";
    const char *ty = type->valuestring;
    ev->t = t->valuedouble;
    if (epoch) {
        ev->has_epoch = 1;
        ev->epoch = (int64_t)epoch->valuedouble;
    }
    ev->pool = cJSON_IsString(pool) ? pool->valuestring : NULL;
    if (!strcmp(ty, "limited")) {
        ev->type = EV_LIMITED;
        if (!str_ok(pool, 64))
            return "limited event without a pool";
        return dni__limited_read(in, &ev->limited[0], &ev->limited[1]);
    }
    if (!strcmp(ty, "overflow")) {
        ev->type = EV_OVERFLOW;
        return str_ok(pool, 64) ? NULL : "overflow event without a pool";
    }
    if (!str_ok(lease, 128))
        return "event without a lease id";
    ev->lease = lease->valuestring;
    if (!strcmp(ty, "seen")) {
        ev->type = EV_SEEN;
        return NULL;
    }
    if (!strcmp(ty, "join")) {
        ev->type = EV_JOIN;
        return NULL;
    }
    if (!strcmp(ty, "release")) {
        ev->type = EV_RELEASE;
        return NULL;
    }
    if (!strcmp(ty, "tag")) {
        ev->type = EV_TAG;
        if (!cJSON_IsObject(tags))
            return "tag event without tags";
        if (!(ev->tags = cJSON_PrintUnformatted(tags)))
            return oom_reason;
        return strlen(ev->tags) > MAX_TAGS_JSON
                   ? "tags longer than 16384 bytes as JSON"
                   : NULL;
    }
    if (strcmp(ty, "assign"))
        return "unknown event type";
    ev->type = EV_ASSIGN;
    dni_phone_t ph;
    if (!str_ok(pool, 64))
        return "assign event without a pool";
    if (!cJSON_IsString(number) ||
        dni_phone_parse(&ph, number->valuestring, strlen(number->valuestring),
                        NULL) != DNI_OK)
        return "assign event without a phone number";
    snprintf(ev->e164, sizeof ev->e164, "%s", ph.e164);
    ev->number = ev->e164;
    if (!epoch)
        return "assign event without an epoch";
    if (tags && !cJSON_IsObject(tags))
        return "tags must be an object";
    const cJSON *opt[] = {visitor, referrer, url};
    const char **dst[] = {&ev->visitor, &ev->referrer, &ev->url};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = opt[i];
        if (v && !cJSON_IsNull(v) &&
            (!cJSON_IsString(v) || strlen(v->valuestring) > 4096))
            return "visitor, referrer and url must be strings";
        *dst[i] = cJSON_IsString(v) ? v->valuestring : NULL;
    }
    /* Kept for display: only http(s) URLs (validate.c); others dropped. */
    ev->referrer = dni__display_url(ev->referrer);
    ev->url = dni__display_url(ev->url);
    if (tags && !(ev->tags = cJSON_PrintUnformatted(tags)))
        return oom_reason;
    if (ev->tags && strlen(ev->tags) > MAX_TAGS_JSON)
        return "tags longer than 16384 bytes as JSON";
    return NULL;
}

static void beats_free(beats_t *b)
{
    if (!b)
        return;
    free(b->v);
    free(b);
}

/* Folds the heartbeats of events[0..n) per lease, then puts them in key
 * order (the events' beat indices follow), here on the request's thread,
 * so that the store's seeks into leases walk the table forward; NULL when
 * out of memory. A heartbeat with an explicit epoch keeps the
 * one-statement path, where that epoch is checked. */
static beats_t *beats_build(sync_event_t *ev, size_t n)
{
    beats_t *b = calloc(1, sizeof *b);
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    long *slots = malloc(cap * sizeof *slots); /* open addressing */
    size_t mask = cap - 1;
    if (!b || !slots || !(b->v = malloc((n ? n : 1) * sizeof *b->v))) {
        free(slots);
        beats_free(b);
        return NULL;
    }
    memset(slots, 0xff, cap * sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        sync_event_t *e = &ev[i];
        e->beat = -1;
        if (e->refused || (e->type != EV_SEEN && e->type != EV_JOIN) ||
            e->has_epoch)
            continue;
        size_t h = hash_str(e->lease) & mask;
        while (slots[h] >= 0 && strcmp(b->v[slots[h]].lease, e->lease))
            h = (h + 1) & mask;
        if (slots[h] < 0) {
            dni_beat_t *nb = &b->v[b->n];
            memset(nb, 0, sizeof *nb);
            nb->lease = e->lease;
            nb->seen = e->t;
            nb->join = -1;
            slots[h] = (long)b->n++;
        }
        dni_beat_t *x = &b->v[slots[h]];
        if (e->t > x->seen)
            x->seen = e->t;
        if (e->type == EV_JOIN && e->t > x->join)
            x->join = e->t;
        e->beat = slots[h];
    }
    free(slots);
    /* Key order: sort pointers, so that each beat's old place gives its
     * new one (rank) for the events' indices. */
    size_t m = b->n ? b->n : 1;
    dni_beat_t **by_key = malloc(m * sizeof *by_key);
    dni_beat_t *sorted = malloc(m * sizeof *sorted);
    long *rank = malloc(m * sizeof *rank);
    if (!by_key || !sorted || !rank) {
        free(by_key);
        free(sorted);
        free(rank);
        beats_free(b);
        return NULL;
    }
    for (size_t k = 0; k < b->n; k++)
        by_key[k] = &b->v[k];
    qsort(by_key, b->n, sizeof *by_key, cmp_beat);
    for (size_t k = 0; k < b->n; k++) {
        sorted[k] = *by_key[k];
        rank[by_key[k] - b->v] = (long)k;
    }
    for (size_t i = 0; i < n; i++)
        if (ev[i].beat >= 0)
            ev[i].beat = rank[ev[i].beat];
    free(b->v);
    b->v = sorted;
    free(by_key);
    free(rank);
    return b;
}

/* The refused events as the answer lists them:
 * [{"index":N,"reason":"..."}, ...] (N counts from 0 in the batch's
 * events); NULL when out of memory. */
static char *refused_list(const sync_event_t *ev, size_t n)
{
    dni_jsonbuf_t b = {0};
    dni__jsonbuf_put(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].refused)
            continue;
        if (b.len > 1)
            dni__jsonbuf_put(&b, ",", 1);
        dni__jsonbuf_fmt(&b, "{\"index\":%zu,\"reason\":", i);
        dni__jsonbuf_str(&b, ev[i].refused);
        dni__jsonbuf_put(&b, "}", 1);
    }
    dni__jsonbuf_put(&b, "]", 1);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static void free_events(sync_event_t *ev, size_t n)
{
    for (size_t i = 0; ev && i < n; i++)
        free(ev[i].tags);
    free(ev);
}

/* Strings of a batch that are not well-formed text (invalid UTF-8, a lone
 * surrogate escape, \u0000): inside an event, that event alone is refused;
 * anywhere else, the batch is (as any malformed body). An edge cleans what
 * it sends, so this is for an edge that does not. */
typedef struct bad_text {
    int outside;            /* a bad string outside the events */
    char outside_msg[160];
    size_t n, cap;
    struct { size_t index; const char *reason; } *at;
    int oom;
} bad_text_t;

static void bad_text_seen(void *ud, const char *path, const char *reason)
{
    bad_text_t *b = ud;
    const char *p = path;
    size_t idx = 0;
    int ok = !strncmp(p, "events[", 7);
    if (ok) {
        p += 7;
        ok = *p >= '0' && *p <= '9';
        while (*p >= '0' && *p <= '9')
            idx = idx * 10 + (size_t)(*p++ - '0');
        ok = ok && *p == ']' && idx < 100000000;
    }
    if (!ok) {
        if (!b->outside)
            snprintf(b->outside_msg, sizeof b->outside_msg,
                     "body is not valid JSON: %s in %s", reason,
                     *path ? path : "a key");
        b->outside = 1;
        return;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        void *na = realloc(b->at, cap * sizeof *b->at);
        if (!na) {
            b->oom = 1;
            return;
        }
        b->at = na;
        b->cap = cap;
    }
    b->at[b->n].index = idx;
    b->at[b->n].reason = reason; /* a string literal of json_in.c */
    b->n++;
}

void dni__sync_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    bad_text_t badtext;
    memset(&badtext, 0, sizeof badtext);
    char pmsg[320];
    int pstatus;
    cJSON *body = dni__json_parse_marking(r->body, r->body_len, &pstatus, pmsg,
                                          sizeof pmsg, bad_text_seen, &badtext);
    if (body && (badtext.outside || badtext.oom)) {
        cJSON_Delete(body);
        body = NULL;
        pstatus = badtext.oom ? 500 : 400;
        snprintf(pmsg, sizeof pmsg, "%s",
                 badtext.oom ? oom_reason : badtext.outside_msg);
    }
    if (!body) {
        free(badtext.at);
        dni__resp_error(resp, pstatus, pmsg);
        return;
    }
    const cJSON *edge = cJSON_GetObjectItemCaseSensitive(body, "edge");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(body, "seq");
    cJSON *events = cJSON_GetObjectItemCaseSensitive(body, "events");
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(body, "versions");
    const cJSON *generation =
        cJSON_GetObjectItemCaseSensitive(body, "generation");
    const char *err = NULL;
    char msg[200];
    if (!cJSON_IsObject(body))
        err = "a sync batch is a JSON object";
    else if (!cJSON_IsString(edge) || !valid_edge(edge->valuestring))
        err = "edge must be 1..64 characters of A-Z a-z 0-9 _ . : -";
    else if (generation && !(cJSON_IsString(generation) &&
                             valid_edge(generation->valuestring)))
        err = "generation must be 1..64 characters of A-Z a-z 0-9 _ . : -";
    else if (!whole(seq))
        err = "seq must be a whole number";
    else if (events && !cJSON_IsArray(events))
        err = "events must be an array";
    else if (versions && !cJSON_IsObject(versions))
        err = "versions must be an object of pool id to config version";
    int n = 0;
    if (!err && events) {
        n = cJSON_GetArraySize(events);
        if ((unsigned)n > o->cfg.max_events) {
            snprintf(msg, sizeof msg, "too many events in one sync (most %u)",
                     o->cfg.max_events);
            cJSON_Delete(body);
            dni__resp_error(resp, 413, msg);
            return;
        }
    }
    sync_job_t j;
    memset(&j, 0, sizeof j);
    j.o = o;
    int oom = 0;
    size_t bc = 0;
    if (!err && n) {
        j.ev = calloc((size_t)n, sizeof *j.ev);
        oom = !j.ev;
        for (cJSON *ev = events->child; ev && !oom; ev = ev->next) {
            sync_event_t *e = &j.ev[j.nev++];
            const char *why = read_event(ev, e);
            /* badtext.at is in the order of the text: by event index. */
            while (bc < badtext.n && badtext.at[bc].index < j.nev - 1)
                bc++;
            if (why != oom_reason && bc < badtext.n &&
                badtext.at[bc].index == j.nev - 1)
                why = badtext.at[bc].reason;
            if (why == oom_reason) {
                oom = 1;
            } else if (why) {
                e->refused = why;
                j.refused++;
            }
        }
    }
    free(badtext.at);
    if (!err && !oom && !(j.beats = beats_build(j.ev, j.nev)))
        oom = 1;
    char *refused = NULL;
    if (!err && !oom && !(refused = refused_list(j.ev, j.nev)))
        oom = 1;
    if (err || oom) {
        free(refused);
        free_events(j.ev, j.nev);
        beats_free(j.beats);
        cJSON_Delete(body);
        dni__resp_error(resp, oom ? 500 : 422, oom ? oom_reason : err);
        return;
    }
    j.edge = edge->valuestring;
    j.generation = generation ? generation->valuestring : "";
    j.seq = (int64_t)seq->valuedouble;
    int status = dni__store_write(o->store, sync_job, &j);
    if (j.moved)
        dni__grants_changed();
    free_events(j.ev, j.nev);
    beats_free(j.beats);
    if (status >= 400) {
        free(refused);
        cJSON_Delete(body);
        dni__resp_error(resp, status, j.msg[0] ? j.msg : "database error");
        return;
    }
    if (j.refused && !j.duplicate)
        fprintf(stderr, "dni-origin: edge %s refused %ld of %zu events of"
                        " batch %s/%lld: %s\n", j.edge, j.refused, j.nev,
                j.generation, (long long)j.seq, refused);
    if (!j.duplicate && j.nev)
        dni__log_info("sync from %s #%lld: %zu events, %ld applied, %ld stale",
                      j.edge, (long long)j.seq, j.nev, j.applied, j.rejected);
    if (!j.duplicate)
        dni__metrics_add_refused((uint64_t)j.refused);
    dni__metrics_add_calls_expired((uint64_t)j.calls_expired);
    dni__metrics_add_events((uint64_t)j.applied);
    dni__metrics_add_stale((uint64_t)j.rejected);
    dni__metrics_add_overflow((uint64_t)j.overflow);
    dni_jsonbuf_t out = {0};
    dni_db_t *db = dni__store_reader(o->store);
    dni_sync_answer_t a = {j.edge,     j.seq,       j.applied,
                           j.rejected, j.duplicate, j.now,
                           o->cfg.grant_ttl_s,      refused};
    int bad = dni__sync_answer(db, &a, versions, &out);
    free(refused);
    dni__store_reader_done(o->store, db);
    cJSON_Delete(body);
    if (bad) {
        free(out.p);
        dni__resp_error(resp, 500, "database error");
        return;
    }
    free(resp->body);
    resp->status = 200;
    resp->body = out.p;
    resp->len = out.len;
    resp->content_type = "application/json";
}
