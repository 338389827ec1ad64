/* `moil db export`: runs, metrics, curve points or per-item scores of a results database as
 * CSV, TSV or a Markdown table, for spreadsheets, scripts and notes. */
#include "cmd_db_common.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: moil db export [--db PATH] [--what runs|metrics|curves|items] [--format csv|tsv|md]\n"
    "                      [--table ID] [--status S] [--task T] [--method M] [--model M]\n"
    "\n"
    "Write rows of a results database to stdout, with a header line:\n"
    "  runs     every column of each run, plus command, key_metric and key_value (as\n"
    "           `moil db runs`)\n"
    "  metrics  one row per metric: the run's id, table, task, model, method, seed,\n"
    "           status, then split, name, value\n"
    "  curves   one row per curve point: the run's identity, then name, step, value\n"
    "  items    one row per scored test item: the run's identity, then split, name\n"
    "           (the family, e.g. vqa_score), item (its id) and value\n"
    "NaN and infinite values are written nan, inf, -inf; a missing value is empty.\n"
    "\n"
    "  --db PATH        results database (default " DB_DEFAULT_PATH ")\n"
    "  --what W         runs (default), metrics, curves or items\n"
    "  --format F       csv (default; RFC 4180 quoting, exact values), tsv (\\t \\n \\r \\\\\n"
    "                   escaped, exact values) or md (Markdown table, 6 significant digits)\n"
    "  --table ID, --status S, --task T, --method M, --model M\n"
    "                   only runs with these values (all given must match)\n";

typedef int (*SelectFn)(Db *db, const DbRunFilter *filter, DbTable *out);

int cmd_db_export(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    DbArgs a = {.cmd = "moil db export", .usage = usage, .db_path = DB_DEFAULT_PATH};
    const char *what = "runs", *format_name = "csv";
    for (int i = 1; i < argc; i++) {
        int taken = db_args_take(&a, 1, argc, argv, &i);
        if (taken < 0) return 2;
        if (taken) continue;
        const char **slot = !strcmp(argv[i], "--what") ? &what : !strcmp(argv[i], "--format") ? &format_name : NULL;
        if (!slot) return db_args_usage_error(&a, "unknown argument '%s'", argv[i]);
        if (i + 1 >= argc) return db_args_usage_error(&a, "%s needs a value", argv[i]);
        *slot = argv[++i];
    }
    SelectFn select = !strcmp(what, "runs")      ? db_select_runs
                      : !strcmp(what, "metrics") ? db_select_metrics
                      : !strcmp(what, "curves")  ? db_select_curves
                      : !strcmp(what, "items")   ? db_select_items
                                                 : NULL;
    if (!select) return db_args_usage_error(&a, "--what '%s': expected runs, metrics, curves or items", what);
    DbFormat format = !strcmp(format_name, "csv")   ? DB_FORMAT_CSV
                      : !strcmp(format_name, "tsv") ? DB_FORMAT_TSV
                      : !strcmp(format_name, "md")  ? DB_FORMAT_MD
                                                    : DB_FORMAT_TEXT;
    if (format == DB_FORMAT_TEXT)
        return db_args_usage_error(&a, "--format '%s': expected csv, tsv or md", format_name);
    Db *db;
    if (db_open_copy(a.db_path, &db)) return db_args_fail(&a);
    DbTable rows;
    int rc = select(db, &a.filter, &rows);
    if (db_close(db) || rc) {
        if (rc == 0) db_table_free(&rows);
        return db_args_fail(&a);
    }
    rc = db_table_write(&rows, format, stdout);
    db_table_free(&rows);
    return rc ? db_args_fail(&a) : 0;
}
