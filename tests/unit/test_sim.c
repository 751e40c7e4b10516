/*
 * test_sim.c - the simulator with known answers, and `dni sim` end to end
 * (its source is compiled into this test, so no binary path is needed):
 * the scenario files of tests/sim/, their expected reports, and every kind
 * of bad input.
 */
#include "../../core/src/cli/sim.c" /* first: it sets _POSIX_C_SOURCE */

#include <fcntl.h>
#include <unistd.h>

#include "harness.h"

/* Runs `dni sim ARGS`, capturing stdout and stderr into out/err. */
static int run_cli(const char *const *args, char *out, size_t out_cap, char *err,
                   size_t err_cap)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)"sim";
    for (; args[argc - 1] != NULL && argc < 15; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    FILE *fo = tmpfile(), *fe = tmpfile();
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = cli_sim(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    rewind(fo);
    rewind(fe);
    size_t n = fread(out, 1, out_cap - 1, fo);
    out[n] = '\0';
    n = fread(err, 1, err_cap - 1, fe);
    err[n] = '\0';
    fclose(fo);
    fclose(fe);
    return rc;
}

static char out[1 << 16], err[4096];

static char *slurp(const char *path)
{
    size_t n;
    char *s = read_file(path, &n);
    if (s == NULL)
        return NULL;
    char *z = realloc(s, n + 1);
    if (z == NULL) {
        free(s);
        return NULL;
    }
    z[n] = '\0';
    return z;
}

/* Every scenario of tests/sim/README.md against its expected report. */
static void test_scenarios_golden(void)
{
    static const struct {
        const char *name;
        const char *extra[4];
    } cases[] = {
        {"tags_3x10", {"--recommend", "1", NULL}},
        {"tags_identical", {NULL}},
        {"visitor_peak", {"--size", "30", NULL}},
        {"visitor_day", {"--recommend", "0.95", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char pool[128], trace[128], expected[128];
        snprintf(pool, sizeof pool, "tests/sim/%s.pool.json", cases[i].name);
        snprintf(trace, sizeof trace, "tests/sim/%s.jsonl", cases[i].name);
        snprintf(expected, sizeof expected, "tests/sim/%s.expected.json",
                 cases[i].name);
        const char *args[10] = {"--pool", pool};
        int n = 2;
        for (int j = 0; cases[i].extra[j] != NULL; j++)
            args[n++] = cases[i].extra[j];
        args[n++] = trace;
        args[n] = NULL;
        CHECK_INT(run_cli(args, out, sizeof out, err, sizeof err), 0);
        char *want = slurp(expected);
        CHECK(want != NULL);
        if (want != NULL)
            CHECK_STR(out, want);
        free(want);
        /* byte for byte the same on a second run */
        char again[sizeof out];
        memcpy(again, out, sizeof out);
        run_cli(args, out, sizeof out, err, sizeof err);
        CHECK_STR(out, again);
    }
}

static long field(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

/* 3 sources x 10 subsources in tags mode: 30 numbers reach 100%. */
static void test_three_by_ten(void)
{
    const char *a30[] = {"--pool", "tests/sim/tags_3x10.pool.json", "--size",
                         "30", "tests/sim/tags_3x10.jsonl", NULL};
    CHECK_INT(run_cli(a30, out, sizeof out, err, sizeof err), 0);
    CHECK(strstr(out, "\"accuracy\":1.0000") != NULL);
    CHECK(field(out, "calls") > 100);
    CHECK_INT(field(out, "numbers_used"), 30);
    const char *a29[] = {"--pool", "tests/sim/tags_3x10.pool.json", "--size",
                         "29", "tests/sim/tags_3x10.jsonl", NULL};
    CHECK_INT(run_cli(a29, out, sizeof out, err, sizeof err), 0);
    CHECK(field(out, "correct") < field(out, "calls"));
    const char *rec[] = {"--pool", "tests/sim/tags_3x10.pool.json",
                         "--recommend", "1", "tests/sim/tags_3x10.jsonl", NULL};
    CHECK_INT(run_cli(rec, out, sizeof out, err, sizeof err), 0);
    CHECK_INT(field(out, "recommended_size"), 30);
}

/* A pool as large as the peak of live leases never overflows. */
static void test_peak(void)
{
    const char *big[] = {"--pool", "tests/sim/visitor_peak.pool.json",
                         "--size", "1000", "tests/sim/visitor_peak.jsonl",
                         NULL};
    CHECK_INT(run_cli(big, out, sizeof out, err, sizeof err), 0);
    long peak = field(out, "peak_live_leases");
    CHECK(peak > 5);
    char size[32];
    snprintf(size, sizeof size, "%ld", peak);
    const char *at[] = {"--pool", "tests/sim/visitor_peak.pool.json", "--size",
                        size, "tests/sim/visitor_peak.jsonl", NULL};
    CHECK_INT(run_cli(at, out, sizeof out, err, sizeof err), 0);
    CHECK_INT(field(out, "overflow"), 0);
    snprintf(size, sizeof size, "%ld", peak - 1);
    CHECK_INT(run_cli(at, out, sizeof out, err, sizeof err), 0);
    CHECK(field(out, "overflow") > 0);
}

/* A million visitors with identical tags share one number (core API). */
static void test_million_identical(void)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.mode = DNI_MODE_TAGS;
    dni_sim_t *sim;
    CHECK_INT(dni_sim_create(&sim, &s, NULL), DNI_OK);
    CHECK_INT(dni_sim_track_tag(sim, "utm_source", 10), DNI_OK);
    CHECK_INT(dni_sim_add_number(sim, "+18885550000", 12), DNI_OK);
    CHECK_INT(dni_sim_add_number(sim, "+18885550001", 12), DNI_OK);
    int bad = 0;
    for (int i = 0; i < 1000000; i++) {
        char v[16];
        int n = snprintf(v, sizeof v, "v%d", i);
        bad += dni_sim_tag(sim, "utm_source", 10, "google", 6) != DNI_OK;
        bad += dni_sim_visit(sim, i * 0.01, v, (size_t)n) != DNI_OK;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(dni_sim_call(sim, 10000, "v999999", 7, 60), DNI_OK);
    CHECK_INT(dni_sim_call(sim, 10001, "v5", 2, 60), DNI_OK);
    dni_sim_result_t r;
    CHECK_INT(dni_sim_run(sim, 0, &r), DNI_OK);
    CHECK_INT(r.overflow, 1000000); /* size 0: nobody gets a number */
    CHECK_INT(dni_sim_run(sim, 2, &r), DNI_OK);
    CHECK_INT(r.visits, 1000000);
    CHECK_INT(r.leases, 1);
    CHECK_INT(r.numbers_used, 1);
    CHECK_INT(r.peak_live_leases, 1);
    CHECK_INT(r.correct, 2);
    dni_sim_destroy(sim);
}

static void test_core_report(void)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    dni_sim_t *sim;
    CHECK_INT(dni_sim_create(&sim, &s, NULL), DNI_OK);
    CHECK_INT(dni_sim_add_number(sim, "+18885550000", 12), DNI_OK);
    CHECK_INT(dni_sim_add_number(sim, "+18885550000", 12), DNI_EEXISTS);
    CHECK_INT(dni_sim_add_number(sim, "(888) 555-0001", 14), DNI_ENOTPHONE);
    CHECK_INT(dni_sim_visit(sim, 0, "a", 1), DNI_OK);
    CHECK_INT(dni_sim_visit(sim, 1, "b", 1), DNI_OK); /* overflow */
    CHECK_INT(dni_sim_call(sim, 2, "a", 1, 10), DNI_OK);
    CHECK_INT(dni_sim_call(sim, 3, "b", 1, 10), DNI_OK);
    CHECK_INT(dni_sim_call(sim, 4, "c", 1, 10), DNI_OK); /* never visited */
    CHECK_INT(dni_sim_hb(sim, 3.5, "a", 1), DNI_EORDER);
    CHECK_INT(dni_sim_call(sim, 5, "a", 1, -1), DNI_EINVAL);
    char rep[512];
    size_t len;
    CHECK_INT(dni_sim_report(sim, 0, 0.3, rep, sizeof rep, &len), DNI_OK);
    CHECK_STR(rep, "{\"mode\":\"visitor\",\"size\":1,\"visits\":2,\"leases\":1,"
                   "\"overflow\":1,\"calls\":3,\"correct\":1,\"wrong\":0,"
                   "\"unattributed\":2,\"accuracy\":0.3333,"
                   "\"peak_live_leases\":1,\"numbers_used\":1,"
                   "\"recommended_size\":1}\n");
    CHECK_INT(len, strlen(rep));
    CHECK_INT(dni_sim_report(sim, 0, 0.5, rep, sizeof rep, &len), DNI_OK);
    CHECK(strstr(rep, "\"recommended_size\":2}") != NULL);
    CHECK_INT(dni_sim_report(sim, 0, 0.9, rep, sizeof rep, &len), DNI_OK);
    CHECK(strstr(rep, "\"recommended_size\":null}") != NULL); /* c never can */
    CHECK_INT(dni_sim_report(sim, 0, -1, rep, 10, &len), DNI_ELIMIT);
    CHECK(len > 10);
    dni_sim_destroy(sim);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Bad input: one line on stderr, exit 2 (1 for a missing file). */
static void test_bad_input(void)
{
    char dir[] = "/tmp/dni-sim-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char pool[64], bad_pool[64], trace[64], notphone[64];
    snprintf(pool, sizeof pool, "%s/pool.json", dir);
    snprintf(bad_pool, sizeof bad_pool, "%s/bad.json", dir);
    snprintf(notphone, sizeof notphone, "%s/np.json", dir);
    snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
    write_file(pool, "{\"numbers\":[\"+18885550000\"],"
                     "\"default_number\":\"+18005550100\"}");
    write_file(bad_pool, "{\"numbers\":[\"+18885550000\"");
    write_file(notphone, "{\"numbers\":[\"888-555-0000\"]}");
    static const struct {
        const char *trace;
        const char *msg;
    } traces[] = {
        {"{\"t\":0,\"ev\":\"visit\",\"visitor\":\"a\"}\n{\"t\":1,\"ev\":\"hb\"",
         "trace.jsonl:2: malformed JSON"},
        {"{\"t\":5,\"ev\":\"visit\",\"visitor\":\"a\"}\n\n"
         "{\"t\":4,\"ev\":\"hb\",\"visitor\":\"a\"}\n",
         "trace.jsonl:3: events out of time order"},
        {"{\"t\":0,\"ev\":\"jump\",\"visitor\":\"a\"}\n",
         "trace.jsonl:1: unknown event type \"jump\""},
        {"{\"t\":\"0\",\"ev\":\"visit\",\"visitor\":\"a\"}\n",
         "trace.jsonl:1: \"t\" must be a number"},
        {"{\"t\":0,\"ev\":\"visit\",\"visitor\":\"a\",\"tags\":{\"x\":1}}\n",
         "trace.jsonl:1: tag values must be strings"},
        {"{\"t\":0,\"ev\":\"call\",\"visitor\":\"a\",\"duration\":-5}\n",
         "trace.jsonl:1: \"duration\" must be"},
        {"[1,2]\n", "trace.jsonl:1: malformed JSON"},
    };
    for (size_t i = 0; i < sizeof traces / sizeof *traces; i++) {
        write_file(trace, traces[i].trace);
        const char *args[] = {"--pool", pool, trace, NULL};
        CHECK_INT(run_cli(args, out, sizeof out, err, sizeof err), 2);
        if (!CHECK(strstr(err, traces[i].msg) != NULL))
            fprintf(stderr, "     stderr: %s", err);
        CHECK(strncmp(err, "dni sim: ", 9) == 0);
        CHECK(strchr(err, '\n') == err + strlen(err) - 1); /* one line */
        CHECK_STR(out, "");
    }
    write_file(trace, "{\"t\":0,\"ev\":\"visit\",\"visitor\":\"a\"}\n");
    const char *bp[] = {"--pool", bad_pool, trace, NULL};
    CHECK_INT(run_cli(bp, out, sizeof out, err, sizeof err), 2);
    CHECK(strstr(err, "malformed JSON") != NULL);
    const char *np[] = {"--pool", notphone, trace, NULL};
    CHECK_INT(run_cli(np, out, sizeof out, err, sizeof err), 2);
    CHECK(strstr(err, "888-555-0000 is not an E.164 number") != NULL);
    const char *missing[] = {"--pool", pool, "/nonexistent/trace", NULL};
    CHECK_INT(run_cli(missing, out, sizeof out, err, sizeof err), 1);
    const char *nopool[] = {"--pool", "/nonexistent/pool", trace, NULL};
    CHECK_INT(run_cli(nopool, out, sizeof out, err, sizeof err), 1);
    const char *usage1[] = {trace, NULL};
    CHECK_INT(run_cli(usage1, out, sizeof out, err, sizeof err), 2);
    const char *usage2[] = {"--pool", pool, "--size", "x", trace, NULL};
    CHECK_INT(run_cli(usage2, out, sizeof out, err, sizeof err), 2);
    const char *usage3[] = {"--pool", pool, "--recommend", "1.5", trace, NULL};
    CHECK_INT(run_cli(usage3, out, sizeof out, err, sizeof err), 2);
    const char *usage4[] = {"--pool", pool, "--bogus", trace, NULL};
    CHECK_INT(run_cli(usage4, out, sizeof out, err, sizeof err), 2);
    const char *ok[] = {"--pool", pool, trace, NULL};
    CHECK_INT(run_cli(ok, out, sizeof out, err, sizeof err), 0);
    CHECK_INT(field(out, "visits"), 1);
    remove(pool);
    remove(bad_pool);
    remove(notphone);
    remove(trace);
    rmdir(dir);
}

int main(void)
{
    test_core_report();
    test_million_identical();
    test_three_by_ten();
    test_peak();
    test_scenarios_golden();
    test_bad_input();
    return harness_report();
}
