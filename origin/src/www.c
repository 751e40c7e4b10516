/*
 * www.c - the dashboard's files, served at / by the origin.
 *
 * The files (origin/www/, and the Emscripten build of the core that the
 * test-snippet page runs) are compiled into the binary by origin/build.mk
 * (www_files.c, generated), so the dashboard is there wherever dni-origin
 * runs from. With --www DIR a file present in DIR is served from disk
 * instead (to work on the dashboard without rebuilding); every other path
 * still comes from the binary.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles,
 * images and requests only from the origin itself, WebAssembly allowed
 * (the rewriter), nothing inline, no frames, no plugins.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

/* The generated table (www_files.c). */
typedef struct dni_www_file {
    const char *path;
    const char *start, *end;
} dni_www_file_t;
extern const dni_www_file_t dni__www_files[];
extern const int dni__www_file_count;

static const char security_headers[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self' "
    "'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action "
    "'self'; frame-ancestors 'none'\n"
    "Referrer-Policy: no-referrer\n"
    "X-Frame-Options: DENY\n"
    "Cross-Origin-Opener-Policy: same-origin\n";

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js") || !strcmp(dot, ".mjs"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    if (!strcmp(dot, ".wasm"))
        return "application/wasm";
    if (!strcmp(dot, ".json"))
        return "application/json";
    return "application/octet-stream";
}

/* The file at path under dir, read whole (malloc'ed), or NULL. */
static char *read_file(const char *dir, const char *path, size_t *len)
{
    char file[1024];
    if ((size_t)snprintf(file, sizeof file, "%s%s", dir, path) >= sizeof file)
        return NULL;
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = cap <= (16u << 20) ? realloc(buf, cap) : NULL;
            if (!nb) {
                bad = 1;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bad |= ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

void dni__www_serve(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *path = strcmp(r->path, "/") ? r->path : "/index.html";
    /* No dot files or "..", nothing but plain names. */
    if (strstr(path, "/.") || strlen(path) > 200 ||
        strspn(path, "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") != strlen(path)) {
        dni__resp_error(resp, 404, "not found");
        return;
    }
    char *body = NULL;
    size_t len = 0;
    if (o->cfg.www_dir)
        body = read_file(o->cfg.www_dir, path, &len);
    for (int i = 0; !body && i < dni__www_file_count; i++) {
        const dni_www_file_t *f = &dni__www_files[i];
        if (strcmp(f->path, path))
            continue;
        len = (size_t)(f->end - f->start);
        body = malloc(len ? len : 1);
        if (!body) {
            dni__resp_error(resp, 500, "out of memory");
            return;
        }
        memcpy(body, f->start, len);
    }
    if (!body) {
        dni__resp_error(resp, 404, "not found");
        return;
    }
    dni__resp_take(resp, 200, body, len, mime_of(path));
    resp->headers = security_headers;
}
