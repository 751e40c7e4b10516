/*
 * test_origin.c - unit tests of the origin's own code: the webhook
 * signature (the provider's documented example as a vector), form
 * decoding, pool validation, the store (migrations, group commit,
 * per-job rollback, durability across reopen) and the attribution glue
 * over the core's dni_attribute().
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "origin.h"

extern const int dni__migration_count;

static void test_signature(void)
{
    /* The provider's documented example: token 12345, this URL and these
     * POST parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=. */
    dni_form_pair_t p[] = {{"CallSid", "CA1234567890ABCDE"},
                           {"Caller", "+12349013030"},
                           {"Digits", "1234"},
                           {"From", "+12349013030"},
                           {"To", "+18005551212"}};
    const char *url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    char sig[29];
    dni__signature_compute("12345", url, p, 5, sig);
    CHECK_STR(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    CHECK(dni__signature_check("12345", url, p, 5,
                               "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    /* Parameter order in the body does not matter: they are sorted. */
    dni_form_pair_t q[] = {p[4], p[2], p[0], p[3], p[1]};
    CHECK(dni__signature_check("12345", url, q, 5,
                               "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    CHECK(!dni__signature_check("12346", url, p, 5,
                                "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    CHECK(!dni__signature_check("12345", "https://mycompany.com/myapp.php",
                                p, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    CHECK(!dni__signature_check("12345", url, p, 4,
                                "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    CHECK(!dni__signature_check("12345", url, p, 5, NULL));
    CHECK(!dni__signature_check("12345", url, p, 5, ""));
    CHECK(!dni__signature_check("12345", url, p, 5,
                                "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
}

/* The provider's helper library orders by UTF-16 code units and signs a
 * repeated equal value once. */
static void test_signature_order(void)
{
    /* U+FF5E (EF BD 9E) sorts after U+1F600 (F0 9F 98 80) in UTF-16 (the
     * surrogate D83D is below FF5E), before it in bytes. */
    CHECK(dni__utf16_cmp("\xef\xbd\x9e", "\xf0\x9f\x98\x80") > 0);
    CHECK(dni__utf16_cmp("a", "b") < 0);
    CHECK(dni__utf16_cmp("ab", "a") > 0);
    CHECK(dni__utf16_cmp("\xc3\xa9", "\xc3\xa9") == 0);
    const char *url = "https://example.com/hook";
    dni_form_pair_t once[] = {{"a", "1"}};
    dni_form_pair_t twice[] = {{"a", "1"}, {"a", "1"}};
    dni_form_pair_t two[] = {{"a", "2"}, {"a", "1"}};
    dni_form_pair_t two_sorted[] = {{"a", "1"}, {"a", "2"}};
    char s1[29], s2[29], s3[29], s4[29];
    dni__signature_compute("tok", url, once, 1, s1);
    dni__signature_compute("tok", url, twice, 2, s2);
    dni__signature_compute("tok", url, two, 2, s3);
    dni__signature_compute("tok", url, two_sorted, 2, s4);
    CHECK_STR(s1, s2);
    CHECK_STR(s3, s4);
    CHECK(strcmp(s1, s3) != 0);
}

static void test_form(void)
{
    dni_form_pair_t p[8];
    const char *body = "CallSid=CA1&To=%2B18005551212&Caller=a+b&Empty=&Flag";
    int n = dni__form_parse(body, strlen(body), p, 8);
    CHECK_INT(n, 5);
    if (n == 5) {
        CHECK_STR(p[0].name, "CallSid");
        CHECK_STR(p[0].value, "CA1");
        CHECK_STR(p[1].value, "+18005551212");
        CHECK_STR(p[2].value, "a b");
        CHECK_STR(p[3].value, "");
        CHECK_STR(p[4].name, "Flag");
        dni__form_free(p, n);
    }
    CHECK_INT(dni__form_parse("a=%zz", 5, p, 8), -1);
    CHECK_INT(dni__form_parse("a=%4", 4, p, 8), -1);
    CHECK_INT(dni__form_parse("a=1&b=2&c=3", 11, p, 2), -1);
    CHECK_INT(dni__form_parse("", 0, p, 8), 0);
    /* NUL, raw or escaped, and bytes that are not UTF-8 are refused. */
    CHECK_INT(dni__form_parse("a=1%00junk", 10, p, 8), -1);
    CHECK_INT(dni__form_parse("a=1\0junk", 9, p, 8), -1);
    CHECK_INT(dni__form_parse("a%00=1", 6, p, 8), -1);
    CHECK_INT(dni__form_parse("a=%ff", 5, p, 8), -1);
    CHECK_INT(dni__form_parse("a=%c0%af", 8, p, 8), -1);
    n = dni__form_parse("a=%c3%a9", 8, p, 8);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(p[0].value, "\xc3\xa9");
    dni__form_free(p, n > 0 ? n : 0);
}

static void test_pool_validate(void)
{
    char msg[256];
    cJSON *p = cJSON_Parse("{\"numbers\":[\"+18885550001\",\"+1 888 555 0002\"],"
                           "\"default_number\":\"+18005551234\"}");
    CHECK(dni__pool_validate(p, msg, sizeof msg) == NULL);
    cJSON *nums = cJSON_GetObjectItem(p, "numbers");
    CHECK_STR(cJSON_GetArrayItem(nums, 1)->valuestring, "+18885550002");
    CHECK_INT((int)cJSON_GetObjectItem(p, "number_limit")->valuedouble, 2);
    CHECK_INT((int)cJSON_GetObjectItem(p, "buffer_s")->valuedouble, 60);
    dni_pool_settings_t s;
    dni__pool_settings(p, &s);
    CHECK(s.max_lease_s == 1800 && s.min_hold_s == 300);
    cJSON_Delete(p);

    const char *bad[] = {
        "{\"numbers\":[\"hello\"],\"default_number\":\"+18005551234\"}",
        "{\"numbers\":[\"+18885550001\",\"+18885550001\"],\"default_number\":\"+18005551234\"}",
        "{\"numbers\":[\"+18885550001\"]}",
        "{\"numbers\":[\"+18885550001\"],\"default_number\":\"+18885550001\"}",
        "{\"numbers\":[\"+18885550001\",\"+18885550002\"],\"default_number\":\"+18005551234\",\"number_limit\":1}",
        "{\"numbers\":[],\"default_number\":\"+18005551234\",\"buffer_s\":-1}",
        "{\"numbers\":[],\"default_number\":\"+18005551234\",\"min_hold_s\":900,\"max_lease_s\":600}",
        "{\"numbers\":[],\"default_number\":\"+18005551234\",\"mode\":\"tags\"}",
        "{\"numbers\":[],\"default_number\":\"+18005551234\",\"mode\":\"other\"}",
        "{\"numbers\":[],\"default_number\":\"+18005551234\",\"postback_url\":\"ftp://x\"}",
        "{\"numbers\":[],\"default_number\":\"+18005551234\",\"colour\":\"red\"}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        p = cJSON_Parse(bad[i]);
        const char *why = dni__pool_validate(p, msg, sizeof msg);
        if (!CHECK(why != NULL))
            fprintf(stderr, "     accepted: %s\n", bad[i]);
        cJSON_Delete(p);
    }
}

/* ---- store ------------------------------------------------------------ */

typedef struct ins {
    int k;
    int fail;
} ins_t;

static int ins_job(dni_db_t *db, void *arg)
{
    ins_t *a = arg;
    dni_stmt_t *st = dni__stmt(db, "INSERT INTO settings (key, value)"
                                     " VALUES (?1, 'v')");
    char key[32];
    snprintf(key, sizeof key, "k%d", a->k);
    dni__bind_text_copy(st, 1, key);
    int rc = dni__step(st);
    dni__reset(st);
    if (rc != DNI_DONE)
        return 500;
    return a->fail ? 422 : 200; /* 422: the row must be rolled back */
}

static dni_store_t *g_store;

static void *writer_thread(void *arg)
{
    int base = *(int *)arg;
    for (int i = 0; i < 50; i++) {
        ins_t a = {base + i, (base + i) % 10 == 3};
        int st = dni__store_write(g_store, ins_job, &a);
        if (st != (a.fail ? 422 : 200))
            return (void *)1;
    }
    return NULL;
}

static long count_rows(dni_store_t *s, const char *sql)
{
    dni_db_t *db = dni__store_reader(s);
    dni_stmt_t *st = dni__stmt(db, sql);
    long n = -1;
    if (st && dni__step(st) == DNI_ROW)
        n = (long)dni__col_int64(st, 0);
    if (st)
        dni__reset(st);
    dni__store_reader_done(s, db);
    return n;
}

static void test_store(const char *path)
{
    char err[256];
    dni_store_t *s = dni__store_open(path, "FULL", 2, err, sizeof err);
    if (!CHECK(s != NULL)) {
        fprintf(stderr, "     %s\n", err);
        return;
    }
    g_store = s;
    CHECK_INT(count_rows(s, "PRAGMA user_version"), dni__migration_count);
    pthread_t th[8];
    int bases[8];
    for (int i = 0; i < 8; i++) {
        bases[i] = i * 1000;
        pthread_create(&th[i], NULL, writer_thread, &bases[i]);
    }
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += r != NULL;
    }
    CHECK_INT(bad, 0);
    /* 400 jobs, every tenth rolled back alone. */
    CHECK_INT(count_rows(s, "SELECT count(*) FROM settings"), 360);
    uint64_t commits, jobs;
    dni__store_counts(s, &commits, &jobs);
    CHECK_INT((long)jobs, 400);
    /* Group commit: concurrent writers share commits. */
    if (!CHECK(commits < jobs))
        fprintf(stderr, "     commits %llu jobs %llu\n",
                (unsigned long long)commits, (unsigned long long)jobs);
    dni__store_close(s);

    /* Reopening keeps everything and does not migrate again. */
    s = dni__store_open(path, "FULL", 1, err, sizeof err);
    if (CHECK(s != NULL)) {
        CHECK_INT(count_rows(s, "SELECT count(*) FROM settings"), 360);
        CHECK_INT(count_rows(s, "PRAGMA user_version"), dni__migration_count);
        CHECK_INT(count_rows(s, "SELECT count(*) FROM pragma_integrity_check"
                                " WHERE integrity_check = 'ok'"),
                  1);
        dni__store_close(s);
    }
}

/* ---- attribution glue ----------------------------------------------- */

static int leases_job(dni_db_t *db, void *arg)
{
    (void)arg;
    const char *sql[] = {
        /* L1: 1000..1100 released; L2: open since 5000, last seen 5010. */
        "INSERT INTO leases (edge, lease, pool_id, number, epoch, visitor,"
        " start, last_seen, last_join, released_at) VALUES"
        " ('e1', 'L1', 'p', '+18885550001', 1, 'v1', 1000, 1040, 1000, 1100)",
        "INSERT INTO leases (edge, lease, pool_id, number, epoch, visitor,"
        " start, last_seen, last_join) VALUES"
        " ('e1', 'L2', 'p', '+18885550001', 1, 'v2', 5000, 5010, 5000)",
        NULL};
    for (int i = 0; sql[i]; i++)
        if (dni__exec(db, sql[i]))
            return 500;
    return 200;
}

static void test_attribution(const char *path)
{
    char err[256];
    dni_store_t *s = dni__store_open(path, "NORMAL", 1, err, sizeof err);
    if (!CHECK(s != NULL))
        return;
    CHECK_INT(dni__store_write(s, leases_job, NULL), 200);
    dni_pool_settings_t set;
    dni_pool_settings_init(&set);
    dni_db_t *db = dni__store_reader(s);
    int found;
    char edge[65], lease[129];
    double lk = 0;
    /* During L1's live interval. */
    cJSON *c = dni__attribute_call(db, &set, "+18885550001", 1050, &found, edge,
                                   sizeof edge, lease, sizeof lease, &lk);
    CHECK(found);
    CHECK_STR(lease, "L1");
    CHECK(lk > 0.99);
    CHECK_INT(cJSON_GetArraySize(c), 1);
    cJSON_Delete(c);
    /* After L1 ended, inside the attribution window: still L1, lower. */
    c = dni__attribute_call(db, &set, "+18885550001", 3000, &found, edge,
                            sizeof edge, lease, sizeof lease, &lk);
    CHECK(found);
    CHECK_STR(lease, "L1");
    CHECK(lk > 0 && lk <= 1);
    cJSON_Delete(c);
    /* L2 is open: buffer/min hold from the core's lease rule. */
    c = dni__attribute_call(db, &set, "+18885550001", 5200, &found, edge,
                            sizeof edge, lease, sizeof lease, &lk);
    CHECK(found);
    CHECK_STR(lease, "L2");
    cJSON_Delete(c);
    /* Before any lease, and on another number: unattributed. */
    c = dni__attribute_call(db, &set, "+18885550001", 10, &found, edge,
                            sizeof edge, lease, sizeof lease, &lk);
    CHECK(!found);
    CHECK_INT(cJSON_GetArraySize(c), 0);
    cJSON_Delete(c);
    c = dni__attribute_call(db, &set, "+18885550009", 1050, &found, edge,
                            sizeof edge, lease, sizeof lease, &lk);
    CHECK(!found);
    cJSON_Delete(c);
    dni__store_reader_done(s, db);
    dni__store_close(s);
}

/* ---- attribution again, on the writer thread ------------------------- */

typedef struct again {
    int first, second;          /* dni__call_attribute results */
    double end_open, end_released, end_window;
    int end_unknown_null, end_unset_null;
    int since_called, since_later, since_noted, since_other;
    char lease[32];
} again_t;

static double scalar(dni_db_t *db, const char *sql, int *is_null)
{
    dni_stmt_t *st = dni__stmt(db, sql);
    double v = -1;
    *is_null = 0;
    if (st && dni__step(st) == DNI_ROW) {
        *is_null = dni__col_is_null(st, 0);
        v = dni__col_double(st, 0);
    }
    if (st)
        dni__reset(st);
    return v;
}

static int again_job(dni_db_t *db, void *arg)
{
    again_t *a = arg;
    dni_pool_settings_t set;
    dni_pool_settings_init(&set);
    if (dni__exec(db,
                     "INSERT INTO calls (sid, pool_id, to_number, status,"
                     " status_rank, status_seq, active, started_at, kind)"
                     " VALUES ('CA1', 'p', '+18885550001', 'ringing', 1, 0,"
                     " 1, 5100, 'unattributed')"))
        return 500;
    a->first = dni__call_attribute(db, "CA1", "+18885550001", &set, 5100);
    a->second = dni__call_attribute(db, "CA1", "+18885550001", &set, 5100);
    dni_stmt_t *st = dni__stmt(db, "SELECT lease_id FROM calls WHERE sid = 'CA1'");
    if (st && dni__step(st) == DNI_ROW && dni__col_text(st, 0))
        snprintf(a->lease, sizeof a->lease, "%s", dni__col_text(st, 0));
    if (st)
        dni__reset(st);

    char *ids[] = {(char *)"p"};
    dni_settings_map_t m = {1, ids, &set};
    int null;
    a->end_unset_null = (scalar(db, "SELECT dni_lease_end('p', 5000, 5010,"
                                    " 5000, NULL, 0)", &null), null);
    dni__settings_map_use(&m);
    a->end_open = scalar(db, "SELECT dni_lease_end('p', 5000, 5010, 5000,"
                             " NULL, 0)", &null);
    a->end_released = scalar(db, "SELECT dni_lease_end('p', 5000, 5010, 5000,"
                                 " 5020, 0)", &null);
    a->end_window = scalar(db, "SELECT dni_lease_end('p', 5000, 5010, 5000,"
                               " 5020, 1)", &null);
    scalar(db, "SELECT dni_lease_end('q', 5000, 5010, 5000, NULL, 0)",
           &a->end_unknown_null);
    dni__settings_map_use(NULL);

    a->since_called = dni__recent_call_since(db, "+18885550001", 5000);
    a->since_later = dni__recent_call_since(db, "+18885550001", 6000);
    dni__recent_call_note(db, "+18885550002", 7000);
    a->since_noted = dni__recent_call_since(db, "+18885550002", 6999);
    a->since_other = dni__recent_call_since(db, "+18885550003", 0);
    return 200;
}

static void test_attribute_again(const char *path)
{
    char err[256];
    dni_store_t *s = dni__store_open(path, "NORMAL", 1, err, sizeof err);
    if (!CHECK(s != NULL))
        return;
    again_t a;
    memset(&a, 0, sizeof a);
    CHECK_INT(dni__store_write(s, again_job, &a), 200);
    /* The first pass finds L2 (open since 5000), the second changes nothing. */
    CHECK_INT(a.first, 1);
    CHECK_INT(a.second, 0);
    CHECK_STR(a.lease, "L2");
    dni_pool_settings_t set;
    dni_pool_settings_init(&set);
    CHECK(a.end_unset_null);
    CHECK(a.end_open == dni_lease_end_time(&set, 5000, 5010, 5000));
    CHECK(a.end_released == 5020);
    CHECK(a.end_window == 5020 + set.attribution_window_s);
    CHECK(a.end_unknown_null);
    CHECK_INT(a.since_called, 1);
    CHECK_INT(a.since_later, 0);
    CHECK_INT(a.since_noted, 1);
    CHECK_INT(a.since_other, 0);
    dni__store_close(s);
}

/* ---- JSON text buffer ----------------------------------------------- */

static void test_jsonbuf(void)
{
    dni_jsonbuf_t b = {0};
    dni__jsonbuf_put(&b, "[", 1);
    dni__jsonbuf_str(&b, "a\"b\\c\n\x01");
    dni__jsonbuf_raw(&b, ",");
    dni__jsonbuf_int(&b, 0);
    dni__jsonbuf_raw(&b, ",");
    dni__jsonbuf_int(&b, -42);
    dni__jsonbuf_raw(&b, ",");
    dni__jsonbuf_int(&b, 9007199254740993LL);
    dni__jsonbuf_raw(&b, ",");
    dni__jsonbuf_time(&b, 1732222222.5);
    dni__jsonbuf_put(&b, "]", 1);
    CHECK(!b.oom);
    size_t first = b.len;
    CHECK_STR(b.p, "[\"a\\\"b\\\\c\\u000a\\u0001\",0,-42,9007199254740993,"
                   "1732222222.5]");
    /* What it writes is JSON that reads back the same. */
    cJSON *v = cJSON_Parse(b.p);
    CHECK(v && cJSON_GetArraySize(v) == 5);
    CHECK_STR(cJSON_GetArrayItem(v, 0)->valuestring, "a\"b\\c\n\x01");
    cJSON_Delete(v);
    /* Grows past its first allocation. */
    for (int i = 0; i < 5000; i++)
        dni__jsonbuf_raw(&b, "0123456789");
    CHECK_INT((long)b.len, (long)first + 50000);
    CHECK_INT((long)strlen(b.p), (long)b.len);
    free(b.p);
}

static void unlink_db(const char *path)
{
    char p[512];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

int main(void)
{
    char dir[] = "/tmp/dni-origin-test-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/store.db", dir);
    snprintf(b, sizeof b, "%s/attr.db", dir);
    test_signature();
    test_signature_order();
    test_form();
    test_jsonbuf();
    test_pool_validate();
    test_store(a);
    test_attribution(b);
    test_attribute_again(b);
    unlink_db(a);
    unlink_db(b);
    rmdir(dir);
    return harness_report();
}
