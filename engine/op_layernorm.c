/* LayerNorm over the last dimension. */
#include "ops.h"

#include <math.h>

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps) {
    /* inp, out: [N,C]; w, b: [C]; mean, rstd: [N] */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float m = 0.0f;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        float var = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            var += d * d;
        }
        var /= C;
        float s = 1.0f / sqrtf(var + eps);
        for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *dy = dout + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        /* dnorm = dy * w; dx = s * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)) */
        float dnorm_mean = 0.0f, dnorm_xhat_mean = 0.0f;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            float dnorm = dy[c] * w[c];
            dnorm_mean += dnorm;
            dnorm_xhat_mean += dnorm * xhat;
            if (dw) dw[c] += dy[c] * xhat;
            if (db) db[c] += dy[c];
        }
        dnorm_mean /= C;
        dnorm_xhat_mean /= C;
        if (!dinp) continue;
        float *dx = dinp + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            dx[c] += s * (dy[c] * w[c] - dnorm_mean - xhat * dnorm_xhat_mean);
        }
    }
}
