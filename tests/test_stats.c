/* The statistics of table cells (results/report/report_stats.h) on
 * simulated cells whose truth is known: the bootstrap interval covers the
 * truth at about its nominal rate, the paired test finds a planted
 * difference and, without one, rejects at about its level; Holm's
 * adjustment on a worked example. The simulation: item i of a test set has
 * a difficulty a_i ~ N(mu, 1.5^2) on the logit scale, shared by every run;
 * a run of seed s adds d_s ~ N(0, tau^2); the run scores the item 100 with
 * probability sigmoid(a_i + d_s), else 0 (an NLVR pair, a VQA question
 * answered or not). The truth is the mean score over the population of
 * items and seeds: 100 E[sigmoid(Z)], Z ~ N(mu, 1.5^2 + tau^2). Last, a
 * table rendered from a results database shows the intervals, falls back
 * to the seed-only statistic for runs without item scores, and marks the
 * row with a planted difference from its compare row, and only that one.
 * With arguments, `build/tests/test_stats ITEMS SEEDS TAU DELTA` measures
 * coverage and rejections in another setting and prints them. */
#include "check.h"
#include "db.h"
#include "report_experiment.h"
#include "report_items.h"
#include "report_layout.h"
#include "report_stats.h"
#include "rng.h"
#include "test.h"

#include <jansson.h>
#include <unistd.h>

#define CELLS 200
#define REPS 1000
#define SD_ITEM 1.5
#define MAX_ITEMS 20000
#define MAX_SEEDS 8

/* The simulated setting: test items, seeds, the seed sd on the logit scale
 * (0.1: about 1.8 points, the full profile's typical spread). The tests
 * run the default; `test_stats ITEMS SEEDS TAU DELTA` measures another
 * (results/README.md, "Intervals and tests"). */
static struct {
    int items, seeds;
    double tau;
} sim = {400, 3, 0.1};

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* 100 E[sigmoid(Z)], Z ~ N(mu, sd^2), by the trapezoid rule over mu +- 10 sd. */
static double truth(double mu, double sd) {
    const int n = 20000;
    double h = 20 * sd / n, sum = 0;
    for (int k = 0; k <= n; k++) {
        double z = mu - 10 * sd + k * h, u = (z - mu) / sd;
        double w = exp(-0.5 * u * u) / (sd * sqrt(2 * M_PI)) * (k == 0 || k == n ? 0.5 : 1);
        sum += w * sigmoid(z);
    }
    return 100 * sum * h;
}

/* One simulated cell of the test set a[items] with effect shift: x[seeds][items]. */
static void simulate(Rng *r, const double *a, double shift, double *x) {
    for (int s = 0; s < sim.seeds; s++) {
        double d = sim.tau * rng_normal(r);
        for (int i = 0; i < sim.items; i++)
            x[s * sim.items + i] = rng_uniform(r) < sigmoid(a[i] + d + shift) ? 100 : 0;
    }
}

static void test_set(Rng *r, double mu, double *a) {
    for (int i = 0; i < sim.items; i++) a[i] = mu + SD_ITEM * rng_normal(r);
}

static const int64_t seeds[MAX_SEEDS] = {0, 1, 2, 3, 4, 5, 6, 7};
static double sim_a[MAX_ITEMS], sim_x[MAX_SEEDS * MAX_ITEMS], sim_y[MAX_SEEDS * MAX_ITEMS];

/* The share of CELLS simulated cells whose interval covers the truth, and their mean width. */
static double coverage(double *width) {
    Rng r;
    rng_seed(&r, 7);
    int covered = 0;
    *width = 0;
    for (int c = 0; c < CELLS; c++) {
        double mu = c % 2 ? 0.8 : -0.3, want = truth(mu, sqrt(SD_ITEM * SD_ITEM + sim.tau * sim.tau));
        test_set(&r, mu, sim_a);
        simulate(&r, sim_a, 0, sim_x);
        StatsCell cell = {sim.seeds, sim.items, sim_x, seeds};
        double mean, lo, hi;
        stats_boot_interval(&cell, REPS, STATS_BOOT_SEED + (uint64_t)c, &mean, &lo, &hi);
        covered += lo <= want && want <= hi;
        *width += (hi - lo) / CELLS;
    }
    return (double)covered / CELLS;
}

static void test_interval_coverage(void) {
    double width, rate = coverage(&width);
    printf("  interval: %.3f of %d cells cover the truth, mean width %.2f points\n", rate, CELLS, width);
    CHECK(rate >= 0.90 && rate <= 0.99, "coverage %.3f of the nominal 0.95", rate);
}

/* Rejections at p < 0.05 of the paired test over CELLS simulated pairs
 * whose second cell is shifted by delta on the logit scale. */
static double rejection_rate(double delta, uint64_t sim_seed) {
    Rng r;
    rng_seed(&r, sim_seed);
    int rejected = 0;
    for (int c = 0; c < CELLS; c++) {
        test_set(&r, 0.3, sim_a);
        simulate(&r, sim_a, delta, sim_x);
        simulate(&r, sim_a, 0, sim_y);
        StatsCell ca = {sim.seeds, sim.items, sim_x, seeds}, cb = {sim.seeds, sim.items, sim_y, seeds};
        double diff, lo, hi, p;
        int paired = stats_boot_paired(&ca, &cb, REPS, STATS_BOOT_SEED + (uint64_t)c, &diff, &lo, &hi, &p);
        CHECK(paired == sim.seeds && lo <= diff && diff <= hi, "paired %d, %g in [%g, %g]", paired, diff, lo, hi);
        rejected += p < 0.05;
    }
    return (double)rejected / CELLS;
}

static void test_paired_null_and_planted(void) {
    double null = rejection_rate(0, 11), planted = rejection_rate(0.7, 12); /* 0.7: about 14 points */
    printf("  paired test: rejects %.3f of the null pairs and %.3f of the pairs 0.7 logit apart\n", null, planted);
    CHECK(null >= 0.01 && null <= 0.10, "null rejection rate %.3f, expected about 0.05", null);
    CHECK(planted >= 0.80, "planted difference found in %.3f of the pairs", planted);
}

/* The paired test uses only the seeds both cells have, and refuses cells
 * of different items; a constant cell has a zero-width interval; the same
 * seed gives the same numbers. */
static void test_pairing_and_edges(void) {
    double xa[3 * 4] = {100, 0, 100, 0, 100, 100, 0, 0, 0, 100, 100, 100}, xb[2 * 4] = {0, 0, 100, 0, 0, 0, 0, 0};
    int64_t sa[3] = {5, 6, 7}, sb[2] = {7, 9};
    StatsCell a = {3, 4, xa, sa}, b = {2, 4, xb, sb};
    double diff, lo, hi, p;
    CHECK(stats_boot_paired(&a, &b, 200, 1, &diff, &lo, &hi, &p) == 1, "one common seed");
    CHECK_CLOSE(diff, 75.0 - 25.0, 1e-12); /* seed 7: a scores 0,100,100,100; b 0,0,100,0 */
    double again, lo2, hi2, p2;
    stats_boot_paired(&a, &b, 200, 1, &again, &lo2, &hi2, &p2);
    CHECK(lo == lo2 && hi == hi2 && p == p2, "the same seed gives the same interval and p");
    StatsCell c = {2, 3, xb, sb};
    CHECK(stats_boot_paired(&a, &c, 200, 1, &diff, &lo, &hi, &p) == 0 && isnan(p), "different items: no test");
    double flat[2 * 5] = {40, 40, 40, 40, 40, 40, 40, 40, 40, 40}, mean;
    StatsCell f = {2, 5, flat, sb};
    stats_boot_interval(&f, 300, 3, &mean, &lo, &hi);
    CHECK(mean == 40 && lo == 40 && hi == 40, "constant cell: %g [%g, %g]", mean, lo, hi);
    StatsCell one = {1, 1, flat, sb};
    stats_boot_interval(&one, 300, 3, &mean, &lo, &hi);
    CHECK(isnan(lo) && isnan(hi), "one item: no interval");
}

static void test_holm(void) {
    double p[5] = {0.01, 0.04, 0.03, NAN, 0.005}, adj[5];
    stats_holm(p, 5, adj);
    double want[5] = {0.03, 0.06, 0.06, NAN, 0.02};
    for (int i = 0; i < 5; i++) {
        if (isnan(want[i])) CHECK(isnan(adj[i]), "adjusted[%d] %g", i, adj[i]);
        else CHECK_CLOSE(adj[i], want[i], 1e-12);
    }
    double big[2] = {0.6, 0.7};
    stats_holm(big, 2, adj);
    CHECK(adj[0] == 1 && adj[1] == 1, "capped at 1: %g %g", adj[0], adj[1]);
}

/* Which item family a column's metric averages. */
static void test_item_families(void) {
    static const struct {
        const char *metric, *family;
        int k;
    } cases[] = {{"vqa_score", "vqa_score", 0}, {"accuracy", "accuracy", 0},    {"cider_d", "cider_d", 0},
                 {"ir_r1", "ir_rank", 1},       {"tr_r5", "tr_rank", 5},         {"ir_r10", "ir_rank", 10},
                 {"rerank_tr_r10", "rerank_tr_rank", 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char family[64] = "";
        int k = -1;
        CHECK(items_family(cases[i].metric, family, sizeof family, &k) && !strcmp(family, cases[i].family) &&
                  k == cases[i].k,
              "%s: %s k %d", cases[i].metric, family, k);
    }
    static const char *const none[] = {"consistency", "bleu_4", "recall_mean", "ir_r2", "tr_r", "ir_r1x", "vqa_score_other"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        char family[64];
        int k;
        CHECK(!items_family(none[i], family, sizeof family, &k), "%s has a family %s", none[i], family);
    }
}

static char dir[] = "/tmp/moil_test_stats_XXXXXX";

static const char *in_dir(const char *name) {
    static char path[2][600];
    static int slot;
    slot = !slot;
    snprintf(path[slot], sizeof path[slot], "%s/%s", dir, name);
    return path[slot];
}

/* Whether s occurs in the line that starts at line. */
static int in_line(const char *line, const char *s) {
    const char *at = strstr(line, s), *end = strchr(line, '\n');
    return at && (!end || at < end);
}

static int write_text(const char *path, const char *text) { return file_write_atomic(path, text, strlen(text)); }

/* One run of a cell: its config names the cell's key; metric vqa_score the
 * mean of x[items], and the item scores unless without_items. */
static int log_run(Db *db, const ExpCell *cell, const double *x, int without_items) {
    json_t *config = json_pack("{s:s}", "key", cell->key);
    RunInfo info = {.task = "vqa", .model = "vilt", .method = "x", .seed = cell->seed, .config = config,
                    .code_rev = "unknown", .code_dirty = -1, .threads = 1, .params_trainable = 1,
                    .params_stored = 1, .params_backbone = 10};
    static char ids[MAX_ITEMS * 8];
    size_t o = 0;
    double mean = 0;
    for (int i = 0; i < sim.items; i++) {
        o += (size_t)snprintf(ids + o, sizeof ids - o, "%d\n", i);
        mean += x[i] / sim.items;
    }
    int64_t run = 0;
    int rc = db_run_begin(db, &info, &run);
    if (rc == 0) rc = db_metric_set(db, run, "test", "vqa_score", mean);
    if (rc == 0 && !without_items) rc = db_items_set(db, run, "test", "vqa_score", sim.items, ids, x);
    if (rc == 0) rc = db_run_end(db, run, DB_OK, NULL, 1, -1);
    if (rc == 0) rc = db_run_key_tag(db, cell->key, run, "args");
    json_decref(config);
    return rc;
}

static void test_table_marks(void) {
    if (!mkdtemp(dir)) return;
    const char *table = "title | Marks\ncolumn | VQA score | vqa | test | vqa_score |\ncompare | MoIL\n"
                        "row | Planted | | | --method a\nrow | Same | | | --method b\nrow | Old | | | --method c\n"
                        "row | MoIL | | | --method moil\n";
    ExpProfile p;
    ExpTable t;
    ExpCell *cells = NULL;
    int n = 0;
    Db *db = NULL;
    CHECK(write_text(in_dir("profiles.conf"), "profile | dev | tiny | 0,1,2 | | --steps 3\n") == 0 &&
              write_text(in_dir("marks.exp"), table) == 0 && experiment_profile_read(in_dir("profiles.conf"), "dev", &p) == 0 &&
              experiment_table_read(in_dir("marks.exp"), &t) == 0 && experiment_expand(&t, &p, "D", "I", &cells, &n) == 0 &&
              db_open(in_dir("marks.db"), &db) == 0 && db_layout_write(db, &t, "dev", cells, n) == 0,
          "%s", err_msg());
    Rng r;
    rng_seed(&r, 5);
    test_set(&r, 0.3, sim_a);
    for (int i = 0; db && i < n; i++) {
        /* rows: 0 planted 1.0 logit (about 20 points) above, 1 and 3 alike, 2 without item scores */
        sim.seeds = 1; /* one run per cell */
        simulate(&r, sim_a, cells[i].row == 0 ? 1.0 : 0, sim_x);
        sim.seeds = 3;
        CHECK(log_run(db, &cells[i], sim_x, cells[i].row == 2) == 0, "%s", err_msg());
    }
    TableData d;
    char *buf = NULL;
    size_t len = 0;
    int missing = 0;
    CHECK(db && db_table_data_load(db, "marks", "dev", &d) == 0, "%s", err_msg());
    if (db && d.n_rows == 4) {
        FILE *out = open_memstream(&buf, &len);
        CHECK(table_render(&d, TABLE_MD, out, &missing) == 0, "%s", err_msg());
        fclose(out);
        CHECK(d.compare == 3 && d.n_tests == 3, "compare row %d, %d tests", d.compare, d.n_tests);
        CHECK(d.rows[0].test[0].kind == TABLE_TEST_PAIRED && d.rows[0].p_holm[0] < STATS_ALPHA, "planted: p %g",
              d.rows[0].p_holm[0]);
        CHECK(d.rows[1].test[0].kind == TABLE_TEST_PAIRED && d.rows[1].p_holm[0] >= STATS_ALPHA, "same: p %g",
              d.rows[1].p_holm[0]);
        CHECK(d.rows[2].test[0].kind == TABLE_TEST_WELCH && isnan(d.rows[2].lo[0]), "old: Welch, no interval");
        const char *planted = strstr(buf, "| Planted |"), *same = strstr(buf, "| Same |"), *old = strstr(buf, "| Old |");
        CHECK(planted && same && old, "rows missing:\n%s", buf);
        if (planted && same && old) {
            CHECK(in_line(planted, "] (3 × 400) † |"), "planted row: %.120s", planted);
            CHECK(in_line(same, "] (3 × 400) |") && !in_line(same, "†"), "same row: %.120s", same);
            CHECK(in_line(old, " ± ") && in_line(old, "(3 seeds, no items) |") && !in_line(old, "["), "old row: %.120s", old);
        }
        table_data_free(&d);
    }
    free(buf);
    db_close(db);
    experiment_cells_free(cells, n);
    experiment_table_free(&t);
    experiment_profile_free(&p);
    const char *files[] = {"profiles.conf", "marks.exp", "marks.db", "marks.db-wal", "marks.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(in_dir(files[i]));
    rmdir(dir);
}

int main(int argc, char **argv) {
    if (argc == 5) {
        sim.items = atoi(argv[1]), sim.seeds = atoi(argv[2]), sim.tau = atof(argv[3]);
        double delta = atof(argv[4]), width;
        if (sim.items < 2 || sim.items > MAX_ITEMS || sim.seeds < 1 || sim.seeds > MAX_SEEDS) {
            fprintf(stderr, "usage: test_stats [ITEMS (2-%d) SEEDS (1-%d) TAU DELTA]\n", MAX_ITEMS, MAX_SEEDS);
            return 2;
        }
        double rate = coverage(&width), rejects = rejection_rate(delta, 11);
        printf("items %d, seeds %d, seed sd %.2f logit: interval covers the truth in %.3f of %d cells (mean width "
               "%.2f); paired test rejects %.3f of pairs %.2f logit apart\n",
               sim.items, sim.seeds, sim.tau, rate, CELLS, width, rejects, delta);
        return 0;
    }
    RUN(test_interval_coverage);
    RUN(test_paired_null_and_planted);
    RUN(test_pairing_and_edges);
    RUN(test_holm);
    RUN(test_item_families);
    RUN(test_table_marks);
    return TEST_DONE();
}
