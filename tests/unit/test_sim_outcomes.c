/*
 * test_sim_outcomes.c - dni_sim_run_outcomes(): the outcome of each call
 * of a replay, in trace order, agreeing with the replay's counts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dni.h"
#include "harness.h"

static void late_caller(void)
{
    dni_pool_settings_t s;
    dni_pool_settings_init(&s);
    s.buffer_s = 10;
    s.min_hold_s = 10;
    s.max_lease_s = 100;
    dni_sim_t *sim;
    CHECK_INT(dni_sim_create(&sim, &s, NULL), DNI_OK);
    CHECK_INT(dni_sim_add_number(sim, "+18885550001", 12), DNI_OK);
    /* a calls while live (right); b leaves, c takes the one number, b
     * calls late (credited to c: wrong); d never visited (unattributed). */
    CHECK_INT(dni_sim_visit(sim, 0, "a", 1), DNI_OK);
    CHECK_INT(dni_sim_call(sim, 5, "a", 1, 1), DNI_OK);
    CHECK_INT(dni_sim_visit(sim, 100, "b", 1), DNI_OK);
    CHECK_INT(dni_sim_visit(sim, 200, "c", 1), DNI_OK);
    CHECK_INT(dni_sim_call(sim, 205, "b", 1, 1), DNI_OK);
    CHECK_INT(dni_sim_call(sim, 300, "d", 1, 1), DNI_OK);
    uint8_t out[3] = {0, 0, 0};
    dni_sim_result_t r;
    CHECK_INT(dni_sim_run_outcomes(sim, 1, &r, out, 3), DNI_OK);
    CHECK_INT(out[0], DNI_SIM_CORRECT);
    CHECK_INT(out[1], DNI_SIM_WRONG);
    CHECK_INT(out[2], DNI_SIM_UNATTRIBUTED);
    CHECK_INT(r.correct, 1);
    CHECK_INT(r.wrong, 1);
    CHECK_INT(r.unattributed, 1);
    /* With two numbers b's number is still free at 205: right. */
    CHECK_INT(dni_sim_run_outcomes(sim, 2, &r, out, 3), DNI_OK);
    CHECK_INT(out[1], DNI_SIM_CORRECT);
    CHECK_INT(r.correct, 2);
    /* A short array: the calls beyond it are scored, not written. */
    uint8_t one[2] = {0, 0xee};
    CHECK_INT(dni_sim_run_outcomes(sim, 1, &r, one, 1), DNI_OK);
    CHECK_INT(one[0], DNI_SIM_CORRECT);
    CHECK_INT(one[1], 0xee);
    CHECK_INT(r.calls, 3);
    /* The same counts as dni_sim_run(). */
    dni_sim_result_t plain;
    CHECK_INT(dni_sim_run(sim, 1, &plain), DNI_OK);
    CHECK_INT(plain.correct, r.correct);
    CHECK_INT(plain.wrong, r.wrong);
    dni_sim_destroy(sim);
}

int main(void)
{
    late_caller();
    return harness_report();
}
