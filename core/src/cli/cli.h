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

#endif
