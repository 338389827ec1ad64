/* A model of the engine behind one interface, so tasks, methods and the
 * trainer work with every kind: its parameter store, the view methods adapt,
 * forward/backward over a batch, and the outputs heads read.
 *
 * Life cycle: model_create (registers the backbone) -> tasks register heads,
 * the method registers its tensors -> model_finish (allocates parameters and
 * activations, random init) -> checkpoint loading -> method setup. */
#ifndef MOIL_MODEL_H
#define MOIL_MODEL_H

#include <jansson.h>

#include "params.h"
#include "vilt.h"

typedef ViltInput ModelInput;

typedef struct {
    char kind[16];   /* "vilt" */
    char stem[16];   /* "patch" | "conv" */
    ViltConfig vilt;
} ModelConfig;

typedef struct Model {
    ModelConfig cfg;
    Params params;
    Backbone bb;
    Vilt vilt;
    int max_batch;
    /* shapes heads need */
    int d, Tt, T, image_size;
    /* outputs of the last forward */
    float *final;  /* [B,T,d] */
    float *pooled; /* [B,d] */
} Model;

/* Defaults for a kind ("vilt") and a vocabulary size. */
int model_config_default(ModelConfig *c, const char *kind, int vocab);
/* To/from the JSON stored in checkpoint metadata ("model_config"). */
json_t *model_config_to_json(const ModelConfig *c);
int model_config_from_json(ModelConfig *c, const json_t *j, const char *where);

/* Register the backbone. */
int model_create(Model *m, const ModelConfig *c);
/* Allocate parameters (random init with seed) and activations for
 * max_batch sequences. */
void model_finish(Model *m, int max_batch, uint64_t seed);
void model_free(Model *m);

int model_forward(Model *m, const ModelInput *in);
void model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled);

#endif
