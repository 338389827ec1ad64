/* The parity test of a converted ViLT checkpoint (docs/testing.md, "The
 * parity test"). tests/vilt_parity.py builds a ViLT model in PyTorch from
 * ViLT's published architecture at a reduced official shape (d 64, 2
 * layers, 4 heads, patch 32, 384-pixel images, 40 text tokens, a 120-token
 * vocabulary with BERT's special ids), every tensor random, and writes its
 * state dict under ViLT's names, a batch (texts of 40, 17 and 5 tokens,
 * padded; two images per example as uint8 pixels) and its outputs computed
 * in float64. Here:
 *  - moil convert turns the state dict into a checkpoint of ours, and back
 *    into the same file byte for byte (a file written by other code than
 *    ours: the round trip holds for it too);
 *  - the engine, built from the converted checkpoint's model config with
 *    the heads registered under their names (every tensor of the file
 *    loaded, none left over), runs the batch: the token ids as given, the
 *    pixels through the input conversion the tasks use
 *    (task_image_to_input); the pooled features of the first images, the
 *    VQA, ITM, retrieval rank and MLM logits (every text position, padding
 *    included) and the NLVR2 logits of the image pairs (second pass with
 *    modality type 2) must equal PyTorch's to 1e-4 relative (per output,
 *    max |engine - reference| / max |reference|); every output's
 *    difference is printed, and the largest;
 *  - converted as a VQA model, moil eval runs it on the tiny dataset (its
 *    WordPiece tokenizer on the questions, the images resized to 384).
 * Skipped with a message where /usr/bin/python3 cannot import torch. `make
 * parity-b32` runs the same at ViLT-B/32's shape (argument --b32: d 768, 12
 * layers and heads, BERT's 30,522 tokens, 3,129 answers). */
#include <cblas.h>
#include <jansson.h>

#include "check.h"
#include "io_checkpoint.h"
#include "model.h"
#include "nn_head_mlp.h"
#include "ops.h"
#include "proc.h"
#include "task_common.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_vilt_parity_XXXXXX";
#include "tmp_path.h"

#define PARITY_TOL 1e-4

/* The model of the converted checkpoint with ViLT's heads. */
typedef struct {
    Model m;
    HeadMlp vqa, nlvr;
    Linear itm, rank, mlm_dense, mlm_decoder;
    LayerNorm mlm_ln;
} Parity;

/* max |a - b| / max |b| over n values */
static double rel_max(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > num || isnan(e)) num = isnan(e) ? INFINITY : e;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return num / (den > 0 ? den : 1);
}

/* The model of the checkpoint f and its heads, every tensor from f. */
static int parity_build(Parity *x, const StFile *f, int B) {
    memset(x, 0, sizeof *x);
    ModelConfig mc;
    const char *text = safetensors_meta(f, "model_config");
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    int rc = j ? model_config_from_json(&mc, j, f->path) : err_set("%s: no model_config", f->path);
    json_decref(j);
    const StTensor *answers = safetensors_find(f, "vqa_classifier.3.weight");
    if (rc != 0 || !answers || model_create(&x->m, &mc) != 0) return -1;
    Params *p = &x->m.params;
    int d = x->m.d, V = mc.dims.vocab;
    head_mlp_register(&x->vqa, p, "vqa_classifier", d, 2 * d, (int)answers->shape[0]);
    head_mlp_register(&x->nlvr, p, "nlvr2_classifier", 2 * d, 2 * d, 2);
    linear_register(p, &x->itm, "itm_score.fc", d, 2, PARAM_GROUP_HEAD);
    linear_register(p, &x->rank, "rank_output", d, 1, PARAM_GROUP_HEAD);
    linear_register(p, &x->mlm_dense, "mlm_score.transform.dense", d, d, PARAM_GROUP_HEAD);
    layernorm_register(p, &x->mlm_ln, "mlm_score.transform.LayerNorm", d, 1e-12f, PARAM_GROUP_HEAD);
    linear_register(p, &x->mlm_decoder, "mlm_score.decoder", d, V, PARAM_GROUP_HEAD);
    Rng rng;
    rng_seed(&rng, 1);
    model_finish_eval(&x->m, B, &rng);
    head_mlp_init(&x->vqa, p, &rng, B);
    head_mlp_init(&x->nlvr, p, &rng, B);
    return checkpoint_load_file(f, p, ~0u, 0);
}

static void parity_free(Parity *x) {
    head_mlp_free(&x->vqa);
    head_mlp_free(&x->nlvr);
    model_free(&x->m);
}

/* One output against the reference: its difference printed, checked, and
 * folded into the largest. */
static void compare(const StFile *ref, const char *name, const float *got, size_t n, double *worst,
                    const char **worst_name) {
    const StTensor *t = safetensors_find(ref, name);
    CHECK(t && safetensors_nbytes(t) == n * sizeof(float), "expected.safetensors: no %s of %zu values", name, n);
    if (!t || safetensors_nbytes(t) != n * sizeof(float)) return;
    float *want = xmalloc(n * sizeof(float));
    memcpy(want, t->data, n * sizeof(float));
    double r = rel_max(got, want, n);
    printf("  %-6s %8zu values: largest relative difference %.2e\n", name, n, r);
    CHECK(r <= PARITY_TOL, "%s: relative difference %.3g above %g", name, r, PARITY_TOL);
    if (r > *worst) *worst = r, *worst_name = name;
    free(want);
}

/* The engine's outputs on the batch of inputs.safetensors against
 * expected.safetensors. */
static void test_forward_parity(void) {
    StFile f, in, ref;
    if (safetensors_open(tmp_path("ours.safetensors"), &f) != 0 ||
        safetensors_open(tmp_path("inputs.safetensors"), &in) != 0 ||
        safetensors_open(tmp_path("expected.safetensors"), &ref) != 0) {
        CHECK(0, "open: %s", err_msg());
        return;
    }
    const StTensor *ids = safetensors_find(&in, "ids"), *mask = safetensors_find(&in, "mask");
    const StTensor *pixels = safetensors_find(&in, "pixels");
    int B = ids ? (int)ids->shape[0] : 0;
    Parity x;
    if (!mask || !pixels || pixels->shape[0] != 2 * B || parity_build(&x, &f, B) != 0) {
        CHECK(0, "the converted model and its inputs: %s", err_msg());
        return;
    }
    Model *m = &x.m;
    const Params *p = &m->params;
    int Tt = m->Tt, S = m->image_size, d = m->d, V = m->cfg.dims.vocab;
    CHECK(ids->shape[1] == Tt && pixels->shape[1] == S, "inputs of %lld tokens and %lld pixels, the model %d and %d",
          (long long)ids->shape[1], (long long)pixels->shape[1], Tt, S);
    size_t pix = (size_t)3 * S * S, Bd = (size_t)B * d;
    int *tid = xmalloc((size_t)B * Tt * sizeof(int)), *tmask = xmalloc((size_t)B * Tt * sizeof(int));
    memcpy(tid, ids->data, (size_t)B * Tt * sizeof(int));
    memcpy(tmask, mask->data, (size_t)B * Tt * sizeof(int));
    float *images = xmalloc(2 * B * pix * sizeof(float));
    for (int i = 0; i < 2 * B; i++)
        task_image_to_input((const unsigned char *)pixels->data + i * pix, S, images + i * pix);
    /* first images, type 1: pooled, VQA, ITM, rank, MLM */
    int *types = xmalloc(2 * (size_t)B * sizeof(int)); /* [0,B) type 1, [B,2B) type 2 */
    for (int b = 0; b < B; b++) types[b] = 1, types[B + b] = 2;
    ModelInput mi = {.B = B, .text_ids = tid, .text_mask = tmask, .images = images, .image_type = types};
    float *pooled = xmalloc(2 * Bd * sizeof(float)), *itm = xmalloc((size_t)B * 2 * sizeof(float));
    float *rank = xmalloc((size_t)B * sizeof(float)), *pair = xmalloc(2 * Bd * sizeof(float));
    size_t R = (size_t)B * Tt;
    float *rows = xmalloc(R * d * sizeof(float)), *h = xmalloc(R * d * sizeof(float)), *g = xmalloc(R * d * sizeof(float));
    float *mean = xmalloc(R * sizeof(float)), *rstd = xmalloc(R * sizeof(float)), *mlm = xmalloc(R * V * sizeof(float));
    int rc = model_forward(m, &mi);
    CHECK(rc == 0, "forward: %s", err_msg());
    memcpy(pooled, m->pooled, Bd * sizeof(float));
    head_mlp_forward(&x.vqa, p, pooled, B);
    layer_linear_forward(p, &x.itm, itm, pooled, B);
    layer_linear_forward(p, &x.rank, rank, pooled, B);
    for (int b = 0; b < B; b++) /* the text rows of [B,T,d] */
        memcpy(rows + (size_t)b * Tt * d, m->final + (size_t)b * m->T * d, (size_t)Tt * d * sizeof(float));
    layer_linear_forward(p, &x.mlm_dense, h, rows, (int)R);
    gelu_forward(g, h, R * d);
    layer_layernorm_forward(p, &x.mlm_ln, h, mean, rstd, g, (int)R);
    layer_linear_forward(p, &x.mlm_decoder, mlm, h, (int)R);
    /* second images, type 2: NLVR2 on [pooled of the first; pooled of the second] */
    mi.images = images + B * pix, mi.image_type = types + B;
    if (rc == 0) rc = model_forward(m, &mi);
    CHECK(rc == 0, "forward: %s", err_msg());
    for (int b = 0; b < B; b++) {
        memcpy(pair + (size_t)b * 2 * d, pooled + (size_t)b * d, d * sizeof(float));
        memcpy(pair + (size_t)b * 2 * d + d, m->pooled + (size_t)b * d, d * sizeof(float));
    }
    head_mlp_forward(&x.nlvr, p, pair, B);
    double worst = 0;
    const char *worst_name = "";
    compare(&ref, "pooled", pooled, Bd, &worst, &worst_name);
    compare(&ref, "vqa", x.vqa.logits, (size_t)B * x.vqa.out, &worst, &worst_name);
    compare(&ref, "itm", itm, (size_t)B * 2, &worst, &worst_name);
    compare(&ref, "rank", rank, (size_t)B, &worst, &worst_name);
    compare(&ref, "mlm", mlm, R * V, &worst, &worst_name);
    compare(&ref, "nlvr", x.nlvr.logits, (size_t)B * 2, &worst, &worst_name);
    printf("  largest relative difference from PyTorch (float64): %.2e (%s; tolerance %g)\n", worst, worst_name,
           PARITY_TOL);
    free(tid), free(tmask), free(types), free(images), free(pooled), free(itm), free(rank), free(pair);
    free(rows), free(h), free(g), free(mean), free(rstd), free(mlm);
    parity_free(&x);
    safetensors_close(&f), safetensors_close(&in), safetensors_close(&ref);
}

/* The converted state dict as a VQA model (its other heads kept as unused)
 * evaluated by moil eval on the tiny dataset: the WordPiece tokenizer cuts
 * the questions, the 64-pixel images are resized to 384, the trained head's
 * answers are the predictions. */
static void test_eval_wordpiece_vqa(void) {
    static const char answers[] = "[\"yes\", \"no\", \"red\", \"blue\", \"two\", \"one\", \"dog\", \"cat\", \"left\", "
                                  "\"right\"]";
    char *o, ans[600];
    snprintf(ans, sizeof ans, "%s", tmp_path("answers.json"));
    int rc = file_write_atomic(ans, answers, strlen(answers));
    if (rc == 0)
        rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s && %s convert %s %s --vocab %s --heads 4 "
                          "--task vqa --answers %s --batch 4",
                      moil_bin(), tmp_path("tiny"), moil_bin(), tmp_path("vilt.safetensors"),
                      tmp_path("vqa.safetensors"), tmp_path("vocab.txt"), ans);
    else
        o = xstrdup(err_msg());
    CHECK(rc == 0 && strstr(o, "task=vqa"), "data and conversion: %s", o);
    free(o);
    rc = proc_run(&o, "%s eval --init %s --data %s --quiet --no-db --out %s", moil_bin(), tmp_path("vqa.safetensors"),
                  tmp_path("tiny"), tmp_path("eval"));
    CHECK(rc == 0 && strstr(o, "\nquestions="), "eval: %s", o);
    free(o);
    json_t *pred = json_load_file(tmp_path("eval/predictions_test_trained.json"), 0, NULL);
    size_t n = json_array_size(pred), known = 0;
    for (size_t i = 0; i < n; i++) {
        const char *a = json_string_value(json_object_get(json_array_get(pred, i), "answer"));
        known += a && strstr(answers, a) != NULL;
    }
    CHECK(n > 0 && known == n, "%zu of %zu predictions are answers of the converted head", known, n);
    printf("  moil eval of the converted VQA model: %zu questions\n", n);
    json_decref(pred);
}

int main(int argc, char **argv) {
    int b32 = argc > 1 && !strcmp(argv[1], "--b32");
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("skipped: /usr/bin/python3 cannot import torch (Debian python3-torch: `make deps` installs it); "
               "the parity test of a converted ViLT checkpoint needs it\n");
        return 0;
    }
    openblas_set_num_threads(b32 ? 2 : 1);
    if (!mkdtemp(tmp_dir)) die("mkdtemp %s failed", tmp_dir);
    /* the script beside this file (make test runs from the top folder) */
    const char *src = __FILE__, *slash = strrchr(src, '/');
    char *o;
    int rc = proc_run(&o, "/usr/bin/python3 '%.*svilt_parity.py' write '%s' %s", slash ? (int)(slash + 1 - src) : 0,
                      src, tmp_dir, b32 ? "--b32" : "");
    printf("%s", o);
    free(o);
    if (rc == 0)
        rc = proc_run(&o, "%s convert %s %s --vocab %s --heads %d", moil_bin(), tmp_path("vilt.safetensors"),
                      tmp_path("ours.safetensors"), tmp_path("vocab.txt"), b32 ? 12 : 4);
    else
        o = xstrdup("");
    test_case_failed = 0;
    CHECK(rc == 0, "vilt_parity.py or moil convert failed: %s", o);
    free(o);
    if (rc == 0) {
        rc = proc_run(&o, "%s convert %s %s --to official && cmp %s %s", moil_bin(), tmp_path("ours.safetensors"),
                      tmp_path("back.safetensors"), tmp_path("vilt.safetensors"), tmp_path("back.safetensors"));
        CHECK(rc == 0, "PyTorch's state dict -> ours -> official is not the same file: %s", o);
        free(o);
    }
    printf("%s vilt_round_trip\n", test_case_failed ? "not ok" : "ok");
    test_cases_failed += test_case_failed, test_cases_passed += !test_case_failed;
    if (rc == 0) RUN(test_forward_parity);
    if (rc == 0 && !b32) RUN(test_eval_wordpiece_vqa);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
