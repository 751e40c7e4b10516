/*
 * visitors.h - the origin's side of lease protection at the edge
 * (docs/edge.md, "How leases are protected"): the pool settings the edge
 * reads to decide who may take a number (visitor_settings.c) and the
 * limited-view counts edges report (limited.c). Internal: dni__ names.
 */
#ifndef DNI_VISITORS_H
#define DNI_VISITORS_H

#include "origin.h"

/* ---- visitor_settings.c ------------------------------------------------ */

/* 1 when key is one of the pool fields validated here. */
int dni__pool_visitor_key(const char *key);

/*
 * Validates the lease-protection fields of a pool object and fills their
 * defaults in place: priority, unconfirmed_hold_s, consent_required,
 * consent_cookie, client_budget, client_budget_s. Returns NULL, or msg
 * holding the reason for a 422.
 */
const char *dni__pool_validate_visitors(cJSON *pool, char *msg, size_t msglen);

/* ---- limited.c --------------------------------------------------------- */

/*
 * Reads the fields of an edge's `limited` event ({"type":"limited",
 * "pool", "t", "n", "clients"}): n page views (>= 1) and the distinct
 * client addresses among them (0..n). Returns NULL or the reason the event
 * is refused.
 */
const char *dni__limited_read(const cJSON *ev, int64_t *n,
                              int64_t *clients);

/*
 * Adds a report to limited_counts (the hour of t). Returns 1 applied, 0
 * refused (no such pool), -1 on a database error.
 */
int dni__limited_apply(dni_db_t *db, const char *pool, double t,
                       int64_t n, int64_t clients);

#endif /* DNI_VISITORS_H */
