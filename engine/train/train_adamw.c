#include "train_adamw.h"

#include <math.h>

#include "check.h"
#include "ops.h"

static const char *const form_names[] = {"transformers", "torch"};

AdamWConfig adamw_config_default(float lr) {
    AdamWConfig c = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f, .weight_decay = 0.01f,
                     .form = ADAMW_TRANSFORMERS};
    return c;
}

const char *adamw_form_name(AdamWForm f) { return form_names[f]; }

int adamw_form_parse(const char *name) {
    return NAME_INDEX(form_names, name);
}

void adamw_step(Params *p, const AdamWConfig *c, float lr, int step) {
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        if (!e->trainable || step < e->first_step) continue;
        int t = step - e->first_step + 1; /* the entry's own step count */
        float bc1 = 1.0f - powf(c->beta1, (float)t), bc2 = 1.0f - powf(c->beta2, (float)t);
        float *w = p->data + e->offset, *g = p->grad + e->offset, *m = p->m + e->offset, *v = p->v + e->offset;
        float a = lr * e->lr_mult, wd = e->decay ? c->weight_decay : 0.0f;
        AdamWCoeffs k = {.beta1 = c->beta1, .beta2 = c->beta2, .eps = c->eps, .corrected = c->form == ADAMW_TORCH,
                         .lr = a, .wd = wd, .bc1 = bc1, .bc2 = bc2, .step = a * sqrtf(bc2) / bc1, .decay = a * wd};
        adamw_update(w, m, v, g, e->size, &k);
    }
}
