/*
 * page_fetch.c - GET /v1/tools/page?url=URL (admin): the HTML of a page,
 * fetched by the origin, for the dashboard's test-snippet tool, which
 * cannot fetch another site itself (its Content-Security-Policy allows
 * requests to the origin only, and other sites do not allow it anyway).
 *
 *   {"url": "http://127.0.0.1:8787/", "status": 200,
 *    "content_type": "text/html; charset=utf-8", "html": "<!DOCTYPE html>…"}
 *
 * Given the edge's address, the page comes through the edge as a script
 * gets it: unchanged, no lease made (docs/edge.md). http and https only,
 * 5 redirects, 2 MiB, 10 seconds; a page that cannot be fetched is a 502
 * with the reason, a non-2xx answer a 502 naming the status. The route is
 * admin-only: it makes the origin send a GET to an address its admin
 * chooses, which an admin token can do with curl on the machine anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define PAGE_MAX (2u << 20)
#define PAGE_TIMEOUT_S 10.0

void dni__page_fetch_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    (void)o;
    const char *url = dni__req_query(r, "url");
    if (!url || !*url) {
        dni__resp_error(resp, 400, "url is required: the address of a page (http or https)");
        return;
    }
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        dni__resp_error(resp, 400, "url must start with http:// or https://");
        return;
    }
    if (strlen(url) > 2048) {
        dni__resp_error(resp, 400, "url is longer than 2048 characters");
        return;
    }
    char *body = NULL, ctype[200], err[300];
    size_t len = 0;
    long status = dni__fetch_page(url, PAGE_MAX, PAGE_TIMEOUT_S, &body, &len, ctype,
                                  sizeof ctype, err, sizeof err);
    if (status < 0) {
        dni__resp_errorf(resp, 502, "the page could not be fetched: %s", err);
        return;
    }
    if (status < 200 || status > 299) {
        free(body);
        dni__resp_errorf(resp, 502, "the page answered HTTP %ld", status);
        return;
    }
    /* The text as far as a NUL byte, which no HTML page carries. */
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "url", url);
    cJSON_AddNumberToObject(out, "status", (double)status);
    cJSON_AddStringToObject(out, "content_type", ctype);
    cJSON_AddStringToObject(out, "html", body);
    free(body);
    dni__resp_json(resp, 200, out);
}
