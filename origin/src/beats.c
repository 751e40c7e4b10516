/*
 * beats.c - what both backends' dni__beats_apply() share: finding a
 * lease's beat in the batch (sorted by lease), noting it applied, and
 * preparing the statement with the batch's list.
 */
#include <stdlib.h>
#include <string.h>

#include "origin.h"

dni_beat_t *dni__beat_find(dni_beat_t *v, size_t n, const char *lease)
{
    size_t lo = 0, hi = n;
    if (!lease)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(lease, v[mid].lease);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

void dni__beat_applied(dni_beat_t *x, const char *number, double start)
{
    x->applied = 1;
    size_t nl = number ? strlen(number) : 0;
    if (nl >= sizeof x->number)
        nl = sizeof x->number - 1; /* never: numbers are E.164 */
    memcpy(x->number, number ? number : "", nl);
    x->number[nl] = 0;
    x->start = start;
}

dni_stmt_t *dni__beats_stmt(dni_db_t *db, const char *sql, const char *edge,
                            dni_jsonbuf_t *list)
{
    dni__jsonbuf_put(list, "]", 1);
    dni_stmt_t *st = list->oom ? NULL : dni__stmt(db, sql);
    if (!st) {
        free(list->p);
        return NULL;
    }
    dni__bind_text(st, 1, edge);
    dni__bind_text(st, 2, list->p);
    return st;
}
