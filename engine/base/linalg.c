#include "linalg.h"

#include <math.h>
#include <stdlib.h>

#include "check.h"

/* LAPACK (Fortran interface, exported by libopenblas) */
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *info);

/* SVD of the column-major B = A^T [n,m]: B = U2 S V2t, so A = V2t^T S U2^T. */
static int svd_double(const float *A, int m, int n, double *S, double *U2, double *VT2, const char *job) {
    int k = m < n ? m : n, info = 0, lwork = -1;
    double *b = xmalloc(sizeof(double) * (size_t)m * n), query;
    for (size_t i = 0; i < (size_t)m * n; i++) b[i] = A[i]; /* row-major A = column-major A^T [n,m] */
    dgesvd_(job, job, &n, &m, b, &n, S, U2, &n, VT2, &k, &query, &lwork, &info);
    lwork = (int)query;
    double *work = xmalloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1));
    dgesvd_(job, job, &n, &m, b, &n, S, U2, &n, VT2, &k, work, &lwork, &info);
    free(work);
    free(b);
    if (info != 0) return err_set("SVD of a %dx%d matrix failed (LAPACK dgesvd info %d)", m, n, info);
    return 0;
}

int svd_rowmajor(const float *A, int m, int n, float *U, float *S, float *Vt) {
    int k = m < n ? m : n;
    double *s = xmalloc(sizeof(double) * k), *u2 = xmalloc(sizeof(double) * (size_t)n * k);
    double *vt2 = xmalloc(sizeof(double) * (size_t)k * m);
    int rc = svd_double(A, m, n, s, u2, vt2, "S");
    if (rc == 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) U[(size_t)i * k + j] = (float)vt2[j + (size_t)i * k];
        for (int j = 0; j < k; j++) {
            S[j] = (float)s[j];
            for (int c = 0; c < n; c++) Vt[(size_t)j * n + c] = (float)u2[c + (size_t)j * n];
        }
    }
    free(s), free(u2), free(vt2);
    return rc;
}

double svd_tail_norm(const float *A, int m, int n, int r) {
    int k = m < n ? m : n;
    double *s = xmalloc(sizeof(double) * k), dummy = 0;
    double tail = -1;
    if (svd_double(A, m, n, s, &dummy, &dummy, "N") == 0) {
        tail = 0;
        for (int j = r; j < k; j++) tail += s[j] * s[j];
        tail = sqrt(tail);
    }
    free(s);
    return tail;
}
