/*
 * sim.c - `dni sim`: reads a pool (JSON) and a traffic trace (JSON lines),
 * feeds them to the simulator core and prints its report.
 *
 *   dni sim --pool POOL.json [--size N] [--recommend ACCURACY] [TRACE.jsonl]
 *
 * All parsing happens here, with cJSON; the core only sees plain values,
 * so a JavaScript front end feeding the WebAssembly build the same values
 * prints the same report. Exit status: 0 ok, 1 I/O error, 2 usage error or
 * bad input (one line on stderr saying what and, for the trace, which line).
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dni.h"

#define USAGE                                                                  \
    "usage: dni sim --pool POOL.json [--size N] [--recommend ACCURACY] "       \
    "[TRACE.jsonl]\n"

static int fail(int status, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "dni sim: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return status;
}

/* Reads a whole file; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            char *b = realloc(buf, cap * 2);
            if (b == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (buf == NULL || err) {
        free(buf);
        errno = err ? EIO : ENOMEM;
        return NULL;
    }
    *len = n;
    return buf;
}

static int get_seconds(const cJSON *pool, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(pool, key);
    if (v == NULL)
        return 1;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* Reads the pool object into the simulator settings and numbers.
 * Returns 0, or 2 after printing why. */
static int load_pool(const char *path, const char *text, size_t len,
                     dni_pool_settings_t *s, cJSON **out)
{
    cJSON *pool = cJSON_ParseWithLength(text, len);
    if (pool == NULL)
        return fail(2, "%s: malformed JSON%s", path, "");
    *out = pool;
    if (!cJSON_IsObject(pool))
        return fail(2, "%s: the pool must be a JSON object%s", path, "");
    dni_pool_settings_init(s);
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(pool, "mode");
    if (mode != NULL) {
        if (cJSON_IsString(mode) && strcmp(mode->valuestring, "visitor") == 0)
            s->mode = DNI_MODE_VISITOR;
        else if (cJSON_IsString(mode) && strcmp(mode->valuestring, "tags") == 0)
            s->mode = DNI_MODE_TAGS;
        else
            return fail(2, "%s: mode must be \"visitor\" or \"tags\"%s", path,
                        "");
    }
    static const char *const timers[] = {"buffer_s", "max_lease_s",
                                         "min_hold_s", "sticky_s",
                                         "attribution_window_s",
                                         "unconfirmed_hold_s"};
    double *fields[] = {&s->buffer_s,   &s->max_lease_s,
                        &s->min_hold_s, &s->sticky_s,
                        &s->attribution_window_s, &s->unconfirmed_hold_s};
    for (size_t i = 0; i < 6; i++)
        if (!get_seconds(pool, timers[i], fields[i]))
            return fail(2, "%s: %s must be a number of seconds >= 0", path,
                        timers[i]);
    const cJSON *nums = cJSON_GetObjectItemCaseSensitive(pool, "numbers");
    if (!cJSON_IsArray(nums))
        return fail(2, "%s: numbers must be an array of E.164 numbers%s", path,
                    "");
    const cJSON *n;
    cJSON_ArrayForEach(n, nums)
    {
        if (!cJSON_IsString(n))
            return fail(2, "%s: numbers must be an array of E.164 numbers%s",
                        path, "");
    }
    static const char *const single[] = {"default_number", "overflow_number"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(pool, single[i]);
        dni_phone_t ph;
        if (d == NULL || cJSON_IsNull(d))
            continue;
        if (!cJSON_IsString(d) ||
            dni_phone_parse(&ph, d->valuestring, strlen(d->valuestring),
                            NULL) != DNI_OK ||
            strcmp(ph.e164, d->valuestring) != 0)
            return fail(2, "%s: %s is not an E.164 number", path, single[i]);
    }
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(pool, "tracked_tags");
    if (tags != NULL) {
        const cJSON *t;
        if (!cJSON_IsArray(tags))
            return fail(2, "%s: tracked_tags must be an array of names%s",
                        path, "");
        cJSON_ArrayForEach(t, tags)
        {
            if (!cJSON_IsString(t))
                return fail(2, "%s: tracked_tags must be an array of names%s",
                            path, "");
        }
    }
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(pool, "number_limit");
    if (limit != NULL &&
        (!cJSON_IsNumber(limit) || limit->valuedouble < 0 ||
         limit->valuedouble > 4294967295.0 ||
         limit->valuedouble != floor(limit->valuedouble)))
        return fail(2, "%s: number_limit must be a whole number >= 0%s", path,
                    "");
    if (limit != NULL)
        s->number_limit = (uint32_t)limit->valuedouble;
    return 0;
}

static int parse_count(const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
        v > 100000000ULL)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* Feeds one trace line to the simulator. Returns NULL or an error text. */
static const char *feed_line(dni_sim_t *sim, const char *line, size_t len)
{
    static char why[160];
    cJSON *ev = cJSON_ParseWithLength(line, len);
    const char *err = NULL;
    if (ev == NULL || !cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        return "malformed JSON";
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "t");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "ev");
    const cJSON *visitor = cJSON_GetObjectItemCaseSensitive(ev, "visitor");
    if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble)) {
        err = "\"t\" must be a number of seconds";
    } else if (!cJSON_IsString(type)) {
        err = "\"ev\" must be a string";
    } else if (!cJSON_IsString(visitor)) {
        err = "\"visitor\" must be a string";
    }
    int rc = DNI_OK;
    if (err == NULL) {
        const char *v = visitor->valuestring;
        size_t vl = strlen(v);
        double at = t->valuedouble;
        if (strcmp(type->valuestring, "visit") == 0) {
            const cJSON *tags = cJSON_GetObjectItemCaseSensitive(ev, "tags");
            const cJSON *tag;
            if (tags != NULL && !cJSON_IsObject(tags)) {
                err = "\"tags\" must be an object";
                tags = NULL;
            }
            cJSON_ArrayForEach(tag, tags)
            {
                if (!cJSON_IsString(tag)) {
                    err = "tag values must be strings";
                    break;
                }
                rc = dni_sim_tag(sim, tag->string, strlen(tag->string),
                                 tag->valuestring, strlen(tag->valuestring));
                if (rc < 0)
                    break;
            }
            if (err == NULL && rc == DNI_OK)
                rc = dni_sim_visit(sim, at, v, vl);
        } else if (strcmp(type->valuestring, "hb") == 0) {
            rc = dni_sim_hb(sim, at, v, vl);
        } else if (strcmp(type->valuestring, "leave") == 0) {
            rc = dni_sim_leave(sim, at, v, vl);
        } else if (strcmp(type->valuestring, "call") == 0) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "duration");
            double dur = 0;
            if (d != NULL && (!cJSON_IsNumber(d) || !isfinite(d->valuedouble) ||
                              d->valuedouble < 0))
                err = "\"duration\" must be a number of seconds >= 0";
            else if (d != NULL)
                dur = d->valuedouble;
            if (err == NULL)
                rc = dni_sim_call(sim, at, v, vl, dur);
        } else {
            snprintf(why, sizeof why, "unknown event type \"%.60s\"",
                     type->valuestring);
            err = why;
        }
    }
    if (err == NULL && rc == DNI_EORDER)
        err = "events out of time order";
    else if (err == NULL && rc < 0)
        err = dni_strerror(rc);
    cJSON_Delete(ev);
    return err;
}

static int run(const char *pool_path, const char *trace_path, uint32_t size,
               int have_size, double recommend)
{
    size_t plen;
    char *ptext = read_file(pool_path, &plen);
    if (ptext == NULL)
        return fail(1, "%s: %s", pool_path, strerror(errno));
    dni_pool_settings_t s;
    cJSON *pool = NULL;
    int status = load_pool(pool_path, ptext, plen, &s, &pool);
    free(ptext);
    dni_sim_t *sim = NULL;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    if (status != 0)
        goto done;
    if (dni_sim_create(&sim, &s, NULL) != DNI_OK) {
        status = fail(2, "%s: invalid pool settings%s", pool_path, "");
        goto done;
    }
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(pool, "numbers"))
    {
        int rc = dni_sim_add_number(sim, n->valuestring, strlen(n->valuestring));
        if (rc == DNI_EEXISTS) {
            status = fail(2, "%s: %s is listed twice", pool_path, n->valuestring);
            goto done;
        }
        if (rc < 0) {
            status = fail(2, "%s: %s is not an E.164 number", pool_path,
                          n->valuestring);
            goto done;
        }
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(pool, "tracked_tags"))
    {
        if (dni_sim_track_tag(sim, t->valuestring, strlen(t->valuestring)) < 0) {
            status = fail(1, "%s%s", "out of memory", "");
            goto done;
        }
    }
    if (!have_size) {
        size = dni_sim_numbers(sim);
        if (s.number_limit > 0 && s.number_limit < size)
            size = s.number_limit;
    }
    const char *tname = trace_path ? trace_path : "stdin";
    in = trace_path ? fopen(trace_path, "rb") : stdin;
    if (in == NULL) {
        status = fail(1, "%s: %s", trace_path, strerror(errno));
        goto done;
    }
    unsigned long lineno = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                           line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        size_t start = 0;
        while (start < len && (line[start] == ' ' || line[start] == '\t'))
            start++;
        if (start == len)
            continue; /* blank lines are allowed */
        if (memchr(line + start, '\0', len - start) != NULL) {
            char where[32];
            snprintf(where, sizeof where, "%lu", lineno);
            status = fail(2, "%s:%s: malformed JSON", tname, where);
            goto done;
        }
        const char *err = feed_line(sim, line + start, len - start);
        if (err != NULL) {
            char where[32];
            snprintf(where, sizeof where, "%lu", lineno);
            fprintf(stderr, "dni sim: %s:%s: %s\n", tname, where, err);
            status = 2;
            goto done;
        }
    }
    if (ferror(in)) {
        status = fail(1, "%s: %s", tname, "read error");
        goto done;
    }
    size_t rcap = 1024, rlen = 0;
    char *report = malloc(rcap);
    if (report == NULL) {
        status = fail(1, "%s%s", "out of memory", "");
        goto done;
    }
    int rc = dni_sim_report(sim, size, recommend, report, rcap, &rlen);
    if (rc == DNI_ELIMIT && rlen >= rcap) {
        free(report);
        rcap = rlen + 1;
        report = malloc(rcap);
        rc = report ? dni_sim_report(sim, size, recommend, report, rcap, &rlen)
                    : DNI_ENOMEM;
    }
    if (rc != DNI_OK) {
        free(report);
        status = fail(rc == DNI_ENOMEM ? 1 : 2, "%s%s", dni_strerror(rc), "");
        goto done;
    }
    if (fwrite(report, 1, rlen, stdout) != rlen || fflush(stdout) != 0)
        status = fail(1, "%s%s", "cannot write the report", "");
    free(report);
done:
    free(line);
    if (in != NULL && in != stdin)
        fclose(in);
    dni_sim_destroy(sim);
    cJSON_Delete(pool);
    return status;
}

int cli_sim(int argc, char **argv)
{
    const char *pool = NULL, *trace = NULL;
    uint32_t size = 0;
    int have_size = 0;
    double recommend = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(a, "--pool") == 0 || strcmp(a, "--size") == 0 ||
            strcmp(a, "--recommend") == 0) {
            if (i + 1 >= argc)
                return fail(2, "%s needs a value%s", a, "");
            const char *v = argv[++i];
            if (a[2] == 'p') {
                pool = v;
            } else if (a[2] == 's') {
                if (!parse_count(v, &size) || size == 0)
                    return fail(2, "--size must be a whole number from 1 to "
                                   "100000000, not \"%s\"%s",
                                v, "");
                have_size = 1;
            } else {
                char *end;
                recommend = strtod(v, &end);
                if (end == v || *end != '\0' || !(recommend >= 0) ||
                    recommend > 1)
                    return fail(2, "--recommend must be an accuracy from 0 to "
                                   "1, not \"%s\"%s",
                                v, "");
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return fail(2, "unknown option %s%s", a, "");
        } else if (trace != NULL) {
            return fail(2, "only one trace file, got %s and %s", trace, a);
        } else {
            trace = a;
        }
    }
    if (pool == NULL) {
        fputs("dni sim: --pool is required\n" USAGE, stderr);
        return 2;
    }
    return run(pool, trace, size, have_size, recommend);
}
