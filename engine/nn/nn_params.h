/* The parameter store: every trainable or frozen tensor of a model, its
 * heads and its adaptation method, as named entries in one contiguous block
 * (and one block each for gradients and the two AdamW moments). Entries are
 * registered first, then params_alloc() sizes the blocks once for the run.
 * Each entry carries a trainable flag (a method freezes or unfreezes tensors
 * without touching the model code), whether weight decay applies, a
 * learning-rate multiplier and the step it starts training at. */
#ifndef MOIL_PARAMS_H
#define MOIL_PARAMS_H

#include <stddef.h>

#include "rng.h"

#define PARAM_NAME_MAX 96
#define PARAM_MAX_DIMS 4

typedef struct {
    char name[PARAM_NAME_MAX]; /* ViLT/timm name, e.g. transformer.blocks.0.attn.q.weight */
    int ndim;
    int shape[PARAM_MAX_DIMS];
    size_t offset; /* into each block, in floats */
    size_t size;   /* number of floats */
    int trainable;
    int decay;     /* 1 for weight matrices (and the MLP heads' LayerNorm weight, as
                    * ViLT's rule by name), 0 for biases, norms, embeddings' positions */
    float lr_mult; /* learning-rate multiplier (1 by default) */
    int first_step; /* the first optimiser step (from 1) that moves it (1 by
                     * default): before it AdamW leaves it untouched, as a
                     * tensor without a gradient, and its bias correction
                     * counts its own steps from there */
    int group;     /* which part of the model it belongs to (ParamGroup) */
} ParamInfo;

/* Which part of the network a tensor belongs to, for parameter accounting. */
typedef enum {
    PARAM_GROUP_BACKBONE = 0, /* the pretrained backbone (the 100% of the paper's shares) */
    PARAM_GROUP_HEAD,         /* task heads */
    PARAM_GROUP_METHOD,       /* tensors an adaptation method adds */
    PARAM_GROUP_PRETRAIN,     /* pretraining-only heads */
    PARAM_GROUP_COUNT
} ParamGroup;

typedef struct {
    ParamInfo *info;
    int n, cap;
    size_t total;   /* floats over all entries */
    float *data;    /* [total] */
    float *grad;    /* [total] */
    float *m, *v;   /* [total] AdamW moments */
} Params;

void params_init(Params *p);
void params_free(Params *p);
/* Register a tensor; returns its index. Shapes are row-major. Dies on a
 * duplicate name or after params_alloc (a programming error). */
int params_add(Params *p, const char *name, int ndim, const int *shape, int decay, ParamGroup group);
/* Allocate (zeroed) data, grad and moment blocks for every entry. */
void params_alloc(Params *p);
/* Allocate (zeroed) the data block only, for a store that is evaluated and
 * never trained: grad, m and v stay NULL, so params_grad returns NULL for
 * every entry and nothing may step the optimiser on it. */
void params_alloc_data(Params *p);
/* Index of the entry called name, or -1. */
int params_find(const Params *p, const char *name);

static inline float *params_data(const Params *p, int i) { return p->data + p->info[i].offset; }
/* The gradient buffer of entry i, or NULL when it is frozen (or the store
 * has no gradients: params_alloc_data). */
static inline float *params_grad(const Params *p, int i) {
    return p->info[i].trainable && p->grad ? p->grad + p->info[i].offset : NULL;
}

void params_zero_grad(Params *p);
/* Set the trainable flag of every entry of a group. */
void params_set_trainable_group(Params *p, ParamGroup group, int trainable);
/* Number of floats in entries that are trainable (group < 0: all groups). */
size_t params_count_trainable(const Params *p, int group);
size_t params_count_group(const Params *p, ParamGroup group);

/* Initialisers (ViLT/timm): truncated normal (+-2 std), constant. */
void params_init_trunc_normal(Params *p, int i, float std, Rng *rng);
void params_init_const(Params *p, int i, float value);

#endif
