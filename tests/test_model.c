/* The ViLT-style model: whole-model gradient check on a tiny config (and
 * with BERT's text token-type table), overfitting one batch, bitwise determinism, frozen-backbone shortcuts,
 * AdamW and the schedule. */
#include <cblas.h>
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "model_fixture.h"
#include "ops.h"
#include "test.h"
#include "train.h"
#include "train_adamw.h"

/* A vilt model of the given sizes with a head of n_cls classes (the
 * fixture's draws from one generator, no noise). */
static void fixture_init(Fixture *f, ModelDims dims, int B, int n_cls, uint64_t seed) {
    ModelConfig c;
    if (model_config_default(&c, "vilt", dims.vocab) != 0) die("%s", err_msg());
    c.dims = dims;
    FixtureSpec s = {n_cls, NULL, NULL, 0.0f, 0, FIXTURE_ONE_PASS, 0, 0, FIXTURE_DRAWS_SHARED};
    fixture_init_spec(f, &c, B, seed, &s);
}

static ModelDims tiny_config(void) {
    ModelDims c = {.vocab = 11, .d = 8, .layers = 2, .heads = 2, .mlp_ratio = 2, .patch = 4, .image_size = 8,
                   .max_text = 5, .n_types = 3};
    return c;
}

/* Every parameter tensor of a tiny model of the sizes dims against finite
 * differences, in evaluation mode (label) and with dropout (label2). */
static void whole_model_gradient(ModelDims dims, const char *label, const char *label2) {
    Fixture f;
    fixture_init(&f, dims, 3, 3, 7);
    /* larger weights than the 0.02 init, so every path carries signal */
    Rng rng;
    rng_seed(&rng, 99);
    for (int i = 0; i < f.model.params.n; i++) {
        const ParamInfo *e = &f.model.params.info[i];
        float *x = params_data(&f.model.params, i);
        for (size_t k = 0; k < e->size; k++) x[k] += 0.3f * rng_normal(&rng);
    }
    rng_fill_normal(&rng, f.r_full, (long)n_final(&f), 0.1f);
    GcTensor *t = xcalloc(f.model.params.n, sizeof(GcTensor));
    /* evaluation mode, then training mode with dropout 0.3 (every mask
     * fixed: each pass redraws the same, tests/model_fixture.h) */
    const float drops[2] = {0.0f, 0.3f};
    const char *labels[2] = {label, label2};
    for (int d = 0; d < 2; d++) {
        f.dropout = drops[d];
        fixture_grad(&f);
        for (int i = 0; i < f.model.params.n; i++) {
            t[i].name = f.model.params.info[i].name;
            t[i].x = params_data(&f.model.params, i);
            t[i].grad = f.model.params.grad + f.model.params.info[i].offset;
            t[i].n = f.model.params.info[i].size;
        }
        /* the whole network in float32: 8-12 ops deep, LayerNorms with
         * 1e-12 eps, tanh and softmax; at h = 1e-2 truncation (~h^2) and float
         * rounding of the summed loss (~1e-7 * |L| / h) stay below ~1e-3;
         * the key biases have zero gradient, checked to the FD noise (1e-4) */
        GcCase gc = {labels[d], 1e-2, 2e-2, 12, fixture_loss, fixture_grad, &f, 1e-4};
        int failed = gradcheck_run(&gc, t, f.model.params.n, &rng);
        CHECK(failed == 0, "%s: %d of %d parameter tensors failed the gradient check", labels[d], failed,
              f.model.params.n);
    }
    /* unused token types: type rows 1 and 2 both used (types alternate) */
    free(t);
    fixture_free(&f);
}

static void test_whole_model_gradient(void) { whole_model_gradient(tiny_config(), "vilt", "vilt+dropout"); }

/* BERT's text token-type table (ModelDims.text_types, a converted ViLT
 * checkpoint's): its row 0 passes the gradient check with the rest, its
 * other rows get none, and with the table at zero the model computes
 * exactly what the same weights compute without it. */
static void test_text_type_table(void) {
    ModelDims dims = tiny_config();
    dims.text_types = 2;
    Fixture f, g;
    fixture_init(&f, dims, 3, 3, 7);
    int tt = params_find(&f.model.params, "text_embeddings.token_type_embeddings.weight");
    CHECK(tt >= 0 && f.model.params.info[tt].shape[0] == 2, "no [2,d] text token-type table registered");
    if (tt < 0) {
        fixture_free(&f);
        return;
    }
    whole_model_gradient(dims, "vilt+text_types", "vilt+text_types+dropout");
    Rng rng;
    rng_seed(&rng, 99);
    for (int i = 0; i < f.model.params.n; i++) {
        float *x = params_data(&f.model.params, i);
        for (size_t k = 0; k < f.model.params.info[i].size; k++) x[k] += 0.3f * rng_normal(&rng);
    }
    rng_fill_normal(&rng, f.r_full, (long)n_final(&f), 0.1f);
    fixture_grad(&f);
    const float *g1 = f.model.params.grad + f.model.params.info[tt].offset + f.model.d;
    int nonzero = 0;
    for (int c = 0; c < f.model.d; c++) nonzero += g1[c] != 0;
    CHECK(nonzero == 0, "row 1 of the text token-type table got a gradient in %d elements", nonzero);
    /* the same weights without the table, and the table zeroed */
    fixture_init(&g, tiny_config(), 3, 3, 7);
    for (int i = 0; i < g.model.params.n; i++) {
        int j = params_find(&f.model.params, g.model.params.info[i].name);
        memcpy(params_data(&g.model.params, i), params_data(&f.model.params, j), g.model.params.info[i].size * 4);
    }
    memset(params_data(&f.model.params, tt), 0, f.model.params.info[tt].size * sizeof(float));
    size_t Tt = (size_t)f.model.Tt, S = (size_t)f.model.image_size;
    memcpy(g.ids, f.ids, 3 * Tt * sizeof(int)), memcpy(g.mask, f.mask, 3 * Tt * sizeof(int));
    memcpy(g.images, f.images, 3 * 3 * S * S * sizeof(float)), memcpy(g.types, f.types, 3 * sizeof(int));
    forward(&f, ATTN_FULL), forward(&g, ATTN_FULL);
    CHECK(memcmp(f.model.final, g.model.final, n_final(&f) * sizeof(float)) == 0,
          "a zero text token-type table changed the outputs");
    fixture_free(&f);
    fixture_free(&g);
}

static float train_steps(Fixture *f, int steps, float lr, float *first, float *losses) {
    AdamWConfig c = adamw_config_default(lr);
    c.weight_decay = 0.0f;
    float loss = 0;
    for (int s = 0; s < steps; s++) {
        params_zero_grad(&f->model.params);
        ModelInput in = fixture_input(f, ATTN_FULL);
        if (model_forward(&f->model, &in) != 0) die("%s", err_msg());
        layer_linear_forward(&f->model.params, &f->head, f->logits, f->model.pooled, f->B);
        int count;
        loss = crossentropy_forward(f->probs, f->logits, f->labels, f->B, f->n_cls, -100, &count);
        if (s == 0 && first) *first = loss;
        if (losses) losses[s] = loss;
        memset(f->dlogits, 0, sizeof(float) * f->B * f->n_cls);
        crossentropy_backward(f->dlogits, f->probs, f->labels, f->B, f->n_cls, -100, count, 1.0f);
        memset(f->dpooled, 0, sizeof(float) * f->B * f->model.d);
        layer_linear_backward(&f->model.params, &f->head, f->dpooled, f->dlogits, f->model.pooled, f->B);
        model_backward(&f->model, &in, NULL, f->dpooled);
        train_clip_grad_norm(&f->model.params, 1.0);
        adamw_step(&f->model.params, &c, train_lr_schedule(LR_SCHEDULE_VILT, s, steps, steps / 10, lr), s + 1);
    }
    return loss;
}

static ModelDims small_config(void) {
    ModelDims c = {.vocab = 30, .d = 32, .layers = 2, .heads = 2, .mlp_ratio = 4, .patch = 8, .image_size = 16,
                   .max_text = 8, .n_types = 3};
    return c;
}

static void test_overfit_one_batch(void) {
    Fixture f;
    fixture_init(&f, small_config(), 16, 4, 3);
    float first = 0, last = train_steps(&f, 150, 2e-3f, &first, NULL);
    printf("  overfit: loss %.4f -> %.4f (%.1f%% lower)\n", first, last, 100 * (1 - last / first));
    CHECK(last <= 0.1f * first, "loss fell only from %g to %g", first, last);
    fixture_free(&f);
}

static void test_deterministic(void) {
    float a[20], b[20];
    for (int run = 0; run < 2; run++) {
        Fixture f;
        fixture_init(&f, small_config(), 8, 4, 5);
        train_steps(&f, 20, 1e-3f, NULL, run ? b : a);
        fixture_free(&f);
    }
    CHECK(memcmp(a, b, sizeof a) == 0, "losses differ between identical runs: %.9g vs %.9g at step 19", a[19], b[19]);
    /* a different seed gives a different run */
    Fixture f;
    fixture_init(&f, small_config(), 8, 4, 6);
    train_steps(&f, 20, 1e-3f, NULL, b);
    fixture_free(&f);
    CHECK(memcmp(a, b, sizeof a) != 0, "different seeds gave identical losses");
}

static void test_frozen_backbone(void) {
    Fixture f, g;
    fixture_init(&f, small_config(), 4, 3, 11);
    fixture_init(&g, small_config(), 4, 3, 11);
    params_set_trainable_group(&f.model.params, PARAM_GROUP_BACKBONE, 0);
    fixture_grad(&f);
    fixture_grad(&g);
    /* the head's gradient does not depend on what is frozen below it */
    size_t off = f.model.params.info[f.head.w].offset, n = f.model.params.info[f.head.w].size;
    CHECK(memcmp(f.model.params.grad + off, g.model.params.grad + off, n * sizeof(float)) == 0, "head gradient differs");
    /* frozen entries receive nothing */
    double s = 0;
    for (int i = 0; i < f.model.params.n; i++)
        if (f.model.params.info[i].group == PARAM_GROUP_BACKBONE)
            for (size_t k = 0; k < f.model.params.info[i].size; k++) s += fabs(f.model.params.grad[f.model.params.info[i].offset + k]);
    CHECK(s == 0.0, "frozen backbone got gradient %g", s);
    CHECK(params_count_trainable(&f.model.params, -1) == n + f.model.params.info[f.head.b].size, "trainable count %zu",
          params_count_trainable(&f.model.params, -1));
    /* too large a batch is refused with both sizes named */
    ModelInput in = fixture_input(&f, ATTN_FULL);
    in.B = 5;
    CHECK(model_forward(&f.model, &in) != 0 && strstr(err_msg(), "at most 4"), "message: %s", err_msg());
    fixture_free(&f);
    fixture_free(&g);
}

static void test_adamw_and_schedule(void) {
    Params p;
    params_init(&p);
    int w = params_add(&p, "w", 1, (int[]){2}, 1, PARAM_GROUP_BACKBONE);
    int b = params_add(&p, "b", 1, (int[]){1}, 0, PARAM_GROUP_BACKBONE);
    int late = params_add(&p, "late", 1, (int[]){1}, 1, PARAM_GROUP_METHOD); /* trains from step 2 */
    p.info[late].first_step = 2;
    params_alloc(&p);
    params_data(&p, w)[0] = 1.0f, params_data(&p, w)[1] = -2.0f, params_data(&p, b)[0] = 3.0f;
    params_data(&p, late)[0] = 1.5f;
    p.grad[0] = 0.5f, p.grad[1] = -0.25f, p.grad[2] = 2.0f, p.grad[3] = 0.4f;
    AdamWConfig c = adamw_config_default(0.1f);
    c.form = ADAMW_TORCH;
    adamw_step(&p, &c, 0.1f, 1);
    /* before its first_step an entry is not touched at all: no moments, no decay */
    CHECK(params_data(&p, late)[0] == 1.5f && p.m[3] == 0.0f && p.v[3] == 0.0f, "late entry moved at step 1: %g",
          params_data(&p, late)[0]);
    p.grad[3] = 0.0f;
    /* torch's first step: mhat = g, vhat = g^2, w -= lr (g / (|g| + eps) + wd w) */
    CHECK_CLOSE(params_data(&p, w)[0], 1.0 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.01 * 1.0), 1e-6);
    CHECK_CLOSE(params_data(&p, w)[1], -2.0 - 0.1 * (-1.0 + 0.01 * -2.0), 1e-6);
    CHECK_CLOSE(params_data(&p, b)[0], 3.0 - 0.1, 1e-6); /* no decay on the bias */
    double norm = train_clip_grad_norm(&p, 1.0);
    CHECK_CLOSE(norm, sqrt(0.25 + 0.0625 + 4.0), 1e-6);
    CHECK_CLOSE(train_clip_grad_norm(&p, 0), 1.0, 1e-6);
    /* transformers' (the default) second step, by hand in double: eps on the
     * uncorrected sqrt(v), step lr sqrt(bc2) / bc1, decay after the step */
    double m0 = 0.1 * 0.5, v0 = 0.02 * 0.25, w0 = params_data(&p, w)[0];
    p.grad[0] = -0.3f, p.grad[3] = 0.4f;
    c.form = ADAMW_TRANSFORMERS;
    adamw_step(&p, &c, 0.1f, 2);
    double m1 = 0.9 * m0 + 0.1 * -0.3, v1 = 0.98 * v0 + 0.02 * 0.09, bc1 = 1 - 0.81, bc2 = 1 - 0.98 * 0.98;
    double w1 = w0 - 0.1 * sqrt(bc2) / bc1 * m1 / (sqrt(v1) + 1e-8);
    CHECK_CLOSE(params_data(&p, w)[0], w1 - 0.1 * 0.01 * w1, 1e-6);
    /* the late entry's first step, its bias correction that of step 1 */
    double l1 = 1.5 - 0.1 * sqrt(0.02) / 0.1 * (0.1 * 0.4) / (sqrt(0.02 * 0.16) + 1e-8);
    CHECK_CLOSE(params_data(&p, late)[0], l1 - 0.1 * 0.01 * l1, 1e-6);
    params_free(&p);
    CHECK_CLOSE(train_lr_schedule(LR_SCHEDULE_SHIFTED, 0, 100, 10, 1.0f), 0.1, 1e-6);
    CHECK_CLOSE(train_lr_schedule(LR_SCHEDULE_SHIFTED, 9, 100, 10, 1.0f), 1.0, 1e-6);
    CHECK_CLOSE(train_lr_schedule(LR_SCHEDULE_VILT, 0, 100, 10, 1.0f), 0.0, 1e-6);
    CHECK_CLOSE(train_lr_schedule(LR_SCHEDULE_VILT, 9, 100, 10, 1.0f), 0.9, 1e-6);
    CHECK_CLOSE(train_lr_schedule(LR_SCHEDULE_VILT, 10, 100, 10, 1.0f), 1.0, 1e-6);
    for (int f = 0; f < 2; f++) {
        CHECK_CLOSE(train_lr_schedule((LrSchedule)f, 55, 100, 10, 1.0f), 0.5, 1e-6);
        CHECK_CLOSE(train_lr_schedule((LrSchedule)f, 100, 100, 10, 1.0f), 0.0, 1e-6);
    }
}

/* The pooled output and every gradient of one pass (forward + backward
 * through the fixture's loss) in mode (p, rng; p < 0: evaluation mode). */
static void pass(Fixture *f, float p, Rng *rng, float *pooled, float *grad) {
    Model *m = &f->model;
    if (p >= 0) model_train_mode(m, p, rng);
    ModelInput in = fixture_input(f, ATTN_FULL);
    params_zero_grad(&m->params);
    if (model_forward(m, &in) != 0) die("%s", err_msg());
    memcpy(pooled, m->pooled, sizeof(float) * f->B * m->d);
    memset(f->dpooled, 0, sizeof(float) * f->B * m->d);
    for (int i = 0; i < f->B * m->d; i++) f->dpooled[i] = (float)(i % 7) - 3.0f;
    model_backward(m, &in, f->r_full, f->dpooled);
    memcpy(grad, m->params.grad, sizeof(float) * m->params.total);
    model_eval_mode(m);
}

/* Evaluation mode is deterministic and is exactly training mode at p = 0
 * (outputs and gradients bit for bit, no draws from the generator);
 * training at p > 0 draws masks and changes both; back in evaluation mode
 * the first outputs return. */
static void test_dropout_modes(void) {
    Fixture f;
    fixture_init(&f, small_config(), 4, 3, 13);
    Model *m = &f.model;
    size_t np = (size_t)f.B * m->d, ng = m->params.total;
    float *pe = xmalloc(np * sizeof(float)), *ge = xmalloc(ng * sizeof(float));
    float *px = xmalloc(np * sizeof(float)), *gx = xmalloc(ng * sizeof(float));
    pass(&f, -1, NULL, pe, ge);
    pass(&f, -1, NULL, px, gx);
    CHECK(!memcmp(pe, px, np * sizeof(float)) && !memcmp(ge, gx, ng * sizeof(float)), "evaluation not deterministic");
    Rng rng, before;
    rng_seed(&rng, 21);
    before = rng;
    pass(&f, 0.0f, &rng, px, gx);
    CHECK(!memcmp(pe, px, np * sizeof(float)), "training at p = 0 changed the outputs");
    CHECK(!memcmp(ge, gx, ng * sizeof(float)), "training at p = 0 changed the gradients");
    CHECK(rng.state == before.state, "training at p = 0 drew from the generator");
    pass(&f, 0.1f, &rng, px, gx);
    CHECK(rng.state != before.state, "training at p = 0.1 drew nothing");
    CHECK(memcmp(pe, px, np * sizeof(float)) != 0, "training at p = 0.1 left the outputs unchanged");
    CHECK(memcmp(ge, gx, ng * sizeof(float)) != 0, "training at p = 0.1 left the gradients unchanged");
    CHECK(!layer_dropout_active(&m->drop), "the mode stayed on after model_eval_mode");
    pass(&f, -1, NULL, px, gx);
    CHECK(!memcmp(pe, px, np * sizeof(float)) && !memcmp(ge, gx, ng * sizeof(float)),
          "evaluation after a training pass differs from before");
    free(pe), free(ge), free(px), free(gx);
    fixture_free(&f);
}

/* A task that records the model's dropout in its training step and in its
 * evaluations (validation curves and the final one). */
typedef struct {
    Fixture *f;
    int steps, steps_dropping, evals, evals_dropping;
    Rng *run_rng;
} ModeProbe;

static double probe_train_step(Task *t, Model *m, Rng *rng) {
    ModeProbe *s = t->state;
    s->steps++;
    s->steps_dropping += layer_dropout_active(&m->drop) && m->drop.p == 0.25f && m->drop.rng == rng;
    s->run_rng = rng;
    ModelInput in = fixture_input(s->f, ATTN_FULL);
    return model_forward(m, &in) != 0 ? NAN : 0.0;
}

static int probe_evaluate(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    ModeProbe *s = t->state;
    s->evals++;
    s->evals_dropping += layer_dropout_active(&m->drop);
    task_metrics_add(out, "x", 0);
    return 0;
}

/* The trainer turns dropout on for the task's training step only, with the
 * run's generator: never in an evaluation, validation curves included. */
static void test_dropout_in_training_steps_only(void) {
    Fixture f;
    fixture_init(&f, small_config(), 4, 3, 17);
    ModeProbe probe = {.f = &f};
    TaskOps ops = {.name = "probe", .train_step = probe_train_step, .evaluate = probe_evaluate};
    Task task = {.ops = &ops, .state = &probe};
    Method meth;
    MethodOptions mo = method_options_default();
    if (method_create(&meth, "full", &mo) != 0) die("%s", err_msg());
    Rng rng;
    rng_seed(&rng, 3);
    if (meth.ops->setup(&meth, &f.model.bb, &f.model.params, &rng) != 0) die("%s", err_msg());
    TrainConfig tc = {.steps = 6, .warmup_frac = 0.1f, .lr = 1e-3f, .dropout = 0.25f, .eval_every = 2,
                      .log_every = 2, .eval_split = "test", .quiet = 1};
    TrainResult res;
    train_run(&f.model, &task, &meth, &tc, &rng, NULL, &res);
    CHECK(res.status == TRAIN_OK, "status %d: %s", res.status, res.error);
    CHECK(probe.steps == 6 && probe.steps_dropping == 6, "%d of %d steps trained with p = 0.25 and the run's rng",
          probe.steps_dropping, probe.steps);
    CHECK(probe.run_rng == &rng, "the step got another generator");
    CHECK(probe.evals == 3 && probe.evals_dropping == 0, "%d of %d evaluations ran with dropout", probe.evals_dropping,
          probe.evals);
    CHECK(!layer_dropout_active(&f.model.drop), "the model left training in training mode");
    method_destroy(&meth);
    fixture_free(&f);
}

int main(void) {
    openblas_set_num_threads(1);
    RUN(test_whole_model_gradient);
    RUN(test_text_type_table);
    RUN(test_overfit_one_batch);
    RUN(test_deterministic);
    RUN(test_frozen_backbone);
    RUN(test_adamw_and_schedule);
    RUN(test_dropout_modes);
    RUN(test_dropout_in_training_steps_only);
    return TEST_DONE();
}
