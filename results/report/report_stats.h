/* Comparing two table cells from their summaries (mean, sample sd, n):
 * Welch's t-test, the test the claims of the report use. */
#ifndef MOIL_REPORT_STATS_H
#define MOIL_REPORT_STATS_H

/* The two-sided p-value of Welch's t-test that the two means are equal,
 * from each sample's mean, sample standard deviation and size: t = (m1 -
 * m2) / sqrt(s1^2/n1 + s2^2/n2) against Student's t with the
 * Welch-Satterthwaite degrees of freedom. NaN when either n < 2; with both
 * sds 0, 1 for equal means and 0 otherwise. */
double stats_welch_p(double m1, double s1, int n1, double m2, double s2, int n2);
/* The regularized incomplete beta function I_x(a, b), 0 <= x <= 1, a, b > 0
 * (a continued fraction, evaluated by the modified Lentz method). */
double stats_incomplete_beta(double x, double a, double b);

#endif
