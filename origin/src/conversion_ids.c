/*
 * conversion_ids.c - the identifiers an ad platform needs to credit a
 * call: the click ids of the session's landing URL (gclid, gbraid,
 * wbraid, msclkid, fbclid, ttclid, and a generic clickid of affiliate
 * networks) and the Google Analytics client and session ids the edge read
 * from the page request's first-party cookies (session tags ga_client_id
 * and ga_session_id).
 *
 * The edge records the URL parameters as session tags (its built-in
 * parameter map); the landing URL is read as well, so a session whose tags
 * were mapped to other names by a pool's param_map still has its ids.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "origin.h"

/* In the order {clickid} tries them: a network's own clickid first, then
 * the ad platforms'. */
static const char *const click_keys[] = {"clickid", "gclid",  "gbraid",
                                         "wbraid",  "msclkid", "fbclid",
                                         "ttclid",  NULL};

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The decoded value of query parameter name in url (malloc'ed), or NULL. */
static char *url_param(const char *url, const char *name)
{
    const char *q = url ? strchr(url, '?') : NULL;
    if (!q)
        return NULL;
    size_t nl = strlen(name);
    for (const char *p = q + 1; *p && *p != '#';) {
        size_t len = strcspn(p, "&#");
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = len - nl - 1;
            char *out = malloc(vl + 1);
            if (!out)
                return NULL;
            size_t k = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] == '%' && i + 2 < vl && hexval(v[i + 1]) >= 0 &&
                    hexval(v[i + 2]) >= 0) {
                    out[k++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
                    i += 2;
                } else {
                    out[k++] = v[i] == '+' ? ' ' : v[i];
                }
            }
            out[k] = 0;
            if (k)
                return out;
            free(out);
            return NULL;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return NULL;
}

cJSON *dni__click_ids(const cJSON *tags, const char *url)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; click_keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tags, click_keys[i]);
        if (cJSON_IsString(v) && *v->valuestring) {
            cJSON_AddStringToObject(o, click_keys[i], v->valuestring);
            continue;
        }
        char *p = url_param(url, click_keys[i]);
        if (p)
            cJSON_AddStringToObject(o, click_keys[i], p);
        free(p);
    }
    static const char *const ga_keys[] = {"ga_client_id", "ga_session_id", NULL};
    for (int i = 0; ga_keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tags, ga_keys[i]);
        if (cJSON_IsString(v) && *v->valuestring)
            cJSON_AddStringToObject(o, ga_keys[i], v->valuestring);
    }
    return o;
}

const char *dni__click_id(const cJSON *ids)
{
    for (int i = 0; click_keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ids, click_keys[i]);
        if (cJSON_IsString(v))
            return v->valuestring;
    }
    return "";
}
