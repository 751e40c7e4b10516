/*
 * provider_inventory.c - the embedded provider: numbers the operator
 * already owns (bought by hand, ported in, another carrier's), loaded
 * through the admin API with their area code and toll-free flag:
 *
 *   POST   /v1/inventory   {"numbers": ["+14155550100", {"number":
 *                           "+18885550100", "toll_free": true}, ...]}
 *   GET    /v1/inventory   every number, free or in use, and its pool
 *   DELETE /v1/inventory/{number}   a free number leaves the inventory
 *
 * Acquiring one marks it in use, releasing it marks it free again; the
 * numbers stay the operator's throughout (their voice URL is the
 * operator's to point at POST /v1/voice, once). "Owned" for
 * reconciliation means "in use".
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

typedef struct inventory {
    dni_provider_t base;
    dni_store_t *store;
} inventory_t;

int dni__nanp_area(const char *e164, char out[8], int *toll_free)
{
    static const char *const free_codes[] = {"800", "833", "844", "855",
                                             "866", "877", "888", NULL};
    out[0] = 0;
    *toll_free = 0;
    if (strncmp(e164, "+1", 2) != 0 || strlen(e164) != 12)
        return -1;
    memcpy(out, e164 + 2, 3);
    out[3] = 0;
    for (int i = 0; free_codes[i]; i++)
        if (!strcmp(out, free_codes[i]))
            *toll_free = 1;
    return 0;
}

static void fill(dni_prov_number_t *n, dni_stmt_t *st)
{
    memset(n, 0, sizeof *n);
    snprintf(n->number, sizeof n->number, "%s", dni__col_text(st, 0));
    if (!dni__col_is_null(st, 1))
        snprintf(n->area_code, sizeof n->area_code, "%s",
                 dni__col_text(st, 1));
    n->toll_free = dni__col_int(st, 2);
    snprintf(n->sid, sizeof n->sid, "%s", n->number);
    snprintf(n->label, sizeof n->label, "inventory");
}

static int inv_search(dni_provider_t *p, const dni_prov_query_t *q,
                      dni_prov_number_t *out, int max, char *err,
                      size_t errlen)
{
    inventory_t *inv = (inventory_t *)p;
    dni_db_t *db = dni__store_reader(inv->store);
    /* Free, of the country asked, of the kind asked, in no pool (a number
     * may also have been listed in a pool by hand). */
    dni_stmt_t *st = dni__stmt(
        db, "SELECT number, area_code, toll_free FROM inventory i"
            " WHERE in_use = 0 AND country = ?1 AND toll_free = ?2"
            " AND (area_code = ?3 OR ?3 IS NULL)"
            " AND (substr(number, 2) LIKE '%' || ?4 || '%' OR ?4 IS NULL)"
            " AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.number = i.number)"
            " AND NOT EXISTS (SELECT 1 FROM pools p WHERE p.default_number = i.number"
            " OR p.overflow_number = i.number)"
            " ORDER BY added_at, number LIMIT ?5");
    int k = 0;
    if (!st) {
        dni__store_reader_done(inv->store, db);
        snprintf(err, errlen, "inventory: database error");
        return DNI_PROV_FAILED;
    }
    dni__bind_text(st, 1, q->country ? q->country : "US");
    dni__bind_int(st, 2, q->toll_free ? 1 : 0);
    if (q->area_code && !q->toll_free)
        dni__bind_text(st, 3, q->area_code);
    if (q->contains && *q->contains)
        dni__bind_text(st, 4, q->contains);
    dni__bind_int(st, 5, max < q->limit ? max : q->limit);
    while (k < max && dni__step(st) == DNI_ROW)
        fill(&out[k++], st);
    dni__reset(st);
    dni__store_reader_done(inv->store, db);
    return k;
}

typedef struct use_job {
    const char *number;
    int in_use;
    int changed;
} use_job_t;

static int use_job(dni_db_t *db, void *arg)
{
    use_job_t *j = arg;
    dni_stmt_t *st = dni__stmt(db, "UPDATE inventory SET in_use = ?2"
                                     " WHERE number = ?1 AND in_use <> ?2");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->number);
    dni__bind_int(st, 2, j->in_use);
    int rc = dni__step(st);
    j->changed = dni__changes(db);
    dni__reset(st);
    return rc == DNI_DONE ? 200 : 500;
}

static int inv_acquire(dni_provider_t *p, const char *number,
                       const dni_prov_hooks_t *hooks, dni_prov_number_t *got,
                       char *err, size_t errlen)
{
    inventory_t *inv = (inventory_t *)p;
    (void)hooks; /* the operator points an owned number's voice URL once */
    use_job_t j = {number, 1, 0};
    if (dni__store_write(inv->store, use_job, &j) != 200) {
        snprintf(err, errlen, "inventory: database error");
        return DNI_PROV_UNKNOWN;
    }
    if (!j.changed) {
        snprintf(err, errlen, "inventory: %s is not free", number);
        return DNI_PROV_FAILED;
    }
    memset(got, 0, sizeof *got);
    snprintf(got->number, sizeof got->number, "%s", number);
    snprintf(got->sid, sizeof got->sid, "%s", number);
    dni__nanp_area(number, got->area_code, &got->toll_free);
    return DNI_PROV_OK;
}

static int inv_release(dni_provider_t *p, const dni_prov_number_t *n,
                       char *err, size_t errlen)
{
    inventory_t *inv = (inventory_t *)p;
    use_job_t j = {n->number, 0, 0};
    if (dni__store_write(inv->store, use_job, &j) != 200) {
        snprintf(err, errlen, "inventory: database error");
        return DNI_PROV_UNKNOWN;
    }
    return DNI_PROV_OK;
}

static int inv_list(dni_provider_t *p, dni_prov_each_fn each, void *ud,
                    char *err, size_t errlen)
{
    inventory_t *inv = (inventory_t *)p;
    dni_db_t *db = dni__store_reader(inv->store);
    dni_stmt_t *st = dni__stmt(db, "SELECT number, area_code, toll_free"
                                     " FROM inventory WHERE in_use = 1");
    if (!st) {
        dni__store_reader_done(inv->store, db);
        snprintf(err, errlen, "inventory: database error");
        return DNI_PROV_FAILED;
    }
    dni_prov_number_t n;
    while (dni__step(st) == DNI_ROW) {
        fill(&n, st);
        if (each(ud, &n))
            break;
    }
    dni__reset(st);
    dni__store_reader_done(inv->store, db);
    return DNI_PROV_OK;
}

static void inv_close(dni_provider_t *p)
{
    free(p);
}

dni_provider_t *dni__provider_inventory_open(dni_store_t *store)
{
    inventory_t *inv = calloc(1, sizeof *inv);
    if (!inv)
        return NULL;
    inv->store = store;
    inv->base.kind = "inventory";
    inv->base.search = inv_search;
    inv->base.acquire = inv_acquire;
    inv->base.release = inv_release;
    inv->base.list = inv_list;
    inv->base.close = inv_close;
    return &inv->base;
}

/* ---- the admin API ----------------------------------------------------- */

#define MAX_LOAD 10000

typedef struct inv_row {
    char number[20];
    char country[3];
    char area[8];
    int has_area;
    int toll_free;
} inv_row_t;

typedef struct load_job {
    inv_row_t *rows;
    int n;
    int added, updated;
    const char *delete_number;
    int status;
    char msg[160];
} load_job_t;

static int load_job(dni_db_t *db, void *arg)
{
    load_job_t *j = arg;
    double now = dni__now();
    if (j->delete_number) {
        dni_stmt_t *st = dni__stmt(db, "SELECT in_use FROM inventory WHERE number = ?1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->delete_number);
        int rc = dni__step(st);
        int in_use = rc == DNI_ROW ? dni__col_int(st, 0) : -1;
        dni__reset(st);
        if (in_use < 0) {
            snprintf(j->msg, sizeof j->msg, "no such number in the inventory");
            return 404;
        }
        if (in_use) {
            snprintf(j->msg, sizeof j->msg,
                     "the number is in use by a pool; release it first");
            return 409;
        }
        st = dni__stmt(db, "DELETE FROM inventory WHERE number = ?1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->delete_number);
        rc = dni__step(st);
        dni__reset(st);
        return rc == DNI_DONE ? 200 : 500;
    }
    for (int i = 0; i < j->n; i++) {
        inv_row_t *r = &j->rows[i];
        dni_stmt_t *st = dni__stmt(
            db, "INSERT INTO inventory (number, country, area_code, toll_free,"
                " added_at) VALUES (?1, ?2, ?3, ?4, ?5)"
                " ON CONFLICT (number) DO UPDATE SET country = excluded.country,"
                " area_code = excluded.area_code, toll_free = excluded.toll_free");
        if (!st)
            return 500;
        dni__bind_text(st, 1, r->number);
        dni__bind_text(st, 2, r->country);
        if (r->has_area)
            dni__bind_text(st, 3, r->area);
        dni__bind_int(st, 4, r->toll_free);
        dni__bind_double(st, 5, now);
        int rc = dni__step(st);
        dni__reset(st);
        if (rc != DNI_DONE)
            return 500;
        j->added++;
    }
    return 200;
}

/* Reads one entry of the numbers array; NULL or the 422 reason. */
static const char *read_row(const cJSON *it, inv_row_t *r, char *msg,
                            size_t msglen)
{
    memset(r, 0, sizeof *r);
    const cJSON *num = it, *area = NULL, *tf = NULL, *country = NULL;
    if (cJSON_IsObject(it)) {
        num = cJSON_GetObjectItemCaseSensitive(it, "number");
        area = cJSON_GetObjectItemCaseSensitive(it, "area_code");
        tf = cJSON_GetObjectItemCaseSensitive(it, "toll_free");
        country = cJSON_GetObjectItemCaseSensitive(it, "country");
        for (const cJSON *m = it->child; m; m = m->next)
            if (strcmp(m->string, "number") && strcmp(m->string, "area_code") &&
                strcmp(m->string, "toll_free") && strcmp(m->string, "country")) {
                snprintf(msg, msglen, "numbers: unknown field '%.40s'", m->string);
                return msg;
            }
    }
    dni_phone_t ph;
    if (!cJSON_IsString(num) ||
        dni_phone_parse(&ph, num->valuestring, strlen(num->valuestring), NULL) !=
            DNI_OK) {
        snprintf(msg, msglen, "numbers: every entry is a phone number or "
                              "{\"number\", \"area_code\", \"toll_free\", \"country\"}");
        return msg;
    }
    snprintf(r->number, sizeof r->number, "%s", ph.e164);
    int nanp = dni__nanp_area(r->number, r->area, &r->toll_free) == 0;
    r->has_area = nanp;
    if (country && !cJSON_IsNull(country)) {
        if (!cJSON_IsString(country) || strlen(country->valuestring) != 2 ||
            strspn(country->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2) {
            snprintf(msg, msglen, "numbers: country must be two capital letters (ISO 3166)");
            return msg;
        }
        snprintf(r->country, sizeof r->country, "%s", country->valuestring);
    } else if (nanp) {
        snprintf(r->country, sizeof r->country, "US");
    } else {
        snprintf(msg, msglen, "numbers: %s needs its country", r->number);
        return msg;
    }
    if (area && !cJSON_IsNull(area)) {
        if (!cJSON_IsString(area) || !*area->valuestring ||
            strlen(area->valuestring) > 6 ||
            strspn(area->valuestring, "0123456789") != strlen(area->valuestring)) {
            snprintf(msg, msglen, "numbers: area_code must be 1..6 digits");
            return msg;
        }
        snprintf(r->area, sizeof r->area, "%s", area->valuestring);
        r->has_area = 1;
    } else if (area) {
        r->has_area = 0;
    }
    if (tf) {
        if (!cJSON_IsBool(tf)) {
            snprintf(msg, msglen, "numbers: toll_free must be true or false");
            return msg;
        }
        r->toll_free = cJSON_IsTrue(tf);
    }
    if (r->toll_free)
        r->has_area = 0;
    return NULL;
}

void dni__inventory_handle(dni_origin_t *o, const dni_req_t *r,
                           dni_resp_t *resp)
{
    if (dni__req_is_get(r)) {
        dni_db_t *db = dni__store_reader(o->store);
        dni_stmt_t *st = dni__stmt(
            db, "SELECT i.number, i.country, i.area_code, i.toll_free, i.in_use,"
                " (SELECT pool_id FROM numbers n WHERE n.number = i.number)"
                " FROM inventory i ORDER BY i.number");
        cJSON *out = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(out, "numbers");
        while (st && dni__step(st) == DNI_ROW) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "number", dni__col_text(st, 0));
            cJSON_AddStringToObject(e, "country", dni__col_text(st, 1));
            if (dni__col_is_null(st, 2))
                cJSON_AddNullToObject(e, "area_code");
            else
                cJSON_AddStringToObject(e, "area_code", dni__col_text(st, 2));
            cJSON_AddBoolToObject(e, "toll_free", dni__col_int(st, 3));
            cJSON_AddBoolToObject(e, "in_use", dni__col_int(st, 4));
            if (dni__col_is_null(st, 5))
                cJSON_AddNullToObject(e, "pool");
            else
                cJSON_AddStringToObject(e, "pool", dni__col_text(st, 5));
            cJSON_AddItemToArray(arr, e);
        }
        if (st)
            dni__reset(st);
        dni__store_reader_done(o->store, db);
        dni__resp_json(resp, 200, out);
        return;
    }
    load_job_t j;
    memset(&j, 0, sizeof j);
    char e164[20];
    if (!strcmp(r->method, "DELETE")) {
        dni_phone_t ph;
        if (!r->id || dni_phone_parse(&ph, r->id, strlen(r->id), NULL) != DNI_OK) {
            dni__resp_error(resp, 404, "no such number in the inventory");
            return;
        }
        snprintf(e164, sizeof e164, "%s", ph.e164);
        j.delete_number = e164;
        int status = dni__store_write(o->store, load_job, &j);
        if (status >= 400)
            dni__resp_error(resp, status, j.msg[0] ? j.msg : "database error");
        else {
            cJSON *out = cJSON_CreateObject();
            cJSON_AddStringToObject(out, "deleted", e164);
            dni__resp_json(resp, 200, out);
        }
        return;
    }
    cJSON *body = dni__req_json(r, resp);
    if (!body)
        return;
    const cJSON *nums = cJSON_GetObjectItemCaseSensitive(body, "numbers");
    if (!cJSON_IsObject(body) || !cJSON_IsArray(nums) ||
        cJSON_GetArraySize(nums) > MAX_LOAD) {
        cJSON_Delete(body);
        dni__resp_errorf(resp, 422, "the body is {\"numbers\": [...]} with at "
                                    "most %d numbers", MAX_LOAD);
        return;
    }
    for (const cJSON *m = body->child; m; m = m->next)
        if (strcmp(m->string, "numbers")) {
            cJSON_Delete(body);
            dni__resp_errorf(resp, 422, "unknown field '%.40s'", m->string);
            return;
        }
    int n = cJSON_GetArraySize(nums);
    j.rows = calloc((size_t)(n ? n : 1), sizeof *j.rows);
    if (!j.rows) {
        cJSON_Delete(body);
        dni__resp_error(resp, 500, "out of memory");
        return;
    }
    char msg[160];
    for (const cJSON *it = nums->child; it; it = it->next) {
        if (read_row(it, &j.rows[j.n], msg, sizeof msg)) {
            free(j.rows);
            cJSON_Delete(body);
            dni__resp_error(resp, 422, msg);
            return;
        }
        j.n++;
    }
    cJSON_Delete(body);
    int status = dni__store_write(o->store, load_job, &j);
    free(j.rows);
    if (status >= 400) {
        dni__resp_error(resp, status, j.msg[0] ? j.msg : "database error");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "loaded", j.added);
    dni__resp_json(resp, 200, out);
}
