/*
 * pool_snapshot.c - the lease engine as bytes, and back.
 *
 * Why a byte format and not a replay of events: a host that stores its
 * pool (the edge's Durable Object) must get back the very same engine after
 * a restart - the same lease ids (they are in visitors' pages and in the
 * origin's records), the same numbers under them, the same free-queue order
 * and sticky memory - and must not spend a replay of every event since the
 * pool was created to get there. A snapshot is written now and then; the
 * host journals what happened since (docs/edge.md).
 *
 * Layout, little-endian, no padding (u8/u16/u32/u64 unsigned, f64 IEEE):
 *
 *   header   "DNIP" | u32 version | u64 total length | u64 checksum
 *            (FNV-1a 64 of every byte after the header)
 *   settings u32 mode | u32 number_limit | f64 buffer_s, max_lease_s,
 *            min_hold_s, sticky_s, attribution_window_s,
 *            unconfirmed_hold_s
 *   clock    f64 now (-inf before the first call) | u32 next_id |
 *            u32 events_on
 *   fallback u64 default digits | u64 overflow digits (0: none)
 *   counters u32 peak_live | u64 leases, overflows, joins, sticky, calls,
 *            calls_attributed
 *   sizes    u32 num_cap | u32 numbers | u32 leases | u32 events |
 *            u32 fresh | u32 released
 *   numbers  (numbers times, in slot order) u32 slot | u64 digits |
 *            u64 sticky_hash | f64 released_at | u32 last_lease |
 *            u16 calls | u8 state | u8 flags
 *   free     the unused slots in their reuse order (num_cap - numbers
 *            u32s), then the fresh queue and the released queue, head first
 *   leases   (in the slot order of their numbers) u32 id | u32 slot |
 *            u32 joins | u32 key_len | u8 pinned | u8 confirmed |
 *            f64 start, last_seen, last_join | key bytes
 *   events   f64 t | f64 likelihood | u32 lease | i32 slot | u32 type
 *
 * Version 1 (before leases could be unconfirmed) had neither
 * unconfirmed_hold_s (restored as its default, 60) nor the confirmed byte
 * (its leases are restored confirmed: they lived by the rules of their
 * time). It is still read; version 2 is written.
 *
 * Every section is written in an order fixed by the state alone (slot
 * order, queue order), so equal states give equal bytes. Restore trusts
 * nothing: it checks the checksum, then every rule the engine relies on,
 * and bounds every count by the bytes left before allocating for it.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core_internal.h"
#include "dni.h"
#include "pool_internal.h"

#define NONE DNI__POOL_NONE
#define HEADER 24
#define NUM_REC 36
#define LEASE_REC 42
#define LEASE_REC_V1 41
#define EVENT_REC 28
#define MAX_CAP (1u << 26)

/* ---- writing ----------------------------------------------------------- */

typedef struct wbuf {
    uint8_t *p;
    size_t n;
} wbuf_t;

static void put_u8(wbuf_t *w, uint8_t v)
{
    w->p[w->n++] = v;
}

static void put_u16(wbuf_t *w, uint16_t v)
{
    put_u8(w, (uint8_t)v);
    put_u8(w, (uint8_t)(v >> 8));
}

static void put_u32(wbuf_t *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(w, (uint8_t)(v >> (8 * i)));
}

static void put_u64(wbuf_t *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        put_u8(w, (uint8_t)(v >> (8 * i)));
}

static void put_f64(wbuf_t *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(w, v);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint32_t list_len(const dni_pool_t *p, const pool_list_t *l)
{
    uint32_t n = 0;
    for (uint32_t s = l->head; s != NONE; s = p->nums[s].next)
        n++;
    return n;
}

size_t dni_pool_snapshot_size(const dni_pool_t *p)
{
    size_t n = HEADER + 8 + 48 + 16 + 16 + 52 + 24;
    n += (size_t)p->num_used * NUM_REC;
    n += (size_t)(p->num_cap - p->num_used) * 4;
    n += (size_t)p->free_count * 4;
    for (uint32_t i = 0; i < p->num_cap; i++) {
        const pool_num_t *num = &p->nums[i];
        if (num->state != NUM_UNUSED && num->lease != NONE)
            n += LEASE_REC + p->leases[num->lease].key_len;
    }
    n += p->ev_len * EVENT_REC;
    return n;
}

static void put_list(wbuf_t *w, const dni_pool_t *p, const pool_list_t *l)
{
    for (uint32_t s = l->head; s != NONE; s = p->nums[s].next)
        put_u32(w, s);
}

long dni_pool_snapshot(const dni_pool_t *p, uint8_t *out, size_t cap)
{
    size_t size = dni_pool_snapshot_size(p);
    if (out == NULL || cap < size || size > (size_t)LONG_MAX)
        return DNI_ELIMIT;
    wbuf_t w = {out, 0};
    memcpy(out, "DNIP", 4);
    w.n = 4;
    put_u32(&w, DNI_POOL_SNAPSHOT_VERSION);
    put_u64(&w, size);
    put_u64(&w, 0); /* checksum, filled in last */

    const dni_pool_settings_t *s = &p->s;
    put_u32(&w, (uint32_t)s->mode);
    put_u32(&w, s->number_limit);
    put_f64(&w, s->buffer_s);
    put_f64(&w, s->max_lease_s);
    put_f64(&w, s->min_hold_s);
    put_f64(&w, s->sticky_s);
    put_f64(&w, s->attribution_window_s);
    put_f64(&w, s->unconfirmed_hold_s);

    put_f64(&w, p->now);
    put_u32(&w, p->next_id);
    put_u32(&w, (uint32_t)p->events_on);
    put_u64(&w, p->default_e164[0]
                    ? dni__pool_e164_digits(p->default_e164,
                                            strlen(p->default_e164))
                    : 0);
    put_u64(&w, p->overflow_e164[0]
                    ? dni__pool_e164_digits(p->overflow_e164,
                                            strlen(p->overflow_e164))
                    : 0);

    put_u32(&w, p->st.peak_live_leases);
    put_u64(&w, p->st.leases);
    put_u64(&w, p->st.overflows);
    put_u64(&w, p->st.joins);
    put_u64(&w, p->st.sticky);
    put_u64(&w, p->st.calls);
    put_u64(&w, p->st.calls_attributed);

    put_u32(&w, p->num_cap);
    put_u32(&w, p->num_used);
    put_u32(&w, p->live);
    put_u32(&w, (uint32_t)p->ev_len);
    put_u32(&w, list_len(p, &p->fresh));
    put_u32(&w, list_len(p, &p->released));

    for (uint32_t i = 0; i < p->num_cap; i++) {
        const pool_num_t *n = &p->nums[i];
        if (n->state == NUM_UNUSED)
            continue;
        put_u32(&w, i);
        put_u64(&w, n->digits);
        put_u64(&w, (n->flags & NUMF_STICKY) ? n->sticky_hash : 0);
        put_f64(&w, n->released_at);
        put_u32(&w, n->last_lease);
        put_u16(&w, n->calls);
        put_u8(&w, n->state);
        put_u8(&w, n->flags);
    }
    for (uint32_t s2 = p->num_free_slot; s2 != NONE; s2 = p->nums[s2].next)
        put_u32(&w, s2);
    put_list(&w, p, &p->fresh);
    put_list(&w, p, &p->released);

    for (uint32_t i = 0; i < p->num_cap; i++) {
        const pool_num_t *n = &p->nums[i];
        if (n->state == NUM_UNUSED || n->lease == NONE)
            continue;
        const pool_lease_t *l = &p->leases[n->lease];
        put_u32(&w, l->id);
        put_u32(&w, i);
        put_u32(&w, l->joins);
        put_u32(&w, l->key_len);
        put_u8(&w, l->pinned);
        put_u8(&w, l->confirmed);
        put_f64(&w, l->start);
        put_f64(&w, l->last_seen);
        put_f64(&w, l->last_join);
        memcpy(w.p + w.n, dni__pool_lease_key(l), l->key_len);
        w.n += l->key_len;
    }
    for (size_t i = 0; i < p->ev_len; i++) {
        const dni_pool_event_t *e = &p->events[i];
        put_f64(&w, e->t);
        put_f64(&w, e->likelihood);
        put_u32(&w, e->lease);
        put_u32(&w, (uint32_t)e->slot);
        put_u32(&w, (uint32_t)e->type);
    }
    wbuf_t ck = {out + 16, 0};
    put_u64(&ck, fnv1a(out + HEADER, size - HEADER));
    return (long)size;
}

/* ---- reading ----------------------------------------------------------- */

/* A cursor over untrusted bytes: every read checks what is left and a
 * short read poisons the cursor (later reads return zeros). */
typedef struct rbuf {
    const uint8_t *p;
    size_t n, at;
    int bad;
} rbuf_t;

static int have(rbuf_t *r, size_t k)
{
    if (r->bad || r->n - r->at < k) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static uint64_t get_le(rbuf_t *r, int bytes)
{
    if (!have(r, (size_t)bytes))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)bytes;
    return v;
}

static uint32_t get_u32(rbuf_t *r)
{
    return (uint32_t)get_le(r, 4);
}

static double get_f64(rbuf_t *r)
{
    uint64_t v = get_le(r, 8);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* The room left for n records of size rec, without overflow. */
static int room_for(const rbuf_t *r, uint64_t n, size_t rec)
{
    return !r->bad && n <= (r->n - r->at) / rec;
}

/* Digits that print as a valid E.164 number the engine would accept. */
static int valid_digits(uint64_t d)
{
    uint64_t limit = 1;
    for (int i = 0; i < DNI_PHONE_MAX_DIGITS; i++)
        limit *= 10;
    if (d == 0 || d >= limit)
        return 0; /* more digits than any number has: never format it */
    char e[DNI_E164_SIZE];
    dni__pool_digits_e164(d, e);
    return dni__pool_e164_digits(e, strlen(e)) == d;
}

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

/* Reads one free queue of count slots, each a number in state want that
 * is in no queue yet. */
static int read_list(rbuf_t *r, dni_pool_t *p, pool_list_t *l, uint32_t count,
                     uint8_t want, uint8_t *queued)
{
    if (!room_for(r, count, 4))
        return 0;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t s = get_u32(r);
        if (s >= p->num_cap || p->nums[s].state != want || queued[s])
            return 0;
        queued[s] = 1;
        dni__pool_list_append(p, l, s);
    }
    return 1;
}

/* Fills the empty, shaped pool p from r. Returns DNI_OK or DNI_ESYNTAX. */
static int read_state(rbuf_t *r, dni_pool_t *p, uint32_t version,
                      uint32_t n_nums,
                      uint32_t n_leases, uint32_t n_events, uint32_t n_fresh,
                      uint32_t n_released, uint8_t *queued)
{
    /* numbers: each slot once, each number once, states coherent */
    if (!room_for(r, n_nums, NUM_REC))
        return DNI_ESYNTAX;
    for (uint32_t k = 0; k < n_nums; k++) {
        uint32_t slot = get_u32(r);
        uint64_t digits = get_le(r, 8);
        uint64_t sticky = get_le(r, 8);
        double released_at = get_f64(r);
        uint32_t last_lease = get_u32(r);
        uint16_t calls = (uint16_t)get_le(r, 2);
        uint8_t state = (uint8_t)get_le(r, 1);
        uint8_t flags = (uint8_t)get_le(r, 1);
        if (r->bad || slot >= p->num_cap || p->nums[slot].state != NUM_UNUSED ||
            !valid_digits(digits) || dni__pool_num_find(p, digits) != NONE ||
            isnan(released_at) || state < NUM_FRESH || state > NUM_CALL_ONLY ||
            (flags & ~(NUMF_REMOVING | NUMF_STICKY)) != 0)
            return DNI_ESYNTAX;
        /* only a busy number can be waiting to leave; only a ringing
         * number may be out of the queues without a lease */
        if ((flags & NUMF_REMOVING) && state != NUM_LEASED &&
            state != NUM_CALL_ONLY)
            return DNI_ESYNTAX;
        if ((state == NUM_CALL_ONLY) != (calls > 0 && state != NUM_LEASED))
            return DNI_ESYNTAX;
        /* a number forgets its sticky key when it is leased again */
        if ((flags & NUMF_STICKY) && state == NUM_LEASED)
            return DNI_ESYNTAX;
        pool_num_t *n = &p->nums[slot];
        n->digits = digits;
        n->released_at = released_at;
        n->last_lease = last_lease;
        n->calls = calls;
        n->state = state;
        n->lease = NONE;
        n->prev = n->next = NONE;
        dni__pool_table_insert(p, TAB_NUM, slot);
        if (flags & NUMF_STICKY) {
            if (dni__pool_sticky_find(p, sticky) != NONE)
                return DNI_ESYNTAX; /* two numbers remembered for one key */
            n->sticky_hash = sticky;
            dni__pool_table_insert(p, TAB_STK, slot);
        } else if (sticky != 0) {
            return DNI_ESYNTAX;
        }
        n->flags = flags;
        p->num_used++;
    }

    /* the unused slots, in the order add_number() takes them */
    uint32_t unused = p->num_cap - n_nums;
    if (!room_for(r, unused, 4))
        return DNI_ESYNTAX;
    uint32_t *tail = &p->num_free_slot;
    for (uint32_t k = 0; k < unused; k++) {
        uint32_t s = get_u32(r);
        if (s >= p->num_cap || p->nums[s].state != NUM_UNUSED || queued[s])
            return DNI_ESYNTAX;
        queued[s] = 1;
        *tail = s;
        tail = &p->nums[s].next;
    }
    *tail = NONE;

    /* the free queues hold exactly the fresh and released numbers */
    uint32_t fresh = 0, released = 0;
    for (uint32_t i = 0; i < p->num_cap; i++) {
        fresh += p->nums[i].state == NUM_FRESH;
        released += p->nums[i].state == NUM_RELEASED;
    }
    if (fresh != n_fresh || released != n_released ||
        !read_list(r, p, &p->fresh, n_fresh, NUM_FRESH, queued) ||
        !read_list(r, p, &p->released, n_released, NUM_RELEASED, queued))
        return DNI_ESYNTAX;

    /* leases: one per leased number, unique ids and keys */
    if (!room_for(r, n_leases, version >= 2 ? LEASE_REC : LEASE_REC_V1))
        return DNI_ESYNTAX;
    uint32_t leased = 0;
    for (uint32_t i = 0; i < p->num_cap; i++)
        leased += p->nums[i].state == NUM_LEASED;
    if (leased != n_leases)
        return DNI_ESYNTAX;
    for (uint32_t k = 0; k < n_leases; k++) {
        uint32_t id = get_u32(r);
        uint32_t slot = get_u32(r);
        uint32_t joins = get_u32(r);
        uint32_t key_len = get_u32(r);
        uint8_t pinned = (uint8_t)get_le(r, 1);
        uint8_t confirmed = version >= 2 ? (uint8_t)get_le(r, 1) : 1;
        double start = get_f64(r), seen = get_f64(r), join = get_f64(r);
        if (r->bad || id == 0 || slot >= p->num_cap ||
            p->nums[slot].state != NUM_LEASED || p->nums[slot].lease != NONE ||
            pinned > 1 || confirmed > 1 ||
            (pinned && p->nums[slot].calls == 0) ||
            isnan(start) || isnan(seen) || isnan(join) ||
            dni__pool_id_find(p, id) != NONE || !have(r, key_len))
            return DNI_ESYNTAX;
        const char *key = (const char *)r->p + r->at;
        uint64_t h = dni__pool_key_hash(key, key_len);
        if (dni__pool_key_find(p, key, key_len, h) != NONE)
            return DNI_ESYNTAX;
        uint32_t ls = p->lease_free_slot;
        pool_lease_t *l = &p->leases[ls];
        char *ext = NULL;
        if (key_len > DNI_POOL_KEY_INLINE) {
            ext = p->alloc.realloc_fn(p->alloc.ud, NULL, key_len);
            if (ext == NULL)
                return DNI_ENOMEM;
        }
        p->lease_free_slot = l->num;
        memset(l, 0, sizeof *l);
        l->hash = h;
        l->start = start;
        l->last_seen = seen;
        l->last_join = join;
        l->id = id;
        l->num = slot;
        l->key_len = key_len;
        l->joins = joins;
        l->pinned = pinned;
        l->confirmed = confirmed;
        if (ext != NULL) {
            memcpy(ext, key, key_len);
            l->key.out = ext;
        } else if (key_len > 0) {
            memcpy(l->key.in, key, key_len);
        }
        r->at += key_len;
        p->nums[slot].lease = ls;
        p->live++;
        dni__pool_table_insert(p, TAB_KEY, ls);
        dni__pool_table_insert(p, TAB_ID, ls);
        if (!pinned)
            dni__pool_heap_push(
                p, dni_lease_end(&p->s, start, seen, join, confirmed), ls);
    }

    /* queued events */
    if (!room_for(r, n_events, EVENT_REC))
        return DNI_ESYNTAX;
    if (n_events > 0) {
        p->events = p->alloc.realloc_fn(p->alloc.ud, NULL,
                                        (size_t)n_events * sizeof *p->events);
        if (p->events == NULL)
            return DNI_ENOMEM;
        p->ev_cap = n_events;
    }
    for (uint32_t k = 0; k < n_events; k++) {
        dni_pool_event_t *e = &p->events[k];
        e->t = get_f64(r);
        e->likelihood = get_f64(r);
        e->lease = get_u32(r);
        e->slot = (int32_t)get_u32(r);
        uint32_t type = get_u32(r);
        if (isnan(e->t) || isnan(e->likelihood) || type < DNI_EVENT_ASSIGN ||
            type > DNI_EVENT_CALL)
            return DNI_ESYNTAX;
        e->type = (dni_pool_event_type_t)type;
        p->ev_len = k + 1;
    }
    return r->bad || r->at != r->n ? DNI_ESYNTAX : DNI_OK;
}

int dni_pool_restore(dni_pool_t **out, const uint8_t *data, size_t len,
                     const dni_pool_settings_t *settings,
                     const dni_allocator_t *a)
{
    if (out == NULL)
        return DNI_EINVAL;
    *out = NULL;
    if (data == NULL || len < HEADER || memcmp(data, "DNIP", 4) != 0)
        return DNI_ESYNTAX;
    rbuf_t r = {data, len, 4, 0};
    uint32_t version = get_u32(&r);
    uint64_t total = get_le(&r, 8);
    uint64_t sum = get_le(&r, 8);
    if (version < 1 || version > DNI_POOL_SNAPSHOT_VERSION)
        return DNI_ERANGE;
    if (total != len || sum != fnv1a(data + HEADER, len - HEADER))
        return DNI_ESYNTAX;

    dni_pool_settings_t s;
    uint32_t mode = get_u32(&r);
    s.mode = mode == 1 ? DNI_MODE_TAGS : DNI_MODE_VISITOR;
    s.number_limit = get_u32(&r);
    s.buffer_s = get_f64(&r);
    s.max_lease_s = get_f64(&r);
    s.min_hold_s = get_f64(&r);
    s.sticky_s = get_f64(&r);
    s.attribution_window_s = get_f64(&r);
    s.unconfirmed_hold_s = version >= 2 ? get_f64(&r) : 60;
    if (r.bad || mode > 1 || !dni__pool_settings_valid(&s))
        return DNI_ESYNTAX;
    double now = get_f64(&r);
    uint32_t next_id = get_u32(&r);
    uint32_t events_on = get_u32(&r);
    uint64_t def = get_le(&r, 8), ovf = get_le(&r, 8);
    dni_pool_stats_t st;
    memset(&st, 0, sizeof st);
    st.peak_live_leases = get_u32(&r);
    st.leases = get_le(&r, 8);
    st.overflows = get_le(&r, 8);
    st.joins = get_le(&r, 8);
    st.sticky = get_le(&r, 8);
    st.calls = get_le(&r, 8);
    st.calls_attributed = get_le(&r, 8);
    uint32_t num_cap = get_u32(&r), n_nums = get_u32(&r);
    uint32_t n_leases = get_u32(&r), n_events = get_u32(&r);
    uint32_t n_fresh = get_u32(&r), n_released = get_u32(&r);
    if (r.bad || isnan(now) || now == INFINITY || events_on > 1 ||
        (def != 0 && !valid_digits(def)) || (ovf != 0 && !valid_digits(ovf)))
        return DNI_ESYNTAX;
    /* capacities: a power of two the engine could have grown to, and no
     * more slots than the bytes left can describe (no huge allocation
     * from a short input) */
    if (num_cap < 16 || num_cap > MAX_CAP || (num_cap & (num_cap - 1)) != 0 ||
        n_nums > num_cap || n_leases > n_nums ||
        (uint64_t)n_fresh + n_released > n_nums ||
        !room_for(&r, (uint64_t)n_nums * NUM_REC / 4 + (num_cap - n_nums), 4))
        return DNI_ESYNTAX;

    dni_pool_t *p;
    int rc = dni_pool_create(&p, settings ? settings : &s, a);
    if (rc != DNI_OK)
        return rc;
    uint8_t *queued = p->alloc.realloc_fn(p->alloc.ud, NULL, num_cap);
    if (queued == NULL) {
        dni_pool_destroy(p);
        return DNI_ENOMEM;
    }
    memset(queued, 0, num_cap);
    rc = dni__pool_shape(p, num_cap, pow2_at_least(n_leases));
    if (rc == DNI_OK)
        rc = read_state(&r, p, version, n_nums, n_leases, n_events, n_fresh,
                        n_released, queued);
    p->alloc.realloc_fn(p->alloc.ud, queued, 0);
    if (rc != DNI_OK) {
        dni_pool_destroy(p);
        return rc;
    }
    p->now = now;
    p->next_id = next_id;
    p->events_on = (int)events_on;
    if (def)
        dni__pool_digits_e164(def, p->default_e164);
    if (ovf)
        dni__pool_digits_e164(ovf, p->overflow_e164);
    st.peak_live_leases =
        st.peak_live_leases > p->live ? st.peak_live_leases : p->live;
    p->st = st;
    *out = p;
    return DNI_OK;
}
