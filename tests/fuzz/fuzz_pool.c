/*
 * fuzz_pool.c - random operation sequences decoded from the input bytes,
 * run against the lease engine with invariants checked after every step:
 * no number under two live leases, a live lease is within its time or
 * held by a call, and the counters add up. Any violation aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dni.h"

#define KEYS 16
#define NUMS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.mode = (data[0] & 1) ? DNI_MODE_TAGS : DNI_MODE_VISITOR;
    s.buffer_s = data[1] % 32;
    s.min_hold_s = (data[1] >> 5) * 10;
    s.max_lease_s = 120;
    s.sticky_s = (data[0] & 2) ? 0 : 1000;
    s.attribution_window_s = 60;
    dni_pool_t *p;
    if (dni_pool_create(&p, &s, NULL) != DNI_OK)
        abort();
    uint32_t lease_of[KEYS] = {0};
    int calls[NUMS] = {0};
    double now = 0;
    for (size_t i = 2; i + 1 < size; i += 2) {
        uint8_t op = data[i], arg = data[i + 1];
        now += (op >> 4) * 0.75;
        char key[8], num[16];
        int k = arg % KEYS, slot = arg % NUMS;
        snprintf(key, sizeof key, "k%d", k);
        snprintf(num, sizeof num, "+1888555000%d", slot);
        switch (op & 7) {
        case 0:
        case 1: {
            dni_assignment_t a;
            if (dni_pool_assign(p, key, strlen(key), now, &a) != DNI_OK)
                abort();
            if (a.kind != DNI_ASSIGN_OVERFLOW)
                lease_of[k] = a.lease;
            break;
        }
        case 2:
            dni_pool_seen(p, lease_of[k], now);
            break;
        case 3:
            dni_pool_leave(p, lease_of[k], now);
            break;
        case 4: {
            int rc = dni_pool_add_number(p, num, strlen(num));
            if (rc < 0 && rc != DNI_EEXISTS)
                abort();
            break;
        }
        case 5:
            dni_pool_remove_number(p, num, strlen(num), now);
            break;
        case 6: {
            int f = dni_pool_find_number(p, num, strlen(num));
            dni_call_attribution_t at;
            if (f >= 0 && dni_pool_call_start(p, (uint32_t)f, now, &at) >= 0)
                calls[slot]++;
            break;
        }
        default: {
            int f = dni_pool_find_number(p, num, strlen(num));
            if (f >= 0 && calls[slot] > 0 &&
                dni_pool_call_end(p, (uint32_t)f, now) == DNI_OK)
                calls[slot]--;
            break;
        }
        }
        /* invariants, at the pool's own time (adding a number takes no
         * time, so expiry may still be due) */
        if (dni_pool_tick(p, now) < 0)
            abort();
        int holder[64];
        memset(holder, 0, sizeof holder);
        uint32_t live = 0;
        for (int j = 0; j < KEYS; j++) {
            dni_lease_info_t li;
            if (lease_of[j] == 0 ||
                dni_pool_lease_info(p, lease_of[j], &li) != DNI_OK)
                continue;
            if (li.slot < 0 || li.slot >= 64 || holder[li.slot]++ > 0)
                abort(); /* one number, two live leases */
            if (now > li.end && !li.pinned)
                abort(); /* should have ended */
            live++;
        }
        dni_pool_stats_t st;
        dni_pool_stats(p, &st);
        if (st.live_leases < live || st.free_numbers > st.numbers ||
            st.live_leases > st.numbers || st.leases < st.live_leases)
            abort();
    }
    dni_pool_destroy(p);
    return 0;
}
