/* Checks over a model fixture (tests/model_fixture.h) the per-kind model
 * tests share: the whole-model gradient, and LoRA and MoIL folded into
 * plain weights. Header-only, like the fixture. */
#ifndef MOIL_MODEL_CHECKS_H
#define MOIL_MODEL_CHECKS_H

#include <math.h>
#include <stdio.h>

#include "model_fixture.h"
#include "test.h"

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
