/*
 * match.c - finding a rule's default number in a stream of text and
 * writing its replacement.
 *
 * The matcher reads characters: a byte, a UTF-8 separator (U+00A0,
 * U+2010..U+2013) or a character reference, which is one character and
 * never digits. Digits joined by separators (at most three in a row, and
 * inline tags, which the rewriter hands over whole) form a run; the
 * matcher holds a run back while a number may be forming in it.
 *
 * Every digit group of a run whose first digit does not touch another
 * digit may start a candidate (with a '+' or '(' written directly before
 * it). Candidates are followed side by side, one per start: a bit per
 * digit index in `live`, and per start the rule forms its digits are
 * still a prefix of (four per rule: NSN, trunk + NSN, country code + NSN
 * after "+" or "00", and country code + "(0)" + NSN). A candidate is
 * complete when its digits equal a form; it matches once the character
 * after its last digit is known not to be a digit, nor a hyphen or dot
 * followed by one. Where candidates overlap the earliest start wins, so a
 * match waits in `decided` until every earlier start has been settled.
 *
 * After a "+" or a "00" that begins a country code, the next digit groups
 * belong to that foreign number until it has eight digits (the shortest
 * number this project takes): "+44 800 555 1234" holds no US number.
 *
 * Bytes of a run are held until the run ends (lazily: what lies before
 * the earliest open candidate is written out only when room is needed),
 * so a run costs one write. Nothing is ever held past DNI__PEND_MAX bytes,
 * DNI__MAX_DIGITS digits or DNI__MAX_TAGS tags: past those the held bytes
 * pass through unchanged.
 */
#include <string.h>

#include "rewriter_internal.h"

enum { M_IDLE = 0, M_BUSY = 1 };

/* Class of the last character read (prev). */
enum { C_NONE = 0, C_OTHER, C_DIGIT, C_SEP };

/* What followed the last digit of a run (after). */
enum { A_NONE = 0, A_HYPHEN, A_PAST };

/* A character being read over several bytes (part_kind). */
enum {
    P_NONE = 0,
    P_UTF8,  /* lead byte 0xC2 or 0xE2 of a possible separator */
    P_AMP,   /* "&" */
    P_HASH,  /* "&#" */
    P_HASHX, /* "&#x" */
    P_DEC,   /* "&#" digits */
    P_HEX,   /* "&#x" hex digits */
    P_NAME,  /* "&" name */
    P_SKIP   /* the rest of a numeric reference too long to keep */
};

/* Flags of a character. */
enum { F_HYPHEN = 1, F_PAREN = 2, F_PLUS = 4 };

/* Prefix kinds: '+', '(' or PLUS_TOUCH, a '+' right after a digit, which
 * starts a foreign number but no candidate. */
#define PLUS_TOUCH 'p'

/* Digits a foreign number takes before a new number may start. */
#define FOREIGN_DIGITS 8

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(int c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int is_alnum(int c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* ---- rule forms ------------------------------------------------------ */

/*
 * Form f of a rule, for a candidate after '+' (plus) or not: 0 NSN,
 * 1 trunk + NSN, 2 [00] CC NSN, 3 [00] CC 0 NSN. Each is a tail of one
 * of the rule's two digit strings, S = "00" CC NSN and T = "00" CC "0"
 * NSN, which dni__match_init() writes into `fdigits` (S, NUL, T, NUL per
 * rule); `fat` holds where each form begins there (after no '+'), so
 * that following a candidate is one comparison per digit and form. The
 * trunk prefix is '1' for country code 1 (S's last country code digit)
 * and '0' elsewhere (T's zero).
 */
static const char *form_digits(const dni__matcher_t *m, unsigned b,
                               int plus)
{
    /* After a '+' only forms 2 and 3 are followed: without the "00". */
    return m->fdigits + m->fat[b] + (plus ? 2 : 0);
}

void dni__match_init(dni__matcher_t *m, const dni_ruleset_t *rules)
{
    memset(m, 0, sizeof *m);
    m->rules = rules;
    for (size_t i = 0; i < rules->count; i++) {
        const dni_phone_t *from = &rules->rules[i].from;
        const char *d = from->e164 + 1; /* CC NSN */
        unsigned cc = from->cc_len, nsn = from->nsn_len;
        char *sl = m->fdigits + i * DNI__FORM_SLOT;
        unsigned t = 2 + cc + nsn + 1; /* where T begins */
        sl[0] = sl[1] = sl[t] = sl[t + 1] = '0';
        memcpy(sl + 2, d, cc + nsn);
        memcpy(sl + t + 2, d, cc);
        sl[t + 2 + cc] = '0';
        memcpy(sl + t + 3 + cc, d + cc, nsn);
        int nanp = cc == 1 && d[0] == '1';
        uint16_t *at = &m->fat[4 * i], slot = (uint16_t)(i * DNI__FORM_SLOT);
        at[0] = (uint16_t)(slot + 2 + cc);
        at[1] = (uint16_t)(slot + (nanp ? 1 + cc : t + 2 + cc));
        at[2] = slot;
        at[3] = (uint16_t)(slot + t);
        for (unsigned f = 0; f < 4; f++) {
            unsigned b = 4u * (unsigned)i + f;
            const char *fd = form_digits(m, b, 0);
            unsigned pair = (unsigned)(fd[0] - '0') * 10u +
                            (unsigned)(fd[1] - '0');
            m->pairs[pair >> 6] |= (uint64_t)1 << (pair & 63);
            /* The forms a candidate starting with digit d may take: the
             * first step of every candidate is a table look-up. */
            m->start_forms[0][fd[0] - '0'] |= (uint64_t)1 << b;
            if (f >= 2)
                m->start_forms[1][form_digits(m, b, 1)[0] - '0'] |=
                    (uint64_t)1 << b;
        }
    }
}

const unsigned char *dni__match_skip_group(const dni__matcher_t *m,
                                           const unsigned char *p,
                                           const unsigned char *end)
{
    const unsigned char *q = p + 1;
    while (q < end && is_digit(*q))
        q++;
    /* A '<' may be an inline tag the group touches through, a '+' after a
     * digit starts no candidate, a '(' after one belongs to none; at the
     * chunk's end the next byte is not known. */
    if (q == end || *q == '<' || *q == '+' || *q == '(')
        return p;
    unsigned d = (unsigned)(p[0] - '0');
    if (m->start_forms[0][d]) {
        /* A lone digit ("8.2.4", "7 days"): its candidate's second digit
         * is the next group's first, when one separator stands between. */
        unsigned second;
        if (q - p >= 2)
            second = (unsigned)(p[1] - '0');
        else if (q + 1 < end &&
                 (*q == ' ' || *q == '-' || *q == '.' || *q == '/') &&
                 is_digit(q[1]))
            second = (unsigned)(q[1] - '0');
        else
            return p;
        unsigned pair = d * 10u + second;
        if (m->pairs[pair >> 6] >> (pair & 63) & 1)
            return p;
    }
    return q;
}

/* ---- holding --------------------------------------------------------- */

static int in_run(const dni__matcher_t *m)
{
    return m->prev >= C_DIGIT;
}

static void update_state(dni__matcher_t *m)
{
    m->state = (in_run(m) || m->pend_len || m->part_kind) ? M_BUSY : M_IDLE;
}

/* Offset in pend of the first byte of the candidate started at digit s. */
static size_t start_byte(const dni__matcher_t *m, unsigned s)
{
    return (size_t)m->digit_at[s] - (m->kind[s] ? 1u : 0u);
}

/* Drops the first k digits (their candidates are settled). */
static void shift_digits(dni__matcher_t *m, unsigned k)
{
    if (k == 0)
        return;
    unsigned rest = m->nd - k;
    memmove(m->digit_at, m->digit_at + k, rest * sizeof *m->digit_at);
    memmove(m->kind, m->kind + k, rest);
    memmove(m->done, m->done + k, rest);
    memmove(m->done_rf, m->done_rf + k, rest);
    memmove(m->forms, m->forms + k, rest * sizeof *m->forms);
    m->live = k >= 32 ? 0 : m->live >> k;
    m->decided = k >= 32 ? 0 : m->decided >> k;
    m->complete = k >= 32 ? 0 : m->complete >> k;
    m->nd = (uint8_t)rest;
}

/* Drops the first b held bytes (already written). */
static void shift_bytes(dni__matcher_t *m, size_t b)
{
    if (b == 0)
        return;
    memmove(m->pend, m->pend + b, m->pend_len - b);
    m->pend_len = (uint16_t)(m->pend_len - b);
    for (unsigned i = 0; i < m->nd; i++)
        m->digit_at[i] = (uint16_t)(m->digit_at[i] - b);
    unsigned keep = 0;
    for (unsigned i = 0; i < m->ntags; i++) {
        if (m->tag_at[i] < b)
            continue;
        m->tag_at[keep] = (uint16_t)(m->tag_at[i] - b);
        m->tag_len[keep++] = m->tag_len[i];
    }
    m->ntags = (uint8_t)keep;
    if (m->gathering)
        m->gather_at = (uint16_t)(m->gather_at - b);
}

/* Writes out and forgets everything held: nothing held can match. */
static void give_up(dni__matcher_t *m, dni__output_t *o)
{
    dni__out_emit(o, m->pend, m->pend_len);
    m->pend_len = 0;
    m->nd = 0;
    m->ntags = 0;
    m->live = m->decided = m->complete = 0;
    m->prefix = 0;
}

/* Writes out what is held before the earliest open candidate. */
static void compact(dni__matcher_t *m, dni__output_t *o)
{
    uint32_t open = m->live | m->decided;
    size_t b;
    if (open) {
        shift_digits(m, (unsigned)__builtin_ctz(open));
        b = start_byte(m, 0);
    } else {
        m->nd = 0;
        b = m->pend_len - (m->prefix ? 1u : 0u);
    }
    dni__out_emit(o, m->pend, b);
    shift_bytes(m, b);
}

/* Makes room for n more held bytes, writing out what lies before the
 * earliest open candidate (and, when that is not enough, giving up).
 * Returns 0 when n bytes still do not fit. */
static int make_room(dni__matcher_t *m, dni__output_t *o, size_t n)
{
    if ((size_t)m->pend_len + n <= DNI__PEND_MAX)
        return 1;
    compact(m, o);
    if ((size_t)m->pend_len + n <= DNI__PEND_MAX)
        return 1;
    give_up(m, o);
    return n <= DNI__PEND_MAX;
}

/* Holds the bytes of one character of a run. */
static void hold(dni__matcher_t *m, dni__output_t *o, const char *b,
                 size_t n)
{
    if ((size_t)m->pend_len + n > DNI__PEND_MAX && !make_room(m, o, n)) {
        dni__out_emit(o, b, n);
        return;
    }
    memcpy(m->pend + m->pend_len, b, n);
    m->pend_len = (uint16_t)(m->pend_len + n);
}

/* Holds one byte: hold() for the common case, inline. */
static inline void hold1(dni__matcher_t *m, dni__output_t *o, char c)
{
    if (m->pend_len < DNI__PEND_MAX)
        m->pend[m->pend_len++] = c;
    else
        hold(m, o, &c, 1);
}

/* ---- writing a match ------------------------------------------------- */

/* Appends c to buf at *n, escaped for HTML text and attribute values. */
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

/* Writes the decided candidate started at digit s (the earliest open
 * one): what is held before it as it was, then its replacement. */
static void write_match(dni__matcher_t *m, dni__output_t *o, unsigned s)
{
    const dni_rule_t *r = &m->rules->rules[m->done_rf[s] >> 2];
    unsigned last = s + m->done[s] - 1u;
    size_t b0 = start_byte(m, s), b1 = (size_t)m->digit_at[last] + 1;
    const dni_phone_t *from = &r->from, *to = &r->to;
    char repl[DNI__PEND_MAX + 6 * DNI_MAX_TEMPLATE];
    size_t n = 0;

    dni__out_emit(o, m->pend, b0);
    if (to->cc_len == from->cc_len && to->nsn_len == from->nsn_len &&
        memcmp(to->e164, from->e164, 1u + from->cc_len) == 0) {
        /* Same shape: new digits into the old digit positions, so every
         * separator, parenthesis, prefix, entity and tag stays. */
        memcpy(repl, m->pend + b0, b1 - b0);
        const char *nsn = to->e164 + 1 + to->cc_len;
        unsigned first = last + 1u - to->nsn_len;
        for (unsigned k = 0; k < to->nsn_len; k++)
            repl[m->digit_at[first + k] - b0] = nsn[k];
        n = b1 - b0;
    } else {
        if (r->template_[0] == '\0' || m->ctx == DNI__CTX_HREF) {
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
        /* The tags inside the number follow it, so elements stay
         * balanced. */
        for (unsigned i = 0; i < m->ntags; i++) {
            if (m->tag_at[i] >= b0 && m->tag_at[i] < b1) {
                memcpy(repl + n, m->pend + m->tag_at[i], m->tag_len[i]);
                n += m->tag_len[i];
            }
        }
    }
    o->rule = m->done_rf[s] >> 2;
    dni__out_swap(o, m->pend + b0, b1 - b0, repl, n, m->in_tag);

    /* Candidates that began inside this one lose to it. */
    uint32_t gone = last + 1 >= 32 ? ~0u : (1u << (last + 1)) - 1u;
    m->live &= ~gone;
    m->decided &= ~gone;
    m->complete &= ~gone;
    if ((m->live | m->decided) == 0)
        m->nd = 0; /* nothing open: no digit held is needed any more */
    else
        shift_digits(m, last + 1);
    shift_bytes(m, b1);
}

/* Writes every match whose turn has come: the earliest open candidate,
 * while it is decided. */
static void settle(dni__matcher_t *m, dni__output_t *o)
{
    if (m->decided == 0) {
        if (m->live == 0)
            m->nd = 0;
        return;
    }
    for (;;) {
        uint32_t open = m->live | m->decided;
        if (open == 0) {
            m->nd = 0;
            return;
        }
        unsigned s = (unsigned)__builtin_ctz(open);
        if (!(m->decided & (1u << s))) {
            shift_digits(m, s);
            return;
        }
        write_match(m, o, s);
    }
}

/* The character after the last digit is known not to continue the
 * number: complete candidates are decided. */
static void decide_done(dni__matcher_t *m)
{
    uint32_t open = m->live & m->complete;
    while (open) {
        unsigned s = (unsigned)__builtin_ctz(open);
        open &= open - 1;
        if (m->done[s]) {
            m->live &= ~(1u << s);
            m->decided |= 1u << s;
        }
    }
    m->complete = 0;
    m->after = A_PAST;
}

/* A digit follows the last one (directly, or after a hyphen or dot):
 * complete candidates are not numbers after all. */
static void undo_done(dni__matcher_t *m)
{
    uint32_t open = m->live & m->complete;
    m->complete = 0;
    while (open) {
        unsigned s = (unsigned)__builtin_ctz(open);
        open &= open - 1;
        if (m->done[s]) {
            m->done[s] = 0;
            if (m->forms[s] == 0)
                m->live &= ~(1u << s);
        }
    }
}

/* The run ends: complete candidates match, the others are not numbers;
 * everything held is written. */
static void end_run(dni__matcher_t *m, dni__output_t *o)
{
    decide_done(m);
    m->live = 0;
    settle(m, o);
    m->complete = 0;
    dni__out_emit(o, m->pend, m->pend_len);
    m->pend_len = 0;
    m->nd = 0;
    m->ntags = 0;
    m->prev = C_NONE;
    m->seps = 0;
    m->after = A_NONE;
    m->prefix = 0;
    m->foreign = 0;
    m->group = 0;
}

/* Drops a '+' or '(' held in case a digit followed. */
static void drop_prefix(dni__matcher_t *m, dni__output_t *o)
{
    if (!m->prefix)
        return;
    m->prefix = 0;
    if (!in_run(m)) {
        dni__out_emit(o, m->pend, m->pend_len);
        m->pend_len = 0;
    }
}

/* ---- characters ------------------------------------------------------ */

/* Whether the '0' at digit index z was written "(0)". */
static int zero_in_parens(const dni__matcher_t *m, unsigned z)
{
    size_t at = m->digit_at[z];
    return at > 0 && m->pend[at - 1] == '(' && at + 1 < m->pend_len &&
           m->pend[at + 1] == ')';
}

/* Advances every open candidate by the digit at index i. */
static void step_candidates(dni__matcher_t *m, unsigned i, char c)
{
    uint32_t open = m->live;
    while (open) {
        unsigned s = (unsigned)__builtin_ctz(open);
        open &= open - 1;
        size_t k = i - s;
        int plus = m->kind[s] == '+';
        /* form_digits(m, b, plus) + k is at + m->fat[b]. */
        const char *at = m->fdigits + (plus ? 2 : 0) + k;
        uint64_t fm = m->forms[s], keep = 0;
        while (fm) {
            unsigned b = (unsigned)__builtin_ctzll(fm);
            fm &= fm - 1;
            const char *fd = at + m->fat[b];
            if (fd[0] != c)
                continue;
            if (fd[1] != '\0') {
                keep |= (uint64_t)1 << b;
            } else if (m->done[s] != k + 1 &&
                       ((b & 3) != 3 ||
                        zero_in_parens(m, s + (plus ? 0u : 2u) +
                                              m->rules->rules[b >> 2]
                                                  .from.cc_len))) {
                m->done[s] = (uint8_t)(k + 1);
                m->done_rf[s] = (uint8_t)b;
                m->complete |= 1u << s;
            }
        }
        m->forms[s] = keep;
        if (keep == 0 && m->done[s] == 0)
            m->live &= ~(1u << s);
    }
}

/* Advances every open candidate by the digits p[0..n), at indexes i to
 * i + n - 1, each after the first touching the one before it (so no
 * candidate starts after the first): the same as n calls of
 * step_candidates() with the completions undone by the digit after them,
 * which a form that ends inside the stretch would see. */
static void step_group(dni__matcher_t *m, unsigned i,
                       const unsigned char *p, size_t n)
{
    uint32_t open = m->live;
    while (open) {
        unsigned s = (unsigned)__builtin_ctz(open);
        open &= open - 1;
        size_t k = i - s;
        int plus = m->kind[s] == '+';
        const char *at = m->fdigits + (plus ? 2 : 0) + k;
        uint64_t fm = m->forms[s], keep = 0;
        while (fm) {
            unsigned b = (unsigned)__builtin_ctzll(fm);
            fm &= fm - 1;
            const char *fd = at + m->fat[b];
            size_t j = 0;
            while (j < n && fd[j] == (char)p[j]) /* a form's NUL ends it */
                j++;
            if (j < n)
                continue;
            if (fd[n] != '\0') {
                keep |= (uint64_t)1 << b;
            } else if (m->done[s] != k + n &&
                       ((b & 3) != 3 ||
                        zero_in_parens(m, s + (plus ? 0u : 2u) +
                                              m->rules->rules[b >> 2]
                                                  .from.cc_len))) {
                m->done[s] = (uint8_t)(k + n);
                m->done_rf[s] = (uint8_t)b;
                m->complete |= 1u << s;
            }
        }
        m->forms[s] = keep;
        if (keep == 0 && m->done[s] == 0)
            m->live &= ~(1u << s);
    }
}

/* Bookkeeping of a digit that directly follows another (after its
 * completions are undone). */
static inline void count_digit(dni__matcher_t *m, char c)
{
    if (m->group < 3)
        m->group++;
    if (m->foreign && m->foreign < 255)
        m->foreign++;
    if (m->group == 2) {
        m->group00 = m->group00 && c == '0';
    } else if (m->group00) {
        if (c != '0' && !m->foreign)
            m->foreign = 1; /* "00" and a country code */
        m->group00 = 0;
    }
}

/* The same, completions first: a digit follows the last one directly. */
static inline void touch_digit(dni__matcher_t *m, char c)
{
    if (m->complete)
        undo_done(m);
    count_digit(m, c);
}

/* Holds digit c and, when `step`, advances the open candidates by it;
 * `start`: a candidate of kind `kind` that may take forms sf begins at
 * it. Returns the digit's index, or -1 when it is held as plain text. */
static inline int add_digit(dni__matcher_t *m, dni__output_t *o, char c,
                            int start, int kind, uint64_t sf, int step)
{
    if (start || (m->live | m->decided)) {
        if (m->nd == DNI__MAX_DIGITS ||
            (m->pend_len == DNI__PEND_MAX && !make_room(m, o, 1))) {
            give_up(m, o);
            if (!start) {
                hold1(m, o, c);
                return -1;
            }
        }
        unsigned i = m->nd++;
        m->digit_at[i] = m->pend_len;
        if (start) {
            m->kind[i] = (uint8_t)kind;
            m->done[i] = 0;
            m->forms[i] = sf;
            m->live |= 1u << i;
        }
        m->pend[m->pend_len++] = c;
        if (step)
            step_candidates(m, i, c);
        return (int)i;
    }
    hold1(m, o, c);
    return -1;
}

/* Digit c; `next`: the digit touching it, when known, else 0; `step`:
 * as for add_digit(), whose answer it returns. */
static int on_digit(dni__matcher_t *m, dni__output_t *o, char c, char next,
                    int step)
{
    int start = 0, kind = 0;
    uint64_t sf = 0; /* the forms a candidate starting here may take */
    if (!in_run(m)) {
        m->foreign = 0;
        m->seps = 0;
        m->after = A_NONE;
    }
    if (m->prev == C_DIGIT) {
        touch_digit(m, c);
    } else {
        if (m->after == A_HYPHEN && m->complete)
            undo_done(m); /* "-5" after a number continues it */
        kind = m->prefix == PLUS_TOUCH ? 0 : m->prefix;
        int suppressed = m->foreign > 0 && m->foreign < FOREIGN_DIGITS;
        if (m->prefix == '+' || m->prefix == PLUS_TOUCH)
            m->foreign = 1;
        else if (m->foreign && m->foreign < 255)
            m->foreign++;
        sf = m->start_forms[kind == '+'][c - '0'];
        start = !suppressed && m->prefix != PLUS_TOUCH && sf != 0;
        if (start && next && kind != '+') {
            /* The next digit is known: a candidate no form can take past
             * it is not started (it would end there). */
            unsigned pair = (unsigned)(c - '0') * 10u +
                            (unsigned)(next - '0');
            start = (int)(m->pairs[pair >> 6] >> (pair & 63) & 1);
        }
        m->group = 1;
        m->group00 = c == '0';
    }
    m->prefix = 0;
    m->prev = C_DIGIT;
    m->seps = 0;
    m->after = A_NONE;
    return add_digit(m, o, c, start, kind, sf, step);
}

/* The digits p[0..n): after the first, every digit touches the one
 * before it, so it starts no candidate, and the open candidates are
 * advanced over the whole group at once. Digits held while no candidate
 * is open any more are harmless: nothing reads them, and the held digits
 * are dropped before the next candidate starts. */
static void on_digits(dni__matcher_t *m, dni__output_t *o,
                      const unsigned char *p, size_t n)
{
    if (n == 1) {
        on_digit(m, o, (char)p[0], 0, 1);
        return;
    }
    int first = on_digit(m, o, (char)p[0], (char)p[1], 0);
    if (first < 0 || m->nd + n - 1 > DNI__MAX_DIGITS ||
        m->pend_len + n - 1 > DNI__PEND_MAX) {
        /* Nothing to follow, or a bound may be reached inside: one digit
         * at a time. */
        if (first >= 0)
            step_candidates(m, (unsigned)first, (char)p[0]);
        for (size_t j = 1; j < n; j++) {
            touch_digit(m, (char)p[j]);
            add_digit(m, o, (char)p[j], 0, 0, 0, 1);
        }
        return;
    }
    if (m->complete)
        undo_done(m);
    unsigned i = m->nd;
    for (size_t j = 1; j < n; j++) {
        count_digit(m, (char)p[j]);
        m->digit_at[i] = m->pend_len;
        m->pend[m->pend_len++] = (char)p[j];
        i++;
    }
    m->nd = (uint8_t)i;
    step_group(m, (unsigned)first, p, n);
}

/* A separator (space, - . / ( ), U+00A0, U+2010..U+2013), raw or as a
 * character reference; flags F_HYPHEN for '-' and '.', F_PAREN for a raw
 * '(' (which may begin a candidate). */
static void on_sep(dni__matcher_t *m, dni__output_t *o, const char *b,
                   size_t n, int flags)
{
    if (in_run(m) && m->seps == 3)
        end_run(m, o); /* a fourth separator: the run is over */
    if (!in_run(m)) {
        /* Only a raw '(' means something outside a run. */
        drop_prefix(m, o);
        if (flags & F_PAREN) {
            hold(m, o, b, n);
            m->prefix = '(';
        } else {
            dni__out_emit(o, b, n);
        }
        m->prev = C_OTHER;
        return;
    }
    m->seps++;
    if (m->prev == C_DIGIT && (flags & F_HYPHEN))
        m->after = A_HYPHEN;
    else if (m->after != A_PAST)
        decide_done(m);
    if (n == 1)
        hold1(m, o, b[0]);
    else
        hold(m, o, b, n);
    m->prefix = (flags & F_PAREN) && m->prev != C_DIGIT ? '(' : 0;
    m->prev = C_SEP;
    settle(m, o);
    if ((m->live | m->decided) == 0 &&
        (m->foreign == 0 || m->foreign >= FOREIGN_DIGITS)) {
        /* No candidate is open and the next group starts afresh either
         * way: the run need not be followed any further (a '(' stays
         * held in case a digit follows). */
        size_t keep = m->prefix ? 1u : 0u;
        dni__out_emit(o, m->pend, m->pend_len - keep);
        m->pend[0] = '(';
        m->pend_len = (uint16_t)keep;
        m->nd = 0;
        m->ntags = 0;
        m->prev = C_OTHER;
        m->seps = 0;
        m->after = A_NONE;
        m->foreign = 0;
        m->group = 0;
    }
}

/* Any other character: ends a run. A raw '+' may begin a candidate. */
static void on_other(dni__matcher_t *m, dni__output_t *o, const char *b,
                     size_t n, int flags)
{
    int after_digit = m->prev == C_DIGIT;
    if (in_run(m))
        end_run(m, o);
    else
        drop_prefix(m, o);
    m->prev = C_OTHER;
    if (flags & F_PLUS) {
        hold(m, o, b, n);
        m->prefix = after_digit ? PLUS_TOUCH : '+';
        return;
    }
    dni__out_emit(o, b, n);
}

/* ---- character references and UTF-8 --------------------------------- */

/* Named references the matcher must know: the separators, and every name
 * with a digit in it (so that its digits are never read as a number's).
 * legacy: the HTML standard also reads it without the ';'. */
static const struct {
    const char *name;
    uint16_t cp; /* a separator's code point, or 0 */
    uint8_t legacy;
} names[] = {
    {"nbsp", 0xA0, 1},    {"NonBreakingSpace", 0xA0, 0},
    {"ndash", 0x2013, 0}, {"hyphen", 0x2010, 0},
    {"dash", 0x2010, 0},  {"period", '.', 0},
    {"sol", '/', 0},      {"lpar", '(', 0},
    {"rpar", ')', 0},     {"frac12", 0, 1},
    {"frac13", 0, 0},     {"frac14", 0, 1},
    {"frac15", 0, 0},     {"frac16", 0, 0},
    {"frac18", 0, 0},     {"frac23", 0, 0},
    {"frac25", 0, 0},     {"frac34", 0, 1},
    {"frac35", 0, 0},     {"frac38", 0, 0},
    {"frac45", 0, 0},     {"frac56", 0, 0},
    {"frac58", 0, 0},     {"frac78", 0, 0},
    {"sup1", 0, 1},       {"sup2", 0, 1},
    {"sup3", 0, 1},       {"emsp13", 0, 0},
    {"emsp14", 0, 0},     {"blk12", 0, 0},
    {"blk14", 0, 0},      {"blk34", 0, 0},
    {"there4", 0, 0},
};
#define NNAMES (sizeof names / sizeof *names)

/* Whether a name in the table begins with letter c: most references
 * (&amp; &lt; &quot; ...) are told apart at their first letter. */
static int name_first(int c)
{
    switch (c) {
    case 'n': case 'N': case 'h': case 'd': case 'p': case 's': case 'l':
    case 'r': case 'f': case 'e': case 'b': case 't':
        return 1;
    default:
        return 0;
    }
}

/* The table entry named exactly s[0..n), or -1; *prefix tells whether s
 * begins some longer name. */
static int find_name(const char *s, size_t n, int *prefix)
{
    int exact = -1;
    *prefix = 0;
    for (size_t i = 0; i < NNAMES; i++) {
        const char *t = names[i].name;
        if (t[0] != s[0])
            continue;
        size_t k = 1;
        while (k < n && t[k] == s[k])
            k++;
        if (k < n)
            continue;
        if (t[n] == '\0')
            exact = (int)i;
        else
            *prefix = 1;
    }
    return exact;
}

/* Whether code point cp is a separator; *flags gets F_HYPHEN for - and
 * '.'. Numeric references are first mapped as the HTML standard maps
 * them (0x96 is the en dash of windows-1252). */
static int sep_code(uint32_t cp, int *flags)
{
    if (cp == 0x96)
        cp = 0x2013;
    *flags = (cp == '-' || cp == '.') ? F_HYPHEN : 0;
    return cp == ' ' || cp == '-' || cp == '.' || cp == '/' || cp == '(' ||
           cp == ')' || cp == 0xA0 || (cp >= 0x2010 && cp <= 0x2013);
}

static void byte_char(dni__matcher_t *m, dni__output_t *o, unsigned char c);

/* The character being read is complete: a separator or another
 * character. */
static void part_done(dni__matcher_t *m, dni__output_t *o, uint32_t cp)
{
    char b[sizeof m->part];
    size_t n = m->part_len;
    memcpy(b, m->part, n);
    m->part_kind = P_NONE;
    m->part_len = 0;
    int flags;
    if (sep_code(cp, &flags))
        on_sep(m, o, b, n, flags);
    else
        on_other(m, o, b, n, 0);
}

/* What was read is not a separator or reference after all: its first
 * byte is a character of its own, the others are read again. */
static void part_fail(dni__matcher_t *m, dni__output_t *o)
{
    char b[sizeof m->part];
    size_t n = m->part_len;
    memcpy(b, m->part, n);
    m->part_kind = P_NONE;
    m->part_len = 0;
    size_t digit = 1;
    while (digit < n && !is_digit((unsigned char)b[digit]))
        digit++;
    /* Letters and continuation bytes read again are ordinary characters:
     * write them with the first byte, up to the first digit. */
    on_other(m, o, b, digit, 0);
    for (size_t i = digit; i < n; i++)
        byte_char(m, o, (unsigned char)b[i]);
}

/* Reads byte c (or, c < 0, the end of the text) as part of a multi-byte
 * character. */
static void part_step(dni__matcher_t *m, dni__output_t *o, int c)
{
    const unsigned char *p = (const unsigned char *)m->part;
    switch (m->part_kind) {
    case P_UTF8:
        if (p[0] == 0xC2 && c == 0xA0) {
            m->part[m->part_len++] = (char)c;
            part_done(m, o, 0xA0);
            return;
        }
        if (p[0] == 0xE2 && m->part_len == 1 && c == 0x80) {
            m->part[m->part_len++] = (char)c;
            return;
        }
        if (p[0] == 0xE2 && m->part_len == 2 && c >= 0x90 && c <= 0x93) {
            m->part[m->part_len++] = (char)c;
            part_done(m, o, 0x2010u + (unsigned)(c - 0x90));
            return;
        }
        break;
    case P_AMP:
        if (c == '#') {
            m->part[m->part_len++] = '#';
            m->part_kind = P_HASH;
            return;
        }
        if (name_first(c)) {
            m->part[m->part_len++] = (char)c;
            m->part_kind = P_NAME;
            return;
        }
        break;
    case P_HASH:
        if (c >= 0 && is_digit(c)) {
            m->part[m->part_len++] = (char)c;
            m->part_kind = P_DEC;
            m->ref_value = (uint32_t)(c - '0');
            return;
        }
        if (c == 'x' || c == 'X') {
            m->part[m->part_len++] = (char)c;
            m->part_kind = P_HASHX;
            return;
        }
        break;
    case P_HASHX:
        if (c >= 0 && is_hex(c)) {
            m->part[m->part_len++] = (char)c;
            m->part_kind = P_HEX;
            m->ref_value = (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
            return;
        }
        break;
    case P_DEC:
    case P_HEX: {
        int dec = m->part_kind == P_DEC;
        if (c >= 0 && (dec ? is_digit(c) : is_hex(c))) {
            uint32_t d = (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
            uint32_t v = m->ref_value * (dec ? 10u : 16u) + d;
            m->ref_value = m->ref_value > 0x110000 ? 0x110000 : v;
            if (m->part_len + 2u > sizeof m->part) {
                /* Too long to keep: no separator has this many digits
                 * (bar leading zeros). One character, written now. */
                m->part[m->part_len++] = (char)c;
                part_done(m, o, 0xFFFD);
                m->part_kind = P_SKIP;
                return;
            }
            m->part[m->part_len++] = (char)c;
            return;
        }
        uint32_t v = m->ref_value;
        if (c == ';') {
            m->part[m->part_len++] = ';';
            part_done(m, o, v);
            return;
        }
        part_done(m, o, v);
        if (c >= 0)
            byte_char(m, o, (unsigned char)c);
        return;
    }
    case P_SKIP: {
        char b = (char)c;
        if (c >= 0 && (is_hex(c) || c == ';')) {
            if (in_run(m) || m->pend_len)
                hold(m, o, &b, 1);
            else
                dni__out_emit(o, &b, 1);
            if (c == ';')
                m->part_kind = P_NONE;
            return;
        }
        m->part_kind = P_NONE;
        if (c >= 0)
            byte_char(m, o, (unsigned char)c);
        return;
    }
    case P_NAME: {
        /* ref_value: the table entry the name so far is, or -1. */
        int exact = m->part_len == 2 ? -1 : (int)m->ref_value;
        if (c >= 0 && is_alnum(c) && m->part_len + 2u <= sizeof m->part) {
            m->part[m->part_len] = (char)c;
            int longer;
            int e = find_name(m->part + 1, m->part_len, &longer);
            if (e >= 0 || longer) {
                m->part_len++;
                m->ref_value = (uint32_t)e;
                return;
            }
        }
        if (exact >= 0 && c == ';') {
            m->part[m->part_len++] = ';';
            part_done(m, o, names[exact].cp ? names[exact].cp : 0xFFFD);
            return;
        }
        if (exact >= 0 && names[exact].legacy) {
            part_done(m, o, names[exact].cp ? names[exact].cp : 0xFFFD);
            if (c >= 0)
                byte_char(m, o, (unsigned char)c);
            return;
        }
        break;
    }
    default:
        break;
    }
    part_fail(m, o);
    if (c >= 0)
        byte_char(m, o, (unsigned char)c);
}

/* Reads byte c when no multi-byte character is open. */
static void byte_char(dni__matcher_t *m, dni__output_t *o, unsigned char c)
{
    char b = (char)c;
    if (is_digit(c)) {
        on_digit(m, o, b, 0, 1);
        return;
    }
    switch (c) {
    case ' ':
    case '/':
    case ')':
        on_sep(m, o, &b, 1, 0);
        return;
    case '-':
    case '.':
        on_sep(m, o, &b, 1, F_HYPHEN);
        return;
    case '(':
        on_sep(m, o, &b, 1, F_PAREN);
        return;
    case '+':
        on_other(m, o, &b, 1, F_PLUS);
        return;
    case '&':
    case 0xC2:
    case 0xE2:
        m->part_kind = c == '&' ? P_AMP : P_UTF8;
        m->part[0] = b;
        m->part_len = 1;
        return;
    default:
        on_other(m, o, &b, 1, 0);
        return;
    }
}

void dni__match_byte(dni__matcher_t *m, dni__output_t *o, unsigned char c,
                     int ctx, int in_tag)
{
    m->ctx = (uint8_t)ctx;
    m->in_tag = (uint8_t)in_tag;
    if (m->part_kind)
        part_step(m, o, c);
    else
        byte_char(m, o, c);
    update_state(m);
}

const unsigned char *dni__match_span(dni__matcher_t *m, dni__output_t *o,
                                     const unsigned char *p,
                                     const unsigned char *end,
                                     unsigned char stop, int ctx, int in_tag)
{
    m->ctx = (uint8_t)ctx;
    m->in_tag = (uint8_t)in_tag;
    do {
        unsigned char c = *p;
        if (m->part_kind) {
            part_step(m, o, c);
            p++;
        } else if (is_digit(c)) {
            /* A digit group at once (the stop byte is no digit). */
            const unsigned char *q = p + 1;
            while (q < end && is_digit(*q))
                q++;
            on_digits(m, o, p, (size_t)(q - p));
            p = q;
        } else {
            byte_char(m, o, c);
            p++;
        }
        update_state(m);
    } while (p < end && *p != stop && m->state != M_IDLE);
    return p;
}

void dni__match_end(dni__matcher_t *m, dni__output_t *o, int in_tag)
{
    m->in_tag = (uint8_t)in_tag;
    while (m->part_kind)
        part_step(m, o, -1);
    if (in_run(m))
        end_run(m, o);
    else
        drop_prefix(m, o);
    m->prev = C_NONE;
    update_state(m);
}

/* ---- inline tags ----------------------------------------------------- */

int dni__match_tag_open(dni__matcher_t *m, dni__output_t *o)
{
    while (m->part_kind)
        part_step(m, o, -1);
    if (!in_run(m))
        drop_prefix(m, o);
    m->prefix = 0; /* a prefix stands directly before its digit */
    update_state(m);
    return in_run(m);
}

/*
 * An inline tag that cannot be held (one too many, or too long for what
 * is left of the hold) ends the number before it, exactly as when its
 * bytes arrive one by one: the room for a tag is counted after compact(),
 * whichever way the tag arrives, so the outcome never depends on chunking.
 */
int dni__match_tag(dni__matcher_t *m, dni__output_t *o, const char *p,
                   size_t n)
{
    if (m->ntags == DNI__MAX_TAGS)
        return 0;
    compact(m, o);
    if ((size_t)m->pend_len + n > DNI__PEND_MAX)
        return 0;
    m->tag_at[m->ntags] = m->pend_len;
    m->tag_len[m->ntags++] = (uint16_t)n;
    memcpy(m->pend + m->pend_len, p, n);
    m->pend_len = (uint16_t)(m->pend_len + n);
    return 1;
}

int dni__match_tag_add(dni__matcher_t *m, dni__output_t *o, const char *p,
                       size_t n)
{
    if (!m->gathering) {
        /* Room is made only before the gathering starts: what is
         * gathered must not be written before it is read. */
        if (m->ntags == DNI__MAX_TAGS)
            return 0;
        compact(m, o);
        if ((size_t)m->pend_len + n > DNI__PEND_MAX)
            return 0;
        m->gathering = 1;
        m->gather_at = m->pend_len;
    }
    if ((size_t)m->pend_len + n > DNI__PEND_MAX)
        return 0;
    memcpy(m->pend + m->pend_len, p, n);
    m->pend_len = (uint16_t)(m->pend_len + n);
    return 1;
}

const char *dni__match_tag_bytes(const dni__matcher_t *m, size_t *n)
{
    *n = (size_t)m->pend_len - m->gather_at;
    return m->pend + m->gather_at;
}

void dni__match_tag_keep(dni__matcher_t *m, dni__output_t *o)
{
    m->gathering = 0;
    if (m->ntags == DNI__MAX_TAGS) {
        /* Too many tags: the run keeps going, nothing held can match. */
        give_up(m, o);
        return;
    }
    m->tag_at[m->ntags] = m->gather_at;
    m->tag_len[m->ntags++] = (uint16_t)(m->pend_len - m->gather_at);
}

size_t dni__match_tag_take(dni__matcher_t *m, dni__output_t *o, char *buf)
{
    size_t n = (size_t)m->pend_len - m->gather_at;
    memcpy(buf, m->pend + m->gather_at, n);
    m->pend_len = m->gather_at;
    m->gathering = 0;
    dni__match_end(m, o, 0);
    return n;
}
