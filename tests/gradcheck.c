#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

double gradcheck_dot(const float *out, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

static double check_tensor(const GcCase *c, GcTensor *t, Rng *rng, size_t *checked, double *max_abs) {
    size_t m = (size_t)c->samples < t->n ? (size_t)c->samples : t->n;
    double num = 0.0, nfd = 0.0, nan_ = 0.0;
    *max_abs = 0.0;
    for (size_t s = 0; s < m; s++) {
        size_t i = m == t->n ? s : rng_below(rng, (uint32_t)t->n);
        float orig = t->x[i];
        t->x[i] = orig + (float)c->h;
        double lp = c->loss(c->ctx);
        t->x[i] = orig - (float)c->h;
        double lm = c->loss(c->ctx);
        t->x[i] = orig;
        /* the step actually taken after rounding to float */
        double step = (double)(orig + (float)c->h) - (double)(orig - (float)c->h);
        double fd = (lp - lm) / step;
        double an = t->grad[i];
        double d = fd - an;
        num += d * d;
        nfd += fd * fd;
        nan_ += an * an;
        if (fabs(d) > *max_abs) *max_abs = fabs(d);
    }
    *checked = m;
    double den = sqrt(nfd > nan_ ? nfd : nan_);
    if (den < 1e-12) return sqrt(num) < 1e-9 ? 0.0 : INFINITY;
    return sqrt(num) / den;
}

int gradcheck_run(const GcCase *c, GcTensor *tensors, int n_tensors, Rng *rng) {
    c->grad(c->ctx);
    /* keep a copy: the loss calls below may reuse buffers */
    size_t total = 0;
    for (int t = 0; t < n_tensors; t++) total += tensors[t].n;
    float *saved = xmalloc(sizeof(float) * (total ? total : 1));
    const float **orig = xmalloc(sizeof(float *) * (n_tensors ? n_tensors : 1));
    size_t off = 0;
    for (int t = 0; t < n_tensors; t++) {
        for (size_t i = 0; i < tensors[t].n; i++) saved[off + i] = tensors[t].grad[i];
        orig[t] = tensors[t].grad;
        tensors[t].grad = saved + off;
        off += tensors[t].n;
    }
    int failed = 0;
    for (int t = 0; t < n_tensors; t++) {
        size_t checked;
        double max_abs;
        double rel = check_tensor(c, &tensors[t], rng, &checked, &max_abs);
        int ok = rel <= c->tol || max_abs <= c->atol;
        printf("  gradcheck %s %s: rel err %.2e, max abs %.2e (tol %.0e) over %zu coords%s\n", c->op,
               tensors[t].name, rel, max_abs, c->tol, checked, ok ? "" : "  FAILED");
        failed += !ok;
        tensors[t].grad = orig[t];
    }
    free(orig);
    free(saved);
    return failed;
}
