/*
 * caller_model.c - who most likely dialled, when the store cannot know.
 *
 * The store records which session a call was attributed to, not who
 * dialled. The two differ exactly where sizing matters: a visitor who
 * calls hours after leaving dials a number that may have gone to someone
 * else since, and the rules then credit the newer session. Replaying the
 * recorded attribution as if it were the truth would make every such miss
 * look right at the current size, and the report would always find the
 * pool big enough.
 *
 * So the report estimates, from the pool's own calls, how visitors call:
 *   - while their session is live, at a rate `live` per second;
 *   - after it ended, at a rate hazard[b] per second, b the bin of the
 *     time since the end (bins of DNI__LATE_BINS below, up to the
 *     attribution window).
 * Every call on a pool number has candidates: the sessions its number
 * showed before it, live at the call or ended within the attribution
 * window. A call while no session was live is surely a late call; a call
 * during a live session is one of several possible callers, and the rates
 * say how likely each is. The rates are fitted by expectation-maximisation
 * (each call spread over its candidates in proportion to their rates; each
 * rate = the calls it received / the time sessions spent exposed to it in
 * the window), and every call is then given DNI__CALLER_DRAWS callers,
 * drawn from its candidates by those proportions at evenly spaced points
 * offset by a number fixed by its CallSid (the same store always gives
 * the same trace; the replay scores the expected accuracy). A match set by hand is a known
 * caller: it is kept as it is and counts fully in the fit.
 *
 * Pure: a function of its inputs, no clock, no store.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

/* Upper ends (seconds after the session ended) of the late-call bins. */
static const double late_edges[DNI__LATE_BINS] = {60,    300,   900,   3600,
                                                  10800, 21600, 43200, 86400};

static int bin_of(double d, double window)
{
    for (int b = 0; b < DNI__LATE_BINS; b++)
        if (d < late_edges[b] || (b == DNI__LATE_BINS - 1))
            return d <= window ? b : -1;
    return -1;
}

/* Length of [a, b) inside [lo, hi). */
static double overlap(double a, double b, double lo, double hi)
{
    double x = a > lo ? a : lo, y = b < hi ? b : hi;
    return y > x ? y - x : 0;
}

static double u01(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (double)(h >> 11) / 9007199254740992.0;
}

int dni__caller_model(dni_caller_model_t *m)
{
    const double W = m->window_s;
    double lo = m->from, hi = m->to;
    size_t G = m->ngroups ? m->ngroups : 1;
    size_t ncand = m->cand_off[m->ncalls];
    /* Per group: live rate, late rates; their exposures and masses. */
    double *par = calloc(G * 4 * (DNI__LATE_BINS + 1), sizeof *par);
    int *kind = malloc((ncand + 1) * sizeof *kind);
    double *post = malloc((ncand + 1) * sizeof *post);
    if (!par || !kind || !post) {
        free(par);
        free(kind);
        free(post);
        return -1;
    }
    const size_t R = DNI__LATE_BINS + 1; /* rate 0 live, 1.. late bins */
    double *rate = par, *expo = par + G * R, *mass = par + 2 * G * R;
    /* Exposure: live seconds and seconds in each late bin, inside the
     * window where calls are counted. */
    for (size_t i = 0; i < m->nspans; i++) {
        size_t g = m->group ? m->group[i] : 0;
        double s = m->start[i], e = m->end[i];
        expo[g * R] += overlap(s, e, lo, hi);
        double prev = 0;
        for (int b = 0; b < DNI__LATE_BINS; b++) {
            double top = late_edges[b] < W ? late_edges[b] : W;
            if (top > prev)
                expo[g * R + 1 + (size_t)b] += overlap(e + prev, e + top, lo, hi);
            prev = late_edges[b];
        }
    }
    /* Each candidate's rate slot: 0 live, 1+b late bin b, R: none. */
    size_t calls_fit = 0;
    for (size_t c = 0; c < m->ncalls; c++) {
        for (size_t k = m->cand_off[c]; k < m->cand_off[c + 1]; k++) {
            uint32_t j = m->cand[k];
            double t = m->call_t[c];
            int b = bin_of(t - m->end[j], W);
            kind[k] = t <= m->end[j] ? 0 : b < 0 ? (int)R : 1 + b;
        }
        calls_fit += m->cand_off[c + 1] > m->cand_off[c];
    }
    /* Start from "everyone calls while live, a fifth later". */
    double live_exp = 0, late_exp = 0;
    for (size_t g = 0; g < G; g++) {
        live_exp += expo[g * R];
        for (size_t b = 1; b < R; b++)
            late_exp += expo[g * R + b];
    }
    for (size_t g = 0; g < G; g++) {
        rate[g * R] = live_exp > 0 ? 0.8 * (double)calls_fit / live_exp : 0;
        for (size_t b = 1; b < R; b++)
            rate[g * R + b] = late_exp > 0 ? 0.2 * (double)calls_fit / late_exp : 0;
    }
    for (int it = 0; it < 500; it++) {
        memset(mass, 0, G * R * sizeof *mass);
        for (size_t c = 0; c < m->ncalls; c++) {
            size_t a = m->cand_off[c], z = m->cand_off[c + 1];
            if (a == z)
                continue;
            double sum = 0;
            for (size_t k = a; k < z; k++) {
                size_t g = m->group ? m->group[m->cand[k]] : 0;
                double w = m->fixed[c] >= 0
                               ? (m->cand[k] == (uint32_t)m->fixed[c])
                           : kind[k] < (int)R ? rate[g * R + (size_t)kind[k]]
                                              : 0;
                post[k] = w;
                sum += w;
            }
            for (size_t k = a; k < z; k++) {
                size_t g = m->group ? m->group[m->cand[k]] : 0;
                post[k] = sum > 0 ? post[k] / sum : (k == a);
                if (kind[k] < (int)R)
                    mass[g * R + (size_t)kind[k]] += post[k];
            }
        }
        double change = 0;
        for (size_t x = 0; x < G * R; x++) {
            double nr = expo[x] > 0 ? mass[x] / expo[x] : 0;
            change += fabs(nr - rate[x]) / (rate[x] + 1e-12);
            rate[x] = nr;
        }
        if (change < 1e-9)
            break;
    }
    /* DNI__CALLER_DRAWS callers per call, drawn by the fitted proportions
     * at evenly spaced points (j + u) / DNI__CALLER_DRAWS, u fixed by the
     * CallSid: a replay of the draws scores the expected accuracy over who
     * may have dialled, not one lucky or unlucky guess. */
    const int K = DNI__CALLER_DRAWS;
    double late_calls = 0;
    for (size_t c = 0; c < m->ncalls; c++) {
        size_t a = m->cand_off[c], z = m->cand_off[c + 1];
        for (int j = 0; j < K; j++)
            m->caller[c * (size_t)K + (size_t)j] = -1;
        if (a == z)
            continue;
        double u0 = u01(m->sid[c]);
        for (size_t k = a; k < z; k++)
            if (kind[k] > 0)
                late_calls += post[k];
        for (int j = 0; j < K; j++) {
            double u = ((double)j + u0) / K, acc = 0;
            for (size_t k = a; k < z; k++) {
                acc += post[k];
                if (u < acc || k + 1 == z) {
                    m->caller[c * (size_t)K + (size_t)j] = (int32_t)m->cand[k];
                    break;
                }
            }
        }
    }
    m->late_share = calls_fit ? late_calls / (double)calls_fit : 0;
    free(par);
    free(kind);
    free(post);
    return 0;
}
