/*
 * sync_answer.c - the answer to POST /v1/edge/sync, built on the request's
 * thread from a read connection once the batch is committed: every pool
 * with its config (unless the edge has that version), this edge's grants
 * and revoked numbers, the expiry and the numbers on hold.
 *
 * It is written as JSON text directly (jsonbuf.c), the stored config
 * spliced as it is, because the answer is large (a grant per number) and
 * every edge asks for it every few seconds.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

/* Appends the rows of a one- or two-column query as a JSON array of
 * numbers ({"number","epoch"} objects when with_epoch). */
static int number_list(dni_jsonbuf_t *b, dni_db_t *db, const char *sql,
                       const char *pool, const char *edge, int with_epoch)
{
    dni_stmt_t *st = dni__stmt(db, sql);
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    if (edge)
        dni__bind_text(st, 2, edge);
    dni__jsonbuf_put(b, "[", 1);
    int rc, first = 1;
    while ((rc = dni__step(st)) == DNI_ROW) {
        if (!first)
            dni__jsonbuf_put(b, ",", 1);
        first = 0;
        if (with_epoch) {
            dni__jsonbuf_put(b, "{\"number\":", 10);
            dni__jsonbuf_str(b, dni__col_text(st, 0));
            dni__jsonbuf_put(b, ",\"epoch\":", 9);
            dni__jsonbuf_int(b, dni__col_int64(st, 1));
            dni__jsonbuf_put(b, "}", 1);
        } else {
            dni__jsonbuf_str(b, dni__col_text(st, 0));
        }
    }
    dni__reset(st);
    dni__jsonbuf_put(b, "]", 1);
    return rc == DNI_DONE ? 0 : -1;
}

/* ---- grant lists, cached ---------------------------------------------- */

/*
 * An edge's grant and revoked lists change only when numbers move, which
 * is rare next to the syncs that read them (every few seconds per edge,
 * thousands of numbers each). A request whose job changed rows of
 * `numbers` raises grants_gen once that job is committed (and before it
 * answers); lists are cached under the generation read before the
 * snapshot they were read from. So a list cached under generation G was
 * read after every change that raised the generation to G was committed,
 * and it is served while the generation is still G: it may come from a
 * snapshot newer than the rest of an answer's, never from one older than
 * the last committed change. A database other processes write too
 * (dni__db_shared) is read every time.
 */
static uint64_t grants_gen;

void dni__grants_changed(void)
{
    __atomic_add_fetch(&grants_gen, 1, __ATOMIC_SEQ_CST);
}

#define GRANTS_CACHE 256
typedef struct grants_entry {
    char key[132]; /* edge NUL pool */
    size_t keylen;
    uint64_t gen;
    char *text; /* "grants":[...],"revoked":[...] */
    size_t len;
} grants_entry_t;

static grants_entry_t grants_cache[GRANTS_CACHE];
static pthread_mutex_t grants_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t grants_key(char *key, const char *edge, const char *pool)
{
    size_t el = strlen(edge), pl = strlen(pool);
    if (el + pl + 2 > sizeof grants_cache[0].key)
        return 0;
    memcpy(key, edge, el + 1);
    memcpy(key + el + 1, pool, pl + 1);
    return el + pl + 2;
}

static size_t grants_slot(const char *key, size_t len)
{
    size_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    return h % GRANTS_CACHE;
}

/* Appends the cached lists to b; 1 when found for generation gen. */
static int grants_get(dni_jsonbuf_t *b, const char *key, size_t len,
                      uint64_t gen)
{
    if (!len)
        return 0;
    int hit = 0;
    pthread_mutex_lock(&grants_mu);
    grants_entry_t *e = &grants_cache[grants_slot(key, len)];
    if (e->text && e->gen == gen && e->keylen == len &&
        !memcmp(e->key, key, len)) {
        dni__jsonbuf_put(b, e->text, e->len);
        hit = 1;
    }
    pthread_mutex_unlock(&grants_mu);
    return hit;
}

static void grants_put(const char *key, size_t len, uint64_t gen,
                       const char *text, size_t tlen)
{
    char *copy = len ? malloc(tlen) : NULL;
    if (!copy)
        return;
    memcpy(copy, text, tlen);
    pthread_mutex_lock(&grants_mu);
    grants_entry_t *e = &grants_cache[grants_slot(key, len)];
    char *old = e->text;
    memcpy(e->key, key, len);
    e->keylen = len;
    e->gen = gen;
    e->text = copy;
    e->len = tlen;
    pthread_mutex_unlock(&grants_mu);
    free(old);
}

/* The version of pool id the edge says it has, or -1. */
static double have_version(const cJSON *versions, const char *id)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(versions, id);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

int dni__sync_answer(dni_db_t *db, const dni_sync_answer_t *j,
                     const cJSON *versions, dni_jsonbuf_t *b)
{
    /* Read before the snapshot is taken (at the first SELECT below). */
    uint64_t gen = __atomic_load_n(&grants_gen, __ATOMIC_SEQ_CST);
    /* Other processes move numbers too, unseen by grants_gen: no cache. */
    int shared = dni__db_shared(db);
    if (dni__snapshot_begin(db))
        return -1;
    int ok = 1;
    dni__jsonbuf_fmt(b, "{\"ack\":%lld,\"applied\":%ld,\"rejected\":%ld,",
                     (long long)j->seq, j->applied, j->rejected);
    if (j->duplicate)
        dni__jsonbuf_raw(b, "\"duplicate\":true,");
    if (j->refused) {
        dni__jsonbuf_raw(b, "\"refused\":");
        dni__jsonbuf_raw(b, j->refused);
        dni__jsonbuf_raw(b, ",");
    }
    dni__jsonbuf_raw(b, "\"now\":");
    dni__jsonbuf_time(b, j->now);
    dni__jsonbuf_raw(b, ",\"param_map\":");
    dni_stmt_t *st =
        dni__stmt(db, "SELECT value FROM settings WHERE key = 'param_map'");
    if (st && dni__step(st) == DNI_ROW)
        dni__jsonbuf_raw(b, dni__col_text(st, 0));
    else
        dni__jsonbuf_raw(b, "{}");
    if (st)
        dni__reset(st);
    dni__jsonbuf_raw(b, ",\"pools\":[");
    st = dni__stmt(db, "SELECT id, version, config FROM pools ORDER BY id");
    ok = st != NULL;
    int first = 1;
    while (ok && dni__step(st) == DNI_ROW) {
        const char *id = dni__col_text(st, 0);
        int64_t version = dni__col_int64(st, 1);
        if (!first)
            dni__jsonbuf_put(b, ",", 1);
        first = 0;
        dni__jsonbuf_raw(b, "{\"id\":");
        dni__jsonbuf_str(b, id);
        dni__jsonbuf_fmt(b, ",\"version\":%lld", (long long)version);
        /* An edge that already has this version of the config (it says so
         * in "versions") does not need the whole pool object again. */
        if (have_version(versions, id) != (double)version) {
            dni__jsonbuf_raw(b, ",\"config\":");
            dni__jsonbuf_raw(b, dni__col_text(st, 2));
        }
        dni__jsonbuf_put(b, ",", 1);
        char key[sizeof grants_cache[0].key];
        size_t klen = grants_key(key, j->edge, id);
        if (shared || !grants_get(b, key, klen, gen)) {
            size_t from = b->len;
            dni__jsonbuf_raw(b, "\"grants\":");
            ok = !number_list(b, db,
                              "SELECT number, epoch FROM numbers WHERE"
                              " pool_id = ?1 AND edge = ?2 AND state = 1"
                              " ORDER BY number",
                              id, j->edge, 1);
            dni__jsonbuf_raw(b, ",\"revoked\":");
            ok = ok && !number_list(b, db,
                                    "SELECT number, epoch FROM numbers WHERE"
                                    " pool_id = ?1 AND edge = ?2 AND state = 2"
                                    " ORDER BY number",
                                    id, j->edge, 1);
            if (ok && !b->oom && !shared)
                grants_put(key, klen, gen, b->p + from, b->len - from);
        }
        dni__jsonbuf_raw(b, ",\"expires_at\":");
        dni__jsonbuf_time(b, j->now + j->grant_ttl_s);
        dni__jsonbuf_raw(b, ",\"hold\":");
        ok = ok &&
             !number_list(b, db,
                          "SELECT DISTINCT to_number FROM calls WHERE"
                          " active = 1 AND pool_id = ?1 ORDER BY to_number",
                          id, NULL, 0);
        dni__jsonbuf_put(b, "}", 1);
    }
    if (st)
        dni__reset(st);
    dni__jsonbuf_raw(b, "]}");
    dni__snapshot_end(db);
    return ok && !b->oom ? 0 : -1;
}
