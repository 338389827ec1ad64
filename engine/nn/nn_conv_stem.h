/* The convolutional stem (--stem conv): a small stack of stride-2 3x3
 * convolutions with GELU in place of ViT's single linear patch embedding,
 * ending in a 2x2 stride-2 convolution to d channels, so the output grid is
 * still S/p x S/p (one token per patch). For patch p = 2^n: n-1 3x3 layers
 * with 24, 48, 96, ... channels, then the 2x2 layer. Meant to ground faster
 * than the linear patch embedding; here it grounded more slowly
 * (docs/engine.md, "Models"). */
#ifndef MOIL_CONV_STEM_H
#define MOIL_CONV_STEM_H

#include "nn_params.h"
#include "op_conv.h"

#define CONV_STEM_MAX_LAYERS 6

typedef struct {
    int n;                              /* conv layers */
    int w[CONV_STEM_MAX_LAYERS], b[CONV_STEM_MAX_LAYERS]; /* entries */
    ConvShape shape[CONV_STEM_MAX_LAYERS]; /* per layer, B = max batch */
    float *cols[CONV_STEM_MAX_LAYERS];  /* im2col buffers */
    float *pre[CONV_STEM_MAX_LAYERS];   /* conv outputs [B,C,h,w] */
    float *post[CONV_STEM_MAX_LAYERS];  /* after GELU (all but the last) */
    float *dbuf[2];                     /* gradient ping-pong, largest activation */
    float *dcols;
    int out_c, grid;
} ConvStem;

/* Register the stem's tensors; returns -1 (err_set) if the patch is not a
 * power of two >= 4. */
int conv_stem_register(ConvStem *s, Params *p, const char *prefix, int patch, int d);
void conv_stem_init(ConvStem *s, Params *p, Rng *rng);
void conv_stem_alloc(ConvStem *s, int max_batch, int image_size);
void conv_stem_free(ConvStem *s);
/* images[B,3,S,S] -> s->pre[n-1] = [B,d,g,g] */
void conv_stem_forward(ConvStem *s, const Params *p, const float *images, int B);
/* from d(out) [B,d,g,g]; parameter gradients only (images are data) */
void conv_stem_backward(ConvStem *s, const Params *p, const float *dout, int B);
/* The output [B,d,g,g]. */
static inline const float *conv_stem_output(const ConvStem *s) { return s->pre[s->n - 1]; }

#endif
