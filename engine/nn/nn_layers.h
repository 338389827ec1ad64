/* Layers bound to the parameter store: a Linear (weight [out,in] + bias) and a
 * LayerNorm (weight + bias), addressed by their entry indices. An adaptation
 * method changes what a Linear computes by attaching a LinearHook; the model
 * code only ever calls layer_linear_forward/backward. */
#ifndef MOIL_LAYERS_H
#define MOIL_LAYERS_H

#include "nn_params.h"

typedef struct Linear Linear;

typedef struct LinearHook {
    /* out[N,out] from inp[N,in], replacing W x + b */
    void (*forward)(struct LinearHook *h, const Params *p, const Linear *lin, float *out, const float *inp, int N);
    /* dinp[N,in] += ..., and the hook's own parameter gradients */
    void (*backward)(struct LinearHook *h, const Params *p, const Linear *lin, float *dinp, const float *dout,
                     const float *inp, int N);
    void *state;
} LinearHook;

struct Linear {
    int w, b;    /* entries: weight [out,in], bias [out] */
    int in, out;
    LinearHook *hook; /* NULL: the plain linear */
};

typedef struct {
    int w, b; /* entries [C] */
    float eps;
} LayerNorm;

/* The dropout of a forward pass (docs/engine.md, "Dropout"): drop
 * probability p, masks drawn from rng. Inactive (nothing dropped, nothing
 * drawn) when p is 0 or rng is NULL: a model in evaluation mode. */
typedef struct {
    float p;
    Rng *rng;
} Dropout;

/* Register <prefix>.weight [out,in] and <prefix>.bias [out]. */
void linear_register(Params *p, Linear *l, const char *prefix, int in, int out, ParamGroup group);
/* Register <prefix>.weight and <prefix>.bias, both [C]. */
void layernorm_register(Params *p, LayerNorm *ln, const char *prefix, int C, float eps, ParamGroup group);
/* timm init: weight truncated normal std 0.02, bias 0 / LayerNorm 1 and 0. */
void linear_init(Params *p, const Linear *l, Rng *rng);
void layernorm_init(Params *p, const LayerNorm *ln);
/* Whether the backward must run through it: a LayerNorm whose weight or
 * bias trains; a Linear whose weight or bias trains, or with a hook (a
 * method's own tensors). */
int layernorm_trainable(const Params *p, const LayerNorm *ln);
int linear_trainable(const Params *p, const Linear *l);

/* Whether d drops anything (d may be NULL). */
int layer_dropout_active(const Dropout *d);
/* x[n] in place through inverted dropout with a new mask[n] (ops.h) when d
 * is active; returns whether it dropped (the backward, dropout_backward with
 * the same mask, is then due). */
int layer_dropout_forward(const Dropout *d, float *x, float *mask, size_t n);

void layer_linear_forward(const Params *p, const Linear *l, float *out, const float *inp, int N);
void layer_linear_backward(const Params *p, const Linear *l, float *dinp, const float *dout, const float *inp, int N);
void layer_layernorm_forward(const Params *p, const LayerNorm *ln, float *out, float *mean, float *rstd,
                             const float *inp, int N);
void layer_layernorm_backward(const Params *p, const LayerNorm *ln, float *dinp, const float *dout,
                              const float *inp, const float *mean, const float *rstd, int N);

#endif
