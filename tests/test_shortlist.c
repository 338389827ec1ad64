/* Retrieval shortlists (tasks/task_shortlist.h): the lists of a hand-made
 * matrix with ties, their recall against metric_retrieval_recall's R@K on
 * random matrices (a query's true match is on its list of k exactly when it
 * is a hit at R@k), a list as long as the set holding every candidate, the
 * refusals, and the first stage's cache file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "metric_retrieval.h"
#include "rng.h"
#include "task_shortlist.h"
#include "test.h"

/* 2 images x 3 texts; text 2 belongs to image 1. Text 0 ties on both
 * images (the lower index first); image 1 ranks text 2, then texts 0 and 1
 * tied. */
static void test_by_hand(void) {
    const float s[6] = {0.5f, 0.9f, 0.1f, /* image 0 */
                        0.5f, 0.5f, 0.7f}; /* image 1 */
    const int64_t iids[2] = {10, 11}, tiids[3] = {10, 10, 11};
    Shortlist sl;
    CHECK(shortlist_build(&sl, s, 2, 3, 1) == 0, "%s", err_msg());
    CHECK(sl.k_img == 1 && sl.k_txt == 1, "k %d %d", sl.k_img, sl.k_txt);
    CHECK(sl.img_of_txt[0] == 0 && sl.img_of_txt[1] == 0 && sl.img_of_txt[2] == 1, "IR lists %d %d %d",
          sl.img_of_txt[0], sl.img_of_txt[1], sl.img_of_txt[2]);
    CHECK(sl.txt_of_img[0] == 1 && sl.txt_of_img[1] == 2, "TR lists %d %d", sl.txt_of_img[0], sl.txt_of_img[1]);
    double ir, tr;
    shortlist_recall(&sl, 2, 3, iids, tiids, &ir, &tr);
    CHECK(ir == 1.0 && tr == 1.0, "recall %g %g", ir, tr);
    shortlist_free(&sl);
    CHECK(shortlist_build(&sl, s, 2, 3, 2) == 0, "%s", err_msg());
    CHECK(sl.k_img == 2 && sl.k_txt == 2, "k %d %d (2 images: at most 2)", sl.k_img, sl.k_txt);
    CHECK(sl.txt_of_img[2] == 2 && sl.txt_of_img[3] == 0, "image 1's list %d %d (tie: lower index)",
          sl.txt_of_img[2], sl.txt_of_img[3]);
    shortlist_free(&sl);
}

/* On tie-free random scores the shortlist's recall at k is R@k, for the
 * three K the metric reports; k >= the set: every query holds its match. */
static void test_recall_is_r_at_k(void) {
    enum { NI = 30, NT = 150 };
    static float s[NI * NT];
    int64_t iids[NI], tiids[NT];
    Rng rng;
    rng_seed(&rng, 9);
    for (int i = 0; i < NI; i++) iids[i] = 100 + i;
    for (int t = 0; t < NT; t++) tiids[t] = 100 + t / 5;
    for (int p = 0; p < NI * NT; p++) s[p] = rng_normal(&rng) + (iids[p / NT] == tiids[p % NT] ? 1.5f : 0.0f);
    IrtrRecall r;
    CHECK(metric_retrieval_recall(s, NI, NT, iids, tiids, &r) == 0 && r.ties == 0, "%s (ties %zu)", err_msg(),
          r.ties);
    const int ks[3] = {1, 5, 10};
    const float want_ir[3] = {r.ir_r1, r.ir_r5, r.ir_r10}, want_tr[3] = {r.tr_r1, r.tr_r5, r.tr_r10};
    for (int j = 0; j < 3; j++) {
        Shortlist sl;
        double ir, tr;
        CHECK(shortlist_build(&sl, s, NI, NT, ks[j]) == 0, "%s", err_msg());
        shortlist_recall(&sl, NI, NT, iids, tiids, &ir, &tr);
        CHECK(fabs(ir - want_ir[j]) < 1e-6 && fabs(tr - want_tr[j]) < 1e-6, "k %d: %g %g, R@k %g %g", ks[j], ir, tr,
              want_ir[j], want_tr[j]);
        CHECK(ir < 1.0 || ks[j] == 10, "k %d: recall %g, a test that cannot fail", ks[j], ir);
        shortlist_free(&sl);
    }
    Shortlist all;
    double ir, tr;
    CHECK(shortlist_build(&all, s, NI, NT, NT) == 0, "%s", err_msg());
    shortlist_recall(&all, NI, NT, iids, tiids, &ir, &tr);
    CHECK(all.k_img == NI && all.k_txt == NT && ir == 1.0 && tr == 1.0, "k %d %d recall %g %g", all.k_img,
          all.k_txt, ir, tr);
    shortlist_free(&all);
}

static void test_refusals(void) {
    float s[4] = {0, 1, NAN, 2};
    Shortlist sl;
    CHECK(shortlist_build(&sl, s, 2, 2, 1) != 0 && strstr(err_msg(), "image 1, text 0"), "NaN: %s", err_msg());
    CHECK(shortlist_build(&sl, s, 2, 2, 0) != 0 && strstr(err_msg(), "k 0"), "k 0: %s", err_msg());
}

static void test_cache(void) {
    char dir[] = "/tmp/moil_test_shortlist_XXXXXX", path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/scores.f32", dir);
    float s[6] = {0.5f, -1, 3, 1e-7f, 2, 4}, back[6] = {0};
    CHECK(shortlist_cache_read(path, 2, 3, back) == 0, "no file: %s", err_msg());
    CHECK(shortlist_cache_write(path, 2, 3, s) == 0, "%s", err_msg());
    CHECK(shortlist_cache_read(path, 2, 3, back) == 1 && !memcmp(s, back, sizeof s), "round trip: %s", err_msg());
    CHECK(shortlist_cache_read(path, 3, 2, back) < 0 && strstr(err_msg(), "3 images x 2 texts"), "3 x 2: %s",
          err_msg());
    CHECK(shortlist_cache_read(path, 2, 4, back) < 0, "2 x 4 read a 2 x 3 file");
    unlink(path);
    rmdir(dir);
}

int main(void) {
    RUN(test_by_hand);
    RUN(test_recall_is_r_at_k);
    RUN(test_refusals);
    RUN(test_cache);
    return TEST_DONE();
}
