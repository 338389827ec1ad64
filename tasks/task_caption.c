/* Image captioning as VinVL/UniLM train it: a seq2seq attention mask
 * (ATTN_CAUSAL_TEXT: text query t sees text keys <= t and the image, the
 * image never the text), the text [CLS] w1 .. wn [SEP] and a caption LM head
 * (caption_head.transform.dense, GELU, caption_head.transform.LayerNorm,
 * caption_head.decoder: BERT's MLM head shape, initialised from the
 * pretrained mlm_score.* when the init checkpoint has it). Two objectives
 * (TaskEnv.caption_objective, task_caption_objective.h):
 *   masked (VinVL's, the default): per caption, 15% of its tokens after
 *     [CLS] ([SEP] included), at least 1 and at most 3, are replaced (80%
 *     [MASK], 10% a random word, 10% kept) and predicted at their own
 *     positions, which see themselves and the tokens before them;
 *   next: text position t predicts token t + 1 (w1 at [CLS], ..., [SEP]
 *     after wn).
 * Loss: cross-entropy over the predicted positions, with optional label
 * smoothing (TaskEnv.label_smoothing = eps: target (1 - eps) one-hot +
 * eps / V). Each training example is an image of the train split with one
 * of its captions drawn at random (and, masked, its positions drawn from
 * the same per-image stream).
 *
 * Decoding (max_text - 1 generated tokens at most, [SEP] ends a caption):
 * repeated batched forwards of the partial text, positions beyond the
 * current one padding-masked; with prefix [CLS] w1 .. wc the next token is
 * read at position c (next) or at position c + 1 holding [MASK] (masked, as
 * VinVL decodes). TaskEnv.beam 0 = greedy (argmax); K >= 1 =
 * beam search of width K (beams ranked by summed log-probability, the final
 * caption the beam with the best mean log-probability per generated token;
 * K = 1 reproduces greedy). Never generated: [PAD], [UNK], [CLS], [MASK],
 * and [SEP] as the first token. A trained model records its objective in
 * its head layout ("objective"; a layout without it is next-token, the only
 * objective before there were two) and is decoded with it.
 *
 * Evaluation: one caption per image of the split (the first eval_limit
 * images), scored against all its references with pycocoevalcap's BLEU-1..4,
 * CIDEr-D and ROUGE-L (metric_caption.h; both sides through
 * metric_caption_tokenize_simple, the identity on the generated lower-case data;
 * document frequencies from the references of the scored images). Metrics
 * are reported x100 (bleu_4 = 100 * BLEU-4, cider_d = 100 * CIDEr-D as
 * papers print it, rouge_l = 100 * ROUGE-L). Files: <pred>.json, the COCO
 * caption results [{"image_id", "caption"}]; <pred>.refs.json, the
 * references as a COCO caption annotation file (all five top-level keys), so
 * pycocoevalcap can rescore the predictions.
 *
 * Data: DATA/annotations/karpathy_captions.json; train = train + restval,
 * val = val, test = test (Karpathy splits). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "metric_caption.h"
#include "ops.h"
#include "task_caption_objective.h"
#include "task_common.h"

typedef struct {
    int n;            /* images */
    int *img;         /* [n] index into the Karpathy set */
    int *cap_off;     /* [n+1] caption rows of image i: [cap_off[i], cap_off[i+1]) */
    int *ids, *mask;  /* [captions,Tt] encoded captions */
    TaskImages images;
} CapSplit;

typedef struct {
    KarpathySet set;
    CapSplit train, val, eval;
    char eval_name[16];
    Linear dense, decoder;
    LayerNorm ln;
    Sampler sampler;
    int objective; /* CAPTION_OBJECTIVE_* */
    const Tokenizer *tok; /* the backbone's vocabulary (its special tokens) */
    int B, Tt, S, V, C, T;
    /* batch buffers; R = B * Tt head rows */
    int *ids, *mask, *rows, *tg, *img; /* [B,Tt] x 4, [B] */
    int64_t *iids;                     /* [B] image ids of the batch (models reading cached regions) */
    float *images;                               /* [B,3,S,S] */
    float *hrows, *hh, *hg, *hln, *dln, *dg, *dh, *drows; /* [R,C] */
    float *hmean, *hrstd;                                 /* [R] */
    float *logits, *probs, *dlogits;                      /* [R,V] */
    float *dfinal;                                        /* [B,T,C] */
} CapState;

static int split_load(CapState *s, CapSplit *sp, const TaskEnv *env, const char *splits, int limit) {
    int *idx, n;
    if (data_karpathy_select(&s->set, splits, &idx, &n) != 0) return -1;
    if (limit > 0 && n > limit) n = limit; /* the first images, a fixed subset */
    sp->n = n;
    sp->img = idx;
    sp->cap_off = xcalloc(n + 1, sizeof(int));
    for (int i = 0; i < n; i++) sp->cap_off[i + 1] = sp->cap_off[i] + s->set.images[idx[i]].n_captions;
    size_t Tt = (size_t)env->max_text, rows = (size_t)sp->cap_off[n];
    sp->ids = xcalloc(rows * Tt, sizeof(int));
    sp->mask = xcalloc(rows * Tt, sizeof(int));
    const char **paths = xcalloc(n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        const KarpathyImage *im = &s->set.images[idx[i]];
        for (int k = 0; k < im->n_captions; k++) {
            size_t r = (size_t)sp->cap_off[i] + k;
            task_encode_text(env->tok, im->captions[k], env->max_text, sp->ids + r * Tt, sp->mask + r * Tt);
        }
        paths[i] = im->path;
    }
    int rc = task_images_load(&sp->images, paths, n, env->image_size);
    free(paths);
    return rc;
}

static int cap_load(Task *t, const TaskEnv *env, const char *eval_split) {
    CapState *s = xcalloc(1, sizeof *s);
    t->state = s;
    if (env->label_smoothing < 0 || env->label_smoothing >= 1)
        return err_set("caption: label smoothing %g outside [0, 1)", env->label_smoothing);
    if (env->beam < 0 || env->beam > env->batch)
        return err_set("caption: beam width %d outside 0..batch (%d)", env->beam, env->batch);
    s->objective = env->caption_objective;
    if (env->head_layout) {
        const json_t *o = json_object_get(env->head_layout, "objective");
        s->objective = o ? caption_objective_parse(json_is_string(o) ? json_string_value(o) : "")
                         : CAPTION_OBJECTIVE_NEXT;
        if (s->objective < 0) return err_prefix("caption: the head layout's ");
    } else if (env->caption_objective != CAPTION_OBJECTIVE_MASKED && env->caption_objective != CAPTION_OBJECTIVE_NEXT) {
        return err_set("caption: unknown objective %d", env->caption_objective);
    }
    if (data_karpathy_load_part(&s->set, env->data_dir, KARPATHY_CAPTIONS) != 0) return -1;
    const char *path = s->set.file;
    if (strcmp(eval_split, "val") != 0 && strcmp(eval_split, "test") != 0)
        return err_set("caption: unknown evaluation split '%s' (val, test)", eval_split);
    snprintf(s->eval_name, sizeof s->eval_name, "%s", eval_split);
    int train = task_reads_split(env, "train", eval_split), val = task_reads_split(env, "val", eval_split);
    if ((train && split_load(s, &s->train, env, "train,restval", 0) != 0) ||
        (val && split_load(s, &s->val, env, "val", env->eval_limit) != 0))
        return err_prefix("%s: ", path);
    if (strcmp(eval_split, "val") != 0 && split_load(s, &s->eval, env, eval_split, env->eval_limit) != 0)
        return err_prefix("%s: ", path);
    s->B = env->batch, s->Tt = env->max_text, s->S = env->image_size, s->V = env->tok->n, s->tok = env->tok;
    return 0;
}

static int cap_max_sequences(const Task *t) { return ((CapState *)t->state)->B; }

static void cap_register_heads(Task *t, Params *p, int d) {
    CapState *s = t->state;
    linear_register(p, &s->dense, "caption_head.transform.dense", d, d, PARAM_GROUP_HEAD);
    layernorm_register(p, &s->ln, "caption_head.transform.LayerNorm", d, 1e-12f, PARAM_GROUP_HEAD);
    linear_register(p, &s->decoder, "caption_head.decoder", d, s->V, PARAM_GROUP_HEAD);
    s->C = d;
}

/* caption_head.X <- mlm_score.X for every head tensor the checkpoint has
 * (all or none); returns the number copied, -1 on a shape mismatch. */
static int heads_from_mlm(Params *p, const StFile *f) {
    static const char *const parts[] = {"transform.dense.weight", "transform.dense.bias", "transform.LayerNorm.weight",
                                        "transform.LayerNorm.bias", "decoder.weight", "decoder.bias"};
    enum { N_PARTS = sizeof parts / sizeof parts[0] };
    char src[PARAM_NAME_MAX + 16], dst[PARAM_NAME_MAX];
    for (int k = 0; k < N_PARTS; k++) {
        snprintf(src, sizeof src, "mlm_score.%s", parts[k]);
        if (!safetensors_find(f, src)) return 0;
    }
    for (int k = 0; k < N_PARTS; k++) {
        snprintf(src, sizeof src, "mlm_score.%s", parts[k]);
        snprintf(dst, sizeof dst, "caption_head.%s", parts[k]);
        int i = params_find(p, dst);
        const ParamInfo *e = &p->info[i];
        int64_t shape[PARAM_MAX_DIMS];
        for (int d = 0; d < e->ndim; d++) shape[d] = e->shape[d];
        if (safetensors_read_f32(f, src, params_data(p, i), e->ndim, shape) != 0) return -1;
    }
    return N_PARTS;
}

static int cap_init_heads(Task *t, Model *m, Rng *rng, const StFile *init) {
    CapState *s = t->state;
    Params *p = &m->params;
    linear_init(p, &s->dense, rng);
    linear_init(p, &s->decoder, rng);
    layernorm_init(p, &s->ln);
    if (init && !t->env.head_layout && /* evaluating a trained model: its heads are loaded after */
        (heads_from_mlm(p, init) < 0 || task_heads_from_checkpoint(p, PARAM_GROUP_HEAD, init) < 0))
        return -1;
    sampler_init(&s->sampler, s->train.n);
    s->T = m->T;
    size_t B = (size_t)s->B, Tt = (size_t)s->Tt, R = B * Tt, C = (size_t)s->C, V = (size_t)s->V;
    int **ib[] = {&s->ids, &s->mask, &s->rows, &s->tg};
    for (int i = 0; i < 4; i++) *ib[i] = xcalloc(R, sizeof(int));
    s->img = xcalloc(B, sizeof(int));
    s->iids = xcalloc(B, sizeof(int64_t));
    s->images = xcalloc(B * 3 * s->S * s->S, sizeof(float));
    float **rc[] = {&s->hrows, &s->hh, &s->hg, &s->hln, &s->dln, &s->dg, &s->dh, &s->drows};
    for (int i = 0; i < 8; i++) *rc[i] = xcalloc(R * C, sizeof(float));
    s->hmean = xcalloc(R, sizeof(float)), s->hrstd = xcalloc(R, sizeof(float));
    s->logits = xcalloc(R * V, sizeof(float)), s->probs = xcalloc(R * V, sizeof(float));
    s->dlogits = xcalloc(R * V, sizeof(float));
    s->dfinal = xcalloc(B * s->T * C, sizeof(float));
    return 0;
}

/* The head on the n rows of m->final listed in s->rows: logits [n,V]. */
static void head_forward(CapState *s, const Model *m, int n) {
    const Params *p = &m->params;
    size_t C = (size_t)s->C;
    for (int r = 0; r < n; r++) memcpy(s->hrows + r * C, m->final + (size_t)s->rows[r] * C, C * sizeof(float));
    layer_linear_forward(p, &s->dense, s->hh, s->hrows, n);
    gelu_forward(s->hg, s->hh, (size_t)n * C);
    layer_layernorm_forward(p, &s->ln, s->hln, s->hmean, s->hrstd, s->hg, n);
    layer_linear_forward(p, &s->decoder, s->logits, s->hln, n);
}

/* From s->dlogits [n,V]: head gradients, and s->dfinal [B,T,C] (zeroed here). */
static void head_backward(CapState *s, const Model *m, int n, int B) {
    const Params *p = &m->params;
    size_t C = (size_t)s->C, nc = (size_t)n * C;
    memset(s->dln, 0, nc * sizeof(float));
    layer_linear_backward(p, &s->decoder, s->dln, s->dlogits, s->hln, n);
    memset(s->dg, 0, nc * sizeof(float));
    layer_layernorm_backward(p, &s->ln, s->dg, s->dln, s->hg, s->hmean, s->hrstd, n);
    memset(s->dh, 0, nc * sizeof(float));
    gelu_backward(s->dh, s->hh, s->dg, nc);
    memset(s->drows, 0, nc * sizeof(float));
    layer_linear_backward(p, &s->dense, s->drows, s->dh, s->hrows, n);
    memset(s->dfinal, 0, sizeof(float) * B * s->T * C);
    for (int r = 0; r < n; r++)
        for (size_t c = 0; c < C; c++) s->dfinal[(size_t)s->rows[r] * C + c] += s->drows[r * C + c];
}

/* Mean label-smoothed cross-entropy of s->logits [n,V] against s->tg [n]:
 * (1 - eps) CE + eps * mean_v(-log p_v); its gradient into s->dlogits. */
static double smoothed_loss(CapState *s, int n, float eps) {
    int V = s->V, cnt;
    double loss = crossentropy_forward(s->probs, s->logits, s->tg, n, V, -100, &cnt);
    memset(s->dlogits, 0, sizeof(float) * n * V);
    crossentropy_backward(s->dlogits, s->probs, s->tg, n, V, -100, cnt, 1.0f - eps);
    if (eps == 0 || cnt == 0) return loss;
    double uniform = 0;
    for (int r = 0; r < n; r++) {
        const float *l = s->logits + (size_t)r * V;
        float *dl = s->dlogits + (size_t)r * V;
        const float *pr = s->probs + (size_t)r * V;
        double mx = l[0], sum = 0, mean = 0;
        for (int v = 1; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) sum += exp(l[v] - mx), mean += l[v];
        uniform += log(sum) + mx - mean / V; /* mean_v(-log p_v) */
        for (int v = 0; v < V; v++) dl[v] += eps * (pr[v] - 1.0f / V) / cnt;
    }
    return (1.0 - eps) * loss + eps * uniform / cnt;
}

static void fill_images(CapState *s, const CapSplit *sp, const int *img, int N) {
    size_t px = (size_t)3 * s->S * s->S;
    for (int b = 0; b < N; b++) {
        task_image_to_input(image_cache_get(&sp->images.cache, sp->images.slot[img[b]]), s->S, s->images + b * px);
        s->iids[b] = s->set.images[sp->img[img[b]]].image_id;
    }
}

static double cap_train_step(Task *t, Model *m, Rng *rng) {
    CapState *s = t->state;
    int B = s->B, Tt = s->Tt, n = 0;
    /* the caption of image i: drawn from a per-step seed and i, so a batch's
     * captions do not depend on the order the sampler yields its images */
    uint64_t seed = rng_next(rng);
    for (int b = 0; b < B; b++) {
        int i = sampler_next(&s->sampler, rng);
        Rng pick;
        rng_seed(&pick, seed ^ (uint64_t)i);
        int row = s->train.cap_off[i] + (int)rng_below(&pick, (uint32_t)(s->train.cap_off[i + 1] - s->train.cap_off[i]));
        memcpy(s->ids + (size_t)b * Tt, s->train.ids + (size_t)row * Tt, Tt * sizeof(int));
        memcpy(s->mask + (size_t)b * Tt, s->train.mask + (size_t)row * Tt, Tt * sizeof(int));
        s->img[b] = i;
        if (s->objective == CAPTION_OBJECTIVE_NEXT) {
            /* position t predicts token t + 1 */
            for (int p = 0; p + 1 < Tt; p++)
                if (s->mask[b * Tt + p + 1]) s->rows[n] = b * s->T + p, s->tg[n++] = s->ids[b * Tt + p + 1];
        } else {
            /* the replaced tokens, each predicted at its own position */
            int pos[CAPTION_MASK_MAX], tg[CAPTION_MASK_MAX];
            int k = caption_objective_mask(s->ids + (size_t)b * Tt, s->mask + (size_t)b * Tt, Tt, s->tok, &pick, pos, tg);
            for (int j = 0; j < k; j++) s->rows[n] = b * s->T + pos[j], s->tg[n++] = tg[j];
        }
    }
    fill_images(s, &s->train, s->img, B);
    ModelInput in = {.B = B, .text_ids = s->ids, .text_mask = s->mask, .images = s->images, .attn_mode = ATTN_CAUSAL_TEXT,
                     .image_ids = s->iids};
    if (model_forward(m, &in) != 0) return NAN;
    head_forward(s, m, n);
    double loss = smoothed_loss(s, n, t->env.label_smoothing);
    head_backward(s, m, n, B);
    model_backward(m, &in, s->dfinal, NULL);
    return loss;
}

/* Whether decoding may write token id after position cur: an ordinary
 * token, or [SEP] after at least one. */
static int allowed(const Tokenizer *tok, int id, int cur) {
    return !tokenizer_is_special(tok, id) || (id == tok->sep && cur > 0);
}

/* One decoding forward: N partial captions ids/mask [N,Tt] of images img
 * [N] of sp, each written up to position cur at most; the logits of the
 * token after position cur into s->logits [N,V]. Next-token: the output at
 * position cur. Masked: position cur + 1 holds [MASK] for this forward and
 * its output is read; it is padding again afterwards (as it was: nothing is
 * written past the current position). */
static int decode_logits(CapState *s, Model *m, const CapSplit *sp, const int *img, int *ids, int *mask, int N,
                         int cur) {
    int Tt = s->Tt, masked = s->objective == CAPTION_OBJECTIVE_MASKED, at = masked ? cur + 1 : cur;
    fill_images(s, sp, img, N);
    for (int b = 0; b < N && masked; b++) ids[b * Tt + at] = s->tok->mask, mask[b * Tt + at] = 1;
    ModelInput in = {.B = N, .text_ids = ids, .text_mask = mask, .images = s->images, .attn_mode = ATTN_CAUSAL_TEXT,
                     .image_ids = s->iids};
    int rc = model_forward(m, &in);
    for (int b = 0; b < N && masked; b++) ids[b * Tt + at] = s->tok->pad, mask[b * Tt + at] = 0;
    if (rc != 0) return -1;
    for (int b = 0; b < N; b++) s->rows[b] = b * s->T + at;
    head_forward(s, m, N);
    return 0;
}

/* Start N captions: [CLS] then padding. */
static void start_captions(const Tokenizer *tok, int *ids, int *mask, int N, int Tt) {
    for (int i = 0; i < N * Tt; i++) ids[i] = tok->pad, mask[i] = 0;
    for (int b = 0; b < N; b++) ids[b * Tt] = tok->cls, mask[b * Tt] = 1;
}

/* Greedy captions of images [first, first + N) of sp into out [N,Tt]. */
static int decode_greedy(CapState *s, Model *m, const CapSplit *sp, int first, int N, int *out) {
    int Tt = s->Tt, V = s->V, done[4096] = {0}, left = N;
    for (int b = 0; b < N; b++) s->img[b] = first + b;
    start_captions(s->tok, out, s->mask, N, Tt);
    for (int cur = 0; cur + 1 < Tt && left > 0; cur++) {
        if (decode_logits(s, m, sp, s->img, out, s->mask, N, cur) != 0) return -1;
        for (int b = 0; b < N; b++) {
            if (done[b]) continue;
            const float *l = s->logits + (size_t)b * V;
            int best = -1;
            for (int v = 0; v < V; v++)
                if (allowed(s->tok, v, cur) && (best < 0 || l[v] > l[best])) best = v;
            out[b * Tt + cur + 1] = best, s->mask[b * Tt + cur + 1] = 1;
            if (best == s->tok->sep) done[b] = 1, left--;
        }
    }
    return 0;
}

typedef struct {
    double score; /* summed log-probability */
    int parent, token; /* token -1: the parent was finished and carries over */
} BeamCand;

/* The K best allowed tokens of logits l [V] (ties to the lower id), by
 * insertion into top[K]; returns how many were found. */
static int top_tokens(const Tokenizer *tok, const float *l, int V, int K, int cur, int *top) {
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (!allowed(tok, v, cur) || (n == K && l[v] <= l[top[n - 1]])) continue;
        int at = n < K ? n++ : K - 1;
        for (; at > 0 && l[top[at - 1]] < l[v]; at--) top[at] = top[at - 1];
        top[at] = v;
    }
    return n;
}

/* Beam search (width K) for images [first, first + G) of sp, G * K <= B;
 * the best caption of each into out [G,Tt]. Buffers: the K beams of image g
 * are rows [g K, (g + 1) K) of s->ids / s->mask. */
static int decode_beam(CapState *s, Model *m, const CapSplit *sp, int first, int G, int K, int *out) {
    int Tt = s->Tt, V = s->V, N = G * K;
    double *score = xcalloc(N, sizeof(double));
    int *done = xcalloc(N, sizeof(int)), *len = xcalloc(N, sizeof(int)), *top = xcalloc(K, sizeof(int));
    int *nids = xcalloc((size_t)N * Tt, sizeof(int)), *nmask = xcalloc((size_t)N * Tt, sizeof(int));
    int *ndone = xcalloc(N, sizeof(int)), *nlen = xcalloc(N, sizeof(int));
    double *nscore = xcalloc(N, sizeof(double));
    BeamCand *cand = xcalloc((size_t)K * K, sizeof(BeamCand));
    for (int r = 0; r < N; r++) s->img[r] = first + r / K, score[r] = r % K ? -INFINITY : 0; /* one live beam */
    start_captions(s->tok, s->ids, s->mask, N, Tt);
    int rc = 0, left = N;
    for (int cur = 0; cur + 1 < Tt && left > 0 && rc == 0; cur++) {
        if ((rc = decode_logits(s, m, sp, s->img, s->ids, s->mask, N, cur)) != 0) break;
        for (int g = 0; g < G; g++) {
            int nc = 0;
            for (int k = 0; k < K; k++) {
                int r = g * K + k;
                if (score[r] == -INFINITY) continue;
                if (done[r]) {
                    cand[nc++] = (BeamCand){score[r], r, -1};
                    continue;
                }
                const float *l = s->logits + (size_t)r * V;
                double mx = l[0], sum = 0;
                for (int v = 1; v < V; v++) mx = fmax(mx, l[v]);
                for (int v = 0; v < V; v++) sum += exp(l[v] - mx);
                double lse = mx + log(sum);
                int nt = top_tokens(s->tok, l, V, K, cur, top);
                for (int j = 0; j < nt; j++) cand[nc++] = (BeamCand){score[r] + l[top[j]] - lse, r, top[j]};
            }
            /* the K best candidates, stable (earlier beams win ties) */
            for (int k = 0; k < K; k++) {
                int r = g * K + k, best = -1;
                for (int c = 0; c < nc; c++)
                    if (cand[c].parent >= 0 && (best < 0 || cand[c].score > cand[best].score)) best = c;
                if (best < 0) {
                    nscore[r] = -INFINITY, ndone[r] = 1, nlen[r] = 0;
                    memcpy(nids + (size_t)r * Tt, s->ids + (size_t)r * Tt, Tt * sizeof(int));
                    memcpy(nmask + (size_t)r * Tt, s->mask + (size_t)r * Tt, Tt * sizeof(int));
                    continue;
                }
                BeamCand c = cand[best];
                cand[best].parent = -1;
                memcpy(nids + (size_t)r * Tt, s->ids + (size_t)c.parent * Tt, Tt * sizeof(int));
                memcpy(nmask + (size_t)r * Tt, s->mask + (size_t)c.parent * Tt, Tt * sizeof(int));
                nscore[r] = c.score, ndone[r] = done[c.parent], nlen[r] = len[c.parent];
                if (c.token >= 0) {
                    nids[(size_t)r * Tt + cur + 1] = c.token, nmask[(size_t)r * Tt + cur + 1] = 1;
                    nlen[r]++;
                    ndone[r] = c.token == s->tok->sep;
                }
            }
        }
        memcpy(s->ids, nids, sizeof(int) * N * Tt), memcpy(s->mask, nmask, sizeof(int) * N * Tt);
        memcpy(score, nscore, sizeof(double) * N), memcpy(done, ndone, sizeof(int) * N), memcpy(len, nlen, sizeof(int) * N);
        left = 0;
        for (int r = 0; r < N; r++) left += !done[r];
    }
    for (int g = 0; g < G && rc == 0; g++) {
        int best = g * K;
        for (int r = g * K; r < (g + 1) * K; r++)
            if (len[r] > 0 && (len[best] == 0 || score[r] / len[r] > score[best] / len[best])) best = r;
        memcpy(out + (size_t)g * Tt, s->ids + (size_t)best * Tt, Tt * sizeof(int));
    }
    free(score), free(done), free(len), free(top), free(nids), free(nmask), free(ndone), free(nlen), free(nscore);
    free(cand);
    return rc;
}

/* The references as a COCO caption annotation file. */
static int write_references(const char *path, const KarpathySet *set, const CapSplit *sp) {
    json_t *images = json_array(), *anns = json_array();
    json_int_t id = 1;
    for (int i = 0; i < sp->n; i++) {
        const KarpathyImage *im = &set->images[sp->img[i]];
        json_array_append_new(images, json_pack("{s:I, s:s}", "id", (json_int_t)im->image_id, "file_name", im->filename));
        for (int k = 0; k < im->n_captions; k++)
            json_array_append_new(anns, json_pack("{s:I, s:I, s:s}", "image_id", (json_int_t)im->image_id, "id", id++,
                                                  "caption", im->captions[k]));
    }
    json_t *root = json_pack("{s:{s:s}, s:o, s:[], s:s, s:o}", "info", "description", "moil-repro caption references",
                             "images", images, "licenses", "type", "captions", "annotations", anns);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    int rc = text ? file_write_atomic(path, text, strlen(text)) : err_set("%s: cannot encode the references", path);
    free(text);
    return rc;
}

static int score_and_write(CapState *s, const Tokenizer *tok, const CapSplit *sp, const int *gen, MetricList *out,
                           const char *pred_path) {
    int n = sp->n, Tt = s->Tt;
    char **raw = xcalloc(n, sizeof(char *)), **hyp = xcalloc(n, sizeof(char *));
    char **refs = xcalloc(sp->cap_off[n], sizeof(char *));
    long long *iids = xcalloc(n, sizeof(long long));
    CaptionItem *items = xcalloc(n, sizeof(CaptionItem));
    int32_t row[512];
    for (int i = 0; i < n; i++) {
        const KarpathyImage *im = &s->set.images[sp->img[i]];
        for (int p = 0; p < Tt; p++) row[p] = gen[(size_t)i * Tt + p];
        raw[i] = tokenizer_decode(tok, row, Tt);
        hyp[i] = metric_caption_tokenize_simple(raw[i]);
        for (int k = 0; k < im->n_captions; k++) refs[sp->cap_off[i] + k] = metric_caption_tokenize_simple(im->captions[k]);
        items[i] = (CaptionItem){hyp[i], (const char *const *)refs + sp->cap_off[i], (size_t)im->n_captions};
        iids[i] = im->image_id;
    }
    CaptionBleu bleu;
    double cider, rouge, *cider_image = xcalloc(n, sizeof(double));
    int rc = metric_caption_bleu(items, n, &bleu, NULL);
    if (rc == 0) rc = metric_caption_cider_d(items, n, &cider, cider_image);
    if (rc == 0) rc = metric_caption_rouge_l(items, n, &rouge, NULL);
    if (rc == 0) {
        const char *names[4] = {"bleu_1", "bleu_2", "bleu_3", "bleu_4"};
        for (int k = 0; k < 4; k++) task_metrics_add(out, names[k], 100.0 * bleu.bleu[k]);
        task_metrics_add(out, "cider_d", 100.0 * cider);
        task_metrics_add(out, "rouge_l", 100.0 * rouge);
        task_metrics_add(out, "images", n);
        double words = 0;
        for (int i = 0; i < n; i++) words += tokenizer_count_words(hyp[i]);
        task_metrics_add(out, "caption_words", words / n);
        /* per image, x100 as the corpus value (whose document frequencies
         * come from every image's references: an approximation when images
         * are resampled) */
        int64_t *ids = xcalloc(n, sizeof(int64_t));
        for (int i = 0; i < n; i++) ids[i] = iids[i], cider_image[i] *= 100.0;
        task_items_add_int(out, "cider_d", n, ids, cider_image);
        free(ids);
    }
    if (rc == 0 && pred_path) {
        char path[1100];
        snprintf(path, sizeof path, "%s.json", pred_path);
        rc = metric_caption_results_write(path, iids, (const char *const *)raw, (size_t)n);
        snprintf(path, sizeof path, "%s.refs.json", pred_path);
        if (rc == 0) rc = write_references(path, &s->set, sp);
    }
    for (int i = 0; i < n; i++) free(raw[i]), free(hyp[i]);
    for (int i = 0; i < sp->cap_off[n]; i++) free(refs[i]);
    free(raw), free(hyp), free(refs), free(iids), free(items), free(cider_image);
    return rc;
}

static int cap_evaluate(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    CapState *s = t->state;
    const CapSplit *sp = !strcmp(split, "val") ? &s->val : !strcmp(split, s->eval_name) ? &s->eval : NULL;
    if (!sp || !sp->img) return err_set("caption: split '%s' was not loaded", split);
    if (sp->n == 0) return err_set("caption: split '%s' has no images", split);
    double t0 = time_now_s();
    int K = t->env.beam, per = K > 0 ? s->B / K : s->B, Tt = s->Tt, rc = 0;
    int *gen = xcalloc((size_t)sp->n * Tt, sizeof(int));
    for (int first = 0; first < sp->n && rc == 0; first += per) {
        int G = sp->n - first < per ? sp->n - first : per;
        int *dst = gen + (size_t)first * Tt;
        rc = K > 0 ? decode_beam(s, m, sp, first, G, K, dst) : decode_greedy(s, m, sp, first, G, dst);
    }
    double decode_s = time_now_s() - t0;
    if (rc == 0) rc = score_and_write(s, t->env.tok, sp, gen, out, pred_path);
    if (rc == 0) task_metrics_add(out, "decode_ms_per_image", 1e3 * decode_s / sp->n);
    free(gen);
    return rc;
}

/* What decoding the trained model needs besides its tensors: the objective. */
static int cap_describe_heads(const Task *t, json_t *layout) {
    const CapState *s = t->state;
    return json_object_set_new(layout, "objective", json_string(caption_objective_name(s->objective))) == 0
               ? 0
               : err_set("caption: cannot record the objective");
}

static void split_free(CapSplit *sp) {
    free(sp->img), free(sp->cap_off), free(sp->ids), free(sp->mask);
    task_images_free(&sp->images);
}

static void cap_destroy(Task *t) {
    CapState *s = t->state;
    if (!s) return;
    split_free(&s->train), split_free(&s->val), split_free(&s->eval);
    data_karpathy_free(&s->set);
    sampler_free(&s->sampler);
    free(s->ids), free(s->mask), free(s->rows), free(s->tg), free(s->img), free(s->iids), free(s->images);
    float *f[] = {s->hrows, s->hh, s->hg, s->hln, s->dln, s->dg, s->dh, s->drows, s->hmean, s->hrstd,
                  s->logits, s->probs, s->dlogits, s->dfinal};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(f[i]);
    free(s);
}

const TaskOps task_caption = {
    .name = "caption",
    .summary = "captioning: seq2seq mask, LM head, masked-token (VinVL's) or next-token cross-entropy; greedy/beam "
               "decoding; BLEU, CIDEr-D, ROUGE-L",
    .primary_metric = "cider_d",
    .head_lr_mult = 1.0f,
    .load = cap_load,
    .max_sequences = cap_max_sequences,
    .register_heads = cap_register_heads,
    .init_heads = cap_init_heads,
    .train_step = cap_train_step,
    .evaluate = cap_evaluate,
    .describe_heads = cap_describe_heads,
    .destroy = cap_destroy,
};
