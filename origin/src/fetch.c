/*
 * fetch.c - one outbound HTTP request (the postbacks' sender), the only
 * file of the postback path that knows the HTTP client library.
 *
 * A postback follows no redirect (a 3xx is an answer, and not a 2xx); the
 * body of its answer is read and dropped (its first bytes are kept for
 * the delivery record).
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

int dni__fetch_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

typedef struct sink {
    char *buf;
    size_t cap, len;
} sink_t;

static size_t keep_head(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    size_t bytes = size * n;
    if (s->len + 1 < s->cap) {
        size_t room = s->cap - 1 - s->len;
        size_t k = bytes < room ? bytes : room;
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        s->buf[s->len] = 0;
    }
    return bytes;
}

/* What every request here shares: http and https only, no signals (the
 * origin is threaded), a total and a connect timeout so a receiver that
 * never answers costs one attempt. Returns the HTTP status, or -1 with
 * *rc saying why the transfer failed. */
static long perform(CURL *c, double timeout_s, CURLcode *rc)
{
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long ms = (long)(timeout_s * 1000);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 5000 ? ms : 5000L);
    *rc = curl_easy_perform(c);
    long status = -1;
    if (*rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

long dni__fetch(const char *method, const char *url, const char *content_type,
                const char *body, double timeout_s, char *err, size_t errlen)
{
    err[0] = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot start an HTTP request");
        return -1;
    }
    char answer[200] = "";
    sink_t sink = {answer, sizeof answer, 0};
    struct curl_slist *headers = NULL;
    if (body) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        headers = curl_slist_append(headers, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "GET"))
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "edgedni-postback/1");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_head);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    CURLcode rc;
    long status = perform(c, timeout_s, &rc);
    if (rc == CURLE_OK) {
        if (status < 200 || status > 299)
            snprintf(err, errlen, "HTTP %ld%s%.120s", status, answer[0] ? ": " : "",
                     answer);
    } else {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return status;
}

/* ---- a page for the dashboard's test-snippet tool ---------------------- */

/* The page grows in a text buffer up to max bytes; past that the
 * transfer is stopped. */
typedef struct page_sink {
    dni_jsonbuf_t text;
    size_t max;
    int too_big;
} page_sink_t;

static size_t keep_page(char *p, size_t size, size_t n, void *ud)
{
    page_sink_t *s = ud;
    size_t bytes = size * n;
    if (s->text.len + bytes > s->max) {
        s->too_big = 1;
        return 0; /* the transfer stops with a write error */
    }
    dni__jsonbuf_put(&s->text, p, bytes);
    return s->text.oom ? 0 : bytes;
}

long dni__fetch_page(const char *url, size_t max, double timeout_s, char **body,
                     size_t *len, char *ctype, size_t ctlen, char *err, size_t errlen)
{
    err[0] = 0;
    *body = NULL;
    *len = 0;
    if (ctlen)
        ctype[0] = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot start an HTTP request");
        return -1;
    }
    page_sink_t sink = {{NULL, 0, 0, 0}, max, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    /* Not a browser: an edge hands it the page as the site serves it and
     * makes no lease for it. */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "edgedni-test-snippet/1");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_page);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    CURLcode rc;
    long status = perform(c, timeout_s, &rc);
    if (rc == CURLE_OK) {
        char *ct = NULL;
        if (ctlen && curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
            snprintf(ctype, ctlen, "%s", ct);
        *body = sink.text.p ? sink.text.p : calloc(1, 1);
        *len = sink.text.len;
        if (!*body) {
            snprintf(err, errlen, "out of memory");
            status = -1;
        }
    } else {
        if (rc == CURLE_WRITE_ERROR && sink.too_big)
            snprintf(err, errlen, "the page is larger than %zu bytes", max);
        else
            snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        free(sink.text.p);
    }
    curl_easy_cleanup(c);
    return status;
}
