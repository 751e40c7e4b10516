/*
 * rewriter_internal.h - what the tokenizer (rewriter.c) and the number
 * matcher (match.c) share. Not public.
 *
 * The rewriter's output passes through dni__output, which either writes to
 * the caller's sink or, while a start tag that had a number swapped in one
 * of its attributes is still open, records both the original and the
 * rewritten bytes: a data-dni-skip attribute later in the same tag must
 * still be able to cancel the swap.
 */
#ifndef DNI_REWRITER_INTERNAL_H
#define DNI_REWRITER_INTERNAL_H

#include "dni.h"

/* Bytes of one held-back candidate: a leading "+" or "(", up to
 * DNI__MAX_DIGITS digits and groups of at most three separators of at most
 * six bytes ("&#xa0;"), plus a partial separator. */
#define DNI__MAX_DIGITS 20
#define DNI__PEND_MAX 512
/* Longest stretch of a start tag recorded while data-dni-skip may still
 * cancel a swap; past it the swap stands. */
#define DNI__RECORD_MAX 4096

typedef struct dni__output {
    dni_sink_fn sink;
    void *ud;
    int failed;    /* the sink returned non-zero: the stream is poisoned */
    int recording; /* inside a start tag, after a swap in an attribute */
    size_t rec_len_raw;
    size_t rec_len_out;
    uint64_t swaps;     /* committed swaps */
    uint64_t rec_swaps; /* swaps recorded, not yet committed */
    char rec_raw[DNI__RECORD_MAX];
    char rec_out[DNI__RECORD_MAX];
} dni__output_t;

/* Passes bytes through unchanged. */
void dni__out_emit(dni__output_t *o, const char *p, size_t n);

/* Writes a swap: raw is what the page had, repl what replaces it.
 * `in_tag` says the swap is inside a start tag's attribute, so it is
 * recorded until the tag ends. */
void dni__out_swap(dni__output_t *o, const char *raw, size_t raw_n,
                   const char *repl, size_t repl_n, int in_tag);

/* Where the matcher is working: text writes a template, a tel:/callto:
 * href writes bare E.164 (a URL must not carry the template's spaces). */
enum { DNI__CTX_TEXT = 0, DNI__CTX_HREF = 1, DNI__CTX_ATTR = 2 };

/*
 * The number matcher: consumes the text of one swappable context a byte
 * at a time while a candidate may be forming, holding those bytes back,
 * and writes each finished candidate either swapped or as it was.
 */
typedef struct dni__matcher {
    const dni_ruleset_t *rules;
    int state;
    int ctx;
    int dead;     /* segment has too many digits to match anything */
    char prefix;  /* '+' or '(' written before the first digit, or 0 */
    uint8_t seps; /* separators in the current group */
    char group[3];
    uint8_t part_len; /* bytes of a partial separator (entity or UTF-8) */
    char part[8];
    size_t nd;
    char digits[DNI__MAX_DIGITS];
    uint16_t digit_at[DNI__MAX_DIGITS]; /* offsets of the digits in pend */
    size_t seg_end;                     /* pend offset after the last digit */
    size_t pend_len;
    char pend[DNI__PEND_MAX];
} dni__matcher_t;

void dni__match_init(dni__matcher_t *m, const dni_ruleset_t *rules);

/* True when the matcher holds nothing and is waiting for a candidate. */
static inline int dni__match_idle(const dni__matcher_t *m)
{
    return m->state == 0;
}

/* True for a byte that may begin a candidate in an idle matcher. */
static inline int dni__match_starts(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '(';
}

/* Consumes one byte of swappable text (ctx: DNI__CTX_*). The byte is
 * either held back or written (with whatever was held before it). */
void dni__match_byte(dni__matcher_t *m, dni__output_t *o, unsigned char c,
                     int ctx, int in_tag);

/* The swappable context ends here: decides and writes what is held. */
void dni__match_end(dni__matcher_t *m, dni__output_t *o, int in_tag);

#endif
