#include "model_vilt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_act_slots.h"
#include "nn_pooler.h"
#include "ops.h"

int vilt_stem_parse(const char *name, int *stem) {
    if (strcmp(name, "patch") != 0 && strcmp(name, "conv") != 0)
        return err_set("unknown stem '%s' (known: patch, conv)", name);
    *stem = !strcmp(name, "conv") ? VILT_STEM_CONV : VILT_STEM_PATCH;
    return 0;
}

void vilt_register(Vilt *m, const ModelDims *cfg, int stem, Params *p) { vilt_register_experts(m, cfg, stem, p, NULL); }

void vilt_register_experts(Vilt *m, const ModelDims *cfg, int stem, Params *p, const EncoderExpertNames *names) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->stem_kind = stem;
    m->params = p;
    int C = cfg->d, g = cfg->image_size / cfg->patch;
    if (cfg->image_size % cfg->patch) die("image size %d is not a multiple of the patch size %d", cfg->image_size, cfg->patch);
    if (C % cfg->heads) die("width %d is not a multiple of the head count %d", C, cfg->heads);
    m->Tt = cfg->max_text;
    m->P = g * g;
    m->T = m->Tt + 1 + m->P;
    const ParamGroup bb = PARAM_GROUP_BACKBONE;
    m->word_emb = params_add(p, "text_embeddings.word_embeddings.weight", 2, (int[]){cfg->vocab, C}, 1, bb);
    m->text_pos = params_add(p, "text_embeddings.position_embeddings.weight", 2, (int[]){m->Tt, C}, 1, bb);
    m->text_type = cfg->text_types > 0 ? params_add(p, "text_embeddings.token_type_embeddings.weight", 2,
                                                    (int[]){cfg->text_types, C}, 1, bb)
                                       : -1;
    layernorm_register(p, &m->text_ln, "text_embeddings.LayerNorm", C, 1e-12f, bb);
    m->type_emb = params_add(p, "token_type_embeddings.weight", 2, (int[]){cfg->n_types, C}, 1, bb);
    int K = 3 * cfg->patch * cfg->patch;
    if (stem == VILT_STEM_CONV) {
        if (conv_stem_register(&m->stem, p, "transformer.patch_embed.stem", cfg->patch, C) != 0) die("%s", err_msg());
    } else {
        linear_register(p, &m->patch_proj, "transformer.patch_embed.proj", K, C, bb);
        /* the conv weight shape [C,3,p,p], same floats as the linear [C,3pp] */
        ParamInfo *pw = &p->info[m->patch_proj.w];
        pw->ndim = 4;
        pw->shape[0] = C, pw->shape[1] = 3, pw->shape[2] = cfg->patch, pw->shape[3] = cfg->patch;
    }
    m->cls_token = params_add(p, "transformer.cls_token", 3, (int[]){1, 1, C}, 1, bb);
    m->img_pos = params_add(p, "transformer.pos_embed", 3, (int[]){1, 1 + m->P, C}, 1, bb);
    EncoderConfig ec = {cfg->layers, C, cfg->heads, cfg->mlp_ratio};
    encoder_register(&m->enc, p, &ec, "transformer.blocks", names, m->T);
    m->fusion_from = cfg->layers;
    layernorm_register(p, &m->norm, "transformer.norm", C, 1e-6f, bb);
    linear_register(p, &m->pooler, "pooler.dense", C, C, bb);
}

void vilt_init_weights(Vilt *m, Rng *rng) {
    Params *p = m->params;
    params_init_trunc_normal(p, m->word_emb, 0.02f, rng);
    params_init_trunc_normal(p, m->text_pos, 0.02f, rng);
    if (m->text_type >= 0) params_init_trunc_normal(p, m->text_type, 0.02f, rng);
    layernorm_init(p, &m->text_ln);
    params_init_trunc_normal(p, m->type_emb, 0.02f, rng);
    if (m->stem_kind == VILT_STEM_CONV) conv_stem_init(&m->stem, p, rng);
    else linear_init(p, &m->patch_proj, rng);
    params_init_trunc_normal(p, m->cls_token, 0.02f, rng);
    params_init_trunc_normal(p, m->img_pos, 0.02f, rng);
    encoder_init_weights(&m->enc, rng);
    layernorm_init(p, &m->norm);
    linear_init(p, &m->pooler, rng);
}

void vilt_alloc(Vilt *m, int max_batch) {
    int B = max_batch, T = m->T, Tt = m->Tt, P = m->P, C = m->cfg.d;
    size_t BTC = (size_t)B * T * C, BT = (size_t)B * T;
    size_t K = 3 * (size_t)m->cfg.patch * m->cfg.patch;
    m->max_batch = B;
    encoder_alloc(&m->enc, B);
    ViltActs *a = &m->act;
    ActSlot acts[] = {
        {&a->tok, (size_t)B * Tt * C},  {&a->tln, (size_t)B * Tt * C},  {&a->tln_mean, (size_t)B * Tt},
        {&a->tln_rstd, (size_t)B * Tt}, {&a->patches, (size_t)B * P * K}, {&a->pemb, (size_t)B * P * C},
        {&a->x0, BTC},                  {&a->final, BTC},                {&a->final_mean, BT},
        {&a->final_rstd, BT},           {&a->cls, (size_t)B * C},        {&a->pool_pre, (size_t)B * C},
        {&a->pooled, (size_t)B * C},    {&a->drop_emb, BTC},
    };
    act_slots_alloc(acts, (int)(sizeof acts / sizeof acts[0]), &m->act_block);
    ViltGrads *g = &m->grad;
    ActSlot grads[] = {
        {&g->dx, BTC},                  {&g->dfinal, BTC},               {&g->dpemb, (size_t)B * P * C},
        {&g->dtln, (size_t)B * Tt * C}, {&g->dtok, (size_t)B * Tt * C},  {&g->dcls, (size_t)B * C},
        {&g->dpre, (size_t)B * C},      {&g->dstem, (size_t)B * P * C},  {&g->demb, BTC},
    };
    act_slots_alloc(grads, (int)(sizeof grads / sizeof grads[0]), &m->grad_block);
    if (m->stem_kind == VILT_STEM_CONV) conv_stem_alloc(&m->stem, B, m->cfg.image_size);
    m->int_block = xcalloc(BT + B, sizeof(int));
    a->mask = m->int_block;
    a->img_type = m->int_block + BT;
}

void vilt_add_prompts(Vilt *m, int n, int entry) {
    if (m->act_block) die("vilt_add_prompts after vilt_alloc");
    encoder_add_prompts(&m->enc, n, entry);
    m->T = m->enc.T;
}

void vilt_backbone(Vilt *m, Backbone *bb) {
    encoder_backbone(&m->enc, &m->lin_table, m->view_expert, m->fusion_from, m->max_batch, "vilt", bb);
}

void vilt_free(Vilt *m) {
    free(m->lin_table);
    m->lin_table = NULL;
    if (m->stem_kind == VILT_STEM_CONV) conv_stem_free(&m->stem);
    encoder_free(&m->enc);
    free(m->act_block);
    free(m->grad_block);
    free(m->int_block);
    m->act_block = m->grad_block = NULL;
    m->int_block = NULL;
}

/* x0 = [drop(text) + type 0; drop(image CLS + pos 0) + type t; drop(patches + pos) + type t] */
static void embed_forward(Vilt *m, const ModelInput *in, const Dropout *drop) {
    const Params *p = m->params;
    ViltActs *a = &m->act;
    int B = in->B, Tt = m->Tt, P = m->P, T = m->T, C = m->cfg.d;
    embedding_forward(a->tok, in->text_ids, params_data(p, m->word_emb), B * Tt, C);
    const float *pos = params_data(p, m->text_pos), *tt = m->text_type >= 0 ? params_data(p, m->text_type) : NULL;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tt; t++) {
            float *row = a->tok + ((size_t)b * Tt + t) * C;
            if (tt) /* BERT's order: (word + type) + position */
                for (int c = 0; c < C; c++) row[c] += tt[c];
            for (int c = 0; c < C; c++) row[c] += pos[(size_t)t * C + c];
        }
    layer_layernorm_forward(p, &m->text_ln, a->tln, a->tln_mean, a->tln_rstd, a->tok, B * Tt);
    if (m->stem_kind == VILT_STEM_CONV) {
        /* [B,C,P] conv output -> [B,P,C] tokens */
        conv_stem_forward(&m->stem, p, in->images, B);
        const float *so = conv_stem_output(&m->stem);
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int q = 0; q < P; q++) a->pemb[((size_t)b * P + q) * C + c] = so[((size_t)b * C + c) * P + q];
    } else {
        patchify_forward(a->patches, in->images, B, m->cfg.image_size, m->cfg.patch);
        layer_linear_forward(p, &m->patch_proj, a->pemb, a->patches, B * P);
    }
    const float *type = params_data(p, m->type_emb), *cls = params_data(p, m->cls_token);
    const float *ipos = params_data(p, m->img_pos);
    int E = Tt + 1 + P; /* embedded rows; the prompt rows after them are written per layer */
    for (int b = 0; b < B; b++) {
        a->img_type[b] = in->image_type ? in->image_type[b] : 1;
        for (int t = 0; t < T; t++) {
            float *x = a->x0 + ((size_t)b * T + t) * C;
            a->mask[(size_t)b * T + t] = t < Tt ? in->text_mask[(size_t)b * Tt + t] : 1;
            if (t >= E) continue;
            if (t < Tt) {
                memcpy(x, a->tln + ((size_t)b * Tt + t) * C, sizeof(float) * C);
            } else {
                int ip = t - Tt; /* 0 = image CLS */
                const float *s = ip == 0 ? cls : a->pemb + ((size_t)b * P + ip - 1) * C;
                for (int c = 0; c < C; c++) x[c] = s[c] + ipos[(size_t)ip * C + c];
            }
        }
        layer_dropout_forward(drop, a->x0 + (size_t)b * T * C, a->drop_emb + (size_t)b * T * C, (size_t)E * C);
        for (int t = 0; t < E; t++) {
            float *x = a->x0 + ((size_t)b * T + t) * C;
            const float *ty = type + (size_t)(t < Tt ? 0 : a->img_type[b]) * C;
            for (int c = 0; c < C; c++) x[c] += ty[c];
        }
    }
}

static void embed_backward(Vilt *m, const ModelInput *in) {
    const Params *p = m->params;
    ViltActs *a = &m->act;
    ViltGrads *g = &m->grad;
    int B = in->B, Tt = m->Tt, P = m->P, T = m->T, C = m->cfg.d;
    float *dtype = params_grad(p, m->type_emb), *dcls = params_grad(p, m->cls_token);
    float *dipos = params_grad(p, m->img_pos);
    memset(g->dtln, 0, sizeof(float) * B * Tt * C);
    memset(g->dpemb, 0, sizeof(float) * B * P * C);
    int E = Tt + 1 + P;
    const float *demb = g->dx; /* the gradient of the embeddings before dropout */
    if (m->enc.dropped) { /* the encoder's pass and the embeddings' share one Dropout */
        memset(g->demb, 0, sizeof(float) * B * T * C);
        for (int b = 0; b < B; b++)
            dropout_backward(g->demb + (size_t)b * T * C, g->dx + (size_t)b * T * C, a->drop_emb + (size_t)b * T * C,
                             (size_t)E * C);
        demb = g->demb;
    }
    for (int b = 0; b < B; b++) {
        int it = a->img_type[b];
        for (int t = 0; t < E; t++) {
            const float *dx = g->dx + ((size_t)b * T + t) * C, *de = demb + ((size_t)b * T + t) * C;
            float *dt = dtype ? dtype + (size_t)(t < Tt ? 0 : it) * C : NULL;
            if (dt) /* the type is added after the dropout */
                for (int c = 0; c < C; c++) dt[c] += dx[c];
            if (t < Tt) {
                memcpy(g->dtln + ((size_t)b * Tt + t) * C, de, sizeof(float) * C);
                continue;
            }
            int ip = t - Tt;
            if (dipos)
                for (int c = 0; c < C; c++) dipos[(size_t)ip * C + c] += de[c];
            float *dst = ip == 0 ? dcls : g->dpemb + ((size_t)b * P + ip - 1) * C;
            if (dst)
                for (int c = 0; c < C; c++) dst[c] += de[c];
        }
    }
    if (m->stem_kind == VILT_STEM_CONV) {
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int q = 0; q < P; q++) g->dstem[((size_t)b * C + c) * P + q] = g->dpemb[((size_t)b * P + q) * C + c];
        conv_stem_backward(&m->stem, p, g->dstem, B);
    } else {
        layer_linear_backward(p, &m->patch_proj, NULL, g->dpemb, a->patches, B * P);
    }
    float *dword = params_grad(p, m->word_emb), *dpos = params_grad(p, m->text_pos);
    float *dtt = m->text_type >= 0 ? params_grad(p, m->text_type) : NULL; /* row 0 only */
    memset(g->dtok, 0, sizeof(float) * B * Tt * C);
    layer_layernorm_backward(p, &m->text_ln, (dword || dpos || dtt) ? g->dtok : NULL, g->dtln, a->tok, a->tln_mean,
                             a->tln_rstd, B * Tt);
    if (dword) embedding_backward(dword, g->dtok, in->text_ids, B * Tt, C);
    for (int b = 0; (dpos || dtt) && b < B; b++)
        for (int t = 0; t < Tt; t++) {
            const float *dt = g->dtok + ((size_t)b * Tt + t) * C;
            if (dpos)
                for (int c = 0; c < C; c++) dpos[(size_t)t * C + c] += dt[c];
            if (dtt)
                for (int c = 0; c < C; c++) dtt[c] += dt[c];
        }
}

int vilt_forward(Vilt *m, const ModelInput *in, const Dropout *drop) {
    if (in->B > m->max_batch || in->B < 1)
        return err_set("batch of %d sequences, but the model was allocated for at most %d", in->B, m->max_batch);
    const Params *p = m->params;
    ViltActs *a = &m->act;
    int B = in->B, T = m->T, C = m->cfg.d, N = B * T;
    embed_forward(m, in, drop);
    const EncoderRoute *route = in->attn_mode == ATTN_SEPARATE ? m->route_separate : m->route_full;
    const float *x = encoder_forward(&m->enc, a->x0, a->mask, B, m->Tt, in->attn_mode, route, drop);
    layer_layernorm_forward(p, &m->norm, a->final, a->final_mean, a->final_rstd, x, N);
    pooler_forward(p, &m->pooler, a->final, a->cls, a->pool_pre, a->pooled, B, T, C);
    return 0;
}

static int embed_needs_grad(const Vilt *m) {
    const Params *p = m->params;
    int ids[] = {m->word_emb, m->text_pos, m->type_emb, m->cls_token, m->img_pos, m->text_type};
    for (int i = 0; i < 6; i++)
        if (ids[i] >= 0 && p->info[ids[i]].trainable) return 1;
    if (m->stem_kind == VILT_STEM_CONV) {
        for (int i = 0; i < m->stem.n; i++)
            if (p->info[m->stem.w[i]].trainable || p->info[m->stem.b[i]].trainable) return 1;
    } else if (linear_trainable(p, &m->patch_proj)) {
        return 1;
    }
    return layernorm_trainable(p, &m->text_ln);
}

void vilt_backward(Vilt *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    ViltActs *a = &m->act;
    ViltGrads *g = &m->grad;
    /* lowest layer whose backward is needed: -1 = embeddings too, L = none */
    int low = embed_needs_grad(m) ? -1 : encoder_lowest_trainable(&m->enc);
    encoder_top_backward(&m->enc, m->params, &m->pooler, &m->norm, a->cls, a->pooled, a->final_mean, a->final_rstd,
                         a->x0, dfinal, dpooled, g->dfinal, g->dpre, g->dcls, g->dx, in->B, low);
    if (low < 0) embed_backward(m, in);
}

double vilt_forward_flops(const Vilt *m, int B) {
    double T = m->T, C = m->cfg.d, L = m->cfg.layers, hid = (double)m->cfg.mlp_ratio * C;
    double K = 3.0 * m->cfg.patch * m->cfg.patch;
    double per_layer = 2.0 * B * T * (4 * C * C + 2 * C * hid) /* q k v proj fc1 fc2 */
                       + 2.0 * 2.0 * B * T * T * C;            /* QK^T and PV */
    return L * per_layer + 2.0 * B * m->P * K * C + 2.0 * B * C * C;
}

/* The Model interface (engine/models/model.h). */

static Vilt *impl(Model *m) { return m->impl; }

void vilt_model_shapes(Model *m, const Vilt *v) {
    m->Tt = v->Tt;
    m->patch_grid = v->cfg.image_size / v->cfg.patch;
}

static int vilt_create(Model *m) {
    int stem;
    if (vilt_stem_parse(m->cfg.stem, &stem) != 0) return -1;
    m->impl = xcalloc(1, sizeof(Vilt));
    vilt_register(impl(m), &m->cfg.dims, stem, &m->params);
    vilt_model_shapes(m, impl(m));
    return 0;
}

void vilt_model_init(Model *m, Rng *rng) { vilt_init_weights(impl(m), rng); }

void vilt_model_alloc(Model *m, int max_batch) {
    Vilt *v = impl(m);
    vilt_alloc(v, max_batch);
    m->T = v->T;
    m->n_image_tokens = 1 + v->P;
    m->final = v->act.final;
    m->pooled = v->act.pooled;
}

int vilt_model_forward(Model *m, const ModelInput *in) { return vilt_forward(impl(m), in, &m->drop); }

void vilt_model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    vilt_backward(impl(m), in, dfinal, dpooled);
}

static void vilt_model_backbone(Model *m, Backbone *bb) { vilt_backbone(impl(m), bb); }

static void vilt_model_add_prompts(Model *m, int n, int entry) { vilt_add_prompts(impl(m), n, entry); }

static void vilt_model_destroy(Model *m) { vilt_free(impl(m)); }

const ModelOps model_vilt = {
    .kind = "vilt",
    .create = vilt_create,
    .init_weights = vilt_model_init,
    .alloc = vilt_model_alloc,
    .forward = vilt_model_forward,
    .backward = vilt_model_backward,
    .backbone = vilt_model_backbone,
    .add_prompts = vilt_model_add_prompts,
    .destroy = vilt_model_destroy,
};
