/* Standalone fine-tuned checkpoints and moil eval, on a tiny dataset and
 * backbones: the model.safetensors of moil finetune carries in its metadata
 * what using it needs (model config, vocabulary, task, head layout with the
 * VQA answer list, method, its options and variants, the run's config);
 * moil eval on it, on the same data, gives the training run's metrics to the
 * last digit (every metric of every variant but the timings, as the
 * database holds them, and the printed lines) and the same predictions
 * files, for every task and several methods (full, LoRA with an alpha of
 * nine significant digits, MoIL's three variants, prompts, a VLMo-style
 * dual encoder's re-ranking, a fusion shortlist whose first stage is the
 * run's backbone, captioning with each objective, recorded in its
 * head layout); its run is logged as command "eval", apart
 * from the training run's; its options, and clear errors for a backbone, a
 * fine-tuned file without metadata and bad arguments. */
#include <dirent.h>
#include <jansson.h>

#include "check.h"
#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_cli_eval_XXXXXX";
#include "tmp_path.h"

/* Fine-tune the tiny backbone tmp_path(backbone): task, method and extra
 * options, into tmp_path(out), logged to tmp_path("r.db"); the output into
 * *o (to free). */
static int finetune_from(char **o, const char *backbone, const char *task, const char *method, const char *extra,
                         const char *out) {
    return proc_run(o, "%s finetune --task %s --method %s --steps 4 --batch 4 --eval-limit 12 %s --quiet --data %s "
                       "--db %s --init %s/backbone.safetensors --out %s",
                    moil_bin(), task, method, extra, tmp_path("tiny"), tmp_path("r.db"), tmp_path(backbone),
                    tmp_path(out));
}

static int finetune(char **o, const char *task, const char *method, const char *extra, const char *out) {
    return finetune_from(o, "pre", task, method, extra, out);
}

/* moil eval of tmp_path(dir)/model.safetensors with extra options. */
static int eval(char **o, const char *dir, const char *extra) {
    return proc_run(o, "%s eval --init %s/model.safetensors --quiet --db %s %s", moil_bin(), tmp_path(dir),
                    tmp_path("r.db"), extra);
}

/* The metadata value key of the checkpoint f as JSON (NULL if absent or not JSON). */
static json_t *meta_json(const StFile *f, const char *key) {
    const char *text = safetensors_meta(f, key);
    return text ? json_loads(text, 0, NULL) : NULL;
}

static void test_finetuned_metadata(void) {
    char *o;
    int rc = finetune(&o, "vqa", "lora", "--rank 4", "vqa_lora");
    CHECK(rc == 0, "finetune: %s", o);
    free(o);
    StFile f, b;
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp_path("vqa_lora"));
    if (safetensors_open(path, &f) != 0 || safetensors_open(tmp_path("pre/backbone.safetensors"), &b) != 0) {
        CHECK(0, "open: %s", err_msg());
        return;
    }
    const char *same[] = {"model_config", "vocab", "stem"};
    for (int i = 0; i < 3; i++) {
        const char *a = safetensors_meta(&f, same[i]), *c = safetensors_meta(&b, same[i]);
        CHECK(a && c && !strcmp(a, c), "metadata %s differs from the backbone's", same[i]);
    }
    const char *want[][2] = {
        {"task", "vqa"}, {"method", "lora"}, {"weights", "as_trained"}, {"variants", "[\"merged\"]"}};
    for (int i = 0; i < 4; i++) {
        const char *v = safetensors_meta(&f, want[i][0]);
        CHECK(v && !strcmp(v, want[i][1]), "metadata %s: %s", want[i][0], v ? v : "(none)");
    }
    json_t *layout = meta_json(&f, "head_layout"), *opts = meta_json(&f, "method_options");
    json_t *config = meta_json(&f, "run_config");
    size_t n_answers = json_array_size(json_object_get(layout, "answers"));
    CHECK(n_answers >= 2, "head layout answers: %zu", n_answers);
    const json_t *tensors = json_object_get(layout, "tensors");
    const json_t *out = json_array_get(tensors, json_array_size(tensors) - 1); /* the classifier's last layer */
    CHECK(json_array_size(tensors) == 6 &&
              json_integer_value(json_array_get(json_object_get(out, "shape"), 0)) == (json_int_t)n_answers,
          "head tensors: the classifier's outputs are not the answers");
    CHECK(json_integer_value(json_object_get(opts, "rank")) == 4, "method options: rank");
    const char *command = json_string_value(json_object_get(config, "command"));
    CHECK(command && !strcmp(command, "finetune"), "run config: command");
    const StTensor *a = safetensors_find(&f, "transformer.blocks.0.attn.q.lora_A");
    CHECK(a && a->shape[0] == 4, "the LoRA factors are stored, as trained");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE config_hash = '%s' AND status = 'ok'",
             safetensors_meta(&f, "run_config_hash"));
    CHECK(sql_int(tmp_path("r.db"), sql) == 1, "run_config_hash names no run of the database");
    json_decref(layout), json_decref(opts), json_decref(config);
    safetensors_close(&f), safetensors_close(&b);
}

/* The number of final metrics of run a (but the timings and the training
 * split's) that run b lacks or holds with another value; *n: how many a has. */
static long long metrics_differing(long long a, long long b, long long *n) {
    char where[300], sql[700];
    snprintf(where, sizeof where,
             "FROM metrics AS x WHERE x.run_id = %lld AND x.split != 'train' AND x.name NOT GLOB '*seconds*' "
             "AND x.name NOT GLOB '*_ms_*'", a);
    snprintf(sql, sizeof sql, "SELECT count(*) %s", where);
    *n = sql_int(tmp_path("r.db"), sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) %s AND NOT EXISTS (SELECT 1 FROM metrics AS y WHERE y.run_id = %lld AND "
             "y.split = x.split AND y.name = x.name AND y.value IS x.value AND y.nonfinite IS x.nonfinite)",
             where, b);
    return sql_int(tmp_path("r.db"), sql);
}

/* Every predictions_* file of folder a is in folder b, byte for byte; the
 * number of files compared. */
static int same_predictions(const char *dir_a, const char *dir_b) {
    DIR *d = opendir(dir_a);
    int n = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (strncmp(e->d_name, "predictions_", 12) != 0) continue;
        char *o;
        int rc = proc_run(&o, "cmp '%s/%s' '%s/%s'", dir_a, e->d_name, dir_b, e->d_name);
        CHECK(rc == 0, "%s differs: %s", e->d_name, o);
        free(o);
        n++;
    }
    if (d) closedir(d);
    return n;
}

static void test_eval_reproduces(void) {
    static const struct {
        const char *backbone, *task, *method, *extra, *metric;
        int variants;
    } cases[] = {
        {"pre", "vqa", "full", "", "vqa_score", 1},
        {"pre", "vqa", "lora", "--rank 4 --alpha 8.123456789", "vqa_score", 1},
        {"pre", "nlvr", "moil", "--rank-lora 4 --rank-adapter 4", "accuracy", 3},
        {"pre", "retrieval", "lora", "--rank 4", "ir_r1", 1},
        {"pre", "caption", "prompt", "--prompt-len 3 --beam 2", "cider_d", 1},
        {"pre", "caption", "heads", "--caption-objective next", "cider_d", 1},
        {"pre_vlmo", "retrieval", "full", "", "rerank_ir_r1", 1},
        {"pre", "retrieval", "full", "--shortlist 3", "ir_r1", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64], *ft, *ev, want[64] = "", got[64] = "";
        snprintf(out, sizeof out, "%s_%s_%zu", cases[i].task, cases[i].method, i);
        int rc = finetune_from(&ft, cases[i].backbone, cases[i].task, cases[i].method, cases[i].extra, out);
        CHECK(rc == 0, "finetune %s: %s", out, ft);
        rc = eval(&ev, out, "");
        CHECK(rc == 0, "eval %s: %s", out, ev);
        out_value(ft, cases[i].metric, want, sizeof want);
        out_value(ev, cases[i].metric, got, sizeof got);
        CHECK(*want && !strcmp(want, got), "%s: %s=%s after training, %s from moil eval", out, cases[i].metric, want,
              got);
        long long n, differing = metrics_differing(out_int(ft, "run_id"), out_int(ev, "run_id"), &n);
        CHECK(n >= 3 && differing == 0, "%s: %lld of %lld metrics differ", out, differing, n);
        char eval_dir[600];
        snprintf(eval_dir, sizeof eval_dir, "%s/eval-test", tmp_path(out));
        int files = same_predictions(tmp_path(out), eval_dir);
        CHECK(files >= cases[i].variants, "%s: %d predictions files compared", out, files);
        printf("  %s / %s: %s=%s, %lld metrics and %d predictions files compared\n", cases[i].task,
               cases[i].method, cases[i].metric, got, n, files);
        free(ft), free(ev);
    }
    /* the caption checkpoints record their objective, which eval decodes with */
    const char *objective[][2] = {{"caption_prompt_4", "masked"}, {"caption_heads_5", "next"}};
    for (int i = 0; i < 2; i++) {
        StFile f;
        char path[600];
        snprintf(path, sizeof path, "%s/model.safetensors", tmp_path(objective[i][0]));
        if (safetensors_open(path, &f) != 0) {
            CHECK(0, "open: %s", err_msg());
            continue;
        }
        json_t *layout = meta_json(&f, "head_layout");
        const char *o = json_string_value(json_object_get(layout, "objective"));
        CHECK(o && !strcmp(o, objective[i][1]), "%s: head layout objective %s", objective[i][0], o ? o : "(none)");
        json_decref(layout);
        safetensors_close(&f);
    }
    /* the shortlist's size is in the head layout, which eval re-ranks with */
    StFile f;
    if (safetensors_open(tmp_path("retrieval_full_7/model.safetensors"), &f) == 0) {
        json_t *layout = meta_json(&f, "head_layout");
        CHECK(json_integer_value(json_object_get(layout, "shortlist")) == 3, "no shortlist 3 in the head layout");
        json_decref(layout);
        safetensors_close(&f);
    } else {
        CHECK(0, "open: %s", err_msg());
    }
    /* logged apart: command eval, its own config hash, the trained run named */
    const char *db = tmp_path("r.db");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'ok' AND "
                      "json_extract(config_json, '$.command') = 'eval'") == 8, "eval runs");
    CHECK(sql_int(db, "SELECT count(*) FROM runs AS e JOIN runs AS t ON "
                      "t.config_hash = json_extract(e.config_json, '$.trained_config_hash') WHERE "
                      "json_extract(e.config_json, '$.command') = 'eval' AND "
                      "json_extract(t.config_json, '$.command') = 'finetune' AND e.config_hash != t.config_hash") == 8,
          "an eval run does not name its training run, or shares its config hash");
    char *o;
    CHECK(proc_run(&o, "%s db check --db %s", moil_bin(), db) == 0, "db check: %s", o);
    free(o);
    CHECK(proc_run(&o, "%s db runs --db %s", moil_bin(), db) == 0 && strstr(o, " eval ") && strstr(o, " finetune "),
          "db runs shows no command: %s", o);
    free(o);
}

static void test_eval_options(void) {
    char *o, *a;
    CHECK(finetune(&o, "vqa", "heads", "", "opts") == 0, "finetune: %s", o);
    free(o);
    long long runs = sql_int(tmp_path("r.db"), "SELECT count(*) FROM runs");
    int rc = eval(&o, "opts", "--no-db --split val --eval-limit 5");
    CHECK(rc == 0 && out_int(o, "questions") == 5 && !strstr(o, "run_id="), "val, 5 questions: %s", o);
    free(o);
    CHECK(access(tmp_path("opts/eval-val/predictions_val_trained.json"), F_OK) == 0, "no predictions beside the model");
    CHECK(sql_int(tmp_path("r.db"), "SELECT count(*) FROM runs") == runs, "--no-db logged a run");
    rc = eval(&o, "opts", "--no-db --out");
    CHECK(rc == 2 && strstr(o, "--out"), "exit %d: %s", rc, o);
    free(o);
    rc = proc_run(&o, "%s eval --init %s/model.safetensors --no-db --quiet --task vqa --out %s", moil_bin(),
                  tmp_path("opts"), tmp_path("elsewhere"));
    rc |= proc_run(&a, "ls %s", tmp_path("elsewhere"));
    CHECK(rc == 0 && strstr(a, "predictions_test_trained.json"), "--out: %s %s", o, a);
    free(o), free(a);
    rc = eval(&o, "opts", "--no-db --task nlvr");
    CHECK(rc == 1 && strstr(o, "fine-tuned for vqa"), "exit %d: %s", rc, o);
    free(o);
}

static void test_eval_errors(void) {
    char *o;
    int rc = proc_run(&o, "%s eval --no-db --init %s/backbone.safetensors", moil_bin(), tmp_path("pre"));
    CHECK(rc == 1 && strstr(o, "pre/backbone.safetensors") &&
              strstr(o, "lacks task, head_layout, method, method_options, run_config") &&
              strstr(o, "moil pretrain --eval"),
          "a backbone: exit %d: %s", rc, o);
    free(o);
    /* a fine-tuned file as moil finetune wrote them before: tensors, no metadata */
    StFile f;
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp_path("opts"));
    CHECK(safetensors_open(path, &f) == 0, "%s", err_msg());
    CHECK(dir_make(tmp_path("old")) == 0 &&
              safetensors_write(tmp_path("old/model.safetensors"), f.tensors, f.n_tensors, NULL, 0) == 0,
          "%s", err_msg());
    safetensors_close(&f);
    rc = eval(&o, "old", "--no-db");
    CHECK(rc == 1 && strstr(o, "old/model.safetensors") &&
              strstr(o, "lacks model_config, vocab, task, head_layout, method, method_options, run_config") &&
              strstr(o, "fine-tune again"),
          "an old fine-tuned file: exit %d: %s", rc, o);
    free(o);
    rc = eval(&o, "nowhere", "--no-db");
    CHECK(rc == 1 && strstr(o, "nowhere/model.safetensors"), "a missing file: exit %d: %s", rc, o);
    free(o);
    rc = proc_run(&o, "%s eval --no-db", moil_bin());
    CHECK(rc == 2 && strstr(o, "--init"), "no --init: exit %d: %s", rc, o);
    free(o);
    rc = proc_run(&o, "%s eval --bogus", moil_bin());
    CHECK(rc == 2 && strstr(o, "--bogus"), "unknown option: exit %d: %s", rc, o);
    free(o);
    rc = proc_run(&o, "%s eval --help", moil_bin());
    CHECK(rc == 0 && strstr(o, "usage: moil eval"), "--help: exit %d: %s", rc, o);
    free(o);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) return 1;
    char *o;
    const char *pretrain = "pretrain --d 16 --layers 1 --heads 2 --steps 5 --quiet --no-db";
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s", moil_bin(), tmp_path("tiny"));
    for (int k = 0; k < 2 && rc == 0; k++) {
        free(o);
        rc = proc_run(&o, "%s %s --model %s --data %s --out %s", moil_bin(), pretrain, k ? "vlmo" : "vilt",
                      tmp_path("tiny"), tmp_path(k ? "pre_vlmo" : "pre"));
    }
    if (rc != 0) {
        printf("test_cli_eval: setup failed: %s\n", o);
        return 1;
    }
    free(o);
    RUN(test_finetuned_metadata);
    RUN(test_eval_reproduces);
    RUN(test_eval_options);
    RUN(test_eval_errors);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
