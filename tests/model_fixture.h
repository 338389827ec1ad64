/* A model under test with a classification head on the pooled output and
 * fixed random projections of the final tokens of two passes (a fusion pass
 * and a second one: ATTN_SEPARATE for dual encoders, ATTN_CAUSAL_TEXT for
 * seq2seq), so every path of the model carries gradient; optionally with an
 * adaptation method. Shared by the model tests; header-only (each test
 * binary is one translation unit). Before including, define N_CLS (head
 * classes). */
#ifndef MOIL_MODEL_FIXTURE_H
#define MOIL_MODEL_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "method.h"
#include "model.h"
#include "ops.h"
#include "test.h"

typedef struct {
    Model model;
    Linear head;
    Method method;
    int B;
    AttnMode second;          /* the mode of the second pass */
    int *ids, *mask, *types, *labels;
    float *images;            /* [B,3,S,S], or NULL when the model reads image ids */
    int64_t *iids;            /* [B] image ids, or NULL */
    float *r_full, *r_second; /* [B,T,C] */
    float *logits, *probs, *dlogits, *dpooled;
} Fixture;

/* method NULL: none. Weights get `spread` extra normal noise (larger than
 * the 0.02 init, so every path carries signal). With iid_base > 0 the
 * sequences carry image ids iid_base + b % n_img (a model reading regions
 * by id); otherwise random images, image types alternating 1, 2. */
static void fixture_init_ex(Fixture *f, const ModelConfig *c, int B, const char *method, const MethodOptions *opt,
                            uint64_t seed, float spread, AttnMode second, int64_t iid_base, int n_img) {
    memset(f, 0, sizeof *f);
    if (model_create(&f->model, c) != 0) die("%s", err_msg());
    Model *m = &f->model;
    linear_register(&m->params, &f->head, "head.fc", m->d, N_CLS, PARAM_GROUP_HEAD);
    if (method) {
        if (method_create(&f->method, method, opt) != 0) die("%s", err_msg());
        if (f->method.ops->add_params) f->method.ops->add_params(&f->method, &m->bb, &m->params);
    }
    model_finish(m, B, seed);
    Rng rng;
    rng_seed(&rng, seed);
    linear_init(&m->params, &f->head, &rng);
    for (int i = 0; i < m->params.n; i++) {
        float *x = params_data(&m->params, i);
        for (size_t k = 0; k < m->params.info[i].size; k++) x[k] += spread * rng_normal(&rng);
    }
    f->B = B;
    f->second = second;
    int Tt = m->Tt, S = m->image_size, T = m->T;
    f->ids = xcalloc((size_t)B * Tt, sizeof(int));
    f->mask = xcalloc((size_t)B * Tt, sizeof(int));
    f->types = xcalloc(B, sizeof(int));
    f->labels = xcalloc(B, sizeof(int));
    f->r_full = xcalloc((size_t)B * T * m->d, sizeof(float));
    f->r_second = xcalloc((size_t)B * T * m->d, sizeof(float));
    if (iid_base > 0) f->iids = xcalloc(B, sizeof(int64_t));
    else f->images = xcalloc((size_t)B * 3 * S * S, sizeof(float));
    for (int b = 0; b < B; b++) {
        int len = 2 + (int)rng_below(&rng, (uint32_t)(Tt - 1)); /* 2..Tt real tokens */
        for (int t = 0; t < Tt; t++) {
            f->ids[b * Tt + t] = t < len ? (int)rng_below(&rng, (uint32_t)c->vilt.vocab) : 0;
            f->mask[b * Tt + t] = t < len;
        }
        f->types[b] = 1 + (b % 2);
        f->labels[b] = (int)rng_below(&rng, N_CLS);
        if (f->iids) f->iids[b] = iid_base + b % n_img;
    }
    if (f->images) rng_fill_uniform(&rng, f->images, (long)B * 3 * S * S, -1, 1);
    rng_fill_normal(&rng, f->r_full, (long)B * T * m->d, 0.1f);
    rng_fill_normal(&rng, f->r_second, (long)B * T * m->d, 0.1f);
    f->logits = xcalloc((size_t)B * N_CLS, sizeof(float));
    f->probs = xcalloc((size_t)B * N_CLS, sizeof(float));
    f->dlogits = xcalloc((size_t)B * N_CLS, sizeof(float));
    f->dpooled = xcalloc((size_t)B * m->d, sizeof(float));
    if (method && f->method.ops->setup(&f->method, &m->bb, &m->params, &rng) != 0) die("%s", err_msg());
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
    if (model_forward(&f->model, &in) != 0) die("%s", err_msg());
}

/* CE of the head on the fusion pass + <final, r_full> + <final of the
 * second pass, r_second>. */
static double fixture_loss(void *ctx) {
    Fixture *f = ctx;
    forward(f, ATTN_FULL);
    layer_linear_forward(&f->model.params, &f->head, f->logits, f->model.pooled, f->B);
    double loss = crossentropy_forward(f->probs, f->logits, f->labels, f->B, N_CLS, -100, NULL);
    loss += gradcheck_dot(f->model.final, f->r_full, n_final(f));
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
    crossentropy_forward(f->probs, f->logits, f->labels, f->B, N_CLS, -100, &count);
    memset(f->dlogits, 0, sizeof(float) * f->B * N_CLS);
    crossentropy_backward(f->dlogits, f->probs, f->labels, f->B, N_CLS, -100, count, 1.0f);
    memset(f->dpooled, 0, sizeof(float) * f->B * m->d);
    layer_linear_backward(&m->params, &f->head, f->dpooled, f->dlogits, m->pooled, f->B);
    ModelInput full = fixture_input(f, ATTN_FULL), second = fixture_input(f, f->second);
    model_backward(m, &full, f->r_full, f->dpooled);
    forward(f, f->second);
    model_backward(m, &second, f->r_second, NULL);
}

/* Every parameter tensor of the model against finite differences (the
 * tolerances of tests/test_model.c: float32 through the whole network at
 * h = 1e-2), and every one reached by the loss (key biases have zero true
 * gradient: softmax is shift-invariant). */
static void check_whole_model_gradient(Fixture *f, const char *label) {
    Params *p = &f->model.params;
    GcTensor *t = xcalloc(p->n, sizeof(GcTensor));
    fixture_grad(f);
    for (int i = 0; i < p->n; i++)
        t[i] = (GcTensor){p->info[i].name, params_data(p, i), p->grad + p->info[i].offset, p->info[i].size};
    Rng rng;
    rng_seed(&rng, 99);
    GcCase gc = {label, 1e-2, 2e-2, 12, fixture_loss, fixture_grad, f, 1e-4};
    int failed = gradcheck_run(&gc, t, p->n, &rng);
    CHECK(failed == 0, "%d of %d parameter tensors failed the gradient check", failed, p->n);
    int silent = 0;
    for (int i = 0; i < p->n; i++) {
        double s = 0;
        for (size_t k = 0; k < p->info[i].size; k++) s += fabs(t[i].grad[k]);
        if (s == 0 && !strstr(p->info[i].name, "attn.k.bias")) silent++, printf("  no gradient: %s\n", t[i].name);
    }
    CHECK(silent == 0, "%d tensors without gradient", silent);
    free(t);
}

/* The final tokens of a `mode` pass run now, as a new array. */
static float *final_of(Fixture *f, AttnMode mode) {
    forward(f, mode);
    float *out = xmalloc(n_final(f) * sizeof(float));
    memcpy(out, f->model.final, n_final(f) * sizeof(float));
    return out;
}

static double rel_diff(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)a[i] * a[i];
    return sqrt(num / (den > 0 ? den : 1));
}

/* The method's variant 0 folded into plain weights: no linear keeps a hook,
 * the outputs of a `mode` pass equal the unfolded reference ref within 1e-5
 * relative, and restore gives back every parameter bit for bit. */
static void check_fold(Fixture *f, const char *label, const float *ref, AttnMode mode) {
    Model *m = &f->model;
    size_t n = n_final(f);
    float *saved = xmalloc(m->params.total * sizeof(float));
    memcpy(saved, m->params.data, m->params.total * sizeof(float));
    f->method.ops->apply_variant(&f->method, &m->bb, &m->params, 0);
    int hooked = 0;
    for (int i = 0; i < m->bb.layers * LIN_KINDS; i++) hooked += m->bb.lin[i]->hook != NULL;
    CHECK(hooked == 0, "%s: %d linears still hooked after folding", label, hooked);
    forward(f, mode);
    double e = rel_diff(ref, m->final, n);
    printf("  %s on %s, folded vs. unfolded: final rel diff %.2e\n", label, m->cfg.kind, e);
    CHECK(e <= 1e-5 && e > 0, "%s: folded outputs differ by %g", label, e);
    f->method.ops->restore(&f->method, &m->bb, &m->params);
    CHECK(memcmp(saved, m->params.data, m->params.total * sizeof(float)) == 0, "%s: restore changed parameters",
          label);
    free(saved);
}

/* LoRA folded: check_fold against the hooked model's `mode` pass now. */
static void check_lora_fold(Fixture *f, AttnMode mode) {
    float *ref = final_of(f, mode);
    check_fold(f, "lora", ref, mode);
    free(ref);
}

/* MoIL's student written the direct way into the online q, k, v weights of
 * every layer (rank r of both factor pairs), independent of method_moil.c:
 *   W_hat = (W0 + B_l A_l)(I + B_a A_a), b_hat = (W0 + B_l A_l)(B_a a_A + b_B) + b0
 * in double precision. */
static void moil_write_direct_student(Fixture *f, int r) {
    Params *p = &f->model.params;
    int d = f->model.d;
    double *Wl = xcalloc((size_t)d * d, sizeof(double)), *M = xcalloc((size_t)d * d, sizeof(double));
    double *u = xcalloc(d, sizeof(double));
    for (int l = 0; l < f->model.bb.layers; l++)
        for (int k = 0; k < 3; k++) {
            char name[PARAM_NAME_MAX], pre[64];
            snprintf(pre, sizeof pre, "transformer.blocks.%d.attn", l);
#define E(...) (snprintf(name, sizeof name, __VA_ARGS__), params_find(p, name))
            const char *kn = linear_kind_names[k];
            const float *W0 = params_data(p, E("%s.%s.moil_W0", pre, kn)), *b0 = params_data(p, E("%s.%s.moil_b0", pre, kn));
            const float *A = params_data(p, E("%s.%s.lora_A", pre, kn)), *B = params_data(p, E("%s.%s.lora_B", pre, kn));
            const float *Aa = params_data(p, E("%s.moil_adapter.down.weight", pre));
            const float *aA = params_data(p, E("%s.moil_adapter.down.bias", pre));
            const float *Ba = params_data(p, E("%s.moil_adapter.up.weight", pre));
            const float *bB = params_data(p, E("%s.moil_adapter.up.bias", pre));
#undef E
            const Linear *lin = backbone_linear(&f->model.bb, l, (LinearKind)k);
            float *W = params_data(p, lin->w), *b = params_data(p, lin->b);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) {
                    double s = W0[i * d + j], t = i == j;
                    for (int q = 0; q < r; q++) s += (double)B[i * r + q] * A[q * d + j], t += (double)Ba[i * r + q] * Aa[q * d + j];
                    Wl[i * d + j] = s, M[i * d + j] = t;
                }
            for (int i = 0; i < d; i++) {
                u[i] = bB[i];
                for (int q = 0; q < r; q++) u[i] += (double)Ba[i * r + q] * aA[q];
            }
            for (int i = 0; i < d; i++) {
                double bi = b0[i];
                for (int j = 0; j < d; j++) {
                    double s = 0;
                    for (int q = 0; q < d; q++) s += Wl[i * d + q] * M[q * d + j];
                    W[i * d + j] = (float)s;
                    bi += Wl[i * d + j] * u[j];
                }
                b[i] = (float)bi;
            }
        }
    free(Wl), free(M), free(u);
}

/* MoIL's folded student (rank r) against moil_write_direct_student's
 * weights in a `mode` pass; the parameters are put back in between. */
static void check_moil_fold(Fixture *f, int r, AttnMode mode) {
    Params *p = &f->model.params;
    float *saved = xmalloc(p->total * sizeof(float));
    memcpy(saved, p->data, p->total * sizeof(float));
    moil_write_direct_student(f, r);
    float *ref = final_of(f, mode);
    memcpy(p->data, saved, p->total * sizeof(float));
    check_fold(f, "moil (student)", ref, mode);
    free(ref), free(saved);
}

#endif
