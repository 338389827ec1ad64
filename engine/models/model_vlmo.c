#include "model_vlmo.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"

static const EncoderExpertNames modality_names = {2, {"norm2_text", "norm2_imag"}, {"mlp_text", "mlp_imag"}};
static const EncoderExpertNames fusion_names = {
    3, {"norm2_text", "norm2_imag", "norm2_vl"}, {"mlp_text", "mlp_imag", "mlp_vl"}};

int vlmo_register(Vlmo *m, const ViltConfig *cfg, int fusion_layers, Params *p) {
    int L = cfg->layers;
    if (fusion_layers < 0 || fusion_layers > L)
        return err_set("vlmo: %d fusion layers, but the model has %d layers", fusion_layers, L);
    m->fusion_layers = fusion_layers;
    m->names = xcalloc(L, sizeof(EncoderExpertNames));
    m->route_full = xcalloc(L, sizeof(EncoderRoute));
    m->route_separate = xcalloc(L, sizeof(EncoderRoute));
    int first_vl = L - fusion_layers;
    for (int l = 0; l < L; l++) {
        m->names[l] = l < first_vl ? modality_names : fusion_names;
        m->route_separate[l] = (EncoderRoute){VLMO_TEXT, VLMO_IMAGE};
        m->route_full[l] = l < first_vl ? m->route_separate[l] : (EncoderRoute){VLMO_VL, VLMO_VL};
    }
    vilt_register_experts(&m->vilt, cfg, p, m->names);
    m->vilt.route_full = m->route_full;
    m->vilt.route_separate = m->route_separate;
    m->vilt.view_expert[0] = VLMO_TEXT;
    m->vilt.view_expert[1] = VLMO_VL;
    m->vilt.fusion_from = first_vl;
    return 0;
}

void vlmo_backbone(Vlmo *m, Backbone *bb) {
    vilt_backbone(&m->vilt, bb);
    bb->model_name = "vlmo";
}

void vlmo_free(Vlmo *m) {
    vilt_free(&m->vilt);
    free(m->names);
    free(m->route_full);
    free(m->route_separate);
    m->names = NULL;
    m->route_full = m->route_separate = NULL;
}

/* The Model interface (engine/models/model.h). */

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
