/* A task on a tiny model, shared by the task tests: set up, the task loss as
 * a finite-difference case (the rng restored before every call, so each call
 * draws the same batch), and the gradient check of a group of heads.
 * Header-only: each test binary is one translation unit. */
#ifndef MOIL_TASK_FIXTURE_H
#define MOIL_TASK_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "data_idx.h"
#include "data_vocab.h"
#include "gen_dataset.h"
#include "gradcheck.h"
#include "model.h"
#include "proc.h"
#include "task_registry.h"
#include "test.h"

typedef struct {
    Task task;
    Model model;
    Rng rng, saved; /* saved: the rng state that draws the gradcheck batch */
    int ok;
} Fixture;

/* A vilt model of width d with `layers` layers, 2 heads, MLP 2x, patch 16,
 * sized by env (vocabulary, image size, text length), and the task loaded
 * from env (eval split "test"). f->ok says whether this setup worked
 * (checks failed earlier in the case do not clear it). */
static void fixture_init_env(Fixture *f, const char *task, const TaskEnv *env, int d, int layers,
                             const StFile *init) {
    memset(f, 0, sizeof *f);
    ModelConfig mc;
    if (model_config_default(&mc, "vilt", env->tok->n) != 0) {
        CHECK(0, "%s setup: %s", task, err_msg());
        return;
    }
    mc.dims.d = d, mc.dims.layers = layers, mc.dims.heads = 2, mc.dims.mlp_ratio = 2;
    mc.dims.patch = 16, mc.dims.image_size = env->image_size, mc.dims.max_text = env->max_text;
    if (task_create(&f->task, task, env) != 0 || f->task.ops->load(&f->task, env, "test") != 0 ||
        model_create(&f->model, &mc) != 0) {
        CHECK(0, "%s setup: %s", task, err_msg());
        return;
    }
    f->task.ops->register_heads(&f->task, &f->model.params, f->model.d);
    rng_seed(&f->rng, 5);
    model_finish(&f->model, f->task.ops->max_sequences(&f->task), &f->rng);
    rng_seed(&f->rng, 11);
    f->ok = f->task.ops->init_heads(&f->task, &f->model, &f->rng, init) == 0;
    CHECK(f->ok, "%s heads: %s", task, err_msg());
    f->saved = f->rng;
}

static void fixture_free(Fixture *f) {
    task_destroy(&f->task);
    model_free(&f->model);
}

static double fixture_loss(void *ctx) {
    Fixture *f = ctx;
    f->rng = f->saved;
    return f->task.ops->train_step(&f->task, &f->model, &f->rng);
}

static void fixture_grad(void *ctx) {
    Fixture *f = ctx;
    params_zero_grad(&f->model.params);
    fixture_loss(f);
}

/* Finite differences on the tensors `names` (n_names of them), or, with
 * names NULL, on every tensor of `group` with the backbone frozen (only the
 * heads' gradients under test). Every weight gets larger than its 0.02 init
 * first, so pooled features differ between sequences and the heads'
 * activations are not near-constant: the gradients then stand well above
 * the float32 rounding of the loss. The loss is a float32 mean: h = 1e-2
 * keeps rounding (~1e-7 |L| / h) and truncation (~h^2) well below the
 * tolerance. A tensor whose true gradient is zero (a bias shifting all
 * scores of a softmax alike) is checked to the rounding noise (atol).
 * Returns the number of tensors checked. */
static int fixture_check_tensors(Fixture *f, const char *op, ParamGroup group, const char *const *names, int n_names) {
    Params *p = &f->model.params;
    Rng rng;
    rng_seed(&rng, 3);
    for (int i = 0; i < p->n; i++) {
        float *x = params_data(p, i);
        for (size_t k = 0; k < p->info[i].size; k++) x[k] += 0.3f * rng_normal(&rng);
    }
    if (!names) params_set_trainable_group(p, PARAM_GROUP_BACKBONE, 0);
    GcTensor t[16];
    int n = 0;
    for (int i = 0; i < p->n && n < 16; i++) {
        int take = !names && p->info[i].group == (int)group;
        for (int k = 0; names && k < n_names; k++) take |= !strcmp(p->info[i].name, names[k]);
        if (take) t[n++] = (GcTensor){p->info[i].name, params_data(p, i), p->grad + p->info[i].offset, p->info[i].size};
    }
    CHECK(n > 0 && (!names || n == n_names), "%d tensors found to check", n);
    GcCase gc = {op, 1e-2, 1e-2, 12, fixture_loss, fixture_grad, f, 1e-4};
    int failed = gradcheck_run(&gc, t, n, &rng);
    CHECK(failed == 0, "%d of %d tensors failed", failed, n);
    params_set_trainable_group(p, PARAM_GROUP_BACKBONE, 1);
    return n;
}

static int fixture_check_heads(Fixture *f, const char *op, ParamGroup group) {
    return fixture_check_tensors(f, op, group, NULL, 0);
}

/* A tiny generated dataset (profile "tiny", seed 7) in a fresh folder
 * /tmp/<name>_XXXXXX: root gets the folder, data its data/ subfolder, tok the
 * vocabulary built from it. Dies on failure (nothing to test without it). */
static void fixture_dataset_make(const char *name, char *root, size_t root_n, char *data, size_t data_n,
                                 Tokenizer *tok) {
    snprintf(root, root_n, "/tmp/%s_XXXXXX", name);
    if (!mkdtemp(root)) die("mkdtemp %s failed", root);
    snprintf(data, data_n, "%s/data", root);
    GenOptions o = {0};
    o.profile = *gen_profile_find("tiny");
    o.seed = 7;
    o.image_size = 64;
    o.jpeg_quality = 90;
    o.source_dir = IDX_DEFAULT_SOURCE;
    o.out_dir = data;
    GenSummary sum;
    if (gen_dataset_generate(&o, &sum) != 0 || data_vocab_build(tok, data, 1) != 0) die("%s", err_msg());
}

/* Remove the folder of fixture_dataset_make and free the vocabulary. */
static void fixture_dataset_remove(const char *root, Tokenizer *tok) {
    tokenizer_free(tok);
    rm_tree(root);
}

#endif
