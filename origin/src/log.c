/*
 * log.c - the activity log: one line on stderr per call event, per
 * attribution made or changed and per edge sync that carried events, so
 * whoever runs the origin sees what happens. --quiet turns it off.
 *
 * Lines never hold a secret or a visitor id (leases are named, visitors
 * are not). Each line is written with one call, so lines of concurrent
 * requests do not mix.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "origin.h"

static int quiet;

void dni__log_quiet(int q)
{
    quiet = q;
}

void dni__log_info(const char *fmt, ...)
{
    if (quiet)
        return;
    char line[512];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%H:%M:%S ", &tm);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    line[n++] = '\n';
    line[n] = 0;
    fputs(line, stderr);
}
