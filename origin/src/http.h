/*
 * http.h - the router: the table of routes and the server that serves
 * them. Only main.c, http.c and routes.c include this; handlers include
 * reply.h (through origin.h) and never the router.
 *
 * Adding a route is one line in routes.c:
 *
 *     {"/v1/things/{id}", "GET PATCH DELETE", DNI_ACCESS_ADMIN, dni__things_handle},
 *
 * The router matches the path ({id}: one segment of 1..128 bytes, given to
 * the handler as r->id), answers 405 with an Allow header for a method not
 * listed (HEAD is allowed wherever GET is), checks access, and for JSON
 * routes refuses a write whose Content-Type is not application/json (415).
 * The handler then only reads its input and answers.
 */
#ifndef DNI_HTTP_H
#define DNI_HTTP_H

#include "origin.h"

/* Who may call a route. */
typedef enum dni_access {
    DNI_ACCESS_OPEN,    /* anyone (health, metrics, dashboard files) */
    DNI_ACCESS_ADMIN,   /* Authorization: Bearer $DNI_ADMIN_TOKEN; JSON writes */
    DNI_ACCESS_EDGE,    /* Authorization: Bearer $DNI_EDGE_SECRET; JSON writes */
    DNI_ACCESS_WEBHOOK  /* the telephony provider: signed with
                         * $DNI_TWILIO_AUTH_TOKEN (the handler checks the
                         * signature); with no token, refused (403) unless
                         * the origin runs with --allow-unsigned-webhooks */
} dni_access_t;

typedef void (*dni_handler_fn)(dni_origin_t *o, const dni_req_t *r,
                               dni_resp_t *resp);

typedef struct dni_route {
    const char *path;    /* "/v1/pools", "/v1/pools/{id}", "/v1/pools/{id}/trace" */
    const char *methods; /* space-separated, e.g. "GET POST" */
    dni_access_t access;
    dni_handler_fn handler;
} dni_route_t;

/* The table (routes.c), first match wins. */
extern const dni_route_t dni__routes[];
extern const int dni__route_count;

/* Starts serving; returns an opaque daemon or NULL. */
void *dni__http_start(dni_origin_t *o);
/* Stops accepting, waits for requests in flight, frees the daemon. */
void dni__http_stop(void *daemon);

#endif /* DNI_HTTP_H */
