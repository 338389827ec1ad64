#include "metric_vqa_answers.h"

#include "check.h"
#include "metric_text_norm.h"
#include "metric_vqa.h"

#include <stdlib.h>
#include <string.h>

int metric_vqa_answers_build(AnswerVocab *v, const VqaSet *const *sets, int n_sets, int min_count) {
    memset(v, 0, sizeof *v);
    StrMap seen; /* normalised answer -> first-occurrence index */
    str_map_init(&seen);
    int n = 0, cap = 0;
    char **keys = NULL;
    int *counts = NULL;
    int rc = 0;
    for (int s = 0; rc == 0 && s < n_sets; s++) {
        if (!sets[s]->has_answers) {
            rc = err_set("%s: no annotations loaded, cannot build the answer vocabulary", sets[s]->questions_file);
            break;
        }
        for (int i = 0; i < sets[s]->n; i++) {
            char *key = metric_text_norm_word(sets[s]->q[i].multiple_choice_answer);
            int k = str_map_add(&seen, key, n);
            if (k == n) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    keys = xrealloc(keys, (size_t)cap * sizeof *keys);
                    counts = xrealloc(counts, (size_t)cap * sizeof *counts);
                }
                keys[n] = key;
                counts[n++] = 0;
            } else {
                free(key);
            }
            counts[k]++;
        }
    }
    str_map_init(&v->ids);
    for (int k = 0; k < n; k++) {
        if (rc == 0 && counts[k] >= min_count) {
            v->answers = xrealloc(v->answers, (size_t)(v->n + 1) * sizeof *v->answers);
            v->answers[v->n] = keys[k];
            str_map_add(&v->ids, keys[k], v->n++);
        } else {
            free(keys[k]);
        }
    }
    free(keys);
    free(counts);
    str_map_free(&seen);
    if (rc == 0 && v->n == 0)
        rc = err_set("answer vocabulary: no answer occurs %d or more times in %d question set(s)", min_count, n_sets);
    if (rc != 0) metric_vqa_answers_free(v);
    return rc;
}

int metric_vqa_answers_from_list(AnswerVocab *v, const char *const *answers, int n) {
    memset(v, 0, sizeof *v);
    str_map_init(&v->ids);
    if (n < 1) return err_set("answer vocabulary: the answer list is empty");
    v->answers = xcalloc(n, sizeof *v->answers);
    for (int k = 0; k < n; k++) {
        if (str_map_add(&v->ids, answers[k], k) != k) {
            metric_vqa_answers_free(v);
            return err_set("answer vocabulary: '%s' is listed twice", answers[k]);
        }
        v->answers[v->n++] = xstrdup(answers[k]);
    }
    return 0;
}

void metric_vqa_answers_free(AnswerVocab *v) {
    for (int i = 0; i < v->n; i++) free(v->answers[i]);
    free(v->answers);
    if (v->ids.keys) str_map_free(&v->ids);
    memset(v, 0, sizeof *v);
}

int metric_vqa_answers_find(const AnswerVocab *v, const char *answer) { return str_map_find(&v->ids, answer); }

int metric_vqa_answers_targets(const AnswerVocab *v, const VqaEntry *e, int *labels, float *scores) {
    int n = 0;
    for (int k = 0; e->answers[0] && k < VQA_N_ANSWERS; k++) {
        int first = 1, count = 0;
        for (int j = 0; j < VQA_N_ANSWERS; j++) {
            if (strcmp(e->answers[j], e->answers[k])) continue;
            if (j < k) first = 0;
            count++;
        }
        int id = first ? metric_vqa_answers_find(v, e->answers[k]) : -1;
        if (id < 0) continue;
        labels[n] = id;
        scores[n++] = (float)metric_vqa_soft_score(count);
    }
    return n;
}

void metric_vqa_answers_target_row(const AnswerVocab *v, const VqaEntry *e, float *row) {
    int labels[VQA_N_ANSWERS];
    float scores[VQA_N_ANSWERS];
    int n = metric_vqa_answers_targets(v, e, labels, scores);
    memset(row, 0, (size_t)v->n * sizeof *row);
    for (int i = 0; i < n; i++) row[labels[i]] = scores[i];
}

int metric_vqa_answers_drop_unlabeled(const AnswerVocab *v, VqaSet *s) {
    if (!s->has_answers) return 0;
    int kept = 0;
    for (int i = 0; i < s->n; i++) {
        int labels[VQA_N_ANSWERS];
        float scores[VQA_N_ANSWERS];
        if (metric_vqa_answers_targets(v, &s->q[i], labels, scores) > 0) {
            s->q[kept++] = s->q[i];
            continue;
        }
        data_vqa_entry_free(&s->q[i]);
    }
    int dropped = s->n - kept;
    s->n = kept;
    return dropped;
}
