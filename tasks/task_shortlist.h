/* The first stage of retrieval over a large set: per query, the k best
 * candidates by a score of every pair computed once (the pretrained model's
 * ITM score for a fusion model, the ITC cosine of a unimodal pass for a dual
 * encoder), which the fused rank head then re-ranks (tasks/task_retrieval.c);
 * and the shortlist's recall, the share of queries whose true match it
 * holds, which bounds every recall of the re-ranking at K <= k. */
#ifndef MOIL_TASK_SHORTLIST_H
#define MOIL_TASK_SHORTLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int k_img;       /* images listed per text: min(k, n_img) */
    int k_txt;       /* texts listed per image: min(k, n_txt) */
    int *img_of_txt; /* [n_txt, k_img] IR: each text's best images, best first */
    int *txt_of_img; /* [n_img, k_txt] TR: each image's best texts, best first */
} Shortlist;

/* The lists of scores[n_img * n_txt] (row-major: image i, text t), k >= 1;
 * equal scores are listed lower index first. A non-finite score is an
 * error (-1, err_set): it has no place in an order. */
int shortlist_build(Shortlist *sl, const float *scores, int n_img, int n_txt, int k);

/* The share (0..1) of texts whose own image is on their list (*ir) and of
 * images with one of their own texts on their list (*tr), as float32(hits /
 * n) like the recalls of metric_retrieval.h; iids[n_img] and tiids[n_txt]
 * are the image ids of the images and of the texts' images. */
void shortlist_recall(const Shortlist *sl, int n_img, int n_txt, const int64_t *iids, const int64_t *tiids,
                      double *ir, double *tr);

void shortlist_free(Shortlist *sl);

/* A first stage's scores[n_img * n_txt] cached in a file: the line
 * "moil first stage\n", n_img and n_txt (int32), then the scores
 * (float32, row-major), in the machine's byte order. read: 1 when path
 * holds them (into scores), 0 when there is no file, -1 (err_set) when the
 * file is not one of n_img x n_txt scores. write: atomic, 0 or -1. */
int shortlist_cache_read(const char *path, int n_img, int n_txt, float *scores);
/* Where a dataset keeps them: dir = DATA/first_stage, path = dir/<key as
 * 16 hex digits>.f32 (each of n bytes). */
void shortlist_cache_path(char *dir, char *path, size_t n, const char *data_dir, uint64_t key);
int shortlist_cache_write(const char *path, int n_img, int n_txt, const float *scores);

#endif
