/* The finite-difference gradient harness every op, model and method joins.
 *
 * A case is a scalar loss L(x) of some float tensors, computed by `loss`
 * (forward only, accumulated in double by the caller), and `grad`, which
 * zeroes the gradients and runs forward + backward so that each tensor's
 * grad buffer holds dL/dx. For sampled coordinates the harness compares the
 * analytic gradient with the central difference (L(x+h) - L(x-h)) / 2h and
 * reports, per tensor, the norm-relative error ||fd - an|| / max(||fd||, ||an||)
 * over the sampled coordinates. A tensor passes when that error <= tol
 * (or, see atol, when the gradient is zero and the differences tiny). */
#ifndef MOIL_GRADCHECK_H
#define MOIL_GRADCHECK_H

#include <stddef.h>

#include "rng.h"

typedef struct {
    const char *name;
    float *x;          /* values, perturbed in place and restored */
    const float *grad; /* analytic gradient, filled by grad() */
    size_t n;
} GcTensor;

typedef struct {
    const char *op; /* what is checked, for the report */
    double h;       /* finite-difference step */
    double tol;     /* pass threshold on the norm-relative error */
    int samples;    /* coordinates checked per tensor (all if n is smaller) */
    double (*loss)(void *ctx);
    void (*grad)(void *ctx);
    void *ctx;
    /* A tensor whose true gradient is zero (the attention key bias: softmax
     * ignores a shift common to a row) has no meaningful relative error; it
     * passes when every sampled |fd - an| <= atol. 0 disables this. */
    double atol;
} GcCase;

/* Runs the check on every tensor, prints one line per tensor
 * ("gradcheck <op> <tensor>: rel err 3.1e-04 (tol 1e-02) over 64 coords")
 * and returns the number of tensors that failed. */
int gradcheck_run(const GcCase *c, GcTensor *tensors, int n_tensors, Rng *rng);

/* Helper for op checks: sum_i out[i] * r[i] in double. */
double gradcheck_dot(const float *out, const float *r, size_t n);

#endif
