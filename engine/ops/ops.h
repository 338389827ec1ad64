/* Ops of the engine, each a forward/backward pair (and AdamW's update).
 *
 * Dimension legend (used in every shape comment of the engine):
 *   B  batch            T  tokens per sequence      N  rows = B*T (or any row count)
 *   C  channels (d)     OC output channels          H  attention heads, hs = C/H
 *   V  classes / vocabulary size
 *
 * Conventions: forward writes its outputs; backward ACCUMULATES (+=) into the
 * gradient buffers it is given, which the caller zeroes once per step. A
 * gradient pointer may be NULL when that gradient is not needed (a frozen
 * weight, an input that is data): the op then skips that work. */
#ifndef MOIL_OPS_H
#define MOIL_OPS_H

#include <stddef.h>

#include "op_attn_mask.h"
#include "rng.h"

/* out[N,OC] = inp[N,C] W[OC,C]^T + b[OC] (b may be NULL); OpenBLAS sgemm. */
void linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC);
/* dinp[N,C] += dout W; dW[OC,C] += dout^T inp; db[OC] += column sums of dout. */
void linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                     const float *W, int N, int C, int OC);

/* out[N,C] = (inp - mean) * rstd * w + b; saves mean[N], rstd[N]. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps);
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C);

/* Exact GELU: out = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), n elements. */
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* out = tanh(inp), n elements; backward uses the saved output. */
void tanh_forward(float *out, const float *inp, size_t n);
void tanh_backward(float *dinp, const float *out, const float *dout, size_t n);

/* out = a + b, n elements; backward: da += dout, db += dout. */
void residual_forward(float *out, const float *a, const float *b, size_t n);
void residual_backward(float *da, float *db, const float *dout, size_t n);

/* Inverted dropout over n elements, for p in (0, 1) (p = 0 is no dropout:
 * the caller skips the op and draws nothing). forward draws mask[n] from rng,
 * each element 0 with probability p, else 1 / (1 - p), and writes
 * out = inp * mask (out may be inp); backward: dinp += dout * mask. */
void dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, Rng *rng);
void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* out[N,C] = table[ids[n], :] (ids in [0, V)); backward scatters into dtable[V,C]. */
void embedding_forward(float *out, const int *ids, const float *table, int N, int C);
void embedding_backward(float *dtable, const float *dout, const int *ids, int N, int C);

/* Multi-head softmax attention with a key padding mask.
 * q, k, v, out: [B,T,C] with head h in channels [h*hs, (h+1)*hs).
 * key_mask[B,T]: 1 = attend, 0 = padding (masked keys get probability 0).
 * probs[B,H,T,T] is saved for backward; scale = 1/sqrt(hs). Every row
 * must have at least one unmasked key. lanes: attention_lanes(T) ints of
 * scratch (the key masks as the vectors load them). */
void attention_forward(float *out, float *probs, int *lanes, const float *q, const float *k, const float *v,
                       const int *key_mask, int B, int T, int C, int H);
size_t attention_lanes(int T);
/* The same with a query-dependent mask on top of key_mask: rows [0, seg) are
 * text; ATTN_SEPARATE keeps text and non-text from attending to each other
 * (a unimodal pass), ATTN_CAUSAL_TEXT lets text query i see text keys j <= i
 * and the non-text keys, and non-text queries the non-text keys only
 * (seq2seq: nothing can carry a later word to an earlier one). Backward is
 * unchanged: masked probabilities are 0. */
void attention_forward_mode(float *out, float *probs, int *lanes, const float *q, const float *k, const float *v,
                            const int *key_mask, int B, int T, int C, int H, int seg, AttnMode mode);
/* scratch: T*T floats. */
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *probs, const float *q, const float *k, const float *v,
                        int B, int T, int C, int H);

/* Softmax cross-entropy over logits[N,V] with integer targets[N]; rows whose
 * target equals ignore_index do not count. Returns the mean loss over counted
 * rows (0 if none) and saves probs[N,V]. *count gets the counted rows. */
float crossentropy_forward(float *probs, const float *logits, const int *targets, int N, int V,
                           int ignore_index, int *count);
/* dlogits[N,V] += scale * (probs - onehot) / count, for counted rows. */
void crossentropy_backward(float *dlogits, const float *probs, const int *targets, int N, int V,
                           int ignore_index, int count, float scale);

/* BCE with logits and soft targets, logits/targets [N,V]:
 * loss = mean over N*V of softplus(x) - t x, times `scale` (ViLT's VQA loss
 * uses scale = V). */
float bce_forward(const float *logits, const float *targets, size_t n, float scale);
void bce_backward(float *dlogits, const float *logits, const float *targets, size_t n, float scale);

/* Split images[B,3,S,S] (CHW) into patches[B,P,3*p*p], P = (S/p)^2, in the
 * channel-major order of a conv weight [OC,3,p,p], so that a linear layer on
 * the patches equals a conv with kernel = stride = p. Pixels are data: no
 * backward. */
void patchify_forward(float *patches, const float *images, int B, int S, int p);

/* The coefficients of one AdamW update (engine/train/train_adamw.c derives
 * them from the learning rate, the step and the form). */
typedef struct {
    float beta1, beta2; /* moment decay rates */
    float eps;
    /* corrected = 1, torch's form (the first edition's arithmetic, kept bit for
     * bit): w -= lr (m / bc1 / (sqrt(v / bc2) + eps) + wd w) */
    int corrected;
    float lr, wd, bc1, bc2;
    /* corrected = 0, transformers' form: w -= step m / (sqrt(v) + eps), then
     * w -= decay w (step = lr sqrt(bc2) / bc1, decay = lr wd) */
    float step, decay;
} AdamWCoeffs;

/* One AdamW update of n weights w with gradients g, in place with the moments
 * m, v: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, then the
 * weights in c's form. An update, not a forward/backward pair. */
void adamw_update(float *w, float *m, float *v, const float *g, size_t n, const AdamWCoeffs *c);

#endif
