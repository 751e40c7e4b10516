/*
 * test_head.c - the rewriter's head insert point (dni_rewriter_set_head).
 *
 *   - every case in tests/golden/head/: <case>.html rewritten with the
 *     rule 800-555-1234=+18885550000 and the insert HEAD_INSERT below must
 *     give <case>.expected.html byte for byte, whole, at every single
 *     split point, one byte at a time, and in random chunkings;
 *   - the contract: set before the first byte only, n = 0 clears, reset
 *     forgets, dni_rewriter_head_written(), a sink failure while seeking.
 *
 * Runs from the repository root.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dni.h"
#include "harness.h"

#define HEAD_INSERT "<meta name=\"dni\" content=\"[{&quot;pool&quot;:1}]\">"
#define DIR_PATH "tests/golden/head"

typedef struct buf {
    char *p;
    size_t n, cap;
    int fail; /* the sink fails */
} buf_t;

static void buf_put(buf_t *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL)
            exit(2);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static int sink(const char *p, size_t n, void *ud)
{
    buf_t *b = ud;
    if (b->fail)
        return -1;
    buf_put(b, p, n);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf_t b = {0};
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_put(&b, tmp, n);
    fclose(f);
    buf_put(&b, "", 0);
    *len = b.n;
    return b.p;
}

static void rules_init(dni_ruleset_t *rs)
{
    char why[128];
    dni_ruleset_init(rs);
    int rc = dni_ruleset_add_spec(rs, "800-555-1234=+18885550000", NULL, why,
                                  sizeof why);
    if (rc != DNI_OK) {
        fprintf(stderr, "rule: %s\n", why);
        exit(2);
    }
}

/* Feeds in[0..n) cut at the offsets cut[0..ncut) (ascending), with the
 * head insert set; out holds the result. */
static int run_cuts(dni_rewriter_t *rw, const char *in, size_t n,
                    const size_t *cut, size_t ncut, buf_t *out)
{
    out->n = 0;
    buf_put(out, "", 0);
    dni_rewriter_reset(rw);
    int rc = dni_rewriter_set_head(rw, HEAD_INSERT, strlen(HEAD_INSERT));
    size_t at = 0;
    for (size_t i = 0; i <= ncut && rc == DNI_OK; i++) {
        size_t end = i < ncut ? cut[i] : n;
        rc = dni_rewriter_feed(rw, in + at, end - at);
        at = end;
    }
    if (rc == DNI_OK)
        rc = dni_rewriter_finish(rw);
    if (rc == DNI_OK && !dni_rewriter_head_written(rw))
        rc = DNI_ESTATE;
    return rc;
}

static int same(const buf_t *got, const char *want, size_t want_n)
{
    return got->n == want_n && memcmp(got->p, want, want_n) == 0;
}

static void show(const char *name, const char *how, const buf_t *got,
                 const char *want)
{
    fprintf(stderr, "     case %s, %s:\n     got  %s     want %s", name, how,
                    got->p, want);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static size_t rnd(size_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (size_t)(rng_state % n);
}

static void golden_case(const char *name)
{
    char path[512];
    size_t in_n, want_n;
    snprintf(path, sizeof path, DIR_PATH "/%s.html", name);
    char *in = read_file(path, &in_n);
    snprintf(path, sizeof path, DIR_PATH "/%s.expected.html", name);
    char *want = read_file(path, &want_n);
    if (!CHECK(in != NULL && want != NULL)) {
        free(in);
        free(want);
        return;
    }
    dni_ruleset_t rules;
    rules_init(&rules);
    dni_rewriter_t *rw = NULL;
    buf_t out = {0};
    CHECK(dni_rewriter_new(&rw, &rules, sink, &out, NULL) == DNI_OK);

    int rc = run_cuts(rw, in, in_n, NULL, 0, &out);
    if (!CHECK(rc == DNI_OK && same(&out, want, want_n)))
        show(name, "whole", &out, want);

    size_t bad = 0;
    for (size_t cut = 0; cut <= in_n; cut++) {
        rc = run_cuts(rw, in, in_n, &cut, 1, &out);
        if ((rc != DNI_OK || !same(&out, want, want_n)) && bad++ == 0) {
            fprintf(stderr, "     split at %zu\n", cut);
            show(name, "split", &out, want);
        }
    }
    CHECK(bad == 0);

    size_t *every = malloc((in_n + 1) * sizeof *every);
    for (size_t i = 0; i + 1 < in_n; i++)
        every[i] = i + 1;
    rc = run_cuts(rw, in, in_n, every, in_n > 1 ? in_n - 1 : 0, &out);
    if (!CHECK(rc == DNI_OK && same(&out, want, want_n)))
        show(name, "byte by byte", &out, want);

    bad = 0;
    for (int round = 0; round < 200; round++) {
        size_t ncut = 0, at = 0;
        while (in_n > 0 && at < in_n - 1 && ncut < in_n) {
            at += 1 + rnd(7);
            if (at >= in_n)
                break;
            every[ncut++] = at;
        }
        rc = run_cuts(rw, in, in_n, every, ncut, &out);
        if (rc != DNI_OK || !same(&out, want, want_n))
            bad++;
    }
    CHECK(bad == 0);
    free(every);

    dni_rewriter_free(rw);
    free(out.p);
    free(in);
    free(want);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden(void)
{
    DIR *d = opendir(DIR_PATH);
    if (!CHECK(d != NULL))
        return;
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    const char *suffix = ".expected.html";
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL && n < sizeof names / sizeof *names) {
        size_t l = strlen(e->d_name);
        if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0) {
            names[n] = malloc(l - sl + 1);
            memcpy(names[n], e->d_name, l - sl);
            names[n][l - sl] = '\0';
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    CHECK(n >= 15);
    for (size_t i = 0; i < n; i++) {
        int before = harness_failed;
        golden_case(names[i]);
        printf("head %-28s %s\n", names[i],
               harness_failed == before ? "ok" : "FAILED");
        free(names[i]);
    }
}

static void test_contract(void)
{
    dni_ruleset_t rules;
    rules_init(&rules);
    dni_rewriter_t *rw = NULL;
    buf_t out = {0};
    buf_put(&out, "", 0);
    CHECK(dni_rewriter_new(&rw, &rules, sink, &out, NULL) == DNI_OK);

    /* Without an insert nothing changes. */
    CHECK(dni_rewriter_feed(rw, "<head>x", 7) == DNI_OK);
    CHECK(dni_rewriter_finish(rw) == DNI_OK);
    CHECK_STR(out.p, "<head>x");
    CHECK_INT(dni_rewriter_head_written(rw), 0);

    /* Too late once a byte was fed; an empty feed is no byte. */
    dni_rewriter_reset(rw);
    out.n = 0;
    CHECK(dni_rewriter_feed(rw, "", 0) == DNI_OK);
    CHECK(dni_rewriter_set_head(rw, "[M]", 3) == DNI_OK);
    CHECK(dni_rewriter_set_head(rw, "[N]", 3) == DNI_OK); /* replaces */
    CHECK(dni_rewriter_feed(rw, " <", 2) == DNI_OK);
    CHECK_INT(dni_rewriter_set_head(rw, "[X]", 3), DNI_ESTATE);
    CHECK(dni_rewriter_feed(rw, "head>", 5) == DNI_OK);
    CHECK_INT(dni_rewriter_head_written(rw), 1);
    CHECK(dni_rewriter_finish(rw) == DNI_OK);
    buf_put(&out, "", 0);
    out.n--;
    CHECK_STR(out.p, " <head>[N]");
    CHECK_INT(dni_rewriter_set_head(rw, "[X]", 3), DNI_ESTATE);

    /* reset forgets the insert; n = 0 clears it. */
    dni_rewriter_reset(rw);
    out.n = 0;
    CHECK(dni_rewriter_set_head(rw, "[M]", 3) == DNI_OK);
    CHECK(dni_rewriter_set_head(rw, NULL, 0) == DNI_OK);
    CHECK(dni_rewriter_feed(rw, "<p>", 3) == DNI_OK);
    CHECK(dni_rewriter_finish(rw) == DNI_OK);
    buf_put(&out, "", 0);
    out.n--;
    CHECK_STR(out.p, "<p>");
    dni_rewriter_reset(rw);
    out.n = 0;
    CHECK(dni_rewriter_feed(rw, "<p>", 3) == DNI_OK);
    CHECK(dni_rewriter_finish(rw) == DNI_OK);
    buf_put(&out, "", 0);
    out.n--;
    CHECK_STR(out.p, "<p>");
    CHECK_INT(dni_rewriter_set_head(rw, NULL, 3), DNI_EINVAL);

    /* A cut tag start at the end of the document: held, then passed on,
     * the insert after it. */
    dni_rewriter_reset(rw);
    out.n = 0;
    CHECK(dni_rewriter_set_head(rw, "[M]", 3) == DNI_OK);
    CHECK(dni_rewriter_feed(rw, "<!-- -->\n<he", 12) == DNI_OK);
    CHECK_INT(dni_rewriter_head_written(rw), 0);
    CHECK(dni_rewriter_finish(rw) == DNI_OK);
    buf_put(&out, "", 0);
    out.n--;
    CHECK_STR(out.p, "<!-- -->\n<he[M]");

    /* The sink failing while the insert is sought poisons the stream. */
    dni_rewriter_reset(rw);
    out.n = 0;
    out.fail = 1;
    CHECK(dni_rewriter_set_head(rw, "[M]", 3) == DNI_OK);
    CHECK_INT(dni_rewriter_feed(rw, "<html><p>", 9), DNI_EPOISONED);
    CHECK_INT(dni_rewriter_finish(rw), DNI_EPOISONED);
    out.fail = 0;

    dni_rewriter_free(rw);
    free(out.p);
}

int main(void)
{
    test_contract();
    test_golden();
    return harness_report();
}
