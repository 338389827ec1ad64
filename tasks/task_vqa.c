/* VQA as ViLT trains it: pooled [CLS] -> Linear(d, 2d), LayerNorm, GELU,
 * Linear(2d, answers); BCE with logits on the soft targets (0, .3, .6, .9, 1
 * for 0..>=4 of 10 annotators) times the number of answers; the head at 10x
 * the learning rate. Evaluation: argmax answer, scored with the official VQA
 * accuracy (master variant, answer normalisation, leave-one-out), overall and
 * per answer type, and ViLT's soft VQAScore; predictions written in the VQA
 * results format.
 *
 * Files (VQA v2 layout under DATA/vqa/): train = train2014 (training), val =
 * val2014 (validation during training), test = test2015 with annotations
 * (final evaluation). The answer vocabulary is built from train + val
 * multiple-choice answers occurring >= 9 times (ViLT); training questions
 * without any labelled answer are dropped, as ViLT drops them. A trained
 * model is evaluated with its own answer list (head layout "answers", in
 * output order), not one rebuilt from the data. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data_image_index.h"
#include "data_layout.h"
#include "data_vqa_cache.h"
#include "metric_vqa.h"
#include "metric_vqa_answers.h"
#include "nn_head_mlp.h"
#include "ops.h"
#include "str_tally.h"
#include "task_common.h"

typedef struct {
    VqaSet set;
    int n;          /* questions used: all, or the first eval_limit */
    TaskImages images;
    float *targets; /* [n, n_answers] soft targets */
} VqaSplit;

typedef struct {
    ImageIndex index;  /* the images of the splits read */
    int scanned[LAYOUT_VQA_SPLITS]; /* whether each split's images folder is in index */
    AnswerVocab vocab;
    VqaSplit train, val, eval;
    char eval_name[16];
    HeadMlp head;
    Sampler sampler;
    /* the language prior, from the training annotations as loaded (before
     * the questions without a labelled answer are dropped; read for it alone
     * when a trained model is evaluated): its question types and, for each,
     * the most frequent multiple-choice answer */
    Tally prior_types;
    char **prior_answer; /* [prior_types.n] */
    int B, V;
    /* batch buffers [B,...] */
    int *ids, *mask;
    int64_t *iids; /* image ids (models reading cached regions) */
    float *images, *targets, *dlogits, *dpooled;
} VqaState;

/* The questions and answers of split (parsed once per dataset:
 * data_vqa_cache.h), after adding its images folder to the index (each
 * folder once: the generated layout has one for all). */
static int split_load(VqaState *s, VqaSplit *sp, const DataLayout *l, const char *data_dir, const char *split) {
    int k = data_layout_vqa_split(split);
    if (k < 0) return err_set("vqa: unknown split '%s' (train, val, test)", split);
    int scanned = 0;
    for (int j = 0; j < LAYOUT_VQA_SPLITS; j++)
        scanned |= s->scanned[j] && !strcmp(l->vqa_images[j].path, l->vqa_images[k].path);
    if (!scanned && data_image_index_scan(&s->index, l->vqa_images[k].path) != 0) return -1;
    s->scanned[k] = 1;
    const char *a = l->vqa_annotations[k].path;
    if (data_vqa_load_cached(&sp->set, data_dir, l->vqa_questions[k].path, a, &s->index) != 0) return -1;
    if (!sp->set.has_answers) return err_set("%s: the vqa task needs annotations to train or score", a);
    return 0;
}

static int split_prepare(VqaState *s, VqaSplit *sp, const TaskEnv *env, int limit) {
    sp->n = limit > 0 && sp->set.n > limit ? limit : sp->set.n; /* the first questions, a fixed subset */
    const char **paths = xcalloc(sp->n, sizeof(char *));
    for (int i = 0; i < sp->n; i++) paths[i] = sp->set.q[i].image_path;
    int rc = task_images_load(&sp->images, paths, sp->n, env->image_size);
    free(paths);
    if (rc != 0) return -1;
    sp->targets = xcalloc((size_t)sp->n * s->vocab.n, sizeof(float));
    for (int i = 0; i < sp->n; i++)
        metric_vqa_answers_target_row(&s->vocab, &sp->set.q[i], sp->targets + (size_t)i * s->vocab.n);
    return 0;
}

/* The answer list: built from train + val, or the trained heads' own. */
static int answers_load(VqaState *s, const TaskEnv *env) {
    if (!env->head_layout) {
        const VqaSet *sets[2] = {&s->train.set, &s->val.set};
        return metric_vqa_answers_build(&s->vocab, sets, 2, ANSWER_VOCAB_MIN_COUNT);
    }
    const json_t *a = json_object_get(env->head_layout, "answers");
    int n = (int)json_array_size(a), rc = n > 0 ? 0 : err_set("vqa: the head layout has no answer list ('answers')");
    const char **list = xcalloc(n, sizeof *list);
    for (int i = 0; i < n && rc == 0; i++)
        if (!(list[i] = json_string_value(json_array_get(a, i))))
            rc = err_set("vqa: answer %d of the head layout is not a string", i);
    if (rc == 0) rc = metric_vqa_answers_from_list(&s->vocab, list, n);
    free(list);
    return rc;
}

static void prior_build(VqaState *s, const VqaSet *set) {
    str_tally_init(&s->prior_types);
    for (int i = 0; i < set->n; i++) str_tally_add(&s->prior_types, set->q[i].question_type);
    s->prior_answer = xcalloc((size_t)s->prior_types.n, sizeof(char *));
    for (int k = 0; k < s->prior_types.n; k++) {
        Tally answers;
        str_tally_init(&answers);
        for (int i = 0; i < set->n; i++)
            if (!strcmp(set->q[i].question_type, s->prior_types.names[k]))
                str_tally_add(&answers, set->q[i].multiple_choice_answer);
        s->prior_answer[k] = xstrdup(answers.names[str_tally_top(&answers)]);
        str_tally_free(&answers);
    }
}

static int vqa_task_load(Task *t, const TaskEnv *env, const char *eval_split) {
    VqaState *s = xcalloc(1, sizeof *s);
    t->state = s;
    data_image_index_init(&s->index);
    DataLayout *l = xmalloc(sizeof *l);
    int train = task_reads_split(env, "train", eval_split), val = task_reads_split(env, "val", eval_split);
    int rc = data_layout_read(l, env->data_dir);
    if (rc == 0 && ((train && split_load(s, &s->train, l, env->data_dir, "train") != 0) ||
                    (val && split_load(s, &s->val, l, env->data_dir, "val") != 0)))
        rc = -1;
    if (rc == 0 && answers_load(s, env) != 0) rc = -1;
    if (rc == 0 && train) {
        prior_build(s, &s->train.set);
    } else if (rc == 0) {
        /* evaluating a trained model: the prior from the training annotations
         * when the data have them (questions only, no images) */
        VqaSplit prior = {0};
        if (access(l->vqa_annotations[LAYOUT_VQA_TRAIN].path, R_OK) == 0 &&
            split_load(s, &prior, l, env->data_dir, "train") != 0)
            rc = -1;
        if (rc == 0) prior_build(s, &prior.set);
        data_vqa_free(&prior.set);
    }
    if (rc == 0 && metric_vqa_answers_drop_unlabeled(&s->vocab, &s->train.set) < 0) rc = -1;
    snprintf(s->eval_name, sizeof s->eval_name, "%s", eval_split);
    if (rc == 0 && strcmp(eval_split, "val") != 0 && split_load(s, &s->eval, l, env->data_dir, eval_split) != 0)
        rc = -1;
    free(l);
    if (rc != 0) return -1;
    if ((train && split_prepare(s, &s->train, env, 0) != 0) ||
        (val && split_prepare(s, &s->val, env, env->eval_limit) != 0))
        return -1;
    if (strcmp(eval_split, "val") != 0 && split_prepare(s, &s->eval, env, env->eval_limit) != 0) return -1;
    s->B = env->batch;
    s->V = s->vocab.n;
    size_t B = (size_t)s->B, S = (size_t)env->image_size, Tt = (size_t)env->max_text;
    s->ids = xcalloc(B * Tt, sizeof(int));
    s->mask = xcalloc(B * Tt, sizeof(int));
    s->iids = xcalloc(B, sizeof(int64_t));
    s->images = xcalloc(B * 3 * S * S, sizeof(float));
    s->targets = xcalloc(B * s->V, sizeof(float));
    s->dlogits = xcalloc(B * s->V, sizeof(float));
    return 0;
}

static int vqa_max_sequences(const Task *t) { return ((VqaState *)t->state)->B; }

static void vqa_register_heads(Task *t, Params *p, int d) {
    VqaState *s = t->state;
    head_mlp_register(&s->head, p, "vqa_classifier", d, 2 * d, s->V);
}

static int vqa_init_heads(Task *t, Model *m, Rng *rng, const StFile *init) {
    VqaState *s = t->state;
    head_mlp_init(&s->head, &m->params, rng, s->B);
    sampler_init(&s->sampler, s->train.n);
    s->dpooled = xcalloc((size_t)s->B * m->d, sizeof(float));
    return 0;
}

/* Fill the batch buffers with examples idx[0..B) of split sp. */
static void fill_batch(VqaState *s, const TaskEnv *env, const VqaSplit *sp, const int *idx, int B, ModelInput *in) {
    int Tt = env->max_text, S = env->image_size;
    for (int b = 0; b < B; b++) {
        int i = idx[b];
        task_encode_text(env->tok, sp->set.q[i].question, Tt, s->ids + (size_t)b * Tt, s->mask + (size_t)b * Tt);
        task_image_to_input(image_cache_get(&sp->images.cache, sp->images.slot[i]), S,
                            s->images + (size_t)b * 3 * S * S);
        memcpy(s->targets + (size_t)b * s->V, sp->targets + (size_t)i * s->V, sizeof(float) * s->V);
        s->iids[b] = sp->set.q[i].image_id;
    }
    ModelInput mi = {B, s->ids, s->mask, s->images, NULL, ATTN_FULL, s->iids};
    *in = mi;
}

static double vqa_train_step(Task *t, Model *m, Rng *rng) {
    VqaState *s = t->state;
    /* a batch at least as large as the split is the whole split, once */
    int B = s->B < s->train.n ? s->B : s->train.n, idx[4096];
    for (int b = 0; b < B; b++) idx[b] = B == s->train.n ? b : sampler_next(&s->sampler, rng);
    ModelInput in;
    fill_batch(s, &t->env, &s->train, idx, B, &in);
    if (model_forward(m, &in) != 0) return NAN;
    head_mlp_forward(&s->head, &m->params, m->pooled, B);
    size_t n = (size_t)B * s->V;
    double loss = bce_forward(s->head.logits, s->targets, n, (float)s->V);
    memset(s->dlogits, 0, n * sizeof(float));
    bce_backward(s->dlogits, s->head.logits, s->targets, n, (float)s->V);
    memset(s->dpooled, 0, sizeof(float) * B * m->d);
    head_mlp_backward(&s->head, &m->params, s->dpooled, s->dlogits, m->pooled, B);
    model_backward(m, &in, NULL, s->dpooled);
    return loss;
}

/* Per question type (e.g. "what is in the"): the score, as metric
 * vqa_q_<type> (spaces as '_'), and beside it, when the training split has
 * questions of the type, vqa_q_<type>_majority: the score of always giving
 * the type's most frequent training answer (prior_build), the type's
 * language-prior floor (what a model that ignores the image reaches on it). */
static void question_type_metrics(const VqaState *s, const VqaEval *ev, const VqaQuestion *q, int n, MetricList *out) {
    for (size_t k = 0; k < ev->n_question_types; k++) {
        const char *type = ev->question_types[k].name;
        char name[METRIC_NAME_MAX];
        snprintf(name, sizeof name, "vqa_q_%s", type);
        for (char *c = name; *c; c++)
            if (*c == ' ' || *c == '/') *c = '_';
        task_metrics_add(out, name, ev->question_types[k].accuracy);
        int p = str_map_find(&s->prior_types.index, type);
        if (p < 0) continue;
        double sum = 0.0;
        for (int i = 0; i < n; i++)
            if (!strcmp(q[i].question_type, type))
                sum += metric_vqa_question_accuracy(q[i].gt, q[i].n_gt, s->prior_answer[p], VQA_MASTER);
        size_t len = strlen(name);
        snprintf(name + len, sizeof name - len, "_majority");
        task_metrics_add(out, name, metric_vqa_round(100.0 * sum / (double)ev->question_types[k].count, 2));
    }
}

static int write_results(const char *path, const VqaSet *set, int n, const int *pred, const AnswerVocab *v) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I, s:s}", "question_id", (json_int_t)set->q[i].question_id, "answer",
                                             v->answers[pred[i]]));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    int rc = text ? file_write_atomic(path, text, strlen(text)) : err_set("%s: cannot encode results", path);
    free(text);
    return rc;
}

static int vqa_evaluate_split(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    VqaState *s = t->state;
    const VqaSplit *sp = !strcmp(split, "val") ? &s->val : !strcmp(split, s->eval_name) ? &s->eval : NULL;
    if (!sp || !sp->set.questions_file) return err_set("vqa: split '%s' was not loaded", split);
    int n = sp->n, *pred = xcalloc(n, sizeof(int));
    double soft = 0.0;
    for (int start = 0; start < n; start += s->B) {
        int B = n - start < s->B ? n - start : s->B, idx[4096];
        for (int b = 0; b < B; b++) idx[b] = start + b;
        ModelInput in;
        fill_batch(s, &t->env, sp, idx, B, &in);
        if (model_forward(m, &in) != 0) {
            free(pred);
            return -1;
        }
        head_mlp_forward(&s->head, &m->params, m->pooled, B);
        soft += metric_vqa_score_batch(s->head.logits, s->targets, (size_t)B, (size_t)s->V);
        for (int b = 0; b < B; b++) {
            const float *row = s->head.logits + (size_t)b * s->V;
            int best = 0;
            for (int j = 1; j < s->V; j++)
                if (row[j] > row[best]) best = j;
            pred[start + b] = best;
        }
    }
    VqaQuestion *q = xcalloc(n, sizeof(VqaQuestion));
    for (int i = 0; i < n; i++) {
        const VqaEntry *e = &sp->set.q[i];
        q[i].gt = (const char *const *)e->answers;
        q[i].n_gt = VQA_N_ANSWERS;
        q[i].answer = s->vocab.answers[pred[i]];
        q[i].answer_type = e->answer_type;
        q[i].question_type = e->question_type;
    }
    VqaEval ev;
    int rc = metric_vqa_evaluate(q, (size_t)n, VQA_MASTER, &ev);
    if (rc == 0) {
        task_metrics_add(out, "vqa_score", ev.overall);
        for (size_t k = 0; k < ev.n_answer_types; k++) {
            char name[METRIC_NAME_MAX];
            snprintf(name, sizeof name, "vqa_score_%s", ev.answer_types[k].name);
            for (char *c = name; *c; c++)
                if (*c == '/') *c = '_';
            task_metrics_add(out, name, ev.answer_types[k].accuracy);
        }
        task_metrics_add(out, "vqa_soft_score", 100.0 * soft / n);
        task_metrics_add(out, "questions", n);
        question_type_metrics(s, &ev, q, n, out);
        int64_t *qids = xmalloc((size_t)n * sizeof *qids);
        for (int i = 0; i < n; i++) qids[i] = sp->set.q[i].question_id;
        task_items_add_int(out, "vqa_score", n, qids, ev.per_question); /* 0, 30, 60, 90 or 100 each */
        free(qids);
        metric_vqa_eval_free(&ev);
    }
    if (rc == 0 && pred_path) {
        char path[1100];
        snprintf(path, sizeof path, "%s.json", pred_path);
        rc = write_results(path, &sp->set, n, pred, &s->vocab);
    }
    free(q);
    free(pred);
    return rc;
}

static int vqa_describe_heads(const Task *t, json_t *layout) {
    const VqaState *s = t->state;
    json_t *a = json_array();
    for (int i = 0; i < s->vocab.n; i++)
        if (json_array_append_new(a, json_string(s->vocab.answers[i])) != 0) {
            json_decref(a);
            return err_set("vqa: cannot record answer '%s' in the head layout", s->vocab.answers[i]);
        }
    return json_object_set_new(layout, "answers", a) == 0 ? 0 : err_set("vqa: cannot record the answer list");
}

static void split_free(VqaSplit *sp) {
    data_vqa_free(&sp->set);
    task_images_free(&sp->images);
    free(sp->targets);
}

static void vqa_destroy(Task *t) {
    VqaState *s = t->state;
    if (!s) return;
    split_free(&s->train), split_free(&s->val), split_free(&s->eval);
    data_image_index_free(&s->index);
    metric_vqa_answers_free(&s->vocab);
    for (int k = 0; k < s->prior_types.n; k++) free(s->prior_answer[k]);
    free(s->prior_answer);
    str_tally_free(&s->prior_types);
    head_mlp_free(&s->head);
    sampler_free(&s->sampler);
    free(s->ids), free(s->mask), free(s->iids), free(s->images), free(s->targets), free(s->dlogits), free(s->dpooled);
    free(s);
}

const TaskOps task_vqa = {
    .name = "vqa",
    .summary = "VQA: ViLT classifier on pooled [CLS], BCE on soft targets, official VQA accuracy",
    .primary_metric = "vqa_score",
    .head_lr_mult = 10.0f,
    .load = vqa_task_load,
    .max_sequences = vqa_max_sequences,
    .register_heads = vqa_register_heads,
    .init_heads = vqa_init_heads,
    .train_step = vqa_train_step,
    .evaluate = vqa_evaluate_split,
    .describe_heads = vqa_describe_heads,
    .destroy = vqa_destroy,
};
