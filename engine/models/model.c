#include "model.h"

#include <string.h>

#include "check.h"
#include "model_vinvl.h"
#include "model_vlmo.h"
#include "registry.h"

extern const ModelOps model_vilt;
extern const ModelOps model_vlmo;
extern const ModelOps model_vinvl;

static const void *const kinds[] = {
    &model_vilt,
    &model_vlmo,
    &model_vinvl,
};
static const Registry models = REGISTRY_OF("model", kinds);

static const ModelOps *model_find(const char *kind) { return registry_find(&models, kind); }

int model_config_default(ModelConfig *c, const char *kind, int vocab) {
    memset(c, 0, sizeof *c);
    if (!registry_get(&models, kind)) return -1;
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    snprintf(c->stem, sizeof c->stem, "patch");
    c->vilt = vilt_config_default(vocab);
    if (!strcmp(kind, "vlmo")) c->fusion_layers = VLMO_FUSION_LAYERS;
    return 0;
}

int model_config_prepare(ModelConfig *c, const char *data_dir, const Tokenizer *tok) {
    const ModelOps *ops = model_find(c->kind);
    return ops && ops->prepare ? ops->prepare(c, data_dir, tok) : 0;
}

json_t *model_config_to_json(const ModelConfig *c) {
    const ViltConfig *v = &c->vilt;
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "kind", c->kind, "stem",
                          c->stem, "vocab", v->vocab, "d", v->d, "layers", v->layers, "heads", v->heads, "mlp_ratio",
                          v->mlp_ratio, "patch", v->patch, "image_size", v->image_size, "max_text", v->max_text,
                          "n_types", v->n_types);
    if (j && !strcmp(c->kind, "vlmo")) json_object_set_new(j, "fusion_layers", json_integer(c->fusion_layers));
    if (j && !strcmp(c->kind, "vinvl")) json_object_set_new(j, "regions", region_config_to_json(&c->regions));
    return j;
}

int model_config_from_json(ModelConfig *c, const json_t *j, const char *where) {
    const char *kind, *stem;
    ViltConfig v;
    json_error_t e;
    memset(&v, 0, sizeof v);
    if (json_unpack_ex((json_t *)j, &e, 0, "{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "kind", &kind,
                       "stem", &stem, "vocab", &v.vocab, "d", &v.d, "layers", &v.layers, "heads", &v.heads,
                       "mlp_ratio", &v.mlp_ratio, "patch", &v.patch, "image_size", &v.image_size, "max_text",
                       &v.max_text, "n_types", &v.n_types) != 0)
        return err_set("%s: bad model config: %s", where, e.text);
    if (model_config_default(c, kind, v.vocab) != 0) return err_prefix("%s", where);
    snprintf(c->stem, sizeof c->stem, "%s", stem);
    if (v.d < 1 || v.layers < 1 || v.heads < 1 || v.d % v.heads || v.patch < 1 || v.image_size % v.patch ||
        v.max_text < 3 || v.vocab < 6 || v.n_types < 2 || v.mlp_ratio < 1)
        return err_set("%s: inconsistent model config (d %d, heads %d, patch %d, image %d, text %d, vocab %d)", where,
                       v.d, v.heads, v.patch, v.image_size, v.max_text, v.vocab);
    c->vilt = v;
    const json_t *fl = json_object_get(j, "fusion_layers");
    if (fl && (!json_is_integer(fl) || json_integer_value(fl) < 0 || json_integer_value(fl) > v.layers))
        return err_set("%s: bad model config: fusion_layers must be an integer in [0, %d]", where, v.layers);
    if (fl) c->fusion_layers = (int)json_integer_value(fl);
    const json_t *rg = json_object_get(j, "regions");
    if (!strcmp(c->kind, "vinvl") && region_config_from_json(&c->regions, rg, where) != 0) return -1;
    return 0;
}

int model_create(Model *m, const ModelConfig *c) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->ops = model_find(c->kind);
    if (!m->ops) return err_set("unknown model '%s'", c->kind);
    params_init(&m->params);
    if (m->ops->create(m) != 0) return -1;
    m->d = c->vilt.d;
    m->image_size = c->vilt.image_size;
    /* methods may look at the view before allocation (layers, d) */
    m->ops->backbone(m, &m->bb);
    return 0;
}

void model_finish(Model *m, int max_batch, Rng *rng) {
    params_alloc(&m->params);
    m->ops->init_weights(m, rng);
    m->ops->alloc(m, max_batch);
    m->ops->backbone(m, &m->bb);
    m->max_batch = max_batch;
}

void model_free(Model *m) {
    if (m->ops) m->ops->destroy(m);
    params_free(&m->params);
}

int model_forward(Model *m, const ModelInput *in) {
    if (interrupt_pending()) return err_set("stopped by signal %d", interrupt_pending());
    return m->ops->forward(m, in);
}

void model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    m->ops->backward(m, in, dfinal, dpooled);
}
