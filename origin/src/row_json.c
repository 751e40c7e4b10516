/*
 * row_json.c - a column of a statement's current row as a member of a
 * JSON answer, null when the column is NULL (the API shows a missing
 * value as null, never as "" or 0).
 */
#include "origin.h"

void dni__json_add_text_col(cJSON *o, const char *key, dni_stmt_t *st, int col)
{
    if (dni__col_is_null(st, col))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, dni__col_text(st, col));
}

void dni__json_add_real_col(cJSON *o, const char *key, dni_stmt_t *st, int col)
{
    if (dni__col_is_null(st, col))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, dni__col_double(st, col));
}
