/* AdamW's element update, VEC_LANES weights at a time. */
#include "ops.h"

#include "op_internal.h"

void adamw_update(float *w, float *m, float *v, const float *g, size_t n, const AdamWCoeffs *c) {
    for (size_t k = 0; k < n; k += VEC_LANES) {
        size_t r = n - k;
        vecf gk = vec_load_n(g + k, r, 0.0f), wk = vec_load_n(w + k, r, 0.0f);
        vecf mk = c->beta1 * vec_load_n(m + k, r, 0.0f) + (1.0f - c->beta1) * gk;
        vecf vk = c->beta2 * vec_load_n(v + k, r, 0.0f) + (1.0f - c->beta2) * gk * gk;
        if (c->corrected) {
            vecf mhat = mk / c->bc1, vhat = vk / c->bc2;
            wk -= c->lr * (mhat / (vec_sqrt(vhat) + c->eps) + c->wd * wk);
        } else {
            wk -= c->step * (mk / (vec_sqrt(vk) + c->eps));
            wk -= c->decay * wk;
        }
        vec_store_n(m + k, mk, r), vec_store_n(v + k, vk, r), vec_store_n(w + k, wk, r);
    }
}
