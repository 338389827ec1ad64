/* `moil db check`: is a results database sound? SQLite's integrity and
 * foreign-key checks, the schema version, runs per status, and 'running'
 * rows whose process is gone (marked killed with --fix). Exit 1 if anything
 * is wrong. Ends with name=value lines. */
#include "cmd_db_common.h"
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: moil db check [--db PATH] [--fix] [--max-age SECONDS]\n"
    "\n"
    "Check a results database: PRAGMA integrity_check and foreign_key_check, the\n"
    "schema version (a file from a newer moil is refused, an older one upgraded),\n"
    "the number of runs per status, and stale 'running' rows: their process is gone\n"
    "(judged on the host that ran them: begun in another boot, or its pid no longer\n"
    "exists) or, with --max-age, their last heartbeat is older than SECONDS (any\n"
    "host). Exit status 1 if there is any problem: integrity errors or stale rows\n"
    "left unfixed.\n"
    "\n"
    "  --db PATH          results database (default " DB_DEFAULT_PATH ")\n"
    "  --fix              mark the stale rows 'killed' (run_all.sh then reruns them)\n"
    "  --max-age SECONDS  also count a run stale after SECONDS without a heartbeat\n"
    "                     (default 0: only by pid)\n"
    "\n"
    "Ends with name=value lines: schema_version, integrity (ok or failed), runs,\n"
    "runs_<status>, stale, fixed, problems.\n";

/* Integrity and foreign keys: prints the messages; *n_bad gets their number. */
static int check_integrity(Db *db, int *n_bad) {
    DbTable bad;
    if (db_select_problems(db, &bad)) return -1;
    printf("integrity: %s\n", bad.n_rows ? "FAILED" : "ok");
    for (int r = 0; r < bad.n_rows; r++) printf("  %s\n", bad.cells[r]);
    *n_bad = bad.n_rows;
    db_table_free(&bad);
    return 0;
}

/* Stale 'running' rows: listed, and marked killed if fix. */
static int check_stale(Db *db, int fix, double max_age_s, int *n_stale, int *n_fixed) {
    DbStaleRuns stale;
    if (db_runs_find_stale(db, max_age_s, &stale)) return -1;
    printf("stale running runs: %d\n", stale.n);
    for (int i = 0; i < stale.n; i++) printf("  run %" PRId64 ": %s\n", stale.run_ids[i], stale.reasons[i]);
    *n_stale = stale.n;
    db_stale_runs_free(&stale);
    if (*n_stale && fix && db_runs_mark_stale(db, max_age_s, n_fixed)) return -1;
    if (*n_stale) printf(fix ? "marked %d killed\n" : "(--fix marks them killed)\n", *n_fixed);
    return 0;
}

/* Runs per status, as a line for people and runs_<status>=N lines. */
static int check_counts(Db *db) {
    DbTable counts;
    if (db_select_status_counts(db, &counts)) return -1;
    long long n[DB_KILLED + 1] = {0}, total = 0;
    for (int r = 0; r < counts.n_rows; r++)
        for (int s = DB_RUNNING; s <= DB_KILLED; s++)
            if (!strcmp(db_table_get(&counts, r, "status"), db_status_name((DbStatus)s)))
                total += n[s] = atoll(db_table_get(&counts, r, "runs"));
    db_table_free(&counts);
    printf("runs: %lld (", total);
    for (int s = DB_RUNNING; s <= DB_KILLED; s++) printf("%s%s %lld", s ? ", " : "", db_status_name((DbStatus)s), n[s]);
    printf(")\n\nruns=%lld\n", total);
    for (int s = DB_RUNNING; s <= DB_KILLED; s++) printf("runs_%s=%lld\n", db_status_name((DbStatus)s), n[s]);
    return 0;
}

/* Every check; *problems counts what is wrong. */
static int check_db(Db *db, const char *path, int fix, double max_age_s, int *problems) {
    int n_bad = 0, n_stale = 0, n_fixed = 0;
    printf("%s: schema version %d\n", path, db_schema_version());
    if (check_integrity(db, &n_bad) || check_stale(db, fix, max_age_s, &n_stale, &n_fixed) || check_counts(db))
        return -1;
    *problems = n_bad + (n_stale > n_fixed ? n_stale - n_fixed : 0);
    printf("schema_version=%d\nintegrity=%s\nstale=%d\nfixed=%d\nproblems=%d\n", db_schema_version(),
           n_bad ? "failed" : "ok", n_stale, n_fixed, *problems);
    return 0;
}

int cmd_db_check(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    DbArgs a = {.cmd = "moil db check", .usage = usage, .db_path = DB_DEFAULT_PATH};
    int fix = 0;
    double max_age_s = 0;
    for (int i = 1; i < argc; i++) {
        int taken = db_args_take(&a, 0, argc, argv, &i);
        if (taken < 0) return 2;
        if (taken) continue;
        if (!strcmp(argv[i], "--fix")) {
            fix = 1;
        } else if (!strcmp(argv[i], "--max-age")) {
            if (i + 1 >= argc) return db_args_usage_error(&a, "--max-age needs a value");
            char *end;
            errno = 0;
            max_age_s = strtod(argv[++i], &end);
            if (errno || *end || end == argv[i] || !(max_age_s >= 0))
                return db_args_usage_error(&a, "--max-age '%s': expected seconds >= 0", argv[i]);
        } else {
            return db_args_usage_error(&a, "unknown argument '%s'", argv[i]);
        }
    }
    Db *db;
    if (db_open_existing(a.db_path, &db)) return db_args_fail(&a);
    int problems = 0;
    int rc = check_db(db, a.db_path, fix, max_age_s, &problems);
    if (db_close(db) || rc) return db_args_fail(&a);
    return problems ? 1 : 0;
}
