/* `moil db pair RUN_A RUN_B`: the paired bootstrap of two runs' per-item
 * scores of the same test items (results/README.md, "Intervals and tests"),
 * each run's own interval, and how many items they score differently; the
 * two runs may come from two results databases. Only reads. */
#include "cmd_db_common.h"
#include "commands.h"
#include "report_items.h"
#include "report_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: moil db pair RUN_A RUN_B [--db PATH] [--db-b PATH] [--split S] [--metric FAMILY [--at K]]\n"
    "\n"
    "Compare two runs' per-item scores of the same test items (docs/database.md,\n"
    "\"Per-item scores\") with the paired bootstrap of the tables (results/README.md,\n"
    "\"Intervals and tests\"): 2,000 replicates from seed 20, the two runs paired\n"
    "whatever their own seeds. Both runs must have scored the same items in the\n"
    "same order (the same ids); otherwise the command refuses.\n"
    "\n"
    "  --db PATH      results database of RUN_A (default " DB_DEFAULT_PATH ")\n"
    "  --db-b PATH    results database of RUN_B (default: the one of RUN_A)\n"
    "  --split S      the evaluation's split (default test; test@ema, ... for variants)\n"
    "  --metric F     the item family: vqa_score, accuracy, cider_d, or a rank family\n"
    "                 (ir_rank, tr_rank, rerank_ir_rank, rerank_tr_rank) with --at K;\n"
    "                 default: RUN_A's only family on the split\n"
    "  --at K         with a rank family: R@K, an item counts 100 when 0 < rank <= K\n"
    "\n"
    "Ends with name=value lines: run_a, run_b, split, metric, items, mean_a, lo_a,\n"
    "hi_a, mean_b, lo_b, hi_b (each run's mean and 95% interval), diff (mean_a -\n"
    "mean_b), diff_lo, diff_hi (its 95% interval), p (two-sided, that the difference\n"
    "is 0) and items_differing (items whose two scores differ). Both database files\n"
    "are left byte for byte as they were.\n";

#define FAMILY_LIST 512 /* bytes of a run's list of item families */

typedef struct {
    const char *path; /* its database file */
    Db *db;
    int64_t run_id;
    DbItems items; /* its scores, with their ids */
    double *x;     /* [items.n] in the metric's unit (R@K: 100 or 0) */
} PairRun;

/* The item families run r records on split, as "a, b, c" into list[n];
 * returns how many. -1 when there is no such run (err_set by the query). */
static int run_families(const PairRun *r, const char *split, char *list, size_t n) {
    DbRunDetails d;
    if (db_select_run_details(r->db, r->run_id, &d)) return -1;
    int count = 0;
    list[0] = '\0';
    for (int row = 0; row < d.items.n_rows; row++) {
        if (strcmp(db_table_get(&d.items, row, "split"), split)) continue;
        size_t len = strlen(list);
        snprintf(list + len, n - len, "%s%s", count ? ", " : "", db_table_get(&d.items, row, "name"));
        count++;
    }
    db_run_details_free(&d);
    return count;
}

static int is_rank_family(const char *family) {
    size_t n = strlen(family);
    return n > 5 && !strcmp(family + n - 5, "_rank");
}

/* Read run r's scores of family on split into r->items and r->x. */
static int load_run(PairRun *r, const char *split, const char *family, int k) {
    int rc = db_items_get(r->db, r->run_id, split, family, 1, &r->items);
    if (rc < 0) return -1;
    if (rc == 0) {
        char families[FAMILY_LIST];
        if (run_families(r, split, families, sizeof families) < 0) return -1; /* no such run */
        return err_set("%s: run %lld has no per-item scores '%s' on split '%s'", r->path, (long long)r->run_id,
                       family, split);
    }
    r->x = xcalloc((size_t)r->items.n + 1, sizeof *r->x);
    for (int i = 0; i < r->items.n; i++) r->x[i] = items_score(r->items.values[i], k);
    return 0;
}

/* The family to compare: --metric's, else run a's only one on the split. */
static int pick_family(const PairRun *a, const char *split, const char *metric, char *family, size_t n) {
    if (metric) {
        snprintf(family, n, "%s", metric);
        return 0;
    }
    char list[FAMILY_LIST];
    int count = run_families(a, split, list, sizeof list);
    if (count < 0) return -1;
    if (count == 0)
        return err_set("%s: run %lld has no per-item scores on split '%s'", a->path, (long long)a->run_id, split);
    if (count > 1)
        return err_set("%s: run %lld has several item families on split '%s' (%s): choose one with --metric", a->path,
                       (long long)a->run_id, split, list);
    snprintf(family, n, "%s", list);
    return 0;
}

/* Both runs scored the same items in the same order. */
static int check_same_items(const PairRun *a, const PairRun *b, const char *split, const char *family) {
    if (a->items.n == b->items.n && !strcmp(a->items.set_hash, b->items.set_hash) &&
        !strcmp(a->items.ids, b->items.ids))
        return 0;
    return err_set("run %lld of %s (%d items, item set %s) and run %lld of %s (%d items, item set %s) did not score "
                   "the same items under %s/%s: no paired comparison",
                   (long long)a->run_id, a->path, a->items.n, a->items.set_hash, (long long)b->run_id, b->path,
                   b->items.n, b->items.set_hash, split, family);
}

static void print_pair(const PairRun *a, const PairRun *b, const char *split, const char *family, int k) {
    int64_t seed = 0; /* one seed for both: the runs pair whatever seeds they trained with */
    int n = a->items.n;
    StatsCell ca = {.n_seeds = 1, .n_items = n, .x = a->x, .seeds = &seed};
    StatsCell cb = {.n_seeds = 1, .n_items = n, .x = b->x, .seeds = &seed};
    double mean_a, lo_a, hi_a, mean_b, lo_b, hi_b, diff, lo, hi, p;
    stats_boot_interval(&ca, STATS_BOOT_B, STATS_BOOT_SEED, &mean_a, &lo_a, &hi_a);
    stats_boot_interval(&cb, STATS_BOOT_B, STATS_BOOT_SEED, &mean_b, &lo_b, &hi_b);
    stats_boot_paired(&ca, &cb, STATS_BOOT_B, STATS_BOOT_SEED, &diff, &lo, &hi, &p);
    int differing = 0;
    for (int i = 0; i < n; i++) differing += a->x[i] != b->x[i];
    printf("run_a=%lld\nrun_b=%lld\ndb_a=%s\ndb_b=%s\nsplit=%s\n", (long long)a->run_id, (long long)b->run_id,
           a->path, b->path, split);
    if (k) printf("metric=%s@%d\n", family, k);
    else printf("metric=%s\n", family);
    printf("items=%d\nmean_a=%.6g\nlo_a=%.6g\nhi_a=%.6g\nmean_b=%.6g\nlo_b=%.6g\nhi_b=%.6g\n", n, mean_a, lo_a, hi_a,
           mean_b, lo_b, hi_b);
    printf("diff=%.6g\ndiff_lo=%.6g\ndiff_hi=%.6g\np=%.6g\nitems_differing=%d\n", diff, lo, hi, p, differing);
}

/* Load both runs and print their comparison. */
static int pair_runs(PairRun *a, PairRun *b, const char *split, const char *metric, int k) {
    char family[FAMILY_LIST];
    if (pick_family(a, split, metric, family, sizeof family)) return -1;
    if (is_rank_family(family) && !k)
        return err_set("'%s' holds ranks: give --at K (R@K, an item counts 100 when 0 < rank <= K)", family);
    if (!is_rank_family(family) && k) return err_set("--at K applies to rank families only, not '%s'", family);
    if (load_run(a, split, family, k) || load_run(b, split, family, k) || check_same_items(a, b, split, family))
        return -1;
    print_pair(a, b, split, family, k);
    return 0;
}

int cmd_db_pair(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    DbArgs args = {.cmd = "moil db pair", .usage = usage, .db_path = DB_DEFAULT_PATH};
    const char *run_args[2] = {NULL, NULL}, *db_b = NULL, *split = "test", *metric = NULL;
    int n_runs = 0, k = 0;
    for (int i = 1; i < argc; i++) {
        int taken = db_args_take(&args, 0, argc, argv, &i);
        if (taken < 0) return 2;
        if (taken) continue;
        const char *opt = argv[i];
        const char **slot = !strcmp(opt, "--db-b") ? &db_b
                            : !strcmp(opt, "--split") ? &split
                            : !strcmp(opt, "--metric") ? &metric
                                                       : NULL;
        int is_at = !strcmp(opt, "--at");
        if (slot || is_at) {
            if (i + 1 >= argc) return db_args_usage_error(&args, "%s needs a value", opt);
            if (slot) *slot = argv[++i];
            else if (option_parse_int("at", argv[++i], 1, 1 << 30, &k)) return db_args_usage_error(&args, "%s", err_msg());
            continue;
        }
        if (opt[0] == '-' || n_runs == 2) return db_args_usage_error(&args, "unknown argument '%s'", opt);
        run_args[n_runs++] = opt;
    }
    if (n_runs < 2) return db_args_usage_error(&args, "two run ids needed (RUN_A RUN_B)");
    PairRun a = {.path = args.db_path}, b = {.path = db_b ? db_b : args.db_path};
    if (db_args_run_id(&args, run_args[0], &a.run_id) || db_args_run_id(&args, run_args[1], &b.run_id)) return 2;
    int rc = db_open_copy(a.path, &a.db);
    if (rc == 0) {
        if (strcmp(a.path, b.path)) rc = db_open_copy(b.path, &b.db);
        else b.db = a.db;
    }
    if (rc == 0) rc = pair_runs(&a, &b, split, metric, k);
    if (b.db != a.db && db_close(b.db)) rc = -1;
    if (db_close(a.db)) rc = -1;
    db_items_free(&a.items), db_items_free(&b.items);
    free(a.x), free(b.x);
    return rc ? db_args_fail(&args) : 0;
}
