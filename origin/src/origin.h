/*
 * origin.h - internal interface shared by the files of dni-origin.
 *
 * Not a public API: everything here is dni__ (internal). The service is
 * split one concept per file: config, store (store.h; SQLite or
 * PostgreSQL, group commit),
 * lease_end_sql (the SQL function the store registers), recent_calls, http
 * (serving, limits; http.h, routes.c), reply (what handlers read and
 * answer; reply.h), pools, sync, webhook, signature, form,
 * attribution, calls, reports, metrics, main.
 */
#ifndef DNI_ORIGIN_H
#define DNI_ORIGIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dni.h"
#include "reply.h"
#include "store.h"
#include "beats.h"

/* ---- config.c ---------------------------------------------------------- */

typedef struct dni_origin_config {
    const char *listen;       /* ADDR:PORT */
    const char *db_path;      /* SQLite file or postgresql:// URL */
    const char *public_url;   /* scheme://host[:port] used for signatures */
    const char *www_dir;      /* dashboard files, served at / */
    const char *synchronous;  /* SQLite synchronous: FULL or NORMAL */
    size_t max_body;          /* bytes */
    size_t max_header;        /* bytes of request line + headers */
    unsigned max_events;      /* events per sync */
    unsigned max_connections;
    unsigned max_per_address; /* connections from one client address */
    unsigned timeout_s;       /* idle connection timeout */
    unsigned header_timeout_s; /* a request's headers arrive within this */
    unsigned body_timeout_s;  /* its body within this after its headers */
    unsigned workers;         /* handler threads */
    unsigned threads;         /* event-loop threads (0: one per core) */
    unsigned readers;         /* read connections */
    double grant_ttl_s;
    double edge_ttl_s;
    double max_call_s;        /* a call silent this long is closed */
    const char *admin_token;  /* from the environment; NULL: admin refused */
    const char *edge_secret;
    const char *twilio_token; /* NULL: webhooks are not signature-checked */
    double postback_retry_s;   /* first retry delay (doubles) */
    double postback_window_s;  /* retry for this long, then failed */
    double postback_timeout_s; /* one request */
    int quiet;                /* --quiet: no activity log (log.c) */
    int allow_unsigned_webhooks; /* without twilio_token: accept them
                                  * (tests, the local demo); else 403 */
    /* Telephony (lifecycle.c, voice.c): the Twilio REST API's base URL,
     * account and credentials (key/secret: an API key, else the account
     * SID and auth token); NULL account: no Twilio provider. */
    const char *twilio_api;
    const char *twilio_account;
    const char *twilio_key;
    const char *twilio_secret;
    double provider_timeout_s;  /* per provider request */
    const char *voice_fallback; /* E.164 a call to an unknown number is
                                 * forwarded to; NULL: a polite hang-up */
    char voice_fallback_e164[20];
} dni_origin_config_t;

/*
 * Parses argv and the environment into *cfg. Returns 0 to run, 1 when
 * --help was printed (exit 0), -1 after printing one error line on stderr
 * (exit 2).
 */
int dni__config_parse(dni_origin_config_t *cfg, int argc, char **argv);

/* ---- store.h: statements and the store (SQLite or PostgreSQL) ------- */

/* ---- metrics.c --------------------------------------------------------- */

/* Counts one answered request under a metric slot (0..DNI_METRIC_SLOTS-1)
 * whose label (a static string) is the route's path pattern. */
#define DNI_METRIC_SLOTS 64
void dni__metrics_request(int slot, const char *label, int status,
                          double seconds);
void dni__metrics_add_stale(uint64_t n);
void dni__metrics_add_overflow(uint64_t n);
void dni__metrics_add_duplicate(uint64_t n);
void dni__metrics_add_events(uint64_t n);
void dni__metrics_add_refused(uint64_t n);
void dni__metrics_add_calls_expired(uint64_t n);
void dni__metrics_set_leases_live(int64_t n);

/* Renders the Prometheus text exposition; caller frees. */
char *dni__metrics_render(dni_store_t *store);

/* A function that appends more lines to every rendering (the HTTP
 * server's connection counters); set once at start, NULL to remove. */
struct dni_jsonbuf;
void dni__metrics_extra(void (*fn)(struct dni_jsonbuf *b, void *ud),
                        void *ud);

/* pool_metrics.c: appends the lines labelled by pool (overflow, calls by
 * attribution). */
typedef struct dni_jsonbuf dni_jsonbuf_t;
void dni__pool_metrics(dni_store_t *store, dni_jsonbuf_t *b);

/* ---- the service ------------------------------------------------------ */

typedef struct dni_lifecycle dni_lifecycle_t;

typedef struct dni_origin {
    dni_origin_config_t cfg;
    dni_store_t *store;
    dni_lifecycle_t *lifecycle; /* lifecycle.c; NULL when not started */
} dni_origin_t;

/* ---- duty.c ------------------------------------------------------------ */

/* Work one process at a time does among those sharing a database. Zero
 * it but for name and ttl_s; one per duty, used by one thread. */
typedef struct dni_duty {
    const char *name;  /* static */
    double ttl_s;      /* a holder that stops renewing keeps it this long */
    double held_until; /* while this process holds it */
    double next_try;
    int gained;        /* set by the call that took it over */
} dni_duty_t;

/*
 * 1 when this process holds the duty (taken or renewed as needed; on a
 * database no other process writes, always 1 and nothing is written).
 * Ask before each step of the work, and do the step only on 1.
 */
int dni__duty_hold(dni_origin_t *o, dni_duty_t *d);

/* ---- log.c ------------------------------------------------------------- */

/* One line of the activity log on stderr (printf format, no newline),
 * unless --quiet. Never log a secret or a visitor id. */
void dni__log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dni__log_quiet(int quiet);

/* ---- www.c ------------------------------------------------------------- */

/* Answers a GET for a dashboard file (compiled in; --www DIR first). */
void dni__www_serve(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);

/* ---- leases.c ---------------------------------------------------------- */

/* GET /v1/leases: sessions, newest first, with their tags, click ids and
 * calls. */
void dni__leases_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);

/* ---- pool_numbers.c ---------------------------------------------------- */

/* GET /v1/pools/{id}/numbers: each number's state (free, granted to an
 * edge, draining), call in progress, last shown and last called. */
void dni__pool_numbers_handle(dni_origin_t *o, const dni_req_t *r,
                              dni_resp_t *resp);

/* ---- page_fetch.c ------------------------------------------------------ */

/* GET /v1/tools/page?url=: a page's HTML for the dashboard's test-snippet
 * tool, fetched by the origin. */
void dni__page_fetch_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);

/* ---- handlers ---------------------------------------------------------- */

/* Each is listed in routes.c; r->id is the route's {id} segment or NULL. */
void dni__pools_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);
void dni__param_map_handle(dni_origin_t *o, const dni_req_t *r,
                           dni_resp_t *resp);
void dni__sync_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);
void dni__webhook_handle(dni_origin_t *o, const dni_req_t *r,
                         dni_resp_t *resp);
void dni__calls_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);
void dni__report_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);
void dni__trace_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);
/* Telephony: voice.c, provider_inventory.c, lifecycle.c. */
void dni__voice_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);
void dni__inventory_handle(dni_origin_t *o, const dni_req_t *r,
                           dni_resp_t *resp);
void dni__pool_events_handle(dni_origin_t *o, const dni_req_t *r,
                             dni_resp_t *resp);
void dni__pool_scale_down_handle(dni_origin_t *o, const dni_req_t *r,
                                 dni_resp_t *resp);
void dni__provider_available_handle(dni_origin_t *o, const dni_req_t *r,
                                    dni_resp_t *resp);

/* ---- pools.c ----------------------------------------------------------- */

/*
 * Validates a pool object (create: whole object; patch: merged object).
 * Normalises numbers to E.164 in place and fills defaults. Returns NULL
 * when valid, else a message for a 422 written into msg.
 */
const char *dni__pool_validate(cJSON *pool, char *msg, size_t msglen);

/* Reads the engine settings of a validated pool object. */
void dni__pool_settings(const cJSON *pool, dni_pool_settings_t *s);

/* Loads a pool's config JSON (caller frees) or NULL. */
cJSON *dni__pool_load(dni_db_t *db, const char *id);

/* The settings column of pool id from its config object: {"id", "mode",
 * "buffer_s", "max_lease_s", "min_hold_s", "sticky_s",
 * "attribution_window_s", "number_limit"}, null for those missing.
 * Caller frees; NULL out of memory. */
char *dni__pool_settings_text(const cJSON *pool, const char *id);

/* Loads only a pool's id and engine settings (small; for the hot paths
 * that do not need the list of numbers). Caller frees; NULL if none. */
cJSON *dni__pool_load_settings(dni_db_t *db, const char *id);

/* ---- json_in.c --------------------------------------------------------- */

/* Deepest nesting of arrays and objects a body may have. */
#define DNI_JSON_MAX_DEPTH 32

/*
 * Parses text[0..len) as strict JSON (json_in.c says what is refused).
 * Returns the tree (caller frees) or NULL with *status 400 (not JSON),
 * 422 (JSON with more than one meaning or a value out of range) or 500,
 * and a message naming the key in msg.
 */
cJSON *dni__json_parse(const char *text, size_t len, int *status, char *msg,
                       size_t msglen);

/*
 * As dni__json_parse, except that a string which is not well-formed text
 * (invalid UTF-8, a lone surrogate escape, \u0000) does not refuse the
 * body: it is read with U+FFFD in place of each bad part and reported to
 * bad(ud, path, reason) once, path naming where it stands as messages do
 * ("events[3].tags.k"; both pointers live only during the call). The sync
 * route uses it to refuse such an event alone instead of its whole batch.
 */
cJSON *dni__json_parse_marking(const char *text, size_t len, int *status,
                               char *msg, size_t msglen,
                               void (*bad)(void *ud, const char *path,
                                           const char *reason),
                               void *ud);

/* The length of the longest prefix of s[0..n) that is valid UTF-8 (n when
 * all of it is). */
size_t dni__utf8_valid_prefix(const char *s, size_t n);

/* ---- validate.c -------------------------------------------------------- */

/* 1 when s is an absolute http: or https: URL with a host, no spaces,
 * controls or credentials (what may be stored for display). */
int dni__url_http(const char *s);
/* s when it is such a URL, else NULL (a sync event's landing page or
 * referrer that is not one is dropped, the event kept). */
const char *dni__display_url(const char *s);
/* NULL when ts (a pool's traffic_source; may be NULL) is one the edge can
 * match, else a message for a 422 written into msg. */
const char *dni__traffic_source_check(const cJSON *ts, char *msg, size_t n);
/* A pool setting that is a number: NULL when obj's member key is one in
 * min..max (whole when integer), or absent (then def is added); else a
 * message for a 422 written into msg. */
const char *dni__number_field(cJSON *obj, const char *key, double def,
                              double min, double max, int integer, char *msg,
                              size_t msglen);

/* ---- jsonbuf.c --------------------------------------------------------- */

/* A growable text buffer (JSON answers, the metrics page); zero-initialise
 * it, free(p) when done.
 * oom is set when an allocation failed (every later write is then
 * dropped); p is NUL-terminated otherwise. */
struct dni_jsonbuf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Appends n bytes as they are. */
void dni__jsonbuf_put(dni_jsonbuf_t *b, const char *s, size_t n);
/* Appends a NUL-terminated string as it is (JSON already). */
void dni__jsonbuf_raw(dni_jsonbuf_t *b, const char *s);
/* Appends printf output. */
void dni__jsonbuf_fmt(dni_jsonbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes, backslashes and control
 * characters escaped; other bytes passed through, as cJSON does). */
void dni__jsonbuf_str(dni_jsonbuf_t *b, const char *s);
/* Appends a whole number exactly, without printf. */
void dni__jsonbuf_int(dni_jsonbuf_t *b, int64_t v);
/* Appends a time in seconds, fractions kept. */
void dni__jsonbuf_time(dni_jsonbuf_t *b, double t);

/* ---- call_expiry.c ----------------------------------------------------- */

/*
 * Closes the calls still active (ringing or in progress) whose last status
 * arrived more than max_call_s before now (their start when none did): the
 * status becomes "expired", end_reason says why, ended_at is now, and the
 * hold on their number is lifted. Adds the count to *n. A later final
 * status still updates the call. 0, or -1 on a database error. Runs on the
 * writer thread.
 */
int dni__calls_expire(dni_db_t *db, double now, double max_call_s, long *n);

/* ---- sync_answer.c ----------------------------------------------------- */

/* What a sync answer says about the batch itself. */
typedef struct dni_sync_answer {
    const char *edge;
    int64_t seq;
    long applied, rejected;
    int duplicate;
    double now;         /* the time the batch was applied */
    double grant_ttl_s; /* grants expire at now + grant_ttl_s */
    const char *refused; /* JSON array of {index, reason}, or NULL */
} dni_sync_answer_t;

/*
 * Writes the whole answer into b from db (a reader, used inside one read
 * transaction). versions: the request's optional {"pool": version} of the
 * configs the edge has, or NULL. Returns 0, or -1 on a database error or
 * out of memory (b then holds garbage; free it).
 */
int dni__sync_answer(dni_db_t *db, const dni_sync_answer_t *a,
                     const cJSON *versions, dni_jsonbuf_t *b);

/* A write job that changed rows of `numbers` has been committed (call it
 * after dni__store_write() returns, whatever the status): grant lists
 * cached for sync answers are built again. */
void dni__grants_changed(void);

/* ---- form.c ------------------------------------------------------------ */

/* A decoded application/x-www-form-urlencoded pair. */
typedef struct dni_form_pair {
    char *name;
    char *value;
} dni_form_pair_t;

/*
 * Decodes body into at most max pairs (strings malloc'ed; free with
 * dni__form_free). Returns the number of pairs or -1 on malformed input
 * (bad %-escape, a NUL byte, a name or value that is not UTF-8, too many
 * pairs); DNI_FORM_INVALID is the message to answer with (400).
 */
#define DNI_FORM_INVALID                                                       \
    "body is not valid form data (a bad %-escape, a NUL byte, invalid "       \
    "UTF-8 or too many fields)"
int dni__form_parse(const char *body, size_t len, dni_form_pair_t *out,
                    int max);
void dni__form_free(dni_form_pair_t *pairs, int n);

/* ---- signature.c ------------------------------------------------------- */

/*
 * Computes the provider signature: base64(HMAC-SHA1(token, url + each
 * parameter's name and value, parameters sorted by name then value)).
 * out receives a NUL-terminated base64 string (needs 29 bytes).
 */
void dni__signature_compute(const char *token, const char *url,
                            const dni_form_pair_t *pairs, int n,
                            char out[29]);

/* 1 when sig equals the expected signature (constant-time compare). */
int dni__signature_check(const char *token, const char *url,
                         const dni_form_pair_t *pairs, int n,
                         const char *sig);

/* Orders two UTF-8 strings by UTF-16 code units (JavaScript's sort). */
int dni__utf16_cmp(const char *a, const char *b);

/*
 * 1 when the telephony provider signed request r (X-Twilio-Signature over
 * --public-url + path + query, and for a form body its decoded parameters
 * pairs[0..n); for a JSON body pass NULL: the URL's bodySHA256 must match
 * the body). Without DNI_TWILIO_AUTH_TOKEN: 1 only under
 * --allow-unsigned-webhooks. Every webhook-like route calls this.
 */
int dni__request_signed(const dni_origin_t *o, const dni_req_t *r,
                        const dni_form_pair_t *pairs, int n);

/* ---- attribution.c ----------------------------------------------------- */

/*
 * Attributes a call on number at time t using the lease history in db and
 * the pool's settings. Writes the chosen lease (edge, lease) and its
 * likelihood and returns a JSON array of candidates ([{"edge","lease",
 * "visitor","likelihood"}], best first; caller frees). *found is 1 when
 * there is at least one candidate.
 */
cJSON *dni__attribute_call(dni_db_t *db, const dni_pool_settings_t *s,
                           const char *number, double t, int *found,
                           char *edge, size_t edgelen, char *lease,
                           size_t leaselen, double *likelihood);

/*
 * Attributes call sid (to number `to`, started at start) again from the
 * lease history and writes the result into its row when it differs; a
 * change of session or of start is added to the call's history with
 * reason (a static string: "webhook", "start moved", "lease reported",
 * "voice", ...), and a call that became attributed is considered for its
 * postback. A call matched by hand is left alone. Runs inside a write
 * job. Returns 1 when the row changed, 0 when it stood, -1 on a database
 * error.
 */
int dni__call_attribute_why(dni_db_t *db, const char *sid, const char *to,
                            const dni_pool_settings_t *s, double start,
                            const char *reason);

/* The same with reason "lease reported" (the sync path). */
int dni__call_attribute(dni_db_t *db, const char *sid, const char *to,
                        const dni_pool_settings_t *s, double start);

/* ---- row_json.c -------------------------------------------------------- */

/* Column col of st's current row as member key of o: a string (text) or a
 * number (real), null when the column is NULL. */
void dni__json_add_text_col(cJSON *o, const char *key, dni_stmt_t *st, int col);
void dni__json_add_real_col(cJSON *o, const char *key, dni_stmt_t *st, int col);

/* ---- call_changes.c ---------------------------------------------------- */

/* A call's match: kind (session, unattributed, default, overflow,
 * unknown) and, for a session, its lease. */
typedef struct dni_call_match {
    char kind[16];
    char edge[65];
    char lease[129];
    double likelihood;
} dni_call_match_t;

/* Reads kind, lease_edge, lease_id from columns col..col+2 of st. */
void dni__call_match_read(dni_call_match_t *m, dni_stmt_t *st, int col);
/* 1 when both name the same kind and lease. */
int dni__call_match_same(const dni_call_match_t *a, const dni_call_match_t *b);

/*
 * Adds one entry to call sid's history: reason (static string), by and
 * note (NULL for automatic changes), the start used, the new match, and
 * what it was (prev_start NAN and prev NULL for the first entry). Inside
 * a write job; 0 or -1.
 */
int dni__call_change_record(dni_db_t *db, const char *sid, const char *reason,
                            const char *by, const char *note, double start,
                            const dni_call_match_t *now, double prev_start,
                            const dni_call_match_t *prev);

/* The history of call sid, oldest first: [{at, reason, by, note,
 * started_at, to:{attribution, edge, lease, visitor, likelihood},
 * from:{...} or null}] (caller frees). */
cJSON *dni__call_history(dni_db_t *db, const char *sid);

/* ---- call_review.c ----------------------------------------------------- */

/* The start of call sid from its status events (see call_review.c):
 * *start is left as it is when the call has no event yet. 0 or -1. */
int dni__call_start_of(dni_db_t *db, const char *sid, double *start);

/* PATCH /v1/calls/{sid}: {"session": lease|null, "edge"?, "by"?, "note"?}
 * or {"automatic": true}. */
void dni__call_patch(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp);

/* ---- calls.c ----------------------------------------------------------- */

/* Answers GET /v1/calls/{sid} for sid (404 when there is none). */
void dni__call_show(dni_origin_t *o, const char *sid, dni_resp_t *resp);

/* ---- conversion_ids.c -------------------------------------------------- */

/* The click ids and analytics ids of a session, from its tags and landing
 * URL: {"gclid": ..., "ga_client_id": ..., ...}, only those present
 * (caller frees; tags and url may be NULL). */
cJSON *dni__click_ids(const cJSON *tags, const char *url);
/* The session's click id for a postback's {clickid}: clickid, gclid,
 * gbraid, wbraid, msclkid, fbclid, ttclid, the first present; "" if none.
 * Points into ids. */
const char *dni__click_id(const cJSON *ids);

/* ---- caller_model.c ---------------------------------------------------- */

#define DNI__LATE_BINS 8
/* Callers drawn per call (each is one call of the replayed trace). */
#define DNI__CALLER_DRAWS 8

/* Who most likely dialled each call (caller_model.c explains the model).
 * Inputs are borrowed; caller[] is the caller's array of ncalls. */
typedef struct dni_caller_model {
    const double *start, *end;  /* sessions' live spans */
    size_t nspans;
    const uint32_t *group;      /* per span: its traffic source (0..ngroups),
                                 * whose visitors have rates of their own;
                                 * NULL: one group */
    size_t ngroups;
    size_t ncalls;
    const double *call_t;       /* call starts */
    const char *const *sid;     /* CallSids (fix each call's draw) */
    const size_t *cand_off;     /* call c's candidates: cand[cand_off[c] .. cand_off[c+1]) */
    const uint32_t *cand;       /* span indexes */
    const int32_t *fixed;       /* per call: the span matched by hand, or -1 */
    double from, to;            /* the window calls were counted in */
    double window_s;            /* attribution_window_s */
    int32_t *caller;            /* out: DNI__CALLER_DRAWS span indexes per
                                 * call (call c's at c * DNI__CALLER_DRAWS),
                                 * -1: none */
    double late_share;          /* out: expected share of late calls */
} dni_caller_model_t;

/* Fits the rates and draws one caller per call. 0, or -1 out of memory. */
int dni__caller_model(dni_caller_model_t *m);

/* ---- pool_trace.c ------------------------------------------------------ */

/* Event types of a trace, in the order events of one instant are
 * replayed. */
enum { DNI_TRACE_VISIT = 0, DNI_TRACE_HB = 1, DNI_TRACE_CALL = 2 };

typedef struct dni_trace_event {
    double t;        /* Unix seconds, rounded to milliseconds */
    double duration; /* calls */
    int type;
    uint32_t visitor; /* index into str */
    int32_t text;     /* visits: tags JSON; calls: traffic source; or -1 */
    int32_t call;     /* calls: index in trace order, else -1 */
    uint32_t seq;
} dni_trace_event_t;

/* A pool's traffic over a window, as simulator events (pool_trace.c
 * explains what becomes what). */
typedef struct dni_trace {
    dni_trace_event_t *ev;
    size_t n, cap;
    char **str;
    size_t nstr, strcap;
    const char **call_source; /* per call, in trace order (points into str) */
    size_t calls;             /* call events: DNI__CALLER_DRAWS per call */
    size_t leases, overflow;  /* visits made from leases / overflow events */
    size_t session_calls, unattributed_calls, overflow_calls, default_calls;
    double moved_calls;       /* calls (in expectation over the draws) whose
                                 caller is not the session they are
                                 attributed to */
    double late_share;        /* estimated share of calls made after the
                                 caller's session ended */
    int truncated;            /* stopped at the event limit */
} dni_trace_t;

/* Builds the trace of pool (settings s) for calls and visits in
 * [from, to); now bounds calls still in progress. 0 or -1; free with
 * dni__trace_free() either way. */
int dni__trace_build(dni_db_t *db, const char *pool,
                     const dni_pool_settings_t *s, double from, double to,
                     double now, dni_trace_t *tr);
void dni__trace_free(dni_trace_t *tr);
/* Appends the trace as `dni sim` JSON lines. 0 or -1 (out of memory). */
int dni__trace_write(const dni_trace_t *tr, dni_jsonbuf_t *b);
/* Feeds the same events to a simulator. DNI_OK or its error. */
int dni__trace_feed(const dni_trace_t *tr, dni_sim_t *sim);
/* Records that pool overflowed at t (sync.c, inside its write job); the
 * hourly totals stay in overflow_counts. 0 or -1. */
int dni__overflow_note(dni_db_t *db, const char *pool, double t);

/* ---- fetch.c ----------------------------------------------------------- */

/* Once, before any dni__fetch(); 0 or -1. */
int dni__fetch_init(void);
/*
 * Sends one request (method GET or POST; body NULL for none, sent with
 * content_type) and waits at most timeout_s. Returns the HTTP status, or
 * -1 when no answer came; err gets a one-line reason unless the status
 * is 2xx.
 */
long dni__fetch(const char *method, const char *url, const char *content_type,
                const char *body, double timeout_s, char *err, size_t errlen);
/*
 * GETs a page for the test-snippet tool (page_fetch.c): http(s) only, at
 * most 5 redirects, at most max bytes, timeout_s in all, as a non-browser
 * client. Returns the final HTTP status with *body (malloc'ed, NUL-ended,
 * *len bytes; the caller frees it) and ctype (the Content-Type, may be
 * empty); or -1 with err set and *body NULL.
 */
long dni__fetch_page(const char *url, size_t max, double timeout_s, char **body,
                     size_t *len, char *ctype, size_t ctlen, char *err, size_t errlen);

/* ---- postback.c -------------------------------------------------------- */

/*
 * Queues the postback of call sid when it is due: the call is completed
 * and attributed to a session, its pool has a postback_url, and none was
 * queued for it before. Inside a write job (the webhook, a late lease, a
 * manual match, and the voice route's completion all call it). Returns 1
 * when queued, 0 when not due, -1 on a database error.
 */
int dni__postback_consider(dni_db_t *db, const char *sid, double now);

/* The postback of call sid: {state, attempts, url, method, last_status,
 * last_error, last_at, next_at, delivered_at} or JSON null. */
cJSON *dni__postback_json(dni_db_t *db, const char *sid);

/* Starts the delivery thread (reads the outbox, sends, retries with
 * back-off for window_s seconds from the call's completion); 0 or -1. */
int dni__postback_start(dni_origin_t *o);
/* Stops it (an attempt in flight is finished first). */
void dni__postback_stop(void);

/* Checks a pool's postback_url / postback_method / postback_body
 * templates: 0, or -1 with the 422 reason in msg. */
int dni__postback_template_check(const cJSON *pool, char *msg, size_t msglen);

/* Appends the outbox's metrics (Prometheus text). */
void dni__postback_metrics(dni_store_t *store, dni_jsonbuf_t *b);

/* ---- lease_end_sql.c (depends on the core and SQLite only; the store
 * registers it) ---------------------------------------------------- */

/* The engine settings of every pool, by id (filled by sync.c per batch;
 * ids and settings are owned by the filler). */
typedef struct dni_settings_map {
    size_t n;
    char **ids;
    dni_pool_settings_t *settings;
} dni_settings_map_t;

const dni_pool_settings_t *dni__settings_map_find(const dni_settings_map_t *m,
                                                  const char *pool);

/*
 * Makes m the settings the SQL function dni_lease_end() reads on the
 * calling thread (NULL: none, the function then returns NULL). m must
 * outlive the statements run until the next call.
 */
void dni__settings_map_use(const dni_settings_map_t *m);

/* Registers dni_lease_end() on a SQLite connection (store_sqlite.c); 0 or
 * -1. */
struct sqlite3;
int dni__sql_register(struct sqlite3 *db);

/* ---- recent_calls.c ---------------------------------------------------- */

/*
 * The writer thread's record of the latest call start per called number
 * (writer thread only; loaded from calls on first use). note: a call on
 * number started at start. since: 1 when number may have had a call that
 * started at or after since (never 0 when it did), else 0.
 */
void dni__recent_call_note(dni_db_t *db, const char *number, double start);
int dni__recent_call_since(dni_db_t *db, const char *number, double since);

/* ---- call_status.c ----------------------------------------------------- */

/* Rank of a call status: 1 ringing (queued, initiated), 2 in-progress
 * (answered), 3 final (completed, busy, no-answer, failed, canceled);
 * 0 unknown. */
int dni__call_status_rank(const char *status);

/* ---- webhook.c --------------------------------------------------------- */

/*
 * Records one call status event inside a write job exactly as POST
 * /v1/webhooks/call does (idempotent per (sid, status); a new call is
 * attributed at once). sid, to (E.164) and status must be valid. Returns
 * 200, or >= 500 on a database error. *duplicate is 1 when (sid, status)
 * was already recorded.
 */
int dni__call_event_record(dni_db_t *db, const char *sid, const char *to,
                           const char *from, const char *status, double t,
                           int *duplicate);

/* ---- lifecycle.c ------------------------------------------------------- */

/*
 * Validates and completes the telephony settings of a pool object (called
 * by dni__pool_validate after number_limit is checked): stockpile,
 * provider, auto_scale, forward_to, record_calls, alert_url. Returns NULL
 * or a message for a 422 written into msg.
 */
const char *dni__telephony_validate(cJSON *pool, char *msg, size_t msglen);

/* Validates and fills in the snippet's pool settings (consent_required,
 * consent_cookie, site_origins): NULL, or msg holding the reason. */
const char *dni__pool_snippet_validate(cJSON *pool, char *msg, size_t msglen);

/* 1 once the Twilio provider is open (pools may then use it). */
extern int dni__twilio_configured;

/*
 * Opens the providers and starts the scheduler thread that runs the
 * number lifecycle (stockpile, auto-scaling, month-end scale-down,
 * alerts, reconciliation). NULL after writing a reason into err.
 */
dni_lifecycle_t *dni__lifecycle_start(dni_origin_t *o, char *err,
                                      size_t errlen);
/* Stops the scheduler (waiting for the step in progress) and closes the
 * providers. */
void dni__lifecycle_stop(dni_lifecycle_t *l);

#endif /* DNI_ORIGIN_H */
