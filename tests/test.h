/* A minimal test harness. Each test binary lists its cases with RUN(case);
 * a case fails when any CHECK in it fails. Output is one line per case,
 * "ok <case>" or "not ok <case>", with the failing checks printed before it;
 * tests/run.sh adds the lines of every binary into "N passed, N failed".
 * The exit status carries the verdict. */
#ifndef MOIL_TEST_H
#define MOIL_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_case_failed;
static int test_cases_failed;
static int test_cases_passed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
            test_case_failed = 1;                                               \
        }                                                                       \
    } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_CLOSE(a, b, tol)                                                  \
    do {                                                                        \
        double ca_ = (double)(a), cb_ = (double)(b);                            \
        double lim_ = (tol) * (fabs(cb_) > 1 ? fabs(cb_) : 1);                  \
        CHECK(fabs(ca_ - cb_) <= lim_, "%s = %.17g, expected %.17g (tol %g)",   \
              #a, ca_, cb_, (double)(tol));                                     \
    } while (0)

#define RUN(fn)                                                                 \
    do {                                                                        \
        test_case_failed = 0;                                                   \
        fflush(stdout);                                                         \
        fn();                                                                   \
        if (test_case_failed) {                                                 \
            printf("not ok %s\n", #fn);                                         \
            test_cases_failed++;                                                \
        } else {                                                                \
            printf("ok %s\n", #fn);                                             \
            test_cases_passed++;                                                \
        }                                                                       \
        fflush(stdout);                                                         \
    } while (0)

#define TEST_DONE() (test_cases_failed ? 1 : 0)

#endif
