/*
 * secret.c - comparing a presented token with a configured secret, for
 * the router's bearer check and the door's reserve for edges.
 */
#include <string.h>

#include "secret.h"

int dni__secret_equal(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char diff = (unsigned char)(gl != wl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}
