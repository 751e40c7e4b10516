/*
 * test_scaling.c - the number lifecycle's rules (origin/src/scaling.c)
 * without a clock: auto-scaling up to its max, the stockpile, the search
 * order (local in the area code, then toll-free), the scale-down filters,
 * its 20 % cap and 30-day freeze, month boundaries, the alert rules
 * (pool too small, not swapping, one per window); and
 * the telephony settings' validation.
 */
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "origin.h"
#include "scaling.h"

#define DAY 86400.0

static double utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (double)timegm(&tm);
}

static void test_scale_up(void)
{
    dni_scale_up_in_t in = {1, 1, 10, 5, 3};
    CHECK_INT(dni__scale_up_count(&in), 1); /* one per step, as the default */
    in.overflows = 0;
    CHECK_INT(dni__scale_up_count(&in), 0); /* no overflow, no growth */
    in.overflows = 1000;
    in.step_numbers = 3;
    CHECK_INT(dni__scale_up_count(&in), 3);
    in.numbers = 9;
    CHECK_INT(dni__scale_up_count(&in), 1); /* never past max */
    in.numbers = 10;
    CHECK_INT(dni__scale_up_count(&in), 0);
    in.numbers = 12; /* above max (max lowered by hand): nothing */
    CHECK_INT(dni__scale_up_count(&in), 0);
    in.numbers = 5;
    in.enabled = 0;
    CHECK_INT(dni__scale_up_count(&in), 0);
    in.enabled = 1;
    in.step_numbers = 0; /* treated as the default, one */
    CHECK_INT(dni__scale_up_count(&in), 1);

    /* One number per step up to the limit, step after step. */
    dni_scale_up_in_t run = {1, 1, 4, 1, 1};
    int steps = 0;
    while (dni__scale_up_count(&run) && steps < 100) {
        run.numbers += dni__scale_up_count(&run);
        steps++;
    }
    CHECK_INT(steps, 3);
    CHECK_INT(run.numbers, 4);

    CHECK_INT(dni__stockpile_missing(0, 5, 10), 5);
    CHECK_INT(dni__stockpile_missing(3, 5, 10), 2);
    CHECK_INT(dni__stockpile_missing(7, 5, 10), 0);
    CHECK_INT(dni__stockpile_missing(0, 5, 2), 2); /* never past the limit */

    /* Steps: [i * s, (i + 1) * s); the step that just ended is index - 1. */
    CHECK_INT(dni__step_index(0, 300), 0);
    CHECK_INT(dni__step_index(299.9, 300), 0);
    CHECK_INT(dni__step_index(300, 300), 1);
    CHECK_INT(dni__step_index(1700000123, 300), 5666667);
    CHECK_INT(dni__step_index(5, 0), 0);
}

static void test_search_plan(void)
{
    dni_search_step_t s[2];
    /* Local in the area code first, then toll-free. */
    CHECK_INT(dni__search_plan(0, "415", s), 2);
    CHECK_INT(s[0].toll_free, 0);
    CHECK_STR(s[0].area_code, "415");
    CHECK_INT(s[1].toll_free, 1);
    CHECK(s[1].area_code == NULL);
    /* No area code: any local number, then toll-free. */
    CHECK_INT(dni__search_plan(0, NULL, s), 2);
    CHECK(s[0].area_code == NULL);
    CHECK_INT(s[0].toll_free, 0);
    CHECK_INT(dni__search_plan(0, "", s), 2);
    CHECK(s[0].area_code == NULL);
    /* A toll-free pool: toll-free only. */
    CHECK_INT(dni__search_plan(1, "415", s), 1);
    CHECK_INT(s[0].toll_free, 1);
}

/* A pool of n releasable numbers, all idle for a long time. */
static dni_number_use_t *idle_pool(size_t n, double now)
{
    dni_number_use_t *u = calloc(n, sizeof *u);
    for (size_t i = 0; i < n; i++) {
        u[i].acquired_at = now - 60 * DAY;
        u[i].last_shown = now - 20 * DAY - (double)i; /* later ones older */
        u[i].last_called = now - 30 * DAY;
        u[i].releasable = 1;
    }
    return u;
}

static void test_scale_down(void)
{
    double now = utc(2026, 12, 1, 0, 0, 30);
    dni_scale_down_policy_t p;
    dni__scale_down_policy_init(&p);
    size_t out[64];
    const char *why = NULL;

    /* 20 idle numbers: at most 20 % (4) at once, longest idle first. */
    dni_number_use_t *u = idle_pool(20, now);
    dni_scale_down_in_t in = {u, 20, 0, 0, 0, DAY, now};
    size_t k = dni__scale_down_select(&in, &p, out, 64, &why);
    CHECK_INT(k, 4);
    CHECK_INT(out[0], 19);
    CHECK_INT(out[3], 16);

    /* The cap counts what this month already released. */
    in.n = 17;
    in.released_this_month = 3; /* the pool had 20: 4 allowed, 3 done */
    k = dni__scale_down_select(&in, &p, out, 64, &why);
    CHECK_INT(k, 1);
    in.released_this_month = 4;
    in.n = 16;
    k = dni__scale_down_select(&in, &p, out, 64, &why);
    CHECK_INT(k, 0);
    CHECK(strstr(why, "cap") != NULL);
    in.released_this_month = 0;
    in.n = 20;

    /* A small pool: 20 % of 4 rounds down to none. */
    in.n = 4;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 0);
    in.n = 5;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 1);
    in.n = 20;

    /* The 30-day freeze after an overflow. */
    in.last_overflow = now - 29 * DAY;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 0);
    CHECK(strstr(why, "frozen") != NULL);
    in.last_overflow = now - 30 * DAY - 1;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 4);
    in.last_overflow = 0;

    /* Never below the stockpile. */
    in.stockpile = 18;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 2);
    in.stockpile = 20;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 0);
    in.stockpile = 0;

    /* The per-number filters, one number each among idle ones. */
    free(u);
    u = idle_pool(10, now);
    in.numbers = u;
    in.n = 10;
    p.max_share = 1.0; /* look at the filters alone */
    u[0].last_shown = now - 4 * DAY;     /* shown 4 days ago: kept */
    u[1].last_called = now - 9 * DAY;    /* called 9 days ago: kept */
    u[2].live_lease = 1;                 /* a live lease: kept */
    u[3].on_hold = 1;                    /* a call in progress: kept */
    u[4].releasable = 0;                 /* listed by hand: kept */
    u[5].last_shown = 0;                 /* never shown, acquired 2 days ago */
    u[5].acquired_at = now - 2 * DAY;    /* : kept */
    u[6].last_shown = now - 5 * DAY - 1; /* just past 5 days: released */
    u[6].last_called = now - 10 * DAY - 1;
    k = dni__scale_down_select(&in, &p, out, 64, &why);
    CHECK_INT(k, 4); /* 6, 7, 8, 9 */
    int seen[10] = {0};
    for (size_t i = 0; i < k; i++)
        seen[out[i]] = 1;
    CHECK(seen[6] && seen[7] && seen[8] && seen[9]);
    CHECK(!seen[0] && !seen[1] && !seen[2] && !seen[3] && !seen[4] && !seen[5]);
    /* Longest idle first: 9 was shown longest ago, 6 most recently. */
    CHECK_INT(out[0], 9);
    CHECK_INT(out[k - 1], 6);

    /* A late call could still be attributed within the attribution
     * window: a pool with a 7-day window keeps a number shown 6 days ago. */
    in.attribution_window_s = 7 * DAY;
    u[6].last_shown = now - 6 * DAY;
    k = dni__scale_down_select(&in, &p, out, 64, &why);
    CHECK_INT(k, 3);
    free(u);

    /* Nothing idle. */
    u = idle_pool(10, now);
    for (int i = 0; i < 10; i++)
        u[i].last_shown = now - 3600;
    in.numbers = u;
    in.attribution_window_s = DAY;
    CHECK_INT(dni__scale_down_select(&in, &p, out, 64, &why), 0);
    CHECK(strstr(why, "idle") != NULL);
    free(u);
}

static void test_months(void)
{
    char key[8];
    dni__month_key(utc(2026, 1, 1, 0, 0, 0), key);
    CHECK_STR(key, "2026-01");
    dni__month_key(utc(2025, 12, 31, 23, 59, 59), key);
    CHECK_STR(key, "2025-12");
    CHECK(dni__month_start(utc(2024, 2, 29, 12, 0, 0)) == utc(2024, 2, 1, 0, 0, 0));
    CHECK(dni__month_start(utc(2024, 3, 1, 0, 0, 0)) == utc(2024, 3, 1, 0, 0, 0));

    /* Year boundary: on 1 January the month that ended is December. */
    double created = utc(2025, 6, 10, 0, 0, 0);
    CHECK_INT(dni__month_end_due(utc(2026, 1, 1, 0, 0, 1), created, key), 1);
    CHECK_STR(key, "2025-12");
    /* The last second of the month still belongs to it: the month before
     * is the one due. */
    CHECK_INT(dni__month_end_due(utc(2025, 12, 31, 23, 59, 59), created, key), 1);
    CHECK_STR(key, "2025-11");
    /* Leap February. */
    CHECK_INT(dni__month_end_due(utc(2024, 3, 1, 0, 0, 0), utc(2024, 1, 5, 0, 0, 0), key), 1);
    CHECK_STR(key, "2024-02");
    CHECK_INT(dni__month_end_due(utc(2024, 2, 29, 23, 0, 0), utc(2024, 1, 5, 0, 0, 0), key), 1);
    CHECK_STR(key, "2024-01");
    /* A pool created this month has no month end behind it yet. */
    CHECK_INT(dni__month_end_due(utc(2026, 3, 20, 0, 0, 0), utc(2026, 3, 2, 0, 0, 0), key), 0);
    /* Created the last second of last month: it existed at its end. */
    CHECK_INT(dni__month_end_due(utc(2026, 3, 1, 0, 0, 5), utc(2026, 2, 28, 23, 59, 59), key), 1);
    CHECK_STR(key, "2026-02");
    /* Created at the first second of this month: not due. */
    CHECK_INT(dni__month_end_due(utc(2026, 3, 1, 0, 0, 5), utc(2026, 3, 1, 0, 0, 0), key), 0);
}

static void test_alerts(void)
{
    CHECK(dni__quiet_window(0) == 0);
    CHECK(dni__quiet_window(0.5) == 0);
    CHECK(dni__quiet_window(1) == 4 * 3600);
    CHECK(dni__quiet_window(99) == 4 * 3600);
    CHECK(dni__quiet_window(100) == 3600);
    CHECK(dni__quiet_window(330) == 3600);
    CHECK(dni__quiet_window(331) == 900);
    CHECK(dni__quiet_window(50000) == 900);

    CHECK(dni__alert_allowed(0, 1000, 3600));
    CHECK(!dni__alert_allowed(1000, 1000 + 3599, 3600));
    CHECK(dni__alert_allowed(1000, 1000 + 3600, 3600));

    /* Pool too small: five overflows in the window, only when
     * auto-scaling cannot grow the pool. */
    CHECK(dni__too_small(0, 10, 10, 5));
    CHECK(!dni__too_small(0, 10, 10, 4));
    CHECK(!dni__too_small(1, 9, 10, 500)); /* auto-scaling's job */
    CHECK(dni__too_small(1, 10, 10, 5));   /* at its max */
    CHECK(dni__too_small(1, 12, 10, 5));   /* above it (max lowered) */

    /* Not swapping: the window follows the usual traffic. */
    double now = 1800000000, per_day, win;
    /* 20 leases over two days (10 a day), the last 5 h ago: 4 h window. */
    CHECK(dni__not_swapping(20, now - 2 * DAY, now - 5 * 3600, now, &per_day, &win));
    CHECK(per_day == 10);
    CHECK(win == 4 * 3600);
    /* The last 3 h ago: not yet. */
    CHECK(!dni__not_swapping(20, now - 2 * DAY, now - 3 * 3600, now, &per_day, &win));
    /* 1,400 over 7 days (200 a day): 1 h; 70 minutes quiet is enough. */
    CHECK(dni__not_swapping(1400, now - 7 * DAY, now - 70 * 60, now, &per_day, &win));
    CHECK(win == 3600);
    CHECK(!dni__not_swapping(1400, now - 7 * DAY, now - 50 * 60, now, &per_day, &win));
    /* 7,000 over 7 days (1,000 a day): 15 minutes. */
    CHECK(dni__not_swapping(7000, now - 7 * DAY, now - 16 * 60, now, &per_day, &win));
    CHECK(win == 900);
    /* A few leases in the last hours count as at least a day: 3 leases,
     * 3 a day, 4 h window. */
    CHECK(!dni__not_swapping(3, now - 3600, now - 1800, now, &per_day, &win));
    CHECK(per_day == 3);
    /* Under one a day: quiet days are normal, never raised. */
    CHECK(!dni__not_swapping(5, now - 7 * DAY, now - 6 * DAY, now, &per_day, &win));
    CHECK(win == 0);
    /* No lease at all in 7 days: nothing to compare with. */
    CHECK(!dni__not_swapping(0, 0, 0, now, &per_day, &win));
}

/* Validation through dni__pool_validate (which calls the telephony
 * part): shorthands written back whole, refusals with a reason. */
static const char *validate(const char *json, cJSON **out)
{
    static char msg[256];
    cJSON *p = cJSON_Parse(json);
    const char *e = dni__pool_validate(p, msg, sizeof msg);
    if (out)
        *out = p;
    else
        cJSON_Delete(p);
    return e;
}

static void test_settings(void)
{
    cJSON *p = NULL;
    CHECK(validate("{\"numbers\":[\"+14155550101\"],\"default_number\":\"+18005551234\"}", &p) == NULL);
    const cJSON *prov = cJSON_GetObjectItem(p, "provider");
    CHECK_STR(cJSON_GetObjectItem(prov, "kind")->valuestring, "inventory");
    CHECK_STR(cJSON_GetObjectItem(prov, "country")->valuestring, "US");
    const cJSON *as = cJSON_GetObjectItem(p, "auto_scale");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(as, "enabled")));
    CHECK(cJSON_GetObjectItem(as, "step_s")->valuedouble == 300);
    CHECK(cJSON_GetObjectItem(as, "step_numbers")->valuedouble == 1);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(as, "max")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(p, "forward_to")));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(p, "record_calls")));
    CHECK(cJSON_GetObjectItem(p, "stockpile")->valuedouble == 0);
    cJSON_Delete(p);

    /* Shorthands; the stockpile raises number_limit's default. */
    CHECK(validate("{\"numbers\":[],\"default_number\":\"+18005551234\","
                   "\"auto_scale\":true,\"provider\":\"inventory\",\"stockpile\":3,"
                   "\"forward_to\":\"(415) 555-0199\"}", &p) == NULL);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "auto_scale"), "enabled")));
    CHECK(cJSON_GetObjectItem(p, "number_limit")->valuedouble == 3);
    CHECK_STR(cJSON_GetObjectItem(p, "forward_to")->valuestring, "+14155550199");
    cJSON_Delete(p);

    const char *e;
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"provider\":\"twilio\"}", NULL);
    CHECK(e && strstr(e, "not configured"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"provider\":{\"kind\":\"acme\"}}", NULL);
    CHECK(e && strstr(e, "provider.kind"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"provider\":{\"area_code\":\"41a\"}}", NULL);
    CHECK(e && strstr(e, "area_code"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"provider\":{\"colour\":1}}", NULL);
    CHECK(e && strstr(e, "unknown field"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"number_limit\":2,\"stockpile\":3}", NULL);
    CHECK(e && strstr(e, "stockpile"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"number_limit\":2,"
                 "\"auto_scale\":{\"enabled\":true,\"max\":5}}", NULL);
    CHECK(e && strstr(e, "auto_scale.max"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"auto_scale\":{\"step_s\":0}}", NULL);
    CHECK(e && strstr(e, "step_s"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"auto_scale\":{\"step_numbers\":1.5}}", NULL);
    CHECK(e && strstr(e, "step_numbers"));
    e = validate("{\"numbers\":[\"+14155550101\"],\"default_number\":\"+18005551234\","
                 "\"forward_to\":\"+14155550101\"}", NULL);
    CHECK(e && strstr(e, "loop"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"forward_to\":\"call me\"}", NULL);
    CHECK(e && strstr(e, "forward_to"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"record_calls\":1}", NULL);
    CHECK(e && strstr(e, "record_calls"));
    e = validate("{\"numbers\":[],\"default_number\":\"+18005551234\",\"alert_url\":\"ftp://x\"}", NULL);
    CHECK(e && strstr(e, "alert_url"));
    CHECK(validate("{\"numbers\":[],\"default_number\":\"+18005551234\","
                   "\"alert_url\":\"https://hooks.slack.com/services/T/B/X\"}", NULL) == NULL);

    /* Once the Twilio provider is configured, it is accepted. */
    dni__twilio_configured = 1;
    CHECK(validate("{\"numbers\":[],\"default_number\":\"+18005551234\","
                   "\"provider\":{\"kind\":\"twilio\",\"area_code\":\"415\"}}", NULL) == NULL);
    dni__twilio_configured = 0;
}

int main(void)
{
    test_scale_up();
    test_search_plan();
    test_scale_down();
    test_months();
    test_alerts();
    test_settings();
    return harness_report();
}
