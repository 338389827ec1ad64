/* NLVR accuracy by kind of statement (scripts/nlvr_kinds.sh): from runs
 * whose per-item scores are known, every cell the script prints is the one
 * computed here by hand: the mean over seeds, the half-width, the seeds, the
 * statements per kind and the constant answer's score, per table row (its
 * cells as run_all.sh records them); runs of another table or status are
 * left out, and a row without runs is named. */
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "db.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_nlvr_kinds_XXXXXX";
#include "tmp_path.h"

/* Four statements: two name an item, two count all objects; a fifth is not
 * scored (as with --eval-limit). */
static const char nlvr_test1[] =
    "{\"identifier\":\"t-0\",\"sentence\":\"both images contain a shoe\",\"label\":\"True\"}\n"
    "{\"identifier\":\"t-1\",\"sentence\":\"both images contain a shoe\",\"label\":\"False\"}\n"
    "{\"identifier\":\"t-2\",\"sentence\":\"there are exactly two objects in the two images\",\"label\":\"True\"}\n"
    "{\"identifier\":\"t-3\",\"sentence\":\"there are exactly two objects in the two images\",\"label\":\"True\"}\n"
    "{\"identifier\":\"t-4\",\"sentence\":\"neither image contains a coat\",\"label\":\"False\"}\n";
static const char ids[] = "t-0\nt-1\nt-2\nt-3\n";

/* An NLVR run of table, method and seed ending in status, scored values[4]. */
static int write_run(Db *db, const char *table, const char *method, int seed, DbStatus status,
                     const double *values) {
    json_t *config = json_pack("{s:s, s:i}", "method", method, "seed", seed);
    RunInfo info = {.table_id = table, .task = "nlvr", .model = "vilt", .method = method, .seed = seed,
                    .config = config, .code_rev = "0123456789abcdef0123456789abcdef01234567", .threads = 1,
                    .params_trainable = 1, .params_stored = 1, .params_backbone = 1};
    int64_t run;
    int rc = db_run_begin(db, &info, &run);
    json_decref(config);
    if (rc) return -1;
    if (db_metric_set(db, run, "test", "accuracy", (values[0] + values[1] + values[2] + values[3]) / 4) ||
        db_items_set(db, run, "test", "accuracy", 4, ids, values))
        return -1;
    return db_run_end(db, run, status, status == DB_OK ? NULL : "out of memory", 1, -1);
}

static char out[1 << 14];

static void test_kinds(void) {
    CHECK(proc_run_into(out, sizeof out, "mkdir -p %s", tmp_path("data/nlvr")) == 0, "%s", out);
    CHECK(file_write_atomic(tmp_path("data/nlvr/test1.json"), nlvr_test1, strlen(nlvr_test1)) == 0, "%s",
          err_msg());
    char db_path[512];
    snprintf(db_path, sizeof db_path, "%s", tmp_path("moil.db"));
    Db *db = NULL;
    CHECK(db_open(db_path, &db) == 0, "%s", err_msg());
    if (!db) return;
    CHECK(write_run(db, "main", "full", 0, DB_OK, (double[]){100, 0, 100, 100}) == 0 &&
              write_run(db, "main", "full", 1, DB_OK, (double[]){100, 100, 0, 100}) == 0 &&
              write_run(db, "main", "moil", 0, DB_OK, (double[]){0, 0, 0, 0}) == 0 &&
              /* left out: another table, a failed run */
              write_run(db, "ablation", "full", 2, DB_OK, (double[]){0, 0, 0, 0}) == 0 &&
              write_run(db, "main", "full", 3, DB_FAILED, (double[]){0, 0, 0, 0}) == 0,
          "%s", err_msg());
    CHECK(db_close(db) == 0, "%s", err_msg());
    /* the table's cells, as run_all.sh and moil table plan record them: runs
     * 1-2 the row "Full tuning" (seeds 0, 1; seed 3 is run 5, failed), run 3
     * "MoIL"; run 4 belongs to table ablation */
    sqlite3 *c = NULL;
    CHECK(sqlite3_open(db_path, &c) == SQLITE_OK &&
              sqlite3_exec(c,
                           "INSERT INTO run_keys SELECT 'k' || id, config_hash, '' FROM runs;"
                           "INSERT INTO table_columns VALUES ('main', 1, 'NLVR acc', 'nlvr', 'test', 'accuracy', NULL);"
                           "INSERT INTO table_columns VALUES ('ablation', 1, 'NLVR acc', 'nlvr', 'test', 'accuracy', NULL);"
                           "INSERT INTO table_cells VALUES ('main', 'full', 0, 'Full tuning', NULL, '', 'nlvr', 0, 'k1'),"
                           " ('main', 'full', 0, 'Full tuning', NULL, '', 'nlvr', 1, 'k2'),"
                           " ('main', 'full', 0, 'Full tuning', NULL, '', 'nlvr', 3, 'k5'),"
                           " ('main', 'full', 1, 'MoIL', NULL, '', 'nlvr', 0, 'k3'),"
                           " ('ablation', 'full', 0, 'Full tuning', NULL, '', 'nlvr', 2, 'k4');",
                           NULL, NULL, NULL) == SQLITE_OK,
          "cells: %s", sqlite3_errmsg(c));
    sqlite3_close(c);
    int rc = proc_run_into(out, sizeof out, "scripts/nlvr_kinds.sh --db %s --data %s --row 'Full tuning' --row MoIL "
                                            "--row DoRA",
                           db_path, tmp_path("data"));
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    /* full, both images contain (names an item): seeds 50 and 100, mean 75, n 2:
     * 196 * sqrt(.75 * .25 / 2 + .125 / 2) = 77.5; constant answer 50 */
    static const char *const want[] = {
        "row \"DoRA\" has no ok NLVR run in table main (profile full)",
        "| statement | names an item | n | constant answer | Full tuning | MoIL | DoRA |",
        "| both images contain | yes | 2 | 50.0 | 75.0 ± 77.5 (2) | 0.0 ± 0.0 (1) | |",
        "| all | yes | 2 | 50.0 | 75.0 ± 77.5 (2) | 0.0 ± 0.0 (1) | |",
        /* exactly N, all objects: seeds 100 and 50, both labels True */
        "| there is/are exactly N | no | 2 | 100.0 | 75.0 ± 77.5 (2) | 0.0 ± 0.0 (1) | |",
    };
    /* compare with runs of spaces squeezed: the column widths are sqlite's */
    char squeezed[sizeof out];
    size_t k = 0;
    for (size_t i = 0; out[i]; i++)
        if (!(out[i] == ' ' && k > 0 && squeezed[k - 1] == ' ')) squeezed[k++] = out[i];
    squeezed[k] = '\0';
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(strstr(squeezed, want[i]), "lacks '%s':\n%s", want[i], squeezed);
    CHECK(!strstr(squeezed, "neither"), "an unscored statement is counted:\n%s", squeezed);

    rc = proc_run_into(out, sizeof out, "scripts/nlvr_kinds.sh --db %s --data %s", tmp_path("none.db"),
                       tmp_path("data"));
    CHECK(rc == 1 && strstr(out, "none.db: no such results database"), "status %d:\n%s", rc, out);
    rc = proc_run_into(out, sizeof out, "scripts/nlvr_kinds.sh --db %s --data %s", db_path, tmp_path("nodata"));
    CHECK(rc == 1 && strstr(out, "nodata/nlvr/test1.json: no such NLVR file"), "status %d:\n%s", rc, out);
    rc = proc_run_into(out, sizeof out, "scripts/nlvr_kinds.sh --db %s --row \"x'y\"", db_path);
    CHECK(rc == 2 && strstr(out, "are not accepted"), "status %d:\n%s", rc, out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(test_kinds);
    int failed = TEST_DONE();
    if (!failed) rm_tree(tmp_dir);
    return failed;
}
