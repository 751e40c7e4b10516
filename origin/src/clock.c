/*
 * clock.c - wall-clock time for the origin (clock.h). Its own file so
 * the stores, the handlers and the scheduled duties can all read it
 * without depending on one another.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#include "clock.h"

double dni__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
