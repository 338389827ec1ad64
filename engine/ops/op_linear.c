/* Linear layer through OpenBLAS sgemm (its plain-loop oracle: tests/op_reference.c). */
#include "ops.h"

#include <cblas.h>
#include <string.h>

#include "op_internal.h"

void linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC) {
    /* out[N,OC] = inp[N,C] W[OC,C]^T + b[OC] */
    float beta = 0.0f;
    if (b) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, sizeof(float) * OC);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, W, C, beta, out, OC);
}

void linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                     const float *W, int N, int C, int OC) {
    /* dinp[N,C] += dout[N,OC] W[OC,C] */
    if (dinp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, W, C, 1.0f, dinp, C);
    /* dW[OC,C] += dout^T[OC,N] inp[N,C] */
    if (dW) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dW, C);
    /* db[OC] += column sums of dout, row by row, VEC_LANES columns at a time */
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *row = dout + (size_t)n * OC;
            for (int o = 0; o < OC; o += VEC_LANES) {
                size_t k = (size_t)(OC - o);
                vec_store_n(db + o, vec_load_n(db + o, k, 0.0f) + vec_load_n(row + o, k, 0.0f), k);
            }
        }
    }
}
