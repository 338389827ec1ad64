/* Options and messages shared by the `moil db ...` commands
 * (cli/cmd_db_*.c). */
#ifndef MOIL_CMD_DB_COMMON_H
#define MOIL_CMD_DB_COMMON_H

#include "check.h"
#include "db.h"

typedef struct {
    const char *cmd;     /* "moil db runs", prefixed to every message */
    const char *usage;   /* printed after a usage error */
    const char *db_path; /* --db PATH; DB_DEFAULT_PATH if not given */
    DbRunFilter filter;  /* --table --status --task --model --method */
} DbArgs;

/* Take argv[*i] if it is --db PATH, or (with_filter) a filter option, and
 * step *i past its value. Returns 1 if taken, 0 if the option is not one of
 * these, -1 after printing a usage error (a missing or bad value). */
int db_args_take(DbArgs *a, int with_filter, int argc, char **argv, int *i);
/* Print "<cmd>: <message>" and the usage to stderr; returns 2. */
int db_args_usage_error(const DbArgs *a, const char *fmt, ...) MOIL_PRINTF(2, 3);
/* Parse arg as a run id (a positive integer) into *run_id: 0, or 2 after
 * printing a usage error naming arg. */
int db_args_run_id(const DbArgs *a, const char *arg, int64_t *run_id);
/* Print "<cmd>: <err_msg()>" to stderr; returns 1. */
int db_args_fail(const DbArgs *a);

#endif
