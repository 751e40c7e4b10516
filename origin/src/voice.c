/*
 * voice.c - POST /v1/voice: a tracking number's voice URL.
 *
 * The provider asks here what to do with an incoming call (form fields
 * CallSid, From, To, ..., signed with X-Twilio-Signature like the call
 * webhooks). The call is recorded as ringing and attributed at once (the
 * same path as POST /v1/webhooks/call), and the answer is TwiML that
 * forwards it:
 *
 *   <Response><Dial callerId="{From}" [record="record-from-answer-dual"]>
 *     <Number statusCallback="{origin}/v1/webhooks/call"
 *             statusCallbackEvent="answered completed"
 *             statusCallbackMethod="POST">{forward_to}</Number>
 *   </Dial></Response>
 *
 * forward_to is the pool's setting (default: its default number), the
 * caller's number is passed through as caller ID, the call is recorded
 * when the pool says record_calls, and the forwarded leg's status events
 * come back to the call webhook (as ParentCallSid of this call).
 *
 * A caller is never dropped because of us: a number in no pool, a database
 * error or a forward that would ring this route again all still get valid
 * TwiML (forwarded to --voice-fallback, or a short message and a hang-up).
 * Only requests that are not the provider's (unsigned, not a form) get a
 * JSON error.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define MAX_PAIRS 128

typedef struct voice_job {
    const char *sid;  /* NULL: not recordable */
    const char *to;   /* E.164 or NULL */
    const char *from;
    double now;
    char pool[80];
    char forward_to[24];
    int record;
} voice_job_t;

static int voice_job(dni_db_t *db, void *arg)
{
    voice_job_t *j = arg;
    if (!j->to)
        return 200;
    dni_stmt_t *st = dni__stmt(db, "SELECT pool_id FROM numbers WHERE number = ?1");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->to);
    if (dni__step(st) == DNI_ROW)
        snprintf(j->pool, sizeof j->pool, "%s", dni__col_text(st, 0));
    dni__reset(st);
    if (!j->pool[0]) {
        /* A pool's default or overflow number (the same choice as the
         * call webhook makes). */
        st = dni__stmt(db, "SELECT id FROM pools WHERE default_number = ?1"
                           " OR overflow_number = ?1"
                           " ORDER BY overflow_number = ?1 DESC, id LIMIT 1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->to);
        if (dni__step(st) == DNI_ROW)
            snprintf(j->pool, sizeof j->pool, "%s", dni__col_text(st, 0));
        dni__reset(st);
    }
    if (j->pool[0]) {
        st = dni__stmt(db, "SELECT forward_to, record_calls FROM pool_telephony"
                           " WHERE pool_id = ?1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->pool);
        if (dni__step(st) == DNI_ROW) {
            snprintf(j->forward_to, sizeof j->forward_to, "%s",
                     dni__col_text(st, 0));
            j->record = dni__col_int(st, 1);
        }
        dni__reset(st);
    }
    if (!j->sid)
        return 200;
    int dup = 0;
    return dni__call_event_record(db, j->sid, j->to, j->from, "ringing",
                                  j->now, &dup);
}

/* Appends s XML-escaped (for text and attribute values). */
static void xml_text(dni_jsonbuf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': dni__jsonbuf_raw(b, "&amp;"); break;
        case '<': dni__jsonbuf_raw(b, "&lt;"); break;
        case '>': dni__jsonbuf_raw(b, "&gt;"); break;
        case '"': dni__jsonbuf_raw(b, "&quot;"); break;
        case '\'': dni__jsonbuf_raw(b, "&apos;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                dni__jsonbuf_put(b, s, 1);
        }
    }
}

/* The public base URL (no trailing '/') into out. */
static void public_base(const dni_origin_t *o, char *out, size_t len)
{
    if (o->cfg.public_url) {
        size_t bl = strlen(o->cfg.public_url);
        while (bl > 0 && o->cfg.public_url[bl - 1] == '/')
            bl--;
        snprintf(out, len, "%.*s", (int)bl, o->cfg.public_url);
    } else {
        snprintf(out, len, "http://%s", o->cfg.listen);
    }
}

static const char *field(const dni_form_pair_t *p, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(p[i].name, name))
            return p[i].value;
    return NULL;
}

static int valid_sid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-") == n;
}

void dni__voice_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    if (!dni__req_is_form(r)) {
        dni__resp_error(resp, 415, "Content-Type must be "
                                   "application/x-www-form-urlencoded");
        return;
    }
    dni_form_pair_t pairs[MAX_PAIRS];
    int n = dni__form_parse(r->body, r->body_len, pairs, MAX_PAIRS);
    if (n < 0) {
        dni__resp_error(resp, 400, "body is not valid form data");
        return;
    }
    /* The same check as every webhook-like route (signature.c). */
    if (!dni__request_signed(o, r, pairs, n)) {
        dni__form_free(pairs, n);
        dni__resp_error(resp, 403, "missing or wrong X-Twilio-Signature");
        return;
    }
    char base[1024];
    public_base(o, base, sizeof base);
    const char *sid = field(pairs, n, "CallSid");
    const char *to = field(pairs, n, "To");
    const char *from = field(pairs, n, "From");
    dni_phone_t to_ph, from_ph;
    int to_ok = to && dni_phone_parse(&to_ph, to, strlen(to), NULL) == DNI_OK;
    int from_ok = from && dni_phone_parse(&from_ph, from, strlen(from), NULL) == DNI_OK;

    voice_job_t j;
    memset(&j, 0, sizeof j);
    j.to = to_ok ? to_ph.e164 : NULL;
    j.sid = to_ok && valid_sid(sid) ? sid : NULL;
    j.from = from ? from : "";
    j.now = dni__now();
    int status = dni__store_write(o->store, voice_job, &j);
    if (status >= 400)
        fprintf(stderr, "dni-origin: voice: call %s to %s not recorded "
                        "(database error); forwarded anyway\n",
                sid ? sid : "?", to ? to : "?");

    /* Where to: the pool's forward_to; never the number that was called
     * (that would ring this route again); else the fallback. */
    const char *target = j.forward_to[0] ? j.forward_to : NULL;
    if (target && j.to && !strcmp(target, j.to))
        target = NULL;
    int record = target && j.record;
    if (!target && o->cfg.voice_fallback &&
        !(j.to && !strcmp(o->cfg.voice_fallback, j.to)))
        target = o->cfg.voice_fallback;

    dni_jsonbuf_t b = {0};
    dni__jsonbuf_raw(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>");
    if (target) {
        dni__jsonbuf_raw(&b, "<Dial");
        if (from_ok) {
            dni__jsonbuf_raw(&b, " callerId=\"");
            xml_text(&b, from_ph.e164);
            dni__jsonbuf_raw(&b, "\"");
        }
        if (record)
            dni__jsonbuf_raw(&b, " record=\"record-from-answer-dual\"");
        dni__jsonbuf_raw(&b, "><Number statusCallbackEvent=\"answered completed\""
                             " statusCallbackMethod=\"POST\" statusCallback=\"");
        xml_text(&b, base);
        dni__jsonbuf_raw(&b, "/v1/webhooks/call\">");
        xml_text(&b, target);
        dni__jsonbuf_raw(&b, "</Number></Dial>");
    } else {
        dni__jsonbuf_raw(&b, "<Say>Sorry, the number you called is not in "
                             "service. Goodbye.</Say><Hangup/>");
    }
    dni__jsonbuf_raw(&b, "</Response>\n");
    dni__form_free(pairs, n);
    if (b.oom) {
        free(b.p);
        /* Even now a caller gets instructions, from static memory. */
        static const char bare[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                   "\n<Response><Hangup/></Response>\n";
        char *s = strdup(bare);
        dni__resp_take(resp, 200, s, s ? strlen(s) : 0, "text/xml");
        return;
    }
    dni__resp_take(resp, 200, b.p, b.len, "text/xml");
}
