/* Multi-head softmax attention with a key padding mask. Per (batch, head) the
 * products are sgemm calls on strided views of the [B,T,C] tensors; the
 * softmax rows run on the vectors of op_internal.h. */
#include "ops.h"

#include <cblas.h>
#include <math.h>

#include "op_internal.h"

/* T rounded up to whole vectors */
static int padded(int T) { return (T + VEC_LANES - 1) / VEC_LANES * VEC_LANES; }

/* lanes[padded(T)] = -1 where mask[j] != 0, else 0 (also past T): the lane
 * masks of one sequence's keys, loaded a vector at a time. */
static void mask_lanes(int *lanes, const int *mask, int T) {
    for (int j = 0; j < padded(T); j++) lanes[j] = j < T && mask[j] ? -1 : 0;
}

static veci lanes_load(const int *lanes) {
    veci v;
    memcpy(&v, lanes, sizeof v);
    return v;
}

/* row[T] = softmax of row over the keys whose lane is set, 0 elsewhere. */
static void softmax_row(float *row, const int *lanes, int T) {
    const vecf ninf = vec_set(-INFINITY);
    vecf vmax = ninf;
    for (int j = 0; j < T; j += VEC_LANES) {
        vecf x = vec_load_n(row + j, (size_t)(T - j), 0.0f);
        vmax = vec_max(vmax, vec_select(lanes_load(lanes + j), x, ninf));
    }
    float mx = vec_hmax(vmax);
    VecSum acc = vsum_zero();
    for (int j = 0; j < T; j += VEC_LANES) {
        size_t k = (size_t)(T - j);
        vecf e = vec_select(lanes_load(lanes + j), vec_exp(vec_load_n(row + j, k, 0.0f) - mx), vec_set(0.0f));
        vsum_add(&acc, (size_t)j, e);
        vec_store_n(row + j, e, k);
    }
    float inv = 1.0f / vsum_total(&acc);
    for (int j = 0; j < T; j += VEC_LANES) {
        size_t k = (size_t)(T - j);
        vec_store_n(row + j, vec_load_n(row + j, k, 0.0f) * inv, k);
    }
}

/* d[T] = scale * p * (d - sum_j p d): softmax backward of one row in place. */
static void softmax_row_backward(float *d, const float *p, int T, float scale) {
    VecSum acc = vsum_zero();
    for (int j = 0; j < T; j += VEC_LANES) {
        size_t k = (size_t)(T - j);
        vsum_add(&acc, (size_t)j, vec_load_n(p + j, k, 0.0f) * vec_load_n(d + j, k, 0.0f));
    }
    float dot = vsum_total(&acc);
    for (int j = 0; j < T; j += VEC_LANES) {
        size_t k = (size_t)(T - j);
        vec_store_n(d + j, vec_load_n(p + j, k, 0.0f) * (vec_load_n(d + j, k, 0.0f) - dot) * scale, k);
    }
}

size_t attention_lanes(int T) { return (size_t)padded(T) * 4; }

void attention_forward(float *out, float *probs, int *lanes, const float *q, const float *k, const float *v,
                       const int *key_mask, int B, int T, int C, int H) {
    attention_forward_mode(out, probs, lanes, q, k, v, key_mask, B, T, C, H, 0, ATTN_FULL);
}

void attention_forward_mode(float *out, float *probs, int *lanes, const float *q, const float *k, const float *v,
                            const int *key_mask, int B, int T, int C, int H, int seg, AttnMode mode) {
    /* q,k,v,out: [B,T,C]; probs: [B,H,T,T]; key_mask: [B,T]; rows [0,seg) are text */
    int hs = C / H, Tp = padded(T);
    float scale = 1.0f / sqrtf((float)hs);
    /* lanes of the key mask as a query of each kind sees it: [0] every
     * unpadded key, [1] text keys only, [2] non-text keys only, [3] scratch
     * for one causal text row */
    for (int b = 0; b < B; b++) {
        const int *km = key_mask + (size_t)b * T;
        mask_lanes(lanes, km, T);
        for (int j = 0; j < Tp; j++) {
            lanes[Tp + j] = j < seg ? lanes[j] : 0;
            lanes[2 * Tp + j] = j >= seg ? lanes[j] : 0;
        }
        for (int h = 0; h < H; h++) {
            size_t off = (size_t)b * T * C + (size_t)h * hs;
            float *P = probs + ((size_t)b * H + h) * T * T;
            /* S[T,T] = scale * Q[T,hs] K[T,hs]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q + off, C, k + off, C, 0.0f, P, T);
            for (int i = 0; i < T; i++) {
                const int *row_lanes = lanes;
                if (mode == ATTN_SEPARATE || (mode == ATTN_CAUSAL_TEXT && i >= seg)) {
                    row_lanes = lanes + (i < seg ? Tp : 2 * Tp);
                } else if (mode == ATTN_CAUSAL_TEXT) {
                    int *causal = lanes + 3 * Tp;
                    for (int j = 0; j < Tp; j++) causal[j] = (j > i && j < seg) ? 0 : lanes[j];
                    row_lanes = causal;
                }
                softmax_row(P + (size_t)i * T, row_lanes, T);
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
            for (int i = 0; i < T; i++) softmax_row_backward(dP + (size_t)i * T, P + (size_t)i * T, T, scale);
            /* dQ[T,hs] += dS K; dK[T,hs] += dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, dP, T, k + off, C, 1.0f, dq + off, C);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, dP, T, q + off, C, 1.0f, dk + off, C);
        }
    }
}
