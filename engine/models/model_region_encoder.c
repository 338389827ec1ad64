#include "model_region_encoder.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_image_load.h"
#include "ops.h"

int region_encoder_create(RegionEncoder *e, int crop, int feat, int n_classes, int max_batch, uint64_t seed) {
    memset(e, 0, sizeof *e);
    if (crop % 3 || crop / 3 < 4 || (crop / 3 & (crop / 3 - 1)))
        return err_set("region crop %d: expected 3 x a power of two >= 4 (12, 24, 48)", crop);
    if (feat < 1 || n_classes < 2 || max_batch < 1)
        return err_set("region encoder: bad sizes (feat %d, classes %d, batch %d)", feat, n_classes, max_batch);
    e->crop = crop, e->feat = feat, e->n_classes = n_classes, e->max_batch = max_batch;
    params_init(&e->params);
    if (conv_stem_register(&e->stem, &e->params, "region_encoder.stem", crop / 3, feat) != 0) return -1;
    linear_register(&e->params, &e->tagger, "tagger", feat, n_classes, PARAM_GROUP_BACKBONE);
    params_alloc(&e->params);
    params_set_trainable_group(&e->params, PARAM_GROUP_BACKBONE, 1);
    Rng rng;
    rng_seed(&rng, seed);
    conv_stem_init(&e->stem, &e->params, &rng);
    linear_init(&e->params, &e->tagger, &rng);
    conv_stem_alloc(&e->stem, max_batch, crop);
    e->grid = e->stem.grid;
    size_t BF = (size_t)max_batch * feat, BK = (size_t)max_batch * n_classes;
    e->pool = xcalloc(BF, sizeof(float)), e->feats = xcalloc(BF, sizeof(float));
    e->dfeat = xcalloc(BF, sizeof(float)), e->dpool = xcalloc(BF, sizeof(float));
    e->logits = xcalloc(BK, sizeof(float)), e->probs = xcalloc(BK, sizeof(float));
    e->dlogits = xcalloc(BK, sizeof(float));
    e->dstem = xcalloc(BF * e->grid * e->grid, sizeof(float));
    return 0;
}

void region_encoder_free(RegionEncoder *e) {
    conv_stem_free(&e->stem);
    params_free(&e->params);
    float *f[] = {e->pool, e->feats, e->dfeat, e->dpool, e->logits, e->probs, e->dlogits, e->dstem};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(f[i]);
    memset(e, 0, sizeof *e);
}

void region_crop(const uint8_t *hwc, int h, int w, const float bbox[4], int crop, uint8_t *out) {
    int x0 = (int)bbox[0], y0 = (int)bbox[1], x1 = (int)(bbox[0] + bbox[2] + 0.5f), y1 = (int)(bbox[1] + bbox[3] + 0.5f);
    x0 = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0, y0 = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
    x1 = x1 > w ? w : x1 <= x0 ? x0 + 1 : x1, y1 = y1 > h ? h : y1 <= y0 ? y0 + 1 : y1;
    int cw = x1 - x0, ch = y1 - y0;
    uint8_t *sub = xmalloc((size_t)cw * ch * 3);
    for (int y = 0; y < ch; y++) memcpy(sub + (size_t)y * cw * 3, hwc + ((size_t)(y0 + y) * w + x0) * 3, (size_t)cw * 3);
    image_resize(sub, ch, cw, out, crop, crop);
    free(sub);
}

void region_geometry(const float bbox[4], int w, int h, float *geo) {
    geo[0] = bbox[0] / w, geo[1] = bbox[1] / h, geo[2] = bbox[2] / w, geo[3] = bbox[3] / h;
    geo[4] = geo[2] * geo[3];
}

void region_encoder_forward(RegionEncoder *e, const float *crops, int B) {
    if (B > e->max_batch) die("region_encoder_forward: batch %d > %d", B, e->max_batch);
    conv_stem_forward(&e->stem, &e->params, crops, B);
    const float *so = conv_stem_output(&e->stem); /* [B,F,g,g] */
    int F = e->feat, G = e->grid * e->grid;
    for (int i = 0; i < B * F; i++) {
        double s = 0;
        for (int q = 0; q < G; q++) s += so[(size_t)i * G + q];
        e->pool[i] = (float)(s / G);
    }
    gelu_forward(e->feats, e->pool, (size_t)B * F);
    layer_linear_forward(&e->params, &e->tagger, e->logits, e->feats, B);
}

double region_encoder_backward(RegionEncoder *e, const int *labels, int B) {
    int F = e->feat, K = e->n_classes, G = e->grid * e->grid, cnt;
    double loss = crossentropy_forward(e->probs, e->logits, labels, B, K, -100, &cnt);
    memset(e->dlogits, 0, sizeof(float) * B * K);
    crossentropy_backward(e->dlogits, e->probs, labels, B, K, -100, cnt, 1.0f);
    memset(e->dfeat, 0, sizeof(float) * B * F);
    layer_linear_backward(&e->params, &e->tagger, e->dfeat, e->dlogits, e->feats, B);
    memset(e->dpool, 0, sizeof(float) * B * F);
    gelu_backward(e->dpool, e->pool, e->dfeat, (size_t)B * F);
    for (int i = 0; i < B * F; i++)
        for (int q = 0; q < G; q++) e->dstem[(size_t)i * G + q] = e->dpool[i] / G;
    conv_stem_backward(&e->stem, &e->params, e->dstem, B);
    return loss;
}

int region_encoder_predict(const RegionEncoder *e, int b) {
    const float *l = e->logits + (size_t)b * e->n_classes;
    int best = 0;
    for (int k = 1; k < e->n_classes; k++)
        if (l[k] > l[best]) best = k;
    return best;
}
