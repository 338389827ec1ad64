/* 2-D convolution through im2col + OpenBLAS sgemm. */
#include <cblas.h>
#include <string.h>

#include "op_conv.h"

int conv_out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* cols[Cin*k*k, Ho*Wo] from one image [Cin,H,W] (zero padding). */
static void im2col(float *cols, const float *img, int Cin, int H, int W, int k, int stride, int pad, int Ho, int Wo) {
    for (int c = 0; c < Cin; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = cols + ((size_t)(c * k + ky) * k + kx) * Ho * Wo;
                for (int oy = 0; oy < Ho; oy++) {
                    int y = oy * stride - pad + ky;
                    for (int ox = 0; ox < Wo; ox++) {
                        int x = ox * stride - pad + kx;
                        row[oy * Wo + ox] = (y >= 0 && y < H && x >= 0 && x < W) ? img[((size_t)c * H + y) * W + x] : 0.0f;
                    }
                }
            }
}

/* img[Cin,H,W] += col2im(cols) */
static void col2im(float *img, const float *cols, int Cin, int H, int W, int k, int stride, int pad, int Ho, int Wo) {
    for (int c = 0; c < Cin; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = cols + ((size_t)(c * k + ky) * k + kx) * Ho * Wo;
                for (int oy = 0; oy < Ho; oy++) {
                    int y = oy * stride - pad + ky;
                    if (y < 0 || y >= H) continue;
                    for (int ox = 0; ox < Wo; ox++) {
                        int x = ox * stride - pad + kx;
                        if (x >= 0 && x < W) img[((size_t)c * H + y) * W + x] += row[oy * Wo + ox];
                    }
                }
            }
}

void conv_forward(float *out, float *cols, const float *inp, const float *Wt, const float *b, const ConvShape *s) {
    /* inp [B,Cin,H,W]; Wt [Cout,Cin*k*k]; out [B,Cout,Ho,Wo]; cols [B,Cin*k*k,Ho*Wo] */
    int Ho = conv_out_size(s->H, s->k, s->stride, s->pad), Wo = conv_out_size(s->W, s->k, s->stride, s->pad);
    int K = s->Cin * s->k * s->k, HW = Ho * Wo;
    for (int n = 0; n < s->B; n++) {
        float *cn = cols + (size_t)n * K * HW, *on = out + (size_t)n * s->Cout * HW;
        im2col(cn, inp + (size_t)n * s->Cin * s->H * s->W, s->Cin, s->H, s->W, s->k, s->stride, s->pad, Ho, Wo);
        for (int o = 0; o < s->Cout; o++)
            for (int i = 0; i < HW; i++) on[(size_t)o * HW + i] = b ? b[o] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->Cout, HW, K, 1.0f, Wt, K, cn, HW, 1.0f, on, HW);
    }
}

void conv_backward(float *dinp, float *dW, float *db, float *dcols, const float *dout, const float *cols,
                   const float *Wt, const ConvShape *s) {
    int Ho = conv_out_size(s->H, s->k, s->stride, s->pad), Wo = conv_out_size(s->W, s->k, s->stride, s->pad);
    int K = s->Cin * s->k * s->k, HW = Ho * Wo;
    for (int n = 0; n < s->B; n++) {
        const float *dn = dout + (size_t)n * s->Cout * HW, *cn = cols + (size_t)n * K * HW;
        /* dW[Cout,K] += dout_n[Cout,HW] cols_n^T */
        if (dW) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->Cout, K, HW, 1.0f, dn, HW, cn, HW, 1.0f, dW, K);
        if (db)
            for (int o = 0; o < s->Cout; o++)
                for (int i = 0; i < HW; i++) db[o] += dn[(size_t)o * HW + i];
        if (!dinp) continue;
        /* dcols[K,HW] = W^T dout_n, then scattered back onto the image */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, s->Cout, 1.0f, Wt, K, dn, HW, 0.0f, dcols, HW);
        col2im(dinp + (size_t)n * s->Cin * s->H * s->W, dcols, s->Cin, s->H, s->W, s->k, s->stride, s->pad, Ho, Wo);
    }
}
