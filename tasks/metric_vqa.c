/* VQA accuracy and ViLT soft scores; see metric_vqa.h. */
#include "metric_vqa.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metric_text_norm.h"

/* processDigitArticle(processPunctuation(s)), newly allocated. */
static char *normalise_full(const char *s) {
    char *p = metric_text_norm_process_punctuation(s);
    char *d = metric_text_norm_process_digit_article(p);
    free(p);
    return d;
}

static int all_identical(char *const *s, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i], s[0]) != 0) return 0;
    return 1;
}

/* The leave-one-out mean of min(1, m_i / 3), summed left to right as
 * Python's sum() does. */
static double leave_one_out(char *const *gt, size_t n_gt, const char *res) {
    size_t k = 0;
    for (size_t j = 0; j < n_gt; j++) k += strcmp(gt[j], res) == 0;
    double sum = 0.0;
    for (size_t i = 0; i < n_gt; i++) {
        size_t m = k - (strcmp(gt[i], res) == 0);
        double acc = (double)m / 3;
        sum += acc < 1 ? acc : 1;
    }
    return sum / (double)n_gt;
}

double metric_vqa_question_accuracy(const char *const *gt, size_t n_gt, const char *answer,
                             VqaVariant variant) {
    char **g = xcalloc(n_gt, sizeof *g);
    char *res = metric_text_norm_clean_answer(answer);
    for (size_t i = 0; i < n_gt; i++)
        g[i] = variant == VQA_MASTER ? metric_text_norm_clean_answer(gt[i]) : xstrdup(gt[i]);

    if (variant == VQA_LEGACY) {
        char *r = normalise_full(res);
        free(res);
        res = r;
    }
    if (!all_identical(g, n_gt)) {
        for (size_t i = 0; i < n_gt; i++) {
            char *t = variant == VQA_MASTER ? normalise_full(g[i]) : metric_text_norm_process_punctuation(g[i]);
            free(g[i]);
            g[i] = t;
        }
        if (variant == VQA_MASTER) {
            char *r = normalise_full(res);
            free(res);
            res = r;
        }
    }
    double acc = leave_one_out(g, n_gt, res);
    for (size_t i = 0; i < n_gt; i++) free(g[i]);
    free(g);
    free(res);
    return acc;
}

double metric_vqa_round(double x, int ndigits) {
    if (!isfinite(x) || fabs(x) >= 1e300) return x;
    /* glibc prints the exact binary value rounded to nearest, ties to even,
     * as Python's dtoa does; parsing it back gives the nearest double. */
    char buf[512];
    snprintf(buf, sizeof buf, "%.*f", ndigits, x);
    return strtod(buf, NULL);
}

/* Accumulates per-type sums in order of first appearance. */
typedef struct {
    VqaTypeAccuracy *t;
    double *sum;
    size_t n;
} TypeTable;

/* The arrays hold one slot per question, so a new type always fits. */
static void type_add(TypeTable *tt, const char *name, double acc) {
    size_t i = 0;
    while (i < tt->n && strcmp(tt->t[i].name, name) != 0) i++;
    if (i == tt->n) {
        tt->t[i] = (VqaTypeAccuracy){.name = name, .count = 0, .accuracy = 0};
        tt->sum[i] = 0.0;
        tt->n++;
    }
    tt->t[i].count++;
    tt->sum[i] += acc;
}

static void type_finish(TypeTable *tt) {
    for (size_t i = 0; i < tt->n; i++)
        tt->t[i].accuracy = metric_vqa_round(100 * tt->sum[i] / (double)tt->t[i].count, 2);
    free(tt->sum);
    tt->sum = NULL;
}

int metric_vqa_evaluate(const VqaQuestion *q, size_t n, VqaVariant variant, VqaEval *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return err_set("vqa: no questions to evaluate");
    for (size_t i = 0; i < n; i++)
        if (q[i].n_gt == 0) return err_set("vqa: question %zu has no ground-truth answers", i);

    TypeTable ans = {xcalloc(n, sizeof *ans.t), xcalloc(n, sizeof(double)), 0};
    TypeTable ques = {xcalloc(n, sizeof *ques.t), xcalloc(n, sizeof(double)), 0};
    out->per_question = xcalloc(n, sizeof *out->per_question);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double acc = metric_vqa_question_accuracy(q[i].gt, q[i].n_gt, q[i].answer, variant);
        out->per_question[i] = metric_vqa_round(100 * acc, 2);
        sum += acc;
        type_add(&ans, q[i].answer_type, acc);
        type_add(&ques, q[i].question_type, acc);
    }
    /* round(100*float(sum(accQA))/len(accQA), 2): multiply, then divide. */
    out->overall = metric_vqa_round(100 * sum / (double)n, 2);
    type_finish(&ans);
    type_finish(&ques);
    out->answer_types = ans.t;
    out->n_answer_types = ans.n;
    out->question_types = ques.t;
    out->n_question_types = ques.n;
    return 0;
}

void metric_vqa_eval_free(VqaEval *e) {
    free(e->per_question);
    free(e->answer_types);
    free(e->question_types);
    memset(e, 0, sizeof *e);
}

double metric_vqa_soft_score(int count) {
    static const double score[] = {0.0, 0.3, 0.6, 0.9};
    if (count <= 0) return 0.0;
    return count < 4 ? score[count] : 1.0;
}

float metric_vqa_score_batch(const float *logits, const float *targets, size_t batch, size_t n_labels) {
    float sum = 0.0f;
    if (n_labels == 0) return sum;
    for (size_t b = 0; b < batch; b++) {
        const float *row = logits + b * n_labels;
        size_t best = 0;
        for (size_t j = 1; j < n_labels; j++)
            if (row[j] > row[best]) best = j;
        sum += targets[b * n_labels + best];
    }
    return sum;
}
