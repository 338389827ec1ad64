/* `moil db show RUN`: everything the results database holds about one run:
 * its row (status, error, parameter counts, times, code revision), its
 * config as indented JSON, its metrics, a summary of each curve and its
 * arrays of per-item scores. Ends with name=value lines. */
#include "cmd_db_common.h"
#include "commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: moil db show RUN [--db PATH]\n"
    "\n"
    "Show run RUN (its id, as `moil db runs` lists) of a results database: every\n"
    "column of its row, its config (indented JSON), all its metrics, and per curve\n"
    "the number of points (and of NaN/inf ones), the first and last step and value,\n"
    "and the minimum and maximum value with their step, and per array of per-item\n"
    "scores its split, family, items, encoding, stored bytes and item set.\n"
    "\n"
    "  --db PATH   results database (default " DB_DEFAULT_PATH ")\n"
    "\n"
    "Ends with name=value lines: run_id, status, wall_s, and <split>/<metric>=value\n"
    "for every metric.\n";

/* The run's row as "column: value" lines, the config as indented JSON. */
static void print_run(const DbRunDetails *d) {
    const DbTable *run = &d->run;
    for (int c = 0; c < run->n_cols; c++) {
        const char *v = run->cells[c];
        if (strcmp(run->cols[c], "config_json")) printf("%-17s %s\n", run->cols[c], v ? v : "-");
    }
    printf("\nconfig:\n%s\n", d->config);
}

static int print_section(const char *title, const DbTable *t) {
    printf("\n%s:\n", title);
    if (t->n_rows == 0) {
        printf("(none)\n");
        return 0;
    }
    return db_table_write(t, DB_FORMAT_TEXT, stdout);
}

static void print_name_values(const DbTable *run, const DbTable *metrics) {
    printf("\nrun_id=%s\nstatus=%s\n", db_table_get(run, 0, "id"), db_table_get(run, 0, "status"));
    const char *wall = db_table_get(run, 0, "wall_s");
    if (wall) printf("wall_s=%s\n", wall);
    for (int r = 0; r < metrics->n_rows; r++)
        printf("%s/%s=%s\n", db_table_get(metrics, r, "split"), db_table_get(metrics, r, "name"),
               db_table_get(metrics, r, "value"));
}

/* Query and print everything about one run. */
static int show_run(Db *db, int64_t run_id) {
    DbRunDetails d;
    if (db_select_run_details(db, run_id, &d)) return -1;
    print_run(&d);
    int rc = print_section("metrics", &d.metrics);
    if (rc == 0) rc = print_section("curves", &d.curves);
    if (rc == 0) rc = print_section("item scores", &d.items);
    if (rc == 0) print_name_values(&d.run, &d.metrics);
    db_run_details_free(&d);
    return rc;
}

int cmd_db_show(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    DbArgs a = {.cmd = "moil db show", .usage = usage, .db_path = DB_DEFAULT_PATH};
    const char *run_arg = NULL;
    for (int i = 1; i < argc; i++) {
        int taken = db_args_take(&a, 0, argc, argv, &i);
        if (taken < 0) return 2;
        if (taken) continue;
        if (argv[i][0] == '-' || run_arg) return db_args_usage_error(&a, "unknown argument '%s'", argv[i]);
        run_arg = argv[i];
    }
    if (!run_arg) return db_args_usage_error(&a, "no run id given");
    int64_t run_id;
    if (db_args_run_id(&a, run_arg, &run_id)) return 2;
    Db *db;
    if (db_open_copy(a.db_path, &db)) return db_args_fail(&a);
    int rc = show_run(db, run_id);
    if (db_close(db) || rc) return db_args_fail(&a);
    return 0;
}
