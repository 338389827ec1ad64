/* The ViLT-style model: whole-model gradient check on a tiny config,
 * overfitting one batch, bitwise determinism, frozen-backbone shortcuts,
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

static void test_whole_model_gradient(void) {
    Fixture f;
    fixture_init(&f, tiny_config(), 3, 3, 7);
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
    GcCase gc = {"vilt", 1e-2, 2e-2, 12, fixture_loss, fixture_grad, &f, 1e-4};
    int failed = gradcheck_run(&gc, t, f.model.params.n, &rng);
    CHECK(failed == 0, "%d of %d parameter tensors failed the gradient check", failed, f.model.params.n);
    /* unused token types: type rows 1 and 2 both used (types alternate) */
    free(t);
    fixture_free(&f);
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
        adamw_step(&f->model.params, &c, train_lr_schedule(s, steps, steps / 10, lr), s + 1);
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
    params_alloc(&p);
    params_data(&p, w)[0] = 1.0f, params_data(&p, w)[1] = -2.0f, params_data(&p, b)[0] = 3.0f;
    p.grad[0] = 0.5f, p.grad[1] = -0.25f, p.grad[2] = 2.0f;
    AdamWConfig c = adamw_config_default(0.1f);
    adamw_step(&p, &c, 0.1f, 1);
    /* first step: mhat = g, vhat = g^2, update = lr (sign(g) + wd w) */
    CHECK_CLOSE(params_data(&p, w)[0], 1.0 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.01 * 1.0), 1e-6);
    CHECK_CLOSE(params_data(&p, w)[1], -2.0 - 0.1 * (-1.0 + 0.01 * -2.0), 1e-6);
    CHECK_CLOSE(params_data(&p, b)[0], 3.0 - 0.1, 1e-6); /* no decay on the bias */
    double norm = train_clip_grad_norm(&p, 1.0);
    CHECK_CLOSE(norm, sqrt(0.25 + 0.0625 + 4.0), 1e-6);
    CHECK_CLOSE(train_clip_grad_norm(&p, 0), 1.0, 1e-6);
    params_free(&p);
    CHECK_CLOSE(train_lr_schedule(0, 100, 10, 1.0f), 0.1, 1e-6);
    CHECK_CLOSE(train_lr_schedule(9, 100, 10, 1.0f), 1.0, 1e-6);
    CHECK_CLOSE(train_lr_schedule(55, 100, 10, 1.0f), 0.5, 1e-6);
    CHECK_CLOSE(train_lr_schedule(100, 100, 10, 1.0f), 0.0, 1e-6);
}

int main(void) {
    openblas_set_num_threads(1);
    RUN(test_whole_model_gradient);
    RUN(test_overfit_one_batch);
    RUN(test_deterministic);
    RUN(test_frozen_backbone);
    RUN(test_adamw_and_schedule);
    return TEST_DONE();
}
