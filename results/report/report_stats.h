/* Statistics of table cells. From summaries (mean, sample sd, n over
 * seeds): Welch's t-test, the fallback for cells without per-item scores.
 * From per-item scores (docs/database.md, "Per-item scores"): a 95%
 * interval of a cell and a paired test of two cells by a bootstrap over
 * test items and seeds, and Holm's adjustment of several p-values
 * (results/README.md, "Intervals and tests"). */
#ifndef MOIL_REPORT_STATS_H
#define MOIL_REPORT_STATS_H

#include <stdint.h>

/* The two-sided p-value of Welch's t-test that the two means are equal,
 * from each sample's mean, sample standard deviation and size: t = (m1 -
 * m2) / sqrt(s1^2/n1 + s2^2/n2) against Student's t with the
 * Welch-Satterthwaite degrees of freedom. NaN when either n < 2; with both
 * sds 0, 1 for equal means and 0 otherwise. */
double stats_welch_p(double m1, double s1, int n1, double m2, double s2, int n2);
/* The regularized incomplete beta function I_x(a, b), 0 <= x <= 1, a, b > 0
 * (a continued fraction, evaluated by the modified Lentz method). */
double stats_incomplete_beta(double x, double a, double b);

#define STATS_BOOT_B 2000   /* bootstrap replicates of every interval and test */
#define STATS_BOOT_SEED 20  /* every bootstrap starts from this RNG seed: the same numbers on every rendering */
#define STATS_LEVEL 0.95    /* the intervals' coverage */
#define STATS_ALPHA 0.05    /* a difference counts as one when its two-sided p-value is below this */

/* The scores of one table cell: n_seeds runs (one per seed), each of the
 * same n_items test items in the same order, in the column's unit (an R@K
 * cell: 100 where the item's rank is within K, else 0). */
typedef struct {
    int n_seeds, n_items;
    const double *x;      /* [n_seeds][n_items] */
    const int64_t *seeds; /* [n_seeds] the seed of each run, distinct */
} StatsCell;

/* The mean of a cell (over seeds of the mean over items) and its
 * STATS_LEVEL interval: the percentiles of B bootstrap replicates, each the
 * mean over a resample of the items (one resample for every seed: it
 * carries the items' and the residual's variance) plus a draw of the
 * seeds' part: their standard error, from the seeds' variance component
 * of the two-way layout (the variance of the seed means less the residual
 * mean square over n_items, so that the residual is not counted twice),
 * times Student's t with n_seeds - 1 degrees of freedom (3 seeds resampled
 * cannot show their own uncertainty: measured, tests that resampled them
 * rejected 14% of null comparisons). With one seed: items alone. NaN
 * bounds when there are fewer than 2 items. */
void stats_boot_interval(const StatsCell *c, int B, uint64_t seed, double *mean, double *lo, double *hi);
/* The paired comparison of a and b (the same items): the per-item
 * differences of the runs of the seeds both cells have, paired by seed,
 * through the same bootstrap. *diff: their mean (a - b); [*lo, *hi] its
 * interval; *p the two-sided p-value that the difference is 0: the share of
 * replicates at least |diff| from diff, (1 + count) / (B + 1). Returns the
 * number of paired seeds; 0 (outputs NaN) when there is none or the cells
 * have different item counts. */
int stats_boot_paired(const StatsCell *a, const StatsCell *b, int B, uint64_t seed, double *diff, double *lo,
                      double *hi, double *p);
/* Holm's step-down adjustment of the n p-values p[] into adjusted[] (NaN
 * entries stay NaN and do not count as comparisons): the k-th smallest of
 * the m tested is multiplied by m - k + 1, capped at 1, made monotone. */
void stats_holm(const double *p, int n, double *adjusted);

#endif
