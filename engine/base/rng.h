/* Deterministic pseudo-random numbers (splitmix64): the same seed gives the
 * same sequence on every machine. */
#ifndef MOIL_RNG_H
#define MOIL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t state;
} Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
/* out[n]: the next n values, the same as n calls of rng_next, computed
 * independently of each other (so the loop vectorises). */
void rng_next_n(Rng *r, uint64_t *out, size_t n);
/* Uniform in [0, 1). */
float rng_uniform(Rng *r);
/* Uniform integer in [0, n). */
uint32_t rng_below(Rng *r, uint32_t n);
/* Standard normal (Box-Muller). */
float rng_normal(Rng *r);
/* Fill x[n] with uniform draws in [lo, hi). */
void rng_fill_uniform(Rng *r, float *x, long n, float lo, float hi);
/* Fill x[n] with normal draws of the given standard deviation. */
void rng_fill_normal(Rng *r, float *x, long n, float std);

#endif
