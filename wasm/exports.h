/*
 * exports.h - the C ABI of the WebAssembly builds, as seen from JS.
 *
 * Every function here is exported under its own name by both builds
 * (wasm/build.mk derives the list from the DNI_W_EXPORT lines of
 * exports.c, where each one's contract is written next to its body), plus
 * the C library's malloc and free. Pointers are offsets into the module's
 * linear memory; lengths are explicit; strings from JS are not
 * NUL-terminated. Functions returning int return 0 or a negative DNI_ code.
 */
#ifndef DNI_WASM_EXPORTS_H
#define DNI_WASM_EXPORTS_H

#include "dni.h"

/* Errors: static strings, never freed. */
const char *dni_w_strerror(int err);
const char *dni_w_err_name(int err);

/* Phone numbers: E.164 written NUL-terminated to out[0..17). */
int dni_w_phone_parse(const char *text, size_t len, const char *country,
                      size_t country_len, char *out);

/* Rulesets: a heap dni_ruleset_t owned by JS until dni_w_ruleset_free(). */
dni_ruleset_t *dni_w_ruleset_new(void);
void dni_w_ruleset_free(dni_ruleset_t *rs);
size_t dni_w_ruleset_count(dni_ruleset_t *rs);
int dni_w_ruleset_add_spec(dni_ruleset_t *rs, const char *spec,
                           size_t spec_len, const char *country,
                           size_t country_len, char *why, size_t why_len);
int dni_w_ruleset_add(dni_ruleset_t *rs, const char *from, size_t from_len,
                      const char *to, size_t to_len, const char *tmpl,
                      size_t tmpl_len, const char *country,
                      size_t country_len, int *which);

/* Streams: a rewriter with a reusable input buffer and an output buffer
 * that holds what the last feed/finish produced. */
typedef struct dni_w_stream dni_w_stream_t;
int dni_w_stream_new(const dni_ruleset_t *rules, size_t in_cap,
                     dni_w_stream_t **out);
void dni_w_stream_free(dni_w_stream_t *s);
char *dni_w_stream_input(dni_w_stream_t *s, size_t n);
int dni_w_stream_feed(dni_w_stream_t *s, size_t n);
int dni_w_stream_finish(dni_w_stream_t *s);
void dni_w_stream_reset(dni_w_stream_t *s);
int dni_w_stream_set_head(dni_w_stream_t *s, const char *p, size_t n);
int dni_w_stream_head_written(dni_w_stream_t *s);
const char *dni_w_stream_out(dni_w_stream_t *s);
size_t dni_w_stream_out_len(dni_w_stream_t *s);
double dni_w_stream_swaps(dni_w_stream_t *s);
double dni_w_stream_rule_swaps(dni_w_stream_t *s, uint32_t i);
size_t dni_w_rewriter_memory(void);


/* Pool settings by JSON name ("buffer_s", "mode" 0/1, "number_limit"...). */
dni_pool_settings_t *dni_w_settings_new(void);
void dni_w_settings_free(dni_pool_settings_t *s);
int dni_w_settings_set(dni_pool_settings_t *s, const char *key, size_t n,
                       double v);
double dni_w_settings_get(dni_pool_settings_t *s, const char *key, size_t n);
double dni_w_lease_end_time(const dni_pool_settings_t *s, double start,
                            double last_seen, double last_join);
double dni_w_lease_end(const dni_pool_settings_t *s, double start,
                       double last_seen, double last_join, int confirmed);
int dni_w_attribute(const dni_pool_settings_t *s, const double *spans,
                    size_t n, double t, double *out, size_t max);

/* What dni_w_pool_assign() writes: a fixed layout JS reads by offset
 * (kind at 0, lease at 4, slot at 8, e164 at 12..29). */
typedef struct dni_w_assignment {
    int32_t kind; /* dni_assign_kind_t */
    uint32_t lease;
    int32_t slot;
    char e164[DNI_E164_SIZE];
} dni_w_assignment_t;

/* One event as dni_w_pool_events_take() writes it: 32 bytes, t at 0,
 * likelihood at 8, lease at 16, slot at 20, type at 24. */
typedef struct dni_w_event {
    double t;
    double likelihood;
    uint32_t lease;
    int32_t slot;
    int32_t type; /* dni_pool_event_type_t */
    int32_t reserved;
} dni_w_event_t;

#define DNI_W_STATS 13
#define DNI_W_SIM_RESULT 10

/* The lease engine: a dni_pool_t owned by JS until dni_w_pool_destroy(). */
int dni_w_pool_create(const dni_pool_settings_t *s, dni_pool_t **out);
void dni_w_pool_destroy(dni_pool_t *p);
int dni_w_pool_set_fallback(dni_pool_t *p, const char *def, size_t def_len,
                            const char *ovf, size_t ovf_len);
int dni_w_pool_add_number(dni_pool_t *p, const char *e164, size_t len);
int dni_w_pool_remove_number(dni_pool_t *p, const char *e164, size_t len,
                             double now);
int dni_w_pool_find_number(dni_pool_t *p, const char *e164, size_t len);
int dni_w_pool_number_e164(dni_pool_t *p, uint32_t slot, char *out);
int dni_w_pool_assign(dni_pool_t *p, const char *key, size_t len, double now,
                      dni_w_assignment_t *out);
int dni_w_pool_seen(dni_pool_t *p, uint32_t lease, double now);
int dni_w_pool_leave(dni_pool_t *p, uint32_t lease, double now);
int dni_w_pool_tick(dni_pool_t *p, double now);
int dni_w_pool_call_start(dni_pool_t *p, uint32_t slot, double now,
                          double *out);
int dni_w_pool_call_end(dni_pool_t *p, uint32_t slot, double now);
int dni_w_pool_lease_info(dni_pool_t *p, uint32_t lease, double *out);
void dni_w_pool_stats(dni_pool_t *p, double *out);
void dni_w_pool_events_enable(dni_pool_t *p, int on);
size_t dni_w_pool_events_take(dni_pool_t *p, dni_w_event_t *out, size_t max);
int dni_w_tag_key_append(char *key, size_t cap, size_t *len,
                         const char *value, size_t value_len, int has_value);

/* Persistence and the edge's hot path: snapshot bytes, restore, a key's
 * live lease, ending a lease early, and a heartbeat or leave returning
 * the lease's new end time. */
size_t dni_w_pool_snapshot_size(dni_pool_t *p);
long dni_w_pool_snapshot(dni_pool_t *p, uint8_t *out, size_t cap);
int dni_w_pool_restore(const uint8_t *data, size_t len,
                       const dni_pool_settings_t *s, dni_pool_t **out);
double dni_w_pool_lookup(dni_pool_t *p, const char *key, size_t len,
                         double now);
int dni_w_pool_end_lease(dni_pool_t *p, uint32_t lease, double now);
int dni_w_pool_touch(dni_pool_t *p, uint32_t lease, double now, int leave,
                     double *end);

/* The simulator behind `dni sim`. */
int dni_w_sim_create(const dni_pool_settings_t *s, dni_sim_t **out);
void dni_w_sim_destroy(dni_sim_t *sim);
int dni_w_sim_add_number(dni_sim_t *sim, const char *e164, size_t len);
int dni_w_sim_track_tag(dni_sim_t *sim, const char *name, size_t len);
int dni_w_sim_tag(dni_sim_t *sim, const char *name, size_t name_len,
                  const char *value, size_t value_len);
int dni_w_sim_visit(dni_sim_t *sim, double t, const char *v, size_t len);
int dni_w_sim_hb(dni_sim_t *sim, double t, const char *v, size_t len);
int dni_w_sim_leave(dni_sim_t *sim, double t, const char *v, size_t len);
int dni_w_sim_call(dni_sim_t *sim, double t, const char *v, size_t len,
                   double duration);
uint32_t dni_w_sim_numbers(dni_sim_t *sim);
int dni_w_sim_report(dni_sim_t *sim, uint32_t size, double recommend,
                     char *out, size_t cap, size_t *len);
int dni_w_sim_run(dni_sim_t *sim, uint32_t size, double *out);

#endif
