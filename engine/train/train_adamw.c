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

float lr_schedule(int s, int total, int warmup, float peak) {
    if (warmup > 0 && s < warmup) return peak * (float)(s + 1) / (float)warmup;
    if (total <= warmup) return peak;
    float frac = (float)(total - s) / (float)(total - warmup);
    return frac > 0 ? peak * frac : 0.0f;
}

double grad_clip_norm(Params *p, double max_norm) {
    double ss = 0.0;
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        if (!e->trainable) continue;
        const float *g = p->grad + e->offset;
        for (size_t k = 0; k < e->size; k++) ss += (double)g[k] * g[k];
    }
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (int i = 0; i < p->n; i++) {
            const ParamInfo *e = &p->info[i];
            if (!e->trainable) continue;
            float *g = p->grad + e->offset;
            for (size_t k = 0; k < e->size; k++) g[k] *= s;
        }
    }
    return norm;
}
