/* Adaptation methods (the rows of the comparison tables) plug into a model
 * through this interface. A method decides which backbone tensors train,
 * adds its own tensors (registered in the parameter store with their
 * initialisation), changes what linear layers compute through hooks, may add
 * a loss of its own, and folds into plain weights for inference where it can.
 * Task heads always train. Adding a method: write
 * engine/methods/method_<name>.c with a MethodOps and add one line to the
 * table in engine/methods/method_registry.c.
 *
 * Life cycle in a run:
 *   method_create(name, opts) -> add_params (before params_alloc)
 *   -> [pretrained weights loaded] -> setup (init, trainable flags, hooks)
 *   -> per step: before_step, task loss backward, extra_loss, optimiser
 *   -> evaluation: for each variant, apply_variant ... restore. */
#ifndef MOIL_METHOD_H
#define MOIL_METHOD_H

#include <stddef.h>

#include "nn_backbone.h"
#include "nn_params.h"
#include "rng.h"

/* Every option any method reads; each lands in the run's config. */
typedef struct {
    unsigned targets;     /* LoRA / DoRA / MoIL projections (TARGET_BIT mask) */
    int rank;             /* LoRA / DoRA rank */
    float alpha;          /* LoRA scale numerator: scale = alpha / rank (or / sqrt(rank) with rslora) */
    int rslora;           /* 1: scale = alpha / sqrt(rank) */
    int pissa;            /* 1: LoRA initialised from the top singular vectors of W0 */
    float lora_plus;      /* learning-rate multiplier of LoRA's B (LoRA+); 1 = plain LoRA */
    int bitfit_norms;     /* BitFit also trains LayerNorm weights and biases */
    int adapter_reduction;/* bottleneck adapter: hidden = d / reduction */
    int prompt_len;       /* deep prompt tokens per layer */
    /* MoIL */
    int rank_lora;        /* r_l */
    int rank_adapter;     /* r_a */
    double momentum;      /* EMA rate m; < 0 = scale to the run length (see method_moil.c) */
    int student;          /* MoilStudent */
    double imitation_scale; /* multiplies the imitation loss (1 = the official mean) */
    int total_steps;      /* the run length, for momentum scaling (set by the trainer) */
} MethodOptions;

typedef enum { MOIL_STUDENT_HYBRID = 0, MOIL_STUDENT_LORA, MOIL_STUDENT_ADAPTER } MoilStudent;

MethodOptions method_options_default(void);

typedef struct Method Method;

typedef struct {
    const char *name;
    const char *summary;
    /* Register the method's tensors (group PARAM_GROUP_METHOD). Returns -1
     * (err_set) if the method does not apply to the model. */
    int (*add_params)(Method *m, const Backbone *bb, Params *p);
    /* After the pretrained weights are in place: initialise the method's
     * tensors, set trainable flags, attach hooks. Returns -1 on error. */
    int (*setup)(Method *m, const Backbone *bb, Params *p, Rng *rng);
    /* Optional: a loss of the method's own, computed from the parameters;
     * accumulates its gradients and returns its value. */
    double (*extra_loss)(Method *m, const Backbone *bb, Params *p);
    /* Optional: at the start of each step, before its losses (step counts
     * from 1; the parameters are those the previous steps left). */
    void (*before_step)(Method *m, const Backbone *bb, Params *p, int step);
    /* Optional: evaluation variants. n_variants() of them, each named;
     * apply_variant() puts that variant's plain weights into the backbone
     * (detaching hooks) and restore() undoes it. Without these, the model is
     * evaluated as trained. */
    int (*n_variants)(const Method *m);
    const char *(*variant_name)(const Method *m, int v);
    void (*apply_variant)(Method *m, const Backbone *bb, Params *p, int v);
    void (*restore)(Method *m, const Backbone *bb, Params *p);
    /* Optional: floats a task must store (default: all trainable floats). */
    size_t (*stored_params)(const Method *m, const Params *p);
    /* Optional: record the effective options (e.g. the momentum chosen) as
     * JSON members "key":value,... into buf. */
    void (*describe)(const Method *m, char *buf, size_t n);
    void (*destroy)(Method *m);
} MethodOps;

struct Method {
    const MethodOps *ops;
    MethodOptions opt;
    void *state;
};

/* The registry (method_registry.c): the methods in listing order. */
int method_count(void);
const MethodOps *method_at(int i);

/* Create a method by name; -1 (err_set) if unknown. */
int method_create(Method *m, const char *name, const MethodOptions *opt);
void method_destroy(Method *m);

/* The method's evaluation variants (MethodOps n_variants, variant_name), or
 * the one variant "trained" of a method without them. */
int method_n_variants(const Method *m);
const char *method_variant_name(const Method *m, int v);

/* Generic steps every method shares: backbone frozen, task heads trainable
 * (pretraining heads are the pretraining task's business).
 * Methods call it first in setup, then unfreeze what they train. */
void method_freeze_backbone(Params *p);

/* Trainable and stored floats, and the backbone size, for accounting. */
typedef struct {
    size_t backbone;  /* floats of the pretrained backbone */
    size_t trainable; /* trainable floats: backbone + heads + method */
    size_t stored;    /* floats a task must store */
    size_t heads;     /* of which task heads */
} ParamAccount;
ParamAccount method_account(const Method *m, const Params *p);

/* Parse one command-line method option (--rank 8, --targets qkv, ...);
 * returns 1 if name is a method option (and sets it), 0 if not, -1 on a bad
 * value (err_set). */
int method_option_parse(MethodOptions *o, const char *name, const char *value);
/* 1 if the option takes no value (--rslora, --pissa, --bitfit-norms). */
int method_option_is_flag(const char *name);
/* The options as JSON members, for the run config and a fine-tuned
 * checkpoint's metadata; the float options (alpha, lora_plus) to 9
 * significant digits, so that they read back exactly. */
void method_options_json(const MethodOptions *o, char *buf, size_t n);
/* Help text for the method options. */
extern const char method_options_help[];

#endif
