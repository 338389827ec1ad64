/* Retrieval shortlists and their recall; see task_shortlist.h. */
#include "task_shortlist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

typedef struct {
    float score;
    int index;
} Candidate;

/* Higher score first, then lower index: a total order on finite scores. */
static int candidate_cmp(const void *a, const void *b) {
    const Candidate *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* The k best of x[0], x[stride], ..., x[(n-1) stride] into top[k]. */
static void best_k(const float *x, int n, size_t stride, int k, Candidate *buf, int *top) {
    for (int c = 0; c < n; c++) buf[c] = (Candidate){x[(size_t)c * stride], c};
    qsort(buf, (size_t)n, sizeof *buf, candidate_cmp);
    for (int j = 0; j < k; j++) top[j] = buf[j].index;
}

int shortlist_build(Shortlist *sl, const float *scores, int n_img, int n_txt, int k) {
    *sl = (Shortlist){0};
    if (k < 1 || n_img < 1 || n_txt < 1)
        return err_set("shortlist: k %d of %d images x %d texts (each at least 1)", k, n_img, n_txt);
    size_t n = (size_t)n_img * n_txt;
    for (size_t p = 0; p < n; p++)
        if (!isfinite(scores[p]))
            return err_set("shortlist: first-stage score of image %zu, text %zu is not finite", p / n_txt, p % n_txt);
    sl->k_img = k < n_img ? k : n_img;
    sl->k_txt = k < n_txt ? k : n_txt;
    sl->img_of_txt = xcalloc((size_t)n_txt * sl->k_img, sizeof(int));
    sl->txt_of_img = xcalloc((size_t)n_img * sl->k_txt, sizeof(int));
    Candidate *buf = xcalloc((size_t)(n_img > n_txt ? n_img : n_txt), sizeof *buf);
    for (int t = 0; t < n_txt; t++)
        best_k(scores + t, n_img, (size_t)n_txt, sl->k_img, buf, sl->img_of_txt + (size_t)t * sl->k_img);
    for (int i = 0; i < n_img; i++)
        best_k(scores + (size_t)i * n_txt, n_txt, 1, sl->k_txt, buf, sl->txt_of_img + (size_t)i * sl->k_txt);
    free(buf);
    return 0;
}

void shortlist_recall(const Shortlist *sl, int n_img, int n_txt, const int64_t *iids, const int64_t *tiids,
                      double *ir, double *tr) {
    int hits = 0;
    for (int t = 0; t < n_txt; t++) {
        int hit = 0;
        for (int j = 0; j < sl->k_img && !hit; j++) hit = iids[sl->img_of_txt[(size_t)t * sl->k_img + j]] == tiids[t];
        hits += hit;
    }
    *ir = (float)hits / (float)n_txt;
    hits = 0;
    for (int i = 0; i < n_img; i++) {
        int hit = 0;
        for (int j = 0; j < sl->k_txt && !hit; j++) hit = tiids[sl->txt_of_img[(size_t)i * sl->k_txt + j]] == iids[i];
        hits += hit;
    }
    *tr = (float)hits / (float)n_img;
}

void shortlist_free(Shortlist *sl) {
    free(sl->img_of_txt);
    free(sl->txt_of_img);
    *sl = (Shortlist){0};
}

static const char cache_magic[] = "moil first stage\n";

int shortlist_cache_read(const char *path, int n_img, int n_txt, float *scores) {
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT ? 0 : err_set("%s: %s", path, strerror(errno));
    size_t head = sizeof cache_magic - 1, n = (size_t)n_img * n_txt, len;
    char *buf = file_read_all(path, head + 2 * sizeof(int32_t) + n * sizeof(float) + 1, &len);
    if (!buf) return -1;
    int32_t dims[2] = {0, 0};
    if (len == head + sizeof dims + n * sizeof(float) && !memcmp(buf, cache_magic, head)) memcpy(dims, buf + head, sizeof dims);
    int ok = dims[0] == n_img && dims[1] == n_txt;
    if (ok) memcpy(scores, buf + head + sizeof dims, n * sizeof(float));
    free(buf);
    return ok ? 1
              : err_set("%s: not the first-stage scores of %d images x %d texts (%zu bytes); remove it to "
                        "recompute them",
                        path, n_img, n_txt, len);
}

void shortlist_cache_path(char *dir, char *path, size_t n, const char *data_dir, uint64_t key) {
    snprintf(dir, n, "%s/first_stage", data_dir);
    snprintf(path, n, "%s/first_stage/%016llx.f32", data_dir, (unsigned long long)key);
}

int shortlist_cache_write(const char *path, int n_img, int n_txt, const float *scores) {
    int32_t dims[2] = {n_img, n_txt};
    FilePart parts[3] = {{cache_magic, sizeof cache_magic - 1},
                         {dims, sizeof dims},
                         {scores, (size_t)n_img * n_txt * sizeof(float)}};
    return file_write_atomic_parts(path, parts, 3);
}
