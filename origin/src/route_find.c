/*
 * route_find.c - which route of the table (routes.c) serves a path. The
 * HTTP server dispatches with it, and the door (door.c) asks it for a
 * route's access before the server has seen the request.
 */
#include <string.h>

#include "http.h"

/* Matches path against a route's pattern; the {id} segment (1..128
 * bytes, no '/'), when the pattern has one, is copied into id[] (and may
 * be followed by a fixed rest: "/v1/pools/{id}/trace"). */
static int path_match(const char *pattern, const char *path, char id[129])
{
    const char *brace = strstr(pattern, "{id}");
    id[0] = 0;
    if (!brace)
        return strcmp(pattern, path) == 0;
    size_t n = (size_t)(brace - pattern);
    if (strncmp(pattern, path, n) != 0)
        return 0;
    const char *seg = path + n, *rest = brace + 4;
    size_t len = strcspn(seg, "/");
    if (!len || len > 128 || strcmp(seg + len, rest) != 0)
        return 0;
    memcpy(id, seg, len);
    id[len] = 0;
    return 1;
}

int dni__route_find(const char *path, char id[129])
{
    for (int i = 0; i < dni__route_count; i++)
        if (path_match(dni__routes[i].path, path, id))
            return i;
    id[0] = 0;
    return -1;
}

int dni__route_access(const char *path, dni_access_t *access)
{
    char id[129];
    int i = dni__route_find(path, id);
    if (i < 0)
        return 0;
    *access = dni__routes[i].access;
    return 1;
}
