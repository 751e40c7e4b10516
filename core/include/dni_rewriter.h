/*
 * dni_rewriter.h - the streaming HTML number-swap rewriter. Included from
 * dni.h; do not include directly.
 *
 * Usage:
 *
 *     dni_ruleset_t rules;
 *     dni_ruleset_init(&rules);
 *     dni_ruleset_add_spec(&rules, "800-555-1234=+18885550000", NULL,
 *                          why, sizeof why);
 *     dni_rewriter_t *rw;
 *     dni_rewriter_new(&rw, &rules, write_out, fp, NULL);
 *     while ((n = read(...)) > 0) dni_rewriter_feed(rw, buf, n);
 *     dni_rewriter_finish(rw);
 *     dni_rewriter_free(rw);
 *
 * Where numbers are swapped, what matches and how the replacement is
 * written is docs/swap.md. Output is byte-identical for every chunking of
 * the same input; input that holds no matching number passes through byte
 * for byte. Memory per stream is fixed (dni_rewriter_memory()).
 */
#ifndef DNI_REWRITER_H
#define DNI_REWRITER_H

/* Most rules one ruleset holds. */
#define DNI_MAX_RULES 16
/* Longest display template, in bytes, without the NUL. */
#define DNI_MAX_TEMPLATE 47

/* One rule: swap `from` (a site's default number) for `to`. */
typedef struct dni_rule {
    dni_phone_t from;
    dni_phone_t to;
    /* Display template ("+## ## #### ####"), or "" for bare E.164. Used
     * when `to` differs from `from` in country code or NSN length. */
    char template_[DNI_MAX_TEMPLATE + 1];
} dni_rule_t;

/* A set of rules, caller-owned, initialised by dni_ruleset_init(). */
typedef struct dni_ruleset {
    dni_rule_t rules[DNI_MAX_RULES];
    size_t count;
} dni_ruleset_t;

/* Empties rs. */
void dni_ruleset_init(dni_ruleset_t *rs);

/*
 * Adds the rule from -> to with an optional display template (NULL or ""
 * for none). The template must hold exactly as many '#' as `to` has E.164
 * digits, at most DNI_MAX_TEMPLATE bytes, and no NUL.
 * Returns DNI_OK, DNI_ETEMPLATE, DNI_ELIMIT (rs is full), DNI_EEXISTS
 * (a rule for the same default number exists) or DNI_EINVAL.
 */
int dni_ruleset_add(dni_ruleset_t *rs, const dni_phone_t *from,
                    const dni_phone_t *to, const char *template_);

/*
 * Parses and adds a rule written as DEFAULT=REPLACEMENT[@TEMPLATE], the
 * form of `dni swap --rule`. Numbers without a country code are national
 * to `country` (see dni_phone_parse()). On error returns the code from
 * dni_phone_parse() or dni_ruleset_add() (DNI_ESYNTAX when there is no
 * '=') and, when why is not NULL, writes one NUL-terminated line into
 * why[0..why_len) naming the part at fault.
 */
int dni_ruleset_add_spec(dni_ruleset_t *rs, const char *spec,
                         const char *country, char *why, size_t why_len);

/*
 * Output sink: receives the rewritten bytes in order. p is valid only
 * during the call. Returning non-zero aborts the stream: feed()/finish()
 * return DNI_EPOISONED and the stream is poisoned.
 */
typedef int (*dni_sink_fn)(const char *p, size_t n, void *ud);

typedef struct dni_rewriter dni_rewriter_t;

/*
 * Creates a rewriter applying a copy of *rules (rules may be freed after)
 * and writing to sink(ud). One allocation through alloc (NULL: realloc).
 * Returns DNI_OK and sets *out, or DNI_ENOMEM / DNI_EINVAL.
 */
int dni_rewriter_new(dni_rewriter_t **out, const dni_ruleset_t *rules,
                     dni_sink_fn sink, void *ud, const dni_allocator_t *alloc);

/*
 * Feeds the next n bytes of the document. Bytes that might be part of a
 * number or of a tag being decided are held back (a few hundred bytes at
 * most); everything else reaches the sink before the call returns.
 * Returns DNI_OK, or DNI_EPOISONED when the sink failed now or earlier or
 * after finish().
 */
int dni_rewriter_feed(dni_rewriter_t *rw, const char *p, size_t n);

/*
 * Ends the document: flushes everything held back. After it the stream
 * accepts nothing more (feed returns DNI_EPOISONED) until reset.
 */
int dni_rewriter_finish(dni_rewriter_t *rw);

/*
 * Starts a new document with the same rules and sink, as if just created.
 */
void dni_rewriter_reset(dni_rewriter_t *rw);

/*
 * Sets bytes (a <meta> tag, say) to write once into the current document
 * where the head's content begins, as the tokenizer reads the page:
 *   - right after the '>' of the <head ...> start tag, when the head
 *     starts with one;
 *   - otherwise right before the first thing that starts the head on its
 *     own (any other start tag, an end tag, or text that is not blank),
 *     after a leading byte order mark, doctype, comments and <html> tag;
 *   - at the end, when the document ends before either.
 * A "<head>" inside a comment, an attribute value, a <script> or other
 * raw text is not the head: a <script> before the head is content, and
 * the bytes go before it. The bytes are written as they are (no number
 * is swapped in them).
 *
 * p stays the caller's and must remain valid until the bytes are written
 * (dni_rewriter_head_written()) or the document ends; n = 0 clears it.
 * Call it before the first byte of the document is fed; reset() forgets
 * it. Returns DNI_OK, DNI_EINVAL, or DNI_ESTATE once bytes were fed.
 */
int dni_rewriter_set_head(dni_rewriter_t *rw, const char *p, size_t n);

/* 1 once the bytes of dni_rewriter_set_head() were written, else 0. */
int dni_rewriter_head_written(const dni_rewriter_t *rw);

/* Frees rw (NULL is fine). */
void dni_rewriter_free(dni_rewriter_t *rw);

/* Number of numbers swapped so far in the current document. */
uint64_t dni_rewriter_swaps(const dni_rewriter_t *rw);

/*
 * Of those, the swaps made by rule number `rule` (its index in the
 * ruleset, in the order the rules were added); 0 for an index past the
 * last rule. A rule whose replacement equals its default number swaps a
 * number for itself (the bytes stay) and is counted too: that is how the
 * edge learns which default numbers a page shows.
 */
uint64_t dni_rewriter_rule_swaps(const dni_rewriter_t *rw, size_t rule);

/* Bytes one rewriter occupies (its only allocation). */
size_t dni_rewriter_memory(void);

#endif /* DNI_REWRITER_H */
