#include "nn_layers.h"

#include <stdio.h>

#include "ops.h"

void linear_register(Params *p, Linear *l, const char *prefix, int in, int out, ParamGroup group) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    l->w = params_add(p, name, 2, (int[]){out, in}, 1, group);
    snprintf(name, sizeof name, "%s.bias", prefix);
    l->b = params_add(p, name, 1, (int[]){out}, 0, group);
    l->in = in;
    l->out = out;
    l->hook = NULL;
}

void layernorm_register(Params *p, LayerNorm *ln, const char *prefix, int C, float eps, ParamGroup group) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    ln->w = params_add(p, name, 1, (int[]){C}, 0, group);
    snprintf(name, sizeof name, "%s.bias", prefix);
    ln->b = params_add(p, name, 1, (int[]){C}, 0, group);
    ln->eps = eps;
}

void linear_init(Params *p, const Linear *l, Rng *rng) {
    params_init_trunc_normal(p, l->w, 0.02f, rng);
    params_init_const(p, l->b, 0.0f);
}

void layernorm_init(Params *p, const LayerNorm *ln) {
    params_init_const(p, ln->w, 1.0f);
    params_init_const(p, ln->b, 0.0f);
}

int layernorm_trainable(const Params *p, const LayerNorm *ln) {
    return p->info[ln->w].trainable || p->info[ln->b].trainable;
}

int linear_trainable(const Params *p, const Linear *l) {
    return l->hook || p->info[l->w].trainable || p->info[l->b].trainable;
}

int layer_dropout_active(const Dropout *d) { return d && d->p > 0 && d->rng; }

int layer_dropout_forward(const Dropout *d, float *x, float *mask, size_t n) {
    if (!layer_dropout_active(d)) return 0;
    dropout_forward(x, mask, x, n, d->p, d->rng);
    return 1;
}

void layer_linear_forward(const Params *p, const Linear *l, float *out, const float *inp, int N) {
    if (l->hook) {
        l->hook->forward(l->hook, p, l, out, inp, N);
        return;
    }
    linear_forward(out, inp, params_data(p, l->w), params_data(p, l->b), N, l->in, l->out);
}

void layer_linear_backward(const Params *p, const Linear *l, float *dinp, const float *dout, const float *inp, int N) {
    if (l->hook) {
        l->hook->backward(l->hook, p, l, dinp, dout, inp, N);
        return;
    }
    linear_backward(dinp, params_grad(p, l->w), params_grad(p, l->b), dout, inp, params_data(p, l->w), N, l->in,
                    l->out);
}

void layer_layernorm_forward(const Params *p, const LayerNorm *ln, float *out, float *mean, float *rstd,
                             const float *inp, int N) {
    int C = p->info[ln->w].shape[0];
    layernorm_forward(out, mean, rstd, inp, params_data(p, ln->w), params_data(p, ln->b), N, C, ln->eps);
}

void layer_layernorm_backward(const Params *p, const LayerNorm *ln, float *dinp, const float *dout,
                              const float *inp, const float *mean, const float *rstd, int N) {
    int C = p->info[ln->w].shape[0];
    layernorm_backward(dinp, params_grad(p, ln->w), params_grad(p, ln->b), dout, inp, params_data(p, ln->w), mean,
                       rstd, N, C);
}
