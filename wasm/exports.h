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
const char *dni_w_stream_out(dni_w_stream_t *s);
size_t dni_w_stream_out_len(dni_w_stream_t *s);
double dni_w_stream_swaps(dni_w_stream_t *s);
size_t dni_w_rewriter_memory(void);

#endif
