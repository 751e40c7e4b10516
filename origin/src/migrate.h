/*
 * migrate.h - `dni-origin migrate`: a SQLite database copied into
 * PostgreSQL (migrate.c).
 */
#ifndef DNI_MIGRATE_H
#define DNI_MIGRATE_H

/* Runs the subcommand; argv[0] is "migrate". Returns the exit status. */
int dni__migrate_main(int argc, char **argv);

#endif /* DNI_MIGRATE_H */
