/*
 * match.c - finding a rule's default number in a stream of text bytes and
 * writing its replacement.
 *
 * A candidate is a run of digits with at most three separators in a row
 * between them (space, - . / ( ), U+00A0 raw or as &nbsp; &#160; &#xa0;,
 * U+2011..U+2013), optionally begun by "+" or by "(" directly before the
 * first digit. A separator group " / " splits a run into two candidates.
 * A candidate matches a rule when all its digits equal the rule's NSN,
 * trunk prefix + NSN, or country code + NSN written after "+" or "00".
 * Because the whole run must match, a number touching other digits (an
 * order or card number, a longer run) never does.
 *
 * The matcher holds a candidate's bytes back until it knows whether they
 * match, so at most DNI__PEND_MAX bytes per stream are ever held.
 */
#include <string.h>

#include "rewriter_internal.h"

enum {
    M_IDLE = 0, /* no candidate */
    M_PREFIX,   /* holding a "+" or "(" that may begin one */
    M_RUN,      /* last byte was a digit */
    M_SEP       /* inside a separator group after a digit */
};

/* Kinds of separator, remembered to recognise the " / " split. */
#define SEP_SPACE 's'
#define SEP_SLASH '/'
#define SEP_OTHER 'o'

void dni__match_init(dni__matcher_t *m, const dni_ruleset_t *rules)
{
    memset(m, 0, sizeof *m);
    m->rules = rules;
}

static void reset(dni__matcher_t *m)
{
    m->state = M_IDLE;
    m->dead = 0;
    m->prefix = 0;
    m->seps = 0;
    m->part_len = 0;
    m->nd = 0;
    m->seg_end = 0;
    m->pend_len = 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Does the digit string d[0..n) equal a[0..an) followed by b[0..bn)? */
static int digits_equal(const char *d, size_t n, const char *a, size_t an,
                        const char *b, size_t bn)
{
    return n == an + bn && memcmp(d, a, an) == 0 && memcmp(d + an, b, bn) == 0;
}

/* The rule whose default number the held candidate is, or NULL. */
static const dni_rule_t *find_rule(const dni__matcher_t *m)
{
    for (size_t i = 0; i < m->rules->count; i++) {
        const dni_rule_t *r = &m->rules->rules[i];
        const char *cc = r->from.e164 + 1;
        const char *nsn = cc + r->from.cc_len;
        size_t cc_len = r->from.cc_len, nsn_len = r->from.nsn_len;
        const char *trunk = (cc_len == 1 && cc[0] == '1') ? "1" : "0";

        if (m->prefix == '+') {
            /* After "+" only the international form makes sense. */
            if (digits_equal(m->digits, m->nd, cc, cc_len, nsn, nsn_len))
                return r;
            continue;
        }
        if (digits_equal(m->digits, m->nd, "", 0, nsn, nsn_len) ||
            digits_equal(m->digits, m->nd, trunk, 1, nsn, nsn_len))
            return r;
        if (m->nd == 2 + cc_len + nsn_len && m->digits[0] == '0' &&
            m->digits[1] == '0' &&
            digits_equal(m->digits + 2, m->nd - 2, cc, cc_len, nsn, nsn_len))
            return r;
    }
    return NULL;
}

/* Appends s to buf at *n, escaped for HTML text and attribute values. */
static void put_escaped(char *buf, size_t *n, char c)
{
    const char *e = NULL;
    switch (c) {
    case '&':
        e = "&amp;";
        break;
    case '<':
        e = "&lt;";
        break;
    case '>':
        e = "&gt;";
        break;
    case '"':
        e = "&quot;";
        break;
    case '\'':
        e = "&#39;";
        break;
    default:
        buf[(*n)++] = c;
        return;
    }
    size_t len = strlen(e);
    memcpy(buf + *n, e, len);
    *n += len;
}

/* Writes the held candidate pend[0..seg_end), swapped when it matches. */
static void finish_segment(dni__matcher_t *m, dni__output_t *o, int in_tag)
{
    const dni_rule_t *r = NULL;
    if (!m->dead && m->nd > 0)
        r = find_rule(m);
    if (r == NULL) {
        dni__out_emit(o, m->pend, m->seg_end);
        return;
    }

    const dni_phone_t *from = &r->from, *to = &r->to;
    char repl[DNI__PEND_MAX + 6 * DNI_MAX_TEMPLATE];
    size_t n = 0;
    if (to->cc_len == from->cc_len && to->nsn_len == from->nsn_len &&
        memcmp(to->e164, from->e164, 1u + from->cc_len) == 0) {
        /* Same shape: new digits into the old digit positions, so every
         * separator, parenthesis, prefix and entity stays as written. */
        memcpy(repl, m->pend, m->seg_end);
        const char *nsn = to->e164 + 1 + to->cc_len;
        size_t first = m->nd - to->nsn_len;
        for (size_t k = 0; k < to->nsn_len; k++)
            repl[m->digit_at[first + k]] = nsn[k];
        n = m->seg_end;
    } else if (r->template_[0] == '\0' || m->ctx == DNI__CTX_HREF) {
        n = strlen(to->e164);
        memcpy(repl, to->e164, n);
    } else {
        const char *d = to->e164 + 1;
        for (const char *t = r->template_; *t; t++) {
            if (*t == '#')
                repl[n++] = *d++;
            else
                put_escaped(repl, &n, *t);
        }
    }
    dni__out_swap(o, m->pend, m->seg_end, repl, n, in_tag);
}

/* Ends the run: the candidate is decided, trailing separators pass. */
static void end_run(dni__matcher_t *m, dni__output_t *o, int in_tag)
{
    finish_segment(m, o, in_tag);
    dni__out_emit(o, m->pend + m->seg_end, m->pend_len - m->seg_end);
    reset(m);
}

static void add_digit(dni__matcher_t *m, dni__output_t *o, unsigned char c)
{
    if (!m->dead && m->nd == DNI__MAX_DIGITS) {
        /* Longer than any number: nothing in this segment can match. */
        m->dead = 1;
    }
    if (m->dead) {
        dni__out_emit(o, m->pend, m->pend_len);
        m->pend_len = 0;
        m->seg_end = 0;
        dni__out_emit(o, (const char *)&c, 1);
        return;
    }
    m->digit_at[m->nd] = (uint16_t)m->pend_len;
    m->digits[m->nd++] = (char)c;
    m->pend[m->pend_len++] = (char)c;
    m->seg_end = m->pend_len;
}

/* Result of extending a partial multi-byte separator. */
enum { PART_MORE, PART_DONE, PART_FAIL };

/* Compares a[0..n) with b[0..n), folding ASCII case when fold is set. */
static int same_prefix(const char *a, const char *b, size_t n, int fold)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (fold && x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

/* Extends a partial separator by c: raw UTF-8 U+00A0 and U+2011..U+2013,
 * or an entity spelling of U+00A0. The named entity is case-sensitive, as
 * in HTML; the hexadecimal one is not ("&#XA0;"). */
static int part_step(dni__matcher_t *m, unsigned char c)
{
    const unsigned char *p = (const unsigned char *)m->part;
    size_t k = m->part_len;
    if (p[0] == 0xC2)
        return c == 0xA0 ? PART_DONE : PART_FAIL;
    if (p[0] == 0xE2) {
        if (k == 1)
            return c == 0x80 ? PART_MORE : PART_FAIL;
        return (c >= 0x91 && c <= 0x93) ? PART_DONE : PART_FAIL;
    }
    static const char *const forms[] = {"&nbsp;", "&#160;", "&#xa0;"};
    char s[sizeof m->part + 1];
    memcpy(s, m->part, k);
    s[k] = (char)c;
    for (size_t f = 0; f < 3; f++) {
        if (strlen(forms[f]) > k && same_prefix(s, forms[f], k + 1, f == 2))
            return forms[f][k + 1] == '\0' ? PART_DONE : PART_MORE;
    }
    return PART_FAIL;
}

static void hold(dni__matcher_t *m, dni__output_t *o, unsigned char c)
{
    if (m->pend_len == DNI__PEND_MAX) {
        /* Cannot happen with the limits above; stay safe regardless. */
        dni__out_emit(o, m->pend, m->pend_len);
        reset(m);
        dni__out_emit(o, (const char *)&c, 1);
        return;
    }
    m->pend[m->pend_len++] = (char)c;
}

/* Separator kind of a one-byte separator, or 0. */
static char single_separator(unsigned char c)
{
    switch (c) {
    case ' ':
        return SEP_SPACE;
    case '/':
        return SEP_SLASH;
    case '-':
    case '.':
    case '(':
    case ')':
        return SEP_OTHER;
    default:
        return 0;
    }
}

/* Starts the next separator of a group; returns 0 when the group is full
 * and the run must end before this byte. */
static int group_add(dni__matcher_t *m, char kind)
{
    if (m->seps == 3)
        return 0;
    m->group[m->seps++] = kind;
    m->state = M_SEP;
    return 1;
}

void dni__match_byte(dni__matcher_t *m, dni__output_t *o, unsigned char c,
                     int ctx, int in_tag)
{
again:
    switch (m->state) {
    case M_IDLE:
        if (is_digit(c)) {
            m->ctx = ctx;
            m->state = M_RUN;
            add_digit(m, o, c);
        } else if (c == '+' || c == '(') {
            m->ctx = ctx;
            m->prefix = (char)c;
            m->state = M_PREFIX;
            hold(m, o, c);
        } else {
            dni__out_emit(o, (const char *)&c, 1);
        }
        return;

    case M_PREFIX:
        if (is_digit(c)) {
            m->state = M_RUN;
            add_digit(m, o, c);
            return;
        }
        dni__out_emit(o, m->pend, m->pend_len);
        reset(m);
        goto again;

    default: /* M_RUN, M_SEP */
        if (m->part_len > 0) {
            int r = part_step(m, c);
            if (r == PART_FAIL) {
                /* Not a separator after all: the run ended before it. */
                end_run(m, o, in_tag);
                goto again;
            }
            m->part[m->part_len++] = (char)c;
            hold(m, o, c);
            if (r == PART_DONE) {
                m->part_len = 0;
                m->state = M_SEP;
            }
            return;
        }
        if (is_digit(c)) {
            if (m->state == M_SEP && m->seps == 3 && m->group[0] == SEP_SPACE &&
                m->group[1] == SEP_SLASH && m->group[2] == SEP_SPACE) {
                /* "A / B": two candidates. */
                end_run(m, o, in_tag);
                m->ctx = ctx;
            }
            m->state = M_RUN;
            m->seps = 0;
            add_digit(m, o, c);
            return;
        }
        char kind = single_separator(c);
        if (kind == 0 && (c == '&' || c == 0xC2))
            kind = SEP_SPACE; /* U+00A0, raw or as an entity */
        else if (kind == 0 && c == 0xE2)
            kind = SEP_OTHER; /* U+2011..U+2013 */
        if (kind == 0 || !group_add(m, kind)) {
            end_run(m, o, in_tag);
            goto again;
        }
        if (c == '&' || c == 0xC2 || c == 0xE2) {
            m->part[0] = (char)c;
            m->part_len = 1;
        }
        hold(m, o, c);
        return;
    }
}

void dni__match_end(dni__matcher_t *m, dni__output_t *o, int in_tag)
{
    if (m->state == M_IDLE)
        return;
    if (m->state == M_PREFIX) {
        dni__out_emit(o, m->pend, m->pend_len);
        reset(m);
        return;
    }
    end_run(m, o, in_tag);
}
