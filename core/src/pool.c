/*
 * pool.c - the lease engine: which number a visitor sees, how long it stays
 * theirs, and who gets it next.
 *
 * Layout (all arrays grow by doubling through the pool's allocator):
 *   nums[]    one slot per number: its digits, its place in a free list,
 *             its live lease, its last lease and the hash of that lease's
 *             key (for stickiness).
 *   leases[]  one slot per live lease: times, id, key copy.
 *   num_tab   digits  -> number slot      (open addressing, linear probing,
 *   stk_tab   key hash -> number slot      backward-shift deletion, so no
 *   key_tab   key     -> lease slot        tombstones ever slow a probe)
 *   id_tab    lease id -> lease slot
 *   heap      (deadline, lease) min-heap. A heartbeat only moves last_seen:
 *             the deadline in the heap may then be early, never late
 *             (a lease's end time only grows), so the expiry pass pops it,
 *             sees the lease still has time, and pushes it back at its
 *             real end. Leases therefore end in order of their true end
 *             time, which keeps the free list sorted by release time.
 *
 * Free numbers sit in two FIFO lists: never-used numbers (in the order they
 * were added) and released numbers (in the order they were released). The
 * head of the first non-empty list is the least recently released number.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "dni.h"
#include "pool_internal.h"

#define NONE DNI__POOL_NONE

/* ---- allocation -------------------------------------------------------- */

static void *pool_realloc(dni_pool_t *p, void *ptr, size_t size)
{
    return p->alloc.realloc_fn(p->alloc.ud, ptr, size);
}

/* ---- hashing ----------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)n;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

/* ---- tables ------------------------------------------------------------ */

static uint64_t slot_hash(const dni_pool_t *p, int kind, uint32_t slot)
{
    switch (kind) {
    case TAB_NUM:
        return mix64(p->nums[slot].digits);
    case TAB_STK:
        return p->nums[slot].sticky_hash;
    case TAB_KEY:
        return p->leases[slot].hash;
    default:
        return mix64(p->leases[slot].id);
    }
}

static pool_table_t *table_of(dni_pool_t *p, int kind)
{
    switch (kind) {
    case TAB_NUM:
        return &p->num_tab;
    case TAB_STK:
        return &p->stk_tab;
    case TAB_KEY:
        return &p->key_tab;
    default:
        return &p->id_tab;
    }
}

static void table_insert(dni_pool_t *p, int kind, uint32_t slot)
{
    pool_table_t *t = table_of(p, kind);
    uint32_t i = (uint32_t)slot_hash(p, kind, slot) & t->mask;
    while (t->slots[i] != NONE)
        i = (i + 1) & t->mask;
    t->slots[i] = slot;
}

/* Deletes the entry holding slot; backward shift keeps probes short. */
static void table_delete(dni_pool_t *p, int kind, uint32_t slot)
{
    pool_table_t *t = table_of(p, kind);
    uint32_t i = (uint32_t)slot_hash(p, kind, slot) & t->mask;
    while (t->slots[i] != slot) {
        if (t->slots[i] == NONE)
            return;
        i = (i + 1) & t->mask;
    }
    uint32_t j = i;
    for (;;) {
        t->slots[i] = NONE;
        for (;;) {
            j = (j + 1) & t->mask;
            if (t->slots[j] == NONE)
                return;
            uint32_t home = (uint32_t)slot_hash(p, kind, t->slots[j]) & t->mask;
            /* move slots[j] back to i unless its home lies in (i, j] */
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
                continue;
            break;
        }
        t->slots[i] = t->slots[j];
        i = j;
    }
}

/* Resizes a table to cap (a power of two) and reinserts live entries. */
static int table_resize(dni_pool_t *p, int kind, uint32_t cap,
                        const uint32_t *live, uint32_t n_live)
{
    pool_table_t *t = table_of(p, kind);
    uint32_t *slots = pool_realloc(p, NULL, (size_t)cap * sizeof *slots);
    if (slots == NULL)
        return DNI_ENOMEM;
    if (t->slots != NULL)
        pool_realloc(p, t->slots, 0);
    t->slots = slots;
    t->mask = cap - 1;
    memset(slots, 0xff, (size_t)cap * sizeof *slots);
    for (uint32_t k = 0; k < n_live; k++)
        table_insert(p, kind, live[k]);
    return DNI_OK;
}

/* ---- number lists ------------------------------------------------------ */

static void list_append(dni_pool_t *p, pool_list_t *l, uint32_t slot)
{
    pool_num_t *n = &p->nums[slot];
    n->prev = l->tail;
    n->next = NONE;
    if (l->tail != NONE)
        p->nums[l->tail].next = slot;
    else
        l->head = slot;
    l->tail = slot;
    p->free_count++;
}

static void list_unlink(dni_pool_t *p, pool_list_t *l, uint32_t slot)
{
    pool_num_t *n = &p->nums[slot];
    if (n->prev != NONE)
        p->nums[n->prev].next = n->next;
    else
        l->head = n->next;
    if (n->next != NONE)
        p->nums[n->next].prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NONE;
    p->free_count--;
}

/* Takes a free number out of whichever free list holds it. */
static void num_unfree(dni_pool_t *p, uint32_t slot)
{
    pool_num_t *n = &p->nums[slot];
    list_unlink(p, n->state == NUM_FRESH ? &p->fresh : &p->released, slot);
}

static void sticky_forget(dni_pool_t *p, uint32_t slot)
{
    if (p->nums[slot].flags & NUMF_STICKY) {
        table_delete(p, TAB_STK, slot);
        p->nums[slot].flags &= (uint8_t)~NUMF_STICKY;
    }
}

/* Finds the number slot whose last lease had key hash h. */
static uint32_t sticky_find(const dni_pool_t *p, uint64_t h)
{
    const pool_table_t *t = &p->stk_tab;
    for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (s == NONE || p->nums[s].sticky_hash == h)
            return s;
    }
}

static void num_drop(dni_pool_t *p, uint32_t slot)
{
    pool_num_t *n = &p->nums[slot];
    sticky_forget(p, slot);
    table_delete(p, TAB_NUM, slot);
    memset(n, 0, sizeof *n);
    n->state = NUM_UNUSED;
    n->lease = NONE;
    n->prev = NONE;
    n->next = p->num_free_slot;
    p->num_free_slot = slot;
    p->num_used--;
}

/* A number nobody holds any more becomes free (or leaves the pool). */
static void num_set_free(dni_pool_t *p, uint32_t slot, double t)
{
    pool_num_t *n = &p->nums[slot];
    n->released_at = t;
    if (n->flags & NUMF_REMOVING) {
        num_drop(p, slot);
        return;
    }
    n->state = NUM_RELEASED;
    list_append(p, &p->released, slot);
}

/* ---- events ------------------------------------------------------------ */

static void emit(dni_pool_t *p, dni_pool_event_type_t type, double t,
                 uint32_t lease, int32_t slot, double likelihood)
{
    if (!p->events_on)
        return;
    if (p->ev_len == p->ev_cap) {
        size_t cap = p->ev_cap ? p->ev_cap * 2 : 64;
        dni_pool_event_t *e = pool_realloc(p, p->events, cap * sizeof *e);
        if (e == NULL)
            return; /* an event lost to memory exhaustion; the lease holds */
        p->events = e;
        p->ev_cap = cap;
    }
    dni_pool_event_t *e = &p->events[p->ev_len++];
    e->t = t;
    e->likelihood = likelihood;
    e->lease = lease;
    e->slot = slot;
    e->type = type;
}

void dni_pool_events_enable(dni_pool_t *p, int on)
{
    p->events_on = on != 0;
}

size_t dni_pool_events_take(dni_pool_t *p, dni_pool_event_t *out, size_t max)
{
    size_t n = p->ev_len < max ? p->ev_len : max;
    if (n == 0)
        return 0; /* the queue may not even be allocated yet */
    memcpy(out, p->events, n * sizeof *out);
    memmove(p->events, p->events + n, (p->ev_len - n) * sizeof *out);
    p->ev_len -= n;
    return n;
}

/* ---- heap -------------------------------------------------------------- */

static int timer_less(const pool_timer_t *a, const pool_timer_t *b)
{
    return a->due < b->due || (a->due == b->due && a->id < b->id);
}

/* Puts t into the hole at i, moving the hole up past larger parents. */
static void heap_sift_up(dni_pool_t *p, uint32_t i, pool_timer_t t)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timer_less(&t, &p->heap[parent]))
            break;
        p->heap[i] = p->heap[parent];
        i = parent;
    }
    p->heap[i] = t;
}

/* Puts t into the hole at i, moving the hole down past smaller children. */
static void heap_sift_down(dni_pool_t *p, uint32_t i, pool_timer_t t)
{
    uint32_t n = p->heap_len;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && timer_less(&p->heap[c + 1], &p->heap[c]))
            c++;
        if (!timer_less(&p->heap[c], &t))
            break;
        p->heap[i] = p->heap[c];
        i = c;
    }
    p->heap[i] = t;
}

static void heap_push(dni_pool_t *p, double due, uint32_t lease)
{
    pool_timer_t t = {due, lease, p->leases[lease].id};
    heap_sift_up(p, p->heap_len++, t);
    p->leases[lease].in_heap = 1;
}

static void heap_pop(dni_pool_t *p)
{
    pool_timer_t last = p->heap[--p->heap_len];
    if (p->heap_len > 0)
        heap_sift_down(p, 0, last);
}

/* Takes the timer of lease slot ls out of the heap (a linear search: only
 * an early end, which is rare, needs it). */
static void heap_remove(dni_pool_t *p, uint32_t ls)
{
    uint32_t i = 0;
    while (i < p->heap_len && p->heap[i].lease != ls)
        i++;
    if (i == p->heap_len)
        return;
    pool_timer_t last = p->heap[--p->heap_len];
    p->leases[ls].in_heap = 0;
    if (i == p->heap_len)
        return;
    /* the last timer fills the hole at i, then moves whichever way it must */
    if (i > 0 && timer_less(&last, &p->heap[(i - 1) / 2]))
        heap_sift_up(p, i, last);
    else
        heap_sift_down(p, i, last);
}

/* ---- leases ------------------------------------------------------------ */

static const char *lease_key(const pool_lease_t *l)
{
    return l->key_len <= DNI_POOL_KEY_INLINE ? l->key.in : l->key.out;
}

static double lease_end(const dni_pool_t *p, const pool_lease_t *l)
{
    return dni_lease_end(&p->s, l->start, l->last_seen, l->last_join,
                         l->confirmed);
}

static uint32_t key_find(const dni_pool_t *p, const char *key, size_t len,
                         uint64_t h)
{
    const pool_table_t *t = &p->key_tab;
    for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (s == NONE)
            return NONE;
        const pool_lease_t *l = &p->leases[s];
        if (l->hash == h && l->key_len == len &&
            memcmp(lease_key(l), key, len) == 0)
            return s;
    }
}

static uint32_t id_find(const dni_pool_t *p, uint32_t id)
{
    const pool_table_t *t = &p->id_tab;
    if (id == 0 || t->slots == NULL)
        return NONE;
    for (uint32_t i = (uint32_t)mix64(id) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (s == NONE || p->leases[s].id == id)
            return s;
    }
}

/* The lease in slot ls ends at t: its number becomes free. */
static void lease_release(dni_pool_t *p, uint32_t ls, double t)
{
    pool_lease_t *l = &p->leases[ls];
    uint32_t slot = l->num;
    pool_num_t *n = &p->nums[slot];
    table_delete(p, TAB_KEY, ls);
    table_delete(p, TAB_ID, ls);
    n->lease = NONE;
    n->last_lease = l->id;
    emit(p, DNI_EVENT_RELEASE, t, l->id, (int32_t)slot, 0);
    if (!(n->flags & NUMF_REMOVING)) {
        /* remember who held it, replacing an older number of theirs */
        uint32_t other = sticky_find(p, l->hash);
        if (other != NONE)
            sticky_forget(p, other);
        sticky_forget(p, slot);
        n->sticky_hash = l->hash;
        n->flags |= NUMF_STICKY;
        table_insert(p, TAB_STK, slot);
    }
    if (n->calls > 0) {
        /* ended early (dni_pool_end_lease) while ringing: the number
         * waits for the last call like a late caller's number does */
        n->released_at = t;
        n->state = NUM_CALL_ONLY;
    } else {
        num_set_free(p, slot, t);
    }
    if (l->key_len > DNI_POOL_KEY_INLINE)
        pool_realloc(p, l->key.out, 0);
    memset(l, 0, sizeof *l);
    l->num = p->lease_free_slot;
    p->lease_free_slot = ls;
    p->live--;
}

/* Ends every lease whose time ran out before now. */
static int advance(dni_pool_t *p, double now)
{
    if (isnan(now))
        return DNI_EINVAL;
    if (now < p->now)
        return DNI_EORDER;
    p->now = now;
    int released = 0;
    while (p->heap_len > 0 && p->heap[0].due < now) {
        pool_timer_t top = p->heap[0];
        heap_pop(p);
        pool_lease_t *l = &p->leases[top.lease];
        l->in_heap = 0;
        double end = lease_end(p, l);
        if (end > top.due) {
            heap_push(p, end, top.lease); /* extended since scheduled */
        } else if (p->nums[l->num].calls > 0) {
            l->pinned = 1; /* call_end releases it */
        } else {
            lease_release(p, top.lease, end);
            released++;
        }
    }
    return released;
}

/* Resizes the lease slots and the deadline heap together: the heap holds
 * at most one deadline per lease slot. Contents are kept up to the smaller
 * size; new room is uninitialised. */
static int leases_resize(dni_pool_t *p, uint32_t cap)
{
    pool_lease_t *l = pool_realloc(p, p->leases, (size_t)cap * sizeof *l);
    if (l == NULL)
        return DNI_ENOMEM;
    p->leases = l;
    pool_timer_t *h = pool_realloc(p, p->heap, (size_t)cap * sizeof *h);
    if (h == NULL)
        return DNI_ENOMEM;
    p->heap = h;
    return DNI_OK;
}

/* Makes room for one more lease slot. */
static int lease_reserve(dni_pool_t *p)
{
    if (p->lease_free_slot != NONE)
        return DNI_OK;
    uint32_t old = p->lease_cap, cap = old ? old * 2 : 16;
    if (leases_resize(p, cap) != DNI_OK)
        return DNI_ENOMEM;
    pool_lease_t *l = p->leases;
    memset(l + old, 0, (size_t)(cap - old) * sizeof *l);
    for (uint32_t i = cap; i-- > old;) {
        l[i].num = p->lease_free_slot;
        p->lease_free_slot = i;
    }
    p->lease_cap = cap;
    /* rebuild the two lease tables at twice the capacity */
    uint32_t *live = pool_realloc(p, NULL, (size_t)(p->live + 1) * sizeof *live);
    if (live == NULL)
        return DNI_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < old; i++)
        if (l[i].id != 0)
            live[n++] = i;
    int rc = table_resize(p, TAB_KEY, cap * 2, live, n);
    if (rc == DNI_OK)
        rc = table_resize(p, TAB_ID, cap * 2, live, n);
    pool_realloc(p, live, 0);
    return rc;
}

/* Makes room for one more number slot. */
static int num_reserve(dni_pool_t *p)
{
    if (p->num_free_slot != NONE)
        return DNI_OK;
    uint32_t old = p->num_cap, cap = old ? old * 2 : 16;
    pool_num_t *n = pool_realloc(p, p->nums, (size_t)cap * sizeof *n);
    if (n == NULL)
        return DNI_ENOMEM;
    p->nums = n;
    memset(n + old, 0, (size_t)(cap - old) * sizeof *n);
    for (uint32_t i = cap; i-- > old;) {
        n[i].lease = NONE;
        n[i].prev = NONE;
        n[i].next = p->num_free_slot;
        p->num_free_slot = i;
    }
    p->num_cap = cap;
    uint32_t *live = pool_realloc(p, NULL, (size_t)(old + 1) * sizeof *live);
    if (live == NULL)
        return DNI_ENOMEM;
    uint32_t k = 0, ks = 0;
    for (uint32_t i = 0; i < old; i++)
        if (n[i].state != NUM_UNUSED)
            live[k++] = i;
    int rc = table_resize(p, TAB_NUM, cap * 2, live, k);
    for (uint32_t i = 0; i < k; i++)
        if (n[live[i]].flags & NUMF_STICKY)
            live[ks++] = live[i];
    if (rc == DNI_OK)
        rc = table_resize(p, TAB_STK, cap * 2, live, ks);
    pool_realloc(p, live, 0);
    return rc;
}

/* ---- public API -------------------------------------------------------- */

int dni_pool_create(dni_pool_t **out, const dni_pool_settings_t *s,
                    const dni_allocator_t *a)
{
    *out = NULL;
    if (s == NULL || !dni__pool_settings_valid(s))
        return DNI_EINVAL;
    dni_allocator_t al = dni__allocator(a);
    dni_pool_t *p = al.realloc_fn(al.ud, NULL, sizeof *p);
    if (p == NULL)
        return DNI_ENOMEM;
    memset(p, 0, sizeof *p);
    p->s = *s;
    p->alloc = al;
    p->now = -INFINITY;
    p->num_free_slot = p->lease_free_slot = NONE;
    p->fresh.head = p->fresh.tail = NONE;
    p->released.head = p->released.tail = NONE;
    p->next_id = 1;
    if (num_reserve(p) != DNI_OK || lease_reserve(p) != DNI_OK) {
        dni_pool_destroy(p);
        return DNI_ENOMEM;
    }
    *out = p;
    return DNI_OK;
}

void dni_pool_destroy(dni_pool_t *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->lease_cap; i++)
        if (p->leases[i].id != 0 && p->leases[i].key_len > DNI_POOL_KEY_INLINE)
            pool_realloc(p, p->leases[i].key.out, 0);
    pool_realloc(p, p->nums, 0);
    pool_realloc(p, p->leases, 0);
    pool_realloc(p, p->heap, 0);
    pool_realloc(p, p->num_tab.slots, 0);
    pool_realloc(p, p->stk_tab.slots, 0);
    pool_realloc(p, p->key_tab.slots, 0);
    pool_realloc(p, p->id_tab.slots, 0);
    pool_realloc(p, p->events, 0);
    pool_realloc(p, p, 0);
}

const dni_pool_settings_t *dni_pool_settings(const dni_pool_t *p)
{
    return &p->s;
}

/* Strict E.164 text to its digits as an integer, or 0. */
static uint64_t e164_digits(const char *e164, size_t len)
{
    if (e164 == NULL || len < 9 || len > DNI_PHONE_MAX_DIGITS + 1 ||
        e164[0] != '+')
        return 0;
    dni_phone_t ph;
    if (dni_phone_parse(&ph, e164, len, NULL) != DNI_OK ||
        strlen(ph.e164) != len || memcmp(ph.e164, e164, len) != 0)
        return 0;
    uint64_t d = 0;
    for (size_t i = 1; i < len; i++)
        d = d * 10 + (uint64_t)(e164[i] - '0');
    return d;
}

static void digits_e164(uint64_t d, char out[DNI_E164_SIZE])
{
    char tmp[DNI_PHONE_MAX_DIGITS + 1];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + d % 10);
        d /= 10;
    } while (d > 0 && n < sizeof tmp);
    out[0] = '+';
    for (size_t i = 0; i < n; i++)
        out[1 + i] = tmp[n - 1 - i];
    out[1 + n] = '\0';
}

int dni_pool_set_fallback(dni_pool_t *p, const char *default_e164,
                          size_t default_len, const char *overflow_e164,
                          size_t overflow_len)
{
    uint64_t d = 0, o = 0;
    if (default_e164 != NULL && default_len > 0 &&
        (d = e164_digits(default_e164, default_len)) == 0)
        return DNI_ENOTPHONE;
    if (overflow_e164 != NULL && overflow_len > 0 &&
        (o = e164_digits(overflow_e164, overflow_len)) == 0)
        return DNI_ENOTPHONE;
    p->default_e164[0] = p->overflow_e164[0] = '\0';
    if (d)
        digits_e164(d, p->default_e164);
    if (o)
        digits_e164(o, p->overflow_e164);
    return DNI_OK;
}

static uint32_t num_find(const dni_pool_t *p, uint64_t d)
{
    const pool_table_t *t = &p->num_tab;
    for (uint32_t i = (uint32_t)mix64(d) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (s == NONE || p->nums[s].digits == d)
            return s;
    }
}

int dni_pool_add_number(dni_pool_t *p, const char *e164, size_t len)
{
    uint64_t d = e164_digits(e164, len);
    if (d == 0)
        return DNI_ENOTPHONE;
    uint32_t slot = num_find(p, d);
    if (slot != NONE) {
        if (!(p->nums[slot].flags & NUMF_REMOVING))
            return DNI_EEXISTS;
        p->nums[slot].flags &= (uint8_t)~NUMF_REMOVING;
        return (int)slot;
    }
    if ((p->s.number_limit > 0 && p->num_used >= p->s.number_limit) ||
        p->num_used >= (uint32_t)INT32_MAX / 4)
        return DNI_ELIMIT;
    int rc = num_reserve(p);
    if (rc != DNI_OK)
        return rc;
    slot = p->num_free_slot;
    pool_num_t *n = &p->nums[slot];
    p->num_free_slot = n->next;
    memset(n, 0, sizeof *n);
    n->digits = d;
    n->lease = NONE;
    n->released_at = -INFINITY;
    n->state = NUM_FRESH;
    p->num_used++;
    table_insert(p, TAB_NUM, slot);
    list_append(p, &p->fresh, slot);
    return (int)slot;
}

int dni_pool_find_number(const dni_pool_t *p, const char *e164, size_t len)
{
    uint64_t d = e164_digits(e164, len);
    uint32_t slot = d ? num_find(p, d) : NONE;
    return slot == NONE ? DNI_ENOTFOUND : (int)slot;
}

static pool_num_t *num_at(const dni_pool_t *p, uint32_t slot)
{
    if (slot >= p->num_cap || p->nums[slot].state == NUM_UNUSED)
        return NULL;
    return &p->nums[slot];
}

int dni_pool_number_e164(const dni_pool_t *p, uint32_t slot,
                         char out[DNI_E164_SIZE])
{
    const pool_num_t *n = num_at(p, slot);
    if (n == NULL)
        return DNI_ENOTFOUND;
    digits_e164(n->digits, out);
    return DNI_OK;
}

int dni_pool_remove_number(dni_pool_t *p, const char *e164, size_t len,
                           double now)
{
    int rc = advance(p, now);
    if (rc < 0)
        return rc;
    rc = dni_pool_find_number(p, e164, len);
    if (rc < 0)
        return rc;
    uint32_t slot = (uint32_t)rc;
    pool_num_t *n = &p->nums[slot];
    if (n->lease != NONE || n->calls > 0) {
        n->flags |= NUMF_REMOVING;
        return 1;
    }
    num_unfree(p, slot);
    num_drop(p, slot);
    return 0;
}

/* Picks the number for a new lease: the key's last one while it is free
 * and within sticky_s, else the least recently released. */
static uint32_t pick_number(dni_pool_t *p, uint64_t h, double now,
                            int *sticky)
{
    uint32_t s = sticky_find(p, h);
    *sticky = 0;
    if (s != NONE) {
        const pool_num_t *n = &p->nums[s];
        /* a number ringing with this key's own late call may go back to
         * it: that is not handing it to someone else */
        if ((n->state == NUM_RELEASED || n->state == NUM_CALL_ONLY) &&
            now - n->released_at <= p->s.sticky_s) {
            *sticky = 1;
            return s;
        }
    }
    if (p->fresh.head != NONE)
        return p->fresh.head;
    return p->released.head;
}

int dni_pool_assign(dni_pool_t *p, const char *key, size_t len, double now,
                    dni_assignment_t *out)
{
    if ((key == NULL && len > 0) || len > UINT32_MAX || out == NULL)
        return DNI_EINVAL;
    int rc = advance(p, now);
    if (rc < 0)
        return rc;
    uint64_t h = hash_bytes(key, len);
    uint32_t ls = key_find(p, key, len, h);
    if (ls != NONE) {
        pool_lease_t *l = &p->leases[ls];
        l->last_seen = now;
        l->confirmed = 1; /* a second page view of the same key */
        l->joins++;
        p->st.joins++;
        if (p->s.mode == DNI_MODE_TAGS) {
            l->last_join = now;
            emit(p, DNI_EVENT_JOIN, now, l->id, (int32_t)l->num, 0);
        } else {
            emit(p, DNI_EVENT_SEEN, now, l->id, (int32_t)l->num, 0);
        }
        out->kind = DNI_ASSIGN_CURRENT;
        out->lease = l->id;
        out->slot = (int32_t)l->num;
        digits_e164(p->nums[l->num].digits, out->e164);
        return DNI_OK;
    }
    int sticky;
    uint32_t slot = pick_number(p, h, now, &sticky);
    if (slot == NONE) {
        p->st.overflows++;
        emit(p, DNI_EVENT_OVERFLOW, now, 0, -1, 0);
        out->kind = DNI_ASSIGN_OVERFLOW;
        out->lease = 0;
        out->slot = -1;
        memcpy(out->e164, p->overflow_e164[0] ? p->overflow_e164 : p->default_e164,
               DNI_E164_SIZE);
        return DNI_OK;
    }
    if ((rc = lease_reserve(p)) != DNI_OK)
        return rc;
    char *ext = NULL;
    if (len > DNI_POOL_KEY_INLINE && (ext = pool_realloc(p, NULL, len)) == NULL)
        return DNI_ENOMEM;
    ls = p->lease_free_slot;
    pool_lease_t *l = &p->leases[ls];
    p->lease_free_slot = l->num;
    memset(l, 0, sizeof *l);
    l->hash = h;
    l->start = l->last_seen = l->last_join = now;
    l->num = slot;
    l->key_len = (uint32_t)len;
    if (ext != NULL) {
        memcpy(ext, key, len);
        l->key.out = ext;
    } else if (len > 0) {
        memcpy(l->key.in, key, len);
    }
    /* a lease id is never 0 and never one still live (after 2^32 leases) */
    do {
        l->id = p->next_id++;
    } while (l->id == 0 || id_find(p, l->id) != NONE);

    pool_num_t *n = &p->nums[slot];
    if (n->state != NUM_CALL_ONLY)
        num_unfree(p, slot);
    sticky_forget(p, slot);
    n->state = NUM_LEASED;
    n->lease = ls;
    table_insert(p, TAB_KEY, ls);
    table_insert(p, TAB_ID, ls);
    heap_push(p, lease_end(p, l), ls);
    p->live++;
    if (p->live > p->st.peak_live_leases)
        p->st.peak_live_leases = p->live;
    p->st.leases++;
    if (sticky)
        p->st.sticky++;
    emit(p, DNI_EVENT_ASSIGN, now, l->id, (int32_t)slot, 0);
    out->kind = sticky ? DNI_ASSIGN_STICKY : DNI_ASSIGN_NEW;
    out->lease = l->id;
    out->slot = (int32_t)slot;
    digits_e164(n->digits, out->e164);
    return DNI_OK;
}

/* Brings the clock to now (ending what ran out), then finds lease id
 * among the live leases: DNI_OK with its slot in *ls, DNI_ENOTFOUND or
 * DNI_EORDER. */
static int live_lease(dni_pool_t *p, uint32_t lease, double now, uint32_t *ls)
{
    int rc = advance(p, now);
    if (rc < 0)
        return rc;
    *ls = id_find(p, lease);
    return *ls == NONE ? DNI_ENOTFOUND : DNI_OK;
}

static int touch(dni_pool_t *p, uint32_t lease, double now)
{
    uint32_t ls;
    int rc = live_lease(p, lease, now, &ls);
    if (rc != DNI_OK)
        return rc;
    pool_lease_t *l = &p->leases[ls];
    l->last_seen = now;
    l->confirmed = 1; /* the page's script is running */
    emit(p, DNI_EVENT_SEEN, now, l->id, (int32_t)l->num, 0);
    return DNI_OK;
}

int dni_pool_seen(dni_pool_t *p, uint32_t lease, double now)
{
    return touch(p, lease, now);
}

int dni_pool_leave(dni_pool_t *p, uint32_t lease, double now)
{
    /* The lease rule: leave sets last_seen to the leave time; the buffer then
     * runs from there, exactly as after a last heartbeat. */
    return touch(p, lease, now);
}

int dni_pool_lookup(dni_pool_t *p, const char *key, size_t len, double now,
                    uint32_t *lease)
{
    if ((key == NULL && len > 0) || lease == NULL)
        return DNI_EINVAL;
    int rc = advance(p, now);
    if (rc < 0)
        return rc;
    uint32_t ls = key_find(p, key, len, hash_bytes(key, len));
    *lease = ls == NONE ? 0 : p->leases[ls].id;
    return ls == NONE ? DNI_ENOTFOUND : DNI_OK;
}

int dni_pool_end_lease(dni_pool_t *p, uint32_t lease, double now)
{
    uint32_t ls;
    int rc = live_lease(p, lease, now, &ls);
    if (rc != DNI_OK)
        return rc;
    if (p->leases[ls].in_heap)
        heap_remove(p, ls);
    lease_release(p, ls, now);
    return DNI_OK;
}

int dni_pool_tick(dni_pool_t *p, double now)
{
    return advance(p, now);
}

int dni_pool_call_start(dni_pool_t *p, uint32_t slot, double now,
                        dni_call_attribution_t *out)
{
    int rc = advance(p, now);
    if (rc < 0)
        return rc;
    pool_num_t *n = num_at(p, slot);
    if (n == NULL)
        return DNI_ENOTFOUND;
    if (n->calls == UINT16_MAX)
        return DNI_ELIMIT;
    out->lease = 0;
    out->likelihood = 0;
    out->live = 0;
    if (n->lease != NONE) {
        out->lease = p->leases[n->lease].id;
        out->likelihood = 1.0;
        out->live = 1;
    } else if (n->last_lease != 0) {
        dni_lease_span_t span = {n->released_at, n->released_at};
        dni_candidate_t c;
        if (dni_attribute(&p->s, &span, 1, now, &c, 1) == 1) {
            out->lease = n->last_lease;
            out->likelihood = c.likelihood;
        }
    }
    if (n->calls == 0 && n->lease == NONE) {
        num_unfree(p, slot); /* a ringing number is never handed out */
        n->state = NUM_CALL_ONLY;
    }
    n->calls++;
    p->st.calls++;
    if (out->lease != 0)
        p->st.calls_attributed++;
    emit(p, DNI_EVENT_CALL, now, out->lease, (int32_t)slot, out->likelihood);
    return out->lease != 0;
}

int dni_pool_call_end(dni_pool_t *p, uint32_t slot, double now)
{
    int rc = advance(p, now);
    if (rc < 0)
        return rc;
    pool_num_t *n = num_at(p, slot);
    if (n == NULL)
        return DNI_ENOTFOUND;
    if (n->calls == 0)
        return DNI_ESTATE;
    if (--n->calls > 0)
        return DNI_OK;
    if (n->state == NUM_CALL_ONLY) {
        /* free again, at the back of the queue (the caller just saw it);
         * released_at stays the end of its last lease, which is what the
         * attribution window and stickiness count from */
        num_set_free(p, slot, n->released_at);
        return DNI_OK;
    }
    pool_lease_t *l = &p->leases[n->lease];
    if (l->pinned) {
        l->pinned = 0;
        double end = lease_end(p, l);
        if (now > end)
            lease_release(p, n->lease, now);
        else
            heap_push(p, end, n->lease);
    }
    return DNI_OK;
}

int dni_pool_lease_info(const dni_pool_t *p, uint32_t lease,
                        dni_lease_info_t *out)
{
    uint32_t ls = id_find(p, lease);
    if (ls == NONE)
        return DNI_ENOTFOUND;
    const pool_lease_t *l = &p->leases[ls];
    out->lease = l->id;
    out->slot = (int32_t)l->num;
    out->start = l->start;
    out->last_seen = l->last_seen;
    out->last_join = l->last_join;
    out->end = lease_end(p, l);
    out->joins = l->joins;
    out->pinned = l->pinned;
    out->confirmed = l->confirmed;
    return DNI_OK;
}

void dni_pool_stats(const dni_pool_t *p, dni_pool_stats_t *out)
{
    *out = p->st;
    out->numbers = p->num_used;
    out->free_numbers = p->free_count;
    out->live_leases = p->live;
    /* a number slot: the slot plus its entries in two tables sized at
     * twice the slot count; a lease slot: the slot, its heap entry and
     * its entries in two tables sized the same way */
    out->bytes_per_number = sizeof(pool_num_t) + 2 * 2 * sizeof(uint32_t);
    out->bytes_per_lease =
        sizeof(pool_lease_t) + sizeof(pool_timer_t) + 2 * 2 * sizeof(uint32_t);
    size_t b = sizeof *p;
    b += (size_t)p->num_cap * out->bytes_per_number;
    b += (size_t)p->lease_cap * out->bytes_per_lease;
    b += p->ev_cap * sizeof(dni_pool_event_t);
    for (uint32_t i = 0; i < p->lease_cap; i++)
        if (p->leases[i].id != 0 && p->leases[i].key_len > DNI_POOL_KEY_INLINE)
            b += p->leases[i].key_len;
    out->bytes = b;
}

int dni_tag_key_append(char *key, size_t cap, size_t *len, const char *value,
                       size_t value_len)
{
    char head[24];
    size_t h = 0;
    if (value == NULL) {
        head[h++] = '-';
    } else {
        char digits[21];
        size_t nd = 0, v = value_len;
        do {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        while (nd > 0)
            head[h++] = digits[--nd];
        head[h++] = ':';
    }
    size_t need = h + (value ? value_len : 0);
    if (*len > cap || cap - *len < need)
        return DNI_ELIMIT;
    memcpy(key + *len, head, h);
    if (value != NULL && value_len > 0)
        memcpy(key + *len + h, value, value_len);
    *len += need;
    return DNI_OK;
}

/* ---- internal entry points for pool_snapshot.c --------------------------- */

int dni__pool_shape(dni_pool_t *p, uint32_t num_cap, uint32_t lease_cap)
{
    pool_num_t *n = pool_realloc(p, p->nums, (size_t)num_cap * sizeof *n);
    if (n == NULL)
        return DNI_ENOMEM;
    p->nums = n;
    if (leases_resize(p, lease_cap) != DNI_OK)
        return DNI_ENOMEM;
    pool_lease_t *l = p->leases;
    memset(n, 0, (size_t)num_cap * sizeof *n);
    memset(l, 0, (size_t)lease_cap * sizeof *l);
    p->num_free_slot = p->lease_free_slot = NONE;
    for (uint32_t i = num_cap; i-- > 0;) {
        n[i].lease = n[i].prev = NONE;
        n[i].next = p->num_free_slot;
        p->num_free_slot = i;
    }
    for (uint32_t i = lease_cap; i-- > 0;) {
        l[i].num = p->lease_free_slot;
        p->lease_free_slot = i;
    }
    p->num_cap = num_cap;
    p->lease_cap = lease_cap;
    p->num_used = p->live = p->heap_len = p->free_count = 0;
    p->fresh.head = p->fresh.tail = p->released.head = p->released.tail = NONE;
    int rc = table_resize(p, TAB_NUM, num_cap * 2, NULL, 0);
    if (rc == DNI_OK)
        rc = table_resize(p, TAB_STK, num_cap * 2, NULL, 0);
    if (rc == DNI_OK)
        rc = table_resize(p, TAB_KEY, lease_cap * 2, NULL, 0);
    if (rc == DNI_OK)
        rc = table_resize(p, TAB_ID, lease_cap * 2, NULL, 0);
    return rc;
}

void dni__pool_table_insert(dni_pool_t *p, int kind, uint32_t slot)
{
    table_insert(p, kind, slot);
}

void dni__pool_list_append(dni_pool_t *p, pool_list_t *l, uint32_t slot)
{
    list_append(p, l, slot);
}

void dni__pool_heap_push(dni_pool_t *p, double due, uint32_t ls)
{
    heap_push(p, due, ls);
}

uint32_t dni__pool_num_find(const dni_pool_t *p, uint64_t digits)
{
    return num_find(p, digits);
}

uint32_t dni__pool_key_find(const dni_pool_t *p, const char *key, size_t len,
                            uint64_t h)
{
    return key_find(p, key, len, h);
}

uint32_t dni__pool_id_find(const dni_pool_t *p, uint32_t id)
{
    return id_find(p, id);
}

uint32_t dni__pool_sticky_find(const dni_pool_t *p, uint64_t h)
{
    return sticky_find(p, h);
}

uint64_t dni__pool_key_hash(const char *key, size_t len)
{
    return hash_bytes(key, len);
}

uint64_t dni__pool_e164_digits(const char *e164, size_t len)
{
    return e164_digits(e164, len);
}

void dni__pool_digits_e164(uint64_t d, char out[DNI_E164_SIZE])
{
    digits_e164(d, out);
}

const char *dni__pool_lease_key(const pool_lease_t *l)
{
    return lease_key(l);
}
