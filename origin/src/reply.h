/*
 * reply.h - what a handler sees of a request and how it answers.
 *
 * Handlers include this (through origin.h), never the router (http.h):
 * reading headers, the query and the body, and writing JSON answers and
 * errors are all here. The router fills a dni_req_t, calls the handler
 * with an empty dni_resp_t and sends whatever the handler put into it.
 *
 * Every error is {"error": "..."} with its status: use dni__resp_error()
 * rather than building one by hand.
 */
#ifndef DNI_REPLY_H
#define DNI_REPLY_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* One request as the handlers see it. Every pointer lives until the
 * handler returns. */
typedef struct dni_req {
    const char *method;   /* "GET", "HEAD", "POST", ... */
    const char *path;     /* without the query string */
    const char *raw_uri;  /* path and query as received */
    const char *body;     /* NUL-terminated (may hold NULs before body_len) */
    size_t body_len;
    const char *id;       /* the {id} segment of the route's path, or NULL */
    void *conn;           /* the server's connection (reply.c only) */
} dni_req_t;

/* What a handler answers. body is malloc'ed; the router frees it. */
typedef struct dni_resp {
    int status;
    char *body;
    size_t len;
    const char *content_type; /* static string */
    const char *headers;      /* static "Name: value\n" lines added to
                               * the answer, or NULL */
} dni_resp_t;

/* A header (case-insensitive name) or query argument, or NULL. */
const char *dni__req_header(const dni_req_t *r, const char *name);
const char *dni__req_query(const dni_req_t *r, const char *name);

/* The query argument name as a whole number in lo..hi, or dflt when it is
 * absent. Returns 0, or -1 after answering status with an error naming
 * the argument and the range. */
int dni__req_query_whole(const dni_req_t *r, const char *name, long long lo,
                         long long hi, long long dflt, int status,
                         long long *out, dni_resp_t *resp);

/* 1 when Content-Type is application/json (parameters allowed). */
int dni__req_is_json(const dni_req_t *r);
/* 1 when Content-Type is application/x-www-form-urlencoded. */
int dni__req_is_form(const dni_req_t *r);

/* 1 for GET and HEAD (a HEAD is answered like a GET, without the body). */
int dni__req_is_get(const dni_req_t *r);

/*
 * Parses the body as JSON: the one door every JSON body goes through.
 * Returns the tree (caller frees) or NULL after setting the 400/422 error
 * answer in resp (the message names the offending key when there is one).
 */
cJSON *dni__req_json(const dni_req_t *r, dni_resp_t *resp);

/* Sets resp to {"error": msg} with status. */
void dni__resp_error(dni_resp_t *resp, int status, const char *msg);
/* The same with a printf-formatted message. */
void dni__resp_errorf(dni_resp_t *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets resp to the JSON of v (v is freed; NULL v answers 500). */
void dni__resp_json(dni_resp_t *resp, int status, cJSON *v);
/* Sets resp to body (malloc'ed, ownership taken; NULL answers 500). */
void dni__resp_take(dni_resp_t *resp, int status, char *body, size_t len,
                    const char *content_type);

#endif /* DNI_REPLY_H */
