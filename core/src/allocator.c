/*
 * allocator.c - the C library behind the allocation hook, for callers
 * that pass no allocator of their own.
 */
#include <stdlib.h>

#include "core_internal.h"

static void *libc_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

dni_allocator_t dni__allocator(const dni_allocator_t *a)
{
    if (a != NULL && a->realloc_fn != NULL)
        return *a;
    dni_allocator_t libc = {libc_realloc, NULL};
    return libc;
}
