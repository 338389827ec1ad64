/* moil table render --table inference (table 6, inference cost): a
 * database with three `moil bench-infer`-shaped runs (an older ok one, the
 * latest ok one, and a newer failed one that must not count) gives the
 * expected Markdown of the latest ok run, written atomically to
 * <out>/inference.md, and its LaTeX; figure 5 reads the same rows
 * (scripts/inference_rows.sql, of which the renderer compiles in a copy
 * that must stay identical); a database without an inference run gives a
 * clear message and status 1, not a crash. */
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "proc.h"
#include "report_inference.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_table_inference_XXXXXX";
#include "tmp_path.h"

static void fail(const char *what) {
    printf("test_table_inference: %s: %s\n", what, err_msg());
    exit(1);
}

typedef struct {
    const char *name;
    double ms;
} Timing;

/* One run shaped like moil bench-infer's (table inference, method all). */
static void add_inference_run(Db *db, int repeats, const Timing *t, int n, DbStatus status) {
    json_t *cfg = json_pack("{s:s, s:s, s:i, s:i}", "command", "bench-infer", "task", "vqa", "eval_limit", 200,
                            "repeats", repeats);
    RunInfo info = {"inference", "vqa", "vilt", "all", 0, cfg, "unknown", -1, 1, -1, -1, -1, 1};
    int64_t id;
    if (db_run_begin(db, &info, &id) != 0) fail("db_run_begin");
    json_decref(cfg);
    for (int i = 0; i < n; i++)
        if (db_metric_set(db, id, "infer", t[i].name, t[i].ms) != 0) fail("db_metric_set");
    if (db_metric_set(db, id, "infer", "examples", 200) != 0) fail("db_metric_set");
    if (db_run_end(db, id, status, status == DB_OK ? NULL : "test failure", 1.0, -1) != 0) fail("db_run_end");
}

static void build_db(const char *path, int with_runs) {
    Db *db;
    if (db_open(path, &db) != 0) fail("db_open");
    if (with_runs) {
        const Timing old[] = {{"full/as_trained/ms_per_example", 9.0}};
        const Timing latest[] = {
            {"moil/as_trained/ms_per_example", 3.0}, {"moil/merged/ms_per_example", 2.1},
            {"lora/as_trained/ms_per_example", 2.6}, {"lora/merged/ms_per_example", 2.0},
            {"adapter/as_trained/ms_per_example", 2.5}, {"full/as_trained/ms_per_example", 2.0},
        };
        const Timing failed[] = {{"full/as_trained/ms_per_example", 99.0}};
        add_inference_run(db, 3, old, 1, DB_OK);
        add_inference_run(db, 5, latest, 6, DB_OK);
        add_inference_run(db, 7, failed, 1, DB_FAILED);
    }
    if (db_close(db) != 0) fail("db_close");
}

/* Run a shell command (stderr joined) into out; its exit status. */
static int sh(char *out, size_t n, const char *cmd) {
    char full[1024];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char out[1 << 14];

static void test_latest_ok_run_rendered(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' table render --table inference --db %s --profile quick --out %s", moil_bin(),
             tmp_path("t.db"), tmp_path("tables"));
    int rc = sh(out, sizeof out, cmd);
    CHECK(rc == 0 && strstr(out, "md=") && strstr(out, "tex=") && strstr(out, "\nrun_id=2\n") &&
              strstr(out, "\nmethods=4\n"),
          "status %d:\n%s", rc, out);
    size_t len;
    char *md = file_read_all(tmp_path("tables/inference.md"), 1 << 16, &len);
    CHECK(md != NULL, "%s", err_msg());
    if (!md) return;
    const char *expect =
        "| Method | As trained (ms/example) | Merged (ms/example) | Ratio to full | Can merge |\n"
        "|---|---:|---:|---:|---|\n"
        "| full | 2.000 | — | 1.00 | — (plain weights) |\n"
        "| adapter | 2.500 | — | 1.25 | no |\n"
        "| lora | 2.600 | 2.000 | 1.00 | yes |\n"
        "| moil | 3.000 | 2.100 | 1.05 | yes |\n";
    CHECK(strstr(md, expect) != NULL, "expected rows\n%s\nin:\n%s", expect, md);
    CHECK(!strncmp(md, "## inference: ", 14) && strstr(md, "profile quick") && strstr(md, "(run 2)") &&
              strstr(md, "fastest of 5 evaluation passes over 200"),
          "header:\n%s", md);
    free(md);
    char *tex = file_read_all(tmp_path("tables/inference.tex"), 1 << 16, &len);
    CHECK(tex && strstr(tex, "\\begin{tabular}{lrrrl}") && strstr(tex, "moil & 3.000 & 2.100 & 1.05 & yes \\\\\n"),
          "inference.tex:\n%s", tex ? tex : err_msg());
    free(tex);
}

/* The renderer's copy of scripts/inference_rows.sql is the file. */
static void test_rows_sql_is_the_script(void) {
    char *file = file_read_all("scripts/inference_rows.sql", 1 << 16, NULL);
    CHECK(file && !strcmp(file, report_inference_rows_sql),
          "results/report/report_inference.c's copy differs from scripts/inference_rows.sql: regenerate it (see "
          "the comment above it)");
    free(file);
}

/* Figure 5 plots the same rows (the shared scripts/inference_rows.sql). */
static void test_figure_reads_same_rows(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh scripts/figures.sh --db %s --out %s --data-only fig5", tmp_path("t.db"),
             tmp_path("plots"));
    int rc = sh(out, sizeof out, cmd);
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    size_t len;
    char *dat = file_read_all(tmp_path("plots/fig5_inference.dat"), 1 << 16, &len);
    CHECK(dat && strstr(dat, "full\tas_trained\t2.0\t2\n") && strstr(dat, "moil\tmerged\t2.1\t2\n") &&
              !strstr(dat, "99"),
          "fig5_inference.dat:\n%s", dat ? dat : err_msg());
    free(dat);
}

static void test_no_run_clear_message(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' table render --table inference --db %s --out -", moil_bin(), tmp_path("empty.db"));
    int rc = sh(out, sizeof out, cmd);
    CHECK(rc == 1 && strstr(out, "no ok inference run") && strstr(out, "moil bench-infer"), "status %d:\n%s", rc,
          out);
    snprintf(cmd, sizeof cmd, "'%s' table render --table inference --db %s", moil_bin(), tmp_path("nosuch.db"));
    rc = sh(out, sizeof out, cmd);
    CHECK(rc == 1 && strstr(out, "no such results database"), "status %d:\n%s", rc, out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("test_table_inference: %s: cannot create a temporary folder\n", tmp_dir);
        return 1;
    }
    build_db(tmp_path("t.db"), 1);
    build_db(tmp_path("empty.db"), 0);
    RUN(test_latest_ok_run_rendered);
    RUN(test_figure_reads_same_rows);
    RUN(test_rows_sql_is_the_script);
    RUN(test_no_run_clear_message);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) printf("  cannot remove %s\n", tmp_dir);
    return TEST_DONE();
}
