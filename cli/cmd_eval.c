/* moil eval: evaluate a fine-tuned checkpoint (model.safetensors of moil
 * finetune) without training. The model, its heads and the method are
 * rebuilt from the checkpoint's metadata (run_checkpoint.h), every tensor
 * is read from the file (none keeps its initial value), no gradient or
 * optimiser block is allocated, and the method's variants are evaluated as
 * the end of its training run evaluated them, on the same batches: on the
 * same data the metrics are the training run's, to the last digit.
 * Predictions are written as moil finetune writes them; the evaluation is
 * logged as a run of its own (config command "eval"), which no table or
 * figure takes for a fine-tuning run. */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "db.h"
#include "io_checkpoint.h"
#include "io_json_read.h"
#include "run_build.h"
#include "run_checkpoint.h"
#include "run_common.h"
#include "run_inputs.h"
#include "run_numeric_env.h"
#include "run_sink.h"
#include "train.h"

static const char usage[] =
    "usage: moil eval --init MODEL.safetensors [--task T] [--data DIR] [--split S] [--out DIR]\n"
    "                 [--eval-limit N] [--db PATH | --no-db] [--threads N] [--quiet]\n"
    "\n"
    "Evaluates a fine-tuned checkpoint (the model.safetensors moil finetune writes, or\n"
    "a released ViLT model moil convert made) without training: model, trained heads\n"
    "and method come from the checkpoint and its metadata (docs/checkpoints.md),\n"
    "every variant of the method is evaluated (MoIL: student, EMA and online teacher;\n"
    "LoRA/DoRA: merged) as the end of its training run did, predictions are written\n"
    "in the task's format and the evaluation is logged as a run with command \"eval\".\n"
    "On the data it was trained on, it gives the metrics the training run recorded.\n"
    "Ends with name=value lines (the first variant's metrics, as moil finetune prints\n"
    "them).\n"
    "\n"
    "  --init MODEL     the fine-tuned checkpoint (required)\n"
    "  --task T         check that MODEL was fine-tuned for task T (default: its task)\n"
    "  --data DIR       dataset folder (default: the training run's; required for a model\n"
    "                   moil convert made, which records none)\n"
    "  --split S        split to evaluate (default: the training run's evaluation split)\n"
    "  --eval-limit N   evaluate the first N examples, 0 all (default: the training run's)\n"
    "  --out DIR        predictions_<split>_<variant>.* (default: <MODEL's folder>/eval-<split>)\n"
    "  --db PATH        results database (default " DB_DEFAULT_PATH "); --no-db: none\n"
    "  --threads N      OpenBLAS threads (default 1)\n"
    "  --quiet          no progress on stderr\n";

typedef struct {
    const char *init, *task, *data, *split, *out, *db;
    int eval_limit, threads, no_db, quiet;
} EvalArgs;

static int parse_args(int argc, char **argv, EvalArgs *a) {
    static const struct option longopts[] = {
        {"init", required_argument, 0, 'i'},       {"task", required_argument, 0, 't'},
        {"data", required_argument, 0, 'd'},       {"split", required_argument, 0, 's'},
        {"out", required_argument, 0, 'o'},        {"eval-limit", required_argument, 0, 'l'},
        {"db", required_argument, 0, 'b'},         {"no-db", no_argument, 0, 'n'},
        {"threads", required_argument, 0, 'j'},    {"quiet", no_argument, 0, 'q'},
        {0, 0, 0, 0}};
    *a = (EvalArgs){.db = DB_DEFAULT_PATH, .eval_limit = -1, .threads = 1};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': a->init = optarg; break;
        case 't': a->task = optarg; break;
        case 'd': a->data = optarg; break;
        case 's': a->split = optarg; break;
        case 'o': a->out = optarg; break;
        case 'l': a->eval_limit = atoi(optarg); break;
        case 'b': a->db = optarg; break;
        case 'n': a->no_db = 1; break;
        case 'j': a->threads = atoi(optarg); break;
        case 'q': a->quiet = 1; break;
        default: return err_set("bad option %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return err_set("unexpected argument '%s' (see --help)", argv[optind]);
    if (!a->init) return err_set("--init MODEL.safetensors is required (see --help)");
    if (a->threads < 1) return err_set("--threads %d: at least 1", a->threads);
    return 0;
}

/* How the training run evaluated, from its config: data, split, limit,
 * batch, caption beam and seed, each overridable by the command line. */
typedef struct {
    const char *data, *split;
    int64_t eval_limit, batch, beam, seed;
} EvalSetting;

static int eval_setting(const EvalArgs *a, const RunCheckpoint *c, EvalSetting *e) {
    char ctx[1100];
    snprintf(ctx, sizeof ctx, "%s: metadata 'run_config'", a->init);
    const json_t *rc = c->run_config;
    /* a converted model was trained on no data of ours: --data names it */
    if (!a->data && !json_object_get(rc, "data") && json_object_get(rc, "converted_from"))
        return err_set("%s was converted from a released checkpoint and records no data folder: give --data DIR",
                       a->init);
    if ((!a->data && json_need_str(rc, "data", ctx, &e->data) != 0) ||
        json_need_str(rc, "eval_split", ctx, &e->split) != 0 ||
        json_need_int(rc, "eval_limit", ctx, &e->eval_limit) != 0 || json_need_int(rc, "batch", ctx, &e->batch) != 0 ||
        json_need_int(rc, "seed", ctx, &e->seed) != 0)
        return -1;
    const json_t *beam = json_object_get(rc, "beam");
    e->beam = json_is_integer(beam) ? json_integer_value(beam) : 0;
    if (a->data) e->data = a->data;
    if (a->split) e->split = a->split;
    if (a->eval_limit >= 0) e->eval_limit = a->eval_limit;
    return 0;
}

/* Every tensor of the checkpoint is one of the model's, or one its head
 * layout lists as "unused" (a converted model keeps the released file's
 * other heads, so that converting it back gives that file). */
static int tensors_known(const RunCheckpoint *c, const Params *p) {
    const json_t *unused = json_object_get(c->head_layout, "unused");
    for (int i = 0; i < c->file.n_tensors; i++) {
        const char *name = c->file.tensors[i].name;
        size_t k = 0;
        if (params_find(p, name) >= 0) continue;
        for (const char *u; k < json_array_size(unused); k++)
            if ((u = json_string_value(json_array_get(unused, k))) && !strcmp(u, name)) break;
        if (k == json_array_size(unused))
            return err_set("%s: tensor '%s' is not a parameter of this model", c->file.path, name);
    }
    return 0;
}

/* The evaluation run's config in the results database. */
static json_t *eval_config(const EvalArgs *a, const RunCheckpoint *c, const EvalSetting *e, const char *init_hash,
                           const char *data_hash) {
    json_t *config = json_pack("{s:s, s:s, s:s, s:o, s:O, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "command", "eval",
                               "task", c->task, "method", c->method, "model", model_config_to_json(&c->mc),
                               "method_options", json_object_get(c->run_config, "method_options"), "init", a->init,
                               "init_hash", init_hash, "trained_config_hash", c->config_hash ? c->config_hash : "",
                               "eval_split", e->split, "eval_limit", (json_int_t)e->eval_limit, "batch",
                               (json_int_t)e->batch, "data", e->data, "seed", (json_int_t)e->seed);
    if (config && e->beam > 0) json_object_set_new(config, "beam", json_integer(e->beam));
    if (config && *data_hash) json_object_set_new(config, "data_hash", json_string(data_hash));
    if (config && json_object_set_new(config, DB_CONFIG_NUMERIC_ENV, run_numeric_env(a->threads)) != 0) {
        json_decref(config);
        return NULL;
    }
    return config;
}

/* The pretrained checkpoint the run started from (its config's "init"),
 * opened into *f when its file is still there with the hash the run
 * recorded: 1; else 0 (a task that needs it says so: retrieval's first
 * stage). The hash is the weights hash (cli/run_inputs.h); a run made
 * before it was recorded the file's byte hash, also accepted. */
static int run_backbone_open(const RunCheckpoint *c, StFile *f) {
    const char *path = json_string_value(json_object_get(c->run_config, "init"));
    const char *hash = json_string_value(json_object_get(c->run_config, "init_hash"));
    char weights[RUN_HASH_LEN], bytes[RUN_HASH_LEN];
    if (!path || !*path || !hash || safetensors_open(path, f) != 0) {
        err_clear();
        return 0;
    }
    safetensors_weights_hash(f, weights);
    if (strcmp(weights, hash) == 0 || (file_hash_fnv1a(path, bytes) == 0 && strcmp(bytes, hash) == 0)) return 1;
    err_clear();
    safetensors_close(f);
    return 0;
}

/* <folder of init>/eval-<split> */
static void default_out(const char *init, const char *split, char *out, size_t n) {
    const char *slash = strrchr(init, '/');
    if (slash) snprintf(out, n, "%.*s/eval-%s", (int)(slash - init), init, split);
    else snprintf(out, n, "eval-%s", split);
}

static int eval_run(const EvalArgs *a) {
    openblas_set_num_threads(a->threads);
    RunCheckpoint c;
    RunBuild b = {0};
    StFile backbone = {0};
    int have_backbone = 0;
    Db *db = NULL;
    json_t *config = NULL;
    int rc = -1;
    EvalSetting e;
    if (run_checkpoint_open(a->init, &c) != 0 || eval_setting(a, &c, &e) != 0) goto done;
    if (a->task && strcmp(a->task, c.task) != 0) {
        err_set("--task %s, but %s was fine-tuned for %s", a->task, a->init, c.task);
        goto done;
    }
    TaskEnv env = run_build_env(e.data, &c.tok, &c.mc, (int)e.batch, (int)e.eval_limit);
    env.beam = (int)e.beam;
    env.head_layout = c.head_layout;
    have_backbone = run_backbone_open(&c, &backbone);
    env.pretrained = have_backbone ? &backbone : NULL;
    if (!a->quiet) fprintf(stderr, "eval: loading %s data (%s) from %s\n", c.task, e.split, e.data);
    Rng rng;
    if (run_build(&b, c.task, &env, e.split, &c.mc, c.method, &c.mopt, e.seed, 1, &rng) != 0) goto done;
    Model *model = &b.model;
    /* the heads and the method prepare as for training (the heads see the
     * checkpoint: retrieval checks it has what its scoring reads); then
     * every tensor, theirs included, is the checkpoint's, and nothing
     * trains. The pretraining group (retrieval's ITC projections) is read
     * when the file has it: only dual-encoder scoring uses it. */
    if (b.task.ops->init_heads(&b.task, model, &rng, &c.file) != 0 ||
        b.meth.ops->setup(&b.meth, &model->bb, &model->params, &rng) != 0)
        goto done;
    ParamAccount acc = method_account(&b.meth, &model->params);
    if (tensors_known(&c, &model->params) != 0 ||
        checkpoint_load_file(&c.file, &model->params, ~(1u << PARAM_GROUP_PRETRAIN), 1) != 0)
        goto done;
    for (int g = 0; g < PARAM_GROUP_COUNT; g++) params_set_trainable_group(&model->params, (ParamGroup)g, 0);
    char out_dir[1100], init_hash[RUN_HASH_LEN], data_hash[RUN_HASH_LEN];
    if (a->out) snprintf(out_dir, sizeof out_dir, "%s", a->out);
    else default_out(a->init, e.split, out_dir, sizeof out_dir);
    safetensors_weights_hash(&c.file, init_hash);
    if (dir_make(out_dir) != 0 || run_data_hash(e.data, data_hash) != 0) goto done;
    int64_t run_id = 0;
    if (!a->no_db) {
        config = eval_config(a, &c, &e, init_hash, data_hash);
        RunInfo info = {NULL, c.task, c.mc.kind, c.method, e.seed, config, NULL, -1, a->threads,
                        (int64_t)acc.trainable, (int64_t)acc.stored, (int64_t)acc.backbone, 1};
        if (!config) {
            err_set("cannot build the evaluation's config");
            goto done;
        }
        if (db_open(a->db, &db) != 0 || db_run_begin(db, &info, &run_id) != 0) goto done;
    }
    train_install_signal_handlers();
    RunSink run_sink;
    MetricList first = {0};
    double t0 = time_now_s();
    int ev = train_evaluate(model, &b.task, &b.meth, e.split, out_dir, a->quiet, run_sink_init(&run_sink, db, run_id),
                            &first);
    double seconds = time_now_s() - t0;
    if (db) {
        DbStatus st = ev == 0 ? DB_OK : interrupt_pending() ? DB_KILLED : DB_FAILED;
        char error[1024];
        snprintf(error, sizeof error, "%s", err_msg());
        if (db_run_end(db, run_id, st, ev == 0 ? NULL : error, seconds, db_peak_rss_bytes()) != 0)
            fprintf(stderr, "moil: %s\n", err_msg());
        if (ev != 0) err_set("%s", error);
    }
    if (ev != 0) goto done;
    printf("eval: %s / %s of %s on %s of %s done in %.1fs; predictions in %s\n", c.task, c.method, a->init, e.split,
           e.data, seconds, out_dir);
    if (db) printf("run_id=%lld\n", (long long)run_id);
    printf("seconds=%.2f\n", seconds);
    run_print_metrics(&first);
    rc = 0;
done:
    if (db && db_close(db) != 0 && rc == 0) rc = -1;
    json_decref(config);
    run_build_free(&b);
    if (have_backbone) safetensors_close(&backbone);
    run_checkpoint_close(&c);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    EvalArgs a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "moil eval: %s\n", err_msg());
        return 2;
    }
    if (eval_run(&a) != 0) {
        fprintf(stderr, "moil eval: %s\n", err_msg());
        return 1;
    }
    return 0;
}
