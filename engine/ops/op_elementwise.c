/* Element-wise ops: GELU (exact, erf), tanh, residual add. The GELU loops run
 * VEC_LANES at a time with the erf and exp of op_internal.h. */
#include "ops.h"

#include <math.h>

#include "op_internal.h"

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT2PI 0.39894228040143267794f

void gelu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i += VEC_LANES) {
        vecf x = vec_load_n(inp + i, n - i, 0.0f);
        vecf u = x * INV_SQRT2;
        vecf cdf = 0.5f * (1.0f + vec_erf(u, vec_exp(-(u * u))));
        vec_store_n(out + i, x * cdf, n - i);
    }
}

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    /* d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) */
    for (size_t i = 0; i < n; i += VEC_LANES) {
        vecf x = vec_load_n(inp + i, n - i, 0.0f);
        vecf u = x * INV_SQRT2;
        vecf e = vec_exp(-(u * u));
        vecf cdf = 0.5f * (1.0f + vec_erf(u, e));
        vecf g = vec_load_n(dout + i, n - i, 0.0f) * (cdf + x * (INV_SQRT2PI * e));
        vec_store_n(dinp + i, vec_load_n(dinp + i, n - i, 0.0f) + g, n - i);
    }
}

void tanh_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void tanh_backward(float *dinp, const float *out, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

void residual_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i += VEC_LANES)
        vec_store_n(out + i, vec_load_n(a + i, n - i, 0.0f) + vec_load_n(b + i, n - i, 0.0f), n - i);
}

void residual_backward(float *da, float *db, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i += VEC_LANES) {
        vecf g = vec_load_n(dout + i, n - i, 0.0f);
        if (da) vec_store_n(da + i, vec_load_n(da + i, n - i, 0.0f) + g, n - i);
        if (db) vec_store_n(db + i, vec_load_n(db + i, n - i, 0.0f) + g, n - i);
    }
}
