/* The parsed VQA set's cache (datasets/loaders/data_vqa_cache.h) on the
 * hand-written VQA v2 files of tests/vectors/vqa: the first load parses the
 * JSON and writes the cache, the second reads it back field for field equal
 * to the parse (with and without answers); a changed source file gets a
 * cache of its own; a damaged cache is refused with a message naming it, and
 * an image missing from the index is reported as when parsing. */
#include "check.h"
#include "data_image_index.h"
#include "data_vqa_cache.h"
#include "proc.h"
#include "test.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/moil_test_vqa_cache_XXXXXX";
#include "tmp_path.h"

static const char *questions = "tests/vectors/vqa/questions.json", *annotations = "tests/vectors/vqa/annotations.json";

/* An index of the images of ids 1..n (the index reads names only). */
static void make_index(ImageIndex *ix, int n) {
    char out[256];
    CHECK(proc_run_into(out, sizeof out, "mkdir -p %s", tmp_path("img")) == 0, "%s", out);
    for (int id = 1; id <= n; id++) {
        char rel[64];
        snprintf(rel, sizeof rel, "img/COCO_val2014_%012d.jpg", id);
        CHECK(file_write_atomic(tmp_path(rel), "x", 1) == 0, "%s", err_msg());
    }
    data_image_index_init(ix);
    CHECK(data_image_index_scan(ix, tmp_path("img")) == 0, "%s", err_msg());
}

/* Files in tmp_dir/data/vqa_cache ending in .bin; the last one's path into last. */
static int cache_files(char last[512]) {
    DIR *d = opendir(tmp_path("data/" VQA_CACHE_DIR));
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".bin")) {
            snprintf(last, 512, "%s/%s/%s", tmp_path("data"), VQA_CACHE_DIR, e->d_name);
            n++;
        }
    }
    if (d) closedir(d);
    return n;
}

static int same_text(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* Every field of every question equal (image paths: the same index entry). */
static int same_set(const VqaSet *a, const VqaSet *b) {
    int same = a->n == b->n && a->has_answers == b->has_answers && same_text(a->questions_file, b->questions_file);
    for (int i = 0; same && i < a->n; i++) {
        const VqaEntry *x = &a->q[i], *y = &b->q[i];
        same = x->question_id == y->question_id && x->image_id == y->image_id && x->image_path == y->image_path &&
               same_text(x->question, y->question) && same_text(x->question_type, y->question_type) &&
               same_text(x->answer_type, y->answer_type) &&
               same_text(x->multiple_choice_answer, y->multiple_choice_answer);
        for (int k = 0; same && k < VQA_N_ANSWERS; k++) same = same_text(x->answers[k], y->answers[k]);
    }
    return same;
}

static void test_round_trip(void) {
    ImageIndex ix;
    make_index(&ix, 4);
    const char *answer_files[2] = {annotations, NULL};
    for (int a = 0; a < 2; a++) {
        VqaSet parsed, first, cached;
        char path[512] = "";
        CHECK(data_vqa_load(&parsed, questions, answer_files[a], &ix) == 0, "%s", err_msg());
        CHECK(data_vqa_load_cached(&first, tmp_path("data"), questions, answer_files[a], &ix) == 0, "%s", err_msg());
        CHECK(cache_files(path) == a + 1, "one cache file per source (answers: %d)", !a);
        CHECK(data_vqa_load_cached(&cached, tmp_path("data"), questions, answer_files[a], &ix) == 0, "%s",
              err_msg());
        CHECK(cache_files(path) == a + 1, "read, not written again");
        CHECK(parsed.n == 8 && parsed.has_answers == !a, "8 questions, answers %d", parsed.has_answers);
        CHECK(same_set(&parsed, &first) && same_set(&parsed, &cached), "the cached set is the parsed one");
        data_vqa_free(&parsed), data_vqa_free(&first), data_vqa_free(&cached);
    }
    data_image_index_free(&ix);
}

/* A changed questions file (one question's text) is parsed again, under a
 * key of its own; the old cache stays valid for the old file. */
static void test_changed_source(void) {
    ImageIndex ix;
    make_index(&ix, 4);
    char out[256], path[512];
    size_t len;
    char *text = file_read_all(questions, 1 << 20, &len);
    char *at = text ? strstr(text, "How many people?") : NULL;
    CHECK(at, "the fixture names the question");
    if (!at) return;
    memcpy(at, "How many chairs?", 16);
    CHECK(file_write_atomic(tmp_path("q2.json"), text, len) == 0, "%s", err_msg());
    free(text);
    int before = cache_files(path);
    VqaSet s;
    CHECK(data_vqa_load_cached(&s, tmp_path("data"), tmp_path("q2.json"), annotations, &ix) == 0, "%s", err_msg());
    CHECK(cache_files(path) == before + 1, "a new cache file for the changed source");
    CHECK(s.n == 8 && !strcmp(s.q[6].question, "How many chairs?"), "the changed text: %s", s.q[6].question);
    data_vqa_free(&s);
    CHECK(proc_run_into(out, sizeof out, "rm -f %s", tmp_path("q2.json")) == 0, "%s", out);
    data_image_index_free(&ix);
}

/* A cache cut short, one with bytes after its last question and one with a
 * foreign magic are refused naming the file; a set whose image left the
 * index fails as the parse does. */
static void test_bad_cache(void) {
    ImageIndex ix;
    make_index(&ix, 4);
    VqaSet s;
    CHECK(data_vqa_load(&s, questions, annotations, &ix) == 0, "%s", err_msg());
    const char *good = tmp_path("good.bin");
    CHECK(data_vqa_cache_write(good, &s) == 0, "%s", err_msg());
    data_vqa_free(&s);
    size_t len;
    char *bytes = file_read_all(good, 1 << 20, &len);
    CHECK(bytes && len > 100, "cache written");
    if (!bytes) return;
    const char *bad = tmp_path("bad.bin");
    CHECK(file_write_atomic(bad, bytes, len - 3) == 0, "%s", err_msg());
    CHECK(data_vqa_cache_read(bad, questions, &s, &ix) != 0 && strstr(err_msg(), "bad.bin") &&
              strstr(err_msg(), "truncated in question 7") && strstr(err_msg(), "remove it"),
          "truncated: %s", err_msg());
    char *longer = xmalloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 'x';
    CHECK(file_write_atomic(bad, longer, len + 1) == 0, "%s", err_msg());
    CHECK(data_vqa_cache_read(bad, questions, &s, &ix) != 0 && strstr(err_msg(), "1 bytes after the last question"),
          "trailing bytes: %s", err_msg());
    free(longer);
    bytes[0] = 'X';
    CHECK(file_write_atomic(bad, bytes, len) == 0, "%s", err_msg());
    CHECK(data_vqa_cache_read(bad, questions, &s, &ix) != 0 && strstr(err_msg(), "bad magic"), "magic: %s",
          err_msg());
    free(bytes);
    data_image_index_free(&ix); /* image 4 gone: */
    char out[256];
    CHECK(proc_run_into(out, sizeof out, "rm -f %s", tmp_path("img/COCO_val2014_000000000004.jpg")) == 0, "%s", out);
    data_image_index_free(&ix);
    data_image_index_init(&ix);
    CHECK(data_image_index_scan(&ix, tmp_path("img")) == 0, "%s", err_msg());
    CHECK(data_vqa_cache_read(good, questions, &s, &ix) != 0 &&
              strstr(err_msg(), "questions.json: question 4000 points at unknown image 4"),
          "unknown image: %s", err_msg());
    data_image_index_free(&ix);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_changed_source);
    RUN(test_bad_cache);
    int failed = TEST_DONE();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (!failed && system(cmd) != 0) printf("could not remove %s\n", tmp_dir);
    return failed;
}
