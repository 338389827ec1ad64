/* lora: W0 x + b + scale * B (A x) on the --targets projections of every
 * layer; W0, b frozen. A [r,in] Kaiming-uniform (a = sqrt 5, bound
 * 1/sqrt(in)), B [out,r] zero, scale = alpha/r (alpha/sqrt r with --rslora).
 * --pissa initialises A, B from the top-r singular triplets of W0 and
 * freezes the residual W0 - scale B A in its place; --lora-plus X trains B
 * at X times the learning rate. Folds into W0 + scale B A for inference. */
#include "method_lora.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linalg.h"
#include "method_merge.h"
#include "ops.h"

typedef struct {
    LinearHook hook;
    Linear *lin;
    int A, B;   /* entries [r,in], [out,r] */
    int r;
    float scale;
    float *u;   /* [max_rows, r] A x, saved for backward */
    float *du;  /* [max_rows, r] */
    float *saved_w; /* [out,in] W0 while a merged variant is applied */
} LoraHook;

typedef struct {
    LoraHook *hooks;
    int n;
} LoraState;

float lora_scale(float alpha, int rank, int rslora) {
    return rslora ? alpha / sqrtf((float)rank) : alpha / (float)rank;
}

int lora_n_hooks(const Method *m, const Backbone *bb) {
    int n = 0;
    for (int k = 0; k < LIN_KINDS; k++) n += (m->opt.targets & TARGET_BIT(k)) ? bb->layers : 0;
    return n;
}

void lora_register_pair(Params *p, const Linear *lin, int r, int *A, int *B) {
    char name[PARAM_NAME_MAX];
    const char *w = p->info[lin->w].name;
    int plen = (int)(strlen(w) - strlen(".weight"));
    snprintf(name, sizeof name, "%.*s.lora_A", plen, w);
    *A = params_add(p, name, 2, (int[]){r, lin->in}, 1, PARAM_GROUP_METHOD);
    snprintf(name, sizeof name, "%.*s.lora_B", plen, w);
    *B = params_add(p, name, 2, (int[]){lin->out, r}, 1, PARAM_GROUP_METHOD);
}

void lora_init_pair(Params *p, int A, int B, Rng *rng) {
    int in = p->info[A].shape[1];
    float bound = 1.0f / sqrtf((float)in);
    rng_fill_uniform(rng, params_data(p, A), (long)p->info[A].size, -bound, bound);
    params_init_const(p, B, 0.0f);
}

void lora_fold(float *W, const float *A, const float *B, int out, int in, int r, float scale) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, in, r, scale, B, r, A, in, 1.0f, W, in);
}

static void lora_forward(LinearHook *h, const Params *p, const Linear *lin, float *out, const float *inp, int N) {
    LoraHook *lh = h->state;
    linear_forward(out, inp, params_data(p, lin->w), params_data(p, lin->b), N, lin->in, lin->out);
    /* u[N,r] = inp A^T; out += scale * u B^T */
    linear_forward(lh->u, inp, params_data(p, lh->A), NULL, N, lin->in, lh->r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, lin->out, lh->r, lh->scale, lh->u, lh->r,
                params_data(p, lh->B), lh->r, 1.0f, out, lin->out);
}

static void lora_backward(LinearHook *h, const Params *p, const Linear *lin, float *dinp, const float *dout,
                          const float *inp, int N) {
    LoraHook *lh = h->state;
    int r = lh->r;
    linear_backward(dinp, params_grad(p, lin->w), params_grad(p, lin->b), dout, inp, params_data(p, lin->w), N,
                    lin->in, lin->out);
    float *dB = params_grad(p, lh->B), *dA = params_grad(p, lh->A);
    /* dB[out,r] += scale dout^T u; du[N,r] = scale dout B */
    if (dB)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, lin->out, r, N, lh->scale, dout, lin->out, lh->u, r,
                    1.0f, dB, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, lin->out, lh->scale, dout, lin->out,
                params_data(p, lh->B), r, 0.0f, lh->du, r);
    /* dA[r,in] += du^T inp; dinp += du A */
    linear_backward(dinp, dA, NULL, lh->du, inp, params_data(p, lh->A), N, lin->in, r);
}

static int lora_add_params(Method *m, const Backbone *bb, Params *p) {
    LoraState *s = xcalloc(1, sizeof *s);
    s->hooks = xcalloc(lora_n_hooks(m, bb), sizeof(LoraHook));
    for (int l = 0; l < bb->layers; l++)
        for (int k = 0; k < LIN_KINDS; k++) {
            if (!(m->opt.targets & TARGET_BIT(k))) continue;
            LoraHook *h = &s->hooks[s->n++];
            h->lin = backbone_linear(bb, l, k);
            h->r = m->opt.rank;
            lora_register_pair(p, h->lin, h->r, &h->A, &h->B);
        }
    m->state = s;
    return 0;
}

/* PiSSA as PEFT initialises it: A = sqrt(S_r / scale) Vt_r,
 * B = U_r sqrt(S_r / scale), so scale B A is the top-r part of W0 and the
 * frozen weight becomes the residual W0 - scale B A; the output is unchanged. */
static int lora_init_pissa(Params *p, LoraHook *h) {
    int out = h->lin->out, in = h->lin->in, k = out < in ? out : in, r = h->r;
    if (r > k) return err_set("--pissa: rank %d exceeds min(%d, %d)", r, out, in);
    float *W = params_data(p, h->lin->w), *U = xmalloc(sizeof(float) * (size_t)out * k);
    float *S = xmalloc(sizeof(float) * k), *Vt = xmalloc(sizeof(float) * (size_t)k * in);
    int rc = svd_rowmajor(W, out, in, U, S, Vt);
    if (rc == 0) {
        float *A = params_data(p, h->A), *B = params_data(p, h->B);
        for (int j = 0; j < r; j++) {
            float s = sqrtf(S[j] / h->scale);
            for (int c = 0; c < in; c++) A[(size_t)j * in + c] = s * Vt[(size_t)j * in + c];
            for (int o = 0; o < out; o++) B[(size_t)o * r + j] = U[(size_t)o * k + j] * s;
        }
        lora_fold(W, A, B, out, in, r, -h->scale);
    }
    free(U), free(S), free(Vt);
    return rc;
}

static int lora_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    LoraState *s = m->state;
    method_freeze_backbone(p);
    float scale = lora_scale(m->opt.alpha, m->opt.rank, m->opt.rslora);
    for (int i = 0; i < s->n; i++) {
        LoraHook *h = &s->hooks[i];
        h->scale = scale;
        if (m->opt.pissa) {
            if (lora_init_pissa(p, h) != 0) return -1;
        } else {
            lora_init_pair(p, h->A, h->B, rng);
        }
        p->info[h->A].trainable = p->info[h->B].trainable = 1;
        p->info[h->B].lr_mult = m->opt.lora_plus;
        h->u = xcalloc((size_t)bb->max_rows * h->r, sizeof(float));
        h->du = xcalloc((size_t)bb->max_rows * h->r, sizeof(float));
        h->hook = (LinearHook){.forward = lora_forward, .backward = lora_backward, .state = h};
        h->lin->hook = &h->hook;
    }
    return 0;
}

static void lora_apply_variant(Method *m, const Backbone *bb, Params *p, int v) {
    LoraState *s = m->state;
    for (int i = 0; i < s->n; i++) {
        LoraHook *h = &s->hooks[i];
        float *W = merge_unhook(p, h->lin, &h->saved_w);
        if (W) lora_fold(W, params_data(p, h->A), params_data(p, h->B), h->lin->out, h->lin->in, h->r, h->scale);
    }
}

static void lora_restore(Method *m, const Backbone *bb, Params *p) {
    LoraState *s = m->state;
    for (int i = 0; i < s->n; i++) merge_rehook(p, s->hooks[i].lin, &s->hooks[i].hook, s->hooks[i].saved_w);
}

static void lora_destroy(Method *m) {
    LoraState *s = m->state;
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->hooks[i].u), free(s->hooks[i].du), free(s->hooks[i].saved_w);
        s->hooks[i].lin->hook = NULL;
    }
    free(s->hooks);
    free(s);
}

static void lora_describe(const Method *m, char *buf, size_t n) {
    snprintf(buf, n, "\"lora_scale\":%g", lora_scale(m->opt.alpha, m->opt.rank, m->opt.rslora));
}

const MethodOps method_lora = {
    .name = "lora",
    .summary = "LoRA: W0 + (alpha/r) B A on --targets (rsLoRA, PiSSA, LoRA+ as options)",
    .add_params = lora_add_params,
    .setup = lora_setup,
    .n_variants = merge_n_variants,
    .variant_name = merge_variant_name,
    .apply_variant = lora_apply_variant,
    .restore = lora_restore,
    .describe = lora_describe,
    .destroy = lora_destroy,
};
