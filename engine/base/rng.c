#include "rng.h"

#include <math.h>

void rng_seed(Rng *r, uint64_t seed) { r->state = seed ^ 0x9E3779B97F4A7C15ull; }

#define RNG_GAMMA 0x9E3779B97F4A7C15ull

/* splitmix64's output function of a state */
static inline uint64_t rng_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t rng_next(Rng *r) { return rng_mix(r->state += RNG_GAMMA); }

void rng_next_n(Rng *r, uint64_t *out, size_t n) {
    /* value i depends on the state and i only: blocks of 8 for the vectoriser */
    uint64_t s = r->state;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++) out[i + k] = rng_mix(s + (i + k + 1) * RNG_GAMMA);
    for (; i < n; i++) out[i] = rng_mix(s + (i + 1) * RNG_GAMMA);
    r->state = s + n * RNG_GAMMA;
}

float rng_uniform(Rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

uint32_t rng_below(Rng *r, uint32_t n) { return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32); }

float rng_normal(Rng *r) {
    double u1 = ((double)(rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_fill_uniform(Rng *r, float *x, long n, float lo, float hi) {
    for (long i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(r);
}

void rng_fill_normal(Rng *r, float *x, long n, float std) {
    for (long i = 0; i < n; i++) x[i] = std * rng_normal(r);
}
