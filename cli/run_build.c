#include "run_build.h"

#include <string.h>

#include "task_registry.h"

TaskEnv run_build_env(const char *data_dir, const Tokenizer *tok, const ModelConfig *mc, int batch, int eval_limit) {
    return (TaskEnv){.data_dir = data_dir, .tok = tok, .image_size = mc->dims.image_size,
                     .max_text = mc->dims.max_text, .batch = batch, .eval_limit = eval_limit,
                     .negatives = RUN_NEGATIVES};
}

int run_build(RunBuild *b, const char *task, const TaskEnv *env, const char *eval_split, const ModelConfig *mc,
              const char *method, const MethodOptions *mopt, int64_t seed, int eval_only, Rng *rng) {
    memset(b, 0, sizeof *b);
    if (task_create(&b->task, task, env) != 0) return -1;
    b->built = 1;
    if (b->task.ops->load(&b->task, env, eval_split) != 0 || model_create(&b->model, mc) != 0) return -1;
    b->built = 2;
    b->task.ops->register_heads(&b->task, &b->model.params, b->model.d);
    if (method_create(&b->meth, method, mopt) != 0) return -1;
    b->built = 3;
    if (b->meth.ops->add_params && b->meth.ops->add_params(&b->meth, &b->model.bb, &b->model.params) != 0)
        return -1;
    rng_seed(rng, (uint64_t)seed + 1);
    (eval_only ? model_finish_eval : model_finish)(&b->model, b->task.ops->max_sequences(&b->task), rng);
    rng_seed(rng, (uint64_t)seed);
    return 0;
}

void run_build_free(RunBuild *b) {
    if (b->built >= 3) method_destroy(&b->meth);
    if (b->built >= 2) model_free(&b->model);
    if (b->built >= 1) task_destroy(&b->task);
    b->built = 0;
}
