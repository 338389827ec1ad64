/* Retrieval recall; see metric_retrieval.h. */
#include "metric_retrieval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { MIN_CANDIDATES = 10 };

/* Per query: the best correct score, how many candidates beat it, and
 * how many wrong candidates equal it. */
typedef struct {
    float best;
    int has_match;
    size_t above;
    size_t tied;
} Rank;

/* Wrong candidates placed before the best correct one: ties count against
 * the query. */
static size_t rank_before(const Rank *r) { return r->above + r->tied; }

/* float32(hits / n) for K = 1, 5, 10. */
static void recalls(const Rank *r, size_t n, float out[3]) {
    static const size_t ks[3] = {1, 5, 10};
    for (int j = 0; j < 3; j++) {
        size_t hits = 0;
        for (size_t q = 0; q < n; q++) hits += r[q].has_match && rank_before(&r[q]) < ks[j];
        out[j] = (float)hits / (float)n;
    }
}

static size_t count_ties(const Rank *r, size_t n) {
    size_t t = 0;
    for (size_t q = 0; q < n; q++) t += r[q].has_match && r[q].tied > 0;
    return t;
}

/* Pass 1: the best correct score of every query. Pass 2: rank it. */
static void rank_update_best(Rank *r, float s) {
    if (!r->has_match || s > r->best) r->best = s;
    r->has_match = 1;
}

static void rank_update_count(Rank *r, float s, int correct) {
    if (!r->has_match) return;
    if (s > r->best) r->above++;
    else if (s == r->best && !correct) r->tied++;
}

/* Rank every query: img[n_img] (TR, rows) and txt[n_txt] (IR, columns).
 * -1 (err_set) when there are too few candidates or a score is not finite. */
static int rank_queries(const float *scores, size_t n_img, size_t n_txt, const int64_t *iids, const int64_t *tiids,
                        Rank **img_out, Rank **txt_out) {
    if (n_img < MIN_CANDIDATES || n_txt < MIN_CANDIDATES)
        return err_set("retrieval: need at least %d images and %d texts, got %zu x %zu",
                       MIN_CANDIDATES, MIN_CANDIDATES, n_img, n_txt);
    for (size_t k = 0; k < n_img * n_txt; k++)
        if (!isfinite(scores[k]))
            return err_set("retrieval: score of image %zu, text %zu is not finite", k / n_txt,
                           k % n_txt);

    Rank *img = xcalloc(n_img, sizeof *img); /* TR queries (rows) */
    Rank *txt = xcalloc(n_txt, sizeof *txt); /* IR queries (columns) */
    /* Row-major passes; the column queries are updated along each row. */
    for (size_t i = 0; i < n_img; i++) {
        const float *row = scores + i * n_txt;
        for (size_t t = 0; t < n_txt; t++)
            if (iids[i] == tiids[t]) {
                rank_update_best(&img[i], row[t]);
                rank_update_best(&txt[t], row[t]);
            }
    }
    for (size_t i = 0; i < n_img; i++) {
        const float *row = scores + i * n_txt;
        for (size_t t = 0; t < n_txt; t++) {
            int correct = iids[i] == tiids[t];
            rank_update_count(&img[i], row[t], correct);
            rank_update_count(&txt[t], row[t], correct);
        }
    }
    *img_out = img;
    *txt_out = txt;
    return 0;
}

int metric_retrieval_recall(const float *scores, size_t n_img, size_t n_txt, const int64_t *iids,
                const int64_t *tiids, IrtrRecall *out) {
    memset(out, 0, sizeof *out);
    Rank *img = NULL, *txt = NULL;
    if (rank_queries(scores, n_img, n_txt, iids, tiids, &img, &txt)) return -1;
    float ir[3], tr[3];
    recalls(txt, n_txt, ir);
    recalls(img, n_img, tr);
    size_t ties_ir = count_ties(txt, n_txt), ties_tr = count_ties(img, n_img);
    *out = (IrtrRecall){ir[0], ir[1], ir[2], tr[0], tr[1], tr[2], ties_ir + ties_tr, ties_ir, ties_tr};
    free(img);
    free(txt);
    return 0;
}

int metric_retrieval_ranks(const float *scores, size_t n_img, size_t n_txt, const int64_t *iids,
                           const int64_t *tiids, double *ir_rank, double *tr_rank) {
    Rank *img = NULL, *txt = NULL;
    if (rank_queries(scores, n_img, n_txt, iids, tiids, &img, &txt)) return -1;
    for (size_t t = 0; ir_rank && t < n_txt; t++) ir_rank[t] = txt[t].has_match ? (double)rank_before(&txt[t]) + 1 : 0;
    for (size_t i = 0; tr_rank && i < n_img; i++) tr_rank[i] = img[i].has_match ? (double)rank_before(&img[i]) + 1 : 0;
    free(img);
    free(txt);
    return 0;
}
