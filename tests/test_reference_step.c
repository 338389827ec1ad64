/* The reference test of the training step (docs/testing.md, "The reference
 * test"). For every method, a tiny ViLT-style model with ViLT's VQA head
 * (Linear-LN-GELU-Linear, BCE on soft targets) trains REF_STEPS optimiser
 * steps through train_run itself on one fixed batch, with the official
 * recipe's options named: the task loss, the method's extra loss, no
 * clipping, no dropout, ViLT's warmup and decay, transformers' AdamW, the
 * head's learning-rate multiplier, the method's before_step; then the final
 * evaluation, which applies every variant of the method in turn (folded
 * LoRA / DoRA; MoIL's student, EMA and online teachers). The weights and the
 * batch before training and the weights of every variant after it go to
 * safetensors files in a scratch folder (kept with REF_KEEP=1);
 * tests/reference_step.py replays the same steps in PyTorch (float64),
 * written from the official definitions of the methods and of the
 * optimiser, and compares every tensor to a relative 1e-5 (L2 over the
 * tensor). Skipped with a message where /usr/bin/python3 cannot import torch
 * (Debian's python3-torch; `make deps` installs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_checkpoint.h"
#include "method.h"
#include "model.h"
#include "nn_head_mlp.h"
#include "ops.h"
#include "proc.h"
#include "test.h"
#include "train.h"

/* The tiny model and batch: d = 32, 2 layers, 2 heads, 16x16 images in 8x8
 * patches, 6 text tokens, a 5-answer VQA head, 3 sequences. */
enum { REF_VOCAB = 20, REF_D = 32, REF_LAYERS = 2, REF_HEADS = 2, REF_PATCH = 8, REF_IMAGE = 16, REF_TEXT = 6 };
enum { REF_ANSWERS = 5, REF_BATCH = 3, REF_STEPS = 6 };
/* the first 2 of the 6 steps warm up (step s at peak s / 2: the first at 0) */
#define REF_WARMUP_FRAC 0.34f
/* normal noise added to every backbone and head tensor before the method's
 * setup, so that biases and LayerNorms are not at their 0 / 1 init and the
 * attention is not uniform */
#define REF_SPREAD 0.05f
/* The task loss (ViLT's BCE times the answers) is scaled by this, so that
 * gradients sit at 1e-7..1e-5, above AdamW's eps (1e-8) but not far: AdamW
 * turns the float32 rounding r of a gradient element near eps into a step
 * error of up to lr r / eps, and r grows with the gradients' size. Measured
 * at scale 1: the engine's worst tensor 1.5e-5 from the float64 reference,
 * PyTorch's own float32 replay 7.4e-6; at 1e-3 both below 3e-6
 * (docs/testing.md, "The reference test"). */
#define REF_LOSS_SCALE 1e-3f

typedef struct {
    const char *label;   /* the case's name, also its files' */
    const char *method;
    const char *options; /* method options, as on the command line */
    float lr;            /* peak learning rate */
    float head_lr_mult;  /* the VQA head's learning-rate multiplier (ViLT: 10) */
    LrSchedule schedule; /* ViLT's, or the shifted warmup */
} RefCase;

/* MoIL imitates the EMA through the difference W_ema - W_hat of two nearly
 * equal float32 matrices, so its cases train where that difference stays
 * large against float32 rounding: a 10x learning rate (the head at 1x, so
 * that its steps stay those of the other cases), momentum 0.6, imitation
 * scale 0.01 (the student's steps near eps, where it lags the EMA instead of
 * overshooting it), and q, v only: k's bias has no gradient (a shift of
 * every key of a query, which the softmax ignores), so in float32 it walks
 * by rounding, and the student would imitate that walk. */
static const RefCase ref_cases[] = {
    {"full", "full", "", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"heads", "heads", "", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"bitfit", "bitfit", "", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"bitfit_norms", "bitfit", "--bitfit-norms", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"lora", "lora", "--rank 4 --alpha 8", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"lora_rs_plus", "lora", "--rank 4 --alpha 4 --rslora --lora-plus 4 --targets q,v,fc1", 1e-3f, 10.0f,
     LR_SCHEDULE_VILT},
    {"dora", "dora", "--rank 4 --alpha 8", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"adapter", "adapter", "--adapter-reduction 4", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"prompt", "prompt", "--prompt-len 3", 1e-3f, 10.0f, LR_SCHEDULE_VILT},
    {"moil", "moil", "--rank-lora 4 --rank-adapter 4 --momentum 0.6 --imitation-scale 0.01 --targets q,v", 1e-2f,
     1.0f, LR_SCHEDULE_VILT},
    {"moil_lora_student", "moil", "--student lora --rank-lora 4 --momentum 0.6 --imitation-scale 0.01 --targets q,v",
     1e-2f, 1.0f, LR_SCHEDULE_VILT},
    {"moil_adapter_student", "moil",
     "--student adapter --rank-adapter 4 --momentum 0.6 --imitation-scale 0.01 --targets q,v", 1e-2f, 1.0f,
     LR_SCHEDULE_VILT},
    /* the first step at a learning rate above 0, so that the EMA update at
     * the start of the second step is not a no-op: pins when it happens */
    {"moil_shifted", "moil", "--rank-lora 4 --rank-adapter 4 --momentum 0.6 --imitation-scale 0.01 --targets q,v",
     1e-2f, 1.0f, LR_SCHEDULE_SHIFTED},
};
#define N_REF_CASES ((int)(sizeof ref_cases / sizeof ref_cases[0]))

static char tmp_dir[] = "/tmp/moil_refstep_XXXXXX";

/* The task train_run drives: the fixed batch through the model and the VQA
 * head; evaluate writes the weights of the variant applied. */
typedef struct {
    HeadMlp head;
    const Method *meth;   /* names the variant each evaluate call sees */
    const char *label;
    int evaluated;        /* evaluate calls so far: the next one's variant */
    int *ids, *mask;      /* [B,Tt] */
    float *images;        /* [B,3,S,S] in [-1,1] */
    float *targets;       /* [B,V] soft targets */
    float *dlogits;       /* [B,V] */
    float *dpooled;       /* [B,d] */
} RefTask;

static ModelInput ref_input(const RefTask *s) {
    return (ModelInput){.B = REF_BATCH, .text_ids = s->ids, .text_mask = s->mask, .images = s->images,
                        .attn_mode = ATTN_FULL};
}

static double ref_train_step(Task *t, Model *m, Rng *rng) {
    RefTask *s = t->state;
    ModelInput in = ref_input(s);
    if (model_forward(m, &in) != 0) return NAN;
    head_mlp_forward(&s->head, &m->params, m->pooled, REF_BATCH);
    size_t n = (size_t)REF_BATCH * REF_ANSWERS;
    double loss = bce_forward(s->head.logits, s->targets, n, REF_ANSWERS * REF_LOSS_SCALE);
    memset(s->dlogits, 0, n * sizeof(float));
    bce_backward(s->dlogits, s->head.logits, s->targets, n, REF_ANSWERS * REF_LOSS_SCALE);
    memset(s->dpooled, 0, sizeof(float) * REF_BATCH * m->d);
    head_mlp_backward(&s->head, &m->params, s->dpooled, s->dlogits, m->pooled, REF_BATCH);
    model_backward(m, &in, NULL, s->dpooled);
    return loss;
}

static const char *ref_path(const char *label, const char *what) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.%s.safetensors", tmp_dir, label, what);
    return path;
}

static int ref_evaluate(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    RefTask *s = t->state;
    const char *variant = method_variant_name(s->meth, s->evaluated++);
    return checkpoint_save(ref_path(s->label, variant), &m->params, ~0u, NULL, 0);
}

static const TaskOps ref_task_ops = {
    .name = "reference",
    .summary = "one fixed batch through ViLT's VQA head (the reference test)",
    .primary_metric = "none",
    .train_step = ref_train_step,
    .evaluate = ref_evaluate,
};

/* Options "--name value --flag ..." into o. */
static int ref_parse_options(const char *text, MethodOptions *o) {
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (strncmp(w, "--", 2) != 0) return err_set("option '%s' does not start with --", w);
        const char *name = w + 2, *value = method_option_is_flag(name) ? "" : strtok_r(NULL, " ", &save);
        if (!value) return err_set("--%s needs a value", name);
        if (method_option_parse(o, name, value) != 1) return err_set("--%s %s: %s", name, value, err_msg());
    }
    return 0;
}

/* The case's configuration as the JSON the Python side reads. */
static void ref_config_json(const RefCase *c, const Model *m, const Method *meth, const TrainConfig *tc, char *buf,
                            size_t n) {
    char opts[1024], desc[256] = "", names[4096] = "", variants[128] = "";
    method_options_json(&meth->opt, opts, sizeof opts);
    if (meth->ops->describe) meth->ops->describe(meth, desc, sizeof desc);
    size_t k = 0;
    for (int i = 0; i < m->params.n; i++)
        if (m->params.info[i].trainable)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s\"%s\"", k ? "," : "", m->params.info[i].name);
    for (int v = 0, j = 0; v < method_n_variants(meth); v++)
        j += snprintf(variants + j, sizeof variants - j, "%s\"%s\"", v ? "," : "", method_variant_name(meth, v));
    const ModelDims *d = &m->cfg.dims;
    snprintf(buf, n,
             "{\"label\":\"%s\",\"method\":\"%s\",\"options\":{%s},\"describe\":{%s},"
             "\"model\":{\"vocab\":%d,\"d\":%d,\"layers\":%d,\"heads\":%d,\"mlp_ratio\":%d,\"patch\":%d,"
             "\"image_size\":%d,\"max_text\":%d,\"n_types\":%d},\"answers\":%d,"
             "\"steps\":%d,\"warmup\":%d,\"schedule\":\"%s\",\"adamw\":\"%s\",\"lr\":%.9g,"
             "\"weight_decay\":%.9g,\"clip\":%g,\"dropout\":%g,\"head_lr_mult\":%.9g,\"loss_scale\":%.9g,"
             "\"trainable\":[%s],\"variants\":[%s]}",
             c->label, c->method, opts, desc, d->vocab, d->d, d->layers, d->heads, d->mlp_ratio, d->patch,
             d->image_size, d->max_text, d->n_types, REF_ANSWERS, tc->steps, (int)(tc->warmup_frac * tc->steps),
             train_lr_schedule_name(tc->schedule), adamw_form_name(tc->adamw), tc->lr, tc->weight_decay, tc->clip,
             tc->dropout, tc->head_lr_mult, REF_LOSS_SCALE, names, variants);
}

/* The weights of every entry and the batch, with the configuration as
 * metadata "config", into <label>.init.safetensors. */
static int ref_write_init(const RefCase *c, const Model *m, const RefTask *s, const char *config) {
    const Params *p = &m->params;
    int n = p->n + 4;
    StTensor *t = xcalloc(n, sizeof *t);
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        t[i] = (StTensor){.name = e->name, .dtype = ST_F32, .ndim = e->ndim, .data = params_data(p, i)};
        for (int k = 0; k < e->ndim; k++) t[i].shape[k] = e->shape[k];
    }
    t[p->n] = (StTensor){"batch.text_ids", ST_I32, 2, {REF_BATCH, REF_TEXT}, s->ids};
    t[p->n + 1] = (StTensor){"batch.text_mask", ST_I32, 2, {REF_BATCH, REF_TEXT}, s->mask};
    t[p->n + 2] = (StTensor){"batch.images", ST_F32, 4, {REF_BATCH, 3, REF_IMAGE, REF_IMAGE}, s->images};
    t[p->n + 3] = (StTensor){"batch.targets", ST_F32, 2, {REF_BATCH, REF_ANSWERS}, s->targets};
    StMeta meta = {"config", config};
    int rc = safetensors_write(ref_path(c->label, "init"), t, n, &meta, 1);
    free(t);
    return rc;
}

/* The batch: 2..Tt real tokens per sequence, then padding; pixels uniform
 * in [-1, 1]; each answer's soft target one of ViLT's 0, .3, .6, .9, 1. */
static void ref_batch(RefTask *s, Rng *rng) {
    static const float soft[] = {0.0f, 0.3f, 0.6f, 0.9f, 1.0f};
    for (int b = 0; b < REF_BATCH; b++) {
        int len = 2 + (int)rng_below(rng, REF_TEXT - 1);
        for (int t = 0; t < REF_TEXT; t++) {
            s->ids[b * REF_TEXT + t] = t < len ? (int)rng_below(rng, REF_VOCAB) : 0;
            s->mask[b * REF_TEXT + t] = t < len;
        }
        for (int a = 0; a < REF_ANSWERS; a++) s->targets[b * REF_ANSWERS + a] = soft[rng_below(rng, 5)];
    }
    rng_fill_uniform(rng, s->images, (long)REF_BATCH * 3 * REF_IMAGE * REF_IMAGE, -1, 1);
}

/* Build the case's model, head, method and batch, write them, train
 * through train_run (whose final evaluation writes every variant). */
static void ref_case_train(const RefCase *c) {
    ModelConfig mc;
    CHECK(model_config_default(&mc, "vilt", REF_VOCAB) == 0, "%s", err_msg());
    mc.dims.d = REF_D, mc.dims.layers = REF_LAYERS, mc.dims.heads = REF_HEADS, mc.dims.mlp_ratio = 4;
    mc.dims.patch = REF_PATCH, mc.dims.image_size = REF_IMAGE, mc.dims.max_text = REF_TEXT;
    Model m;
    Method meth = {0};
    RefTask s = {.label = c->label, .meth = &meth};
    MethodOptions o = method_options_default();
    if (ref_parse_options(c->options, &o) != 0 || model_create(&m, &mc) != 0) {
        CHECK(0, "%s: %s", c->label, err_msg());
        return;
    }
    head_mlp_register(&s.head, &m.params, "vqa_classifier", REF_D, 2 * REF_D, REF_ANSWERS);
    int ok = method_create(&meth, c->method, &o) == 0 &&
             (!meth.ops->add_params || meth.ops->add_params(&meth, &m.bb, &m.params) == 0);
    Rng rng;
    rng_seed(&rng, 19);
    if (ok) {
        model_finish(&m, REF_BATCH, &rng);
        head_mlp_init(&s.head, &m.params, &rng, REF_BATCH);
        for (int i = 0; i < m.params.n; i++) {
            ParamInfo *e = &m.params.info[i];
            if (e->group == PARAM_GROUP_METHOD) continue;
            float *x = params_data(&m.params, i);
            for (size_t k = 0; k < e->size; k++) x[k] += REF_SPREAD * rng_normal(&rng);
        }
        ok = meth.ops->setup(&meth, &m.bb, &m.params, &rng) == 0;
    }
    CHECK(ok, "%s: %s", c->label, err_msg());
    s.ids = xcalloc(REF_BATCH * REF_TEXT, sizeof(int));
    s.mask = xcalloc(REF_BATCH * REF_TEXT, sizeof(int));
    s.images = xcalloc((size_t)REF_BATCH * 3 * REF_IMAGE * REF_IMAGE, sizeof(float));
    s.targets = xcalloc(REF_BATCH * REF_ANSWERS, sizeof(float));
    s.dlogits = xcalloc(REF_BATCH * REF_ANSWERS, sizeof(float));
    s.dpooled = xcalloc(REF_BATCH * REF_D, sizeof(float));
    ref_batch(&s, &rng);
    /* the official recipe, named, but dropout (the reference cannot draw
     * the engine's masks) */
    TrainConfig tc = {.steps = REF_STEPS, .warmup_frac = REF_WARMUP_FRAC, .lr = c->lr, .weight_decay = 0.01f,
                      .clip = 0.0f, .dropout = 0.0f, .adamw = ADAMW_TRANSFORMERS, .schedule = c->schedule,
                      .head_lr_mult = c->head_lr_mult, .log_every = REF_STEPS, .eval_split = "test", .quiet = 1};
    char config[8192];
    if (ok) {
        ref_config_json(c, &m, &meth, &tc, config, sizeof config);
        CHECK(ref_write_init(c, &m, &s, config) == 0, "%s: %s", c->label, err_msg());
        Task task = {.ops = &ref_task_ops, .state = &s};
        TrainResult res;
        train_run(&m, &task, &meth, &tc, &rng, NULL, &res);
        CHECK(res.status == TRAIN_OK && res.steps_done == REF_STEPS, "%s: status %d after %d steps: %s", c->label,
              res.status, res.steps_done, res.error);
        CHECK(s.evaluated == method_n_variants(&meth), "%s: %d variants written, %d expected", c->label, s.evaluated,
              method_n_variants(&meth));
    }
    free(s.ids), free(s.mask), free(s.images), free(s.targets), free(s.dlogits), free(s.dpooled);
    head_mlp_free(&s.head);
    method_destroy(&meth);
    model_free(&m);
}

/* Whether tests/reference_step.py's line for label ("case <label> ...")
 * ends in ": ok"; the line (up to 300 characters) into line. */
static int ref_passed(const char *out, const char *label, char *line, size_t n) {
    char key[96];
    snprintf(key, sizeof key, "case %s ", label);
    const char *p = out;
    while ((p = strstr(p, key)) && p != out && p[-1] != '\n') p++;
    snprintf(line, n, "%s", p ? "" : "no line for this case from reference_step.py");
    if (!p) return 0;
    size_t len = strcspn(p, "\n");
    snprintf(line, n, "%.*s", (int)(len < n - 1 ? len : n - 1), p);
    return len >= 4 && !strncmp(p + len - 4, ": ok", 4);
}

int main(void) {
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("skipped: /usr/bin/python3 cannot import torch (Debian python3-torch: `make deps` installs it); "
               "the reference test of the training step needs it\n");
        return 0;
    }
    if (!mkdtemp(tmp_dir)) die("mkdtemp %s failed", tmp_dir);
    int engine_failed[N_REF_CASES];
    for (int i = 0; i < N_REF_CASES; i++) {
        test_case_failed = 0;
        ref_case_train(&ref_cases[i]);
        engine_failed[i] = test_case_failed;
    }
    /* the script beside this file (make test runs from the top folder) */
    const char *src = __FILE__, *slash = strrchr(src, '/');
    char *out = NULL;
    int rc = proc_run(&out, "/usr/bin/python3 '%.*sreference_step.py' '%s'", slash ? (int)(slash + 1 - src) : 0, src,
                      tmp_dir);
    printf("%s", out);
    for (int i = 0; i < N_REF_CASES; i++) {
        test_case_failed = engine_failed[i];
        char line[300];
        CHECK(ref_passed(out, ref_cases[i].label, line, sizeof line), "%s", line);
        printf("%s reference_step_%s\n", test_case_failed ? "not ok" : "ok", ref_cases[i].label);
        test_cases_failed += test_case_failed, test_cases_passed += !test_case_failed;
    }
    CHECK(rc == 0, "reference_step.py exited with %d", rc);
    free(out);
    if (getenv("REF_KEEP")) printf("kept %s (REF_KEEP)\n", tmp_dir);
    else rm_tree(tmp_dir);
    return TEST_DONE() || rc != 0;
}
