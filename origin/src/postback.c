/*
 * postback.c - conversions sent back to the ad platforms: when a call
 * completes and is attributed to a session, the pool's postback_url
 * template is filled from the call and its session and queued in a
 * durable outbox (table postbacks); a delivery thread sends it and retries
 * with exponential back-off and jitter until a 2xx comes back or the retry
 * window (24 hours by default) is over.
 *
 * Templates (pool settings):
 *   postback_url     http(s) URL; placeholders are URL-encoded
 *   postback_method  "GET" (default) or "POST"
 *   postback_body    POST only: a JSON value; every string in it is a
 *                    template (placeholders JSON-escaped), and a string
 *                    that is exactly one numeric placeholder becomes a
 *                    number
 * Placeholders: {clickid} (the session's click id: clickid, gclid, gbraid,
 * wbraid, msclkid, fbclid, ttclid, the first present), {tag:NAME},
 * {call.sid}, {call.duration} (seconds), {call.status}, {call.start} (Unix
 * seconds), {call.time} ("2024-05-01 13:45:00+00:00", Google Ads'
 * conversion time with its zone), {call.timestamp_micros} (GA4),
 * {caller} (From), {called} (To), {pool}, {session} (lease id), {visitor}.
 * A missing tag or click id is empty. A template with any other
 * placeholder is refused when the pool is saved.
 *
 * Delivery is at least once: the outbox row is updated after the answer,
 * so an origin killed during an attempt sends it again after restart.
 * Receivers dedupe on {call.sid} when that matters.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "origin.h"

/* ---- templates --------------------------------------------------------- */

typedef struct pb_vars {
    const char *sid, *status, *caller, *called, *pool, *session, *visitor;
    const char *clickid;
    const cJSON *tags;
    double start, duration;
} pb_vars_t;

static const char *const simple_names[] = {
    "clickid",  "call.sid", "call.duration", "call.status",
    "call.start", "call.time", "call.timestamp_micros", "caller",
    "called",   "pool",     "session",       "visitor", NULL};

static int numeric_name(const char *name, size_t n)
{
    return (n == 13 && !strncmp(name, "call.duration", n)) ||
           (n == 10 && !strncmp(name, "call.start", n)) ||
           (n == 21 && !strncmp(name, "call.timestamp_micros", n));
}

/* The value of placeholder name[0..n) into buf; NULL when unknown. */
static const char *value_of(const pb_vars_t *v, const char *name, size_t n,
                            char *buf, size_t cap)
{
#define IS(s) (n == strlen(s) && !strncmp(name, s, n))
    if (n > 4 && !strncmp(name, "tag:", 4)) {
        if (!v)
            return "";
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(n - 4), name + 4);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v->tags, key);
        return cJSON_IsString(t) ? t->valuestring : "";
    }
    int known = 0;
    for (int i = 0; simple_names[i]; i++)
        known |= IS(simple_names[i]);
    if (!known)
        return NULL;
    if (!v)
        return "";
    if (IS("clickid"))
        return v->clickid ? v->clickid : "";
    if (IS("call.sid"))
        return v->sid;
    if (IS("call.status"))
        return v->status;
    if (IS("caller"))
        return v->caller ? v->caller : "";
    if (IS("called"))
        return v->called ? v->called : "";
    if (IS("pool"))
        return v->pool ? v->pool : "";
    if (IS("session"))
        return v->session ? v->session : "";
    if (IS("visitor"))
        return v->visitor ? v->visitor : "";
    if (IS("call.duration"))
        snprintf(buf, cap, "%.0f", v->duration);
    else if (IS("call.start"))
        snprintf(buf, cap, "%.0f", floor(v->start));
    else if (IS("call.timestamp_micros"))
        snprintf(buf, cap, "%.0f", floor(v->start * 1e6));
    else { /* call.time */
        time_t t = (time_t)floor(v->start);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, cap, "%Y-%m-%d %H:%M:%S+00:00", &tm);
    }
    return buf;
#undef IS
}

static void put_encoded(dni_jsonbuf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            dni__jsonbuf_put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            dni__jsonbuf_put(b, e, 3);
        }
    }
}

/*
 * Fills tmpl from v (NULL: only checks it). url: URL-encode the values.
 * Returns the text (malloc'ed; with v NULL a dummy) or NULL with the
 * reason in msg.
 */
static char *render(const char *tmpl, const pb_vars_t *v, int url, char *msg,
                    size_t msglen)
{
    dni_jsonbuf_t b = {0};
    dni__jsonbuf_put(&b, "", 0);
    for (const char *p = tmpl; *p;) {
        const char *open = strchr(p, '{');
        if (!open) {
            dni__jsonbuf_raw(&b, p);
            break;
        }
        dni__jsonbuf_put(&b, p, (size_t)(open - p));
        const char *close = strchr(open + 1, '}');
        char buf[64];
        const char *val = close ? value_of(v, open + 1,
                                           (size_t)(close - open - 1), buf,
                                           sizeof buf)
                                : NULL;
        if (!val) {
            snprintf(msg, msglen,
                     "unknown placeholder %.*s (known: {clickid}, "
                     "{tag:NAME}, {call.sid}, {call.duration}, "
                     "{call.status}, {call.start}, {call.time}, "
                     "{call.timestamp_micros}, {caller}, {called}, {pool}, "
                     "{session}, {visitor})",
                     close ? (int)(close - open + 1) : 1, open);
            free(b.p);
            return NULL;
        }
        if (url)
            put_encoded(&b, val);
        else
            dni__jsonbuf_raw(&b, val);
        p = close + 1;
    }
    if (b.oom) {
        free(b.p);
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    return b.p;
}

/* Fills every string under a JSON body template's object or array in
 * place; 0 or -1 (msg). */
static int render_json(cJSON *parent, const pb_vars_t *v, char *msg,
                       size_t msglen)
{
    for (cJSON *c = parent->child, *next; c; c = next) {
        next = c->next;
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            if (render_json(c, v, msg, msglen))
                return -1;
            continue;
        }
        if (!cJSON_IsString(c))
            continue;
        const char *s = c->valuestring;
        size_t n = strlen(s);
        char *out = render(s, v, 0, msg, msglen);
        if (!out)
            return -1;
        if (v && n > 2 && s[0] == '{' && s[n - 1] == '}' &&
            !memchr(s + 1, '{', n - 2) && numeric_name(s + 1, n - 2)) {
            /* Written as the digits themselves: a double would print a
             * microsecond timestamp in exponent form. */
            cJSON *num = cJSON_CreateRaw(out);
            free(out);
            if (!num)
                return -1;
            num->string = c->string; /* keeps the key */
            c->string = NULL;
            if (!cJSON_ReplaceItemViaPointer(parent, c, num)) {
                cJSON_Delete(num);
                return -1;
            }
            continue;
        }
        if (v && !cJSON_SetValuestring(c, out)) {
            free(out);
            return -1;
        }
        free(out);
    }
    return 0;
}

int dni__postback_template_check(const cJSON *pool, char *msg, size_t msglen)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(pool, "postback_url");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(pool, "postback_method");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(pool, "postback_body");
    if (cJSON_IsString(url)) {
        char *r = render(url->valuestring, NULL, 1, msg, msglen);
        if (!r)
            return -1;
        free(r);
    }
    int post = 0;
    if (method && !cJSON_IsNull(method)) {
        if (!cJSON_IsString(method) || (strcmp(method->valuestring, "GET") &&
                                        strcmp(method->valuestring, "POST"))) {
            snprintf(msg, msglen, "postback_method must be \"GET\" or \"POST\"");
            return -1;
        }
        post = !strcmp(method->valuestring, "POST");
    }
    if (body && !cJSON_IsNull(body)) {
        if (!post) {
            snprintf(msg, msglen, "postback_body needs postback_method \"POST\"");
            return -1;
        }
        if (!cJSON_IsObject(body) && !cJSON_IsArray(body)) {
            snprintf(msg, msglen, "postback_body must be a JSON object or array");
            return -1;
        }
        cJSON *copy = cJSON_Duplicate(body, 1);
        int rc = copy ? render_json(copy, NULL, msg, msglen) : -1;
        cJSON_Delete(copy);
        if (rc) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "postback_body: %s", msg);
            snprintf(msg, msglen, "%s", tmp);
            return -1;
        }
    }
    if ((post || (body && !cJSON_IsNull(body))) && !cJSON_IsString(url)) {
        snprintf(msg, msglen, "postback_method and postback_body need a postback_url");
        return -1;
    }
    return 0;
}

/* ---- the outbox -------------------------------------------------------- */

static pthread_mutex_t pb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pb_cv = PTHREAD_COND_INITIALIZER;
static int pb_stopping, pb_running;
static pthread_t pb_thread;
static dni_duty_t pb_duty = {.name = "postbacks", .ttl_s = 60};
static dni_origin_t *pb_origin;
static uint64_t pb_attempts, pb_attempt_failures, pb_delivered, pb_given_up;

#define ADD(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define LOAD(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

int dni__postback_consider(dni_db_t *db, const char *sid, double now)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT c.status, c.kind, c.pool_id, c.from_number, c.to_number,"
            " c.started_at, c.ended_at,"
            " (SELECT max(duration) FROM call_events e WHERE e.sid = c.sid),"
            " l.lease, l.visitor, l.tags, l.url,"
            " p.config, EXISTS (SELECT 1 FROM postbacks b WHERE b.sid = c.sid)"
            " FROM calls c JOIN pools p ON p.id = c.pool_id"
            " LEFT JOIN leases l ON l.edge = c.lease_edge AND l.lease = c.lease_id"
            " WHERE c.sid = ?1");
    if (!st)
        return -1;
    dni__bind_text(st, 1, sid);
    if (dni__step(st) != DNI_ROW) {
        dni__reset(st);
        return 0;
    }
#define TXT(i) (dni__col_text(st, (i)))
    if (strcmp(TXT(0), "completed") || strcmp(TXT(1), "session") ||
        dni__col_is_null(st, 8) || dni__col_int(st, 13)) {
        dni__reset(st);
        return 0;
    }
    /* The pool's postback templates, from its config. */
    cJSON *cfg = dni__col_is_null(st, 12) ? NULL : cJSON_Parse(TXT(12));
    const cJSON *pb_url = cJSON_GetObjectItemCaseSensitive(cfg, "postback_url");
    const cJSON *pb_method =
        cJSON_GetObjectItemCaseSensitive(cfg, "postback_method");
    const cJSON *pb_body = cJSON_GetObjectItemCaseSensitive(cfg, "postback_body");
    if (!cJSON_IsString(pb_url)) {
        cJSON_Delete(cfg);
        dni__reset(st);
        return 0;
    }
    cJSON *tags = dni__col_is_null(st, 10)
                      ? NULL
                      : cJSON_Parse(TXT(10));
    cJSON *ids = dni__click_ids(tags, TXT(11));
    pb_vars_t v = {
        .sid = sid, .status = TXT(0), .caller = TXT(3), .called = TXT(4),
        .pool = TXT(2), .session = TXT(8), .visitor = TXT(9),
        .clickid = dni__click_id(ids), .tags = tags,
        .start = dni__col_double(st, 5),
    };
    v.duration = !dni__col_is_null(st, 7)
                     ? dni__col_double(st, 7)
                 : !dni__col_is_null(st, 6)
                     ? dni__col_double(st, 6) - v.start
                     : 0;
    if (v.duration < 0)
        v.duration = 0;
    char msg[300];
    char *url = render(pb_url->valuestring, &v, 1, msg, sizeof msg);
    const char *method = cJSON_IsString(pb_method) &&
                                 !strcmp(pb_method->valuestring, "POST")
                             ? "POST"
                             : "GET";
    char *body = NULL;
    if (!strcmp(method, "POST")) {
        cJSON *tb = !pb_body || cJSON_IsNull(pb_body)
                        ? cJSON_CreateObject()
                        : cJSON_Duplicate(pb_body, 1);
        if (tb && !render_json(tb, &v, msg, sizeof msg))
            body = cJSON_PrintUnformatted(tb);
        cJSON_Delete(tb);
    }
    char pool[80];
    snprintf(pool, sizeof pool, "%s", TXT(2));
#undef TXT
    dni__reset(st);
    cJSON_Delete(cfg);
    cJSON_Delete(ids);
    cJSON_Delete(tags);
    if (!url || (!strcmp(method, "POST") && !body)) {
        /* The template was checked when the pool was saved; a failure here
         * is memory. Nothing is queued and the call says nothing. */
        free(url);
        free(body);
        return -1;
    }
    st = dni__stmt(db, "INSERT INTO postbacks (sid, pool_id, method, url, body,"
                       " state, attempts, created_at, next_at, last_status)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, 0)");
    if (!st) {
        free(url);
        free(body);
        return -1;
    }
    dni__bind_text(st, 1, sid);
    dni__bind_text(st, 2, pool);
    dni__bind_text(st, 3, method);
    dni__bind_text_copy(st, 4, url);
    free(url);
    if (body)
        dni__bind_text_copy(st, 5, body);
    free(body);
    dni__bind_double(st, 6, now);
    int rc = dni__step(st);
    dni__reset(st);
    if (rc != DNI_DONE)
        return -1;
    /* The delivery thread looks again soon; the row is visible to it once
     * this job's commit is done (it polls every second anyway). */
    pthread_mutex_lock(&pb_mu);
    pthread_cond_signal(&pb_cv);
    pthread_mutex_unlock(&pb_mu);
    return 1;
}

cJSON *dni__postback_json(dni_db_t *db, const char *sid)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT state, attempts, method, url, last_status, last_error,"
            " last_at, next_at, delivered_at, created_at FROM postbacks"
            " WHERE sid = ?1");
    if (!st)
        return cJSON_CreateNull();
    dni__bind_text(st, 1, sid);
    cJSON *o = NULL;
    if (dni__step(st) == DNI_ROW) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", dni__col_text(st, 0));
        cJSON_AddNumberToObject(o, "attempts", dni__col_int(st, 1));
        cJSON_AddStringToObject(o, "method", dni__col_text(st, 2));
        cJSON_AddStringToObject(o, "url", dni__col_text(st, 3));
        if (dni__col_int(st, 4) > 0)
            cJSON_AddNumberToObject(o, "last_status", dni__col_int(st, 4));
        else
            cJSON_AddNullToObject(o, "last_status");
        dni__json_add_text_col(o, "last_error", st, 5);
        dni__json_add_real_col(o, "last_at", st, 6);
        dni__json_add_real_col(o, "next_at", st, 7);
        dni__json_add_real_col(o, "delivered_at", st, 8);
        dni__json_add_real_col(o, "queued_at", st, 9);
        if (strcmp(dni__col_text(st, 0), "pending")) {
            cJSON_DeleteItemFromObjectCaseSensitive(o, "next_at");
            cJSON_AddNullToObject(o, "next_at");
        }
    }
    dni__reset(st);
    return o ? o : cJSON_CreateNull();
}

/* ---- delivery ---------------------------------------------------------- */

#define BATCH 16

typedef struct due {
    char sid[65];
    char method[8];
    char *url, *body;
    int attempts;
    double created;
} due_t;

typedef struct result_job {
    const due_t *d;
    long status;
    const char *error;
    double now, next_at;
    int delivered, give_up;
} result_job_t;

static int result_job(dni_db_t *db, void *arg)
{
    result_job_t *j = arg;
    dni_stmt_t *st = dni__stmt(
        db, "UPDATE postbacks SET attempts = attempts + 1, last_at = ?2,"
            " last_status = ?3, last_error = ?4,"
            " state = CASE WHEN ?5 THEN 'delivered' WHEN ?6 THEN 'failed'"
            " ELSE 'pending' END,"
            " delivered_at = CASE WHEN ?5 THEN ?2 ELSE delivered_at END,"
            " next_at = ?7 WHERE sid = ?1 AND state = 'pending'");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->d->sid);
    dni__bind_double(st, 2, j->now);
    dni__bind_int64(st, 3, j->status > 0 ? j->status : 0);
    if (!j->delivered)
        dni__bind_text(st, 4, j->error);
    dni__bind_int(st, 5, j->delivered);
    dni__bind_int(st, 6, j->give_up);
    dni__bind_double(st, 7, j->next_at);
    int rc = dni__step(st);
    dni__reset(st);
    return rc == DNI_DONE ? 200 : 500;
}

/* Seconds to wait after the n-th failed attempt: base * 2^(n-1), at most
 * an hour, times a random factor in [0.5, 1) so receivers that failed
 * together do not get every retry at the same instant. */
static double backoff(double base, int n, unsigned *seed)
{
    double d = base * pow(2, n > 30 ? 30 : n - 1);
    if (d > 3600)
        d = 3600;
    return d * (0.5 + 0.5 * ((double)rand_r(seed) / ((double)RAND_MAX + 1)));
}

static void deliver(dni_origin_t *o, const due_t *d, unsigned *seed)
{
    char err[240];
    long status = dni__fetch(d->method, d->url, "application/json", d->body,
                             o->cfg.postback_timeout_s, err, sizeof err);
    ADD(pb_attempts, 1);
    result_job_t j = {.d = d, .status = status, .error = err, .now = dni__now()};
    j.delivered = status >= 200 && status <= 299;
    if (!j.delivered) {
        ADD(pb_attempt_failures, 1);
        j.next_at = j.now + backoff(o->cfg.postback_retry_s, d->attempts + 1, seed);
        if (j.next_at > d->created + o->cfg.postback_window_s) {
            j.give_up = 1;
            ADD(pb_given_up, 1);
        }
    } else {
        ADD(pb_delivered, 1);
    }
    if (dni__store_write(o->store, result_job, &j) >= 400)
        fprintf(stderr, "dni-origin: postback %s: cannot record the attempt\n",
                d->sid);
}

/* Reads up to BATCH due rows; returns how many. */
static int read_due(dni_origin_t *o, due_t *out, double now)
{
    dni_db_t *db = dni__store_reader(o->store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT sid, method, url, body, attempts, created_at FROM postbacks"
            " WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at"
            " LIMIT 16");
    int n = 0;
    if (st) {
        dni__bind_double(st, 1, now);
        while (n < BATCH && dni__step(st) == DNI_ROW) {
            due_t *d = &out[n];
            snprintf(d->sid, sizeof d->sid, "%s", dni__col_text(st, 0));
            snprintf(d->method, sizeof d->method, "%s", dni__col_text(st, 1));
            d->url = strdup(dni__col_text(st, 2));
            d->body = dni__col_is_null(st, 3)
                          ? NULL
                          : strdup(dni__col_text(st, 3));
            d->attempts = dni__col_int(st, 4);
            d->created = dni__col_double(st, 5);
            if (!d->url) {
                free(d->body);
                break;
            }
            n++;
        }
        dni__reset(st);
    }
    dni__store_reader_done(o->store, db);
    return n;
}

static void *delivery_main(void *arg)
{
    dni_origin_t *o = arg;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    due_t due[BATCH];
    pthread_mutex_lock(&pb_mu);
    while (!pb_stopping) {
        pthread_mutex_unlock(&pb_mu);
        int n = dni__duty_hold(o, &pb_duty)
                    ? read_due(o, due, dni__now())
                    : 0;
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&pb_mu);
            int stop = pb_stopping;
            pthread_mutex_unlock(&pb_mu);
            if (!stop)
                deliver(o, &due[i], &seed);
            free(due[i].url);
            free(due[i].body);
        }
        pthread_mutex_lock(&pb_mu);
        if (n == BATCH || pb_stopping)
            continue; /* more may be due at once */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&pb_cv, &pb_mu, &until);
    }
    pthread_mutex_unlock(&pb_mu);
    return NULL;
}

int dni__postback_start(dni_origin_t *o)
{
    if (dni__fetch_init())
        return -1;
    pb_origin = o;
    pb_stopping = 0;
    if (pthread_create(&pb_thread, NULL, delivery_main, o) != 0)
        return -1;
    pb_running = 1;
    return 0;
}

void dni__postback_stop(void)
{
    if (!pb_running)
        return;
    pthread_mutex_lock(&pb_mu);
    pb_stopping = 1;
    pthread_cond_signal(&pb_cv);
    pthread_mutex_unlock(&pb_mu);
    pthread_join(pb_thread, NULL);
    pb_running = 0;
}

void dni__postback_metrics(dni_store_t *store, dni_jsonbuf_t *b)
{
    long long pending = 0, delivered = 0, failed = 0;
    dni_db_t *db = dni__store_reader(store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT coalesce(sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0)"
            " FROM postbacks");
    if (st) {
        if (dni__step(st) == DNI_ROW) {
            pending = dni__col_int64(st, 0);
            delivered = dni__col_int64(st, 1);
            failed = dni__col_int64(st, 2);
        }
        dni__reset(st);
    }
    dni__store_reader_done(store, db);
    dni__jsonbuf_fmt(b,
        "# HELP dni_origin_postback_outbox Postbacks by state (pending is the "
        "outbox depth).\n# TYPE dni_origin_postback_outbox gauge\n"
        "dni_origin_postback_outbox{state=\"pending\"} %lld\n"
        "dni_origin_postback_outbox{state=\"delivered\"} %lld\n"
        "dni_origin_postback_outbox{state=\"failed\"} %lld\n"
        "# HELP dni_origin_postback_attempts_total Postback requests sent "
        "since start.\n# TYPE dni_origin_postback_attempts_total counter\n"
        "dni_origin_postback_attempts_total %llu\n"
        "# HELP dni_origin_postback_failures_total Attempts without a 2xx "
        "since start.\n# TYPE dni_origin_postback_failures_total counter\n"
        "dni_origin_postback_failures_total %llu\n"
        "# HELP dni_origin_postback_given_up_total Postbacks that ran out of "
        "their retry window since start.\n"
        "# TYPE dni_origin_postback_given_up_total counter\n"
        "dni_origin_postback_given_up_total %llu\n",
        pending, delivered, failed, (unsigned long long)LOAD(pb_attempts),
        (unsigned long long)LOAD(pb_attempt_failures),
        (unsigned long long)LOAD(pb_given_up));
    (void)pb_delivered;
    (void)pb_origin;
}
