/*
 * core_internal.h - the few pieces several core files share: the default
 * allocator and the check of a pool's settings. Not public: nothing
 * outside core/src includes it.
 */
#ifndef DNI_CORE_INTERNAL_H
#define DNI_CORE_INTERNAL_H

#include "dni.h"

/* The allocator an object keeps: *a when it has a realloc_fn, otherwise
 * the C library's realloc()/free() (dni.h, "Allocation hook"). a may be
 * NULL. */
dni_allocator_t dni__allocator(const dni_allocator_t *a);

/* Nonzero when every timer of s is a number >= 0 and its mode is known:
 * what the engine, the simulator and a snapshot's settings must meet. */
int dni__pool_settings_valid(const dni_pool_settings_t *s);

#endif
