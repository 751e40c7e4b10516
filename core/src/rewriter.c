/*
 * rewriter.c - the streaming HTML tokenizer that decides where numbers may
 * be swapped, and hands those bytes to the matcher (match.c).
 *
 * The tokenizer follows the HTML standard's tokenizer states closely enough
 * to see text, tags, attributes, comments, doctypes, CDATA and raw text
 * exactly where a browser does, and nothing more: it builds no tokens and
 * copies nothing. Input bytes that are not part of a possible number pass
 * to the sink straight from the caller's chunk. All state lives in the
 * rewriter, so a chunk may end anywhere, even inside "</scr".
 *
 * Content models: <title> is RCDATA whose text is swapped; <textarea> is
 * RCDATA left alone; <style>, <xmp>, <iframe>, <noembed>, <noframes> are
 * raw text; <script> has the standard's script states (its "<!--" escapes
 * included); <plaintext> runs to the end. <noscript> is parsed as markup,
 * as a browser without JavaScript parses it, so its links are swapped.
 * Inside <svg> and <math> (counted by depth) those elements are ordinary
 * and <![CDATA[ ... ]]> is a CDATA section.
 */
#include <string.h>

#include "core_internal.h"
#include "rewriter_internal.h"

enum state {
    S_DATA,
    S_TAG_OPEN,
    S_END_TAG_OPEN,
    S_TAG_NAME,
    S_BEFORE_ATTR_NAME,
    S_ATTR_NAME,
    S_AFTER_ATTR_NAME,
    S_BEFORE_ATTR_VALUE,
    S_ATTR_VALUE_DQ,
    S_ATTR_VALUE_SQ,
    S_ATTR_VALUE_UQ,
    S_AFTER_ATTR_VALUE,
    S_SELF_CLOSING,
    S_MARKUP_DECL,
    S_COMMENT_START,
    S_COMMENT_START_DASH,
    S_COMMENT,
    S_COMMENT_END_DASH,
    S_COMMENT_END,
    S_COMMENT_END_BANG,
    S_BOGUS_COMMENT,
    S_DOCTYPE,
    S_CDATA,
    S_CDATA_BRACKET,
    S_CDATA_END,
    S_RCDATA,
    S_RAWTEXT,
    S_PLAINTEXT,
    S_TEXT_LT,       /* "<" in RCDATA or RAWTEXT */
    S_END_OPEN,      /* "</" in RCDATA, RAWTEXT, script or escaped script */
    S_END_NAME,      /* "</name" there: the appropriate end tag? */
    S_SCRIPT,
    S_SCRIPT_LT,
    S_SCRIPT_ESC_START,
    S_SCRIPT_ESC_START_DASH,
    /* The standard's "script data escaped" states; script_double says
     * whether they are its "double escaped" twins, which differ only at
     * "<" and in what the tag name read there toggles. */
    S_SCRIPT_ESC,
    S_SCRIPT_ESC_DASH,
    S_SCRIPT_ESC_DASH_DASH,
    S_SCRIPT_ESC_LT,
    S_SCRIPT_ESC_NAME, /* "<name" (or "</name" when double): "script"? */
    S_HELD_TAG /* a tag inside a number, cut by the chunk's end: gathered
                  in the matcher until its '>' */
};

/* What an attribute's value is to the rewriter. */
enum value_mode {
    V_OPAQUE, /* never swapped */
    V_TEXT,   /* title, alt, aria-label */
    V_SCHEME, /* an href: reading its scheme */
    V_HREF    /* an href with a tel: or callto: scheme */
};

/* Names are kept lower-cased up to this length; longer ones are compared
 * on this prefix and their full length. */
#define NAME_MAX 64
#define SHORT_NAME_MAX 16

typedef struct name_buf {
    size_t len; /* full length, may exceed the bytes kept */
    char s[NAME_MAX];
} name_buf_t;

struct dni_rewriter {
    dni_allocator_t alloc;
    dni_ruleset_t rules;
    dni__output_t out;
    dni__matcher_t match;
    int finished;
    enum state state;

    /* The tag being read. */
    int tag_is_end;
    int tag_self_closing;
    int tag_has_skip;
    int tag_cut; /* tag_fast stopped at the chunk's end */
    name_buf_t tag;
    char attr[SHORT_NAME_MAX];
    size_t attr_len;
    enum value_mode value;
    size_t scheme_len; /* bytes of the href scheme read */
    int scheme;        /* which scheme those bytes began, once known */

    /* Text content after the last start tag. */
    enum state content; /* S_DATA, S_RCDATA, S_RAWTEXT or S_SCRIPT */
    int content_swaps;  /* RCDATA of a <title> outside skipped subtrees */
    name_buf_t raw;     /* the element whose end tag ends raw text */
    enum state end_return; /* where a non-matching "</name" goes back to */
    name_buf_t tmp;        /* end tag name or "script" being read */
    char decl[8];          /* after "<!": "--", "DOCTYPE" or "[CDATA[" */
    size_t decl_len;

    /* Subtrees. */
    uint32_t skip_depth; /* open elements named skip.s since data-dni-skip */
    name_buf_t skip;
    uint32_t foreign_depth; /* open <svg> and <math> elements */
    int script_double;      /* the escaped script states are double escaped */

    /* The head insert (dni_rewriter_set_head), until it is written. */
    struct {
        int phase;            /* HEAD_* below */
        int feeding;          /* head_feed is feeding the tokenizer */
        int written;
        const char *p;        /* the caller's bytes */
        size_t n;
        uint64_t seen;        /* bytes fed while seeking */
        size_t hold_len;      /* a tag start held until it is known */
        unsigned char hold[8];
    } head;
};

/* Where the head insert stands; HEAD_NONE is the zeroed state of a new
 * document. */
enum { HEAD_NONE, HEAD_DONE, HEAD_SEEK, HEAD_OPEN };
static int head_feed(dni_rewriter_t *rw, const char *data, size_t n);
static void head_finish(dni_rewriter_t *rw);
static void head_write(dni_rewriter_t *rw);


/* ---- scanning -------------------------------------------------------- */

/*
 * Skips bytes that cannot start anything in swappable text: returns the
 * first byte that is a digit, '+', '(', '&' or `stop`, or end. The vector path
 * looks at 16 bytes at a time; the scalar loop is the reference and also
 * finishes the tail.
 */
#if (defined(__SSE2__) || defined(__wasm_simd128__)) && !defined(DNI_NO_SIMD)
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#else
#include <emmintrin.h>
#endif
typedef unsigned char dni__v16 __attribute__((vector_size(16)));

/* One bit per lane of a compare result (lanes are 0x00 or 0xff), lane i
 * in bit i: a single instruction on both targets. */
#if defined(__wasm_simd128__)
static unsigned lane_mask(dni__v16 hit)
{
    v128_t v;
    memcpy(&v, &hit, 16);
    return (unsigned)wasm_i8x16_bitmask(v);
}
#else
static unsigned lane_mask(dni__v16 hit)
{
    __m128i v;
    memcpy(&v, &hit, 16);
    return (unsigned)_mm_movemask_epi8(v);
}
#endif

/* The first of the 16 bytes at p whose lane in `hit` is set, or NULL. */
static const unsigned char *first_hit(const unsigned char *p, dni__v16 hit)
{
    unsigned mask = lane_mask(hit);
    return mask != 0 ? p + __builtin_ctz(mask) : NULL;
}

static const unsigned char *scan_text(const unsigned char *p,
                                      const unsigned char *end,
                                      unsigned char stop)
{
    while (end - p >= 16) {
        dni__v16 v;
        memcpy(&v, p, 16);
        dni__v16 hit = (dni__v16)((dni__v16)(v - (unsigned char)'0') <
                                  (unsigned char)10) |
                       (dni__v16)(v == stop) |
                       (dni__v16)(v == (unsigned char)'+') |
                       (dni__v16)(v == (unsigned char)'(') |
                       (dni__v16)(v == (unsigned char)'&');
        const unsigned char *at = first_hit(p, hit);
        if (at != NULL)
            return at;
        p += 16;
    }
    for (; p < end; p++) {
        unsigned char c = *p;
        if ((unsigned char)(c - '0') < 10 || c == stop || c == '+' ||
            c == '(' || c == '&')
            return p;
    }
    return end;
}

/* Whether p[0..end) holds an ASCII digit. */
static int has_digit(const unsigned char *p, const unsigned char *end)
{
    while (end - p >= 16) {
        dni__v16 v;
        memcpy(&v, p, 16);
        if (lane_mask((dni__v16)((dni__v16)(v - (unsigned char)'0') <
                                 (unsigned char)10)) != 0)
            return 1;
        p += 16;
    }
    for (; p < end; p++)
        if ((unsigned char)(*p - '0') < 10)
            return 1;
    return 0;
}

/* First byte that is at most ' ' or is '>' (a possible end of an unquoted
 * attribute value), or end. */
static const unsigned char *scan_unquoted(const unsigned char *p,
                                          const unsigned char *end)
{
    while (end - p >= 16) {
        dni__v16 v;
        memcpy(&v, p, 16);
        dni__v16 hit = (dni__v16)(v <= (unsigned char)' ') |
                       (dni__v16)(v == (unsigned char)'>');
        const unsigned char *at = first_hit(p, hit);
        if (at != NULL)
            return at;
        p += 16;
    }
    while (p < end && *p > ' ' && *p != '>')
        p++;
    return p;
}

/* First byte equal to c, or end. The C library's memchr is a word-at-a-
 * time loop in WebAssembly; this is the same 16-byte scan as above. */
static const unsigned char *find_byte(const unsigned char *p,
                                      const unsigned char *end,
                                      unsigned char c)
{
    while (end - p >= 16) {
        dni__v16 v;
        memcpy(&v, p, 16);
        const unsigned char *at = first_hit(p, (dni__v16)(v == c));
        if (at != NULL)
            return at;
        p += 16;
    }
    while (p < end && *p != c)
        p++;
    return p;
}
#else
static const unsigned char *scan_text(const unsigned char *p,
                                      const unsigned char *end,
                                      unsigned char stop)
{
    for (; p < end; p++) {
        unsigned char c = *p;
        if ((unsigned char)(c - '0') < 10 || c == stop || c == '+' ||
            c == '(' || c == '&')
            return p;
    }
    return end;
}
static int has_digit(const unsigned char *p, const unsigned char *end)
{
    for (; p < end; p++)
        if ((unsigned char)(*p - '0') < 10)
            return 1;
    return 0;
}
static const unsigned char *scan_unquoted(const unsigned char *p,
                                          const unsigned char *end)
{
    while (p < end && *p > ' ' && *p != '>')
        p++;
    return p;
}
static const unsigned char *find_byte(const unsigned char *p,
                                      const unsigned char *end,
                                      unsigned char c)
{
    const unsigned char *q = memchr(p, c, (size_t)(end - p));
    return q ? q : end;
}
#endif


/* First '-' or '<' (escaped script text), or end. */
static const unsigned char *find_dash_or_lt(const unsigned char *p,
                                            const unsigned char *end)
{
    for (; p < end; p++) {
        if (*p == '-' || *p == '<')
            return p;
    }
    return end;
}

/* ---- names ----------------------------------------------------------- */

static int is_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static void name_push(name_buf_t *n, unsigned char c)
{
    if (n->len < NAME_MAX)
        n->s[n->len] = (char)lower(c);
    n->len++;
}

static int name_is(const name_buf_t *n, const char *s)
{
    size_t len = strlen(s);
    return n->len == len && memcmp(n->s, s, len) == 0;
}

static int name_eq(const name_buf_t *a, const name_buf_t *b)
{
    size_t kept = a->len < NAME_MAX ? a->len : NAME_MAX;
    return a->len == b->len && memcmp(a->s, b->s, kept) == 0;
}

/* What the tokenizer needs to know of an element by its name. */
enum tag_kind {
    T_OTHER,
    T_VOID,      /* no content, no end tag */
    T_FOREIGN,   /* <svg>, <math> */
    T_TITLE,     /* RCDATA, swapped */
    T_TEXTAREA,  /* RCDATA, left alone */
    T_RAWTEXT,   /* <style>, <xmp>, <iframe>, <noembed>, <noframes> */
    T_SCRIPT,
    T_PLAINTEXT
};

/* Classifies a lower-cased tag name. Called once per tag, so it switches
 * on the length before comparing any bytes. */
static enum tag_kind classify_tag(const name_buf_t *n)
{
    const char *s = n->s;
#define IS(lit) (memcmp(s, lit, sizeof(lit) - 1) == 0)
    switch (n->len) {
    case 2:
        return (IS("br") || IS("hr")) ? T_VOID : T_OTHER;
    case 3:
        if (IS("img") || IS("col") || IS("wbr"))
            return T_VOID;
        if (IS("svg"))
            return T_FOREIGN;
        return IS("xmp") ? T_RAWTEXT : T_OTHER;
    case 4:
        if (IS("meta") || IS("link") || IS("area") || IS("base"))
            return T_VOID;
        return IS("math") ? T_FOREIGN : T_OTHER;
    case 5:
        if (IS("input") || IS("embed") || IS("track"))
            return T_VOID;
        if (IS("title"))
            return T_TITLE;
        return IS("style") ? T_RAWTEXT : T_OTHER;
    case 6:
        if (IS("source"))
            return T_VOID;
        if (IS("script"))
            return T_SCRIPT;
        return IS("iframe") ? T_RAWTEXT : T_OTHER;
    case 7:
        return IS("noembed") ? T_RAWTEXT : T_OTHER;
    case 8:
        if (IS("textarea"))
            return T_TEXTAREA;
        return IS("noframes") ? T_RAWTEXT : T_OTHER;
    case 9:
        return IS("plaintext") ? T_PLAINTEXT : T_OTHER;
    default:
        return T_OTHER;
    }
#undef IS
}

/* ---- tags ------------------------------------------------------------ */

static void tag_begin(dni_rewriter_t *rw, int is_end)
{
    rw->tag_is_end = is_end;
    rw->tag_self_closing = 0;
    rw->tag_has_skip = 0;
    rw->tag.len = 0;
}

/* The attribute name is complete: note data-dni-skip, pick the value mode. */
static void attr_end(dni_rewriter_t *rw)
{
    const char *a = rw->attr;
    rw->value = V_OPAQUE;
    if (rw->tag_is_end)
        return;
    switch (rw->attr_len) {
    case 13:
        if (memcmp(a, "data-dni-skip", 13) == 0)
            rw->tag_has_skip = 1;
        return;
    case 3:
    case 5:
    case 10:
        if (rw->skip_depth == 0 && !rw->tag_has_skip &&
            (rw->attr_len == 3    ? memcmp(a, "alt", 3) == 0
             : rw->attr_len == 5 ? memcmp(a, "title", 5) == 0
                                 : memcmp(a, "aria-label", 10) == 0))
            rw->value = V_TEXT;
        return;
    case 4:
        if (rw->skip_depth == 0 && !rw->tag_has_skip &&
            memcmp(a, "href", 4) == 0)
            rw->value = V_SCHEME;
        return;
    default:
        return;
    }
}

static void attr_begin(dni_rewriter_t *rw)
{
    rw->attr_len = 0;
    rw->value = V_OPAQUE;
}

static void attr_push(dni_rewriter_t *rw, unsigned char c)
{
    if (rw->attr_len < SHORT_NAME_MAX)
        rw->attr[rw->attr_len] = (char)lower(c);
    if (rw->attr_len <= SHORT_NAME_MAX)
        rw->attr_len++;
}

/* Reads one byte of an href's scheme: "tel:" or "callto:" (any case) after
 * optional leading blanks switches the value to swappable; anything else
 * makes it opaque for good. */
static void scheme_byte(dni_rewriter_t *rw, unsigned char c)
{
    static const char *const schemes[] = {"tel:", "callto:"};
    if (rw->scheme_len == 0 && is_space(c))
        return;
    unsigned char lc = lower(c);
    if (rw->scheme_len == 0)
        rw->scheme = lc == 't' ? 0 : 1; /* the schemes' first letters differ */
    const char *s = schemes[rw->scheme];
    if ((unsigned char)s[rw->scheme_len] != lc) {
        rw->value = V_OPAQUE;
        return;
    }
    rw->scheme_len++;
    if (s[rw->scheme_len] == '\0')
        rw->value = V_HREF;
}

/* The tag ends at '>': update subtree depths and the content model. */
static void tag_emit(dni_rewriter_t *rw)
{
    const name_buf_t *t = &rw->tag;
    rw->state = S_DATA;
    rw->content = S_DATA;
    rw->content_swaps = 0;
    if (rw->tag_is_end) {
        /* Most end tags change nothing; only look at the name if they may. */
        if (rw->skip_depth > 0 && name_eq(t, &rw->skip))
            rw->skip_depth--;
        if (rw->foreign_depth > 0 && classify_tag(t) == T_FOREIGN)
            rw->foreign_depth--;
        return;
    }
    enum tag_kind kind = classify_tag(t);

    int foreign = rw->foreign_depth > 0 || kind == T_FOREIGN;
    int has_content = kind != T_VOID && !(rw->tag_self_closing && foreign);
    if (rw->skip_depth > 0) {
        if (has_content && name_eq(t, &rw->skip))
            rw->skip_depth++;
    } else if (has_content &&
               (rw->tag_has_skip ||
                (rw->foreign_depth > 0 &&
                 (kind == T_SCRIPT || kind == T_RAWTEXT)))) {
        /* A skipped subtree; inside <svg>/<math> a <script> or <style> is
         * tokenized as ordinary markup, but it is still code, so its text
         * is skipped the same way. */
        rw->skip_depth = 1;
        rw->skip = *t;
    }
    if (kind == T_FOREIGN && has_content)
        rw->foreign_depth++;
    if (rw->foreign_depth > 0)
        return;

    enum state content;
    switch (kind) {
    case T_TITLE:
        content = S_RCDATA;
        rw->content_swaps = rw->skip_depth == 0;
        break;
    case T_TEXTAREA:
        content = S_RCDATA;
        break;
    case T_RAWTEXT:
        content = S_RAWTEXT;
        break;
    case T_SCRIPT:
        content = S_SCRIPT;
        break;
    case T_PLAINTEXT:
        content = S_PLAINTEXT;
        break;
    default:
        return;
    }
    rw->raw = *t;
    rw->content = content == S_PLAINTEXT ? S_DATA : content;
    rw->state = content;
}

/* ---- whole tags in one pass ------------------------------------------ */

/*
 * Whether the state machine could write anything different for this
 * attribute value: a text attribute (title, alt, aria-label) holding a
 * digit (without one it holds no number), or an href whose scheme is
 * tel: or callto:. Uses the machine's own scheme reader, so the answer is the
 * machine's.
 */
static int value_needs_machine(dni_rewriter_t *rw, const unsigned char *v,
                               const unsigned char *v_end)
{
    if (rw->value == V_TEXT)
        return has_digit(v, v_end);
    if (rw->value != V_SCHEME)
        return 0;
    rw->scheme_len = 0;
    for (; v < v_end && rw->value == V_SCHEME; v++)
        scheme_byte(rw, *v);
    return rw->value == V_HREF;
}

/* Bytes that end a name: bit NAME_TAG a tag name, bit NAME_ATTR an
 * attribute name (which '=' also ends). One load and a mask per byte. */
enum { NAME_TAG = 1, NAME_ATTR = 2 };
static const unsigned char name_end[256] = {
    [' '] = NAME_TAG | NAME_ATTR,  ['\t'] = NAME_TAG | NAME_ATTR,
    ['\n'] = NAME_TAG | NAME_ATTR, ['\f'] = NAME_TAG | NAME_ATTR,
    ['\r'] = NAME_TAG | NAME_ATTR, ['/'] = NAME_TAG | NAME_ATTR,
    ['>'] = NAME_TAG | NAME_ATTR,  ['='] = NAME_ATTR,
};

/* The end of an unquoted attribute value: the first blank or '>'. */
static const unsigned char *unquoted_end(const unsigned char *p,
                                         const unsigned char *end)
{
    while ((p = scan_unquoted(p, end)) < end && !is_space(*p) && *p != '>')
        p++; /* a control character: part of the value */
    return p;
}

/* The end of a name (kind: NAME_TAG or NAME_ATTR): the first byte
 * name_end marks for it, or end. */
static const unsigned char *name_stop(const unsigned char *p,
                                      const unsigned char *end, int kind)
{
    while (p < end && (name_end[*p] & kind) == 0)
        p++;
    return p;
}

/* Keeps an attribute name read whole, as attr_push would have byte by
 * byte. */
static void attr_set(dni_rewriter_t *rw, const unsigned char *s, size_t len)
{
    size_t kept = len < SHORT_NAME_MAX ? len : SHORT_NAME_MAX;
    for (size_t i = 0; i < kept; i++)
        rw->attr[i] = (char)lower(s[i]);
    rw->attr_len = len <= SHORT_NAME_MAX ? len : SHORT_NAME_MAX + 1;
}

/* Keeps a name read whole, as name_push would have byte by byte. */
static void name_set(name_buf_t *n, const unsigned char *s, size_t len)
{
    size_t kept = len < NAME_MAX ? len : NAME_MAX;
    for (size_t i = 0; i < kept; i++)
        n->s[i] = (char)lower(s[i]);
    n->len = len;
}

/*
 * Reads a whole tag that starts at p ('<') in one tight pass, when its '>'
 * is in this chunk and nothing in it can be swapped: most tags of a page.
 * Each step is marked with the tokenizer state of dni_rewriter_feed it
 * stands for and does what that state does, so the result is the same as
 * feeding the bytes through the machine; tag_emit is shared. (One loop
 * turn per attribute keeps the control flow structured, which WebAssembly
 * needs to run it fast.) Returns the byte after '>', or NULL (setting
 * tag_cut when the chunk ended first) when the machine must read
 * the tag instead (not complete in the chunk, "<!", "<?", or a value the
 * matcher must see); by then nothing the machine relies on has changed,
 * because it starts the tag afresh with tag_begin.
 */
static const unsigned char *tag_fast(dni_rewriter_t *rw,
                                     const unsigned char *p,
                                     const unsigned char *end)
{
#define CUT (rw->tag_cut = 1, (const unsigned char *)NULL)
    const unsigned char *q = p + 1;
    int is_end = q < end && *q == '/';
    if (is_end)
        q++;
    if (q >= end)
        return CUT;
    if (!is_alpha(*q) || rw->out.recording)
        return NULL;
    tag_begin(rw, is_end);
    const unsigned char *name = q;
    q = name_stop(q, end, NAME_TAG);
    if (q == end)
        return CUT;
    name_set(&rw->tag, name, (size_t)(q - name));

    /* Each turn starts where "before attribute name" does: at a blank,
     * '/', '>' or the next attribute's name. */
    for (;;) {
        while (q < end && is_space(*q))
            q++;
        if (q == end)
            return CUT;
        if (*q == '>') {
            tag_emit(rw);
            return q + 1;
        }
        if (*q == '/') {
            /* "self-closing start tag": only "/>" is one; any other byte
             * is read again as before an attribute name. */
            if (++q == end)
                return CUT;
            if (*q == '>') {
                rw->tag_self_closing = 1;
                tag_emit(rw);
                return q + 1;
            }
            continue;
        }

        /* "attribute name": may begin with '='. */
        attr_begin(rw);
        name = q;
        if (*q == '=')
            q++;
        q = name_stop(q, end, NAME_ATTR);
        if (q == end)
            return CUT;
        attr_set(rw, name, (size_t)(q - name));
        attr_end(rw);

        /* "after attribute name": anything but '=' (a blank, '/', '>' or
         * the next name) is read again at the top. */
        while (q < end && is_space(*q))
            q++;
        if (q == end)
            return CUT;
        if (*q != '=')
            continue;
        q++;

        /* "before attribute value": '>' here is a missing value. */
        while (q < end && is_space(*q))
            q++;
        if (q == end)
            return CUT;
        if (*q == '>')
            continue;
        const unsigned char *v;
        if (*q == '"' || *q == '\'') {
            v = q + 1;
            q = find_byte(v, end, *q);
            if (q == end)
                return CUT;
            if (value_needs_machine(rw, v, q))
                return NULL;
            q++; /* "after attribute value (quoted)": as at the top */
        } else {
            v = q;
            q = unquoted_end(q, end);
            if (q == end)
                return CUT;
            if (value_needs_machine(rw, v, q))
                return NULL;
        }
    }
}
#undef CUT

/* ---- the public API -------------------------------------------------- */

size_t dni_rewriter_memory(void)
{
    return sizeof(dni_rewriter_t);
}

void dni_rewriter_reset(dni_rewriter_t *rw)
{
    dni__output_t out = rw->out;
    size_t head = offsetof(dni_rewriter_t, out);
    memset((char *)rw + head, 0, sizeof *rw - head);
    rw->out.sink = out.sink;
    rw->out.ud = out.ud;
    dni__match_init(&rw->match, &rw->rules);
    rw->state = S_DATA;
    rw->content = S_DATA;
}

int dni_rewriter_new(dni_rewriter_t **out, const dni_ruleset_t *rules,
                     dni_sink_fn sink, void *ud, const dni_allocator_t *alloc)
{
    if (out == NULL || rules == NULL || sink == NULL ||
        rules->count > DNI_MAX_RULES)
        return DNI_EINVAL;
    dni_allocator_t a = dni__allocator(alloc);
    dni_rewriter_t *rw = a.realloc_fn(a.ud, NULL, sizeof *rw);
    if (rw == NULL)
        return DNI_ENOMEM;
    memset(rw, 0, sizeof *rw);
    rw->alloc = a;
    rw->rules = *rules;
    rw->out.sink = sink;
    rw->out.ud = ud;
    dni_rewriter_reset(rw);
    *out = rw;
    return DNI_OK;
}

void dni_rewriter_free(dni_rewriter_t *rw)
{
    if (rw != NULL)
        rw->alloc.realloc_fn(rw->alloc.ud, rw, 0);
}

uint64_t dni_rewriter_swaps(const dni_rewriter_t *rw)
{
    return rw->out.swaps;
}

uint64_t dni_rewriter_rule_swaps(const dni_rewriter_t *rw, size_t rule)
{
    return rule < rw->rules.count ? rw->out.rule_swaps[rule] : 0;
}

/* Emits the pass-through bytes [*from, to) and moves *from to `to`. */
static void flush_range(dni_rewriter_t *rw, const unsigned char **from,
                        const unsigned char *to)
{
    dni__out_emit(&rw->out, (const char *)*from, (size_t)(to - *from));
    *from = to;
}

/* Leaves a swappable context (text or attribute value): decide and write
 * whatever candidate is held. */
static void text_end(dni_rewriter_t *rw, const unsigned char **from,
                     const unsigned char *at, int in_tag)
{
    if (!dni__match_idle(&rw->match)) {
        flush_range(rw, from, at);
        dni__match_end(&rw->match, &rw->out, in_tag);
    }
}

/* Starts reading "</name" in raw text, coming back to `ret` if it is not
 * the appropriate end tag. */
static void end_open(dni_rewriter_t *rw, enum state ret)
{
    rw->tmp.len = 0;
    rw->end_return = ret;
    rw->state = S_END_OPEN;
}

/* Phrasing elements a number may run through ("<b>800</b>-555-1234");
 * any other tag ends it. */
static int tag_is_inline(const name_buf_t *n)
{
    const char *s = n->s;
#define IS(lit) (memcmp(s, lit, sizeof(lit) - 1) == 0)
    switch (n->len) {
    case 1:
        return s[0] == 'a' || s[0] == 'b' || s[0] == 'i' || s[0] == 'q' ||
               s[0] == 's' || s[0] == 'u';
    case 2:
        return IS("em") || IS("tt");
    case 3:
        return IS("bdi") || IS("bdo") || IS("big") || IS("del") ||
               IS("dfn") || IS("ins") || IS("kbd") || IS("sub") ||
               IS("sup") || IS("var") || IS("wbr");
    case 4:
        return IS("abbr") || IS("cite") || IS("code") || IS("data") ||
               IS("font") || IS("mark") || IS("nobr") || IS("samp") ||
               IS("span") || IS("time");
    case 5:
        return IS("label") || IS("small");
    case 6:
        return IS("strike") || IS("strong");
    default:
        return 0;
    }
#undef IS
}

/* After a tag was read whole inside a number: whether the number runs on
 * through it (an inline element that leaves the text swappable). */
static int tag_continues_number(const dni_rewriter_t *rw)
{
    return rw->state == S_DATA && rw->skip_depth == 0 &&
           rw->foreign_depth == 0 && tag_is_inline(&rw->tag);
}

static void run(dni_rewriter_t *rw, const unsigned char *p,
                const unsigned char *end);

/* The tag being gathered in the matcher is not part of the number: the
 * number ends before it and the state machine reads its bytes. */
static void held_tag_to_machine(dni_rewriter_t *rw)
{
    char buf[DNI__PEND_MAX];
    size_t n = dni__match_tag_take(&rw->match, &rw->out, buf);
    rw->state = S_DATA;
    run(rw, (const unsigned char *)buf, (const unsigned char *)buf + n);
}

/*
 * '<' at p in swappable text of the data state while the matcher has a
 * run of digits open. An inline tag is held with the number; any other
 * tag, or markup that is no tag, ends it. Returns where reading goes on
 * and sets *from: after the tag (held, or passing through), p when the
 * state machine must read it, or end when the tag is cut by the chunk's
 * end and is being gathered (state S_HELD_TAG).
 */
static const unsigned char *tag_in_number(dni_rewriter_t *rw,
                                          const unsigned char *p,
                                          const unsigned char *end,
                                          const unsigned char **from)
{
    rw->tag_cut = 0;
    const unsigned char *after = tag_fast(rw, p, end);
    int cut = rw->tag_cut;
    if (after != NULL) {
        if (!tag_continues_number(rw) ||
            !dni__match_tag(&rw->match, &rw->out, (const char *)p,
                            (size_t)(after - p)))
            dni__match_end(&rw->match, &rw->out, 0);
        else
            *from = after; /* held */
        return after;
    }
    if (cut && dni__match_tag_add(&rw->match, &rw->out, (const char *)p,
                                  (size_t)(end - p))) {
        rw->state = S_HELD_TAG;
        *from = end;
        return end;
    }
    dni__match_end(&rw->match, &rw->out, 0);
    return NULL;
}

int dni_rewriter_feed(dni_rewriter_t *rw, const char *data, size_t n)
{
    if (rw->finished || rw->out.failed)
        return DNI_EPOISONED;
    if (n == 0)
        return DNI_OK;
    if (rw->head.phase != HEAD_DONE && !rw->head.feeding)
        return head_feed(rw, data, n);
    run(rw, (const unsigned char *)data, (const unsigned char *)data + n);
    return rw->out.failed ? DNI_EPOISONED : DNI_OK;
}

/* The tokenizer over p[0..end): the body of dni_rewriter_feed. */
static void run(dni_rewriter_t *rw, const unsigned char *p,
                const unsigned char *end)
{
    const unsigned char *from = p; /* start of bytes not yet written */

    while (p < end) {
        unsigned char c = *p;
        switch (rw->state) {
        case S_DATA:
        case S_RCDATA:
            if (rw->state == S_DATA ? rw->skip_depth == 0
                                    : rw->content_swaps) {
            swappable_text:
                if (dni__match_idle(&rw->match)) {
                    p = scan_text(p, end, '<');
                    if (p == end)
                        break;
                    c = *p;
                    if (c == '<') {
                        /* a tag, the most common stop: tested first */
                    } else if ((unsigned char)(c - '0') < 10) {
                        const unsigned char *q =
                            dni__match_skip_group(&rw->match, p, end);
                        if (q != p) {
                            p = q; /* "2024 ", "7.1": no number begins */
                            goto swappable_text;
                        }
                    } else if (c == '&') {
                        if (p + 1 < end && !dni__match_amp_matters(p[1])) {
                            p++; /* "&amp;", "&lt;": no digits in it */
                            goto swappable_text;
                        }
                    } else if (dni__match_prefix_skips(p, end)) {
                        p++;
                        goto swappable_text;
                    }
                }
                if (c == '<') {
                    if (!dni__match_idle(&rw->match)) {
                        flush_range(rw, &from, p);
                        if (rw->state == S_DATA &&
                            dni__match_tag_open(&rw->match, &rw->out)) {
                            const unsigned char *after =
                                tag_in_number(rw, p, end, &from);
                            if (after != NULL) {
                                p = after;
                                break;
                            }
                        }
                    }
                    text_end(rw, &from, p, 0);
                    if (rw->state == S_DATA) {
                        const unsigned char *after = tag_fast(rw, p, end);
                        if (after != NULL) {
                            p = after;
                            /* Most tags lead back to swappable text: stay
                             * here rather than go round the dispatch. */
                            if (p < end && rw->state == S_DATA &&
                                rw->skip_depth == 0) {
                                c = *p;
                                goto swappable_text;
                            }
                            break;
                        }
                    }
                    rw->state = rw->state == S_DATA ? S_TAG_OPEN : S_TEXT_LT;
                    p++;
                    break;
                }
                flush_range(rw, &from, p);
                p = dni__match_span(&rw->match, &rw->out, p, end, '<',
                                    DNI__CTX_TEXT, 0);
                from = p;
                break;
            }
            p = find_byte(p, end, '<');
            if (p < end) {
                const unsigned char *after =
                    rw->state == S_DATA ? tag_fast(rw, p, end) : NULL;
                if (after != NULL) {
                    p = after;
                    break;
                }
                rw->state = rw->state == S_DATA ? S_TAG_OPEN : S_TEXT_LT;
                p++;
            }
            break;

        case S_RAWTEXT:
            p = find_byte(p, end, '<');
            if (p < end) {
                rw->state = S_TEXT_LT;
                p++;
            }
            break;

        case S_PLAINTEXT:
            p = end;
            break;

        case S_HELD_TAG: {
            const unsigned char *gt = find_byte(p, end, '>');
            const unsigned char *stop = gt < end ? gt + 1 : end;
            if (!dni__match_tag_add(&rw->match, &rw->out, (const char *)p,
                                    (size_t)(stop - p))) {
                /* Too long to hold: the machine reads what was gathered,
                 * then goes on here. */
                held_tag_to_machine(rw);
                break;
            }
            from = p = stop;
            if (gt == end)
                break;
            size_t tn;
            const unsigned char *t = (const unsigned char *)
                dni__match_tag_bytes(&rw->match, &tn);
            rw->tag_cut = 0;
            const unsigned char *after = tag_fast(rw, t, t + tn);
            if (after == NULL && rw->tag_cut)
                break; /* that '>' was inside a quoted value */
            if (after == NULL) {
                held_tag_to_machine(rw);
            } else {
                dni__match_tag_keep(&rw->match, &rw->out);
                if (!tag_continues_number(rw))
                    dni__match_end(&rw->match, &rw->out, 0);
            }
            break;
        }

        case S_TAG_OPEN:
            if (c == '!') {
                rw->decl_len = 0;
                rw->state = S_MARKUP_DECL;
                p++;
            } else if (c == '/') {
                rw->state = S_END_TAG_OPEN;
                p++;
            } else if (is_alpha(c)) {
                tag_begin(rw, 0);
                rw->state = S_TAG_NAME;
            } else if (c == '?') {
                rw->state = S_BOGUS_COMMENT;
            } else {
                rw->state = S_DATA; /* "<" was text */
            }
            break;

        case S_END_TAG_OPEN:
            if (is_alpha(c)) {
                tag_begin(rw, 1);
                rw->state = S_TAG_NAME;
            } else if (c == '>') {
                rw->state = S_DATA;
                p++;
            } else {
                rw->state = S_BOGUS_COMMENT;
            }
            break;

        case S_TAG_NAME:
            for (; p < end; p++) {
                c = *p;
                if (is_space(c) || c == '/' || c == '>')
                    break;
                name_push(&rw->tag, c);
            }
            if (p == end)
                break;
            if (c == '>') {
                tag_emit(rw);
            } else {
                rw->state = c == '/' ? S_SELF_CLOSING : S_BEFORE_ATTR_NAME;
            }
            p++;
            break;

        case S_BEFORE_ATTR_NAME:
            /* The common path through a tag (blank, name, "=", value) runs
             * without going back to the state dispatch. */
            while (p < end && is_space(*p))
                p++;
            if (p == end)
                break;
            c = *p;
            if (c == '/' || c == '>') {
                rw->state = S_AFTER_ATTR_NAME;
                break;
            }
            attr_begin(rw);
            if (c == '=') {
                attr_push(rw, c);
                p++;
            }
            rw->state = S_ATTR_NAME;
            /* fall through */
        case S_ATTR_NAME:
            for (; p < end; p++) {
                c = *p;
                if (is_space(c) || c == '/' || c == '>' || c == '=')
                    break;
                attr_push(rw, c);
            }
            if (p == end)
                break;
            attr_end(rw);
            if (c != '=') {
                rw->state = S_AFTER_ATTR_NAME;
                break;
            }
            rw->state = S_BEFORE_ATTR_VALUE;
            if (++p == end)
                break;
            c = *p;
            /* fall through */
        case S_BEFORE_ATTR_VALUE:
            if (is_space(c)) {
                p++;
                break;
            }
            rw->scheme_len = 0;
            if (c == '"') {
                rw->state = S_ATTR_VALUE_DQ;
                p++;
            } else if (c == '\'') {
                rw->state = S_ATTR_VALUE_SQ;
                p++;
            } else if (c == '>') {
                rw->state = S_AFTER_ATTR_NAME; /* missing value */
            } else {
                rw->state = S_ATTR_VALUE_UQ;
            }
            break;

        case S_AFTER_ATTR_NAME:
            if (is_space(c)) {
                p++;
            } else if (c == '/') {
                rw->state = S_SELF_CLOSING;
                p++;
            } else if (c == '=') {
                rw->state = S_BEFORE_ATTR_VALUE;
                p++;
            } else if (c == '>') {
                if (rw->out.recording) {
                    flush_range(rw, &from, p);
                    dni__out_record_end(&rw->out, rw->tag_has_skip);
                }
                tag_emit(rw);
                p++;
            } else {
                attr_begin(rw);
                rw->state = S_ATTR_NAME;
            }
            break;

        case S_ATTR_VALUE_DQ:
        case S_ATTR_VALUE_SQ:
        case S_ATTR_VALUE_UQ: {
            unsigned char quote = rw->state == S_ATTR_VALUE_DQ   ? '"'
                                  : rw->state == S_ATTR_VALUE_SQ ? '\''
                                                                 : 0;
            int ends = quote ? c == quote : (is_space(c) || c == '>');
            if (ends) {
                text_end(rw, &from, p, 1);
                if (quote) {
                    rw->state = S_AFTER_ATTR_VALUE;
                    p++;
                } else {
                    rw->state = S_BEFORE_ATTR_NAME; /* re-read the byte */
                }
                break;
            }
            if (rw->value == V_OPAQUE) {
                if (quote) {
                    p = find_byte(p, end, quote);
                } else {
                    p = unquoted_end(p, end);
                }
                break;
            }
            if (rw->value == V_SCHEME) {
                scheme_byte(rw, c);
                p++;
                break;
            }
            if (quote && dni__match_idle(&rw->match) &&
                !dni__match_starts(c)) {
                p = scan_text(p, end, quote);
                break;
            }
            if (!quote && dni__match_idle(&rw->match) &&
                !dni__match_starts(c)) {
                while (p < end && !is_space(*p) && *p != '>' &&
                       !dni__match_starts(*p))
                    p++;
                break;
            }
            if (c == '&' && dni__match_idle(&rw->match) && p + 1 < end &&
                !dni__match_amp_matters(p[1])) {
                p++;
                break;
            }
            if (dni__match_idle(&rw->match) &&
                dni__match_prefix_skips(p, end)) {
                p++;
                break;
            }
            flush_range(rw, &from, p);
            int ctx = rw->value == V_HREF ? DNI__CTX_HREF : DNI__CTX_ATTR;
            if (quote)
                p = dni__match_span(&rw->match, &rw->out, p, end, quote,
                                    ctx, 1);
            else
                dni__match_byte(&rw->match, &rw->out, *p++, ctx, 1);
            from = p;
            break;
        }

        case S_AFTER_ATTR_VALUE:
            if (is_space(c)) {
                rw->state = S_BEFORE_ATTR_NAME;
                p++;
            } else if (c == '/') {
                rw->state = S_SELF_CLOSING;
                p++;
            } else {
                rw->state = S_AFTER_ATTR_NAME;
                if (c != '>')
                    rw->state = S_BEFORE_ATTR_NAME;
            }
            break;

        case S_SELF_CLOSING:
            if (c == '>') {
                rw->tag_self_closing = 1;
                rw->state = S_AFTER_ATTR_NAME;
            } else {
                rw->state = S_BEFORE_ATTR_NAME;
            }
            break;

        case S_MARKUP_DECL: {
            static const char *const decls[] = {"--", "doctype", "[CDATA["};
            rw->decl[rw->decl_len++] = (char)c;
            int prefix = 0;
            for (size_t i = 0; i < 3; i++) {
                const char *d = decls[i];
                size_t k = rw->decl_len;
                if (strlen(d) < k)
                    continue;
                size_t j = 0;
                while (j < k && (i == 1 ? (char)lower((unsigned char)
                                                          rw->decl[j])
                                        : rw->decl[j]) == d[j])
                    j++;
                if (j < k)
                    continue;
                prefix = 1;
                if (d[k] != '\0')
                    continue;
                if (i == 0)
                    rw->state = S_COMMENT_START;
                else if (i == 1)
                    rw->state = S_DOCTYPE;
                else
                    rw->state =
                        rw->foreign_depth > 0 ? S_CDATA : S_BOGUS_COMMENT;
            }
            if (!prefix) {
                rw->state = S_BOGUS_COMMENT; /* re-read this byte there */
                break;
            }
            p++;
            break;
        }

        case S_COMMENT_START:
            if (c == '-') {
                rw->state = S_COMMENT_START_DASH;
                p++;
            } else if (c == '>') {
                rw->state = S_DATA; /* "<!-->" */
                p++;
            } else {
                rw->state = S_COMMENT;
            }
            break;

        case S_COMMENT_START_DASH:
            if (c == '-') {
                rw->state = S_COMMENT_END;
                p++;
            } else if (c == '>') {
                rw->state = S_DATA; /* "<!--->" */
                p++;
            } else {
                rw->state = S_COMMENT;
            }
            break;

        case S_COMMENT:
            p = find_byte(p, end, '-');
            if (p < end) {
                rw->state = S_COMMENT_END_DASH;
                p++;
            }
            break;

        case S_COMMENT_END_DASH:
            if (c == '-') {
                rw->state = S_COMMENT_END;
                p++;
            } else {
                rw->state = S_COMMENT;
            }
            break;

        case S_COMMENT_END:
            if (c == '>') {
                rw->state = S_DATA;
                p++;
            } else if (c == '!') {
                rw->state = S_COMMENT_END_BANG;
                p++;
            } else if (c == '-') {
                p++;
            } else {
                rw->state = S_COMMENT;
            }
            break;

        case S_COMMENT_END_BANG:
            if (c == '-') {
                rw->state = S_COMMENT_END_DASH;
                p++;
            } else if (c == '>') {
                rw->state = S_DATA; /* "--!>" */
                p++;
            } else {
                rw->state = S_COMMENT;
            }
            break;

        case S_BOGUS_COMMENT:
        case S_DOCTYPE:
            p = find_byte(p, end, '>');
            if (p < end) {
                rw->state = S_DATA;
                p++;
            }
            break;

        case S_CDATA:
            p = find_byte(p, end, ']');
            if (p < end) {
                rw->state = S_CDATA_BRACKET;
                p++;
            }
            break;

        case S_CDATA_BRACKET:
            if (c == ']') {
                rw->state = S_CDATA_END;
                p++;
            } else {
                rw->state = S_CDATA;
            }
            break;

        case S_CDATA_END:
            if (c == '>') {
                rw->state = S_DATA;
                p++;
            } else if (c == ']') {
                p++;
            } else {
                rw->state = S_CDATA;
            }
            break;

        case S_TEXT_LT:
            if (c == '/') {
                end_open(rw, rw->content);
                p++;
            } else {
                rw->state = rw->content; /* "<" was text */
            }
            break;

        case S_END_OPEN:
            if (is_alpha(c)) {
                rw->state = S_END_NAME;
            } else {
                rw->state = rw->end_return;
            }
            break;

        case S_END_NAME:
            if (is_alpha(c)) {
                name_push(&rw->tmp, c);
                p++;
            } else if ((is_space(c) || c == '/' || c == '>') &&
                       name_eq(&rw->tmp, &rw->raw)) {
                /* The appropriate end tag: read it as a tag. */
                tag_begin(rw, 1);
                rw->tag = rw->tmp;
                if (c == '>') {
                    tag_emit(rw);
                } else {
                    rw->state =
                        c == '/' ? S_SELF_CLOSING : S_BEFORE_ATTR_NAME;
                }
                p++;
            } else {
                rw->state = rw->end_return; /* it was text */
            }
            break;

        case S_SCRIPT:
            p = find_byte(p, end, '<');
            if (p < end) {
                rw->state = S_SCRIPT_LT;
                p++;
            }
            break;

        case S_SCRIPT_LT:
            if (c == '/') {
                end_open(rw, S_SCRIPT);
                p++;
            } else if (c == '!') {
                rw->state = S_SCRIPT_ESC_START;
                p++;
            } else {
                rw->state = S_SCRIPT;
            }
            break;

        case S_SCRIPT_ESC_START:
            if (c == '-') {
                rw->state = S_SCRIPT_ESC_START_DASH;
                p++;
            } else {
                rw->state = S_SCRIPT;
            }
            break;

        case S_SCRIPT_ESC_START_DASH:
            if (c == '-') {
                rw->script_double = 0;
                rw->state = S_SCRIPT_ESC_DASH_DASH;
                p++;
            } else {
                rw->state = S_SCRIPT;
            }
            break;

        case S_SCRIPT_ESC:
            p = find_dash_or_lt(p, end);
            if (p < end) {
                rw->state = *p == '-' ? S_SCRIPT_ESC_DASH : S_SCRIPT_ESC_LT;
                p++;
            }
            break;

        case S_SCRIPT_ESC_DASH:
        case S_SCRIPT_ESC_DASH_DASH:
            if (c == '-') {
                rw->state = S_SCRIPT_ESC_DASH_DASH;
            } else if (c == '<') {
                rw->state = S_SCRIPT_ESC_LT;
            } else if (c == '>' && rw->state == S_SCRIPT_ESC_DASH_DASH) {
                rw->state = S_SCRIPT;
            } else {
                rw->state = S_SCRIPT_ESC;
            }
            p++;
            break;

        case S_SCRIPT_ESC_LT:
            if (rw->script_double) {
                /* only "</script" ends the double escape */
                if (c == '/') {
                    rw->tmp.len = 0;
                    rw->state = S_SCRIPT_ESC_NAME;
                    p++;
                } else {
                    rw->state = S_SCRIPT_ESC;
                }
            } else if (c == '/') {
                end_open(rw, S_SCRIPT_ESC);
                p++;
            } else if (is_alpha(c)) {
                rw->tmp.len = 0;
                rw->state = S_SCRIPT_ESC_NAME;
            } else {
                rw->state = S_SCRIPT_ESC;
            }
            break;

        case S_SCRIPT_ESC_NAME:
            if (is_space(c) || c == '/' || c == '>') {
                /* "<script" starts a double escape, "</script" ends it */
                if (name_is(&rw->tmp, "script"))
                    rw->script_double = !rw->script_double;
                rw->state = S_SCRIPT_ESC;
                p++;
            } else if (is_alpha(c)) {
                name_push(&rw->tmp, c);
                p++;
            } else {
                rw->state = S_SCRIPT_ESC;
            }
            break;
        }
    }
    flush_range(rw, &from, end);
}

int dni_rewriter_finish(dni_rewriter_t *rw)
{
    if (rw->finished || rw->out.failed)
        return DNI_EPOISONED;
    head_finish(rw);
    if (rw->state == S_HELD_TAG)
        held_tag_to_machine(rw); /* a tag cut off by the end */
    int in_tag = rw->state == S_ATTR_VALUE_DQ ||
                 rw->state == S_ATTR_VALUE_SQ || rw->state == S_ATTR_VALUE_UQ;
    dni__match_end(&rw->match, &rw->out, in_tag);
    /* A start tag cut off by the end of the document is dropped by
     * browsers; write it as it was. */
    dni__out_record_end(&rw->out, 1);
    if (rw->head.phase == HEAD_SEEK || rw->head.phase == HEAD_OPEN)
        head_write(rw); /* the document had no content */
    rw->finished = 1;
    return rw->out.failed ? DNI_EPOISONED : DNI_OK;
}

/* ---- the head insert point ------------------------------------------- */

/*
 * Until the insert is written, the document is fed to the tokenizer a byte
 * at a time, so that after each byte its state tells where the page is.
 * Only the few bytes before the head's content go this way: the doctype,
 * comments, the <html> tag and blanks. A '<' met in text is held (at most
 * "<head" and one byte) until it is known what it starts: an ignorable
 * token (comment, doctype, "<?", <html>), the <head> start tag, after
 * whose '>' the bytes go, or content (any other tag, or "<" as text),
 * before which they go, the head being implied there.
 */

/* What a held tag start turns out to be. */
enum { HOLD_MORE, HOLD_IGNORED, HOLD_HEAD, HOLD_CONTENT };

static int hold_verdict(const unsigned char *h, size_t len)
{
    static const char *const kept[] = {"head", "html"};
    if (len < 2)
        return HOLD_MORE;
    if (h[1] == '!' || h[1] == '?')
        return HOLD_IGNORED; /* comment, doctype or bogus comment */
    if (h[1] == '/') {
        if (len < 3)
            return HOLD_MORE;
        /* an end tag begins the head; "</>" and "</ " are ignored */
        return is_alpha(h[2]) ? HOLD_CONTENT : HOLD_IGNORED;
    }
    if (!is_alpha(h[1]))
        return HOLD_CONTENT; /* "<" is text */
    for (size_t w = 0; w < 2; w++) {
        size_t k = 1;
        while (k < len && k <= 4 && lower(h[k]) == (unsigned char)kept[w][k - 1])
            k++;
        if (k == len)
            return HOLD_MORE; /* still a prefix of <head or <html */
        if (k <= 4)
            continue;
        if (is_space(h[5]) || h[5] == '/' || h[5] == '>')
            return w == 0 ? HOLD_HEAD : HOLD_IGNORED;
    }
    return HOLD_CONTENT;
}

static void head_write(dni_rewriter_t *rw)
{
    dni__out_emit(&rw->out, rw->head.p, rw->head.n);
    rw->head.phase = HEAD_DONE;
    rw->head.written = 1;
}

/* Feeds bytes the head finder has looked at to the tokenizer. */
static int head_pass(dni_rewriter_t *rw, const unsigned char *p, size_t n)
{
    rw->head.seen += n;
    return dni_rewriter_feed(rw, (const char *)p, n);
}

/* The held tag start is complete enough to say what it is. */
static int head_hold_decide(dni_rewriter_t *rw, int verdict)
{
    size_t n = rw->head.hold_len;
    rw->head.hold_len = 0;
    if (verdict == HOLD_CONTENT)
        head_write(rw);
    else if (verdict == HOLD_HEAD)
        rw->head.phase = HEAD_OPEN;
    int rc = head_pass(rw, rw->head.hold, n);
    if (rw->head.phase == HEAD_OPEN && rw->state == S_DATA)
        head_write(rw); /* "<head>": the '>' was the held byte */
    return rc;
}

static int head_feed(dni_rewriter_t *rw, const char *data, size_t n)
{
    if (rw->head.phase == HEAD_NONE) {
        rw->head.phase = HEAD_DONE; /* nothing to insert in this document */
        return dni_rewriter_feed(rw, data, n);
    }
    static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};
    const unsigned char *p = (const unsigned char *)data;
    const unsigned char *end = p + n;
    int rc = DNI_OK;
    rw->head.feeding = 1;
    while (p < end && rc == DNI_OK && rw->head.phase != HEAD_DONE) {
        unsigned char c = *p;
        if (rw->head.hold_len > 0) {
            rw->head.hold[rw->head.hold_len++] = c;
            p++;
            int verdict = hold_verdict(rw->head.hold, rw->head.hold_len);
            if (verdict != HOLD_MORE)
                rc = head_hold_decide(rw, verdict);
            continue;
        }
        if (rw->head.phase == HEAD_SEEK && rw->state == S_DATA) {
            if (c == '<') {
                rw->head.hold[0] = c;
                rw->head.hold_len = 1;
                p++;
                continue;
            }
            int blank = is_space(c) ||
                        (rw->head.seen < 3 && c == bom[rw->head.seen]);
            if (!blank) {
                head_write(rw); /* text: the head is implied before it */
                break;
            }
        }
        rc = head_pass(rw, p, 1);
        p++;
        if (rw->head.phase == HEAD_OPEN && rw->state == S_DATA)
            head_write(rw); /* the '>' of the <head> start tag */
    }
    rw->head.feeding = 0;
    if (rc == DNI_OK && p < end)
        rc = dni_rewriter_feed(rw, (const char *)p, (size_t)(end - p));
    return rc;
}

/* The document ends: a tag start still held is passed on; when nothing
 * began the head, dni_rewriter_finish writes the bytes at the end. */
static void head_finish(dni_rewriter_t *rw)
{
    if (rw->head.hold_len == 0)
        return;
    rw->head.feeding = 1;
    (void)head_pass(rw, rw->head.hold, rw->head.hold_len);
    rw->head.feeding = 0;
    rw->head.hold_len = 0;
}

int dni_rewriter_set_head(dni_rewriter_t *rw, const char *p, size_t n)
{
    if (rw == NULL || (p == NULL && n > 0))
        return DNI_EINVAL;
    if (rw->finished || rw->head.seen > 0 || rw->head.hold_len > 0 ||
        (rw->head.phase != HEAD_NONE && rw->head.phase != HEAD_SEEK))
        return DNI_ESTATE;
    rw->head.p = p;
    rw->head.n = n;
    rw->head.phase = n > 0 ? HEAD_SEEK : HEAD_NONE;
    return DNI_OK;
}

int dni_rewriter_head_written(const dni_rewriter_t *rw)
{
    return rw->head.written;
}
