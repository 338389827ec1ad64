#include "op_reference.h"

#include <stddef.h>

void linear_forward_naive(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            double s = b ? b[o] : 0.0;
            for (int c = 0; c < C; c++) s += (double)inp[(size_t)n * C + c] * W[(size_t)o * C + c];
            out[(size_t)n * OC + o] = (float)s;
        }
    }
}

void linear_backward_naive(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                           const float *W, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            float g = dout[(size_t)n * OC + o];
            if (db) db[o] += g;
            for (int c = 0; c < C; c++) {
                if (dinp) dinp[(size_t)n * C + c] += g * W[(size_t)o * C + c];
                if (dW) dW[(size_t)o * C + c] += g * inp[(size_t)n * C + c];
            }
        }
    }
}
