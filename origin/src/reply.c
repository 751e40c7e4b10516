/*
 * reply.c - request accessors and answers for the handlers (see reply.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "origin.h"

const char *dni__req_header(const dni_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *dni__req_query(const dni_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int dni__req_query_whole(const dni_req_t *r, const char *name, long long lo,
                         long long hi, long long dflt, int status,
                         long long *out, dni_resp_t *resp)
{
    const char *v = dni__req_query(r, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        dni__resp_errorf(resp, status, "%s must be a whole number in %lld..%lld",
                         name, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

/* 1 when the Content-Type is type, alone or followed by parameters. */
static int type_is(const dni_req_t *r, const char *type)
{
    const char *ct = dni__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = strlen(type);
    if (!ct || strncasecmp(ct, type, n) != 0)
        return 0;
    return ct[n] == 0 || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

int dni__req_is_json(const dni_req_t *r)
{
    return type_is(r, "application/json");
}

int dni__req_is_form(const dni_req_t *r)
{
    return type_is(r, "application/x-www-form-urlencoded");
}

int dni__req_is_get(const dni_req_t *r)
{
    return !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
}

cJSON *dni__req_json(const dni_req_t *r, dni_resp_t *resp)
{
    char msg[320];
    int status;
    cJSON *v = dni__json_parse(r->body, r->body_len, &status, msg, sizeof msg);
    if (!v)
        dni__resp_error(resp, status, msg);
    return v;
}

void dni__resp_take(dni_resp_t *resp, int status, char *body, size_t len,
                    const char *content_type)
{
    if (!body) {
        dni__resp_error(resp, 500, "out of memory");
        return;
    }
    free(resp->body);
    resp->status = status;
    resp->body = body;
    resp->len = len;
    resp->content_type = content_type;
}

void dni__resp_json(dni_resp_t *resp, int status, cJSON *v)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    dni__resp_take(resp, status, s, s ? strlen(s) : 0, "application/json");
}

void dni__resp_error(dni_resp_t *resp, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(resp->body);
    resp->status = status;
    resp->body = s;
    resp->len = s ? strlen(s) : 0;
    resp->content_type = "application/json";
}

void dni__resp_errorf(dni_resp_t *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dni__resp_error(resp, status, msg);
}
