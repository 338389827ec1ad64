/* The VinVL-style two-stage model (docs/engine.md, "Models"; Oscar/VinVL input
 * at our scale). Stage one is frozen and cached (engine/io/io_region_store.h:
 * per image, region features and the tagger's predicted classes); the
 * model reads an image's regions by the image id of ModelInput.image_ids.
 *
 * Sequence, T = Tt + Ntag + R rows:
 *   [CLS] text [SEP]  Tt rows: word + position embeddings, LayerNorm, type 0
 *   tags [SEP]        Ntag = R * W + 1 rows: the predicted class names of the
 *                     regions as words (W per tag at most) packed in region
 *                     order, then [SEP], padding masked; word + tag position
 *                     embeddings through the text LayerNorm, type 1
 *   regions           R rows: feature_proj(appearance) + geometry_proj(box),
 *                     LayerNorm, type 2; missing regions masked
 * then the shared pre-LN block stack (engine/nn/nn_encoder.h; attention modes as
 * every model: ATTN_CAUSAL_TEXT gives captioning's seq2seq mask, text
 * causal and tags + regions visible), a final LayerNorm and the tanh pooler
 * on token 0. The image side of the Model interface (n_image_tokens) is
 * tags + regions.
 *
 * Names: text_embeddings.*, token_type_embeddings.weight, as ViLT's;
 * tag_embeddings.position_embeddings.weight, img_embeddings.feature_proj,
 * img_embeddings.geometry_proj, img_embeddings.LayerNorm;
 * transformer.blocks.N.*, transformer.norm, pooler.dense. */
#ifndef MOIL_VINVL_H
#define MOIL_VINVL_H

#include "io_region_store.h"
#include "model.h"
#include "nn_encoder.h"
#include "nn_layers.h"

#define VINVL_TAG_CLASSES 64
#define VINVL_TAG_WORDS 4

/* VinVL's own configuration (ModelConfig.kind_config of a "vinvl" config;
 * the key "regions" of its JSON): where its regions come from and how its
 * tags read. may_alias, as VlmoConfig (model_vlmo.h): it lives in that byte
 * array. */
typedef struct __attribute__((may_alias)) {
    char dir[512];   /* the region folder (engine/io/io_region_store.h) */
    int max_regions; /* R: region rows */
    int dim;         /* floats per region feature (appearance + geometry) */
    int n_classes;
    int tag_len;     /* W: words per tag */
    int tag_words[VINVL_TAG_CLASSES][VINVL_TAG_WORDS]; /* word ids of each class name, [PAD] (TOK_WORD_PAD) after its words */
} RegionConfig;

/* The RegionConfig in a "vinvl" config. */
RegionConfig *vinvl_regions(ModelConfig *c);

typedef struct {
    float *tok, *tln, *tln_mean, *tln_rstd; /* [B,Tw,C] x 2, [B,Tw] x 2 (Tw = Tt + Ntag word rows) */
    float *rfeat, *rgeo;                    /* [B,R,Da], [B,R,G] region inputs */
    float *rsum, *rln, *rln_mean, *rln_rstd; /* [B,R,C] x 2, [B,R] x 2 */
    float *x0;                              /* [B,T,C] */
    float *drop_emb;                        /* [B,T,C] dropout mask of the embeddings (training) */
    float *final, *final_mean, *final_rstd; /* [B,T,C], [B,T], [B,T] */
    float *cls, *pool_pre, *pooled;         /* [B,C] */
    /* gradients */
    float *dx, *dfinal, *dtln, *dtok, *drln, *drsum, *dcls, *dpre;
    float *demb; /* [B,T,C] the embeddings' gradient before their dropout */
} VinvlActs;

typedef struct {
    ModelDims cfg;    /* shared sizes (patch and image size unused) */
    RegionConfig rc;
    Params *params;
    RegionStore store;
    int Tt, Ntag, R, T, Tw; /* text, tag, region rows; T total; Tw = Tt + Ntag */
    int Da;                  /* appearance floats = rc.dim - REGION_GEOMETRY */
    int max_batch;
    int word_emb, text_pos, tag_pos, type_emb;
    LayerNorm text_ln, region_ln, norm;
    Linear feat_proj, geo_proj, pooler;
    Encoder enc;
    VinvlActs act;
    int *ids, *mask; /* [B,Tw] word ids of text + tags, [B,T] key mask */
    float *block;
    Linear **lin_table;
} Vinvl;

/* Register the tensors and load the region store of rc->dir (checked
 * against rc). */
int vinvl_register(Vinvl *m, const ModelDims *cfg, const RegionConfig *rc, Params *p);
void vinvl_init_weights(Vinvl *m, Rng *rng);
void vinvl_alloc(Vinvl *m, int max_batch);
void vinvl_backbone(Vinvl *m, Backbone *bb);
void vinvl_free(Vinvl *m);
/* drop: the pass's dropout (NULL or inactive: none; a training pass drops
 * the word and region embeddings after their LayerNorms, before the type,
 * and inside the blocks as ViLT's). -1 (err_set) on a batch too large, no
 * image ids, or an image without cached regions. */
int vinvl_forward(Vinvl *m, const ModelInput *in, const Dropout *drop);
void vinvl_backward(Vinvl *m, const ModelInput *in, const float *dfinal, const float *dpooled);

#endif
