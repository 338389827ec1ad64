/* prompt: deep prompt tuning. --prompt-len N learned tokens per layer,
 * appended to the sequence and replaced before every block (the official
 * baseline uses 100 per layer at d=768), initialised like ViT tokens
 * (truncated normal, std 0.02); the backbone is frozen. Prompts lengthen
 * the sequence, so they cannot be folded away. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method.h"
#include "model_vilt.h"

typedef struct {
    int entry;
} PromptState;

static void prompt_add_params(Method *m, const Backbone *bb, Params *p) {
    if (!bb->model_name || strcmp(bb->model_name, "vilt") != 0)
        die("method prompt: deep prompts are implemented for the vilt model only (got %s)",
            bb->model_name ? bb->model_name : "?");
    PromptState *s = xcalloc(1, sizeof *s);
    s->entry = params_add(p, "transformer.prompts", 3, (int[]){bb->layers, m->opt.prompt_len, bb->d}, 0,
                          PARAM_GROUP_METHOD);
    vilt_add_prompts(bb->model, m->opt.prompt_len, s->entry);
    m->state = s;
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
