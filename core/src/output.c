/*
 * output.c - where the rewriter's bytes go: straight to the caller's
 * sink, or, inside a start tag after a swap in one of its attributes,
 * into a record of both the page's bytes and the swapped ones, until the
 * tag ends and says which stand (a data-dni-skip attribute can come after
 * the swapped one). The matcher and the rewriter both write through it.
 */
#include <string.h>

#include "core_internal.h"
#include "rewriter_internal.h"

static void sink_write(dni__output_t *o, const char *p, size_t n)
{
    if (n == 0 || o->failed)
        return;
    if (o->sink(p, n, o->ud) != 0)
        o->failed = 1;
}

/* Writes out what was recorded with its swaps: they stand. */
static void record_commit(dni__output_t *o)
{
    sink_write(o, o->rec_out, o->rec_len_out);
    o->swaps += o->rec_swaps;
    if (o->rec_swaps) {
        for (unsigned i = 0; i < DNI_MAX_RULES; i++)
            o->rule_swaps[i] += o->rec_rule_swaps[i];
        memset(o->rec_rule_swaps, 0, sizeof o->rec_rule_swaps);
    }
    o->rec_len_raw = o->rec_len_out = 0;
    o->rec_swaps = 0;
    o->recording = 0;
}

/* The start tag ended: its swaps stand unless it carries data-dni-skip. */
void dni__out_record_end(dni__output_t *o, int cancel)
{
    if (!o->recording)
        return;
    if (cancel) {
        sink_write(o, o->rec_raw, o->rec_len_raw);
        o->rec_len_raw = o->rec_len_out = 0;
        if (o->rec_swaps)
            memset(o->rec_rule_swaps, 0, sizeof o->rec_rule_swaps);
        o->rec_swaps = 0;
        o->recording = 0;
    } else {
        record_commit(o);
    }
}

/* Appends to both sides of the record; 0 when it would not fit. */
static int record_append(dni__output_t *o, const char *raw, size_t raw_n,
                         const char *out, size_t out_n)
{
    if (o->rec_len_raw + raw_n > DNI__RECORD_MAX ||
        o->rec_len_out + out_n > DNI__RECORD_MAX)
        return 0;
    memcpy(o->rec_raw + o->rec_len_raw, raw, raw_n);
    memcpy(o->rec_out + o->rec_len_out, out, out_n);
    o->rec_len_raw += raw_n;
    o->rec_len_out += out_n;
    return 1;
}

void dni__out_emit(dni__output_t *o, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (o->recording) {
        if (record_append(o, p, n, p, n))
            return;
        record_commit(o);
    }
    sink_write(o, p, n);
}

void dni__out_swap(dni__output_t *o, const char *raw, size_t raw_n,
                   const char *repl, size_t repl_n, int in_tag)
{
    if (in_tag) {
        o->recording = 1;
        if (record_append(o, raw, raw_n, repl, repl_n)) {
            o->rec_swaps++;
            o->rec_rule_swaps[o->rule % DNI_MAX_RULES]++;
            return;
        }
        record_commit(o);
    }
    sink_write(o, repl, repl_n);
    o->swaps++;
    o->rule_swaps[o->rule % DNI_MAX_RULES]++;
}
