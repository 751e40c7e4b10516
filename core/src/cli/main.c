/*
 * main.c - the `dni` command: dispatches to its subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: dni swap --rule DEFAULT=REPLACEMENT[@TEMPLATE] [--rule ...]\n"
    "                [--country CC] [--chunk-size N] [FILE]\n"
    "       dni sim --pool POOL.json [--size N] [--recommend ACCURACY]\n"
    "               [TRACE.jsonl]\n"
    "       dni call --origin URL --to NUMBER [--from NUMBER] [--duration S]\n"
    "                [--status-sequence S1,S2,...] [--sid SID] [--wait S]\n"
    "                [--json]\n";

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "swap") == 0)
        return cli_swap(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sim") == 0)
        return cli_sim(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "call") == 0)
        return cli_call(argc - 1, argv + 1);
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2)
        fputs("dni: missing command (swap, sim or call); see dni --help\n", stderr);
    else
        fprintf(stderr, "dni: unknown command '%s'; see dni --help\n",
                argv[1]);
    return 2;
}
