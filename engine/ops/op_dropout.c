/* Inverted dropout: a mask of 0 (dropped, probability p) or 1/(1-p) (kept)
 * per element, drawn from the run's Rng, then out = inp * mask. The scale
 * keeps the expected value, so evaluation runs the layer as the identity. */
#include "ops.h"

#include <math.h>
#include <stdint.h>

#include "op_internal.h"

void dropout_mask(float *mask, size_t n, float p, Rng *rng) {
    /* element i is dropped when a uniform 32-bit draw falls below p * 2^32;
     * one 64-bit draw gives two elements */
    uint32_t below = (uint32_t)ldexp((double)p, 32);
    float keep = 1.0f / (1.0f - p);
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        uint64_t r = rng_next(rng);
        mask[i] = (uint32_t)r < below ? 0.0f : keep;
        mask[i + 1] = (uint32_t)(r >> 32) < below ? 0.0f : keep;
    }
    if (i < n) mask[i] = (uint32_t)rng_next(rng) < below ? 0.0f : keep;
}

void dropout_forward(float *out, const float *inp, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i += VEC_LANES)
        vec_store_n(out + i, vec_load_n(inp + i, n - i, 0.0f) * vec_load_n(mask + i, n - i, 0.0f), n - i);
}

void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i += VEC_LANES) {
        vecf g = vec_load_n(dout + i, n - i, 0.0f) * vec_load_n(mask + i, n - i, 0.0f);
        vec_store_n(dinp + i, vec_load_n(dinp + i, n - i, 0.0f) + g, n - i);
    }
}
