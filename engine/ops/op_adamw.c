/* AdamW's element update, VEC_LANES weights at a time. */
#include "ops.h"

#include "op_internal.h"

void adamw_update(float *w, float *m, float *v, const float *g, size_t n, float beta1, float beta2, float eps,
                  float bc1, float bc2, float lr, float wd) {
    for (size_t k = 0; k < n; k += VEC_LANES) {
        size_t r = n - k;
        vecf gk = vec_load_n(g + k, r, 0.0f), wk = vec_load_n(w + k, r, 0.0f);
        vecf mk = beta1 * vec_load_n(m + k, r, 0.0f) + (1.0f - beta1) * gk;
        vecf vk = beta2 * vec_load_n(v + k, r, 0.0f) + (1.0f - beta2) * gk * gk;
        vecf mhat = mk / bc1, vhat = vk / bc2;
        wk -= lr * (mhat / (vec_sqrt(vhat) + eps) + wd * wk);
        vec_store_n(m + k, mk, r), vec_store_n(v + k, vk, r), vec_store_n(w + k, wk, r);
    }
}
