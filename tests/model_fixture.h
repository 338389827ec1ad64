/* A model under test, of any kind through the Model interface, with a
 * classification head on the pooled output and fixed random projections of
 * the final tokens of one or two passes (the fusion pass and optionally a
 * second one: ATTN_SEPARATE for dual encoders, ATTN_CAUSAL_TEXT for
 * seq2seq), so every path of the model carries gradient; optionally with an
 * adaptation method. Shared by the model and method tests; header-only
 * (each test binary is one translation unit). */
#ifndef MOIL_MODEL_FIXTURE_H
#define MOIL_MODEL_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "method.h"
#include "model.h"
#include "ops.h"

/* FixtureSpec.second: the fusion pass only. */
#define FIXTURE_ONE_PASS ((AttnMode)-1)

/* How the random draws are split over generators, all seeded from the seed
 * (each test keeps the draws it was written with). */
typedef enum {
    FIXTURE_DRAWS_SHARED,      /* one generator: weights, head, noise, inputs, the method's setup */
    FIXTURE_DRAWS_OWN_WEIGHTS, /* the model's weights from a generator of their own, the rest from
                                * a second one seeded alike */
    FIXTURE_DRAWS_OWN_INPUTS,  /* the inputs and projections from a generator of their own (seed ^
                                * 0x5eed): they depend on the seed only */
} FixtureDraws;

typedef struct {
    int n_cls;                /* head classes */
    const char *method;       /* NULL: none */
    const MethodOptions *opt;
    float spread;             /* normal noise added to the weights before the method's setup (larger
                               * than the 0.02 init, so every path carries signal) */
    unsigned noisy;           /* the ParamGroups that get it (bit mask); 0: none drawn */
    AttnMode second;          /* the mode of the second pass, or FIXTURE_ONE_PASS */
    int64_t iid_base;         /* > 0: the sequences carry image ids iid_base + b % n_img (a model
                               * reading them) instead of random images */
    int n_img;
    FixtureDraws draws;
} FixtureSpec;

typedef struct {
    Model model;
    Linear head;
    Method method;
    int B, n_cls;
    AttnMode second;          /* the mode of the second pass, or FIXTURE_ONE_PASS */
    int *ids, *mask, *types, *labels;
    float *images;            /* [B,3,S,S], or NULL when the model reads image ids */
    int64_t *iids;            /* [B] image ids, or NULL */
    float *r_full, *r_second; /* [B,T,C]; r_second NULL with one pass */
    float *logits, *probs, *dlogits, *dpooled;
    float dropout;            /* > 0: every pass in training mode with this p, its masks the same at
                               * every call (drawn from a generator seeded by the pass's mode) */
} Fixture;

/* Image types alternate 1, 2 over the sequences. */
static void fixture_init_spec(Fixture *f, const ModelConfig *c, int B, uint64_t seed, const FixtureSpec *s) {
    memset(f, 0, sizeof *f);
    if (model_create(&f->model, c) != 0) die("%s", err_msg());
    Model *m = &f->model;
    int n_cls = s->n_cls;
    linear_register(&m->params, &f->head, "head.fc", m->d, n_cls, PARAM_GROUP_HEAD);
    if (s->method) {
        if (method_create(&f->method, s->method, s->opt) != 0) die("%s", err_msg());
        if (f->method.ops->add_params && f->method.ops->add_params(&f->method, &m->bb, &m->params) != 0)
            die("%s", err_msg());
    }
    Rng rng, own;
    rng_seed(&rng, seed);
    rng_seed(&own, s->draws == FIXTURE_DRAWS_OWN_INPUTS ? seed ^ 0x5eedULL : seed);
    model_finish(m, B, s->draws == FIXTURE_DRAWS_OWN_WEIGHTS ? &own : &rng);
    linear_init(&m->params, &f->head, &rng);
    for (int i = 0; i < m->params.n && s->noisy; i++) {
        if (!(s->noisy & (1u << m->params.info[i].group))) continue;
        float *x = params_data(&m->params, i);
        for (size_t k = 0; k < m->params.info[i].size; k++) x[k] += s->spread * rng_normal(&rng);
    }
    Rng *in = s->draws == FIXTURE_DRAWS_OWN_INPUTS ? &own : &rng;
    f->B = B, f->n_cls = n_cls;
    f->second = s->second;
    int Tt = m->Tt, S = m->image_size, T = m->T;
    f->ids = xcalloc((size_t)B * Tt, sizeof(int));
    f->mask = xcalloc((size_t)B * Tt, sizeof(int));
    f->types = xcalloc(B, sizeof(int));
    f->labels = xcalloc(B, sizeof(int));
    f->r_full = xcalloc((size_t)B * T * m->d, sizeof(float));
    if (s->second != FIXTURE_ONE_PASS) f->r_second = xcalloc((size_t)B * T * m->d, sizeof(float));
    if (s->iid_base > 0) f->iids = xcalloc(B, sizeof(int64_t));
    else f->images = xcalloc((size_t)B * 3 * S * S, sizeof(float));
    for (int b = 0; b < B; b++) {
        int len = 2 + (int)rng_below(in, (uint32_t)(Tt - 1)); /* 2..Tt real tokens */
        for (int t = 0; t < Tt; t++) {
            f->ids[b * Tt + t] = t < len ? (int)rng_below(in, (uint32_t)c->dims.vocab) : 0;
            f->mask[b * Tt + t] = t < len;
        }
        f->types[b] = 1 + (b % 2);
        f->labels[b] = (int)rng_below(in, (uint32_t)n_cls);
        if (f->iids) f->iids[b] = s->iid_base + b % s->n_img;
    }
    if (f->images) rng_fill_uniform(in, f->images, (long)B * 3 * S * S, -1, 1);
    rng_fill_normal(in, f->r_full, (long)B * T * m->d, 0.1f);
    if (f->r_second) rng_fill_normal(in, f->r_second, (long)B * T * m->d, 0.1f);
    f->logits = xcalloc((size_t)B * n_cls, sizeof(float));
    f->probs = xcalloc((size_t)B * n_cls, sizeof(float));
    f->dlogits = xcalloc((size_t)B * n_cls, sizeof(float));
    f->dpooled = xcalloc((size_t)B * m->d, sizeof(float));
    if (s->method && f->method.ops->setup(&f->method, &m->bb, &m->params, &rng) != 0) die("%s", err_msg());
}

static void fixture_free(Fixture *f) {
    if (f->method.ops) method_destroy(&f->method);
    model_free(&f->model);
    free(f->ids), free(f->mask), free(f->types), free(f->labels), free(f->images), free(f->iids);
    free(f->r_full), free(f->r_second), free(f->logits), free(f->probs), free(f->dlogits), free(f->dpooled);
}

static ModelInput fixture_input(const Fixture *f, AttnMode mode) {
    ModelInput in = {.B = f->B, .text_ids = f->ids, .text_mask = f->mask, .images = f->images,
                     .image_type = f->images ? f->types : NULL, .attn_mode = mode, .image_ids = f->iids};
    return in;
}

static size_t n_final(const Fixture *f) { return (size_t)f->B * f->model.T * f->model.d; }

static void forward(Fixture *f, AttnMode mode) {
    ModelInput in = fixture_input(f, mode);
    Rng masks;
    rng_seed(&masks, 0xd20bULL + (uint64_t)mode);
    if (f->dropout > 0) model_train_mode(&f->model, f->dropout, &masks);
    int rc = model_forward(&f->model, &in);
    model_eval_mode(&f->model);
    if (rc != 0) die("%s", err_msg());
}

/* CE of the head on the fusion pass + <final, r_full> (+ <final of the
 * second pass, r_second>). */
static double fixture_loss(void *ctx) {
    Fixture *f = ctx;
    forward(f, ATTN_FULL);
    layer_linear_forward(&f->model.params, &f->head, f->logits, f->model.pooled, f->B);
    double loss = crossentropy_forward(f->probs, f->logits, f->labels, f->B, f->n_cls, -100, NULL);
    loss += gradcheck_dot(f->model.final, f->r_full, n_final(f));
    if (f->second == FIXTURE_ONE_PASS) return loss;
    forward(f, f->second);
    return loss + gradcheck_dot(f->model.final, f->r_second, n_final(f));
}

static void fixture_grad(void *ctx) {
    Fixture *f = ctx;
    Model *m = &f->model;
    params_zero_grad(&m->params);
    forward(f, ATTN_FULL);
    layer_linear_forward(&m->params, &f->head, f->logits, m->pooled, f->B);
    int count;
    crossentropy_forward(f->probs, f->logits, f->labels, f->B, f->n_cls, -100, &count);
    memset(f->dlogits, 0, sizeof(float) * f->B * f->n_cls);
    crossentropy_backward(f->dlogits, f->probs, f->labels, f->B, f->n_cls, -100, count, 1.0f);
    memset(f->dpooled, 0, sizeof(float) * f->B * m->d);
    layer_linear_backward(&m->params, &f->head, f->dpooled, f->dlogits, m->pooled, f->B);
    ModelInput full = fixture_input(f, ATTN_FULL);
    model_backward(m, &full, f->r_full, f->dpooled);
    if (f->second == FIXTURE_ONE_PASS) return;
    ModelInput second = fixture_input(f, f->second);
    forward(f, f->second);
    model_backward(m, &second, f->r_second, NULL);
}

#endif
