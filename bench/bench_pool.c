/*
 * bench_pool.c - the lease engine's speed and memory: assign+release and
 * heartbeats per second for 10,000 numbers and 1,000,000 visitors, bytes
 * per number and per live lease, and simulator trace events per second.
 * Prints figures next to the targets; asserts nothing about time.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dni.h"

#define NUMBERS 10000
#define VISITORS 1000000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.min_hold_s = 0; /* leases end on the buffer alone: heavy reuse */
    s.buffer_s = 1;
    dni_pool_t *p;
    if (dni_pool_create(&p, &s, NULL) != DNI_OK)
        return 1;
    for (int i = 0; i < NUMBERS; i++) {
        char num[24];
        snprintf(num, sizeof num, "+1888%07d", i);
        dni_pool_add_number(p, num, strlen(num));
    }
    /* visitor ids as the edge makes them: 22 characters */
    static char ids[VISITORS][24];
    for (int i = 0; i < VISITORS; i++)
        snprintf(ids[i], sizeof ids[i], "vid-%018d", i);

    /* assign + release: each step assigns 5,000 visitors at one instant,
     * then time moves past their buffer so tick releases them all */
    uint32_t leases[5000];
    double t = 0, t0 = now_s();
    uint64_t ops = 0;
    int vi = 0;
    for (int round = 0; round < 400; round++) {
        for (int j = 0; j < 5000; j++) {
            dni_assignment_t a;
            dni_pool_assign(p, ids[vi], 22, t, &a);
            leases[j] = a.lease;
            vi = (vi + 7919) % VISITORS;
        }
        t += 2;
        ops += 5000 + (uint64_t)dni_pool_tick(p, t);
    }
    double assign_s = now_s() - t0;

    /* heartbeats on 5,000 live leases */
    for (int j = 0; j < 5000; j++) {
        dni_assignment_t a;
        dni_pool_assign(p, ids[j], 22, t, &a);
        leases[j] = a.lease;
    }
    uint64_t hbs = 0;
    t0 = now_s();
    for (int round = 0; round < 400; round++) {
        t += 0.5;
        for (int j = 0; j < 5000; j++)
            hbs += dni_pool_seen(p, leases[j], t) == DNI_OK;
    }
    double hb_s = now_s() - t0;

    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    printf("pool engine, %d numbers, %d visitors\n", NUMBERS, VISITORS);
    printf("  assign+release: %.2f M ops/s (target >= 5; %.2fx)\n",
           (double)ops / assign_s / 1e6, (double)ops / assign_s / 5e6);
    printf("  heartbeats:     %.2f M/s (%llu accepted)\n",
           (double)hbs / hb_s / 1e6, (unsigned long long)hbs);
    printf("  bytes per number:     %zu (target <= 64; %.2fx)\n",
           st.bytes_per_number, (double)st.bytes_per_number / 64);
    printf("  bytes per live lease: %zu (target <= 128; %.2fx; keys <= %d "
           "bytes inline)\n",
           st.bytes_per_lease, (double)st.bytes_per_lease / 128,
           DNI_POOL_KEY_INLINE);
    printf("  pool memory now: %zu bytes for %u numbers, %u live leases\n",
           st.bytes, st.numbers, st.live_leases);
    dni_pool_destroy(p);

    /* the simulator: 200,000 visitors, heartbeats, some calls */
    dni_sim_t *sim;
    dni_pool_settings_init(&s);
    if (dni_sim_create(&sim, &s, NULL) != DNI_OK)
        return 1;
    size_t events = 0;
    double at = 0;
    for (int i = 0; i < 200000; i++) {
        at += 0.4;
        dni_sim_visit(sim, at, ids[i], 22);
        dni_sim_hb(sim, at + 0.1, ids[i], 22);
        events += 2;
        if (i % 20 == 0) {
            dni_sim_call(sim, at + 0.2, ids[i], 22, 90);
            events++;
        }
    }
    dni_sim_result_t r;
    t0 = now_s();
    dni_sim_run(sim, 2000, &r);
    double sim_s = now_s() - t0;
    printf("simulator: %.2f M trace events/s (%zu events, accuracy %.4f, "
           "%llu overflow)\n",
           (double)events / sim_s / 1e6, events,
           r.calls ? (double)r.correct / (double)r.calls : 1.0,
           (unsigned long long)r.overflow);
    dni_sim_destroy(sim);
    return 0;
}
