/*
 * config.c - command-line options and secrets from the environment.
 *
 * Secrets never come from argv (it is visible to every user of the
 * machine through ps): DNI_ADMIN_TOKEN, DNI_EDGE_SECRET and
 * DNI_TWILIO_AUTH_TOKEN are read from the environment.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "origin.h"

static const char usage[] =
    "usage: dni-origin --listen ADDR:PORT --db FILE|URL [options]\n"
    "       dni-origin migrate --from sqlite:FILE --to postgresql://...\n"
    "\n"
    "The edgedni origin service: pools API, edge sync, call webhooks.\n"
    "\n"
    "  --listen ADDR:PORT     address to serve HTTP on (required)\n"
    "  --db FILE              SQLite database, created if missing (required)\n"
    "  --db postgresql://...  or a PostgreSQL database (libpq URL; several\n"
    "                         processes may share it; password from\n"
    "                         PGPASSWORD or ~/.pgpass, not the URL)\n"
    "  --public-url URL       scheme://host[:port] the provider calls; the\n"
    "                         webhook signature is checked against this URL\n"
    "                         plus the request path and query (default\n"
    "                         http://ADDR:PORT)\n"
    "  --www DIR              serve the dashboard's files from DIR when\n"
    "                         present there (default: the copy compiled in)\n"
    "  --synchronous MODE     SQLite synchronous: FULL (default; durable\n"
    "                         across power loss) or NORMAL\n"
    "  --max-body BYTES       largest request body (default 1048576)\n"
    "  --max-header BYTES     largest request line + headers (default 16384)\n"
    "  --max-events N         most events in one sync (default 10000)\n"
    "  --max-connections N    concurrent connections (default 1024; past it\n"
    "                         503, with a reserve of 1/16 for /healthz,\n"
    "                         webhooks and edge syncs)\n"
    "  --max-per-address N    concurrent connections from one client address\n"
    "                         (default 64; past it 429)\n"
    "  --timeout S            idle connection timeout in seconds (default 30)\n"
    "  --header-timeout S     a request's headers must arrive within S seconds\n"
    "                         of the connection (default 10; 408)\n"
    "  --body-timeout S       its body within S seconds of its headers\n"
    "                         (default 30; 408)\n"
    "  --workers N            handler threads (default 64)\n"
    "  --threads N            event-loop threads (default: one per core)\n"
    "  --readers N            read-only database connections (default 4)\n"
    "  --grant-ttl S          lifetime of a number grant (default 60)\n"
    "  --edge-ttl S           an edge not synced for S seconds is inactive\n"
    "                         (default 180)\n"
    "  --max-call-s S         a call with no status for S seconds is closed\n"
    "                         as expired and its number's hold lifted\n"
    "                         (default 14400: 4 hours)\n"
    "  --postback-retry S     first retry of a failed postback after about S\n"
    "                         seconds, doubling (with jitter) up to an hour\n"
    "                         (default 30)\n"
    "  --postback-window S    retry a postback for S seconds after the call\n"
    "                         completed, then mark it failed (default 86400)\n"
    "  --postback-timeout S   seconds one postback request may take (default 10)\n"
    "  --quiet                no activity log (one line per call event,\n"
    "                         attribution and edge sync with events)\n"
    "  --allow-unsigned-webhooks\n"
    "                         accept call webhooks without a signature when\n"
    "                         DNI_TWILIO_AUTH_TOKEN is unset (tests and local\n"
    "                         demos only: anyone could post fake calls);\n"
    "                         without it such webhooks are refused (403)\n"
    "  --twilio-api URL       base URL of Twilio's REST API (default\n"
    "                         https://api.twilio.com; tests point it at a\n"
    "                         local fake)\n"
    "  --provider-timeout S   longest wait for one provider request (default\n"
    "                         30); a purchase with no answer is settled\n"
    "                         against the provider's list of numbers\n"
    "  --voice-fallback NUMBER\n"
    "                         where POST /v1/voice forwards a call to a\n"
    "                         number in no pool (default: a short message\n"
    "                         and a hang-up)\n"
    "  --help                 print this help and exit\n"
    "\n"
    "Environment:\n"
    "  DNI_ADMIN_TOKEN        bearer token of the admin API (pools, calls,\n"
    "                         reports); unset: the admin API answers 401\n"
    "  DNI_EDGE_SECRET        bearer token of POST /v1/edge/sync\n"
    "  DNI_TWILIO_AUTH_TOKEN  webhooks must carry a valid X-Twilio-Signature\n"
    "                         made with this token (else 403); unset, every\n"
    "                         webhook is refused unless\n"
    "                         --allow-unsigned-webhooks is given\n"
    "  DNI_TWILIO_ACCOUNT_SID the Twilio account whose numbers pools with\n"
    "                         provider \"twilio\" buy and release; its REST\n"
    "                         calls authenticate with DNI_TWILIO_API_KEY and\n"
    "                         DNI_TWILIO_API_SECRET when set, else with the\n"
    "                         account SID and DNI_TWILIO_AUTH_TOKEN\n";

static int parse_uint(const char *opt, const char *v, unsigned long min,
                      unsigned long max, unsigned long *out)
{
    char *end;
    if (!v || !*v || *v == '-') {
        fprintf(stderr, "dni-origin: %s needs a number\n", opt);
        return -1;
    }
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n < min || n > max) {
        fprintf(stderr, "dni-origin: %s must be a whole number in %lu..%lu\n",
                opt, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int dni__config_parse(dni_origin_config_t *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->synchronous = "FULL";
    cfg->max_body = 1048576;
    cfg->max_header = 16384;
    cfg->max_events = 10000;
    cfg->max_connections = 1024;
    cfg->max_per_address = 64;
    cfg->timeout_s = 30;
    cfg->header_timeout_s = 10;
    cfg->body_timeout_s = 30;
    cfg->workers = 64;
    cfg->threads = 0;
    cfg->readers = 4;
    cfg->grant_ttl_s = 60;
    cfg->edge_ttl_s = 180;
    cfg->provider_timeout_s = 30;
    cfg->max_call_s = 14400;
    cfg->postback_retry_s = 30;
    cfg->postback_window_s = 86400;
    cfg->postback_timeout_s = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(a, "--allow-unsigned-webhooks") == 0) {
            cfg->allow_unsigned_webhooks = 1;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            cfg->quiet = 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n;
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "dni-origin: unexpected argument '%s' (see --help)\n",
                    a);
            return -1;
        }
        if (!v) {
            fprintf(stderr, "dni-origin: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--listen") == 0)
            cfg->listen = v;
        else if (strcmp(a, "--db") == 0)
            cfg->db_path = v;
        else if (strcmp(a, "--public-url") == 0)
            cfg->public_url = v;
        else if (strcmp(a, "--www") == 0)
            cfg->www_dir = v;
        else if (strcmp(a, "--synchronous") == 0) {
            if (strcasecmp(v, "FULL") != 0 && strcasecmp(v, "NORMAL") != 0) {
                fprintf(stderr, "dni-origin: --synchronous must be FULL or NORMAL\n");
                return -1;
            }
            cfg->synchronous = v;
        } else if (strcmp(a, "--max-body") == 0) {
            if (parse_uint(a, v, 1024, 1UL << 30, &n))
                return -1;
            cfg->max_body = n;
        } else if (strcmp(a, "--max-header") == 0) {
            if (parse_uint(a, v, 2048, 1UL << 20, &n))
                return -1;
            cfg->max_header = n;
        } else if (strcmp(a, "--max-events") == 0) {
            if (parse_uint(a, v, 1, 1000000, &n))
                return -1;
            cfg->max_events = (unsigned)n;
        } else if (strcmp(a, "--max-connections") == 0) {
            if (parse_uint(a, v, 1, 100000, &n))
                return -1;
            cfg->max_connections = (unsigned)n;
        } else if (strcmp(a, "--max-per-address") == 0) {
            if (parse_uint(a, v, 1, 100000, &n))
                return -1;
            cfg->max_per_address = (unsigned)n;
        } else if (strcmp(a, "--header-timeout") == 0) {
            if (parse_uint(a, v, 1, 3600, &n))
                return -1;
            cfg->header_timeout_s = (unsigned)n;
        } else if (strcmp(a, "--body-timeout") == 0) {
            if (parse_uint(a, v, 1, 3600, &n))
                return -1;
            cfg->body_timeout_s = (unsigned)n;
        } else if (strcmp(a, "--workers") == 0) {
            if (parse_uint(a, v, 1, 4096, &n))
                return -1;
            cfg->workers = (unsigned)n;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_uint(a, v, 1, 64, &n))
                return -1;
            cfg->threads = (unsigned)n;
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_uint(a, v, 1, 3600, &n))
                return -1;
            cfg->timeout_s = (unsigned)n;
        } else if (strcmp(a, "--readers") == 0) {
            if (parse_uint(a, v, 1, 64, &n))
                return -1;
            cfg->readers = (unsigned)n;
        } else if (strcmp(a, "--grant-ttl") == 0) {
            if (parse_uint(a, v, 1, 86400, &n))
                return -1;
            cfg->grant_ttl_s = (double)n;
        } else if (strcmp(a, "--twilio-api") == 0) {
            if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
                fprintf(stderr, "dni-origin: --twilio-api must start with http:// or https://\n");
                return -1;
            }
            cfg->twilio_api = v;
        } else if (strcmp(a, "--provider-timeout") == 0) {
            if (parse_uint(a, v, 1, 600, &n))
                return -1;
            cfg->provider_timeout_s = (double)n;
        } else if (strcmp(a, "--voice-fallback") == 0) {
            dni_phone_t ph;
            if (dni_phone_parse(&ph, v, strlen(v), NULL) != DNI_OK) {
                fprintf(stderr, "dni-origin: --voice-fallback must be a phone number\n");
                return -1;
            }
            snprintf(cfg->voice_fallback_e164, sizeof cfg->voice_fallback_e164,
                     "%s", ph.e164);
            cfg->voice_fallback = cfg->voice_fallback_e164;
        } else if (strcmp(a, "--postback-retry") == 0) {
            if (parse_uint(a, v, 1, 86400, &n))
                return -1;
            cfg->postback_retry_s = (double)n;
        } else if (strcmp(a, "--postback-window") == 0) {
            if (parse_uint(a, v, 1, 86400 * 7, &n))
                return -1;
            cfg->postback_window_s = (double)n;
        } else if (strcmp(a, "--postback-timeout") == 0) {
            if (parse_uint(a, v, 1, 600, &n))
                return -1;
            cfg->postback_timeout_s = (double)n;
        } else if (strcmp(a, "--edge-ttl") == 0) {
            if (parse_uint(a, v, 1, 86400 * 7, &n))
                return -1;
            cfg->edge_ttl_s = (double)n;
        } else if (strcmp(a, "--max-call-s") == 0) {
            if (parse_uint(a, v, 1, 86400 * 7, &n))
                return -1;
            cfg->max_call_s = (double)n;
        } else {
            fprintf(stderr, "dni-origin: unknown option '%s' (see --help)\n", a);
            return -1;
        }
    }
    if (!cfg->listen || !cfg->db_path) {
        fprintf(stderr, "dni-origin: --listen and --db are required (see --help)\n");
        return -1;
    }
    const char *colon = strrchr(cfg->listen, ':');
    if (!colon || colon == cfg->listen || !colon[1] ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        atoi(colon + 1) > 65535) {
        fprintf(stderr, "dni-origin: --listen must be ADDR:PORT, got '%s'\n",
                cfg->listen);
        return -1;
    }
    if (cfg->public_url && strncmp(cfg->public_url, "http://", 7) != 0 &&
        strncmp(cfg->public_url, "https://", 8) != 0) {
        fprintf(stderr, "dni-origin: --public-url must start with http:// or https://\n");
        return -1;
    }
    cfg->admin_token = env("DNI_ADMIN_TOKEN");
    cfg->edge_secret = env("DNI_EDGE_SECRET");
    cfg->twilio_token = env("DNI_TWILIO_AUTH_TOKEN");
    cfg->twilio_account = env("DNI_TWILIO_ACCOUNT_SID");
    cfg->twilio_key = env("DNI_TWILIO_API_KEY");
    cfg->twilio_secret = env("DNI_TWILIO_API_SECRET");
    if (cfg->twilio_account &&
        !(cfg->twilio_key ? cfg->twilio_secret != NULL : cfg->twilio_token != NULL)) {
        fprintf(stderr, "dni-origin: DNI_TWILIO_ACCOUNT_SID needs "
                        "DNI_TWILIO_API_KEY and DNI_TWILIO_API_SECRET, or "
                        "DNI_TWILIO_AUTH_TOKEN\n");
        return -1;
    }
    return 0;
}
