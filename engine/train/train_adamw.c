#include "train_adamw.h"

#include <math.h>

#include "ops.h"

AdamWConfig adamw_config_default(float lr) {
    AdamWConfig c = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f, .weight_decay = 0.01f};
    return c;
}

void adamw_step(Params *p, const AdamWConfig *c, float lr, int step) {
    float bc1 = 1.0f - powf(c->beta1, (float)step), bc2 = 1.0f - powf(c->beta2, (float)step);
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        if (!e->trainable) continue;
        float *w = p->data + e->offset, *g = p->grad + e->offset, *m = p->m + e->offset, *v = p->v + e->offset;
        float a = lr * e->lr_mult, wd = e->decay ? c->weight_decay : 0.0f;
        adamw_update(w, m, v, g, e->size, c->beta1, c->beta2, c->eps, bc1, bc2, a, wd);
    }
}
