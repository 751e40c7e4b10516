/*
 * door.c - where connections come in, before the HTTP server sees them.
 *
 * One thread accepts every connection and holds it in an epoll set until
 * the header block of its first request has arrived, reading it with
 * MSG_PEEK so the bytes stay in the socket for the server. A slow client
 * costs one small record and one descriptor here, no thread and no
 * server memory. Then, for that request:
 *
 *   - deadline: the whole header block must arrive within
 *     --header-timeout seconds of the accept; sending a byte at a time
 *     does not extend it (408);
 *   - limits: --max-connections in all (503), --max-per-address from one
 *     client address (429), with a reserve above the total (1/16 of it, at
 *     least 16) that only /healthz, the provider's webhooks and syncs
 *     bearing the edge secret may use, and must use promptly (2 s);
 *   - the request line and headers are checked as the server would
 *     check them, so that what the server would refuse with its own HTML
 *     page is refused here as JSON: size (431/414), number of headers
 *     (431), Content-Length that is not a plain decimal (400) or is above
 *     --max-body (413), Content-Length with Transfer-Encoding (400), a
 *     transfer coding other than chunked (501), HTTP/1.1 without Host
 *     (400), versions other than 1.0 and 1.1 (505), malformed lines (400).
 *
 * A request that passes is handed to the server (MHD_add_connection),
 * which reads it from the start. Refusals are written here as JSON with
 * Connection: close; the socket then lingers briefly, reading and
 * discarding, so the client reads the answer instead of a reset.
 *
 * Counting: connections waiting here and connections the server holds
 * (reported through dni__door_opened/closed) share the per-address table
 * and the total, under one mutex.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "secret.h"

#define MAX_HEADER_LINES 100
#define RESERVE_TIMEOUT_S 2.0
#define LINGER_S 2.0
#define ADDR_BUCKETS 4096

typedef enum { WAIT_HEADERS, WAIT_RESERVE, LINGER } conn_state_t;

typedef struct pending {
    int fd;
    conn_state_t state;
    double deadline;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct pending *prev, *next;
} pending_t;

typedef struct fifo {
    pending_t *head, *tail;
} fifo_t;

typedef struct addr_count {
    unsigned char key[17]; /* family byte + 4 or 16 address bytes */
    unsigned n;
    struct addr_count *next;
} addr_count_t;

struct dni_door {
    dni_origin_t *o;
    int listen_fd, ep, wake[2];
    dni_door_handoff_fn handoff;
    void *ud;
    pthread_t thread;
    int started, stopping;
    char *peek;
    size_t peek_cap;
    fifo_t lists[3]; /* one per state: each has one timeout, so FIFO order
                        is deadline order */
    pthread_mutex_t lock; /* counts below */
    unsigned total;       /* waiting here (not lingering) + held by the server */
    addr_count_t *buckets[ADDR_BUCKETS];
    dni_door_stats_t stats;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- per-address counts ------------------------------------------------- */

static size_t addr_key(const struct sockaddr *a, unsigned char key[17])
{
    memset(key, 0, 17);
    if (a->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)(const void *)a)->sin_addr, 4);
        return 5;
    }
    if (a->sa_family == AF_INET6) {
        const unsigned char *b =
            ((const struct sockaddr_in6 *)(const void *)a)->sin6_addr.s6_addr;
        /* An IPv4-mapped address counts as the IPv4 one. */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(b, mapped, 12)) {
            key[0] = 4;
            memcpy(key + 1, b + 12, 4);
            return 5;
        }
        key[0] = 6;
        memcpy(key + 1, b, 16);
        return 17;
    }
    key[0] = 0;
    return 1;
}

static size_t addr_hash(const unsigned char *k)
{
    size_t h = 2166136261u;
    for (int i = 0; i < 17; i++)
        h = (h ^ k[i]) * 16777619u;
    return h % ADDR_BUCKETS;
}

/* Adds delta to the count of address a; returns the new count. Caller
 * holds the lock. */
static unsigned addr_add(dni_door_t *d, const struct sockaddr *a, int delta)
{
    unsigned char key[17];
    addr_key(a, key);
    addr_count_t **pp = &d->buckets[addr_hash(key)];
    for (; *pp; pp = &(*pp)->next)
        if (!memcmp((*pp)->key, key, 17))
            break;
    if (!*pp) {
        if (delta <= 0)
            return 0;
        addr_count_t *c = calloc(1, sizeof *c);
        if (!c)
            return 0; /* uncounted rather than refused */
        memcpy(c->key, key, 17);
        *pp = c;
    }
    addr_count_t *c = *pp;
    if (delta < 0 && c->n < (unsigned)-delta)
        c->n = 0;
    else
        c->n = (unsigned)((int)c->n + delta);
    unsigned n = c->n;
    if (!n) {
        *pp = c->next;
        free(c);
    }
    return n;
}

static unsigned addr_get(dni_door_t *d, const struct sockaddr *a)
{
    unsigned char key[17];
    addr_key(a, key);
    for (addr_count_t *c = d->buckets[addr_hash(key)]; c; c = c->next)
        if (!memcmp(c->key, key, 17))
            return c->n;
    return 0;
}

void dni__door_opened(dni_door_t *d, const struct sockaddr *a)
{
    if (!d || !a)
        return;
    pthread_mutex_lock(&d->lock);
    d->total++;
    addr_add(d, a, 1);
    pthread_mutex_unlock(&d->lock);
}

void dni__door_closed(dni_door_t *d, const struct sockaddr *a)
{
    if (!d || !a)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->total)
        d->total--;
    addr_add(d, a, -1);
    pthread_mutex_unlock(&d->lock);
}

void dni__door_stats(dni_door_t *d, dni_door_stats_t *out)
{
    pthread_mutex_lock(&d->lock);
    *out = d->stats;
    out->open = d->total;
    pthread_mutex_unlock(&d->lock);
}

/* ---- lists ------------------------------------------------------------- */

static void list_push(fifo_t *l, pending_t *p)
{
    p->next = NULL;
    p->prev = l->tail;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

static void list_del(fifo_t *l, pending_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        l->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        l->tail = p->prev;
    p->prev = p->next = NULL;
}

/* Forgets p: out of its list, the epoll set and the counts. The socket
 * is not closed (the caller closes it or hands it over). */
static void forget(dni_door_t *d, pending_t *p)
{
    list_del(&d->lists[p->state], p);
    epoll_ctl(d->ep, EPOLL_CTL_DEL, p->fd, NULL);
    if (p->state != LINGER) {
        pthread_mutex_lock(&d->lock);
        if (d->total)
            d->total--;
        addr_add(d, (struct sockaddr *)&p->addr, -1);
        pthread_mutex_unlock(&d->lock);
    }
}

static void drop(dni_door_t *d, pending_t *p)
{
    forget(d, p);
    close(p->fd);
    free(p);
}

/* ---- answers ----------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

/* Writes a JSON error and closes the sending side; the socket lingers
 * (reading and discarding) so the client can read the answer. */
static void refuse(dni_door_t *d, pending_t *p, int status, const char *msg)
{
    char body[256], all[800];
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    int n = snprintf(all, sizeof all,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Connection: close\r\nContent-Length: %d\r\n%s\r\n%s",
                     status, reason(status), bl,
                     status == 503 || status == 429 ? "Retry-After: 1\r\n" : "",
                     body);
    if (n > 0 && (size_t)n < sizeof all) {
        ssize_t w = send(p->fd, all, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w; /* a fresh socket's buffer takes it; if not, so be it */
    }
    pthread_mutex_lock(&d->lock);
    switch (status) {
    case 408: d->stats.timed_out++; break;
    case 429: d->stats.per_address++; break;
    case 503: d->stats.full++; break;
    default: d->stats.malformed++; break;
    }
    pthread_mutex_unlock(&d->lock);
    shutdown(p->fd, SHUT_WR);
    forget(d, p);
    p->state = LINGER;
    p->deadline = now_s() + LINGER_S;
    list_push(&d->lists[LINGER], p);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = p};
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, p->fd, &ev)) {
        list_del(&d->lists[LINGER], p);
        close(p->fd);
        free(p);
    }
}

/* ---- the header block -------------------------------------------------- */

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The line of buf[0..n) at *at: sets *start, returns its length without
 * CR LF and moves *at past it; -1 when no line end is within n. */
static long next_line(const char *buf, size_t n, size_t *at,
                      const char **start)
{
    const char *s = buf + *at, *nl = memchr(s, '\n', n - *at);
    if (!nl)
        return -1;
    size_t len = (size_t)(nl - s);
    *at += len + 1;
    if (len && s[len - 1] == '\r')
        len--;
    *start = s;
    return (long)len;
}

typedef struct head_info {
    const char *path;
    size_t path_len;
    const char *auth;
    size_t auth_len;
} head_info_t;

/* Checks a complete header block buf[0..n). 0, or an HTTP status with
 * *msg set. */
static int check_head(dni_door_t *d, const char *buf, size_t n,
                      head_info_t *hi, const char **msg)
{
    const dni_origin_config_t *cfg = &d->o->cfg;
    size_t at = 0;
    long len;
    const char *line = NULL;
    /* Empty lines before the request line are allowed (RFC 9112 2.2). */
    while ((len = next_line(buf, n, &at, &line)) == 0)
        ;
    if (len < 0) {
        *msg = "malformed request";
        return 400;
    }
    /* METHOD SP target SP HTTP/1.x */
    const char *sp1 = memchr(line, ' ', (size_t)len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line + len - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 ||
        memchr(sp2 + 1, ' ', (size_t)(line + len - sp2 - 1))) {
        *msg = "malformed request line";
        return 400;
    }
    for (const char *c = line; c < sp1; c++)
        if (!is_tchar((unsigned char)*c)) {
            *msg = "malformed request line";
            return 400;
        }
    size_t vlen = (size_t)(line + len - sp2 - 1);
    const char *ver = sp2 + 1;
    if (vlen != 8 || strncmp(ver, "HTTP/1.", 7) ||
        (ver[7] != '0' && ver[7] != '1')) {
        if (vlen >= 5 && !strncmp(ver, "HTTP/", 5)) {
            *msg = "HTTP version not supported (use HTTP/1.1)";
            return 505;
        }
        *msg = "malformed request line";
        return 400;
    }
    int http11 = ver[7] == '1';
    hi->path = sp1 + 1;
    hi->path_len = (size_t)(sp2 - sp1 - 1);
    for (size_t i = 0; i < hi->path_len; i++)
        if ((unsigned char)hi->path[i] <= 0x20 || hi->path[i] == 0x7f) {
            *msg = "malformed request line";
            return 400;
        }
    int lines = 0, host = 0, te = 0;
    long long clen = -1;
    const char *h = NULL;
    while ((len = next_line(buf, n, &at, &h)) > 0) {
        if (++lines > MAX_HEADER_LINES) {
            *msg = "too many request headers";
            return 431;
        }
        const char *colon = memchr(h, ':', (size_t)len);
        if (!colon || colon == h) {
            *msg = "malformed request header";
            return 400;
        }
        for (const char *c = h; c < colon; c++)
            if (!is_tchar((unsigned char)*c)) {
                *msg = "malformed request header";
                return 400;
            }
        size_t nl = (size_t)(colon - h);
        const char *v = colon + 1, *ve = h + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = v; c < ve; c++)
            if (*c == 0 || *c == '\r' || *c == '\n') {
                *msg = "malformed request header";
                return 400;
            }
        size_t vl = (size_t)(ve - v);
        if (nl == 4 && !strncasecmp(h, "host", 4)) {
            host++;
        } else if (nl == 14 && !strncasecmp(h, "content-length", 14)) {
            if (!vl || strspn(v, "0123456789") < vl) {
                *msg = "Content-Length must be a plain decimal number";
                return 400;
            }
            long long c = vl > 18 ? LLONG_MAX : strtoll(v, NULL, 10);
            if (clen >= 0 && c != clen) {
                *msg = "two different Content-Length headers";
                return 400;
            }
            clen = c;
        } else if (nl == 17 && !strncasecmp(h, "transfer-encoding", 17)) {
            if (vl != 7 || strncasecmp(v, "chunked", 7)) {
                *msg = "only the chunked transfer coding is supported";
                return 501;
            }
            te++;
        } else if (nl == 13 && !strncasecmp(h, "authorization", 13)) {
            hi->auth = v;
            hi->auth_len = vl;
        }
    }
    if (len < 0) {
        *msg = "malformed request";
        return 400;
    }
    if (http11 && host != 1) {
        *msg = host ? "more than one Host header" : "Host header required";
        return 400;
    }
    if (te && clen >= 0) {
        *msg = "Content-Length and Transfer-Encoding together";
        return 400;
    }
    if (te > 1) {
        *msg = "more than one Transfer-Encoding header";
        return 400;
    }
    if (clen > (long long)cfg->max_body) {
        *msg = "request body too large";
        return 413;
    }
    return 0;
}

/* 1 when a request may use the reserve: /healthz, a webhook route, or a
 * route for edges with the edge secret. */
static int privileged(dni_door_t *d, const head_info_t *hi)
{
    char path[160];
    size_t pl = strcspn(hi->path, "? ");
    if (pl >= sizeof path || pl > hi->path_len)
        return 0;
    memcpy(path, hi->path, pl);
    path[pl] = 0;
    if (!strcmp(path, "/healthz"))
        return 1;
    dni_access_t access;
    if (!dni__route_access(path, &access))
        return 0;
    if (access == DNI_ACCESS_WEBHOOK)
        return 1;
    if (access != DNI_ACCESS_EDGE || !d->o->cfg.edge_secret || !hi->auth ||
        hi->auth_len < 7 || strncasecmp(hi->auth, "Bearer ", 7))
        return 0;
    char tok[512];
    size_t tl = hi->auth_len - 7;
    if (tl >= sizeof tok)
        return 0;
    memcpy(tok, hi->auth + 7, tl);
    tok[tl] = 0;
    return dni__secret_equal(tok, d->o->cfg.edge_secret);
}

/* Reads what has arrived of p's first request (without taking it). */
static void examine(dni_door_t *d, pending_t *p)
{
    if (p->state == LINGER) {
        char sink[4096];
        ssize_t r;
        while ((r = recv(p->fd, sink, sizeof sink, MSG_DONTWAIT)) > 0)
            ;
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            drop(d, p);
        return;
    }
    size_t cap = d->o->cfg.max_header;
    ssize_t r = recv(p->fd, d->peek, cap, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR)) {
        drop(d, p);
        return;
    }
    if (r < 0)
        return;
    size_t n = (size_t)r;
    /* The end of the header block: an empty line (CRLF or a bare LF). */
    size_t end = 0;
    for (size_t i = 0; i + 1 < n && !end; i++)
        if (d->peek[i] == '\n' &&
            (d->peek[i + 1] == '\n' ||
             (d->peek[i + 1] == '\r' && i + 2 < n && d->peek[i + 2] == '\n')))
            end = i + (d->peek[i + 1] == '\n' ? 2 : 3);
    /* Leading empty lines are not the end of a header block. */
    if (end) {
        size_t lead = 0;
        while (lead < n && (d->peek[lead] == '\r' || d->peek[lead] == '\n'))
            lead++;
        if (lead >= end)
            end = 0;
    }
    if (!end) {
        if (n >= cap) {
            if (!memchr(d->peek, '\n', n))
                refuse(d, p, 414, "request line too long");
            else
                refuse(d, p, 431, "request headers too large");
        }
        return;
    }
    head_info_t hi;
    memset(&hi, 0, sizeof hi);
    const char *msg = NULL;
    int status = check_head(d, d->peek, end, &hi, &msg);
    if (status) {
        refuse(d, p, status, msg);
        return;
    }
    if (p->state == WAIT_RESERVE && !privileged(d, &hi)) {
        refuse(d, p, 503, "server busy: too many connections");
        return;
    }
    forget(d, p);
    int fd = p->fd;
    struct sockaddr_storage addr = p->addr;
    socklen_t alen = p->addrlen;
    free(p);
    pthread_mutex_lock(&d->lock);
    d->stats.handed++;
    pthread_mutex_unlock(&d->lock);
    /* The server counts it again from here (dni__door_opened). */
    d->handoff(d->ud, fd, (struct sockaddr *)&addr, alen);
}

static void accept_all(dni_door_t *d)
{
    const dni_origin_config_t *cfg = &d->o->cfg;
    unsigned reserve = cfg->max_connections / 16 < 16 ? 16 : cfg->max_connections / 16;
    for (;;) {
        pending_t *p = calloc(1, sizeof *p);
        if (!p)
            return;
        p->addrlen = sizeof p->addr;
        p->fd = accept4(d->listen_fd, (struct sockaddr *)&p->addr, &p->addrlen,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->fd < 0) {
            free(p);
            return; /* EAGAIN, or out of descriptors: retried on the next event */
        }
        pthread_mutex_lock(&d->lock);
        d->stats.accepted++;
        unsigned total = d->total;
        unsigned mine = addr_get(d, (struct sockaddr *)&p->addr);
        int status = 0;
        if (total >= cfg->max_connections + reserve)
            status = 503;
        else if (mine >= cfg->max_per_address)
            status = 429;
        /* Counted now; forget() and refuse() uncount. */
        d->total++;
        addr_add(d, (struct sockaddr *)&p->addr, 1);
        pthread_mutex_unlock(&d->lock);
        int reserve_only = total >= cfg->max_connections;
        p->state = reserve_only ? WAIT_RESERVE : WAIT_HEADERS;
        p->deadline = now_s() + (reserve_only ? RESERVE_TIMEOUT_S
                                              : (double)cfg->header_timeout_s);
        list_push(&d->lists[p->state], p);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = p};
        if (epoll_ctl(d->ep, EPOLL_CTL_ADD, p->fd, &ev)) {
            list_del(&d->lists[p->state], p);
            pthread_mutex_lock(&d->lock);
            d->total--;
            addr_add(d, (struct sockaddr *)&p->addr, -1);
            pthread_mutex_unlock(&d->lock);
            close(p->fd);
            free(p);
            continue;
        }
        if (status == 503)
            refuse(d, p, 503, "server busy: too many connections");
        else if (status == 429)
            refuse(d, p, 429, "too many connections from this address");
        else
            examine(d, p); /* the request may be there already */
    }
}

static void expire(dni_door_t *d, double now)
{
    for (int s = 0; s < 3; s++)
        while (d->lists[s].head && d->lists[s].head->deadline <= now) {
            pending_t *p = d->lists[s].head;
            if (s == LINGER)
                drop(d, p);
            else
                refuse(d, p, 408, "request headers not received in time");
        }
}

static int next_timeout_ms(dni_door_t *d, double now)
{
    double next = now + 1.0;
    for (int s = 0; s < 3; s++)
        if (d->lists[s].head && d->lists[s].head->deadline < next)
            next = d->lists[s].head->deadline;
    double ms = (next - now) * 1000.0 + 1;
    return ms < 1 ? 1 : (int)ms;
}

static void *door_main(void *arg)
{
    dni_door_t *d = arg;
    struct epoll_event evs[256];
    while (!__atomic_load_n(&d->stopping, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(d->ep, evs, 256, next_timeout_ms(d, now_s()));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == d)
                accept_all(d);
            else if (evs[i].data.ptr == &d->wake)
                ; /* stop */
            else
                examine(d, evs[i].data.ptr);
        }
        expire(d, now_s());
    }
    for (int s = 0; s < 3; s++)
        while (d->lists[s].head)
            drop(d, d->lists[s].head);
    return NULL;
}

dni_door_t *dni__door_start(dni_origin_t *o, int listen_fd,
                            dni_door_handoff_fn handoff, void *ud)
{
    dni_door_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->o = o;
    d->listen_fd = listen_fd;
    d->handoff = handoff;
    d->ud = ud;
    d->peek_cap = o->cfg.max_header + 1;
    d->peek = malloc(d->peek_cap);
    d->ep = epoll_create1(EPOLL_CLOEXEC);
    d->wake[0] = d->wake[1] = -1;
    pthread_mutex_init(&d->lock, NULL);
    if (!d->peek || d->ep < 0 || pipe2(d->wake, O_CLOEXEC | O_NONBLOCK))
        goto fail;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = d};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &d->wake};
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, listen_fd, &lev) ||
        epoll_ctl(d->ep, EPOLL_CTL_ADD, d->wake[0], &wev))
        goto fail;
    if (pthread_create(&d->thread, NULL, door_main, d))
        goto fail;
    d->started = 1;
    return d;
fail:
    fprintf(stderr, "dni-origin: cannot start accepting connections\n");
    dni__door_stop(d);
    return NULL;
}

void dni__door_stop(dni_door_t *d)
{
    if (!d)
        return;
    if (d->started) {
        __atomic_store_n(&d->stopping, 1, __ATOMIC_RELEASE);
        ssize_t w = write(d->wake[1], "x", 1);
        (void)w;
        pthread_join(d->thread, NULL);
    }
    if (d->ep >= 0)
        close(d->ep);
    for (int i = 0; i < 2; i++)
        if (d->wake[i] >= 0)
            close(d->wake[i]);
    for (int b = 0; b < ADDR_BUCKETS; b++)
        while (d->buckets[b]) {
            addr_count_t *c = d->buckets[b];
            d->buckets[b] = c->next;
            free(c);
        }
    pthread_mutex_destroy(&d->lock);
    free(d->peek);
    free(d);
}
