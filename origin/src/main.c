/*
 * main.c - dni-origin: parse options, open the store, serve until SIGTERM
 * or SIGINT, then stop accepting, finish the requests in flight, commit
 * and exit 0.
 *
 * Signals are blocked before any thread starts, so every thread inherits
 * the mask and only the main thread receives them, through sigwait().
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "migrate.h"
#include "pg_sql.h"

int main(int argc, char **argv)
{
    dni_origin_t o;
    memset(&o, 0, sizeof o);
    if (argc > 1 && !strcmp(argv[1], "migrate"))
        return dni__migrate_main(argc - 1, argv + 1);
    int rc = dni__config_parse(&o.cfg, argc, argv);
    if (rc > 0)
        return 0;
    if (rc < 0)
        return 2;

    dni__log_quiet(o.cfg.quiet);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[256];
    o.store = dni__store_open(o.cfg.db_path, o.cfg.synchronous, o.cfg.readers,
                              err, sizeof err);
    if (!o.store) {
        fprintf(stderr, "dni-origin: %s\n", err);
        return 1;
    }
    if (!dni__lifecycle_start(&o, err, sizeof err)) {
        fprintf(stderr, "dni-origin: %s\n", err);
        dni__store_close(o.store);
        return 1;
    }
    void *daemon = dni__http_start(&o);
    if (!daemon) {
        dni__lifecycle_stop(o.lifecycle);
        dni__store_close(o.store);
        return 1;
    }
    if (dni__postback_start(&o))
        fprintf(stderr, "dni-origin: cannot start sending postbacks\n");
    char shown[512];
    dni__pg_redact(o.cfg.db_path, shown, sizeof shown);
    if (dni__store_target_is_pg(o.cfg.db_path))
        fprintf(stderr, "dni-origin: listening on %s (db %s)\n", o.cfg.listen,
                shown);
    else
        fprintf(stderr, "dni-origin: listening on %s (db %s, synchronous=%s)\n",
                o.cfg.listen, shown, o.cfg.synchronous);
    if (o.cfg.allow_unsigned_webhooks && !o.cfg.twilio_token)
        fprintf(stderr, "dni-origin: WARNING: --allow-unsigned-webhooks: call "
                        "webhooks are accepted without a signature; anyone "
                        "who can reach this port can post fake calls\n");
    else if (o.cfg.allow_unsigned_webhooks)
        fprintf(stderr, "dni-origin: --allow-unsigned-webhooks has no effect: "
                        "DNI_TWILIO_AUTH_TOKEN is set, signatures are checked\n");
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "dni-origin: %s, finishing requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    dni__http_stop(daemon);
    dni__lifecycle_stop(o.lifecycle);
    dni__postback_stop();
    dni__store_close(o.store);
    fprintf(stderr, "dni-origin: stopped\n");
    return 0;
}
