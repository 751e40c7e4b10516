/*
 * lease_end_sql.c - the SQL function dni_lease_end(), which lets one
 * statement ask, per lease row, when the lease stopped being live (the
 * core's dni_lease_end_time()), and the per-thread pool settings it reads.
 *
 * It depends on the core and SQLite alone: the store registers it on
 * every connection it opens, and the files that run statements using it
 * (sync.c) choose the settings with dni__settings_map_use() first.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <string.h>

#include <sqlite3.h>

#include "origin.h"

static _Thread_local const dni_settings_map_t *tl_settings;

void dni__settings_map_use(const dni_settings_map_t *m) { tl_settings = m; }

const dni_pool_settings_t *dni__settings_map_find(const dni_settings_map_t *m,
                                                  const char *pool)
{
    for (size_t i = 0; m && pool && i < m->n; i++)
        if (!strcmp(m->ids[i], pool))
            return &m->settings[i];
    return NULL;
}

/*
 * dni_lease_end(pool, start, last_seen, last_join, released_at, window):
 * when the lease stopped (or will stop) being live, as the attribution
 * sees it: released_at when the edge said so, else the core's
 * dni_lease_end_time(); plus the pool's attribution_window_s when window
 * is 1 (how late a call may still be attributed to it). NULL when the
 * pool's settings are not known on this thread.
 */
static void fn_lease_end(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
    (void)argc;
    const dni_pool_settings_t *s = dni__settings_map_find(
        tl_settings, (const char *)sqlite3_value_text(v[0]));
    if (!s) {
        sqlite3_result_null(ctx);
        return;
    }
    double end;
    if (sqlite3_value_type(v[4]) != SQLITE_NULL)
        end = sqlite3_value_double(v[4]);
    else
        end = dni_lease_end_time(s, sqlite3_value_double(v[1]),
                                 sqlite3_value_double(v[2]),
                                 sqlite3_value_double(v[3]));
    if (sqlite3_value_int(v[5]))
        end += s->attribution_window_s;
    sqlite3_result_double(ctx, isfinite(end) ? end : 1e300);
}

int dni__sql_register(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
    return sqlite3_create_function(db, "dni_lease_end", 6, flags, NULL,
                                   fn_lease_end, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

