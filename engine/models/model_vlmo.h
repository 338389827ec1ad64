/* The VLMo-style model (docs/engine.md, "Models"; VLMo's MoME Transformer at our
 * scale): the ViLT-style embeddings (text, patch or conv stem, image CLS,
 * positions, modality types), self-attention shared by all tokens in every
 * block, and per-block FFN experts chosen by modality:
 *   bottom L-F layers  text expert (mlp_text) for text rows, image expert
 *                      (mlp_imag) for the rest;
 *   top F layers       the same two plus a vision-language expert (mlp_vl).
 * A fusion pass (ATTN_FULL, or ATTN_CAUSAL_TEXT) routes every row of the top
 * layers through mlp_vl; a unimodal pass (ATTN_SEPARATE: no cross-modal
 * attention) keeps text/image experts in every layer, so it is VLMo's dual
 * encoder: text-only and image-only features in one pass.
 *
 * Names as VLMo's: transformer.blocks.N.{norm2_text, mlp_text.fc1, norm2_imag,
 * mlp_imag.fc1, norm2_vl, mlp_vl.fc1, ...}; attention as ViLT's (attn.q, ...).
 * Backbone view for methods: q, k, v, proj the shared attention; fc1/fc2 the
 * vision-language expert where a layer has one, else the text expert. */
#ifndef MOIL_VLMO_H
#define MOIL_VLMO_H

#include "model_vilt.h"

#define VLMO_FUSION_LAYERS 1 /* default F of the L = 4 layers */

enum { VLMO_TEXT = 0, VLMO_IMAGE = 1, VLMO_VL = 2 }; /* expert indices in a block */

/* VLMo's own configuration (ModelConfig.kind_config of a "vlmo" config; the
 * key "fusion_layers" of its JSON, optional: VLMO_FUSION_LAYERS). may_alias:
 * it lives in that byte array, so a write through it must not be assumed to
 * leave the ModelConfig unchanged (without it, GCC at -O2 for x86-64-v3 moved
 * a store of fusion_layers after the copy of the config that returned it). */
typedef struct __attribute__((may_alias)) {
    int fusion_layers; /* F: top layers with the vision-language expert */
} VlmoConfig;

/* The VlmoConfig in a "vlmo" config. */
VlmoConfig *vlmo_config(ModelConfig *c);

typedef struct {
    Vilt vilt; /* the model, its blocks carrying the experts (first: the Vilt's ModelOps
                * take the Model's impl for it) */
    int fusion_layers;
    EncoderExpertNames *names;                  /* [L] */
    EncoderRoute *route_full, *route_separate; /* [L] */
} Vlmo;

/* Register the backbone's tensors in p; -1 (err_set) if fusion_layers is
 * not in [0, layers]. The rest of the life cycle is the Vilt's
 * (vilt_init_weights, vilt_alloc, vilt_forward, vilt_backward on &m->vilt). */
int vlmo_register(Vlmo *m, const ModelDims *cfg, int stem, int fusion_layers, Params *p);
/* The view methods adapt (model_name "vlmo"). */
void vlmo_backbone(Vlmo *m, Backbone *bb);
void vlmo_free(Vlmo *m);

#endif
