/*
 * validate.c - checks that settings and stored values mean what the edge
 * will do with them: nothing is accepted that silently does nothing.
 *
 * URLs kept for display (a lease's landing page and referrer, a pool's
 * postback URL) must be absolute http: or https: URLs: a dashboard that
 * shows one as a link must never run "javascript:" or "data:" text.
 *
 * traffic_source is checked against the rules the edge's router knows
 * (edge/site_rules.mjs): a rule the edge cannot match ("serch") would
 * leave the pool without traffic and nobody would know why.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "origin.h"

#define MAX_URL 4096
#define MAX_RULES 32
#define MAX_RULE_TEXT 200

int dni__url_http(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s), skip;
    if (n > MAX_URL)
        return 0;
    if (!strncasecmp(s, "http://", 7))
        skip = 7;
    else if (!strncasecmp(s, "https://", 8))
        skip = 8;
    else
        return 0;
    /* No spaces, controls or DEL anywhere (browsers strip some of them,
     * which is how "java\tscript:" tricks work). */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F || c == '\\')
            return 0;
    }
    /* A host: [user@]name-or-[v6][:port], then '/', '?', '#' or the end. */
    const char *h = s + skip, *end = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t)(end - h));
    if (at)
        return 0; /* credentials in a stored URL are not displayed */
    if (end == h)
        return 0;
    const char *port = NULL;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close || close == h + 1)
            return 0;
        for (const char *p = h + 1; p < close; p++)
            if (!strchr("0123456789abcdefABCDEF:.", *p))
                return 0;
        if (close + 1 < end && close[1] != ':')
            return 0;
        port = close + 1 < end ? close + 1 : NULL;
    } else {
        const char *p = h;
        for (; p < end && *p != ':'; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                  *p == '_' || (unsigned char)*p >= 0x80))
                return 0;
        if (p == h)
            return 0;
        port = p < end ? p : NULL;
    }
    if (port) {
        size_t digits = (size_t)(end - port - 1);
        if (digits < 1 || digits > 5 ||
            strspn(port + 1, "0123456789") < digits)
            return 0;
    }
    return 1;
}

const char *dni__display_url(const char *s)
{
    return dni__url_http(s) ? s : NULL;
}

static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (!n || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return 0;
    return 1;
}

static int is_kind(const char *s)
{
    return !strcmp(s, "search") || !strcmp(s, "social") ||
           !strcmp(s, "other") || !strcmp(s, "direct");
}

/* 1 when object o has no key outside the NULL-terminated list. */
static int only_keys(const cJSON *o, const char *const *keys)
{
    for (const cJSON *it = o->child; it; it = it->next) {
        int ok = 0;
        for (int k = 0; keys[k] && !ok; k++)
            ok = !strcmp(it->string, keys[k]);
        if (!ok)
            return 0;
    }
    return 1;
}

#define RULES_HELP                                                             \
    "search, social, other, direct, always, \"param:NAME[=VALUE]\", "          \
    "\"path:/PREFIX\", or an object {\"type\": ...}"

static const char *string_rule(const char *r, char *msg, size_t n)
{
    if (!strncmp(r, "param:", 6)) {
        const char *name = r + 6, *eq = strchr(name, '=');
        if (!text_ok(r, MAX_RULE_TEXT) || eq == name || !*name ||
            (eq && strchr(eq + 1, '='))) {
            snprintf(msg, n, "traffic_source rule \"%.64s\" must be "
                             "param:NAME or param:NAME=VALUE", r);
            return msg;
        }
        return NULL;
    }
    if (!strncmp(r, "path:", 5)) {
        if (r[5] != '/' || !text_ok(r, MAX_RULE_TEXT)) {
            snprintf(msg, n, "traffic_source rule \"%.64s\" must be "
                             "path:/PREFIX", r);
            return msg;
        }
        return NULL;
    }
    if (is_kind(r) || !strcmp(r, "always"))
        return NULL;
    snprintf(msg, n, "traffic_source rule \"%.64s\" is not one the edge "
                     "knows (" RULES_HELP ")", r);
    return msg;
}

static const char *object_rule(const cJSON *o, char *msg, size_t n)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(type)) {
        snprintf(msg, n, "a traffic_source object needs a \"type\"");
        return msg;
    }
    const char *t = type->valuestring;
    if (!strcmp(t, "param")) {
        static const char *const keys[] = {"type", "name", "value", NULL};
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
        if (!only_keys(o, keys) || !cJSON_IsString(name) ||
            !text_ok(name->valuestring, MAX_RULE_TEXT) ||
            (value && !cJSON_IsNull(value) && !cJSON_IsNumber(value) &&
             !(cJSON_IsString(value) &&
               strlen(value->valuestring) <= MAX_RULE_TEXT))) {
            snprintf(msg, n, "a param rule is {\"type\":\"param\",\"name\":"
                             "NAME[,\"value\":VALUE]}");
            return msg;
        }
        return NULL;
    }
    if (!strcmp(t, "referrer")) {
        static const char *const keys[] = {"type", "kind", "host", NULL};
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(o, "host");
        char url[300];
        if (cJSON_IsString(host))
            snprintf(url, sizeof url, "http://%.250s/", host->valuestring);
        if (!only_keys(o, keys) || (!kind && !host) ||
            (kind && !(cJSON_IsString(kind) && is_kind(kind->valuestring))) ||
            (host && !(cJSON_IsString(host) && !strchr(host->valuestring, ':') &&
                       strlen(host->valuestring) <= 250 && dni__url_http(url)))) {
            snprintf(msg, n, "a referrer rule is {\"type\":\"referrer\", "
                             "\"kind\": search|social|other|direct and/or "
                             "\"host\": a host name}");
            return msg;
        }
        return NULL;
    }
    if (!strcmp(t, "path")) {
        static const char *const keys[] = {"type", "prefix", NULL};
        const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(o, "prefix");
        if (!only_keys(o, keys) || !cJSON_IsString(prefix) ||
            prefix->valuestring[0] != '/' ||
            !text_ok(prefix->valuestring, MAX_RULE_TEXT)) {
            snprintf(msg, n, "a path rule is {\"type\":\"path\",\"prefix\":"
                             "\"/PREFIX\"}");
            return msg;
        }
        return NULL;
    }
    if (is_kind(t) || !strcmp(t, "always")) {
        static const char *const keys[] = {"type", NULL};
        if (!only_keys(o, keys)) {
            snprintf(msg, n, "a \"%s\" rule takes no other field", t);
            return msg;
        }
        return NULL;
    }
    snprintf(msg, n, "traffic_source type \"%.64s\" is not one the edge "
                     "knows (param, referrer, path, search, social, other, "
                     "direct, always)", t);
    return msg;
}

const char *dni__traffic_source_check(const cJSON *ts, char *msg, size_t n)
{
    if (!ts || cJSON_IsNull(ts))
        return NULL;
    if (cJSON_IsString(ts)) {
        if (!*ts->valuestring) {
            snprintf(msg, n, "traffic_source is null (all remaining traffic) "
                             "or a rule, not \"\"");
            return msg;
        }
        return string_rule(ts->valuestring, msg, n);
    }
    if (cJSON_IsObject(ts))
        return object_rule(ts, msg, n);
    if (cJSON_IsArray(ts)) {
        int count = cJSON_GetArraySize(ts);
        if (count < 1 || count > MAX_RULES) {
            snprintf(msg, n, "traffic_source lists 1..%d rules", MAX_RULES);
            return msg;
        }
        for (const cJSON *it = ts->child; it; it = it->next) {
            const char *e = cJSON_IsString(it)   ? string_rule(it->valuestring, msg, n)
                            : cJSON_IsObject(it) ? object_rule(it, msg, n)
                                                 : (snprintf(msg, n, "traffic_source lists rules: " RULES_HELP), msg);
            if (e)
                return e;
        }
        return NULL;
    }
    snprintf(msg, n, "traffic_source must be null, a rule or a list of "
                     "rules (" RULES_HELP ")");
    return msg;
}

const char *dni__number_field(cJSON *obj, const char *key, double def,
                              double min, double max, int integer, char *msg,
                              size_t msglen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        cJSON_AddNumberToObject(obj, key, def);
        return NULL;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble < min || v->valuedouble > max ||
        (integer && v->valuedouble != floor(v->valuedouble))) {
        snprintf(msg, msglen, "%s must be %s in %g..%g", key,
                 integer ? "a whole number" : "a number", min, max);
        return msg;
    }
    return NULL;
}
