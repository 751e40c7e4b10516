/*
 * beat_list.c - a sync batch's heartbeats, one per lease in key order:
 * finding a lease's beat and noting that it applied. Pure: the SQLite
 * functions (beats_sql.c, below the store) and both backends'
 * statements (beats_sqlite.c, beats_pg.c, above it) use it.
 */
#include <string.h>

#include "beats.h"

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
