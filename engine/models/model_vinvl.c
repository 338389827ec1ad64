#include "model_vinvl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_region_encoder.h"
#include "nn_act_slots.h"
#include "nn_pooler.h"
#include "ops.h"

enum { TYPE_TEXT = 0, TYPE_TAG = 1, TYPE_REGION = 2 };

int vinvl_register(Vinvl *m, const ModelDims *cfg, const RegionConfig *rc, Params *p) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg, m->rc = *rc, m->params = p;
    int C = cfg->d;
    if (C % cfg->heads) return err_set("vinvl: width %d is not a multiple of the head count %d", C, cfg->heads);
    if (cfg->n_types < 3) return err_set("vinvl: needs 3 modality types (text, tags, regions), config has %d", cfg->n_types);
    if (!rc->dir[0]) return err_set("vinvl: the model config names no region folder");
    if (rc->max_regions < 1 || rc->dim <= REGION_GEOMETRY || rc->tag_len < 1 || rc->tag_len > VINVL_TAG_WORDS ||
        rc->n_classes < 2 || rc->n_classes > VINVL_TAG_CLASSES)
        return err_set("vinvl: bad region config (regions %d, dim %d, tag words %d, classes %d)", rc->max_regions,
                       rc->dim, rc->tag_len, rc->n_classes);
    for (int k = 0; k < rc->n_classes; k++)
        for (int w = 0; w < rc->tag_len; w++)
            if (rc->tag_words[k][w] < 0 || rc->tag_words[k][w] >= cfg->vocab)
                return err_set("vinvl: tag word %d of class %d is outside the vocabulary (%d)", rc->tag_words[k][w], k,
                               cfg->vocab);
    if (region_store_load(&m->store, rc->dir) != 0) return -1;
    if (m->store.all.max_regions != rc->max_regions || m->store.all.dim != rc->dim || m->store.n_classes != rc->n_classes)
        return err_set("%s: %d regions x %d floats, %d classes, but the model was built for %d x %d, %d classes", rc->dir,
                       m->store.all.max_regions, m->store.all.dim, m->store.n_classes, rc->max_regions, rc->dim,
                       rc->n_classes);
    m->Tt = cfg->max_text;
    m->R = rc->max_regions;
    m->Ntag = m->R * rc->tag_len + 1;
    m->Tw = m->Tt + m->Ntag;
    m->T = m->Tw + m->R;
    m->Da = rc->dim - REGION_GEOMETRY;
    const ParamGroup bb = PARAM_GROUP_BACKBONE;
    m->word_emb = params_add(p, "text_embeddings.word_embeddings.weight", 2, (int[]){cfg->vocab, C}, 1, bb);
    m->text_pos = params_add(p, "text_embeddings.position_embeddings.weight", 2, (int[]){m->Tt, C}, 1, bb);
    layernorm_register(p, &m->text_ln, "text_embeddings.LayerNorm", C, 1e-12f, bb);
    m->tag_pos = params_add(p, "tag_embeddings.position_embeddings.weight", 2, (int[]){m->Ntag, C}, 1, bb);
    m->type_emb = params_add(p, "token_type_embeddings.weight", 2, (int[]){cfg->n_types, C}, 1, bb);
    linear_register(p, &m->feat_proj, "img_embeddings.feature_proj", m->Da, C, bb);
    linear_register(p, &m->geo_proj, "img_embeddings.geometry_proj", REGION_GEOMETRY, C, bb);
    layernorm_register(p, &m->region_ln, "img_embeddings.LayerNorm", C, 1e-12f, bb);
    EncoderConfig ec = {cfg->layers, C, cfg->heads, cfg->mlp_ratio};
    encoder_register(&m->enc, p, &ec, "transformer.blocks", NULL, m->T);
    layernorm_register(p, &m->norm, "transformer.norm", C, 1e-6f, bb);
    linear_register(p, &m->pooler, "pooler.dense", C, C, bb);
    return 0;
}

void vinvl_init_weights(Vinvl *m, Rng *rng) {
    Params *p = m->params;
    int emb[] = {m->word_emb, m->text_pos, m->tag_pos, m->type_emb};
    for (int i = 0; i < 4; i++) params_init_trunc_normal(p, emb[i], 0.02f, rng);
    layernorm_init(p, &m->text_ln);
    linear_init(p, &m->feat_proj, rng);
    linear_init(p, &m->geo_proj, rng);
    layernorm_init(p, &m->region_ln);
    encoder_init_weights(&m->enc, rng);
    layernorm_init(p, &m->norm);
    linear_init(p, &m->pooler, rng);
}

void vinvl_alloc(Vinvl *m, int max_batch) {
    size_t B = (size_t)max_batch, C = (size_t)m->cfg.d, T = (size_t)m->T, Tw = (size_t)m->Tw, R = (size_t)m->R;
    m->max_batch = max_batch;
    encoder_alloc(&m->enc, max_batch);
    VinvlActs *a = &m->act;
    ActSlot s[] = {
        {&a->tok, B * Tw * C},    {&a->tln, B * Tw * C},       {&a->tln_mean, B * Tw},     {&a->tln_rstd, B * Tw},
        {&a->rfeat, B * R * m->Da}, {&a->rgeo, B * R * REGION_GEOMETRY}, {&a->rsum, B * R * C}, {&a->rln, B * R * C},
        {&a->rln_mean, B * R},    {&a->rln_rstd, B * R},       {&a->x0, B * T * C},        {&a->final, B * T * C},
        {&a->final_mean, B * T},  {&a->final_rstd, B * T},     {&a->cls, B * C},           {&a->pool_pre, B * C},
        {&a->pooled, B * C},      {&a->dx, B * T * C},         {&a->dfinal, B * T * C},    {&a->dtln, B * Tw * C},
        {&a->dtok, B * Tw * C},   {&a->drln, B * R * C},       {&a->drsum, B * R * C},     {&a->dcls, B * C},
        {&a->dpre, B * C},        {&a->drop_emb, B * T * C},   {&a->demb, B * T * C},
    };
    act_slots_alloc(s, (int)(sizeof s / sizeof s[0]), &m->block);
    m->ids = xcalloc(B * Tw, sizeof(int));
    m->mask = xcalloc(B * T, sizeof(int));
}

void vinvl_backbone(Vinvl *m, Backbone *bb) {
    static const int one_expert[2] = {0, 0};
    encoder_backbone(&m->enc, &m->lin_table, one_expert, m->cfg.layers, m->max_batch, "vinvl", bb);
}

void vinvl_free(Vinvl *m) {
    free(m->lin_table);
    encoder_free(&m->enc);
    free(m->block), free(m->ids), free(m->mask);
    region_store_free(&m->store);
    m->lin_table = NULL, m->block = NULL, m->ids = m->mask = NULL;
}

/* Word ids and key mask of the text and tag rows, region inputs and mask,
 * of sequence b showing image row `row` of the store. */
static void gather_inputs(Vinvl *m, const ModelInput *in, int b, int row) {
    int Tt = m->Tt, Tw = m->Tw, T = m->T, R = m->R, W = m->rc.tag_len, D = m->rc.dim;
    int *ids = m->ids + (size_t)b * Tw, *mask = m->mask + (size_t)b * T;
    for (int t = 0; t < Tt; t++) ids[t] = in->text_ids[(size_t)b * Tt + t], mask[t] = in->text_mask[(size_t)b * Tt + t];
    for (int t = Tt; t < T; t++) mask[t] = 0;
    for (int t = Tt; t < Tw; t++) ids[t] = TOK_WORD_PAD;
    const RegionCache *c = &m->store.all;
    int nr = c->n_regions[row], at = Tt;
    for (int r = 0; r < nr; r++) {
        const int *words = m->rc.tag_words[c->tags[(size_t)row * R + r]];
        for (int w = 0; w < W && words[w] != TOK_WORD_PAD; w++) ids[at] = words[w], mask[at++] = 1;
    }
    ids[at] = TOK_WORD_SEP, mask[at] = 1;
    for (int r = 0; r < R; r++) {
        const float *f = c->feats + ((size_t)row * R + r) * D;
        memcpy(m->act.rfeat + ((size_t)b * R + r) * m->Da, f, sizeof(float) * m->Da);
        memcpy(m->act.rgeo + ((size_t)b * R + r) * REGION_GEOMETRY, f + m->Da, sizeof(float) * REGION_GEOMETRY);
        mask[Tw + r] = r < nr;
    }
}

static int embed_forward(Vinvl *m, const ModelInput *in, const Dropout *drop) {
    const Params *p = m->params;
    VinvlActs *a = &m->act;
    int B = in->B, Tt = m->Tt, Tw = m->Tw, T = m->T, R = m->R, C = m->cfg.d;
    if (!in->image_ids) return err_set("vinvl: the batch carries no image ids (the task does not support this model)");
    for (int b = 0; b < B; b++) {
        int row = region_store_find(&m->store, in->image_ids[b]);
        if (row < 0)
            return err_set("%s: no cached regions for image %lld (rerun `moil regions train` on this dataset)", m->rc.dir,
                           (long long)in->image_ids[b]);
        gather_inputs(m, in, b, row);
    }
    embedding_forward(a->tok, m->ids, params_data(p, m->word_emb), B * Tw, C);
    const float *tpos = params_data(p, m->text_pos), *gpos = params_data(p, m->tag_pos);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tw; t++) {
            float *row = a->tok + ((size_t)b * Tw + t) * C;
            const float *pos = t < Tt ? tpos + (size_t)t * C : gpos + (size_t)(t - Tt) * C;
            for (int c = 0; c < C; c++) row[c] += pos[c];
        }
    layer_layernorm_forward(p, &m->text_ln, a->tln, a->tln_mean, a->tln_rstd, a->tok, B * Tw);
    layer_linear_forward(p, &m->feat_proj, a->rsum, a->rfeat, B * R);
    layer_linear_forward(p, &m->geo_proj, a->rln, a->rgeo, B * R); /* rln as scratch */
    for (size_t i = 0; i < (size_t)B * R * C; i++) a->rsum[i] += a->rln[i];
    layer_layernorm_forward(p, &m->region_ln, a->rln, a->rln_mean, a->rln_rstd, a->rsum, B * R);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *s = t < Tw ? a->tln + ((size_t)b * Tw + t) * C : a->rln + ((size_t)b * R + t - Tw) * C;
            memcpy(a->x0 + ((size_t)b * T + t) * C, s, sizeof(float) * C);
        }
    layer_dropout_forward(drop, a->x0, a->drop_emb, (size_t)B * T * C);
    const float *type = params_data(p, m->type_emb);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *x = a->x0 + ((size_t)b * T + t) * C;
            const float *ty = type + (size_t)(t < Tt ? TYPE_TEXT : t < Tw ? TYPE_TAG : TYPE_REGION) * C;
            for (int c = 0; c < C; c++) x[c] += ty[c];
        }
    return 0;
}

int vinvl_forward(Vinvl *m, const ModelInput *in, const Dropout *drop) {
    if (in->B > m->max_batch || in->B < 1)
        return err_set("batch of %d sequences, but the model was allocated for at most %d", in->B, m->max_batch);
    if (embed_forward(m, in, drop) != 0) return -1;
    const Params *p = m->params;
    VinvlActs *a = &m->act;
    int B = in->B, T = m->T, C = m->cfg.d;
    const float *x = encoder_forward(&m->enc, a->x0, m->mask, B, m->Tt, in->attn_mode, NULL, drop);
    layer_layernorm_forward(p, &m->norm, a->final, a->final_mean, a->final_rstd, x, B * T);
    pooler_forward(p, &m->pooler, a->final, a->cls, a->pool_pre, a->pooled, B, T, C);
    return 0;
}

static int trainable(const Params *p, int entry) { return p->info[entry].trainable; }

static int embed_needs_grad(const Vinvl *m) {
    const Params *p = m->params;
    int ids[] = {m->word_emb,       m->text_pos,       m->tag_pos,          m->type_emb,         m->text_ln.w,
                 m->text_ln.b,      m->feat_proj.w,    m->feat_proj.b,      m->geo_proj.w,       m->geo_proj.b,
                 m->region_ln.w,    m->region_ln.b};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (trainable(p, ids[i])) return 1;
    return m->feat_proj.hook || m->geo_proj.hook;
}

static void embed_backward(Vinvl *m, int B) {
    const Params *p = m->params;
    VinvlActs *a = &m->act;
    int Tt = m->Tt, Tw = m->Tw, T = m->T, R = m->R, C = m->cfg.d;
    float *dtype = params_grad(p, m->type_emb);
    const float *demb = a->dx; /* the gradient of the embeddings before dropout */
    if (m->enc.dropped) { /* the encoder's pass and the embeddings' share one Dropout */
        memset(a->demb, 0, sizeof(float) * B * T * C);
        dropout_backward(a->demb, a->dx, a->drop_emb, (size_t)B * T * C);
        demb = a->demb;
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            if (dtype) { /* the type is added after the dropout */
                const float *dx = a->dx + ((size_t)b * T + t) * C;
                float *dt = dtype + (size_t)(t < Tt ? TYPE_TEXT : t < Tw ? TYPE_TAG : TYPE_REGION) * C;
                for (int c = 0; c < C; c++) dt[c] += dx[c];
            }
            float *dst = t < Tw ? a->dtln + ((size_t)b * Tw + t) * C : a->drln + ((size_t)b * R + t - Tw) * C;
            memcpy(dst, demb + ((size_t)b * T + t) * C, sizeof(float) * C);
        }
    memset(a->drsum, 0, sizeof(float) * B * R * C);
    layer_layernorm_backward(p, &m->region_ln, a->drsum, a->drln, a->rsum, a->rln_mean, a->rln_rstd, B * R);
    layer_linear_backward(p, &m->feat_proj, NULL, a->drsum, a->rfeat, B * R);
    layer_linear_backward(p, &m->geo_proj, NULL, a->drsum, a->rgeo, B * R);
    memset(a->dtok, 0, sizeof(float) * B * Tw * C);
    layer_layernorm_backward(p, &m->text_ln, a->dtok, a->dtln, a->tok, a->tln_mean, a->tln_rstd, B * Tw);
    float *dword = params_grad(p, m->word_emb), *dtpos = params_grad(p, m->text_pos), *dgpos = params_grad(p, m->tag_pos);
    if (dword) embedding_backward(dword, a->dtok, m->ids, B * Tw, C);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tw; t++) {
            float *dpos = t < Tt ? (dtpos ? dtpos + (size_t)t * C : NULL) : (dgpos ? dgpos + (size_t)(t - Tt) * C : NULL);
            if (!dpos) continue;
            const float *d = a->dtok + ((size_t)b * Tw + t) * C;
            for (int c = 0; c < C; c++) dpos[c] += d[c];
        }
}

void vinvl_backward(Vinvl *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    VinvlActs *a = &m->act;
    int low = embed_needs_grad(m) ? -1 : encoder_lowest_trainable(&m->enc);
    encoder_top_backward(&m->enc, m->params, &m->pooler, &m->norm, a->cls, a->pooled, a->final_mean, a->final_rstd,
                         a->x0, dfinal, dpooled, a->dfinal, a->dpre, a->dcls, a->dx, in->B, low);
    if (low < 0) embed_backward(m, in->B);
}

/* The Model interface (engine/models/model.h). */

_Static_assert(sizeof(RegionConfig) <= MODEL_KIND_CONFIG_BYTES && _Alignof(RegionConfig) <= _Alignof(max_align_t),
               "RegionConfig does not fit in ModelConfig.kind_config");

RegionConfig *vinvl_regions(ModelConfig *c) { return (RegionConfig *)(void *)c->kind_config; }

/* ModelOps.prepare: the region folder <data_dir>/regions (unless rc->dir is
 * set) and the class names in tok's word ids; tok must be word-level (the
 * tag rows count on its ids of [PAD] and [SEP]). */
static int vinvl_prepare(void *kc, const char *data_dir, const Tokenizer *tok) {
    RegionConfig *rc = kc;
    if (tok->kind != TOKENIZER_WORD)
        return err_set("model vinvl: its region tags need the word-level tokenizer, not %s", tokenizer_kind_name(tok->kind));
    if (!rc->dir[0]) region_store_default_dir(rc->dir, sizeof rc->dir, data_dir);
    json_t *meta;
    if (region_store_read_meta(rc->dir, &meta) != 0) return -1;
    json_t *classes = json_object_get(meta, "classes");
    json_int_t R = json_integer_value(json_object_get(meta, "max_regions"));
    json_int_t D = json_integer_value(json_object_get(meta, "dim"));
    int rc_ok = json_is_array(classes) && json_array_size(classes) >= 2 && json_array_size(classes) <= VINVL_TAG_CLASSES &&
                R >= 1 && D > REGION_GEOMETRY;
    if (!rc_ok) {
        json_decref(meta);
        return err_set("%s/%s: bad classes (2..%d), max_regions or dim", rc->dir, REGION_STORE_META, VINVL_TAG_CLASSES);
    }
    rc->max_regions = (int)R, rc->dim = (int)D, rc->n_classes = (int)json_array_size(classes), rc->tag_len = 1;
    for (int k = 0; k < rc->n_classes; k++) {
        int32_t ids[VINVL_TAG_WORDS + 2];
        uint8_t mask[VINVL_TAG_WORDS + 2];
        const char *name = json_string_value(json_array_get(classes, k));
        tokenizer_encode(tok, name ? name : "", VINVL_TAG_WORDS + 2, ids, mask);
        int n = 0;
        for (int i = 1; i < VINVL_TAG_WORDS + 2 && mask[i] && ids[i] != tok->sep; i++) rc->tag_words[k][n++] = ids[i];
        if (n == 0) rc->tag_words[k][n++] = tok->unk;
        for (int i = n; i < VINVL_TAG_WORDS; i++) rc->tag_words[k][i] = tok->pad;
        if (n > rc->tag_len) rc->tag_len = n;
    }
    json_decref(meta);
    return 0;
}

static int vinvl_config_to_json(const void *kc, json_t *j) {
    const RegionConfig *rc = kc;
    json_t *tw = json_array();
    for (int k = 0; k < rc->n_classes; k++) {
        json_t *row = json_array();
        for (int w = 0; w < rc->tag_len; w++) json_array_append_new(row, json_integer(rc->tag_words[k][w]));
        json_array_append_new(tw, row);
    }
    return json_object_set_new(j, "regions", json_pack("{s:s, s:i, s:i, s:i, s:o}", "dir", rc->dir, "max_regions",
                                                       rc->max_regions, "dim", rc->dim, "tag_len", rc->tag_len,
                                                       "tag_words", tw));
}

/* From the "regions" key, which a vinvl config must have. */
static int vinvl_config_from_json(void *kc, const json_t *config, const ModelDims *dims, const char *where) {
    RegionConfig *rc = kc;
    const json_t *j = json_object_get(config, "regions");
    memset(rc, 0, sizeof *rc);
    const char *dir;
    json_t *tw;
    json_error_t e;
    if (!j) return err_set("%s: bad model config: vinvl needs the 'regions' key", where);
    if (dims->text_types > 0) return err_set("%s: bad model config: the vinvl model has no text token types", where);
    if (json_unpack_ex((json_t *)j, &e, 0, "{s:s, s:i, s:i, s:i, s:o}", "dir", &dir, "max_regions", &rc->max_regions,
                       "dim", &rc->dim, "tag_len", &rc->tag_len, "tag_words", &tw) != 0)
        return err_set("%s: bad model config 'regions': %s", where, e.text);
    size_t n = json_array_size(tw);
    if (!json_is_array(tw) || n < 2 || n > VINVL_TAG_CLASSES || rc->tag_len < 1 || rc->tag_len > VINVL_TAG_WORDS ||
        strlen(dir) >= sizeof rc->dir)
        return err_set("%s: bad model config 'regions': tag_words must list 2..%d classes of 1..%d words", where,
                       VINVL_TAG_CLASSES, VINVL_TAG_WORDS);
    snprintf(rc->dir, sizeof rc->dir, "%s", dir);
    rc->n_classes = (int)n;
    for (size_t k = 0; k < n; k++) {
        const json_t *row = json_array_get(tw, k);
        if (json_array_size(row) != (size_t)rc->tag_len)
            return err_set("%s: bad model config 'regions': tag_words[%zu] has %zu words, tag_len %d", where, k,
                           json_array_size(row), rc->tag_len);
        for (int w = 0; w < rc->tag_len; w++) rc->tag_words[k][w] = (int)json_integer_value(json_array_get(row, w));
    }
    return 0;
}

static Vinvl *impl(Model *m) { return m->impl; }

static int vinvl_create(Model *m) {
    m->impl = xcalloc(1, sizeof(Vinvl));
    if (vinvl_register(impl(m), &m->cfg.dims, vinvl_regions(&m->cfg), &m->params) != 0) return -1;
    m->Tt = impl(m)->Tt;
    m->reads_image_ids = 1;
    return 0;
}

static void vinvl_model_init(Model *m, Rng *rng) { vinvl_init_weights(impl(m), rng); }

static void vinvl_model_alloc(Model *m, int max_batch) {
    Vinvl *v = impl(m);
    vinvl_alloc(v, max_batch);
    m->T = v->T;
    m->n_image_tokens = v->Ntag + v->R;
    m->final = v->act.final;
    m->pooled = v->act.pooled;
}

static int vinvl_model_forward(Model *m, const ModelInput *in) { return vinvl_forward(impl(m), in, &m->drop); }

static void vinvl_model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    vinvl_backward(impl(m), in, dfinal, dpooled);
}

static void vinvl_model_backbone(Model *m, Backbone *bb) { vinvl_backbone(impl(m), bb); }

static void vinvl_model_destroy(Model *m) { vinvl_free(impl(m)); }

const ModelOps model_vinvl = {
    .kind = "vinvl",
    .config_to_json = vinvl_config_to_json,
    .config_from_json = vinvl_config_from_json,
    .prepare = vinvl_prepare,
    .create = vinvl_create,
    .init_weights = vinvl_model_init,
    .alloc = vinvl_model_alloc,
    .forward = vinvl_model_forward,
    .backward = vinvl_model_backward,
    .backbone = vinvl_model_backbone,
    .destroy = vinvl_model_destroy,
};
