/*
 * http.c - the HTTP front: libmicrohttpd glue, the router over the table
 * of routes.c (path match, 405 with Allow, access checks, 415), request
 * limits, and the headers every answer carries. What handlers read and
 * answer is reply.c's.
 *
 * Threading: one thread per connection. A request that writes blocks its
 * thread until the group commit holding its job is on disk (see
 * store_sqlite.c); with one thread per connection, every concurrent
 * request can wait at the same time and join the same commit.
 *
 * Limits: the request line and headers must fit in --max-header, bodies in
 * --max-body (413, decided from Content-Length before reading when it is
 * given), idle connections close after --timeout seconds.
 *
 * Oversized headers: libmicrohttpd (0.9.75 in Debian 12) refuses a request
 * whose headers do not fit in its per-connection memory with its own HTML
 * page, which cannot be replaced. So its memory limit is set above
 * --max-header (HEADER_ROOM more) and the limit is enforced here, on the
 * first call for each request, with a JSON 431 (or 414 when the request
 * line alone is too long). Only a request larger than the library's own
 * limit still gets the library's page. The room is not made larger: the
 * library zeroes a connection's whole memory between two requests, so
 * every extra KiB costs every request (64 KiB more cost 7 % of the CPU of
 * the webhook benchmark).
 */
#define _POSIX_C_SOURCE 200809L

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"

typedef struct req_ctx {
    char *raw_uri;
    char *body;
    size_t len, cap;
    int too_big;
    int started;
    double t0;
    int slot; /* metric slot */
    const char *allow; /* methods of a 405 */
    int status;
} req_ctx_t;

#define HEADER_ROOM 16384

/* Requests between their first line and their completed answer; the
 * shutdown waits for this to reach 0. */
static long inflight;

/* Constant-time comparison of a presented secret with the expected one. */
static int secret_equal(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char diff = (unsigned char)(gl != wl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

/* 0 when the request carries "Authorization: Bearer <secret>", else sets
 * the 401 (missing or not configured) or 403 (wrong) answer. */
static int check_bearer(const dni_req_t *r, const char *secret,
                        dni_resp_t *resp)
{
    const char *h = dni__req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!secret) {
        dni__resp_error(resp, 401, "no token is configured for this route");
        return -1;
    }
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        dni__resp_error(resp, 401, "missing bearer token");
        return -1;
    }
    if (!secret_equal(h + 7, secret)) {
        dni__resp_error(resp, 403, "wrong token");
        return -1;
    }
    return 0;
}

/* Metric slots: one per route of the table, then these two. */
#define SLOT_STATIC (dni__route_count)
#define SLOT_OTHER (dni__route_count + 1)

static const char *slot_label(int slot)
{
    if (slot >= 0 && slot < dni__route_count)
        return dni__routes[slot].path;
    return slot == SLOT_STATIC ? "static" : "other";
}

/* Matches path against a route's pattern; the {id} segment (1..128
 * bytes, no '/'), when the pattern has one, is copied into id[] (and may
 * be followed by a fixed rest: "/v1/pools/{id}/trace"). */
static int path_match(const char *pattern, const char *path, char id[129])
{
    const char *brace = strstr(pattern, "{id}");
    id[0] = 0;
    if (!brace)
        return strcmp(pattern, path) == 0;
    size_t n = (size_t)(brace - pattern);
    if (strncmp(pattern, path, n) != 0)
        return 0;
    const char *seg = path + n, *rest = brace + 4;
    size_t len = strcspn(seg, "/");
    if (!len || len > 128 || strcmp(seg + len, rest) != 0)
        return 0;
    memcpy(id, seg, len);
    id[len] = 0;
    return 1;
}

/* 1 when method is one of the space-separated words of list (HEAD counts
 * as GET). */
static int method_listed(const char *list, const char *method)
{
    if (!strcmp(method, "HEAD"))
        method = "GET";
    size_t n = strlen(method);
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        if (w == n && !strncmp(p, method, n))
            return 1;
        p += w;
        p += strspn(p, " ");
    }
    return 0;
}

static int is_write(const char *m)
{
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

/* Answers r; returns the metric slot it was counted under. *allow is set
 * to the route's methods for a 405. */
static int dispatch(dni_origin_t *o, dni_req_t *r, dni_resp_t *resp,
                    const char **allow)
{
    for (int i = 0; i < dni__route_count; i++) {
        const dni_route_t *rt = &dni__routes[i];
        char id[129];
        if (!path_match(rt->path, r->path, id))
            continue;
        r->id = id[0] ? id : NULL;
        if (!method_listed(rt->methods, r->method)) {
            *allow = rt->methods;
            dni__resp_error(resp, 405, "method not allowed");
            return i;
        }
        switch (rt->access) {
        case DNI_ACCESS_OPEN:
            break;
        case DNI_ACCESS_ADMIN:
        case DNI_ACCESS_EDGE:
            if (check_bearer(r, rt->access == DNI_ACCESS_ADMIN
                                    ? o->cfg.admin_token
                                    : o->cfg.edge_secret,
                             resp))
                return i;
            if (is_write(r->method) && !dni__req_is_json(r)) {
                dni__resp_error(resp, 415,
                                "Content-Type must be application/json");
                return i;
            }
            break;
        case DNI_ACCESS_WEBHOOK:
            if (!o->cfg.twilio_token && !o->cfg.allow_unsigned_webhooks) {
                dni__resp_error(resp, 403,
                                "unsigned webhooks are refused: set "
                                "DNI_TWILIO_AUTH_TOKEN (or start the origin "
                                "with --allow-unsigned-webhooks for tests)");
                return i;
            }
            break;
        }
        rt->handler(o, r, resp);
        return i;
    }
    if (!strncmp(r->path, "/v1/", 4) || !strcmp(r->path, "/v1")) {
        dni__resp_error(resp, 404, "no such route");
        return SLOT_OTHER;
    }
    if (!dni__req_is_get(r)) {
        *allow = "GET";
        dni__resp_error(resp, 405, "method not allowed");
    } else {
        dni__www_serve(o, r, resp);
    }
    return SLOT_STATIC;
}

/* Allow: the route's methods, comma-separated, HEAD with GET. */
static void add_allow(struct MHD_Response *mr, const char *methods)
{
    char buf[128];
    size_t n = 0;
    buf[0] = 0;
    if (!methods)
        methods = "GET";
    for (const char *p = methods; *p && n + 16 < sizeof buf;) {
        size_t w = strcspn(p, " ");
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.*s", n ? ", " : "",
                              (int)w, p);
        if (w == 3 && !strncmp(p, "GET", 3))
            n += (size_t)snprintf(buf + n, sizeof buf - n, ", HEAD");
        p += w;
        p += strspn(p, " ");
    }
    MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, buf);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, req_ctx_t *ctx,
                                   dni_resp_t *resp, int is_head)
{
    struct MHD_Response *mr;
    if (is_head) {
        mr = MHD_create_response_from_buffer(0, (void *)"",
                                             MHD_RESPMEM_PERSISTENT);
        free(resp->body);
    } else {
        mr = MHD_create_response_from_buffer(resp->len,
                                             resp->body ? resp->body
                                                        : (void *)"",
                                             resp->body ? MHD_RESPMEM_MUST_FREE
                                                        : MHD_RESPMEM_PERSISTENT);
    }
    resp->body = NULL;
    if (!mr)
        return MHD_NO;
    if (resp->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type);
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    for (const char *h = resp->headers; h && *h;) {
        size_t line = strcspn(h, "\n"), colon = strcspn(h, ":");
        if (colon < line) {
            char name[64], value[512];
            snprintf(name, sizeof name, "%.*s", (int)colon, h);
            snprintf(value, sizeof value, "%.*s", (int)(line - colon - 2),
                     h + colon + 2);
            MHD_add_response_header(mr, name, value);
        }
        h += line + (h[line] == '\n');
    }
    if (resp->status == 405)
        add_allow(mr, ctx->allow);
    ctx->status = resp->status;
    enum MHD_Result ret =
        MHD_queue_response(c, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind,
                                       const char *key, const char *value)
{
    size_t *sum = cls;
    (void)kind;
    /* "Name: value\r\n" */
    *sum += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* 0 when the request line and headers fit in --max-header, else sets the
 * 414 or 431 answer. */
static int check_header_size(dni_origin_t *o, struct MHD_Connection *c,
                             const req_ctx_t *ctx, const char *method,
                             const char *version, dni_resp_t *resp)
{
    size_t line = strlen(method) + 1 + strlen(ctx->raw_uri) + 1 +
                  strlen(version) + 2;
    if (line > o->cfg.max_header) {
        dni__resp_error(resp, 414, "request line too long");
        return -1;
    }
    size_t sum = line + 2;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_size, &sum);
    if (sum > o->cfg.max_header) {
        dni__resp_error(resp, 431, "request headers too large");
        return -1;
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    dni_origin_t *o = cls;
    req_ctx_t *ctx = *con_cls;
    if (!ctx)
        return MHD_NO; /* the URI callback failed to allocate */
    dni_resp_t resp = {0, NULL, 0, NULL, NULL};
    if (!ctx->started) {
        ctx->started = 1;
        if (check_header_size(o, c, ctx, method, version, &resp)) {
            ctx->slot = SLOT_OTHER;
            return send_answer(c, ctx, &resp, 0);
        }
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > o->cfg.max_body) {
            dni__resp_error(&resp, 413, "request body too large");
            ctx->slot = SLOT_OTHER;
            return send_answer(c, ctx, &resp, 0);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (ctx->too_big || ctx->len + n > o->cfg.max_body) {
            ctx->too_big = 1;
            return MHD_YES;
        }
        if (ctx->len + n + 1 > ctx->cap) {
            size_t cap = ctx->cap ? ctx->cap : 4096;
            while (cap < ctx->len + n + 1)
                cap *= 2;
            char *nb = realloc(ctx->body, cap);
            if (!nb)
                return MHD_NO;
            ctx->body = nb;
            ctx->cap = cap;
        }
        memcpy(ctx->body + ctx->len, upload, n);
        ctx->len += n;
        ctx->body[ctx->len] = 0;
        return MHD_YES;
    }
    if (ctx->too_big) {
        dni__resp_error(&resp, 413, "request body too large");
        ctx->slot = SLOT_OTHER;
        return send_answer(c, ctx, &resp, 0);
    }
    dni_req_t r = {method, url, ctx->raw_uri, ctx->body ? ctx->body : "",
                   ctx->len, NULL, c};
    ctx->slot = dispatch(o, &r, &resp, &ctx->allow);
    if (!resp.status)
        dni__resp_error(&resp, 500, "no answer");
    return send_answer(c, ctx, &resp, !strcmp(method, "HEAD"));
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    req_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->raw_uri = strdup(uri);
    ctx->t0 = dni__now();
    ctx->slot = SLOT_OTHER;
    __atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
    return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    req_ctx_t *ctx = *con_cls;
    if (!ctx)
        return;
    if (ctx->status)
        dni__metrics_request(ctx->slot, slot_label(ctx->slot), ctx->status,
                             dni__now() - ctx->t0);
    free(ctx->raw_uri);
    free(ctx->body);
    free(ctx);
    *con_cls = NULL;
    __atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
}

void *dni__http_start(dni_origin_t *o)
{
    char host[256];
    const char *colon = strrchr(o->cfg.listen, ':');
    size_t hl = (size_t)(colon - o->cfg.listen);
    if (hl >= sizeof host)
        return NULL;
    memcpy(host, o->cfg.listen, hl);
    host[hl] = 0;
    char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        h = host + 1;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "dni-origin: cannot resolve listen address '%s'\n",
                o->cfg.listen);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = (uint16_t)atoi(colon + 1);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, o, MHD_OPTION_SOCK_ADDR,
        ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)o->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)o->cfg.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(o->cfg.max_header + HEADER_ROOM),
        MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d)
        fprintf(stderr, "dni-origin: cannot listen on %s\n", o->cfg.listen);
    return d;
}

void dni__http_stop(void *daemon)
{
    struct MHD_Daemon *d = daemon;
    if (!d)
        return;
    /* Stop accepting first; MHD_stop_daemon then waits (up to 10 s) until
     * every request already received has been answered, then closes the
     * idle keep-alive connections and joins their threads. */
    MHD_quiesce_daemon(d);
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && __atomic_load_n(&inflight, __ATOMIC_SEQ_CST);
         i++)
        nanosleep(&pause, NULL);
    MHD_stop_daemon(d);
}
