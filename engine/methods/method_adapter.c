/* adapter: a VL-Adapter-style bottleneck after the attention block and after
 * the MLP of every layer, i.e. on the outputs of the attention output
 * projection and of fc2, before their residual additions:
 *   h   = W x + b                    the frozen linear [N,d]
 *   out = h + Up(GELU(Down(h)))      Down: d -> k, Up: k -> d
 * with k = d / --adapter-reduction (8 as VL-Adapter; at least 1). Down is
 * Xavier-uniform with zero bias, Up is zero (weight and bias), so the model
 * is unchanged at start. The backbone is frozen. The nonlinearity keeps it
 * from folding into the linear: no evaluation variants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method.h"
#include "ops.h"

typedef struct AdapterState AdapterState;

typedef struct {
    LinearHook hook;
    Linear *lin;
    AdapterState *s;
    int dw, db, uw, ub; /* entries: down [k,d], [k]; up [d,k], [d] */
    float *h;           /* [max_rows,d] the linear's output, saved for backward */
    float *a, *g;       /* [max_rows,k] Down(h) and GELU of it */
} AdapterHook;

struct AdapterState {
    AdapterHook *hooks;
    int n, k;
    float *dh;      /* [max_rows,d] scratch shared by the hooks */
    float *dg, *da; /* [max_rows,k] */
};

static const LinearKind adapter_sites[] = {LIN_PROJ, LIN_FC2};
#define ADAPTER_SITES ((int)(sizeof adapter_sites / sizeof adapter_sites[0]))

static void adapter_forward(LinearHook *hk, const Params *p, const Linear *lin, float *out, const float *inp, int N) {
    AdapterHook *h = hk->state;
    int d = lin->out, k = h->s->k;
    linear_forward(h->h, inp, params_data(p, lin->w), params_data(p, lin->b), N, lin->in, d);
    linear_forward(h->a, h->h, params_data(p, h->dw), params_data(p, h->db), N, d, k);
    gelu_forward(h->g, h->a, (size_t)N * k);
    linear_forward(out, h->g, params_data(p, h->uw), params_data(p, h->ub), N, k, d);
    residual_forward(out, out, h->h, (size_t)N * d);
}

static void adapter_backward(LinearHook *hk, const Params *p, const Linear *lin, float *dinp, const float *dout,
                             const float *inp, int N) {
    AdapterHook *h = hk->state;
    AdapterState *s = h->s;
    int d = lin->out, k = s->k;
    size_t Nd = (size_t)N * d, Nk = (size_t)N * k;
    /* dh = dout (the skip) + Down^T-path; dg = dout Up */
    memcpy(s->dh, dout, sizeof(float) * Nd);
    memset(s->dg, 0, sizeof(float) * Nk);
    linear_backward(s->dg, params_grad(p, h->uw), params_grad(p, h->ub), dout, h->g, params_data(p, h->uw), N, k, d);
    memset(s->da, 0, sizeof(float) * Nk);
    gelu_backward(s->da, h->a, s->dg, Nk);
    linear_backward(s->dh, params_grad(p, h->dw), params_grad(p, h->db), s->da, h->h, params_data(p, h->dw), N, d, k);
    linear_backward(dinp, params_grad(p, lin->w), params_grad(p, lin->b), s->dh, inp, params_data(p, lin->w), N,
                    lin->in, d);
}

static int adapter_add_params(Method *m, const Backbone *bb, Params *p) {
    AdapterState *s = xcalloc(1, sizeof *s);
    s->k = bb->d / m->opt.adapter_reduction;
    if (s->k < 1) s->k = 1;
    s->hooks = xcalloc((size_t)bb->layers * ADAPTER_SITES, sizeof(AdapterHook));
    for (int l = 0; l < bb->layers; l++)
        for (int j = 0; j < ADAPTER_SITES; j++) {
            AdapterHook *h = &s->hooks[s->n++];
            h->lin = backbone_linear(bb, l, adapter_sites[j]);
            h->s = s;
            int d = h->lin->out;
            const char *w = p->info[h->lin->w].name;
            int plen = (int)(strlen(w) - strlen(".weight"));
            char name[PARAM_NAME_MAX];
#define ADD(field, what, ndim, ...)                                                                                 \
    (snprintf(name, sizeof name, "%.*s.adapter.%s", plen, w, what),                                                \
     h->field = params_add(p, name, ndim, (int[]){__VA_ARGS__}, ndim == 2, PARAM_GROUP_METHOD))
            ADD(dw, "down.weight", 2, s->k, d);
            ADD(db, "down.bias", 1, s->k);
            ADD(uw, "up.weight", 2, d, s->k);
            ADD(ub, "up.bias", 1, d);
#undef ADD
        }
    m->state = s;
    return 0;
}

static int adapter_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    AdapterState *s = m->state;
    method_freeze_backbone(p);
    size_t rows = (size_t)bb->max_rows;
    for (int i = 0; i < s->n; i++) {
        AdapterHook *h = &s->hooks[i];
        int d = h->lin->out;
        float bound = sqrtf(6.0f / (float)(d + s->k)); /* Xavier-uniform */
        rng_fill_uniform(rng, params_data(p, h->dw), (long)p->info[h->dw].size, -bound, bound);
        params_init_const(p, h->db, 0.0f);
        params_init_const(p, h->uw, 0.0f);
        params_init_const(p, h->ub, 0.0f);
        int ids[] = {h->dw, h->db, h->uw, h->ub};
        for (int j = 0; j < 4; j++) p->info[ids[j]].trainable = 1;
        h->h = xcalloc(rows * d, sizeof(float));
        h->a = xcalloc(rows * s->k, sizeof(float));
        h->g = xcalloc(rows * s->k, sizeof(float));
        h->hook = (LinearHook){.forward = adapter_forward, .backward = adapter_backward, .state = h};
        h->lin->hook = &h->hook;
    }
    s->dh = xcalloc(rows * bb->d, sizeof(float));
    s->dg = xcalloc(rows * s->k, sizeof(float));
    s->da = xcalloc(rows * s->k, sizeof(float));
    return 0;
}

static void adapter_destroy(Method *m) {
    AdapterState *s = m->state;
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->hooks[i].h), free(s->hooks[i].a), free(s->hooks[i].g);
        s->hooks[i].lin->hook = NULL;
    }
    free(s->hooks);
    free(s->dh), free(s->dg), free(s->da);
    free(s);
}

static void adapter_describe(const Method *m, char *buf, size_t n) {
    const AdapterState *s = m->state;
    snprintf(buf, n, "\"adapter_hidden\":%d", s->k);
}

const MethodOps method_adapter = {
    .name = "adapter",
    .summary = "bottleneck adapter (d/--adapter-reduction, GELU) after attention and MLP, backbone frozen",
    .add_params = adapter_add_params,
    .setup = adapter_setup,
    .describe = adapter_describe,
    .destroy = adapter_destroy,
};
