/* Options and messages shared by the `moil db ...` commands. */
#include "cmd_db_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_args_usage_error(const DbArgs *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", a->cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n%s", a->usage);
    va_end(ap);
    return 2;
}

int db_args_run_id(const DbArgs *a, const char *arg, int64_t *run_id) {
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || *end || end == arg || v <= 0)
        return db_args_usage_error(a, "run id '%s': expected a positive integer", arg);
    *run_id = v;
    return 0;
}

int db_args_fail(const DbArgs *a) {
    fprintf(stderr, "%s: %s\n", a->cmd, err_msg());
    return 1;
}

static int is_status(const char *s) {
    for (int i = DB_RUNNING; i <= DB_KILLED; i++)
        if (!strcmp(s, db_status_name((DbStatus)i))) return 1;
    return 0;
}

int db_args_take(DbArgs *a, int with_filter, int argc, char **argv, int *i) {
    const char *opt = argv[*i];
    const char **slot = !strcmp(opt, "--db") ? &a->db_path
                        : !with_filter        ? NULL
                        : !strcmp(opt, "--table")  ? &a->filter.table_id
                        : !strcmp(opt, "--status") ? &a->filter.status
                        : !strcmp(opt, "--task")   ? &a->filter.task
                        : !strcmp(opt, "--model")  ? &a->filter.model
                        : !strcmp(opt, "--method") ? &a->filter.method
                                                   : NULL;
    if (!slot) return 0;
    if (*i + 1 >= argc) {
        db_args_usage_error(a, "%s needs a value", opt);
        return -1;
    }
    *slot = argv[++*i];
    if (slot == &a->filter.status && !is_status(*slot)) {
        db_args_usage_error(a, "unknown status '%s' (running, ok, failed, diverged or killed)", *slot);
        return -1;
    }
    return 1;
}
