/* The ViLT-style single-stream vision-language transformer (docs/engine.md,
 * "Models"): BERT text embeddings, linear patch embedding with an image CLS
 * token, modality-type embeddings, pre-LN blocks with separate q, k, v
 * (engine/nn/nn_encoder.c), a final LayerNorm and a tanh pooler over token 0 (the
 * text [CLS]). The blocks may carry FFN experts routed by modality, which
 * is all the VLMo-style model (engine/models/model_vlmo.c) changes.
 *
 * Text embeddings: LayerNorm(word + position), or with BERT's token-type
 * table (ModelDims.text_types > 0, a converted ViLT checkpoint)
 * LayerNorm((word + type row 0) + position), in BERT's order of additions.
 *
 * Sequence layout, T = Tt + 1 + P + Np tokens: [text (Tt); image CLS; P
 * patches; Np deep-prompt tokens (0 unless a prompt method adds them)].
 * Parameters live in a Params store shared with heads and methods;
 * activations are allocated once for max_batch sequences. */
#ifndef MOIL_VILT_H
#define MOIL_VILT_H

#include "model.h"
#include "nn_conv_stem.h"
#include "nn_encoder.h"
#include "nn_layers.h"

enum { VILT_STEM_PATCH = 0, VILT_STEM_CONV = 1 };

/* ModelConfig.stem ("patch" | "conv") as VILT_STEM_*; -1 (err_set) otherwise. */
int vilt_stem_parse(const char *name, int *stem);

typedef struct {
    /* embeddings */
    float *tok;                             /* [B,Tt,C] word + position */
    float *tln, *tln_mean, *tln_rstd;       /* [B,Tt,C], [B,Tt], [B,Tt] */
    float *patches;                         /* [B,P,3pp] */
    float *pemb;                            /* [B,P,C] */
    float *x0;                              /* [B,T,C] block input */
    float *drop_emb;                        /* [B,T,C] dropout mask of the embeddings (training) */
    int *mask;                              /* [B,T] key mask */
    int *img_type;                          /* [B] */
    float *final, *final_mean, *final_rstd; /* [B,T,C], [B,T], [B,T] */
    float *cls, *pool_pre, *pooled;         /* [B,C] */
} ViltActs;

typedef struct {
    float *dx;              /* [B,T,C] */
    float *dfinal;          /* [B,T,C] */
    float *dpemb;           /* [B,P,C] */
    float *dtln, *dtok;     /* [B,Tt,C] */
    float *dcls, *dpre;     /* [B,C] */
    float *dstem;           /* [B,C,P] conv stem output gradient */
    float *demb;            /* [B,T,C] the embeddings' gradient before their dropout */
} ViltGrads;

typedef struct {
    ModelDims cfg;
    int stem_kind; /* VILT_STEM_PATCH (linear patch embedding) or VILT_STEM_CONV */
    Params *params;
    int Tt, P, T; /* text tokens, patches, total tokens (prompts included) */
    int max_batch;
    /* parameter entries */
    int word_emb, text_pos; /* [V,C], [Tt,C] */
    int text_type;          /* [text_types,C] BERT's token-type table (row 0 added to every text
                             * token, before the position, as BERT adds it); -1: none */
    LayerNorm text_ln;
    int type_emb;           /* [n_types,C] */
    Linear patch_proj;      /* [C,3pp] stored as the conv weight [C,3,p,p] (patch stem) */
    ConvStem stem;          /* conv stem */
    int cls_token, img_pos; /* [1,1,C], [1,1+P,C] */
    Encoder enc;            /* the blocks (deep prompts included) */
    const EncoderRoute *route_full, *route_separate; /* [L] FFN experts per attention mode; NULL: expert 0 */
    int view_expert[2];     /* expert of the backbone view's fc1/fc2: in layers below / from fusion_from */
    int fusion_from;        /* first layer of view_expert[1] */
    LayerNorm norm;
    Linear pooler;
    ViltActs act;
    ViltGrads grad;
    float *act_block, *grad_block;
    int *int_block;
    Linear **lin_table; /* [L * LIN_KINDS], for vilt_backbone */
} Vilt;

/* Register the backbone's tensors in p (before params_alloc). */
void vilt_register(Vilt *m, const ModelDims *cfg, int stem, Params *p);
/* The same with FFN experts: names[l] names layer l's experts (NULL: one,
 * "norm2"/"mlp"). The caller sets route_full/route_separate and the view's
 * experts afterwards (VLMo, engine/models/model_vlmo.c). */
void vilt_register_experts(Vilt *m, const ModelDims *cfg, int stem, Params *p, const EncoderExpertNames *names);
/* After params_alloc: random init (timm/BERT style) and activation buffers. */
void vilt_init_weights(Vilt *m, Rng *rng);
void vilt_alloc(Vilt *m, int max_batch);
/* Deep prompt tuning: n learned tokens per layer, entry [L,n,C], appended to
 * the sequence and replaced before every block. Call before vilt_alloc. */
void vilt_add_prompts(Vilt *m, int n, int entry);
/* The view adaptation methods work on (lin array owned by the model). */
void vilt_backbone(Vilt *m, Backbone *bb);
void vilt_free(Vilt *m);

/* Forward pass; outputs in m->act.final [B,T,C] and m->act.pooled [B,C].
 * drop: the pass's dropout (NULL or inactive: none; a training pass drops
 * the text embeddings after their LayerNorm, the image tokens after their
 * positions, both before the modality type, and inside the blocks).
 * Returns -1 (err_set) if B exceeds the size the run was allocated for. */
int vilt_forward(Vilt *m, const ModelInput *in, const Dropout *drop);
/* Backward pass from dfinal [B,T,C] and/or dpooled [B,C] (either may be
 * NULL); accumulates into the trainable parameters' gradients and stops
 * early below the lowest layer that has anything to train. */
void vilt_backward(Vilt *m, const ModelInput *in, const float *dfinal, const float *dpooled);

/* FLOPs of one forward pass of B sequences (multiply-add = 2), for the
 * benchmark's achieved-rate report; backward costs about twice this. */
double vilt_forward_flops(const Vilt *m, int B);

/* The ModelOps of "vilt" (engine/models/model.h) a kind built on the Vilt
 * shares: its Model's impl starts with the Vilt (VLMo's does). */
void vilt_model_shapes(Model *m, const Vilt *v); /* Tt, patch_grid: for create */
void vilt_model_init(Model *m, Rng *rng);
void vilt_model_alloc(Model *m, int max_batch);
int vilt_model_forward(Model *m, const ModelInput *in);
void vilt_model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled);

#endif
