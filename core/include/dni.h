/*
 * dni.h - the public interface of the edgedni core.
 *
 * The core is a portable C11 library with no I/O, no clock and no
 * dependency beyond the C standard library. It builds unchanged for native
 * targets, wasm32-wasi and Emscripten. Everything public is declared here
 * or in a header included from here; anything else is internal.
 *
 * Conventions (shared by every part of the API):
 *   - Functions return 0 (DNI_OK) or a negative error code from the table
 *     below. dni_strerror() turns one into a sentence, dni_err_name() into
 *     its symbolic name. There is no hidden "last error".
 *   - Caller-owned structs are initialised in place by dni_<noun>_init().
 *   - Pointers handed to callbacks are valid only during the call.
 *   - Time is always passed in by the caller; the core never reads a clock.
 */
#ifndef DNI_H
#define DNI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Error codes. One table, so the enum, dni_strerror() and dni_err_name()
 * never disagree. Codes are negative; DNI_OK is 0.
 */
#define DNI_ERRNO_MAP(X)                                                       \
    X(ENOMEM, -1, "out of memory")                                             \
    X(EINVAL, -2, "invalid argument")                                          \
    X(ENOTPHONE, -3, "not a phone number")                                     \
    X(ETEMPLATE, -4, "template does not fit the number")                       \
    X(ECOUNTRY, -5, "unknown country")                                         \
    X(EPOISONED, -6, "stream already failed or finished")                      \
    X(ELIMIT, -7, "a fixed limit was exceeded")                                \
    X(ENOTFOUND, -8, "not found")                                              \
    X(EEXISTS, -9, "already exists")                                           \
    X(EBUSY, -10, "in use")                                                    \
    X(EORDER, -11, "time went backwards")                                      \
    X(EEXHAUSTED, -12, "no free number")                                       \
    X(ESTALE, -13, "stale epoch")                                              \
    X(ESYNTAX, -14, "malformed input")                                         \
    X(ERANGE, -15, "value out of range")                                       \
    X(ESTATE, -16, "operation not allowed in this state")

enum {
    DNI_OK = 0,
#define DNI__ERR_ENUM(name, code, text) DNI_##name = (code),
    DNI_ERRNO_MAP(DNI__ERR_ENUM)
#undef DNI__ERR_ENUM
};

/* A sentence describing err ("not a phone number"); never NULL. */
const char *dni_strerror(int err);

/* The symbolic name of err ("DNI_ENOTPHONE"); never NULL. */
const char *dni_err_name(int err);

/*
 * Allocation hook. Where the core allocates at all (once per object, never
 * per byte), it calls realloc_fn(ud, ptr, size): size 0 frees ptr and
 * returns NULL; otherwise it behaves as realloc(). Pass NULL wherever an
 * allocator is asked for to use the C library's realloc()/free().
 */
typedef struct dni_allocator {
    void *(*realloc_fn)(void *ud, void *ptr, size_t size);
    void *ud;
} dni_allocator_t;

#include "dni_phone.h"
#include "dni_rewriter.h"
#include "dni_pool.h"

#ifdef __cplusplus
}
#endif

#endif /* DNI_H */
