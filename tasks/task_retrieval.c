/* Image-text retrieval / matching as ViLT fine-tunes it (objectives.py
 * compute_irtr): a rank head Linear(d, 1) on the pooled [CLS] scores a pair;
 * it starts from the pretrained ITM head's "match" row (itm_score.fc row 1)
 * when the init checkpoint has one. Training: per image, its true caption
 * (one of its captions, drawn uniformly) and K false captions (drawn
 * uniformly from the other training images' captions); the 1+K scores go
 * through a softmax cross-entropy with the true one as the target. One
 * training step therefore runs (1+K) * batch sequences: --batch counts
 * images (batch 8 with K = 15 is 128 sequences per forward).
 *
 * Evaluation (docs/tasks.md, "Retrieval recall"): every evaluation image
 * against every caption of the evaluation images, then
 * metric_retrieval_recall: IR and TR R@1/5/10 (x100), their mean, and the
 * ITM binary accuracy (per image, one true caption and one false caption
 * drawn with a fixed seed: correct when the true one scores higher).
 * eval_limit caps the number of images (the first ones of the split).
 *
 * Fusion scoring (ViLT's) runs the rank head on every pair: its cost is
 * quadratic in the images. With a shortlist of k (TaskEnv.shortlist, the
 * run's --shortlist) a first stage ranks every pair as ViLT does, with the
 * pretrained checkpoint's own model (its backbone, its ITM "match" row as
 * the rank head: the run's model before any training, identical for every
 * method and seed), cached in DATA/first_stage/ under a hash of that model
 * and of the evaluation set, so one run pays for it; the run's rank head
 * then scores each text's k best images (IR) and each image's k best texts
 * (TR), which rank above the rest of the pairs, those in first-stage order
 * (task_shortlist.h). The first stage's recall of the true match
 * (shortlist_ir_recall, shortlist_tr_recall) bounds every recall at
 * K <= k. (The ITC cosine of the backbone's unimodal pass, the dual
 * encoders' first stage, is too weak for it here: docs/tasks.md.)
 *
 * A trained model is evaluated with the scoring it was trained with (head
 * layout "scoring": "fusion" or "dual_rerank", and "shortlist"), whatever
 * its checkpoint holds.
 *
 * Dual encoder (VLMo-style models, whose unimodal pass is a dual encoder):
 * the first stage scores every pair by the cosine of the ITC projections
 * (itc.text_proj / itc.image_proj from the pretrained checkpoint, frozen)
 * of mean-pooled text and image features of one ATTN_SEPARATE pass per
 * text and image; the reported recalls (and itm_accuracy) are its; then the
 * rank head re-ranks each query's shortlist (k = 16 unless the run sets
 * one): rerank_ir_r1 ... rerank_recall_mean.
 * Training is the same rank loss either way.
 *
 * Files: DATA/annotations/karpathy_captions.json, images under DATA
 * (Karpathy filepath/filename); splits train (+ restval when present), val,
 * test. Predictions: <pred_path>.scores.tsv, the score matrix the recalls
 * were read from: a header row "image_id" then, per text column, the image
 * id the text belongs to; then one row per image: its image id and its
 * scores (float32, %.9g), so the recalls can be recomputed from the file
 * alone. A shortlist's IR and TR rank different matrices (a pair can be on
 * an image's list and not on its text's): .scores_ir.tsv gives the IR
 * recalls, .scores_tr.tsv the TR ones. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "io_checkpoint.h"
#include "metric_retrieval.h"
#include "model_dual_encoder.h"
#include "ops.h"
#include "task_common.h"
#include "task_shortlist.h"

enum { ITM_ACCURACY_SEED = 0x17, RERANK_K = 16 };

/* How the evaluation scores pairs. */
typedef enum {
    RET_FUSION = 0, /* the rank head on every pair, or on the pretrained model's shortlist */
    RET_DUAL_RERANK /* ITC cosine on every pair, reported; the rank head re-ranks its shortlist */
} RetMode;
/* the modes' names in a head layout */
static const char *const mode_names[] = {"fusion", "dual_rerank"};

typedef struct {
    int *img;          /* [n] indices into the Karpathy set */
    int n;
    TaskImages images; /* split image i is cache row images.slot[i] */
} RetSplit;

typedef struct {
    KarpathySet set;
    RetSplit train, val, eval;
    char eval_name[16];
    int n_caps;          /* training captions, flattened */
    int *cap_owner;      /* [n_caps] train split index of the caption's image */
    const char **cap;    /* [n_caps] caption text */
    Linear rank;
    Linear text_proj, image_proj; /* ITC projections (dual encoder), frozen */
    RetMode mode;
    int shortlist;       /* k of the first stage's lists; 0: none (fusion on every pair) */
    Model first;         /* fusion with a shortlist: the first stage, the pretrained checkpoint's
                          * backbone with its ITM "match" row as rank head */
    Linear first_rank;
    int have_first;      /* first is created (to free) */
    uint64_t first_key;  /* FNV-1a of first's parameters: names its cached scores */
    Sampler sampler;
    int B, K, M;         /* images per step, false captions per image, M = (1+K)B sequences */
    int *idx;            /* [B] training images of the batch */
    int *ids, *mask;     /* [M,Tt] */
    float *images;       /* [M,3,S,S] */
    int *targets;        /* [B] index of the true caption in each row of scores: 0 */
    float *scores, *probs, *dscores; /* [M] = [B,1+K] */
    float *dpooled;      /* [M,d] */
} RetState;

static const char *karpathy_splits_of(const char *split) {
    if (!strcmp(split, "train")) return "train,restval";
    if (!strcmp(split, "val")) return "val";
    if (!strcmp(split, "test")) return "test";
    return NULL;
}

static int split_load(RetState *s, RetSplit *sp, const TaskEnv *env, const char *split, int limit) {
    const char *names = karpathy_splits_of(split);
    if (!names) return err_set("retrieval: unknown split '%s' (train, val, test)", split);
    if (data_karpathy_select(&s->set, names, &sp->img, &sp->n) != 0) return -1;
    if (limit > 0 && sp->n > limit) sp->n = limit; /* the first images, a fixed subset */
    const char **paths = xcalloc(sp->n, sizeof(char *));
    for (int i = 0; i < sp->n; i++) paths[i] = s->set.images[sp->img[i]].path;
    int rc = task_images_load(&sp->images, paths, sp->n, env->image_size);
    free(paths);
    return rc;
}

static void index_train_captions(RetState *s) {
    for (int i = 0; i < s->train.n; i++) s->n_caps += s->set.images[s->train.img[i]].n_captions;
    s->cap_owner = xcalloc(s->n_caps, sizeof(int));
    s->cap = xcalloc(s->n_caps, sizeof(char *));
    int c = 0;
    for (int i = 0; i < s->train.n; i++) {
        const KarpathyImage *im = &s->set.images[s->train.img[i]];
        for (int k = 0; k < im->n_captions; k++, c++) s->cap_owner[c] = i, s->cap[c] = im->captions[k];
    }
}

static int ret_load(Task *t, const TaskEnv *env, const char *eval_split) {
    RetState *s = xcalloc(1, sizeof *s);
    t->state = s;
    if (data_karpathy_load_part(&s->set, env->data_dir, KARPATHY_CAPTIONS) != 0) return -1;
    int train = task_reads_split(env, "train", eval_split), val = task_reads_split(env, "val", eval_split);
    if ((train && split_load(s, &s->train, env, "train", 0) != 0) ||
        (val && split_load(s, &s->val, env, "val", env->eval_limit) != 0))
        return -1;
    if (train && s->train.n < 2)
        return err_set("%s: retrieval needs at least 2 training images (false captions)", s->set.file);
    snprintf(s->eval_name, sizeof s->eval_name, "%s", eval_split);
    if (strcmp(eval_split, "val") != 0 && split_load(s, &s->eval, env, eval_split, env->eval_limit) != 0) return -1;
    index_train_captions(s);
    s->B = env->batch;
    s->K = env->negatives > 0 ? env->negatives : 15;
    s->M = (1 + s->K) * s->B;
    size_t M = (size_t)s->M, S = (size_t)env->image_size, Tt = (size_t)env->max_text;
    s->idx = xcalloc(s->B, sizeof(int));
    s->ids = xcalloc(M * Tt, sizeof(int));
    s->mask = xcalloc(M * Tt, sizeof(int));
    s->images = xcalloc(M * 3 * S * S, sizeof(float));
    s->targets = xcalloc(s->B, sizeof(int));
    s->scores = xcalloc(M, sizeof(float));
    s->probs = xcalloc(M, sizeof(float));
    s->dscores = xcalloc(M, sizeof(float));
    return 0;
}

static int ret_max_sequences(const Task *t) { return ((RetState *)t->state)->M; }

static void ret_register_heads(Task *t, Params *p, int d) {
    RetState *s = t->state;
    linear_register(p, &s->rank, "rank_output", d, 1, PARAM_GROUP_HEAD);
    /* the pretraining group: loaded with the backbone, untouched by methods */
    linear_register(p, &s->text_proj, "itc.text_proj", d, d, PARAM_GROUP_PRETRAIN);
    linear_register(p, &s->image_proj, "itc.image_proj", d, d, PARAM_GROUP_PRETRAIN);
}

/* Dual encoder + re-ranking for models whose unimodal pass is a dual
 * encoder (Model.dual_encoder: vlmo), when the checkpoint has the ITC
 * projections. */
static RetMode choose_mode(Model *m, const StFile *init) {
    if (!m->dual_encoder) return RET_FUSION;
    if (!init || !safetensors_find(init, "itc.text_proj.weight") || !safetensors_find(init, "itc.image_proj.weight")) {
        fprintf(stderr, "retrieval: no ITC projections (itc.*_proj) in the init checkpoint: fusion scoring only\n");
        return RET_FUSION;
    }
    return RET_DUAL_RERANK;
}

/* rank (a rank head of m) <- itm_score.fc row 1 ("match"), as ViLT's irtr
 * fine-tuning does; 1 when copied, 0 when the checkpoint has no ITM head. */
static int init_from_itm(Model *m, const Linear *rank, const StFile *init) {
    if (!init || !safetensors_find(init, "itm_score.fc.weight") || !safetensors_find(init, "itm_score.fc.bias"))
        return 0;
    int d = m->d;
    float *w = xcalloc(2 * (size_t)d, sizeof(float)), b[2];
    int rc = safetensors_read_f32(init, "itm_score.fc.weight", w, 2, (int64_t[]){2, d});
    if (rc == 0) rc = safetensors_read_f32(init, "itm_score.fc.bias", b, 1, (int64_t[]){2});
    if (rc == 0) {
        memcpy(params_data(&m->params, rank->w), w + d, sizeof(float) * d);
        params_data(&m->params, rank->b)[0] = b[1];
    }
    free(w);
    return rc == 0 ? 1 : -1;
}

/* The scoring a trained model was trained with, from its head layout
 * ("shortlist" absent: none for fusion, RERANK_K for a dual encoder). */
static int mode_from_layout(RetState *s, const Model *m, const json_t *layout) {
    const char *name = json_string_value(json_object_get(layout, "scoring"));
    int k = 0, n = (int)(sizeof mode_names / sizeof mode_names[0]);
    while (name && k < n && strcmp(name, mode_names[k])) k++;
    if (!name || k == n)
        return err_set("retrieval: the head layout's scoring '%s' is none of fusion, dual_rerank",
                       name ? name : "(missing)");
    s->mode = (RetMode)k;
    if (s->mode == RET_DUAL_RERANK && !m->dual_encoder)
        return err_set("retrieval: dual_rerank scoring, but the %s model is no dual encoder", m->cfg.kind);
    const json_t *sl = json_object_get(layout, "shortlist");
    if (sl && (!json_is_integer(sl) || json_integer_value(sl) < 1 || json_integer_value(sl) > INT32_MAX))
        return err_set("retrieval: the head layout's shortlist is not a positive integer");
    s->shortlist = sl ? (int)json_integer_value(sl) : s->mode == RET_DUAL_RERANK ? RERANK_K : 0;
    return 0;
}

/* The first stage of fusion scoring with a shortlist: the pretrained
 * checkpoint init's backbone with its ITM "match" row as the rank head, a
 * model of its own (the run's holds a method's tensors, prompts among them,
 * from before the heads are set up), sized as the run's for the same
 * batches of pairs. */
static int first_stage_build(RetState *s, const Model *m, const StFile *init) {
    if (!init)
        return err_set("retrieval: a shortlist's first stage is the pretrained checkpoint's model, and there is "
                       "none (moil finetune: --init; moil eval: the backbone its run config names, unchanged)");
    if (model_create(&s->first, &m->cfg) != 0) return -1;
    s->have_first = 1;
    linear_register(&s->first.params, &s->first_rank, "rank_output", m->d, 1, PARAM_GROUP_HEAD);
    Rng rng; /* every weight is then read from the checkpoint */
    rng_seed(&rng, 0);
    model_finish_eval(&s->first, s->M, &rng);
    if (checkpoint_load_file(init, &s->first.params, 1u << PARAM_GROUP_BACKBONE, 1) != 0) return -1;
    int r = init_from_itm(&s->first, &s->first_rank, init);
    if (r == 0) return err_set("retrieval: %s has no ITM head (itm_score.fc): no first stage for a shortlist", init->path);
    s->first_key = fnv1a_update(FNV1A_INIT, s->first.params.data, s->first.params.total * sizeof(float));
    return r < 0 ? -1 : 0;
}

static int ret_init_heads(Task *t, Model *m, Rng *rng, const StFile *init) {
    RetState *s = t->state;
    linear_init(&m->params, &s->rank, rng);
    /* The ITC projections never train: dual-encoder scoring uses them as
     * pretrained, fusion scoring not at all; so no method counts them as
     * trained or stored. */
    const Linear *lins[2] = {&s->text_proj, &s->image_proj};
    for (int i = 0; i < 2; i++) m->params.info[lins[i]->w].trainable = m->params.info[lins[i]->b].trainable = 0;
    if (t->env.head_layout) { /* init: the checkpoint evaluated */
        if (mode_from_layout(s, m, t->env.head_layout) != 0) return -1;
        if (s->mode == RET_DUAL_RERANK && (!init || !safetensors_find(init, "itc.text_proj.weight") ||
                                           !safetensors_find(init, "itc.image_proj.weight")))
            return err_set("retrieval: dual_rerank scoring, but %s has no ITC projections (itc.*_proj)",
                           init ? init->path : "the checkpoint");
    } else {
        int r = init_from_itm(m, &s->rank, init);
        if (r < 0) return -1;
        if (r == 0 && init)
            fprintf(stderr, "retrieval: %s has no ITM head (itm_score.fc): rank head randomly initialised\n",
                    init->path);
        else if (r == 0)
            fprintf(stderr, "retrieval: no init checkpoint: rank head randomly initialised\n");
        s->mode = choose_mode(m, init);
        s->shortlist = t->env.shortlist > 0 ? t->env.shortlist : s->mode == RET_DUAL_RERANK ? RERANK_K : 0;
    }
    if (s->mode == RET_FUSION && s->shortlist > 0 &&
        first_stage_build(s, m, t->env.head_layout ? t->env.pretrained : init) != 0)
        return -1;
    sampler_init(&s->sampler, s->train.n);
    s->dpooled = xcalloc((size_t)s->M * m->d, sizeof(float));
    return 0;
}

static void put_text(RetState *s, const TaskEnv *env, int row, const char *text) {
    size_t Tt = (size_t)env->max_text;
    task_encode_text(env->tok, text, env->max_text, s->ids + row * Tt, s->mask + row * Tt);
}

/* Rows b(1+K) .. b(1+K)+K: image i of the training split with its true
 * caption first, then K false ones. */
static void fill_group(RetState *s, const TaskEnv *env, int b, int i, Rng *rng) {
    const KarpathyImage *im = &s->set.images[s->train.img[i]];
    int row = b * (1 + s->K);
    size_t pix = (size_t)3 * env->image_size * env->image_size;
    put_text(s, env, row, im->captions[rng_below(rng, (uint32_t)im->n_captions)]);
    for (int k = 1; k <= s->K; k++) {
        int c;
        do c = (int)rng_below(rng, (uint32_t)s->n_caps);
        while (s->cap_owner[c] == i);
        put_text(s, env, row + k, s->cap[c]);
    }
    float *first = s->images + row * pix;
    task_image_to_input(image_cache_get(&s->train.images.cache, s->train.images.slot[i]), env->image_size, first);
    for (int k = 1; k <= s->K; k++) memcpy(first + k * pix, first, pix * sizeof(float));
}

static int int_cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static double ret_train_step(Task *t, Model *m, Rng *rng) {
    RetState *s = t->state;
    int *idx = s->idx;
    for (int b = 0; b < s->B; b++) idx[b] = sampler_next(&s->sampler, rng);
    /* the batch is a set: in sorted order the same images and rng state
     * draw the same false captions, whatever order the sampler gave */
    qsort(idx, s->B, sizeof(int), int_cmp);
    for (int b = 0; b < s->B; b++) fill_group(s, &t->env, b, idx[b], rng);
    ModelInput in = {.B = s->M, .text_ids = s->ids, .text_mask = s->mask, .images = s->images};
    if (model_forward(m, &in) != 0) return NAN;
    layer_linear_forward(&m->params, &s->rank, s->scores, m->pooled, s->M);
    int count, V = 1 + s->K;
    double loss = crossentropy_forward(s->probs, s->scores, s->targets, s->B, V, -1, &count);
    memset(s->dscores, 0, sizeof(float) * s->M);
    crossentropy_backward(s->dscores, s->probs, s->targets, s->B, V, -1, count, 1.0f);
    memset(s->dpooled, 0, sizeof(float) * s->M * m->d);
    layer_linear_backward(&m->params, &s->rank, s->dpooled, s->dscores, m->pooled, s->M);
    model_backward(m, &in, NULL, s->dpooled);
    return loss;
}

/* The texts of a split's images, enumerated image by image. */
typedef struct {
    int n_img, n_txt;
    int64_t *iids, *tiids; /* [n_img], [n_txt] */
    int *first;            /* [n_img + 1] first text of each image */
    int *ids, *mask;       /* [n_txt,Tt] encoded */
    float *chw;            /* [n_img,3,S,S] */
} EvalSet;

static void eval_set_build(EvalSet *e, const RetState *s, const RetSplit *sp, const TaskEnv *env) {
    size_t Tt = (size_t)env->max_text, pix = (size_t)3 * env->image_size * env->image_size;
    e->n_img = sp->n;
    e->n_txt = 0;
    for (int i = 0; i < sp->n; i++) e->n_txt += s->set.images[sp->img[i]].n_captions;
    e->iids = xcalloc(e->n_img, sizeof(int64_t));
    e->tiids = xcalloc(e->n_txt, sizeof(int64_t));
    e->first = xcalloc(e->n_img + 1, sizeof(int));
    e->ids = xcalloc(e->n_txt * Tt, sizeof(int));
    e->mask = xcalloc(e->n_txt * Tt, sizeof(int));
    e->chw = xcalloc(e->n_img * pix, sizeof(float));
    int t = 0;
    for (int i = 0; i < sp->n; i++) {
        const KarpathyImage *im = &s->set.images[sp->img[i]];
        e->iids[i] = im->image_id;
        e->first[i] = t;
        for (int k = 0; k < im->n_captions; k++, t++) {
            e->tiids[t] = im->image_id;
            task_encode_text(env->tok, im->captions[k], env->max_text, e->ids + t * Tt, e->mask + t * Tt);
        }
        task_image_to_input(image_cache_get(&sp->images.cache, sp->images.slot[i]), env->image_size,
                            e->chw + i * pix);
    }
    e->first[sp->n] = t;
}

static void eval_set_free(EvalSet *e) {
    free(e->iids), free(e->tiids), free(e->first), free(e->ids), free(e->mask), free(e->chw);
}

/* Scores of pairs by the rank head rank of model m, in chunks of M:
 * scores[p] for p in pairs[0..n) (pair p = image p / n_txt, text p % n_txt),
 * or for every pair when pairs is NULL (scores[n_img * n_txt], row-major). */
static int score_pairs(RetState *s, Model *m, const Linear *rank, const TaskEnv *env, const EvalSet *e,
                       const size_t *pairs, size_t n_pairs, float *scores) {
    size_t Tt = (size_t)env->max_text, pix = (size_t)3 * env->image_size * env->image_size;
    size_t total = pairs ? n_pairs : (size_t)e->n_img * e->n_txt;
    double t0 = time_now_s(), last = t0;
    for (size_t start = 0; start < total; start += (size_t)s->M) {
        int n = total - start < (size_t)s->M ? (int)(total - start) : s->M;
        for (int r = 0; r < n; r++) {
            size_t p = pairs ? pairs[start + r] : start + r, i = p / e->n_txt, t = p % e->n_txt;
            memcpy(s->ids + r * Tt, e->ids + t * Tt, Tt * sizeof(int));
            memcpy(s->mask + r * Tt, e->mask + t * Tt, Tt * sizeof(int));
            memcpy(s->images + r * pix, e->chw + i * pix, pix * sizeof(float));
        }
        ModelInput in = {.B = n, .text_ids = s->ids, .text_mask = s->mask, .images = s->images};
        if (model_forward(m, &in) != 0) return -1;
        layer_linear_forward(&m->params, rank, s->scores, m->pooled, n);
        for (int r = 0; r < n; r++) scores[pairs ? pairs[start + r] : start + r] = s->scores[r];
        double now = time_now_s();
        if (now - last > 2.0) {
            double done = (double)(start + n) / total;
            fprintf(stderr, "\r  retrieval: scored %zu/%zu pairs, ETA %.0fs   ", start + n, total,
                    (now - t0) * (1 - done) / done);
            last = now;
        }
    }
    double secs = time_now_s() - t0;
    fprintf(stderr, "%sretrieval: scored %zu pairs of %d images x %d texts in %.1fs (%.0f pairs/s)\n",
            last > t0 ? "\n" : "", total, e->n_img, e->n_txt, secs, total / (secs > 0 ? secs : 1e-9));
    return 0;
}

/* Dual-encoder scores[n_img * n_txt]: cosine of the unit ITC embeddings.
 * One unimodal pass of M sequences embeds texts r and images r together
 * (the pass keeps them apart). */
static int score_dual(RetState *s, Model *m, const TaskEnv *env, const EvalSet *e, float *scores) {
    size_t Tt = (size_t)env->max_text, pix = (size_t)3 * env->image_size * env->image_size, C = (size_t)m->d;
    int n_all = e->n_img > e->n_txt ? e->n_img : e->n_txt;
    float *ut = xcalloc((size_t)e->n_txt * C, sizeof(float)), *uv = xcalloc((size_t)e->n_img * C, sizeof(float));
    float *tf = xcalloc((size_t)s->M * C, sizeof(float)), *vf = xcalloc((size_t)s->M * C, sizeof(float));
    float *z = xcalloc((size_t)s->M * C, sizeof(float));
    int rc = 0;
    for (int start = 0; start < n_all && rc == 0; start += s->M) {
        int n = n_all - start < s->M ? n_all - start : s->M;
        for (int r = 0; r < n; r++) {
            int t = (start + r) % e->n_txt, i = (start + r) % e->n_img;
            memcpy(s->ids + r * Tt, e->ids + t * Tt, Tt * sizeof(int));
            memcpy(s->mask + r * Tt, e->mask + t * Tt, Tt * sizeof(int));
            memcpy(s->images + r * pix, e->chw + i * pix, pix * sizeof(float));
        }
        ModelInput in = {.B = n, .text_ids = s->ids, .text_mask = s->mask, .images = s->images,
                         .attn_mode = ATTN_SEPARATE};
        rc = model_forward(m, &in);
        if (rc != 0) break;
        dual_encoder_pool(m, s->mask, n, tf, vf);
        int nt = start < e->n_txt ? (e->n_txt - start < n ? e->n_txt - start : n) : 0;
        int ni = start < e->n_img ? (e->n_img - start < n ? e->n_img - start : n) : 0;
        layer_linear_forward(&m->params, &s->text_proj, z, tf, nt);
        dual_encoder_normalize(ut + start * C, z, nt, (int)C);
        layer_linear_forward(&m->params, &s->image_proj, z, vf, ni);
        dual_encoder_normalize(uv + start * C, z, ni, (int)C);
    }
    for (int i = 0; i < e->n_img && rc == 0; i++)
        for (int t = 0; t < e->n_txt; t++) {
            double d = 0;
            for (size_t c = 0; c < C; c++) d += (double)uv[i * C + c] * ut[t * C + c];
            scores[(size_t)i * e->n_txt + t] = (float)d;
        }
    free(ut), free(uv), free(tf), free(vf), free(z);
    return rc;
}

/* The first stage of fusion scoring, scores[n_img * n_txt]: the cached
 * ones of this first-stage model and evaluation set when
 * DATA/first_stage/<hash>.f32 holds them, else computed with the first
 * model and cached (a cache that cannot be written is only reported). */
static int first_stage_scores(RetState *s, const TaskEnv *env, const EvalSet *e, float *scores) {
    size_t Tt = (size_t)env->max_text, pix = (size_t)3 * env->image_size * env->image_size;
    uint64_t h = fnv1a_update(s->first_key, &e->n_img, sizeof e->n_img);
    h = fnv1a_update(h, &e->n_txt, sizeof e->n_txt);
    h = fnv1a_update(h, e->iids, sizeof(int64_t) * e->n_img);
    h = fnv1a_update(h, e->tiids, sizeof(int64_t) * e->n_txt);
    h = fnv1a_update(h, e->ids, sizeof(int) * Tt * e->n_txt);
    h = fnv1a_update(h, e->mask, sizeof(int) * Tt * e->n_txt);
    h = fnv1a_update(h, e->chw, sizeof(float) * pix * e->n_img);
    char dir[LAYOUT_PATH_MAX], path[LAYOUT_PATH_MAX];
    shortlist_cache_path(dir, path, sizeof path, env->data_dir, h);
    int found = shortlist_cache_read(path, e->n_img, e->n_txt, scores);
    if (found != 0) return found < 0 ? -1 : 0;
    fprintf(stderr, "retrieval: first stage (the pretrained model on every pair) into %s\n", path);
    if (score_pairs(s, &s->first, &s->first_rank, env, e, NULL, 0, scores) != 0) return -1;
    if (dir_make(dir) != 0 || shortlist_cache_write(path, e->n_img, e->n_txt, scores) != 0)
        fprintf(stderr, "retrieval: the first stage is not cached: %s\n", err_msg());
    return 0;
}

/* The item scores <prefix>ir_rank (per text, id "<image id>:<caption
 * index>") from ir_scores and <prefix>tr_rank (per image, its id) from
 * tr_scores ([n_img * n_txt] each), when out keeps item scores. */
static int add_ranks(MetricList *out, const char *prefix, const EvalSet *e, const float *ir_scores,
                     const float *tr_scores) {
    if (!out->want_items) return 0;
    double *ir = xcalloc((size_t)e->n_txt, sizeof *ir), *tr = xcalloc((size_t)e->n_img, sizeof *tr);
    int rc = metric_retrieval_ranks(ir_scores, e->n_img, e->n_txt, e->iids, e->tiids, ir, NULL);
    if (rc == 0) rc = metric_retrieval_ranks(tr_scores, e->n_img, e->n_txt, e->iids, e->tiids, NULL, tr);
    if (rc == 0) {
        char *text = xcalloc((size_t)e->n_txt, 48);
        const char **ids = xcalloc((size_t)e->n_txt, sizeof *ids);
        for (int i = 0; i < e->n_img; i++)
            for (int t = e->first[i]; t < e->first[i + 1]; t++) {
                snprintf(text + (size_t)t * 48, 48, "%lld:%d", (long long)e->iids[i], t - e->first[i]);
                ids[t] = text + (size_t)t * 48;
            }
        char name[METRIC_NAME_MAX];
        snprintf(name, sizeof name, "%sir_rank", prefix);
        task_items_add(out, name, e->n_txt, ids, ir);
        snprintf(name, sizeof name, "%str_rank", prefix);
        task_items_add_int(out, name, e->n_img, e->iids, tr);
        free(text), free(ids);
    }
    free(ir), free(tr);
    return rc;
}

/* The rank head on the pairs of the shortlist and on the ITM pairs
 * (itm[2 n_img], NULL: none): fused[p] for those pairs (the others untouched); ir[p] =
 * fused[p] where image i is on text t's list, tr[p] = fused[p] where text t
 * is on image i's list, and every other pair below all listed ones, in
 * first-stage order: lo - (max first - first[p]), lo under the lowest fused
 * score. *n_scored: the pairs run through the model. */
static int rerank(RetState *s, Model *m, const TaskEnv *env, const EvalSet *e, const float *first,
                  const Shortlist *sl, const int *itm, float *fused, float *ir, float *tr, size_t *n_scored) {
    size_t n = (size_t)e->n_img * e->n_txt, nt = (size_t)e->n_txt;
    unsigned char *need = xcalloc(n, 1);
    for (size_t t = 0; t < nt; t++)
        for (int j = 0; j < sl->k_img; j++) need[(size_t)sl->img_of_txt[t * sl->k_img + j] * nt + t] = 1;
    for (int i = 0; i < e->n_img; i++) {
        for (int j = 0; j < sl->k_txt; j++) need[i * nt + sl->txt_of_img[(size_t)i * sl->k_txt + j]] = 1;
        if (itm) need[i * nt + itm[2 * i]] = need[i * nt + itm[2 * i + 1]] = 1;
    }
    size_t n_pairs = 0;
    for (size_t p = 0; p < n; p++) n_pairs += need[p];
    size_t *pairs = xcalloc(n_pairs, sizeof(size_t));
    for (size_t p = 0, q = 0; p < n; p++)
        if (need[p]) pairs[q++] = p;
    int rc = score_pairs(s, m, &s->rank, env, e, pairs, n_pairs, fused);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t q = 0; q < n_pairs; q++) lo = fused[pairs[q]] < lo ? fused[pairs[q]] : lo;
    for (size_t p = 0; p < n; p++) hi = first[p] > hi ? first[p] : hi;
    for (size_t p = 0; p < n; p++) ir[p] = tr[p] = (lo - 1) - (hi - first[p]);
    for (size_t t = 0; t < nt; t++)
        for (int j = 0; j < sl->k_img; j++) {
            size_t p = (size_t)sl->img_of_txt[t * sl->k_img + j] * nt + t;
            ir[p] = fused[p];
        }
    for (int i = 0; i < e->n_img; i++)
        for (int j = 0; j < sl->k_txt; j++) {
            size_t p = i * nt + sl->txt_of_img[(size_t)i * sl->k_txt + j];
            tr[p] = fused[p];
        }
    *n_scored = n_pairs;
    free(need), free(pairs);
    return rc;
}

/* IR recalls from ir, TR recalls from tr (one matrix when both are it). */
static int recall_of(const EvalSet *e, const float *ir, const float *tr, IrtrRecall *out) {
    IrtrRecall b;
    int rc = metric_retrieval_recall(ir, e->n_img, e->n_txt, e->iids, e->tiids, out);
    if (rc == 0 && tr != ir) rc = metric_retrieval_recall(tr, e->n_img, e->n_txt, e->iids, e->tiids, &b);
    if (rc == 0 && tr != ir) {
        out->tr_r1 = b.tr_r1, out->tr_r5 = b.tr_r5, out->tr_r10 = b.tr_r10;
        out->ties_tr = b.ties_tr;
        out->ties = out->ties_ir + out->ties_tr;
    }
    return rc;
}

/* Per image: its true caption and one false caption, drawn with a fixed
 * seed: pairs[2i] the true text, pairs[2i + 1] the false one. */
static int *itm_pairs(const EvalSet *e) {
    Rng rng;
    rng_seed(&rng, ITM_ACCURACY_SEED);
    int *pairs = xcalloc(2 * (size_t)e->n_img, sizeof(int));
    for (int i = 0; i < e->n_img; i++) {
        int nc = e->first[i + 1] - e->first[i], f;
        pairs[2 * i] = e->first[i] + (int)rng_below(&rng, (uint32_t)nc);
        do f = (int)rng_below(&rng, (uint32_t)e->n_txt);
        while (e->tiids[f] == e->iids[i]);
        pairs[2 * i + 1] = f;
    }
    return pairs;
}

/* The fraction (x100) of images whose true caption of itm_pairs scores
 * higher than the false one. */
static double itm_accuracy(const EvalSet *e, const int *pairs, const float *scores) {
    int correct = 0;
    for (int i = 0; i < e->n_img; i++) {
        const float *row = scores + (size_t)i * e->n_txt;
        correct += row[pairs[2 * i]] > row[pairs[2 * i + 1]];
    }
    return 100.0 * correct / e->n_img;
}

static int write_scores(const char *pred_path, const char *suffix, const EvalSet *e, const float *scores) {
    char path[1100];
    snprintf(path, sizeof path, "%s%s", pred_path, suffix);
    size_t cap = 32 + ((size_t)e->n_img + 1) * ((size_t)e->n_txt + 1) * 24, o = 0;
    char *buf = xmalloc(cap);
    o += (size_t)sprintf(buf + o, "image_id");
    for (int t = 0; t < e->n_txt; t++) o += (size_t)sprintf(buf + o, "\t%lld", (long long)e->tiids[t]);
    buf[o++] = '\n';
    for (int i = 0; i < e->n_img; i++) {
        o += (size_t)sprintf(buf + o, "%lld", (long long)e->iids[i]);
        const float *row = scores + (size_t)i * e->n_txt;
        for (int t = 0; t < e->n_txt; t++) o += (size_t)sprintf(buf + o, "\t%.9g", (double)row[t]);
        buf[o++] = '\n';
    }
    int rc = file_write_atomic(path, buf, o);
    free(buf);
    return rc;
}

/* <prefix>ir_r1 ... <prefix>tr_r10 (x100) and <prefix>recall_mean. */
static void add_recalls(MetricList *out, const char *prefix, const IrtrRecall *r) {
    const float v[6] = {r->ir_r1, r->ir_r5, r->ir_r10, r->tr_r1, r->tr_r5, r->tr_r10};
    const char *names[7] = {"ir_r1", "ir_r5", "ir_r10", "tr_r1", "tr_r5", "tr_r10", "recall_mean"};
    char name[METRIC_NAME_MAX];
    double mean = 0;
    for (int k = 0; k < 6; k++) {
        snprintf(name, sizeof name, "%s%s", prefix, names[k]);
        task_metrics_add(out, name, 100.0 * v[k]);
        mean += 100.0 * v[k] / 6;
    }
    snprintf(name, sizeof name, "%s%s", prefix, names[6]);
    task_metrics_add(out, name, mean);
}

/* The matrices of one evaluation, [n_img * n_txt] each. */
typedef struct {
    float *first;   /* with a shortlist, the first stage: the pretrained model's rank scores
                     * (fusion) or the ITC cosine (dual encoder) */
    float *fused;   /* the rank head's scores: of every pair, or of the shortlisted pairs (and,
                     * for fusion, the ITM accuracy's) */
    float *ir, *tr; /* a shortlist re-ranked (rerank) */
} RetScores;

static int ret_evaluate(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    RetState *s = t->state;
    const RetSplit *sp = !strcmp(split, "val") ? &s->val : !strcmp(split, s->eval_name) ? &s->eval : NULL;
    if (!sp || !sp->img) return err_set("retrieval: split '%s' was not loaded", split);
    EvalSet e;
    eval_set_build(&e, s, sp, &t->env);
    size_t n = (size_t)e.n_img * e.n_txt, scored = n;
    int k = s->shortlist, dual = s->mode == RET_DUAL_RERANK, *itm = itm_pairs(&e);
    RetScores sc = {NULL, xcalloc(n, sizeof(float)), NULL, NULL};
    Shortlist sl = {0};
    double ir_in = 0, tr_in = 0;
    int rc = 0;
    if (k > 0) {
        sc.first = xcalloc(n, sizeof(float));
        sc.ir = xcalloc(n, sizeof(float));
        sc.tr = xcalloc(n, sizeof(float));
        rc = dual ? score_dual(s, m, &t->env, &e, sc.first) : first_stage_scores(s, &t->env, &e, sc.first);
        if (rc == 0) rc = shortlist_build(&sl, sc.first, e.n_img, e.n_txt, k);
        if (rc == 0) shortlist_recall(&sl, e.n_img, e.n_txt, e.iids, e.tiids, &ir_in, &tr_in);
        if (rc == 0) rc = rerank(s, m, &t->env, &e, sc.first, &sl, dual ? NULL : itm, sc.fused, sc.ir, sc.tr, &scored);
    } else {
        rc = score_pairs(s, m, &s->rank, &t->env, &e, NULL, 0, sc.fused);
    }
    /* reported: a dual encoder's first stage; else the rank head's ranking */
    const float *rep_ir = dual ? sc.first : k > 0 ? sc.ir : sc.fused, *rep_tr = dual ? sc.first : k > 0 ? sc.tr : sc.fused;
    IrtrRecall r, rr;
    if (rc == 0) rc = recall_of(&e, rep_ir, rep_tr, &r);
    if (rc == 0 && dual) rc = recall_of(&e, sc.ir, sc.tr, &rr);
    if (rc == 0) {
        add_recalls(out, "", &r);
        task_metrics_add(out, "itm_accuracy", itm_accuracy(&e, itm, dual ? sc.first : sc.fused));
        task_metrics_add(out, "images", e.n_img);
        task_metrics_add(out, "texts", e.n_txt);
        task_metrics_add(out, "score_ties", (double)r.ties);
        task_metrics_add(out, "pairs_scored", (double)scored);
        if (dual) add_recalls(out, "rerank_", &rr);
        if (k > 0) {
            task_metrics_add(out, "shortlist", k);
            task_metrics_add(out, "shortlist_ir_recall", 100.0 * ir_in);
            task_metrics_add(out, "shortlist_tr_recall", 100.0 * tr_in);
        }
        rc = add_ranks(out, "", &e, rep_ir, rep_tr);
        if (rc == 0 && dual) rc = add_ranks(out, "rerank_", &e, sc.ir, sc.tr);
    }
    if (rc == 0 && pred_path)
        rc = rep_ir == rep_tr ? write_scores(pred_path, ".scores.tsv", &e, rep_ir)
                              : write_scores(pred_path, ".scores_ir.tsv", &e, rep_ir) ||
                                    write_scores(pred_path, ".scores_tr.tsv", &e, rep_tr)
                                    ? -1
                                    : 0;
    free(sc.first), free(sc.fused), free(sc.ir), free(sc.tr), free(itm);
    shortlist_free(&sl);
    eval_set_free(&e);
    return rc;
}

static void split_free(RetSplit *sp) {
    free(sp->img);
    task_images_free(&sp->images);
}

static int ret_describe_heads(const Task *t, json_t *layout) {
    const RetState *s = t->state;
    int rc = json_object_set_new(layout, "scoring", json_string(mode_names[s->mode]));
    if (rc == 0 && s->shortlist > 0) rc = json_object_set_new(layout, "shortlist", json_integer(s->shortlist));
    return rc == 0 ? 0 : err_set("retrieval: cannot record the scoring");
}

static void ret_destroy(Task *t) {
    RetState *s = t->state;
    if (!s) return;
    split_free(&s->train), split_free(&s->val), split_free(&s->eval);
    data_karpathy_free(&s->set);
    sampler_free(&s->sampler);
    free(s->cap_owner), free(s->cap);
    free(s->idx), free(s->ids), free(s->mask), free(s->images), free(s->targets);
    free(s->scores), free(s->probs), free(s->dscores), free(s->dpooled);
    if (s->have_first) model_free(&s->first);
    free(s);
}

const TaskOps task_retrieval = {
    .name = "retrieval",
    .summary = "rank head from ITM 'match', 1 true + K false captions per image (--batch counts images: "
               "try 8); IR/TR R@1/5/10 of every pair, or of a first-stage shortlist re-ranked (--shortlist K) (vlmo: "
               "dual-encoder ITC scores, plus rank-head re-ranking of its top 16, or of its top K with --shortlist K)",
    .primary_metric = "recall_mean",
    .head_lr_mult = 1.0f,
    .load = ret_load,
    .max_sequences = ret_max_sequences,
    .register_heads = ret_register_heads,
    .init_heads = ret_init_heads,
    .train_step = ret_train_step,
    .evaluate = ret_evaluate,
    .describe_heads = ret_describe_heads,
    .destroy = ret_destroy,
};
