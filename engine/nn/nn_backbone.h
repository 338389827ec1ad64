/* What an adaptation method sees of a model: its transformer layers' linear
 * layers by kind, its width, and the most rows one forward pass feeds a
 * linear (for the buffers a method's hooks keep). Every model of the engine
 * fills one, so methods work on all of them. */
#ifndef MOIL_BACKBONE_H
#define MOIL_BACKBONE_H

#include "nn_layers.h"

typedef enum {
    LIN_Q = 0,
    LIN_K,
    LIN_V,
    LIN_PROJ, /* attention output projection */
    LIN_FC1,
    LIN_FC2,
    LIN_KINDS
} LinearKind;

/* Bit masks of kinds, for --targets. */
#define TARGET_BIT(kind) (1u << (kind))
#define TARGETS_QKV (TARGET_BIT(LIN_Q) | TARGET_BIT(LIN_K) | TARGET_BIT(LIN_V))

typedef struct {
    int layers;
    int d;
    int max_rows;  /* most rows (sequences x tokens) a linear sees per forward */
    Linear **lin;  /* [layers * LIN_KINDS]: lin[l * LIN_KINDS + kind] */
    void *model;   /* the Model (engine/models/model.h) viewed, NULL outside one: for
                    * methods that need more (deep prompts) */
    const char *model_name;
} Backbone;

static inline Linear *backbone_linear(const Backbone *b, int layer, LinearKind kind) {
    return b->lin[layer * LIN_KINDS + kind];
}

extern const char *const linear_kind_names[LIN_KINDS];

/* Parse "qkv", "qv", "q,k,v,proj", "all" ... into a mask; -1 if unknown. */
int backbone_targets_parse(const char *s, unsigned *mask);
/* "qkv", "qv", ... into buf. */
void backbone_targets_format(unsigned mask, char *buf, size_t n);

#endif
