/*
 * pool_snippet.c - the pool settings the edge reads for the browser
 * snippet: consent_required and consent_cookie (no lease until the
 * visitor's consent cookie is present) and site_origins (the sites on
 * other origins than the edge that may ask it for numbers from a browser,
 * docs/snippet.md).
 */
#include <stdio.h>
#include <string.h>

#include "origin.h"

#define MAX_SITE_ORIGINS 32

/* "http(s)://host[:port]" with nothing after: the form of an Origin
 * header, which the edge compares byte for byte. */
static int is_origin(const char *s)
{
    const char *h = !strncmp(s, "https://", 8) ? s + 8
                    : !strncmp(s, "http://", 7) ? s + 7
                                                : NULL;
    if (!h || !*h || strlen(s) > 200)
        return 0;
    return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-:[]") == strlen(h);
}

const char *dni__pool_snippet_validate(cJSON *pool, char *msg, size_t msglen)
{
    cJSON *cr = cJSON_GetObjectItemCaseSensitive(pool, "consent_required");
    if (!cr)
        cJSON_AddFalseToObject(pool, "consent_required");
    else if (!cJSON_IsBool(cr)) {
        snprintf(msg, msglen, "consent_required must be true or false");
        return msg;
    }
    cJSON *cc = cJSON_GetObjectItemCaseSensitive(pool, "consent_cookie");
    if (!cc)
        cJSON_AddStringToObject(pool, "consent_cookie", "dni_consent");
    else if (!cJSON_IsString(cc) || !*cc->valuestring ||
             strlen(cc->valuestring) > 64 ||
             strspn(cc->valuestring,
                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-") != strlen(cc->valuestring)) {
        snprintf(msg, msglen,
                 "consent_cookie must be a cookie name (letters, digits, _ -)");
        return msg;
    }
    cJSON *so = cJSON_GetObjectItemCaseSensitive(pool, "site_origins");
    if (!so) {
        cJSON_AddItemToObject(pool, "site_origins", cJSON_CreateArray());
        return NULL;
    }
    if (!cJSON_IsArray(so) || cJSON_GetArraySize(so) > MAX_SITE_ORIGINS) {
        snprintf(msg, msglen, "site_origins must be a list of at most %d origins",
                 MAX_SITE_ORIGINS);
        return msg;
    }
    for (cJSON *it = so->child; it; it = it->next) {
        if (!cJSON_IsString(it) || !is_origin(it->valuestring)) {
            snprintf(msg, msglen,
                     "site_origins: '%.60s' is not an origin like https://www.example.com",
                     cJSON_IsString(it) ? it->valuestring : "(not a string)");
            return msg;
        }
    }
    return NULL;
}
