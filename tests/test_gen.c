/* The fashion-scenes generator: the IDX reader against docs/formats.md
 * ("Fashion-MNIST IDX"), the files of a tiny dataset read back field by
 * field, determinism by checksum, and the refusals (missing IDX files, a
 * different existing dataset). */
#include "check.h"
#include "data_idx.h"
#include "gen_dataset.h"
#include "gen_vqa.h"
#include "gen_words.h"
#include "test.h"

#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

static char tmp_root[256];

static GenOptions tiny_options(const char *out, uint64_t seed) {
    GenOptions o = {0};
    o.profile = *gen_profile_find("tiny");
    o.seed = seed;
    o.image_size = 64;
    o.jpeg_quality = 90;
    o.source_dir = IDX_DEFAULT_SOURCE;
    o.out_dir = out;
    return o;
}

static int generate(const char *name, uint64_t seed, GenSummary *sum) {
    char out[512];
    snprintf(out, sizeof out, "%s/%s", tmp_root, name);
    GenOptions o = tiny_options(out, seed);
    return gen_dataset_generate(&o, sum);
}

static json_t *load(const char *name, const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", tmp_root, name, rel);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) printf("  %s: %s\n", path, e.text);
    return j;
}

/* CRC-32 of every file of a tree, summed with its relative path. */
static uint32_t tree_crc;
static size_t tree_files, tree_skip;
static int tree_add(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type != FTW_F) return 0;
    size_t len;
    char *buf = file_read_all(path, 1 << 26, &len);
    if (!buf) return -1;
    uint32_t c = (uint32_t)crc32(0L, (const Bytef *)path + tree_skip, (uInt)strlen(path + tree_skip));
    c = (uint32_t)crc32(c, (const Bytef *)buf, (uInt)len);
    tree_crc += c; /* order-independent */
    tree_files++;
    free(buf);
    return 0;
}

static uint32_t crc_tree(const char *name, size_t *files) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
    tree_crc = 0;
    tree_files = 0;
    tree_skip = strlen(dir);
    if (nftw(dir, tree_add, 16, FTW_PHYS) != 0) printf("  walk %s failed: %s\n", dir, err_msg());
    *files = tree_files;
    return tree_crc;
}

static void test_idx_reader(void) {
    IdxSet train;
    CHECK(data_idx_load_split(&train, IDX_DEFAULT_SOURCE, "train") == 0, "%s", err_msg());
    if (!train.pixels) return;
    CHECK(train.count == 60000 && train.rows == 28 && train.cols == 28, "%d x %d x %d", train.count,
          train.rows, train.cols);
    static const int first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    for (int i = 0; i < 10; i++) CHECK(train.labels[i] == first[i], "label %d = %d", i, train.labels[i]);
    long sum = 0;
    for (int i = 0; i < 28 * 28; i++) sum += train.pixels[i];
    CHECK(sum == 76247, "image 0 pixel sum %ld", sum);
    int per_class[10] = {0};
    for (int i = 0; i < train.count; i++) per_class[train.labels[i]]++;
    for (int c = 0; c < 10; c++) CHECK(per_class[c] == 6000, "class %d: %d", c, per_class[c]);
    data_idx_free(&train);
}

static void test_missing_source(void) {
    char out[512];
    snprintf(out, sizeof out, "%s/nosource", tmp_root);
    GenOptions o = tiny_options(out, 1);
    o.source_dir = "/nonexistent/fashion";
    GenSummary sum;
    CHECK(gen_dataset_generate(&o, &sum) != 0, "generation without source files succeeded");
    CHECK(strstr(err_msg(), "/nonexistent/fashion/train-images-idx3-ubyte.gz") != NULL, "%s", err_msg());
    CHECK(strstr(err_msg(), "dataset-fashion-mnist") != NULL, "%s", err_msg());
}

static void test_determinism(void) {
    GenSummary a, b, c;
    if (generate("a", 7, &a) || generate("b", 7, &b) || generate("c", 8, &c)) {
        CHECK(0, "generation failed: %s", err_msg());
        return;
    }
    size_t na, nb, nc;
    uint32_t ca = crc_tree("a", &na), cb = crc_tree("b", &nb), cc = crc_tree("c", &nc);
    /* 18 JSON files (9 annotations, 6 VQA, 3 NLVR) and the manifest */
    CHECK(na == (size_t)a.images + 18 + 1, "%zu files, %ld images", na, a.images);
    CHECK(na == nb && ca == cb, "same seed: %zu files crc %08x vs %zu files crc %08x", na, ca, nb, cb);
    CHECK(ca != cc, "seeds 7 and 8 gave the same bytes");
    CHECK(a.nlvr_examples == 48 && a.questions > 0, "%ld NLVR examples, %ld questions", a.nlvr_examples,
          a.questions);
}

/* What a profile's sizes promise is what it writes (tiny), and the full
 * profile's evaluation sets are as large as issue 20 asks: retrieval 200
 * images x 1,000 captions, VQA 5,000 questions, NLVR 2,000 pairs, on test
 * and on validation; the pretraining corpus the shipped backbone was
 * pretrained on keeps its size. */
static void test_profile_sizes(void) {
    GenSummary a;
    const GenProfile *t = gen_profile_find("tiny"), *f = gen_profile_find("full");
    if (generate("sizes", 7, &a) != 0 || !t || !f) {
        CHECK(0, "generation failed: %s", err_msg());
        return;
    }
    long downstream = t->train + t->val + t->test, pretrain = t->pretrain_train + t->pretrain_val;
    CHECK(a.questions == downstream * t->questions_per_image, "%ld questions for %ld images", a.questions, downstream);
    CHECK(a.captions == downstream * 5 + pretrain, "%ld captions", a.captions);
    CHECK(a.nlvr_examples == t->nlvr_train + t->nlvr_dev + t->nlvr_test, "%ld NLVR examples", a.nlvr_examples);
    CHECK(a.images == pretrain + downstream + 2 * a.nlvr_examples, "%ld images", a.images);
    CHECK(f->test >= 200 && f->val >= 200, "full: %d test, %d val images (retrieval: 200)", f->test, f->val);
    CHECK(f->test * f->questions_per_image >= 5000 && f->val * f->questions_per_image >= 5000,
          "full: VQA %d test, %d val questions", f->test * f->questions_per_image, f->val * f->questions_per_image);
    CHECK(f->nlvr_test >= 2000 && f->nlvr_dev >= 2000, "full: NLVR %d test1, %d dev", f->nlvr_test, f->nlvr_dev);
    CHECK(f->pretrain_train == 16000 && f->pretrain_val == 1000, "full: pretraining %d + %d", f->pretrain_train,
          f->pretrain_val);
}

static void test_refusals(void) {
    GenSummary sum;
    /* "a" holds seed 7: the same settings are up to date, another seed is refused */
    CHECK(generate("a", 7, &sum) == 0 && sum.up_to_date, "same dataset not recognised");
    CHECK(generate("a", 9, &sum) != 0, "a different dataset was overwritten without --force");
    CHECK(strstr(err_msg(), "seed") && strstr(err_msg(), "--force"), "%s", err_msg());
    char out[512];
    snprintf(out, sizeof out, "%s/a", tmp_root);
    GenOptions o = tiny_options(out, 9);
    o.force = 1;
    CHECK(gen_dataset_generate(&o, &sum) == 0 && !sum.up_to_date, "--force: %s", err_msg());
    json_t *m = load("a", "manifest.json");
    CHECK(json_integer_value(json_object_get(m, "seed")) == 9, "manifest seed after --force");
    json_decref(m);
    size_t n9, n7;
    CHECK(crc_tree("a", &n9) != crc_tree("b", &n7) && n9 == n7, "--force left the old files");
    /* a folder with other content and no manifest */
    snprintf(out, sizeof out, "%s/other", tmp_root);
    dir_make(out);
    snprintf(out, sizeof out, "%s/other/notes.txt", tmp_root);
    file_write_atomic(out, "x", 1);
    CHECK(generate("other", 7, &sum) != 0 && strstr(err_msg(), "manifest.json"), "%s", err_msg());
}

/* --tint: 100 is the default (the same bytes, no manifest key), a milder
 * tint changes the images, is recorded, and the two refuse to stand in for
 * each other in either direction. Runs after test_determinism ("b": seed 7). */
static void test_tint(void) {
    char out[512];
    snprintf(out, sizeof out, "%s/tint", tmp_root);
    GenOptions o = tiny_options(out, 7);
    GenSummary sum;
    o.tint_percent = 100;
    CHECK(gen_dataset_generate(&o, &sum) == 0, "%s", err_msg());
    size_t n100, nb, n50;
    uint32_t c100 = crc_tree("tint", &n100), cb = crc_tree("b", &nb);
    CHECK(c100 == cb && n100 == nb, "--tint 100 differs from the default");
    o.tint_percent = 50;
    CHECK(gen_dataset_generate(&o, &sum) != 0 && strstr(err_msg(), "tint_percent"), "%s", err_msg());
    o.force = 1;
    CHECK(gen_dataset_generate(&o, &sum) == 0, "%s", err_msg());
    CHECK(crc_tree("tint", &n50) != c100 && n50 == n100, "--tint 50 gave the default's bytes");
    json_t *m = load("tint", "manifest.json");
    CHECK(json_integer_value(json_object_get(m, "tint_percent")) == 50, "tint_percent not in the manifest");
    json_decref(m);
    o.tint_percent = 0, o.force = 0; /* the default again */
    CHECK(gen_dataset_generate(&o, &sum) != 0 && strstr(err_msg(), "tint_percent"), "%s", err_msg());
}

/* --placement centred: the same scenes as the default (same categories,
 * colours, sizes and cells, the same captions and questions), every box
 * centred in its quadrant, other image bytes, recorded in the manifest, and
 * refused in place of the default. Runs after test_determinism ("b": seed 7). */
static void test_placement(void) {
    char out[512];
    snprintf(out, sizeof out, "%s/centred", tmp_root);
    GenOptions o = tiny_options(out, 7);
    o.placement = GEN_PLACE_CENTRED;
    GenSummary sum;
    CHECK(gen_dataset_generate(&o, &sum) == 0, "%s", err_msg());
    json_t *m = load("centred", "manifest.json");
    const char *placement = json_string_value(json_object_get(m, "placement"));
    CHECK(placement && !strcmp(placement, "centred"), "placement not in the manifest");
    json_decref(m);
    json_t *jc = load("centred", "annotations/instances_train.json"), *jb = load("b", "annotations/instances_train.json");
    json_t *ac = json_object_get(jc, "annotations"), *ab = json_object_get(jb, "annotations"), *a;
    CHECK(json_array_size(ac) > 0 && json_array_size(ac) == json_array_size(ab), "not the same objects");
    size_t i;
    json_array_foreach(ac, i, a) {
        json_t *b = json_array_get(ab, i), *bb = json_object_get(a, "bbox");
        int x = (int)json_integer_value(json_array_get(bb, 0)), y = (int)json_integer_value(json_array_get(bb, 1));
        int w = (int)json_integer_value(json_array_get(bb, 2)), cx = x % 32, cy = y % 32;
        CHECK(cx == (32 - w) / 2 && cy == (32 - w) / 2, "box %d %d %d not centred in its quadrant", x, y, w);
        CHECK(json_equal(json_object_get(a, "category_id"), json_object_get(b, "category_id")) &&
                  json_equal(json_object_get(a, "color"), json_object_get(b, "color")) &&
                  json_equal(json_object_get(a, "position"), json_object_get(b, "position")),
              "object %zu differs from the default's", i);
    }
    json_decref(jc);
    json_decref(jb);
    json_t *qc = load("centred", "vqa/v2_OpenEnded_mscoco_train2014_questions.json");
    json_t *qb = load("b", "vqa/v2_OpenEnded_mscoco_train2014_questions.json");
    CHECK(qc && json_equal(qc, qb), "centred scenes ask other questions");
    json_decref(qc);
    json_decref(qb);
    o.placement = GEN_PLACE_JITTER; /* the default, in a folder holding centred scenes */
    CHECK(gen_dataset_generate(&o, &sum) != 0 && strstr(err_msg(), "placement"), "%s", err_msg());
}

static int text_ok(json_t *s) { return json_is_string(s) && gen_text_is_normal(json_string_value(s)); }

static void test_karpathy(void) {
    json_t *kp = load("b", "annotations/karpathy_captions.json");
    json_t *pt = load("b", "annotations/karpathy_pretrain.json");
    if (!kp || !pt) {
        CHECK(0, "cannot load");
        return;
    }
    CHECK(!strcmp(json_string_value(json_object_get(kp, "dataset")), "fashion-scenes"), "dataset");
    CHECK(!strcmp(json_string_value(json_object_get(pt, "dataset")), "fashion-pretrain"), "dataset");
    json_t *images = json_object_get(kp, "images"), *im;
    size_t i;
    int splits[3] = {0};
    long last_sentid = -1;
    CHECK(json_array_size(images) == 50, "%zu images", json_array_size(images));
    json_array_foreach(images, i, im) {
        const char *fn = json_string_value(json_object_get(im, "filename"));
        json_int_t cocoid = json_integer_value(json_object_get(im, "cocoid"));
        const char *us = fn ? strrchr(fn, '_') : NULL;
        CHECK(us && atol(us + 1) == cocoid, "filename %s, cocoid %lld", fn, (long long)cocoid);
        CHECK(!strcmp(json_string_value(json_object_get(im, "filepath")), "images"), "filepath");
        CHECK(json_integer_value(json_object_get(im, "imgid")) == (json_int_t)i, "imgid");
        const char *split = json_string_value(json_object_get(im, "split"));
        splits[!strcmp(split, "train") ? 0 : !strcmp(split, "val") ? 1 : 2]++;
        json_t *sents = json_object_get(im, "sentences"), *ids = json_object_get(im, "sentids");
        CHECK(json_array_size(sents) == 5 && json_array_size(ids) == 5, "%zu sentences", json_array_size(sents));
        for (size_t k = 0; k < json_array_size(sents); k++) {
            json_t *s = json_array_get(sents, k);
            json_t *raw = json_object_get(s, "raw");
            CHECK(text_ok(raw), "caption '%s'", json_string_value(raw));
            CHECK(json_integer_value(json_object_get(s, "sentid")) == json_integer_value(json_array_get(ids, k)) &&
                      json_integer_value(json_object_get(s, "sentid")) > last_sentid,
                  "sentid");
            last_sentid = (long)json_integer_value(json_object_get(s, "sentid"));
            CHECK(json_integer_value(json_object_get(s, "imgid")) == (json_int_t)i, "sentence imgid");
            CHECK(json_array_size(json_object_get(s, "tokens")) >= 3, "tokens");
            for (size_t m = 0; m < k; m++)
                CHECK(strcmp(json_string_value(raw), json_string_value(json_object_get(json_array_get(sents, m), "raw"))),
                      "repeated caption '%s'", json_string_value(raw));
        }
    }
    CHECK(splits[0] == 30 && splits[1] == 10 && splits[2] == 10, "splits %d/%d/%d", splits[0], splits[1], splits[2]);
    images = json_object_get(pt, "images");
    CHECK(json_array_size(images) == 50, "%zu pretraining images", json_array_size(images));
    json_array_foreach(images, i, im) {
        json_t *raw = json_object_get(json_array_get(json_object_get(im, "sentences"), 0), "raw");
        CHECK(text_ok(raw), "alt-text '%s'", json_string_value(raw));
    }
    json_decref(kp);
    json_decref(pt);
}

static void test_instances(void) {
    static const char *const files[] = {"instances_pretrain", "instances_train", "instances_val",
                                        "instances_test", "instances_nlvr_train", "instances_nlvr_dev"};
    for (int f = 0; f < 6; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "annotations/%s.json", files[f]);
        json_t *j = load("b", rel);
        if (!j) {
            CHECK(0, "cannot load %s", rel);
            continue;
        }
        int train_photos = f == 0 || f == 1 || f == 4;
        CHECK(json_array_size(json_object_get(j, "categories")) == 10, "%s categories", rel);
        CHECK(json_object_get(j, "info") && json_object_get(j, "licenses"), "%s header", rel);
        json_t *anns = json_object_get(j, "annotations"), *a, *b;
        size_t i, k;
        CHECK(json_array_size(anns) > 0, "%s has no annotations", rel);
        json_array_foreach(anns, i, a) {
            json_t *bb = json_object_get(a, "bbox");
            int x = (int)json_integer_value(json_array_get(bb, 0)), y = (int)json_integer_value(json_array_get(bb, 1));
            int w = (int)json_integer_value(json_array_get(bb, 2)), h = (int)json_integer_value(json_array_get(bb, 3));
            CHECK(x >= 0 && y >= 0 && x + w <= 64 && y + h <= 64 && w > 0, "%s: box %d %d %d %d", rel, x, y, w, h);
            long cat = (long)json_integer_value(json_object_get(a, "category_id"));
            CHECK(cat >= 1 && cat <= 10 && json_integer_value(json_object_get(a, "iscrowd")) == 0 &&
                      json_integer_value(json_object_get(a, "area")) == w * h,
                  "%s: annotation fields", rel);
            CHECK(json_is_string(json_object_get(a, "color")) && json_is_string(json_object_get(a, "size")), "extras");
            const char *split = json_string_value(json_object_get(a, "source_split"));
            CHECK(split && !strcmp(split, train_photos ? "train" : "t10k"), "%s: photo from %s", rel, split);
            json_int_t src = json_integer_value(json_object_get(a, "source_index"));
            CHECK(src >= 0 && src < (train_photos ? 60000 : 10000), "%s: source index %lld", rel, (long long)src);
            /* val and NLVR dev take the even-numbered test photos, test the odd ones */
            if (f == 2 || f == 3 || f == 5) CHECK(src % 2 == (f == 3), "%s: source index %lld", rel, (long long)src);
            /* no two boxes of an image overlap */
            json_array_foreach(anns, k, b) {
                if (k <= i || json_integer_value(json_object_get(b, "image_id")) !=
                                  json_integer_value(json_object_get(a, "image_id")))
                    continue;
                json_t *bb2 = json_object_get(b, "bbox");
                int x2 = (int)json_integer_value(json_array_get(bb2, 0)), y2 = (int)json_integer_value(json_array_get(bb2, 1));
                int w2 = (int)json_integer_value(json_array_get(bb2, 2)), h2 = (int)json_integer_value(json_array_get(bb2, 3));
                CHECK(x + w <= x2 || x2 + w2 <= x || y + h <= y2 || y2 + h2 <= y, "%s: boxes overlap", rel);
            }
        }
        json_decref(j);
    }
}

static void test_vqa(void) {
    static const char *const sub[] = {"train2014", "val2014", "test2015"};
    for (int f = 0; f < 3; f++) {
        char qrel[128], arel[128];
        snprintf(qrel, sizeof qrel, "vqa/v2_OpenEnded_mscoco_%s_questions.json", sub[f]);
        snprintf(arel, sizeof arel, "vqa/v2_mscoco_%s_annotations.json", sub[f]);
        json_t *qf = load("b", qrel), *af = load("b", arel);
        if (!qf || !af) {
            CHECK(0, "cannot load %s", sub[f]);
            json_decref(qf);
            json_decref(af);
            continue;
        }
        static const char *const head[] = {"info", "task_type", "data_type", "data_subtype", "license"};
        for (int h = 0; h < 5; h++) CHECK(json_object_get(qf, head[h]) != NULL, "%s lacks %s", qrel, head[h]);
        CHECK(!strcmp(json_string_value(json_object_get(qf, "data_subtype")), sub[f]), "data_subtype");
        json_t *qs = json_object_get(qf, "questions"), *as = json_object_get(af, "annotations");
        CHECK(json_array_size(qs) == json_array_size(as) && json_array_size(qs) >= 10, "%zu questions",
              json_array_size(qs));
        for (size_t i = 0; i < json_array_size(qs) && i < json_array_size(as); i++) {
            json_t *q = json_array_get(qs, i), *a = json_array_get(as, i);
            json_int_t img = json_integer_value(json_object_get(q, "image_id"));
            json_int_t qid = json_integer_value(json_object_get(q, "question_id"));
            CHECK(qid / 1000 == img && qid % 1000 < 10, "question_id %lld of image %lld", (long long)qid, (long long)img);
            CHECK(json_integer_value(json_object_get(a, "question_id")) == qid, "annotation order");
            CHECK(text_ok(json_object_get(q, "question")), "question '%s'",
                  json_string_value(json_object_get(q, "question")));
            const char *at = json_string_value(json_object_get(a, "answer_type"));
            CHECK(at && (!strcmp(at, "yes/no") || !strcmp(at, "number") || !strcmp(at, "other")), "answer_type");
            CHECK(json_is_string(json_object_get(a, "question_type")), "question_type");
            json_t *ans = json_object_get(a, "answers");
            CHECK(json_array_size(ans) == 10, "%zu answers", json_array_size(ans));
            const char *texts[10];
            int seen[11] = {0};
            for (size_t k = 0; k < 10 && k < json_array_size(ans); k++) {
                json_t *x = json_array_get(ans, k);
                json_int_t id = json_integer_value(json_object_get(x, "answer_id"));
                CHECK(id >= 1 && id <= 10 && !seen[id], "answer_id %lld", (long long)id);
                if (id >= 1 && id <= 10) seen[id] = 1;
                texts[k] = json_string_value(json_object_get(x, "answer"));
                CHECK(text_ok(json_object_get(x, "answer")), "answer");
                const char *conf = json_string_value(json_object_get(x, "answer_confidence"));
                CHECK(conf && (!strcmp(conf, "yes") || !strcmp(conf, "maybe") || !strcmp(conf, "no")), "confidence");
            }
            if (json_array_size(ans) == 10) {
                const char *mc = json_string_value(json_object_get(a, "multiple_choice_answer"));
                int n_mc = 0, n_best = 0;
                for (int k = 0; k < 10; k++) {
                    int n = 0;
                    for (int m = 0; m < 10; m++) n += !strcmp(texts[k], texts[m]);
                    n_mc += !strcmp(texts[k], mc);
                    if (n > n_best) n_best = n;
                }
                CHECK(n_mc == n_best, "multiple_choice_answer '%s' given %d times, most frequent %d", mc, n_mc, n_best);
            }
        }
        json_decref(qf);
        json_decref(af);
    }
    const char *votes[4] = {"a", "b", "b", "c"};
    CHECK(!strcmp(gen_vqa_majority(votes, 4), "b"), "majority");
}

static void test_nlvr(void) {
    static const char *const split[] = {"train", "dev", "test1"};
    for (int f = 0; f < 3; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/b/nlvr/%s.json", tmp_root, split[f]);
        FILE *fp = fopen(path, "r");
        CHECK(fp != NULL, "%s missing", path);
        if (!fp) continue;
        char line[4096];
        int n = 0, n_true = 0;
        while (fgets(line, sizeof line, fp)) {
            json_error_t e;
            json_t *j = json_loads(line, 0, &e);
            CHECK(j != NULL, "%s line %d: %s", path, n + 1, e.text);
            if (!j) continue;
            n++;
            CHECK(json_object_size(j) == 10, "%s line %d has %zu keys", path, n, json_object_size(j));
            CHECK(text_ok(json_object_get(j, "sentence")), "sentence");
            const char *label = json_string_value(json_object_get(j, "label"));
            CHECK(label && (!strcmp(label, "True") || !strcmp(label, "False")), "label");
            n_true += label && !strcmp(label, "True");
            CHECK((f == 0) == (json_object_get(j, "directory") != NULL), "directory key");
            CHECK((f != 0) == (json_object_get(j, "extra_validations") != NULL), "extra_validations key");
            int set = -1, pair = -1, sent = -1;
            char sp[16];
            const char *id = json_string_value(json_object_get(j, "identifier"));
            CHECK(id && sscanf(id, "%15[a-z0-9]-%d-%d-%d", sp, &set, &pair, &sent) == 4 && !strcmp(sp, split[f]) &&
                      pair >= 0 && pair < 4,
                  "identifier %s", id);
            char img[600];
            if (f == 0)
                snprintf(img, sizeof img, "%s/b/nlvr/images/train/%lld/train-%d-%d-img1.jpg", tmp_root,
                         (long long)json_integer_value(json_object_get(j, "directory")), set, pair);
            else
                snprintf(img, sizeof img, "%s/b/nlvr/images/%s/%s-%d-%d-img0.jpg", tmp_root, split[f], split[f], set, pair);
            CHECK(access(img, R_OK) == 0, "missing %s", img);
            json_decref(j);
        }
        fclose(fp);
        CHECK(n == (f == 0 ? 24 : 12), "%s: %d lines", path, n);
        CHECK(n_true * 4 >= n && n_true * 4 <= 3 * n, "%s: %d of %d True", path, n_true, n);
    }
}

static void test_text_rules(void) {
    CHECK(gen_text_is_normal("a red bag in the top left"), "normal text rejected");
    CHECK(!gen_text_is_normal("A red bag"), "capital accepted");
    CHECK(!gen_text_is_normal("a  red"), "double space accepted");
    CHECK(!gen_text_is_normal("bag."), "punctuation accepted");
    CHECK(!gen_text_is_normal(""), "empty accepted");
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/moil_test_gen_%ld", (long)getpid());
    if (dir_make(tmp_root)) die("%s", err_msg());
    RUN(test_idx_reader);
    RUN(test_text_rules);
    RUN(test_missing_source);
    RUN(test_determinism);
    RUN(test_profile_sizes);
    RUN(test_karpathy);
    RUN(test_instances);
    RUN(test_vqa);
    RUN(test_nlvr);
    RUN(test_refusals);
    RUN(test_tint);
    RUN(test_placement);
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE();
}
