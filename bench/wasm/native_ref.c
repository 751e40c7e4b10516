/*
 * native_ref.c - the native side of bench/wasm/bench.mjs: the same work
 * the script asks of the WebAssembly builds, timed in-process, printed as
 * one JSON line so the script can put the figures side by side.
 *
 *   native_ref swap SECONDS RULE... -- FILE...
 *       rewrites each file (read into memory first) in 64 KiB chunks to a
 *       sink that only counts, again and again for about SECONDS;
 *       prints {"bytes":B,"seconds":S}
 *   native_ref pool OPS
 *       the lease-engine operation mix of bench.mjs (assign, heartbeat,
 *       leave every fourth) on 1000 numbers; prints {"ops":N,"seconds":S}
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dni.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_sink(const char *p, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += n;
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20, n = 0, got;
    char *buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, cap *= 2);
            if (b == NULL)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int bench_swap(int argc, char **argv)
{
    double seconds = atof(argv[2]);
    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    int i = 3;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char why[256];
        if (dni_ruleset_add_spec(&rules, argv[i], NULL, why, sizeof why) != 0) {
            fprintf(stderr, "native_ref: %s\n", why);
            return 2;
        }
    }
    size_t nfiles = (size_t)(argc - i - 1);
    char **data = calloc(nfiles + 1, sizeof *data);
    size_t *lens = calloc(nfiles + 1, sizeof *lens);
    for (size_t f = 0; f < nfiles; f++) {
        data[f] = slurp(argv[i + 1 + (int)f], &lens[f]);
        if (data[f] == NULL) {
            fprintf(stderr, "native_ref: cannot read %s\n", argv[i + 1 + (int)f]);
            return 1;
        }
    }
    size_t out = 0;
    dni_rewriter_t *rw;
    if (dni_rewriter_new(&rw, &rules, count_sink, &out, NULL) != 0)
        return 1;
    double bytes = 0, start = now_s(), elapsed = 0;
    for (int round = 0; elapsed < seconds || round < 2; round++) {
        for (size_t f = 0; f < nfiles; f++) {
            dni_rewriter_reset(rw);
            for (size_t at = 0; at < lens[f]; at += 65536) {
                size_t n = lens[f] - at < 65536 ? lens[f] - at : 65536;
                dni_rewriter_feed(rw, data[f] + at, n);
            }
            dni_rewriter_finish(rw);
            bytes += (double)lens[f];
        }
        elapsed = now_s() - start;
    }
    printf("{\"bytes\":%.0f,\"seconds\":%.6f,\"out\":%zu}\n", bytes, elapsed, out);
    dni_rewriter_free(rw);
    for (size_t f = 0; f < nfiles; f++)
        free(data[f]);
    free(data);
    free(lens);
    return 0;
}

#define VISITORS 20000

static int bench_pool(int argc, char **argv)
{
    (void)argc;
    long ops_wanted = atol(argv[2]);
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    dni_pool_t *p;
    if (dni_pool_create(&p, &s, NULL) != 0)
        return 1;
    for (int n = 0; n < 1000; n++) {
        char e164[DNI_E164_SIZE];
        snprintf(e164, sizeof e164, "+1888%07d", n);
        dni_pool_add_number(p, e164, strlen(e164));
    }
    static char keys[VISITORS][12];
    static size_t key_len[VISITORS];
    for (int v = 0; v < VISITORS; v++)
        key_len[v] = (size_t)snprintf(keys[v], sizeof keys[v], "v%d", v);
    long ops = 0;
    double start = now_s();
    for (long i = 0; ops < ops_wanted; i++) {
        double t = (double)i * 0.01;
        int v = (int)((i * 7919) % VISITORS);
        dni_assignment_t a;
        dni_pool_assign(p, keys[v], key_len[v], t, &a);
        ops++;
        if (a.lease != 0) {
            dni_pool_seen(p, a.lease, t);
            ops++;
            if (i % 4 == 0) {
                dni_pool_leave(p, a.lease, t);
                ops++;
            }
        }
    }
    double elapsed = now_s() - start;
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    printf("{\"ops\":%ld,\"seconds\":%.6f,\"leases\":%llu}\n", ops, elapsed,
           (unsigned long long)st.leases);
    dni_pool_destroy(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "swap") == 0)
        return bench_swap(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "pool") == 0)
        return bench_pool(argc, argv);
    fputs("usage: native_ref swap SECONDS RULE... -- FILE... | pool OPS\n", stderr);
    return 2;
}
