/*
 * harness.h - the smallest test harness that does the job: CHECK macros
 * that count and report, and a summary line "N passed, N failed" that
 * tests/run.sh adds up. Include it once per test program.
 */
#ifndef DNI_TEST_HARNESS_H
#define DNI_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_passed;
static int harness_failed;

/* Records one check; prints the failing expression and where it is. */
static int harness_check(int ok, const char *expr, const char *file, int line)
{
    if (ok) {
        harness_passed++;
    } else {
        harness_failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
    }
    return ok;
}

#define CHECK(cond) harness_check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

/* Compares two integers and shows both values when they differ. */
#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (!harness_check(a_ == b_, #a " == " #b, __FILE__, __LINE__))        \
            fprintf(stderr, "     got %lld, want %lld\n", a_, b_);             \
    } while (0)

/* Compares two C strings and shows both when they differ. */
#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!harness_check(a_ && b_ && strcmp(a_, b_) == 0, #a " == " #b,      \
                           __FILE__, __LINE__))                                \
            fprintf(stderr, "     got  \"%s\"\n     want \"%s\"\n",            \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                   \
    } while (0)

/* Prints the summary and returns the process exit status. */
static int harness_report(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

#endif
