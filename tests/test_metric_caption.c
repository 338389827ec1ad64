/* Caption metrics against the official values of the caption test vectors
 * (docs/tasks.md, "Test vectors"; to 1e-12 relative; BLEU internals
 * exactly) and small hand-computed cases. */
#include <jansson.h>

#include "check.h"
#include "metric_caption.h"
#include "test.h"

#define CAP_DIR "tests/vectors/captions/"
enum { N_IMG = 4, N_REF = 5 };

/* The vectors, tokenised with metric_caption_tokenize_simple, in gts key order. */
static char *hyp[N_IMG];
static char *refs[N_IMG][N_REF];
static CaptionItem items[N_IMG];

static int load_vectors(void) {
    json_error_t e;
    json_t *gts = json_load_file(CAP_DIR "gts.json", JSON_PRESERVE_ORDER, &e);
    json_t *res = json_load_file(CAP_DIR "res.json", JSON_PRESERVE_ORDER, &e);
    int rc = -1;
    if (!gts || !res || json_object_size(gts) != N_IMG) goto done;
    const char *key;
    json_t *list;
    size_t i = 0;
    json_object_foreach(gts, key, list) {
        json_t *h = json_object_get(res, key);
        if (json_array_size(list) != N_REF || json_array_size(h) != 1) goto done;
        hyp[i] = metric_caption_tokenize_simple(json_string_value(json_array_get(h, 0)));
        for (size_t r = 0; r < N_REF; r++)
            refs[i][r] = metric_caption_tokenize_simple(json_string_value(json_array_get(list, r)));
        items[i] = (CaptionItem){.hyp = hyp[i], .refs = (const char *const *)refs[i], .n_refs = N_REF};
        i++;
    }
    rc = 0;
done:
    json_decref(gts);
    json_decref(res);
    return rc;
}

static void free_vectors(void) {
    for (size_t i = 0; i < N_IMG; i++) {
        free(hyp[i]);
        for (size_t r = 0; r < N_REF; r++) free(refs[i][r]);
    }
}

static void test_tokenize_simple(void) {
    char *t = metric_caption_tokenize_simple("A red bus, driving\ndown the road. ");
    CHECK(strcmp(t, "a red bus driving down the road") == 0, "\"%s\"", t);
    free(t);
    t = metric_caption_tokenize_simple("  -- it's   o'clock!\t... ");
    CHECK(strcmp(t, "its oclock") == 0, "\"%s\"", t);
    free(t);
    t = metric_caption_tokenize_simple("");
    CHECK(strcmp(t, "") == 0, "empty");
    free(t);
    CHECK(strcmp(hyp[3], "a red bus") == 0, "vector hypothesis 4 is \"%s\"", hyp[3]);
}

static void test_bleu_vectors(void) {
    CaptionBleu b;
    double per[N_IMG][4];
    CHECK(metric_caption_bleu(items, N_IMG, &b, per) == 0, "%s", err_msg());
    CHECK(b.testlen == 21 && b.reflen == 24, "testlen %ld reflen %ld", b.testlen, b.reflen);
    const long guess[4] = {21, 17, 13, 9}, correct[4] = {21, 15, 6, 2};
    for (int k = 0; k < 4; k++)
        CHECK(b.guess[k] == guess[k] && b.correct[k] == correct[k], "n=%d guess %ld correct %ld", k + 1,
              b.guess[k], b.correct[k]);
    CHECK_CLOSE(b.ratio, 0.8749999999635417, 1e-15);
    const double want[4] = {0.86687789966762197, 0.81428999726054807, 0.64255160050876026,
                            0.47546369554750884};
    for (int k = 0; k < 4; k++) CHECK_CLOSE(b.bleu[k], want[k], 1e-12);
    CHECK_CLOSE(per[0][3], 0.66874030478674695, 1e-12);
    CHECK_CLOSE(per[1][3], 8.4089641491385254e-05, 1e-12 * 8.4e-05);
    CHECK_CLOSE(per[2][3], 0.00014953487800685566, 1e-12 * 1.5e-04);
    CHECK_CLOSE(per[3][0], 0.36787944092618963, 1e-12);
}

static void test_cider_vectors(void) {
    double corpus, per[N_IMG];
    CHECK(metric_caption_cider_d(items, N_IMG, &corpus, per) == 0, "%s", err_msg());
    CHECK_CLOSE(corpus, 2.1376846757665309, 1e-12);
    const double want[N_IMG] = {2.5808217074422837, 2.3967973261799531, 1.8116132109564078,
                                1.7615064584874802};
    for (int i = 0; i < N_IMG; i++) CHECK_CLOSE(per[i], want[i], 1e-12);
}

static void test_rouge_vectors(void) {
    double corpus, per[N_IMG];
    CHECK(metric_caption_rouge_l(items, N_IMG, &corpus, per) == 0, "%s", err_msg());
    CHECK_CLOSE(corpus, 0.72420808505942813, 1e-12);
    const double want[N_IMG] = {0.875, 0.83333333333333337, 0.62886597938144329,
                                0.55963302752293576};
    for (int i = 0; i < N_IMG; i++) CHECK_CLOSE(per[i], want[i], 1e-12);
}

/* Hand-computed BLEU: hypothesis "a b c d" (4 words) against "a b c e"
 * and "a b". guess = 4,3,2,1; correct = 3 (a,b,c), 2 (ab,bc), 1 (abc), 0.
 * Closest length: |4-4| = 0 -> reflen 4, so ratio < 1 only by the 1e-15
 * and 1e-9 terms. */
static void test_bleu_by_hand(void) {
    const char *r[] = {"a b c e", "a b"};
    CaptionItem it = {.hyp = "a b c d", .refs = r, .n_refs = 2};
    CaptionBleu b;
    double per[1][4];
    CHECK(metric_caption_bleu(&it, 1, &b, per) == 0, "%s", err_msg());
    CHECK(b.correct[0] == 3 && b.correct[1] == 2 && b.correct[2] == 1 && b.correct[3] == 0,
          "correct %ld %ld %ld %ld", b.correct[0], b.correct[1], b.correct[2], b.correct[3]);
    CHECK(b.reflen == 4, "reflen %ld", b.reflen);
    double brevity = exp(1 - (4 + 1e-9) / (4 + 1e-15));
    CHECK_CLOSE(b.bleu[0], 0.75 * brevity, 1e-9);
    CHECK_CLOSE(b.bleu[1], sqrt(0.75 * 2.0 / 3) * brevity, 1e-9);
    CHECK(b.bleu[3] > 0 && b.bleu[3] < 1e-3, "BLEU-4 %g kept above 0 by 1e-15", b.bleu[3]);
    CHECK(per[0][0] == b.bleu[0], "one image: per-image equals corpus");
    /* Clipping: "the the the" against "the cat": 1 correct unigram of 3. A
     * tie in length distance (2 vs 4 for a 3-word hypothesis) goes to 2. */
    const char *r2[] = {"the cat x y", "the cat"};
    CaptionItem it2 = {.hyp = "the the the", .refs = r2, .n_refs = 2};
    CHECK(metric_caption_bleu(&it2, 1, &b, NULL) == 0, "%s", err_msg());
    CHECK(b.correct[0] == 1 && b.reflen == 2, "correct %ld reflen %ld", b.correct[0], b.reflen);
}

/* Hand-computed ROUGE-L: candidate "a b c d", reference "a c d e f": LCS 3,
 * P = 3/4, R = 3/5, score = 2.44 P R / (R + 1.44 P). */
static void test_rouge_by_hand(void) {
    const char *r[] = {"a c d e f", "x"};
    CaptionItem it = {.hyp = "a b c d", .refs = r, .n_refs = 2};
    double corpus, per;
    CHECK(metric_caption_rouge_l(&it, 1, &corpus, &per) == 0, "%s", err_msg());
    double p = 0.75, rc = 0.6;
    CHECK_CLOSE(per, 2.44 * p * rc / (rc + 1.44 * p), 1e-15);
    /* The maxima are taken separately: P from one reference, R from another. */
    const char *r2[] = {"a b c d e f g h", "a"};
    CaptionItem it2 = {.hyp = "a b", .refs = r2, .n_refs = 2};
    CHECK(metric_caption_rouge_l(&it2, 1, &corpus, &per) == 0, "%s", err_msg());
    CHECK_CLOSE(per, 2.44 * 1.0 * 1.0 / (1.0 + 1.44 * 1.0), 1e-15);
}

/* Hand-computed CIDEr-D on two images with one reference each:
 * image 0 "a b" / ref "a b", image 1 "c" / ref "a". log N = ln 2; df(a) =
 * 2, df(b) = df(ab) = 1, df(c) = 0. Image 0: the unigram a has weight 0,
 * b has ln 2, so the unigram cosine is 1, the bigram cosine 1, the
 * trigram and 4-gram terms 0: CIDEr = 10 * (1 + 1) / 4 = 5. Image 1:
 * a has weight 0 in the reference, so everything is 0. */
static void test_cider_by_hand(void) {
    const char *r0[] = {"a b"}, *r1[] = {"a"};
    CaptionItem it[2] = {{.hyp = "a b", .refs = r0, .n_refs = 1}, {.hyp = "c", .refs = r1, .n_refs = 1}};
    double corpus, per[2];
    CHECK(metric_caption_cider_d(it, 2, &corpus, per) == 0, "%s", err_msg());
    CHECK_CLOSE(per[0], 5.0, 1e-14);
    CHECK_CLOSE(per[1], 0.0, 1e-14);
    CHECK_CLOSE(corpus, 2.5, 1e-14);
    /* "a b c" / ref "a b" next to "x" / ref "y": c, bc, abc have df 0
     * (weight ln 2 like a, b, ab); unigram cosine 2/sqrt 6, bigram 1/sqrt 2,
     * trigram 0 (the reference norm is 0), and the lengths differ by one
     * bigram: penalty exp(-1/72). */
    const char *r2[] = {"a b"}, *r3[] = {"y"};
    CaptionItem pen[2] = {{.hyp = "a b c", .refs = r2, .n_refs = 1}, {.hyp = "x", .refs = r3, .n_refs = 1}};
    CHECK(metric_caption_cider_d(pen, 2, &corpus, per) == 0, "%s", err_msg());
    CHECK_CLOSE(per[0], 10 * (2 / sqrt(6) + 1 / sqrt(2)) / 4 * exp(-1.0 / 72), 1e-14);
    /* A single image always scores 0 (every weight has log N = 0). */
    CHECK(metric_caption_cider_d(pen, 1, &corpus, per) == 0 && corpus == 0.0, "N = 1 gives %g", corpus);
}

static void test_errors(void) {
    CaptionItem it = {.hyp = "a", .refs = NULL, .n_refs = 0};
    CaptionBleu b;
    double s;
    CHECK(metric_caption_bleu(&it, 1, &b, NULL) == -1 && strstr(err_msg(), "no reference"), "%s", err_msg());
    CHECK(metric_caption_cider_d(items, 0, &s, NULL) == -1, "no images");
    CHECK(metric_caption_rouge_l(&it, 1, &s, NULL) == -1, "no references");
}

static void test_results_write(void) {
    const char *path = "/tmp/moil_test_caption_results.json";
    const long long ids[2] = {391895, 7};
    const char *caps[2] = {"a man riding a horse", "say \"hi\""};
    CHECK(metric_caption_results_write(path, ids, caps, 2) == 0, "%s", err_msg());
    size_t len;
    char *text = file_read_all(path, 1 << 20, &len);
    const char *want = "[{\"image_id\":391895,\"caption\":\"a man riding a horse\"},"
                       "{\"image_id\":7,\"caption\":\"say \\\"hi\\\"\"}]";
    CHECK(text && strcmp(text, want) == 0, "%s", text ? text : err_msg());
    free(text);
    remove(path);
    const char *bad[1] = {"\xff"};
    CHECK(metric_caption_results_write(path, ids, bad, 1) == -1 && strstr(err_msg(), "UTF-8"), "%s", err_msg());
}

int main(void) {
    if (load_vectors() != 0) {
        printf("not ok load_vectors: cannot read " CAP_DIR " (run from the repository root)\n");
        return 1;
    }
    RUN(test_tokenize_simple);
    RUN(test_bleu_vectors);
    RUN(test_cider_vectors);
    RUN(test_rouge_vectors);
    RUN(test_bleu_by_hand);
    RUN(test_rouge_by_hand);
    RUN(test_cider_by_hand);
    RUN(test_errors);
    RUN(test_results_write);
    free_vectors();
    return TEST_DONE();
}
