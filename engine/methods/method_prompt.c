/* prompt: deep prompt tuning. --prompt-len N learned tokens per layer,
 * appended to the sequence and replaced before every block (the official
 * baseline uses 100 per layer at d=768), initialised like ViT tokens
 * (truncated normal, std 0.02); the backbone is frozen. Prompts lengthen
 * the sequence, so they cannot be folded away. */
#include <stdlib.h>

#include "check.h"
#include "method.h"
#include "model.h"

typedef struct {
    int entry;
} PromptState;

/* Through the model's deep prompts (model_add_prompts). */
static int prompt_add_params(Method *m, const Backbone *bb, Params *p) {
    if (!bb->model) die("method prompt: the backbone view belongs to no Model");
    PromptState *s = xcalloc(1, sizeof *s);
    m->state = s;
    s->entry = params_add(p, "transformer.prompts", 3, (int[]){bb->layers, m->opt.prompt_len, bb->d}, 0,
                          PARAM_GROUP_METHOD);
    return model_add_prompts(bb->model, m->opt.prompt_len, s->entry) != 0 ? err_prefix("method prompt") : 0;
}

static int prompt_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    PromptState *s = m->state;
    method_freeze_backbone(p);
    params_init_trunc_normal(p, s->entry, 0.02f, rng);
    p->info[s->entry].trainable = 1;
    return 0;
}

static void prompt_destroy(Method *m) { free(m->state); }

const MethodOps method_prompt = {
    .name = "prompt",
    .summary = "deep prompt tuning: --prompt-len learned tokens per layer",
    .add_params = prompt_add_params,
    .setup = prompt_setup,
    .destroy = prompt_destroy,
};
