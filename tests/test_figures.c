/* scripts/figures.sh: the data file of a figure holds exactly the rows the
 * database holds for it. A database of full, LoRA and MoIL runs over seeds
 * (plus a failed run, a run from random weights, one-seed variants, MoIL
 * runs at another learning rate, length and model, which must not leak into
 * the ablation panels, and a moil eval run, which must leak into no figure)
 * is written through the C API in a mkdtemp folder; the script writes the data files;
 * each is compared against the means and sds computed here from the values
 * inserted. One figure is drawn too (PNG and SVG exist), and a figure
 * without rows is skipped with exit status 0. `make figures PROFILE=full`
 * redraws the committed full-profile figures from the committed snapshot. */
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
} RunSpec;

/* A run of r; command: the config's (NULL: none). */
static int64_t add_command_run(Db *db, const RunSpec *r, const char *command) {
    json_t *cfg = json_pack("{s:s, s:s, s:i, s:i, s:{s:s, s:i, s:f, s:i, s:i, s:f, s:i, s:i, s:f, s:s}}",
                            "task", "vqa", "method", r->method, "seed", r->seed, "steps", r->steps ? r->steps : STEPS,
                            "method_options",
                            "targets", "qkv", "rank", r->rank, "alpha", 16.0, "rslora", 0, "pissa", 0, "lora_plus",
                            1.0, "rank_lora", r->rank_lora, "rank_adapter", r->rank_lora,
                            "imitation_scale", 1.0, "student", "hybrid");
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
        int64_t id = add_run(db, &(RunSpec){"full", s, 16, 16, -1, 1000, DB_OK, 0, 0, 0, NULL});
        set_metric(db, id, "test", "vqa_score", full_test(s));
        set_metric(db, id, "train", "seconds", full_seconds(s));
        set_metric(db, id, "train", "steps_done", STEPS);
        for (int step = 10; step <= STEPS; step += 10) add_curve(db, id, step, "val/vqa_score", full_val(s, step));
        end_run(db, id, DB_OK);
    }
    for (int s = 0; s < 4; s++) { /* seed 3 fails: none of its numbers count */
        int64_t id = add_run(db, &(RunSpec){"lora", s, 16, 16, -1, 50, DB_OK, 0, 0, 0, NULL});
        set_metric(db, id, "test", "vqa_score", s < 3 ? lora_test(s) : 99);
        set_metric(db, id, "diag", "ey_floor_r16/mean", s < 3 ? lora_floor(s) : 99);
        for (int step = 10; step <= STEPS; step += 10)
            add_curve(db, id, step, "wdist/merged/mean", s < 3 ? lora_wdist(s, step) : 99);
        end_run(db, id, s < 3 ? DB_OK : DB_FAILED);
    }
    int64_t id = add_run(db, &(RunSpec){"lora", 0, 4, 16, -1, 20, DB_OK, 0, 0, 0, NULL}); /* rank 4: one seed */
    set_metric(db, id, "test", "vqa_score", 33);
    for (int step = 10; step <= STEPS; step += 10) add_curve(db, id, step, "wdist/merged/mean", 0.5);
    end_run(db, id, DB_OK);
    for (int s = 0; s < 2; s++) {
        id = add_run(db, &(RunSpec){"moil", s, 16, 16, -1, 60, DB_OK, 0, 0, 0, NULL});
        set_metric(db, id, "test", "vqa_score", moil_test(s));
        set_metric(db, id, "test@ema", "vqa_score", moil_test_ema(s));
        set_metric(db, id, "diag", "ey_floor_r32/mean", 0.2);
        for (int step = 10; step <= STEPS; step += 10) {
            add_curve(db, id, step, "wdist/student/mean", moil_wdist("student", s, step));
            add_curve(db, id, step, "wdist/ema/mean", moil_wdist("ema", s, step));
        }
        end_run(db, id, DB_OK);
    }
    id = add_run(db, &(RunSpec){"moil", 0, 16, 16, 0.99, 60, DB_OK, 0, 0, 0, NULL});
    set_metric(db, id, "test", "vqa_score", 36);
    set_metric(db, id, "test@ema", "vqa_score", 34);
    end_run(db, id, DB_OK);
    id = add_run(db, &(RunSpec){"full", 0, 16, 16, -1, 1000, DB_OK, 1, 0, 0, NULL});
    set_metric(db, id, "test", "vqa_score", 21);
    end_run(db, id, DB_OK);
    /* the learning-rate and length sweeps' MoIL rows and another model's: default options otherwise */
    const RunSpec sweeps[3] = {{"moil", 0, 16, 16, -1, 60, DB_OK, 0, 0, 3e-4, NULL},
                               {"moil", 0, 16, 16, -1, 60, DB_OK, 0, 100, 0, NULL},
                               {"moil", 0, 16, 16, -1, 60, DB_OK, 0, 0, 0, "vlmo"}};
    for (int i = 0; i < 3; i++) {
        id = add_run(db, &sweeps[i]);
        set_metric(db, id, "test", "vqa_score", 98 + i);
        set_metric(db, id, "test@ema", "vqa_score", 98 + i);
        end_run(db, id, DB_OK);
    }
    /* an evaluation of a trained LoRA checkpoint (moil eval): not a fine-tuning run */
    id = add_command_run(db, &(RunSpec){"lora", 0, 16, 16, -1, 50, DB_OK, 0, 0, 0, NULL}, "eval");
    set_metric(db, id, "test", "vqa_score", 97);
    end_run(db, id, DB_OK);
    if (db_close(db) != 0) fail("db_close");
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
#define MAX_FIELDS 12
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

static void test_params_figure(void) {
    Rows r;
    CHECK(figures("--data-only fig3", NULL, 0) == 0, "figures.sh fig3 failed");
    CHECK(read_rows("fig3_params.dat", &r) == 0, "no fig3_params.dat with one header line");
    CHECK(r.n == 8, "%d rows, expected 8 (full, lora r16, lora r4, moil, moil m=0.99, moil lr 3e-4, moil 100 steps, "
                    "moil on vlmo)", r.n);
    /* task method first_run stored_pct runs mean sd; runs 1-3 full, 4-7 lora (7 failed), 8 lora r4, ... */
    check_row(&r, 0, "ssddddd", "vqa", "full", 1.0, 100.0, 3.0, mean3(full_test), 1.0);
    check_row(&r, 1, "ssddddd", "vqa", "lora", 4.0, 5.0, 3.0, mean3(lora_test), 0.5);
    check_row(&r, 2, "ssddddd", "vqa", "lora", 8.0, 2.0, 1.0, 33.0, 0.0);
    check_row(&r, 3, "ssddddd", "vqa", "moil", 9.0, 6.0, 2.0, (moil_test(0) + moil_test(1)) / 2, sqrt(0.5));
    check_row(&r, 4, "ssddddd", "vqa", "moil", 11.0, 6.0, 1.0, 36.0, 0.0);
    check_row(&r, 5, "ssddddd", "vqa", "moil", 13.0, 6.0, 1.0, 98.0, 0.0);
    check_row(&r, 6, "ssddddd", "vqa", "moil", 14.0, 6.0, 1.0, 99.0, 0.0);
    check_row(&r, 7, "ssddddd", "vqa", "moil", 15.0, 6.0, 1.0, 100.0, 0.0);
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
}

static void test_ablation_figure(void) {
    Rows r;
    char out[4096] = "";
    CHECK(figures("--data-only fig4", out, sizeof out) == 0, "figures.sh fig4 failed: %s", out);
    CHECK(strstr(out, "fig4 panel student skipped") != NULL, "no skip message for the student panel: %s", out);
    CHECK(read_rows("fig4_ablations.dat", &r) == 0, "no fig4_ablations.dat");
    CHECK(r.n == 7, "%d rows, expected 7", r.n);
    double auto_mean = (moil_test(0) + moil_test(1)) / 2, auto_ema = (moil_test_ema(0) + moil_test_ema(1)) / 2;
    /* panel task method variant x x_label runs mean sd */
    check_row(&r, 0, "ssssdsddd", "momentum", "vqa", "moil", "student", 1.0, "0.99", 1.0, 36.0, 0.0);
    check_row(&r, 1, "ssssdsddd", "momentum", "vqa", "moil", "student", 2.0, "auto", 2.0, auto_mean, sqrt(0.5));
    check_row(&r, 2, "ssssdsddd", "momentum", "vqa", "moil", "ema", 1.0, "0.99", 1.0, 34.0, 0.0);
    check_row(&r, 3, "ssssdsddd", "momentum", "vqa", "moil", "ema", 2.0, "auto", 2.0, auto_ema, sqrt(0.5));
    check_row(&r, 4, "ssssdsddd", "rank", "vqa", "lora", "merged", 4.0, "4", 1.0, 33.0, 0.0);
    check_row(&r, 5, "ssssdsddd", "rank", "vqa", "lora", "merged", 16.0, "16", 3.0, mean3(lora_test), 0.5);
    check_row(&r, 6, "ssssdsddd", "rank", "vqa", "moil", "student", 16.0, "16", 2.0, auto_mean, sqrt(0.5));
}

static void test_missing_figure_skipped(void) {
    char out[4096] = "";
    Rows r;
    CHECK(figures("fig5", out, sizeof out) == 0, "a figure without rows must not fail: %s", out);
    CHECK(strstr(out, "fig5 skipped") && strstr(out, "bench-infer"), "no skip message naming the runs: %s", out);
    CHECK(read_rows("fig5_inference.dat", &r) == 0 && r.n == 0, "fig5_inference.dat should have no rows");
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
 * figure that the snapshot no longer gives fails) and every PNG is drawn.
 * `make figures` (quick) reads results/moil.db into plots/. */
static void test_full_profile_target(void) {
    static const char *const figs[] = {"fig1_approx_error", "fig1_ey_floor", "fig2_optimisation", "fig3_params",
                                       "fig4_ablations", "fig5_inference"};
    char full_out[512], path[1024], *out;
    snprintf(full_out, sizeof full_out, "%s/full", tmp_dir);
    int rc = proc_run(&out, "MAKEFLAGS= make -s figures PROFILE=full FIG_OUT=%s", full_out);
    CHECK(rc == 0, "make figures PROFILE=full: exit %d: %s", rc, out);
    free(out);
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        snprintf(path, sizeof path, "plots/full/%s.dat", figs[i]);
        char *committed = file_read_all(path, 1 << 20, NULL);
        snprintf(path, sizeof path, "%s/%s.dat", full_out, figs[i]);
        char *drawn = file_read_all(path, 1 << 20, NULL);
        CHECK(committed && drawn && !strcmp(committed, drawn),
              "plots/full/%s.dat is not what results/full/moil.db gives (%s)", figs[i], path);
        free(committed), free(drawn);
        snprintf(path, sizeof path, "%s/%s.png", full_out, figs[i]);
        CHECK(!strcmp(figs[i], "fig1_ey_floor") || access(path, R_OK) == 0, "%s not drawn", path);
    }
    rc = proc_run(&out, "MAKEFLAGS= make -n --no-print-directory figures");
    CHECK(rc == 0 && strstr(out, "scripts/figures.sh --db results/moil.db --out plots fig1\n") &&
              strstr(out, "--db results/moil.db --out plots fig5\n"), "make -n figures: exit %d: %s", rc, out);
    free(out);
    rc = proc_run(&out, "MAKEFLAGS= make -n --no-print-directory figures PROFILE=full");
    CHECK(rc == 0 && strstr(out, "scripts/figures.sh --db results/full/moil.db --out plots/full fig1\n"),
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
