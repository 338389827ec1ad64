/* `moil db merge A.db B.db ... --into PATH`: fold shard databases (one per
 * job of a cluster or parallel run) into one results database without
 * duplicates (rules in results/db/db.h, db_merge). Ends with name=value totals. */
#include "cmd_db_common.h"
#include "commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: moil db merge SHARD.db... [--into PATH]\n"
    "\n"
    "Fold the runs of each shard database into the database at PATH (default\n"
    DB_DEFAULT_PATH ", created if missing). A run is identified by its config hash:\n"
    "  - an 'ok' run already in PATH wins over anything from a shard;\n"
    "  - an 'ok' run from a shard replaces PATH's failed, diverged, killed or running\n"
    "    runs of the same config;\n"
    "  - any other run comes over only if PATH has no run of its config;\n"
    "  - of several runs of one config in a shard, only its latest 'ok' one (else its\n"
    "    latest one) is considered.\n"
    "Metrics, curves and item scores come with their run, under its new id; the paper's reference\n"
    "numbers are never duplicated. Each shard is merged in one transaction, so merging\n"
    "the same shard again changes nothing, and a failure leaves the shards merged\n"
    "before it in place. Shards from an older schema are upgraded first.\n"
    "\n"
    "  --into PATH   the database to merge into (default " DB_DEFAULT_PATH ")\n"
    "\n"
    "Ends with name=value lines: shards, runs_added, runs_replaced, runs_skipped,\n"
    "metrics_copied, curves_copied, items_copied (arrays of per-item scores).\n";

int cmd_db_merge(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    DbArgs a = {.cmd = "moil db merge", .usage = usage, .db_path = DB_DEFAULT_PATH};
    int n_shards = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--into")) {
            if (i + 1 >= argc) return db_args_usage_error(&a, "--into needs a value");
            a.db_path = argv[++i];
        } else if (argv[i][0] == '-') {
            return db_args_usage_error(&a, "unknown option '%s'", argv[i]);
        } else {
            n_shards++;
        }
    }
    if (n_shards == 0) return db_args_usage_error(&a, "no shard database given");
    Db *db;
    if (db_open(a.db_path, &db)) return db_args_fail(&a);
    DbMergeStats total = {0};
    int rc = 0;
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (!strcmp(argv[i], "--into")) {
            i++;
            continue;
        }
        DbMergeStats one = {0};
        rc = db_merge(db, argv[i], &one);
        if (rc) break;
        printf("%s: %d runs added, %d replaced, %d skipped (%" PRId64 " metrics, %" PRId64 " curve points, %" PRId64
               " item score arrays)\n",
               argv[i], one.runs_added, one.runs_replaced, one.runs_skipped, one.metrics_copied, one.curves_copied,
               one.items_copied);
        total.runs_added += one.runs_added;
        total.runs_replaced += one.runs_replaced;
        total.runs_skipped += one.runs_skipped;
        total.metrics_copied += one.metrics_copied;
        total.curves_copied += one.curves_copied;
        total.items_copied += one.items_copied;
    }
    if (db_close(db) || rc) return db_args_fail(&a);
    printf("shards=%d\nruns_added=%d\nruns_replaced=%d\nruns_skipped=%d\nmetrics_copied=%" PRId64
           "\ncurves_copied=%" PRId64 "\nitems_copied=%" PRId64 "\n",
           n_shards, total.runs_added, total.runs_replaced, total.runs_skipped, total.metrics_copied,
           total.curves_copied, total.items_copied);
    return 0;
}
