/*
 * provider_twilio.c - numbers from Twilio's REST API (2010-04-01),
 * through libcurl (the provider's own requests: Basic authentication,
 * form bodies, JSON answers read whole; fetch.c sends the postbacks and
 * alerts).
 *
 *   search   GET    /2010-04-01/Accounts/{sid}/AvailablePhoneNumbers/{CC}/Local.json
 *                   (or TollFree.json) ?AreaCode=&Contains=&VoiceEnabled=true&PageSize=
 *   acquire  POST   /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json
 *                   PhoneNumber, VoiceUrl, VoiceMethod, StatusCallback,
 *                   StatusCallbackMethod, FriendlyName   -> 201 {sid, phone_number}
 *   release  DELETE /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers/{PN sid}.json -> 204
 *   list     GET    /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PageSize=1000,
 *                   then each next_page_uri
 *
 * Errors come back as {code, message, more_info, status}; the message is
 * passed on. What counts as "maybe done" (DNI_PROV_UNKNOWN): no answer at
 * all after the request may have been sent (timeout, connection lost) and
 * a 5xx to a purchase; the lifecycle settles those against the list. A 4xx
 * is a refusal (DNI_PROV_FAILED).
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

typedef struct twilio {
    dni_provider_t base;
    char *base_url;
    char *account;
    char *userpwd;
    long timeout_ms;
} twilio_t;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct buf {
    char *p;
    size_t len;
    int oom;
} buf_t;

#define MAX_ANSWER (8u << 20)

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    size_t add = size * n;
    if (b->oom || b->len + add > MAX_ANSWER) {
        b->oom = 1;
        return 0;
    }
    char *np = realloc(b->p, b->len + add + 1);
    if (!np) {
        b->oom = 1;
        return 0;
    }
    b->p = np;
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = 0;
    return add;
}

/* One request. Returns the HTTP status with *answer (malloc'ed, may be
 * NULL when empty); or DNI_PROV_FAILED when nothing was sent (could not
 * connect) or DNI_PROV_UNKNOWN when the request may have been sent; err
 * says why. */
static int request(long timeout_ms, const char *userpwd, const char *method,
                   const char *url, const char *form, const char *json,
                   char **answer, char *err, size_t errlen)
{
    pthread_once(&curl_once, curl_init);
    *answer = NULL;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return DNI_PROV_FAILED;
    }
    buf_t b = {NULL, 0, 0};
    struct curl_slist *hdr = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "edgedni-origin");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (userpwd) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    }
    hdr = curl_slist_append(hdr, "Accept: application/json");
    if (json) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    } else if (form) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    }
    if (strcmp(method, "GET") && strcmp(method, "POST"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        free(b.p);
        snprintf(err, errlen, "%s %s: %s", method, url,
                 cerr[0] ? cerr : curl_easy_strerror(rc));
        return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                       rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT
                   ? DNI_PROV_FAILED
                   : DNI_PROV_UNKNOWN;
    }
    *answer = b.p;
    return (int)status;
}

/* err <- "twilio: <status> <message>" from an error answer. */
static void error_of(int status, const char *answer, char *err, size_t errlen)
{
    cJSON *j = answer ? cJSON_Parse(answer) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    if (cJSON_IsString(m))
        snprintf(err, errlen, "twilio: HTTP %d, code %.0f: %.200s", status,
                 cJSON_IsNumber(code) ? code->valuedouble : 0, m->valuestring);
    else
        snprintf(err, errlen, "twilio: HTTP %d", status);
    cJSON_Delete(j);
}

/* GETs url and parses the answer, a page whose member `list` is an array
 * (*arr). Returns the parsed page for the caller to free, or NULL after
 * writing why into err (no answer, an error status, or no such array). */
static cJSON *get_list(const twilio_t *t, const char *url, const char *list,
                       const cJSON **arr, char *err, size_t errlen)
{
    char *answer;
    int status = request(t->timeout_ms, t->userpwd, "GET", url, NULL, NULL,
                         &answer, err, errlen);
    if (status < 0)
        return NULL;
    if (status != 200) {
        error_of(status, answer, err, errlen);
        free(answer);
        return NULL;
    }
    cJSON *j = answer ? cJSON_Parse(answer) : NULL;
    free(answer);
    *arr = cJSON_GetObjectItemCaseSensitive(j, list);
    if (!cJSON_IsArray(*arr)) {
        cJSON_Delete(j);
        snprintf(err, errlen, "twilio: answer without %s", list);
        return NULL;
    }
    return j;
}

static void read_number(const cJSON *o, dni_prov_number_t *n)
{
    memset(n, 0, sizeof *n);
    const cJSON *pn = cJSON_GetObjectItemCaseSensitive(o, "phone_number");
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(o, "sid");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(o, "friendly_name");
    dni_phone_t ph;
    if (cJSON_IsString(pn) &&
        dni_phone_parse(&ph, pn->valuestring, strlen(pn->valuestring), NULL) ==
            DNI_OK)
        snprintf(n->number, sizeof n->number, "%s", ph.e164);
    if (cJSON_IsString(sid))
        snprintf(n->sid, sizeof n->sid, "%s", sid->valuestring);
    if (cJSON_IsString(fn))
        snprintf(n->label, sizeof n->label, "%s", fn->valuestring);
    dni__nanp_area(n->number, n->area_code, &n->toll_free);
}

static char *esc(const char *s)
{
    return curl_easy_escape(NULL, s, 0);
}

static int tw_search(dni_provider_t *p, const dni_prov_query_t *q,
                     dni_prov_number_t *out, int max, char *err, size_t errlen)
{
    twilio_t *t = (twilio_t *)p;
    char url[1024];
    int limit = q->limit < max ? q->limit : max;
    if (limit < 1)
        limit = 1;
    int n = snprintf(url, sizeof url,
                     "%s/2010-04-01/Accounts/%s/AvailablePhoneNumbers/%s/%s.json"
                     "?VoiceEnabled=true&PageSize=%d",
                     t->base_url, t->account, q->country ? q->country : "US",
                     q->toll_free ? "TollFree" : "Local", limit);
    if (q->area_code && *q->area_code && !q->toll_free)
        n += snprintf(url + n, sizeof url - (size_t)n, "&AreaCode=%s",
                      q->area_code);
    if (q->contains && *q->contains) {
        char *c = esc(q->contains);
        n += snprintf(url + n, sizeof url - (size_t)n, "&Contains=%s",
                      c ? c : "");
        curl_free(c);
    }
    if ((size_t)n >= sizeof url) {
        snprintf(err, errlen, "twilio: search URL too long");
        return DNI_PROV_FAILED;
    }
    /* A search changes nothing: a failure leaves no doubt to settle. */
    const cJSON *arr;
    cJSON *j = get_list(t, url, "available_phone_numbers", &arr, err, errlen);
    if (!j)
        return DNI_PROV_FAILED;
    int k = 0;
    for (const cJSON *it = arr->child; it && k < max; it = it->next) {
        read_number(it, &out[k]);
        if (out[k].number[0]) {
            out[k].sid[0] = 0;
            if (q->toll_free)
                out[k].toll_free = 1;
            k++;
        }
    }
    cJSON_Delete(j);
    return k;
}

static int tw_acquire(dni_provider_t *p, const char *number,
                      const dni_prov_hooks_t *hooks, dni_prov_number_t *got,
                      char *err, size_t errlen)
{
    twilio_t *t = (twilio_t *)p;
    char url[512];
    snprintf(url, sizeof url, "%s/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json",
             t->base_url, t->account);
    char *pn = esc(number), *vu = esc(hooks->voice_url),
         *su = esc(hooks->status_url), *fn = esc(hooks->label);
    char *form = NULL;
    if (pn && vu && su && fn) {
        size_t len = strlen(pn) + strlen(vu) + strlen(su) + strlen(fn) + 200;
        form = malloc(len);
        if (form)
            snprintf(form, len,
                     "PhoneNumber=%s&VoiceUrl=%s&VoiceMethod=POST"
                     "&StatusCallback=%s&StatusCallbackMethod=POST&FriendlyName=%s",
                     pn, vu, su, fn);
    }
    curl_free(pn);
    curl_free(vu);
    curl_free(su);
    curl_free(fn);
    if (!form) {
        snprintf(err, errlen, "out of memory");
        return DNI_PROV_FAILED;
    }
    char *answer;
    int status = request(t->timeout_ms, t->userpwd, "POST", url, form, NULL,
                         &answer, err, errlen);
    free(form);
    if (status < 0)
        return status;
    if (status != 201 && status != 200) {
        error_of(status, answer, err, errlen);
        free(answer);
        return status >= 500 ? DNI_PROV_UNKNOWN : DNI_PROV_FAILED;
    }
    cJSON *j = answer ? cJSON_Parse(answer) : NULL;
    free(answer);
    read_number(j, got);
    cJSON_Delete(j);
    if (!got->sid[0]) {
        /* It answered yes without saying what it sold: settle by list. */
        snprintf(err, errlen, "twilio: purchase answer without a sid");
        return DNI_PROV_UNKNOWN;
    }
    if (!got->number[0])
        snprintf(got->number, sizeof got->number, "%s", number);
    return DNI_PROV_OK;
}

static int tw_list(dni_provider_t *p, dni_prov_each_fn each, void *ud,
                   char *err, size_t errlen)
{
    twilio_t *t = (twilio_t *)p;
    char url[2048];
    snprintf(url, sizeof url,
             "%s/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json?PageSize=1000",
             t->base_url, t->account);
    for (int page = 0; page < 1000; page++) {
        const cJSON *arr;
        cJSON *j = get_list(t, url, "incoming_phone_numbers", &arr, err, errlen);
        if (!j)
            return DNI_PROV_FAILED;
        dni_prov_number_t n;
        for (const cJSON *it = arr->child; it; it = it->next) {
            read_number(it, &n);
            if (n.number[0] && each(ud, &n)) {
                cJSON_Delete(j);
                return DNI_PROV_OK;
            }
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_page_uri");
        int more = cJSON_IsString(next) && next->valuestring[0] == '/';
        if (more)
            snprintf(url, sizeof url, "%s%s", t->base_url, next->valuestring);
        cJSON_Delete(j);
        if (!more)
            return DNI_PROV_OK;
    }
    snprintf(err, errlen, "twilio: too many pages of numbers");
    return DNI_PROV_FAILED;
}

typedef struct find_sid {
    const char *number;
    char sid[64];
} find_sid_t;

static int each_find(void *ud, const dni_prov_number_t *n)
{
    find_sid_t *f = ud;
    if (strcmp(f->number, n->number))
        return 0;
    snprintf(f->sid, sizeof f->sid, "%s", n->sid);
    return 1;
}

static int tw_release(dni_provider_t *p, const dni_prov_number_t *n,
                      char *err, size_t errlen)
{
    twilio_t *t = (twilio_t *)p;
    find_sid_t f = {n->number, ""};
    snprintf(f.sid, sizeof f.sid, "%s", n->sid);
    if (!f.sid[0]) {
        int rc = tw_list(p, each_find, &f, err, errlen);
        if (rc != DNI_PROV_OK)
            return rc;
        if (!f.sid[0])
            return DNI_PROV_OK; /* not owned: already released */
    }
    char *s = esc(f.sid);
    char url[512];
    snprintf(url, sizeof url, "%s/2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json",
             t->base_url, t->account, s ? s : "");
    curl_free(s);
    char *answer;
    int status = request(t->timeout_ms, t->userpwd, "DELETE", url, NULL, NULL,
                         &answer, err, errlen);
    if (status < 0)
        return status;
    if (status == 204 || status == 200 || status == 404) {
        free(answer);
        return DNI_PROV_OK;
    }
    error_of(status, answer, err, errlen);
    free(answer);
    return status >= 500 ? DNI_PROV_UNKNOWN : DNI_PROV_FAILED;
}

static void tw_close(dni_provider_t *p)
{
    twilio_t *t = (twilio_t *)p;
    free(t->base_url);
    free(t->account);
    free(t->userpwd);
    free(t);
}

dni_provider_t *dni__provider_twilio_open(const dni_twilio_config_t *c,
                                          char *err, size_t errlen)
{
    if (!c->account || !c->user || !c->secret) {
        snprintf(err, errlen, "twilio: an account SID and credentials are needed");
        return NULL;
    }
    if (strspn(c->account, "ABCDEFabcdef0123456789ACacnt") < 2 ||
        strchr(c->account, '/') || strchr(c->account, '?')) {
        snprintf(err, errlen, "twilio: the account SID looks wrong");
        return NULL;
    }
    pthread_once(&curl_once, curl_init);
    twilio_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t bl = strlen(c->base);
    while (bl > 0 && c->base[bl - 1] == '/')
        bl--;
    t->base_url = strndup(c->base, bl);
    t->account = strdup(c->account);
    size_t ul = strlen(c->user) + strlen(c->secret) + 2;
    t->userpwd = malloc(ul);
    if (t->userpwd)
        snprintf(t->userpwd, ul, "%s:%s", c->user, c->secret);
    t->timeout_ms = (long)(c->timeout_s * 1000);
    if (t->timeout_ms < 100)
        t->timeout_ms = 100;
    if (!t->base_url || !t->account || !t->userpwd) {
        tw_close(&t->base);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->base.kind = "twilio";
    t->base.search = tw_search;
    t->base.acquire = tw_acquire;
    t->base.release = tw_release;
    t->base.list = tw_list;
    t->base.close = tw_close;
    return &t->base;
}
