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

/* What one stream holds back while a number may be forming: the bytes
 * of a run of digit groups (with the inline tags between them) from the
 * earliest place a number may start, at most DNI__PEND_MAX bytes, with up
 * to DNI__MAX_DIGITS digits and DNI__MAX_TAGS tags. Past any of these
 * bounds what is held passes through unchanged. */
#define DNI__MAX_DIGITS 24
#define DNI__PEND_MAX 512
#define DNI__MAX_TAGS 8
/* Room for one rule's two digit strings ("00" CC NSN and "00" CC "0"
 * NSN, each with its NUL). */
#define DNI__FORM_SLOT (2 * DNI_PHONE_MAX_DIGITS + 7)
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
    /* The same per rule (its index in the ruleset), for the edge to learn
     * which default numbers a page shows; `rule` is set by the matcher
     * before each dni__out_swap(). */
    unsigned rule;
    uint32_t rule_swaps[DNI_MAX_RULES];
    uint32_t rec_rule_swaps[DNI_MAX_RULES];
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

/* The start tag being recorded ended: its swaps stand, or, with cancel
 * (the tag carries data-dni-skip), the page's own bytes are written. */
void dni__out_record_end(dni__output_t *o, int cancel);

/* Where the matcher is working: text writes a template, a tel:/callto:
 * href writes bare E.164 (a URL must not carry the template's spaces). */
enum { DNI__CTX_TEXT = 0, DNI__CTX_HREF = 1, DNI__CTX_ATTR = 2 };

/*
 * The number matcher: reads the text of one swappable context as
 * characters (a byte, a UTF-8 separator, or a character reference), holds
 * back a run of digit groups while a number may be forming in it, and
 * writes each run with its numbers swapped. Every digit group that does
 * not touch another digit may start a candidate; several candidates are
 * followed at once, one per start, as a bit per digit index.
 */
typedef struct dni__matcher {
    const dni_ruleset_t *rules;
    uint8_t state;   /* M_IDLE or M_BUSY: see dni__match_idle() */
    uint8_t ctx;     /* DNI__CTX_* of the run */
    uint8_t prev;    /* class of the last character read */
    uint8_t seps;    /* separators in a row since the last digit */
    uint8_t after;   /* what followed the last digit: A_* */
    uint8_t prefix;  /* '+' or '(' held at the end of pend, or 0 */
    uint8_t foreign; /* digits of a foreign number read so far, or 0 */
    uint8_t group;   /* digits in the current group (up to 3 counted) */
    uint8_t group00; /* the current group began "00" */
    uint8_t part_kind; /* a character being read: P_* */
    uint8_t part_len;
    uint8_t ntags;
    uint8_t in_tag;    /* the run is inside a start tag's attribute */
    uint8_t gathering; /* a tag cut by a chunk's end is being gathered */
    uint16_t gather_at; /* ... from this offset in pend */
    char part[24];     /* its bytes (UTF-8 or a character reference) */
    uint32_t ref_value; /* value of a numeric character reference */
    /* The digits of every rule form, and where each form (rule x4)
     * begins in them: see match.c. */
    char fdigits[DNI_MAX_RULES * DNI__FORM_SLOT];
    uint16_t fat[4 * DNI_MAX_RULES];
    uint64_t start_forms[2][10]; /* forms (rule x4) by first digit, after
                                    no '+' [0] and after one [1] */
    /* Two-digit beginnings of the forms (after no '+'), bit 10a+b. Derived
     * from fdigits like start_forms, but kept: reading it from them would
     * walk every form's second digit for each digit group the rewriter's
     * fast path and each candidate's start look at. */
    uint64_t pairs[2];
    uint32_t live;    /* digit indexes where a candidate is still open */
    uint32_t decided; /* ... where one matched and waits for its turn */
    uint32_t complete; /* open ones whose digits equal a form */
    uint8_t nd;       /* digits held (from the earliest open candidate) */
    uint16_t digit_at[DNI__MAX_DIGITS]; /* their offsets in pend */
    uint8_t kind[DNI__MAX_DIGITS];      /* '+', '(' or 0 before the start */
    uint8_t done[DNI__MAX_DIGITS];      /* digits of its complete form */
    uint8_t done_rf[DNI__MAX_DIGITS];   /* which rule (x4) and form */
    uint64_t forms[DNI__MAX_DIGITS];    /* forms still possible (rule x4) */
    uint16_t tag_at[DNI__MAX_TAGS], tag_len[DNI__MAX_TAGS]; /* held tags */
    uint16_t pend_len;
    char pend[DNI__PEND_MAX];
} dni__matcher_t;

void dni__match_init(dni__matcher_t *m, const dni_ruleset_t *rules);

/* True when the matcher holds nothing and no run of digits is open: the
 * rewriter may then skip text up to the next byte dni__match_starts()
 * accepts. */
static inline int dni__match_idle(const dni__matcher_t *m)
{
    return m->state == 0;
}

/* True for a byte that may begin something in an idle matcher: a digit,
 * '+', '(' or '&' (a character reference is one character, never
 * digits, so its digits must not be read as a number's). */
static inline int dni__match_starts(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '(' || c == '&';
}

/* For an idle matcher and the byte after a '&': whether what follows may
 * be a reference with digits in it (numeric, or a name such as "frac14",
 * "sup2"). Any other '&' can be skipped while no run is open: outside a
 * run a separator means nothing. */
static inline int dni__match_amp_matters(unsigned char c)
{
    return c == '#' || c == 'f' || c == 's' || c == 'e' || c == 'b' ||
           c == 't';
}

/* For an idle matcher and the byte at p: whether it is a '+' or '(' that
 * can be passed over as plain text, because the byte after it is known
 * and is no digit (a prefix stands directly before its digit). */
static inline int dni__match_prefix_skips(const unsigned char *p,
                                          const unsigned char *end)
{
    return (*p == '+' || *p == '(') && p + 1 < end &&
           (unsigned char)(p[1] - '0') >= 10;
}

/* For an idle matcher and a digit at p (not preceded by a digit): the end
 * of the digit group there when it can begin no number and the byte after
 * it leaves the matcher idle (so the rewriter may pass the group through
 * as it would plain text), else p. */
const unsigned char *dni__match_skip_group(const dni__matcher_t *m,
                                           const unsigned char *p,
                                           const unsigned char *end);

/* Consumes one byte of swappable text (ctx: DNI__CTX_*). The byte is
 * either held back or written (with whatever was held before it). */
void dni__match_byte(dni__matcher_t *m, dni__output_t *o, unsigned char c,
                     int ctx, int in_tag);

/* The same for the bytes from p (at least one) up to end, a byte equal
 * to `stop`, or the first byte after which the matcher is idle (where the
 * rewriter's own scan is faster): returns where reading stopped. */
const unsigned char *dni__match_span(dni__matcher_t *m, dni__output_t *o,
                                     const unsigned char *p,
                                     const unsigned char *end,
                                     unsigned char stop, int ctx, int in_tag);

/* The swappable context ends here (or a tag that ends a number, such as
 * a block tag): decides and writes what is held. */
void dni__match_end(dni__matcher_t *m, dni__output_t *o, int in_tag);

/*
 * Inline tags inside a number (text only). Before the rewriter reads a
 * tag in text while the matcher is busy it calls dni__match_tag_open():
 * a character being read ends, and the matcher says whether a run of
 * digits is open (1), so that the tag must be held with it, or not (0).
 * A tag read whole goes to dni__match_tag() (1: held; 0: it did not fit,
 * everything held was written and the tag passes through). A tag cut by
 * the chunk's end is gathered in the matcher: dni__match_tag_add()
 * appends its bytes (0 when they do not fit), dni__match_tag_bytes()
 * shows the gathered tag, and dni__match_tag_keep() (an inline tag: it
 * stays held) or dni__match_tag_take() (the tag is not part of the number:
 * it is removed and copied to buf, at most DNI__PEND_MAX bytes, and what
 * was held before it is written) ends the gathering.
 */
int dni__match_tag_open(dni__matcher_t *m, dni__output_t *o);
int dni__match_tag(dni__matcher_t *m, dni__output_t *o, const char *p,
                   size_t n);
int dni__match_tag_add(dni__matcher_t *m, dni__output_t *o, const char *p,
                       size_t n);
const char *dni__match_tag_bytes(const dni__matcher_t *m, size_t *n);
void dni__match_tag_keep(dni__matcher_t *m, dni__output_t *o);
size_t dni__match_tag_take(dni__matcher_t *m, dni__output_t *o, char *buf);

#endif
