/*
 * pools.c - the pools API (POST/GET/PATCH/DELETE /v1/pools[/{id}]) and the
 * company parameter map (PUT /v1/param-map).
 *
 * A pool is stored twice on purpose: its whole object as JSON (what the API
 * and the edges read, so a new setting needs no migration) and its numbers
 * as rows of `numbers` (what grants, fencing and webhooks query). Both are
 * written in the same job, so they never disagree.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"
#include "visitors.h"

#define MAX_NUMBERS 100000

static const char *const known_keys[] = {
    "id",          "name",          "campaign",        "traffic_source",
    "stockpile",   "provider",      "auto_scale",      "postback_url",
    "numbers",     "default_number", "overflow_number", "mode",
    "tracked_tags", "param_map",    "buffer_s",        "max_lease_s",
    "min_hold_s",  "sticky_s",      "attribution_window_s", "number_limit",
    "version",     "created_at",    "updated_at",
    "forward_to",  "record_calls",  "alert_url",
    "postback_method", "postback_body",
    "consent_required", "consent_cookie", "site_origins", NULL};

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-") == n;
}

/* Normalises item (a JSON string) to E.164 in place. */
static int norm_phone(cJSON *item)
{
    dni_phone_t ph;
    if (!cJSON_IsString(item) ||
        dni_phone_parse(&ph, item->valuestring, strlen(item->valuestring),
                        NULL) != DNI_OK)
        return -1;
    cJSON_SetValuestring(item, ph.e164);
    return 0;
}

/* A string field: absent -> def; must be a string of at most max bytes
 * (null allowed when nullable). */
static const char *str_field(cJSON *pool, const char *key, const char *def,
                             size_t max, int nullable, char *msg,
                             size_t msglen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(pool, key);
    if (!v) {
        if (def)
            cJSON_AddStringToObject(pool, key, def);
        else
            cJSON_AddNullToObject(pool, key);
        return NULL;
    }
    if (cJSON_IsNull(v) && nullable)
        return NULL;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        snprintf(msg, msglen, "%s must be a string of at most %zu bytes%s",
                 key, max, nullable ? " or null" : "");
        return msg;
    }
    return NULL;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static double num(const cJSON *pool, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(pool, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* number_limit when it is not given: the numbers listed, or the
 * stockpile when that is larger (the lifecycle acquires it). */
static double default_limit(const cJSON *pool, int n)
{
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(pool, "stockpile");
    if (cJSON_IsNumber(sp) && sp->valuedouble > n &&
        sp->valuedouble <= MAX_NUMBERS)
        return floor(sp->valuedouble);
    return n;
}

const char *dni__pool_validate(cJSON *pool, char *msg, size_t msglen)
{
    const char *e;
    if (!cJSON_IsObject(pool)) {
        snprintf(msg, msglen, "a pool is a JSON object");
        return msg;
    }
    for (cJSON *it = pool->child; it; it = it->next) {
        int ok = 0;
        for (int k = 0; known_keys[k]; k++)
            ok |= it->string && !strcmp(it->string, known_keys[k]);
        ok |= dni__pool_visitor_key(it->string);
        if (!ok) {
            snprintf(msg, msglen, "unknown field '%.64s'",
                     it->string ? it->string : "");
            return msg;
        }
    }
    if ((e = str_field(pool, "name", "", 200, 0, msg, msglen)) ||
        (e = str_field(pool, "campaign", "", 200, 0, msg, msglen)) ||
        (e = str_field(pool, "postback_url", NULL, 2000, 1, msg, msglen)))
        return e;
    cJSON *pb = cJSON_GetObjectItemCaseSensitive(pool, "postback_url");
    if (cJSON_IsString(pb) && !dni__url_http(pb->valuestring)) {
        snprintf(msg, msglen, "postback_url must be an absolute http(s) URL");
        return msg;
    }
    if (dni__postback_template_check(pool, msg, msglen))
        return msg;
    cJSON *ts = cJSON_GetObjectItemCaseSensitive(pool, "traffic_source");
    if (!ts)
        cJSON_AddNullToObject(pool, "traffic_source");
    else if ((e = dni__traffic_source_check(ts, msg, msglen)))
        return e;
    if ((e = dni__pool_validate_visitors(pool, msg, msglen)))
        return e;

    /* Numbers: every one E.164, no duplicates, none equal to the default
     * or overflow number (those are shown when no lease exists, so a call
     * to them must never be attributed to a lease). */
    cJSON *nums = cJSON_GetObjectItemCaseSensitive(pool, "numbers");
    if (!cJSON_IsArray(nums)) {
        snprintf(msg, msglen, "numbers must be an array of phone numbers");
        return msg;
    }
    int n = cJSON_GetArraySize(nums);
    if (n > MAX_NUMBERS) {
        snprintf(msg, msglen, "a pool has at most %d numbers", MAX_NUMBERS);
        return msg;
    }
    for (cJSON *it = nums->child; it; it = it->next) {
        if (norm_phone(it)) {
            snprintf(msg, msglen, "numbers: '%.40s' is not a phone number",
                     cJSON_IsString(it) ? it->valuestring : "(not a string)");
            return msg;
        }
    }
    /* Duplicates: sort a copy of the pointers (a pool may list 100,000
     * numbers; pairwise comparison would not do). */
    if (n > 1) {
        const char **sorted = malloc(sizeof *sorted * (size_t)n);
        if (!sorted) {
            snprintf(msg, msglen, "out of memory");
            return msg;
        }
        int k = 0;
        for (cJSON *it = nums->child; it; it = it->next)
            sorted[k++] = it->valuestring;
        qsort(sorted, (size_t)n, sizeof *sorted, str_cmp);
        for (int i = 1; i < n; i++)
            if (!strcmp(sorted[i - 1], sorted[i])) {
                snprintf(msg, msglen, "numbers: %s is listed twice",
                         sorted[i]);
                free(sorted);
                return msg;
            }
        free(sorted);
    }
    cJSON *def = cJSON_GetObjectItemCaseSensitive(pool, "default_number");
    if (!def || norm_phone(def)) {
        snprintf(msg, msglen, "default_number must be a phone number");
        return msg;
    }
    cJSON *ovf = cJSON_GetObjectItemCaseSensitive(pool, "overflow_number");
    if (!ovf)
        ovf = cJSON_AddNullToObject(pool, "overflow_number");
    else if (!cJSON_IsNull(ovf) && norm_phone(ovf)) {
        snprintf(msg, msglen, "overflow_number must be a phone number or null");
        return msg;
    }
    if (cJSON_IsString(ovf) && !strcmp(ovf->valuestring, def->valuestring)) {
        snprintf(msg, msglen, "overflow_number must differ from default_number");
        return msg;
    }
    for (cJSON *it = nums->child; it; it = it->next)
        if (!strcmp(it->valuestring, def->valuestring) ||
            (cJSON_IsString(ovf) && !strcmp(it->valuestring, ovf->valuestring))) {
            snprintf(msg, msglen,
                     "numbers: %s is the default or overflow number",
                     it->valuestring);
            return msg;
        }

    cJSON *mode = cJSON_GetObjectItemCaseSensitive(pool, "mode");
    if (!mode)
        mode = cJSON_AddStringToObject(pool, "mode", "visitor");
    if (!cJSON_IsString(mode) || (strcmp(mode->valuestring, "visitor") &&
                                  strcmp(mode->valuestring, "tags"))) {
        snprintf(msg, msglen, "mode must be \"visitor\" or \"tags\"");
        return msg;
    }
    cJSON *tt = cJSON_GetObjectItemCaseSensitive(pool, "tracked_tags");
    if (!tt)
        tt = cJSON_AddArrayToObject(pool, "tracked_tags");
    if (!cJSON_IsArray(tt) || cJSON_GetArraySize(tt) > 64) {
        snprintf(msg, msglen, "tracked_tags must be an array of tag names");
        return msg;
    }
    for (cJSON *it = tt->child; it; it = it->next)
        if (!cJSON_IsString(it) || !*it->valuestring ||
            strlen(it->valuestring) > 64) {
            snprintf(msg, msglen, "tracked_tags must be an array of tag names");
            return msg;
        }
    if (!strcmp(mode->valuestring, "tags") && cJSON_GetArraySize(tt) == 0) {
        snprintf(msg, msglen, "mode \"tags\" needs at least one tracked tag");
        return msg;
    }
    cJSON *pm = cJSON_GetObjectItemCaseSensitive(pool, "param_map");
    if (!pm)
        pm = cJSON_AddObjectToObject(pool, "param_map");
    if (!cJSON_IsObject(pm)) {
        snprintf(msg, msglen, "param_map must be an object of strings");
        return msg;
    }
    for (cJSON *it = pm->child; it; it = it->next)
        if (!cJSON_IsString(it) || !*it->valuestring ||
            strlen(it->valuestring) > 64 || strlen(it->string) > 64) {
            snprintf(msg, msglen, "param_map must map parameter names to tag names");
            return msg;
        }

    dni_pool_settings_t d;
    dni_pool_settings_init(&d);
    if ((e = dni__number_field(pool, "buffer_s", d.buffer_s, 0, 86400, 0, msg,
                       msglen)) ||
        (e = dni__number_field(pool, "max_lease_s", d.max_lease_s, 1, 604800, 0, msg,
                       msglen)) ||
        (e = dni__number_field(pool, "min_hold_s", d.min_hold_s, 0, 86400, 0, msg,
                       msglen)) ||
        (e = dni__number_field(pool, "sticky_s", d.sticky_s, 0, 31536000, 0, msg,
                       msglen)) ||
        (e = dni__number_field(pool, "attribution_window_s", d.attribution_window_s,
                       0, 2592000, 0, msg, msglen)) ||
        (e = dni__number_field(pool, "number_limit", default_limit(pool, n), 0,
                       MAX_NUMBERS, 1, msg, msglen)))
        return e;
    if (num(pool, "min_hold_s") > num(pool, "max_lease_s")) {
        snprintf(msg, msglen, "min_hold_s must not exceed max_lease_s");
        return msg;
    }
    if (num(pool, "number_limit") < n) {
        snprintf(msg, msglen,
                 "number_limit (%g) is below the number of numbers (%d)",
                 num(pool, "number_limit"), n);
        return msg;
    }
    /* consent and site origins: what the snippet needs (pool_snippet.c) */
    if ((e = dni__pool_snippet_validate(pool, msg, msglen)))
        return e;
    /* stockpile, provider, auto_scale, forward_to, record_calls,
     * alert_url: the number lifecycle's settings (lifecycle.c). */
    return dni__telephony_validate(pool, msg, msglen);
}

void dni__pool_settings(const cJSON *pool, dni_pool_settings_t *s)
{
    dni_pool_settings_init(s);
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(pool, "mode");
    s->mode = cJSON_IsString(mode) && !strcmp(mode->valuestring, "tags")
                  ? DNI_MODE_TAGS
                  : DNI_MODE_VISITOR;
    s->buffer_s = num(pool, "buffer_s");
    s->max_lease_s = num(pool, "max_lease_s");
    s->min_hold_s = num(pool, "min_hold_s");
    s->sticky_s = num(pool, "sticky_s");
    s->attribution_window_s = num(pool, "attribution_window_s");
    s->number_limit = (uint32_t)num(pool, "number_limit");
}

/* The JSON stored in one column of a pool's row (sql selects it by id),
 * parsed; NULL when there is no such pool. */
static cJSON *load_json(dni_db_t *db, const char *sql, const char *id)
{
    dni_stmt_t *st = dni__stmt(db, sql);
    if (!st)
        return NULL;
    dni__bind_text(st, 1, id);
    cJSON *p = NULL;
    if (dni__step(st) == DNI_ROW)
        p = cJSON_Parse(dni__col_text(st, 0));
    dni__reset(st);
    return p;
}

cJSON *dni__pool_load(dni_db_t *db, const char *id)
{
    return load_json(db, "SELECT config FROM pools WHERE id = ?", id);
}

cJSON *dni__pool_load_settings(dni_db_t *db, const char *id)
{
    return load_json(db, "SELECT settings FROM pools WHERE id = ?", id);
}

/* ---- write jobs ------------------------------------------------------- */

typedef struct pool_job {
    const char *method;
    const char *id;
    cJSON *body;   /* request body (POST: the pool; PATCH: the changes) */
    cJSON *result; /* the stored pool, on success */
    char msg[256];
} pool_job_t;

static int fail(pool_job_t *j, int status, const char *msg)
{
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    return status;
}

/* Inserts the pool's numbers that are not rows yet; 409 when a number
 * belongs to another pool. */
static int add_numbers(dni_db_t *db, pool_job_t *j, const char *id,
                       const cJSON *nums)
{
    for (const cJSON *it = nums->child; it; it = it->next) {
        dni_stmt_t *st =
            dni__stmt(db, "SELECT pool_id FROM numbers WHERE number = ?");
        if (!st)
            return fail(j, 500, "database error");
        dni__bind_text(st, 1, it->valuestring);
        if (dni__step(st) == DNI_ROW) {
            int mine = !strcmp(dni__col_text(st, 0), id);
            dni__reset(st);
            if (mine)
                continue;
            snprintf(j->msg, sizeof j->msg,
                     "number %s already belongs to another pool",
                     it->valuestring);
            return 409;
        }
        dni__reset(st);
        st = dni__stmt(db, "INSERT INTO numbers (number, pool_id) VALUES (?, ?)");
        if (!st)
            return fail(j, 500, "database error");
        dni__bind_text(st, 1, it->valuestring);
        dni__bind_text(st, 2, id);
        if (dni__step(st) != DNI_DONE)
            return fail(j, 500, "database error");
    }
    return 0;
}

char *dni__pool_settings_text(const cJSON *pool, const char *id)
{
    static const char *const keys[] = {"mode", "buffer_s", "max_lease_s",
                                       "min_hold_s", "sticky_s",
                                       "attribution_window_s", "number_limit"};
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", id)) {
        cJSON_Delete(o);
        return NULL;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(pool, keys[i]);
        cJSON *c = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
        if (!c || !cJSON_AddItemToObject(o, keys[i], c)) {
            cJSON_Delete(c);
            cJSON_Delete(o);
            return NULL;
        }
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static int store_pool(dni_db_t *db, pool_job_t *j, cJSON *pool, int insert)
{
    char *text = cJSON_PrintUnformatted(pool);
    char *settings = dni__pool_settings_text(pool, j->id);
    if (!text || !settings) {
        free(text);
        free(settings);
        return fail(j, 500, "out of memory");
    }
    const cJSON *ovf = cJSON_GetObjectItemCaseSensitive(pool, "overflow_number");
    dni_stmt_t *st = dni__stmt(
        db, insert ? "INSERT INTO pools (id, version, config, default_number, "
                     "overflow_number, created_at, updated_at, settings) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)"
                   : "UPDATE pools SET version = ?2, config = ?3, "
                     "default_number = ?4, overflow_number = ?5, "
                     "updated_at = ?6, settings = ?7 WHERE id = ?1");
    if (!st) {
        free(text);
        free(settings);
        return fail(j, 500, "database error");
    }
    dni__bind_text(st, 1, j->id);
    dni__bind_int64(st, 2, (int64_t)num(pool, "version"));
    dni__bind_text_copy(st, 3, text);
    free(text);
    dni__bind_text_copy(st, 4, cJSON_GetObjectItemCaseSensitive(pool, "default_number")->valuestring);
    if (cJSON_IsString(ovf))
        dni__bind_text_copy(st, 5, ovf->valuestring);
    dni__bind_double(st, 6, num(pool, "updated_at"));
    dni__bind_text_copy(st, 7, settings);
    free(settings);
    int rc = dni__step(st);
    dni__reset(st);
    if (rc == DNI_CONSTRAINT)
        return fail(j, 409, "a pool with this id already exists");
    if (rc != DNI_DONE)
        return fail(j, 500, "database error");
    return 0;
}

static int pool_job(dni_db_t *db, void *arg)
{
    pool_job_t *j = arg;
    double now = dni__now();
    int rc;
    if (!strcmp(j->method, "POST")) {
        cJSON *pool = j->body;
        cJSON_DeleteItemFromObject(pool, "version");
        cJSON_DeleteItemFromObject(pool, "created_at");
        cJSON_DeleteItemFromObject(pool, "updated_at");
        cJSON_AddNumberToObject(pool, "version", 1);
        cJSON_AddNumberToObject(pool, "created_at", now);
        cJSON_AddNumberToObject(pool, "updated_at", now);
        if ((rc = store_pool(db, j, pool, 1)) ||
            (rc = add_numbers(db, j, j->id,
                              cJSON_GetObjectItemCaseSensitive(pool, "numbers"))))
            return rc;
        j->result = cJSON_Duplicate(pool, 1);
        return 201;
    }
    cJSON *cur = dni__pool_load(db, j->id);
    if (!cur)
        return fail(j, 404, "no such pool");
    if (!strcmp(j->method, "DELETE")) {
        cJSON_Delete(cur);
        dni_stmt_t *st = dni__stmt(db, "DELETE FROM numbers WHERE pool_id = ?");
        dni_stmt_t *st2 = dni__stmt(db, "DELETE FROM pools WHERE id = ?");
        if (!st || !st2)
            return fail(j, 500, "database error");
        dni__bind_text(st, 1, j->id);
        dni__step(st);
        dni__bind_text(st2, 1, j->id);
        if (dni__step(st2) != DNI_DONE)
            return fail(j, 500, "database error");
        j->result = cJSON_CreateObject();
        cJSON_AddStringToObject(j->result, "deleted", j->id);
        return 200;
    }
    /* PATCH: the given fields replace the stored ones; the merged pool is
     * validated as a whole, so a change can never leave it inconsistent
     * (e.g. number_limit below the numbers). */
    for (cJSON *it = j->body->child; it; it = it->next) {
        if (!strcmp(it->string, "id") &&
            (!cJSON_IsString(it) || strcmp(it->valuestring, j->id))) {
            cJSON_Delete(cur);
            return fail(j, 422, "id cannot be changed");
        }
        if (!strcmp(it->string, "version") || !strcmp(it->string, "created_at") ||
            !strcmp(it->string, "updated_at"))
            continue;
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (cJSON_GetObjectItemCaseSensitive(cur, it->string))
            cJSON_ReplaceItemInObjectCaseSensitive(cur, it->string, copy);
        else
            cJSON_AddItemToObject(cur, it->string, copy);
    }
    /* number_limit follows the numbers unless it is given or was set
     * larger: growing the pool must not trip over the old default. */
    if (!cJSON_GetObjectItemCaseSensitive(j->body, "number_limit") &&
        cJSON_GetObjectItemCaseSensitive(j->body, "numbers")) {
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cur, "numbers"));
        if (num(cur, "number_limit") < n)
            cJSON_ReplaceItemInObjectCaseSensitive(cur, "number_limit",
                                                   cJSON_CreateNumber(n));
    }
    char msg[256];
    if (dni__pool_validate(cur, msg, sizeof msg)) {
        cJSON_Delete(cur);
        return fail(j, 422, msg);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(
        cur, "version", cJSON_CreateNumber(num(cur, "version") + 1));
    cJSON_ReplaceItemInObjectCaseSensitive(cur, "updated_at",
                                           cJSON_CreateNumber(now));
    cJSON *nums = cJSON_GetObjectItemCaseSensitive(cur, "numbers");
    /* Numbers taken out of the pool are deleted; the edge holding one sees
     * it vanish from its grants at the next sync. */
    dni_stmt_t *st = dni__stmt(db, "SELECT number FROM numbers WHERE pool_id = ?");
    if (!st) {
        cJSON_Delete(cur);
        return fail(j, 500, "database error");
    }
    dni__bind_text(st, 1, j->id);
    cJSON *gone = cJSON_CreateArray();
    while (dni__step(st) == DNI_ROW) {
        const char *num_s = dni__col_text(st, 0);
        int keep = 0;
        for (cJSON *it = nums->child; it && !keep; it = it->next)
            keep = !strcmp(it->valuestring, num_s);
        if (!keep)
            cJSON_AddItemToArray(gone, cJSON_CreateString(num_s));
    }
    dni__reset(st);
    for (cJSON *it = gone->child; it; it = it->next) {
        dni_stmt_t *d = dni__stmt(db, "DELETE FROM numbers WHERE number = ?");
        if (!d)
            break;
        dni__bind_text(d, 1, it->valuestring);
        dni__step(d);
        dni__reset(d);
    }
    cJSON_Delete(gone);
    if ((rc = store_pool(db, j, cur, 0)) ||
        (rc = add_numbers(db, j, j->id, nums))) {
        cJSON_Delete(cur);
        return rc;
    }
    j->result = cur;
    return 200;
}

static void random_id(char out[20])
{
    unsigned char b[8] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(b, 1, sizeof b, f) != sizeof b) {
            /* fall back on the clock below */
        }
        fclose(f);
    }
    uint64_t t = (uint64_t)(dni__now() * 1e6);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(b[i] ^ (t >> (i * 8)));
    snprintf(out, 20, "p_%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7]);
}

void dni__pools_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *id = r->id;
    int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
    if (get) {
        dni_db_t *db = dni__store_reader(o->store);
        if (id) {
            cJSON *p = dni__pool_load(db, id);
            dni__store_reader_done(o->store, db);
            if (!p)
                dni__resp_error(resp, 404, "no such pool");
            else
                dni__resp_json(resp, 200, p);
            return;
        }
        cJSON *out = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(out, "pools");
        dni_stmt_t *st = dni__stmt(db, "SELECT config FROM pools ORDER BY id");
        while (st && dni__step(st) == DNI_ROW) {
            cJSON *p = cJSON_Parse(dni__col_text(st, 0));
            if (p)
                cJSON_AddItemToArray(arr, p);
        }
        if (st)
            dni__reset(st);
        dni__store_reader_done(o->store, db);
        dni__resp_json(resp, 200, out);
        return;
    }
    pool_job_t j;
    memset(&j, 0, sizeof j);
    j.method = r->method;
    char gen[20];
    if (strcmp(r->method, "DELETE")) {
        j.body = dni__req_json(r, resp);
        if (!j.body)
            return;
        if (!cJSON_IsObject(j.body)) {
            cJSON_Delete(j.body);
            dni__resp_error(resp, 422, "a pool is a JSON object");
            return;
        }
    }
    if (!strcmp(r->method, "POST")) {
        cJSON *idv = cJSON_GetObjectItemCaseSensitive(j.body, "id");
        if (!idv) {
            random_id(gen);
            cJSON_AddStringToObject(j.body, "id", gen);
            idv = cJSON_GetObjectItemCaseSensitive(j.body, "id");
        }
        if (!cJSON_IsString(idv) || !valid_id(idv->valuestring)) {
            cJSON_Delete(j.body);
            dni__resp_error(resp, 422,
                            "id must be 1..64 characters of A-Z a-z 0-9 _ -");
            return;
        }
        j.id = idv->valuestring;
        char msg[256];
        if (dni__pool_validate(j.body, msg, sizeof msg)) {
            cJSON_Delete(j.body);
            dni__resp_error(resp, 422, msg);
            return;
        }
    } else {
        j.id = id;
    }
    int status = dni__store_write(o->store, pool_job, &j);
    /* Any pool change may add or remove numbers: once committed, the
     * grant lists cached for sync answers are read again. */
    dni__grants_changed();
    cJSON_Delete(j.body);
    if (status >= 400) {
        cJSON_Delete(j.result);
        dni__resp_error(resp, status, j.msg[0] ? j.msg : "database error");
        return;
    }
    dni__resp_json(resp, status, j.result);
}

/* ---- PUT /v1/param-map ------------------------------------------------ */

typedef struct map_job {
    const char *text;
} map_job_t;

static int map_job(dni_db_t *db, void *arg)
{
    map_job_t *j = arg;
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO settings (key, value) VALUES ('param_map', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->text);
    int rc = dni__step(st);
    dni__reset(st);
    return rc == DNI_DONE ? 200 : 500;
}

void dni__param_map_handle(dni_origin_t *o, const dni_req_t *r,
                           dni_resp_t *resp)
{
    if (strcmp(r->method, "PUT")) {
        dni_db_t *db = dni__store_reader(o->store);
        dni_stmt_t *st = dni__stmt(
            db, "SELECT value FROM settings WHERE key = 'param_map'");
        cJSON *m = NULL;
        if (st && dni__step(st) == DNI_ROW)
            m = cJSON_Parse(dni__col_text(st, 0));
        if (st)
            dni__reset(st);
        dni__store_reader_done(o->store, db);
        dni__resp_json(resp, 200, m ? m : cJSON_CreateObject());
        return;
    }
    cJSON *m = dni__req_json(r, resp);
    if (!m)
        return;
    int ok = cJSON_IsObject(m) && cJSON_GetArraySize(m) <= 1000;
    for (cJSON *it = m->child; ok && it; it = it->next)
        ok = cJSON_IsString(it) && *it->valuestring && *it->string &&
             strlen(it->valuestring) <= 64 && strlen(it->string) <= 64;
    if (!ok) {
        cJSON_Delete(m);
        dni__resp_error(resp, 422,
                        "param-map must be an object mapping URL parameter "
                        "names to tag names");
        return;
    }
    char *text = cJSON_PrintUnformatted(m);
    map_job_t j = {text};
    int status = text ? dni__store_write(o->store, map_job, &j) : 500;
    free(text);
    if (status >= 400) {
        cJSON_Delete(m);
        dni__resp_error(resp, status, "database error");
        return;
    }
    dni__resp_json(resp, 200, m);
}
