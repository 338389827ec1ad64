/* A model of the engine behind one interface, so tasks, methods and the
 * trainer work with every kind: its parameter store, the view methods adapt,
 * forward/backward over a batch, and the outputs heads read. Nothing here
 * names a kind: what only one kind has (its configuration, deep prompts)
 * stays behind its ModelOps.
 *
 * Sequence layout every kind keeps: [text (Tt tokens); image tokens
 * (n_image_tokens: image CLS + patches, or regions); anything else]; token 0
 * is the text [CLS] the pooler reads.
 *
 * Life cycle: model_create (registers the backbone) -> tasks register heads,
 * the method registers its tensors -> model_finish (allocates parameters and
 * activations, random init) -> checkpoint loading -> method setup.
 * Adding a kind: engine/models/model_<kind>.c + .h (the network and its
 * ModelOps, its own configuration in ModelConfig.kind_config), one line in
 * the table in engine/models/model.c. */
#ifndef MOIL_MODEL_H
#define MOIL_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "io_tokenizer.h"
#include "nn_backbone.h"
#include "nn_layers.h"
#include "nn_params.h"
#include "op_attn_mask.h"
#include "rng.h"

/* One batch of inputs, B <= the max_batch the model was allocated for. */
typedef struct {
    int B;
    const int *text_ids;   /* [B,Tt] token ids, padded */
    const int *text_mask;  /* [B,Tt] 1 = real token, 0 = padding */
    const float *images;   /* [B,3,S,S] pixels in [-1,1] */
    const int *image_type; /* [B] modality type of the image tokens (1; 2 for a second image), NULL = 1 */
    int attn_mode;         /* ATTN_FULL, ATTN_SEPARATE (no cross-modal attention: the unimodal
                            * pass of ITC) or ATTN_CAUSAL_TEXT (seq2seq: text causal) */
    const int64_t *image_ids; /* [B] the dataset id of each image, which a kind that reads
                               * precomputed image features looks up; NULL = unknown */
} ModelInput;

/* The sizes every kind shares (a kind may leave some unused: a model over
 * regions has no patches). */
typedef struct {
    int vocab;      /* V_text */
    int d;          /* C */
    int layers;     /* L */
    int heads;      /* H */
    int mlp_ratio;  /* hidden = mlp_ratio * C */
    int patch;      /* p */
    int image_size; /* S (square, divisible by p) */
    int max_text;   /* Tt, text length including [CLS] and [SEP] */
    int n_types;    /* modality types: 0 text, 1 image, 2 second image */
    int text_types; /* rows of BERT's text token-type table, whose row 0 the text embeddings add
                     * (a converted ViLT checkpoint: 2); 0: no such table (word + position only) */
} ModelDims;

/* The reference sizes of the benchmark and the default model. */
ModelDims model_dims_default(int vocab);

/* Bytes a kind may keep of its own configuration in a ModelConfig. */
#define MODEL_KIND_CONFIG_BYTES 2048

typedef struct {
    char kind[16];  /* "vilt" */
    char stem[16];  /* "patch" | "conv" */
    ModelDims dims;
    /* The kind's own configuration, zero unless its ModelOps sets it; only
     * the kind reads it (its header names the type and an accessor, which
     * checks at compile time that the type fits here; the type is declared
     * may_alias, since it is read and written through in place). */
    _Alignas(max_align_t) unsigned char kind_config[MODEL_KIND_CONFIG_BYTES];
} ModelConfig;

typedef struct Model Model;

typedef struct {
    const char *kind;
    /* Optional, for a kind with a configuration of its own (kc: its
     * ModelConfig.kind_config, zeroed before config_default): its defaults;
     * its keys of the checkpoint JSON, added to / read from the whole
     * "model_config" object j (from_json after the shared sizes, dims, are
     * read and checked); -1 on failure (to_json: out of memory; from_json:
     * err_set, a bad value). */
    void (*config_default)(void *kc);
    int (*config_to_json)(const void *kc, json_t *j);
    int (*config_from_json)(void *kc, const json_t *j, const ModelDims *dims, const char *where);
    /* Optional: record what the kind reads beside the dataset (vinvl: the
     * region folder data_dir/regions, tag words in tok's ids) in kc. */
    int (*prepare)(void *kc, const char *data_dir, const Tokenizer *tok);
    /* Register the backbone's tensors in m->params (config in m->cfg); set
     * Tt, patch_grid, reads_image_ids and dual_encoder. */
    int (*create)(Model *m);
    void (*init_weights)(Model *m, Rng *rng);
    /* Activations for max_batch sequences; sets T, n_image_tokens, final, pooled. */
    void (*alloc)(Model *m, int max_batch);
    int (*forward)(Model *m, const ModelInput *in);
    void (*backward)(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled);
    /* The view adaptation methods work on. */
    void (*backbone)(Model *m, Backbone *bb);
    /* Optional: deep prompt tuning, n learned tokens per layer in the
     * parameter entry [L,n,C], appended to the sequence and replaced before
     * every block (between create and alloc). */
    void (*add_prompts)(Model *m, int n, int entry);
    /* Free what impl holds (model_free then frees impl). */
    void (*destroy)(Model *m);
} ModelOps;

struct Model {
    const ModelOps *ops;
    ModelConfig cfg;
    Params params;
    Backbone bb; /* bb.model is this Model */
    void *impl;  /* the kind's own struct (Vilt for "vilt"), allocated by its create */
    int max_batch;
    /* shapes heads need */
    int d, Tt, T, image_size;
    int n_image_tokens; /* rows [Tt, Tt + n_image_tokens) of each sequence */
    int patch_grid;     /* g > 0: the image tokens are [image CLS; g x g patches, row-major] of
                         * image_size / g pixels; 0: they are not patches (regions) */
    int reads_image_ids; /* 1: forward looks each image up by ModelInput.image_ids */
    int dual_encoder;    /* 1: a unimodal pass (ATTN_SEPARATE) is a dual encoder of its own
                          * (modality experts), for retrieval by ITC features */
    /* outputs of the last forward */
    float *final;  /* [B,T,d] */
    float *pooled; /* [B,d] */
    Dropout drop;  /* of the forward passes: inactive (evaluation) unless model_train_mode set it */
};

/* Defaults for a kind and a vocabulary size; -1 for an unknown kind. */
int model_config_default(ModelConfig *c, const char *kind, int vocab);
/* For a new model (not one from a checkpoint): the kind's prepare step. */
int model_config_prepare(ModelConfig *c, const char *data_dir, const Tokenizer *tok);
/* To/from the JSON stored in checkpoint metadata ("model_config"). */
json_t *model_config_to_json(const ModelConfig *c);
int model_config_from_json(ModelConfig *c, const json_t *j, const char *where);

/* Register the backbone. */
int model_create(Model *m, const ModelConfig *c);
/* Deep prompts (ModelOps.add_prompts), before model_finish; -1 (err_set)
 * for a kind without them. */
int model_add_prompts(Model *m, int n, int entry);
/* Allocate parameters (random init drawn from rng) and activations for
 * max_batch sequences. */
void model_finish(Model *m, int max_batch, Rng *rng);
/* The same for a model that is only evaluated (its weights then loaded):
 * parameter values without gradient or optimiser blocks (params_alloc_data). */
void model_finish_eval(Model *m, int max_batch, Rng *rng);
void model_free(Model *m);

/* Training mode: forward passes drop activations with probability p (the
 * kinds' placement: docs/engine.md, "Dropout"), masks drawn from rng, until
 * model_eval_mode. A new model is in evaluation mode: nothing dropped,
 * nothing drawn; p = 0 is the same. The trainer sets the mode around each
 * training step (engine/train/train.c). */
void model_train_mode(Model *m, float p, Rng *rng);
void model_eval_mode(Model *m);

int model_forward(Model *m, const ModelInput *in);
void model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled);

#endif
