/* BERT's pooler, the output every single-stream model ends with: pooled =
 * tanh(dense(cls)), cls the final row 0 (the text [CLS]) of each sequence of
 * T rows of C. Buffers are the model's. */
#ifndef MOIL_POOLER_H
#define MOIL_POOLER_H

#include "nn_layers.h"

/* cls, pool_pre, pooled [B,C] from final [B,T,C]. */
void pooler_forward(const Params *p, const Linear *dense, const float *final, float *cls, float *pool_pre,
                    float *pooled, int B, int T, int C);
/* dfinal [B,T,C] = dfinal_in (NULL: zero) + what dpooled [B,C] (NULL:
 * none) sends to each row 0; accumulates dense's gradients. dpre, dcls
 * [B,C] are scratch. */
void pooler_backward(const Params *p, const Linear *dense, const float *cls, const float *pooled,
                     const float *dpooled, const float *dfinal_in, float *dfinal, float *dpre, float *dcls, int B,
                     int T, int C);

#endif
