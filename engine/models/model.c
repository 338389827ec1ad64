#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
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

ModelDims model_dims_default(int vocab) {
    ModelDims c = {.vocab = vocab, .d = 128, .layers = 4, .heads = 4, .mlp_ratio = 4, .patch = 16,
                   .image_size = 64, .max_text = 24, .n_types = 3};
    return c;
}

int model_config_default(ModelConfig *c, const char *kind, int vocab) {
    memset(c, 0, sizeof *c);
    const ModelOps *ops = registry_get(&models, kind);
    if (!ops) return -1;
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    snprintf(c->stem, sizeof c->stem, "patch");
    c->dims = model_dims_default(vocab);
    if (ops->config_default) ops->config_default(c->kind_config);
    return 0;
}

int model_config_prepare(ModelConfig *c, const char *data_dir, const Tokenizer *tok) {
    const ModelOps *ops = model_find(c->kind);
    return ops && ops->prepare ? ops->prepare(c->kind_config, data_dir, tok) : 0;
}

json_t *model_config_to_json(const ModelConfig *c) {
    const ModelDims *v = &c->dims;
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "kind", c->kind, "stem",
                          c->stem, "vocab", v->vocab, "d", v->d, "layers", v->layers, "heads", v->heads, "mlp_ratio",
                          v->mlp_ratio, "patch", v->patch, "image_size", v->image_size, "max_text", v->max_text,
                          "n_types", v->n_types);
    if (j && v->text_types > 0 && json_object_set_new(j, "text_types", json_integer(v->text_types)) != 0) {
        json_decref(j);
        return NULL;
    }
    const ModelOps *ops = model_find(c->kind);
    if (j && ops && ops->config_to_json && ops->config_to_json(c->kind_config, j) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int model_config_from_json(ModelConfig *c, const json_t *j, const char *where) {
    const char *kind, *stem;
    ModelDims v;
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
    const json_t *tt = json_object_get(j, "text_types"); /* absent in checkpoints without the table */
    if (tt && (!json_is_integer(tt) || json_integer_value(tt) < 1 || json_integer_value(tt) > 1 << 16))
        return err_set("%s: bad model config: text_types must be a positive integer", where);
    v.text_types = tt ? (int)json_integer_value(tt) : 0;
    c->dims = v;
    const ModelOps *ops = model_find(c->kind);
    return ops->config_from_json ? ops->config_from_json(c->kind_config, j, &c->dims, where) : 0;
}

/* The kind fills the view; it belongs to this Model. */
static void backbone_view(Model *m) {
    m->ops->backbone(m, &m->bb);
    m->bb.model = m;
}

int model_create(Model *m, const ModelConfig *c) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->ops = model_find(c->kind);
    if (!m->ops) return err_set("unknown model '%s'", c->kind);
    params_init(&m->params);
    if (m->ops->create(m) != 0) return -1;
    m->d = c->dims.d;
    m->image_size = c->dims.image_size;
    /* methods may look at the view before allocation (layers, d) */
    backbone_view(m);
    return 0;
}

int model_add_prompts(Model *m, int n, int entry) {
    if (!m->ops->add_prompts) return err_set("the %s model has no deep prompts", m->cfg.kind);
    m->ops->add_prompts(m, n, entry);
    return 0;
}

/* After the parameter blocks are allocated: random init, activations. */
static void finish(Model *m, int max_batch, Rng *rng) {
    m->ops->init_weights(m, rng);
    m->ops->alloc(m, max_batch);
    backbone_view(m);
    m->max_batch = max_batch;
}

void model_finish(Model *m, int max_batch, Rng *rng) {
    params_alloc(&m->params);
    finish(m, max_batch, rng);
}

void model_finish_eval(Model *m, int max_batch, Rng *rng) {
    params_alloc_data(&m->params);
    finish(m, max_batch, rng);
}

void model_free(Model *m) {
    if (m->impl) m->ops->destroy(m);
    free(m->impl);
    m->impl = NULL;
    params_free(&m->params);
}

void model_train_mode(Model *m, float p, Rng *rng) { m->drop = (Dropout){p, rng}; }

void model_eval_mode(Model *m) { m->drop = (Dropout){0.0f, NULL}; }

int model_forward(Model *m, const ModelInput *in) {
    if (interrupt_pending()) return err_set("stopped by signal %d", interrupt_pending());
    return m->ops->forward(m, in);
}

void model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    m->ops->backward(m, in, dfinal, dpooled);
}
