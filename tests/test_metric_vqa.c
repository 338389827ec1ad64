/* VQA accuracy (master and legacy), answer normalisation and ViLT soft
 * scores against the rules of docs/tasks.md ("VQA accuracy") and the
 * official numbers of the VQA test vectors. */
#include <jansson.h>

#include "check.h"
#include "metric_text_norm.h"
#include "metric_vqa.h"
#include "test.h"

#define VQA_DIR "tests/vectors/vqa/"
enum { N_Q = 8, N_GT = 10 };

/* The 8 questions of tests/vectors/vqa with their results (the strings
 * point into the json trees, which stay loaded for the whole program). */
static VqaQuestion questions[N_Q];
static const char *gt_answers[N_Q][N_GT];
static const char *mc_answers[N_Q];
static long long qids[N_Q];
static json_t *ann_root, *res_root;

static int load_vectors(void) {
    json_error_t e;
    json_t *ann = ann_root = json_load_file(VQA_DIR "annotations.json", 0, &e);
    json_t *res = res_root = json_load_file(VQA_DIR "results.json", 0, &e);
    if (!ann || !res) return -1;
    json_t *list = json_object_get(ann, "annotations");
    if (json_array_size(list) != N_Q || json_array_size(res) != N_Q) return -1;
    for (size_t i = 0; i < N_Q; i++) {
        json_t *a = json_array_get(list, i);
        json_t *answers = json_object_get(a, "answers");
        if (json_array_size(answers) != N_GT) return -1;
        for (size_t j = 0; j < N_GT; j++)
            gt_answers[i][j] = json_string_value(json_object_get(json_array_get(answers, j), "answer"));
        qids[i] = json_integer_value(json_object_get(a, "question_id"));
        mc_answers[i] = json_string_value(json_object_get(a, "multiple_choice_answer"));
        questions[i] = (VqaQuestion){
            .gt = gt_answers[i],
            .n_gt = N_GT,
            .answer_type = json_string_value(json_object_get(a, "answer_type")),
            .question_type = json_string_value(json_object_get(a, "question_type")),
        };
        /* results.json lists the same question ids; match them by id. */
        for (size_t k = 0; k < N_Q; k++) {
            json_t *r = json_array_get(res, k);
            if (json_integer_value(json_object_get(r, "question_id")) == qids[i])
                questions[i].answer = json_string_value(json_object_get(r, "answer"));
        }
        if (!questions[i].answer) return -1;
    }
    return 0;
}

static int check_str(char *got, const char *want) {
    int ok = strcmp(got, want) == 0;
    if (!ok) printf("  got \"%s\", want \"%s\"\n", got, want);
    free(got);
    return ok;
}

static void test_process_punctuation(void) {
    CHECK(check_str(metric_text_norm_process_punctuation("t-shirt"), "t shirt"), "t-shirt");
    CHECK(check_str(metric_text_norm_process_punctuation("10,000"), "10000"), "digit,digit deletes all");
    CHECK(check_str(metric_text_norm_process_punctuation("yes."), "yes"), "final period");
    CHECK(check_str(metric_text_norm_process_punctuation("e.g."), "eg"), "periods");
    CHECK(check_str(metric_text_norm_process_punctuation("3.5"), "3.5"), "decimal point kept");
    CHECK(check_str(metric_text_norm_process_punctuation("5."), "5"), "period after digit");
    CHECK(check_str(metric_text_norm_process_punctuation("yes!"), "yes "), "! replaced by a space");
    CHECK(check_str(metric_text_norm_process_punctuation("a - b"), "a  b"), "spaced - deleted");
    /* The conditions look at the input: "(" is next to a space, ")" is not. */
    CHECK(check_str(metric_text_norm_process_punctuation("x (y)z"), "x y z"), "per-character decision");
    CHECK(check_str(metric_text_norm_process_punctuation("1,2 a:b's*"), "12 a:b's*"), "untouched characters");
    /* Only the first 32 periods are removed (re.UNICODE as count). */
    char dots[41];
    memset(dots, '.', 40);
    dots[40] = '\0';
    CHECK(check_str(metric_text_norm_process_punctuation(dots), "........"), "32 periods at most");
}

static void test_process_digit_article(void) {
    CHECK(check_str(metric_text_norm_process_digit_article("  The Two  dogs\t"), "2 dogs"), "articles, numbers");
    CHECK(check_str(metric_text_norm_process_digit_article("dont whats an ten"), "don't what's 10"), "contractions");
    CHECK(check_str(metric_text_norm_process_digit_article("Im ive"), "im ive"), "capital keys never match");
    CHECK(check_str(metric_text_norm_process_digit_article("somebody'd"), "somebodyd"), "reverse entry");
    CHECK(check_str(metric_text_norm_process_digit_article("a the an"), ""), "only articles");
}

static void test_contraction_table(void) {
    CHECK(metric_text_norm_contraction_count() == 120, "%zu entries", metric_text_norm_contraction_count());
    const char *want[][2] = {{"aint", "ain't"},       {"Id've", "I'd've"}, {"'ow'sat", "'ow's'at"},
                             {"y'allll", "y'all'll"}, {"twas", "'twas"},   {"youve", "you've"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = metric_text_norm_contraction_lookup(want[i][0]);
        CHECK(got && strcmp(got, want[i][1]) == 0, "%s -> %s", want[i][0], got ? got : "(none)");
    }
    CHECK(metric_text_norm_contraction_lookup("do") == NULL, "not a key");
}

static void test_normalize_word(void) {
    CHECK(check_str(metric_text_norm_word("10,000"), "10000"), "10,000");
    CHECK(check_str(metric_text_norm_word("Two"), "2"), "Two");
    CHECK(check_str(metric_text_norm_word("a, b"), "b"), "spaced comma deleted, then article");
    CHECK(check_str(metric_text_norm_word("x,y"), "x y"), "x,y");
    /* docs/tasks.md ("Answer vocabulary and soft targets"): the vocabulary of
     * the vectors (threshold 1) is the normalised multiple-choice answers in
     * order of first occurrence. */
    const char *vocab[] = {"yes", "3", "maroon", "dogs", "shirt", "10000"};
    const char *seen[N_Q];
    size_t n_seen = 0;
    for (size_t i = 0; i < N_Q; i++) {
        char *w = metric_text_norm_word(mc_answers[i]);
        size_t k = 0;
        while (k < n_seen && strcmp(seen[k], w) != 0) k++;
        if (k == n_seen && n_seen < N_Q) seen[n_seen++] = w;
        else free(w);
    }
    CHECK(n_seen == 6, "%zu labels", n_seen);
    for (size_t k = 0; k < n_seen; k++) {
        CHECK(k < 6 && strcmp(seen[k], vocab[k]) == 0, "label %zu is %s", k, seen[k]);
        free((char *)seen[k]);
    }
}

static void test_soft_scores(void) {
    const double want[] = {0.0, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0};
    for (int c = 0; c < 7; c++) CHECK(metric_vqa_soft_score(c) == want[c], "count %d", c);
    /* qid 4000: the raw answers are counted, so only the two raw "10000"
     * match the key "10000"; the four raw "10,000" do not. */
    int count = 0;
    for (int j = 0; j < N_GT; j++) count += strcmp(gt_answers[6][j], "10000") == 0;
    CHECK(qids[6] == 4000 && metric_vqa_soft_score(count) == 0.6, "qid 4000 score %g", metric_vqa_soft_score(count));
}

static void test_vqa_score_batch(void) {
    /* Hand-computed: row 0 argmax 1 (target .6), row 1 ties at 0 and 2 ->
     * first index 0 (target .3), row 2 argmax 2 (target 0). */
    const float logits[3][3] = {{0.1f, 2.0f, -1.0f}, {5.0f, 1.0f, 5.0f}, {0.0f, 0.0f, 1.0f}};
    const float targets[3][3] = {{1.0f, 0.6f, 0.0f}, {0.3f, 0.0f, 0.9f}, {1.0f, 1.0f, 0.0f}};
    float s = metric_vqa_score_batch(&logits[0][0], &targets[0][0], 3, 3);
    CHECK(s == 0.6f + 0.3f, "score %.9g", s);
}

static void test_question_accuracy_by_hand(void) {
    /* k answers equal to the result -> 0, .3, .6, .9, 1 (closed form). */
    const char *gt[10] = {"b", "b", "b", "b", "b", "b", "c", "c", "c", "c"};
    const double want[] = {0.0, 0.3, 0.6, 0.9, 1.0};
    for (int k = 0; k <= 4; k++) {
        const char *g[10];
        for (int j = 0; j < 10; j++) g[j] = j < k ? "a" : gt[j];
        double acc = metric_vqa_question_accuracy(g, 10, "a", VQA_MASTER);
        CHECK_CLOSE(acc, want[k], 1e-15);
    }
    /* Master cleans GT whitespace, legacy does not. Master: two matches;
     * holding out an "x" leaves 1 (1/3), holding out "y" leaves 2 (2/3):
     * (1/3 + 1/3 + 2/3) / 3 = 4/9. Legacy: " x" and "x\t" never match. */
    const char *spaced[3] = {" x", "x\t", "y"};
    CHECK_CLOSE(metric_vqa_question_accuracy(spaced, 3, "x", VQA_MASTER), 4.0 / 9, 1e-15);
    CHECK_CLOSE(metric_vqa_question_accuracy(spaced, 3, "x", VQA_LEGACY), 0.0, 1e-15);
}

static void test_round(void) {
    CHECK(metric_vqa_round(12.125, 2) == 12.12, "tie to even");
    CHECK(metric_vqa_round(12.375, 2) == 12.38, "tie to even");
    CHECK(metric_vqa_round(2.675, 2) == 2.67, "binary value below the tie");
    CHECK(metric_vqa_round(100.0 * 2 / 3, 2) == 66.67, "2/3");
    CHECK(metric_vqa_round(-0.125, 2) == -0.12, "negative tie");
}

/* The VQA test vectors' official numbers: per question, overall and per
 * answer type. */
static void check_eval(VqaVariant v, const double *per_q, double overall, const char *const *types,
                       const double *type_acc, size_t n_types) {
    VqaEval e;
    CHECK(metric_vqa_evaluate(questions, N_Q, v, &e) == 0, "%s", err_msg());
    for (size_t i = 0; i < N_Q; i++)
        CHECK(e.per_question[i] == per_q[i], "qid %lld: %.17g, want %g", qids[i], e.per_question[i], per_q[i]);
    CHECK(e.overall == overall, "overall %.17g, want %g", e.overall, overall);
    CHECK(e.n_answer_types == n_types, "%zu answer types", e.n_answer_types);
    for (size_t t = 0; t < e.n_answer_types && t < n_types; t++) {
        CHECK(strcmp(e.answer_types[t].name, types[t]) == 0, "type %s", e.answer_types[t].name);
        CHECK(e.answer_types[t].accuracy == type_acc[t], "%s: %.17g, want %g", types[t],
              e.answer_types[t].accuracy, type_acc[t]);
    }
    CHECK(e.n_question_types == 7, "%zu question types", e.n_question_types);
    metric_vqa_eval_free(&e);
}

static const char *const answer_types[] = {"yes/no", "number", "other"};

static void test_vectors_master(void) {
    const double per_q[N_Q] = {100, 0, 100, 30, 100, 90, 100, 100};
    const double types[] = {66.67, 100.00, 73.33};
    check_eval(VQA_MASTER, per_q, 77.50, answer_types, types, 3);
}

static void test_vectors_legacy(void) {
    const double per_q[N_Q] = {100, 100, 90, 30, 60, 90, 100, 100};
    const double types[] = {100.00, 95.00, 60.00};
    check_eval(VQA_LEGACY, per_q, 83.75, answer_types, types, 3);
}

static void test_evaluate_errors(void) {
    VqaEval e;
    CHECK(metric_vqa_evaluate(questions, 0, VQA_MASTER, &e) == -1, "no questions");
    VqaQuestion q = questions[0];
    q.n_gt = 0;
    CHECK(metric_vqa_evaluate(&q, 1, VQA_MASTER, &e) == -1 && strstr(err_msg(), "no ground-truth"), "%s",
          err_msg());
}

int main(void) {
    if (load_vectors() != 0) {
        printf("not ok load_vectors: cannot read " VQA_DIR " (run from the repository root)\n");
        return 1;
    }
    RUN(test_process_punctuation);
    RUN(test_process_digit_article);
    RUN(test_contraction_table);
    RUN(test_normalize_word);
    RUN(test_soft_scores);
    RUN(test_vqa_score_batch);
    RUN(test_question_accuracy_by_hand);
    RUN(test_round);
    RUN(test_vectors_master);
    RUN(test_vectors_legacy);
    RUN(test_evaluate_errors);
    json_decref(ann_root);
    json_decref(res_root);
    return TEST_DONE();
}
