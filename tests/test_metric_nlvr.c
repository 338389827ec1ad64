/* NLVR2 accuracy/consistency against the NLVR2 test vectors (docs/tasks.md,
 * "Test vectors"), the predictions CSV reader and writer, and hand-made
 * cases. */
#include <jansson.h>

#include "check.h"
#include "metric_nlvr.h"
#include "test.h"

#define NLVR_DIR "tests/vectors/nlvr2/"
#define TMP_CSV "/tmp/moil_test_nlvr2_predictions.csv"

enum { MAX_EXAMPLES = 64 };

/* Labels of a JSON-lines file: ids and labels, strdup'd. */
static size_t read_labels(const char *path, char **ids, char **labels) {
    size_t len, n = 0;
    char *text = file_read_all(path, 1 << 20, &len);
    if (!text) return 0;
    for (char *line = strtok(text, "\n"); line && n < MAX_EXAMPLES; line = strtok(NULL, "\n")) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        if (!o) break;
        ids[n] = xstrdup(json_string_value(json_object_get(o, "identifier")));
        labels[n] = xstrdup(json_string_value(json_object_get(o, "label")));
        n++;
        json_decref(o);
    }
    free(text);
    return n;
}

static void free_strings(char **s, size_t n) {
    for (size_t i = 0; i < n; i++) free(s[i]);
}

static void write_file(const char *path, const char *text) {
    CHECK(file_write_atomic(path, text, strlen(text)) == 0, "%s", err_msg());
}

static void test_vectors(void) {
    char *ids[MAX_EXAMPLES], *labels[MAX_EXAMPLES];
    size_t n = read_labels(NLVR_DIR "dev.json", ids, labels);
    CHECK(n == 9, "%zu examples in dev.json", n);
    Nlvr2Predictions p;
    CHECK(metric_nlvr_predictions_read(NLVR_DIR "predictions.csv", &p) == 0, "%s", err_msg());
    CHECK(p.n == 9, "%zu predictions", p.n);
    double acc, cons;
    CHECK(metric_nlvr_score((const char *const *)ids, (const char *const *)labels, n, &p, &acc, &cons) == 0,
          "%s", err_msg());
    CHECK(acc == 7.0 / 9 && acc == 0.77777777777777779, "accuracy %.17g", acc);
    CHECK(cons == 1.0 / 3 && cons == 0.33333333333333331, "consistency %.17g", cons);
    metric_nlvr_predictions_free(&p);

    /* Missing predictions: an error naming the identifiers. */
    write_file(TMP_CSV, "dev-0-0-0,True\ndev-0-1-0,False\n");
    CHECK(metric_nlvr_predictions_read(TMP_CSV, &p) == 0, "%s", err_msg());
    CHECK(metric_nlvr_score((const char *const *)ids, (const char *const *)labels, n, &p, &acc, &cons) == -1,
          "missing accepted");
    CHECK(strstr(err_msg(), "7 of 9") && strstr(err_msg(), "dev-0-2-0"), "%s", err_msg());
    metric_nlvr_predictions_free(&p);
    free_strings(ids, n);
    free_strings(labels, n);
}

/* Hand-computed: groups s-1--0 {pairs 0,1}, s-1--1 {pair 0}, s-2--0 {pair 3}.
 * Predictions: s-1-0-0 right, s-1-1-0 wrong, s-1-0-1 right ("TRUE" vs
 * "True"), s-2-3-0 right after its repeated line overrides a wrong one.
 * Accuracy 3/4; consistent groups s-1--1 and s-2--0: 2/3. */
static void test_by_hand(void) {
    const char *ids[] = {"s-1-0-0", "s-1-1-0", "s-1-0-1", "s-2-3-0"};
    const char *labels[] = {"True", "False", "True", "False"};
    write_file(TMP_CSV, "s-2-3-0,True\n  s-1-0-0,True  \ns-1-1-0,True,extra\ns-1-0-1,TRUE\r\n"
                        "s-2-3-0,false\nunused-1-2-3,True");
    Nlvr2Predictions p;
    CHECK(metric_nlvr_predictions_read(TMP_CSV, &p) == 0, "%s", err_msg());
    CHECK(p.n == 5, "%zu unique identifiers", p.n);
    double acc, cons;
    CHECK(metric_nlvr_score(ids, labels, 4, &p, &acc, &cons) == 0, "%s", err_msg());
    CHECK(acc == 0.75, "accuracy %.17g", acc);
    CHECK(cons == 2.0 / 3, "consistency %.17g", cons);
    metric_nlvr_predictions_free(&p);

    const char *bad_ids[] = {"s-1"};
    write_file(TMP_CSV, "s-1,True\n");
    CHECK(metric_nlvr_predictions_read(TMP_CSV, &p) == 0, "%s", err_msg());
    CHECK(metric_nlvr_score(bad_ids, labels, 1, &p, &acc, &cons) == -1 && strstr(err_msg(), "s-1"), "%s",
          err_msg());
    metric_nlvr_predictions_free(&p);
}

static void test_csv_errors(void) {
    Nlvr2Predictions p;
    write_file(TMP_CSV, "a-1-0-0,True\n\nb-1-0-0,False\n");
    CHECK(metric_nlvr_predictions_read(TMP_CSV, &p) == -1 && strstr(err_msg(), ":2: blank line"), "%s",
          err_msg());
    write_file(TMP_CSV, "a-1-0-0 True\n");
    CHECK(metric_nlvr_predictions_read(TMP_CSV, &p) == -1 && strstr(err_msg(), ":1: no comma"), "%s",
          err_msg());
    CHECK(metric_nlvr_predictions_read("/nonexistent/p.csv", &p) == -1 && strstr(err_msg(), "/nonexistent"),
          "%s", err_msg());
}

static void test_write_roundtrip(void) {
    const char *ids[] = {"dev-3-1-0", "dev-0-0-1"};
    const char *preds[] = {"False", "True"};
    CHECK(metric_nlvr_predictions_write(TMP_CSV, ids, preds, 2) == 0, "%s", err_msg());
    size_t len;
    char *text = file_read_all(TMP_CSV, 1 << 20, &len);
    CHECK(text && strcmp(text, "dev-3-1-0,False\ndev-0-0-1,True\n") == 0, "%s", text ? text : err_msg());
    free(text);
    Nlvr2Predictions p;
    CHECK(metric_nlvr_predictions_read(TMP_CSV, &p) == 0 && p.n == 2, "%s", err_msg());
    CHECK(p.n == 2 && strcmp(p.ids[0], "dev-0-0-1") == 0 && strcmp(p.preds[1], "False") == 0, "sorted");
    metric_nlvr_predictions_free(&p);
    const char *bad[] = {"True,False"};
    CHECK(metric_nlvr_predictions_write(TMP_CSV, ids, bad, 1) == -1 && strstr(err_msg(), "comma"), "%s",
          err_msg());
    remove(TMP_CSV);
}

int main(void) {
    RUN(test_vectors);
    RUN(test_by_hand);
    RUN(test_csv_errors);
    RUN(test_write_roundtrip);
    return TEST_DONE();
}
