/* moil finetune: adapt a (pretrained) backbone to one task with one method,
 * evaluate it, log everything to the results database. */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "checkpoint.h"
#include "commands.h"
#include "dataset_vocab.h"
#include "db.h"
#include "method.h"
#include "model.h"
#include "task.h"
#include "train.h"

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: moil finetune --task T --method M [method options] [--init CKPT] [options]\n"
            "\n"
            "Adapts a backbone to a task with one adaptation method, evaluates every\n"
            "variant the method has (MoIL: folded student, EMA teacher, online teacher;\n"
            "LoRA/DoRA: merged weights), logs the run to the results database and\n"
            "prints the metrics, ending with one name=value line each.\n"
            "\n"
            "  --task T         vqa (tasks: see below)\n"
            "  --method M       full, heads, bitfit, prompt, adapter, lora, dora, moil\n"
            "  --init CKPT      pretrained backbone (safetensors from moil pretrain);\n"
            "                   without it the backbone starts from random weights\n"
            "  --data DIR       dataset folder (default datasets/data/quick)\n"
            "  --out DIR        predictions and the final checkpoint (default runs/<task>-<method>-s<seed>)\n"
            "  --db PATH        results database (default results/moil.db); --no-db: none\n"
            "  --table ID       the paper table this run belongs to (recorded)\n"
            "  --profile P      quick (default) or full: sets steps, batch and eval size\n"
            "  --steps N        optimiser steps          --batch B   examples per step\n"
            "  --lr X           peak learning rate (default 1e-4; heads 10x for VQA)\n"
            "  --warmup F       warmup fraction of the steps (default 0.1)\n"
            "  --eval-every N   validation evaluations every N steps (default 0: none)\n"
            "  --eval-split S   final evaluation split (default test)\n"
            "  --eval-limit N   evaluate at most N examples (default: the profile's)\n"
            "  --seed S         (default 0)  --threads N (default 1)  --force  --quiet\n"
            "\n%s\ntasks:\n",
            method_options_help);
    for (int i = 0; i < task_count(); i++) fprintf(out, "  %-10s %s\n", task_at(i)->name, task_at(i)->summary);
    fprintf(out, "methods:\n");
    for (int i = 0; i < method_count(); i++) fprintf(out, "  %-10s %s\n", method_at(i)->name, method_at(i)->summary);
}

typedef struct {
    const char *task, *method, *init, *data, *out, *db, *table, *profile, *eval_split;
    int steps, batch, eval_every, eval_limit, threads, force, quiet, no_db;
    double lr, warmup;
    long seed;
    MethodOptions mopt;
} FinetuneArgs;

/* Profile defaults: the budget of one fine-tuning run. */
static void apply_profile(FinetuneArgs *a) {
    int full = a->profile && !strcmp(a->profile, "full");
    if (a->steps <= 0) a->steps = full ? 1500 : 300;
    if (a->batch <= 0) a->batch = 32;
    if (a->eval_limit < 0) a->eval_limit = full ? 0 : 400;
}

static int parse_args(int argc, char **argv, FinetuneArgs *a) {
    memset(a, 0, sizeof *a);
    a->data = "datasets/data/quick";
    a->db = "results/moil.db";
    a->eval_split = "test";
    a->lr = 1e-4;
    a->warmup = 0.1;
    a->threads = 1;
    a->eval_limit = -1;
    a->mopt = method_options_default();
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) return err_set("unexpected argument '%s'", arg);
        const char *name = arg + 2;
        int flag = !strcmp(name, "force") || !strcmp(name, "quiet") || !strcmp(name, "no-db") ||
                   method_option_is_flag(name);
        const char *val = NULL;
        if (!flag) {
            if (i + 1 >= argc) return err_set("%s needs a value", arg);
            val = argv[++i];
        }
        int mo = method_option_parse(&a->mopt, name, val ? val : "");
        if (mo < 0) return -1;
        if (mo > 0) continue;
        if (!strcmp(name, "task")) a->task = val;
        else if (!strcmp(name, "method")) a->method = val;
        else if (!strcmp(name, "init")) a->init = val;
        else if (!strcmp(name, "data")) a->data = val;
        else if (!strcmp(name, "out")) a->out = val;
        else if (!strcmp(name, "db")) a->db = val;
        else if (!strcmp(name, "table")) a->table = val;
        else if (!strcmp(name, "profile")) a->profile = val;
        else if (!strcmp(name, "eval-split")) a->eval_split = val;
        else if (!strcmp(name, "steps")) a->steps = atoi(val);
        else if (!strcmp(name, "batch")) a->batch = atoi(val);
        else if (!strcmp(name, "eval-every")) a->eval_every = atoi(val);
        else if (!strcmp(name, "eval-limit")) a->eval_limit = atoi(val);
        else if (!strcmp(name, "threads")) a->threads = atoi(val);
        else if (!strcmp(name, "lr")) a->lr = atof(val);
        else if (!strcmp(name, "warmup")) a->warmup = atof(val);
        else if (!strcmp(name, "seed")) a->seed = atol(val);
        else if (!strcmp(name, "force")) a->force = 1;
        else if (!strcmp(name, "quiet")) a->quiet = 1;
        else if (!strcmp(name, "no-db")) a->no_db = 1;
        else return err_set("unknown option %s (see moil finetune --help)", arg);
    }
    if (!a->task || !a->method) return err_set("--task and --method are required (see moil finetune --help)");
    if (a->profile && strcmp(a->profile, "quick") && strcmp(a->profile, "full"))
        return err_set("--profile %s: expected quick or full", a->profile);
    apply_profile(a);
    if (a->steps < 1 || a->batch < 1 || a->batch > 1024 || a->threads < 1 || !(a->lr > 0) || a->warmup < 0 ||
        a->warmup >= 1)
        return err_set("bad budget: --steps %d --batch %d (1..1024) --threads %d --lr %g --warmup %g", a->steps,
                       a->batch, a->threads, a->lr, a->warmup);
    return 0;
}

static json_t *run_config(const FinetuneArgs *a, const ModelConfig *mc, const char *init_hash) {
    char mjson[2048];
    method_options_json(&a->mopt, mjson, sizeof mjson);
    char buf[2300];
    snprintf(buf, sizeof buf, "{%s}", mjson);
    json_t *mo = json_loads(buf, 0, NULL);
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:I, s:s, s:i}", "command", "finetune",
                     "task", a->task, "method_options", mo ? mo : json_null(), "method", a->method, "init",
                     a->init ? a->init : "", "init_hash", init_hash, "model", model_config_to_json(mc), "steps",
                     a->steps, "batch", a->batch, "lr", a->lr, "warmup", a->warmup, "seed", (json_int_t)a->seed,
                     "eval_split", a->eval_split, "eval_limit", a->eval_limit);
}

/* FNV-1a of the file's bytes, so the run config names the exact backbone. */
static int file_hash(const char *path, char out[17]) {
    size_t len;
    char *buf = file_read_all(path, (size_t)1 << 31, &len);
    if (!buf) return -1;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
    free(buf);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return 0;
}

static int finetune(FinetuneArgs *a) {
    openblas_set_num_threads(a->threads);
    Tokenizer tok = {0};
    ModelConfig mc;
    StFile init = {0};
    int have_init = 0, rc = 0;
    char init_hash[17] = "random";
    if (a->init) {
        if (safetensors_open(a->init, &init) != 0) return -1;
        have_init = 1;
        const char *cfg = safetensors_meta(&init, "model_config");
        json_error_t je;
        json_t *j = cfg ? json_loads(cfg, 0, &je) : NULL;
        if (!j) rc = err_set("%s: no readable 'model_config' in the metadata (not a moil backbone?)", a->init);
        if (rc == 0) rc = model_config_from_json(&mc, j, a->init);
        json_decref(j);
        if (rc == 0) rc = dataset_vocab_from_checkpoint(&tok, &init);
        if (rc == 0) rc = file_hash(a->init, init_hash);
    } else {
        rc = dataset_vocab_build(&tok, a->data, 1);
        if (rc == 0) rc = model_config_default(&mc, "vilt", tok.n);
    }
    if (rc != 0) goto done_tok;
    TaskEnv env = {a->data, &tok, mc.vilt.image_size, mc.vilt.max_text, a->batch, a->eval_limit, 15};
    Task task;
    if (task_create(&task, a->task, &env) != 0) {
        rc = -1;
        goto done_tok;
    }
    if (!a->quiet) fprintf(stderr, "finetune: loading %s data from %s\n", a->task, a->data);
    if (task.ops->load(&task, &env, a->eval_split) != 0) {
        rc = -1;
        goto done_task;
    }
    Model model;
    if (model_create(&model, &mc) != 0) {
        rc = -1;
        goto done_task;
    }
    task.ops->register_heads(&task, &model.params, model.d);
    Method meth;
    a->mopt.total_steps = a->steps;
    if (method_create(&meth, a->method, &a->mopt) != 0) {
        rc = -1;
        goto done_model;
    }
    if (meth.ops->add_params) meth.ops->add_params(&meth, &model.bb, &model.params);
    model_finish(&model, task.ops->max_sequences(&task), (uint64_t)a->seed + 1);
    if (have_init && checkpoint_load(a->init, &model.params, 1u << PARAM_GROUP_BACKBONE, 1, NULL) != 0) {
        rc = -1;
        goto done_method;
    }
    Rng rng;
    rng_seed(&rng, (uint64_t)a->seed);
    if (task.ops->init_heads(&task, &model, &rng, have_init ? &init : NULL) != 0 ||
        meth.ops->setup(&meth, &model.bb, &model.params, &rng) != 0) {
        rc = -1;
        goto done_method;
    }
    ParamAccount acc = method_account(&meth, &model.params);
    char out_dir[1024];
    if (a->out) snprintf(out_dir, sizeof out_dir, "%s", a->out);
    else snprintf(out_dir, sizeof out_dir, "runs/%s-%s-s%ld", a->task, a->method, a->seed);
    if (dir_make(out_dir) != 0) {
        rc = -1;
        goto done_method;
    }
    json_t *config = run_config(a, &mc, init_hash);
    char desc[512] = "";
    if (meth.ops->describe) {
        char d[480];
        meth.ops->describe(&meth, d, sizeof d);
        snprintf(desc, sizeof desc, "{%s}", d);
        json_t *dj = json_loads(desc, 0, NULL);
        if (dj) json_object_set_new(config, "method_effective", dj);
    }
    Db *db = NULL;
    int64_t run_id = 0;
    if (!a->no_db) {
        if (db_open(a->db, &db) != 0) {
            json_decref(config);
            rc = -1;
            goto done_method;
        }
        db_runs_mark_stale(db, 0, NULL);
        RunInfo info = {a->table, a->task, mc.kind, a->method, a->seed, config, NULL, -1, a->threads,
                        (int64_t)acc.trainable, (int64_t)acc.stored, (int64_t)acc.backbone, a->force};
        int r = db_run_begin(db, &info, &run_id);
        if (r < 0) {
            json_decref(config);
            db_close(db);
            rc = -1;
            goto done_method;
        }
        if (r == 1) {
            printf("finetune: this configuration already has run %lld in %s (use --force to redo)\n",
                   (long long)run_id, a->db);
            printf("run_id=%lld\nskipped=1\n", (long long)run_id);
            json_decref(config);
            db_close(db);
            goto done_method;
        }
    }
    json_decref(config);
    if (!a->quiet)
        fprintf(stderr,
                "finetune: %s / %s, %d steps of %d, trainable %.2f%% and stored %.2f%% of the %zu backbone "
                "parameters%s%s\n",
                a->task, a->method, a->steps, a->batch, 100.0 * acc.trainable / acc.backbone,
                100.0 * acc.stored / acc.backbone, acc.backbone, desc[0] ? ", " : "", desc);
    train_install_signal_handlers();
    TrainConfig tc = {a->steps, (float)a->warmup, (float)a->lr, 0.01f, 1.0f, a->eval_every, 10,
                      a->eval_split, out_dir, a->quiet};
    TrainResult res;
    train_run(&model, &task, &meth, &tc, &rng, db, run_id, &res);
    DbStatus st = res.status == TRAIN_OK ? DB_OK : res.status == TRAIN_DIVERGED ? DB_DIVERGED
                : res.status == TRAIN_KILLED ? DB_KILLED : DB_FAILED;
    if (res.status == TRAIN_OK) {
        char ck[1100];
        snprintf(ck, sizeof ck, "%s/model.safetensors", out_dir);
        if (checkpoint_save(ck, &model.params, ~0u, NULL, 0) != 0) {
            st = DB_FAILED;
            snprintf(res.error, sizeof res.error, "%s", err_msg());
        }
    }
    if (db) {
        db_metric_set(db, run_id, "train", "steps_done", res.steps_done);
        db_metric_set(db, run_id, "train", "seconds", res.seconds);
        if (db_run_end(db, run_id, st, res.error[0] ? res.error : NULL, res.seconds, db_peak_rss_bytes()) != 0)
            fprintf(stderr, "moil: %s\n", err_msg());
        db_close(db);
    }
    if (st != DB_OK) {
        rc = err_set("run %s: %s", db_status_name(st), res.error);
        goto done_method;
    }
    printf("finetune: %s / %s done in %.1fs\n", a->task, a->method, res.seconds);
    printf("run_id=%lld\n", (long long)run_id);
    printf("params_trainable=%zu\nparams_stored=%zu\nparams_backbone=%zu\n", acc.trainable, acc.stored, acc.backbone);
    printf("trainable_pct=%.4f\nstored_pct=%.4f\n", 100.0 * acc.trainable / acc.backbone,
           100.0 * acc.stored / acc.backbone);
    printf("seconds=%.2f\n", res.seconds);
    for (int i = 0; i < res.final.n; i++) printf("%s=%.6g\n", res.final.name[i], res.final.value[i]);
done_method:
    method_destroy(&meth);
done_model:
    model_free(&model);
done_task:
    task_destroy(&task);
done_tok:
    tokenizer_free(&tok);
    if (have_init) safetensors_close(&init);
    return rc;
}

int cmd_finetune(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_usage(stdout);
            return 0;
        }
    FinetuneArgs a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "moil finetune: %s\n", err_msg());
        return 2;
    }
    if (finetune(&a) != 0) {
        fprintf(stderr, "moil finetune: %s\n", err_msg());
        return 1;
    }
    return 0;
}
