/*
 * http.c - the HTTP front: libmicrohttpd glue, the router over the table
 * of routes.c (path match, 405 with Allow, access checks, 415), request
 * limits, and the headers every answer carries. What handlers read and
 * answer is reply.c's.
 *
 * Serving model: connections come in through the door (door.c), which
 * holds each one, at the cost of a descriptor and a small record, until
 * the header block of its first request has arrived, and enforces the
 * connection limits and the header deadline. The door then hands it to
 * libmicrohttpd, which runs an epoll loop on a few threads (--threads,
 * default: one per core): reading, writing and keep-alive cost no thread.
 * A complete request is answered by a handler thread (--workers, default
 * 64): its connection is suspended meanwhile, so a write that waits for
 * its group commit (store_sqlite.c) blocks only that handler thread, and
 * up to --workers requests join the same commit. /healthz is answered on
 * the loop thread itself, so it answers even when every handler waits.
 *
 * Keep-alive only for callers that proved who they are (a valid token,
 * edge secret or webhook signature): any other answer closes the
 * connection, so the next request goes through the door and its deadline
 * again, and an anonymous client cannot hold a connection by trickling a
 * second request after a quick first one.
 *
 * Limits: the request line and headers must fit in --max-header, bodies in
 * --max-body (413, decided from Content-Length before reading), and a body
 * must arrive within --body-timeout seconds of its headers (408; checked
 * whenever data arrives, so trickling cannot extend it, and an idle
 * connection is closed after --timeout seconds).
 *
 * Oversized headers: libmicrohttpd (0.9.75 in Debian 12) refuses a request
 * whose headers do not fit in its per-connection memory with its own HTML
 * page, which cannot be replaced. The door refuses those first (JSON 431,
 * 414, or 431 for more than 100 header lines), so the library only sees
 * header blocks that fit in --max-header + HEADER_ROOM. Follow-up requests
 * on a kept-alive connection (trusted callers only) are checked here, on
 * the first call for each request, the same way; a trusted caller that
 * sends a malformed follow-up can still get the library's own page. The
 * room is not made larger: the library zeroes a connection's whole memory
 * between two requests, so every extra KiB costs every request.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "secret.h"

typedef struct req_ctx {
    char *raw_uri;
    char *body;
    size_t len, cap;
    int too_big;
    int started;
    double t0;
    double deadline;   /* the body must be complete by then (monotonic) */
    int slot;          /* metric slot */
    const char *allow; /* methods of a 405 */
    int status;
    int trusted;       /* the caller proved who it is: keep-alive */
    int queued, done;  /* with a handler thread; its answer is in resp */
    dni_resp_t resp;
    struct MHD_Connection *conn;
    const char *method, *url;
    struct req_ctx *next;
} req_ctx_t;

/* The server: the door, libmicrohttpd and the handler threads. */
typedef struct server {
    dni_origin_t *o;
    struct MHD_Daemon *d;
    dni_door_t *door;
    int listen_fd;
    pthread_t *workers;
    unsigned nworkers;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    req_ctx_t *qhead, *qtail;
    int stopping;
} server_t;

#define HEADER_ROOM 16384

/* Requests between their first line and their completed answer; the
 * shutdown waits for this to reach 0. */
static long inflight;

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
    if (!dni__secret_equal(h + 7, secret)) {
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
                    const char **allow, int *trusted)
{
    *trusted = 0;
    char id[129];
    int i = dni__route_find(r->path, id);
    if (i >= 0) {
        const dni_route_t *rt = &dni__routes[i];
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
        *trusted = rt->access != DNI_ACCESS_OPEN && resp->status != 401 &&
                   resp->status != 403;
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
    if (!ctx->trusted)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
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

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A body that did not arrive in time: the library cannot queue an answer
 * in the middle of a body, so the JSON 408 is written on the socket (the
 * library has written nothing for this request) and the connection is
 * closed by returning MHD_NO. */
static enum MHD_Result body_timeout(struct MHD_Connection *c)
{
    static const char answer[] =
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\nContent-Length: 45\r\n\r\n"
        "{\"error\":\"request body not received in time\"}";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        ssize_t w = send(ci->connect_fd, answer, sizeof answer - 1,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
    }
    return MHD_NO;
}

/* ---- handler threads --------------------------------------------------- */

static void answer_now(server_t *sv, req_ctx_t *ctx, const char *method,
                       const char *url, struct MHD_Connection *c)
{
    dni_req_t r = {method, url, ctx->raw_uri, ctx->body ? ctx->body : "",
                   ctx->len, NULL, c};
    ctx->slot = dispatch(sv->o, &r, &ctx->resp, &ctx->allow, &ctx->trusted);
    if (!ctx->resp.status)
        dni__resp_error(&ctx->resp, 500, "no answer");
    /* A database error while the database is unreachable is an outage,
     * not a fault of the request: 503, try again (or elsewhere). */
    if (ctx->resp.status == 500 && dni__store_down(sv->o->store, NULL, 0)) {
        free(ctx->resp.body);
        ctx->resp.body = NULL;
        dni__resp_error(&ctx->resp, 503, "database unavailable");
    }
}

static void *worker_main(void *arg)
{
    server_t *sv = arg;
    for (;;) {
        pthread_mutex_lock(&sv->qlock);
        while (!sv->qhead && !sv->stopping)
            pthread_cond_wait(&sv->qcond, &sv->qlock);
        req_ctx_t *ctx = sv->qhead;
        if (ctx) {
            sv->qhead = ctx->next;
            if (!sv->qhead)
                sv->qtail = NULL;
        }
        pthread_mutex_unlock(&sv->qlock);
        if (!ctx)
            return NULL; /* stopping, queue empty */
        answer_now(sv, ctx, ctx->method, ctx->url, ctx->conn);
        __atomic_store_n(&ctx->done, 1, __ATOMIC_RELEASE);
        MHD_resume_connection(ctx->conn);
    }
}

static void enqueue(server_t *sv, req_ctx_t *ctx)
{
    pthread_mutex_lock(&sv->qlock);
    ctx->next = NULL;
    if (sv->qtail)
        sv->qtail->next = ctx;
    else
        sv->qhead = ctx;
    sv->qtail = ctx;
    pthread_cond_signal(&sv->qcond);
    pthread_mutex_unlock(&sv->qlock);
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    server_t *sv = cls;
    dni_origin_t *o = sv->o;
    req_ctx_t *ctx = *con_cls;
    if (!ctx)
        return MHD_NO; /* the URI callback failed to allocate */
    int is_head = !strcmp(method, "HEAD");
    if (__atomic_load_n(&ctx->done, __ATOMIC_ACQUIRE))
        return send_answer(c, ctx, &ctx->resp, is_head);
    if (ctx->queued)
        return MHD_YES;
    dni_resp_t resp = {0, NULL, 0, NULL, NULL};
    if (!ctx->started) {
        ctx->started = 1;
        ctx->deadline = mono_now() + (double)o->cfg.body_timeout_s;
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
        if (mono_now() > ctx->deadline)
            return body_timeout(c);
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
    /* /healthz on this thread: it must answer when every handler waits. */
    if (!strcmp(url, "/healthz") || sv->nworkers == 0) {
        answer_now(sv, ctx, method, url, c);
        return send_answer(c, ctx, &ctx->resp, is_head);
    }
    ctx->method = method;
    ctx->url = url;
    ctx->conn = c;
    ctx->queued = 1;
    MHD_suspend_connection(c);
    enqueue(sv, ctx);
    return MHD_YES;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    req_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->raw_uri = strdup(uri);
    if (!ctx->raw_uri) {
        free(ctx);
        return NULL;
    }
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
    free(ctx->resp.body);
    free(ctx);
    *con_cls = NULL;
    __atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
}

/* Connections the server holds count against the door's limits. */
static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    server_t *sv = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = sv;
        dni__door_opened(sv->door, ci->client_addr);
    } else if (*socket_context) {
        *socket_context = NULL;
        dni__door_closed(sv->door, ci->client_addr);
    }
}

static int handoff(void *ud, int fd, const struct sockaddr *addr,
                   socklen_t len)
{
    server_t *sv = ud;
    /* The library closes fd when it cannot take it. */
    return MHD_add_connection(sv->d, fd, addr, len) == MHD_YES ? 0 : -1;
}

/* The door's counters on the metrics page. */
static void door_metrics(dni_jsonbuf_t *b, void *ud)
{
    server_t *sv = ud;
    if (!sv->door)
        return;
    dni_door_stats_t st;
    dni__door_stats(sv->door, &st);
    dni__jsonbuf_fmt(b,
        "# HELP dni_origin_connections_open Connections waiting for their "
        "headers or held by the server.\n"
        "# TYPE dni_origin_connections_open gauge\n"
        "dni_origin_connections_open %u\n"
        "# HELP dni_origin_connections_total Connections accepted.\n"
        "# TYPE dni_origin_connections_total counter\n"
        "dni_origin_connections_total %llu\n"
        "# HELP dni_origin_connections_refused_total Connections answered "
        "before their request reached a handler, by reason.\n"
        "# TYPE dni_origin_connections_refused_total counter\n"
        "dni_origin_connections_refused_total{reason=\"header_timeout\"} %llu\n"
        "dni_origin_connections_refused_total{reason=\"full\"} %llu\n"
        "dni_origin_connections_refused_total{reason=\"per_address\"} %llu\n"
        "dni_origin_connections_refused_total{reason=\"malformed\"} %llu\n",
        st.open, st.accepted, st.timed_out, st.full, st.per_address,
        st.malformed);
}

/* ---- start and stop ---------------------------------------------------- */

static int listen_on(const char *listen_addr)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    size_t hl = (size_t)(colon - listen_addr);
    if (hl >= sizeof host)
        return -1;
    memcpy(host, listen_addr, hl);
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
                listen_addr);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    int one = 1;
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
        fprintf(stderr, "dni-origin: cannot listen on %s: %s\n", listen_addr,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void server_free(server_t *sv)
{
    if (!sv)
        return;
    if (sv->door)
        dni__door_stop(sv->door);
    if (sv->listen_fd >= 0)
        close(sv->listen_fd);
    pthread_mutex_lock(&sv->qlock);
    sv->stopping = 1;
    pthread_cond_broadcast(&sv->qcond);
    pthread_mutex_unlock(&sv->qlock);
    for (unsigned i = 0; i < sv->nworkers; i++)
        pthread_join(sv->workers[i], NULL);
    if (sv->d)
        MHD_stop_daemon(sv->d);
    free(sv->workers);
    pthread_mutex_destroy(&sv->qlock);
    pthread_cond_destroy(&sv->qcond);
    free(sv);
}

void *dni__http_start(dni_origin_t *o)
{
    if (dni__route_count + 2 > DNI_METRIC_SLOTS) {
        fprintf(stderr, "dni-origin: more routes than metric slots\n");
        return NULL;
    }
    server_t *sv = calloc(1, sizeof *sv);
    if (!sv)
        return NULL;
    sv->o = o;
    sv->listen_fd = -1;
    pthread_mutex_init(&sv->qlock, NULL);
    pthread_cond_init(&sv->qcond, NULL);
    sv->listen_fd = listen_on(o->cfg.listen);
    if (sv->listen_fd < 0) {
        server_free(sv);
        return NULL;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = o->cfg.threads ? o->cfg.threads
                       : cores < 1     ? 1
                       : cores > 64    ? 64
                                       : (unsigned)cores;
    /* The door enforces the limits; the library's own limit only has to
     * be above them (it is split between its threads). */
    unsigned limit = (o->cfg.max_connections + o->cfg.max_connections / 8 + 64) * 2;
    unsigned flags = MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL_INTERNAL_THREAD |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    sv->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, sv, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->cfg.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(o->cfg.max_header + HEADER_ROOM), MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, sv, MHD_OPTION_END);
    if (!sv->d) {
        fprintf(stderr, "dni-origin: cannot start the HTTP server\n");
        server_free(sv);
        return NULL;
    }
    sv->workers = calloc(o->cfg.workers ? o->cfg.workers : 1, sizeof *sv->workers);
    for (unsigned i = 0; sv->workers && i < o->cfg.workers; i++) {
        if (pthread_create(&sv->workers[i], NULL, worker_main, sv))
            break;
        sv->nworkers++;
    }
    sv->door = dni__door_start(o, sv->listen_fd, handoff, sv);
    dni__metrics_extra(door_metrics, sv);
    if (!sv->door || (o->cfg.workers && !sv->nworkers)) {
        server_free(sv);
        return NULL;
    }
    return sv;
}

void dni__http_stop(void *server)
{
    server_t *sv = server;
    if (!sv)
        return;
    /* Stop accepting first; then wait (up to 10 s) until every request
     * already received has been answered; then stop the handler threads
     * and the library, which closes idle keep-alive connections. */
    dni__metrics_extra(NULL, NULL);
    dni__door_stop(sv->door);
    sv->door = NULL;
    close(sv->listen_fd);
    sv->listen_fd = -1;
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && __atomic_load_n(&inflight, __ATOMIC_SEQ_CST);
         i++)
        nanosleep(&pause, NULL);
    server_free(sv);
}
