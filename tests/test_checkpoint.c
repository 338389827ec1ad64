/* Model checkpoints: a saved model reads back bit-identically; truncated and
 * corrupted copies give clear errors naming the file. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "io_checkpoint.h"
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
    RUN(test_bad_files);
    rm_tree(dir);
    return TEST_DONE();
}
