/*
 * test_pool.c - the lease rules one by one, attribution, and a property
 * test of random operations against a small reference model that scans
 * everything (obviously right, far too slow for the real engine).
 */
#include <math.h>
#include <stdlib.h>

#include "dni.h"
#include "harness.h"

/* A pool whose new leases count as confirmed from the start (an
 * unconfirmed hold as long as the longest lease changes nothing), so the
 * tests of the lease rules below see those rules alone;
 * test_unconfirmed() covers the short hold of new leases. */
static dni_pool_t *make_pool(dni_pool_mode_t mode, int numbers)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.mode = mode;
    s.unconfirmed_hold_s = s.max_lease_s;
    dni_pool_t *p = NULL;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    for (int i = 0; i < numbers; i++) {
        char num[24];
        snprintf(num, sizeof num, "+1888555%04d", i);
        CHECK_INT(dni_pool_add_number(p, num, strlen(num)), i);
    }
    CHECK_INT(dni_pool_set_fallback(p, "+18005550100", 12, NULL, 0), DNI_OK);
    return p;
}

static dni_assignment_t assign(dni_pool_t *p, const char *key, double now)
{
    dni_assignment_t a;
    memset(&a, 0, sizeof a);
    CHECK_INT(dni_pool_assign(p, key, strlen(key), now, &a), DNI_OK);
    return a;
}

static void test_contract(void)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    CHECK(s.buffer_s == 60 && s.max_lease_s == 1800 && s.min_hold_s == 300);
    CHECK(s.sticky_s == 2592000 && s.attribution_window_s == 86400);
    CHECK(s.unconfirmed_hold_s == 60);
    /* unconfirmed: the short hold, unless the rule ends it sooner */
    CHECK(dni_lease_end(&s, 0, 0, 0, 0) == 60);
    CHECK(dni_lease_end(&s, 0, 0, 0, 1) == 300);
    CHECK(dni_lease_end(&s, 10, 10, 10, 0) == 70);
    s.min_hold_s = 0;
    s.buffer_s = 30;
    CHECK(dni_lease_end(&s, 0, 0, 0, 0) == 30);
    s.min_hold_s = 300;
    s.buffer_s = 60;
    /* min hold wins over a short buffer, the cap wins over both */
    CHECK(dni_lease_end_time(&s, 0, 0, 0) == 300);
    CHECK(dni_lease_end_time(&s, 0, 1000, 0) == 1060);
    CHECK(dni_lease_end_time(&s, 0, 1790, 0) == 1800);
    CHECK(dni_lease_end_time(&s, 0, 1790, 1000) == 1850);

    dni_lease_span_t spans[] = {{0, 100}, {200, 300}, {250, INFINITY}};
    dni_candidate_t c[4];
    CHECK_INT(dni_attribute(&s, spans, 3, 50, c, 4), 1);
    CHECK_INT(c[0].index, 0);
    CHECK(c[0].likelihood == 1.0);
    /* two live leases share; the later start ranks first */
    CHECK_INT(dni_attribute(&s, spans, 3, 260, c, 4), 2);
    CHECK_INT(c[0].index, 2);
    CHECK(c[0].likelihood == 0.5 && c[1].likelihood == 0.5);
    CHECK_INT(dni_attribute(&s, spans, 3, 260, c, 1), 1);
    CHECK_INT(c[0].index, 2);
    /* after the end: the last ended lease, weaker with time */
    CHECK_INT(dni_attribute(&s, spans, 2, 300 + 43200, c, 4), 1);
    CHECK_INT(c[0].index, 1);
    CHECK(fabs(c[0].likelihood - 0.75) < 1e-12);
    CHECK_INT(dni_attribute(&s, spans, 2, 300 + 86400, c, 4), 1);
    CHECK_INT(dni_attribute(&s, spans, 2, 300 + 86400.5, c, 4), 0);
    /* exactly at the end it is still live */
    CHECK_INT(dni_attribute(&s, spans, 2, 100, c, 4), 1);
    CHECK(c[0].likelihood == 1.0);
    CHECK_INT(dni_attribute(&s, spans, 0, 5, c, 4), 0);
    dni_lease_span_t bad = {10, 5};
    CHECK_INT(dni_attribute(&s, &bad, 1, 5, c, 4), DNI_EINVAL);
    CHECK_INT(dni_attribute(&s, spans, 3, NAN, c, 4), DNI_EINVAL);
}

static void test_numbers(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 2);
    CHECK_INT(dni_pool_add_number(p, "+18885550000", 12), DNI_EEXISTS);
    CHECK_INT(dni_pool_add_number(p, "8885550000", 10), DNI_ENOTPHONE);
    CHECK_INT(dni_pool_add_number(p, "+1 888 555", 10), DNI_ENOTPHONE);
    CHECK_INT(dni_pool_find_number(p, "+18885550001", 12), 1);
    CHECK_INT(dni_pool_find_number(p, "+18885559999", 12), DNI_ENOTFOUND);
    char e[DNI_E164_SIZE];
    CHECK_INT(dni_pool_number_e164(p, 1, e), DNI_OK);
    CHECK_STR(e, "+18885550001");
    CHECK_INT(dni_pool_set_fallback(p, "not", 3, NULL, 0), DNI_ENOTPHONE);
    dni_pool_destroy(p);

    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.number_limit = 1;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    CHECK_INT(dni_pool_add_number(p, "+18885550000", 12), 0);
    CHECK_INT(dni_pool_add_number(p, "+18885550001", 12), DNI_ELIMIT);
    dni_pool_destroy(p);
    s.buffer_s = -1;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_EINVAL);
    CHECK(p == NULL);
}

static void test_expiry_boundary(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 1);
    dni_assignment_t a = assign(p, "v1", 0);
    CHECK_INT(a.kind, DNI_ASSIGN_NEW);
    CHECK_STR(a.e164, "+18885550000");
    CHECK(a.lease > 0);
    /* live while now <= end (min hold 300) */
    CHECK_INT(dni_pool_tick(p, 300), 0);
    CHECK_INT(dni_pool_seen(p, a.lease, 300), DNI_OK); /* extends to 360 */
    CHECK_INT(dni_pool_tick(p, 360), 0);
    CHECK_INT(dni_pool_tick(p, 360.001), 1);
    CHECK_INT(dni_pool_seen(p, a.lease, 361), DNI_ENOTFOUND);
    CHECK_INT(dni_pool_tick(p, 100), DNI_EORDER);
    dni_pool_destroy(p);
}

/* A new lease holds unconfirmed_hold_s until a heartbeat, a leave or a
 * second assign of the same key confirms it; then the rules apply from
 * its start. */
static void test_unconfirmed(void)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s); /* unconfirmed 60, min hold 300, buffer 60 */
    dni_pool_t *p = NULL;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    for (int i = 0; i < 3; i++) {
        char num[24];
        snprintf(num, sizeof num, "+1888555%04d", i);
        CHECK_INT(dni_pool_add_number(p, num, strlen(num)), i);
    }
    dni_assignment_t a = assign(p, "never-confirmed", 0);
    dni_assignment_t b = assign(p, "heartbeat", 0);
    dni_assignment_t c = assign(p, "second-view", 0);
    dni_lease_info_t li;
    CHECK_INT(dni_pool_lease_info(p, a.lease, &li), DNI_OK);
    CHECK(li.end == 60 && li.confirmed == 0);
    CHECK_INT(dni_pool_seen(p, b.lease, 30), DNI_OK);
    CHECK_INT(dni_pool_lease_info(p, b.lease, &li), DNI_OK);
    CHECK(li.end == 300 && li.confirmed == 1); /* min hold from its start */
    dni_assignment_t c2 = assign(p, "second-view", 59);
    CHECK_INT(c2.kind, DNI_ASSIGN_CURRENT);
    CHECK_INT(c2.lease, c.lease);
    CHECK_INT(dni_pool_lease_info(p, c.lease, &li), DNI_OK);
    CHECK(li.end == 300 && li.confirmed == 1);
    /* the unconfirmed one ends at 60 and its number goes back */
    CHECK_INT(dni_pool_tick(p, 60), 0);
    CHECK_INT(dni_pool_tick(p, 60.5), 1);
    CHECK_INT(dni_pool_seen(p, a.lease, 61), DNI_ENOTFOUND);
    dni_assignment_t d = assign(p, "next", 61);
    CHECK_INT(d.kind, DNI_ASSIGN_NEW);
    CHECK_INT(d.slot, a.slot);
    /* a leave confirms too: the buffer runs from it, the hold from start */
    CHECK_INT(dni_pool_leave(p, d.lease, 62), DNI_OK);
    CHECK_INT(dni_pool_lease_info(p, d.lease, &li), DNI_OK);
    CHECK(li.end == 361 && li.confirmed == 1);
    /* the confirmed state survives a snapshot; version 1 is still read */
    size_t n = dni_pool_snapshot_size(p);
    uint8_t *buf = malloc(n);
    CHECK(buf != NULL);
    CHECK_INT(dni_pool_snapshot(p, buf, n), (long long)n);
    dni_pool_t *q = NULL;
    CHECK_INT(dni_pool_restore(&q, buf, n, NULL, NULL), DNI_OK);
    CHECK(q != NULL && dni_pool_settings(q)->unconfirmed_hold_s == 60);
    CHECK_INT(dni_pool_lease_info(q, b.lease, &li), DNI_OK);
    CHECK(li.confirmed == 1 && li.end == 300);
    dni_assignment_t e = assign(q, "late", 400);
    CHECK_INT(dni_pool_lease_info(q, e.lease, &li), DNI_OK);
    CHECK(li.confirmed == 0 && li.end == 460);
    free(buf);
    dni_pool_destroy(q);
    dni_pool_destroy(p);

    /* tags mode: a join (another page view of the tag set) confirms */
    s.mode = DNI_MODE_TAGS;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    CHECK_INT(dni_pool_add_number(p, "+18885550000", 12), 0);
    a = assign(p, "tags-1", 0);
    CHECK_INT(dni_pool_lease_info(p, a.lease, &li), DNI_OK);
    CHECK(li.end == 60);
    b = assign(p, "tags-1", 10);
    CHECK_INT(b.kind, DNI_ASSIGN_CURRENT);
    CHECK_INT(dni_pool_lease_info(p, a.lease, &li), DNI_OK);
    CHECK(li.end == 300);
    dni_pool_destroy(p);
}

static void test_max_lease(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 1);
    dni_assignment_t a = assign(p, "v1", 0);
    for (double t = 15; t <= 1800; t += 15)
        CHECK_INT(dni_pool_seen(p, a.lease, t), DNI_OK);
    CHECK_INT(dni_pool_tick(p, 1800.5), 1);
    dni_pool_destroy(p);
}

static void test_leave_and_sticky(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 3);
    dni_assignment_t a = assign(p, "v1", 0);
    for (double t = 50; t <= 400; t += 50)
        CHECK_INT(dni_pool_seen(p, a.lease, t), DNI_OK);
    CHECK_INT(dni_pool_leave(p, a.lease, 410), DNI_OK);
    CHECK_INT(dni_pool_tick(p, 470), 0);  /* buffer from the leave */
    CHECK_INT(dni_pool_tick(p, 471), 1);
    dni_assignment_t b = assign(p, "v2", 500);
    CHECK(b.slot != a.slot); /* fresh numbers come before released ones */
    /* return within sticky_s: the same number back */
    dni_assignment_t c = assign(p, "v1", 1000);
    CHECK_INT(c.kind, DNI_ASSIGN_STICKY);
    CHECK_INT(c.slot, a.slot);
    CHECK(c.lease != a.lease);
    /* visiting again while live: the same lease */
    dni_assignment_t d = assign(p, "v1", 1010);
    CHECK_INT(d.kind, DNI_ASSIGN_CURRENT);
    CHECK_INT(d.lease, c.lease);
    dni_pool_destroy(p);

    /* past sticky_s the number is just the least recently released one */
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.sticky_s = 1000;
    CHECK_INT(dni_pool_create(&p, &s, NULL), DNI_OK);
    dni_pool_add_number(p, "+18885550000", 12);
    dni_pool_add_number(p, "+18885550001", 12);
    a = assign(p, "v1", 0);  /* slot 0, ends 300 */
    b = assign(p, "v2", 10); /* slot 1, ends 310 */
    dni_pool_tick(p, 400);
    c = assign(p, "v2", 2000); /* too late for sticky: slot 0 is LRU */
    CHECK_INT(c.kind, DNI_ASSIGN_NEW);
    CHECK_INT(c.slot, a.slot);
    dni_pool_destroy(p);
}

static void test_calls(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 1);
    dni_assignment_t a = assign(p, "v1", 0);
    dni_call_attribution_t at;
    /* a call during the lease */
    CHECK_INT(dni_pool_call_start(p, 0, 100, &at), 1);
    CHECK_INT(at.lease, a.lease);
    CHECK(at.likelihood == 1.0 && at.live == 1);
    /* the call holds the lease past its end; nobody else gets the number */
    dni_assignment_t b = assign(p, "v2", 1000);
    CHECK_INT(b.kind, DNI_ASSIGN_OVERFLOW);
    CHECK_STR(b.e164, "+18005550100");
    dni_lease_info_t li;
    CHECK_INT(dni_pool_lease_info(p, a.lease, &li), DNI_OK);
    CHECK(li.pinned == 1);
    CHECK_INT(dni_pool_call_end(p, 0, 1200), DNI_OK);
    CHECK_INT(dni_pool_lease_info(p, a.lease, &li), DNI_ENOTFOUND);
    CHECK_INT(dni_pool_call_end(p, 0, 1200), DNI_ESTATE);
    /* a call after the lease: attributed while nobody else had it */
    CHECK_INT(dni_pool_call_start(p, 0, 1200 + 43200, &at), 1);
    CHECK_INT(at.lease, a.lease);
    CHECK(at.live == 0 && fabs(at.likelihood - 0.75) < 1e-9);
    /* and the ringing free number is not handed out */
    b = assign(p, "v2", 1200 + 43201);
    CHECK_INT(b.kind, DNI_ASSIGN_OVERFLOW);
    CHECK_INT(dni_pool_call_end(p, 0, 1200 + 43300), DNI_OK);
    b = assign(p, "v2", 1200 + 43301);
    CHECK_INT(b.kind, DNI_ASSIGN_NEW);
    /* overflow and recovery counted */
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    CHECK_INT(st.overflows, 2);
    CHECK_INT(st.calls, 2);
    CHECK_INT(st.leases, 2);
    /* too late: outside the window */
    dni_pool_tick(p, 200000);
    CHECK_INT(dni_pool_call_start(p, 0, 200000 + 86401, &at), 0);
    CHECK_INT(at.lease, 0);
    CHECK_INT(dni_pool_call_start(p, 7, 300000, &at), DNI_ENOTFOUND);
    dni_pool_destroy(p);
}

static void test_overflow_number(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 0);
    CHECK_INT(dni_pool_set_fallback(p, "+18005550100", 12, "+18005550199", 12),
              DNI_OK);
    dni_assignment_t a = assign(p, "v1", 0);
    CHECK_INT(a.kind, DNI_ASSIGN_OVERFLOW);
    CHECK_STR(a.e164, "+18005550199");
    CHECK_INT(a.lease, 0);
    dni_pool_destroy(p);
}

static void test_revoke(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 2);
    dni_assignment_t a = assign(p, "v1", 0);
    CHECK_INT(dni_pool_remove_number(p, a.e164, strlen(a.e164), 10), 1);
    CHECK_INT(dni_pool_remove_number(p, "+18885550001", 12, 10), 0);
    CHECK_INT(dni_pool_find_number(p, "+18885550001", 12), DNI_ENOTFOUND);
    /* the busy number still works for its lease, then leaves the pool */
    CHECK_INT(dni_pool_seen(p, a.lease, 20), DNI_OK);
    dni_call_attribution_t at;
    CHECK_INT(dni_pool_call_start(p, (uint32_t)a.slot, 30, &at), 1);
    dni_pool_tick(p, 1000);
    CHECK_INT(dni_pool_find_number(p, a.e164, strlen(a.e164)), a.slot);
    CHECK_INT(dni_pool_call_end(p, (uint32_t)a.slot, 1001), DNI_OK);
    CHECK_INT(dni_pool_find_number(p, a.e164, strlen(a.e164)), DNI_ENOTFOUND);
    dni_assignment_t b = assign(p, "v2", 1002);
    CHECK_INT(b.kind, DNI_ASSIGN_OVERFLOW);
    /* granted again: usable */
    CHECK(dni_pool_add_number(p, "+18885550001", 12) >= 0);
    b = assign(p, "v2", 1003);
    CHECK_INT(b.kind, DNI_ASSIGN_NEW);
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    CHECK_INT(st.numbers, 1);
    dni_pool_destroy(p);
}

static void test_tags_mode(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_TAGS, 2);
    char k1[64], k2[64];
    size_t n1 = 0, n2 = 0;
    CHECK_INT(dni_tag_key_append(k1, sizeof k1, &n1, "google", 6), DNI_OK);
    CHECK_INT(dni_tag_key_append(k1, sizeof k1, &n1, NULL, 0), DNI_OK);
    CHECK_INT(dni_tag_key_append(k2, sizeof k2, &n2, "google", 6), DNI_OK);
    CHECK_INT(dni_tag_key_append(k2, sizeof k2, &n2, "", 0), DNI_OK);
    CHECK(n1 != n2 || memcmp(k1, k2, n1) != 0); /* missing differs from "" */
    CHECK_INT(dni_tag_key_append(k1, 4, &n1, "x", 1), DNI_ELIMIT);
    dni_assignment_t a, b;
    CHECK_INT(dni_pool_assign(p, k1, n1, 0, &a), DNI_OK);
    for (double t = 30; t < 1000; t += 30)
        CHECK_INT(dni_pool_seen(p, a.lease, t), DNI_OK);
    CHECK_INT(dni_pool_assign(p, k1, n1, 1000, &b), DNI_OK); /* a join */
    CHECK_INT(b.kind, DNI_ASSIGN_CURRENT);
    CHECK_INT(b.lease, a.lease);
    dni_lease_info_t li;
    CHECK_INT(dni_pool_lease_info(p, a.lease, &li), DNI_OK);
    CHECK(li.last_join == 1000 && li.end == 1060);
    /* a join restarts max_lease_s: heartbeats carry it past 1800 */
    for (double t = 1000; t <= 2790; t += 30)
        CHECK_INT(dni_pool_seen(p, a.lease, t), DNI_OK);
    CHECK_INT(dni_pool_tick(p, 2800), 0);
    CHECK_INT(dni_pool_tick(p, 2800.5), 1);
    CHECK_INT(dni_pool_assign(p, k2, n2, 2801, &b), DNI_OK);
    CHECK(b.lease != a.lease);
    dni_pool_destroy(p);
}

static void test_long_keys_and_events(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 3);
    dni_pool_events_enable(p, 1);
    char key[200];
    memset(key, 'k', sizeof key);
    dni_assignment_t a, b, c;
    CHECK_INT(dni_pool_assign(p, key, sizeof key, 0, &a), DNI_OK);
    key[199] = 'j'; /* same hash prefix, different key */
    CHECK_INT(dni_pool_assign(p, key, sizeof key, 1, &b), DNI_OK);
    CHECK(a.lease != b.lease);
    key[199] = 'k';
    CHECK_INT(dni_pool_assign(p, key, sizeof key, 2, &c), DNI_OK);
    CHECK_INT(c.lease, a.lease);
    dni_pool_seen(p, a.lease, 3);
    dni_pool_tick(p, 1000);
    dni_pool_event_t ev[16];
    size_t n = dni_pool_events_take(p, ev, 16);
    CHECK_INT(n, 6);
    CHECK_INT(ev[0].type, DNI_EVENT_ASSIGN);
    CHECK_INT(ev[1].type, DNI_EVENT_ASSIGN);
    CHECK_INT(ev[2].type, DNI_EVENT_SEEN);
    CHECK_INT(ev[4].type, DNI_EVENT_RELEASE);
    CHECK_INT(ev[4].lease, a.lease);
    CHECK(ev[4].t == 300);
    CHECK_INT(dni_pool_events_take(p, ev, 16), 0);
    dni_pool_destroy(p);
}

static void test_lookup_and_end_lease(void)
{
    dni_pool_t *p = make_pool(DNI_MODE_VISITOR, 2);
    dni_pool_events_enable(p, 1);
    uint32_t id = 99;
    CHECK_INT(dni_pool_lookup(p, "v1", 2, 0, &id), DNI_ENOTFOUND);
    CHECK_INT(id, 0);
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    CHECK_INT(st.leases, 0); /* a lookup never makes a lease */
    dni_assignment_t a = assign(p, "v1", 1);
    CHECK_INT(dni_pool_lookup(p, "v1", 2, 2, &id), DNI_OK);
    CHECK_INT(id, a.lease);
    CHECK_INT(dni_pool_lookup(p, "v1", 2, 1, &id), DNI_EORDER);
    /* a lookup ends what is over first: 301 s later the lease is gone */
    CHECK_INT(dni_pool_lookup(p, "v1", 2, 302, &id), DNI_ENOTFOUND);

    /* ending a lease early frees its number at once */
    dni_assignment_t b = assign(p, "v2", 400);
    CHECK_INT(dni_pool_end_lease(p, b.lease, 410), DNI_OK);
    CHECK_INT(dni_pool_end_lease(p, b.lease, 410), DNI_ENOTFOUND);
    CHECK_INT(dni_pool_seen(p, b.lease, 411), DNI_ENOTFOUND);
    dni_pool_stats(p, &st);
    CHECK_INT(st.live_leases, 0);
    CHECK_INT(st.free_numbers, 2);
    dni_pool_event_t ev[16];
    size_t n = dni_pool_events_take(p, ev, 16);
    CHECK(n >= 1 && ev[n - 1].type == DNI_EVENT_RELEASE &&
          ev[n - 1].lease == b.lease && ev[n - 1].t == 410);
    /* the heap no longer holds it: time passing releases nothing twice */
    CHECK_INT(dni_pool_tick(p, 5000), 0);

    /* ended during a call: the number waits for the call, then is free */
    dni_assignment_t c = assign(p, "v3", 5000);
    dni_call_attribution_t at;
    CHECK_INT(dni_pool_call_start(p, (uint32_t)c.slot, 5001, &at), 1);
    CHECK_INT(dni_pool_end_lease(p, c.lease, 5002), DNI_OK);
    dni_pool_stats(p, &st);
    CHECK_INT(st.free_numbers, 1);
    dni_assignment_t d = assign(p, "v4", 5003);
    CHECK(d.slot != c.slot);
    CHECK_INT(dni_pool_call_end(p, (uint32_t)c.slot, 5004), DNI_OK);
    dni_pool_stats(p, &st);
    CHECK_INT(st.free_numbers, 1);

    /* ended while its number's removal is pending: the number leaves */
    char num[DNI_E164_SIZE];
    CHECK_INT(dni_pool_number_e164(p, (uint32_t)d.slot, num), DNI_OK);
    CHECK_INT(dni_pool_remove_number(p, num, strlen(num), 5005), 1);
    CHECK_INT(dni_pool_end_lease(p, d.lease, 5006), DNI_OK);
    CHECK_INT(dni_pool_find_number(p, num, strlen(num)), DNI_ENOTFOUND);
    dni_pool_destroy(p);
}

/* ---- property test ----------------------------------------------------- */

#define M_NUMS 6
#define M_KEYS 10

/* The reference model: plain arrays scanned in full on every step. */
typedef struct model_num {
    int holder;        /* key holding it, -1 when not leased */
    int confirmed;     /* a heartbeat or second assign since it started */
    uint32_t lease;    /* lease id while held, else the last one (0 none) */
    double start, seen, join, released;
    long freed_seq;    /* when it last entered the free queue */
    int calls;
} model_num_t;

typedef struct model {
    dni_pool_settings_t s;
    model_num_t n[M_NUMS];
    uint32_t next_lease;
    long seq;
} model_t;

static uint64_t rng_state = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static double model_end(const model_t *m, int i)
{
    double end = dni_lease_end_time(&m->s, m->n[i].start, m->n[i].seen,
                                    m->n[i].join);
    double hold = m->n[i].start + m->s.unconfirmed_hold_s;
    return !m->n[i].confirmed && hold < end ? hold : end;
}

/* Ends the leases whose time ran out before now, in order of end time
 * then lease id, as a careful person would do it by hand. */
static void model_expire(model_t *m, double now)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < M_NUMS; i++) {
            if (m->n[i].holder < 0 || m->n[i].calls > 0 ||
                !(model_end(m, i) < now))
                continue;
            if (best < 0 || model_end(m, i) < model_end(m, best) ||
                (model_end(m, i) == model_end(m, best) &&
                 m->n[i].lease < m->n[best].lease))
                best = i;
        }
        if (best < 0)
            return;
        m->n[best].released = model_end(m, best);
        m->n[best].holder = -1;
        m->n[best].freed_seq = m->seq++;
    }
}

static int model_key_slot(const model_t *m, int k)
{
    for (int i = 0; i < M_NUMS; i++)
        if (m->n[i].holder == k)
            return i;
    return -1;
}

/* Replaces *p by an engine restored from its snapshot. */
static void reload(dni_pool_t **p)
{
    size_t n = dni_pool_snapshot_size(*p);
    uint8_t *buf = malloc(n);
    CHECK(buf != NULL);
    CHECK_INT(dni_pool_snapshot(*p, buf, n), (long long)n);
    dni_pool_t *q = NULL;
    CHECK_INT(dni_pool_restore(&q, buf, n, NULL, NULL), DNI_OK);
    free(buf);
    if (q != NULL) {
        dni_pool_destroy(*p);
        *p = q;
    }
}

/* restore_every > 0: every that many steps the engine is swapped for one
 * restored from its snapshot, and must go on agreeing with the model. */
static void property_run(dni_pool_mode_t mode, int steps, int restore_every)
{
    model_t m;
    memset(&m, 0, sizeof m);
    dni_pool_settings_init(&m.s);
    m.s.mode = mode;
    m.s.buffer_s = 20;
    m.s.min_hold_s = 30;
    m.s.max_lease_s = 200;
    m.s.sticky_s = 0; /* no stickiness: every new lease takes the LRU one */
    m.s.attribution_window_s = 100;
    m.s.unconfirmed_hold_s = 25; /* below min_hold_s: it matters */
    m.next_lease = 1;
    dni_pool_t *p;
    CHECK_INT(dni_pool_create(&p, &m.s, NULL), DNI_OK);
    for (int i = 0; i < M_NUMS; i++) {
        char num[24];
        snprintf(num, sizeof num, "+1888555%04d", i);
        dni_pool_add_number(p, num, strlen(num));
        m.n[i].holder = -1;
        m.n[i].freed_seq = i - M_NUMS; /* never used: added order first */
    }
    double now = 0;
    int mismatches = 0, shared = 0;
    uint32_t last_lease[M_KEYS] = {0};
    for (int step = 0; step < steps && mismatches < 5; step++) {
        if (restore_every > 0 && step % restore_every == restore_every - 1)
            reload(&p);
        now += rnd(40) * 0.5;
        int k = (int)rnd(M_KEYS);
        char key[8];
        snprintf(key, sizeof key, "k%d", k);
        uint32_t op = rnd(10);
        model_expire(&m, now);
        int held = model_key_slot(&m, k);
        if (op < 5) {
            dni_assignment_t a;
            dni_pool_assign(p, key, strlen(key), now, &a);
            int want = held;
            if (held >= 0) {
                m.n[held].seen = now;
                m.n[held].confirmed = 1;
                if (mode == DNI_MODE_TAGS)
                    m.n[held].join = now;
            } else {
                for (int i = 0; i < M_NUMS; i++)
                    if (m.n[i].holder < 0 && m.n[i].calls == 0 &&
                        (want < 0 || m.n[i].freed_seq < m.n[want].freed_seq))
                        want = i;
                if (want >= 0) {
                    model_num_t *n = &m.n[want];
                    last_lease[k] = m.next_lease;
                    n->holder = k;
                    n->lease = m.next_lease++;
                    n->start = n->seen = n->join = now;
                    n->confirmed = 0;
                }
            }
            if (a.slot != want ||
                (want >= 0 && a.lease != m.n[want].lease)) {
                mismatches++;
                fprintf(stderr, "step %d assign %s at %g: got slot %d, "
                                "want %d\n", step, key, now, a.slot, want);
            }
        } else if (op < 8) {
            /* a heartbeat on the key's lease: accepted exactly while the
             * model says it is live, refused once it is over */
            uint32_t lease = held >= 0 ? m.n[held].lease : last_lease[k];
            int rc = lease ? dni_pool_seen(p, lease, now) : DNI_ENOTFOUND;
            if (held >= 0) {
                m.n[held].seen = now;
                m.n[held].confirmed = 1;
            }
            if ((rc == DNI_OK) != (held >= 0)) {
                mismatches++;
                fprintf(stderr, "step %d seen %s: rc %d\n", step, key, rc);
            }
        } else if (op == 8) {
            int slot = (int)rnd(M_NUMS);
            dni_call_attribution_t at;
            int rc = dni_pool_call_start(p, (uint32_t)slot, now, &at);
            model_num_t *n = &m.n[slot];
            uint32_t want = 0;
            if (n->holder >= 0)
                want = n->lease;
            else if (n->lease != 0 && now - n->released <= 100)
                want = n->lease;
            if (rc < 0 || at.lease != want) {
                mismatches++;
                fprintf(stderr, "step %d call on %d: got lease %u, want %u\n",
                        step, slot, at.lease, want);
            }
            n->calls++;
        } else {
            int slot = (int)rnd(M_NUMS);
            model_num_t *n = &m.n[slot];
            int rc = dni_pool_call_end(p, (uint32_t)slot, now);
            if ((rc == DNI_OK) != (n->calls > 0)) {
                mismatches++;
                fprintf(stderr, "step %d call end: rc %d\n", step, rc);
            }
            if (n->calls > 0 && --n->calls == 0) {
                if (n->holder >= 0 && now > model_end(&m, slot)) {
                    n->holder = -1;
                    n->released = now;
                    n->freed_seq = m.seq++;
                } else if (n->holder < 0) {
                    n->freed_seq = m.seq++; /* back in the queue, at the end */
                }
            }
        }
        /* the engine never puts one number under two live leases */
        int owner[M_NUMS];
        for (int i = 0; i < M_NUMS; i++)
            owner[i] = 0;
        for (int j = 0; j < M_KEYS; j++) {
            int slot = model_key_slot(&m, j);
            dni_lease_info_t li;
            if (slot >= 0 &&
                dni_pool_lease_info(p, m.n[slot].lease, &li) == DNI_OK &&
                owner[li.slot]++ > 0)
                shared++;
        }
    }
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    CHECK(st.leases > (uint64_t)steps / 20); /* the run exercised reuse */
    CHECK_INT(mismatches, 0);
    CHECK_INT(shared, 0);
    dni_pool_destroy(p);
}

int main(void)
{
    test_contract();
    test_numbers();
    test_expiry_boundary();
    test_unconfirmed();
    test_max_lease();
    test_leave_and_sticky();
    test_calls();
    test_overflow_number();
    test_revoke();
    test_tags_mode();
    test_long_keys_and_events();
    test_lookup_and_end_lease();
    property_run(DNI_MODE_VISITOR, 20000, 0);
    property_run(DNI_MODE_TAGS, 20000, 0);
    property_run(DNI_MODE_VISITOR, 5000, 7);
    property_run(DNI_MODE_TAGS, 5000, 3);
    return harness_report();
}
