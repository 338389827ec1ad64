#include "model.h"

#include <string.h>

#include "check.h"

int model_config_default(ModelConfig *c, const char *kind, int vocab) {
    memset(c, 0, sizeof *c);
    if (strcmp(kind, "vilt") != 0) return err_set("unknown model '%s' (known: vilt)", kind);
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    snprintf(c->stem, sizeof c->stem, "patch");
    c->vilt = vilt_config_default(vocab);
    return 0;
}

json_t *model_config_to_json(const ModelConfig *c) {
    const ViltConfig *v = &c->vilt;
    return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "kind", c->kind, "stem", c->stem,
                     "vocab", v->vocab, "d", v->d, "layers", v->layers, "heads", v->heads, "mlp_ratio", v->mlp_ratio,
                     "patch", v->patch, "image_size", v->image_size, "max_text", v->max_text, "n_types", v->n_types);
}

int model_config_from_json(ModelConfig *c, const json_t *j, const char *where) {
    const char *kind, *stem;
    ViltConfig v;
    json_error_t e;
    if (json_unpack_ex((json_t *)j, &e, 0, "{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "kind", &kind,
                       "stem", &stem, "vocab", &v.vocab, "d", &v.d, "layers", &v.layers, "heads", &v.heads,
                       "mlp_ratio", &v.mlp_ratio, "patch", &v.patch, "image_size", &v.image_size, "max_text",
                       &v.max_text, "n_types", &v.n_types) != 0)
        return err_set("%s: bad model config: %s", where, e.text);
    if (model_config_default(c, kind, v.vocab) != 0) return err_prefix("%s", where);
    snprintf(c->stem, sizeof c->stem, "%s", stem);
    v.stem = !strcmp(stem, "conv") ? VILT_STEM_CONV : VILT_STEM_PATCH;
    c->vilt = v;
    if (v.d < 1 || v.layers < 1 || v.heads < 1 || v.d % v.heads || v.patch < 1 || v.image_size % v.patch ||
        v.max_text < 3 || v.vocab < 6 || v.n_types < 2 || v.mlp_ratio < 1)
        return err_set("%s: inconsistent model config (d %d, heads %d, patch %d, image %d, text %d, vocab %d)", where,
                       v.d, v.heads, v.patch, v.image_size, v.max_text, v.vocab);
    return 0;
}

int model_create(Model *m, const ModelConfig *c) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (strcmp(c->stem, "patch") != 0 && strcmp(c->stem, "conv") != 0)
        return err_set("unknown stem '%s' (known: patch, conv)", c->stem);
    m->cfg.vilt.stem = !strcmp(c->stem, "conv") ? VILT_STEM_CONV : VILT_STEM_PATCH;
    params_init(&m->params);
    vilt_register(&m->vilt, &m->cfg.vilt, &m->params);
    m->d = c->vilt.d;
    m->Tt = m->vilt.Tt;
    m->image_size = c->vilt.image_size;
    /* methods may look at the view before allocation (layers, d) */
    vilt_backbone(&m->vilt, &m->bb);
    return 0;
}

void model_finish(Model *m, int max_batch, uint64_t seed) {
    params_alloc(&m->params);
    Rng rng;
    rng_seed(&rng, seed);
    vilt_init_weights(&m->vilt, &rng);
    vilt_alloc(&m->vilt, max_batch);
    vilt_backbone(&m->vilt, &m->bb);
    m->max_batch = max_batch;
    m->T = m->vilt.T;
    m->final = m->vilt.act.final;
    m->pooled = m->vilt.act.pooled;
}

void model_free(Model *m) {
    vilt_free(&m->vilt);
    params_free(&m->params);
}

int model_forward(Model *m, const ModelInput *in) { return vilt_forward(&m->vilt, in); }

void model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    vilt_backward(&m->vilt, in, dfinal, dpooled);
}
