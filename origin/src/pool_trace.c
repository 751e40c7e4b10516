/*
 * pool_trace.c - a pool's recorded traffic as a simulator trace: the same
 * events feed the pool report's simulation (reports.c) and are written as
 * the JSON lines of GET /v1/pools/{id}/trace, so `dni sim` on the export
 * prints exactly what the report computed.
 *
 * What the store knows and how it becomes trace events:
 *   - a lease (session): a "visit" at its start by its visitor (the lease
 *     id when the edge sent none) with its tags; in tags mode a second
 *     visit at its last join (a visitor joining restarts max_lease_s);
 *   - its heartbeats: the store keeps only the last one (last_seen), so
 *     "hb" events are laid from the start to last_seen at 0.9 x buffer_s
 *     apart: the lease stays live exactly as long as it did, without
 *     replaying every beat the edge folded;
 *   - a visitor shown the overflow number (overflow_events): a visit by
 *     "overflow:N" with no heartbeat (with more numbers they would have
 *     had a lease for min_hold_s at least);
 *   - a call on a pool number: DNI__CALLER_DRAWS "call" events at its
 *     start lasting its duration, by the visitors who may have dialled it,
 *     drawn by caller_model.c (the recorded attribution hides the late
 *     callers that sizing is about; a match set by hand is taken as it
 *     is); a call to the overflow number by the latest overflow visitor
 *     before it not yet given a call; a call no session could have made
 *     by "unknown:SID", a caller the replay cannot know either. Calls to
 *     the default number are not the pool's traffic.
 * Leases that started up to max_lease_s + attribution_window_s before the
 * window (live at its start, or candidates of its calls) and the sessions
 * of the window's calls are included, so the replay begins with the
 * numbers as busy as they were.
 *
 * Times are rounded to milliseconds, so the text of the export parses
 * back to the very doubles the report used.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define MAX_EVENTS 5000000

static double ms(double t) { return round(t * 1000) / 1000; }

static int push(dni_trace_t *tr, int type, double t, uint32_t visitor,
                int32_t text, double duration)
{
    if (tr->n == tr->cap) {
        if (tr->cap >= MAX_EVENTS) {
            tr->truncated = 1;
            return 0;
        }
        size_t cap = tr->cap ? tr->cap * 2 : 1024;
        dni_trace_event_t *e = realloc(tr->ev, cap * sizeof *e);
        if (!e)
            return -1;
        tr->ev = e;
        tr->cap = cap;
    }
    dni_trace_event_t *e = &tr->ev[tr->n];
    e->t = ms(t);
    e->duration = ms(duration);
    e->type = type;
    e->visitor = visitor;
    e->text = text;
    e->seq = (uint32_t)tr->n;
    e->call = -1;
    tr->n++;
    return 0;
}

/* Adds a string (copied); returns its index or -1. */
static int32_t add_str(dni_trace_t *tr, const char *s)
{
    if (tr->nstr == tr->strcap) {
        size_t cap = tr->strcap ? tr->strcap * 2 : 256;
        char **v = realloc(tr->str, cap * sizeof *v);
        if (!v)
            return -1;
        tr->str = v;
        tr->strcap = cap;
    }
    char *c = strdup(s);
    if (!c)
        return -1;
    tr->str[tr->nstr] = c;
    return (int32_t)tr->nstr++;
}

/* Tags as JSON text holding only string values (what a trace carries). */
static char *clean_tags(const char *json)
{
    cJSON *t = json ? cJSON_Parse(json) : NULL;
    cJSON *out = cJSON_CreateObject();
    const cJSON *it;
    cJSON_ArrayForEach(it, t)
    {
        if (cJSON_IsString(it) && it->string)
            cJSON_AddStringToObject(out, it->string, it->valuestring);
    }
    cJSON_Delete(t);
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

/* The traffic source a call is reported under: utm_source, else the
 * edge's kind of source (search, social, other, direct). */
static const char *source_of(const cJSON *tags)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tags, "utm_source");
    if (cJSON_IsString(v) && *v->valuestring)
        return v->valuestring;
    v = cJSON_GetObjectItemCaseSensitive(tags, "source");
    if (cJSON_IsString(v) && *v->valuestring)
        return v->valuestring;
    return "(none)";
}

static int ev_cmp(const void *a, const void *b)
{
    const dni_trace_event_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->type != y->type)
        return x->type - y->type;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A session as the caller model and the call events need it. */
typedef struct span {
    char key[200];    /* edge \x1f lease */
    char number[24];
    double start, end;
    uint32_t visitor; /* index into str */
    int32_t source;   /* index into str */
} span_t;

typedef struct spans {
    span_t *v;
    size_t n, cap;
} spans_t;

/* A lease's events; its span goes to sp. */
static int add_lease(dni_trace_t *tr, const dni_pool_settings_t *s,
                     dni_stmt_t *st, double now, spans_t *sp)
{
    char id[200];
    const char *visitor = dni__col_text(st, 2);
    if (!visitor || !*visitor) {
        snprintf(id, sizeof id, "lease:%s/%s", dni__col_text(st, 0),
                 dni__col_text(st, 1));
        visitor = id;
    }
    char *tags = clean_tags(dni__col_text(st, 3));
    cJSON *parsed = tags ? cJSON_Parse(tags) : NULL;
    int32_t v = add_str(tr, visitor);
    int32_t tx = tags ? add_str(tr, tags) : -1;
    int32_t src = add_str(tr, source_of(parsed));
    cJSON_Delete(parsed);
    free(tags);
    if (v < 0 || tx < 0 || src < 0)
        return -1;
    double start = dni__col_double(st, 4);
    double seen = dni__col_double(st, 5);
    double join = dni__col_double(st, 6);
    double end = dni_lease_end_time(s, start, seen, join);
    if (!dni__col_is_null(st, 7)) {
        double rel = dni__col_double(st, 7);
        if (rel < end)
            end = rel;
    }
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? 2 * sp->cap : 256;
        span_t *nv = realloc(sp->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        sp->v = nv;
        sp->cap = cap;
    }
    span_t *x = &sp->v[sp->n++];
    snprintf(x->key, sizeof x->key, "%s\x1f%s", dni__col_text(st, 0),
             dni__col_text(st, 1));
    snprintf(x->number, sizeof x->number, "%s", dni__col_text(st, 8));
    x->start = start;
    x->end = end;
    x->visitor = (uint32_t)v;
    x->source = src;
    if (seen > end)
        seen = end;
    if (seen > now)
        seen = now;
    tr->leases++;
    if (push(tr, DNI_TRACE_VISIT, start, (uint32_t)v, tx, 0))
        return -1;
    double step = 0.9 * s->buffer_s;
    if (step < 1)
        step = 1;
    /* Beats before start + min_hold_s - buffer_s keep nothing alive that
     * the minimum hold does not. */
    double first = start + s->min_hold_s - s->buffer_s;
    for (double h = start + step; h < seen; h += step)
        if (h >= first && push(tr, DNI_TRACE_HB, h, (uint32_t)v, -1, 0))
            return -1;
    if (seen > start && push(tr, DNI_TRACE_HB, seen, (uint32_t)v, -1, 0))
        return -1;
    if (s->mode == DNI_MODE_TAGS && join > start) {
        char jid[220];
        snprintf(jid, sizeof jid, "%s#join", visitor);
        int32_t jv = add_str(tr, jid);
        if (jv < 0 || push(tr, DNI_TRACE_VISIT, join, (uint32_t)jv, tx, 0))
            return -1;
    }
    return 0;
}

/* A call of the window, read before the model gives it its caller. */
typedef struct call_row {
    char sid[65];
    char kind[16];
    char number[24];
    char key[200]; /* its session: edge \x1f lease, or "" */
    double start, duration;
    int manual;
} call_row_t;

static const spans_t *sort_spans;

/* Span indexes by number, then start. */
static int by_number(const void *a, const void *b)
{
    const span_t *x = &sort_spans->v[*(const uint32_t *)a];
    const span_t *y = &sort_spans->v[*(const uint32_t *)b];
    int c = strcmp(x->number, y->number);
    if (c)
        return c;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(sort_spans->v[*(const uint32_t *)a].key,
                  sort_spans->v[*(const uint32_t *)b].key);
}

#define MAX_CANDIDATES 64

/*
 * Gives every call on a pool number its caller (caller_model.c) and
 * pushes the call events. ovf[0..novf) are the overflow visits (event
 * indexes), for the calls to the overflow number.
 */
static int add_calls(dni_trace_t *tr, const dni_pool_settings_t *s,
                     const spans_t *sp, const call_row_t *calls, size_t nc,
                     double from, double to, size_t ovf_first, size_t ovf_last)
{
    int rc = -1;
    uint32_t *order = malloc((sp->n + 1) * sizeof *order);
    uint32_t *keys = malloc((sp->n + 1) * sizeof *keys);
    size_t *off = malloc((nc + 1) * sizeof *off);
    uint32_t *cand = malloc((nc * MAX_CANDIDATES + 1) * sizeof *cand);
    int32_t *fixed = malloc((nc + 1) * sizeof *fixed);
    int32_t *caller = malloc((nc + 1) * DNI__CALLER_DRAWS * sizeof *caller);
    double *ct = malloc((nc + 1) * sizeof *ct);
    double *st = malloc((sp->n + 1) * sizeof *st);
    double *en = malloc((sp->n + 1) * sizeof *en);
    const char **sids = malloc((nc + 1) * sizeof *sids);
    unsigned char *ovf_used = calloc(ovf_last - ovf_first + 1, 1);
    uint32_t *group = malloc((sp->n + 1) * sizeof *group);
    uint32_t *gfirst = malloc((sp->n + 1) * sizeof *gfirst);
    if (!order || !keys || !off || !cand || !fixed || !caller || !ct || !st ||
        !en || !sids || !ovf_used || !group || !gfirst)
        goto out;
    for (size_t i = 0; i < sp->n; i++) {
        order[i] = keys[i] = (uint32_t)i;
        st[i] = sp->v[i].start;
        en[i] = sp->v[i].end;
    }
    sort_spans = sp;
    qsort(order, sp->n, sizeof *order, by_number);
    qsort(keys, sp->n, sizeof *keys, by_key);
    size_t k = 0;
    for (size_t c = 0; c < nc; c++) {
        const call_row_t *r = &calls[c];
        off[c] = k;
        fixed[c] = -1;
        ct[c] = r->start;
        sids[c] = r->sid;
        if (strcmp(r->kind, "session") && strcmp(r->kind, "unattributed"))
            continue;
        /* The last session on the number that started by the call. */
        size_t lo = 0, hi = sp->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const span_t *x = &sp->v[order[mid]];
            int cmp = strcmp(x->number, r->number);
            if (cmp < 0 || (cmp == 0 && x->start <= r->start))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i-- > 0 && k - off[c] < MAX_CANDIDATES;) {
            const span_t *x = &sp->v[order[i]];
            if (strcmp(x->number, r->number))
                break;
            if (x->end + s->attribution_window_s < r->start)
                break;
            cand[k++] = order[i];
        }
        if (r->manual && r->key[0]) {
            for (size_t i = off[c]; i < k; i++)
                if (!strcmp(sp->v[cand[i]].key, r->key))
                    fixed[c] = (int32_t)cand[i];
            if (fixed[c] < 0) {
                /* Matched by hand to a session that is no candidate: the
                 * person knew; it is the only one. */
                size_t l2 = 0, h2 = sp->n;
                while (l2 < h2) {
                    size_t mid = l2 + (h2 - l2) / 2;
                    if (strcmp(sp->v[keys[mid]].key, r->key) < 0)
                        l2 = mid + 1;
                    else
                        h2 = mid;
                }
                if (l2 < sp->n && !strcmp(sp->v[keys[l2]].key, r->key)) {
                    k = off[c];
                    cand[k++] = keys[l2];
                    fixed[c] = (int32_t)keys[l2];
                }
            }
        }
        if (r->manual && !r->key[0])
            k = off[c]; /* "no session", by hand */
    }
    off[nc] = k;
    /* Sources as groups: str indexes are interned per source name. */
    size_t ng = 0;
    for (size_t i = 0; i < sp->n; i++) {
        size_t g = 0;
        while (g < ng && strcmp(tr->str[sp->v[gfirst[g]].source],
                                tr->str[sp->v[i].source]))
            g++;
        if (g == ng)
            gfirst[ng++] = (uint32_t)i;
        group[i] = (uint32_t)g;
    }
    dni_caller_model_t m = {
        .group = group, .ngroups = ng,
        .start = st, .end = en, .nspans = sp->n, .ncalls = nc, .call_t = ct,
        .sid = sids, .cand_off = off, .cand = cand, .fixed = fixed,
        .from = from, .to = to, .window_s = s->attribution_window_s,
        .caller = caller,
    };
    if (dni__caller_model(&m))
        goto out;
    tr->late_share = m.late_share;
    for (size_t c = 0; c < nc; c++) {
        const call_row_t *r = &calls[c];
        if (!strcmp(r->kind, "default")) {
            tr->default_calls++;
            continue;
        }
        if (!strcmp(r->kind, "session"))
            tr->session_calls++;
        else if (!strcmp(r->kind, "overflow"))
            tr->overflow_calls++;
        else
            tr->unattributed_calls++;
        /* An overflow call is the latest overflow visitor's before it not
         * yet paired, the same for every draw. */
        int32_t ovf_v = -1;
        if (!strcmp(r->kind, "overflow")) {
            for (size_t e = ovf_last; e-- > ovf_first;)
                if (tr->ev[e].t <= r->start && !ovf_used[e - ovf_first]) {
                    ovf_used[e - ovf_first] = 1;
                    ovf_v = (int32_t)tr->ev[e].visitor;
                    break;
                }
        }
        int32_t unknown = -1;
        for (int j = 0; j < DNI__CALLER_DRAWS; j++) {
            int32_t who = caller[c * DNI__CALLER_DRAWS + (size_t)j];
            const char *source = "(unknown)";
            int32_t v = -1;
            if (who >= 0) {
                const span_t *x = &sp->v[who];
                v = (int32_t)x->visitor;
                source = tr->str[x->source];
                if (strcmp(x->key, r->key))
                    tr->moved_calls += 1.0 / DNI__CALLER_DRAWS;
            } else if (ovf_v >= 0) {
                v = ovf_v;
                source = "(overflow)";
            }
            if (v < 0 && unknown < 0) {
                char id[220];
                snprintf(id, sizeof id, "unknown:%s", r->sid);
                unknown = add_str(tr, id);
            }
            if (v < 0)
                v = unknown;
            int32_t src = add_str(tr, source);
            if (v < 0 || src < 0 ||
                push(tr, DNI_TRACE_CALL, r->start, (uint32_t)v, src, r->duration))
                goto out;
        }
    }
    rc = 0;
out:
    free(order);
    free(keys);
    free(off);
    free(cand);
    free(fixed);
    free(caller);
    free(ct);
    free(st);
    free(en);
    free(sids);
    free(ovf_used);
    free(group);
    free(gfirst);
    return rc;
}

int dni__trace_build(dni_db_t *db, const char *pool,
                     const dni_pool_settings_t *s, double from, double to,
                     double now, dni_trace_t *tr)
{
    memset(tr, 0, sizeof *tr);
    spans_t sp = {0};
    call_row_t *calls = NULL;
    size_t nc = 0, ccap = 0;
    int result = -1;
    /* Leases that could have made a call of the window (started up to
     * max_lease_s + attribution_window_s before it) and the sessions its
     * calls are attributed to. */
    dni_stmt_t *st = dni__stmt(
        db, "SELECT edge, lease, visitor, tags, start, last_seen, last_join,"
            " released_at, number FROM leases WHERE pool_id = ?1 AND"
            " ((start >= ?2 AND start < ?3) OR (edge, lease) IN (SELECT"
            " lease_edge, lease_id FROM calls WHERE pool_id = ?1 AND kind ="
            " 'session' AND started_at >= ?4 AND started_at < ?3))");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_double(st, 2, from - s->max_lease_s - s->attribution_window_s);
    dni__bind_double(st, 3, to);
    dni__bind_double(st, 4, from);
    int rc;
    while ((rc = dni__step(st)) == DNI_ROW)
        if (add_lease(tr, s, st, now, &sp)) {
            rc = DNI_ERR;
            break;
        }
    dni__reset(st);
    if (rc != DNI_DONE)
        goto out;

    /* Visitors the pool could not serve. */
    st = dni__stmt(db, "SELECT t FROM overflow_events WHERE pool_id = ?1 AND"
                       " t >= ?2 AND t < ?3 ORDER BY t");
    if (!st)
        goto out;
    dni__bind_text(st, 1, pool);
    dni__bind_double(st, 2, from);
    dni__bind_double(st, 3, to);
    size_t ovf_first = tr->n;
    while ((rc = dni__step(st)) == DNI_ROW) {
        char id[40];
        snprintf(id, sizeof id, "overflow:%zu", tr->overflow + 1);
        int32_t v = add_str(tr, id);
        if (v < 0 || push(tr, DNI_TRACE_VISIT, dni__col_double(st, 0),
                          (uint32_t)v, -1, 0)) {
            rc = DNI_ERR;
            break;
        }
        tr->overflow++;
    }
    dni__reset(st);
    if (rc != DNI_DONE)
        goto out;
    size_t ovf_last = tr->n;

    st = dni__stmt(
        db, "SELECT sid, kind, started_at, ended_at, to_number,"
            " coalesce(lease_edge || ?4 || lease_id, ''),"
            " manual_at IS NOT NULL,"
            " (SELECT max(duration) FROM call_events e WHERE e.sid = c.sid)"
            " FROM calls c WHERE pool_id = ?1 AND started_at >= ?2"
            " AND started_at < ?3 ORDER BY started_at, id");
    if (!st)
        goto out;
    dni__bind_text(st, 1, pool);
    dni__bind_double(st, 2, from);
    dni__bind_double(st, 3, to);
    dni__bind_text(st, 4, "\x1f"); /* between edge and lease */
    while ((rc = dni__step(st)) == DNI_ROW) {
        if (nc == ccap) {
            ccap = ccap ? 2 * ccap : 64;
            call_row_t *n = realloc(calls, ccap * sizeof *n);
            if (!n) {
                rc = DNI_ERR;
                break;
            }
            calls = n;
        }
        call_row_t *r = &calls[nc++];
        snprintf(r->sid, sizeof r->sid, "%s", dni__col_text(st, 0));
        snprintf(r->kind, sizeof r->kind, "%s", dni__col_text(st, 1));
        r->start = dni__col_double(st, 2);
        snprintf(r->number, sizeof r->number, "%s", dni__col_text(st, 4));
        snprintf(r->key, sizeof r->key, "%s", dni__col_text(st, 5));
        r->manual = dni__col_int(st, 6);
        r->duration = !dni__col_is_null(st, 7)
                          ? dni__col_double(st, 7)
                      : !dni__col_is_null(st, 3)
                          ? dni__col_double(st, 3) - r->start
                          : now - r->start;
        if (r->duration < 0)
            r->duration = 0;
    }
    dni__reset(st);
    if (rc != DNI_DONE)
        goto out;
    if (add_calls(tr, s, &sp, calls, nc, from, to < now ? to : now, ovf_first,
                  ovf_last))
        goto out;
    qsort(tr->ev, tr->n, sizeof *tr->ev, ev_cmp);
    size_t ncalls = 0;
    for (size_t i = 0; i < tr->n; i++)
        ncalls += tr->ev[i].type == DNI_TRACE_CALL;
    tr->call_source = malloc((ncalls + 1) * sizeof *tr->call_source);
    if (!tr->call_source)
        goto out;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->ev[i].type == DNI_TRACE_CALL) {
            tr->call_source[tr->calls] = tr->str[tr->ev[i].text];
            tr->ev[i].call = (int32_t)tr->calls++;
        }
    result = 0;
out:
    free(sp.v);
    free(calls);
    return result;
}

void dni__trace_free(dni_trace_t *tr)
{
    for (size_t i = 0; i < tr->nstr; i++)
        free(tr->str[i]);
    free(tr->str);
    free(tr->ev);
    free(tr->call_source);
    memset(tr, 0, sizeof *tr);
}

static const char *const ev_names[] = {"visit", "hb", "call"};

int dni__trace_write(const dni_trace_t *tr, dni_jsonbuf_t *b)
{
    for (size_t i = 0; i < tr->n && !b->oom; i++) {
        const dni_trace_event_t *e = &tr->ev[i];
        dni__jsonbuf_fmt(b, "{\"t\":%.3f,\"ev\":\"%s\",\"visitor\":", e->t,
                         ev_names[e->type]);
        dni__jsonbuf_str(b, tr->str[e->visitor]);
        if (e->type == DNI_TRACE_VISIT && e->text >= 0) {
            dni__jsonbuf_raw(b, ",\"tags\":");
            dni__jsonbuf_raw(b, tr->str[e->text]);
        } else if (e->type == DNI_TRACE_CALL) {
            dni__jsonbuf_fmt(b, ",\"duration\":%.3f", e->duration);
        }
        dni__jsonbuf_raw(b, "}\n");
    }
    return b->oom ? -1 : 0;
}

int dni__trace_feed(const dni_trace_t *tr, dni_sim_t *sim)
{
    for (size_t i = 0; i < tr->n; i++) {
        const dni_trace_event_t *e = &tr->ev[i];
        const char *v = tr->str[e->visitor];
        size_t vl = strlen(v);
        int rc = DNI_OK;
        switch (e->type) {
        case DNI_TRACE_VISIT:
            if (e->text >= 0) {
                cJSON *tags = cJSON_Parse(tr->str[e->text]);
                const cJSON *t;
                cJSON_ArrayForEach(t, tags)
                {
                    rc = dni_sim_tag(sim, t->string, strlen(t->string),
                                     t->valuestring, strlen(t->valuestring));
                    if (rc < 0)
                        break;
                }
                cJSON_Delete(tags);
            }
            if (rc >= 0)
                rc = dni_sim_visit(sim, e->t, v, vl);
            break;
        case DNI_TRACE_HB:
            rc = dni_sim_hb(sim, e->t, v, vl);
            break;
        default:
            rc = dni_sim_call(sim, e->t, v, vl, e->duration);
        }
        if (rc < 0)
            return rc;
    }
    return DNI_OK;
}

int dni__overflow_note(dni_db_t *db, const char *pool, double t)
{
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO overflow_events (pool_id, t) VALUES (?1, ?2)");
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_double(st, 2, t);
    int rc = dni__step(st);
    dni__reset(st);
    return rc == DNI_DONE ? 0 : -1;
}
