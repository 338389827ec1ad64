/* The run both `moil finetune` and `moil pretrain` make: parse the common
 * options, build the model, task and method, train, evaluate, log to the
 * results database, save the checkpoint, print name=value lines.
 * Pretraining is a run of the task "pretrain" with the method "full" from
 * random weights; its checkpoint (backbone + pretraining heads) carries the
 * model config and the vocabulary in its metadata. */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "commands.h"
#include "data_vocab.h"
#include "db.h"
#include "io_checkpoint.h"
#include "method.h"
#include "model.h"
#include "run_build.h"
#include "run_checkpoint.h"
#include "run_common.h"
#include "run_inputs.h"
#include "run_numeric_env.h"
#include "run_sink.h"
#include "task_caption_objective.h"
#include "task_registry.h"
#include "train.h"

static void print_lists(FILE *out) {
    fprintf(out, "\n%s\ntasks:\n", method_options_help);
    for (int i = 0; i < task_count(); i++) fprintf(out, "  %-10s %s\n", task_at(i)->name, task_at(i)->summary);
    fprintf(out, "methods:\n");
    for (int i = 0; i < method_count(); i++) fprintf(out, "  %-10s %s\n", method_at(i)->name, method_at(i)->summary);
}

static const char common_options[] =
    "  --data DIR       dataset folder (default datasets/data/quick)\n"
    "  --db PATH        results database (default results/moil.db); --no-db: none\n"
    "  --table ID       the paper table this run belongs to (recorded)\n"
    "  --profile P      quick (default) or full: sets steps, batch and eval size\n"
    "  --steps N        optimiser steps          --batch B   examples per step\n"
    "  --lr X           peak learning rate (default 5e-4)  --warmup F  warmup fraction (default 0.1)\n"
    "  --clip X         clip the gradients' global norm at X (default 0: none, as ViLT)\n"
    "  --adamw F        where AdamW's eps enters: transformers (default, ViLT's: eps on the\n"
    "                   uncorrected sqrt(v)) or torch (eps after the bias correction)\n"
    "  --lr-schedule S  vilt (default: warmup from lr 0 at the first step) or shifted (from\n"
    "                   peak/warmup-steps, the first edition's); then linear decay to 0\n"
    "  --dropout P      dropout of the training passes, in [0, 1) (default 0.1, ViLT's; 0: none)\n"
    "  --eval-every N   validation evaluations every N steps (default 0: none)\n"
    "  --eval-limit N   evaluate at most N examples (default: the profile's)\n"
    "  --seed S         (default 0)  --threads N (default 1)  --force (redo a finished run)  --quiet\n";

static const char finetune_options[] =
    "  --reference CKPT a full-tuning model.safetensors of the same task and schedule: log every\n"
    "                   variant's q/k/v distance to it (curves wdist/<variant>/...) and the\n"
    "                   Eckart-Young floor of the method's rank (metrics ey_floor_r<R>/...)\n"
    "  --diag-every N   distances every N steps (default: 20 points per run)\n"
    "  --head-lr-mult X learning-rate multiplier of the task head (default: the task's,\n"
    "                   as ViLT: 10 for vqa, 1 for the others)\n"
    "  --beam K         caption decoding: beam width (default 0 = greedy)\n"
    "  --label-smoothing X  caption cross-entropy label smoothing (default 0)\n"
    "  --caption-objective O  caption training: masked (VinVL's masked-token prediction, default)\n"
    "                   or next (next-token prediction)\n"
    "  --shortlist K    retrieval evaluation: the rank head re-ranks each query's K best candidates\n"
    "                   by the pretrained model's own scores of every pair (cached in DATA/first_stage)\n"
    "                   instead of scoring every pair (default 0: every pair, ViLT's; dual encoders\n"
    "                   re-rank the top 16 of their ITC cosine, or their top K)\n";

static void print_usage(FILE *out, RunKind kind) {
    if (kind == RUN_PRETRAIN) {
        fprintf(out,
                "usage: moil pretrain [--model vilt|vlmo|vinvl] [--stem patch|conv] [options]\n"
                "       moil pretrain --eval CKPT [--data DIR] [--objectives L]\n"
                "\n"
                "Pretrains the ViLT-style backbone on the dataset's pretraining corpus with\n"
                "MLM + ITM (random and ITC-mined hard negatives) + ITC on mean-pooled unimodal\n"
                "features (optionally an image-only per-cell classification, cells),\n"
                "evaluates how grounded it is on held-out pairs (ITC/ITM retrieval, ITM\n"
                "accuracy with random and one-attribute hard negatives, MLM accuracy per word\n"
                "kind beside the text-only guess, cells accuracy beside the majority guess)\n"
                "and writes <out>/backbone.safetensors, the checkpoint every fine-tuning run\n"
                "starts from. --eval CKPT only evaluates.\n"
                "\n"
                "  --model M        vilt (single stream, default) or vlmo (modality experts: text,\n"
                "                   image and, in the top layer, vision-language FFNs)\n"
                "                   or vinvl (two-stage: [CLS] text [SEP] tags [SEP] regions from the\n"
                "                   region folder DATA/regions that `moil regions train` writes)\n"
                "  --stem S         patch (ViT linear patch embedding, default) or conv\n"
                "  --objectives L   which losses, from mlm,itm,itc,hard (ITM negatives mined by\n"
                "                   ITC similarity), swap (ITM negatives: the true image with\n"
                "                   one category word of its caption swapped) and cells (image\n"
                "                   only: each cell of the scene's 2x2 grid classified, category\n"
                "                   or empty, from its patch tokens; labels from the instances\n"
                "                   file); default mlm,itm,itc,hard. With --eval, cells reads\n"
                "                   the checkpoint's cells head and adds cell_acc\n"
                "  --cells-first N  a first stage: the first N of the --steps train the cells\n"
                "                   objective alone (a head start on the image side)\n"
                "  --d N  --layers N  --heads N   model size (default 128, 4, 4)\n"
                "  --out DIR        where backbone.safetensors goes (default runs/pretrain-full-s<seed>)\n"
                "%s",
                common_options);
        return;
    }
    fprintf(out,
            "usage: moil finetune --task T --method M [method options] [--init CKPT] [options]\n"
            "\n"
            "Adapts a backbone to a task with one adaptation method, evaluates every\n"
            "variant the method has (MoIL: folded student, EMA teacher, online teacher;\n"
            "LoRA/DoRA: merged weights), logs the run to the results database and\n"
            "prints the metrics, ending with one name=value line each.\n"
            "\n"
            "  --task T         a task (below)    --method M   a method (below)\n"
            "  --init CKPT      pretrained backbone (backbone.safetensors from moil pretrain);\n"
            "                   without it, or with --init none, the backbone starts from\n"
            "                   random weights (a table row's --init none overrides the profile's)\n"
            "  --model M        vilt, vlmo or vinvl: the kind of a random backbone, or a check\n"
            "                   that --init is one (the kind comes from the checkpoint)\n"
            "  --eval-split S   final evaluation split (default test)\n"
            "  --out DIR        model.safetensors and the final evaluation's predictions_<split>_<variant>.*\n"
            "                   (default runs/<task>-<method>-s<seed>; run_all.sh: runs/<profile>/<key>)\n"
            "%s%s",
            finetune_options, common_options);
    print_lists(out);
}

typedef struct {
    RunKind kind;
    const char *task, *method, *init, *data, *out, *db, *table, *profile, *eval_split, *eval_ckpt, *stem, *model;
    const char *reference, *objectives, *caption_objective;
    int cells_first; /* pretrain --cells-first N */
    int model_given; /* --model on the command line (finetune: must match --init) */
    int steps, batch, eval_every, eval_limit, threads, force, quiet, no_db, d, layers, heads, diag_every, beam;
    int shortlist; /* finetune --shortlist K (retrieval) */
    double lr, warmup, label_smoothing, clip, head_lr_mult, dropout;
    AdamWForm adamw;
    LrSchedule schedule;
    long seed;
    MethodOptions mopt;
} RunArgs;

/* Profile defaults: the budget of one run. Retrieval counts images per
 * batch (each brings 1 true + 15 false captions) and scores all pairs at
 * evaluation (quadratic), so it gets smaller batches and eval sets. */
static void apply_profile(RunArgs *a) {
    int full = a->profile && !strcmp(a->profile, "full");
    if (a->kind == RUN_PRETRAIN) {
        if (a->steps <= 0) a->steps = full ? 6000 : 600;
        if (a->batch <= 0) a->batch = 32;
        if (a->eval_limit < 0) a->eval_limit = 200;
        return;
    }
    int retrieval = !strcmp(a->task, "retrieval");
    if (a->steps <= 0) a->steps = full ? 1500 : 300;
    if (a->batch <= 0) a->batch = retrieval ? 8 : 32;
    if (a->eval_limit < 0) a->eval_limit = retrieval ? (full ? 200 : 100) : (full ? 0 : 400);
}

/* --objectives mlm,itm,itc,hard,cells,swap -> PRETRAIN_* bits (name k is bit k);
 * -1 on an unknown name. */
static int objectives_parse(const char *s, unsigned *bits) {
    static const char *const names[] = {"mlm", "itm", "itc", "hard", "cells", "swap"};
    enum { N_NAMES = sizeof names / sizeof names[0] };
    _Static_assert(1u << (N_NAMES - 1) == PRETRAIN_SWAP, "one objective name per PRETRAIN_* bit");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    *bits = 0;
    for (char *w = strtok(buf, ","); w; w = strtok(NULL, ",")) {
        int k = NAME_INDEX(names, w);
        if (k < 0) return err_set("--objectives %s: unknown objective '%s' (mlm, itm, itc, hard, cells, swap)", s, w);
        *bits |= 1u << k;
    }
    return *bits ? 0 : err_set("--objectives: empty");
}

static int parse_args(int argc, char **argv, RunKind kind, RunArgs *a) {
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->data = "datasets/data/quick";
    a->db = "results/moil.db";
    a->eval_split = "test";
    /* fine-tuning at 5e-4: at 1e-4 (ViLT's, for a model 50x larger and batch
     * 256) VQA full tuning stayed below the question-type prior after 300
     * steps (29.8 vs 33.6); at 5e-4, 600 steps reached 44.6 */
    a->lr = 5e-4;
    a->warmup = 0.1;
    a->head_lr_mult = -1; /* the task's */
    a->dropout = 0.1; /* ViLT's drop_rate */
    a->threads = 1;
    a->eval_limit = -1;
    /* the patch stem: at 600 pretraining steps it reached ITC R@1 60.5 on
     * held-out pairs where the conv stem reached 40 (the conv stem caught up
     * only by 1,500 steps) */
    a->stem = "patch";
    a->model = "vilt";
    a->caption_objective = "masked";
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
        if (kind == RUN_FINETUNE) {
            int mo = method_option_parse(&a->mopt, name, val ? val : "");
            if (mo < 0) return -1;
            if (mo > 0) continue;
        }
        if (kind == RUN_FINETUNE && !strcmp(name, "task")) a->task = val;
        else if (kind == RUN_FINETUNE && !strcmp(name, "method")) a->method = val;
        else if (kind == RUN_FINETUNE && !strcmp(name, "init")) a->init = strcmp(val, "none") ? val : NULL;
        else if (kind == RUN_FINETUNE && !strcmp(name, "eval-split")) a->eval_split = val;
        else if (kind == RUN_FINETUNE && !strcmp(name, "reference")) a->reference = val;
        else if (kind == RUN_FINETUNE && !strcmp(name, "diag-every")) a->diag_every = atoi(val);
        else if (kind == RUN_FINETUNE && !strcmp(name, "beam")) a->beam = atoi(val);
        else if (kind == RUN_FINETUNE && !strcmp(name, "shortlist")) {
            if (option_parse_int(name, val, 0, 1 << 20, &a->shortlist) != 0) return -1;
        }
        else if (kind == RUN_FINETUNE && !strcmp(name, "label-smoothing")) a->label_smoothing = atof(val);
        else if (kind == RUN_FINETUNE && !strcmp(name, "caption-objective")) a->caption_objective = val;
        else if (kind == RUN_FINETUNE && !strcmp(name, "head-lr-mult")) {
            if (option_parse_double(name, val, 1e-6, 1e6, &a->head_lr_mult) != 0) return -1;
        } else if (!strcmp(name, "clip")) {
            if (option_parse_double(name, val, 0, 1e9, &a->clip) != 0) return -1;
        } else if (!strcmp(name, "adamw")) {
            int f = adamw_form_parse(val);
            if (f < 0) return err_set("--adamw %s: expected transformers or torch", val);
            a->adamw = (AdamWForm)f;
        } else if (!strcmp(name, "dropout")) {
            if (option_parse_double(name, val, 0, 1, &a->dropout) != 0 || a->dropout == 1)
                return err_set("--dropout %s: expected a probability in [0, 1)", val);
        } else if (!strcmp(name, "lr-schedule")) {
            int f = train_lr_schedule_parse(val);
            if (f < 0) return err_set("--lr-schedule %s: expected vilt or shifted", val);
            a->schedule = (LrSchedule)f;
        }
        else if (kind == RUN_PRETRAIN && !strcmp(name, "eval")) a->eval_ckpt = val;
        else if (kind == RUN_PRETRAIN && !strcmp(name, "stem")) a->stem = val;
        else if (kind == RUN_PRETRAIN && !strcmp(name, "objectives")) a->objectives = val;
        else if (kind == RUN_PRETRAIN && !strcmp(name, "cells-first")) a->cells_first = atoi(val);
        else if (!strcmp(name, "model")) a->model = val, a->model_given = 1;
        else if (kind == RUN_PRETRAIN && !strcmp(name, "d")) a->d = atoi(val);
        else if (kind == RUN_PRETRAIN && !strcmp(name, "layers")) a->layers = atoi(val);
        else if (kind == RUN_PRETRAIN && !strcmp(name, "heads")) a->heads = atoi(val);
        else if (!strcmp(name, "data")) a->data = val;
        else if (!strcmp(name, "out")) a->out = val;
        else if (!strcmp(name, "db")) a->db = val;
        else if (!strcmp(name, "table")) a->table = val;
        else if (!strcmp(name, "profile")) a->profile = val;
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
        else return err_set("unknown option %s (see --help)", arg);
    }
    if (kind == RUN_PRETRAIN) {
        a->task = "pretrain";
        a->method = "full";
        a->eval_split = "val";
        if (a->eval_ckpt) a->init = a->eval_ckpt, a->no_db = 1;
    }
    unsigned bits;
    if (a->objectives && objectives_parse(a->objectives, &bits) != 0) return -1;
    if (caption_objective_parse(a->caption_objective) < 0) return err_prefix("--caption-objective: ");
    if (!a->task || !a->method) return err_set("--task and --method are required (see moil finetune --help)");
    if (kind == RUN_FINETUNE && !strcmp(a->task, "pretrain")) return err_set("use moil pretrain to pretrain");
    if (a->profile && strcmp(a->profile, "quick") && strcmp(a->profile, "full"))
        return err_set("--profile %s: expected quick or full", a->profile);
    apply_profile(a);
    if (a->steps < 1 || a->batch < 1 || a->batch > 1024 || a->threads < 1 || !(a->lr > 0) || a->warmup < 0 ||
        a->warmup >= 1)
        return err_set("bad budget: --steps %d --batch %d (1..1024) --threads %d --lr %g --warmup %g", a->steps,
                       a->batch, a->threads, a->lr, a->warmup);
    return 0;
}

static json_t *run_config(const RunArgs *a, const ModelConfig *mc, const char *init_hash) {
    char mjson[2048];
    method_options_json(&a->mopt, mjson, sizeof mjson);
    char buf[2300];
    snprintf(buf, sizeof buf, "{%s}", mjson);
    json_t *mo = a->kind == RUN_FINETUNE ? json_loads(buf, 0, NULL) : json_null();
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:I, s:s, s:i, s:s}", "command",
                     a->kind == RUN_PRETRAIN ? "pretrain" : "finetune", "task", a->task, "method_options",
                     mo ? mo : json_null(), "method", a->method, "init", a->init ? a->init : "", "init_hash",
                     init_hash, "model", model_config_to_json(mc), "steps", a->steps, "batch", a->batch, "lr", a->lr,
                     "warmup", a->warmup, "seed", (json_int_t)a->seed, "eval_split", a->eval_split, "eval_limit",
                     a->eval_limit, "data", a->data);
}

/* The recipe around the method (docs/recipe.md): what the official code
 * fixes and a run may change, every key in every run's config. */
static void run_config_recipe(json_t *c, const RunArgs *a) {
    json_object_set_new(c, "clip", json_real(a->clip));
    json_object_set_new(c, "adamw", json_string(adamw_form_name(a->adamw)));
    json_object_set_new(c, "lr_schedule", json_string(train_lr_schedule_name(a->schedule)));
    json_object_set_new(c, "head_lr_mult", json_real(a->head_lr_mult));
    json_object_set_new(c, "dropout", json_real(a->dropout));
}

/* What only some runs set, added only when set, so other configs keep their
 * hash (run() adds data_hash, cli/run_inputs.h, likewise: for generated
 * data only). eval_every: a run with validation curves (the figures') is a
 * record of its own, not a repeat of the same run without them.
 * caption_objective: every caption run, the default included (a caption
 * config without it trained next-token, before masked was the default).
 * shortlist: a retrieval run whose evaluation re-ranks a first stage's lists. */
static void run_config_extras(json_t *c, const RunArgs *a) {
    if (a->eval_every > 0) json_object_set_new(c, "eval_every", json_integer(a->eval_every));
    if (a->objectives) json_object_set_new(c, "objectives", json_string(a->objectives));
    if (a->cells_first > 0) json_object_set_new(c, "cells_first", json_integer(a->cells_first));
    if (a->beam > 0) json_object_set_new(c, "beam", json_integer(a->beam));
    if (a->shortlist > 0) json_object_set_new(c, "shortlist", json_integer(a->shortlist));
    if (a->label_smoothing > 0) json_object_set_new(c, "label_smoothing", json_real(a->label_smoothing));
    if (!strcmp(a->task, "caption")) json_object_set_new(c, "caption_objective", json_string(a->caption_objective));
    if (a->reference) json_object_set_new(c, "reference", json_string(a->reference));
}

/* The rank budget of a low-rank method's update (its Eckart-Young floor),
 * 0 for the others: LoRA/DoRA r; MoIL's student update BlAl + (W0+BlAl)BaAa
 * has rank <= r_l + r_a. */
static int method_rank(const RunArgs *a) {
    if (!strcmp(a->method, "lora") || !strcmp(a->method, "dora")) return a->mopt.rank;
    if (!strcmp(a->method, "moil"))
        return (a->mopt.student != MOIL_STUDENT_ADAPTER ? a->mopt.rank_lora : 0) +
               (a->mopt.student != MOIL_STUDENT_LORA ? a->mopt.rank_adapter : 0);
    return 0;
}


/* Model config and vocabulary: from the init checkpoint, or new. */
static int backbone_source(const RunArgs *a, StFile *init, int *have_init, Tokenizer *tok, ModelConfig *mc,
                           char init_hash[RUN_HASH_LEN]) {
    if (!a->init) {
        if (data_vocab_build(tok, a->data, 1) != 0) return -1;
        if (model_config_default(mc, a->model, tok->n) != 0) return -1;
        snprintf(mc->stem, sizeof mc->stem, "%s", a->stem);
        if (a->d > 0) mc->dims.d = a->d;
        if (a->layers > 0) mc->dims.layers = a->layers;
        if (a->heads > 0) mc->dims.heads = a->heads;
        if (mc->dims.d % mc->dims.heads) return err_set("--d %d is not a multiple of --heads %d", mc->dims.d, mc->dims.heads);
        return model_config_prepare(mc, a->data, tok);
    }
    if (safetensors_open(a->init, init) != 0) return -1;
    *have_init = 1;
    int rc = run_checkpoint_model(init, mc, tok);
    if (rc == 0 && a->model_given && strcmp(mc->kind, a->model) != 0)
        rc = err_set("--model %s, but %s is a %s backbone", a->model, a->init, mc->kind);
    if (rc == 0) safetensors_weights_hash(init, init_hash);
    return rc;
}

void run_print_metrics(const MetricList *l) {
    for (int i = 0; i < l->n; i++) printf("%s=%.6g\n", l->name[i], l->value[i]);
}

static int run(RunArgs *a) {
    openblas_set_num_threads(a->threads);
    Tokenizer tok = {0};
    ModelConfig mc;
    StFile init = {0};
    RunBuild b = {0};
    WeightDistance wdist = {0};
    json_t *config = NULL;
    int have_init = 0, rc = -1;
    char init_hash[RUN_HASH_LEN] = RUN_INIT_RANDOM;
    const char *what = a->kind == RUN_PRETRAIN ? "pretrain" : "finetune";
    if (backbone_source(a, &init, &have_init, &tok, &mc, init_hash) != 0) goto done;
    TaskEnv env = run_build_env(a->data, &tok, &mc, a->batch, a->eval_limit);
    env.label_smoothing = (float)a->label_smoothing;
    env.beam = a->beam;
    env.shortlist = a->shortlist;
    env.caption_objective = caption_objective_parse(a->caption_objective);
    if (a->objectives) objectives_parse(a->objectives, &env.objectives);
    env.cells_first = a->cells_first;
    if (!a->quiet) fprintf(stderr, "%s: loading %s data from %s\n", what, a->task, a->data);
    a->mopt.total_steps = a->steps;
    Rng rng;
    if (run_build(&b, a->task, &env, a->eval_split, &mc, a->method, &a->mopt, a->seed, 0, &rng) != 0) goto done;
    Model *model = &b.model;
    Task *task = &b.task;
    Method *meth = &b.meth;
    /* backbone first, then the heads (which may read the checkpoint: the
     * retrieval head starts from ITM's match row), then the method (MoIL
     * copies the pretrained W0) */
    if (have_init && checkpoint_load_file(&init, &model->params, 1u << PARAM_GROUP_BACKBONE, 1) != 0) goto done;
    if (a->reference && wdist_init(&wdist, &model->bb, &model->params, a->reference) != 0) goto done;
    if (task->ops->init_heads(task, model, &rng, have_init ? &init : NULL) != 0 ||
        meth->ops->setup(meth, &model->bb, &model->params, &rng) != 0)
        goto done;
    if (a->eval_ckpt) {
        MetricList ml = {0};
        if (task->ops->evaluate(task, model, "val", &ml, NULL) != 0) goto done;
        printf("pretrain: grounding of %s on %d held-out pairs of %s\n", a->eval_ckpt, (int)task_metrics_get(&ml, "pairs"),
               a->data);
        run_print_metrics(&ml);
        rc = 0;
        goto done;
    }
    ParamAccount acc = method_account(meth, &model->params);
    char out_dir[1024];
    if (a->out) snprintf(out_dir, sizeof out_dir, "%s", a->out);
    else snprintf(out_dir, sizeof out_dir, "runs/%s-%s-s%ld", a->task, a->method, a->seed);
    if (dir_make(out_dir) != 0) goto done;
    char data_hash[RUN_HASH_LEN];
    if (run_data_hash(a->data, data_hash) != 0) goto done;
    if (a->head_lr_mult < 0) a->head_lr_mult = task->ops->head_lr_mult;
    config = run_config(a, &mc, init_hash);
    run_config_recipe(config, a);
    run_config_extras(config, a);
    if (*data_hash) json_object_set_new(config, "data_hash", json_string(data_hash));
    if (json_object_set_new(config, DB_CONFIG_NUMERIC_ENV, run_numeric_env(a->threads)) != 0) {
        err_set("the run's config: out of memory");
        goto done;
    }
    if (meth->ops->describe) {
        char d[480], desc[512];
        meth->ops->describe(meth, d, sizeof d);
        snprintf(desc, sizeof desc, "{%s}", d);
        json_t *dj = json_loads(desc, 0, NULL);
        if (dj) json_object_set_new(config, "method_effective", dj);
    }
    char hash[DB_HASH_LEN] = ""; /* the run's runs.config_hash, recorded in its checkpoint */
    db_config_hash(config, hash);
    Db *db = NULL;
    int64_t run_id = 0;
    if (!a->no_db) {
        int r = -1;
        if (db_open(a->db, &db) == 0) {
            db_runs_mark_stale(db, 0, NULL);
            RunInfo info = {a->table, a->task, mc.kind, a->method, a->seed, config, NULL, -1, a->threads,
                            (int64_t)acc.trainable, (int64_t)acc.stored, (int64_t)acc.backbone, a->force};
            r = db_run_begin(db, &info, &run_id);
        }
        if (r != 0) {
            if (r == 1) {
                printf("%s: this configuration already has run %lld in %s (--force redoes it)\nrun_id=%lld\nskipped=1\n",
                       what, (long long)run_id, a->db, (long long)run_id);
                rc = 0;
            }
            if (db) db_close(db);
            goto done;
        }
    }
    if (!a->quiet) {
        fprintf(stderr, "%s: %s / %s, %d steps of %d, trainable %.2f%% and stored %.2f%% of %zu backbone parameters\n",
                what, a->task, a->method, a->steps, a->batch, 100.0 * acc.trainable / acc.backbone,
                100.0 * acc.stored / acc.backbone, acc.backbone);
    }
    train_install_signal_handlers();
    RunSink run_sink;
    const TrainSink *sink = run_sink_init(&run_sink, db, run_id);
    if (a->reference && method_rank(a) > 0) {
        double floor = wdist_log_floor(&wdist, method_rank(a), sink);
        if (!a->quiet) fprintf(stderr, "%s: Eckart-Young floor of rank %d: %.4f of the full-tuning update\n", what,
                               method_rank(a), floor);
    }
    TrainConfig tc = {.steps = a->steps, .warmup_frac = (float)a->warmup, .lr = (float)a->lr, .weight_decay = 0.01f,
                      .clip = (float)a->clip, .dropout = (float)a->dropout, .adamw = a->adamw, .schedule = a->schedule,
                      .head_lr_mult = (float)a->head_lr_mult, .eval_every = a->eval_every, .log_every = 10, .eval_split = a->eval_split,
                      .out_dir = out_dir, .quiet = a->quiet, .wdist = a->reference ? &wdist : NULL,
                      .diag_every = a->diag_every > 0 ? a->diag_every : (a->steps >= 20 ? a->steps / 20 : 1)};
    TrainResult res;
    train_run(model, task, meth, &tc, &rng, sink, &res);
    DbStatus st = res.status == TRAIN_OK ? DB_OK : res.status == TRAIN_DIVERGED ? DB_DIVERGED
                : res.status == TRAIN_KILLED ? DB_KILLED : DB_FAILED;
    char ck[1100];
    snprintf(ck, sizeof ck, "%s/%s.safetensors", out_dir, a->kind == RUN_PRETRAIN ? "backbone" : "model");
    if (res.status == TRAIN_OK) {
        int saved = a->kind == RUN_PRETRAIN ? run_checkpoint_save_backbone(ck, model, &tok, hash)
                                            : run_checkpoint_save_finetuned(ck, model, &tok, task, meth, config, hash);
        if (saved != 0) {
            st = DB_FAILED;
            snprintf(res.error, sizeof res.error, "%s", err_msg());
        }
    }
    if (db) {
        db_metric_set(db, run_id, "train", "steps_done", res.steps_done);
        db_metric_set(db, run_id, "train", "seconds", res.seconds);
        db_metric_set(db, run_id, "train", "task_seconds", res.task_seconds);
        db_metric_set(db, run_id, "train", "method_seconds", res.method_seconds);
        db_metric_set(db, run_id, "train", "optimizer_seconds", res.optimizer_seconds);
        db_metric_set(db, run_id, "train", "eval_seconds", res.eval_seconds);
        if (db_run_end(db, run_id, st, res.error[0] ? res.error : NULL, res.seconds, db_peak_rss_bytes()) != 0)
            fprintf(stderr, "moil: %s\n", err_msg());
        db_close(db);
    }
    if (st != DB_OK) {
        err_set("run %s: %s", db_status_name(st), res.error);
        goto done;
    }
    printf("%s: %s / %s done in %.1fs; checkpoint %s\n", what, a->task, a->method, res.seconds, ck);
    printf("run_id=%lld\n", (long long)run_id);
    printf("params_trainable=%zu\nparams_stored=%zu\nparams_backbone=%zu\n", acc.trainable, acc.stored, acc.backbone);
    printf("trainable_pct=%.4f\nstored_pct=%.4f\n", 100.0 * acc.trainable / acc.backbone,
           100.0 * acc.stored / acc.backbone);
    printf("seconds=%.2f\n", res.seconds);
    run_print_metrics(&res.final);
    rc = 0;
done:
    json_decref(config);
    wdist_free(&wdist);
    run_build_free(&b);
    tokenizer_free(&tok);
    if (have_init) safetensors_close(&init);
    return rc;
}

int run_main(int argc, char **argv, RunKind kind) {
    const char *name = kind == RUN_PRETRAIN ? "pretrain" : "finetune";
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_usage(stdout, kind);
            return 0;
        }
    RunArgs a;
    if (parse_args(argc, argv, kind, &a) != 0) {
        fprintf(stderr, "moil %s: %s\n", name, err_msg());
        return 2;
    }
    if (run(&a) != 0) {
        fprintf(stderr, "moil %s: %s\n", name, err_msg());
        return 1;
    }
    return 0;
}
