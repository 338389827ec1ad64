/* Image-text retrieval recall as ViLT/MoIL compute_irtr_recall does it.
 *
 * Source (docs/tasks.md, "Retrieval recall"): dandelin/ViLT
 * vilt/modules/objectives.py
 * compute_irtr_recall; luogen1996/MoIL objectives.py (same values).
 * scores[i * n_txt + t] is the float32 ITM score of image row i and text t.
 * TR R@K: for each image, a hit if one of its K highest-scoring texts
 * belongs to it (topk on rows); IR R@K: for each text, a hit if one of its
 * K highest-scoring images is its own (topk on columns). Each recall is
 * float32(hits / n), as torch's float32 mean gives it.
 *
 * No sort: a query is a hit at K exactly when fewer than K wrong candidates
 * score at least as high as its best-scoring correct candidate, so one pass
 * over the matrix suffices (O(n_img * n_txt)). This equals torch.topk
 * whenever the scores are tie-free. Where wrong candidates score exactly the
 * same as the best correct one, topk's order is unspecified; this code
 * counts every such tie against the query (its worst place among them), so
 * a model that scores many candidates alike (a collapsed head) earns no
 * recall from the order they happen to come in, and `ties` reports how many
 * queries had such a tie. */
#ifndef MOIL_METRIC_RETRIEVAL_H
#define MOIL_METRIC_RETRIEVAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float ir_r1, ir_r5, ir_r10; /* text -> image */
    float tr_r1, tr_r5, tr_r10; /* image -> text */
    size_t ties;                /* queries whose best correct score ties a wrong one: */
    size_t ties_ir, ties_tr;    /* of them, texts (IR) and images (TR) */
} IrtrRecall;

/* iids[n_img]: the image id of each row; tiids[n_txt]: the image id each
 * text belongs to. Needs n_img >= 10 and n_txt >= 10 (topk(10)) and finite
 * scores; returns -1 (err_set) otherwise. A query without any correct
 * candidate is a miss. */
int metric_retrieval_recall(const float *scores, size_t n_img, size_t n_txt, const int64_t *iids,
                const int64_t *tiids, IrtrRecall *out);

/* The rank of every query's best correct candidate, as the recalls count
 * it (1 + the candidates scoring strictly higher + the wrong ones scoring
 * the same; 0 for a query without a correct candidate, a miss at every K): ir_rank[n_txt] per text, tr_rank[n_img] per image (either
 * may be NULL: not wanted). R@K is the
 * share of queries with 0 < rank <= K. Same requirements and errors as
 * metric_retrieval_recall. */
int metric_retrieval_ranks(const float *scores, size_t n_img, size_t n_txt, const int64_t *iids,
                           const int64_t *tiids, double *ir_rank, double *tr_rank);

#endif
