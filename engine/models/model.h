/* A model of the engine behind one interface, so tasks, methods and the
 * trainer work with every kind: its parameter store, the view methods adapt,
 * forward/backward over a batch, and the outputs heads read.
 *
 * Sequence layout every kind keeps: [text (Tt tokens); image tokens
 * (n_image_tokens: image CLS + patches, or regions); anything else]; token 0
 * is the text [CLS] the pooler reads.
 *
 * Life cycle: model_create (registers the backbone) -> tasks register heads,
 * the method registers its tensors -> model_finish (allocates parameters and
 * activations, random init) -> checkpoint loading -> method setup.
 * Adding a kind: engine/models/model_<kind>.c (the network and its ModelOps), one line in the table
 * in engine/models/model.c. */
#ifndef MOIL_MODEL_H
#define MOIL_MODEL_H

#include <jansson.h>

#include "nn_params.h"
#include "io_tokenizer.h"
#include "model_vilt.h"

typedef ViltInput ModelInput;

#define MODEL_TAG_CLASSES 64
#define MODEL_TAG_WORDS 4

/* vinvl: where its regions come from and how its tags read (the optional
 * JSON key "regions"); zero for other kinds. */
typedef struct {
    char dir[512];   /* the region folder (engine/io/io_region_store.h) */
    int max_regions; /* R: region rows */
    int dim;         /* floats per region feature (appearance + geometry) */
    int n_classes;
    int tag_len;     /* W: words per tag */
    int tag_words[MODEL_TAG_CLASSES][MODEL_TAG_WORDS]; /* word ids of each class name, TOK_PAD after its words */
} RegionConfig;

typedef struct {
    char kind[16];   /* "vilt" */
    char stem[16];   /* "patch" | "conv" */
    ViltConfig vilt; /* the sizes every kind shares (vocab, d, layers, heads, ...) */
    int fusion_layers; /* vlmo: top layers with the vision-language expert; 0 for other kinds
                        * (an optional key of the JSON) */
    RegionConfig regions; /* vinvl */
} ModelConfig;

typedef struct Model Model;

typedef struct {
    const char *kind;
    /* Optional: record what the kind reads beside the dataset (vinvl: the
     * region folder data_dir/regions, tag words in tok's ids) in c. */
    int (*prepare)(ModelConfig *c, const char *data_dir, const Tokenizer *tok);
    /* Register the backbone's tensors in m->params (config in m->cfg). */
    int (*create)(Model *m);
    void (*init_weights)(Model *m, Rng *rng);
    /* Activations for max_batch sequences; sets T, n_image_tokens, final, pooled. */
    void (*alloc)(Model *m, int max_batch);
    int (*forward)(Model *m, const ModelInput *in);
    void (*backward)(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled);
    /* The view adaptation methods work on. */
    void (*backbone)(Model *m, Backbone *bb);
    void (*destroy)(Model *m);
} ModelOps;

struct Model {
    const ModelOps *ops;
    ModelConfig cfg;
    Params params;
    Backbone bb;
    void *impl; /* the kind's own struct (Vilt for "vilt") */
    int max_batch;
    /* shapes heads need */
    int d, Tt, T, image_size;
    int n_image_tokens; /* rows [Tt, Tt + n_image_tokens) of each sequence */
    /* outputs of the last forward */
    float *final;  /* [B,T,d] */
    float *pooled; /* [B,d] */
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
/* Allocate parameters (random init drawn from rng) and activations for
 * max_batch sequences. */
void model_finish(Model *m, int max_batch, Rng *rng);
void model_free(Model *m);

int model_forward(Model *m, const ModelInput *in);
void model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled);

#endif
