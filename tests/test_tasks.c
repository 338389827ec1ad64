/* The retrieval and NLVR task drivers on a tiny generated dataset and a tiny
 * model: head gradients through train_step's loss against finite
 * differences, the loss at initialisation (log of the class count), a few
 * finite training steps, evaluation metrics in range and equal to the ones
 * recomputed from the predictions files, the rank head taken from a
 * checkpoint's ITM "match" row, NLVR's second image type, and a task set up
 * to evaluate a trained model from the head layout its run recorded. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "data_idx.h"
#include "data_layout.h"
#include "data_nlvr.h"
#include "data_vqa.h"
#include "data_vocab.h"
#include "gen_dataset.h"
#include "gen_words.h"
#include "gradcheck.h"
#include "io_checkpoint.h"
#include "io_safetensors.h"
#include "metric_nlvr.h"
#include "metric_retrieval.h"
#include "metric_vqa.h"
#include "metric_vqa_answers.h"
#include "model.h"
#include "task_fixture.h"
#include "test.h"
#include "train_adamw.h"
#include "train_task.h"

enum { D = 16, IMAGE = 32, TEXT = 16, NEGATIVES = 3 };

static char root[64], data[128];
static Tokenizer tok;

/* The tiny dataset's task environment: batch examples a step, objectives
 * for pretraining (0 = the default ones). */
static TaskEnv task_env(int batch, int eval_limit, unsigned objectives) {
    TaskEnv env = {.data_dir = data, .tok = &tok, .image_size = IMAGE, .max_text = TEXT, .batch = batch,
                   .eval_limit = eval_limit, .negatives = NEGATIVES, .objectives = objectives};
    return env;
}

/* batch = the training split's size, so every train_step reshuffles the
 * sampler from the rng: restoring the rng redraws the same batch. */
static void fixture_init(Fixture *f, const char *task, int batch, int eval_limit, const StFile *init) {
    TaskEnv env = task_env(batch, eval_limit, 0);
    fixture_init_env(f, task, &env, D, 1, init);
}


/* The loss at initialisation (~log of the classes: the heads start near 0),
 * then `steps` AdamW steps with finite losses. */
static void check_training(Fixture *f, double expect_loss, double tol, int steps) {
    f->rng = f->saved;
    double first = f->task.ops->train_step(&f->task, &f->model, &f->rng);
    CHECK(fabs(first - expect_loss) < tol, "initial loss %g, expected about %g", first, expect_loss);
    AdamWConfig c = adamw_config_default(1e-3f);
    for (int s = 1; s <= steps; s++) {
        params_zero_grad(&f->model.params);
        double loss = f->task.ops->train_step(&f->task, &f->model, &f->rng);
        CHECK(isfinite(loss) && loss > 0, "step %d: loss %g", s, loss);
        adamw_step(&f->model.params, &c, 1e-3f, s);
    }
}

static void test_retrieval_gradient(void) {
    Fixture f;
    fixture_init(&f, "retrieval", 30, 0, NULL); /* tiny: 30 training images */
    if (f.ok) fixture_check_heads(&f, "retrieval rank head", PARAM_GROUP_HEAD);
    fixture_free(&f);
}

/* The score matrix file: header "image_id" + the image id of each text,
 * then per image its id and its scores. Returns the recalls recomputed. */
static int read_scores(const char *path, int *n_img, int *n_txt, IrtrRecall *r) {
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    static char line[1 << 16];
    int64_t iids[64], tiids[512];
    static float scores[64 * 512];
    int ni = 0, nt = 0, rc = 0;
    if (!fgets(line, sizeof line, fp) || strncmp(line, "image_id\t", 9) != 0) rc = -1;
    for (char *tokp = strtok(line + 8, "\t\n"); rc == 0 && tokp && nt < 512; tokp = strtok(NULL, "\t\n"))
        tiids[nt++] = atoll(tokp);
    while (rc == 0 && ni < 64 && fgets(line, sizeof line, fp)) {
        char *tokp = strtok(line, "\t\n");
        iids[ni] = atoll(tokp);
        int t = 0;
        for (tokp = strtok(NULL, "\t\n"); tokp && t < nt; tokp = strtok(NULL, "\t\n"))
            scores[ni * nt + t++] = strtof(tokp, NULL);
        if (t != nt) rc = -1;
        ni++;
    }
    fclose(fp);
    if (rc == 0) rc = metric_retrieval_recall(scores, (size_t)ni, (size_t)nt, iids, tiids, r);
    *n_img = ni, *n_txt = nt;
    return rc;
}

static void test_retrieval_train_eval(void) {
    Fixture f;
    fixture_init(&f, "retrieval", 4, 0, NULL);
    if (!f.ok) {
        fixture_free(&f);
        return;
    }
    check_training(&f, log(1.0 + NEGATIVES), 0.1, 4);
    MetricList ml = {.want_items = 1};
    char pred[256], path[300];
    snprintf(pred, sizeof pred, "%s/ret_val", root);
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "val", &ml, pred) == 0, "%s", err_msg());
    const char *names[6] = {"ir_r1", "ir_r5", "ir_r10", "tr_r1", "tr_r5", "tr_r10"};
    double mean = 0;
    for (int k = 0; k < 6; k++) {
        double v = task_metrics_get(&ml, names[k]);
        CHECK(v >= 0 && v <= 100, "%s = %g", names[k], v);
        mean += v / 6;
    }
    CHECK(task_metrics_get(&ml, "ir_r1") <= task_metrics_get(&ml, "ir_r5") &&
              task_metrics_get(&ml, "ir_r5") <= task_metrics_get(&ml, "ir_r10") &&
              task_metrics_get(&ml, "tr_r1") <= task_metrics_get(&ml, "tr_r5") &&
              task_metrics_get(&ml, "tr_r5") <= task_metrics_get(&ml, "tr_r10"),
          "recall not monotone in K");
    /* 10 images, 10 candidates each way: R@10 of IR is 100 by definition */
    CHECK(task_metrics_get(&ml, "ir_r10") == 100.0, "ir_r10 %g with 10 images", task_metrics_get(&ml, "ir_r10"));
    CHECK_CLOSE(task_metrics_get(&ml, "recall_mean"), mean, 1e-9);
    double itm = task_metrics_get(&ml, "itm_accuracy");
    CHECK(itm >= 0 && itm <= 100 && fmod(itm, 10.0) == 0, "itm_accuracy %g (10 images)", itm);
    CHECK(task_metrics_get(&ml, "images") == 10 && task_metrics_get(&ml, "texts") == 50, "images %g texts %g",
          task_metrics_get(&ml, "images"), task_metrics_get(&ml, "texts"));
    snprintf(path, sizeof path, "%s.scores.tsv", pred);
    int ni = 0, nt = 0;
    IrtrRecall r;
    CHECK(read_scores(path, &ni, &nt, &r) == 0, "%s does not parse: %s", path, err_msg());
    CHECK(ni == 10 && nt == 50, "%s: %d x %d", path, ni, nt);
    CHECK_CLOSE(100.0 * r.ir_r1, task_metrics_get(&ml, "ir_r1"), 1e-6);
    CHECK_CLOSE(100.0 * r.tr_r5, task_metrics_get(&ml, "tr_r5"), 1e-6);
    CHECK_CLOSE(100.0 * r.tr_r1, task_metrics_get(&ml, "tr_r1"), 1e-6);
    /* the item scores: one rank per text / image, giving back every recall */
    const ItemScores *ir = task_items_get(&ml, "ir_rank"), *tr = task_items_get(&ml, "tr_rank");
    CHECK(ir && tr && ir->n == 50 && tr->n == 10, "items: ir %d tr %d", ir ? ir->n : -1, tr ? tr->n : -1);
    for (int k = 0; ir && tr && k < 6; k++) {
        const ItemScores *it = k < 3 ? ir : tr;
        int K = k % 3 == 0 ? 1 : k % 3 == 1 ? 5 : 10, hits = 0;
        for (int q = 0; q < it->n; q++) hits += it->values[q] > 0 && it->values[q] <= K;
        CHECK_CLOSE(100.0 * hits / it->n, task_metrics_get(&ml, names[k]), 1e-5);
    }
    CHECK(ir && strchr(ir->ids, ':'), "text ids '<image>:<k>': %.40s", ir ? ir->ids : "");
    task_metrics_free(&ml);
    CHECK(ml.n_items == 0 && task_metrics_get(&ml, "ir_r1") >= 0, "free keeps the metrics");
    MetricList mt = {0};
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "test", &mt, NULL) == 0, "%s", err_msg());
    CHECK(task_metrics_get(&mt, "images") == 10, "test images %g", task_metrics_get(&mt, "images"));
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "train", &mt, NULL) != 0 && strstr(err_msg(), "not loaded"),
          "an unloaded split is refused");
    fixture_free(&f);
}

/* rank_output = row 1 ("match") of itm_score.fc. */
static void test_retrieval_itm_init(void) {
    float w[2 * D], b[2] = {-0.5f, 0.75f};
    for (int i = 0; i < 2 * D; i++) w[i] = 0.01f * (float)(i + 1);
    StTensor t[2] = {{"itm_score.fc.weight", ST_F32, 2, {2, D}, w}, {"itm_score.fc.bias", ST_F32, 1, {2}, b}};
    char path[128];
    snprintf(path, sizeof path, "%s/itm.safetensors", root);
    StFile st;
    CHECK(safetensors_write(path, t, 2, NULL, 0) == 0 && safetensors_open(path, &st) == 0, "%s", err_msg());
    Fixture f;
    fixture_init(&f, "retrieval", 2, 0, &st);
    if (f.ok) {
        const Params *p = &f.model.params;
        const float *rw = params_data(p, params_find(p, "rank_output.weight"));
        const float *rb = params_data(p, params_find(p, "rank_output.bias"));
        int same = 0;
        for (int i = 0; i < D; i++) same += rw[i] == w[D + i];
        CHECK(same == D && rb[0] == b[1], "%d of %d weights copied, bias %g", same, D, rb[0]);
    }
    fixture_free(&f);
    safetensors_close(&st);
}

/* Every weight a checkpoint of write_backbone_of carries (the backbone and
 * the rank head) made larger than its 0.02 init, so that the ranking
 * scores of different pairs differ by far more than float32 rounding: no
 * two of them tie under any build's summation order. */
static void spread_ranking_weights(Fixture *a) {
    Params *p = &a->model.params;
    Rng rng;
    rng_seed(&rng, 3);
    for (int i = 0; i < p->n; i++) {
        if (p->info[i].group != PARAM_GROUP_BACKBONE && strncmp(p->info[i].name, "rank_output.", 12)) continue;
        float *x = params_data(p, i);
        for (size_t k = 0; k < p->info[i].size; k++) x[k] += 0.3f * rng_normal(&rng);
    }
}

/* A checkpoint of fixture a's backbone whose ITM "match" row is a's rank
 * head: a run started from it (its backbone loaded, its rank head copied
 * from the ITM row) ranks with a's model before training. */
static void write_backbone_of(const Fixture *a, const char *path) {
    const Params *p = &a->model.params;
    StTensor t[64];
    int n = 0;
    for (int i = 0; i < p->n && n < 62; i++) {
        if (p->info[i].group != PARAM_GROUP_BACKBONE) continue;
        t[n] = (StTensor){p->info[i].name, ST_F32, p->info[i].ndim, {0}, params_data(p, i)};
        for (int d = 0; d < p->info[i].ndim; d++) t[n].shape[d] = p->info[i].shape[d];
        n++;
    }
    static float w[2 * D], b[2];
    memcpy(w + D, params_data(p, params_find(p, "rank_output.weight")), sizeof(float) * D);
    b[1] = params_data(p, params_find(p, "rank_output.bias"))[0];
    t[n++] = (StTensor){"itm_score.fc.weight", ST_F32, 2, {2, D}, w};
    t[n++] = (StTensor){"itm_score.fc.bias", ST_F32, 1, {2}, b};
    CHECK(safetensors_write(path, t, n, NULL, 0) == 0, "%s", err_msg());
}

static int same_metric(const MetricList *a, const MetricList *b, const char *name) {
    double x = task_metrics_get(a, name), y = task_metrics_get(b, name);
    CHECK(x == y, "%s: %.9g with a shortlist, %.9g ranking every pair", name, x, y);
    return x == y;
}

/* A shortlist (--shortlist K) whose first stage is the evaluated model
 * itself: its recall at K is that model's R@K (K = 1, 5), the re-ranking
 * of one candidate keeps R@1, and a shortlist as long as the set gives
 * every metric of ranking every pair exactly; the first stage is computed
 * once, into the dataset's first_stage/ folder, and read back after. */
static void test_retrieval_shortlist(void) {
    Fixture a;
    fixture_init(&a, "retrieval", 4, 0, NULL);
    if (!a.ok) {
        fixture_free(&a);
        return;
    }
    spread_ranking_weights(&a);
    char ckpt[128];
    snprintf(ckpt, sizeof ckpt, "%s/first.safetensors", root);
    write_backbone_of(&a, ckpt);
    MetricList all = {0};
    CHECK(a.task.ops->evaluate(&a.task, &a.model, "test", &all, NULL) == 0, "%s", err_msg());
    CHECK(task_metrics_get(&all, "score_ties") == 0 && task_metrics_get(&all, "pairs_scored") == 500,
          "ties %g, pairs %g", task_metrics_get(&all, "score_ties"), task_metrics_get(&all, "pairs_scored"));
    StFile st;
    CHECK(safetensors_open(ckpt, &st) == 0, "%s", err_msg());
    const int ks[3] = {1, 5, 50};
    for (int j = 0; j < 3; j++) {
        TaskEnv env = task_env(4, 0, 0);
        env.shortlist = ks[j];
        Fixture f;
        fixture_init_env(&f, "retrieval", &env, D, 1, &st);
        f.ok = f.ok && checkpoint_load_file(&st, &f.model.params, 1u << PARAM_GROUP_BACKBONE, 1) == 0;
        MetricList ml = {0};
        CHECK(f.ok && f.task.ops->evaluate(&f.task, &f.model, "test", &ml, NULL) == 0, "k %d: %s", ks[j], err_msg());
        CHECK(task_metrics_get(&ml, "shortlist") == ks[j], "shortlist %g", task_metrics_get(&ml, "shortlist"));
        double ir = task_metrics_get(&ml, "shortlist_ir_recall"), tr = task_metrics_get(&ml, "shortlist_tr_recall");
        if (ks[j] == 1) {
            CHECK(ir == task_metrics_get(&all, "ir_r1") && tr == task_metrics_get(&all, "tr_r1"),
                  "k 1: shortlist recall %g %g, R@1 %g %g", ir, tr, task_metrics_get(&all, "ir_r1"),
                  task_metrics_get(&all, "tr_r1"));
            same_metric(&ml, &all, "ir_r1"), same_metric(&ml, &all, "tr_r1");
            CHECK(task_metrics_get(&ml, "pairs_scored") <= 50 + 10 + 2 * 10, "pairs %g",
                  task_metrics_get(&ml, "pairs_scored"));
        } else if (ks[j] == 5) {
            CHECK(ir == task_metrics_get(&all, "ir_r5") && tr == task_metrics_get(&all, "tr_r5"),
                  "k 5: shortlist recall %g %g, R@5 %g %g", ir, tr, task_metrics_get(&all, "ir_r5"),
                  task_metrics_get(&all, "tr_r5"));
            CHECK(ir < 100 || tr < 100, "k 5: recall %g %g, a check that cannot fail", ir, tr);
        } else {
            CHECK(ir == 100 && tr == 100, "k 50: recall %g %g", ir, tr);
            const char *names[] = {"ir_r1", "ir_r5", "ir_r10", "tr_r1", "tr_r5", "tr_r10", "recall_mean",
                                   "itm_accuracy", "score_ties", "pairs_scored"};
            for (int k = 0; k < 10; k++) same_metric(&ml, &all, names[k]);
        }
        fixture_free(&f);
    }
    safetensors_close(&st);
    char *o;
    CHECK(proc_run(&o, "ls %s/first_stage | wc -l", data) == 0 && atoi(o) == 1, "first_stage/ holds %s files", o);
    free(o);
    fixture_free(&a);
}

static void test_nlvr_gradient(void) {
    Fixture f;
    fixture_init(&f, "nlvr", 24, 0, NULL); /* tiny: 24 training lines */
    if (f.ok) fixture_check_heads(&f, "nlvr2 pair head", PARAM_GROUP_HEAD);
    fixture_free(&f);
}

static void test_nlvr_train_eval(void) {
    Fixture f;
    fixture_init(&f, "nlvr", 4, 0, NULL);
    if (!f.ok) {
        fixture_free(&f);
        return;
    }
    /* ViLT's extension of the type table: row 2 starts as row 1 */
    Params *p = &f.model.params;
    int te = params_find(p, "token_type_embeddings.weight");
    const float *rows = params_data(p, te);
    CHECK(memcmp(rows + 2 * D, rows + D, sizeof(float) * D) == 0, "type row 2 != row 1");
    check_training(&f, log(2.0), 0.1, 3);
    /* the right image goes through type 2: its row receives gradient */
    const float *g = p->grad + p->info[te].offset;
    double g2 = 0;
    for (int i = 0; i < D; i++) g2 += fabs(g[2 * D + i]);
    CHECK(g2 > 0, "no gradient on token type 2");
    MetricList ml = {.want_items = 1};
    char pred[256], path[300];
    snprintf(pred, sizeof pred, "%s/nlvr_val", root);
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "val", &ml, pred) == 0, "%s", err_msg());
    double acc = task_metrics_get(&ml, "accuracy"), cons = task_metrics_get(&ml, "consistency");
    /* the item scores: 100 or 0 per pair, named by its identifier, averaging to the accuracy */
    const ItemScores *it = task_items_get(&ml, "accuracy");
    double sum = 0;
    for (int i = 0; it && i < it->n; i++) {
        sum += it->values[i];
        CHECK(it->values[i] == 0 || it->values[i] == 100, "%g", it->values[i]);
    }
    CHECK(it && it->n == 12 && !strncmp(it->ids, "dev-", 4), "items %d: %.30s", it ? it->n : -1, it ? it->ids : "");
    if (it) CHECK_CLOSE(sum / it->n, acc, 1e-12);
    task_metrics_free(&ml);
    CHECK(acc >= 0 && acc <= 100 && cons >= 0 && cons <= acc, "accuracy %g consistency %g", acc, cons);
    CHECK(task_metrics_get(&ml, "examples") == 12, "examples %g", task_metrics_get(&ml, "examples"));
    snprintf(path, sizeof path, "%s.csv", pred);
    Nlvr2Predictions pr;
    NlvrSet dev;
    DataLayout *l = xmalloc(sizeof *l);
    CHECK(data_layout_read(l, data) == 0, "%s", err_msg());
    if (metric_nlvr_predictions_read(path, &pr) == 0 &&
        data_nlvr_load(&dev, l->nlvr[LAYOUT_NLVR_DEV].path, l->nlvr_images[LAYOUT_NLVR_DEV].path) == 0) {
        CHECK(pr.n == 12, "%s: %zu predictions", path, pr.n);
        const char *ids[64], *labels[64];
        for (int i = 0; i < dev.n && i < 64; i++)
            ids[i] = dev.ex[i].identifier, labels[i] = dev.ex[i].label ? "True" : "False";
        double a, c;
        CHECK(metric_nlvr_score(ids, labels, (size_t)dev.n, &pr, &a, &c) == 0, "%s", err_msg());
        CHECK_CLOSE(100 * a, acc, 1e-12);
        CHECK_CLOSE(100 * c, cons, 1e-12);
        metric_nlvr_predictions_free(&pr);
        data_nlvr_free(&dev);
    } else {
        CHECK(0, "%s", err_msg());
    }
    free(l);
    MetricList mt = {0};
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "test", &mt, NULL) == 0, "%s", err_msg());
    CHECK(task_metrics_get(&mt, "examples") == 12, "test examples %g", task_metrics_get(&mt, "examples"));
    fixture_free(&f);
    /* eval_limit keeps the first lines */
    fixture_init(&f, "nlvr", 4, 5, NULL);
    MetricList ms = {0};
    CHECK(f.ok && f.task.ops->evaluate(&f.task, &f.model, "val", &ms, NULL) == 0, "%s", err_msg());
    CHECK(task_metrics_get(&ms, "examples") == 5, "examples %g with eval_limit 5", task_metrics_get(&ms, "examples"));
    fixture_free(&f);
}

/* The language-prior floor of one question type, computed here from the
 * annotation files alone: the most frequent training multiple-choice answer
 * of the type (the first seen on ties), scored on the type's questions among
 * the first n of the split. -1 when the type has no such question. */
static double majority_floor(const char *data_dir, const char *split, int n, const char *type) {
    char path[LAYOUT_PATH_MAX];
    json_error_t je;
    json_t *tr = json_load_file(data_layout_vqa_annotations(path, data_dir, "train"), 0, &je);
    json_t *ev = json_load_file(data_layout_vqa_annotations(path, data_dir, split), 0, &je), *a;
    size_t i, best = 0, count[64] = {0};
    const char *names[64];
    int k = 0;
    json_array_foreach(json_object_get(tr, "annotations"), i, a) {
        if (strcmp(json_string_value(json_object_get(a, "question_type")), type)) continue;
        const char *ans = json_string_value(json_object_get(a, "multiple_choice_answer"));
        int j = 0;
        while (j < k && strcmp(names[j], ans)) j++;
        if (j == k && k < 64) names[k++] = ans;
        if (j < 64 && ++count[j] > count[best]) best = (size_t)j;
    }
    double sum = 0.0;
    int m = 0;
    json_array_foreach(json_object_get(ev, "annotations"), i, a) {
        if ((int)i >= n || k == 0) break;
        if (strcmp(json_string_value(json_object_get(a, "question_type")), type)) continue;
        const char *gt[VQA_N_ANSWERS];
        json_t *answers = json_object_get(a, "answers"), *g;
        size_t j;
        json_array_foreach(answers, j, g) if (j < VQA_N_ANSWERS) gt[j] = json_string_value(json_object_get(g, "answer"));
        sum += metric_vqa_question_accuracy(gt, json_array_size(answers), names[best], VQA_MASTER);
        m++;
    }
    json_decref(tr);
    json_decref(ev);
    return m ? metric_vqa_round(100.0 * sum / m, 2) : -1.0;
}

/* VQA: the classifier head through BCE x answers (the whole training split
 * in one batch, so every call sees the same questions); evaluation scores
 * in range, per question type beside the type's majority-answer floor (the
 * floors recomputed from the files), and the results file holds one answer
 * per question. */
static void test_vqa_gradient_and_eval(void) {
    Fixture f;
    fixture_init(&f, "vqa", 400, 0, NULL); /* >= the tiny train split: one shuffled pass per step */
    if (!f.ok) {
        fixture_free(&f);
        return;
    }
    fixture_check_heads(&f, "vqa classifier", PARAM_GROUP_HEAD);
    MetricList ml = {0};
    char pred[256], path[300];
    snprintf(pred, sizeof pred, "%s/vqa_val", root);
    ml.want_items = 1;
    CHECK(f.task.ops->evaluate(&f.task, &f.model, "val", &ml, pred) == 0, "%s", err_msg());
    double score = task_metrics_get(&ml, "vqa_score"), n = task_metrics_get(&ml, "questions");
    CHECK(score >= 0 && score <= 100 && n > 0, "vqa_score %g over %g questions", score, n);
    static const char *const types[] = {"what is in the", "how many", "what color is the"};
    for (int t = 0; t < 3; t++) {
        char name[METRIC_NAME_MAX], *c;
        snprintf(name, sizeof name, "vqa_q_%s_majority", types[t]);
        while ((c = strchr(name, ' '))) *c = '_';
        double floor = majority_floor(f.task.env.data_dir, "val", (int)n, types[t]);
        CHECK(floor >= 0 && task_metrics_get(&ml, name) == floor, "%s: %g, recomputed %g", name,
              task_metrics_get(&ml, name), floor);
        name[strlen(name) - strlen("_majority")] = 0;
        CHECK(task_metrics_get(&ml, name) >= 0, "%s missing", name);
    }
    /* the item scores: one per question, 0/30/60/90/100, averaging to the score (rounded to 2 decimals) */
    const ItemScores *it = task_items_get(&ml, "vqa_score");
    double sum = 0;
    for (int i = 0; it && i < it->n; i++) {
        sum += it->values[i];
        CHECK(fmod(it->values[i], 10) == 0 && it->values[i] >= 0 && it->values[i] <= 100, "%g", it->values[i]);
    }
    CHECK(it && it->n == (int)n, "items %d of %g questions", it ? it->n : -1, n);
    if (it) CHECK(fabs(sum / it->n - score) <= 0.005 + 1e-9, "mean %.6f vs vqa_score %g", sum / it->n, score);
    task_metrics_free(&ml);
    snprintf(path, sizeof path, "%s.json", pred);
    json_error_t je;
    json_t *res = json_load_file(path, 0, &je);
    CHECK(res && json_is_array(res) && json_array_size(res) == (size_t)n, "%s: %s", path, res ? "wrong size" : je.text);
    json_decref(res);
    fixture_free(&f);
}

/* A task evaluating a trained model (TaskEnv.head_layout) reads only its
 * evaluation split and takes what its heads need from the layout its
 * training run recorded: VQA the answer list, in the layout's order even
 * where the data would build another (here: reversed); retrieval the
 * scoring. */
static void test_head_layouts(void) {
    Fixture f;
    fixture_init(&f, "vqa", 400, 0, NULL);
    json_t *trained = json_object(), *back = json_object(), *reversed = json_array();
    CHECK(f.ok && f.task.ops->describe_heads(&f.task, trained) == 0, "%s", err_msg());
    const json_t *answers = json_object_get(trained, "answers");
    CHECK(json_array_size(answers) >= 2, "answers: %zu", json_array_size(answers));
    for (size_t i = json_array_size(answers); i-- > 0;) json_array_append(reversed, json_array_get(answers, i));
    json_t *layout = json_pack("{s:o}", "answers", reversed);
    TaskEnv env = task_env(400, 0, 0);
    env.head_layout = layout;
    Fixture e;
    fixture_init_env(&e, "vqa", &env, D, 1, NULL);
    CHECK(e.ok && e.task.ops->describe_heads(&e.task, back) == 0 && json_equal(back, layout),
          "the answer list does not come back in the layout's order");
    MetricList ml = {0};
    CHECK(e.ok && e.task.ops->evaluate(&e.task, &e.model, "test", &ml, NULL) == 0, "%s", err_msg());
    CHECK(e.ok && e.task.ops->evaluate(&e.task, &e.model, "val", &ml, NULL) != 0 && strstr(err_msg(), "not loaded"),
          "an evaluation loads the validation split");
    fixture_free(&f), fixture_free(&e);
    json_decref(trained), json_decref(back), json_decref(layout);
    AnswerVocab v;
    CHECK(metric_vqa_answers_from_list(&v, (const char *const[]){"yes", "no", "yes"}, 3) != 0 &&
              strstr(err_msg(), "'yes' is listed twice"), "a repeated answer: %s", err_msg());
    layout = json_pack("{s:s}", "scoring", "fusion");
    back = json_object();
    env = task_env(4, 0, 0);
    env.head_layout = layout;
    fixture_init_env(&e, "retrieval", &env, D, 1, NULL);
    CHECK(e.ok && e.task.ops->describe_heads(&e.task, back) == 0 && json_equal(back, layout), "scoring");
    CHECK(e.ok && e.task.ops->evaluate(&e.task, &e.model, "val", &ml, NULL) != 0, "validation split loaded");
    fixture_free(&e);
    json_decref(back), json_decref(layout);
}

/* Pretraining: MLM + ITM + ITC heads (and the ITC temperature) through the
 * joint loss; the grounding metrics come out in range. */
/* Evaluate the val split into ml; the n metrics `names` are percentages. */
static void evaluate_in_range(Fixture *f, MetricList *ml, const char *const *names, int n) {
    CHECK(f->task.ops->evaluate(&f->task, &f->model, "val", ml, NULL) == 0, "%s", err_msg());
    for (int i = 0; i < n; i++) {
        double v = task_metrics_get(ml, names[i]);
        CHECK(v >= 0 && v <= 100, "%s = %g", names[i], v);
    }
}

/* The pretraining loss at initialisation, batch 8: ITC ~ ln 8 (in-batch; the
 * initial temperature 1/0.07 spreads it by up to ~1), ITM ~ ln 2, MLM ~ ln V. */
static double pretrain_initial_loss(void) { return log(8.0) + log(2.0) + log((double)tok.n); }

static void test_pretrain_gradient(void) {
    Fixture f;
    fixture_init(&f, "pretrain", 40, 0, NULL); /* tiny: 40 training pairs */
    if (f.ok) fixture_check_heads(&f, "pretraining heads", PARAM_GROUP_PRETRAIN);
    fixture_free(&f);
}

/* The cells objective (image only: each grid cell's category or empty from
 * its patch tokens; IMAGE/16 = 2 patches a side, one per cell): its head
 * joins the pretraining heads' gradient check, adds ~ln(categories + 1) to
 * the initial loss, and its held-out accuracy is reported beside the
 * majority guess. */
static void test_pretrain_cells(void) {
    Fixture f;
    TaskEnv env = task_env(40, 0, PRETRAIN_DEFAULT | PRETRAIN_CELLS);
    fixture_init_env(&f, "pretrain", &env, D, 1, NULL);
    int w = f.ok ? params_find(&f.model.params, "cells.fc.weight") : -1;
    CHECK(!f.ok || w >= 0, "no cells.fc.weight among the parameters");
    if (w >= 0) {
        CHECK(f.model.params.info[w].group == PARAM_GROUP_PRETRAIN, "cells.fc in group %d", f.model.params.info[w].group);
        int K = f.model.params.info[w].shape[0];
        CHECK(K == GEN_N_CLASSES + 1, "cells head of %d classes, expected %d", K, GEN_N_CLASSES + 1);
        fixture_check_heads(&f, "pretraining heads with cells", PARAM_GROUP_PRETRAIN);
    }
    fixture_free(&f);
    /* the cells loss alone into the backbone: the pooling of each cell's
     * patch rows and the unimodal backward */
    env.objectives = PRETRAIN_CELLS;
    fixture_init_env(&f, "pretrain", &env, D, 1, NULL);
    const char *backbone[] = {"transformer.norm.weight", "transformer.norm.bias", "transformer.pos_embed",
                              "transformer.patch_embed.proj.weight"};
    if (f.ok) fixture_check_tensors(&f, "cells loss into the backbone", PARAM_GROUP_BACKBONE, backbone, 4);
    fixture_free(&f);
    env.objectives = PRETRAIN_DEFAULT | PRETRAIN_CELLS;
    env.batch = 8;
    fixture_init_env(&f, "pretrain", &env, D, 1, NULL);
    if (f.ok) {
        check_training(&f, pretrain_initial_loss() + log(GEN_N_CLASSES + 1.0), 2.0, 3);
        MetricList ml = {0};
        const char *names[] = {"cell_acc", "cell_prior", "cell_acc_object", "cell_prior_object"};
        evaluate_in_range(&f, &ml, names, 4);
    }
    fixture_free(&f);
    /* a cells-only first stage of one step, then the default objectives */
    env.objectives = PRETRAIN_DEFAULT, env.cells_first = 1;
    fixture_init_env(&f, "pretrain", &env, D, 1, NULL);
    if (f.ok) {
        CHECK(params_find(&f.model.params, "cells.fc.weight") >= 0, "--cells-first without a cells head");
        check_training(&f, log(GEN_N_CLASSES + 1.0), 1.0, 0);
        double next = f.task.ops->train_step(&f.task, &f.model, &f.rng);
        double expect = pretrain_initial_loss();
        CHECK(fabs(next - expect) < 1.5, "second step (default objectives): loss %g, expected about %g", next, expect);
    }
    fixture_free(&f);
}

/* The swap objective (ITM negatives: the true image, one category word of
 * the caption swapped): the pretraining heads' gradients with it on, the
 * initial loss unchanged (ITM still ~ln 2), finite training steps, and the
 * category hard-negative metrics in range. */
static void test_pretrain_swap(void) {
    Fixture f;
    TaskEnv env = task_env(40, 0, PRETRAIN_DEFAULT | PRETRAIN_SWAP);
    fixture_init_env(&f, "pretrain", &env, D, 1, NULL);
    if (f.ok) fixture_check_heads(&f, "pretraining heads with swap", PARAM_GROUP_PRETRAIN);
    fixture_free(&f);
    env.batch = 8;
    fixture_init_env(&f, "pretrain", &env, D, 1, NULL);
    if (f.ok) {
        check_training(&f, pretrain_initial_loss(), 1.5, 3);
        MetricList ml = {0};
        const char *names[] = {"itm_acc_hard", "itm_acc_hard_category", "itm_rank_hard_category"};
        evaluate_in_range(&f, &ml, names, 3);
    }
    fixture_free(&f);
}

static void test_pretrain_eval(void) {
    Fixture f;
    fixture_init(&f, "pretrain", 8, 0, NULL);
    if (!f.ok) {
        fixture_free(&f);
        return;
    }
    check_training(&f, pretrain_initial_loss(), 1.5, 3);
    MetricList ml = {0};
    const char *names[] = {"itc_ir_r1", "itc_tr_r1", "itm_acc_random", "chance_r1"};
    evaluate_in_range(&f, &ml, names, 4);
    CHECK(task_metrics_get(&ml, "pairs") == 10, "%g held-out pairs", task_metrics_get(&ml, "pairs"));
    /* MLM accuracy of a kind is taken among the kind's words: with [UNK]
     * favoured over everything and colour c next, it is the share of held-out
     * colour words that are c; summed over the colours, 100 */
    int bias = params_find(&f.model.params, "mlm_score.decoder.bias");
    CHECK(bias >= 0, "no mlm decoder bias");
    double sum = 0;
    for (int c = 0; c < GEN_N_COLOURS && bias >= 0; c++) {
        float *b = params_data(&f.model.params, bias);
        int id = tokenizer_id(&tok, gen_colour_name[c]);
        if (id < TOK_N_SPECIAL) continue;
        b[TOK_WORD_UNK] += 2e4f, b[id] += 1e4f;
        MetricList ml2 = {0};
        CHECK(f.task.ops->evaluate(&f.task, &f.model, "val", &ml2, NULL) == 0, "%s", err_msg());
        sum += task_metrics_get(&ml2, "mlm_acc_colour");
        b[TOK_WORD_UNK] -= 2e4f, b[id] -= 1e4f;
    }
    CHECK(fabs(sum - 100) < 1e-6, "colour MLM accuracy summed over forced colours = %g, not 100", sum);
    fixture_free(&f);
}

int main(void) {
    fixture_dataset_make("moil_test_tasks", root, sizeof root, data, sizeof data, &tok);
    RUN(test_retrieval_gradient);
    RUN(test_retrieval_train_eval);
    RUN(test_retrieval_itm_init);
    RUN(test_retrieval_shortlist);
    RUN(test_nlvr_gradient);
    RUN(test_nlvr_train_eval);
    RUN(test_vqa_gradient_and_eval);
    RUN(test_head_layouts);
    RUN(test_pretrain_gradient);
    RUN(test_pretrain_eval);
    RUN(test_pretrain_cells);
    RUN(test_pretrain_swap);
    fixture_dataset_remove(root, &tok);
    return TEST_DONE();
}
