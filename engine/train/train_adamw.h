/* AdamW with decoupled weight decay over the trainable entries of a Params
 * store. */
#ifndef MOIL_ADAMW_H
#define MOIL_ADAMW_H

#include "nn_params.h"

/* Where eps enters. ADAMW_TRANSFORMERS: as the AdamW of transformers 4.2.1
 * that ViLT and MoIL train with: eps added to the uncorrected sqrt(v), the
 * bias corrections folded into the step size lr sqrt(bc2) / bc1, the weight
 * decay applied after the step. ADAMW_TORCH: as torch.optim.AdamW (and the
 * first edition): eps added to sqrt(v / bc2), the decay before the step. */
typedef enum { ADAMW_TRANSFORMERS = 0, ADAMW_TORCH } AdamWForm;

typedef struct {
    float lr;           /* peak learning rate */
    float beta1, beta2; /* ViLT: 0.9, 0.98 */
    float eps;          /* 1e-8 */
    float weight_decay; /* 0.01, on entries with decay = 1 only */
    AdamWForm form;     /* ADAMW_TRANSFORMERS by default */
} AdamWConfig;

AdamWConfig adamw_config_default(float lr);

/* The forms' names ("transformers", "torch"), and the form of a name (-1:
 * none). */
const char *adamw_form_name(AdamWForm f);
int adamw_form_parse(const char *name);

/* One update with learning rate lr (times each entry's lr_mult); step counts
 * from 1. Frozen entries, and entries whose first_step is later, are left
 * untouched; an entry's bias correction counts from its first_step. */
void adamw_step(Params *p, const AdamWConfig *c, float lr, int step);

#endif
