/*
 * test_html5lib.c - the rewriter against the html5lib tokenizer tests
 * (../shared/corpus/html5lib-tokenizer, every .test file, relative to the repository
 * root; skipped with a note when absent, a few built-in inputs still run).
 *
 * 1. Pass-through: every test input, none of which holds the rule's number,
 *    comes out byte for byte, fed whole and one byte at a time.
 * 2. Probes built from the expected tokens: the number is inserted
 *      - into a Character token's text: it must be swapped;
 *      - into a comment (real or bogus), a start or end tag name, an
 *        attribute name or an attribute value other than title/alt/
 *        aria-label/href: it must not be.
 *    Only tests run from the data state with no raw-text element, no
 *    foreign content and no end-of-file error are probed, and only where
 *    the token's text occurs exactly once in the input, so the place of the
 *    insertion is known without a tokenizer of our own.
 * 3. Neighbour probes: the number written in several ways (separators raw
 *    and as character references) with something before it (digit groups,
 *    character references named with and without ';', decimal, hex, a
 *    country prefix) and after it. Whether it must be swapped is decided by
 *    a small model of the rule written here (model_swaps), not by the
 *    rewriter's logic. Every combination runs on a small document whole and
 *    byte by byte, and one combination in turn goes into each text site of
 *    the corpus.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "dni.h"
#include "harness.h"

#define CORPUS "../shared/corpus/html5lib-tokenizer"
#define NUMBER "800-555-1234"
#define SWAPPED "888-555-0000"

typedef struct buf {
    char *p;
    size_t n, cap;
} buf_t;

static void put(buf_t *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL)
            exit(2);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static int sink(const char *p, size_t n, void *ud)
{
    put(ud, p, n);
    return 0;
}

static dni_rewriter_t *rw;
static buf_t out;

/* Rewrites in[0..n) whole (bytewise = 0) or one byte at a time. */
static const buf_t *rewrite(const char *in, size_t n, int bytewise)
{
    out.n = 0;
    put(&out, "", 0);
    dni_rewriter_reset(rw);
    int rc = DNI_OK;
    if (bytewise)
        for (size_t i = 0; i < n && rc == DNI_OK; i++)
            rc = dni_rewriter_feed(rw, in + i, 1);
    else
        rc = dni_rewriter_feed(rw, in, n);
    if (rc == DNI_OK)
        rc = dni_rewriter_finish(rw);
    if (rc != DNI_OK)
        out.n = (size_t)-1; /* never equal to anything */
    return &out;
}

static int failures_shown;

static void show(const char *what, const char *file, const char *desc,
                 const char *in, size_t in_n, const char *want, size_t want_n)
{
    if (failures_shown++ >= 12)
        return;
    fprintf(stderr, "     %s: %s: \"%s\"\n", file, what, desc);
    fprintf(stderr, "       input (%zu bytes): %.*s\n", in_n,
            (int)(in_n > 300 ? 300 : in_n), in);
    fprintf(stderr, "       want: %.*s\n", (int)(want_n > 300 ? 300 : want_n),
            want);
    if (out.n != (size_t)-1)
        fprintf(stderr, "       got:  %.*s\n",
                (int)(out.n > 300 ? 300 : out.n), out.p);
    else
        fprintf(stderr, "       got:  an error from feed/finish\n");
}

static int equals(const buf_t *b, const char *p, size_t n)
{
    return b->n == n && memcmp(b->p, p, n) == 0;
}

/* ---- JSON helpers ---- */

/* UTF-8 for one code point; lone surrogates as their 3-byte form (the
 * rewriter sees bytes, so any byte sequence is a fair input). */
static void put_utf8(buf_t *b, unsigned cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        put(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        put(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        put(b, u, 3);
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        put(b, u, 4);
    }
}

static int hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

/* The "doubleEscaped" second round: \uHHHH to UTF-8. */
static void unescape(buf_t *b, const char *s)
{
    b->n = 0;
    put(b, "", 0);
    for (size_t i = 0; s[i];) {
        unsigned cp, lo;
        if (s[i] == '\\' && s[i + 1] == 'u' && hex4(s + i + 2, &cp)) {
            i += 6;
            if (cp >= 0xd800 && cp < 0xdc00 && s[i] == '\\' &&
                s[i + 1] == 'u' && hex4(s + i + 2, &lo) && lo >= 0xdc00 &&
                lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            put_utf8(b, cp);
        } else {
            put(b, s + i, 1);
            i++;
        }
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf_t b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, n);
    fclose(f);
    if (b.p == NULL)
        put(&b, "", 0);
    return b.p;
}

/* ---- neighbour probes and the model of the rule ---- */

/* The number as pages write it, and as it must come out when swapped:
 * the replacement's digits in the same places, every other byte kept. */
static const char *const written[][2] = {
    {"800-555-1234", "888-555-0000"},
    {"800&#8211;555&#8211;1234", "888&#8211;555&#8211;0000"},
    {"800&ndash;555&ndash;1234", "888&ndash;555&ndash;0000"},
    {"800&#x2013;555&#X2013;1234", "888&#x2013;555&#X2013;0000"},
    {"(800)&nbsp;555&#160;1234", "(888)&nbsp;555&#160;0000"},
    {"800&nbsp 555&#xa0;1234", "888&nbsp 555&#xa0;0000"},
    {"1.800.555.1234", "1.888.555.0000"},
};

/* What may stand right before it. */
static const char *const before[] = {
    "", " ", "Open 24/7 ", "Hours 9-5 ", "Suite 200 ", "$99 ", "NY 10001 ",
    "&#169;2024 ", "&frac14 ", "&frac14; ", "&#x31;", "&#49;", "&amp;",
    "&nbsp;", "&#160;", "&#xA0;", "2024-", "Order 12345/", "+1 ", "001 ",
    "+44 ", "0044 ", "+49 (0)", "7", "12", "&#49;2", "&#8005551234;",
};

/* What may stand right after it. */
static const char *const after[] = {
    "", " (24h)", "/212-555-0199", " / 212-555-0199", "-5", ".5", "5",
    "&#53;", "&five;", " 5", "&nbsp;ext. 12", "x12", "-", ".", ": ",
    "&#8005551234;",
};

/* One character of the text as a reader's parser sees it: a character
 * reference ("&name;", "&name", "&#123;", "&#x1F;") is one character and
 * never a digit. Returns its length; *digit tells whether it is one. */
static size_t model_char(const char *s, int *digit)
{
    *digit = 0;
    if (s[0] == '&' && s[1] == '#') {
        size_t i = 2;
        int hex = s[i] == 'x' || s[i] == 'X';
        i += hex ? 1u : 0u;
        while (s[i] && (hex ? strchr("0123456789abcdefABCDEF", s[i]) != NULL
                            : (s[i] >= '0' && s[i] <= '9')))
            i++;
        return s[i] == ';' ? i + 1 : i;
    }
    if (s[0] == '&' && ((s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'z')) {
        size_t i = 1;
        while ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')
            i++;
        while (s[i] >= '0' && s[i] <= '9' && i < 8) /* "frac14" */
            i++;
        return s[i] == ';' ? i + 1 : i;
    }
    *digit = s[0] >= '0' && s[0] <= '9';
    return 1;
}

/*
 * The rule, for the number w after pre and before post: it is swapped
 * unless the character right before its first digit group that can start
 * it, or right after its last digit, is an ASCII digit, a hyphen or dot
 * followed by a digit continues it, or it follows a country prefix ('+' or
 * "00" then a code) whose foreign number has fewer than eight digits and
 * does not read as the number's own code and number ("+1 800-555-1234").
 * A '(' or a trunk group "1." before the area code sets the area code
 * apart, so whatever stands before them the area code may start a number.
 */
static int model_swaps(const char *pre, const char *w, const char *post)
{
    int apart = w[0] == '(' || strncmp(w, "1.", 2) == 0;
    int digit, last_digit = 0, foreign = 0, code_digits = 0, in_code = 0;
    char code[8] = "";
    for (const char *p = pre; *p;) {
        size_t n = model_char(p, &digit);
        int plus = n == 1 && *p == '+';
        int zero0 = n == 1 && p[0] == '0' && p[1] == '0' && !last_digit;
        if (plus || zero0) {
            in_code = 1;
            code_digits = 0;
            code[0] = '\0';
            p += zero0 ? 2 : 1;
            last_digit = 0;
            continue;
        }
        if (digit && in_code) {
            if (code_digits < 7) {
                code[code_digits] = *p;
                code[code_digits + 1] = '\0';
            }
            code_digits++;
        } else if (!digit && n == 1 && !strchr(" -./()", *p)) {
            in_code = 0; /* a letter or a sign ends the foreign number */
        }
        last_digit = digit;
        p += n;
    }
    foreign = in_code && code_digits > 0 && code_digits < 8 &&
              (strcmp(code, "1") != 0 || w[0] == '1');
    if ((last_digit && !apart) || foreign)
        return 0;
    size_t n = model_char(post, &digit);
    if (*post && digit)
        return 0;
    if (n == 1 && (*post == '-' || *post == '.')) {
        model_char(post + 1, &digit);
        if (post[1] && digit)
            return 0;
    }
    return 1;
}

static int neighbour_probes_run, neighbour_probes_swapped;

/* Inserts "|" pre number post "|" at pos and checks the rewrite (whole,
 * and byte by byte when bytewise) against the model. */
static void neighbour_probe(const char *file, const char *desc,
                            const char *in, size_t n, size_t pos, size_t combo,
                            int bytewise)
{
    size_t nw = sizeof written / sizeof *written;
    size_t nb = sizeof before / sizeof *before;
    size_t na = sizeof after / sizeof *after;
    const char *const *w = written[combo % nw];
    const char *pre = before[combo / nw % nb];
    const char *post = after[combo / nw / nb % na];
    int swap = model_swaps(pre, w[0], post);

    buf_t doc = {0}, want = {0};
    put(&doc, in, pos);
    put(&want, in, pos);
    const char *parts[] = {"|", pre, w[0], post, "|"};
    for (size_t i = 0; i < 5; i++) {
        put(&doc, parts[i], strlen(parts[i]));
        const char *p = i == 2 && swap ? w[1] : parts[i];
        put(&want, p, strlen(p));
    }
    put(&doc, in + pos, n - pos);
    put(&want, in + pos, n - pos);

    neighbour_probes_run++;
    neighbour_probes_swapped += swap;
    for (int b = 0; b <= bytewise; b++) {
        if (!CHECK(equals(rewrite(doc.p, doc.n, b), want.p, want.n))) {
            show(swap ? "neighbour probe not swapped"
                      : "neighbour probe swapped",
                 file, desc, doc.p, doc.n, want.p, want.n);
            break;
        }
    }
    free(doc.p);
    free(want.p);
}

static size_t neighbour_combos(void)
{
    return (sizeof written / sizeof *written) *
           (sizeof before / sizeof *before) * (sizeof after / sizeof *after);
}

/* Every combination on a paragraph, whole and byte by byte. */
static void neighbour_matrix(void)
{
    static const char doc[] = "<p>Call us</p>";
    for (size_t c = 0; c < neighbour_combos(); c++)
        neighbour_probe("builtin", "every neighbour", doc, sizeof doc - 1, 8,
                        c, 1);
    /* The model itself, on cases the rule names. */
    const char *w = written[0][0];
    CHECK(model_swaps("Open 24/7 ", w, ""));
    CHECK(model_swaps("&#169;2024 ", w, ""));
    CHECK(model_swaps("&frac14 ", w, ""));
    CHECK(!model_swaps("+44 ", w, ""));
    CHECK(!model_swaps("7", w, ""));
    CHECK(!model_swaps("", w, "-5"));
    CHECK(model_swaps("", w, "&#53;"));
    CHECK(model_swaps("+1 ", w, " (24h)"));
    CHECK(!model_swaps("+1 ", "1.800.555.1234", ""));
}

/* A character reference's own digits are never a number. */
static void charref_digits(void)
{
    static const char *const refs[] = {"&#8005551234;", "&#x8005551234;",
                                       "&#8005551234", "x&#18005551234;y"};
    for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
        buf_t doc = {0};
        put(&doc, "<p>", 3);
        put(&doc, refs[i], strlen(refs[i]));
        put(&doc, "</p>", 4);
        CHECK(equals(rewrite(doc.p, doc.n, 0), doc.p, doc.n));
        CHECK(equals(rewrite(doc.p, doc.n, 1), doc.p, doc.n));
        free(doc.p);
    }
}

/* ---- probes ---- */

/* Where needle occurs in hay, if exactly once; else -1. */
static long once(const char *hay, size_t hay_n, const char *needle,
                 size_t needle_n)
{
    long at = -1;
    if (needle_n == 0 || needle_n > hay_n)
        return -1;
    for (size_t i = 0; i + needle_n <= hay_n; i++) {
        if (memcmp(hay + i, needle, needle_n) == 0) {
            if (at >= 0)
                return -1;
            at = (long)i;
        }
    }
    return at;
}

static int probes_run, probes_swapped, probes_kept;

/*
 * Inserts ins at pos in the input and checks the rewrite: when swap is set
 * the output must be the same document with NUMBER written as SWAPPED,
 * otherwise the document itself.
 */
static void probe(const char *file, const char *desc, const char *what,
                  const char *in, size_t n, size_t pos, const char *ins,
                  int swap)
{
    buf_t doc = {0}, want = {0};
    put(&doc, in, pos);
    put(&doc, ins, strlen(ins));
    put(&doc, in + pos, n - pos);
    put(&want, in, pos);
    if (swap) {
        const char *hit = strstr(ins, NUMBER);
        put(&want, ins, (size_t)(hit - ins));
        put(&want, SWAPPED, strlen(SWAPPED));
        put(&want, hit + strlen(NUMBER), strlen(hit + strlen(NUMBER)));
    } else {
        put(&want, ins, strlen(ins));
    }
    put(&want, in + pos, n - pos);

    probes_run++;
    swap ? probes_swapped++ : probes_kept++;
    if (!CHECK(equals(rewrite(doc.p, doc.n, 0), want.p, want.n)))
        show(what, file, desc, doc.p, doc.n, want.p, want.n);
    free(doc.p);
    free(want.p);
}

static const char *const raw_or_foreign[] = {
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed",
    "noframes", "plaintext", "noscript", "svg", "math", NULL,
};

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static const char *const swapped_attrs[] = {"title", "alt", "aria-label",
                                            "href", NULL};

static int probeable(const cJSON *t, const char *in, size_t n)
{
    if (cJSON_GetObjectItemCaseSensitive(t, "initialStates") ||
        cJSON_GetObjectItemCaseSensitive(t, "lastStartTag") ||
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "doubleEscaped")))
        return 0;
    if (memchr(in, '\r', n) || strlen(in) != n)
        return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "errors"))
    {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        if (cJSON_IsString(code) && strncmp(code->valuestring, "eof-", 4) == 0)
            return 0;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "output"))
    {
        const cJSON *kind = cJSON_GetArrayItem(e, 0);
        const cJSON *name = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsString(kind))
            return 0;
        if (strcmp(kind->valuestring, "StartTag") == 0 &&
            cJSON_IsString(name) &&
            (is_one_of(name->valuestring, raw_or_foreign) ||
             strstr(name->valuestring, "dni")))
            return 0;
    }
    return 1;
}

static int is_space_or_quote(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '/' ||
           c == '"' || c == '\'';
}

static void probe_tokens(const char *file, const char *desc, const cJSON *t,
                         const char *in, size_t n)
{
    const cJSON *tok;
    long at;
    cJSON_ArrayForEach(tok, cJSON_GetObjectItemCaseSensitive(t, "output"))
    {
        const char *kind = cJSON_GetArrayItem(tok, 0)->valuestring;
        const cJSON *v1 = cJSON_GetArrayItem(tok, 1);
        const char *s = cJSON_IsString(v1) ? v1->valuestring : NULL;
        size_t sl = s ? strlen(s) : 0;

        if (strcmp(kind, "Character") == 0 && s && sl &&
            !strchr(s, '&') && (at = once(in, n, s, sl)) >= 0) {
            probe(file, desc, "number in text not swapped", in, n,
                  (size_t)at, ":" NUMBER ":", 1);
            neighbour_probe(file, desc, in, n, (size_t)at,
                            (size_t)neighbour_probes_run * 7919u %
                                neighbour_combos(),
                            0);
        } else if (strcmp(kind, "Comment") == 0 && s && sl &&
                   (at = once(in, n, s, sl)) >= 0) {
            size_t a = (size_t)at;
            if (a >= 4 && memcmp(in + a - 4, "<!--", 4) == 0 && s[0] != '-' &&
                s[0] != '>' && a + sl + 3 <= n &&
                (memcmp(in + a + sl, "-->", 3) == 0 ||
                 (a + sl + 4 <= n && memcmp(in + a + sl, "--!>", 4) == 0)))
                probe(file, desc, "number in comment swapped", in, n, a,
                      NUMBER " ", 0);
            else if (a >= 1 && a + sl < n && in[a + sl] == '>' &&
                     ((a >= 2 && (memcmp(in + a - 2, "<!", 2) == 0 ||
                                  memcmp(in + a - 2, "</", 2) == 0)) ||
                      (in[a - 1] == '<' && s[0] == '?')))
                probe(file, desc, "number in bogus comment swapped", in, n,
                      a + 1, NUMBER " ", 0);
        } else if ((strcmp(kind, "StartTag") == 0 ||
                    strcmp(kind, "EndTag") == 0) && s && sl) {
            buf_t open = {0};
            put(&open, kind[0] == 'S' ? "<" : "</", kind[0] == 'S' ? 1 : 2);
            put(&open, s, sl);
            at = once(in, n, open.p, open.n);
            if (at >= 0)
                probe(file, desc, "number in tag name swapped", in, n,
                      (size_t)at + open.n - sl + 1, NUMBER, 0);
            free(open.p);
            const cJSON *attrs = cJSON_GetArrayItem(tok, 2);
            const cJSON *attr;
            if (kind[0] != 'S')
                continue;
            cJSON_ArrayForEach(attr, attrs)
            {
                const char *an = attr->string;
                size_t anl = strlen(an);
                if (anl && !is_one_of(an, swapped_attrs) &&
                    (at = once(in, n, an, anl)) > 0 &&
                    is_space_or_quote(in[at - 1]))
                    probe(file, desc, "number in attribute name swapped", in,
                          n, (size_t)at + 1, NUMBER, 0);
                const char *av = cJSON_IsString(attr) ? attr->valuestring : "";
                size_t avl = strlen(av);
                if (avl && !is_one_of(an, swapped_attrs) && !strchr(av, '&') &&
                    (at = once(in, n, av, avl)) >= 0)
                    probe(file, desc, "number in other attribute swapped", in,
                          n, (size_t)at, NUMBER " ", 0);
            }
        }
    }
}

/* ---- driver ---- */

/* Whether the digits of in, all other bytes ignored, hold the rule's
 * number: a conservative test for "holds no matching number". */
static int digits_hold_number(const char *in, size_t n)
{
    char d[10];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] < '0' || in[i] > '9')
            continue;
        if (k == sizeof d) {
            memmove(d, d + 1, sizeof d - 1);
            k--;
        }
        d[k++] = in[i];
        if (k == sizeof d && memcmp(d, "8005551234", sizeof d) == 0)
            return 1;
    }
    return 0;
}

static size_t inputs_seen, inputs_passed;

static void pass_through(const char *file, const char *desc, const char *in,
                         size_t n)
{
    if (digits_hold_number(in, n))
        return;
    inputs_seen++;
    int ok = equals(rewrite(in, n, 0), in, n);
    if (!ok)
        show("not passed through (whole)", file, desc, in, n, in, n);
    if (ok && !(ok = equals(rewrite(in, n, 1), in, n)))
        show("not passed through (byte by byte)", file, desc, in, n, in, n);
    inputs_passed += (size_t)ok;
}

static void run_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    if (!CHECK(root != NULL)) {
        fprintf(stderr, "     %s: cannot read or parse\n", path);
        free(text);
        return;
    }
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    if (tests == NULL)
        tests = cJSON_GetObjectItemCaseSensitive(root, "xmlViolationTests");
    size_t seen0 = inputs_seen, passed0 = inputs_passed;
    int probes0 = probes_run, failed0 = harness_failed;
    const cJSON *t;
    buf_t in = {0};
    cJSON_ArrayForEach(t, tests)
    {
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(t, "input");
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(t, "description");
        if (!cJSON_IsString(input))
            continue;
        const char *d = cJSON_IsString(desc) ? desc->valuestring : "?";
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "doubleEscaped")))
            unescape(&in, input->valuestring);
        else {
            in.n = 0;
            put(&in, input->valuestring, strlen(input->valuestring));
        }
        pass_through(name, d, in.p, in.n);
        if (probeable(t, in.p, in.n))
            probe_tokens(name, d, t, in.p, in.n);
    }
    free(in.p);
    /* One check per file for the pass-through of all its inputs. */
    CHECK(inputs_passed - passed0 == inputs_seen - seen0);
    printf("html5lib %-28s %5zu inputs passed through of %5zu, %4d probes%s\n",
           name, inputs_passed - passed0, inputs_seen - seen0,
           probes_run - probes0, harness_failed == failed0 ? "" : "  FAILED");
    cJSON_Delete(root);
    free(text);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A few tokenizer corner cases that run even without the corpus. */
static void builtin(void)
{
    static const char *const inputs[] = {
        "<!DOCTYPE html>", "<!DOC>", "</>", "<>", "<h a='b'>", "<h a=b>",
        "<!---->", "<!-->", "<!--->", "<!-- --!>", "</ x>", "<?x>", "a < b",
        "<a\"b>", "<h a=&amp;>", "&#x10FFFF;", "<script><!--<script></script>",
        "<textarea>&amp;</textarea>", "<![CDATA[x]]>", "<a href=tel:>",
        "<p title=\"a > b\" data-x='>'>", "<div data-dni-skip>", "</div>",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        size_t n = strlen(inputs[i]);
        CHECK(equals(rewrite(inputs[i], n, 0), inputs[i], n));
        CHECK(equals(rewrite(inputs[i], n, 1), inputs[i], n));
    }
    /* And the probe shapes on hand-made documents. */
    probe("builtin", "text", "number in text not swapped", "<p>ab</p>", 9, 3,
          ":" NUMBER ":", 1);
    probe("builtin", "comment", "number in comment swapped", "<!--ab-->", 9,
          4, NUMBER " ", 0);
    probe("builtin", "tag", "number in tag name swapped", "<ab>", 4, 2,
          NUMBER, 0);
}

int main(void)
{
    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    CHECK_INT(dni_ruleset_add_spec(&rules, NUMBER "=+18885550000", NULL, NULL,
                                   0), DNI_OK);
    if (!CHECK(dni_rewriter_new(&rw, &rules, sink, &out, NULL) == DNI_OK))
        return harness_report();

    builtin();
    neighbour_matrix();
    charref_digits();
    printf("neighbour probes on a paragraph: %d (%d must swap)\n",
           neighbour_probes_run, neighbour_probes_swapped);

    /* The corpus sits next to the repository; a worktree one level
     * deeper finds it one level up. */
    const char *corpus = CORPUS;
    DIR *d = opendir(corpus);
    if (d == NULL && (d = opendir("../" CORPUS)) != NULL)
        corpus = "../" CORPUS;
    if (d == NULL) {
        printf("html5lib: %s not found, corpus tests skipped (built-in "
               "inputs only)\n", CORPUS);
    } else {
        char *names[64];
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && nn < 64) {
            size_t l = strlen(e->d_name);
            if (l > 5 && strcmp(e->d_name + l - 5, ".test") == 0)
                names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmp_names);
        CHECK(nn > 0);
        for (size_t i = 0; i < nn; i++) {
            run_file(corpus, names[i]);
            free(names[i]);
        }
        printf("html5lib: %zu inputs, %d probes (%d must swap, %d must "
               "not), %d neighbour probes in all\n", inputs_seen, probes_run,
               probes_swapped, probes_kept, neighbour_probes_run);
    }
    dni_rewriter_free(rw);
    free(out.p);
    return harness_report();
}
