/*
 * swap.c - `dni swap`: rewrite an HTML file (or stdin) to stdout.
 *
 *   dni swap --rule DEFAULT=REPLACEMENT[@TEMPLATE] [--rule ...]
 *            [--country CC] [--chunk-size N] [FILE]
 *
 * Exit status: 0 success; 2 usage error or a rule that is not a phone
 * number (nothing is written to stdout then); 1 an I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dni.h"

#define MAX_RULE_ARGS 64

static int write_stdout(const char *p, size_t n, void *ud)
{
    (void)ud;
    return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

int cli_swap(int argc, char **argv)
{
    const char *rule_args[MAX_RULE_ARGS];
    size_t nrules = 0;
    const char *country = NULL;
    const char *path = NULL;
    size_t chunk = 64 * 1024;

    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = cli_option_value(argc, argv, &i, "--rule", &missing)) != NULL) {
            if (nrules == MAX_RULE_ARGS) {
                fprintf(stderr, "dni swap: at most %d rules\n", DNI_MAX_RULES);
                return 2;
            }
            rule_args[nrules++] = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--country",
                                     &missing)) != NULL) {
            country = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--chunk-size",
                                     &missing)) != NULL) {
            char *endp;
            errno = 0;
            unsigned long long n = strtoull(v, &endp, 10);
            if (*v < '0' || *v > '9' || *endp != '\0' || n == 0 ||
                errno != 0 || n > (1ull << 30)) {
                fprintf(stderr,
                        "dni swap: --chunk-size must be a whole number "
                        "from 1 to 1073741824, not '%s'\n",
                        v);
                return 2;
            }
            chunk = (size_t)n;
        } else if (missing) {
            fprintf(stderr, "dni swap: option '%s' needs a value\n", argv[i]);
            return 2;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "dni swap: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (path != NULL) {
            fprintf(stderr, "dni swap: more than one input file ('%s')\n",
                    argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (nrules == 0) {
        fputs("dni swap: at least one --rule DEFAULT=REPLACEMENT is "
              "needed\n",
              stderr);
        return 2;
    }

    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    for (size_t i = 0; i < nrules; i++) {
        char why[256];
        if (dni_ruleset_add_spec(&rules, rule_args[i], country, why,
                                 sizeof why) != DNI_OK) {
            fprintf(stderr, "dni swap: %s\n", why);
            return 2;
        }
    }

    FILE *in = stdin;
    if (path != NULL && strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (in == NULL) {
            fprintf(stderr, "dni swap: cannot open '%s': %s\n", path,
                    strerror(errno));
            return 1;
        }
    }

    dni_rewriter_t *rw;
    if (dni_rewriter_new(&rw, &rules, write_stdout, NULL, NULL) != DNI_OK) {
        fputs("dni swap: out of memory\n", stderr);
        return 1;
    }
    size_t cap = chunk < 65536 ? 65536 : chunk;
    char *buf = malloc(cap);
    int status = 0;
    if (buf == NULL) {
        fputs("dni swap: out of memory\n", stderr);
        status = 1;
    }
    while (status == 0) {
        size_t got = fread(buf, 1, cap, in);
        for (size_t off = 0; off < got && status == 0; off += chunk) {
            size_t n = got - off < chunk ? got - off : chunk;
            if (dni_rewriter_feed(rw, buf + off, n) != DNI_OK)
                status = 1;
        }
        if (got < cap) {
            if (ferror(in)) {
                fprintf(stderr, "dni swap: cannot read '%s'\n",
                        path ? path : "stdin");
                status = 1;
            }
            break;
        }
    }
    if (status == 0 && dni_rewriter_finish(rw) != DNI_OK)
        status = 1;
    if (fflush(stdout) != 0 && status == 0)
        status = 1;
    if (status == 1 && !ferror(in))
        fputs("dni swap: cannot write the output\n", stderr);
    free(buf);
    dni_rewriter_free(rw);
    if (in != stdin)
        fclose(in);
    return status;
}
