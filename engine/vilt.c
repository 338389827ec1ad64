#include "vilt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops.h"

ViltConfig vilt_config_default(int vocab) {
    ViltConfig c = {.vocab = vocab, .d = 128, .layers = 4, .heads = 4, .mlp_ratio = 4, .patch = 16,
                    .image_size = 64, .max_text = 24, .n_types = 3};
    return c;
}

void vilt_register(Vilt *m, const ViltConfig *cfg, Params *p) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->params = p;
    int C = cfg->d, g = cfg->image_size / cfg->patch;
    if (cfg->image_size % cfg->patch) die("image size %d is not a multiple of the patch size %d", cfg->image_size, cfg->patch);
    if (C % cfg->heads) die("width %d is not a multiple of the head count %d", C, cfg->heads);
    m->Tt = cfg->max_text;
    m->P = g * g;
    m->T = m->Tt + 1 + m->P;
    m->prompt = -1;
    const ParamGroup bb = PARAM_GROUP_BACKBONE;
    m->word_emb = params_add(p, "text_embeddings.word_embeddings.weight", 2, (int[]){cfg->vocab, C}, 1, bb);
    m->text_pos = params_add(p, "text_embeddings.position_embeddings.weight", 2, (int[]){m->Tt, C}, 1, bb);
    layernorm_register(p, &m->text_ln, "text_embeddings.LayerNorm", C, 1e-12f, bb);
    m->type_emb = params_add(p, "token_type_embeddings.weight", 2, (int[]){cfg->n_types, C}, 1, bb);
    int K = 3 * cfg->patch * cfg->patch;
    if (cfg->stem == VILT_STEM_CONV) {
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
    m->blocks = xcalloc(cfg->layers, sizeof(ViltBlock));
    int hidden = cfg->mlp_ratio * C;
    for (int l = 0; l < cfg->layers; l++) {
        ViltBlock *b = &m->blocks[l];
        char pre[64], name[PARAM_NAME_MAX];
        snprintf(pre, sizeof pre, "transformer.blocks.%d", l);
#define NAME(s) (snprintf(name, sizeof name, "%s.%s", pre, s), name)
        layernorm_register(p, &b->norm1, NAME("norm1"), C, 1e-6f, bb);
        linear_register(p, &b->q, NAME("attn.q"), C, C, bb);
        linear_register(p, &b->k, NAME("attn.k"), C, C, bb);
        linear_register(p, &b->v, NAME("attn.v"), C, C, bb);
        linear_register(p, &b->proj, NAME("attn.proj"), C, C, bb);
        layernorm_register(p, &b->norm2, NAME("norm2"), C, 1e-6f, bb);
        linear_register(p, &b->fc1, NAME("mlp.fc1"), C, hidden, bb);
        linear_register(p, &b->fc2, NAME("mlp.fc2"), hidden, C, bb);
#undef NAME
    }
    layernorm_register(p, &m->norm, "transformer.norm", C, 1e-6f, bb);
    linear_register(p, &m->pooler, "pooler.dense", C, C, bb);
}

void vilt_init_weights(Vilt *m, Rng *rng) {
    Params *p = m->params;
    params_init_trunc_normal(p, m->word_emb, 0.02f, rng);
    params_init_trunc_normal(p, m->text_pos, 0.02f, rng);
    layernorm_init(p, &m->text_ln);
    params_init_trunc_normal(p, m->type_emb, 0.02f, rng);
    if (m->cfg.stem == VILT_STEM_CONV) conv_stem_init(&m->stem, p, rng);
    else linear_init(p, &m->patch_proj, rng);
    params_init_trunc_normal(p, m->cls_token, 0.02f, rng);
    params_init_trunc_normal(p, m->img_pos, 0.02f, rng);
    for (int l = 0; l < m->cfg.layers; l++) {
        ViltBlock *b = &m->blocks[l];
        layernorm_init(p, &b->norm1);
        layernorm_init(p, &b->norm2);
        Linear *lins[] = {&b->q, &b->k, &b->v, &b->proj, &b->fc1, &b->fc2};
        for (int i = 0; i < 6; i++) linear_init(p, lins[i], rng);
    }
    layernorm_init(p, &m->norm);
    linear_init(p, &m->pooler, rng);
}

/* One row of the activation table: where the pointer lives and its size. */
typedef struct {
    float **ptr;
    size_t n;
} ActSlot;

static size_t slots_alloc(ActSlot *s, int n, float **block) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += s[i].n;
    *block = xcalloc(total, sizeof(float));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        *s[i].ptr = *block + off;
        off += s[i].n;
    }
    return total;
}

void vilt_alloc(Vilt *m, int max_batch) {
    int B = max_batch, T = m->T, Tt = m->Tt, P = m->P, C = m->cfg.d, L = m->cfg.layers, H = m->cfg.heads;
    size_t BTC = (size_t)B * T * C, BT = (size_t)B * T, hid = (size_t)m->cfg.mlp_ratio * BTC;
    size_t K = 3 * (size_t)m->cfg.patch * m->cfg.patch;
    m->max_batch = B;
    ViltActs *a = &m->act;
    ActSlot acts[] = {
        {&a->ln1, L * BTC},       {&a->ln1_mean, L * BT},   {&a->ln1_rstd, L * BT},
        {&a->q, L * BTC},         {&a->k, L * BTC},         {&a->v, L * BTC},
        {&a->probs, (size_t)L * B * H * T * T},             {&a->atty, L * BTC},
        {&a->res1, L * BTC},      {&a->ln2, L * BTC},       {&a->ln2_mean, L * BT},
        {&a->ln2_rstd, L * BT},   {&a->fc1, L * hid},       {&a->gelu, L * hid},
        {&a->res2, L * BTC},      {&a->tok, (size_t)B * Tt * C},
        {&a->tln, (size_t)B * Tt * C},                      {&a->tln_mean, (size_t)B * Tt},
        {&a->tln_rstd, (size_t)B * Tt},                     {&a->patches, (size_t)B * P * K},
        {&a->pemb, (size_t)B * P * C},                      {&a->x0, BTC},
        {&a->final, BTC},         {&a->final_mean, BT},     {&a->final_rstd, BT},
        {&a->cls, (size_t)B * C}, {&a->pool_pre, (size_t)B * C}, {&a->pooled, (size_t)B * C},
        {&a->scratch, BTC},
    };
    slots_alloc(acts, (int)(sizeof acts / sizeof acts[0]), &m->act_block);
    ViltGrads *g = &m->grad;
    ActSlot grads[] = {
        {&g->dx, BTC},    {&g->dln, BTC},   {&g->dq, BTC},    {&g->dk, BTC},
        {&g->dv, BTC},    {&g->datty, BTC}, {&g->dfc1, hid},  {&g->dgelu, hid},
        {&g->dattn, (size_t)T * T},         {&g->dfinal, BTC}, {&g->dpemb, (size_t)B * P * C},
        {&g->dtln, (size_t)B * Tt * C},     {&g->dtok, (size_t)B * Tt * C},
        {&g->dcls, (size_t)B * C},          {&g->dpre, (size_t)B * C},
        {&g->dstem, (size_t)B * P * C},
    };
    slots_alloc(grads, (int)(sizeof grads / sizeof grads[0]), &m->grad_block);
    if (m->cfg.stem == VILT_STEM_CONV) conv_stem_alloc(&m->stem, B, m->cfg.image_size);
    m->int_block = xcalloc(BT + B, sizeof(int));
    a->mask = m->int_block;
    a->img_type = m->int_block + BT;
}

void vilt_add_prompts(Vilt *m, int n, int entry) {
    if (m->act_block) die("vilt_add_prompts after vilt_alloc");
    m->n_prompt = n;
    m->prompt = entry;
    m->T = m->Tt + 1 + m->P + n;
}

void vilt_backbone(Vilt *m, Backbone *bb) {
    if (!m->lin_table) {
        m->lin_table = xcalloc((size_t)m->cfg.layers * LIN_KINDS, sizeof(Linear *));
        for (int l = 0; l < m->cfg.layers; l++) {
            ViltBlock *b = &m->blocks[l];
            Linear *lins[LIN_KINDS] = {&b->q, &b->k, &b->v, &b->proj, &b->fc1, &b->fc2};
            for (int k = 0; k < LIN_KINDS; k++) m->lin_table[l * LIN_KINDS + k] = lins[k];
        }
    }
    bb->layers = m->cfg.layers;
    bb->d = m->cfg.d;
    bb->max_rows = m->max_batch * m->T;
    bb->lin = m->lin_table;
    bb->model = m;
    bb->model_name = "vilt";
}

/* Write layer l's prompts into the last n_prompt rows of every sequence of x. */
static void prompts_forward(const Vilt *m, float *x, int B, int l) {
    const float *pr = params_data(m->params, m->prompt) + (size_t)l * m->n_prompt * m->cfg.d;
    size_t rows = (size_t)m->n_prompt * m->cfg.d;
    for (int b = 0; b < B; b++) memcpy(x + ((size_t)b * m->T + m->T - m->n_prompt) * m->cfg.d, pr, rows * sizeof(float));
}

/* The prompt rows of dx are layer l's prompt gradient; they do not flow
 * further down (the rows were overwritten in forward). */
static void prompts_backward(const Vilt *m, float *dx, int B, int l) {
    float *dp = params_grad(m->params, m->prompt);
    size_t rows = (size_t)m->n_prompt * m->cfg.d;
    for (int b = 0; b < B; b++) {
        float *src = dx + ((size_t)b * m->T + m->T - m->n_prompt) * m->cfg.d;
        if (dp)
            for (size_t i = 0; i < rows; i++) dp[(size_t)l * rows + i] += src[i];
        memset(src, 0, rows * sizeof(float));
    }
}

void vilt_free(Vilt *m) {
    free(m->lin_table);
    m->lin_table = NULL;
    if (m->cfg.stem == VILT_STEM_CONV) conv_stem_free(&m->stem);
    free(m->blocks);
    free(m->act_block);
    free(m->grad_block);
    free(m->int_block);
    m->blocks = NULL;
    m->act_block = m->grad_block = NULL;
    m->int_block = NULL;
}

/* x0 = [text + type 0; image CLS + pos 0 + type t; patches + pos + type t] */
static void embed_forward(Vilt *m, const ViltInput *in) {
    const Params *p = m->params;
    ViltActs *a = &m->act;
    int B = in->B, Tt = m->Tt, P = m->P, T = m->T, C = m->cfg.d;
    embedding_forward(a->tok, in->text_ids, params_data(p, m->word_emb), B * Tt, C);
    const float *pos = params_data(p, m->text_pos);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tt; t++) {
            float *row = a->tok + ((size_t)b * Tt + t) * C;
            for (int c = 0; c < C; c++) row[c] += pos[(size_t)t * C + c];
        }
    layer_layernorm_forward(p, &m->text_ln, a->tln, a->tln_mean, a->tln_rstd, a->tok, B * Tt);
    if (m->cfg.stem == VILT_STEM_CONV) {
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
    for (int b = 0; b < B; b++) {
        int it = in->image_type ? in->image_type[b] : 1;
        a->img_type[b] = it;
        const float *ttext = type, *timg = type + (size_t)it * C;
        for (int t = 0; t < T; t++) {
            float *x = a->x0 + ((size_t)b * T + t) * C;
            a->mask[(size_t)b * T + t] = t < Tt ? in->text_mask[(size_t)b * Tt + t] : 1;
            if (t >= Tt + 1 + P) continue; /* prompt rows: written per layer */
            if (t < Tt) {
                const float *s = a->tln + ((size_t)b * Tt + t) * C;
                for (int c = 0; c < C; c++) x[c] = s[c] + ttext[c];
            } else {
                int ip = t - Tt; /* 0 = image CLS */
                const float *s = ip == 0 ? cls : a->pemb + ((size_t)b * P + ip - 1) * C;
                for (int c = 0; c < C; c++) x[c] = s[c] + ipos[(size_t)ip * C + c] + timg[c];
            }
        }
    }
}

static void embed_backward(Vilt *m, const ViltInput *in) {
    const Params *p = m->params;
    ViltActs *a = &m->act;
    ViltGrads *g = &m->grad;
    int B = in->B, Tt = m->Tt, P = m->P, T = m->T, C = m->cfg.d;
    float *dtype = params_grad(p, m->type_emb), *dcls = params_grad(p, m->cls_token);
    float *dipos = params_grad(p, m->img_pos);
    memset(g->dtln, 0, sizeof(float) * B * Tt * C);
    memset(g->dpemb, 0, sizeof(float) * B * P * C);
    for (int b = 0; b < B; b++) {
        int it = a->img_type[b];
        for (int t = 0; t < Tt + 1 + P; t++) {
            const float *dx = g->dx + ((size_t)b * T + t) * C;
            float *dt = dtype ? dtype + (size_t)(t < Tt ? 0 : it) * C : NULL;
            if (dt)
                for (int c = 0; c < C; c++) dt[c] += dx[c];
            if (t < Tt) {
                memcpy(g->dtln + ((size_t)b * Tt + t) * C, dx, sizeof(float) * C);
                continue;
            }
            int ip = t - Tt;
            if (dipos)
                for (int c = 0; c < C; c++) dipos[(size_t)ip * C + c] += dx[c];
            float *dst = ip == 0 ? dcls : g->dpemb + ((size_t)b * P + ip - 1) * C;
            if (dst)
                for (int c = 0; c < C; c++) dst[c] += dx[c];
        }
    }
    if (m->cfg.stem == VILT_STEM_CONV) {
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int q = 0; q < P; q++) g->dstem[((size_t)b * C + c) * P + q] = g->dpemb[((size_t)b * P + q) * C + c];
        conv_stem_backward(&m->stem, p, g->dstem, B);
    } else {
        layer_linear_backward(p, &m->patch_proj, NULL, g->dpemb, a->patches, B * P);
    }
    float *dword = params_grad(p, m->word_emb), *dpos = params_grad(p, m->text_pos);
    memset(g->dtok, 0, sizeof(float) * B * Tt * C);
    layer_layernorm_backward(p, &m->text_ln, (dword || dpos) ? g->dtok : NULL, g->dtln, a->tok, a->tln_mean,
                             a->tln_rstd, B * Tt);
    if (dword) embedding_backward(dword, g->dtok, in->text_ids, B * Tt, C);
    if (dpos)
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tt; t++)
                for (int c = 0; c < C; c++) dpos[(size_t)t * C + c] += g->dtok[((size_t)b * Tt + t) * C + c];
}

int vilt_forward(Vilt *m, const ViltInput *in) {
    if (in->B > m->max_batch || in->B < 1)
        return err_set("batch of %d sequences, but the model was allocated for at most %d", in->B, m->max_batch);
    const Params *p = m->params;
    ViltActs *a = &m->act;
    int B = in->B, T = m->T, C = m->cfg.d, H = m->cfg.heads, N = B * T;
    size_t LTC = (size_t)m->max_batch * T * C, LT = (size_t)m->max_batch * T;
    size_t Lhid = LTC * m->cfg.mlp_ratio, Lprob = (size_t)m->max_batch * H * T * T;
    embed_forward(m, in);
    float *x = a->x0;
    for (int l = 0; l < m->cfg.layers; l++) {
        ViltBlock *bl = &m->blocks[l];
        if (m->n_prompt) prompts_forward(m, x, B, l);
        float *ln1 = a->ln1 + l * LTC, *q = a->q + l * LTC, *k = a->k + l * LTC, *v = a->v + l * LTC;
        float *atty = a->atty + l * LTC, *res1 = a->res1 + l * LTC, *ln2 = a->ln2 + l * LTC;
        float *fc1 = a->fc1 + l * Lhid, *gel = a->gelu + l * Lhid, *res2 = a->res2 + l * LTC;
        layer_layernorm_forward(p, &bl->norm1, ln1, a->ln1_mean + l * LT, a->ln1_rstd + l * LT, x, N);
        layer_linear_forward(p, &bl->q, q, ln1, N);
        layer_linear_forward(p, &bl->k, k, ln1, N);
        layer_linear_forward(p, &bl->v, v, ln1, N);
        attention_forward_mode(atty, a->probs + l * Lprob, q, k, v, a->mask, B, T, C, H, m->Tt, in->attn_mode);
        layer_linear_forward(p, &bl->proj, a->scratch, atty, N);
        residual_forward(res1, x, a->scratch, (size_t)N * C);
        layer_layernorm_forward(p, &bl->norm2, ln2, a->ln2_mean + l * LT, a->ln2_rstd + l * LT, res1, N);
        layer_linear_forward(p, &bl->fc1, fc1, ln2, N);
        gelu_forward(gel, fc1, (size_t)N * bl->fc1.out);
        layer_linear_forward(p, &bl->fc2, a->scratch, gel, N);
        residual_forward(res2, res1, a->scratch, (size_t)N * C);
        x = res2;
    }
    layer_layernorm_forward(p, &m->norm, a->final, a->final_mean, a->final_rstd, x, N);
    for (int b = 0; b < B; b++) memcpy(a->cls + (size_t)b * C, a->final + (size_t)b * T * C, sizeof(float) * C);
    layer_linear_forward(p, &m->pooler, a->pool_pre, a->cls, B);
    tanh_forward(a->pooled, a->pool_pre, (size_t)B * C);
    return 0;
}

static int linear_needs_grad(const Params *p, const Linear *l) {
    return l->hook || p->info[l->w].trainable || p->info[l->b].trainable;
}

static int layernorm_needs_grad(const Params *p, const LayerNorm *ln) {
    return p->info[ln->w].trainable || p->info[ln->b].trainable;
}

static int block_needs_grad(const Params *p, const ViltBlock *b) {
    return layernorm_needs_grad(p, &b->norm1) || layernorm_needs_grad(p, &b->norm2) || linear_needs_grad(p, &b->q) ||
           linear_needs_grad(p, &b->k) || linear_needs_grad(p, &b->v) || linear_needs_grad(p, &b->proj) ||
           linear_needs_grad(p, &b->fc1) || linear_needs_grad(p, &b->fc2);
}

static int embed_needs_grad(const Vilt *m) {
    const Params *p = m->params;
    int ids[] = {m->word_emb, m->text_pos, m->type_emb, m->cls_token, m->img_pos};
    for (int i = 0; i < 5; i++)
        if (p->info[ids[i]].trainable) return 1;
    if (m->cfg.stem == VILT_STEM_CONV) {
        for (int i = 0; i < m->stem.n; i++)
            if (p->info[m->stem.w[i]].trainable || p->info[m->stem.b[i]].trainable) return 1;
    } else if (linear_needs_grad(p, &m->patch_proj)) {
        return 1;
    }
    return layernorm_needs_grad(p, &m->text_ln);
}

/* Lowest layer whose backward is needed: -1 = embeddings too, L = none. */
static int lowest_trainable(const Vilt *m) {
    if (embed_needs_grad(m)) return -1;
    if (m->prompt >= 0 && m->params->info[m->prompt].trainable) return 0;
    for (int l = 0; l < m->cfg.layers; l++)
        if (block_needs_grad(m->params, &m->blocks[l])) return l;
    return m->cfg.layers;
}

void vilt_backward(Vilt *m, const ViltInput *in, const float *dfinal, const float *dpooled) {
    const Params *p = m->params;
    ViltActs *a = &m->act;
    ViltGrads *g = &m->grad;
    int B = in->B, T = m->T, C = m->cfg.d, H = m->cfg.heads, N = B * T, L = m->cfg.layers;
    size_t LTC = (size_t)m->max_batch * T * C, LT = (size_t)m->max_batch * T;
    size_t Lhid = LTC * m->cfg.mlp_ratio, Lprob = (size_t)m->max_batch * H * T * T;
    size_t NC = (size_t)N * C, Nhid = (size_t)N * m->cfg.mlp_ratio * C;
    if (dfinal) memcpy(g->dfinal, dfinal, sizeof(float) * NC);
    else memset(g->dfinal, 0, sizeof(float) * NC);
    if (dpooled) {
        memset(g->dpre, 0, sizeof(float) * B * C);
        memset(g->dcls, 0, sizeof(float) * B * C);
        tanh_backward(g->dpre, a->pooled, dpooled, (size_t)B * C);
        layer_linear_backward(p, &m->pooler, g->dcls, g->dpre, a->cls, B);
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) g->dfinal[(size_t)b * T * C + c] += g->dcls[(size_t)b * C + c];
    }
    int low = lowest_trainable(m);
    int need_norm = layernorm_needs_grad(p, &m->norm);
    if (low >= L && !need_norm) return;
    memset(g->dx, 0, sizeof(float) * NC);
    const float *top = a->res2 + (L - 1) * LTC;
    layer_layernorm_backward(p, &m->norm, g->dx, g->dfinal, top, a->final_mean, a->final_rstd, N);
    for (int l = L - 1; l >= 0 && l >= low; l--) {
        ViltBlock *bl = &m->blocks[l];
        const float *x = l == 0 ? a->x0 : a->res2 + (l - 1) * LTC;
        float *ln1 = a->ln1 + l * LTC, *q = a->q + l * LTC, *k = a->k + l * LTC, *v = a->v + l * LTC;
        float *atty = a->atty + l * LTC, *res1 = a->res1 + l * LTC, *ln2 = a->ln2 + l * LTC;
        float *fc1 = a->fc1 + l * Lhid, *gel = a->gelu + l * Lhid;
        /* MLP branch: res2 = res1 + fc2(gelu(fc1(ln2(res1)))); g->dx holds dres2 */
        memset(g->dgelu, 0, sizeof(float) * Nhid);
        layer_linear_backward(p, &bl->fc2, g->dgelu, g->dx, gel, N);
        memset(g->dfc1, 0, sizeof(float) * Nhid);
        gelu_backward(g->dfc1, fc1, g->dgelu, Nhid);
        memset(g->dln, 0, sizeof(float) * NC);
        layer_linear_backward(p, &bl->fc1, g->dln, g->dfc1, ln2, N);
        layer_layernorm_backward(p, &bl->norm2, g->dx, g->dln, res1, a->ln2_mean + l * LT, a->ln2_rstd + l * LT, N);
        /* attention branch: res1 = x + proj(attn(q, k, v)); g->dx holds dres1 */
        memset(g->datty, 0, sizeof(float) * NC);
        layer_linear_backward(p, &bl->proj, g->datty, g->dx, atty, N);
        memset(g->dq, 0, sizeof(float) * NC);
        memset(g->dk, 0, sizeof(float) * NC);
        memset(g->dv, 0, sizeof(float) * NC);
        attention_backward(g->dq, g->dk, g->dv, g->dattn, g->datty, a->probs + l * Lprob, q, k, v, B, T, C, H);
        memset(g->dln, 0, sizeof(float) * NC);
        layer_linear_backward(p, &bl->q, g->dln, g->dq, ln1, N);
        layer_linear_backward(p, &bl->k, g->dln, g->dk, ln1, N);
        layer_linear_backward(p, &bl->v, g->dln, g->dv, ln1, N);
        layer_layernorm_backward(p, &bl->norm1, g->dx, g->dln, x, a->ln1_mean + l * LT, a->ln1_rstd + l * LT, N);
        if (m->n_prompt) prompts_backward(m, g->dx, B, l);
    }
    if (low < 0) embed_backward(m, in);
}

double vilt_forward_flops(const Vilt *m, int B) {
    double T = m->T, C = m->cfg.d, L = m->cfg.layers, hid = (double)m->cfg.mlp_ratio * C;
    double K = 3.0 * m->cfg.patch * m->cfg.patch;
    double per_layer = 2.0 * B * T * (4 * C * C + 2 * C * hid) /* q k v proj fc1 fc2 */
                       + 2.0 * 2.0 * B * T * T * C;            /* QK^T and PV */
    return L * per_layer + 2.0 * B * m->P * K * C + 2.0 * B * C * C;
}
