#include "model_vlmo.h"

#include <stdlib.h>

#include "check.h"

static const EncoderExpertNames modality_names = {2, {"norm2_text", "norm2_imag"}, {"mlp_text", "mlp_imag"}};
static const EncoderExpertNames fusion_names = {
    3, {"norm2_text", "norm2_imag", "norm2_vl"}, {"mlp_text", "mlp_imag", "mlp_vl"}};

int vlmo_register(Vlmo *m, const ModelDims *cfg, int stem, int fusion_layers, Params *p) {
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
    vilt_register_experts(&m->vilt, cfg, stem, p, m->names);
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

/* The Model interface (engine/models/model.h): the Vilt's, with VLMo's
 * configuration and view. */

_Static_assert(sizeof(VlmoConfig) <= MODEL_KIND_CONFIG_BYTES && _Alignof(VlmoConfig) <= _Alignof(max_align_t),
               "VlmoConfig does not fit in ModelConfig.kind_config");

VlmoConfig *vlmo_config(ModelConfig *c) { return (VlmoConfig *)(void *)c->kind_config; }

static void vlmo_config_default(void *kc) { ((VlmoConfig *)kc)->fusion_layers = VLMO_FUSION_LAYERS; }

static int vlmo_config_to_json(const void *kc, json_t *j) {
    const VlmoConfig *vc = kc;
    return json_object_set_new(j, "fusion_layers", json_integer(vc->fusion_layers));
}

static int vlmo_config_from_json(void *kc, const json_t *j, const ModelDims *dims, const char *where) {
    VlmoConfig *vc = kc;
    const json_t *fl = json_object_get(j, "fusion_layers");
    if (fl && (!json_is_integer(fl) || json_integer_value(fl) < 0 || json_integer_value(fl) > dims->layers))
        return err_set("%s: bad model config: fusion_layers must be an integer in [0, %d]", where, dims->layers);
    if (fl) vc->fusion_layers = (int)json_integer_value(fl);
    return 0;
}

static Vlmo *impl(Model *m) { return m->impl; }

static int vlmo_create(Model *m) {
    int stem;
    if (vilt_stem_parse(m->cfg.stem, &stem) != 0) return -1;
    m->impl = xcalloc(1, sizeof(Vlmo));
    if (vlmo_register(impl(m), &m->cfg.dims, stem, vlmo_config(&m->cfg)->fusion_layers, &m->params) != 0) return -1;
    vilt_model_shapes(m, &impl(m)->vilt);
    m->dual_encoder = 1;
    return 0;
}

static void vlmo_model_backbone(Model *m, Backbone *bb) { vlmo_backbone(impl(m), bb); }

static void vlmo_model_destroy(Model *m) { vlmo_free(impl(m)); }

const ModelOps model_vlmo = {
    .kind = "vlmo",
    .config_default = vlmo_config_default,
    .config_to_json = vlmo_config_to_json,
    .config_from_json = vlmo_config_from_json,
    .create = vlmo_create,
    .init_weights = vilt_model_init,
    .alloc = vilt_model_alloc,
    .forward = vilt_model_forward,
    .backward = vilt_model_backward,
    .backbone = vlmo_model_backbone,
    .destroy = vlmo_model_destroy,
};
