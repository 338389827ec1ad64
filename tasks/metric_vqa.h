/* VQA accuracy as the official evaluation computes it, and the ViLT soft
 * scores.
 *
 * Sources (docs/tasks.md, "VQA accuracy"): GT-Vision-Lab/VQA vqaEval.py,
 * VQAEval.evaluate and setAccuracy, at a013f00 (master, the default) and at
 * 0dc4ab7 (branch feature/update_style, "legacy", the file most VQA code
 * bases copied); dandelin/ViLT write_vqa.py get_score and my_metrics.py
 * VQAScore. The loaders of the VQA json files live elsewhere: everything
 * here works on plain arrays and strings. */
#ifndef MOIL_METRIC_VQA_H
#define MOIL_METRIC_VQA_H

#include <stddef.h>

typedef enum {
    VQA_MASTER, /* GT and result whitespace-cleaned; both normalised only if the GT differ */
    VQA_LEGACY, /* result always normalised; GT punctuation-only, only if they differ */
} VqaVariant;

/* One evaluated question. The strings are borrowed. */
typedef struct {
    const char *const *gt;     /* [n_gt] annotator answers (10 in VQA v2) */
    size_t n_gt;
    const char *answer;        /* the predicted answer */
    const char *answer_type;   /* "yes/no", "number", "other" */
    const char *question_type; /* e.g. "what color is the" */
} VqaQuestion;

/* Accuracy over the questions of one type. */
typedef struct {
    const char *name; /* borrowed from the questions */
    size_t count;     /* questions of this type */
    double accuracy;  /* round(100 * mean, 2), as setAccuracy */
} VqaTypeAccuracy;

typedef struct {
    double overall;                    /* round(100 * mean, 2) */
    double *per_question;              /* [n] round(100 * acc, 2), as evalQA */
    VqaTypeAccuracy *answer_types;     /* in order of first appearance */
    size_t n_answer_types;
    VqaTypeAccuracy *question_types;   /* in order of first appearance */
    size_t n_question_types;
} VqaEval;

/* The accuracy of one question in [0, 1], not rounded: the mean over the n_gt
 * leave-one-out subsets of min(1, matches / 3). Answers are matched by
 * position: the official code drops every answer dict equal to the held-out
 * one, which is the same while answer_ids are unique within a question. */
double metric_vqa_question_accuracy(const char *const *gt, size_t n_gt, const char *answer,
                             VqaVariant variant);

/* Python 3 round(x, ndigits): the exact binary value rounded, ties to even. */
double metric_vqa_round(double x, int ndigits);

/* Evaluate n >= 1 questions (VQAEval.evaluate + setAccuracy). The result's
 * type names point into q. Returns -1 (err_set) if n is 0 or a question has
 * no GT answers. Free with metric_vqa_eval_free. */
int metric_vqa_evaluate(const VqaQuestion *q, size_t n, VqaVariant variant, VqaEval *out);
void metric_vqa_eval_free(VqaEval *e);

/* ViLT get_score: the soft target of an answer given by count annotators:
 * 0 -> 0, 1 -> 0.3, 2 -> 0.6, 3 -> 0.9, >= 4 -> 1. */
double metric_vqa_soft_score(int count);

/* ViLT VQAScore for one batch: the sum over rows of targets[b][argmax_j
 * logits[b][j]] (first index on ties), accumulated in float32 in row order.
 * logits, targets: [batch, n_labels] row-major. The validation "vqa score"
 * is the sum over batches divided by the number of questions. */
float metric_vqa_score_batch(const float *logits, const float *targets, size_t batch, size_t n_labels);

#endif
