/* dora: weight-decomposed low-rank adaptation on the --targets projections
 * of every layer. With the frozen W0 [out,in] and bias b,
 *   V  = W0 + s B A              s = alpha / r, A [r,in], B [out,r]
 *   W' = diag(m / ||V||_row) V   ||V||_row [out]: the norm of each output row
 *   y  = W' x + b
 * (PEFT's weight.norm(dim=1) on the [out,in] weight; the paper's "column"
 * norm is the same thing in its [in,out] convention). The magnitude m [out]
 * starts at ||W0||_row, A Kaiming-uniform, B zero, so W' = W0 at start; W0
 * and b stay frozen. Folds into W' for inference (variant "merged").
 *
 * Gradient: the exact one, through the norm. PEFT detaches ||V|| in backward
 * (the DoRA paper's memory shortcut, section 4.3), which is not the gradient
 * of the forward it computes, so no finite-difference check could pass on
 * it; here the norm is differentiated. With z = V x [N,out], k = m / ||V||:
 *   dm_o  = sum_n dy_no z_no / ||V_o||       dz = dy k
 *   dV    = diag(c) V + dz^T x,              c_o = -k_o dm_o / ||V_o||
 *   dB    = s (diag(c) V A^T + dz^T (x A^T)) dA = s ((diag(c) B)^T V + (dz B)^T x)
 *   dx    = dz V
 * so the backward never forms the [out,in] gradient dV. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method_lora.h"
#include "method_merge.h"
#include "ops.h"

typedef struct {
    LinearHook hook;
    Linear *lin;
    int A, B, mag; /* entries [r,in], [out,r], [out] */
    int r;
    float scale;
    float *V;       /* [out,in] W0 + s B A of the last forward */
    float *norm;    /* [out] ||V||_row */
    float *z;       /* [max_rows,out] V x, saved for backward */
    float *dz;      /* [max_rows,out] */
    float *u, *w;   /* [max_rows,r] x A^T and dz B */
    float *rowc;    /* [out,r] V A^T, then diag(c) B */
    float *c;       /* [out] */
    float *saved_w; /* [out,in] W0 while the merged variant is applied */
} DoraHook;

typedef struct {
    DoraHook *hooks;
    int n;
} DoraState;

/* V = W0 + s B A and its row norms into h->V, h->norm. */
static void dora_direction(DoraHook *h, const Params *p) {
    int out = h->lin->out, in = h->lin->in;
    memcpy(h->V, params_data(p, h->lin->w), sizeof(float) * (size_t)out * in);
    lora_fold(h->V, params_data(p, h->A), params_data(p, h->B), out, in, h->r, h->scale);
    for (int o = 0; o < out; o++) {
        const float *row = h->V + (size_t)o * in;
        double s = 0.0;
        for (int i = 0; i < in; i++) s += (double)row[i] * row[i];
        h->norm[o] = (float)sqrt(s);
    }
}

static void dora_forward(LinearHook *hk, const Params *p, const Linear *lin, float *out, const float *inp, int N) {
    DoraHook *h = hk->state;
    int OC = lin->out;
    dora_direction(h, p);
    /* z[N,out] = inp V^T; out = (m / ||V||) z + b */
    linear_forward(h->z, inp, h->V, NULL, N, lin->in, OC);
    const float *m = params_data(p, h->mag), *b = params_data(p, lin->b);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            size_t i = (size_t)n * OC + o;
            out[i] = m[o] / h->norm[o] * h->z[i] + b[o];
        }
}

static void dora_backward(LinearHook *hk, const Params *p, const Linear *lin, float *dinp, const float *dout,
                          const float *inp, int N) {
    DoraHook *h = hk->state;
    int OC = lin->out, in = lin->in, r = h->r;
    const float *m = params_data(p, h->mag), *A = params_data(p, h->A), *B = params_data(p, h->B);
    float *dm = params_grad(p, h->mag), *dA = params_grad(p, h->A), *dB = params_grad(p, h->B);
    linear_backward(NULL, NULL, params_grad(p, lin->b), dout, inp, h->V, N, in, OC);
    for (int o = 0; o < OC; o++) {
        float k = m[o] / h->norm[o];
        double g = 0.0; /* dm_o */
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)n * OC + o;
            g += (double)dout[i] * h->z[i];
            h->dz[i] = dout[i] * k;
        }
        g /= h->norm[o];
        if (dm) dm[o] += (float)g;
        h->c[o] = -k * (float)g / h->norm[o];
    }
    /* dinp += dz V */
    if (dinp) linear_backward(dinp, NULL, NULL, h->dz, inp, h->V, N, in, OC);
    if (dB) {
        /* u = inp A^T; dB += s dz^T u; rowc = V A^T; dB += s diag(c) rowc */
        linear_forward(h->u, inp, A, NULL, N, in, r);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, r, N, h->scale, h->dz, OC, h->u, r, 1.0f, dB, r);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, r, in, 1.0f, h->V, in, A, in, 0.0f, h->rowc, r);
        for (int o = 0; o < OC; o++)
            for (int j = 0; j < r; j++) dB[(size_t)o * r + j] += h->scale * h->c[o] * h->rowc[(size_t)o * r + j];
    }
    if (dA) {
        /* w = dz B; dA += s w^T inp; rowc = diag(c) B; dA += s rowc^T V */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, OC, 1.0f, h->dz, OC, B, r, 0.0f, h->w, r);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, N, h->scale, h->w, r, inp, in, 1.0f, dA, in);
        for (int o = 0; o < OC; o++)
            for (int j = 0; j < r; j++) h->rowc[(size_t)o * r + j] = h->c[o] * B[(size_t)o * r + j];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, OC, h->scale, h->rowc, r, h->V, in, 1.0f, dA, in);
    }
}

static int dora_add_params(Method *m, const Backbone *bb, Params *p) {
    DoraState *s = xcalloc(1, sizeof *s);
    s->hooks = xcalloc(lora_n_hooks(m, bb), sizeof(DoraHook));
    for (int l = 0; l < bb->layers; l++)
        for (int k = 0; k < LIN_KINDS; k++) {
            if (!(m->opt.targets & TARGET_BIT(k))) continue;
            DoraHook *h = &s->hooks[s->n++];
            h->lin = backbone_linear(bb, l, k);
            h->r = m->opt.rank;
            lora_register_pair(p, h->lin, h->r, &h->A, &h->B);
            char name[PARAM_NAME_MAX];
            snprintf(name, sizeof name, "%.*s.dora_magnitude", (int)(strlen(p->info[h->lin->w].name) - 7),
                     p->info[h->lin->w].name);
            /* a per-row scale, like a norm weight: no weight decay */
            h->mag = params_add(p, name, 1, (int[]){h->lin->out}, 0, PARAM_GROUP_METHOD);
        }
    m->state = s;
    return 0;
}

static int dora_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    DoraState *s = m->state;
    method_freeze_backbone(p);
    for (int i = 0; i < s->n; i++) {
        DoraHook *h = &s->hooks[i];
        int out = h->lin->out, in = h->lin->in;
        if (h->r > (out < in ? out : in)) return err_set("dora: rank %d exceeds min(%d, %d)", h->r, out, in);
        h->scale = lora_scale(m->opt.alpha, h->r, 0); /* alpha / r: DoRA does not take --rslora */
        lora_init_pair(p, h->A, h->B, rng);
        h->V = xcalloc((size_t)out * in, sizeof(float));
        h->norm = xcalloc(out, sizeof(float));
        h->z = xcalloc((size_t)bb->max_rows * out, sizeof(float));
        h->dz = xcalloc((size_t)bb->max_rows * out, sizeof(float));
        h->u = xcalloc((size_t)bb->max_rows * h->r, sizeof(float));
        h->w = xcalloc((size_t)bb->max_rows * h->r, sizeof(float));
        h->rowc = xcalloc((size_t)out * h->r, sizeof(float));
        h->c = xcalloc(out, sizeof(float));
        /* m = ||W0||_row (B = 0, so V = W0) */
        dora_direction(h, p);
        memcpy(params_data(p, h->mag), h->norm, sizeof(float) * out);
        p->info[h->A].trainable = p->info[h->B].trainable = p->info[h->mag].trainable = 1;
        h->hook = (LinearHook){.forward = dora_forward, .backward = dora_backward, .state = h};
        h->lin->hook = &h->hook;
    }
    return 0;
}

static void dora_apply_variant(Method *m, const Backbone *bb, Params *p, int v) {
    DoraState *s = m->state;
    for (int i = 0; i < s->n; i++) {
        DoraHook *h = &s->hooks[i];
        float *W = merge_unhook(p, h->lin, &h->saved_w);
        if (!W) continue; /* already merged */
        int out = h->lin->out, in = h->lin->in;
        const float *mag = params_data(p, h->mag);
        dora_direction(h, p);
        for (int o = 0; o < out; o++) {
            float k = mag[o] / h->norm[o];
            for (int c = 0; c < in; c++) W[(size_t)o * in + c] = k * h->V[(size_t)o * in + c];
        }
    }
}

static void dora_restore(Method *m, const Backbone *bb, Params *p) {
    DoraState *s = m->state;
    for (int i = 0; i < s->n; i++) merge_rehook(p, s->hooks[i].lin, &s->hooks[i].hook, s->hooks[i].saved_w);
}

static void dora_destroy(Method *m) {
    DoraState *s = m->state;
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        DoraHook *h = &s->hooks[i];
        free(h->V), free(h->norm), free(h->z), free(h->dz), free(h->u), free(h->w), free(h->rowc), free(h->c);
        free(h->saved_w);
        h->lin->hook = NULL;
    }
    free(s->hooks);
    free(s);
}

static void dora_describe(const Method *m, char *buf, size_t n) {
    snprintf(buf, n, "\"dora_scale\":%g,\"dora_gradient\":\"exact\"", lora_scale(m->opt.alpha, m->opt.rank, 0));
}

const MethodOps method_dora = {
    .name = "dora",
    .summary = "DoRA: magnitude m times the row-normalised W0 + (alpha/r) B A on --targets; merges",
    .add_params = dora_add_params,
    .setup = dora_setup,
    .n_variants = merge_n_variants,
    .variant_name = merge_variant_name,
    .apply_variant = dora_apply_variant,
    .restore = dora_restore,
    .describe = dora_describe,
    .destroy = dora_destroy,
};
