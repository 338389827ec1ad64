/* LayerNorm over the last dimension, VEC_LANES channels at a time (op_internal.h);
 * row sums in the 16 lanes of a VecSum, then the lanes in a fixed order. */
#include "ops.h"

#include <math.h>

#include "op_internal.h"

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps) {
    /* inp, out: [N,C]; w, b: [C]; mean, rstd: [N] */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        VecSum acc = vsum_zero();
        for (int c = 0; c < C; c += VEC_LANES) vsum_add(&acc, (size_t)c, vec_load_n(x + c, (size_t)(C - c), 0.0f));
        float m = vsum_total(&acc) / C;
        acc = vsum_zero();
        for (int c = 0; c < C; c += VEC_LANES) {
            vecf d = vec_load_n(x + c, (size_t)(C - c), m) - m; /* padding lanes give 0 */
            vsum_add(&acc, (size_t)c, d * d);
        }
        float s = 1.0f / sqrtf(vsum_total(&acc) / C + eps);
        for (int c = 0; c < C; c += VEC_LANES) {
            size_t k = (size_t)(C - c);
            vecf xhat = (vec_load_n(x + c, k, 0.0f) - m) * s;
            vec_store_n(y + c, xhat * vec_load_n(w + c, k, 0.0f) + vec_load_n(b + c, k, 0.0f), k);
        }
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
        VecSum acc_dnorm = vsum_zero(), acc_dnorm_xhat = vsum_zero();
        for (int c = 0; c < C; c += VEC_LANES) {
            size_t k = (size_t)(C - c);
            vecf xhat = (vec_load_n(x + c, k, 0.0f) - m) * s;
            vecf g = vec_load_n(dy + c, k, 0.0f);
            vecf dnorm = g * vec_load_n(w + c, k, 0.0f); /* padding lanes: g = 0 */
            vsum_add(&acc_dnorm, (size_t)c, dnorm);
            vsum_add(&acc_dnorm_xhat, (size_t)c, dnorm * xhat);
            if (dw) vec_store_n(dw + c, vec_load_n(dw + c, k, 0.0f) + g * xhat, k);
            if (db) vec_store_n(db + c, vec_load_n(db + c, k, 0.0f) + g, k);
        }
        if (!dinp) continue;
        float dnorm_mean = vsum_total(&acc_dnorm) / C, dnorm_xhat_mean = vsum_total(&acc_dnorm_xhat) / C;
        float *dx = dinp + (size_t)n * C;
        for (int c = 0; c < C; c += VEC_LANES) {
            size_t k = (size_t)(C - c);
            vecf xhat = (vec_load_n(x + c, k, 0.0f) - m) * s;
            vecf dnorm = vec_load_n(dy + c, k, 0.0f) * vec_load_n(w + c, k, 0.0f);
            vec_store_n(dx + c, vec_load_n(dx + c, k, 0.0f) + s * (dnorm - dnorm_mean - xhat * dnorm_xhat_mean), k);
        }
    }
}
