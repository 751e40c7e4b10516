/*
 * sim.c - the pool-sizing simulator: records a trace of visits, heartbeats,
 * leaves and calls, replays it against a fresh lease engine of a given
 * size, and scores every call: correct (attributed to the caller's
 * session), wrong (to someone else's) or unattributed.
 *
 * The trace is kept in memory (about 32 bytes per event plus each distinct
 * visitor id and tag key once), so --recommend can replay it as often as
 * its binary search needs. The report is formatted here, not by the
 * caller's JSON library, so every build prints the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "dni.h"

#define NONE UINT32_MAX
#define TAG_KEY_MAX 4096

enum { EV_VISIT, EV_HB, EV_LEAVE, EV_CALL };

typedef struct sim_event {
    double t;
    double duration; /* calls */
    uint32_t visitor;
    uint32_t tag_key; /* visits in tags mode */
    uint32_t type;
} sim_event_t;

/* A set of distinct strings, each given a dense index. */
typedef struct sim_strings {
    char *bytes;
    size_t len, cap;
    size_t *off; /* string i is bytes[off[i] .. off[i+1]) */
    uint32_t count, off_cap;
    uint32_t *tab; /* hash -> index, NONE when empty */
    uint32_t mask;
} sim_strings_t;

struct dni_sim {
    dni_pool_settings_t s;
    dni_allocator_t alloc;
    char (*numbers)[DNI_E164_SIZE];
    uint32_t n_numbers, numbers_cap;
    sim_strings_t tracked;  /* tracked tag names, in order */
    char **pending;         /* value per tracked tag for the next visit */
    size_t *pending_len;
    uint32_t pending_cap;
    sim_strings_t visitors;
    sim_strings_t tag_keys;
    sim_event_t *events;
    size_t n_events, events_cap;
    double last_t;
    uint64_t visits;
};

static void *sim_realloc(const dni_sim_t *sim, void *p, size_t n)
{
    return sim->alloc.realloc_fn(sim->alloc.ud, p, n);
}

/* Grows *arr (of elem-sized items, *cap of them) to hold need. */
static int grow(const dni_sim_t *sim, void **arr, size_t *cap, size_t need,
                size_t elem)
{
    if (need <= *cap)
        return DNI_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *p = sim_realloc(sim, *arr, c * elem);
    if (p == NULL)
        return DNI_ENOMEM;
    *arr = p;
    *cap = c;
    return DNI_OK;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 31;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 29);
}

static const char *str_at(const sim_strings_t *ss, uint32_t i, size_t *len)
{
    *len = ss->off[i + 1] - ss->off[i];
    return ss->bytes + ss->off[i];
}

static void strings_free(const dni_sim_t *sim, sim_strings_t *ss)
{
    sim_realloc(sim, ss->bytes, 0);
    sim_realloc(sim, ss->off, 0);
    sim_realloc(sim, ss->tab, 0);
    memset(ss, 0, sizeof *ss);
}

static uint32_t strings_find(const sim_strings_t *ss, const char *s, size_t n,
                             uint64_t h)
{
    if (ss->tab == NULL)
        return NONE;
    for (uint32_t i = (uint32_t)h & ss->mask;; i = (i + 1) & ss->mask) {
        uint32_t k = ss->tab[i];
        size_t kl;
        if (k == NONE)
            return NONE;
        const char *ks = str_at(ss, k, &kl);
        if (kl == n && memcmp(ks, s, n) == 0)
            return k;
    }
}

/* The index of s, adding it when new. Returns DNI_ENOMEM on failure. */
static int strings_intern(const dni_sim_t *sim, sim_strings_t *ss,
                          const char *s, size_t n, uint32_t *out)
{
    uint64_t h = hash_bytes(s, n);
    uint32_t k = strings_find(ss, s, n, h);
    if (k != NONE) {
        *out = k;
        return DNI_OK;
    }
    if (ss->count >= UINT32_MAX / 4)
        return DNI_ELIMIT;
    if ((size_t)(ss->count + 1) * 2 > (size_t)ss->mask + 1 || ss->tab == NULL) {
        uint32_t cap = ss->tab ? (ss->mask + 1) * 2 : 64;
        uint32_t *tab = sim_realloc(sim, NULL, (size_t)cap * sizeof *tab);
        if (tab == NULL)
            return DNI_ENOMEM;
        memset(tab, 0xff, (size_t)cap * sizeof *tab);
        for (uint32_t i = 0; i < ss->count; i++) {
            size_t kl;
            const char *ks = str_at(ss, i, &kl);
            uint32_t j = (uint32_t)hash_bytes(ks, kl) & (cap - 1);
            while (tab[j] != NONE)
                j = (j + 1) & (cap - 1);
            tab[j] = i;
        }
        sim_realloc(sim, ss->tab, 0);
        ss->tab = tab;
        ss->mask = cap - 1;
    }
    size_t ocap = ss->off_cap;
    if (grow(sim, (void **)&ss->bytes, &ss->cap, ss->len + n + 1, 1) != DNI_OK ||
        grow(sim, (void **)&ss->off, &ocap, (size_t)ss->count + 2,
             sizeof *ss->off) != DNI_OK)
        return DNI_ENOMEM;
    ss->off_cap = (uint32_t)ocap;
    if (ss->count == 0)
        ss->off[0] = 0;
    if (n > 0)
        memcpy(ss->bytes + ss->len, s, n);
    ss->len += n;
    k = ss->count++;
    ss->off[k + 1] = ss->len;
    uint32_t j = (uint32_t)h & ss->mask;
    while (ss->tab[j] != NONE)
        j = (j + 1) & ss->mask;
    ss->tab[j] = k;
    *out = k;
    return DNI_OK;
}

int dni_sim_create(dni_sim_t **out, const dni_pool_settings_t *s,
                   const dni_allocator_t *a)
{
    *out = NULL;
    if (s == NULL || !dni__pool_settings_valid(s))
        return DNI_EINVAL;
    dni_allocator_t al = dni__allocator(a);
    dni_sim_t *sim = al.realloc_fn(al.ud, NULL, sizeof *sim);
    if (sim == NULL)
        return DNI_ENOMEM;
    memset(sim, 0, sizeof *sim);
    sim->s = *s;
    sim->s.number_limit = 0; /* the simulator chooses the size */
    sim->alloc = al;
    sim->last_t = -INFINITY;
    *out = sim;
    return DNI_OK;
}

void dni_sim_destroy(dni_sim_t *sim)
{
    if (sim == NULL)
        return;
    for (uint32_t i = 0; i < sim->pending_cap; i++)
        sim_realloc(sim, sim->pending[i], 0);
    sim_realloc(sim, sim->pending, 0);
    sim_realloc(sim, sim->pending_len, 0);
    sim_realloc(sim, sim->numbers, 0);
    sim_realloc(sim, sim->events, 0);
    strings_free(sim, &sim->tracked);
    strings_free(sim, &sim->visitors);
    strings_free(sim, &sim->tag_keys);
    sim_realloc(sim, sim, 0);
}

int dni_sim_add_number(dni_sim_t *sim, const char *e164, size_t len)
{
    dni_phone_t ph;
    if (e164 == NULL || len == 0 || e164[0] != '+' ||
        dni_phone_parse(&ph, e164, len, NULL) != DNI_OK ||
        strlen(ph.e164) != len || memcmp(ph.e164, e164, len) != 0)
        return DNI_ENOTPHONE;
    for (uint32_t i = 0; i < sim->n_numbers; i++)
        if (strcmp(sim->numbers[i], ph.e164) == 0)
            return DNI_EEXISTS;
    size_t cap = sim->numbers_cap;
    if (sim->n_numbers >= UINT32_MAX / 4 ||
        grow(sim, (void **)&sim->numbers, &cap, (size_t)sim->n_numbers + 1,
             sizeof *sim->numbers) != DNI_OK)
        return DNI_ENOMEM;
    sim->numbers_cap = (uint32_t)cap;
    memcpy(sim->numbers[sim->n_numbers++], ph.e164, DNI_E164_SIZE);
    return DNI_OK;
}

uint32_t dni_sim_numbers(const dni_sim_t *sim)
{
    return sim->n_numbers;
}

int dni_sim_track_tag(dni_sim_t *sim, const char *name, size_t len)
{
    uint32_t k;
    int rc = strings_intern(sim, &sim->tracked, name, len, &k);
    if (rc != DNI_OK)
        return rc;
    if (k < sim->pending_cap)
        return DNI_OK;
    uint32_t cap = sim->pending_cap ? sim->pending_cap * 2 : 8;
    char **p = sim_realloc(sim, sim->pending, cap * sizeof *p);
    if (p == NULL)
        return DNI_ENOMEM;
    sim->pending = p;
    size_t *pl = sim_realloc(sim, sim->pending_len, cap * sizeof *pl);
    if (pl == NULL)
        return DNI_ENOMEM;
    sim->pending_len = pl;
    for (uint32_t i = sim->pending_cap; i < cap; i++) {
        p[i] = NULL;
        pl[i] = 0;
    }
    sim->pending_cap = cap;
    return DNI_OK;
}

int dni_sim_tag(dni_sim_t *sim, const char *name, size_t name_len,
                const char *value, size_t value_len)
{
    uint32_t k = strings_find(&sim->tracked, name, name_len,
                              hash_bytes(name, name_len));
    if (k == NONE)
        return DNI_OK; /* not part of the identity */
    if (value_len > TAG_KEY_MAX)
        return DNI_ELIMIT;
    /* +1: a present empty value is a non-NULL pointer */
    char *v = sim_realloc(sim, sim->pending[k], value_len + 1);
    if (v == NULL)
        return DNI_ENOMEM;
    if (value_len > 0)
        memcpy(v, value, value_len);
    sim->pending[k] = v;
    sim->pending_len[k] = value_len;
    return DNI_OK;
}

static int record(dni_sim_t *sim, uint32_t type, double t, const char *visitor,
                  size_t len, double duration, uint32_t tag_key)
{
    if (!isfinite(t) || !isfinite(duration) || duration < 0 ||
        (visitor == NULL && len > 0))
        return DNI_EINVAL;
    if (t < sim->last_t)
        return DNI_EORDER;
    uint32_t v;
    int rc = strings_intern(sim, &sim->visitors, visitor ? visitor : "", len, &v);
    if (rc != DNI_OK)
        return rc;
    if (grow(sim, (void **)&sim->events, &sim->events_cap, sim->n_events + 1,
             sizeof *sim->events) != DNI_OK)
        return DNI_ENOMEM;
    sim_event_t *e = &sim->events[sim->n_events++];
    e->t = t;
    e->duration = duration;
    e->visitor = v;
    e->tag_key = tag_key;
    e->type = type;
    sim->last_t = t;
    return DNI_OK;
}

int dni_sim_visit(dni_sim_t *sim, double t, const char *visitor, size_t len)
{
    if (!isnan(t) && t < sim->last_t)
        return DNI_EORDER;
    uint32_t key = 0;
    if (sim->s.mode == DNI_MODE_TAGS) {
        char buf[TAG_KEY_MAX];
        size_t n = 0;
        for (uint32_t i = 0; i < sim->tracked.count; i++) {
            int rc = dni_tag_key_append(buf, sizeof buf, &n, sim->pending[i],
                                        sim->pending_len[i]);
            if (rc != DNI_OK)
                return rc;
        }
        int rc = strings_intern(sim, &sim->tag_keys, buf, n, &key);
        if (rc != DNI_OK)
            return rc;
    }
    for (uint32_t i = 0; i < sim->pending_cap; i++) {
        sim_realloc(sim, sim->pending[i], 0);
        sim->pending[i] = NULL;
    }
    int rc = record(sim, EV_VISIT, t, visitor, len, 0, key);
    if (rc == DNI_OK)
        sim->visits++;
    return rc;
}

int dni_sim_hb(dni_sim_t *sim, double t, const char *visitor, size_t len)
{
    return record(sim, EV_HB, t, visitor, len, 0, 0);
}

int dni_sim_leave(dni_sim_t *sim, double t, const char *visitor, size_t len)
{
    return record(sim, EV_LEAVE, t, visitor, len, 0, 0);
}

int dni_sim_call(dni_sim_t *sim, double t, const char *visitor, size_t len,
                 double duration)
{
    return record(sim, EV_CALL, t, visitor, len, duration, 0);
}

/* ---- replay ------------------------------------------------------------ */

typedef struct sim_visitor {
    uint32_t lease;   /* their current lease id, 0 if none */
    int32_t slot;     /* number last shown; -1: default/overflow or none */
    uint32_t tag_key; /* tags at their last visit */
} sim_visitor_t;

typedef struct sim_owner {
    uint32_t visitor;
    uint32_t tag_key;
} sim_owner_t;

typedef struct sim_call_end {
    double t;
    uint64_t seq;
    uint32_t slot;
} sim_call_end_t;

typedef struct sim_replay {
    sim_visitor_t *visitors;
    sim_owner_t *owners; /* by lease id (ids are dense from 1) */
    size_t owners_cap;
    sim_call_end_t *ends; /* min-heap */
    size_t n_ends, ends_cap;
    uint8_t *used; /* per number slot */
    size_t used_cap;
} sim_replay_t;

static int end_less(const sim_call_end_t *a, const sim_call_end_t *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ends_push(sim_replay_t *r, sim_call_end_t e)
{
    size_t i = r->n_ends++;
    while (i > 0 && end_less(&e, &r->ends[(i - 1) / 2])) {
        r->ends[i] = r->ends[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->ends[i] = e;
}

static sim_call_end_t ends_pop(sim_replay_t *r)
{
    sim_call_end_t top = r->ends[0], last = r->ends[--r->n_ends];
    size_t i = 0, n = r->n_ends;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && end_less(&r->ends[c + 1], &r->ends[c]))
            c++;
        if (!end_less(&r->ends[c], &last))
            break;
        r->ends[i] = r->ends[c];
        i = c;
    }
    if (n > 0)
        r->ends[i] = last;
    return top;
}

/* Fills the pool with size numbers: the listed ones first, then
 * generated ones (+1999 and seven digits). */
static int fill_pool(const dni_sim_t *sim, dni_pool_t *p, uint32_t size)
{
    uint32_t added = 0;
    for (uint32_t i = 0; i < sim->n_numbers && added < size; i++) {
        int rc = dni_pool_add_number(p, sim->numbers[i], strlen(sim->numbers[i]));
        if (rc < 0)
            return rc;
        added++;
    }
    for (uint32_t g = 0; added < size; g++) {
        if (g >= 10000000)
            return DNI_ELIMIT;
        char num[DNI_E164_SIZE];
        snprintf(num, sizeof num, "+1999%07u", (unsigned)g);
        int rc = dni_pool_add_number(p, num, strlen(num));
        if (rc == DNI_EEXISTS)
            continue;
        if (rc < 0)
            return rc;
        added++;
    }
    return DNI_OK;
}

static int replay(const dni_sim_t *sim, dni_pool_t *p, sim_replay_t *r,
                  dni_sim_result_t *res, uint8_t *outcomes, size_t n_out)
{
    uint64_t seq = 0;
    for (size_t i = 0; i < sim->n_events; i++) {
        const sim_event_t *e = &sim->events[i];
        /* calls that ended by now hang up first */
        while (r->n_ends > 0 && r->ends[0].t <= e->t) {
            sim_call_end_t ce = ends_pop(r);
            int rc = dni_pool_call_end(p, ce.slot, ce.t);
            if (rc < 0)
                return rc;
        }
        sim_visitor_t *v = &r->visitors[e->visitor];
        int rc = DNI_OK;
        switch (e->type) {
        case EV_VISIT: {
            size_t klen;
            const char *key =
                sim->s.mode == DNI_MODE_TAGS
                    ? str_at(&sim->tag_keys, e->tag_key, &klen)
                    : str_at(&sim->visitors, e->visitor, &klen);
            dni_assignment_t a;
            rc = dni_pool_assign(p, key, klen, e->t, &a);
            if (rc < 0)
                return rc;
            res->visits++;
            v->tag_key = e->tag_key;
            v->lease = a.lease;
            v->slot = a.slot;
            if (a.kind == DNI_ASSIGN_OVERFLOW) {
                res->overflow++;
                break;
            }
            if (a.kind != DNI_ASSIGN_CURRENT) {
                res->leases++;
                if (a.lease >= r->owners_cap)
                    return DNI_ELIMIT; /* ids are dense: cannot happen */
                r->owners[a.lease].visitor = e->visitor;
                r->owners[a.lease].tag_key = e->tag_key;
                if (!r->used[a.slot]) {
                    r->used[a.slot] = 1;
                    res->numbers_used++;
                }
            }
            break;
        }
        case EV_HB:
        case EV_LEAVE:
            if (v->lease != 0) {
                rc = e->type == EV_HB ? dni_pool_seen(p, v->lease, e->t)
                                      : dni_pool_leave(p, v->lease, e->t);
                if (rc == DNI_ENOTFOUND) {
                    v->lease = 0; /* the lease is over; nothing to extend */
                    rc = DNI_OK;
                }
            }
            break;
        case EV_CALL: {
            size_t call_ix = (size_t)res->calls++;
            uint8_t *outcome = outcomes && call_ix < n_out ? &outcomes[call_ix] : NULL;
            if (outcome)
                *outcome = DNI_SIM_UNATTRIBUTED;
            if (v->slot < 0) {
                res->unattributed++; /* shown default/overflow, or unknown */
                break;
            }
            dni_call_attribution_t at;
            rc = dni_pool_call_start(p, (uint32_t)v->slot, e->t, &at);
            if (rc < 0)
                return rc;
            sim_call_end_t ce = {e->t + e->duration, seq++, (uint32_t)v->slot};
            ends_push(r, ce);
            if (at.lease == 0 || at.lease >= r->owners_cap)
                res->unattributed++;
            else if (sim->s.mode == DNI_MODE_TAGS
                         ? r->owners[at.lease].tag_key == v->tag_key
                         : r->owners[at.lease].visitor == e->visitor) {
                res->correct++;
                if (outcome)
                    *outcome = DNI_SIM_CORRECT;
            } else {
                res->wrong++;
                if (outcome)
                    *outcome = DNI_SIM_WRONG;
            }
            rc = DNI_OK;
            break;
        }
        }
        if (rc < 0)
            return rc;
    }
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    res->peak_live_leases = st.peak_live_leases;
    return DNI_OK;
}

static int run_sized(dni_sim_t *sim, uint32_t size, dni_sim_result_t *out,
                     uint8_t *outcomes, size_t n_out);

int dni_sim_run(dni_sim_t *sim, uint32_t size, dni_sim_result_t *out)
{
    return run_sized(sim, size, out, NULL, 0);
}

int dni_sim_run_outcomes(dni_sim_t *sim, uint32_t size, dni_sim_result_t *out,
                         uint8_t *outcomes, size_t n)
{
    return run_sized(sim, size, out, outcomes, n);
}

static int run_sized(dni_sim_t *sim, uint32_t size, dni_sim_result_t *out,
                     uint8_t *outcomes, size_t n_out)
{
    memset(out, 0, sizeof *out);
    out->size = size;
    dni_pool_t *p;
    int rc = dni_pool_create(&p, &sim->s, &sim->alloc);
    if (rc != DNI_OK)
        return rc;
    sim_replay_t r;
    memset(&r, 0, sizeof r);
    size_t nv = (size_t)sim->visitors.count + 1;
    r.owners_cap = (size_t)sim->visits + 2;
    r.ends_cap = sim->n_events + 1;
    r.used_cap = (size_t)size + 1;
    r.visitors = sim_realloc(sim, NULL, nv * sizeof *r.visitors);
    r.owners = sim_realloc(sim, NULL, r.owners_cap * sizeof *r.owners);
    r.ends = sim_realloc(sim, NULL, r.ends_cap * sizeof *r.ends);
    r.used = sim_realloc(sim, NULL, r.used_cap);
    rc = DNI_ENOMEM;
    if (r.visitors && r.owners && r.ends && r.used) {
        for (size_t i = 0; i < nv; i++) {
            r.visitors[i].lease = 0;
            r.visitors[i].slot = -1;
            r.visitors[i].tag_key = 0;
        }
        memset(r.owners, 0, r.owners_cap * sizeof *r.owners);
        memset(r.used, 0, r.used_cap);
        rc = fill_pool(sim, p, size);
        if (rc == DNI_OK)
            rc = replay(sim, p, &r, out, outcomes, n_out);
    }
    sim_realloc(sim, r.visitors, 0);
    sim_realloc(sim, r.owners, 0);
    sim_realloc(sim, r.ends, 0);
    sim_realloc(sim, r.used, 0);
    dni_pool_destroy(p);
    return rc;
}

/* Does the run reach the accuracy? A trace without calls always does. */
static int meets(const dni_sim_result_t *res, double accuracy)
{
    return (double)res->correct >= accuracy * (double)res->calls;
}

/* Appends formatted text to out, tracking overflow of cap. */
static void put(char *out, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len < cap) {
        size_t room = cap - *len;
        memcpy(out + *len, text, n < room ? n : room);
    }
    *len += n;
}

static void put_u64(char *out, size_t cap, size_t *len, const char *key,
                    uint64_t v)
{
    char buf[64];
    snprintf(buf, sizeof buf, ",\"%s\":%llu", key, (unsigned long long)v);
    put(out, cap, len, buf);
}

int dni_sim_report(dni_sim_t *sim, uint32_t size, double recommend, char *out,
                   size_t cap, size_t *len)
{
    if (isnan(recommend) || recommend > 1)
        return DNI_EINVAL;
    if (size == 0)
        size = sim->n_numbers;
    dni_sim_result_t res;
    int rc = dni_sim_run(sim, size, &res);
    if (rc != DNI_OK)
        return rc;
    int have_rec = recommend >= 0, rec_null = 0;
    uint32_t rec = 0;
    if (have_rec) {
        /* one number per visit is as good as any pool can do */
        uint64_t top = sim->visits > size ? sim->visits : size;
        uint32_t hi = top > UINT32_MAX / 4 ? UINT32_MAX / 4 : (uint32_t)top;
        dni_sim_result_t r;
        if (hi == size) {
            r = res;
        } else if ((rc = dni_sim_run(sim, hi, &r)) != DNI_OK) {
            return rc;
        }
        if (!meets(&r, recommend)) {
            rec_null = 1;
        } else {
            uint32_t lo = 0; /* answer in [lo, hi], hi meets */
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if ((rc = dni_sim_run(sim, mid, &r)) != DNI_OK)
                    return rc;
                if (meets(&r, recommend))
                    hi = mid;
                else
                    lo = mid + 1;
            }
            rec = hi;
        }
    }
    size_t n = 0;
    char buf[96];
    snprintf(buf, sizeof buf, "{\"mode\":\"%s\",\"size\":%u",
             sim->s.mode == DNI_MODE_TAGS ? "tags" : "visitor",
             (unsigned)res.size);
    put(out, cap, &n, buf);
    put_u64(out, cap, &n, "visits", res.visits);
    put_u64(out, cap, &n, "leases", res.leases);
    put_u64(out, cap, &n, "overflow", res.overflow);
    put_u64(out, cap, &n, "calls", res.calls);
    put_u64(out, cap, &n, "correct", res.correct);
    put_u64(out, cap, &n, "wrong", res.wrong);
    put_u64(out, cap, &n, "unattributed", res.unattributed);
    if (res.calls == 0) {
        put(out, cap, &n, ",\"accuracy\":null");
    } else {
        /* correct/calls rounded half up to 4 decimals, in integers */
        unsigned long long q =
            (unsigned long long)((res.correct * 20000 + res.calls) /
                                 (2 * res.calls));
        snprintf(buf, sizeof buf, ",\"accuracy\":%llu.%04llu", q / 10000,
                 q % 10000);
        put(out, cap, &n, buf);
    }
    put_u64(out, cap, &n, "peak_live_leases", res.peak_live_leases);
    put_u64(out, cap, &n, "numbers_used", res.numbers_used);
    if (have_rec) {
        if (rec_null)
            put(out, cap, &n, ",\"recommended_size\":null");
        else
            put_u64(out, cap, &n, "recommended_size", rec);
    }
    put(out, cap, &n, "}\n");
    if (len != NULL)
        *len = n;
    if (n >= cap) {
        if (cap > 0)
            out[cap - 1] = '\0';
        return DNI_ELIMIT;
    }
    out[n] = '\0';
    return DNI_OK;
}
