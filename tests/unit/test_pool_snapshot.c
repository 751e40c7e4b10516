/*
 * test_pool_snapshot.c - the engine saved as bytes and rebuilt: a round
 * trip gives the same bytes and the same answers, every truncation and
 * every corrupted byte is refused with DNI_ESYNTAX, structural lies with a
 * valid checksum are refused too, and an engine restored at random points
 * of a long random run answers exactly as the one that never stopped.
 */
#include <math.h>
#include <stdlib.h>

#include "dni.h"
#include "harness.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static uint8_t *snap(const dni_pool_t *p, size_t *n)
{
    *n = dni_pool_snapshot_size(p);
    uint8_t *b = malloc(*n);
    CHECK_INT(dni_pool_snapshot(p, b, *n), (long long)*n);
    return b;
}

/* The checksum the format puts at bytes 16..24: FNV-1a 64 of the rest. */
static void fix_checksum(uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 24; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; i < 8; i++)
        b[16 + i] = (uint8_t)(h >> (8 * i));
}

static void number(char *out, size_t cap, int i)
{
    snprintf(out, cap, "+1888555%04d", i);
}

/* A pool with a bit of everything: leases with short and long keys, a
 * pinned lease, a late call on a free number, a pending removal, sticky
 * memory, overflow, queued events. */
static dni_pool_t *busy_pool(dni_pool_mode_t mode)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.mode = mode;
    s.buffer_s = 10;
    s.min_hold_s = 20;
    s.unconfirmed_hold_s = 20; /* lease 2 is confirmed, the others not */
    dni_pool_t *p = NULL;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    CHECK_INT(dni_pool_set_fallback(p, "+18005550100", 12, "+18005550199", 12),
              DNI_OK);
    for (int i = 0; i < 20; i++) {
        char num[24];
        number(num, sizeof num, i);
        CHECK_INT(dni_pool_add_number(p, num, strlen(num)), i);
    }
    dni_pool_events_enable(p, 1);
    dni_assignment_t a;
    char key[80];
    for (int i = 0; i < 12; i++) {
        snprintf(key, sizeof key, i % 3 ? "visitor-%d" :
                 "a-visitor-id-longer-than-thirty-two-bytes-%d", i);
        CHECK_INT(dni_pool_assign(p, key, strlen(key), i, &a), DNI_OK);
    }
    CHECK_INT(dni_pool_seen(p, 2, 15), DNI_OK);
    dni_call_attribution_t at;
    CHECK(dni_pool_call_start(p, 0, 16, &at) >= 0); /* pins lease 1 */
    CHECK_INT(dni_pool_tick(p, 40), 11);           /* all but the pinned end */
    CHECK(dni_pool_call_start(p, 5, 41, &at) >= 0); /* late call, free number */
    char num[24];
    number(num, sizeof num, 1);
    CHECK_INT(dni_pool_assign(p, "visitor-1", 9, 42, &a), DNI_OK); /* sticky */
    CHECK_INT(a.kind, DNI_ASSIGN_STICKY);
    CHECK_INT(dni_pool_remove_number(p, num, strlen(num), 43), 1);
    number(num, sizeof num, 19);
    CHECK_INT(dni_pool_remove_number(p, num, strlen(num), 43), 0);
    return p;
}

/* Events compared field by field (the struct has padding). */
static int same_events(const dni_pool_event_t *a, const dni_pool_event_t *b,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].t != b[i].t || a[i].likelihood != b[i].likelihood ||
            a[i].lease != b[i].lease || a[i].slot != b[i].slot ||
            a[i].type != b[i].type)
            return 0;
    return 1;
}

static void same_answers(dni_pool_t *a, dni_pool_t *b, double now)
{
    dni_pool_stats_t sa, sb;
    dni_pool_stats(a, &sa);
    dni_pool_stats(b, &sb);
    CHECK_INT(sa.numbers, sb.numbers);
    CHECK_INT(sa.free_numbers, sb.free_numbers);
    CHECK_INT(sa.live_leases, sb.live_leases);
    CHECK_INT(sa.leases, sb.leases);
    CHECK_INT(sa.overflows, sb.overflows);
    CHECK_INT(sa.calls, sb.calls);
    for (uint32_t id = 1; id < 40; id++) {
        dni_lease_info_t ia, ib;
        int ra = dni_pool_lease_info(a, id, &ia);
        CHECK_INT(ra, dni_pool_lease_info(b, id, &ib));
        if (ra == DNI_OK)
            CHECK(ia.slot == ib.slot && ia.start == ib.start &&
                  ia.last_seen == ib.last_seen && ia.end == ib.end &&
                  ia.joins == ib.joins && ia.pinned == ib.pinned &&
                  ia.confirmed == ib.confirmed);
    }
    /* the next visitors get the same numbers and ids */
    for (int i = 0; i < 25; i++) {
        char key[32];
        snprintf(key, sizeof key, "next-%d", i % 7);
        dni_assignment_t x, y;
        CHECK_INT(dni_pool_assign(a, key, strlen(key), now + i, &x), DNI_OK);
        CHECK_INT(dni_pool_assign(b, key, strlen(key), now + i, &y), DNI_OK);
        CHECK(x.kind == y.kind && x.lease == y.lease && x.slot == y.slot &&
              strcmp(x.e164, y.e164) == 0);
    }
    dni_pool_event_t ea[64], eb[64];
    size_t na = dni_pool_events_take(a, ea, 64);
    CHECK_INT(na, dni_pool_events_take(b, eb, 64));
    CHECK(na > 0 && same_events(ea, eb, na));
}

static void test_round_trip(dni_pool_mode_t mode)
{
    dni_pool_t *p = busy_pool(mode);
    size_t n;
    uint8_t *b = snap(p, &n);
    CHECK(n > 24);
    CHECK_INT(dni_pool_snapshot(p, b, n - 1), DNI_ELIMIT);
    CHECK_INT(dni_pool_snapshot(p, b, n), (long long)n);
    dni_pool_t *q = NULL;
    CHECK_INT(dni_pool_restore(&q, b, n, NULL, NULL), DNI_OK);
    if (q == NULL) {
        free(b);
        dni_pool_destroy(p);
        return;
    }
    size_t n2;
    uint8_t *b2 = snap(q, &n2);
    CHECK_INT(n2, n);
    CHECK(n2 == n && memcmp(b, b2, n) == 0);
    CHECK(dni_pool_settings(q)->buffer_s == 10);
    CHECK(dni_pool_settings(q)->mode == mode);
    /* the ringing numbers keep ringing, the removal stays pending */
    CHECK_INT(dni_pool_call_end(q, 5, 44), DNI_OK);
    CHECK_INT(dni_pool_call_end(p, 5, 44), DNI_OK);
    CHECK_INT(dni_pool_call_end(q, 7, 44), DNI_ESTATE);
    same_answers(p, q, 45);
    /* the removed number has left for good in both */
    CHECK_INT(dni_pool_call_end(p, 0, 200), DNI_OK);
    CHECK_INT(dni_pool_call_end(q, 0, 200), DNI_OK);
    CHECK_INT(dni_pool_tick(p, 400), dni_pool_tick(q, 400));
    CHECK_INT(dni_pool_find_number(q, "+18885550001", 12), DNI_ENOTFOUND);
    free(b);
    free(b2);
    dni_pool_destroy(p);
    dni_pool_destroy(q);
}

static void test_settings_override(void)
{
    dni_pool_t *p = busy_pool(DNI_MODE_VISITOR);
    size_t n;
    uint8_t *b = snap(p, &n);
    dni_pool_settings_t s = *dni_pool_settings(p);
    s.buffer_s = 1000;
    s.unconfirmed_hold_s = 1000;
    dni_pool_t *q = NULL;
    CHECK_INT(dni_pool_restore(&q, b, n, &s, NULL), DNI_OK);
    if (q != NULL) {
        CHECK(dni_pool_settings(q)->buffer_s == 1000);
        dni_lease_info_t li;
        CHECK_INT(dni_pool_lease_info(q, 13, &li), DNI_OK);
        CHECK(li.end == 42 + 1000); /* deadlines follow the new settings */
        CHECK_INT(dni_pool_tick(q, 500), 0);
        dni_pool_destroy(q);
    }
    s.buffer_s = -1;
    CHECK_INT(dni_pool_restore(&q, b, n, &s, NULL), DNI_EINVAL);
    CHECK(q == NULL);
    free(b);
    dni_pool_destroy(p);
}

static void test_truncation_and_corruption(void)
{
    dni_pool_t *p = busy_pool(DNI_MODE_TAGS);
    size_t n;
    uint8_t *b = snap(p, &n);
    dni_pool_t *q = NULL;
    int refused = 0;
    for (size_t k = 0; k < n; k++)
        refused += dni_pool_restore(&q, b, k, NULL, NULL) == DNI_ESYNTAX;
    CHECK_INT(refused, (long long)n);
    CHECK(q == NULL);
    /* every byte, every bit: the checksum or the header catches it */
    refused = 0;
    int total = 0;
    for (size_t k = 0; k < n; k++) {
        for (int bit = 0; bit < 8; bit++) {
            b[k] ^= (uint8_t)(1u << bit);
            int rc = dni_pool_restore(&q, b, n, NULL, NULL);
            refused += rc == DNI_ESYNTAX || (k >= 4 && k < 8 && rc == DNI_ERANGE);
            total++;
            b[k] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK_INT(refused, total);
    CHECK(q == NULL);
    /* a longer buffer (trailing garbage) is refused */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    CHECK_INT(dni_pool_restore(&q, longer, n + 1, NULL, NULL), DNI_ESYNTAX);
    free(longer);
    /* another version */
    b[4] = 3;
    CHECK_INT(dni_pool_restore(&q, b, n, NULL, NULL), DNI_ERANGE);
    b[4] = 0;
    CHECK_INT(dni_pool_restore(&q, b, n, NULL, NULL), DNI_ERANGE);
    b[4] = 2;
    CHECK_INT(dni_pool_restore(&q, b, n, NULL, NULL), DNI_OK);
    dni_pool_destroy(q);
    q = NULL;
    CHECK_INT(dni_pool_restore(&q, NULL, 0, NULL, NULL), DNI_ESYNTAX);
    CHECK_INT(dni_pool_restore(NULL, b, n, NULL, NULL), DNI_EINVAL);
    free(b);
    dni_pool_destroy(p);
}

/* Little-endian helpers to edit a snapshot in place. */
static void set_u32(uint8_t *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *b, size_t at)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)b[at + (size_t)i] << (8 * i);
    return v;
}

/* Offsets fixed by the format: header 24, settings 56, clock 16,
 * fallback 16, counters 52, sizes 24; then the number records. */
#define SETTINGS_LEN 56
#define SIZES_AT (24 + SETTINGS_LEN + 16 + 16 + 52)
#define NUMS_AT (SIZES_AT + 24)

/* Lies that keep a valid checksum: the structure checks must catch each. */
static void test_structural_lies(void)
{
    dni_pool_t *p = busy_pool(DNI_MODE_VISITOR);
    size_t n;
    uint8_t *good = snap(p, &n);
    uint8_t *b = malloc(n);
    dni_pool_t *q = NULL;
    uint32_t nums = get_u32(good, SIZES_AT + 4);
    CHECK_INT(get_u32(good, SIZES_AT), 32); /* num_cap */
    CHECK_INT(nums, 19);

#define LIE(what, edit)                                                        \
    do {                                                                       \
        memcpy(b, good, n);                                                    \
        edit;                                                                  \
        fix_checksum(b, n);                                                    \
        int rc_ = dni_pool_restore(&q, b, n, NULL, NULL);                      \
        if (!harness_check(rc_ == DNI_ESYNTAX, what, __FILE__, __LINE__))      \
            fprintf(stderr, "     got %d\n", rc_);                             \
        if (q != NULL) {                                                       \
            dni_pool_destroy(q);                                               \
            q = NULL;                                                          \
        }                                                                      \
    } while (0)

    size_t rec1 = NUMS_AT + 36; /* the second number record */
    LIE("slot out of range", set_u32(b, NUMS_AT, 32));
    LIE("slot twice", set_u32(b, rec1, get_u32(b, NUMS_AT)));
    LIE("number twice", memcpy(b + rec1 + 4, b + NUMS_AT + 4, 8));
    LIE("digits not a number", memset(b + NUMS_AT + 4, 0, 8));
    /* regression: 16+ digits once overflowed the formatter on restore */
    LIE("digits longer than E.164", memset(b + NUMS_AT + 4, 0x7f, 8));
    LIE("unknown state", b[NUMS_AT + 34] = 9);
    LIE("unused state", b[NUMS_AT + 34] = 0);
    LIE("unknown flag", b[NUMS_AT + 35] |= 0x80);
    LIE("num_cap not a power of two", set_u32(b, SIZES_AT, 33));
    LIE("num_cap below numbers", set_u32(b, SIZES_AT, 16));
    LIE("more leases than numbers", set_u32(b, SIZES_AT + 8, 20));
    LIE("fewer leases", set_u32(b, SIZES_AT + 8, get_u32(b, SIZES_AT + 8) - 1));
    LIE("fresh count", set_u32(b, SIZES_AT + 16, get_u32(b, SIZES_AT + 16) + 1));
    LIE("released count",
        set_u32(b, SIZES_AT + 20, get_u32(b, SIZES_AT + 20) + 1));
    LIE("events count", set_u32(b, SIZES_AT + 12, 1000000));
    LIE("huge num_cap", set_u32(b, SIZES_AT, 1u << 30));
    LIE("NaN clock", memset(b + 24 + SETTINGS_LEN, 0xff, 8));
    LIE("negative unconfirmed hold", b[24 + 8 + 40 + 7] = 0xc0);
    LIE("bad mode", set_u32(b, 24, 7));
    LIE("negative timer", b[24 + 8 + 7] = 0xc0);
    /* the free-slot section follows the number records */
    size_t free_at = NUMS_AT + (size_t)nums * 36;
    LIE("free slot in use", set_u32(b, free_at, get_u32(b, NUMS_AT)));
    LIE("free slot repeated", set_u32(b, free_at + 4, get_u32(b, free_at)));
    /* the first lease record follows the free slots and queues */
    uint32_t fresh = get_u32(good, SIZES_AT + 16);
    uint32_t released = get_u32(good, SIZES_AT + 20);
    size_t lease_at = free_at + (size_t)(32 - nums + fresh + released) * 4;
    LIE("fresh queue names a leased number",
        set_u32(b, free_at + (size_t)(32 - nums) * 4, get_u32(b, lease_at + 4)));
    LIE("lease id 0", set_u32(b, lease_at, 0));
    LIE("lease on a free number",
        set_u32(b, lease_at + 4, get_u32(b, free_at + (size_t)(32 - nums) * 4)));
    LIE("pinned value 2", b[lease_at + 16] = 2);
    LIE("confirmed value 2", b[lease_at + 17] = 2);
    LIE("key longer than the data", set_u32(b, lease_at + 12, 1u << 30));
    LIE("NaN start", memset(b + lease_at + 18, 0xff, 8));
    /* a second lease with the first one's id */
    size_t key_len = get_u32(good, lease_at + 12);
    size_t lease2 = lease_at + 42 + key_len;
    LIE("lease id twice", set_u32(b, lease2, get_u32(b, lease_at)));
    free(b);
    free(good);
    dni_pool_destroy(p);
}

/* The same state in format version 1 (no unconfirmed_hold_s, no
 * confirmed byte per lease), as engines before it wrote it. */
static uint8_t *to_v1(const uint8_t *b, size_t n, size_t *out_n)
{
    uint32_t num_cap = get_u32(b, SIZES_AT), nums = get_u32(b, SIZES_AT + 4);
    uint32_t leases = get_u32(b, SIZES_AT + 8);
    uint32_t fresh = get_u32(b, SIZES_AT + 16);
    uint32_t released = get_u32(b, SIZES_AT + 20);
    size_t lease_at = NUMS_AT + (size_t)nums * 36 +
                      (size_t)(num_cap - nums + fresh + released) * 4;
    uint8_t *v1 = malloc(n);
    size_t w = 0;
    memcpy(v1, b, 24 + 48); /* header, settings up to attribution_window_s */
    w = 24 + 48;
    memcpy(v1 + w, b + 24 + 56, lease_at - (24 + 56));
    w += lease_at - (24 + 56);
    size_t r = lease_at;
    for (uint32_t i = 0; i < leases; i++) {
        uint32_t key_len = get_u32(b, r + 12);
        memcpy(v1 + w, b + r, 17); /* id, slot, joins, key_len, pinned */
        w += 17;
        memcpy(v1 + w, b + r + 18, 24 + key_len); /* times, key */
        w += 24 + key_len;
        r += 42 + key_len;
    }
    memcpy(v1 + w, b + r, n - r); /* events */
    w += n - r;
    set_u32(v1, 4, 1);
    for (int i = 0; i < 8; i++)
        v1[8 + i] = (uint8_t)((uint64_t)w >> (8 * i));
    fix_checksum(v1, w);
    *out_n = w;
    return v1;
}

static void test_version_1(void)
{
    dni_pool_t *p = busy_pool(DNI_MODE_VISITOR);
    size_t n, n1;
    uint8_t *b = snap(p, &n);
    uint8_t *v1 = to_v1(b, n, &n1);
    CHECK(n1 < n);
    dni_pool_t *q = NULL;
    CHECK_INT(dni_pool_restore(&q, v1, n1, NULL, NULL), DNI_OK);
    if (q != NULL) {
        /* the default hold, and every lease lives by the rules it had */
        CHECK(dni_pool_settings(q)->unconfirmed_hold_s == 60);
        CHECK(dni_pool_settings(q)->buffer_s == 10);
        int seen = 0;
        for (uint32_t id = 1; id < 40; id++) {
            dni_lease_info_t a, c;
            if (dni_pool_lease_info(p, id, &a) != DNI_OK)
                continue;
            CHECK_INT(dni_pool_lease_info(q, id, &c), DNI_OK);
            CHECK(c.confirmed == 1 && c.start == a.start && c.slot == a.slot);
            seen++;
        }
        CHECK(seen > 0);
        dni_pool_destroy(q);
    }
    free(v1);
    free(b);
    dni_pool_destroy(p);
}

/* Allocation failures at every point of a restore: DNI_ENOMEM, nothing
 * leaked (ASan checks), nothing half-built returned. */
static int fail_after;
static void *failing_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (fail_after-- <= 0)
        return NULL;
    return realloc(ptr, size);
}

static void test_allocation_failures(void)
{
    dni_pool_t *p = busy_pool(DNI_MODE_VISITOR);
    size_t n;
    uint8_t *b = snap(p, &n);
    dni_allocator_t al = {failing_realloc, NULL};
    int ok = 0, nomem = 0, other = 0;
    for (int k = 0; k < 64 && !ok; k++) {
        fail_after = k;
        dni_pool_t *q = NULL;
        int rc = dni_pool_restore(&q, b, n, NULL, &al);
        if (rc == DNI_OK) {
            ok = 1;
            dni_pool_destroy(q);
        } else if (rc == DNI_ENOMEM && q == NULL) {
            nomem++;
        } else {
            other++;
        }
    }
    CHECK(ok);
    CHECK(nomem > 5);
    CHECK_INT(other, 0);
    free(b);
    dni_pool_destroy(p);
}

/* Two engines fed the same random operations; one of them is swapped for
 * its restored snapshot every few steps. Every answer must match. */
static void test_random_equivalence(dni_pool_mode_t mode, int steps)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.mode = mode;
    s.buffer_s = 15;
    s.min_hold_s = 25;
    s.max_lease_s = 150;
    s.sticky_s = 400;
    s.attribution_window_s = 90;
    dni_pool_t *a = NULL, *b = NULL;
    CHECK_INT(dni_pool_create(&a, &s, NULL), DNI_OK);
    CHECK_INT(dni_pool_create(&b, &s, NULL), DNI_OK);
    dni_pool_events_enable(a, 1);
    dni_pool_events_enable(b, 1);
    double now = 0;
    int diffs = 0, restores = 0;
    uint32_t ids[16] = {0};
    for (int step = 0; step < steps && diffs < 5; step++) {
        if (rnd(9) == 0) {
            size_t n;
            uint8_t *buf = snap(b, &n);
            dni_pool_t *c = NULL;
            if (dni_pool_restore(&c, buf, n, NULL, NULL) == DNI_OK) {
                dni_pool_destroy(b);
                b = c;
                restores++;
            } else {
                diffs++;
            }
            free(buf);
        }
        now += rnd(20) * 0.5;
        uint32_t op = rnd(16), arg = rnd(64);
        char key[64], num[24];
        snprintf(key, sizeof key, arg & 1 ? "k%u" :
                 "k%u-with-a-key-long-enough-to-live-outside-the-slot", arg % 16);
        number(num, sizeof num, (int)(arg % 12));
        int ra, rb;
        if (op < 5) {
            dni_assignment_t x, y;
            ra = dni_pool_assign(a, key, strlen(key), now, &x);
            rb = dni_pool_assign(b, key, strlen(key), now, &y);
            if (ra == DNI_OK && (x.kind != y.kind || x.lease != y.lease ||
                                 x.slot != y.slot || strcmp(x.e164, y.e164)))
                diffs++;
            if (ra == DNI_OK && x.lease)
                ids[arg % 16] = x.lease;
        } else if (op < 8) {
            ra = dni_pool_seen(a, ids[arg % 16], now);
            rb = dni_pool_seen(b, ids[arg % 16], now);
        } else if (op == 8) {
            ra = dni_pool_leave(a, ids[arg % 16], now);
            rb = dni_pool_leave(b, ids[arg % 16], now);
        } else if (op == 9) {
            ra = dni_pool_add_number(a, num, strlen(num));
            rb = dni_pool_add_number(b, num, strlen(num));
        } else if (op == 10) {
            ra = dni_pool_remove_number(a, num, strlen(num), now);
            rb = dni_pool_remove_number(b, num, strlen(num), now);
        } else if (op == 11) {
            dni_call_attribution_t x, y;
            ra = dni_pool_call_start(a, arg % 16, now, &x);
            rb = dni_pool_call_start(b, arg % 16, now, &y);
            if (ra >= 0 && (x.lease != y.lease || x.likelihood != y.likelihood))
                diffs++;
        } else if (op == 12) {
            ra = dni_pool_call_end(a, arg % 16, now);
            rb = dni_pool_call_end(b, arg % 16, now);
        } else if (op == 13) {
            ra = dni_pool_end_lease(a, ids[arg % 16], now);
            rb = dni_pool_end_lease(b, ids[arg % 16], now);
        } else if (op == 14) {
            uint32_t x = 0, y = 0;
            ra = dni_pool_lookup(a, key, strlen(key), now, &x);
            rb = dni_pool_lookup(b, key, strlen(key), now, &y);
            if (x != y)
                diffs++;
        } else {
            ra = dni_pool_tick(a, now);
            rb = dni_pool_tick(b, now);
        }
        if (ra != rb) {
            diffs++;
            fprintf(stderr, "step %d op %u: %d vs %d\n", step, op, ra, rb);
        }
        dni_pool_event_t ea[64], eb[64];
        size_t na = dni_pool_events_take(a, ea, 64);
        size_t nb = dni_pool_events_take(b, eb, 64);
        if (na != nb || !same_events(ea, eb, na)) {
            diffs++;
            fprintf(stderr, "step %d op %u: events differ\n", step, op);
        }
    }
    size_t n1, n2;
    uint8_t *s1 = snap(a, &n1), *s2 = snap(b, &n2);
    CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
    CHECK_INT(diffs, 0);
    CHECK(restores > steps / 20);
    dni_pool_stats_t st;
    dni_pool_stats(a, &st);
    CHECK(st.leases > (uint64_t)steps / 20);
    free(s1);
    free(s2);
    dni_pool_destroy(a);
    dni_pool_destroy(b);
}

static void test_empty_and_fresh(void)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    dni_pool_t *p = NULL;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    size_t n;
    uint8_t *b = snap(p, &n);
    dni_pool_t *q = NULL;
    CHECK_INT(dni_pool_restore(&q, b, n, NULL, NULL), DNI_OK);
    if (q != NULL) {
        /* a fresh engine restored still refuses time going backwards only
         * after its first call, like the original */
        CHECK_INT(dni_pool_tick(q, 0), 0);
        CHECK_INT(dni_pool_add_number(q, "+18885550000", 12), 0);
        dni_assignment_t a;
        CHECK_INT(dni_pool_assign(q, "v", 1, 1, &a), DNI_OK);
        CHECK_INT(a.lease, 1);
        dni_pool_destroy(q);
    }
    free(b);
    dni_pool_destroy(p);
}

int main(void)
{
    test_round_trip(DNI_MODE_VISITOR);
    test_round_trip(DNI_MODE_TAGS);
    test_settings_override();
    test_truncation_and_corruption();
    test_structural_lies();
    test_version_1();
    test_allocation_failures();
    test_empty_and_fresh();
    test_random_equivalence(DNI_MODE_VISITOR, 20000);
    test_random_equivalence(DNI_MODE_TAGS, 20000);
    return harness_report();
}
