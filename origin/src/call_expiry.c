/*
 * call_expiry.c - calls that never end. A call whose final status never
 * arrives (the provider lost it, the webhook failed for good) would stay
 * active and hold its number forever: no edge is granted a number with a
 * call in progress. A call with no status for max_call_s (default 4 h,
 * --max-call-s) is closed as "expired" with its reason; the hold is lifted
 * and the number follows the normal rules again. The provider's later
 * final status, if it comes, still updates the call (webhook.c).
 *
 * The silence is measured on the origin's clock, from the last status the
 * origin received for the call (or its start when none is recorded).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

#include "origin.h"

int dni__calls_expire(dni_db_t *db, double now, double max_call_s, long *n)
{
    dni_stmt_t *st = dni__stmt(
        db, "UPDATE calls SET status = 'expired', active = 0,"
            " ended_at = ?1, end_reason = ?3"
            " WHERE active = 1 AND coalesce((SELECT max(e.received_at)"
            " FROM call_events e WHERE e.sid = calls.sid), started_at)"
            " < ?2");
    if (!st)
        return -1;
    dni__bind_double(st, 1, now);
    dni__bind_double(st, 2, now - max_call_s);
    char reason[64];
    snprintf(reason, sizeof reason, "expired: no status for %lld s",
             (long long)max_call_s);
    dni__bind_text(st, 3, reason);
    int rc = dni__step(st);
    long changed = dni__changes(db);
    dni__reset(st);
    if (rc != DNI_DONE)
        return -1;
    *n += changed;
    return 0;
}
