/* Command-line behaviour of moil finetune and moil pretrain that the tables
 * rely on: a row's `--init none` overrides the profile's --init (the run
 * starts from random weights and its config says so), --objectives
 * names every objective in its error message, and NLVR runs on the
 * VinVL-style model (image ids from the instances file, or an error naming
 * it), captioning on it with either objective (recorded in the config),
 * runs without --out land in the folders the docs name, and the recipe
 * around the method (clipping, AdamW's form, the warmup, the head's
 * learning-rate multiplier, dropout) is the official one unless a run sets
 * it, is recorded in every run's config and acts. */
#include <math.h>

#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_cli_finetune_XXXXXX";
#include "tmp_path.h"

static void test_init_none_overrides_init(void) {
    char *o;
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s && "
                          "%s pretrain --d 16 --layers 1 --heads 2 --steps 1 --quiet --no-db --data %s --out %s",
                      moil_bin(), tmp_path("tiny"), moil_bin(), tmp_path("tiny"), tmp_path("pre"));
    CHECK(rc == 0, "setup: %s", o);
    free(o);
    const char *ft = "%s finetune --task vqa --method heads --steps 2 --batch 4 --eval-limit 5 --quiet --data %s "
                     "--db %s --init %s/backbone.safetensors %s --out %s";
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre"), "", tmp_path("a"));
    CHECK(rc == 0, "finetune from the backbone: %s", o);
    free(o);
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre"), "--init none", tmp_path("b"));
    CHECK(rc == 0, "finetune with --init none: %s", o);
    free(o);
    CHECK(sql_int(tmp_path("r.db"), "SELECT count(*) FROM runs WHERE status = 'ok' AND "
                                    "json_extract(config_json, '$.init_hash') != 'random'") == 1,
          "the run from the backbone is not recorded with its hash");
    CHECK(sql_int(tmp_path("r.db"), "SELECT count(*) FROM runs WHERE status = 'ok' AND "
                                    "json_extract(config_json, '$.init_hash') = 'random' AND "
                                    "json_extract(config_json, '$.init') = ''") == 1,
          "the run with --init none is not recorded as starting from random weights");
    /* the numeric environment, with the database's run and in the checkpoint's run config */
    CHECK(sql_int(tmp_path("r.db"), "SELECT count(*) FROM run_numeric_env WHERE cpu != '' AND openblas_core != '' "
                                    "AND build != 'unknown' AND threads = 1") == 2,
          "the runs' numeric environment is not recorded");
    StFile f;
    char ck[1100];
    snprintf(ck, sizeof ck, "%s/model.safetensors", tmp_path("a"));
    if (safetensors_open(ck, &f) == 0) {
        const char *rc_text = safetensors_meta(&f, "run_config");
        CHECK(rc_text && strstr(rc_text, "\"numeric_env\":{") && strstr(rc_text, "\"openblas_core\":"),
              "the checkpoint's run config has no numeric_env: %s", rc_text ? rc_text : "(none)");
        safetensors_close(&f);
    } else
        CHECK(0, "%s", err_msg());
}

static void test_objectives_listed(void) {
    char out[2048];
    int rc = proc_moil(out, sizeof out, "pretrain --objectives mlm,bogus --no-db --data %s", tmp_path("tiny"));
    CHECK(rc != 0 && strstr(out, "unknown objective 'bogus'") && strstr(out, "cells, swap"), "exit %d: %s", rc, out);
}

static void test_nlvr_on_vinvl(void) {
    char *o;
    int rc = proc_run(&o, "%s regions train --data %s --steps 5 --quiet && %s pretrain --model vinvl --d 16 "
                          "--layers 1 --heads 2 --steps 1 --quiet --no-db --data %s --out %s",
                      moil_bin(), tmp_path("tiny"), moil_bin(), tmp_path("tiny"), tmp_path("pre_vinvl"));
    CHECK(rc == 0, "setup: %s", o);
    free(o);
    const char *ft = "%s finetune --task nlvr --method full --steps 2 --batch 4 --eval-limit 6 --quiet --no-db "
                     "--data %s --init %s/backbone.safetensors --out %s";
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("pre_vinvl"), tmp_path("nlvr_vinvl"));
    CHECK(rc == 0 && strstr(o, "accuracy="), "nlvr on vinvl: %s", o);
    free(o);
    char moved[1100];
    snprintf(moved, sizeof moved, "%s.away", tmp_path("tiny/annotations/instances_nlvr_dev.json"));
    CHECK(rename(tmp_path("tiny/annotations/instances_nlvr_dev.json"), moved) == 0, "rename");
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("pre_vinvl"), tmp_path("nlvr_vinvl2"));
    CHECK(rc != 0 && strstr(o, "instances_nlvr_dev.json") && strstr(o, "is missing"), "exit %d: %s", rc, o);
    free(o);
    CHECK(rename(moved, tmp_path("tiny/annotations/instances_nlvr_dev.json")) == 0, "rename back");
    /* a truncated copy: the JSON error names the file */
    rc = proc_run(&o, "cp %s %s && truncate -s 100 %s", tmp_path("tiny/annotations/instances_nlvr_dev.json"), moved,
                  tmp_path("tiny/annotations/instances_nlvr_dev.json"));
    CHECK(rc == 0, "truncate: %s", o);
    free(o);
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("pre_vinvl"), tmp_path("nlvr_vinvl3"));
    CHECK(rc != 0 && strstr(o, "instances_nlvr_dev.json") && strstr(o, "malformed JSON"), "exit %d: %s", rc, o);
    free(o);
    CHECK(rename(moved, tmp_path("tiny/annotations/instances_nlvr_dev.json")) == 0, "restore");
}

/* Captioning on the VinVL-style model with each objective: both train and
 * decode, the config records the objective (the default, masked, too) and
 * moil db show prints it; an unknown objective is refused by name. */
static void test_caption_objectives_on_vinvl(void) {
    const char *ft = "%s finetune --task caption --method full --steps 3 --batch 4 --eval-limit 6 --quiet "
                     "--data %s --db %s --init %s/backbone.safetensors --out %s %s";
    const char *objective[] = {"", "--caption-objective next", "--caption-objective masked"};
    for (int k = 0; k < 3; k++) {
        char *o, out[32];
        snprintf(out, sizeof out, "caption_vinvl_%d", k);
        int rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre_vinvl"), tmp_path(out),
                          objective[k]);
        /* the explicit default is the default's configuration: skipped as done */
        CHECK(rc == 0 && strstr(o, k < 2 ? "cider_d=" : "skipped=1"), "caption on vinvl %s: %s", objective[k], o);
        free(o);
    }
    const char *db = tmp_path("r.db");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'ok' AND task = 'caption' AND "
                      "json_extract(config_json, '$.caption_objective') = 'masked'") == 1,
          "the default run is not recorded as masked");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'ok' AND task = 'caption' AND "
                      "json_extract(config_json, '$.caption_objective') = 'next'") == 1,
          "the next-token run is not recorded");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE task != 'caption' AND "
                      "json_extract(config_json, '$.caption_objective') IS NOT NULL") == 0,
          "a run of another task records a caption objective");
    long long id = sql_int(db, "SELECT max(id) FROM runs WHERE json_extract(config_json, '$.caption_objective') = 'next'");
    char out[8192];
    int rc = proc_moil(out, sizeof out, "db show %lld --db %s", id, db);
    CHECK(rc == 0 && strstr(out, "\"caption_objective\": \"next\""), "db show: %s", out);
    rc = proc_moil(out, sizeof out, "finetune --task caption --method full --caption-objective mlm --no-db --data %s",
                   tmp_path("tiny"));
    CHECK(rc == 2 && strstr(out, "'mlm'") && strstr(out, "masked") && strstr(out, "next"), "exit %d: %s", rc, out);
}

/* The sum of squares of the difference of tensor name in two checkpoints. */
static double tensor_sq_diff(const char *a, const char *b, const char *name) {
    StFile f[2];
    float *x[2] = {NULL, NULL};
    double ss = NAN;
    if (safetensors_open(a, &f[0]) != 0) return NAN;
    if (safetensors_open(b, &f[1]) != 0) {
        safetensors_close(&f[0]);
        return NAN;
    }
    const StTensor *t = safetensors_find(&f[0], name);
    if (t && t->ndim == 2) {
        size_t n = (size_t)(t->shape[0] * t->shape[1]);
        int ok = 1;
        for (int i = 0; i < 2; i++) {
            x[i] = malloc(sizeof(float) * n);
            ok = ok && x[i] && safetensors_read_f32(&f[i], name, x[i], 2, t->shape) == 0;
        }
        if (ok) {
            ss = 0;
            for (size_t k = 0; k < n; k++) ss += pow((double)x[0][k] - x[1][k], 2);
        }
    }
    free(x[0]), free(x[1]);
    safetensors_close(&f[0]), safetensors_close(&f[1]);
    return ss;
}

static void test_recipe_recorded_and_acting(void) {
    char *o;
    const char *ft = "%s finetune --task %s --method heads --steps 1 --batch 4 --eval-limit 5 --quiet --data %s "
                     "--db %s --init %s/backbone.safetensors --out %s %s";
    const char *runs[][3] = {{"vqa", "r_vqa", ""},
                             {"nlvr", "r_nlvr", ""},
                             {"vqa", "r_set", "--clip 1 --adamw torch --lr-schedule shifted --head-lr-mult 3"},
                             {"vqa", "r_tiny", "--head-lr-mult 1e-6"}};
    for (int i = 0; i < 4; i++) {
        int rc = proc_run(&o, ft, moil_bin(), runs[i][0], tmp_path("tiny"), tmp_path("recipe.db"), tmp_path("pre"),
                          tmp_path(runs[i][1]), runs[i][2]);
        CHECK(rc == 0, "%s %s: %s", runs[i][0], runs[i][2], o);
        free(o);
    }
    /* the official recipe by default, the VQA head alone at 10x; a run's own
     * settings recorded as given; `moil db show` prints them */
    const char *expect[][5] = {{"1", "0.0", "transformers", "vilt", "10.0"},
                               {"2", "0.0", "transformers", "vilt", "1.0"},
                               {"3", "1.0", "torch", "shifted", "3.0"}};
    for (int i = 0; i < 3; i++) {
        char out[16384], want[4][64];
        int rc = proc_moil(out, sizeof out, "db show %s --db %s", expect[i][0], tmp_path("recipe.db"));
        snprintf(want[0], sizeof want[0], "\"clip\": %s", expect[i][1]);
        snprintf(want[1], sizeof want[1], "\"adamw\": \"%s\"", expect[i][2]);
        snprintf(want[2], sizeof want[2], "\"lr_schedule\": \"%s\"", expect[i][3]);
        snprintf(want[3], sizeof want[3], "\"head_lr_mult\": %s", expect[i][4]);
        for (int k = 0; k < 4; k++) CHECK(rc == 0 && strstr(out, want[k]), "run %s: no '%s' in:\n%s", expect[i][0], want[k], out);
    }
    /* the multiplier acts: one step of Adam moves each weight by about
     * lr x mult, so 3x moves the head 3 times as far as 1x does from where
     * a near-zero multiplier leaves it (same seed, same start) */
    char path[3][1100];
    const char *dirs[] = {"r_vqa", "r_tiny", "r_one"};
    int rc = proc_run(&o, ft, moil_bin(), "vqa", tmp_path("tiny"), tmp_path("recipe.db"), tmp_path("pre"),
                      tmp_path("r_one"), "--head-lr-mult 1");
    CHECK(rc == 0, "vqa 1x: %s", o);
    free(o);
    for (int i = 0; i < 3; i++) snprintf(path[i], sizeof path[i], "%s/model.safetensors", tmp_path(dirs[i]));
    const char *w = "vqa_classifier.0.weight";
    double d10 = sqrt(tensor_sq_diff(path[0], path[1], w)), d1 = sqrt(tensor_sq_diff(path[2], path[1], w));
    CHECK(d1 > 0 && fabs(d10 / d1 - 10.0) < 0.5, "head moved %g at 10x, %g at 1x: ratio %g, expected 10", d10, d1,
          d10 / d1);
    /* retrieval's heads-only share is its rank head alone (d + 1 = 17): the
     * ITC projections it does not train count for no method */
    rc = proc_run(&o, "%s finetune --task retrieval --method heads --steps 1 --batch 2 --eval-limit 10 --quiet --no-db "
                      "--data %s --init %s/backbone.safetensors --out %s",
                  moil_bin(), tmp_path("tiny"), tmp_path("pre"), tmp_path("r_ret"));
    CHECK(rc == 0 && strstr(o, "\nparams_trainable=17\n") && strstr(o, "\nparams_stored=17\n"), "retrieval heads: %s", o);
    free(o);
    char out[2048];
    rc = proc_moil(out, sizeof out, "finetune --task vqa --method heads --adamw sgd --no-db --data %s", tmp_path("tiny"));
    CHECK(rc != 0 && strstr(out, "--adamw sgd") && strstr(out, "transformers or torch"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "finetune --task vqa --method heads --clip -1 --no-db --data %s", tmp_path("tiny"));
    CHECK(rc != 0 && strstr(out, "--clip -1"), "exit %d: %s", rc, out);
}

/* --dropout: every fine-tuning and pretraining run records it, the default
 * (ViLT's 0.1) too, moil db show prints it, a value outside [0, 1) is
 * refused by name. The two fine-tuning runs of test_init_none_overrides_init
 * ran with the default. */
static void test_dropout_recorded(void) {
    char db[600];
    snprintf(db, sizeof db, "%s", tmp_path("r.db"));
    char *o;
    int rc = proc_run(&o, "%s finetune --task vqa --method heads --steps 2 --batch 4 --eval-limit 5 --quiet --data %s "
                          "--db %s --init %s/backbone.safetensors --dropout 0 --out %s",
                      moil_bin(), tmp_path("tiny"), db, tmp_path("pre"), tmp_path("d0"));
    CHECK(rc == 0, "finetune --dropout 0: %s", o);
    free(o);
    rc = proc_run(&o, "%s pretrain --d 16 --layers 1 --heads 2 --steps 1 --quiet --data %s --db %s --dropout 0.25 --out %s",
                  moil_bin(), tmp_path("tiny"), db, tmp_path("pre_d"));
    CHECK(rc == 0, "pretrain --dropout 0.25: %s", o);
    free(o);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE task = 'vqa' AND json_extract(config_json, '$.dropout') = 0.1") ==
              2,
          "the default runs do not record dropout 0.1");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE task = 'vqa' AND json_extract(config_json, '$.dropout') = 0") == 1,
          "the --dropout 0 run does not record 0");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE task = 'pretrain' AND "
                      "json_extract(config_json, '$.dropout') = 0.25") == 1,
          "the pretraining run does not record --dropout 0.25");
    long long id = sql_int(db, "SELECT id FROM runs WHERE task = 'vqa' AND json_extract(config_json, '$.dropout') = 0");
    char out[8192];
    rc = proc_moil(out, sizeof out, "db show %lld --db %s", id, db);
    CHECK(rc == 0 && strstr(out, "\"dropout\": 0"), "db show: %s", out);
    rc = proc_moil(out, sizeof out, "finetune --task vqa --method heads --dropout 1 --no-db --data %s", tmp_path("tiny"));
    CHECK(rc == 2 && strstr(out, "--dropout 1") && strstr(out, "[0, 1)"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "pretrain --dropout -0.5 --no-db --data %s", tmp_path("tiny"));
    CHECK(rc == 2 && strstr(out, "--dropout -0.5"), "exit %d: %s", rc, out);
}

/* Without --out, runs land where the --help texts and docs/paths.md say:
 * moil pretrain in runs/pretrain-full-s<seed>/, moil finetune in
 * runs/<task>-<method>-s<seed>/, the predictions one file per split and
 * variant (MoIL: student, ema, online; LoRA: merged). */
static void test_default_out_folders(void) {
    char *o;
    const char *moil = realpath(moil_bin(), NULL);
    CHECK(moil != NULL, "no moil binary at %s", moil_bin());
    if (!moil) return;
    char cwd[600], data[600];
    snprintf(cwd, sizeof cwd, "%s", tmp_path("cwd"));
    snprintf(data, sizeof data, "%s", tmp_path("tiny"));
    int rc = proc_run(&o, "mkdir -p %s && cd %s && '%s' pretrain --d 16 --layers 1 --heads 2 --steps 1 --seed 2 "
                          "--quiet --no-db --data %s && '%s' finetune --task vqa --method moil --steps 2 --batch 4 "
                          "--eval-limit 5 --quiet --no-db --seed 3 --data %s --init runs/pretrain-full-s2/backbone.safetensors "
                          "&& '%s' finetune --task nlvr --method lora --steps 2 --batch 4 --eval-limit 6 --quiet --no-db "
                          "--data %s",
                      cwd, cwd, moil, data, moil, data, moil, data);
    CHECK(rc == 0, "runs without --out: %s", o);
    free(o);
    static const char *const files[] = {
        "cwd/runs/pretrain-full-s2/backbone.safetensors", "cwd/runs/vqa-moil-s3/model.safetensors",
        "cwd/runs/vqa-moil-s3/predictions_test_student.json", "cwd/runs/vqa-moil-s3/predictions_test_ema.json",
        "cwd/runs/vqa-moil-s3/predictions_test_online.json", "cwd/runs/nlvr-lora-s0/model.safetensors",
        "cwd/runs/nlvr-lora-s0/predictions_test_merged.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        CHECK(access(tmp_path(files[i]), R_OK) == 0, "%s not written", files[i]);
    free((void *)moil);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) return 1;
    RUN(test_init_none_overrides_init);
    RUN(test_objectives_listed);
    RUN(test_recipe_recorded_and_acting);
    RUN(test_nlvr_on_vinvl);
    RUN(test_caption_objectives_on_vinvl);
    RUN(test_dropout_recorded);
    RUN(test_default_out_folders);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
