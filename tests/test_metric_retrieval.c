/* Retrieval recall against the official values of the retrieval test
 * vectors (docs/tasks.md, "Test vectors") and hand-made cases. */
#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "metric_retrieval.h"
#include "test.h"

static void test_bundle(void) {
    json_error_t e;
    json_t *b = json_load_file("tests/vectors/irtr/bundle.json", 0, &e);
    CHECK(b != NULL, "cannot read tests/vectors/irtr/bundle.json: %s", e.text);
    if (!b) return;
    json_t *rows = json_object_get(b, "scores"), *t2i = json_object_get(b, "txt2img");
    size_t n_img = json_array_size(rows), n_txt = json_array_size(t2i);
    CHECK(n_img == 12 && n_txt == 60, "%zu x %zu", n_img, n_txt);
    float *s = xmalloc(n_img * n_txt * sizeof *s);
    int64_t *iids = xmalloc(n_img * sizeof *iids), *tiids = xmalloc(n_txt * sizeof *tiids);
    for (size_t i = 0; i < n_img; i++) {
        iids[i] = (int64_t)i; /* image ids are the row indices */
        for (size_t t = 0; t < n_txt; t++)
            s[i * n_txt + t] = (float)json_number_value(json_array_get(json_array_get(rows, i), t));
    }
    for (size_t t = 0; t < n_txt; t++) tiids[t] = json_integer_value(json_array_get(t2i, t));
    IrtrRecall r;
    CHECK(metric_retrieval_recall(s, n_img, n_txt, iids, tiids, &r) == 0, "%s", err_msg());
    CHECK(r.ir_r1 == 28.0f / 60 && r.ir_r5 == 58.0f / 60 && r.ir_r10 == 1.0f, "ir %.9g %.9g %.9g",
          r.ir_r1, r.ir_r5, r.ir_r10);
    CHECK(r.tr_r1 == 10.0f / 12 && r.tr_r5 == 1.0f && r.tr_r10 == 1.0f, "tr %.9g %.9g %.9g", r.tr_r1,
          r.tr_r5, r.tr_r10);
    /* The printed values of 6.3 (9 significant digits). */
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g %.9g %.9g", r.ir_r1, r.ir_r5, r.tr_r1);
    CHECK(strcmp(buf, "0.466666669 0.966666639 0.833333313") == 0, "%s", buf);
    CHECK(r.ties == 0, "%zu ties", r.ties);
    free(s);
    free(iids);
    free(tiids);
    json_decref(b);
}

/* 10 images x 10 texts, text j belongs to image j. Row i scores a wrong
 * text j as j and its own text as 9.5 - i, so the wrong texts above the own
 * one are those with j > 9.5 - i: rows 0..9 have 0,1,2,3,4,4,5,6,7,8 above.
 * TR R@1 = 1/10, R@5 = 6/10 (rows 0..5), R@10 = 1. Column j: the other
 * rows all score j, the own row 9.5 - j, so columns 0..4 rank it first and
 * columns 5..9 last (9 above): IR R@1 = R@5 = 5/10, R@10 = 1. */
static void test_by_hand(void) {
    enum { N = 10 };
    float s[N][N];
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = 100 + i;
        for (int j = 0; j < N; j++) s[i][j] = j == i ? 9.5f - (float)i : (float)j;
    }
    IrtrRecall r;
    CHECK(metric_retrieval_recall(&s[0][0], N, N, ids, ids, &r) == 0, "%s", err_msg());
    CHECK(r.tr_r1 == 0.1f && r.tr_r5 == 0.6f && r.tr_r10 == 1.0f, "tr %.9g %.9g %.9g", r.tr_r1,
          r.tr_r5, r.tr_r10);
    CHECK(r.ir_r1 == 0.5f && r.ir_r5 == 0.5f && r.ir_r10 == 1.0f, "ir %.9g %.9g %.9g", r.ir_r1,
          r.ir_r5, r.ir_r10);
    CHECK(r.ties == 0, "%zu ties", r.ties);
    /* Row 3's own text tied with wrong text 7: ranked behind it, at 4 (8
     * and 9 above), still a hit at 5, and reported. */
    s[3][3] = 7.0f;
    CHECK(metric_retrieval_recall(&s[0][0], N, N, ids, ids, &r) == 0 && r.ties == 1, "%zu ties", r.ties);
    CHECK(r.tr_r5 == 0.6f, "tr_r5 %.9g", r.tr_r5);
    /* Row 0's own text tied with wrong text 9, nothing above: the tie
     * counts against it, so TR R@1 loses row 0's hit (rank 2). */
    s[0][0] = 9.0f;
    double tr_rank[N];
    CHECK(metric_retrieval_recall(&s[0][0], N, N, ids, ids, &r) == 0 && r.ties == 2, "%zu ties", r.ties);
    CHECK(r.tr_r1 == 0.0f && r.tr_r5 == 0.6f, "tr %.9g %.9g", r.tr_r1, r.tr_r5);
    CHECK(metric_retrieval_ranks(&s[0][0], N, N, ids, ids, NULL, tr_rank) == 0, "%s", err_msg());
    CHECK(tr_rank[0] == 2 && tr_rank[3] == 4 && tr_rank[1] == 2, "ranks %g %g %g", tr_rank[0], tr_rank[3],
          tr_rank[1]);
}

/* A head that scores every pair alike (collapsed to a constant) ranks
 * nothing: every query's own candidate comes after all its ties, so every
 * recall is 0, every query is reported tied and ranked last. */
static void test_constant_scores(void) {
    enum { NI = 12, NT = 24 };
    float s[NI * NT];
    int64_t iids[NI], tiids[NT];
    for (int i = 0; i < NI; i++) iids[i] = i;
    for (int t = 0; t < NT; t++) tiids[t] = t / 2;
    for (int k = 0; k < NI * NT; k++) s[k] = 0.25f;
    IrtrRecall r;
    CHECK(metric_retrieval_recall(s, NI, NT, iids, tiids, &r) == 0, "%s", err_msg());
    CHECK(r.ir_r1 == 0 && r.ir_r10 == 0 && r.tr_r1 == 0 && r.tr_r10 == 0, "%g %g %g %g", r.ir_r1, r.ir_r10,
          r.tr_r1, r.tr_r10);
    CHECK(r.ties == NI + NT && r.ties_ir == NT && r.ties_tr == NI, "%zu %zu %zu", r.ties, r.ties_ir, r.ties_tr);
    double ir_rank[NT], tr_rank[NI];
    CHECK(metric_retrieval_ranks(s, NI, NT, iids, tiids, ir_rank, tr_rank) == 0, "%s", err_msg());
    CHECK(ir_rank[0] == NI && tr_rank[0] == NT - 1, "ir %g (want %d), tr %g (want %d)", ir_rank[0], NI,
          tr_rank[0], NT - 1);
}

/* 1000 images x 5000 texts (5 per image): even images score their texts
 * above every wrong pair, odd images below, so every recall is 0.5. */
static void test_large(void) {
    enum { NI = 1000, NT = 5000 };
    float *s = xmalloc((size_t)NI * NT * sizeof *s);
    int64_t *iids = xmalloc(NI * sizeof *iids), *tiids = xmalloc(NT * sizeof *tiids);
    for (size_t i = 0; i < NI; i++) iids[i] = (int64_t)i;
    for (size_t t = 0; t < NT; t++) tiids[t] = (int64_t)(t / 5);
    uint32_t x = 12345;
    for (size_t i = 0; i < NI; i++)
        for (size_t t = 0; t < NT; t++) {
            x = x * 1664525u + 1013904223u;
            float wrong = (float)(x >> 8) / 16777216.0f; /* [0, 1) */
            s[i * NT + t] = tiids[t] == iids[i] ? (i % 2 ? -1.0f - wrong : 2.0f + wrong) : wrong;
        }
    clock_t c0 = clock();
    IrtrRecall r;
    CHECK(metric_retrieval_recall(s, NI, NT, iids, tiids, &r) == 0, "%s", err_msg());
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECK(r.ir_r1 == 0.5f && r.ir_r10 == 0.5f && r.tr_r1 == 0.5f && r.tr_r10 == 0.5f, "%g %g %g %g",
          r.ir_r1, r.ir_r10, r.tr_r1, r.tr_r10);
    printf("  1000 x 5000 recall in %.3f s\n", secs);
    free(s);
    free(iids);
    free(tiids);
}

static void test_errors(void) {
    float s[100] = {0};
    int64_t ids[10] = {0};
    IrtrRecall r;
    CHECK(metric_retrieval_recall(s, 9, 11, ids, ids, &r) == -1 && strstr(err_msg(), "at least 10"), "%s", err_msg());
    s[42] = NAN;
    CHECK(metric_retrieval_recall(s, 10, 10, ids, ids, &r) == -1 && strstr(err_msg(), "image 4, text 2"), "%s",
          err_msg());
}

int main(void) {
    RUN(test_bundle);
    RUN(test_by_hand);
    RUN(test_constant_scores);
    RUN(test_large);
    RUN(test_errors);
    return TEST_DONE();
}
