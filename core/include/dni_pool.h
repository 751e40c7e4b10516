/*
 * dni_pool.h - the number-pool lease engine. Included from dni.h; do not
 * include directly.
 */
#ifndef DNI_POOL_H
#define DNI_POOL_H

/* How visitors map to leases. */
typedef enum dni_pool_mode {
    DNI_MODE_VISITOR = 0, /* one number per visitor session */
    DNI_MODE_TAGS = 1     /* visitors with equal tracked tags share one */
} dni_pool_mode_t;

/*
 * The timers and limits of a pool (docs/pool.md). Times are in
 * seconds. dni_pool_settings_init() fills in the documented defaults.
 */
typedef struct dni_pool_settings {
    dni_pool_mode_t mode;
    double buffer_s;             /* default 60 */
    double max_lease_s;          /* default 1800 */
    double min_hold_s;           /* default 300 */
    double sticky_s;             /* default 2592000 (30 days) */
    double attribution_window_s; /* default 86400 */
    uint32_t number_limit;       /* 0: the number of numbers added */
    /* How long a new lease holds until it is confirmed (a heartbeat, a
     * leave, or a second assign of the same key): default 60. A lease that
     * is never confirmed ends at start + unconfirmed_hold_s, or sooner when
     * the rule of dni_lease_end_time() says so; once confirmed that rule
     * alone applies, counted from the lease's start. */
    double unconfirmed_hold_s;
} dni_pool_settings_t;

void dni_pool_settings_init(dni_pool_settings_t *s);

/*
 * The time a lease stops being live, ignoring calls in progress:
 * min(max(last_seen + buffer_s, start + min_hold_s), last_join + max_lease_s)
 * where last_join is the start in visitor mode and the latest join of a
 * visitor in tags mode. The lease is live while now <= this time.
 */
double dni_lease_end_time(const dni_pool_settings_t *s, double start,
                          double last_seen, double last_join);

/*
 * The end of a lease as the engine computes it: dni_lease_end_time() for
 * a confirmed lease (confirmed != 0), and for one not yet confirmed the
 * smaller of that and start + unconfirmed_hold_s.
 */
double dni_lease_end(const dni_pool_settings_t *s, double start,
                     double last_seen, double last_join, int confirmed);

/* One lease on a number, for attribution: when it was live. end is the
 * time it stopped being live (+INFINITY while it still is). */
typedef struct dni_lease_span {
    double start;
    double end;
} dni_lease_span_t;

/* An attribution candidate: which span, and how likely it made the call. */
typedef struct dni_candidate {
    size_t index;
    double likelihood;
} dni_candidate_t;

/*
 * Attribution of a call at time t on one number, given the leases that
 * number had (spans[0..n), any order): the candidates are the spans whose
 * live interval contains t; when there is none, the span that ended last,
 * if it ended at most attribution_window_s before t. Writes up to max
 * candidates to out, best first, and returns how many (0 when the call is
 * unattributed), or a negative error code.
 */
int dni_attribute(const dni_pool_settings_t *s, const dni_lease_span_t *spans,
                  size_t n, double t, dni_candidate_t *out, size_t max);

/* ---------------------------------------------------------------------
 * The lease engine. One dni_pool_t is one pool of tracking numbers. It
 * never reads a clock: every call takes `now` (seconds), which must never
 * go backwards (DNI_EORDER otherwise). Each call first ends the leases
 * whose time ran out before `now`, so callers need dni_pool_tick() only to
 * release numbers while nothing else happens.
 *
 * Identity: dni_pool_assign() takes a key, the visitor id in visitor mode
 * and the tag key (dni_tag_key_append()) in tags mode. The engine copies
 * the key of every live lease (up to DNI_POOL_KEY_INLINE bytes inside the
 * lease, longer keys in one allocation made when the lease starts and
 * freed when it ends) and compares keys byte for byte, so two keys whose
 * hashes collide never share a lease. After a lease ends the engine keeps
 * only a 64-bit hash of its key on the number, for stickiness.
 *
 * Numbers are referred to by slot: a small integer returned by
 * dni_pool_add_number(), stable until the number leaves the pool. Leases
 * are referred to by id: a uint32 greater than 0, unique for 2^32 leases.
 *
 * Every operation is O(1) on average (hash tables with linear probing,
 * intrusive lists for the free numbers, a binary heap of lease deadlines
 * that a heartbeat does not touch). Memory: a fixed number of bytes per
 * number slot and per lease slot (dni_pool_stats_t tells how many), grown
 * by doubling; no allocation in assign/seen/leave/call beyond that growth
 * and long keys.
 * ------------------------------------------------------------------- */

typedef struct dni_pool dni_pool_t;

/* Keys up to this many bytes are stored inside the lease. */
#define DNI_POOL_KEY_INLINE 32

/* Room for an E.164 number and its NUL. */
#define DNI_E164_SIZE (DNI_PHONE_MAX_DIGITS + 2)

/*
 * Creates a pool with settings *s (copied) and allocator a (NULL: the C
 * library's). Returns DNI_OK and *out, DNI_EINVAL (a negative or NaN
 * timer) or DNI_ENOMEM. Free it with dni_pool_destroy().
 */
int dni_pool_create(dni_pool_t **out, const dni_pool_settings_t *s,
                    const dni_allocator_t *a);

/* Frees the pool and everything it holds. NULL is allowed. */
void dni_pool_destroy(dni_pool_t *p);

/* The settings the pool was created with. */
const dni_pool_settings_t *dni_pool_settings(const dni_pool_t *p);

/*
 * Sets the numbers shown when no lease can be made: the default number of
 * the site and the optional overflow number (NULL or length 0 for none).
 * Both must be E.164 text ("+18005551234"). Returns DNI_OK or
 * DNI_ENOTPHONE.
 */
int dni_pool_set_fallback(dni_pool_t *p, const char *default_e164,
                          size_t default_len, const char *overflow_e164,
                          size_t overflow_len);

/*
 * Adds a number (E.164 text, exactly "+" and 8..15 digits) to the pool, as
 * the freshest choice after the other never-used numbers. Returns its slot
 * (>= 0), or DNI_ENOTPHONE, DNI_EEXISTS (already in the pool), DNI_ELIMIT
 * (number_limit reached) or DNI_ENOMEM. Adding back a number whose removal
 * is pending cancels the removal and returns its slot.
 */
int dni_pool_add_number(dni_pool_t *p, const char *e164, size_t len);

/*
 * Removes a number (a revoke). A free number leaves at once (returns 0); a
 * number with a live lease or a call in progress stays until both are over
 * and then leaves instead of becoming free (returns 1). DNI_ENOTFOUND,
 * DNI_EORDER.
 */
int dni_pool_remove_number(dni_pool_t *p, const char *e164, size_t len,
                           double now);

/* The slot of a number (E.164 text), or DNI_ENOTFOUND. */
int dni_pool_find_number(const dni_pool_t *p, const char *e164, size_t len);

/* Writes the E.164 text of the number in slot to out. DNI_OK or
 * DNI_ENOTFOUND. */
int dni_pool_number_e164(const dni_pool_t *p, uint32_t slot,
                         char out[DNI_E164_SIZE]);

/* What dni_pool_assign() did. */
typedef enum dni_assign_kind {
    DNI_ASSIGN_NEW = 0,     /* a new lease on the least recently released number */
    DNI_ASSIGN_STICKY = 1,  /* a new lease on the number this key held last */
    DNI_ASSIGN_CURRENT = 2, /* the key's live lease (tags mode: a join);
                               it is confirmed by this second assign */
    DNI_ASSIGN_OVERFLOW = 3 /* no free number: no lease, fallback shown */
} dni_assign_kind_t;

typedef struct dni_assignment {
    dni_assign_kind_t kind;
    uint32_t lease;            /* lease id; 0 on overflow */
    int32_t slot;              /* number slot; -1 on overflow */
    char e164[DNI_E164_SIZE];  /* the number to show ("" on overflow
                                  with no fallback set) */
} dni_assignment_t;

/*
 * Gives the visitor (key[0..len): visitor id, or tag key in tags mode) a
 * number at time now. Returns DNI_OK with *out filled (an overflow is not
 * an error: out->kind says so and the overflow counter grows), or
 * DNI_EORDER, DNI_EINVAL, DNI_ENOMEM. The key is copied.
 */
int dni_pool_assign(dni_pool_t *p, const char *key, size_t len, double now,
                    dni_assignment_t *out);

/* A heartbeat on lease id at time now; it confirms the lease. DNI_OK,
 * DNI_ENOTFOUND (the lease is over), DNI_EORDER. */
int dni_pool_seen(dni_pool_t *p, uint32_t lease, double now);

/* The visitor left at now: the lease keeps buffer_s from now (and never
 * less than min_hold_s from its start); like a heartbeat, a leave comes
 * from the page's script and confirms the lease. Same returns as
 * dni_pool_seen(). */
int dni_pool_leave(dni_pool_t *p, uint32_t lease, double now);

/*
 * The live lease of a key (visitor id or tag key) at now, without making
 * one: DNI_OK with *lease set, DNI_ENOTFOUND (*lease = 0), DNI_EINVAL,
 * DNI_EORDER. Like every call it first ends the leases whose time ran out.
 * The edge asks this when it may not hand out a new number (no valid
 * grant) but a visitor who already holds one keeps it.
 */
int dni_pool_lookup(dni_pool_t *p, const char *key, size_t len, double now,
                    uint32_t *lease);

/*
 * Ends lease id at now whatever its times (the edge lost the right to the
 * number: the pool was deleted, or the number moved to another edge). A
 * DNI_EVENT_RELEASE is queued; the number becomes free (or leaves, when its
 * removal is pending), or, with a call in progress, waits for the call to
 * end. DNI_OK, DNI_ENOTFOUND, DNI_EORDER.
 */
int dni_pool_end_lease(dni_pool_t *p, uint32_t lease, double now);

/* Ends the leases whose time ran out before now. Returns how many
 * numbers were released, or DNI_EORDER. */
int dni_pool_tick(dni_pool_t *p, double now);

/* The attribution of a call, from dni_pool_call_start(). */
typedef struct dni_call_attribution {
    uint32_t lease;    /* the lease credited, 0 when unattributed */
    double likelihood; /* as dni_attribute() computes it; 0 if none */
    int live;          /* 1 when the lease was live at the call */
} dni_call_attribution_t;

/*
 * A call on the number in slot starts at now: attributes it (the number's
 * live lease, else its last lease if it ended at most
 * attribution_window_s ago) and pins the number until dni_pool_call_end().
 * Returns 1 (attributed) or 0 (not) with *out filled, or DNI_ENOTFOUND,
 * DNI_EORDER, DNI_ELIMIT (65535 calls at once on one number).
 */
int dni_pool_call_start(dni_pool_t *p, uint32_t slot, double now,
                        dni_call_attribution_t *out);

/* A call on the number in slot ended at now. When it was the last one and
 * the number's lease is over, the number is released at now. DNI_OK,
 * DNI_ENOTFOUND, DNI_ESTATE (no call in progress), DNI_EORDER. */
int dni_pool_call_end(dni_pool_t *p, uint32_t slot, double now);

/* A live lease, for the edge's queries and for rebuilding state. */
typedef struct dni_lease_info {
    uint32_t lease;
    int32_t slot;
    double start, last_seen, last_join;
    double end;     /* dni_lease_end() of the above */
    uint32_t joins; /* assigns that found it live (tags mode: visitors) */
    int pinned;     /* its time is over but a call holds it */
    int confirmed;  /* a heartbeat, leave or second assign was seen */
} dni_lease_info_t;

/* Fills *out for a live lease. DNI_OK or DNI_ENOTFOUND. */
int dni_pool_lease_info(const dni_pool_t *p, uint32_t lease,
                        dni_lease_info_t *out);

/* Counters and sizes. */
typedef struct dni_pool_stats {
    uint32_t numbers;          /* in the pool, pending removals included */
    uint32_t free_numbers;     /* assignable now */
    uint32_t live_leases;
    uint32_t peak_live_leases;
    uint64_t leases;           /* leases ever made */
    uint64_t overflows;
    uint64_t joins;            /* assigns answered with a live lease */
    uint64_t sticky;           /* assigns answered with the last number */
    uint64_t calls;
    uint64_t calls_attributed;
    size_t bytes;              /* memory held, everything included */
    size_t bytes_per_number;   /* fixed cost of one number slot */
    size_t bytes_per_lease;    /* fixed cost of one lease slot */
} dni_pool_stats_t;

void dni_pool_stats(const dni_pool_t *p, dni_pool_stats_t *out);

/* What changed, for the edge to batch to the origin (docs/design.md). */
typedef enum dni_pool_event_type {
    DNI_EVENT_ASSIGN = 1,   /* lease on slot started (the caller adds the
                               visitor, tags, referrer it passed) */
    DNI_EVENT_SEEN = 2,     /* heartbeat, leave or revisit: last_seen = t */
    DNI_EVENT_JOIN = 3,     /* tags mode: a visitor joined, last_join = t */
    DNI_EVENT_RELEASE = 4,  /* lease over at t, number free (or removed) */
    DNI_EVENT_OVERFLOW = 5, /* no free number at t */
    DNI_EVENT_CALL = 6      /* call on slot attributed to lease (0: none) */
} dni_pool_event_type_t;

typedef struct dni_pool_event {
    double t;
    double likelihood;     /* DNI_EVENT_CALL only */
    uint32_t lease;
    int32_t slot;          /* -1 for DNI_EVENT_OVERFLOW */
    dni_pool_event_type_t type;
} dni_pool_event_t;

/*
 * Turns event recording on or off (off at creation: the simulator needs
 * none). While on, events queue inside the pool until taken; the queue
 * grows by doubling, so take them regularly.
 */
void dni_pool_events_enable(dni_pool_t *p, int on);

/* Moves up to max queued events, oldest first, to out; returns how many. */
size_t dni_pool_events_take(dni_pool_t *p, dni_pool_event_t *out, size_t max);

/* ---------------------------------------------------------------------
 * Snapshots: the whole state of an engine as bytes, so a host (a Durable
 * Object) can store it and rebuild the same engine after a restart. The
 * format is little-endian, versioned and checksummed (layout in
 * core/src/pool_snapshot.c and docs/pool.md); it carries the settings,
 * the clock, the id counter, every number (slot, digits, state, release
 * time, sticky key hash, last lease, calls in progress), both free queues
 * in order, every live lease with its key, the queued events and the
 * counters. Lease ids and number slots are the same after a restore, and
 * the restored engine answers every later call exactly as the original
 * would have.
 * ------------------------------------------------------------------- */

/* Bytes dni_pool_snapshot() writes for the pool as it is now. */
size_t dni_pool_snapshot_size(const dni_pool_t *p);

/*
 * Writes the snapshot to out[0..cap). Returns the number of bytes written
 * (dni_pool_snapshot_size()), or DNI_ELIMIT when cap is too small (nothing
 * useful written). The pool is not changed; two snapshots of the same
 * state are byte-identical.
 */
long dni_pool_snapshot(const dni_pool_t *p, uint8_t *out, size_t cap);

/*
 * Builds a new pool from snapshot bytes data[0..len), which are never
 * trusted: the checksum and every structural rule (slots in range, each
 * number once, free queues holding exactly the free numbers, one lease per
 * leased number, unique ids and keys, finite times) are checked before
 * anything is used. settings NULL keeps the snapshot's settings; otherwise
 * *settings replaces them (the edge's pool configuration changed) and
 * deadlines are recomputed with it. a: the allocator, as for
 * dni_pool_create(). Returns DNI_OK and *out (free with
 * dni_pool_destroy()), DNI_ESYNTAX (truncated, corrupt or inconsistent
 * bytes), DNI_ERANGE (a format version this build does not read),
 * DNI_EINVAL (bad settings) or DNI_ENOMEM; on error *out is NULL and
 * nothing is leaked.
 */
int dni_pool_restore(dni_pool_t **out, const uint8_t *data, size_t len,
                     const dni_pool_settings_t *settings,
                     const dni_allocator_t *a);

/* The format version dni_pool_snapshot() writes. */
#define DNI_POOL_SNAPSHOT_VERSION 2

/*
 * Builds a tag key for tags mode, one tracked tag at a time in the pool's
 * tracked_tags order: appends value[0..value_len) (value NULL: the visitor
 * has no such tag, which differs from an empty value) to key[0..*len) as
 * "<decimal length>:<bytes>" or "-", so two different tag sets never give
 * the same key. Returns DNI_OK or DNI_ELIMIT (cap too small, key
 * unchanged).
 */
int dni_tag_key_append(char *key, size_t cap, size_t *len, const char *value,
                       size_t value_len);

/* ---------------------------------------------------------------------
 * The simulator behind `dni sim`: records a trace, replays it against a
 * fresh pool for a given size and writes the report as JSON text. Feed it
 * the same calls from any parser (cJSON natively, JavaScript on
 * WebAssembly) and the report is the same byte for byte: integers are
 * printed as integers and accuracy with exactly four decimals, computed
 * in integer arithmetic.
 * ------------------------------------------------------------------- */

typedef struct dni_sim dni_sim_t;

/* Creates a simulator for pool settings *s (copied). DNI_OK, DNI_EINVAL,
 * DNI_ENOMEM. */
int dni_sim_create(dni_sim_t **out, const dni_pool_settings_t *s,
                   const dni_allocator_t *a);
void dni_sim_destroy(dni_sim_t *sim);

/* Adds a pool number (E.164 text), in pool order. DNI_OK, DNI_ENOTPHONE,
 * DNI_EEXISTS, DNI_ENOMEM. */
int dni_sim_add_number(dni_sim_t *sim, const char *e164, size_t len);

/* Adds a tracked tag name (tags mode identity), in order. */
int dni_sim_track_tag(dni_sim_t *sim, const char *name, size_t len);

/* Sets a tag of the next dni_sim_visit(); later values of the same name
 * win. Untracked names are ignored. */
int dni_sim_tag(dni_sim_t *sim, const char *name, size_t name_len,
                const char *value, size_t value_len);

/*
 * Trace events, in time order (DNI_EORDER otherwise; t must be finite,
 * duration >= 0). Strings are copied. DNI_OK, DNI_EORDER, DNI_EINVAL,
 * DNI_ELIMIT (tag key over 4096 bytes), DNI_ENOMEM.
 */
int dni_sim_visit(dni_sim_t *sim, double t, const char *visitor, size_t len);
int dni_sim_hb(dni_sim_t *sim, double t, const char *visitor, size_t len);
int dni_sim_leave(dni_sim_t *sim, double t, const char *visitor, size_t len);
int dni_sim_call(dni_sim_t *sim, double t, const char *visitor, size_t len,
                 double duration);

/* The outcome of one replay. */
typedef struct dni_sim_result {
    uint32_t size;
    uint64_t visits, leases, overflow, calls, correct, wrong, unattributed;
    uint32_t peak_live_leases, numbers_used;
} dni_sim_result_t;

/* Replays the trace with a pool of the first size numbers (numbers beyond
 * those added are generated: +1999 followed by 7 digits, skipping any in
 * the pool). DNI_OK, DNI_ENOMEM. */
int dni_sim_run(dni_sim_t *sim, uint32_t size, dni_sim_result_t *out);

/* How one call of the trace came out in a replay. */
enum {
    DNI_SIM_CORRECT = 1,     /* attributed to the caller's session */
    DNI_SIM_WRONG = 2,       /* attributed to someone else's */
    DNI_SIM_UNATTRIBUTED = 3 /* no session (or the caller saw a fallback) */
};

/*
 * dni_sim_run(), also writing the outcome of every call, in trace order,
 * to outcomes[0..n) (calls beyond n are scored but not written). A host
 * that knows more about each call (its traffic source) groups them with
 * this. Same returns as dni_sim_run().
 */
int dni_sim_run_outcomes(dni_sim_t *sim, uint32_t size, dni_sim_result_t *out,
                         uint8_t *outcomes, size_t n);

/* The size dni_sim_report() uses when given 0: the numbers added. */
uint32_t dni_sim_numbers(const dni_sim_t *sim);

/*
 * Replays the trace with size numbers (0: the numbers added) and writes
 * the report to out[0..cap) with a NUL; *len gets its length. recommend
 * in [0,1] adds "recommended_size", the smallest size whose accuracy is at
 * least recommend, found by binary search (it assumes accuracy does not
 * fall as the pool grows; null when even one number per lease falls
 * short); pass a negative value for none. DNI_OK, DNI_ELIMIT (cap too
 * small), DNI_EINVAL, DNI_ENOMEM.
 */
int dni_sim_report(dni_sim_t *sim, uint32_t size, double recommend, char *out,
                   size_t cap, size_t *len);

#endif /* DNI_POOL_H */
