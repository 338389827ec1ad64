/* Plain-loop references of linear_forward / linear_backward (engine/ops/ops.h),
 * the tests' oracle for the OpenBLAS path: same shapes and accumulation
 * contract, sums in double. */
#ifndef MOIL_TEST_OP_REFERENCE_H
#define MOIL_TEST_OP_REFERENCE_H

void linear_forward_naive(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC);
void linear_backward_naive(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                           const float *W, int N, int C, int OC);

#endif
