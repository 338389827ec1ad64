/* Model checkpoints: a saved model reads back bit-identically, also into a
 * model built for evaluation only (no gradient or optimiser blocks), which
 * then computes the same outputs; truncated and corrupted copies give clear
 * errors naming the file. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "io_checkpoint.h"
#include "model.h"
#include "model_vilt.h"
#include "proc.h"
#include "test.h"

static char dir[64];

static void build(Params *p, Vilt *m, uint64_t seed) {
    ModelDims cfg = {.vocab = 13, .d = 16, .layers = 2, .heads = 2, .mlp_ratio = 4, .patch = 4, .image_size = 8,
                     .max_text = 6, .n_types = 3};
    params_init(p);
    vilt_register(m, &cfg, VILT_STEM_PATCH, p);
    params_alloc(p);
    Rng rng;
    rng_seed(&rng, seed);
    vilt_init_weights(m, &rng);
}

static void path_in_dir(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void test_roundtrip_bit_identical(void) {
    Params a, b;
    Vilt ma, mb;
    build(&a, &ma, 1);
    build(&b, &mb, 2);
    char path[128];
    path_in_dir(path, sizeof path, "model.safetensors");
    StMeta meta[] = {{"config", "{\"d\":16}"}, {"stem", "patch"}};
    CHECK(checkpoint_save(path, &a, 1u << PARAM_GROUP_BACKBONE, meta, 2) == 0, "save: %s", err_msg());
    CHECK(memcmp(a.data, b.data, a.total * sizeof(float)) != 0, "different seeds, same weights");
    StFile f;
    CHECK(checkpoint_load(path, &b, 1u << PARAM_GROUP_BACKBONE, 0, &f) == 0, "load: %s", err_msg());
    CHECK(memcmp(a.data, b.data, a.total * sizeof(float)) == 0, "weights differ after the round trip");
    const char *stem = safetensors_meta(&f, "stem");
    CHECK(stem && !strcmp(stem, "patch"), "stem metadata %s", stem ? stem : "(none)");
    CHECK(safetensors_find(&f, "transformer.blocks.1.attn.q.weight") != NULL, "ViLT name present");
    const StTensor *pw = safetensors_find(&f, "transformer.patch_embed.proj.weight");
    CHECK(pw && pw->ndim == 4 && pw->shape[1] == 3, "patch embedding stored as a conv weight");
    safetensors_close(&f);
    vilt_free(&ma), vilt_free(&mb), params_free(&a), params_free(&b);
}

/* A small ViLT-style Model for max_batch sequences, built for training or
 * for evaluation only. */
static void build_model(Model *m, int eval_only, uint64_t seed) {
    ModelConfig c;
    CHECK(model_config_default(&c, "vilt", 13) == 0, "%s", err_msg());
    c.dims.d = 16, c.dims.layers = 2, c.dims.heads = 2, c.dims.patch = 4, c.dims.image_size = 8, c.dims.max_text = 6;
    CHECK(model_create(m, &c) == 0, "%s", err_msg());
    Rng rng;
    rng_seed(&rng, seed);
    (eval_only ? model_finish_eval : model_finish)(m, 2, &rng);
}

static void test_eval_model(void) {
    Model trained, evaluated;
    build_model(&trained, 0, 1);
    build_model(&evaluated, 1, 2);
    const Params *p = &evaluated.params;
    CHECK(p->data && !p->grad && !p->m && !p->v, "an evaluation model has gradient or optimiser blocks");
    int trainable = 0;
    for (int i = 0; i < p->n; i++) trainable += p->info[i].trainable && params_grad(p, i) != NULL;
    CHECK(trainable == 0, "%d entries give a gradient buffer without a gradient block", trainable);
    char path[128];
    path_in_dir(path, sizeof path, "eval.safetensors");
    CHECK(checkpoint_save(path, &trained.params, ~0u, NULL, 0) == 0, "save: %s", err_msg());
    CHECK(checkpoint_load(path, &evaluated.params, ~0u, 0, NULL) == 0, "load: %s", err_msg());
    int ids[12] = {2, 5, 6, 7, 3, 0, 2, 8, 3, 0, 0, 0}, mask[12] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0};
    float images[2 * 3 * 8 * 8];
    for (int i = 0; i < 2 * 3 * 8 * 8; i++) images[i] = (float)((i * 37) % 19) / 9.5f - 1.0f;
    ModelInput in = {.B = 2, .text_ids = ids, .text_mask = mask, .images = images, .attn_mode = ATTN_FULL};
    CHECK(model_forward(&trained, &in) == 0 && model_forward(&evaluated, &in) == 0, "forward: %s", err_msg());
    CHECK(memcmp(trained.pooled, evaluated.pooled, sizeof(float) * 2 * 16) == 0 &&
              memcmp(trained.final, evaluated.final, sizeof(float) * 2 * trained.T * 16) == 0,
          "the evaluation model computes other outputs from the same weights");
    model_free(&trained), model_free(&evaluated);
}

static void test_bad_files(void) {
    Params a;
    Vilt ma;
    build(&a, &ma, 1);
    char path[128], cut[128], bad[128];
    path_in_dir(path, sizeof path, "good.safetensors");
    path_in_dir(cut, sizeof cut, "truncated.safetensors");
    path_in_dir(bad, sizeof bad, "corrupt.safetensors");
    CHECK(checkpoint_save(path, &a, 1u << PARAM_GROUP_BACKBONE, NULL, 0) == 0, "save: %s", err_msg());
    size_t len;
    char *bytes = file_read_all(path, 1 << 26, &len);
    CHECK(bytes != NULL, "read back: %s", err_msg());
    CHECK(file_write_atomic(cut, bytes, len / 2) == 0, "%s", err_msg());
    CHECK(checkpoint_load(cut, &a, 1u << PARAM_GROUP_BACKBONE, 0, NULL) != 0, "truncated file accepted");
    CHECK(strstr(err_msg(), cut) && strstr(err_msg(), "truncated"), "message: %s", err_msg());
    bytes[8] = '[';
    bytes[20] = '\x01';
    CHECK(file_write_atomic(bad, bytes, len) == 0, "%s", err_msg());
    CHECK(checkpoint_load(bad, &a, 1u << PARAM_GROUP_BACKBONE, 0, NULL) != 0, "corrupt header accepted");
    CHECK(strstr(err_msg(), bad) != NULL, "message: %s", err_msg());
    printf("  corrupt header: %s\n", err_msg());
    /* a checkpoint of another shape: the mismatch names the tensor */
    Params other;
    Vilt mo;
    ModelDims cfg = {.vocab = 13, .d = 8, .layers = 2, .heads = 2, .mlp_ratio = 4, .patch = 4, .image_size = 8,
                     .max_text = 6, .n_types = 3};
    params_init(&other);
    vilt_register(&mo, &cfg, VILT_STEM_PATCH, &other);
    params_alloc(&other);
    CHECK(checkpoint_load(path, &other, 1u << PARAM_GROUP_BACKBONE, 0, NULL) != 0, "wrong shapes accepted");
    CHECK(strstr(err_msg(), "shape") != NULL, "message: %s", err_msg());
    free(bytes);
    vilt_free(&ma), vilt_free(&mo), params_free(&a), params_free(&other);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/moil-ckpt-XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp failed");
    RUN(test_roundtrip_bit_identical);
    RUN(test_eval_model);
    RUN(test_bad_files);
    rm_tree(dir);
    return TEST_DONE();
}
