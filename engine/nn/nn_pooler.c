#include "nn_pooler.h"

#include <string.h>

#include "ops.h"

void pooler_forward(const Params *p, const Linear *dense, const float *final, float *cls, float *pool_pre,
                    float *pooled, int B, int T, int C) {
    for (int b = 0; b < B; b++) memcpy(cls + (size_t)b * C, final + (size_t)b * T * C, sizeof(float) * C);
    layer_linear_forward(p, dense, pool_pre, cls, B);
    tanh_forward(pooled, pool_pre, (size_t)B * C);
}

void pooler_backward(const Params *p, const Linear *dense, const float *cls, const float *pooled,
                     const float *dpooled, const float *dfinal_in, float *dfinal, float *dpre, float *dcls, int B,
                     int T, int C) {
    size_t NC = (size_t)B * T * C;
    if (dfinal_in) memcpy(dfinal, dfinal_in, sizeof(float) * NC);
    else memset(dfinal, 0, sizeof(float) * NC);
    if (!dpooled) return;
    memset(dpre, 0, sizeof(float) * B * C);
    memset(dcls, 0, sizeof(float) * B * C);
    tanh_backward(dpre, pooled, dpooled, (size_t)B * C);
    layer_linear_backward(p, dense, dcls, dpre, cls, B);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) dfinal[(size_t)b * T * C + c] += dcls[(size_t)b * C + c];
}
