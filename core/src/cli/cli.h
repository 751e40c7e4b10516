/*
 * cli.h - the subcommands of the `dni` command. Each takes the arguments
 * after its own name and returns the process exit status: 0 success,
 * 1 I/O error, 2 usage error or bad input.
 */
#ifndef DNI_CLI_H
#define DNI_CLI_H

int cli_swap(int argc, char **argv);
int cli_sim(int argc, char **argv);
int cli_call(int argc, char **argv);

/* The value of option name at argv[*i] ("--name V" or "--name=V"),
 * advancing *i past it; NULL when argv[*i] is not that option, or, with
 * *missing set, when it has no value (options.c). */
const char *cli_option_value(int argc, char **argv, int *i, const char *name,
                             int *missing);

#endif
