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

#include <sys/socket.h>

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

/* ---- route_find.c: which route serves a path ---------------------------- */

/* The index in dni__routes of the first route whose pattern matches path,
 * or -1. id gets the {id} segment when the pattern has one, else "". */
int dni__route_find(const char *path, char id[129]);

/* The access of the route serving path (1), or 0 when none does. */
int dni__route_access(const char *path, dni_access_t *access);

/* ---- door.c: accepting connections (see there) ------------------------- */

typedef struct dni_door dni_door_t;

/* Gives a connection whose first request's header block has arrived and
 * passed the door's checks to the HTTP server; 0, or -1 when the server
 * refused it (it has closed fd). */
typedef int (*dni_door_handoff_fn)(void *ud, int fd,
                                   const struct sockaddr *addr,
                                   socklen_t len);

typedef struct dni_door_stats {
    unsigned long long accepted, handed, timed_out, full, per_address,
        malformed;
    unsigned open; /* waiting at the door or held by the server */
} dni_door_stats_t;

/* Starts the door's thread on listen_fd (bound, listening, non-blocking;
 * the caller closes it after dni__door_stop). NULL on failure (logged). */
dni_door_t *dni__door_start(dni_origin_t *o, int listen_fd,
                            dni_door_handoff_fn handoff, void *ud);
/* Stops accepting and closes the connections still waiting. */
void dni__door_stop(dni_door_t *d);
/* The server took (opened) or closed a connection from address a. */
void dni__door_opened(dni_door_t *d, const struct sockaddr *a);
void dni__door_closed(dni_door_t *d, const struct sockaddr *a);
void dni__door_stats(dni_door_t *d, dni_door_stats_t *out);

/* Starts serving; returns an opaque daemon or NULL. */
void *dni__http_start(dni_origin_t *o);
/* Stops accepting, waits for requests in flight, frees the daemon. */
void dni__http_stop(void *daemon);

#endif /* DNI_HTTP_H */
