/* What a run trains or evaluates, built in the order every run needs: the
 * task with its data, the model with the task's heads and the method's
 * tensors, allocated and randomly initialised. Loading weights, the heads'
 * initialisation and the method's setup come after, and differ between
 * training (run_common.c) and evaluating a fine-tuned checkpoint
 * (cmd_eval.c). */
#ifndef MOIL_RUN_BUILD_H
#define MOIL_RUN_BUILD_H

#include <stdint.h>

#include "method.h"
#include "model.h"
#include "train_task.h"

/* false captions per image of a retrieval run (ViLT's K) */
#define RUN_NEGATIVES 15

typedef struct {
    Task task;
    Model model;
    Method meth;
    int built; /* how far run_build got: 1 task, 2 + model, 3 + method */
} RunBuild;

/* The task environment of a run on data_dir with the model config mc. */
TaskEnv run_build_env(const char *data_dir, const Tokenizer *tok, const ModelConfig *mc, int batch, int eval_limit);

/* Create task (reading its data for eval_split), the model, its heads and
 * the method's tensors, then allocate them: for training, or (eval_only)
 * without gradient and optimiser blocks. The random initialisation draws
 * from seed + 1; *rng is left seeded with seed. Free with run_build_free,
 * also after a failure. */
int run_build(RunBuild *b, const char *task, const TaskEnv *env, const char *eval_split, const ModelConfig *mc,
              const char *method, const MethodOptions *mopt, int64_t seed, int eval_only, Rng *rng);
void run_build_free(RunBuild *b);

#endif
