/*
 * test_rewriter.c - the streaming number-swap rewriter against the matching
 * rule of docs/swap.md.
 *
 *   - every golden case in tests/golden/ (see its README.md): whole, at
 *     every single split point, one byte at a time, and after a reset;
 *   - a generated page of more than 1 MB whose expected output is known,
 *     fed whole and in many random chunkings;
 *   - bounded memory: what is held back never exceeds the rewriter's size;
 *   - the stream contract (sink failure, feed after finish, reset, swaps,
 *     the allocator hook) and rule parsing errors.
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

/* ---- growable byte buffer, the sink's target ---- */

typedef struct buf {
    char *p;
    size_t n, cap;
    int fail_after; /* sink fails once n would exceed this (-1: never) */
} buf_t;

static void buf_put(buf_t *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
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
    if (b->fail_after >= 0 && b->n + n > (size_t)b->fail_after)
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
    b.fail_after = -1;
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_put(&b, tmp, n);
    fclose(f);
    if (b.p == NULL)
        buf_put(&b, "", 0);
    *len = b.n;
    return b.p;
}

/* Prints where got and want first differ, with the bytes around it. */
static void show_bytes(const char *label, const char *p, size_t n, size_t at)
{
    size_t from = at > 40 ? at - 40 : 0;
    size_t to = at + 40 < n ? at + 40 : n;
    fprintf(stderr, "     %s [%zu..%zu): \"", label, from, to);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)p[i];
        if (i == at)
            fputs("\033[7m", stderr);
        if (c == '\n')
            fputs("\\n", stderr);
        else if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
        if (i == at)
            fputs("\033[0m", stderr);
    }
    fputs("\"\n", stderr);
}

static void show_diff(const char *got, size_t got_n, const char *want,
                      size_t want_n)
{
    size_t i = 0;
    while (i < got_n && i < want_n && got[i] == want[i])
        i++;
    fprintf(stderr, "     first difference at offset %zu (got %zu bytes, "
                    "want %zu)\n", i, got_n, want_n);
    show_bytes("got ", got, got_n, i);
    show_bytes("want", want, want_n, i);
}

static int same(const buf_t *got, const char *want, size_t want_n)
{
    return got->n == want_n && memcmp(got->p, want, want_n) == 0;
}

/*
 * Feeds in[0..n) in the chunks that cut[] lists (offsets, ascending, each
 * < n; ncut may be 0) into rw and collects the output into out. Returns
 * the first error of feed/finish, or DNI_OK.
 */
static int run_cuts(dni_rewriter_t *rw, const char *in, size_t n,
                    const size_t *cut, size_t ncut, buf_t *out)
{
    size_t at = 0;
    int rc = DNI_OK;
    out->n = 0;
    dni_rewriter_reset(rw);
    for (size_t i = 0; i <= ncut && rc == DNI_OK; i++) {
        size_t end = i < ncut ? cut[i] : n;
        rc = dni_rewriter_feed(rw, in + at, end - at);
        at = end;
    }
    if (rc == DNI_OK)
        rc = dni_rewriter_finish(rw);
    if (out->p == NULL)
        buf_put(out, "", 0);
    return rc;
}

/* ---- .args files ---- */

/* Reads a case's options (see tests/golden/README.md) into rs. Returns 0,
 * or -1 after printing why. */
static int load_args(const char *path, dni_ruleset_t *rs)
{
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL) {
        fprintf(stderr, "     cannot read %s\n", path);
        return -1;
    }
    char country[32] = "";
    char *specs[DNI_MAX_RULES + 4];
    size_t nspec = 0;
    int rc = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (l == 0 || line[0] == '#') {
            line = next;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (sp == NULL) {
            fprintf(stderr, "     %s: option without a value: %s\n", path,
                    line);
            rc = -1;
            break;
        }
        *sp = '\0';
        if (strcmp(line, "--country") == 0 && strlen(sp + 1) < sizeof country)
            strcpy(country, sp + 1);
        else if (strcmp(line, "--rule") == 0 &&
                 nspec < sizeof specs / sizeof *specs)
            specs[nspec++] = sp + 1;
        else {
            fprintf(stderr, "     %s: unknown option %s\n", path, line);
            rc = -1;
            break;
        }
        line = next;
    }
    dni_ruleset_init(rs);
    for (size_t i = 0; rc == 0 && i < nspec; i++) {
        char why[256] = "";
        int e = dni_ruleset_add_spec(rs, specs[i], country[0] ? country : NULL,
                                     why, sizeof why);
        if (e != DNI_OK) {
            fprintf(stderr, "     %s: rule \"%s\": %s (%s)\n", path, specs[i],
                    dni_err_name(e), why);
            rc = -1;
        }
    }
    if (rc == 0 && nspec == 0) {
        fprintf(stderr, "     %s: no --rule\n", path);
        rc = -1;
    }
    free(text);
    return rc;
}

/* ---- golden cases ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void golden_case(const char *name)
{
    char path[512];
    size_t in_n, want_n;
    dni_ruleset_t rules;

    snprintf(path, sizeof path, "tests/golden/%s.args", name);
    if (!CHECK(load_args(path, &rules) == 0)) {
        fprintf(stderr, "     case %s: bad .args\n", name);
        return;
    }
    snprintf(path, sizeof path, "tests/golden/%s.html", name);
    char *in = read_file(path, &in_n);
    snprintf(path, sizeof path, "tests/golden/%s.expected.html", name);
    char *want = read_file(path, &want_n);
    if (!CHECK(in != NULL && want != NULL)) {
        fprintf(stderr, "     case %s: missing .html or .expected.html\n",
                name);
        free(in);
        free(want);
        return;
    }

    dni_rewriter_t *rw = NULL;
    buf_t out = {0};
    out.fail_after = -1;
    int rc = dni_rewriter_new(&rw, &rules, sink, &out, NULL);
    if (!CHECK(rc == DNI_OK && rw != NULL)) {
        fprintf(stderr, "     case %s: dni_rewriter_new: %s\n", name,
                dni_err_name(rc));
        goto done;
    }

    /* Whole. */
    rc = run_cuts(rw, in, in_n, NULL, 0, &out);
    if (!CHECK(rc == DNI_OK && same(&out, want, want_n))) {
        fprintf(stderr, "     case %s, whole (rc %s):\n", name,
                dni_err_name(rc));
        show_diff(out.p, out.n, want, want_n);
    }

    /* Every single split point: feed(prefix), feed(rest). */
    size_t bad_splits = 0, first_bad = 0;
    for (size_t cut = 0; cut <= in_n; cut++) {
        rc = run_cuts(rw, in, in_n, &cut, 1, &out);
        if (rc != DNI_OK || !same(&out, want, want_n)) {
            if (bad_splits++ == 0) {
                first_bad = cut;
                fprintf(stderr, "     case %s, split at %zu (rc %s):\n",
                        name, cut, dni_err_name(rc));
                show_diff(out.p, out.n, want, want_n);
            }
        }
    }
    if (!CHECK(bad_splits == 0))
        fprintf(stderr, "     case %s: %zu of %zu split points wrong, first "
                        "at %zu\n", name, bad_splits, in_n + 1, first_bad);

    /* One byte at a time, with empty feeds in between. */
    out.n = 0;
    dni_rewriter_reset(rw);
    rc = DNI_OK;
    for (size_t i = 0; i < in_n && rc == DNI_OK; i++) {
        rc = dni_rewriter_feed(rw, in + i, 1);
        if (rc == DNI_OK)
            rc = dni_rewriter_feed(rw, in + i, 0);
    }
    if (rc == DNI_OK)
        rc = dni_rewriter_finish(rw);
    if (!CHECK(rc == DNI_OK && same(&out, want, want_n))) {
        fprintf(stderr, "     case %s, byte by byte (rc %s):\n", name,
                dni_err_name(rc));
        show_diff(out.p, out.n, want, want_n);
    }

    /* A fresh rewriter gives what a reset one gives. */
    dni_rewriter_free(rw);
    rw = NULL;
    out.n = 0;
    rc = dni_rewriter_new(&rw, &rules, sink, &out, NULL);
    if (rc == DNI_OK) {
        rc = dni_rewriter_feed(rw, in, in_n);
        if (rc == DNI_OK)
            rc = dni_rewriter_finish(rw);
    }
    if (!CHECK(rc == DNI_OK && same(&out, want, want_n)))
        fprintf(stderr, "     case %s, fresh rewriter (rc %s)\n", name,
                dni_err_name(rc));

done:
    dni_rewriter_free(rw);
    free(out.p);
    free(in);
    free(want);
}

static void test_golden(void)
{
    DIR *d = opendir("tests/golden");
    if (!CHECK(d != NULL)) {
        fprintf(stderr, "     tests/golden not found: run from the repo "
                        "root\n");
        return;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < sizeof names / sizeof *names) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".args") == 0) {
            names[n] = malloc(l - 4);
            memcpy(names[n], e->d_name, l - 5);
            names[n][l - 5] = '\0';
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    /* Every case: a misnamed file would silently drop coverage. */
    CHECK(n >= 20);
    for (size_t i = 0; i < n; i++) {
        int before = harness_failed;
        golden_case(names[i]);
        printf("golden %-28s %s\n", names[i],
               harness_failed == before ? "ok" : "FAILED");
        free(names[i]);
    }
}

/* ---- generated page, random chunkings ---- */

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}
static size_t rng_below(size_t n) { return (size_t)(rng() % n); }

/*
 * Input/expected pairs under the rules 800-555-1234 -> +18885550000 and
 * 877-555-0100 -> +18665550199. Each leaves the tokenizer in the data
 * state, and the page puts a newline between two (neither a digit nor a
 * separator, and a number runs on through inline tags, so this keeps
 * numbers from running across fragments): any concatenation of them has
 * a known output.
 */
static const char *const fragments[][2] = {
    {"<p>Call (800) 555-1234 today.</p>\n",
     "<p>Call (888) 555-0000 today.</p>\n"},
    {"<p>1-800-555-1234 or +1 877 555 0100</p>",
     "<p>1-888-555-0000 or +1 866 555 0199</p>"},
    {"<a href=\"tel:+18005551234\" title=\"Call 800.555.1234\">call</a>",
     "<a href=\"tel:+18885550000\" title=\"Call 888.555.0000\">call</a>"},
    {"<a href=\"/x/800-555-1234\" data-n=\"8005551234\">x</a>",
     "<a href=\"/x/800-555-1234\" data-n=\"8005551234\">x</a>"},
    {"<script type=\"application/ld+json\">{\"telephone\":\"+1-800-555-1234\""
     "}</script>",
     "<script type=\"application/ld+json\">{\"telephone\":\"+1-800-555-1234\""
     "}</script>"},
    {"<!-- 800-555-1234 -->", "<!-- 800-555-1234 -->"},
    {"<div data-dni-skip><div>800-555-1234</div>877-555-0100</div>",
     "<div data-dni-skip><div>800-555-1234</div>877-555-0100</div>"},
    {"<span>800&nbsp;555&nbsp;1234</span>",
     "<span>888&nbsp;555&nbsp;0000</span>"},
    {"<b>800\xc2\xa0" "555\xe2\x80\x91" "1234</b>",
     "<b>888\xc2\xa0" "555\xe2\x80\x91" "0000</b>"},
    {"<style>.a{content:\"800-555-1234\"}</style>",
     "<style>.a{content:\"800-555-1234\"}</style>"},
    {"<textarea>877-555-0100</textarea>", "<textarea>877-555-0100</textarea>"},
    {"<title>Acme 800-555-1234</title>", "<title>Acme 888-555-0000</title>"},
    {"<img alt='877.555.0100' src=/i/8775550100.png>",
     "<img alt='866.555.0199' src=/i/8775550100.png>"},
    {"<i>order 180055512345</i>", "<i>order 180055512345</i>"},
    {"<i>800-555-1234 / 877-555-0100</i>", "<i>888-555-0000 / 866-555-0199</i>"},
    {"<p>a < b, 800-555-1234 ext. 5</p>", "<p>a < b, 888-555-0000 ext. 5</p>"},
    {"<![CDATA[ 800-555-1234 ]]>", "<![CDATA[ 800-555-1234 ]]>"},
    {"<a href=\"CALLTO:8005551234\" aria-label=\"001 877 555 0100\">y</a>",
     "<a href=\"CALLTO:8885550000\" aria-label=\"001 866 555 0199\">y</a>"},
    {"<p title=\"a > b 800-555-1234\" data-x='> 800-555-1234'>z</p>",
     "<p title=\"a > b 888-555-0000\" data-x='> 800-555-1234'>z</p>"},
    {"<script><!--<script>800-555-1234</script>--></script>",
     "<script><!--<script>800-555-1234</script>--></script>"},
    {"\nLorem ipsum dolor sit amet, consectetur adipiscing elit.\n",
     "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.\n"},
    {"<div class=\"hero\"><h1>Fast plumbing</h1><p>Open 24/7 &amp; ready."
     "</p></div>\n",
     "<div class=\"hero\"><h1>Fast plumbing</h1><p>Open 24/7 &amp; ready."
     "</p></div>\n"},
};

static void test_random_chunkings(void)
{
    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    char why[256];
    CHECK_INT(dni_ruleset_add_spec(&rules, "800-555-1234=+18885550000", NULL,
                                   why, sizeof why), DNI_OK);
    CHECK_INT(dni_ruleset_add_spec(&rules, "877-555-0100=+18665550199", NULL,
                                   why, sizeof why), DNI_OK);

    buf_t in = {0}, want = {0}, out = {0};
    in.fail_after = want.fail_after = out.fail_after = -1;
    size_t nfrag = sizeof fragments / sizeof *fragments;
    while (in.n < (1u << 20) + 4096) {
        size_t k = rng_below(nfrag);
        buf_put(&in, fragments[k][0], strlen(fragments[k][0]));
        buf_put(&want, fragments[k][1], strlen(fragments[k][1]));
        buf_put(&in, "\n", 1);
        buf_put(&want, "\n", 1);
    }
    CHECK(in.n >= (1u << 20));

    dni_rewriter_t *rw = NULL;
    if (!CHECK(dni_rewriter_new(&rw, &rules, sink, &out, NULL) == DNI_OK))
        goto done;

    int rc = run_cuts(rw, in.p, in.n, NULL, 0, &out);
    if (!CHECK(rc == DNI_OK && same(&out, want.p, want.n))) {
        fprintf(stderr, "     generated page, whole:\n");
        show_diff(out.p, out.n, want.p, want.n);
    }

    /* Chunkings: tiny chunks, mid-size, large, and mixed. */
    size_t maxcuts = in.n;
    size_t *cuts = malloc(maxcuts * sizeof *cuts);
    int rounds = 24, bad = 0;
    for (int r = 0; r < rounds; r++) {
        size_t ncut = 0, at = 0;
        size_t cap = r % 4 == 0 ? 8 : r % 4 == 1 ? 300 : r % 4 == 2 ? 70000 : 0;
        for (;;) {
            size_t step = cap ? 1 + rng_below(cap)
                              : (rng() & 1 ? 1 + rng_below(5)
                                           : 1 + rng_below(20000));
            at += step;
            if (at >= in.n)
                break;
            cuts[ncut++] = at;
        }
        rc = run_cuts(rw, in.p, in.n, cuts, ncut, &out);
        if (rc != DNI_OK || !same(&out, want.p, want.n)) {
            if (bad++ == 0) {
                fprintf(stderr, "     generated page, chunking %d (%zu "
                                "chunks, rc %s):\n", r, ncut + 1,
                        dni_err_name(rc));
                show_diff(out.p, out.n, want.p, want.n);
            }
        }
    }
    if (!CHECK(bad == 0))
        fprintf(stderr, "     %d of %d random chunkings differ\n", bad, rounds);
    free(cuts);
    printf("random chunkings: %zu-byte page, %d chunkings, %s\n", in.n,
           rounds, bad ? "FAILED" : "ok");
done:
    dni_rewriter_free(rw);
    free(in.p);
    free(want.p);
    free(out.p);
}

/* ---- bounded memory ---- */

/*
 * Feeds doc in chunks of 1000 bytes and checks after every feed that what
 * has not reached the sink fits in the rewriter (input holding no number:
 * output bytes = input bytes), then that the output is the input.
 */
static void check_held_back(const char *what, const char *doc, size_t n)
{
    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    dni_ruleset_add_spec(&rules, "800-555-1234=+18885550000", NULL, NULL, 0);
    buf_t out = {0};
    out.fail_after = -1;
    dni_rewriter_t *rw = NULL;
    if (!CHECK(dni_rewriter_new(&rw, &rules, sink, &out, NULL) == DNI_OK))
        return;
    size_t limit = dni_rewriter_memory(), worst = 0;
    int rc = DNI_OK;
    for (size_t at = 0; at < n && rc == DNI_OK; at += 1000) {
        size_t len = n - at < 1000 ? n - at : 1000;
        rc = dni_rewriter_feed(rw, doc + at, len);
        size_t held = at + len - out.n;
        if (held > worst)
            worst = held;
    }
    if (rc == DNI_OK)
        rc = dni_rewriter_finish(rw);
    CHECK_INT(rc, DNI_OK);
    if (!CHECK(worst <= limit))
        fprintf(stderr, "     %s: held back %zu bytes, rewriter is %zu\n",
                what, worst, limit);
    if (!CHECK(same(&out, doc, n))) {
        fprintf(stderr, "     %s: not passed through:\n", what);
        show_diff(out.p, out.n, doc, n);
    }
    dni_rewriter_free(rw);
    free(out.p);
}

static void test_bounded_memory(void)
{
    size_t mem = dni_rewriter_memory();
    CHECK(mem > 0);
    CHECK(mem <= 64 * 1024);
    printf("rewriter memory per stream: %zu bytes\n", mem);

    const size_t n = 300000;
    char *doc = malloc(n + 64);
    static const struct {
        const char *what, *head, *fill, *tail;
    } shapes[] = {
        {"text", "<p>", "lorem ipsum ", "</p>"},
        {"long attribute", "<div data-x=\"", "abc def ", "\">x</div>"},
        {"long title attribute", "<div title=\"", "abc def ", "\">x</div>"},
        {"long tel: href", "<a href=\"tel:", "abc-def-", "\">x</a>"},
        {"long comment", "<!--", "abc def ", "-->"},
        {"long script", "<script>", "var a=1;", "</script>"},
        {"long tag name", "<x", "abcdefgh", ">"},
        {"digit-free separators", "<p>", " - . / ", "</p>"},
        {"many short numbers", "<p>", "12 345 6789 ", "</p>"},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t at = 0, hl = strlen(shapes[s].head), fl = strlen(shapes[s].fill),
               tl = strlen(shapes[s].tail);
        memcpy(doc, shapes[s].head, hl);
        at = hl;
        while (at + fl + tl <= n) {
            memcpy(doc + at, shapes[s].fill, fl);
            at += fl;
        }
        memcpy(doc + at, shapes[s].tail, tl);
        at += tl;
        check_held_back(shapes[s].what, doc, at);
    }
    free(doc);
}

/* ---- stream contract ---- */

static size_t alloc_calls, alloc_size, free_calls;
static int alloc_fail;
static void *test_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (size == 0) {
        if (ptr)
            free_calls++;
        free(ptr);
        return NULL;
    }
    alloc_calls++;
    alloc_size = size;
    return alloc_fail ? NULL : realloc(ptr, size);
}

static void test_stream_contract(void)
{
    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    CHECK_INT(dni_ruleset_add_spec(&rules, "800-555-1234=+18885550000", NULL,
                                   NULL, 0), DNI_OK);
    buf_t out = {0};
    out.fail_after = -1;
    dni_allocator_t al = {test_realloc, NULL};

    /* One allocation, of the advertised size, freed through the hook. */
    dni_rewriter_t *rw = NULL;
    CHECK_INT(dni_rewriter_new(&rw, &rules, sink, &out, &al), DNI_OK);
    CHECK_INT(alloc_calls, 1);
    CHECK_INT(alloc_size, dni_rewriter_memory());

    /* The rules are copied: changing ours afterwards changes nothing. */
    dni_ruleset_init(&rules);
    const char *doc = "<p>800-555-1234 and 800-555-1234</p> 8005551234";
    CHECK_INT(dni_rewriter_feed(rw, doc, strlen(doc)), DNI_OK);
    CHECK_INT(dni_rewriter_finish(rw), DNI_OK);
    CHECK_STR(out.p, "<p>888-555-0000 and 888-555-0000</p> 8885550000");
    CHECK_INT(dni_rewriter_swaps(rw), 3);
    CHECK_INT(alloc_calls, 1); /* nothing per byte */

    /* After finish the stream takes nothing until reset. */
    CHECK_INT(dni_rewriter_feed(rw, "x", 1), DNI_EPOISONED);
    CHECK_INT(dni_rewriter_finish(rw), DNI_EPOISONED);
    dni_rewriter_reset(rw);
    CHECK_INT(dni_rewriter_swaps(rw), 0);
    out.n = 0;
    CHECK_INT(dni_rewriter_feed(rw, "1-800-555-1234", 14), DNI_OK);
    CHECK_INT(dni_rewriter_finish(rw), DNI_OK);
    CHECK_STR(out.p, "1-888-555-0000");
    CHECK_INT(dni_rewriter_swaps(rw), 1);

    /* A failing sink poisons the stream; reset recovers it. */
    dni_rewriter_reset(rw);
    out.n = 0;
    out.fail_after = 0;
    char big[8192];
    memset(big, 'a', sizeof big);
    int rc = dni_rewriter_feed(rw, big, sizeof big);
    if (rc == DNI_OK)
        rc = dni_rewriter_finish(rw);
    CHECK_INT(rc, DNI_EPOISONED);
    CHECK_INT(dni_rewriter_feed(rw, "x", 1), DNI_EPOISONED);
    CHECK_INT(dni_rewriter_finish(rw), DNI_EPOISONED);
    out.fail_after = -1;
    dni_rewriter_reset(rw);
    out.n = 0;
    CHECK_INT(dni_rewriter_feed(rw, "ok", 2), DNI_OK);
    CHECK_INT(dni_rewriter_finish(rw), DNI_OK);
    CHECK_STR(out.p, "ok");

    /* An empty document gives nothing. */
    dni_rewriter_reset(rw);
    out.n = 0;
    out.p[0] = '\0';
    CHECK_INT(dni_rewriter_finish(rw), DNI_OK);
    CHECK_INT(out.n, 0);

    dni_rewriter_free(rw);
    CHECK_INT(free_calls, 1);
    dni_rewriter_free(NULL);

    /* Allocation failure is reported, not crashed on. */
    alloc_fail = 1;
    rw = NULL;
    dni_ruleset_add_spec(&rules, "800-555-1234=+18885550000", NULL, NULL, 0);
    CHECK_INT(dni_rewriter_new(&rw, &rules, sink, &out, &al), DNI_ENOMEM);
    alloc_fail = 0;

    /* No sink: invalid. */
    rw = NULL;
    CHECK_INT(dni_rewriter_new(&rw, &rules, NULL, &out, NULL), DNI_EINVAL);
    free(out.p);
}

/* ---- rule parsing ---- */

static void expect_spec_error(const char *spec, const char *country, int want)
{
    dni_ruleset_t rs;
    dni_ruleset_init(&rs);
    char why[256];
    memset(why, 0, sizeof why);
    int rc = dni_ruleset_add_spec(&rs, spec, country, why, sizeof why);
    if (!CHECK(rc == want))
        fprintf(stderr, "     spec \"%s\": got %s, want %s\n", spec,
                dni_err_name(rc), dni_err_name(want));
    /* The reason is one line naming what is wrong. */
    if (!CHECK(why[0] != '\0' && strchr(why, '\n') == NULL))
        fprintf(stderr, "     spec \"%s\": why = \"%s\"\n", spec, why);
    CHECK_INT(rs.count, 0);
}

static void test_rule_parsing(void)
{
    dni_ruleset_t rs;
    char why[256];

    dni_ruleset_init(&rs);
    CHECK_INT(rs.count, 0);
    CHECK_INT(dni_ruleset_add_spec(&rs, "800-555-1234=+18885550000", NULL,
                                   why, sizeof why), DNI_OK);
    CHECK_INT(rs.count, 1);
    CHECK_STR(rs.rules[0].from.e164, "+18005551234");
    CHECK_STR(rs.rules[0].to.e164, "+18885550000");
    CHECK_STR(rs.rules[0].template_, "");
    CHECK_INT(dni_ruleset_add_spec(&rs,
                  "+1 877 555 0100=+442079460000@+## ## #### ####", NULL,
                  why, sizeof why), DNI_OK);
    CHECK_INT(rs.count, 2);
    CHECK_STR(rs.rules[1].from.e164, "+18775550100");
    CHECK_STR(rs.rules[1].to.e164, "+442079460000");
    CHECK_STR(rs.rules[1].template_, "+## ## #### ####");
    /* The same default twice. */
    CHECK_INT(dni_ruleset_add_spec(&rs, "1-800-555-1234=+18885551111", NULL,
                                   why, sizeof why), DNI_EEXISTS);
    CHECK_INT(rs.count, 2);

    /* Any recognisable form, the bracketed area code included. */
    dni_ruleset_init(&rs);
    CHECK_INT(dni_ruleset_add_spec(&rs, "(800) 555-1234=+1 (888) 555-0000",
                                   NULL, why, sizeof why), DNI_OK);
    CHECK_STR(rs.rules[0].from.e164, "+18005551234");
    CHECK_STR(rs.rules[0].to.e164, "+18885550000");

    /* National numbers follow --country. */
    dni_ruleset_init(&rs);
    CHECK_INT(dni_ruleset_add_spec(&rs, "020 7946 0000=020 7946 1111", "GB",
                                   why, sizeof why), DNI_OK);
    CHECK_STR(rs.rules[0].from.e164, "+442079460000");
    CHECK_STR(rs.rules[0].to.e164, "+442079461111");

    /* Full: DNI_MAX_RULES rules fit, one more does not. */
    dni_ruleset_init(&rs);
    int rc = DNI_OK;
    for (int i = 0; i < DNI_MAX_RULES && rc == DNI_OK; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "800-555-%04d=+1888555%04d", i, i);
        rc = dni_ruleset_add_spec(&rs, spec, NULL, why, sizeof why);
    }
    CHECK_INT(rc, DNI_OK);
    CHECK_INT(rs.count, DNI_MAX_RULES);
    CHECK_INT(dni_ruleset_add_spec(&rs, "800-555-9999=+18885559999", NULL,
                                   why, sizeof why), DNI_ELIMIT);
    CHECK_INT(rs.count, DNI_MAX_RULES);

    expect_spec_error("8005551234", NULL, DNI_ESYNTAX);
    expect_spec_error("", NULL, DNI_ESYNTAX);
    expect_spec_error("abc=+18885550000", NULL, DNI_ENOTPHONE);
    expect_spec_error("=+18885550000", NULL, DNI_ENOTPHONE);
    expect_spec_error("800-555-1234=", NULL, DNI_ENOTPHONE);
    expect_spec_error("800-555-1234=hello", NULL, DNI_ENOTPHONE);
    expect_spec_error("800-555-123=+18885550000", NULL, DNI_ENOTPHONE);
    expect_spec_error("800-555-1234=+442079460000@+## ## ####", NULL,
                      DNI_ETEMPLATE);
    expect_spec_error("800-555-1234=+442079460000@+## ## #### #####", NULL,
                      DNI_ETEMPLATE);
    expect_spec_error("800-555-1234=+442079460000@no hashes", NULL,
                      DNI_ETEMPLATE);
    expect_spec_error("800-555-1234=+18885550000@"
                      "+#-#-#-#-#-#-#-#-#-#-#-------------------------------",
                      NULL, DNI_ETEMPLATE); /* longer than DNI_MAX_TEMPLATE */
    expect_spec_error("800-555-1234=+18885550000", "ZZ", DNI_ECOUNTRY);

    /* A short why buffer is still NUL-terminated; NULL why is fine. */
    dni_ruleset_init(&rs);
    memset(why, 'x', sizeof why);
    CHECK_INT(dni_ruleset_add_spec(&rs, "nope=nope", NULL, why, 8),
              DNI_ENOTPHONE);
    CHECK(memchr(why, '\0', 8) != NULL);
    CHECK(why[8] == 'x');
    CHECK_INT(dni_ruleset_add_spec(&rs, "nope=nope", NULL, NULL, 0),
              DNI_ENOTPHONE);

    /* dni_ruleset_add checks the template against the number itself. */
    dni_phone_t from, to;
    dni_ruleset_init(&rs);
    CHECK_INT(dni_phone_parse(&from, "800-555-1234", 12, NULL), DNI_OK);
    CHECK_INT(dni_phone_parse(&to, "+442079460000", 13, NULL), DNI_OK);
    CHECK_INT(dni_ruleset_add(&rs, &from, &to, "+## ## #### ###"),
              DNI_ETEMPLATE);
    CHECK_INT(dni_ruleset_add(&rs, &from, &to, "+## ## #### ####"), DNI_OK);
    CHECK_INT(dni_ruleset_add(&rs, &from, &to, NULL), DNI_EEXISTS);
}

int main(void)
{
    test_rule_parsing();
    test_stream_contract();
    test_bounded_memory();
    test_golden();
    test_random_chunkings();
    return harness_report();
}
