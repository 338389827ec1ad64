/* moil bench-infer: the inference cost of each adaptation method, measured in
 * one run: per method, the time of an evaluation pass over the validation
 * split per example, as trained (the method's hooks: LoRA/DoRA branches,
 * adapters, prompt tokens) and merged (the update folded into plain weights,
 * for methods that can merge). Logged as one run of table "inference"
 * (method "all") with metrics split "infer", names
 * <method>/<form>/ms_per_example (form as_trained or merged). */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "commands.h"
#include "db.h"
#include "io_checkpoint.h"
#include "method.h"
#include "model.h"
#include "run_build.h"
#include "run_checkpoint.h"

static const char usage[] =
    "usage: moil bench-infer --init CKPT [--task T] [--methods LIST] [--eval-limit N]\n"
    "                        [--repeats R] [--data DIR] [--db PATH | --no-db] [--threads N]\n"
    "\n"
    "Times inference of each method on the validation split of a task, from one\n"
    "backbone with freshly initialised method tensors (the cost does not depend\n"
    "on their values): per example, the fastest of R evaluation passes, as\n"
    "trained (hooks attached) and, for methods that merge (LoRA, DoRA, MoIL),\n"
    "merged into plain weights. Logs one run (table_id inference, method all)\n"
    "with metrics split infer, <method>/<form>/ms_per_example; figure 5 of\n"
    "scripts/figures.sh reads the latest. Ends with name=value lines.\n"
    "\n"
    "  --init CKPT      pretrained backbone (backbone.safetensors of moil pretrain)\n"
    "  --task T         vqa (default) or nlvr\n"
    "  --methods LIST   comma-separated (default full,prompt,adapter,lora,dora,moil)\n"
    "  --eval-limit N   validation examples per pass (default 200)\n"
    "  --repeats R      passes per form, the fastest counts (default 3)\n"
    "  --data DIR       dataset folder (default datasets/data/quick)\n"
    "  --db PATH        results database (default results/moil.db); --no-db: none\n"
    "  --threads N      OpenBLAS threads (default 1)\n";

typedef struct {
    const char *init, *task, *methods, *data, *db;
    int eval_limit, repeats, threads, no_db;
} BenchArgs;

typedef struct {
    double as_trained_ms, merged_ms; /* per example; merged < 0: cannot merge */
    int examples;
} BenchResult;

/* Examples an evaluation covered (the task's count metric). */
static int examples_of(const MetricList *ml) {
    double n = task_metrics_get(ml, "questions");
    if (n != n) n = task_metrics_get(ml, "examples");
    return n == n ? (int)n : 0;
}

/* The fastest of a->repeats evaluation passes, in ms per example. */
static int time_eval(Task *t, Model *m, const BenchArgs *a, double *ms, int *examples) {
    *ms = -1;
    for (int r = 0; r < a->repeats; r++) {
        MetricList ml = {0};
        double t0 = time_now_s();
        if (t->ops->evaluate(t, m, "val", &ml, NULL) != 0) return -1;
        double dt = time_now_s() - t0;
        *examples = examples_of(&ml);
        if (*examples <= 0) return err_set("%s: evaluation of task %s reports no example count", a->data, a->task);
        double per = 1000.0 * dt / *examples;
        if (*ms < 0 || per < *ms) *ms = per;
    }
    return 0;
}

/* Build the model with one method on the backbone and time its forms. */
static int bench_method(const BenchArgs *a, const char *name, const StFile *init, const Tokenizer *tok,
                        const ModelConfig *mc, BenchResult *res) {
    TaskEnv env = run_build_env(a->data, tok, mc, 32, a->eval_limit);
    MethodOptions opt = method_options_default();
    opt.total_steps = 1;
    RunBuild b;
    Rng rng;
    int rc = run_build(&b, a->task, &env, "val", mc, name, &opt, 0, 0, &rng);
    if (rc == 0) rc = checkpoint_load_file(init, &b.model.params, 1u << PARAM_GROUP_BACKBONE, 1);
    if (rc == 0) rc = b.task.ops->init_heads(&b.task, &b.model, &rng, init);
    if (rc == 0) rc = b.meth.ops->setup(&b.meth, &b.model.bb, &b.model.params, &rng);
    if (rc == 0) rc = time_eval(&b.task, &b.model, a, &res->as_trained_ms, &res->examples);
    res->merged_ms = -1;
    if (rc == 0 && b.meth.ops->n_variants) {
        b.meth.ops->apply_variant(&b.meth, &b.model.bb, &b.model.params, 0);
        rc = time_eval(&b.task, &b.model, a, &res->merged_ms, &res->examples);
        b.meth.ops->restore(&b.meth, &b.model.bb, &b.model.params);
    }
    run_build_free(&b);
    return rc;
}

/* Model config and vocabulary of the backbone checkpoint. */
static int backbone_read(const char *path, StFile *init, Tokenizer *tok, ModelConfig *mc) {
    return safetensors_open(path, init) == 0 ? run_checkpoint_model(init, mc, tok) : -1;
}

static int parse_args(int argc, char **argv, BenchArgs *a) {
    static const struct option longopts[] = {
        {"init", required_argument, 0, 'i'},    {"task", required_argument, 0, 't'},
        {"methods", required_argument, 0, 'm'}, {"eval-limit", required_argument, 0, 'l'},
        {"repeats", required_argument, 0, 'r'}, {"data", required_argument, 0, 'd'},
        {"db", required_argument, 0, 'b'},      {"no-db", no_argument, 0, 'n'},
        {"threads", required_argument, 0, 'j'}, {0, 0, 0, 0}};
    *a = (BenchArgs){.task = "vqa", .methods = "full,prompt,adapter,lora,dora,moil",
                     .data = "datasets/data/quick", .db = DB_DEFAULT_PATH, .eval_limit = 200, .repeats = 3,
                     .threads = 1};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': a->init = optarg; break;
        case 't': a->task = optarg; break;
        case 'm': a->methods = optarg; break;
        case 'l': a->eval_limit = atoi(optarg); break;
        case 'r': a->repeats = atoi(optarg); break;
        case 'd': a->data = optarg; break;
        case 'b': a->db = optarg; break;
        case 'n': a->no_db = 1; break;
        case 'j': a->threads = atoi(optarg); break;
        default: return err_set("bench-infer: bad option (see --help)");
        }
    }
    if (optind < argc) return err_set("bench-infer: unexpected argument '%s' (see --help)", argv[optind]);
    if (!a->init) return err_set("bench-infer: --init CKPT is required (see --help)");
    if (strcmp(a->task, "vqa") && strcmp(a->task, "nlvr"))
        return err_set("bench-infer: --task %s: only vqa and nlvr are timed", a->task);
    if (a->eval_limit < 1 || a->repeats < 1 || a->threads < 1)
        return err_set("bench-infer: --eval-limit, --repeats and --threads must be at least 1");
    return 0;
}

static json_t *bench_config(const BenchArgs *a) {
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "command", "bench-infer", "init", a->init, "task",
                     a->task, "methods", a->methods, "eval_limit", a->eval_limit, "repeats", a->repeats, "data",
                     a->data);
}

/* Time every method of the list, logging each to db (may be NULL). */
static int bench_all(const BenchArgs *a, const StFile *init, const Tokenizer *tok, const ModelConfig *mc, Db *db,
                     int64_t run_id) {
    char *list = xstrdup(a->methods), *save = NULL;
    int rc = 0;
    for (char *name = strtok_r(list, ",", &save); name && rc == 0; name = strtok_r(NULL, ",", &save)) {
        BenchResult res;
        fprintf(stderr, "bench-infer: %s ...\n", name);
        rc = bench_method(a, name, init, tok, mc, &res);
        if (rc != 0) break;
        const char *forms[2] = {"as_trained", "merged"};
        double ms[2] = {res.as_trained_ms, res.merged_ms};
        for (int f = 0; f < 2; f++) {
            if (ms[f] < 0) continue;
            char key[96];
            snprintf(key, sizeof key, "%s/%s/ms_per_example", name, forms[f]);
            printf("%s=%.6g\n", key, ms[f]);
            if (db && db_metric_set(db, run_id, "infer", key, ms[f]) != 0) rc = -1;
        }
        if (db && rc == 0) rc = db_metric_set(db, run_id, "infer", "examples", res.examples);
    }
    free(list);
    return rc;
}

int cmd_bench_infer(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    BenchArgs a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "moil: %s\n", err_msg());
        return 2;
    }
    openblas_set_num_threads(a.threads);
    StFile init = {0};
    Tokenizer tok = {0};
    ModelConfig mc;
    Db *db = NULL;
    int64_t run_id = 0;
    double t0 = time_now_s();
    int rc = backbone_read(a.init, &init, &tok, &mc);
    if (rc == 0 && !a.no_db) {
        json_t *config = bench_config(&a);
        RunInfo info = {"inference", a.task, mc.kind, "all", 0, config, NULL, -1, a.threads, -1, -1, -1, 1};
        rc = db_open(a.db, &db);
        if (rc == 0) rc = db_run_begin(db, &info, &run_id) == 0 ? 0 : -1;
        json_decref(config);
    }
    if (rc == 0) rc = bench_all(&a, &init, &tok, &mc, db, run_id);
    if (db && run_id > 0) {
        if (db_run_end(db, run_id, rc == 0 ? DB_OK : DB_FAILED, rc == 0 ? NULL : err_msg(), time_now_s() - t0,
                       db_peak_rss_bytes()) != 0)
            rc = -1;
        if (rc == 0) printf("run_id=%lld\n", (long long)run_id);
    }
    if (db_close(db) != 0) rc = -1;
    if (rc != 0) fprintf(stderr, "moil: %s\n", err_msg());
    tokenizer_free(&tok);
    safetensors_close(&init);
    return rc == 0 ? 0 : 1;
}
