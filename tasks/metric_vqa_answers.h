/* The VQA answer vocabulary and soft targets as ViLT builds them
 * (docs/tasks.md, "Answer vocabulary and soft targets"; dandelin/ViLT
 * write_vqa.py make_arrow, get_score):
 *  - keys: metric_text_norm_word(multiple_choice_answer) over the train and val
 *    annotations, kept when they occur >= min_count times (ViLT: 9), ids in
 *    order of first occurrence (train before val);
 *  - per question: the distinct RAW annotator answers (not normalised) that
 *    are keys, in order of first appearance, each with score
 *    metric_vqa_soft_score(count): 0.3 / 0.6 / 0.9 / 1;
 *  - train/val questions without any label are dropped. */
#ifndef MOIL_ANSWER_VOCAB_H
#define MOIL_ANSWER_VOCAB_H

#include "data_vqa.h"
#include "str_map.h"

#define ANSWER_VOCAB_MIN_COUNT 9 /* ViLT's threshold */

typedef struct {
    int n;
    char **answers; /* [n] id -> answer */
    StrMap ids;     /* answer -> id */
} AnswerVocab;

/* Build from sets[0..n_sets-1] in order; each set must have answers. An
 * empty vocabulary is an error. */
int metric_vqa_answers_build(AnswerVocab *v, const VqaSet *const *sets, int n_sets, int min_count);
/* The vocabulary of a given answer list, ids in list order (a trained
 * head's outputs); an empty list or an answer listed twice is an error. */
int metric_vqa_answers_from_list(AnswerVocab *v, const char *const *answers, int n);
void metric_vqa_answers_free(AnswerVocab *v);
/* The id of an answer key, -1 if absent. */
int metric_vqa_answers_find(const AnswerVocab *v, const char *answer);
/* labels/scores [VQA_N_ANSWERS]; returns the number of labels (0 for a
 * question without answers). */
int metric_vqa_answers_targets(const AnswerVocab *v, const VqaEntry *e, int *labels, float *scores);
/* The dense target row [v->n]: zeros, then the scores at the labels. */
void metric_vqa_answers_target_row(const AnswerVocab *v, const VqaEntry *e, float *row);
/* Remove the questions without any label from s (keeps order); returns the
 * number removed. A set without answers (test) is left alone. */
int metric_vqa_answers_drop_unlabeled(const AnswerVocab *v, VqaSet *s);

#endif
