/*
 * pool_telephony.c - a pool's telephony settings: checked, completed with
 * their defaults, and written back in one shape, so what is stored is what
 * the voice route and the lifecycle act on.
 *
 *   stockpile     numbers the pool always holds; missing ones are acquired
 *                 from the provider (at creation, and after any loss)
 *   provider      {kind: "inventory" | "twilio", country: "US",
 *                  toll_free: false, area_code: null}
 *   auto_scale    {enabled: false, step_s: 300, step_numbers: 1,
 *                  max: null (= number_limit)}
 *   forward_to    where calls to the pool's numbers are forwarded
 *                 (null: the default number)
 *   record_calls  record forwarded calls
 *   alert_url     where alerts are POSTed (Slack-compatible JSON), or null
 *
 * Shorthands accepted and written back whole: "provider": "twilio",
 * "auto_scale": true.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "origin.h"

/* Set by lifecycle.c once the Twilio provider is open. */
int dni__twilio_configured;

static int is_whole(const cJSON *v, double min, double max)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
           v->valuedouble >= min && v->valuedouble <= max &&
           v->valuedouble == floor(v->valuedouble);
}

/* Replaces (or adds) key of obj with v. */
static void put(cJSON *obj, const char *key, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
}

static int only_keys(const cJSON *obj, const char *const *keys, char *msg,
                     size_t msglen, const char *what)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        int ok = 0;
        for (int i = 0; keys[i]; i++)
            ok |= !strcmp(m->string, keys[i]);
        if (!ok) {
            snprintf(msg, msglen, "%s: unknown field '%.40s'", what, m->string);
            return -1;
        }
    }
    return 0;
}

static const char *check_provider(cJSON *pool, char *msg, size_t msglen)
{
    static const char *const keys[] = {"kind", "country", "toll_free",
                                       "area_code", NULL};
    cJSON *p = cJSON_GetObjectItemCaseSensitive(pool, "provider");
    cJSON *out = cJSON_CreateObject();
    const char *kind = "inventory", *country = "US", *area = NULL;
    int toll_free = 0;
    if (!p || cJSON_IsNull(p)) {
        /* defaults */
    } else if (cJSON_IsString(p)) {
        kind = p->valuestring;
    } else if (cJSON_IsObject(p)) {
        if (only_keys(p, keys, msg, msglen, "provider")) {
            cJSON_Delete(out);
            return msg;
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "kind");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "country");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "toll_free");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, "area_code");
        if (k && !cJSON_IsString(k)) {
            cJSON_Delete(out);
            snprintf(msg, msglen, "provider.kind must be \"inventory\" or \"twilio\"");
            return msg;
        }
        if (k)
            kind = k->valuestring;
        if (c && (!cJSON_IsString(c) || strlen(c->valuestring) != 2 ||
                  strspn(c->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2)) {
            cJSON_Delete(out);
            snprintf(msg, msglen, "provider.country must be two capital letters (ISO 3166, e.g. \"US\")");
            return msg;
        }
        if (c)
            country = c->valuestring;
        if (t && !cJSON_IsBool(t)) {
            cJSON_Delete(out);
            snprintf(msg, msglen, "provider.toll_free must be true or false");
            return msg;
        }
        toll_free = cJSON_IsTrue(t);
        if (a && !cJSON_IsNull(a)) {
            if (!cJSON_IsString(a) || !*a->valuestring ||
                strlen(a->valuestring) > 6 ||
                strspn(a->valuestring, "0123456789") != strlen(a->valuestring)) {
                cJSON_Delete(out);
                snprintf(msg, msglen, "provider.area_code must be 1..6 digits or null");
                return msg;
            }
            area = a->valuestring;
        }
    } else {
        cJSON_Delete(out);
        snprintf(msg, msglen, "provider must be an object {kind, country, "
                              "toll_free, area_code}");
        return msg;
    }
    if (strcmp(kind, "inventory") && strcmp(kind, "twilio")) {
        cJSON_Delete(out);
        snprintf(msg, msglen, "provider.kind must be \"inventory\" or \"twilio\"");
        return msg;
    }
    if (!strcmp(kind, "twilio") && !dni__twilio_configured) {
        cJSON_Delete(out);
        snprintf(msg, msglen, "provider \"twilio\" is not configured on this "
                              "origin (set DNI_TWILIO_ACCOUNT_SID and its "
                              "credentials, see --help)");
        return msg;
    }
    cJSON_AddStringToObject(out, "kind", kind);
    cJSON_AddStringToObject(out, "country", country);
    cJSON_AddBoolToObject(out, "toll_free", toll_free);
    if (area)
        cJSON_AddStringToObject(out, "area_code", area);
    else
        cJSON_AddNullToObject(out, "area_code");
    put(pool, "provider", out);
    return NULL;
}

static const char *check_auto_scale(cJSON *pool, double limit, char *msg,
                                    size_t msglen)
{
    static const char *const keys[] = {"enabled", "step_s", "step_numbers",
                                       "max", NULL};
    cJSON *a = cJSON_GetObjectItemCaseSensitive(pool, "auto_scale");
    int enabled = 0;
    double step_s = 300, step_numbers = 1;
    const cJSON *max = NULL;
    if (!a || cJSON_IsNull(a)) {
        /* defaults */
    } else if (cJSON_IsBool(a)) {
        enabled = cJSON_IsTrue(a);
    } else if (cJSON_IsObject(a)) {
        if (only_keys(a, keys, msg, msglen, "auto_scale"))
            return msg;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "enabled");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(a, "step_s");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "step_numbers");
        max = cJSON_GetObjectItemCaseSensitive(a, "max");
        if (e && !cJSON_IsBool(e)) {
            snprintf(msg, msglen, "auto_scale.enabled must be true or false");
            return msg;
        }
        enabled = cJSON_IsTrue(e);
        if (s && !(cJSON_IsNumber(s) && s->valuedouble >= 1 &&
                   s->valuedouble <= 86400)) {
            snprintf(msg, msglen, "auto_scale.step_s must be a number of seconds in 1..86400");
            return msg;
        }
        if (s)
            step_s = s->valuedouble;
        if (n && !is_whole(n, 1, 100)) {
            snprintf(msg, msglen, "auto_scale.step_numbers must be a whole number in 1..100");
            return msg;
        }
        if (n)
            step_numbers = n->valuedouble;
        if (max && !cJSON_IsNull(max)) {
            if (!is_whole(max, 0, 100000)) {
                snprintf(msg, msglen, "auto_scale.max must be a whole number or null");
                return msg;
            }
            if (max->valuedouble > limit) {
                snprintf(msg, msglen, "auto_scale.max (%g) exceeds number_limit (%g)",
                         max->valuedouble, limit);
                return msg;
            }
        } else {
            max = NULL;
        }
    } else {
        snprintf(msg, msglen, "auto_scale must be an object {enabled, step_s, "
                              "step_numbers, max} or true/false");
        return msg;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "enabled", enabled);
    cJSON_AddNumberToObject(out, "step_s", step_s);
    cJSON_AddNumberToObject(out, "step_numbers", step_numbers);
    if (max)
        cJSON_AddNumberToObject(out, "max", max->valuedouble);
    else
        cJSON_AddNullToObject(out, "max");
    put(pool, "auto_scale", out);
    return NULL;
}

const char *dni__telephony_validate(cJSON *pool, char *msg, size_t msglen)
{
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(pool, "number_limit");
    double limit = cJSON_IsNumber(lim) ? lim->valuedouble : 0;

    cJSON *sp = cJSON_GetObjectItemCaseSensitive(pool, "stockpile");
    if (!sp)
        sp = cJSON_AddNumberToObject(pool, "stockpile", 0);
    if (!is_whole(sp, 0, 10000)) {
        snprintf(msg, msglen, "stockpile must be a whole number in 0..10000");
        return msg;
    }
    if (sp->valuedouble > limit) {
        snprintf(msg, msglen, "stockpile (%g) exceeds number_limit (%g)",
                 sp->valuedouble, limit);
        return msg;
    }
    const char *e;
    if ((e = check_provider(pool, msg, msglen)) ||
        (e = check_auto_scale(pool, limit, msg, msglen)))
        return e;

    cJSON *fw = cJSON_GetObjectItemCaseSensitive(pool, "forward_to");
    if (!fw || cJSON_IsNull(fw)) {
        put(pool, "forward_to", cJSON_CreateNull());
    } else {
        dni_phone_t ph;
        if (!cJSON_IsString(fw) ||
            dni_phone_parse(&ph, fw->valuestring, strlen(fw->valuestring),
                            NULL) != DNI_OK) {
            snprintf(msg, msglen, "forward_to must be a phone number or null");
            return msg;
        }
        cJSON_SetValuestring(fw, ph.e164);
        /* Forwarding to one of the pool's own tracking numbers would ring
         * this route again, forever. */
        const cJSON *nums = cJSON_GetObjectItemCaseSensitive(pool, "numbers");
        const cJSON *ovf = cJSON_GetObjectItemCaseSensitive(pool, "overflow_number");
        int loop = cJSON_IsString(ovf) && !strcmp(ovf->valuestring, ph.e164);
        for (const cJSON *it = nums ? nums->child : NULL; it && !loop; it = it->next)
            loop = cJSON_IsString(it) && !strcmp(it->valuestring, ph.e164);
        if (loop) {
            snprintf(msg, msglen, "forward_to must not be one of the pool's "
                                  "tracking numbers (calls would loop)");
            return msg;
        }
    }
    cJSON *rec = cJSON_GetObjectItemCaseSensitive(pool, "record_calls");
    if (!rec)
        cJSON_AddFalseToObject(pool, "record_calls");
    else if (!cJSON_IsBool(rec)) {
        snprintf(msg, msglen, "record_calls must be true or false");
        return msg;
    }
    cJSON *au = cJSON_GetObjectItemCaseSensitive(pool, "alert_url");
    if (!au) {
        cJSON_AddNullToObject(pool, "alert_url");
    } else if (!cJSON_IsNull(au)) {
        if (!cJSON_IsString(au) || strlen(au->valuestring) > 2000 ||
            (strncmp(au->valuestring, "http://", 7) &&
             strncmp(au->valuestring, "https://", 8))) {
            snprintf(msg, msglen, "alert_url must be an http(s) URL of at most "
                                  "2000 bytes, or null");
            return msg;
        }
    }
    return NULL;
}
