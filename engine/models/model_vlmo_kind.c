/* The VLMo-style model (engine/models/model_vlmo.c) behind the Model interface. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "model_vlmo.h"

static Vlmo *impl(Model *m) { return m->impl; }

static int vlmo_create(Model *m) {
    if (strcmp(m->cfg.stem, "patch") != 0 && strcmp(m->cfg.stem, "conv") != 0)
        return err_set("unknown stem '%s' (known: patch, conv)", m->cfg.stem);
    m->cfg.vilt.stem = !strcmp(m->cfg.stem, "conv") ? VILT_STEM_CONV : VILT_STEM_PATCH;
    m->impl = xcalloc(1, sizeof(Vlmo));
    if (vlmo_register(impl(m), &m->cfg.vilt, m->cfg.fusion_layers, &m->params) != 0) return -1;
    m->Tt = impl(m)->vilt.Tt;
    return 0;
}

static void vlmo_model_init(Model *m, Rng *rng) { vilt_init_weights(&impl(m)->vilt, rng); }

static void vlmo_model_alloc(Model *m, int max_batch) {
    Vilt *v = &impl(m)->vilt;
    vilt_alloc(v, max_batch);
    m->T = v->T;
    m->n_image_tokens = 1 + v->P;
    m->final = v->act.final;
    m->pooled = v->act.pooled;
}

static int vlmo_model_forward(Model *m, const ModelInput *in) { return vilt_forward(&impl(m)->vilt, in); }

static void vlmo_model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    vilt_backward(&impl(m)->vilt, in, dfinal, dpooled);
}

static void vlmo_model_backbone(Model *m, Backbone *bb) { vlmo_backbone(impl(m), bb); }

static void vlmo_model_destroy(Model *m) {
    if (!m->impl) return;
    vlmo_free(impl(m));
    free(m->impl);
    m->impl = NULL;
}

const ModelOps model_vlmo = {
    .kind = "vlmo",
    .create = vlmo_create,
    .init_weights = vlmo_model_init,
    .alloc = vlmo_model_alloc,
    .forward = vlmo_model_forward,
    .backward = vlmo_model_backward,
    .backbone = vlmo_model_backbone,
    .destroy = vlmo_model_destroy,
};
