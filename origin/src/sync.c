/*
 * sync.c - POST /v1/edge/sync: applies an edge's batch of lease events and
 * answers with its grants (docs/origin.md, "Edge sync", is the contract).
 *
 * The request thread parses and validates the batch (a malformed batch is
 * a 422 and nothing of it is applied); the writer thread applies it, moves
 * numbers between edges and builds the answer, all in one job, so the
 * answer describes exactly the committed state.
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

typedef struct sync_job {
    dni_origin_t *o;
    const char *edge;
    double seq;
    cJSON *events;
    cJSON *result;
    long applied, rejected, overflow;
    char msg[160];
} sync_job_t;

static int valid_edge(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.:-") == n;
}

static int short_string(const cJSON *v, size_t max)
{
    return cJSON_IsString(v) && *v->valuestring && strlen(v->valuestring) <= max;
}

static int whole(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
           v->valuedouble <= 9007199254740992.0 &&
           v->valuedouble == floor(v->valuedouble);
}

/* Checks one event's shape; returns NULL or the reason. */
static const char *check_event(cJSON *ev)
{
    if (!cJSON_IsObject(ev))
        return "every event is an object";
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "t");
    if (!cJSON_IsString(type))
        return "event without a type";
    if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0)
        return "event without a time t";
    const char *ty = type->valuestring;
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(ev, "epoch");
    if (epoch && !whole(epoch))
        return "epoch must be a whole number";
    if (!strcmp(ty, "overflow"))
        return short_string(cJSON_GetObjectItemCaseSensitive(ev, "pool"), 64)
                   ? NULL
                   : "overflow event without a pool";
    if (!short_string(cJSON_GetObjectItemCaseSensitive(ev, "lease"), 128))
        return "event without a lease id";
    if (!strcmp(ty, "assign")) {
        cJSON *num = cJSON_GetObjectItemCaseSensitive(ev, "number");
        dni_phone_t ph;
        if (!short_string(cJSON_GetObjectItemCaseSensitive(ev, "pool"), 64))
            return "assign event without a pool";
        if (!cJSON_IsString(num) ||
            dni_phone_parse(&ph, num->valuestring, strlen(num->valuestring),
                            NULL) != DNI_OK)
            return "assign event without a phone number";
        cJSON_SetValuestring(num, ph.e164);
        if (!epoch)
            return "assign event without an epoch";
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(ev, "tags");
        if (tags && !cJSON_IsObject(tags))
            return "tags must be an object";
        const char *opt[] = {"visitor", "referrer", "url"};
        for (int i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, opt[i]);
            if (v && !cJSON_IsNull(v) &&
                (!cJSON_IsString(v) || strlen(v->valuestring) > 4096))
                return "visitor, referrer and url must be strings";
        }
        return NULL;
    }
    if (!strcmp(ty, "tag"))
        return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ev, "tags"))
                   ? NULL
                   : "tag event without tags";
    if (!strcmp(ty, "seen") || !strcmp(ty, "release") || !strcmp(ty, "join"))
        return NULL;
    return "unknown event type";
}

static const char *opt_str(const cJSON *ev, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double get_num(const cJSON *ev, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The current epoch of a lease's number, when the number is still granted
 * to (or draining from) this edge; the lease's own epoch must equal it. */
#define FENCE                                                                 \
    " AND epoch = (SELECT n.epoch FROM numbers n WHERE n.number ="            \
    " leases.number AND n.edge = ?1 AND n.state > 0)"                         \
    " AND (?4 IS NULL OR ?4 = epoch)"

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
    "INSERT OR IGNORE INTO leases (edge, lease, pool_id, number, epoch,"
    " visitor, tags, referrer, url, start, last_seen, last_join)"
    " SELECT ?1, ?2, pool_id, number, epoch, ?6, ?7, ?8, ?9, ?3, ?3, ?3"
    " FROM numbers WHERE number = ?5 AND pool_id = ?10 AND edge = ?1"
    " AND state > 0 AND epoch = ?4";
static const char *const sql_assign_again =
    "SELECT 1 FROM leases WHERE edge = ?1 AND lease = ?2 AND number = ?3"
    " AND epoch = ?4";
static const char *const sql_overflow =
    "INSERT INTO overflow_counts (pool_id, hour, n)"
    " SELECT id, ?2, 1 FROM pools WHERE id = ?1"
    " ON CONFLICT (pool_id, hour) DO UPDATE SET n = n + 1";

/* Applies one event; returns 1 applied, 0 rejected, -1 database error. */
static int apply(dni_db_t *db, const char *edge, const cJSON *ev, long *ovf)
{
    const char *ty = opt_str(ev, "type");
    double t = get_num(ev, "t");
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(ev, "epoch");
    const char *lease = opt_str(ev, "lease");
    sqlite3_stmt *st;
    char *tags = NULL;
    if (!strcmp(ty, "overflow")) {
        st = dni__stmt(db, sql_overflow);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, opt_str(ev, "pool"), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(t / 3600));
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
        int ch = sqlite3_changes(dni__db_handle(db));
        sqlite3_reset(st);
        *ovf += ch;
        return ch > 0;
    }
    if (!strcmp(ty, "assign")) {
        st = dni__stmt(db, sql_assign);
        if (!st)
            return -1;
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(ev, "tags");
        if (tg)
            tags = cJSON_PrintUnformatted(tg);
        sqlite3_bind_text(st, 5, opt_str(ev, "number"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, opt_str(ev, "visitor"), -1, SQLITE_STATIC);
        if (tags)
            sqlite3_bind_text(st, 7, tags, -1, free);
        else
            sqlite3_bind_text(st, 7, "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, opt_str(ev, "referrer"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, opt_str(ev, "url"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, opt_str(ev, "pool"), -1, SQLITE_STATIC);
        tags = NULL;
    } else {
        st = dni__stmt(db, !strcmp(ty, "seen")      ? sql_seen
                           : !strcmp(ty, "join")    ? sql_join
                           : !strcmp(ty, "release") ? sql_release
                                                    : sql_tag);
        if (!st)
            return -1;
        if (!strcmp(ty, "tag")) {
            tags = cJSON_PrintUnformatted(
                cJSON_GetObjectItemCaseSensitive(ev, "tags"));
            sqlite3_bind_text(st, 5, tags, -1, free);
        }
    }
    sqlite3_bind_text(st, 1, edge, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, lease, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, t);
    if (epoch)
        sqlite3_bind_int64(st, 4, (sqlite3_int64)epoch->valuedouble);
    int rc = sqlite3_step(st);
    int ch = sqlite3_changes(dni__db_handle(db));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (ch == 0 && !strcmp(ty, "assign")) {
        /* The same assign sent again in a later batch is not stale. */
        st = dni__stmt(db, sql_assign_again);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, edge, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, lease, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, opt_str(ev, "number"), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)epoch->valuedouble);
        ch = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    return ch > 0;
}

static int step_done(sqlite3_stmt *st)
{
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static sqlite3_int64 count(dni_db_t *db, const char *sql, const char *a,
                           const char *b)
{
    sqlite3_stmt *st = dni__stmt(db, sql);
    sqlite3_int64 n = 0;
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static cJSON *number_list(dni_db_t *db, const char *sql, const char *pool,
                          const char *edge, int with_epoch)
{
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st = dni__stmt(db, sql);
    if (!st)
        return arr;
    sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
    if (edge)
        sqlite3_bind_text(st, 2, edge, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *num = (const char *)sqlite3_column_text(st, 0);
        if (with_epoch) {
            cJSON *g = cJSON_CreateObject();
            cJSON_AddStringToObject(g, "number", num);
            cJSON_AddNumberToObject(g, "epoch",
                                    (double)sqlite3_column_int64(st, 1));
            cJSON_AddItemToArray(arr, g);
        } else {
            cJSON_AddItemToArray(arr, cJSON_CreateString(num));
        }
    }
    sqlite3_reset(st);
    return arr;
}

/* Moves numbers of one pool so this edge converges on its share, renews
 * its grants, and returns the pool's entry of the answer. */
static cJSON *balance_pool(sync_job_t *j, dni_db_t *db, const char *pool,
                           cJSON *config, double now, sqlite3_int64 share_idx,
                           sqlite3_int64 edges)
{
    const char *e = j->edge;
    double max_lease = get_num(config, "max_lease_s");
    sqlite3_stmt *st;

    /* Numbers of edges that stopped syncing: once their grants expired
     * (grant_ttl after their last sync) and max_lease_s more passed, no
     * lease they made can still be live. Grants are renewed per edge, by
     * its last sync, so a sync does not rewrite every number row. */
    /* Cheap check first: almost always no edge is dead. */
    st = dni__stmt(db, "SELECT 1 FROM edges WHERE id <> ?1 AND"
                       " last_sync + ?2 + ?3 < ?4 LIMIT 1");
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, e, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, j->o->cfg.grant_ttl_s);
    sqlite3_bind_double(st, 3, max_lease);
    sqlite3_bind_double(st, 4, now);
    int dead = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    st = !dead ? NULL
               : dni__stmt(db, "UPDATE numbers SET state = 0, edge = NULL, released_at = ?3"
                       " WHERE pool_id = ?1 AND state > 0 AND edge IN"
                       " (SELECT id FROM edges WHERE id <> ?2 AND"
                       " last_sync + ?5 + ?4 < ?3)");
    if (dead) {
        if (!st)
            return NULL;
        sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, now);
        sqlite3_bind_double(st, 4, max_lease);
        sqlite3_bind_double(st, 5, j->o->cfg.grant_ttl_s);
        if (step_done(st))
            return NULL;
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
        return NULL;
    sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, now);
    if (step_done(st))
        return NULL;

    sqlite3_int64 n = count(db, "SELECT count(*) FROM numbers WHERE pool_id = ?1",
                            pool, NULL);
    sqlite3_int64 held = count(db, "SELECT count(*) FROM numbers WHERE"
                                   " pool_id = ?1 AND edge = ?2 AND state = 1",
                               pool, e);
    sqlite3_int64 target = n / edges + (share_idx < n % edges ? 1 : 0);
    if (held > target) {
        st = dni__stmt(db, "UPDATE numbers SET state = 2 WHERE number IN"
                           " (SELECT number FROM numbers WHERE pool_id = ?1"
                           " AND edge = ?2 AND state = 1 ORDER BY EXISTS"
                           " (SELECT 1 FROM leases l WHERE l.number ="
                           " numbers.number AND l.edge = ?2 AND"
                           " l.released_at IS NULL), number LIMIT ?3)");
        if (!st)
            return NULL;
        sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, held - target);
        if (step_done(st))
            return NULL;
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
            return NULL;
        sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, target - held);
        sqlite3_bind_double(st, 4, now + j->o->cfg.grant_ttl_s);
        if (step_done(st))
            return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", pool);
    cJSON_AddNumberToObject(out, "version", get_num(config, "version"));
    cJSON_AddItemToObject(out, "config", cJSON_Duplicate(config, 1));
    cJSON_AddItemToObject(
        out, "grants",
        number_list(db, "SELECT number, epoch FROM numbers WHERE pool_id = ?1"
                        " AND edge = ?2 AND state = 1 ORDER BY number",
                    pool, e, 1));
    cJSON_AddItemToObject(
        out, "revoked",
        number_list(db, "SELECT number, epoch FROM numbers WHERE pool_id = ?1"
                        " AND edge = ?2 AND state = 2 ORDER BY number",
                    pool, e, 1));
    cJSON_AddNumberToObject(out, "expires_at", now + j->o->cfg.grant_ttl_s);
    cJSON_AddItemToObject(
        out, "hold",
        number_list(db, "SELECT DISTINCT to_number FROM calls WHERE active = 1"
                        " AND pool_id = ?1 ORDER BY to_number",
                    pool, NULL, 0));
    return out;
}

static int sync_job(dni_db_t *db, void *arg)
{
    sync_job_t *j = arg;
    double now = dni__now();
    sqlite3_stmt *st = dni__stmt(
        db, "SELECT 1 FROM sync_batches WHERE edge = ?1 AND seq = ?2");
    if (!st)
        return 500;
    sqlite3_bind_text(st, 1, j->edge, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)j->seq);
    int dup = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (!dup) {
        for (cJSON *ev = j->events->child; ev; ev = ev->next) {
            int r = apply(db, j->edge, ev, &j->overflow);
            if (r < 0)
                return snprintf(j->msg, sizeof j->msg, "database error"), 500;
            if (r)
                j->applied++;
            else
                j->rejected++;
        }
        st = dni__stmt(db, "INSERT INTO sync_batches (edge, seq, applied,"
                           " rejected, at) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!st)
            return 500;
        sqlite3_bind_text(st, 1, j->edge, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)j->seq);
        sqlite3_bind_int64(st, 3, j->applied);
        sqlite3_bind_int64(st, 4, j->rejected);
        sqlite3_bind_double(st, 5, now);
        if (step_done(st))
            return 500;
    }
    st = dni__stmt(db, "INSERT INTO edges (id, last_sync, last_seq)"
                       " VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET"
                       " last_sync = excluded.last_sync,"
                       " last_seq = max(last_seq, excluded.last_seq)");
    if (!st)
        return 500;
    sqlite3_bind_text(st, 1, j->edge, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, now);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)j->seq);
    if (step_done(st))
        return 500;

    /* This edge's place among the active edges decides its share. */
    sqlite3_int64 edges = 0, idx = 0;
    st = dni__stmt(db, "SELECT count(*), sum(id < ?1) FROM edges"
                       " WHERE last_sync >= ?2");
    if (!st)
        return 500;
    sqlite3_bind_text(st, 1, j->edge, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, now - j->o->cfg.edge_ttl_s);
    if (sqlite3_step(st) == SQLITE_ROW) {
        edges = sqlite3_column_int64(st, 0);
        idx = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (edges < 1)
        edges = 1;

    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "ack", j->seq);
    cJSON_AddNumberToObject(res, "applied", (double)j->applied);
    cJSON_AddNumberToObject(res, "rejected", (double)j->rejected);
    if (dup)
        cJSON_AddTrueToObject(res, "duplicate");
    cJSON_AddNumberToObject(res, "now", now);
    cJSON *pm = NULL;
    st = dni__stmt(db, "SELECT value FROM settings WHERE key = 'param_map'");
    if (st && sqlite3_step(st) == SQLITE_ROW)
        pm = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    if (st)
        sqlite3_reset(st);
    cJSON_AddItemToObject(res, "param_map", pm ? pm : cJSON_CreateObject());
    cJSON *pools = cJSON_AddArrayToObject(res, "pools");
    /* Pool configs are read first: balancing issues other statements. */
    cJSON *cfgs = cJSON_CreateArray();
    st = dni__stmt(db, "SELECT config FROM pools ORDER BY id");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        cJSON *c = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        if (c)
            cJSON_AddItemToArray(cfgs, c);
    }
    if (st)
        sqlite3_reset(st);
    for (cJSON *c = cfgs->child; c; c = c->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        cJSON *p = cJSON_IsString(id)
                       ? balance_pool(j, db, id->valuestring, c, now, idx, edges)
                       : NULL;
        if (!p) {
            cJSON_Delete(cfgs);
            cJSON_Delete(res);
            return snprintf(j->msg, sizeof j->msg, "database error"), 500;
        }
        cJSON_AddItemToArray(pools, p);
    }
    cJSON_Delete(cfgs);
    j->result = res;
    return 200;
}

void dni__sync_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
    if (!body) {
        dni__resp_error(resp, 400, "body is not valid JSON");
        return;
    }
    const cJSON *edge = cJSON_GetObjectItemCaseSensitive(body, "edge");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(body, "seq");
    cJSON *events = cJSON_GetObjectItemCaseSensitive(body, "events");
    const char *err = NULL;
    char msg[200];
    if (!cJSON_IsObject(body))
        err = "a sync batch is a JSON object";
    else if (!cJSON_IsString(edge) || !valid_edge(edge->valuestring))
        err = "edge must be 1..64 characters of A-Z a-z 0-9 _ . : -";
    else if (!whole(seq))
        err = "seq must be a whole number";
    else if (events && !cJSON_IsArray(events))
        err = "events must be an array";
    if (!err && events) {
        int n = cJSON_GetArraySize(events);
        if ((unsigned)n > o->cfg.max_events) {
            snprintf(msg, sizeof msg, "too many events in one sync (most %u)",
                     o->cfg.max_events);
            cJSON_Delete(body);
            dni__resp_error(resp, 413, msg);
            return;
        }
        int i = 0;
        for (cJSON *ev = events->child; ev && !err; ev = ev->next, i++) {
            const char *why = check_event(ev);
            if (why) {
                snprintf(msg, sizeof msg, "events[%d]: %s", i, why);
                err = msg;
            }
        }
    }
    if (err) {
        cJSON_Delete(body);
        dni__resp_error(resp, 422, err);
        return;
    }
    cJSON empty;
    memset(&empty, 0, sizeof empty);
    empty.type = cJSON_Array;
    sync_job_t j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.edge = edge->valuestring;
    j.seq = seq->valuedouble;
    j.events = events ? events : &empty;
    int status = dni__store_write(o->store, sync_job, &j);
    cJSON_Delete(body);
    if (status >= 400) {
        cJSON_Delete(j.result);
        dni__resp_error(resp, status, j.msg[0] ? j.msg : "database error");
        return;
    }
    dni__metrics_add_events((uint64_t)j.applied);
    dni__metrics_add_stale((uint64_t)j.rejected);
    dni__metrics_add_overflow((uint64_t)j.overflow);
    dni__resp_json(resp, 200, j.result);
}
