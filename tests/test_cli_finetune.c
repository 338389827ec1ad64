/* Command-line behaviour of moil finetune and moil pretrain that the tables
 * rely on: a row's `--init none` overrides the profile's --init (the run
 * starts from random weights and its config says so), --objectives
 * names every objective in its error message, and NLVR runs on the
 * VinVL-style model (image ids from the instances file, or an error naming
 * it), captioning on it with either objective (recorded in the config), and
 * runs without --out land in the folders the docs name. */
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
    RUN(test_nlvr_on_vinvl);
    RUN(test_caption_objectives_on_vinvl);
    RUN(test_default_out_folders);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
