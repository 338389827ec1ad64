/* Multi-head softmax attention with a key padding mask. Per (batch, head) the
 * products are sgemm calls on strided views of the [B,T,C] tensors. */
#include "ops.h"

#include <cblas.h>
#include <math.h>

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       const int *key_mask, int B, int T, int C, int H) {
    /* q,k,v,out: [B,T,C]; probs: [B,H,T,T]; key_mask: [B,T] */
    int hs = C / H;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        const int *mask = key_mask + (size_t)b * T;
        for (int h = 0; h < H; h++) {
            size_t off = (size_t)b * T * C + (size_t)h * hs;
            float *P = probs + ((size_t)b * H + h) * T * T;
            /* S[T,T] = scale * Q[T,hs] K[T,hs]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q + off, C, k + off, C, 0.0f, P, T);
            for (int i = 0; i < T; i++) {
                float *row = P + (size_t)i * T;
                float mx = -INFINITY;
                for (int j = 0; j < T; j++)
                    if (mask[j] && row[j] > mx) mx = row[j];
                float sum = 0.0f;
                for (int j = 0; j < T; j++) {
                    row[j] = mask[j] ? expf(row[j] - mx) : 0.0f;
                    sum += row[j];
                }
                float inv = 1.0f / sum;
                for (int j = 0; j < T; j++) row[j] *= inv;
            }
            /* out[T,hs] = P[T,T] V[T,hs] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, P, T, v + off, C, 0.0f, out + off, C);
        }
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *probs, const float *q, const float *k, const float *v,
                        int B, int T, int C, int H) {
    int hs = C / H;
    float scale = 1.0f / sqrtf((float)hs);
    float *dP = scratch; /* [T,T] */
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            size_t off = (size_t)b * T * C + (size_t)h * hs;
            const float *P = probs + ((size_t)b * H + h) * T * T;
            /* dV[T,hs] += P^T dout; dP[T,T] = dout V^T */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, P, T, dout + off, C, 1.0f, dv + off, C);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dout + off, C, v + off, C, 0.0f, dP, T);
            /* softmax backward: dS = P * (dP - sum_j P dP), then the scale */
            for (int i = 0; i < T; i++) {
                const float *p = P + (size_t)i * T;
                float *d = dP + (size_t)i * T;
                float dot = 0.0f;
                for (int j = 0; j < T; j++) dot += p[j] * d[j];
                for (int j = 0; j < T; j++) d[j] = p[j] * (d[j] - dot) * scale;
            }
            /* dQ[T,hs] += dS K; dK[T,hs] += dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, dP, T, k + off, C, 1.0f, dq + off, C);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, dP, T, q + off, C, 1.0f, dk + off, C);
        }
    }
}
