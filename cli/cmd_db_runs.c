/* `moil db runs`: one line per run of the results database, oldest first,
 * with its headline metric; ends with name=value counts. */
#include "cmd_db_common.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: moil db runs [--db PATH] [--table ID] [--status S] [--task T] [--method M] [--model M]\n"
    "\n"
    "List the runs of a results database, oldest first: id, paper table, command\n"
    "(finetune, pretrain, eval, bench-infer), task, model, method, seed, status (running,\n"
    "ok, failed, diverged, killed), wall time in seconds and the run's key metric\n"
    "(retrieval ir_r1, vqa vqa_score, nlvr accuracy, caption cider, else the first by\n"
    "name; split test first) where it has one.\n"
    "\n"
    "  --db PATH   results database (default " DB_DEFAULT_PATH ")\n"
    "  --table ID, --status S, --task T, --method M, --model M\n"
    "              only runs with these values (all given must match)\n"
    "\n"
    "Ends with name=value lines: runs=N and runs_<status>=N.\n";

static const char *const list_cols[] = {"id",   "table_id", "command", "task",       "model",    "method",
                                        "seed", "status",   "wall_s",  "key_metric", "key_value"};

int cmd_db_runs(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    DbArgs a = {.cmd = "moil db runs", .usage = usage, .db_path = DB_DEFAULT_PATH};
    for (int i = 1; i < argc; i++) {
        int taken = db_args_take(&a, 1, argc, argv, &i);
        if (taken < 0) return 2;
        if (!taken) return db_args_usage_error(&a, "unknown argument '%s'", argv[i]);
    }
    Db *db;
    if (db_open_copy(a.db_path, &db)) return db_args_fail(&a);
    DbTable runs;
    int rc = db_select_runs(db, &a.filter, &runs);
    if (db_close(db) || rc) {
        if (rc == 0) db_table_free(&runs);
        return db_args_fail(&a);
    }
    int counts[DB_KILLED + 1] = {0};
    for (int r = 0; r < runs.n_rows; r++)
        for (int s = DB_RUNNING; s <= DB_KILLED; s++)
            counts[s] += !strcmp(db_table_get(&runs, r, "status"), db_status_name((DbStatus)s));
    int n_rows = runs.n_rows;
    if (n_rows == 0) printf("%s: no runs match\n", a.db_path);
    else if (db_table_keep(&runs, list_cols, (int)(sizeof list_cols / sizeof list_cols[0])) ||
             db_table_write(&runs, DB_FORMAT_TEXT, stdout))
        rc = -1;
    db_table_free(&runs);
    if (rc) return db_args_fail(&a);
    printf("runs=%d\n", n_rows);
    for (int s = DB_RUNNING; s <= DB_KILLED; s++) printf("runs_%s=%d\n", db_status_name((DbStatus)s), counts[s]);
    return 0;
}
