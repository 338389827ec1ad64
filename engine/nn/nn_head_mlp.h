/* The classifier head of ViLT's VQA and NLVR2 objectives:
 * Linear(in -> hid), LayerNorm (eps 1e-5, PyTorch's default), GELU,
 * Linear(hid -> out). Activations sized for max_rows rows. The LayerNorm's
 * weight takes weight decay, as ViLT's optimiser groups (by name) decay it. */
#ifndef MOIL_HEAD_MLP_H
#define MOIL_HEAD_MLP_H

#include "nn_layers.h"

typedef struct {
    Linear fc1, fc2;
    LayerNorm ln;
    int in, hid, out, max_rows;
    float *h1, *ln_out, *ln_mean, *ln_rstd, *act; /* [R,hid] x3, [R] x2 */
    float *logits;                                /* [R,out] */
    float *d1, *d2;                               /* [R,hid] scratch */
} HeadMlp;

void head_mlp_register(HeadMlp *h, Params *p, const char *prefix, int in, int hid, int out);
/* After params_alloc: timm init for the linears, LN 1/0; buffers. */
void head_mlp_init(HeadMlp *h, Params *p, Rng *rng, int max_rows);
void head_mlp_free(HeadMlp *h);
/* logits[R,out] (in h->logits) from x[R,in] */
void head_mlp_forward(HeadMlp *h, const Params *p, const float *x, int R);
/* dx[R,in] += ... from dlogits[R,out]; dx may be NULL */
void head_mlp_backward(HeadMlp *h, const Params *p, float *dx, const float *dlogits, const float *x, int R);

#endif
