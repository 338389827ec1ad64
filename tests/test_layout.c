/* Data layouts (datasets/loaders/data_layout.h): a small dataset folder in
 * the datasets' own layouts (COCO's Karpathy dataset_coco.json with
 * train2014/ and val2014/ image folders, VQA v2's files over them, NLVR2's
 * data/{train,dev,test1}.json with images/train/<directory>/, dev/ and
 * test1/ as PNG), described by the layout.json shipped for them, read through the loaders and by `moil
 * finetune` and `moil data stats`; the generated layout stays the
 * default; a malformed description is an error naming the file and the
 * member. */
#include "check.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "data_nlvr.h"
#include "data_vqa.h"
#include "gen_write.h"
#include "io_image_load.h"
#include "proc.h"
#include "test.h"

#include <png.h>

static char tmp_dir[] = "/tmp/moil_layout_XXXXXX";
#include "tmp_path.h"

#define SIDE 16

static void write_file(const char *rel, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s", tmp_path(rel));
    *strrchr(path, '/') = 0;
    if (dir_make(path) != 0 || file_write_atomic(tmp_path(rel), text, strlen(text)) != 0) die("%s", err_msg());
}

/* A SIDE x SIDE image of one colour: JPEG through the generator's writer,
 * or PNG through libpng's. */
static void write_image(const char *rel, int png, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t px[SIDE * SIDE * 3];
    for (int i = 0; i < SIDE * SIDE; i++) px[3 * i] = r, px[3 * i + 1] = g, px[3 * i + 2] = b;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tmp_path(rel));
    *strrchr(dir, '/') = 0;
    if (dir_make(dir) != 0) die("%s", err_msg());
    if (!png) {
        GenWriter w;
        gen_writer_init(&w, tmp_dir);
        if (gen_write_jpeg(&w, rel, px, SIDE, 95) != 0) die("%s", err_msg());
        gen_writer_free(&w);
        return;
    }
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION, im.width = SIDE, im.height = SIDE, im.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&im, tmp_path(rel), 0, px, 0, NULL)) die("%s: %s", rel, im.message);
}

/* The description shipped for the real datasets (docs/data.md), which
 * this fixture follows (tests run from the repository's top folder). */
#define REAL_LAYOUT "datasets/layouts/real.json"

/* VQA v2's two files of one split: one question on image id, ten answers. */
static void write_vqa(const char *subtype, int64_t image_id, const char *question, const char *answer) {
    char rel[128], text[2048], answers[1024] = "";
    for (int k = 0; k < 10; k++)
        snprintf(answers + strlen(answers), sizeof answers - strlen(answers),
                 "%s{\"answer\": \"%s\", \"answer_confidence\": \"yes\", \"answer_id\": %d}", k ? ", " : "", answer, k + 1);
    snprintf(rel, sizeof rel, "vqa/v2_OpenEnded_mscoco_%s_questions.json", subtype);
    snprintf(text, sizeof text,
             "{\"info\": {}, \"task_type\": \"Open-Ended\", \"data_type\": \"mscoco\", \"license\": {}, "
             "\"data_subtype\": \"%s\", \"questions\": [{\"image_id\": %lld, \"question\": \"%s\", "
             "\"question_id\": %lld}]}",
             subtype, (long long)image_id, question, (long long)image_id * 1000);
    write_file(rel, text);
    snprintf(rel, sizeof rel, "vqa/v2_mscoco_%s_annotations.json", subtype);
    snprintf(text, sizeof text,
             "{\"info\": {}, \"license\": {}, \"data_subtype\": \"%s\", \"annotations\": [{\"question_type\": "
             "\"what color is the\", \"multiple_choice_answer\": \"%s\", \"answers\": [%s], \"image_id\": %lld, "
             "\"answer_type\": \"other\", \"question_id\": %lld}]}",
             subtype, answer, answers, (long long)image_id, (long long)image_id * 1000);
    write_file(rel, text);
}

/* NLVR2 lines: n pairs of split (dev: no directory), labels alternating. */
static void write_nlvr(const char *rel, const char *split, int n) {
    char text[4096] = "";
    for (int i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%d-0", split, 100 + i);
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "{\"identifier\": \"%s-0\", \"sentence\": \"The left image shows a red bag.\", \"label\": \"%s\","
                 " \"synset\": \"bag\", \"query\": \"bag\", \"left_url\": \"\", \"right_url\": \"\", \"writer\": \"1\","
                 " \"validation\": {}%s}\n",
                 id, i % 2 ? "False" : "True", strcmp(split, "train") ? "" : ", \"directory\": 7");
        for (int side = 0; side < 2; side++) {
            char img[256];
            snprintf(img, sizeof img, "nlvr2/%s%s/%s-img%d.png", strcmp(split, "train") ? "" : "images/",
                     strcmp(split, "train") ? split : "train/7", id, side);
            write_image(img, 1, (uint8_t)(200 - 100 * side), 30, (uint8_t)(20 + 10 * i));
        }
    }
    write_file(rel, text);
}

/* The fixture: the layouts REAL_LAYOUT names, with 2 train2014 COCO
 * images (Karpathy split train) and 2 val2014 ones (val and test), no VQA
 * test questions. */
static void write_real_layout(void) {
    char *layout = file_read_all(REAL_LAYOUT, 1 << 16, NULL);
    if (!layout) die("%s", err_msg());
    write_file("layout.json", layout);
    free(layout);
    const int64_t train_ids[] = {9, 25}, val_ids[] = {42, 73};
    char rel[256], images[2048] = "";
    for (int i = 0; i < 2; i++) {
        for (int v = 0; v < 2; v++) {
            int64_t id = v ? val_ids[i] : train_ids[i];
            const char *folder = v ? "val2014" : "train2014";
            snprintf(rel, sizeof rel, "coco/%s/COCO_%s_%012lld.jpg", folder, folder, (long long)id);
            write_image(rel, 0, (uint8_t)(40 + 100 * v), (uint8_t)(60 + 80 * i), 90);
            snprintf(images + strlen(images), sizeof images - strlen(images),
                     "%s{\"filepath\": \"%s\", \"filename\": \"COCO_%s_%012lld.jpg\", \"cocoid\": %lld, \"split\": \"%s\", "
                     "\"sentences\": [{\"raw\": \"A Red bag on a table.\", \"tokens\": [\"a\"]}]}",
                     *images ? ", " : "", folder, folder, (long long)id, (long long)id, v ? (i ? "test" : "val") : "train");
        }
    }
    char text[3072];
    snprintf(text, sizeof text, "{\"dataset\": \"coco\", \"images\": [%s]}", images);
    write_file("coco/karpathy/dataset_coco.json", text);
    write_vqa("train2014", 9, "What color is the bag?", "red");
    write_vqa("val2014", 42, "What color is the table?", "brown");
    write_nlvr("nlvr2/data/train.json", "train", 2);
    write_nlvr("nlvr2/data/dev.json", "dev", 2);
    write_nlvr("nlvr2/data/test1.json", "test1", 2);
}

static void test_generated_default(void) {
    DataLayout *l = xmalloc(sizeof *l);
    CHECK(data_layout_read(l, "some/dir") == 0, "%s", err_msg());
    CHECK(!strcmp(l->captions.path, "some/dir/annotations/karpathy_captions.json") &&
              !strcmp(l->captions_images.path, "some/dir") && !strcmp(l->vqa_images[LAYOUT_VQA_TEST].path, "some/dir/images") &&
              !strcmp(l->nlvr[LAYOUT_NLVR_DEV].path, "some/dir/nlvr/dev.json") &&
              !strcmp(l->nlvr_images[LAYOUT_NLVR_TRAIN].path, "some/dir/nlvr/images/train"),
          "%s %s %s", l->captions.path, l->vqa_images[LAYOUT_VQA_TEST].path, l->nlvr_images[LAYOUT_NLVR_TRAIN].path);
    free(l);
}

static void test_real_layouts_read(void) {
    DataLayout *l = xmalloc(sizeof *l);
    CHECK(data_layout_read(l, tmp_dir) == 0, "%s", err_msg());
    /* what layout.json leaves out keeps the generated path */
    char want[1024];
    snprintf(want, sizeof want, "%s/vqa/v2_mscoco_test2015_annotations.json", tmp_dir);
    CHECK(!strcmp(l->vqa_annotations[LAYOUT_VQA_TEST].path, want), "%s", l->vqa_annotations[LAYOUT_VQA_TEST].path);
    snprintf(want, sizeof want, "%s/coco/test2015", tmp_dir);
    CHECK(!strcmp(l->vqa_images[LAYOUT_VQA_TEST].path, want), "%s", l->vqa_images[LAYOUT_VQA_TEST].path);
    /* Karpathy: <images>/<filepath>/<filename> */
    KarpathySet k;
    CHECK(data_karpathy_load_part(&k, tmp_dir, KARPATHY_CAPTIONS) == 0, "%s", err_msg());
    CHECK(k.n == 4 && strstr(k.images[1].path, "/coco/val2014/COCO_val2014_000000000042.jpg") && k.images[1].image_id == 42,
          "%d images, %s", k.n, k.n > 1 ? k.images[1].path : "");
    data_karpathy_free(&k);
    /* VQA: the val questions find their image in val2014/ */
    ImageIndex ix;
    data_image_index_init(&ix);
    VqaSet v;
    CHECK(data_image_index_scan(&ix, l->vqa_images[LAYOUT_VQA_VAL].path) == 0, "%s", err_msg());
    CHECK(data_vqa_load(&v, l->vqa_questions[LAYOUT_VQA_VAL].path, l->vqa_annotations[LAYOUT_VQA_VAL].path, &ix) == 0,
          "%s", err_msg());
    CHECK(v.n == 1 && strstr(v.q[0].image_path, "coco/val2014/COCO_val2014_000000000042.jpg") &&
              !strcmp(v.q[0].multiple_choice_answer, "brown"),
          "%d questions", v.n);
    if (v.n) data_vqa_free(&v);
    data_image_index_free(&ix);
    /* NLVR2: dev's pairs in dev/, train's in images/train/<directory>/, PNG decoded */
    NlvrSet n;
    CHECK(data_nlvr_load(&n, l->nlvr[LAYOUT_NLVR_DEV].path, l->nlvr_images[LAYOUT_NLVR_DEV].path) == 0, "%s", err_msg());
    Image im = {0};
    CHECK(n.n == 2 && strstr(n.ex[1].right, "nlvr2/dev/dev-101-0-img1.png") && image_load(n.ex[1].right, &im) == 0,
          "%s", err_msg());
    CHECK(im.w == SIDE && im.pix && im.pix[0] == 100 && im.pix[1] == 30 && im.pix[2] == 30, "pixel %d %d %d",
          im.pix ? im.pix[0] : -1, im.pix ? im.pix[1] : -1, im.pix ? im.pix[2] : -1);
    image_free(&im);
    data_nlvr_free(&n);
    CHECK(data_nlvr_load(&n, l->nlvr[LAYOUT_NLVR_TRAIN].path, l->nlvr_images[LAYOUT_NLVR_TRAIN].path) == 0 &&
              strstr(n.ex[0].left, "nlvr2/images/train/7/train-100-0-img0.png"),
          "%s", err_msg());
    data_nlvr_free(&n);
    free(l);
}

/* The command line reads the same folder: a vocabulary from its captions,
 * questions and statements, NLVR2 trained and evaluated on its PNG pairs. */
static void test_real_layouts_cli(void) {
    char out[16384];
    int rc = proc_moil(out, sizeof out,
                       "finetune --task nlvr --method full --data '%s' --steps 2 --batch 2 --eval-limit 2 --no-db "
                       "--out '%s' --quiet",
                       tmp_dir, tmp_path("run"));
    CHECK(rc == 0 && strstr(out, "accuracy="), "moil finetune: %d\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "data stats '%s'", tmp_dir);
    CHECK(rc == 0 && strstr(out, "vqa_val_questions=1") && strstr(out, "coco/karpathy/dataset_coco.json"),
          "moil data stats: %d\n%s", rc, out);
}

static void test_bad_descriptions(void) {
    static const struct {
        const char *json, *want;
    } v[] = {
        {"{\"captionz\": {}}", "layout.json: unknown member 'captionz'"},
        {"{\"captions\": {\"file\": 3}}", "layout.json: captions: 'file' is not a string"},
        {"{\"captions\": {\"root\": \"x\"}}", "layout.json: captions: unknown member 'root'"},
        {"{\"vqa\": {\"minival\": {}}}", "layout.json: vqa: unknown split 'minival'"},
        {"{\"nlvr\": {\"dev\": {\"images\": \"a\", \"annotations\": \"b\"}}}", "layout.json: nlvr.dev: unknown member"},
        {"{\"nlvr\": [", "layout.json:1:"},
    };
    DataLayout *l = xmalloc(sizeof *l);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        write_file("bad/layout.json", v[i].json);
        CHECK(data_layout_read(l, tmp_path("bad")) != 0 && strstr(err_msg(), v[i].want), "%s: %s", v[i].json, err_msg());
    }
    free(l);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) die("mkdtemp %s failed", tmp_dir);
    write_real_layout();
    RUN(test_generated_default);
    RUN(test_real_layouts_read);
    RUN(test_real_layouts_cli);
    RUN(test_bad_descriptions);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
