/* NLVR2 accuracy and consistency as lil-lab/nlvr nlvr2/eval/metrics.py
 * computes them, and the predictions CSV it reads (docs/tasks.md, "NLVR2
 * accuracy and consistency").
 *
 * Predictions CSV: one "identifier,prediction" line per example, no header,
 * no blank lines. Each line is stripped of surrounding whitespace and split
 * on ','; the prediction is the second field; a repeated identifier keeps
 * its last prediction. Predictions compare with labels case-insensitively. */
#ifndef MOIL_METRIC_NLVR_H
#define MOIL_METRIC_NLVR_H

#include <stddef.h>

typedef struct {
    char **ids;   /* [n] identifiers, sorted (strcmp), unique */
    char **preds; /* [n] the prediction of ids[i] */
    size_t n;
} Nlvr2Predictions;

/* Read a predictions CSV. A blank line or a line without a comma is an
 * error naming the line (the official script crashes on both). */
int metric_nlvr_predictions_read(const char *path, Nlvr2Predictions *out);
void metric_nlvr_predictions_free(Nlvr2Predictions *p);

/* Write n lines "ids[i],preds[i]" atomically; refuses fields holding a
 * comma or a line break. */
int metric_nlvr_predictions_write(const char *path, const char *const *ids, const char *const *preds,
                            size_t n);

/* Score the n labelled examples (ids[i] with label labels[i], "True" or
 * "False"): accuracy = correct / n; consistency = fraction of sentence
 * groups (the identifier "split-set-pair-sentence" with pair emptied,
 * "dev-850-0-0" -> "dev-850--0") whose examples are all correct. Returns
 * -1 (err_set) when an example has no prediction (the message names the
 * missing identifiers), n is 0 or an identifier has fewer than 3 fields.
 * Extra predictions are ignored. */
int metric_nlvr_score(const char *const *ids, const char *const *labels, size_t n,
                const Nlvr2Predictions *p, double *accuracy, double *consistency);

#endif
