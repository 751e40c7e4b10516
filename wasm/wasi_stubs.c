/*
 * wasi_stubs.c - keeps dni.wasm free of imports (wasm32-wasi build only).
 *
 * The core performs no I/O, but it formats messages and reports with
 * snprintf(), and wasi-libc's printf family links its stdio layer, whose
 * stdout/stderr streams would import fd_write, fd_seek and fd_close from
 * the host. Formatting into a buffer never reaches them, so they are
 * defined here, in place of wasi-libc's host calls, as calls that fail with
 * ENOSYS. The module then needs no import object at all and runs the same
 * in workerd, browsers, Node and any WASI host.
 *
 * Should the core ever need another host call, wasi-libc's definitions
 * would be linked next to these and the link fails loudly (duplicate
 * symbols), and tests/wasm/module.test.mjs checks that the import list
 * stays empty.
 */
#include <wasi/api.h>

__wasi_errno_t __wasi_fd_close(__wasi_fd_t fd)
{
    (void)fd;
    return __WASI_ERRNO_NOSYS;
}

__wasi_errno_t __wasi_fd_seek(__wasi_fd_t fd, __wasi_filedelta_t offset,
                              __wasi_whence_t whence,
                              __wasi_filesize_t *newoffset)
{
    (void)fd;
    (void)offset;
    (void)whence;
    *newoffset = 0;
    return __WASI_ERRNO_NOSYS;
}

__wasi_errno_t __wasi_fd_write(__wasi_fd_t fd, const __wasi_ciovec_t *iovs,
                               size_t iovs_len, __wasi_size_t *nwritten)
{
    (void)fd;
    (void)iovs;
    (void)iovs_len;
    *nwritten = 0;
    return __WASI_ERRNO_NOSYS;
}
