/* Stage one of the two-stage (VinVL-style) model, standing in for a
 * detector: each object box of a scene is cropped from the image and
 * resized to crop x crop pixels, a small CNN (the conv stem of
 * engine/nn/nn_conv_stem.h with patch crop/3: two stride-2 3x3 convolutions with
 * GELU and a 2x2 stride-2 one to feat channels, a 3x3 grid) is mean-pooled
 * over its grid and put through GELU into an appearance feature [feat],
 * and a tagger (a linear classifier on the feature) names the region's
 * class. Both are trained once with cross-entropy on crops labelled by
 * category, then frozen. The region feature the second stage reads is the
 * appearance feature followed by REGION_GEOMETRY box numbers.
 *
 * Parameter names: region_encoder.stem.N.{weight,bias}, tagger.{weight,bias}. */
#ifndef MOIL_REGION_ENCODER_H
#define MOIL_REGION_ENCODER_H

#include <stdint.h>

#include "nn_conv_stem.h"
#include "nn_layers.h"

#define REGION_GEOMETRY 5 /* x, y, w, h (fractions of the image), area fraction */

typedef struct {
    int crop, feat, n_classes, max_batch;
    Params params;
    ConvStem stem;
    Linear tagger;
    int grid; /* g: the stem's output is [B,feat,g,g] */
    float *pool, *feats, *logits, *probs; /* [B,feat] x 2, [B,K] x 2 */
    float *dlogits, *dfeat, *dpool, *dstem; /* [B,K], [B,feat] x 2, [B,feat,g,g] */
} RegionEncoder;

/* Register, allocate and randomly initialise for batches of max_batch
 * crops; -1 (err_set) if crop is not 3 times a power of two >= 4. */
int region_encoder_create(RegionEncoder *e, int crop, int feat, int n_classes, int max_batch, uint64_t seed);
void region_encoder_free(RegionEncoder *e);

/* The crop of box bbox (x, y, w, h pixels, clipped to the image) of an RGB
 * image hwc [h][w][3], stretched to out [crop][crop][3] (image_to_chw makes
 * the encoder's input of it). */
void region_crop(const uint8_t *hwc, int h, int w, const float bbox[4], int crop, uint8_t *out);
/* geo[REGION_GEOMETRY] of a box in an image of w x h pixels. */
void region_geometry(const float bbox[4], int w, int h, float *geo);

/* Forward of B crops [B,3,crop,crop]: e->feats [B,feat], e->logits [B,K]. */
void region_encoder_forward(RegionEncoder *e, const float *crops, int B);
/* Mean cross-entropy of the last forward against labels [B]; gradients
 * accumulated into e->params (zero them first). Returns the loss. */
double region_encoder_backward(RegionEncoder *e, const int *labels, int B);
/* argmax of row b of e->logits. */
int region_encoder_predict(const RegionEncoder *e, int b);

#endif
