/*
 * test_json_in.c - the strict JSON reader: what it accepts prints back to
 * the same canonical text; every refusal has its status and names the key.
 * Also random byte mutations of valid bodies: never a crash, and whatever
 * is accepted is valid UTF-8 all through.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "origin.h"

static int parse_status(const char *text, size_t len, char *msg, size_t msglen)
{
    int status = 0;
    cJSON *v = dni__json_parse(text, len, &status, msg, msglen);
    if (v) {
        cJSON_Delete(v);
        return 200;
    }
    return status;
}

/* Accepted, and printed back as want. */
static void ok(const char *text, const char *want)
{
    int status = 0;
    char msg[320];
    cJSON *v = dni__json_parse(text, strlen(text), &status, msg, sizeof msg);
    if (!CHECK(v != NULL)) {
        fprintf(stderr, "     input %s: %d %s\n", text, status, msg);
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    CHECK_STR(s, want);
    free(s);
    cJSON_Delete(v);
}

/* Refused with status, and the message contains part. */
static void bad(const char *text, size_t len, int status, const char *part)
{
    char msg[320];
    int got = parse_status(text, len, msg, sizeof msg);
    CHECK_INT(got, status);
    if (!CHECK(strstr(msg, part) != NULL))
        fprintf(stderr, "     input %.*s: message \"%s\" lacks \"%s\"\n",
                (int)len, text, msg, part);
}
#define BAD(text, status, part) bad(text, sizeof text - 1, status, part)

static void test_accepts(void)
{
    ok("{}", "{}");
    ok(" [1, -2, 3.5, 0, -0.25, 1e3, true, false, null] ",
       "[1,-2,3.5,0,-0.25,1000,true,false,null]");
    ok("{\"a\":{\"b\":[\"x\",\"y\"]},\"c\":\"\\u00e9\\ud83d\\ude00\\n\"}",
       "{\"a\":{\"b\":[\"x\",\"y\"]},\"c\":\"\xc3\xa9\xf0\x9f\x98\x80\\n\"}");
    ok("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* Up to 2^53 - 1 (cJSON prints more than 15 digits rounded, which
     * the validators' own ranges never reach). */
    ok("[9007199254740991,-9007199254740991]",
       "[9.00719925474099e+15,-9.00719925474099e+15]");
    ok("123456789012345", "123456789012345");
    ok("1712345678.125", "1712345678.125");
    ok("0.0", "0");
    ok("{\"a\":1,\"A\":2}", "{\"a\":1,\"A\":2}");
    ok("{\"\":1}", "{\"\":1}");
}

static void test_refuses(void)
{
    /* Equal keys, at every level, named. */
    BAD("{\"min_hold_s\":300,\"min_hold_s\":-5}", 422,
        "duplicated key \"min_hold_s\"");
    BAD("{\"a\":{\"b\":1,\"b\":2}}", 422, "a: duplicated key \"b\"");
    BAD("{\"events\":[{},{\"x\":1,\"x\":1}]}", 422,
        "events[1]: duplicated key \"x\"");
    /* Equal after unescaping. */
    BAD("{\"ab\":1,\"a\\u0062\":2}", 422, "duplicated key \"ab\"");
    /* NUL, escaped (a raw one is a control character). */
    BAD("{\"id\":\"ab\\u0000cd\"}", 422, "id: a string holds a NUL");
    BAD("{\"id\":\"ab\0cd\"}", 400, "control character");
    BAD("{\"a\\u0000\":1}", 422, "NUL");
    /* UTF-8. */
    BAD("{\"name\":\"\xff\"}", 400, "invalid UTF-8 in name");
    BAD("{\"name\":\"\xc0\xaf\"}", 400, "invalid UTF-8"); /* overlong */
    BAD("{\"name\":\"\xed\xa0\x80\"}", 400, "invalid UTF-8"); /* surrogate */
    BAD("{\"name\":\"\xf4\x90\x80\x80\"}", 400, "invalid UTF-8"); /* > 10FFFF */
    BAD("{\"name\":\"\xe2\x82\"}", 400, "invalid UTF-8"); /* cut */
    BAD("{\"name\":\"\\ud800\"}", 400, "lone surrogate");
    BAD("{\"name\":\"\\udc00\\ud800\"}", 400, "lone surrogate");
    /* Numbers. */
    BAD("[9007199254740992]", 422, "out of range");
    BAD("[-9007199254740993]", 422, "out of range");
    BAD("{\"seq\":99999999999999999999}", 422, "seq: number 99999999999999999999 is out of range");
    BAD("{\"t\":1e308}", 422, "t: number 1e308 is out of range");
    BAD("{\"t\":1e400}", 422, "out of range");
    BAD("{\"t\":1e-400}", 422, "out of range");
    BAD("{\"t\":0x10}", 400, "expected ',' or '}'");
    BAD("{\"t\":0x1p3}", 400, "not valid JSON");
    BAD("{\"t\":+1}", 400, "unexpected character");
    BAD("{\"t\":01}", 400, "not valid JSON");
    BAD("{\"t\":1.}", 400, "bad number");
    BAD("{\"t\":.5}", 400, "unexpected character");
    BAD("{\"t\":NaN}", 400, "unexpected character");
    BAD("{\"t\":Infinity}", 400, "unexpected character");
    BAD("{\"t\":-}", 400, "bad number");
    BAD("[0.00000000000000000000000000000000000000001]", 422, "more than 40");
    /* Structure. */
    BAD("", 400, "unexpected end");
    BAD("{", 400, "expected a key");
    BAD("{\"a\":1,}", 400, "expected a key");
    BAD("[1,]", 400, "unexpected character");
    BAD("{\"a\" 1}", 400, "expected ':'");
    BAD("{} x", 400, "unexpected data after the value");
    BAD("\xef\xbb\xbf{}", 400, "unexpected character"); /* BOM */
    BAD("{'a':1}", 400, "expected a key");
    BAD("\"\\x\"", 400, "bad escape");
    BAD("tru", 400, "unexpected character");
    BAD("\"abc", 400, "unterminated");

    /* Nesting: 32 levels are fine, 33 are not. */
    char deep[200];
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = 0;
    char msg[320];
    CHECK_INT(parse_status(deep, 64, msg, sizeof msg), 200);
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    CHECK_INT(parse_status(deep, 66, msg, sizeof msg), 400);
    CHECK(strstr(msg, "nested deeper than 32") != NULL);
    /* Far deeper input stops at the limit (no deep recursion). */
    size_t n = 1000000;
    char *huge = malloc(n);
    if (huge) {
        memset(huge, '[', n);
        CHECK_INT(parse_status(huge, n, msg, sizeof msg), 400);
        free(huge);
    }
}

/* Many keys: the duplicate check stays linear and still finds the one
 * duplicate at the end. */
static void test_many_keys(void)
{
    size_t cap = 4000000, len = 0;
    char *b = malloc(cap);
    if (!b)
        return;
    b[len++] = '{';
    for (int i = 0; i < 100000; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s\"k%d\":%d", i ? "," : "", i, i);
    size_t before = len;
    len += (size_t)snprintf(b + len, cap - len, "}");
    char msg[320];
    CHECK_INT(parse_status(b, len, msg, sizeof msg), 200);
    len = before;
    len += (size_t)snprintf(b + len, cap - len, ",\"k77777\":1}");
    CHECK_INT(parse_status(b, len, msg, sizeof msg), 422);
    CHECK(strstr(msg, "duplicated key \"k77777\"") != NULL);
    free(b);
}

static int all_utf8(const cJSON *v)
{
    for (; v; v = v->next) {
        if (v->string && dni__utf8_valid_prefix(v->string, strlen(v->string)) != strlen(v->string))
            return 0;
        if (cJSON_IsString(v) &&
            dni__utf8_valid_prefix(v->valuestring, strlen(v->valuestring)) != strlen(v->valuestring))
            return 0;
        if (v->child && !all_utf8(v->child))
            return 0;
    }
    return 1;
}

static void test_mutations(void)
{
    const char *seed = "{\"id\":\"p1\",\"numbers\":[\"+18885550001\",\"+18885550002\"],"
                       "\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"min_hold_s\":300,"
                       "\"tracked\":{\"a\":[1,2.5,-3e2,true,null]},\"s\":\"\\u00e9\\n\"}";
    size_t n = strlen(seed);
    char *buf = malloc(n);
    unsigned long x = 88172645463325252ul;
    int accepted = 0, bad_utf8 = 0;
    for (int round = 0; buf && round < 20000; round++) {
        memcpy(buf, seed, n);
        for (int k = 0; k < 1 + round % 3; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[(x >> 8) % n] = (char)(x >> 40);
        }
        int status = 0;
        char msg[320];
        cJSON *v = dni__json_parse(buf, n, &status, msg, sizeof msg);
        if (v) {
            accepted++;
            bad_utf8 += !all_utf8(v);
            cJSON_Delete(v);
        } else if (status != 400 && status != 422) {
            bad_utf8++;
        }
    }
    CHECK(accepted > 0);
    CHECK_INT(bad_utf8, 0);
    free(buf);
}

int main(void)
{
    test_accepts();
    test_refuses();
    test_many_keys();
    test_mutations();
    return harness_report();
}
