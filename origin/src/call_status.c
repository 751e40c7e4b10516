/*
 * call_status.c - the statuses a call goes through, in order: the call
 * webhook accepts only these, and the calls list filters by them.
 */
#include <string.h>

#include "origin.h"

static const char *const final_statuses[] = {"completed", "busy", "no-answer",
                                             "failed", "canceled", NULL};

int dni__call_status_rank(const char *status)
{
    if (!status)
        return 0;
    if (!strcmp(status, "ringing") || !strcmp(status, "queued") ||
        !strcmp(status, "initiated"))
        return 1;
    if (!strcmp(status, "in-progress") || !strcmp(status, "answered"))
        return 2;
    for (int i = 0; final_statuses[i]; i++)
        if (!strcmp(status, final_statuses[i]))
            return 3;
    return 0;
}
