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

void layer_linear_forward(const Params *p, const Linear *l, float *out, const float *inp, int N);
void layer_linear_backward(const Params *p, const Linear *l, float *dinp, const float *dout, const float *inp, int N);
void layer_layernorm_forward(const Params *p, const LayerNorm *ln, float *out, float *mean, float *rstd,
                             const float *inp, int N);
void layer_layernorm_backward(const Params *p, const LayerNorm *ln, float *dinp, const float *dout,
                              const float *inp, const float *mean, const float *rstd, int N);

#endif
