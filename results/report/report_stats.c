/* Welch's t-test from summaries (report_stats.h). */
#include "report_stats.h"

#include <math.h>

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
