/* AdamW with decoupled weight decay over the trainable entries of a Params
 * store. */
#ifndef MOIL_ADAMW_H
#define MOIL_ADAMW_H

#include "nn_params.h"

typedef struct {
    float lr;           /* peak learning rate */
    float beta1, beta2; /* ViLT: 0.9, 0.98 */
    float eps;          /* 1e-8 */
    float weight_decay; /* 0.01, on entries with decay = 1 only */
} AdamWConfig;

AdamWConfig adamw_config_default(float lr);

/* One update with learning rate lr (times each entry's lr_mult); step counts
 * from 1 (bias correction). Frozen entries are left untouched. */
void adamw_step(Params *p, const AdamWConfig *c, float lr, int step);

#endif
