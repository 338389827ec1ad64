/* Embedding lookup. */
#include "ops.h"

#include <string.h>

void embedding_forward(float *out, const int *ids, const float *table, int N, int C) {
    /* out[N,C] = table[ids[n], :] */
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * C, table + (size_t)ids[n] * C, sizeof(float) * C);
}

void embedding_backward(float *dtable, const float *dout, const int *ids, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *row = dtable + (size_t)ids[n] * C;
        const float *g = dout + (size_t)n * C;
        for (int c = 0; c < C; c++) row[c] += g[c];
    }
}
