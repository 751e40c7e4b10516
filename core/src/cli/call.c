/*
 * call.c - `dni call`: simulate a phone call to a tracking number.
 *
 *   dni call --origin URL --to NUMBER [--from NUMBER] [--duration S]
 *            [--status-sequence S1,S2,...] [--sid SID] [--wait S] [--json]
 *
 * Posts the call status webhooks a telephony provider would send
 * (ringing, in-progress, completed by default, each with the time it
 * would have happened: answered 3 s after ringing, completed `--duration`
 * seconds later, which is in the future) to URL/v1/webhooks/call,
 * form-encoded and signed as the provider signs them with
 * DNI_TWILIO_AUTH_TOKEN (unsigned when it is not set), then reads the
 * call back with DNI_ADMIN_TOKEN and prints its attribution.
 *
 * A visitor who calls within a second or two of opening the page may call
 * before the edge has reported the lease that showed the number; the
 * origin then attributes the call again when the lease arrives. So while
 * the call reads "unattributed" on a number of a pool, it is read again
 * for up to --wait seconds (default 10).
 *
 * Exit status: 0 the call was recorded (whatever its attribution); 2 a
 * usage error or bad input (one line on stderr, nothing sent); 1 the
 * origin could not be reached or refused a webhook.
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "dni.h"

#define MAX_STATUSES 8

static const char *const known_statuses[] = {
    "queued", "initiated", "ringing", "in-progress", "completed",
    "busy",   "no-answer", "failed",  "canceled",    NULL};

static int is_final(const char *s)
{
    return !strcmp(s, "completed") || !strcmp(s, "busy") ||
           !strcmp(s, "no-answer") || !strcmp(s, "failed") ||
           !strcmp(s, "canceled");
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("dni call: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see dni --help)\n", stderr);
    return 2;
}

/* --- HTTP ------------------------------------------------------------------ */

typedef struct body {
    char *p;
    size_t len;
} body_t;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    body_t *b = ud;
    size_t add = size * n;
    if (b->len + add > (4u << 20))
        return 0; /* an answer this large is not ours */
    char *nb = realloc(b->p, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, add);
    b->p = nb;
    b->len += add;
    b->p[b->len] = 0;
    return add;
}

/* One request. Returns the HTTP status (body in *out, caller frees) or -1
 * after printing why it could not be made. */
static long http(const char *method, const char *url, const char *auth_header,
                 const char *sig_header, const char *form, body_t *out)
{
    CURL *c = curl_easy_init();
    if (!c) {
        fputs("dni call: cannot start the HTTP client\n", stderr);
        return -1;
    }
    struct curl_slist *h = NULL;
    if (auth_header)
        h = curl_slist_append(h, auth_header);
    if (sig_header)
        h = curl_slist_append(h, sig_header);
    if (form)
        h = curl_slist_append(
            h, "Content-Type: application/x-www-form-urlencoded");
    out->p = NULL;
    out->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dni-call/1");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (form)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    CURLcode rc = curl_easy_perform(c);
    long status = -1;
    if (rc != CURLE_OK)
        fprintf(stderr, "dni call: %s %s: %s\n", method, url,
                curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* The "error" member of a JSON answer, or the body itself. */
static const char *error_of(const body_t *b, char *buf, size_t len)
{
    cJSON *j = b->p ? cJSON_Parse(b->p) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    snprintf(buf, len, "%s",
             cJSON_IsString(e) ? e->valuestring : (b->p ? b->p : ""));
    cJSON_Delete(j);
    return buf;
}

/* --- the webhook ------------------------------------------------------------ */

typedef struct param {
    const char *name;
    char value[64];
} param_t;

static int param_cmp(const void *a, const void *b)
{
    const param_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* The provider's signature: base64(HMAC-SHA1(token, url + each parameter's
 * name and value, sorted by name)). out needs 29 bytes. */
static void sign(const char *token, const char *url, param_t *ps, int n,
                 char out[29])
{
    qsort(ps, (size_t)n, sizeof *ps, param_cmp);
    size_t len = strlen(url);
    for (int i = 0; i < n; i++)
        len += strlen(ps[i].name) + strlen(ps[i].value);
    char *msg = malloc(len + 1);
    out[0] = 0;
    if (!msg)
        return;
    size_t off = (size_t)sprintf(msg, "%s", url);
    for (int i = 0; i < n; i++)
        off += (size_t)sprintf(msg + off, "%s%s", ps[i].name, ps[i].value);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (HMAC(EVP_sha1(), token, (int)strlen(token), (unsigned char *)msg, off,
             mac, &maclen))
        EVP_EncodeBlock((unsigned char *)out, mac, 20);
    free(msg);
}

/* application/x-www-form-urlencoded body of ps (caller frees). */
static char *form_encode(CURL *c, const param_t *ps, int n)
{
    size_t cap = 1, len = 0;
    for (int i = 0; i < n; i++)
        cap += strlen(ps[i].name) + 3 * strlen(ps[i].value) + 2;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = 0;
    for (int i = 0; i < n; i++) {
        char *v = curl_easy_escape(c, ps[i].value, 0);
        if (!v) {
            free(s);
            return NULL;
        }
        len += (size_t)snprintf(s + len, cap - len, "%s%s=%s", i ? "&" : "",
                                ps[i].name, v);
        curl_free(v);
    }
    return s;
}

/* Posts one status event; 0 or -1 after printing why. */
static int post_event(const char *url, const char *token, const char *sid,
                      const char *to, const char *from, const char *status,
                      int seq, long duration, double at)
{
    param_t ps[9];
    int n = 0;
    ps[n].name = "CallSid";
    snprintf(ps[n++].value, sizeof ps[0].value, "%s", sid);
    ps[n].name = "AccountSid";
    snprintf(ps[n++].value, sizeof ps[0].value, "AC%032d", 0);
    ps[n].name = "To";
    snprintf(ps[n++].value, sizeof ps[0].value, "%s", to);
    ps[n].name = "From";
    snprintf(ps[n++].value, sizeof ps[0].value, "%s", from);
    ps[n].name = "CallStatus";
    snprintf(ps[n++].value, sizeof ps[0].value, "%s", status);
    ps[n].name = "SequenceNumber";
    snprintf(ps[n++].value, sizeof ps[0].value, "%d", seq);
    /* Unix seconds with milliseconds (the origin also reads the
     * provider's RFC 2822 dates, whose whole seconds could date a call
     * made right after the page view before the visit). */
    ps[n].name = "Timestamp";
    snprintf(ps[n++].value, sizeof ps[0].value, "%.3f", at);
    ps[n].name = "Direction";
    snprintf(ps[n++].value, sizeof ps[0].value, "inbound");
    if (is_final(status)) {
        ps[n].name = "CallDuration";
        snprintf(ps[n++].value, sizeof ps[0].value, "%ld",
                 strcmp(status, "completed") ? 0 : duration);
    }
    char sig[29] = "", sig_header[64] = "";
    if (token) {
        sign(token, url, ps, n, sig);
        snprintf(sig_header, sizeof sig_header, "X-Twilio-Signature: %s", sig);
    }
    CURL *c = curl_easy_init();
    char *form = c ? form_encode(c, ps, n) : NULL;
    if (c)
        curl_easy_cleanup(c);
    if (!form) {
        fputs("dni call: out of memory\n", stderr);
        return -1;
    }
    body_t b;
    long st = http("POST", url, NULL, token ? sig_header : NULL, form, &b);
    free(form);
    int rc = 0;
    if (st < 0) {
        rc = -1;
    } else if (st != 200) {
        char msg[256];
        fprintf(stderr, "dni call: the origin refused '%s' (%ld): %s%s\n",
                status, st, error_of(&b, msg, sizeof msg),
                st == 403 && !token
                    ? " (set DNI_TWILIO_AUTH_TOKEN to the origin's token "
                      "to sign the webhooks)"
                    : "");
        rc = -1;
    }
    free(b.p);
    return rc;
}

/* --- reading the call back --------------------------------------------------- */

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A visitor id is a pseudonymous cookie value: printed shortened. */
static void print_visitor(const char *v)
{
    if (!v)
        printf("(unknown)");
    else
        printf("%.8s%s", v, strlen(v) > 8 ? "…" : "");
}

static void print_call(const cJSON *call)
{
    const char *attr = str(call, "attribution");
    const cJSON *session = cJSON_GetObjectItemCaseSensitive(call, "session");
    const cJSON *lk = cJSON_GetObjectItemCaseSensitive(call, "likelihood");
    printf("call %s to %s: %s, pool %s\n", str(call, "sid"),
           str(call, "to") ? str(call, "to") : "?",
           str(call, "status") ? str(call, "status") : "?",
           str(call, "pool") ? str(call, "pool") : "(none)");
    if (!attr || strcmp(attr, "session") || !cJSON_IsObject(session)) {
        const char *why =
            !attr                        ? "not attributed"
            : !strcmp(attr, "default")   ? "not attributed: the caller dialled "
                                           "the site's own number"
            : !strcmp(attr, "overflow")  ? "not attributed: the caller dialled "
                                           "the overflow number (the pool was "
                                           "full)"
            : !strcmp(attr, "unknown")   ? "not attributed: the number belongs "
                                           "to no pool"
                                         : "not attributed: no visitor held "
                                           "this number when the call began";
        printf("  %s\n", why);
        return;
    }
    printf("  attributed to visitor ");
    print_visitor(str(session, "visitor"));
    printf(" (lease %s on %s), likelihood %.2f\n",
           str(session, "lease") ? str(session, "lease") : "?",
           str(session, "edge") ? str(session, "edge") : "?",
           cJSON_IsNumber(lk) ? lk->valuedouble : 0.0);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(session, "tags");
    printf("  tags:");
    const cJSON *t;
    int any = 0;
    cJSON_ArrayForEach(t, tags)
    {
        if (cJSON_IsString(t)) {
            printf(" %s=%s", t->string, t->valuestring);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " (none)");
    const char *landing = str(session, "landing_url");
    const char *ref = str(session, "referrer");
    printf("  landing page: %s\n", landing && *landing ? landing : "(unknown)");
    printf("  referrer: %s\n", ref && *ref ? ref : "(none)");
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(call, "candidates");
    int n = cJSON_GetArraySize(cands);
    if (n > 1) {
        printf("  other candidates:");
        for (int i = 1; i < n; i++) {
            const cJSON *c = cJSON_GetArrayItem(cands, i);
            const cJSON *cl = cJSON_GetObjectItemCaseSensitive(c, "likelihood");
            printf(" ");
            print_visitor(str(c, "visitor"));
            printf(" (%.2f)", cJSON_IsNumber(cl) ? cl->valuedouble : 0.0);
        }
        printf("\n");
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads the call until it is attributed or wait_s has passed; prints it.
 * Returns 0, or 1 when it could not be read. */
static int show_call(const char *origin, const char *admin, const char *sid,
                     double wait_s, int as_json)
{
    char url[1200], auth[512];
    snprintf(url, sizeof url, "%s/v1/calls/%s", origin, sid);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int told = 0;
    for (;;) {
        body_t b;
        long st = http("GET", url, auth, NULL, NULL, &b);
        if (st != 200) {
            char msg[256];
            if (st > 0)
                fprintf(stderr, "dni call: reading the call back failed "
                                "(%ld): %s\n",
                        st, error_of(&b, msg, sizeof msg));
            free(b.p);
            return 1;
        }
        cJSON *call = cJSON_Parse(b.p);
        const char *attr = str(call, "attribution");
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double spent = (double)(now.tv_sec - t0.tv_sec) +
                       (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        int pending = attr && !strcmp(attr, "unattributed") &&
                      str(call, "pool") && spent < wait_s;
        if (!pending) {
            if (as_json)
                printf("%s\n", b.p);
            else if (call)
                print_call(call);
            cJSON_Delete(call);
            free(b.p);
            return call ? 0 : 1;
        }
        if (!told && !as_json) {
            fprintf(stderr, "dni call: not attributed yet; waiting up to "
                            "%.0f s for the edge to report the lease…\n",
                    wait_s);
            told = 1;
        }
        cJSON_Delete(call);
        free(b.p);
        sleep_ms(250);
    }
}

/* --- command line ---------------------------------------------------------------- */

static int parse_number(const char *opt, const char *v, char out[17])
{
    dni_phone_t p;
    if (dni_phone_parse(&p, v, strlen(v), NULL) != DNI_OK)
        return usage_error("%s is not a phone number", opt);
    memcpy(out, p.e164, sizeof p.e164);
    return 0;
}

static int parse_whole(const char *opt, const char *v, long max, long *out)
{
    char *end;
    if (!*v || *v == '-' || *v == '+')
        return usage_error("%s needs a whole number of seconds", opt);
    long n = strtol(v, &end, 10);
    if (*end || n > max) {
        fputs("dni call: ", stderr);
        fprintf(stderr, "%s must be a whole number of seconds up to %ld", opt,
                max);
        fputs(" (see dni --help)\n", stderr);
        return 2;
    }
    *out = n;
    return 0;
}

static void random_sid(char sid[35])
{
    unsigned char r[16] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(r, 1, sizeof r, f) != sizeof r) {
        /* No /dev/urandom: time and pid are enough to tell calls apart. */
        unsigned long x = (unsigned long)time(NULL) ^ (unsigned long)clock();
        for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005UL + 1)
            r[i] = (unsigned char)(x >> 33);
    }
    if (f)
        fclose(f);
    sid[0] = 'C';
    sid[1] = 'A';
    for (int i = 0; i < 16; i++)
        sprintf(sid + 2 + 2 * i, "%02x", r[i]);
}

static const char call_help[] =
    "usage: dni call --origin URL --to NUMBER [--from NUMBER] [--duration S]\n"
    "                [--status-sequence S1,S2,...] [--sid SID] [--wait S] [--json]\n"
    "\n"
    "Simulates a phone call to a tracking number: sends the call status\n"
    "webhooks a telephony provider would send to URL/v1/webhooks/call, signed\n"
    "with DNI_TWILIO_AUTH_TOKEN, then prints the call's attribution, read back\n"
    "with DNI_ADMIN_TOKEN (`make run` prints both).\n"
    "\n"
    "  --origin URL          the origin (http://127.0.0.1:8080 under make run)\n"
    "  --to NUMBER           the number called, as the page shows it\n"
    "  --from NUMBER         the caller (default +15555550100)\n"
    "  --duration S          seconds of conversation (default 65)\n"
    "  --status-sequence L   statuses sent, in order (default\n"
    "                        ringing,in-progress,completed; also queued,\n"
    "                        initiated, busy, no-answer, failed, canceled)\n"
    "  --sid SID             the call's id (default: a random CA...)\n"
    "  --wait S              how long to wait for the edge to report the visit\n"
    "                        when the call is not attributed yet (default 10)\n"
    "  --json                print the call record as the API returns it\n"
    "\n"
    "Exit status: 0 the call was recorded, 1 the origin could not be reached\n"
    "or refused it, 2 bad input (one line on stderr, nothing sent).\n";

int cli_call(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(call_help, stdout);
            return 0;
        }
    }
    const char *origin = NULL, *to_arg = NULL, *from_arg = "+15555550100";
    const char *seq_arg = "ringing,in-progress,completed", *sid_arg = NULL;
    long duration = 65, wait_s = 10;
    int as_json = 0;

    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = cli_option_value(argc, argv, &i, "--origin", &missing)))
            origin = v;
        else if ((v = cli_option_value(argc, argv, &i, "--to", &missing)))
            to_arg = v;
        else if ((v = cli_option_value(argc, argv, &i, "--from", &missing)))
            from_arg = v;
        else if ((v = cli_option_value(argc, argv, &i, "--status-sequence",
                                &missing)))
            seq_arg = v;
        else if ((v = cli_option_value(argc, argv, &i, "--sid", &missing)))
            sid_arg = v;
        else if ((v = cli_option_value(argc, argv, &i, "--duration", &missing))) {
            if (parse_whole("--duration", v, 86400, &duration))
                return 2;
        } else if ((v = cli_option_value(argc, argv, &i, "--wait", &missing))) {
            if (parse_whole("--wait", v, 600, &wait_s))
                return 2;
        } else if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (missing)
            return usage_error("%s needs a value", argv[i]);
        else
            return usage_error("unknown argument '%s'", argv[i]);
        if (missing)
            return usage_error("%s needs a value", argv[i]);
    }
    if (!origin)
        return usage_error("%s is required", "--origin URL");
    if (!to_arg)
        return usage_error("%s is required", "--to NUMBER");
    size_t olen = strlen(origin);
    while (olen && origin[olen - 1] == '/')
        olen--;
    if ((strncmp(origin, "http://", 7) && strncmp(origin, "https://", 8)) ||
        olen <= 8 || olen > 1000 || strpbrk(origin, " \t\r\n?#"))
        return usage_error("--origin must be an http(s) URL such as "
                           "http://127.0.0.1:8080, not '%s'",
                           origin);
    char base[1001];
    snprintf(base, sizeof base, "%.*s", (int)olen, origin);
    char to[17], from[17];
    if (parse_number("--to", to_arg, to) || parse_number("--from", from_arg, from))
        return 2;
    if (sid_arg && (strlen(sid_arg) < 2 || strlen(sid_arg) > 34 ||
                    strspn(sid_arg, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
                        strlen(sid_arg)))
        return usage_error("--sid: 2..34 letters and digits, not '%s'",
                           sid_arg);

    /* The status sequence: known statuses, comma-separated. */
    char seqbuf[256];
    const char *statuses[MAX_STATUSES];
    int nst = 0;
    if (strlen(seq_arg) >= sizeof seqbuf)
        return usage_error("%s is too long", "--status-sequence");
    strcpy(seqbuf, seq_arg);
    for (char *save = NULL, *s = strtok_r(seqbuf, ",", &save); s;
         s = strtok_r(NULL, ",", &save)) {
        int known = 0;
        for (int k = 0; known_statuses[k]; k++)
            known |= !strcmp(s, known_statuses[k]);
        if (!known)
            return usage_error("unknown call status '%s' (ringing, "
                               "in-progress, completed, busy, no-answer, "
                               "failed, canceled, queued, initiated)",
                               s);
        if (nst == MAX_STATUSES)
            return usage_error("%s: at most 8 statuses", "--status-sequence");
        statuses[nst++] = s;
    }
    if (!nst)
        return usage_error("%s is empty", "--status-sequence");

    char sid[35];
    if (sid_arg)
        snprintf(sid, sizeof sid, "%s", sid_arg);
    else
        random_sid(sid);
    const char *token = getenv("DNI_TWILIO_AUTH_TOKEN");
    const char *admin = getenv("DNI_ADMIN_TOKEN");
    if (token && !*token)
        token = NULL;
    if (admin && !*admin)
        admin = NULL;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fputs("dni call: cannot start the HTTP client\n", stderr);
        return 1;
    }
    char url[1100];
    snprintf(url, sizeof url, "%s/v1/webhooks/call", base);
    /* Each event carries the time it would have happened: ringing now,
     * answered 3 s later, completed `duration` s after that. (A final
     * event's CallDuration tells the origin when the call began, so
     * sending every event at once with its arrival time would date the
     * call `duration` s in the past, before the visit that showed the
     * number.) */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double t = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    int rc = 0;
    for (int i = 0; i < nst && rc == 0; i++) {
        if (i > 0 && (!strcmp(statuses[i], "in-progress") ||
                      !strcmp(statuses[i - 1], "in-progress")))
            t += !strcmp(statuses[i], "in-progress") ? 3.0 : (double)duration;
        if (post_event(url, token, sid, to, from, statuses[i], i, duration, t))
            rc = 1;
        else if (!as_json)
            fprintf(stderr, "dni call: %s %s → %s\n", sid, statuses[i], to);
    }
    if (rc == 0) {
        if (admin)
            rc = show_call(base, admin, sid, (double)wait_s, as_json);
        else
            fprintf(stderr, "dni call: call %s recorded; set DNI_ADMIN_TOKEN "
                            "to see its attribution here\n",
                    sid);
    }
    curl_global_cleanup();
    return rc;
}
