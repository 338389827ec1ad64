#include "model_vlmo.h"

#include <stdlib.h>

#include "check.h"

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
