/* This file contains the statistics of table cells (report_stats.h):
 * Welch's t-test from summaries, the bootstrap over test items and seeds,
 * Holm's adjustment. */
#include "report_stats.h"

#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "rng.h"

#define CF_MAX_TERMS 300
#define CF_EPS 1e-15
#define CF_TINY 1e-300

/* The continued fraction of I_x(a, b) (without its prefactor), converging
 * for x < (a + 1) / (a + b + 2): terms d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)),
 * d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)). */
static double beta_fraction(double x, double a, double b) {
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < CF_TINY) d = CF_TINY;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= CF_MAX_TERMS; m++) {
        for (int odd = 0; odd < 2; odd++) {
            double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d;
            c = 1 + num / c;
            if (fabs(d) < CF_TINY) d = CF_TINY;
            if (fabs(c) < CF_TINY) c = CF_TINY;
            d = 1 / d;
            h *= d * c;
            if (odd && fabs(d * c - 1) < CF_EPS) return h;
        }
    }
    return h;
}

double stats_incomplete_beta(double x, double a, double b) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(x, a, b) / a;
    return 1 - front * beta_fraction(1 - x, b, a) / b;
}

double stats_welch_p(double m1, double s1, int n1, double m2, double s2, int n2) {
    if (n1 < 2 || n2 < 2) return NAN;
    double v1 = s1 * s1 / n1, v2 = s2 * s2 / n2, v = v1 + v2;
    if (v == 0) return m1 == m2 ? 1 : 0;
    double t = (m1 - m2) / sqrt(v);
    double df = v * v / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1));
    return stats_incomplete_beta(df / (df + t * t), df / 2, 0.5);
}

/* ---- the bootstrap over test items and seeds ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted r[n], interpolated between order statistics. */
static double quantile(const double *r, int n, double q) {
    double h = q * (n - 1);
    int k = (int)floor(h);
    if (k >= n - 1) return r[n - 1];
    return r[k] + (h - k) * (r[k + 1] - r[k]);
}

/* Student's t with df degrees of freedom: a normal over the root of a
 * chi-square (df squared normals) over df. */
static double student_t(Rng *rng, int df) {
    double chi2 = 0;
    for (int i = 0; i < df; i++) {
        double z = rng_normal(rng);
        chi2 += z * z;
    }
    return rng_normal(rng) / sqrt(chi2 / df);
}

/* B replicates of the mean of x[S][N] into reps (stats_boot_interval);
 * returns the mean itself. */
static double boot_replicates(const double *x, int S, int N, int B, uint64_t seed, double *reps) {
    double *item = xcalloc((size_t)N, sizeof *item), grand = 0;
    for (int s = 0; s < S; s++)
        for (int i = 0; i < N; i++) item[i] += x[(size_t)s * N + i] / S;
    for (int i = 0; i < N; i++) grand += item[i] / N;
    double seed_se = 0; /* the standard error the seeds add to the mean */
    if (S > 1) {
        /* the seed means' variance, and the residual mean square of the two-way layout */
        double v_seed = 0, ss_res = 0;
        for (int s = 0; s < S; s++) {
            double m = 0;
            for (int i = 0; i < N; i++) m += x[(size_t)s * N + i] / N;
            v_seed += (m - grand) * (m - grand) / (S - 1);
            for (int i = 0; i < N; i++) {
                double r = x[(size_t)s * N + i] - m - item[i] + grand;
                ss_res += r * r;
            }
        }
        double var_seed = v_seed - ss_res / ((double)(S - 1) * (N - 1)) / N; /* the seeds' variance component */
        if (var_seed > 0) seed_se = sqrt(var_seed / S);
    }
    Rng rng;
    rng_seed(&rng, seed);
    for (int b = 0; b < B; b++) {
        double sum = 0;
        for (int j = 0; j < N; j++) sum += item[rng_below(&rng, (uint32_t)N)];
        reps[b] = sum / N + (seed_se > 0 ? seed_se * student_t(&rng, S - 1) : 0);
    }
    free(item);
    return grand;
}

void stats_boot_interval(const StatsCell *c, int B, uint64_t seed, double *mean, double *lo, double *hi) {
    *mean = *lo = *hi = NAN;
    if (c->n_seeds < 1 || c->n_items < 2 || B < 2) return;
    double *reps = xcalloc((size_t)B, sizeof *reps);
    *mean = boot_replicates(c->x, c->n_seeds, c->n_items, B, seed, reps);
    qsort(reps, (size_t)B, sizeof *reps, cmp_double);
    *lo = quantile(reps, B, (1 - STATS_LEVEL) / 2);
    *hi = quantile(reps, B, 1 - (1 - STATS_LEVEL) / 2);
    free(reps);
}

int stats_boot_paired(const StatsCell *a, const StatsCell *b, int B, uint64_t seed, double *diff, double *lo,
                      double *hi, double *p) {
    *diff = *lo = *hi = *p = NAN;
    int N = a->n_items;
    if (N != b->n_items || N < 2 || B < 2) return 0;
    double *d = xcalloc((size_t)a->n_seeds * N + 1, sizeof *d);
    int S = 0;
    for (int s = 0; s < a->n_seeds; s++)
        for (int t = 0; t < b->n_seeds; t++) {
            if (a->seeds[s] != b->seeds[t]) continue;
            for (int i = 0; i < N; i++) d[(size_t)S * N + i] = a->x[(size_t)s * N + i] - b->x[(size_t)t * N + i];
            S++;
        }
    if (S > 0) {
        double *reps = xcalloc((size_t)B, sizeof *reps);
        *diff = boot_replicates(d, S, N, B, seed, reps);
        int far = 0;
        for (int r = 0; r < B; r++) far += fabs(reps[r] - *diff) >= fabs(*diff);
        *p = (1.0 + far) / (B + 1.0);
        qsort(reps, (size_t)B, sizeof *reps, cmp_double);
        *lo = quantile(reps, B, (1 - STATS_LEVEL) / 2);
        *hi = quantile(reps, B, 1 - (1 - STATS_LEVEL) / 2);
        free(reps);
    }
    free(d);
    return S;
}

void stats_holm(const double *p, int n, double *adjusted) {
    int *order = xcalloc((size_t)n + 1, sizeof *order), m = 0;
    for (int i = 0; i < n; i++) {
        adjusted[i] = NAN;
        if (!isnan(p[i])) order[m++] = i;
    }
    /* insertion sort of the tested indices by p (n is a table's comparisons) */
    for (int i = 1; i < m; i++)
        for (int j = i; j > 0 && p[order[j]] < p[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    double running = 0;
    for (int k = 0; k < m; k++) {
        double v = p[order[k]] * (m - k);
        running = fmax(running, v < 1 ? v : 1);
        adjusted[order[k]] = running;
    }
    free(order);
}
