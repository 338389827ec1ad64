/* 2-D convolution, a forward/backward pair like the ops of ops.h (legend there). */
#ifndef MOIL_OP_CONV_H
#define MOIL_OP_CONV_H

/* 2-D convolution, images [B,C,H,W] (CHW), weight [Cout, Cin*k*k] (the
 * PyTorch layout [Cout,Cin,k,k] flattened), zero padding. */
typedef struct {
    int B, Cin, H, W, Cout, k, stride, pad;
} ConvShape;
int conv_out_size(int in, int k, int stride, int pad);
/* out[B,Cout,Ho,Wo]; saves cols[B, Cin*k*k, Ho*Wo] (im2col) for backward. */
void conv_forward(float *out, float *cols, const float *inp, const float *Wt, const float *b, const ConvShape *s);
/* dW, db accumulate; dinp (may be NULL) accumulates; dcols: Cin*k*k*Ho*Wo scratch. */
void conv_backward(float *dinp, float *dW, float *db, float *dcols, const float *dout, const float *cols,
                   const float *Wt, const ConvShape *s);

#endif
