/* scripts/figures.sh: the data file of a figure holds exactly the rows the
 * database holds for it. A database of full, LoRA and MoIL runs over seeds
 * (plus a failed run, a run from random weights, one-seed variants, MoIL
 * runs at another learning rate, length and model, and a moil eval run,
 * which must leak into no figure) is written through the C API in a mkdtemp
 * folder, with the layouts of tables main, ablation, sweep_momentum and
 * sweep_rank over some of those runs (figures 3 and 4 draw the tables' rows,
 * one point each); the script writes the data files; each is compared
 * against the means and sds computed here from the values inserted, and
 * each caption file names the runs drawn. One figure is drawn too (PNG and
 * SVG exist), and a figure without rows is skipped with exit status 0.
 * `make figures PROFILE=full` redraws the committed full-profile figures
 * from the committed snapshot. */
#include <stdarg.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_figures_XXXXXX";
static char db_path[256], out_dir[256];

static void fail(const char *what) {
    printf("test_figures: %s: %s\n", what, err_msg());
    exit(1);
}

/* Values the runs log (step in {10, 20}, seed s). */
static double full_test(int s) { return 40 + s; }
static double full_val(int s, int step) { return 30 + s + step / 10.0; }
static double full_seconds(int s) { return 2.0 * (s + 1); }
static double lora_test(int s) { return 35 + 0.5 * s; }
static double lora_wdist(int s, int step) { return 1 - 0.02 * step - 0.01 * s; }
static double lora_floor(int s) { return 0.3 + 0.001 * s; }
static double moil_test(int s) { return 38 + s; }
static double moil_test_ema(int s) { return 37 + s; }
static double moil_wdist(const char *variant, int s, int step) {
    return (strcmp(variant, "ema") ? 0.8 - 0.001 * step : 0.7 - 0.002 * step) + 0.01 * s;
}
#define STEPS 20

typedef struct {
    const char *method;
    int seed, rank, rank_lora;
    double momentum;
    int64_t stored;
    DbStatus status;
    int random_init; /* from random weights (config init_hash "random"), not an adaptation */
    int steps;       /* 0: STEPS */
    double lr;       /* 0: none in the config (the default) */
    const char *model; /* NULL: vilt */
    const char *student; /* NULL: hybrid */
} RunSpec;

/* A run of r; command: the config's (NULL: none). */
static int64_t add_command_run(Db *db, const RunSpec *r, const char *command) {
    json_t *cfg = json_pack("{s:s, s:s, s:i, s:i, s:{s:s, s:i, s:f, s:i, s:i, s:f, s:i, s:i, s:f, s:s}}",
                            "task", "vqa", "method", r->method, "seed", r->seed, "steps", r->steps ? r->steps : STEPS,
                            "method_options",
                            "targets", "qkv", "rank", r->rank, "alpha", 16.0, "rslora", 0, "pissa", 0, "lora_plus",
                            1.0, "rank_lora", r->rank_lora, "rank_adapter", r->rank_lora,
                            "imitation_scale", 1.0, "student", r->student ? r->student : "hybrid");
    json_object_set_new(json_object_get(cfg, "method_options"), "momentum", json_real(r->momentum));
    if (r->random_init) json_object_set_new(cfg, "init_hash", json_string("random"));
    if (r->lr > 0) json_object_set_new(cfg, "lr", json_real(r->lr));
    if (command) json_object_set_new(cfg, "command", json_string(command));
    const char *model = r->model ? r->model : "vilt";
    json_object_set_new(cfg, "model", json_pack("{s:s}", "kind", model)); /* as moil finetune records it */
    RunInfo info = {NULL, "vqa", model, r->method, r->seed, cfg, "unknown", -1, 1, r->stored, r->stored, 1000, 1};
    int64_t id = 0;
    if (db_run_begin(db, &info, &id) != 0) fail("db_run_begin");
    json_decref(cfg);
    return id;
}

static int64_t add_run(Db *db, const RunSpec *r) { return add_command_run(db, r, NULL); }

static void set_metric(Db *db, int64_t id, const char *split, const char *name, double v) {
    if (db_metric_set(db, id, split, name, v) != 0) fail("db_metric_set");
}

static void add_curve(Db *db, int64_t id, int step, const char *name, double v) {
    if (db_curve_add(db, id, step, name, v) != 0) fail("db_curve_add");
}

static void end_run(Db *db, int64_t id, DbStatus st) {
    if (db_run_end(db, id, st, st == DB_OK ? NULL : "test failure", 1.0, -1) != 0) fail("db_run_end");
}

static void build_db(void) {
    Db *db;
    if (db_open(db_path, &db) != 0) fail("db_open");
    for (int s = 0; s < 3; s++) {
        int64_t id = add_run(db, &(RunSpec){"full", s, 16, 16, -1, 1000, DB_OK, 0, 0, 0, NULL, NULL});
        set_metric(db, id, "test", "vqa_score", full_test(s));
        set_metric(db, id, "train", "seconds", full_seconds(s));
        set_metric(db, id, "train", "steps_done", STEPS);
        for (int step = 10; step <= STEPS; step += 10) add_curve(db, id, step, "val/vqa_score", full_val(s, step));
        end_run(db, id, DB_OK);
    }
    for (int s = 0; s < 4; s++) { /* seed 3 fails: none of its numbers count */
        int64_t id = add_run(db, &(RunSpec){"lora", s, 16, 16, -1, 50, DB_OK, 0, 0, 0, NULL, NULL});
        set_metric(db, id, "test", "vqa_score", s < 3 ? lora_test(s) : 99);
        set_metric(db, id, "diag", "ey_floor_r16/mean", s < 3 ? lora_floor(s) : 99);
        for (int step = 10; step <= STEPS; step += 10)
            add_curve(db, id, step, "wdist/merged/mean", s < 3 ? lora_wdist(s, step) : 99);
        end_run(db, id, s < 3 ? DB_OK : DB_FAILED);
    }
    int64_t id = add_run(db, &(RunSpec){"lora", 0, 4, 16, -1, 20, DB_OK, 0, 0, 0, NULL, NULL}); /* rank 4: one seed */
    set_metric(db, id, "test", "vqa_score", 33);
    for (int step = 10; step <= STEPS; step += 10) add_curve(db, id, step, "wdist/merged/mean", 0.5);
    end_run(db, id, DB_OK);
    for (int s = 0; s < 2; s++) {
        id = add_run(db, &(RunSpec){"moil", s, 16, 16, -1, 60, DB_OK, 0, 0, 0, NULL, NULL});
        set_metric(db, id, "test", "vqa_score", moil_test(s));
        set_metric(db, id, "test@ema", "vqa_score", moil_test_ema(s));
        set_metric(db, id, "diag", "ey_floor_r32/mean", 0.2);
        for (int step = 10; step <= STEPS; step += 10) {
            add_curve(db, id, step, "wdist/student/mean", moil_wdist("student", s, step));
            add_curve(db, id, step, "wdist/ema/mean", moil_wdist("ema", s, step));
        }
        end_run(db, id, DB_OK);
    }
    id = add_run(db, &(RunSpec){"moil", 0, 16, 16, 0.99, 60, DB_OK, 0, 0, 0, NULL, NULL});
    set_metric(db, id, "test", "vqa_score", 36);
    set_metric(db, id, "test@ema", "vqa_score", 34);
    end_run(db, id, DB_OK);
    id = add_run(db, &(RunSpec){"full", 0, 16, 16, -1, 1000, DB_OK, 1, 0, 0, NULL, NULL});
    set_metric(db, id, "test", "vqa_score", 21);
    end_run(db, id, DB_OK);
    /* the learning-rate and length sweeps' MoIL rows and another model's: default options otherwise */
    const RunSpec sweeps[3] = {{"moil", 0, 16, 16, -1, 60, DB_OK, 0, 0, 3e-4, NULL, NULL},
                               {"moil", 0, 16, 16, -1, 60, DB_OK, 0, 100, 0, NULL, NULL},
                               {"moil", 0, 16, 16, -1, 60, DB_OK, 0, 0, 0, "vlmo", NULL}};
    for (int i = 0; i < 3; i++) {
        id = add_run(db, &sweeps[i]);
        set_metric(db, id, "test", "vqa_score", 98 + i);
        set_metric(db, id, "test@ema", "vqa_score", 98 + i);
        end_run(db, id, DB_OK);
    }
    /* an evaluation of a trained LoRA checkpoint (moil eval): not a fine-tuning run */
    id = add_command_run(db, &(RunSpec){"lora", 0, 16, 16, -1, 50, DB_OK, 0, 0, 0, NULL, NULL}, "eval");
    set_metric(db, id, "test", "vqa_score", 97);
    end_run(db, id, DB_OK);
    /* runs 17 and 18: MoIL's LoRA-only and adapter-only students */
    const char *students[2] = {"lora", "adapter"};
    for (int i = 0; i < 2; i++) {
        id = add_run(db, &(RunSpec){"moil", 0, 16, 16, -1, 60, DB_OK, 0, 0, 0, NULL, students[i]});
        set_metric(db, id, "test", "vqa_score", 30 + i);
        end_run(db, id, DB_OK);
    }
    /* run 19: rsLoRA at rank 4 (add_tables sets rslora in its config; its own learning rate keeps its config
     * apart from run 8's): a series of its own */
    id = add_run(db, &(RunSpec){"lora", 0, 4, 16, -1, 20, DB_OK, 0, 0, 1e-4, NULL, NULL});
    set_metric(db, id, "test", "vqa_score", 34);
    end_run(db, id, DB_OK);
    if (db_close(db) != 0) fail("db_close");
}

/* Run ids in the order build_db logs them. */
enum { FULL0 = 1, LORA0 = 4, LORA_FAILED = 7, LORA_R4 = 8, MOIL0 = 9, MOIL_M99 = 11, STUDENT_LORA = 17,
       STUDENT_ADAPTER = 18, RSLORA_R4 = 19 };

/* One row of a table in profile quick: a cell per run of runs[], keyed
 * to the run's config. */
static void add_row(sqlite3 *c, const char *table, int row, const char *label, const char *suffix, const int *runs,
                    int n) {
    for (int i = 0; i < n; i++) {
        char *sql = sqlite3_mprintf(
            "INSERT INTO run_keys VALUES ('%q-%d-%d', (SELECT config_hash FROM runs WHERE id = %d), '');"
            "INSERT INTO table_cells VALUES ('%q', 'quick', %d, '%q', NULL, '%q', 'vqa', %d, '%q-%d-%d');",
            table, row, i, runs[i], table, row, label, suffix, i, table, row, i);
        char *err = NULL;
        if (sqlite3_exec(c, sql, NULL, NULL, &err) != SQLITE_OK) printf("test_figures: %s: %s\n", sql, err), exit(1);
        sqlite3_free(sql);
    }
}

/* The layouts of the tables figures 3 and 4 draw, over build_db's runs. */
static void add_tables(void) {
    sqlite3 *c;
    if (sqlite3_open(db_path, &c) != SQLITE_OK) printf("test_figures: cannot open %s\n", db_path), exit(1);
    static const char *const tables[] = {"main", "ablation", "sweep_momentum", "sweep_rank"};
    for (int t = 0; t < 4; t++) {
        char *sql = sqlite3_mprintf("INSERT INTO table_layout (table_id, title, reference_model, average_label, params) "
                                    "VALUES ('%q', 'T', NULL, NULL, 1);"
                                    "INSERT INTO table_columns VALUES ('%q', 0, 'VQA score', 'vqa', 'test', "
                                    "'vqa_score', NULL);",
                                    tables[t], tables[t]);
        if (sqlite3_exec(c, sql, NULL, NULL, NULL) != SQLITE_OK) printf("test_figures: %s\n", sql), exit(1);
        sqlite3_free(sql);
    }
    const int full[] = {FULL0, FULL0 + 1, FULL0 + 2}, lora[] = {LORA0, LORA0 + 1, LORA0 + 2, LORA_FAILED};
    const int moil[] = {MOIL0, MOIL0 + 1}, m99[] = {MOIL_M99}, r4[] = {LORA_R4};
    const int st_lora[] = {STUDENT_LORA}, st_adapter[] = {STUDENT_ADAPTER}, rs4[] = {RSLORA_R4};
    if (sqlite3_exec(c, "UPDATE runs SET config_json = json_set(config_json, '$.method_options.rslora', 1) WHERE id = 19",
                     NULL, NULL, NULL) != SQLITE_OK)
        printf("test_figures: cannot mark run 19 rsLoRA\n"), exit(1);
    add_row(c, "main", 0, "Full tuning", "", full, 3);
    add_row(c, "main", 1, "LoRA", "", lora, 4);
    add_row(c, "main", 2, "MoIL", "", moil, 2);
    add_row(c, "main", 3, "MoIL EMA", "@ema", moil, 2);
    add_row(c, "ablation", 0, "MoIL", "", moil, 2);
    add_row(c, "ablation", 1, "Student: LoRA", "", st_lora, 1);
    add_row(c, "ablation", 2, "Student: adapter", "", st_adapter, 1);
    add_row(c, "ablation", 3, "m = 0.99", "", m99, 1);
    add_row(c, "sweep_momentum", 0, "m = 0.99", "", m99, 1);
    add_row(c, "sweep_momentum", 1, "m = auto", "", moil, 2);
    add_row(c, "sweep_momentum", 2, "m = 0.99, EMA", "@ema", m99, 1);
    add_row(c, "sweep_momentum", 3, "m = auto, EMA", "@ema", moil, 2);
    add_row(c, "sweep_rank", 0, "LoRA r = 4", "", r4, 1);
    add_row(c, "sweep_rank", 1, "LoRA r = 16", "", lora, 3);
    add_row(c, "sweep_rank", 2, "MoIL r = 16", "", moil, 2);
    add_row(c, "sweep_rank", 3, "rsLoRA r = 4", "", rs4, 1);
    sqlite3_close(c);
}

/* Run scripts/figures.sh with args; its output into out (may be NULL). */
static int figures(const char *args, char *out, size_t n) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh scripts/figures.sh --db %s --out %s %s 2>&1", db_path, out_dir, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t len = 0;
    char buf[512];
    while (fgets(buf, sizeof buf, p)) {
        if (out && len + strlen(buf) < n) memcpy(out + len, buf, strlen(buf) + 1), len += strlen(buf);
    }
    return pclose(p);
}

/* The rows of a data file: lines not starting with '#', tab-separated. */
#define MAX_ROWS 64
#define MAX_FIELDS 16
typedef struct {
    int n;
    int n_fields[MAX_ROWS];
    char field[MAX_ROWS][MAX_FIELDS][64];
} Rows;

static int read_rows(const char *name, Rows *r) {
    char path[512], line[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    memset(r, 0, sizeof *r);
    int header = 0;
    while (fgets(line, sizeof line, f) && r->n < MAX_ROWS) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#') {
            header++;
            continue;
        }
        char *save = NULL;
        for (char *tok = strtok_r(line, "\t", &save); tok && r->n_fields[r->n] < MAX_FIELDS;
             tok = strtok_r(NULL, "\t", &save))
            snprintf(r->field[r->n][r->n_fields[r->n]++], 64, "%s", tok);
        r->n++;
    }
    fclose(f);
    return header == 1 ? 0 : -1;
}

/* Check row i against a spec: "s" text, "d" number; values follow. */
static void check_row(const Rows *r, int i, const char *spec, ...) {
    CHECK(i < r->n, "row %d missing (%d rows)", i, r->n);
    if (i >= r->n) return;
    CHECK(r->n_fields[i] == (int)strlen(spec), "row %d has %d fields, expected %zu", i, r->n_fields[i], strlen(spec));
    va_list ap;
    va_start(ap, spec);
    for (int k = 0; spec[k] && k < r->n_fields[i]; k++) {
        if (spec[k] == 's') {
            const char *want = va_arg(ap, const char *);
            CHECK(!strcmp(r->field[i][k], want), "row %d field %d: '%s', expected '%s'", i, k, r->field[i][k], want);
        } else {
            double want = va_arg(ap, double);
            CHECK_CLOSE(strtod(r->field[i][k], NULL), want, 1e-12);
        }
    }
    va_end(ap);
}

static double mean3(double (*f)(int)) { return (f(0) + f(1) + f(2)) / 3; }

/* The caption file of a figure: its text, then the ids of the runs drawn. */
static void check_caption(const char *fig, const char *ids) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.caption", out_dir, fig);
    char *text = file_read_all(path, 1 << 16, NULL);
    CHECK(text != NULL, "no %s", path);
    if (!text) return;
    const char *nl = strchr(text, '\n');
    CHECK(nl && nl - text > 40 && !strcmp(nl + 1, ids) , "%s: expected a caption, then the runs '%s':\n%s", path,
          ids, text);
    free(text);
}

static void test_params_figure(void) {
    Rows r;
    CHECK(figures("--data-only fig3", NULL, 0) == 0, "figures.sh fig3 failed");
    CHECK(read_rows("fig3_params.dat", &r) == 0, "no fig3_params.dat with one header line");
    CHECK(r.n == 4, "%d rows, expected 4: the rows of table main (the failed LoRA seed's cell has no value)", r.n);
    /* col col_label metric row row_label method stored_pct x n mean sd run_ids; MoIL and its EMA teacher
     * store the same share: drawn side by side */
    const char *spec = "dssdssddddds";
    check_row(&r, 0, spec, 0.0, "VQA score", "vqa_score", 0.0, "Full tuning", "full", 100.0, 100.0, 3.0,
              mean3(full_test), 1.0, "1,2,3");
    check_row(&r, 1, spec, 0.0, "VQA score", "vqa_score", 1.0, "LoRA", "lora", 5.0, 5.0, 3.0, mean3(lora_test),
              0.5, "4,5,6");
    check_row(&r, 2, spec, 0.0, "VQA score", "vqa_score", 2.0, "MoIL", "moil", 6.0, 6.0 * exp(-0.02), 2.0,
              (moil_test(0) + moil_test(1)) / 2, sqrt(0.5), "9,10");
    check_row(&r, 3, spec, 0.0, "VQA score", "vqa_score", 3.0, "MoIL EMA", "moil", 6.0, 6.0 * exp(0.02), 2.0,
              (moil_test_ema(0) + moil_test_ema(1)) / 2, sqrt(0.5), "9,10");
    check_caption("fig3_params", "1 2 3 4 5 6 9 10\n");
    char out[4096] = "";
    CHECK(figures("--data-only --profile other fig3", out, sizeof out) == 0 && strstr(out, "fig3 skipped") &&
              strstr(out, "profile other"), "another profile has no rows: %s", out);
    CHECK(figures("--data-only --profile 'x;y' fig3", out, sizeof out) != 0 && strstr(out, "letters, digits"),
          "a profile that is not a name is refused: %s", out);
}

static void test_approx_error_figure(void) {
    Rows r, fl;
    CHECK(figures("--data-only fig1", NULL, 0) == 0, "figures.sh fig1 failed");
    CHECK(read_rows("fig1_approx_error.dat", &r) == 0, "no fig1_approx_error.dat");
    /* lora: the rank-16 config (3 ok runs), not rank 4 (1 run) nor the failed seed */
    CHECK(r.n == 6, "%d rows, expected 6", r.n);
    for (int k = 0; k < 2; k++) {
        int step = 10 * (k + 1);
        double lm = (lora_wdist(0, step) + lora_wdist(1, step) + lora_wdist(2, step)) / 3;
        check_row(&r, k, "sssddd", "vqa", "lora", "merged", (double)step, 3.0, lm);
        check_row(&r, 2 + k, "sssddd", "vqa", "moil", "ema", (double)step, 2.0,
                  (moil_wdist("ema", 0, step) + moil_wdist("ema", 1, step)) / 2);
        check_row(&r, 4 + k, "sssddd", "vqa", "moil", "student", (double)step, 2.0,
                  (moil_wdist("student", 0, step) + moil_wdist("student", 1, step)) / 2);
    }
    CHECK(read_rows("fig1_ey_floor.dat", &fl) == 0, "no fig1_ey_floor.dat");
    CHECK(fl.n == 2, "%d floor rows, expected 2", fl.n);
    check_row(&fl, 0, "sddd", "vqa", 16.0, 3.0, mean3(lora_floor));
    check_row(&fl, 1, "sddd", "vqa", 32.0, 2.0, 0.2);
    check_caption("fig1_approx_error", "4 5 6 9 10\n");
}

static void test_optimisation_figure(void) {
    Rows r;
    CHECK(figures("--data-only fig2", NULL, 0) == 0, "figures.sh fig2 failed");
    CHECK(read_rows("fig2_optimisation.dat", &r) == 0, "no fig2_optimisation.dat");
    CHECK(r.n == 2, "%d rows, expected 2 (full at steps 10, 20)", r.n);
    double s_per_step = (full_seconds(0) + full_seconds(1) + full_seconds(2)) / 3 / STEPS;
    for (int k = 0; k < 2; k++) {
        int step = 10 * (k + 1);
        check_row(&r, k, "ssddddd", "vqa", "full", (double)step, step * s_per_step, 3.0,
                  (full_val(0, step) + full_val(1, step) + full_val(2, step)) / 3, 1.0);
    }
    check_caption("fig2_optimisation", "1 2 3\n");
}

static void test_ablation_figure(void) {
    Rows r;
    char out[4096] = "";
    CHECK(figures("--data-only fig4", out, sizeof out) == 0, "figures.sh fig4 failed: %s", out);
    CHECK(!strstr(out, "skipped"), "every panel has rows: %s", out);
    CHECK(read_rows("fig4_ablations.dat", &r) == 0, "no fig4_ablations.dat");
    CHECK(r.n == 11, "%d rows, expected 11", r.n);
    double auto_mean = (moil_test(0) + moil_test(1)) / 2, auto_ema = (moil_test_ema(0) + moil_test_ema(1)) / 2;
    /* panel table row row_label col_label method variant x x_label n mean sd run_ids; the ablation's
     * m = 0.99 row changes the momentum, not the student: not in the student panel */
    const char *f = "ssdssssdsddds";
    check_row(&r, 0, f, "student", "ablation", 0.0, "MoIL", "VQA score", "moil", "student", 1.0, "hybrid", 2.0,
              auto_mean, sqrt(0.5), "9,10");
    check_row(&r, 1, f, "student", "ablation", 1.0, "Student: LoRA", "VQA score", "moil", "student", 2.0,
              "LoRA only", 1.0, 30.0, 0.0, "17");
    check_row(&r, 2, f, "student", "ablation", 2.0, "Student: adapter", "VQA score", "moil", "student", 3.0,
              "adapter only", 1.0, 31.0, 0.0, "18");
    check_row(&r, 3, f, "momentum", "sweep_momentum", 0.0, "m = 0.99", "VQA score", "moil", "student", 1.0, "0.99",
              1.0, 36.0, 0.0, "11");
    check_row(&r, 4, f, "momentum", "sweep_momentum", 1.0, "m = auto", "VQA score", "moil", "student", 2.0, "auto",
              2.0, auto_mean, sqrt(0.5), "9,10");
    check_row(&r, 5, f, "momentum", "sweep_momentum", 2.0, "m = 0.99, EMA", "VQA score", "moil", "ema", 1.0, "0.99",
              1.0, 34.0, 0.0, "11");
    check_row(&r, 6, f, "momentum", "sweep_momentum", 3.0, "m = auto, EMA", "VQA score", "moil", "ema", 2.0, "auto",
              2.0, auto_ema, sqrt(0.5), "9,10");
    check_row(&r, 7, f, "rank", "sweep_rank", 3.0, "rsLoRA r = 4", "VQA score", "lora", "rslora", 4.0, "4", 1.0, 34.0,
              0.0, "19");
    check_row(&r, 8, f, "rank", "sweep_rank", 0.0, "LoRA r = 4", "VQA score", "lora", "merged", 4.0, "4", 1.0, 33.0,
              0.0, "8");
    check_row(&r, 9, f, "rank", "sweep_rank", 1.0, "LoRA r = 16", "VQA score", "lora", "merged", 16.0, "16", 3.0,
              mean3(lora_test), 0.5, "4,5,6");
    check_row(&r, 10, f, "rank", "sweep_rank", 2.0, "MoIL r = 16", "VQA score", "moil", "student", 16.0, "16", 2.0,
              auto_mean, sqrt(0.5), "9,10");
    check_caption("fig4_ablations", "4 5 6 8 9 10 11 17 18 19\n");
    CHECK(figures("--data-only --profile other fig4", out, sizeof out) == 0 &&
              strstr(out, "fig4 panel student skipped") && strstr(out, "fig4 panel rank skipped"),
          "another profile has no rows: %s", out);
}

static void test_missing_figure_skipped(void) {
    char out[4096] = "";
    Rows r;
    CHECK(figures("fig5", out, sizeof out) == 0, "a figure without rows must not fail: %s", out);
    CHECK(strstr(out, "fig5 skipped") && strstr(out, "bench-infer"), "no skip message naming the runs: %s", out);
    CHECK(read_rows("fig5_inference.dat", &r) == 0 && r.n == 0, "fig5_inference.dat should have no rows");
    check_caption("fig5_inference", "\n");
}

static void test_drawn(void) {
    char out[4096] = "", path[512];
    CHECK(figures("fig3", out, sizeof out) == 0, "drawing fig3 failed: %s", out);
    const char *ext[] = {"png", "svg"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/fig3_params.%s", out_dir, ext[i]);
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL, "%s not written", path);
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        CHECK(ftell(f) > 1000, "%s is only %ld bytes", path, ftell(f));
        fclose(f);
    }
}

/* `make figures PROFILE=full` draws the full profile's figures from the
 * committed snapshot results/full/moil.db into plots/full/: drawn into a
 * scratch folder here, every data file is the committed one (a committed
 * figure that the snapshot no longer gives fails) and every PNG is drawn;
 * the snapshot is left byte for byte, with no -wal or -shm beside it that
 * was not there. `make figures` (quick) reads results/moil.db into plots/. */
static void test_full_profile_target(void) {
    static const char *const figs[] = {"fig1_approx_error", "fig1_ey_floor", "fig2_optimisation", "fig3_params",
                                       "fig4_ablations", "fig5_inference"};
    static const char snapshot[] = "results/full/moil.db";
    char full_out[512], path[1024], *out;
    size_t len, len_after;
    char *before = file_read_all(snapshot, (size_t)64 << 20, &len);
    int had_side = access("results/full/moil.db-wal", F_OK) == 0 || access("results/full/moil.db-shm", F_OK) == 0;
    snprintf(full_out, sizeof full_out, "%s/full", tmp_dir);
    int rc = proc_run(&out, "MAKEFLAGS= make -s figures PROFILE=full FIG_OUT=%s", full_out);
    CHECK(rc == 0, "make figures PROFILE=full: exit %d: %s", rc, out);
    free(out);
    char *after = file_read_all(snapshot, (size_t)64 << 20, &len_after);
    CHECK(before && after && len == len_after && !memcmp(before, after, len), "%s was written", snapshot);
    CHECK(had_side || (access("results/full/moil.db-wal", F_OK) != 0 && access("results/full/moil.db-shm", F_OK) != 0),
          "a -wal or -shm file left beside %s", snapshot);
    free(before), free(after);
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        snprintf(path, sizeof path, "plots/full/%s.dat", figs[i]);
        char *committed = file_read_all(path, 1 << 20, NULL);
        snprintf(path, sizeof path, "%s/%s.dat", full_out, figs[i]);
        char *drawn = file_read_all(path, 1 << 20, NULL);
        CHECK(committed && drawn && !strcmp(committed, drawn),
              "plots/full/%s.dat is not what results/full/moil.db gives (%s)", figs[i], path);
        free(committed), free(drawn);
        snprintf(path, sizeof path, "%s/%s.png", full_out, figs[i]);
        if (!strcmp(figs[i], "fig1_ey_floor")) continue;
        CHECK(access(path, R_OK) == 0, "%s not drawn", path);
        snprintf(path, sizeof path, "plots/full/%s.caption", figs[i]);
        committed = file_read_all(path, 1 << 20, NULL);
        snprintf(path, sizeof path, "%s/%s.caption", full_out, figs[i]);
        drawn = file_read_all(path, 1 << 20, NULL);
        CHECK(committed && drawn && !strcmp(committed, drawn),
              "plots/full/%s.caption is not what results/full/moil.db gives (%s)", figs[i], path);
        free(committed), free(drawn);
    }
    rc = proc_run(&out, "MAKEFLAGS= make -n --no-print-directory figures");
    CHECK(rc == 0 && strstr(out, "scripts/figures.sh --db results/moil.db --out plots --profile quick fig1\n") &&
              strstr(out, "--db results/moil.db --out plots --profile quick fig5\n"), "make -n figures: exit %d: %s",
          rc, out);
    free(out);
    rc = proc_run(&out, "MAKEFLAGS= make -n --no-print-directory figures PROFILE=full");
    CHECK(rc == 0 && strstr(out, "scripts/figures.sh --db results/full/moil.db --out plots/full --profile full fig1\n"),
          "make -n figures PROFILE=full: exit %d: %s", rc, out);
    free(out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("test_figures: %s: cannot create a temporary folder\n", tmp_dir);
        return 1;
    }
    snprintf(db_path, sizeof db_path, "%s/f.db", tmp_dir);
    snprintf(out_dir, sizeof out_dir, "%s/plots", tmp_dir);
    build_db();
    add_tables();
    RUN(test_params_figure);
    RUN(test_approx_error_figure);
    RUN(test_optimisation_figure);
    RUN(test_ablation_figure);
    RUN(test_missing_figure_skipped);
    RUN(test_drawn);
    RUN(test_full_profile_target);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
