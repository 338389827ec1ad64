/* Dense linear algebra beyond GEMM, through OpenBLAS's LAPACK. */
#ifndef MOIL_LINALG_H
#define MOIL_LINALG_H

/* Thin SVD of the row-major A[m,n] (computed in double): A = U diag(S) Vt,
 * U [m,k], S [k] descending, Vt [k,n], k = min(m,n). Returns -1 (err_set)
 * if LAPACK fails to converge. */
int svd_rowmajor(const float *A, int m, int n, float *U, float *S, float *Vt);

/* Frobenius norm of the best rank-r approximation error of A[m,n]
 * (Eckart-Young: sqrt of the sum of the squared singular values after the
 * r-th); -1 on failure. */
double svd_tail_norm(const float *A, int m, int n, int r);

#endif
