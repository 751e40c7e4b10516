/*
 * fuzz_pool_restore.c - dni_pool_restore() on untrusted bytes. The input
 * is tried as it is, then with its length and checksum fields made right
 * (so the mutations reach the structure checks instead of dying at the
 * checksum). Whatever restore accepts must be a working engine: its
 * snapshot restores again to the same bytes, and operations on it keep
 * the engine's invariants (checked by its own counters). Any crash,
 * sanitizer report or broken invariant aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "dni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The format's checksum: FNV-1a 64 of the bytes after the 24-byte header. */
static void fix_header(uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 24; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; i < 8; i++) {
        b[8 + i] = (uint8_t)((uint64_t)n >> (8 * i));
        b[16 + i] = (uint8_t)(h >> (8 * i));
    }
}

static void exercise(dni_pool_t *p)
{
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    if (st.live_leases > st.numbers || st.free_numbers > st.numbers)
        abort();
    /* the engine's clock: start after the snapshot's, whatever it is */
    double now = 1e9;
    size_t n = dni_pool_snapshot_size(p);
    uint8_t *b = malloc(n ? n : 1);
    if (b == NULL || dni_pool_snapshot(p, b, n) != (long)n)
        abort();
    dni_pool_t *q = NULL;
    if (dni_pool_restore(&q, b, n, NULL, NULL) != DNI_OK)
        abort(); /* what was accepted once must be accepted again */
    size_t n2 = dni_pool_snapshot_size(q);
    uint8_t *b2 = malloc(n2 ? n2 : 1);
    if (b2 == NULL || n2 != n || dni_pool_snapshot(q, b2, n2) != (long)n ||
        memcmp(b, b2, n) != 0)
        abort();
    free(b);
    free(b2);
    dni_pool_destroy(q);
    for (int i = 0; i < 40; i++) {
        char key[8];
        dni_assignment_t a;
        key[0] = 'k';
        key[1] = (char)('0' + i % 7);
        int rc = dni_pool_assign(p, key, 2, now + i, &a);
        if (rc == DNI_EORDER)
            return; /* a snapshot clock beyond ours: nothing to run */
        if (rc != DNI_OK)
            abort();
        if (a.kind != DNI_ASSIGN_OVERFLOW) {
            dni_lease_info_t li;
            if (dni_pool_lease_info(p, a.lease, &li) != DNI_OK ||
                li.slot != a.slot)
                abort();
        }
        dni_pool_seen(p, (uint32_t)i, now + i);
        dni_call_attribution_t at;
        if (i % 5 == 0 && dni_pool_call_start(p, (uint32_t)i % 8, now + i, &at) >= 0)
            dni_pool_call_end(p, (uint32_t)i % 8, now + i + 1);
        dni_pool_end_lease(p, (uint32_t)i * 3, now + i + 1);
        dni_pool_tick(p, now + i + 1);
    }
    dni_pool_stats(p, &st);
    if (st.live_leases > st.numbers || st.free_numbers > st.numbers)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dni_pool_t *p = NULL;
    if (dni_pool_restore(&p, data, size, NULL, NULL) == DNI_OK) {
        exercise(p);
        dni_pool_destroy(p);
    } else if (p != NULL) {
        abort();
    }
    if (size < 24 || size > (1u << 20))
        return 0;
    uint8_t *b = malloc(size);
    if (b == NULL)
        return 0;
    memcpy(b, data, size);
    fix_header(b, size);
    p = NULL;
    if (dni_pool_restore(&p, b, size, NULL, NULL) == DNI_OK) {
        exercise(p);
        dni_pool_destroy(p);
    } else if (p != NULL) {
        abort();
    }
    free(b);
    return 0;
}
