#include "nn_encoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_pooler.h"
#include "nn_act_slots.h"
#include "ops.h"

static const EncoderExpertNames vilt_names = {1, {"norm2"}, {"mlp"}};

void encoder_register(Encoder *e, Params *p, const EncoderConfig *c, const char *prefix,
                      const EncoderExpertNames *names, int T) {
    memset(e, 0, sizeof *e);
    e->cfg = *c;
    e->params = p;
    e->T = T;
    e->prompt = -1;
    int C = c->d, hidden = c->mlp_ratio * C;
    const ParamGroup bb = PARAM_GROUP_BACKBONE;
    e->blocks = xcalloc(c->layers, sizeof(EncoderBlock));
    for (int l = 0; l < c->layers; l++) {
        EncoderBlock *b = &e->blocks[l];
        const EncoderExpertNames *nm = names ? &names[l] : &vilt_names;
        if (nm->n < 1 || nm->n > ENCODER_MAX_EXPERTS) die("encoder layer %d: %d experts", l, nm->n);
        char name[PARAM_NAME_MAX];
#define NAME(...) (snprintf(name, sizeof name, __VA_ARGS__), name)
        layernorm_register(p, &b->norm1, NAME("%s.%d.norm1", prefix, l), C, 1e-6f, bb);
        linear_register(p, &b->q, NAME("%s.%d.attn.q", prefix, l), C, C, bb);
        linear_register(p, &b->k, NAME("%s.%d.attn.k", prefix, l), C, C, bb);
        linear_register(p, &b->v, NAME("%s.%d.attn.v", prefix, l), C, C, bb);
        linear_register(p, &b->proj, NAME("%s.%d.attn.proj", prefix, l), C, C, bb);
        b->n_experts = nm->n;
        for (int x = 0; x < nm->n; x++) {
            EncoderExpert *ex = &b->expert[x];
            layernorm_register(p, &ex->norm, NAME("%s.%d.%s", prefix, l, nm->norm[x]), C, 1e-6f, bb);
            linear_register(p, &ex->fc1, NAME("%s.%d.%s.fc1", prefix, l, nm->mlp[x]), C, hidden, bb);
            linear_register(p, &ex->fc2, NAME("%s.%d.%s.fc2", prefix, l, nm->mlp[x]), hidden, C, bb);
        }
#undef NAME
    }
}

void encoder_init_weights(Encoder *e, Rng *rng) {
    Params *p = e->params;
    for (int l = 0; l < e->cfg.layers; l++) {
        EncoderBlock *b = &e->blocks[l];
        layernorm_init(p, &b->norm1);
        for (int x = 0; x < b->n_experts; x++) layernorm_init(p, &b->expert[x].norm);
        Linear *lins[] = {&b->q, &b->k, &b->v, &b->proj};
        for (int i = 0; i < 4; i++) linear_init(p, lins[i], rng);
        for (int x = 0; x < b->n_experts; x++) {
            linear_init(p, &b->expert[x].fc1, rng);
            linear_init(p, &b->expert[x].fc2, rng);
        }
    }
}

void encoder_add_prompts(Encoder *e, int n, int entry) {
    if (e->act_block) die("encoder_add_prompts after encoder_alloc");
    e->T += n - e->n_prompt;
    e->n_prompt = n;
    e->prompt = entry;
}

void encoder_alloc(Encoder *e, int max_batch) {
    int B = max_batch, T = e->T, C = e->cfg.d, L = e->cfg.layers, H = e->cfg.heads;
    size_t BTC = (size_t)B * T * C, BT = (size_t)B * T, hid = (size_t)e->cfg.mlp_ratio * BTC;
    e->max_batch = B;
    EncoderActs *a = &e->act;
    ActSlot acts[] = {
        {&a->ln1, L * BTC},     {&a->ln1_mean, L * BT},   {&a->ln1_rstd, L * BT}, {&a->q, L * BTC},
        {&a->k, L * BTC},       {&a->v, L * BTC},         {&a->probs, (size_t)L * B * H * T * T},
        {&a->atty, L * BTC},    {&a->res1, L * BTC},      {&a->ln2, L * BTC},     {&a->ln2_mean, L * BT},
        {&a->ln2_rstd, L * BT}, {&a->fc1, L * hid},       {&a->gelu, L * hid},    {&a->res2, L * BTC},
        {&a->scratch, BTC},     {&a->gather, BTC},        {&a->drop_proj, L * BTC}, {&a->drop_hid, L * hid},
        {&a->drop_fc2, L * BTC},
    };
    act_slots_alloc(acts, (int)(sizeof acts / sizeof acts[0]), &e->act_block);
    EncoderGrads *g = &e->grad;
    ActSlot grads[] = {
        {&g->dln, BTC},  {&g->dq, BTC},    {&g->dk, BTC},   {&g->dv, BTC},  {&g->datty, BTC},
        {&g->dfc1, hid}, {&g->dgelu, hid}, {&g->dattn, (size_t)T * T},     {&g->gdx, BTC}, {&g->gin, BTC},
        {&g->ddrop, BTC}, {&g->ddrop_hid, hid},
    };
    act_slots_alloc(grads, (int)(sizeof grads / sizeof grads[0]), &e->grad_block);
    e->route = xcalloc(L, sizeof(EncoderRoute));
    e->rows = xcalloc(BT, sizeof(int));
    e->lanes = xcalloc(attention_lanes(T), sizeof(int));
}

void encoder_free(Encoder *e) {
    free(e->blocks);
    free(e->act_block);
    free(e->grad_block);
    free(e->route);
    free(e->rows);
    free(e->lanes);
    e->blocks = NULL;
    e->act_block = e->grad_block = NULL;
    e->route = NULL;
    e->rows = e->lanes = NULL;
}

Linear *encoder_linear(Encoder *e, int layer, LinearKind kind, int expert) {
    EncoderBlock *b = &e->blocks[layer];
    switch (kind) {
    case LIN_Q: return &b->q;
    case LIN_K: return &b->k;
    case LIN_V: return &b->v;
    case LIN_PROJ: return &b->proj;
    case LIN_FC1: return &b->expert[expert].fc1;
    case LIN_FC2: return &b->expert[expert].fc2;
    default: die("encoder_linear: kind %d", kind);
    }
}

/* Write layer l's prompts into the last n_prompt rows of every sequence of x. */
static void prompts_forward(const Encoder *e, float *x, int B, int l) {
    const float *pr = params_data(e->params, e->prompt) + (size_t)l * e->n_prompt * e->cfg.d;
    size_t rows = (size_t)e->n_prompt * e->cfg.d;
    for (int b = 0; b < B; b++) memcpy(x + ((size_t)b * e->T + e->T - e->n_prompt) * e->cfg.d, pr, rows * sizeof(float));
}

/* The prompt rows of dx are layer l's prompt gradient; they do not flow
 * further down (the rows were overwritten in forward). */
static void prompts_backward(const Encoder *e, float *dx, int B, int l) {
    float *dp = params_grad(e->params, e->prompt);
    size_t rows = (size_t)e->n_prompt * e->cfg.d;
    for (int b = 0; b < B; b++) {
        float *src = dx + ((size_t)b * e->T + e->T - e->n_prompt) * e->cfg.d;
        if (dp)
            for (size_t i = 0; i < rows; i++) dp[(size_t)l * rows + i] += src[i];
        memset(src, 0, rows * sizeof(float));
    }
}

/* A layer's FFN rows of one expert: [off, off + n) of the grouped order. */
typedef struct {
    int expert, off, n;
} Group;

/* The groups of layer l; 1 when every row uses one expert (natural order). */
static int layer_groups(const Encoder *e, int l, int B, int seg, Group g[2]) {
    EncoderRoute r = e->route[l];
    int N = B * e->T;
    if (r.text == r.rest || seg <= 0 || seg >= e->T) {
        g[0] = (Group){seg <= 0 ? r.rest : r.text, 0, N};
        return 1;
    }
    g[0] = (Group){r.text, 0, B * seg};
    g[1] = (Group){r.rest, B * seg, N - B * seg};
    return 2;
}

/* e->rows: the text rows [0, seg) of every sequence, then the rest. */
static void rows_build(Encoder *e, int B, int seg) {
    int T = e->T, i = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < seg; t++) e->rows[i++] = b * T + t;
    for (int b = 0; b < B; b++)
        for (int t = seg; t < T; t++) e->rows[i++] = b * T + t;
}

static void rows_gather(float *dst, const float *src, const int *rows, int n, int C) {
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * C, src + (size_t)rows[i] * C, sizeof(float) * C);
}

static void rows_scatter(float *dst, const float *src, const int *rows, int n, int C) {
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)rows[i] * C, src + (size_t)i * C, sizeof(float) * C);
}

/* The FFN experts of one group, rows [off, off + n) of the grouped buffers:
 * out = drop(fc2(drop(gelu(fc1(LN2 inp))))). */
static void expert_forward(Encoder *e, int l, const Group *g, const float *inp, float *out, const Dropout *drop) {
    const Params *p = e->params;
    const EncoderExpert *ex = &e->blocks[l].expert[g->expert];
    size_t C = (size_t)e->cfg.d, hid = C * e->cfg.mlp_ratio, LTC = (size_t)e->max_batch * e->T * C;
    size_t LT = (size_t)e->max_batch * e->T, o = (size_t)g->off;
    float *ln2 = e->act.ln2 + l * LTC + o * C, *fc1 = e->act.fc1 + l * LTC * e->cfg.mlp_ratio + o * hid;
    float *gel = e->act.gelu + l * LTC * e->cfg.mlp_ratio + o * hid;
    layer_layernorm_forward(p, &ex->norm, ln2, e->act.ln2_mean + l * LT + o, e->act.ln2_rstd + l * LT + o, inp + o * C,
                            g->n);
    layer_linear_forward(p, &ex->fc1, fc1, ln2, g->n);
    gelu_forward(gel, fc1, (size_t)g->n * hid);
    layer_dropout_forward(drop, gel, e->act.drop_hid + l * LTC * e->cfg.mlp_ratio + o * hid, (size_t)g->n * hid);
    layer_linear_forward(p, &ex->fc2, out + o * C, gel, g->n);
    layer_dropout_forward(drop, out + o * C, e->act.drop_fc2 + l * LTC + o * C, (size_t)g->n * C);
}

/* Backward of expert_forward: dx (grouped dout) += the LN2 input gradient;
 * inp is the grouped input. */
static void expert_backward(Encoder *e, int l, const Group *g, const float *inp, float *dx) {
    const Params *p = e->params;
    const EncoderExpert *ex = &e->blocks[l].expert[g->expert];
    EncoderGrads *gr = &e->grad;
    size_t C = (size_t)e->cfg.d, hid = C * e->cfg.mlp_ratio, LTC = (size_t)e->max_batch * e->T * C;
    size_t LT = (size_t)e->max_batch * e->T, o = (size_t)g->off;
    const float *ln2 = e->act.ln2 + l * LTC + o * C, *fc1 = e->act.fc1 + l * LTC * e->cfg.mlp_ratio + o * hid;
    const float *gel = e->act.gelu + l * LTC * e->cfg.mlp_ratio + o * hid;
    const float *dout = dx + o * C;
    float *dgel = gr->dgelu + o * hid; /* the gradient of fc2's input */
    if (e->dropped) {
        memset(gr->ddrop + o * C, 0, sizeof(float) * g->n * C);
        dropout_backward(gr->ddrop + o * C, dout, e->act.drop_fc2 + l * LTC + o * C, (size_t)g->n * C);
        dout = gr->ddrop + o * C;
        dgel = gr->ddrop_hid + o * hid;
        memset(dgel, 0, sizeof(float) * g->n * hid);
    }
    layer_linear_backward(p, &ex->fc2, dgel, dout, gel, g->n);
    if (e->dropped)
        dropout_backward(gr->dgelu + o * hid, dgel, e->act.drop_hid + l * LTC * e->cfg.mlp_ratio + o * hid,
                         (size_t)g->n * hid);
    gelu_backward(gr->dfc1 + o * hid, fc1, gr->dgelu + o * hid, (size_t)g->n * hid);
    layer_linear_backward(p, &ex->fc1, gr->dln + o * C, gr->dfc1 + o * hid, ln2, g->n);
    layer_layernorm_backward(p, &ex->norm, dx + o * C, gr->dln + o * C, inp + o * C, e->act.ln2_mean + l * LT + o,
                             e->act.ln2_rstd + l * LT + o, g->n);
}

const float *encoder_forward(Encoder *e, float *x, const int *key_mask, int B, int seg, AttnMode mode,
                             const EncoderRoute *route, const Dropout *drop) {
    const Params *p = e->params;
    EncoderActs *a = &e->act;
    int T = e->T, C = e->cfg.d, H = e->cfg.heads, N = B * T;
    size_t LTC = (size_t)e->max_batch * T * C, LT = (size_t)e->max_batch * T, Lprob = (size_t)e->max_batch * H * T * T;
    int split = 0;
    e->seg = seg;
    e->dropped = layer_dropout_active(drop);
    for (int l = 0; l < e->cfg.layers; l++) {
        e->route[l] = route ? route[l] : (EncoderRoute){0, 0};
        split |= e->route[l].text != e->route[l].rest;
    }
    if (split) rows_build(e, B, seg);
    for (int l = 0; l < e->cfg.layers; l++) {
        EncoderBlock *bl = &e->blocks[l];
        if (e->n_prompt) prompts_forward(e, x, B, l);
        float *ln1 = a->ln1 + l * LTC, *q = a->q + l * LTC, *k = a->k + l * LTC, *v = a->v + l * LTC;
        float *atty = a->atty + l * LTC, *res1 = a->res1 + l * LTC, *res2 = a->res2 + l * LTC;
        layer_layernorm_forward(p, &bl->norm1, ln1, a->ln1_mean + l * LT, a->ln1_rstd + l * LT, x, N);
        layer_linear_forward(p, &bl->q, q, ln1, N);
        layer_linear_forward(p, &bl->k, k, ln1, N);
        layer_linear_forward(p, &bl->v, v, ln1, N);
        attention_forward_mode(atty, a->probs + l * Lprob, e->lanes, q, k, v, key_mask, B, T, C, H, seg, mode);
        layer_linear_forward(p, &bl->proj, a->scratch, atty, N);
        layer_dropout_forward(drop, a->scratch, a->drop_proj + l * LTC, (size_t)N * C);
        residual_forward(res1, x, a->scratch, (size_t)N * C);
        Group g[2];
        int ng = layer_groups(e, l, B, seg, g);
        if (ng == 1) {
            expert_forward(e, l, &g[0], res1, a->scratch, drop);
            residual_forward(res2, res1, a->scratch, (size_t)N * C);
        } else {
            rows_gather(a->gather, res1, e->rows, N, C);
            for (int i = 0; i < ng; i++) expert_forward(e, l, &g[i], a->gather, a->scratch, drop);
            residual_forward(a->gather, a->gather, a->scratch, (size_t)N * C);
            rows_scatter(res2, a->gather, e->rows, N, C);
        }
        x = res2;
    }
    return x;
}

static int block_needs_grad(const Params *p, const EncoderBlock *b) {
    int need = layernorm_trainable(p, &b->norm1) || linear_trainable(p, &b->q) || linear_trainable(p, &b->k) ||
               linear_trainable(p, &b->v) || linear_trainable(p, &b->proj);
    for (int x = 0; x < b->n_experts && !need; x++)
        need = layernorm_trainable(p, &b->expert[x].norm) || linear_trainable(p, &b->expert[x].fc1) ||
               linear_trainable(p, &b->expert[x].fc2);
    return need;
}

int encoder_lowest_trainable(const Encoder *e) {
    if (e->prompt >= 0 && e->params->info[e->prompt].trainable) return 0;
    for (int l = 0; l < e->cfg.layers; l++)
        if (block_needs_grad(e->params, &e->blocks[l])) return l;
    return e->cfg.layers;
}

void encoder_backward(Encoder *e, float *dx, const float *x0, int B, int low) {
    const Params *p = e->params;
    EncoderActs *a = &e->act;
    EncoderGrads *g = &e->grad;
    int T = e->T, C = e->cfg.d, H = e->cfg.heads, N = B * T, L = e->cfg.layers;
    size_t LTC = (size_t)e->max_batch * T * C, LT = (size_t)e->max_batch * T, Lprob = (size_t)e->max_batch * H * T * T;
    size_t NC = (size_t)N * C, Nhid = NC * e->cfg.mlp_ratio;
    for (int l = L - 1; l >= 0 && l >= low; l--) {
        EncoderBlock *bl = &e->blocks[l];
        const float *x = l == 0 ? x0 : a->res2 + (l - 1) * LTC;
        float *ln1 = a->ln1 + l * LTC, *q = a->q + l * LTC, *k = a->k + l * LTC, *v = a->v + l * LTC;
        float *atty = a->atty + l * LTC, *res1 = a->res1 + l * LTC;
        /* MLP branch: res2 = res1 + drop(fc2(drop(gelu(fc1(ln2(res1)))))); dx holds dres2 */
        memset(g->dgelu, 0, sizeof(float) * Nhid);
        memset(g->dfc1, 0, sizeof(float) * Nhid);
        memset(g->dln, 0, sizeof(float) * NC);
        Group gr[2];
        int ng = layer_groups(e, l, B, e->seg, gr);
        if (ng == 1) {
            expert_backward(e, l, &gr[0], res1, dx);
        } else {
            rows_gather(g->gdx, dx, e->rows, N, C);
            rows_gather(g->gin, res1, e->rows, N, C);
            for (int i = 0; i < ng; i++) expert_backward(e, l, &gr[i], g->gin, g->gdx);
            rows_scatter(dx, g->gdx, e->rows, N, C);
        }
        /* attention branch: res1 = x + drop(proj(attn(q, k, v))); dx holds dres1 */
        const float *dproj = dx;
        if (e->dropped) {
            memset(g->ddrop, 0, sizeof(float) * NC);
            dropout_backward(g->ddrop, dx, a->drop_proj + l * LTC, NC);
            dproj = g->ddrop;
        }
        memset(g->datty, 0, sizeof(float) * NC);
        layer_linear_backward(p, &bl->proj, g->datty, dproj, atty, N);
        memset(g->dq, 0, sizeof(float) * NC);
        memset(g->dk, 0, sizeof(float) * NC);
        memset(g->dv, 0, sizeof(float) * NC);
        attention_backward(g->dq, g->dk, g->dv, g->dattn, g->datty, a->probs + l * Lprob, q, k, v, B, T, C, H);
        memset(g->dln, 0, sizeof(float) * NC);
        layer_linear_backward(p, &bl->q, g->dln, g->dq, ln1, N);
        layer_linear_backward(p, &bl->k, g->dln, g->dk, ln1, N);
        layer_linear_backward(p, &bl->v, g->dln, g->dv, ln1, N);
        layer_layernorm_backward(p, &bl->norm1, dx, g->dln, x, a->ln1_mean + l * LT, a->ln1_rstd + l * LT, N);
        if (e->n_prompt) prompts_backward(e, dx, B, l);
    }
}

void encoder_top_backward(Encoder *e, const Params *p, const Linear *pooler, const LayerNorm *norm,
                          const float *cls, const float *pooled, const float *final_mean, const float *final_rstd,
                          const float *x0, const float *dfinal_in, const float *dpooled, float *dfinal, float *dpre,
                          float *dcls, float *dx, int B, int low) {
    int T = e->T, C = e->cfg.d, N = B * T;
    pooler_backward(p, pooler, cls, pooled, dpooled, dfinal_in, dfinal, dpre, dcls, B, T, C);
    if (low >= e->cfg.layers && !layernorm_trainable(p, norm)) return;
    memset(dx, 0, sizeof(float) * (size_t)N * C);
    layer_layernorm_backward(p, norm, dx, dfinal, encoder_output(e), final_mean, final_rstd, N);
    encoder_backward(e, dx, x0, B, low);
}

void encoder_backbone(Encoder *e, Linear ***table, const int expert[2], int fusion_from, int max_batch,
                      const char *model_name, Backbone *bb) {
    int L = e->cfg.layers;
    if (!*table) {
        *table = xcalloc((size_t)L * LIN_KINDS, sizeof(Linear *));
        for (int l = 0; l < L; l++)
            for (int k = 0; k < LIN_KINDS; k++)
                (*table)[l * LIN_KINDS + k] = encoder_linear(e, l, k, expert[l >= fusion_from]);
    }
    bb->layers = L;
    bb->d = e->cfg.d;
    bb->max_rows = max_batch * e->T;
    bb->lin = *table;
    bb->model = NULL; /* model.c: the Model */
    bb->model_name = model_name;
}
