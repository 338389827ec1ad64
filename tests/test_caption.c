/* The captioning task on a tiny generated dataset and a tiny model: head
 * gradients through the task loss (with and without label smoothing) against
 * finite differences, the loss at initialisation and a few training steps,
 * the seq2seq structure (a text position's output does not depend on later
 * tokens; the image does not see the caption), greedy decoding equal to the
 * argmax chain recomputed by hand, beam width 1 equal to greedy, metrics in
 * range and equal to the ones recomputed from the written files, and the
 * caption head taken from a checkpoint's MLM head. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "data_idx.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "data_vocab.h"
#include "gen_dataset.h"
#include "gradcheck.h"
#include "io_safetensors.h"
#include "metric_caption.h"
#include "model.h"
#include "op_reference.h"
#include "ops.h"
#include "task_common.h"
#include "task_fixture.h"
#include "test.h"
#include "train_adamw.h"

enum { D = 16, IMAGE = 32, TEXT = 16, TRAIN_IMAGES = 30, VAL_IMAGES = 10 };

static char root[64], data[128];
static Tokenizer tok;

static void fixture_init(Fixture *f, int batch, int layers, float smoothing, const StFile *init) {
    TaskEnv env = {.data_dir = data, .tok = &tok, .image_size = IMAGE, .max_text = TEXT, .batch = batch,
                   .label_smoothing = smoothing};
    fixture_init_env(f, "caption", &env, D, layers, init);
}

/* Finite differences on the caption head's six tensors. */
static void check_head_gradient(float smoothing) {
    Fixture f;
    fixture_init(&f, TRAIN_IMAGES, 1, smoothing, NULL);
    if (f.ok) {
        Params *p = &f.model.params;
        for (int i = 0; i < p->n; i++)
            if (p->info[i].group == PARAM_GROUP_HEAD)
                CHECK(!strncmp(p->info[i].name, "caption_head.", 13), "head tensor %s", p->info[i].name);
        int n = fixture_check_heads(&f, smoothing > 0 ? "caption head (label smoothing 0.1)" : "caption head",
                                    PARAM_GROUP_HEAD);
        CHECK(n == 6, "%d head tensors, expected 6", n);
    }
    fixture_free(&f);
}

static void test_head_gradient(void) { check_head_gradient(0.0f); }
static void test_head_gradient_smoothing(void) { check_head_gradient(0.1f); }

/* The loss at initialisation is about log V (logits near 0, with or without
 * smoothing), and AdamW steps on one small batch lower it. */
static void test_training(void) {
    Fixture f;
    fixture_init(&f, 4, 1, 0.1f, NULL);
    if (!f.ok) {
        fixture_free(&f);
        return;
    }
    f.rng = f.saved;
    double first = f.task.ops->train_step(&f.task, &f.model, &f.rng);
    CHECK(fabs(first - log((double)tok.n)) < 0.1, "initial loss %g, expected about log %d = %g", first, tok.n,
          log((double)tok.n));
    AdamWConfig c = adamw_config_default(3e-3f);
    double last = first;
    for (int s = 1; s <= 40; s++) {
        params_zero_grad(&f.model.params);
        last = f.task.ops->train_step(&f.task, &f.model, &f.rng);
        CHECK(isfinite(last) && last > 0, "step %d: loss %g", s, last);
        adamw_step(&f.model.params, &c, 3e-3f, s);
    }
    CHECK(last < first - 0.5, "loss %g after 40 steps, %g at the start", last, first);
    fixture_free(&f);
}

/* Two layers, so that a leak through the image tokens (image queries that
 * see later caption tokens in layer 1, read by text queries in layer 2)
 * shows. Changing the token at position 5 leaves the outputs of text
 * positions 0..4 and of every image token unchanged, and changes position 5. */
static void test_causal_structure(void) {
    ModelConfig mc;
    CHECK(model_config_default(&mc, "vilt", tok.n) == 0, "%s", err_msg());
    mc.dims.d = D, mc.dims.layers = 2, mc.dims.heads = 2, mc.dims.mlp_ratio = 2;
    mc.dims.patch = 16, mc.dims.image_size = IMAGE, mc.dims.max_text = TEXT;
    Model m;
    if (model_create(&m, &mc) != 0) {
        CHECK(0, "%s", err_msg());
        return;
    }
    Rng rng;
    rng_seed(&rng, 9);
    model_finish(&m, 1, &rng);
    rng_seed(&rng, 4);
    int ids[TEXT] = {0}, mask[TEXT] = {0};
    for (int t = 0; t < 9; t++) ids[t] = t == 0 ? TOK_CLS : t == 8 ? TOK_SEP : TOK_N_SPECIAL + t, mask[t] = 1;
    float *img = xcalloc(3 * IMAGE * IMAGE, sizeof(float));
    rng_fill_uniform(&rng, img, 3 * IMAGE * IMAGE, -1, 1);
    ModelInput in = {.B = 1, .text_ids = ids, .text_mask = mask, .images = img, .attn_mode = ATTN_CAUSAL_TEXT};
    size_t rows = (size_t)m.T * m.d;
    float *before = xcalloc(rows, sizeof(float));
    CHECK(model_forward(&m, &in) == 0, "%s", err_msg());
    memcpy(before, m.final, rows * sizeof(float));
    ids[5] = TOK_N_SPECIAL + 20;
    CHECK(model_forward(&m, &in) == 0, "%s", err_msg());
    double early = 0, at5 = 0, image = 0;
    for (int t = 0; t < m.T; t++)
        for (int c = 0; c < m.d; c++) {
            double dlt = fabs((double)m.final[t * m.d + c] - before[t * m.d + c]);
            if (t < 5) early = fmax(early, dlt);
            else if (t == 5) at5 = fmax(at5, dlt);
            else if (t >= TEXT && t < TEXT + m.n_image_tokens) image = fmax(image, dlt);
        }
    CHECK(early == 0, "text positions 0..4 change by %g when token 5 changes", early);
    CHECK(image == 0, "image tokens change by %g when caption token 5 changes", image);
    CHECK(at5 > 1e-4, "position 5 does not see its own token (change %g)", at5);
    free(before), free(img);
    model_free(&m);
}

/* The caption head by hand (the params by name): logits [V] of row x [d]. */
static void head_by_hand(const Params *p, const float *x, float *logits) {
    float h[D], g[D], ln[D], mean, rstd;
    const float *w1 = params_data(p, params_find(p, "caption_head.transform.dense.weight"));
    const float *b1 = params_data(p, params_find(p, "caption_head.transform.dense.bias"));
    const float *lw = params_data(p, params_find(p, "caption_head.transform.LayerNorm.weight"));
    const float *lb = params_data(p, params_find(p, "caption_head.transform.LayerNorm.bias"));
    const float *w2 = params_data(p, params_find(p, "caption_head.decoder.weight"));
    const float *b2 = params_data(p, params_find(p, "caption_head.decoder.bias"));
    linear_forward_naive(h, x, w1, b1, 1, D, D);
    gelu_forward(g, h, D);
    layernorm_forward(ln, &mean, &rstd, g, lw, lb, 1, D, 1e-12f);
    linear_forward_naive(logits, ln, w2, b2, 1, D, tok.n);
}

/* The greedy caption of one image recomputed by hand: at each step the
 * allowed token (a word, or [SEP] after the first) of largest logit. */
static char *greedy_by_hand(Model *m, const float *img) {
    int ids[TEXT] = {TOK_CLS}, mask[TEXT] = {1};
    float *logits = xcalloc(tok.n, sizeof(float));
    for (int cur = 0; cur + 1 < TEXT; cur++) {
        ModelInput in = {.B = 1, .text_ids = ids, .text_mask = mask, .images = img, .attn_mode = ATTN_CAUSAL_TEXT};
        if (model_forward(m, &in) != 0) break;
        head_by_hand(&m->params, m->final + (size_t)cur * m->d, logits);
        int best = -1;
        for (int v = 0; v < tok.n; v++)
            if ((v >= TOK_N_SPECIAL || (v == TOK_SEP && cur > 0)) && (best < 0 || logits[v] > logits[best])) best = v;
        ids[cur + 1] = best, mask[cur + 1] = 1;
        if (best == TOK_SEP) break;
    }
    free(logits);
    int32_t row[TEXT];
    for (int t = 0; t < TEXT; t++) row[t] = ids[t];
    return tokenizer_decode(&tok, row, TEXT);
}

/* The results file: n {"image_id", "caption"} objects; captions [n] (new
 * strings) and image ids in file order. Returns the count, -1 if malformed. */
static int read_results(const char *path, char **captions, long long *iids, int max) {
    json_error_t e;
    json_t *arr = json_load_file(path, 0, &e);
    int n = -1;
    if (arr && json_is_array(arr) && (int)json_array_size(arr) <= max) {
        n = (int)json_array_size(arr);
        for (int i = 0; i < n && n >= 0; i++) {
            json_t *o = json_array_get(arr, i), *id = json_object_get(o, "image_id"), *c = json_object_get(o, "caption");
            if (!json_is_integer(id) || !json_is_string(c) || json_object_size(o) != 2) {
                n = -1;
                break;
            }
            iids[i] = json_integer_value(id);
            captions[i] = xstrdup(json_string_value(c));
        }
    }
    json_decref(arr);
    return n;
}

static void free_strings(char **s, int n) {
    for (int i = 0; i < n; i++) free(s[i]);
}

/* fixture_init without smoothing or checkpoint, then ten AdamW steps
 * (lr 3e-3); 0 (f freed) if the fixture could not be set up. */
static int fixture_init_trained(Fixture *f, int batch, int layers) {
    fixture_init(f, batch, layers, 0, NULL);
    if (!f->ok) {
        fixture_free(f);
        return 0;
    }
    AdamWConfig c = adamw_config_default(3e-3f);
    for (int s = 1; s <= 10; s++) {
        params_zero_grad(&f->model.params);
        f->task.ops->train_step(&f->task, &f->model, &f->rng);
        adamw_step(&f->model.params, &c, 3e-3f, s);
    }
    return 1;
}

/* Greedy predictions equal the argmax chain; the metrics recomputed from the
 * results and references files equal the reported ones. */
static void test_greedy_and_files(void) {
    Fixture f;
    if (!fixture_init_trained(&f, 4, 2)) return;
    MetricList ml = {0};
    char pred[256], path[300];
    snprintf(pred, sizeof pred, "%s/cap_val", root);
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "val", &ml, pred) == 0, "%s", err_msg());
    CHECK(task_metrics_get(&ml, "images") == VAL_IMAGES, "images %g", task_metrics_get(&ml, "images"));
    const char *pct[] = {"bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l"};
    for (int k = 0; k < 5; k++)
        CHECK(task_metrics_get(&ml, pct[k]) >= 0 && task_metrics_get(&ml, pct[k]) <= 100, "%s = %g", pct[k],
              task_metrics_get(&ml, pct[k]));
    CHECK(task_metrics_get(&ml, "bleu_1") >= task_metrics_get(&ml, "bleu_4"), "BLEU-1 < BLEU-4");
    CHECK(task_metrics_get(&ml, "cider_d") >= 0 && task_metrics_get(&ml, "cider_d") <= 1000, "cider_d %g",
          task_metrics_get(&ml, "cider_d"));
    /* the results file and the by-hand greedy chain */
    char *caps[VAL_IMAGES];
    long long iids[VAL_IMAGES];
    snprintf(path, sizeof path, "%s.json", pred);
    int n = read_results(path, caps, iids, VAL_IMAGES);
    CHECK(n == VAL_IMAGES, "%s: %d results", path, n);
    KarpathySet set;
    char ann[LAYOUT_PATH_MAX];
    int *idx = NULL, nv = 0;
    if (n == VAL_IMAGES && data_karpathy_load(&set, data_layout_karpathy_captions(ann, data), data) == 0) {
        CHECK(data_karpathy_select(&set, "val", &idx, &nv) == 0 && nv == VAL_IMAGES, "val split");
        const char *paths[3];
        for (int i = 0; i < 3; i++) paths[i] = set.images[idx[i]].path;
        TaskImages ti;
        float *img = xcalloc(3 * IMAGE * IMAGE, sizeof(float));
        CHECK(task_images_load(&ti, paths, 3, IMAGE) == 0, "%s", err_msg());
        for (int i = 0; i < 3; i++) {
            CHECK(iids[i] == set.images[idx[i]].image_id, "result %d: image %lld", i, iids[i]);
            task_image_to_input(image_cache_get(&ti.cache, ti.slot[i]), IMAGE, img);
            char *hand = greedy_by_hand(&f.model, img);
            CHECK(!strcmp(hand, caps[i]), "image %d: greedy '%s', by hand '%s'", i, caps[i], hand);
            free(hand);
        }
        task_images_free(&ti);
        free(img);
        /* metrics from the files */
        snprintf(path, sizeof path, "%s.refs.json", pred);
        json_error_t e;
        json_t *refs = json_load_file(path, 0, &e);
        CHECK(refs && json_object_size(refs) == 5 && json_is_array(json_object_get(refs, "licenses")) &&
                  json_array_size(json_object_get(refs, "images")) == VAL_IMAGES,
              "%s: not a COCO caption annotation file", path);
        json_t *anns = json_object_get(refs, "annotations");
        CaptionItem items[VAL_IMAGES];
        char *hyp[VAL_IMAGES], *rtext[VAL_IMAGES * 8];
        const char *rptr[VAL_IMAGES][8];
        int nr = 0;
        for (int i = 0; i < VAL_IMAGES; i++) {
            hyp[i] = metric_caption_tokenize_simple(caps[i]);
            items[i] = (CaptionItem){hyp[i], rptr[i], 0};
            for (size_t a = 0; a < json_array_size(anns); a++) {
                json_t *o = json_array_get(anns, a);
                if (json_integer_value(json_object_get(o, "image_id")) != iids[i] || items[i].n_refs == 8) continue;
                rtext[nr] = metric_caption_tokenize_simple(json_string_value(json_object_get(o, "caption")));
                rptr[i][items[i].n_refs++] = rtext[nr++];
            }
            CHECK(items[i].n_refs == 5, "image %lld: %zu references", iids[i], items[i].n_refs);
        }
        CaptionBleu b;
        double cider, rouge;
        CHECK(metric_caption_bleu(items, VAL_IMAGES, &b, NULL) == 0 && metric_caption_cider_d(items, VAL_IMAGES, &cider, NULL) == 0 &&
                  metric_caption_rouge_l(items, VAL_IMAGES, &rouge, NULL) == 0,
              "%s", err_msg());
        CHECK_CLOSE(100 * b.bleu[3], task_metrics_get(&ml, "bleu_4"), 1e-12);
        CHECK_CLOSE(100 * cider, task_metrics_get(&ml, "cider_d"), 1e-12);
        CHECK_CLOSE(100 * rouge, task_metrics_get(&ml, "rouge_l"), 1e-12);
        free_strings(hyp, VAL_IMAGES), free_strings(rtext, nr);
        json_decref(refs);
        free(idx);
        data_karpathy_free(&set);
    } else {
        CHECK(0, "%s", err_msg());
    }
    if (n > 0) free_strings(caps, n);
    fixture_free(&f);
}

/* Beam width 1 writes the greedy captions; width 3 runs and scores. */
static void test_beam(void) {
    Fixture f;
    if (!fixture_init_trained(&f, 6, 1)) return;
    char pred[3][256], path[300];
    char *caps[3][VAL_IMAGES];
    long long iids[VAL_IMAGES];
    int n[3];
    MetricList ml[3] = {{0}};
    for (int k = 0; k < 3; k++) {
        f.task.env.beam = k == 2 ? 3 : k;
        snprintf(pred[k], sizeof pred[k], "%s/beam%d", root, f.task.env.beam);
        CHECK(f.task.ops->evaluate(&f.task, &f.model, "test", &ml[k], pred[k]) == 0, "%s", err_msg());
        snprintf(path, sizeof path, "%s.json", pred[k]);
        n[k] = read_results(path, caps[k], iids, VAL_IMAGES);
        CHECK(n[k] == VAL_IMAGES, "%s: %d results", path, n[k]);
    }
    for (int i = 0; i < VAL_IMAGES && n[0] == n[1] && n[0] > 0; i++)
        CHECK(!strcmp(caps[0][i], caps[1][i]), "image %d: greedy '%s', beam 1 '%s'", i, caps[0][i], caps[1][i]);
    CHECK(task_metrics_get(&ml[0], "cider_d") == task_metrics_get(&ml[1], "cider_d"), "CIDEr-D greedy %g, beam 1 %g",
          task_metrics_get(&ml[0], "cider_d"), task_metrics_get(&ml[1], "cider_d"));
    CHECK(task_metrics_get(&ml[2], "bleu_4") >= 0 && task_metrics_get(&ml[2], "bleu_4") <= 100, "beam 3 bleu_4 %g",
          task_metrics_get(&ml[2], "bleu_4"));
    for (int k = 0; k < 3; k++)
        if (n[k] > 0) free_strings(caps[k], n[k]);
    MetricList mt = {0};
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "train", &mt, NULL) != 0 && strstr(err_msg(), "not loaded"),
          "an unloaded split is refused");
    fixture_free(&f);
}

/* caption_head.* = the checkpoint's mlm_score.* */
static void test_head_from_mlm(void) {
    int V = tok.n;
    float *dw = xcalloc(D * D, sizeof(float)), db[D], lw[D], lb[D], *ow = xcalloc((size_t)V * D, sizeof(float));
    float *ob = xcalloc(V, sizeof(float));
    for (int i = 0; i < D * D; i++) dw[i] = 0.01f * i;
    for (int i = 0; i < D; i++) db[i] = 0.5f, lw[i] = 2.0f + i, lb[i] = -1.0f;
    for (int i = 0; i < V * D; i++) ow[i] = 0.001f * (i % 97);
    for (int i = 0; i < V; i++) ob[i] = 0.25f;
    StTensor t[6] = {{"mlm_score.transform.dense.weight", ST_F32, 2, {D, D}, dw},
                     {"mlm_score.transform.dense.bias", ST_F32, 1, {D}, db},
                     {"mlm_score.transform.LayerNorm.weight", ST_F32, 1, {D}, lw},
                     {"mlm_score.transform.LayerNorm.bias", ST_F32, 1, {D}, lb},
                     {"mlm_score.decoder.weight", ST_F32, 2, {V, D}, ow},
                     {"mlm_score.decoder.bias", ST_F32, 1, {V}, ob}};
    char path[128];
    snprintf(path, sizeof path, "%s/mlm.safetensors", root);
    StFile st;
    CHECK(safetensors_write(path, t, 6, NULL, 0) == 0 && safetensors_open(path, &st) == 0, "%s", err_msg());
    Fixture f;
    fixture_init(&f, 2, 1, 0, &st);
    if (f.ok) {
        const Params *p = &f.model.params;
        const char *names[6] = {"caption_head.transform.dense.weight", "caption_head.transform.dense.bias",
                                "caption_head.transform.LayerNorm.weight", "caption_head.transform.LayerNorm.bias",
                                "caption_head.decoder.weight", "caption_head.decoder.bias"};
        for (int k = 0; k < 6; k++) {
            int i = params_find(p, names[k]);
            CHECK(i >= 0 && !memcmp(params_data(p, i), t[k].data, p->info[i].size * sizeof(float)), "%s not copied",
                  names[k]);
        }
    }
    fixture_free(&f);
    safetensors_close(&st);
    free(dw), free(ow), free(ob);
}

int main(void) {
    fixture_dataset_make("moil_test_caption", root, sizeof root, data, sizeof data, &tok);
    RUN(test_head_gradient);
    RUN(test_head_gradient_smoothing);
    RUN(test_training);
    RUN(test_causal_structure);
    RUN(test_greedy_and_files);
    RUN(test_beam);
    RUN(test_head_from_mlm);
    fixture_dataset_remove(root, &tok);
    return TEST_DONE();
}
