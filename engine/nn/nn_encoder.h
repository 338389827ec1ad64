/* The transformer block stack the models share (docs/engine.md, "Models"): L
 * pre-LN blocks over x [B,T,C],
 *   x += proj(attn(q(LN1 x), k(LN1 x), v(LN1 x)))   (attention shared by all rows)
 *   x += fc2(GELU(fc1(LN2_e x)))                    (FFN expert e of the row)
 * with a key mask, a text-segment length (rows [0, seg) of each sequence are
 * text) and an AttnMode. In training, dropout as timm's ViT block (ViLT's):
 * on proj's output, on the GELU output and on fc2's output; attention
 * probabilities are not dropped. A block has one FFN expert (ViLT) or several
 * (VLMo's mixture of modality experts): each row goes through exactly one,
 * chosen per layer by an EncoderRoute (the expert of the text rows and the
 * expert of the rest). Deep prompts: n learned rows per layer written into
 * the last n rows of every sequence before each block.
 *
 * Parameter names follow ViLT/timm under a prefix: <prefix>.N.norm1,
 * .attn.{q,k,v,proj}, and per expert <norm name> and <mlp name>.{fc1,fc2}
 * (ViLT: "norm2", "mlp"; VLMo: "norm2_text", "mlp_text", ...). Activations
 * are allocated once for max_batch sequences; with several experts the FFN
 * activations of a layer hold the rows grouped by expert. */
#ifndef MOIL_ENCODER_H
#define MOIL_ENCODER_H

#include "nn_backbone.h"
#include "nn_layers.h"
#include "op_attn_mask.h"

#define ENCODER_MAX_EXPERTS 3

typedef struct {
    LayerNorm norm; /* norm2 of the block, per expert */
    Linear fc1, fc2;
} EncoderExpert;

typedef struct {
    LayerNorm norm1;
    Linear q, k, v, proj;
    int n_experts;
    EncoderExpert expert[ENCODER_MAX_EXPERTS];
} EncoderBlock;

/* Names of one layer's experts, relative to <prefix>.N. */
typedef struct {
    int n;
    const char *norm[ENCODER_MAX_EXPERTS]; /* "norm2" */
    const char *mlp[ENCODER_MAX_EXPERTS];  /* "mlp" */
} EncoderExpertNames;

/* Which expert a layer's rows use: text rows [0, seg) -> text, the rest -> rest. */
typedef struct {
    int text, rest;
} EncoderRoute;

typedef struct {
    int layers, d, heads, mlp_ratio;
} EncoderConfig;

typedef struct {
    /* per layer, stacked with a leading layer dimension L */
    float *ln1, *ln1_mean, *ln1_rstd; /* [L,B,T,C], [L,B,T], [L,B,T] */
    float *q, *k, *v;                 /* [L,B,T,C] */
    float *probs;                     /* [L,B,H,T,T] */
    float *atty;                      /* [L,B,T,C] attention output before proj */
    float *res1;                      /* [L,B,T,C] x + proj(atty) */
    float *ln2, *ln2_mean, *ln2_rstd; /* [L,B,T,C], [L,B,T], [L,B,T] rows grouped by expert */
    float *fc1, *gelu;                /* [L,B,T,4C] rows grouped by expert */
    float *res2;                      /* [L,B,T,C] block output */
    /* dropout masks (0 or 1/(1-p)) of a training forward */
    float *drop_proj;                 /* [L,B,T,C] proj's output */
    float *drop_hid;                  /* [L,B,T,4C] GELU output, rows grouped by expert */
    float *drop_fc2;                  /* [L,B,T,C] fc2's output, rows grouped by expert */
    float *scratch, *gather;          /* [B,T,C] */
} EncoderActs;

typedef struct {
    float *dln, *dq, *dk, *dv, *datty; /* [B,T,C] */
    float *dfc1, *dgelu;               /* [B,T,4C] */
    float *dattn;                      /* [T,T] */
    float *gdx, *gin;                  /* [B,T,C] rows of one expert, gathered */
    float *ddrop, *ddrop_hid;          /* [B,T,C], [B,T,4C] gradients of dropped outputs */
} EncoderGrads;

typedef struct {
    EncoderConfig cfg;
    Params *params;
    EncoderBlock *blocks; /* [L] */
    int T;                /* tokens per sequence, prompts included */
    int n_prompt;         /* deep prompt rows per layer: the last n_prompt rows */
    int prompt;           /* entry [L,n_prompt,C]; -1 none */
    int max_batch;
    EncoderRoute *route;  /* [L] routes of the last forward */
    int seg;              /* text-segment length of the last forward */
    int dropped;          /* 1: the last forward dropped (its masks are in act) */
    int *rows;            /* [B*T] row indices grouped by expert (split layers) */
    int *lanes;           /* attention_lanes(T) scratch of the attention */
    EncoderActs act;
    EncoderGrads grad;
    float *act_block, *grad_block;
} Encoder;

/* Register the blocks' tensors under prefix ("transformer.blocks");
 * names[l] gives layer l's experts (NULL: one expert "norm2"/"mlp" per
 * layer). T is the sequence length without prompts. */
void encoder_register(Encoder *e, Params *p, const EncoderConfig *c, const char *prefix,
                      const EncoderExpertNames *names, int T);
/* timm init, in registration order of each block. */
void encoder_init_weights(Encoder *e, Rng *rng);
/* Deep prompts (before encoder_alloc): n rows per layer from entry [L,n,C]. */
void encoder_add_prompts(Encoder *e, int n, int entry);
void encoder_alloc(Encoder *e, int max_batch);
void encoder_free(Encoder *e);

/* x [B,T,C] in (prompt rows overwritten) -> the top block's output, returned
 * (inside the activations). key_mask [B,T]; route [L] (NULL: expert 0 for
 * every row); drop: the pass's dropout (NULL or inactive: none). */
const float *encoder_forward(Encoder *e, float *x, const int *key_mask, int B, int seg, AttnMode mode,
                             const EncoderRoute *route, const Dropout *drop);
/* The top block's output of the last forward [B,T,C]. */
static inline const float *encoder_output(const Encoder *e) {
    return e->act.res2 + (size_t)(e->cfg.layers - 1) * e->max_batch * e->T * e->cfg.d;
}
/* dx [B,T,C]: in, the gradient of the top output; out, the gradient of the
 * input x. Runs layers L-1 .. low (see encoder_lowest_trainable); x is the
 * input of the last forward. */
void encoder_backward(Encoder *e, float *dx, const float *x, int B, int low);
/* The backward every single-stream model ends with, from its outputs down
 * to the block input: the tanh pooler (nn_pooler.h: dpooled [B,C] and
 * dfinal_in [B,T,C], either may be NULL, summed into dfinal), the final
 * LayerNorm norm (its forward statistics final_mean, final_rstd [B,T]), then
 * the blocks from the top down to layer low, into dx [B,T,C] (x0: the block
 * input of the forward). Stops after the pooler when neither the blocks
 * (low >= L) nor norm need gradients. dpre, dcls [B,C] are scratch. */
void encoder_top_backward(Encoder *e, const Params *p, const Linear *pooler, const LayerNorm *norm,
                          const float *cls, const float *pooled, const float *final_mean, const float *final_rstd,
                          const float *x0, const float *dfinal_in, const float *dpooled, float *dfinal, float *dpre,
                          float *dcls, float *dx, int B, int low);
/* The view adaptation methods work on (nn_backbone.h) over this stack, for
 * model model_name: *table [L * LIN_KINDS] is made on the first call (the
 * caller frees it), layer l's fc1/fc2 taken from expert[l >= fusion_from];
 * max_rows = max_batch * T. The model pointer is left for model.c to set. */
void encoder_backbone(Encoder *e, Linear ***table, const int expert[2], int fusion_from, int max_batch,
                      const char *model_name, Backbone *bb);
/* Lowest layer whose backward is needed (trainable tensors, hooks or
 * prompts); L when none. */
int encoder_lowest_trainable(const Encoder *e);
/* Linear of a block by kind (LinearKind of nn_backbone.h: q, k, v, proj, then
 * fc1, fc2 of the given expert). */
Linear *encoder_linear(Encoder *e, int layer, LinearKind kind, int expert);

#endif
