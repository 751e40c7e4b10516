/*
 * fetch.c - one outbound HTTP request (the postbacks' sender), the only
 * file of the postback path that knows the HTTP client library.
 *
 * Redirects are not followed (a 3xx is an answer, and not a 2xx), the
 * body of the answer is read and dropped (its first bytes are kept for
 * the delivery record), and every request has a connect and a total
 * timeout so a receiver that never answers costs one attempt.
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <stdio.h>
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
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long ms = (long)(timeout_s * 1000);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 5000 ? ms : 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_head);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    CURLcode rc = curl_easy_perform(c);
    long status = -1;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
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
