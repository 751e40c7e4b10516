/*
 * pg_sql.c - turns a statement written for both databases into the
 * spelling PostgreSQL accepts. Pure (no libpq): the PostgreSQL store calls
 * it once per statement when it prepares it, and tests/origin/test_pg_sql.c
 * checks every rewrite.
 *
 * The origin's statements are written once, in the common subset of
 * SQLite and PostgreSQL, with a few SQLite spellings that have an exact
 * PostgreSQL twin. Those are rewritten here, token by token, outside
 * string literals, quoted identifiers and comments:
 *
 *   ?, ?N                      $N (a bare ? takes the largest number so
 *                              far plus one, as in SQLite)
 *   max(a, b, ...), min(...)   GREATEST(...), LEAST(...) (two or more
 *                              arguments; the aggregates stay)
 *   x IS NOT y, x IS y         IS DISTINCT FROM, IS NOT DISTINCT FROM
 *                              (IS [NOT] NULL / TRUE / FALSE stay)
 *   INSERT OR IGNORE INTO ...  INSERT INTO ... ON CONFLICT DO NOTHING
 *   json_object(               json_build_object(
 *   json_group_array(x)        coalesce(json_agg(x), CAST('[]' AS json))
 *                              (SQLite answers [] over no rows,
 *                              json_agg NULL)
 *   json(x)                    CAST(x AS json) (the function only: the
 *                              type name in "AS json" stays)
 *   json_each(x)               json_array_elements_text(CAST(x AS json))
 *                              (arrays only; the cast because the store
 *                              binds text parameters as text, which
 *                              PostgreSQL never turns into json alone)
 *   CAST(x AS INTEGER)         a truncating cast (PostgreSQL rounds)
 *   DO UPDATE SET n = n + 1    n = t.n + 1: in an upsert, a column of the
 *                              inserted list read without a table name is
 *                              the existing row's (PostgreSQL finds it
 *                              ambiguous with excluded.n)
 *
 * Anything else passes through unchanged.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg_sql.h"

enum { T_SPACE, T_IDENT, T_STRING, T_QIDENT, T_NUMBER, T_PARAM, T_PUNCT };

typedef struct {
    int type;
    const char *p;
    size_t n;
    int param;    /* T_PARAM: its number */
    char *before; /* text emitted before the token (owned) */
    char *repl;   /* replacement of the token's text (owned), or NULL */
    char *after;  /* text emitted after the token (owned) */
} tok_t;

typedef struct {
    tok_t *t;
    size_t n, cap;
} toks_t;

static int push(toks_t *ts, int type, const char *p, size_t n)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        tok_t *t = realloc(ts->t, cap * sizeof *t);
        if (!t)
            return -1;
        ts->t = t;
        ts->cap = cap;
    }
    tok_t *k = &ts->t[ts->n++];
    memset(k, 0, sizeof *k);
    k->type = type;
    k->p = p;
    k->n = n;
    return 0;
}

static int tokenize(const char *s, toks_t *ts)
{
    int maxparam = 0;
    const char *p = s;
    while (*p) {
        const char *b = p;
        int type;
        if (isspace((unsigned char)*p)) {
            while (isspace((unsigned char)*p))
                p++;
            type = T_SPACE;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            type = T_SPACE;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
            type = T_SPACE;
        } else if (*p == '\'' || *p == '"') {
            char q = *p++;
            for (;;) {
                if (!*p)
                    break;
                if (*p == q) {
                    if (p[1] == q) {
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                p++;
            }
            type = q == '\'' ? T_STRING : T_QIDENT;
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '$')
                p++;
            type = T_IDENT;
        } else if (isdigit((unsigned char)*p) ||
                   (*p == '.' && isdigit((unsigned char)p[1]))) {
            while (isalnum((unsigned char)*p) || *p == '.' ||
                   ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
                p++;
            type = T_NUMBER;
        } else if (*p == '?') {
            p++;
            int num = 0;
            if (isdigit((unsigned char)*p)) {
                while (isdigit((unsigned char)*p))
                    num = num * 10 + (*p++ - '0');
            } else {
                num = maxparam + 1;
            }
            if (num > maxparam)
                maxparam = num;
            if (push(ts, T_PARAM, b, (size_t)(p - b)))
                return -1;
            ts->t[ts->n - 1].param = num;
            continue;
        } else {
            /* Two-character operators stay one token. */
            static const char *const two[] = {"||", "<=", ">=", "<>", "!=",
                                              "==", "::", "->", NULL};
            type = T_PUNCT;
            p++;
            for (int i = 0; two[i]; i++)
                if (b[0] == two[i][0] && b[1] == two[i][1]) {
                    p = b + 2;
                    break;
                }
        }
        if (push(ts, type, b, (size_t)(p - b)))
            return -1;
    }
    return maxparam;
}

static int is_word(const tok_t *t, const char *w)
{
    return t->type == T_IDENT && strlen(w) == t->n && !strncasecmp(t->p, w, t->n);
}

static int is_punct(const tok_t *t, char c)
{
    return t->type == T_PUNCT && t->n == 1 && t->p[0] == c;
}

/* The next token that is not space, from i on; n when none. */
static size_t next(const toks_t *ts, size_t i)
{
    while (i < ts->n && ts->t[i].type == T_SPACE)
        i++;
    return i;
}

static size_t prev(const toks_t *ts, size_t i)
{
    while (i > 0) {
        i--;
        if (ts->t[i].type != T_SPACE)
            return i;
    }
    return (size_t)-1;
}

/* The index of the ')' that closes the '(' at i; n when unbalanced. */
static size_t closing(const toks_t *ts, size_t i)
{
    int depth = 0;
    for (; i < ts->n; i++) {
        if (is_punct(&ts->t[i], '('))
            depth++;
        else if (is_punct(&ts->t[i], ')') && --depth == 0)
            return i;
    }
    return ts->n;
}

static char *dup(const char *s) { return strdup(s); }

static void set(char **slot, const char *s)
{
    free(*slot);
    *slot = dup(s);
}

/* SQLite functions PostgreSQL spells otherwise: name(args) becomes
 * repl(open args in) out. */
typedef struct {
    const char *name, *repl, *open, *in, *out;
} call_twin_t;

static const call_twin_t call_twins[] = {
    {"json_object", "json_build_object", NULL, NULL, NULL},
    /* SQLite answers [] over no rows, json_agg NULL */
    {"json_group_array", "coalesce(json_agg", NULL, NULL,
     ", CAST('[]' AS json))"},
    {"json", "CAST", NULL, " AS json", NULL},
    /* the store binds text parameters as text, which PostgreSQL never
     * turns into json alone */
    {"json_each", "json_array_elements_text", "CAST(", " AS json)", NULL},
};

static const call_twin_t *twin_of(const tok_t *t)
{
    for (size_t k = 0; k < sizeof call_twins / sizeof *call_twins; k++)
        if (is_word(t, call_twins[k].name))
            return &call_twins[k];
    return NULL;
}

/* Rewrites the call whose name is token i and whose "(" is token open. */
static void rewrite_call(toks_t *ts, size_t i, size_t open,
                         const call_twin_t *tw)
{
    size_t cl = closing(ts, open);
    if (cl >= ts->n)
        return;
    set(&ts->t[i].repl, tw->repl);
    if (tw->open)
        set(&ts->t[open].after, tw->open);
    if (tw->in)
        set(&ts->t[cl].before, tw->in);
    if (tw->out)
        set(&ts->t[cl].after, tw->out);
}

/* The end of the statement that token i belongs to: the index of its ';'
 * at depth 0, or n. */
static size_t stmt_end(const toks_t *ts, size_t i)
{
    int depth = 0;
    for (; i < ts->n; i++) {
        if (is_punct(&ts->t[i], '('))
            depth++;
        else if (is_punct(&ts->t[i], ')'))
            depth--;
        else if (depth <= 0 && is_punct(&ts->t[i], ';'))
            return i;
    }
    return ts->n;
}

/* INSERT OR IGNORE: drop "OR IGNORE", add ON CONFLICT DO NOTHING before a
 * RETURNING at depth 0 or at the end of the statement. */
static void insert_or_ignore(toks_t *ts, size_t ins)
{
    size_t o = next(ts, ins + 1);
    if (o >= ts->n || !is_word(&ts->t[o], "OR"))
        return;
    size_t g = next(ts, o + 1);
    if (g >= ts->n || !is_word(&ts->t[g], "IGNORE"))
        return;
    set(&ts->t[o].repl, "");
    set(&ts->t[g].repl, "");
    if (o + 1 < ts->n && ts->t[o + 1].type == T_SPACE)
        set(&ts->t[o + 1].repl, "");
    if (g + 1 < ts->n && ts->t[g + 1].type == T_SPACE)
        set(&ts->t[g + 1].repl, "");
    size_t end = stmt_end(ts, g);
    int depth = 0;
    for (size_t i = g; i < end; i++) {
        if (is_punct(&ts->t[i], '('))
            depth++;
        else if (is_punct(&ts->t[i], ')'))
            depth--;
        else if (depth == 0 && is_word(&ts->t[i], "RETURNING")) {
            set(&ts->t[i].before, "ON CONFLICT DO NOTHING ");
            return;
        }
    }
    /* After the last token of the statement that is not space. */
    size_t last = prev(ts, end);
    if (last != (size_t)-1)
        set(&ts->t[last].after, " ON CONFLICT DO NOTHING");
}

/* In "INSERT INTO tbl (cols...) ... DO UPDATE SET ...", qualifies the
 * reads of cols in the SET values and its WHERE with tbl. */
static void upsert_qualify(toks_t *ts, size_t ins)
{
    size_t into = next(ts, ins + 1);
    if (into < ts->n && is_word(&ts->t[into], "OR"))
        into = next(ts, next(ts, into + 1) + 1);
    if (into >= ts->n || !is_word(&ts->t[into], "INTO"))
        return;
    size_t tbl = next(ts, into + 1);
    if (tbl >= ts->n || ts->t[tbl].type != T_IDENT)
        return;
    size_t open = next(ts, tbl + 1);
    if (open >= ts->n || !is_punct(&ts->t[open], '('))
        return;
    size_t close = closing(ts, open);
    size_t end = stmt_end(ts, open);
    /* Find DO UPDATE SET at depth 0. */
    size_t set_at = ts->n;
    for (size_t i = close; i < end; i++) {
        if (is_word(&ts->t[i], "DO")) {
            size_t u = next(ts, i + 1);
            size_t s = u < ts->n ? next(ts, u + 1) : ts->n;
            if (u < ts->n && is_word(&ts->t[u], "UPDATE") && s < ts->n &&
                is_word(&ts->t[s], "SET")) {
                set_at = s;
                break;
            }
        }
    }
    if (set_at >= end)
        return;
    char qual[128];
    snprintf(qual, sizeof qual, "%.*s.", (int)ts->t[tbl].n, ts->t[tbl].p);
    int depth = 0, target = 1;
    for (size_t i = set_at + 1; i < end; i++) {
        tok_t *t = &ts->t[i];
        if (t->type == T_SPACE)
            continue;
        if (is_punct(t, '(')) {
            depth++;
        } else if (is_punct(t, ')')) {
            depth--;
        } else if (depth == 0 && is_punct(t, ',')) {
            target = 1;
            continue;
        } else if (depth == 0 && (is_word(t, "WHERE") || is_word(t, "RETURNING"))) {
            if (is_word(t, "RETURNING"))
                break;
            target = 0;
            continue;
        } else if (t->type == T_IDENT) {
            if (target && depth == 0) {
                target = 0; /* the column being set: never qualified */
                continue;
            }
            size_t pv = prev(ts, i), nx = next(ts, i + 1);
            if (pv != (size_t)-1 && is_punct(&ts->t[pv], '.'))
                continue;
            if (nx < ts->n && (is_punct(&ts->t[nx], '(') || is_punct(&ts->t[nx], '.')))
                continue;
            for (size_t c = open + 1; c < close; c++) {
                const tok_t *col = &ts->t[c];
                if (col->type == T_IDENT && col->n == t->n &&
                    !strncasecmp(col->p, t->p, t->n)) {
                    set(&t->before, qual);
                    break;
                }
            }
        }
        target = 0;
    }
}

char *dni__pg_sql(const char *sql, int *nparams)
{
    toks_t ts = {0};
    int maxparam = tokenize(sql, &ts);
    char *out = NULL;
    if (maxparam < 0)
        goto done;
    for (size_t i = 0; i < ts.n; i++) {
        tok_t *t = &ts.t[i];
        if (t->type == T_PARAM) {
            char buf[16];
            snprintf(buf, sizeof buf, "$%d", t->param);
            set(&t->repl, buf);
            continue;
        }
        if (t->type != T_IDENT)
            continue;
        size_t nx = next(&ts, i + 1);
        int call = nx < ts.n && is_punct(&ts.t[nx], '(');
        size_t pv = prev(&ts, i);
        int dotted = pv != (size_t)-1 && is_punct(&ts.t[pv], '.');
        const call_twin_t *tw;
        if (call && !dotted && (is_word(t, "max") || is_word(t, "min"))) {
            size_t cl = closing(&ts, nx);
            int depth = 0, commas = 0;
            for (size_t k = nx; k < cl; k++) {
                if (is_punct(&ts.t[k], '('))
                    depth++;
                else if (is_punct(&ts.t[k], ')'))
                    depth--;
                else if (depth == 1 && is_punct(&ts.t[k], ','))
                    commas++;
            }
            if (commas > 0)
                set(&t->repl, is_word(t, "max") ? "GREATEST" : "LEAST");
        } else if (call && !dotted && (tw = twin_of(t))) {
            rewrite_call(&ts, i, nx, tw);
        } else if (call && is_word(t, "CAST")) {
            size_t cl = closing(&ts, nx);
            int depth = 0;
            for (size_t k = nx; k < cl; k++) {
                if (is_punct(&ts.t[k], '('))
                    depth++;
                else if (is_punct(&ts.t[k], ')'))
                    depth--;
                else if (depth == 1 && is_word(&ts.t[k], "AS")) {
                    size_t ty = next(&ts, k + 1);
                    if (ty < cl && is_word(&ts.t[ty], "INTEGER") &&
                        next(&ts, ty + 1) == cl) {
                        set(&ts.t[nx].after, "trunc((");
                        set(&ts.t[k].before, ")::double precision) ");
                        set(&ts.t[ty].repl, "BIGINT");
                    }
                    break;
                }
            }
        } else if (is_word(t, "IS") && nx < ts.n) {
            tok_t *n1 = &ts.t[nx];
            if (is_word(n1, "NOT")) {
                size_t n2 = next(&ts, nx + 1);
                if (n2 < ts.n && !is_word(&ts.t[n2], "NULL") &&
                    !is_word(&ts.t[n2], "TRUE") && !is_word(&ts.t[n2], "FALSE") &&
                    !is_word(&ts.t[n2], "DISTINCT") && !is_word(&ts.t[n2], "UNKNOWN"))
                    set(&n1->repl, "DISTINCT FROM");
            } else if (!is_word(n1, "NULL") && !is_word(n1, "TRUE") &&
                       !is_word(n1, "FALSE") && !is_word(n1, "DISTINCT") &&
                       !is_word(n1, "UNKNOWN")) {
                set(&t->repl, "IS NOT DISTINCT FROM");
            }
        } else if (is_word(t, "INSERT")) {
            upsert_qualify(&ts, i);
            insert_or_ignore(&ts, i);
        }
    }
    size_t len = 1;
    for (size_t i = 0; i < ts.n; i++) {
        tok_t *t = &ts.t[i];
        len += (t->before ? strlen(t->before) : 0) +
               (t->repl ? strlen(t->repl) : t->n) +
               (t->after ? strlen(t->after) : 0);
    }
    out = malloc(len);
    if (!out)
        goto done;
    char *o = out;
    for (size_t i = 0; i < ts.n; i++) {
        tok_t *t = &ts.t[i];
        if (t->before)
            o += strlen(strcpy(o, t->before));
        if (t->repl)
            o += strlen(strcpy(o, t->repl));
        else {
            memcpy(o, t->p, t->n);
            o += t->n;
        }
        if (t->after)
            o += strlen(strcpy(o, t->after));
    }
    *o = 0;
    if (nparams)
        *nparams = maxparam;
done:
    for (size_t i = 0; i < ts.n; i++) {
        free(ts.t[i].before);
        free(ts.t[i].repl);
        free(ts.t[i].after);
    }
    free(ts.t);
    return out;
}

void dni__pg_redact(const char *url, char *out, size_t n)
{
    if (!n)
        return;
    const char *scheme = strstr(url, "://");
    const char *rest = scheme ? scheme + 3 : url;
    size_t auth = strcspn(rest, "@/?");
    const char *colon = memchr(rest, ':', auth);
    if (!scheme || rest[auth] != '@' || !colon) {
        snprintf(out, n, "%s", url);
        return;
    }
    snprintf(out, n, "%.*s:***%s", (int)(colon - url), url, rest + auth);
}
