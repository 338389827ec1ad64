/* Inverted dropout: a mask of 0 (dropped, probability p) or 1/(1-p) (kept)
 * per element, drawn from the run's Rng, and out = inp * mask. The scale
 * keeps the expected value, so evaluation runs the layer as the identity. */
#include "ops.h"

#include <math.h>
#include <stdint.h>

#include "op_internal.h"

void dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, Rng *rng) {
    /* element i is dropped when a uniform 32-bit number falls below p * 2^32:
     * the low half of draw i/2 for even i, the high half for odd i; drawn a
     * block at a time (rng_next_n) and compared without branches */
    enum { BLOCK = 256 };
    uint64_t draws[BLOCK / 2];
    uint32_t below = (uint32_t)ldexp((double)p, 32);
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i += BLOCK) {
        size_t m = n - i < BLOCK ? n - i : BLOCK;
        rng_next_n(rng, draws, (m + 1) / 2);
        float *mk = mask + i;
        if (m == BLOCK) { /* a fixed trip count, which -O2 vectorises */
            for (size_t j = 0; j < BLOCK / 2; j++) {
                mk[2 * j] = keep * (float)((uint32_t)draws[j] >= below);
                mk[2 * j + 1] = keep * (float)((uint32_t)(draws[j] >> 32) >= below);
            }
        } else {
            for (size_t k = 0; k < m; k++) mk[k] = keep * (float)((uint32_t)(draws[k / 2] >> (32 * (k % 2))) >= below);
        }
        for (size_t k = 0; k < m; k += VEC_LANES) /* while the block's mask is in cache */
            vec_store_n(out + i + k, vec_load_n(inp + i + k, m - k, 0.0f) * vec_load_n(mk + k, m - k, 0.0f), m - k);
    }
}

void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i += VEC_LANES) {
        vecf g = vec_load_n(dout + i, n - i, 0.0f) * vec_load_n(mask + i, n - i, 0.0f);
        vec_store_n(dinp + i, vec_load_n(dinp + i, n - i, 0.0f) + g, n - i);
    }
}
