/*
 * bench_rewriter.c - throughput of the streaming number-swap rewriter.
 *
 *     build/bench/bench_rewriter [PAGES_DIR]
 *
 * Corpora: a generated landing-page corpus of about 4 MB holding the
 * default number in every written form the swap accepts (text,
 * title/alt/aria-label, tel: links, JSON-LD, comments, skipped blocks), and
 * every *.html / *.htm file in PAGES_DIR when given (one corpus per file).
 *
 * Per corpus, one line: its size, the swaps made, the rewriter's MB/s fed
 * whole and fed in 16 KiB chunks (as an edge stream arrives), memchr()'s
 * MB/s over the same bytes (a scan for a byte that is not there: the memory
 * bandwidth ceiling), and the ratio rewriter / memchr. Then a total line
 * and the bytes of memory one stream uses. Figures are printed, never
 * asserted; MB is 10^6 bytes; each figure is the best of three trials.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dni.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 20;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            fprintf(stderr, "bench_rewriter: out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

/* Counting sink: cheap, but touches the bytes so nothing is optimised out. */
static size_t sink_bytes;
static unsigned sink_mix;
static int count_sink(const char *p, size_t n, void *ud)
{
    (void)ud;
    sink_bytes += n;
    if (n)
        sink_mix += (unsigned char)p[0] + (unsigned char)p[n - 1];
    return 0;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint32_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

/* The default number as sites write it. */
static const char *const forms[] = {
    "(800) 555-1234",  "800-555-1234",     "800.555.1234",
    "1-800-555-1234",  "+1 800 555 1234",  "+18005551234",
    "001 800 555 1234", "8005551234",      "800&nbsp;555&nbsp;1234",
    "800&#160;555&#160;1234", "800&#xa0;555&#xa0;1234",
    "800\xc2\xa0" "555\xc2\xa0" "1234", "800\xe2\x80\x91" "555\xe2\x80\x91" "1234",
    "1.800.555.1234",  "(800)555-1234",
};
#define NFORMS (sizeof forms / sizeof *forms)

static const char *const words[] = {
    "plumbing", "emergency", "service", "licensed", "insured", "same-day",
    "repair", "water", "heater", "drain", "cleaning", "estimate", "free",
    "our", "team", "is", "ready", "to", "help", "you", "with", "every",
    "job", "big", "or", "small", "call", "today", "and", "save", "the",
};

static void para(buf_t *b, int nwords)
{
    for (int i = 0; i < nwords; i++) {
        puts_(b, words[rng() % (sizeof words / sizeof *words)]);
        puts_(b, i + 1 < nwords ? " " : ".");
    }
}

static void number(buf_t *b) { puts_(b, forms[rng() % NFORMS]); }

/* One landing page of roughly 40-60 KB. */
static void landing_page(buf_t *b, int id)
{
    char tmp[256];
    puts_(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>Acme Plumbing | Call ");
    number(b);
    puts_(b, "</title>\n<meta name=\"viewport\" content=\"width=device-width, "
             "initial-scale=1\">\n<link rel=\"stylesheet\" href=\"/css/site.css\">"
             "\n<style>.hero{background:#0a3d62;color:#fff;padding:2rem}"
             ".cta::after{content:\"800-555-1234\"}</style>\n"
             "<script type=\"application/ld+json\">{\"@context\":\"https://"
             "schema.org\",\"@type\":\"Plumber\",\"name\":\"Acme\",\"telephone"
             "\":\"+1-800-555-1234\"}</script>\n"
             "<script>window.dataLayer=window.dataLayer||[];function gtag(){"
             "dataLayer.push(arguments)}gtag('js',new Date());</script>\n"
             "</head><body>\n<header class=\"site\"><nav><ul>");
    for (int i = 0; i < 8; i++) {
        snprintf(tmp, sizeof tmp,
                 "<li><a href=\"/services/%d-%d\" class=\"nav-link\">", id, i);
        puts_(b, tmp);
        para(b, 2);
        puts_(b, "</a></li>");
    }
    puts_(b, "</ul></nav><a class=\"phone\" href=\"tel:+18005551234\" "
             "aria-label=\"Call ");
    number(b);
    puts_(b, "\">");
    number(b);
    puts_(b, "</a></header>\n<!-- hero: keep the number below in sync -->\n");
    int sections = 40 + (int)(rng() % 20);
    for (int s = 0; s < sections; s++) {
        snprintf(tmp, sizeof tmp, "<section id=\"s%d\" class=\"block "
                                  "block-%u\"><h2>", s, rng() % 9);
        puts_(b, tmp);
        para(b, 4);
        puts_(b, "</h2>\n<p>");
        para(b, 40 + (int)(rng() % 60));
        switch (rng() % 8) {
        case 0:
            puts_(b, " Call ");
            number(b);
            puts_(b, " ext. 12 for a quote.");
            break;
        case 1:
            puts_(b, " <a href=\"tel:");
            number(b);
            puts_(b, "\" title=\"");
            number(b);
            puts_(b, "\">Tap to call</a>");
            break;
        case 2:
            puts_(b, " <img src=\"/img/van-8005551234.jpg\" alt=\"Our van, ");
            number(b);
            puts_(b, "\" data-phone=\"800-555-1234\" width=\"640\">");
            break;
        case 3:
            puts_(b, " Order #180055512345 shipped; card 4111 1111 1111 1111.");
            break;
        case 4:
            puts_(b, " <span data-dni-skip>Head office: 800-555-1234</span>");
            break;
        default:
            break;
        }
        puts_(b, "</p>\n<ul class=\"features\">");
        for (int i = 0; i < 6; i++) {
            puts_(b, "<li><svg class=\"icon\" viewBox=\"0 0 24 24\"><path "
                     "d=\"M12 2L2 7l10 5 10-5-10-5z\"/></svg>");
            para(b, 6);
            puts_(b, "</li>");
        }
        puts_(b, "</ul></section>\n");
    }
    puts_(b, "<footer><p>&copy; 2026 Acme Plumbing &middot; 555 Main St "
             "&middot; ");
    number(b);
    puts_(b, " / ");
    number(b);
    puts_(b, "</p><noscript>Call ");
    number(b);
    puts_(b, "</noscript></footer>\n<script src=\"/_dni/dni.js\" async>"
             "</script></body></html>\n");
}

/* Called through a volatile pointer: memchr is pure, and the compiler
 * would otherwise run the same scan once for all repetitions. */
static void *(*volatile memchr_fn)(const void *, int, size_t) = memchr;

static size_t memchr_pass(const char *p, size_t n)
{
    size_t hits = 0;
    const char *end = p + n;
    while (p < end) {
        const char *q = memchr_fn(p, '\x01', (size_t)(end - p));
        if (q == NULL)
            break;
        hits++;
        p = q + 1;
    }
    return hits;
}

typedef struct result {
    double rw_mbs, rw16_mbs, memchr_mbs;
    uint64_t swaps;
} result_t;

/* Feeds the document reps times in chunks of chunk bytes (0: whole);
 * returns seconds. */
static double time_rewriter(dni_rewriter_t *rw, const char *p, size_t n,
                            size_t chunk, int reps, uint64_t *swaps)
{
    double t0 = now_s();
    for (int r = 0; r < reps; r++) {
        dni_rewriter_reset(rw);
        if (chunk == 0)
            dni_rewriter_feed(rw, p, n);
        else
            for (size_t at = 0; at < n; at += chunk)
                dni_rewriter_feed(rw, p + at, n - at < chunk ? n - at : chunk);
        dni_rewriter_finish(rw);
    }
    double t = now_s() - t0;
    *swaps = dni_rewriter_swaps(rw);
    return t;
}

/* Repetitions per trial: about 60 MB of input, a tenth of a second. */
static int reps_for(size_t n)
{
    size_t target = 60u * 1000 * 1000;
    int reps = (int)(target / (n ? n : 1));
    return reps < 3 ? 3 : reps > 2000 ? 2000 : reps;
}

/* Best of three trials: the machine is shared, the best run is the one
 * least disturbed by others. */
static result_t measure(dni_rewriter_t *rw, const char *p, size_t n)
{
    result_t res;
    int reps = reps_for(n);
    uint64_t swaps;
    double best = 1e30, best16 = 1e30, bestmc = 1e30, t;
    time_rewriter(rw, p, n, 0, 1, &swaps); /* warm up */
    for (int trial = 0; trial < 3; trial++) {
        t = time_rewriter(rw, p, n, 0, reps, &swaps);
        best = t < best ? t : best;
        t = time_rewriter(rw, p, n, 16384, reps, &swaps);
        best16 = t < best16 ? t : best16;
        volatile size_t keep = 0;
        double t0 = now_s();
        for (int r = 0; r < reps; r++)
            keep += memchr_pass(p, n);
        t = now_s() - t0;
        (void)keep;
        bestmc = t < bestmc ? t : bestmc;
    }
    res.rw_mbs = (double)n * reps / best / 1e6;
    res.rw16_mbs = (double)n * reps / best16 / 1e6;
    res.memchr_mbs = (double)n * reps / bestmc / 1e6;
    res.swaps = swaps;
    return res;
}

static void print_line(const char *name, size_t n, const result_t *r)
{
    printf("%-26s %9.2f MB %7llu swaps  rewriter %8.1f MB/s  16K chunks "
           "%8.1f MB/s  memchr %8.1f MB/s  ratio %.3f\n",
           name, (double)n / 1e6, (unsigned long long)r->swaps, r->rw_mbs,
           r->rw16_mbs, r->memchr_mbs, r->rw_mbs / r->memchr_mbs);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf_t b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, n);
    fclose(f);
    *len = b.n;
    return b.p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    dni_ruleset_t rules;
    char why[256];
    dni_ruleset_init(&rules);
    if (dni_ruleset_add_spec(&rules, "800-555-1234=+18885550000", NULL, why,
                             sizeof why) != DNI_OK) {
        fprintf(stderr, "bench_rewriter: %s\n", why);
        return 1;
    }
    dni_rewriter_t *rw;
    if (dni_rewriter_new(&rw, &rules, count_sink, NULL, NULL) != DNI_OK) {
        fprintf(stderr, "bench_rewriter: cannot create a rewriter\n");
        return 1;
    }

    double total_bytes = 0, total_rw_s = 0, total_16_s = 0, total_mc_s = 0;
    uint64_t total_swaps = 0;

    /* The generated corpus. */
    buf_t gen = {0};
    for (int id = 0; gen.n < 4u * 1000 * 1000; id++)
        landing_page(&gen, id);
    result_t r = measure(rw, gen.p, gen.n);
    print_line("generated landing pages", gen.n, &r);
    total_bytes += (double)gen.n;
    total_rw_s += (double)gen.n / (r.rw_mbs * 1e6);
    total_16_s += (double)gen.n / (r.rw16_mbs * 1e6);
    total_mc_s += (double)gen.n / (r.memchr_mbs * 1e6);
    total_swaps += r.swaps;
    free(gen.p);

    /* Pages from the folder, if any. */
    if (argc > 1) {
        DIR *d = opendir(argv[1]);
        if (d == NULL) {
            printf("(no pages folder %s: generated corpus only)\n", argv[1]);
        } else {
            char *names[256];
            size_t nn = 0;
            struct dirent *e;
            while ((e = readdir(d)) != NULL && nn < 256) {
                size_t l = strlen(e->d_name);
                if ((l > 5 && strcmp(e->d_name + l - 5, ".html") == 0) ||
                    (l > 4 && strcmp(e->d_name + l - 4, ".htm") == 0))
                    names[nn++] = strdup(e->d_name);
            }
            closedir(d);
            qsort(names, nn, sizeof *names, cmp_str);
            for (size_t i = 0; i < nn; i++) {
                char path[4096];
                size_t len;
                snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
                char *page = slurp(path, &len);
                if (page == NULL || len == 0) {
                    printf("%-26s (unreadable or empty, skipped)\n", names[i]);
                } else {
                    r = measure(rw, page, len);
                    print_line(names[i], len, &r);
                    total_bytes += (double)len;
                    total_rw_s += (double)len / (r.rw_mbs * 1e6);
                    total_16_s += (double)len / (r.rw16_mbs * 1e6);
                    total_mc_s += (double)len / (r.memchr_mbs * 1e6);
                    total_swaps += r.swaps;
                }
                free(page);
                free(names[i]);
            }
        }
    }

    result_t t = {total_bytes / total_rw_s / 1e6, total_bytes / total_16_s / 1e6,
                  total_bytes / total_mc_s / 1e6, total_swaps};
    print_line("total", (size_t)total_bytes, &t);
    printf("rewriter memory per stream: %zu bytes; target 1000 MB/s native: "
           "%s\n", dni_rewriter_memory(),
           t.rw_mbs >= 1000 ? "met" : "not met");
    dni_rewriter_free(rw);
    return sink_mix == 0xffffffffu; /* keeps the sink's work observable */
}
