/* moil table compare: two editions of one table, cell by cell. Two small
 * databases built through the C API (layouts from .exp files, one run per
 * cell): the old edition without per-item scores, the new one with them; a
 * row only in each, a column whose split changed (so it is in neither's
 * shared columns, and the averages are not shared), a row label whose
 * spaces differ, a shared row without runs in the new edition. Checked: the
 * shared cells as the tables render them with their changes, the lists of
 * what only one edition has, the name=value lines, a table compared with
 * itself (every change 0, the committed first edition's main table too),
 * LaTeX, that neither database file is written, and the refusals: a table
 * or profile missing from either database, a file that is no database, a
 * missing file, a missing --old, each naming the file. */
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "proc.h"
#include "report_experiment.h"
#include "report_layout.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_table_compare_XXXXXX";
#include "tmp_path.h"

#define N_ITEMS 4
#define V1_SNAPSHOT "results/full-v1/moil.db"

static char out[1 << 16];

static void fail(const char *what) {
    printf("test_table_compare: %s: %s\n", what, err_msg());
    exit(1);
}

static void write_text(const char *name, const char *text) {
    if (file_write_atomic(tmp_path(name), text, strlen(text)) != 0) fail(name);
}

static const char profiles_conf[] = "profile | dev | tiny | 0,1 | | --steps 3\n";
static const char old_exp[] = "title | Tiny\n"
                              "column | VQA score | vqa | test | vqa_score |\n"
                              "column | NLVR acc | nlvr | test | accuracy |\n"
                              "average | Average\n"
                              "row | Full tuning | | | --method full\n"
                              "row | LoRA, r 4 | | | --method lora\n"
                              "row | DoRA | | | --method dora\n"
                              "row | Old only | | | --method old\n";
static const char new_exp[] = "title | Tiny\n"
                              "column | VQA score | vqa | test | vqa_score |\n"
                              "column | NLVR acc | nlvr | dev | accuracy |\n"
                              "average | Average\n"
                              "row | Full tuning | | | --method full\n"
                              "row | LoRA,  r 4 | | | --method lora\n"
                              "row | DoRA | | | --method dora\n"
                              "row | New only | | | --method new\n";

/* The value of a row's column at seeds 0 and 1; a cell not listed has no run. */
typedef struct {
    const char *row;
    int col;
    double v[2];
} Value;

static const Value old_values[] = {{"Full tuning", 0, {40, 42}}, {"Full tuning", 1, {50, 52}},
                                   {"LoRA, r 4", 0, {30, 34}},   {"LoRA, r 4", 1, {51, 53}},
                                   {"DoRA", 0, {45, 47}},        {"DoRA", 1, {49, 51}},
                                   {"Old only", 0, {10, 12}},    {"Old only", 1, {50, 50}}};
static const Value new_values[] = {{"Full tuning", 0, {50, 52}}, {"Full tuning", 1, {55, 57}},
                                   {"LoRA,  r 4", 0, {31, 31}},  {"New only", 0, {20, 22}},
                                   {"New only", 1, {60, 60}}};

static const Value *find_value(const Value *v, int n, const char *row, int col) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].row, row) && v[i].col == col) return &v[i];
    return NULL;
}

/* The run of one cell: metric (split, metric) of each column of its task
 * from values, and (with_items) N_ITEMS item scores averaging to it. */
static void log_cell(Db *db, const ExpTable *t, const ExpCell *cell, const Value *values, int n_values, int with_items) {
    for (int c = 0; c < t->n_cols; c++) {
        const ExpColumn *col = &t->cols[c];
        const Value *v = find_value(values, n_values, t->rows[cell->row].label, c);
        if (strcmp(col->task, cell->task) || !v) continue;
        double value = v->v[cell->seed], x[N_ITEMS] = {value - 10, value + 10, value - 5, value + 5};
        json_t *config = json_pack("{s:s}", "key", cell->key);
        RunInfo info = {.task = cell->task, .model = "vilt", .method = "x", .seed = cell->seed, .config = config,
                        .code_rev = "unknown", .code_dirty = -1, .threads = 1, .params_trainable = 1,
                        .params_stored = 1, .params_backbone = 10};
        int64_t run = 0;
        int rc = db_run_begin(db, &info, &run);
        json_decref(config);
        if (rc == 0) rc = db_metric_set(db, run, col->split, col->metric, value);
        if (rc == 0 && with_items) rc = db_items_set(db, run, col->split, col->metric, N_ITEMS, "a\nb\nc\nd\n", x);
        if (rc == 0) rc = db_run_end(db, run, DB_OK, NULL, 1, -1);
        if (rc == 0) rc = db_run_key_tag(db, cell->key, run, "args");
        if (rc) fail("logging a run");
    }
}

/* Database NAME.db: table t of profile dev from exp (written to NAME/t.exp), with values. */
static void build_edition(const char *name, const char *exp, const Value *values, int n_values, int with_items) {
    char rel[64];
    snprintf(rel, sizeof rel, "%s", name);
    if (dir_make(tmp_path(rel)) != 0) fail(rel);
    snprintf(rel, sizeof rel, "%s/t.exp", name);
    write_text(rel, exp);
    ExpProfile p;
    ExpTable t;
    ExpCell *cells;
    int n;
    Db *db;
    if (experiment_profile_read(tmp_path("profiles.conf"), "dev", &p) || experiment_table_read(tmp_path(rel), &t) ||
        experiment_expand(&t, &p, "D", "I", &cells, &n))
        fail(rel);
    snprintf(rel, sizeof rel, "%s.db", name);
    if (db_open(tmp_path(rel), &db) || db_layout_write(db, &t, "dev", cells, n)) fail(rel);
    for (int i = 0; i < n; i++) log_cell(db, &t, &cells[i], values, n_values, with_items);
    if (db_close(db) != 0) fail("db_close");
    experiment_cells_free(cells, n);
    experiment_table_free(&t);
    experiment_profile_free(&p);
}

/* The line of out that starts with prefix, NULL if none. */
static const char *line_of(const char *text, const char *prefix) {
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix))) return p;
    return NULL;
}

/* Whether the line at line ends with suffix. */
static int line_ends(const char *line, const char *suffix) {
    const char *end = line ? strchr(line, '\n') : NULL;
    size_t n = strlen(suffix);
    return end && (size_t)(end - line) >= n && !strncmp(end - n, suffix, n);
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* The bytes of a file, to check it was not written. */
static char *bytes_of(const char *path, size_t *len) {
    char *b = file_read_all(path, (size_t)64 << 20, len);
    if (!b) fail(path);
    return b;
}

static void test_cells_and_changes(void) {
    size_t len_old, len_new;
    char *old_before = bytes_of(tmp_path("old.db"), &len_old), *new_before = bytes_of(tmp_path("new.db"), &len_new);
    int rc = proc_moil(out, sizeof out, "table compare --table t --profile dev --old %s --db %s --format md --out -",
                       tmp_path("old.db"), tmp_path("new.db"));
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    const char *full = line_of(out, "| Full tuning | VQA score | "), *lora = line_of(out, "| LoRA,  r 4 | VQA score | ");
    const char *dora = line_of(out, "| DoRA | VQA score | ");
    CHECK(full && strstr(full, "| 41.00 ± 1.41 (2 seeds, no items) | 51.00 [") && line_ends(full, "] (2 × 4) | +10.00 |"),
          "full tuning: %.200s", full ? full : out);
    CHECK(lora && strstr(lora, "| 32.00 ± 2.83 (2 seeds, no items) | 31.00 [") && line_ends(lora, "] (2 × 4) | -1.00 |"),
          "the LoRA row (spaces differ) not matched: %.200s", lora ? lora : out);
    CHECK(dora && line_ends(dora, "| 46.00 ± 1.41 (2 seeds, no items) | — | — |"), "DoRA: %.200s", dora ? dora : out);
    CHECK(count(out, "| NLVR acc |") == 0 && count(out, "| Average |") == 0 && !line_of(out, "| Old only |") &&
              !line_of(out, "| New only |"),
          "a cell of only one edition in the table:\n%s", out);
    CHECK(line_of(out, "Only in the old edition: row Old only; columns NLVR acc (nlvr, test, accuracy); Average (the "
                       "mean of the metric columns)."),
          "the old edition's own rows and columns:\n%s", out);
    CHECK(line_of(out, "Only in the new edition: row New only; columns NLVR acc (nlvr, dev, accuracy); Average (the "
                       "mean of the metric columns)."),
          "the new edition's own rows and columns:\n%s", out);
    CHECK(out_int(out, "rows") == 3 && out_int(out, "columns") == 1 && out_int(out, "matched") == 2 &&
              out_int(out, "missing") == 1 && out_int(out, "only_old") == 3 && out_int(out, "only_new") == 3,
          "counts:\n%s", out);
    size_t len_a, len_b;
    char *old_after = bytes_of(tmp_path("old.db"), &len_a), *new_after = bytes_of(tmp_path("new.db"), &len_b);
    CHECK(len_a == len_old && !memcmp(old_after, old_before, len_old) && len_b == len_new &&
              !memcmp(new_after, new_before, len_new),
          "a database file was written");
    CHECK(access(tmp_path("old.db-wal"), F_OK) != 0 && access(tmp_path("old.db-shm"), F_OK) != 0 &&
              access(tmp_path("new.db-wal"), F_OK) != 0 && access(tmp_path("new.db-shm"), F_OK) != 0,
          "a -wal or -shm file left beside a database");
    free(old_before), free(new_before), free(old_after), free(new_after);
}

/* An edition against itself: every shared cell, the average too, changes
 * by 0; the first edition's committed main table as well (a database of an
 * older schema, read without being written). */
static void test_same_edition(void) {
    int rc = proc_moil(out, sizeof out, "table compare --table t --profile dev --old %s --db %s --format md --out -",
                       tmp_path("new.db"), tmp_path("new.db"));
    CHECK(rc == 0 && out_int(out, "rows") == 4 && out_int(out, "columns") == 3 && out_int(out, "matched") == 7 &&
              out_int(out, "missing") == 5 && out_int(out, "only_old") == 0 && out_int(out, "only_new") == 0,
          "status %d:\n%s", rc, out);
    CHECK(count(out, " | +0.00 |\n") == 7 && line_of(out, "| New only | Average | 40.50 (2) | 40.50 (2) | +0.00 |") &&
              line_of(out, "Only in the old edition: no row; no column."),
          "itself:\n%s", out);
    /* a copy, should the reader write */
    size_t len_before, len_after;
    char *before = bytes_of(V1_SNAPSHOT, &len_before);
    if (file_write_atomic(tmp_path("v1.db"), before, len_before) != 0) fail("v1.db");
    rc = proc_moil(out, sizeof out, "table compare --table main --profile full --old %s --db %s --out -",
                   tmp_path("v1.db"), tmp_path("v1.db"));
    char *after = bytes_of(tmp_path("v1.db"), &len_after);
    CHECK(rc == 0 && out_int(out, "rows") == 11 && out_int(out, "columns") == 5 && out_int(out, "matched") == 55 &&
              count(out, " | +0.00 |\n") == 55,
          "status %d:\n%.3000s", rc, out);
    CHECK(line_of(out, "| MoIL | VQA score | 44.65 ± 1.07 (3 seeds, no items) | 44.65 ± 1.07 (3 seeds, no items) | "),
          "the first edition's MoIL row:\n%.3000s", out);
    CHECK(len_before == len_after && !memcmp(before, after, len_before), "the copy of %s was written", V1_SNAPSHOT);
    free(before), free(after);
}

static void test_latex(void) {
    int rc = proc_moil(out, sizeof out, "table compare --table t --profile dev --old %s --db %s --format tex --out %s",
                       tmp_path("old.db"), tmp_path("new.db"), tmp_path("cmp"));
    char want[700];
    snprintf(want, sizeof want, "tex=%s/t.tex", tmp_path("cmp"));
    CHECK(rc == 0 && line_of(out, want) && !line_of(out, "md="), "status %d:\n%s", rc, out);
    char *tex = file_read_all(tmp_path("cmp/t.tex"), 1 << 16, NULL);
    CHECK(tex && strstr(tex, "% Generated by `moil table compare`") && strstr(tex, "\\begin{tabular}{llrrr}") &&
              line_of(tex, "Full tuning & VQA score & 41.00 $\\pm$ 1.41 (2 seeds, no items) & 51.00 [") &&
              strstr(tex, "\\bottomrule\n\\end{tabular}\n"),
          "t.tex:\n%s", tex ? tex : err_msg());
    CHECK(access(tmp_path("cmp/t.md"), F_OK) != 0, "--format tex wrote t.md");
    free(tex);
}

static void test_refusals(void) {
    static const struct {
        const char *table, *profile, *old, *cur; /* old NULL: no --old */
        const char *named, *says;                 /* the file the message names, what it says */
        int status;
    } cases[] = {
        {"nosuch", "dev", "old.db", "new.db", "old.db", "no table 'nosuch'", 1},
        {"t", "other", "old.db", "new.db", "old.db", "has no rows in profile other", 1},
        {"t", "dev", "old.db", "empty.db", "empty.db", "no table 't'", 1},
        {"t", "dev", "junk.db", "new.db", "junk.db", "not a database", 1},
        {"t", "dev", "nosuch.db", "new.db", "nosuch.db", "no such results database", 1},
        {"t", "dev", NULL, "new.db", NULL, "--old", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char old[600] = "", named[600] = "";
        if (cases[i].old) snprintf(old, sizeof old, " --old %s", tmp_path(cases[i].old));
        if (cases[i].named) snprintf(named, sizeof named, "%s: ", tmp_path(cases[i].named));
        int rc = proc_moil(out, sizeof out, "table compare --table %s --profile %s%s --db %s --out -", cases[i].table,
                           cases[i].profile, old, tmp_path(cases[i].cur));
        CHECK(rc == cases[i].status && strstr(out, named) && strstr(out, cases[i].says) && !strstr(out, "rows="),
              "case %zu: status %d:\n%s", i, rc, out);
    }
    CHECK(access(tmp_path("nosuch.db"), F_OK) != 0, "a missing --old was created");
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("test_table_compare: %s: cannot create a temporary folder\n", tmp_dir);
        return 1;
    }
    write_text("profiles.conf", profiles_conf);
    write_text("junk.db", "not a database, a line of text\n");
    build_edition("old", old_exp, old_values, sizeof old_values / sizeof old_values[0], 0);
    build_edition("new", new_exp, new_values, sizeof new_values / sizeof new_values[0], 1);
    Db *db;
    if (db_open(tmp_path("empty.db"), &db) != 0 || db_close(db) != 0) fail("empty.db");
    RUN(test_cells_and_changes);
    RUN(test_same_edition);
    RUN(test_latex);
    RUN(test_refusals);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
