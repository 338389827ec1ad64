/* A model used as a dual encoder (VLMo; the ITC of pretraining): after a
 * unimodal pass (ATTN_SEPARATE: text and image rows do not attend to each
 * other), text features are the mean of the unpadded text rows of the final
 * output and image features the mean of the image rows (image CLS +
 * patches); mean pooling trains far better than CLS at this scale. The ITC
 * projections map them to the shared space where cosine scores a pair. */
#ifndef MOIL_DUAL_ENCODER_H
#define MOIL_DUAL_ENCODER_H

#include "model.h"

/* tfeat, vfeat [B,C] from m->final of the last forward; text_mask [B,Tt]. */
void dual_encoder_pool(const Model *m, const int *text_mask, int B, float *tfeat, float *vfeat);
/* u[B,C] = z / |z| per row. */
void dual_encoder_normalize(float *u, const float *z, int B, int C);

#endif
