/* NLVR2 with ViLT's "pair" method (objectives.py compute_nlvr2): each
 * example runs twice through the model in one forward of 2B sequences, the
 * sentence with the left image (image type id 1, rows [0,B)) and with the
 * right image (type id 2, rows [B,2B)); the two pooled [CLS] vectors are
 * concatenated [B,2d] -> Linear(2d, 2d), LayerNorm, GELU, Linear(2d, 2)
 * (nlvr2_classifier; its learning rate at 1x, as ViLT trains NLVR2) -> softmax
 * cross-entropy against the label (1 = "True"). The token-type table's row
 * 2 starts as a copy of row 1, as ViLT does when it extends the table for
 * NLVR2.
 *
 * Files (NLVR2 layout, docs/formats.md "NLVR2"): DATA/nlvr/{train,dev,test1}
 * .json JSON lines, images under DATA/nlvr/images. Split "val" = dev, "test" = test1
 * ("dev", "test1", "test2" are accepted as named). Evaluation: accuracy and
 * consistency (x100) as the official metrics.py computes them, from
 * predictions written as the official CSV to <pred_path>.csv.
 *
 * Models that read image ids (Model.reads_image_ids: vinvl, for its cached
 * regions) find each image by its id: the ids come from
 * DATA/annotations/instances_nlvr_{train,dev,test1}.json (COCO images[] with
 * file_name relative to nlvr/images), read only for such a model; without
 * the file it is an error naming it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data_layout.h"
#include "data_nlvr.h"
#include "metric_nlvr.h"
#include "nn_head_mlp.h"
#include "ops.h"
#include "task_common.h"

typedef struct {
    NlvrSet set;
    int n;             /* examples used: the first n of set (eval_limit) */
    TaskImages images; /* example i: left image slot[2i], right image slot[2i+1] */
    const char *file;  /* "train", "dev", "test1" or "test2" */
    int64_t *iids;     /* [2n] image ids, same order; NULL unless the model reads image ids */
} NlvrSplit;

typedef struct {
    NlvrSplit train, val, eval;
    char eval_name[16];
    HeadMlp head;
    Sampler sampler;
    int B;
    int *idx;                /* [B] examples of the batch */
    int *ids, *mask, *types; /* [2B,Tt] x2, [2B] */
    int64_t *iids;           /* [2B] image ids (models reading image ids) */
    float *images;           /* [2B,3,S,S] */
    int *labels;             /* [B] */
    float *pair, *dpair;     /* [B,2d] */
    float *probs, *dlogits;  /* [B,2] */
    float *dpooled;          /* [2B,d] */
} NlvrState;

static const char *file_of(const char *split) {
    if (!strcmp(split, "train")) return "train";
    if (!strcmp(split, "val") || !strcmp(split, "dev")) return "dev";
    if (!strcmp(split, "test") || !strcmp(split, "test1")) return "test1";
    if (!strcmp(split, "test2")) return "test2";
    return NULL;
}

static int split_load(NlvrSplit *sp, const TaskEnv *env, const char *split, int limit) {
    const char *file = file_of(split);
    if (!file) return err_set("nlvr: unknown split '%s' (train, val = dev, test = test1, test2)", split);
    sp->file = file;
    DataLayout *l = xmalloc(sizeof *l);
    int k = data_layout_nlvr_split(file), rc = data_layout_read(l, env->data_dir);
    if (rc == 0) rc = data_nlvr_load(&sp->set, l->nlvr[k].path, l->nlvr_images[k].path);
    free(l);
    if (rc != 0) return -1;
    sp->n = limit > 0 && sp->set.n > limit ? limit : sp->set.n; /* the first lines, a fixed subset */
    int n = sp->n;
    const char **paths = xcalloc(2 * (size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) paths[2 * i] = sp->set.ex[i].left, paths[2 * i + 1] = sp->set.ex[i].right;
    rc = task_images_load(&sp->images, paths, 2 * n, env->image_size);
    free(paths);
    return rc;
}

/* sp->iids from the split's instances file, for a model (kind) reading
 * image ids. */
static int split_image_ids(NlvrSplit *sp, const TaskEnv *env, const char *kind) {
    char inst[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX];
    data_layout_nlvr_instances(inst, env->data_dir, sp->file);
    data_layout_nlvr_images(dir, env->data_dir);
    if (access(inst, F_OK) != 0)
        return err_set("nlvr: the %s model reads each image by its image id; %s (the ids of %s's images) "
                       "is missing", kind, inst, sp->set.file);
    sp->iids = xcalloc(2 * (size_t)sp->n, sizeof(int64_t));
    return data_nlvr_image_ids(&sp->set, sp->n, inst, dir, sp->iids);
}

static int nlvr_task_load(Task *t, const TaskEnv *env, const char *eval_split) {
    NlvrState *s = xcalloc(1, sizeof *s);
    t->state = s;
    int train = task_reads_split(env, "train", eval_split), val = task_reads_split(env, "val", eval_split);
    if ((train && split_load(&s->train, env, "train", 0) != 0) ||
        (val && split_load(&s->val, env, "val", env->eval_limit) != 0))
        return -1;
    snprintf(s->eval_name, sizeof s->eval_name, "%s", eval_split);
    if (strcmp(eval_split, "val") != 0 && split_load(&s->eval, env, eval_split, env->eval_limit) != 0) return -1;
    s->B = env->batch;
    size_t B = (size_t)s->B, S = (size_t)env->image_size, Tt = (size_t)env->max_text;
    s->idx = xcalloc(B, sizeof(int));
    s->ids = xcalloc(2 * B * Tt, sizeof(int));
    s->mask = xcalloc(2 * B * Tt, sizeof(int));
    s->types = xcalloc(2 * B, sizeof(int));
    s->iids = xcalloc(2 * B, sizeof(int64_t));
    s->images = xcalloc(2 * B * 3 * S * S, sizeof(float));
    s->labels = xcalloc(B, sizeof(int));
    s->probs = xcalloc(2 * B, sizeof(float));
    s->dlogits = xcalloc(2 * B, sizeof(float));
    return 0;
}

static int nlvr_max_sequences(const Task *t) { return 2 * ((NlvrState *)t->state)->B; }

static void nlvr_register_heads(Task *t, Params *p, int d) {
    NlvrState *s = t->state;
    head_mlp_register(&s->head, p, "nlvr2_classifier", 2 * d, 2 * d, 2);
}

static int nlvr_init_heads(Task *t, Model *m, Rng *rng, const StFile *init) {
    (void)init;
    NlvrState *s = t->state;
    NlvrSplit *splits[3] = {&s->train, &s->val, s->eval.n ? &s->eval : NULL};
    for (int i = 0; i < 3 && m->reads_image_ids; i++)
        if (splits[i] && splits[i]->file && split_image_ids(splits[i], &t->env, m->cfg.kind) != 0) return -1;
    int te = params_find(&m->params, "token_type_embeddings.weight");
    if (te < 0 || m->params.info[te].shape[0] < 3)
        return err_set("nlvr: the model has no third token type (token_type_embeddings needs 3 rows)");
    float *rows = params_data(&m->params, te);
    memcpy(rows + 2 * m->d, rows + m->d, sizeof(float) * m->d);
    head_mlp_init(&s->head, &m->params, rng, s->B);
    sampler_init(&s->sampler, s->train.n);
    size_t B = (size_t)s->B, d = (size_t)m->d;
    s->pair = xcalloc(B * 2 * d, sizeof(float));
    s->dpair = xcalloc(B * 2 * d, sizeof(float));
    s->dpooled = xcalloc(2 * B * d, sizeof(float));
    return 0;
}

/* Rows b (left, type 1) and B + b (right, type 2) for examples idx[0..B). */
static void fill_batch(NlvrState *s, const TaskEnv *env, const NlvrSplit *sp, const int *idx, int B, ModelInput *in) {
    size_t Tt = (size_t)env->max_text, pix = (size_t)3 * env->image_size * env->image_size;
    for (int b = 0; b < B; b++) {
        const NlvrExample *ex = &sp->set.ex[idx[b]];
        task_encode_text(env->tok, ex->sentence, env->max_text, s->ids + b * Tt, s->mask + b * Tt);
        memcpy(s->ids + (B + b) * Tt, s->ids + b * Tt, Tt * sizeof(int));
        memcpy(s->mask + (B + b) * Tt, s->mask + b * Tt, Tt * sizeof(int));
        for (int side = 0; side < 2; side++) {
            int row = side * B + b;
            s->types[row] = 1 + side;
            s->iids[row] = sp->iids ? sp->iids[2 * idx[b] + side] : 0;
            task_image_to_input(image_cache_get(&sp->images.cache, sp->images.slot[2 * idx[b] + side]),
                                env->image_size, s->images + row * pix);
        }
        s->labels[b] = ex->label;
    }
    ModelInput mi = {.B = 2 * B, .text_ids = s->ids, .text_mask = s->mask, .images = s->images,
                     .image_type = s->types, .image_ids = sp->iids ? s->iids : NULL};
    *in = mi;
}

/* logits [B,2] in s->head.logits from the last forward of 2B sequences. */
static void classify(NlvrState *s, Model *m, int B) {
    size_t d = (size_t)m->d;
    for (int b = 0; b < B; b++) {
        memcpy(s->pair + b * 2 * d, m->pooled + b * d, d * sizeof(float));
        memcpy(s->pair + b * 2 * d + d, m->pooled + (B + b) * d, d * sizeof(float));
    }
    head_mlp_forward(&s->head, &m->params, s->pair, B);
}

static double nlvr_train_step(Task *t, Model *m, Rng *rng) {
    NlvrState *s = t->state;
    int B = s->B;
    for (int b = 0; b < B; b++) s->idx[b] = sampler_next(&s->sampler, rng);
    ModelInput in;
    fill_batch(s, &t->env, &s->train, s->idx, B, &in);
    if (model_forward(m, &in) != 0) return NAN;
    classify(s, m, B);
    int count;
    double loss = crossentropy_forward(s->probs, s->head.logits, s->labels, B, 2, -1, &count);
    memset(s->dlogits, 0, sizeof(float) * 2 * B);
    crossentropy_backward(s->dlogits, s->probs, s->labels, B, 2, -1, count, 1.0f);
    size_t d = (size_t)m->d;
    memset(s->dpair, 0, sizeof(float) * B * 2 * d);
    head_mlp_backward(&s->head, &m->params, s->dpair, s->dlogits, s->pair, B);
    for (int b = 0; b < B; b++) {
        memcpy(s->dpooled + b * d, s->dpair + b * 2 * d, d * sizeof(float));
        memcpy(s->dpooled + (B + b) * d, s->dpair + b * 2 * d + d, d * sizeof(float));
    }
    model_backward(m, &in, NULL, s->dpooled);
    return loss;
}

static int by_identifier(const void *a, const void *b) {
    const NlvrExample *const *x = a, *const *y = b;
    return strcmp((*x)->identifier, (*y)->identifier);
}

/* Accuracy and consistency of the first n examples' pred[n] (1 = "True")
 * with the official scoring; the predictions sorted by identifier as the
 * scorer looks them up. */
static int score(const NlvrSet *set, int n, const int *pred, double *acc, double *cons) {
    const NlvrExample **order = xcalloc(n, sizeof(NlvrExample *));
    const char **ids = xcalloc(n, sizeof(char *)), **labels = xcalloc(n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        order[i] = &set->ex[i];
        ids[i] = set->ex[i].identifier;
        labels[i] = set->ex[i].label ? "True" : "False";
    }
    qsort(order, n, sizeof *order, by_identifier);
    Nlvr2Predictions p = {xcalloc(n, sizeof(char *)), xcalloc(n, sizeof(char *)), (size_t)n};
    for (int i = 0; i < n; i++) {
        p.ids[i] = order[i]->identifier;
        p.preds[i] = pred[order[i] - set->ex] ? "True" : "False";
    }
    int rc = metric_nlvr_score(ids, labels, (size_t)n, &p, acc, cons);
    free(p.ids), free(p.preds), free(order), free(ids), free(labels);
    return rc;
}

static int write_predictions(const char *path, const NlvrSet *set, int n, const int *pred) {
    const char **ids = xcalloc(n, sizeof(char *)), **preds = xcalloc(n, sizeof(char *));
    for (int i = 0; i < n; i++) ids[i] = set->ex[i].identifier, preds[i] = pred[i] ? "True" : "False";
    int rc = metric_nlvr_predictions_write(path, ids, preds, (size_t)n);
    free(ids), free(preds);
    return rc;
}

static int nlvr_evaluate(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    NlvrState *s = t->state;
    const NlvrSplit *sp = !strcmp(split, "val") ? &s->val : !strcmp(split, s->eval_name) ? &s->eval : NULL;
    if (!sp || !sp->file) return err_set("nlvr: split '%s' was not loaded", split);
    int n = sp->n, *pred = xcalloc(n, sizeof(int));
    int rc = 0;
    for (int start = 0; start < n && rc == 0; start += s->B) {
        int B = n - start < s->B ? n - start : s->B;
        for (int b = 0; b < B; b++) s->idx[b] = start + b;
        ModelInput in;
        fill_batch(s, &t->env, sp, s->idx, B, &in);
        rc = model_forward(m, &in);
        if (rc != 0) break;
        classify(s, m, B);
        for (int b = 0; b < B; b++) pred[start + b] = s->head.logits[2 * b + 1] > s->head.logits[2 * b];
    }
    double acc, cons;
    if (rc == 0) rc = score(&sp->set, n, pred, &acc, &cons);
    if (rc == 0) {
        task_metrics_add(out, "accuracy", 100.0 * acc);
        task_metrics_add(out, "consistency", 100.0 * cons);
        task_metrics_add(out, "examples", n);
        const char **ids = xmalloc((size_t)n * sizeof *ids);
        double *correct = xmalloc((size_t)n * sizeof *correct);
        for (int i = 0; i < n; i++) {
            ids[i] = sp->set.ex[i].identifier;
            correct[i] = pred[i] == sp->set.ex[i].label ? 100 : 0;
        }
        task_items_add(out, "accuracy", n, ids, correct);
        free(ids), free(correct);
    }
    if (rc == 0 && pred_path) {
        char path[1100];
        snprintf(path, sizeof path, "%s.csv", pred_path);
        rc = write_predictions(path, &sp->set, n, pred);
    }
    free(pred);
    return rc;
}

static void split_free(NlvrSplit *sp) {
    data_nlvr_free(&sp->set);
    task_images_free(&sp->images);
    free(sp->iids);
}

static void nlvr_destroy(Task *t) {
    NlvrState *s = t->state;
    if (!s) return;
    split_free(&s->train), split_free(&s->val), split_free(&s->eval);
    head_mlp_free(&s->head);
    sampler_free(&s->sampler);
    free(s->idx), free(s->ids), free(s->mask), free(s->types), free(s->iids), free(s->images), free(s->labels);
    free(s->pair), free(s->dpair), free(s->probs), free(s->dlogits), free(s->dpooled);
    free(s);
}

const TaskOps task_nlvr = {
    .name = "nlvr",
    .summary = "NLVR2 pair method: image types 1 and 2, [CLS] pair -> MLP -> 2 classes; official accuracy, "
               "consistency",
    .primary_metric = "accuracy",
    .head_lr_mult = 1.0f,
    .load = nlvr_task_load,
    .max_sequences = nlvr_max_sequences,
    .register_heads = nlvr_register_heads,
    .init_heads = nlvr_init_heads,
    .train_step = nlvr_train_step,
    .evaluate = nlvr_evaluate,
    .destroy = nlvr_destroy,
};
