/* How far an adapted model's attention weights are from a full fine-tuning
 * of the same task (docs/paper.md, claim 1: LoRA approximates full tuning badly;
 * MoIL's student imitates it). For every layer and q, k, v:
 *   rel(l, k) = ||W - W_ref||_F / ||W_ref - W0||_F
 * where W is the adapted weight (each evaluation variant of the method
 * folded into plain weights: LoRA merged, MoIL student / EMA / online),
 * W_ref the reference fine-tuned weight and W0 the pretrained one (rel = 1
 * for W = W0, 0 for W = W_ref). The Eckart-Young floor for rank r,
 * ||tail_r(W_ref - W0)||_F / ||W_ref - W0||_F, is the best any rank-r update
 * of W0 can reach. */
#ifndef MOIL_WEIGHT_DISTANCE_H
#define MOIL_WEIGHT_DISTANCE_H

#include "nn_backbone.h"
#include "nn_params.h"
#include "train_sink.h"

#define WDIST_KINDS 3 /* q, k, v */

typedef struct {
    int layers, d;
    float *w0, *ref; /* [layers][3][d*d] */
    double *gap;     /* [layers][3] ||W_ref - W0||_F */
} WeightDistance;

/* W0 from the model as it is now (call after loading the pretrained
 * backbone, before training); W_ref from the q/k/v weights of ref_ckpt. */
int wdist_init(WeightDistance *w, const Backbone *bb, const Params *p, const char *ref_ckpt);
void wdist_free(WeightDistance *w);
/* rel distances of the model's current q/k/v weights: out[layers*3];
 * returns their mean. */
double wdist_measure(const WeightDistance *w, const Backbone *bb, const Params *p, double *out);
/* Curves "wdist/<variant>/mean" and "wdist/<variant>/l<L>.<k>" at step to
 * sink (NULL: nothing measured). */
void wdist_log(const WeightDistance *w, const Backbone *bb, const Params *p, const TrainSink *sink, int step,
               const char *variant);
/* Metrics (split "diag") "ey_floor_r<rank>/l<L>.<k>" per layer, then
 * "ey_floor_r<rank>/mean", to sink (NULL: none); returns the mean, -1 on
 * failure. */
double wdist_log_floor(const WeightDistance *w, int rank, const TrainSink *sink);

#endif
