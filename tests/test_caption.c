/* The captioning task on a tiny generated dataset and a tiny model, for both
 * objectives (masked, VinVL's, and next-token): head gradients through the
 * task loss (with and without label smoothing) against finite differences,
 * and the masked loss's gradient into the backbone; VinVL's choice of the
 * masked tokens (how many, where, replaced by what); the loss at
 * initialisation and a few training steps; the seq2seq structure (a text
 * position's output does not depend on later tokens; the image does not see
 * the caption); greedy decoding equal to the chain recomputed by hand (the
 * argmax after the prefix, or at a [MASK] appended to it), beam width 1
 * equal to greedy, metrics in range and equal to the ones recomputed from the
 * written files, the caption head taken from a checkpoint's MLM head, and a
 * trained model's objective taken from its head layout. */
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
#include "task_caption_objective.h"
#include "task_common.h"
#include "task_fixture.h"
#include "test.h"
#include "train_adamw.h"

enum { D = 16, IMAGE = 32, TEXT = 16, TRAIN_IMAGES = 30, VAL_IMAGES = 10 };

static char root[64], data[128];
static Tokenizer tok;

static const int objectives[] = {CAPTION_OBJECTIVE_MASKED, CAPTION_OBJECTIVE_NEXT};

static void fixture_init(Fixture *f, int batch, int layers, float smoothing, int objective, const StFile *init) {
    TaskEnv env = {.data_dir = data, .tok = &tok, .image_size = IMAGE, .max_text = TEXT, .batch = batch,
                   .label_smoothing = smoothing, .caption_objective = objective};
    fixture_init_env(f, "caption", &env, D, layers, init);
}

/* Finite differences on the caption head's six tensors. */
static void check_head_gradient(float smoothing, int objective) {
    Fixture f;
    fixture_init(&f, TRAIN_IMAGES, 1, smoothing, objective, NULL);
    if (f.ok) {
        Params *p = &f.model.params;
        for (int i = 0; i < p->n; i++)
            if (p->info[i].group == PARAM_GROUP_HEAD)
                CHECK(!strncmp(p->info[i].name, "caption_head.", 13), "head tensor %s", p->info[i].name);
        char op[96];
        snprintf(op, sizeof op, "caption head, %s%s", caption_objective_name(objective),
                 smoothing > 0 ? " (label smoothing 0.1)" : "");
        int n = fixture_check_heads(&f, op, PARAM_GROUP_HEAD);
        CHECK(n == 6, "%d head tensors, expected 6", n);
    }
    fixture_free(&f);
}

static void test_head_gradient(void) {
    for (int k = 0; k < 2; k++) check_head_gradient(0.0f, objectives[k]);
}
static void test_head_gradient_smoothing(void) {
    for (int k = 0; k < 2; k++) check_head_gradient(0.1f, objectives[k]);
}

/* The masked loss into the backbone: its gradient reaches the final
 * LayerNorm and the word embeddings through the masked rows only (a row
 * mix-up shows here, not in the head check, which freezes the backbone).
 * A batch of every training image, as for the head check: each call of the
 * loss then sees the same captions and positions (drawn per image). */
static void test_masked_backbone_gradient(void) {
    Fixture f;
    fixture_init(&f, TRAIN_IMAGES, 1, 0.0f, CAPTION_OBJECTIVE_MASKED, NULL);
    const char *names[] = {"transformer.norm.weight", "transformer.norm.bias", "text_embeddings.word_embeddings.weight"};
    if (f.ok) fixture_check_tensors(&f, "masked caption loss into the backbone", PARAM_GROUP_BACKBONE, names, 3);
    fixture_free(&f);
}

/* VinVL's rule on captions of every length 0..TEXT: k = min(max(round(0.15 L),
 * 1), 3) positions (the values of Python's formula, listed), distinct,
 * ascending, after [CLS] and before the padding, their targets the original
 * tokens, nothing else touched; over all draws the replacements are about 80%
 * [MASK], 10% another word, 10% kept, never another special token, and
 * every position 1 .. L-1 gets chosen. */
static void test_mask_choice(void) {
    /* k by L = 0 .. 24, from Python: min(max(round(0.15 * L), 1), 3), 0 below L = 2 */
    static const int want_k[25] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    enum { T = 24, DRAWS = 400 };
    Rng rng;
    rng_seed(&rng, 21);
    long chosen = 0, masked = 0, kept = 0, word = 0, other = 0;
    for (int L = 0; L <= T; L++) {
        int hits[T] = {0};
        for (int d = 0; d < DRAWS; d++) {
            int ids[T], orig[T], mask[T], pos[CAPTION_MASK_MAX], tg[CAPTION_MASK_MAX];
            for (int t = 0; t < T; t++) {
                ids[t] = t >= L ? TOK_WORD_PAD : t == 0 ? TOK_WORD_CLS : t == L - 1 ? TOK_WORD_SEP : TOK_N_SPECIAL + t;
                mask[t] = t < L, orig[t] = ids[t];
            }
            int k = caption_objective_mask(ids, mask, T, &tok, &rng, pos, tg);
            CHECK(k == want_k[L], "L %d: %d chosen, want %d", L, k, want_k[L]);
            int at = 0;
            for (int t = 0; t < T; t++) {
                int is = at < k && pos[at] == t;
                if (!is) {
                    CHECK(ids[t] == orig[t], "L %d: position %d (not chosen) changed", L, t);
                    continue;
                }
                CHECK(t >= 1 && t < L && mask[t], "L %d: position %d chosen", L, t);
                CHECK(tg[at] == orig[t], "L %d: target %d of position %d, token %d", L, tg[at], t, orig[t]);
                CHECK(at == 0 || pos[at - 1] < t, "L %d: positions not ascending", L);
                hits[t]++, chosen++;
                if (ids[t] == TOK_WORD_MASK) masked++;
                else if (ids[t] == orig[t]) kept++;
                else if (ids[t] >= TOK_N_SPECIAL && ids[t] < tok.n) word++;
                else other++;
                at++;
            }
            CHECK(at == k, "L %d: positions %d..: not all in the row", L, at);
            if (test_case_failed) return;
        }
        for (int t = 1; t < L; t++) CHECK(hits[t] > 0, "L %d: position %d never chosen in %d draws", L, t, DRAWS);
        /* at most 3, and about 15% of the caption's tokens where 3 does not bind */
        if (L >= 4 && L <= 16) CHECK(fabs(want_k[L] - 0.15 * L) <= 0.5, "L %d: %d is not 15%%", L, want_k[L]);
    }
    /* a random word can be the original one: it counts as kept (10% + 0.1 / words) */
    double n = (double)chosen, words = tok.n - TOK_N_SPECIAL;
    printf("  %ld chosen: %.3f [MASK], %.3f another word, %.3f kept\n", chosen, masked / n, word / n, kept / n);
    CHECK(other == 0, "%ld replaced by a special token other than [MASK]", other);
    CHECK(fabs(masked / n - 0.8) < 0.01, "[MASK] share %g, expected 0.8", masked / n);
    CHECK(fabs(word / n - 0.1 * (1 - 1 / words)) < 0.01, "random-word share %g", word / n);
    CHECK(fabs(kept / n - (0.1 + 0.1 / words)) < 0.01, "kept share %g", kept / n);
}

/* The loss at initialisation is about log V (logits near 0, with or without
 * smoothing), and 40 AdamW steps on batches of 4 lower it: the mean of the
 * last 10 is below the first by 0.5 (masked: fewer predicted tokens per
 * batch, a noisier loss, hence the mean). */
static void check_training(int objective) {
    Fixture f;
    fixture_init(&f, 4, 1, 0.1f, objective, NULL);
    if (!f.ok) {
        fixture_free(&f);
        return;
    }
    f.rng = f.saved;
    double first = f.task.ops->train_step(&f.task, &f.model, &f.rng);
    CHECK(fabs(first - log((double)tok.n)) < 0.1, "initial loss %g, expected about log %d = %g", first, tok.n,
          log((double)tok.n));
    AdamWConfig c = adamw_config_default(3e-3f);
    double late = 0;
    for (int s = 1; s <= 40; s++) {
        params_zero_grad(&f.model.params);
        double loss = f.task.ops->train_step(&f.task, &f.model, &f.rng);
        CHECK(isfinite(loss) && loss > 0, "step %d: loss %g", s, loss);
        if (s > 30) late += loss / 10;
        adamw_step(&f.model.params, &c, 3e-3f, s);
    }
    printf("  %s: loss %.3f at the start, %.3f over steps 31-40\n", caption_objective_name(objective), first, late);
    CHECK(late < first - 0.5, "%s: loss %g over steps 31-40, %g at the start", caption_objective_name(objective), late,
          first);
    fixture_free(&f);
}

static void test_training(void) {
    for (int k = 0; k < 2; k++) check_training(objectives[k]);
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
    for (int t = 0; t < 9; t++) ids[t] = t == 0 ? TOK_WORD_CLS : t == 8 ? TOK_WORD_SEP : TOK_N_SPECIAL + t, mask[t] = 1;
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

/* The greedy caption of one image recomputed by hand, one forward of a
 * single sequence per step: with the prefix [CLS] w1 .. wc, the allowed token
 * (a word, or [SEP] after the first) of largest logit at position c
 * (next-token), or at position c + 1 holding [MASK] (masked). */
static char *greedy_by_hand(Model *m, const float *img, int objective) {
    int ids[TEXT] = {TOK_WORD_CLS}, mask[TEXT] = {1};
    float *logits = xcalloc(tok.n, sizeof(float));
    for (int cur = 0; cur + 1 < TEXT; cur++) {
        int at = cur;
        if (objective == CAPTION_OBJECTIVE_MASKED) ids[++at] = TOK_WORD_MASK, mask[at] = 1;
        ModelInput in = {.B = 1, .text_ids = ids, .text_mask = mask, .images = img, .attn_mode = ATTN_CAUSAL_TEXT};
        if (model_forward(m, &in) != 0) break;
        head_by_hand(&m->params, m->final + (size_t)at * m->d, logits);
        int best = -1;
        for (int v = 0; v < tok.n; v++)
            if ((v >= TOK_N_SPECIAL || (v == TOK_WORD_SEP && cur > 0)) && (best < 0 || logits[v] > logits[best])) best = v;
        ids[cur + 1] = best, mask[cur + 1] = 1;
        if (best == TOK_WORD_SEP) break;
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
static int fixture_init_trained(Fixture *f, int batch, int layers, int objective) {
    fixture_init(f, batch, layers, 0, objective, NULL);
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

/* Greedy predictions of a model trained with the objective equal the chain
 * by hand with its decoding, and (for at least one image) differ from the
 * chain of the other objective's decoding; the metrics recomputed from the
 * results and references files equal the reported ones. */
static void check_greedy_and_files(int objective) {
    Fixture f;
    if (!fixture_init_trained(&f, 4, 2, objective)) return;
    MetricList ml = {0};
    char pred[256], path[300];
    snprintf(pred, sizeof pred, "%s/cap_val_%s", root, caption_objective_name(objective));
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
        int other_differs = 0;
        for (int i = 0; i < 3; i++) {
            CHECK(iids[i] == set.images[idx[i]].image_id, "result %d: image %lld", i, iids[i]);
            task_image_to_input(image_cache_get(&ti.cache, ti.slot[i]), IMAGE, img);
            char *hand = greedy_by_hand(&f.model, img, objective);
            char *other = greedy_by_hand(&f.model, img, objectives[objective == objectives[0]]);
            CHECK(!strcmp(hand, caps[i]), "%s, image %d: greedy '%s', by hand '%s'", caption_objective_name(objective),
                  i, caps[i], hand);
            other_differs |= strcmp(other, caps[i]) != 0;
            free(hand), free(other);
        }
        CHECK(other_differs, "%s: the other objective's decoding gives the same 3 captions",
              caption_objective_name(objective));
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

static void test_greedy_and_files(void) {
    for (int k = 0; k < 2; k++) check_greedy_and_files(objectives[k]);
}

/* Beam width 1 writes the greedy captions; width 3 runs and scores. */
static void check_beam(int objective) {
    Fixture f;
    if (!fixture_init_trained(&f, 6, 1, objective)) return;
    char pred[3][256], path[300];
    char *caps[3][VAL_IMAGES];
    long long iids[VAL_IMAGES];
    int n[3];
    MetricList ml[3] = {{0}};
    for (int k = 0; k < 3; k++) {
        f.task.env.beam = k == 2 ? 3 : k;
        snprintf(pred[k], sizeof pred[k], "%s/beam%d_%s", root, f.task.env.beam, caption_objective_name(objective));
        CHECK(f.task.ops->evaluate(&f.task, &f.model, "test", &ml[k], pred[k]) == 0, "%s", err_msg());
        snprintf(path, sizeof path, "%s.json", pred[k]);
        n[k] = read_results(path, caps[k], iids, VAL_IMAGES);
        CHECK(n[k] == VAL_IMAGES, "%s: %d results", path, n[k]);
    }
    for (int i = 0; i < VAL_IMAGES && n[0] == n[1] && n[0] > 0; i++)
        CHECK(!strcmp(caps[0][i], caps[1][i]), "%s, image %d: greedy '%s', beam 1 '%s'",
              caption_objective_name(objective), i, caps[0][i], caps[1][i]);
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

static void test_beam(void) {
    for (int k = 0; k < 2; k++) check_beam(objectives[k]);
}

/* A trained model's objective comes from its head layout, whatever the
 * environment says: "masked" or "next" as recorded, next-token when the
 * layout has none (a checkpoint from before there were two), an error for
 * another name; describe_heads records it. */
static void test_objective_from_layout(void) {
    const char *layouts[] = {"{\"objective\": \"masked\"}", "{\"objective\": \"next\"}", "{}",
                             "{\"objective\": \"mlm\"}"};
    const char *want[] = {"masked", "next", "next", NULL};
    for (int k = 0; k < 4; k++) {
        json_t *layout = json_loads(layouts[k], 0, NULL), *described = json_object();
        TaskEnv env = {.data_dir = data, .tok = &tok, .image_size = IMAGE, .max_text = TEXT, .batch = 2,
                       .caption_objective = want[k] && !strcmp(want[k], "masked") ? CAPTION_OBJECTIVE_NEXT
                                                                                  : CAPTION_OBJECTIVE_MASKED,
                       .head_layout = layout};
        Task t = {0};
        int rc = task_create(&t, "caption", &env) == 0 ? t.ops->load(&t, &env, "test") : -1;
        if (!want[k]) {
            CHECK(rc != 0 && strstr(err_msg(), "'mlm'"), "layout %s: %s", layouts[k], rc ? err_msg() : "loaded");
        } else {
            CHECK(rc == 0 && t.ops->describe_heads(&t, described) == 0, "layout %s: %s", layouts[k], err_msg());
            const char *got = json_string_value(json_object_get(described, "objective"));
            CHECK(got && !strcmp(got, want[k]), "layout %s: objective %s", layouts[k], got ? got : "(none)");
        }
        task_destroy(&t);
        json_decref(layout), json_decref(described);
    }
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
    fixture_init(&f, 2, 1, 0, CAPTION_OBJECTIVE_MASKED, &st);
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
    RUN(test_masked_backbone_gradient);
    RUN(test_mask_choice);
    RUN(test_training);
    RUN(test_causal_structure);
    RUN(test_greedy_and_files);
    RUN(test_beam);
    RUN(test_head_from_mlm);
    RUN(test_objective_from_layout);
    fixture_dataset_remove(root, &tok);
    return TEST_DONE();
}
