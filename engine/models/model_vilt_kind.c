/* The ViLT-style model (engine/models/model_vilt.c) behind the Model interface. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"

static Vilt *impl(Model *m) { return m->impl; }

static int vilt_create(Model *m) {
    if (strcmp(m->cfg.stem, "patch") != 0 && strcmp(m->cfg.stem, "conv") != 0)
        return err_set("unknown stem '%s' (known: patch, conv)", m->cfg.stem);
    m->cfg.vilt.stem = !strcmp(m->cfg.stem, "conv") ? VILT_STEM_CONV : VILT_STEM_PATCH;
    m->impl = xcalloc(1, sizeof(Vilt));
    vilt_register(impl(m), &m->cfg.vilt, &m->params);
    m->Tt = impl(m)->Tt;
    return 0;
}

static void vilt_model_init(Model *m, Rng *rng) { vilt_init_weights(impl(m), rng); }

static void vilt_model_alloc(Model *m, int max_batch) {
    Vilt *v = impl(m);
    vilt_alloc(v, max_batch);
    m->T = v->T;
    m->n_image_tokens = 1 + v->P;
    m->final = v->act.final;
    m->pooled = v->act.pooled;
}

static int vilt_model_forward(Model *m, const ModelInput *in) { return vilt_forward(impl(m), in); }

static void vilt_model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    vilt_backward(impl(m), in, dfinal, dpooled);
}

static void vilt_model_backbone(Model *m, Backbone *bb) { vilt_backbone(impl(m), bb); }

static void vilt_model_destroy(Model *m) {
    if (!m->impl) return;
    vilt_free(impl(m));
    free(m->impl);
    m->impl = NULL;
}

const ModelOps model_vilt = {
    .kind = "vilt",
    .create = vilt_create,
    .init_weights = vilt_model_init,
    .alloc = vilt_model_alloc,
    .forward = vilt_model_forward,
    .backward = vilt_model_backward,
    .backbone = vilt_model_backbone,
    .destroy = vilt_model_destroy,
};
