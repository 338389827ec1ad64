/* Dataset loaders on hand-written files in the real formats (not written by
 * the generator) and on every bad-input case of issue 3. Fixtures are made
 * at test time in a mkdtemp folder; JPEGs are written with libjpeg. */
#include "check.h"
#include "data_image_index.h"
#include "data_instances.h"
#include "data_karpathy.h"
#include "data_nlvr.h"
#include "data_vqa.h"
#include "io_image_cache.h"
#include "io_image_load.h"
#include "io_tokenizer.h"
#include "metric_vqa_answers.h"
#include "proc.h"
#include "test.h"

#include <jpeglib.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

static char root[256]; /* the fixture folder */

static const char *fx(const char *rel) { /* path under root; rotating buffers */
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
    return buf[k];
}

static void write_text(const char *rel, const char *fmt, ...) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", fx(rel));
    *strrchr(dir, '/') = 0;
    if (dir_make(dir) != 0) die("%s", err_msg());
    FILE *f = fopen(fx(rel), "w");
    if (!f) die("cannot write %s", fx(rel));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* A w x h JPEG of one colour: comps 3 (RGB), 1 (gray) or 4 (CMYK). */
static void write_jpeg(const char *rel, int w, int h, int comps, const uint8_t *colour) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", fx(rel));
    *strrchr(dir, '/') = 0;
    if (dir_make(dir) != 0) die("%s", err_msg());
    FILE *f = fopen(fx(rel), "wb");
    if (!f) die("cannot write %s", fx(rel));
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 3 ? JCS_RGB : comps == 1 ? JCS_GRAYSCALE : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = xmalloc((size_t)w * (size_t)comps);
    for (int x = 0; x < w; x++) memcpy(row + x * comps, colour, (size_t)comps);
    while (c.next_scanline < c.image_height) jpeg_write_scanlines(&c, &row, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    fclose(f);
}

static const uint8_t red[3] = {200, 30, 40}, blue[3] = {20, 40, 220};

static int msg_has(const char *needle) {
    int ok = strstr(err_msg(), needle) != NULL;
    if (!ok) printf("  message '%s' lacks '%s'\n", err_msg(), needle);
    return ok;
}

/* ---- images ---- */

static void test_jpeg_odd_size_rgb(void) {
    write_jpeg("img/odd.jpg", 100, 37, 3, red);
    Image im;
    CHECK(image_load(fx("img/odd.jpg"), &im) == 0, "%s", err_msg());
    CHECK(im.w == 100 && im.h == 37, "%dx%d", im.w, im.h);
    CHECK(abs(im.pix[(20 * 100 + 50) * 3] - 200) <= 3 && abs(im.pix[(20 * 100 + 50) * 3 + 2] - 40) <= 3, "pixel");
    image_free(&im);
    uint8_t out[16 * 16 * 3];
    CHECK(image_load_resized(fx("img/odd.jpg"), 16, 16, out) == 0, "%s", err_msg());
    CHECK(abs(out[(8 * 16 + 8) * 3 + 1] - 30) <= 3, "resized green %d", out[(8 * 16 + 8) * 3 + 1]);
}

static void test_jpeg_grayscale_to_rgb(void) {
    const uint8_t grey[1] = {90};
    write_jpeg("img/gray.jpg", 23, 41, 1, grey);
    Image im;
    CHECK(image_load(fx("img/gray.jpg"), &im) == 0, "%s", err_msg());
    CHECK(im.w == 23 && im.h == 41, "%dx%d", im.w, im.h);
    int same = 1;
    for (int i = 0; i < im.w * im.h; i++)
        same &= im.pix[3 * i] == im.pix[3 * i + 1] && im.pix[3 * i] == im.pix[3 * i + 2] && abs(im.pix[3 * i] - 90) <= 2;
    CHECK(same, "grey expanded to three equal channels");
    image_free(&im);
}

/* JPEG bytes named .png are JPEG; a broken PNG is an error naming the file
 * (PNG decoding itself: tests/test_png.c). */
static void test_png_named_jpeg_and_broken_png(void) {
    write_jpeg("img/x-img0.png", 8, 8, 3, blue);
    Image im;
    CHECK(image_load(fx("img/x-img0.png"), &im) == 0, "%s", err_msg());
    image_free(&im);
    write_text("img/real.png", "\x89PNG\r\n\x1a\n....");
    CHECK(image_load(fx("img/real.png"), &im) != 0, "broken PNG rejected");
    CHECK(msg_has("img/real.png: corrupt PNG: file truncated"), "message: %s", err_msg());
}

static void test_jpeg_truncated(void) {
    write_jpeg("img/trunc.jpg", 64, 64, 3, red);
    size_t len;
    char *buf = file_read_all(fx("img/trunc.jpg"), 1 << 20, &len);
    CHECK(file_write_atomic(fx("img/trunc.jpg"), buf, len / 2) == 0, "%s", err_msg());
    free(buf);
    Image im;
    CHECK(image_load(fx("img/trunc.jpg"), &im) != 0, "truncated JPEG rejected");
    CHECK(msg_has("img/trunc.jpg: corrupt JPEG") && msg_has("Premature end"), "message");
    CHECK(im.pix == NULL, "no pixels returned");
}

static void test_jpeg_corrupt_bytes(void) {
    write_jpeg("img/bad.jpg", 64, 64, 3, red);
    size_t len;
    uint8_t *buf = (uint8_t *)file_read_all(fx("img/bad.jpg"), 1 << 20, &len);
    for (size_t i = 20; i < len - 2; i++) buf[i] = (uint8_t)(i * 37 + 11); /* header and data destroyed */
    CHECK(file_write_atomic(fx("img/bad.jpg"), buf, len) == 0, "%s", err_msg());
    free(buf);
    Image im;
    CHECK(image_load(fx("img/bad.jpg"), &im) != 0, "corrupt JPEG rejected");
    CHECK(msg_has("img/bad.jpg: corrupt JPEG"), "message");
    write_text("img/text.jpg", "hello");
    CHECK(image_load(fx("img/text.jpg"), &im) != 0 && msg_has("img/text.jpg: neither a JPEG nor a PNG"), "not a JPEG");
}

/* A 16 x 16 JPEG whose baseline frame header (SOF0: FF C0, length, precision,
 * height, width) claims 9000 x 16: refused by size, naming the file. */
static void test_jpeg_oversized_header(void) {
    write_jpeg("img/huge.jpg", 16, 16, 3, red);
    size_t len, sof = 0;
    uint8_t *buf = (uint8_t *)file_read_all(fx("img/huge.jpg"), 1 << 20, &len);
    for (size_t i = 2; i + 9 < len && !sof; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xC0) sof = i;
    CHECK(sof > 0, "no SOF0 marker");
    buf[sof + 5] = 9000 >> 8, buf[sof + 6] = 9000 & 0xFF;
    CHECK(file_write_atomic(fx("img/huge.jpg"), buf, len) == 0, "%s", err_msg());
    free(buf);
    Image im;
    CHECK(image_load(fx("img/huge.jpg"), &im) != 0 && im.pix == NULL, "oversized header rejected");
    CHECK(msg_has("img/huge.jpg: image of 16x9000 pixels is larger than the 8192x8192 limit"), "message: %s",
          err_msg());
}

static void test_jpeg_cmyk_rejected(void) {
    const uint8_t cmyk[4] = {10, 200, 30, 5};
    write_jpeg("img/cmyk.jpg", 16, 12, 4, cmyk);
    Image im;
    CHECK(image_load(fx("img/cmyk.jpg"), &im) != 0, "CMYK rejected");
    CHECK(msg_has("img/cmyk.jpg") && msg_has("CMYK"), "message");
}

static void test_zero_size_image(void) {
    write_text("img/empty.jpg", "%s", "");
    Image im;
    CHECK(image_load(fx("img/empty.jpg"), &im) != 0, "empty file rejected");
    CHECK(msg_has("img/empty.jpg") && msg_has("0 bytes"), "message");
    CHECK(image_load(fx("img/missing.jpg"), &im) != 0 && msg_has("img/missing.jpg"), "missing file");
}

static void test_resize_and_chw(void) {
    uint8_t src[5 * 7 * 3], dst[5 * 7 * 3], small[2 * 3 * 3];
    for (int i = 0; i < 5 * 7 * 3; i++) src[i] = (uint8_t)(i * 7);
    image_resize(src, 5, 7, dst, 5, 7);
    CHECK(!memcmp(src, dst, sizeof src), "same size is the identity");
    for (int i = 0; i < 5 * 7 * 3; i++) src[i] = 77;
    image_resize(src, 5, 7, small, 2, 3);
    int flat = 1;
    for (int i = 0; i < 2 * 3 * 3; i++) flat &= small[i] == 77;
    CHECK(flat, "a flat image stays flat");
    uint8_t row[4 * 3] = {0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255}; /* 1x4 alternating */
    uint8_t half[2 * 3];
    image_resize(row, 1, 4, half, 1, 2);
    CHECK(abs(half[0] - 128) <= 40 && abs(half[3] - 128) <= 40, "shrinking averages: %d %d", half[0], half[3]);
    const uint8_t px[2 * 3] = {0, 255, 51, 255, 0, 102};
    float chw[2 * 3];
    image_to_chw(px, 1, 2, chw);
    CHECK_CLOSE(chw[0], -1.0, 1e-6); /* R of pixel 0 */
    CHECK_CLOSE(chw[1], 1.0, 1e-6);  /* R of pixel 1 */
    CHECK_CLOSE(chw[2], 1.0, 1e-6);  /* G of pixel 0 */
    CHECK_CLOSE(chw[4], -0.6, 1e-6); /* B of pixel 0: 51/255 = 0.2 */
}

static void test_image_cache(void) {
    write_jpeg("cache/a.jpg", 30, 10, 3, red);
    write_jpeg("cache/b.jpg", 9, 50, 3, blue);
    const char *paths[2] = {fx("cache/a.jpg"), fx("cache/b.jpg")};
    ImageCache c;
    CHECK(image_cache_load(&c, paths, 2, 8, 8) == 0, "%s", err_msg());
    CHECK(c.n == 2 && c.h == 8 && c.w == 8, "shape");
    CHECK(abs(image_cache_get(&c, 0)[0] - 200) <= 3 && abs(image_cache_get(&c, 1)[2] - 220) <= 3, "contents");
    image_cache_free(&c);
    write_text("cache/c.jpg", "%s", "");
    const char *bad[2] = {fx("cache/a.jpg"), fx("cache/c.jpg")};
    CHECK(image_cache_load(&c, bad, 2, 8, 8) != 0 && msg_has("cache/c.jpg"), "bad image named");
    CHECK(image_cache_load(&c, bad, 0, 8, 8) != 0 && msg_has("empty split"), "no images");
}

/* ---- tokenizer ---- */

static void test_tokenizer_normalize(void) {
    char *s = tokenizer_normalize("  A Man's red T-shirt.  Hello,world!\tDon\xe2\x80\x99t 10,000 caf\xc3\xa9 ");
    CHECK(!strcmp(s, "a mans red t shirt hello world dont 10 000 caf\xc3\xa9"), "'%s'", s);
    CHECK(tokenizer_count_words(s) == 11, "%d words", tokenizer_count_words(s));
    free(s);
    s = tokenizer_normalize("a red shirt on the left");
    CHECK(!strcmp(s, "a red shirt on the left"), "generated text unchanged: '%s'", s);
    free(s);
    s = tokenizer_normalize("?!. ");
    CHECK(!strcmp(s, "") && tokenizer_count_words(s) == 0, "only punctuation");
    free(s);
}

static void test_tokenizer_vocab_round_trip(void) {
    Tally words;
    str_tally_init(&words);
    tokenizer_tally(&words, "A red shirt.");
    tokenizer_tally(&words, "a Red bag, a blue SHIRT");
    tokenizer_tally(&words, "rare");
    Tokenizer t, u;
    tokenizer_build(&t, &words, 2);
    str_tally_free(&words);
    CHECK(t.n == TOK_N_SPECIAL + 3, "vocab size %d", t.n);
    CHECK(!strcmp(t.words[TOK_N_SPECIAL], "a") && tokenizer_id(&t, "a") == 5, "most frequent first");
    CHECK(tokenizer_id(&t, "rare") == TOK_WORD_UNK && tokenizer_id(&t, "[MASK]") == TOK_WORD_MASK, "unk and specials");
    CHECK(tokenizer_save(&t, fx("vocab.txt")) == 0, "%s", err_msg());
    CHECK(tokenizer_load(&u, TOKENIZER_WORD, fx("vocab.txt")) == 0, "%s", err_msg());
    CHECK(u.n == t.n, "loaded size");
    for (int i = 0; i < t.n && i < u.n; i++) CHECK(!strcmp(t.words[i], u.words[i]), "word %d", i);
    int32_t ids[6];
    uint8_t mask[6];
    int n = tokenizer_encode(&u, "A shirt, RED!", 6, ids, mask);
    CHECK(n == 5 && ids[0] == TOK_WORD_CLS && ids[4] == TOK_WORD_SEP && ids[5] == TOK_WORD_PAD, "n %d", n);
    CHECK(mask[4] == 1 && mask[5] == 0, "mask");
    char *back = tokenizer_decode(&u, ids, 6);
    CHECK(!strcmp(back, "a shirt red"), "decoded '%s'", back);
    free(back);
    n = tokenizer_encode(&u, "a red shirt a red shirt rare", 5, ids, mask);
    CHECK(n == 5 && ids[3] == tokenizer_id(&u, "shirt") && ids[4] == TOK_WORD_SEP, "truncated keeps [SEP]");
    n = tokenizer_encode(&u, "rare", 5, ids, mask);
    CHECK(n == 3 && ids[1] == TOK_WORD_UNK, "unknown word");
    tokenizer_free(&t);
    tokenizer_free(&u);
    write_text("vocab_bad.txt", "[PAD]\n[UNK]\n[CLS]\n[MASK]\n");
    CHECK(tokenizer_load(&u, TOKENIZER_WORD, fx("vocab_bad.txt")) != 0 && msg_has("vocab_bad.txt:4: expected special token [SEP]"),
          "bad vocab");
    write_text("vocab_dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nred\nred\n");
    CHECK(tokenizer_load(&u, TOKENIZER_WORD, fx("vocab_dup.txt")) != 0 && msg_has("vocab_dup.txt:7: duplicate"), "duplicate");
}

/* ---- Karpathy ---- */

static const char *karpathy_json =
    "{\"images\": ["
    "{\"filepath\": \"val2014\", \"sentids\": [770337, 771687], \"filename\": \"COCO_val2014_000000391895.jpg\","
    " \"imgid\": 0, \"split\": \"test\", \"sentences\": ["
    "{\"tokens\": [\"a\", \"man\"], \"raw\": \"A man with a red helmet on a small moped on a dirt road. \","
    " \"imgid\": 0, \"sentid\": 770337},"
    "{\"tokens\": [\"man\"], \"raw\": \"Man riding a motor bike on a dirt road on the countryside.\","
    " \"imgid\": 0, \"sentid\": 771687}], \"cocoid\": 391895, \"extra\": [1, 2]},"
    "{\"filepath\": \"train2014\", \"sentids\": [1], \"filename\": \"COCO_train2014_000000000009.jpg\", \"imgid\": 1,"
    " \"split\": \"restval\", \"sentences\": [{\"tokens\": [], \"raw\": \"Food.\", \"imgid\": 1, \"sentid\": 1}],"
    " \"cocoid\": 9}], \"dataset\": \"coco\"}";

static void test_karpathy_real_coco_and_f30k(void) {
    write_jpeg("coco/val2014/COCO_val2014_000000391895.jpg", 64, 36, 3, red);
    write_jpeg("coco/train2014/COCO_train2014_000000000009.jpg", 10, 10, 3, red);
    write_text("coco/dataset_coco.json", "%s", karpathy_json);
    KarpathySet s;
    CHECK(data_karpathy_load(&s, fx("coco/dataset_coco.json"), fx("coco")) == 0, "%s", err_msg());
    CHECK(s.n == 2 && !strcmp(s.dataset, "coco"), "n %d", s.n);
    if (s.n == 2) {
        CHECK(s.images[0].image_id == 391895 && !strcmp(s.images[0].split, "test"), "cocoid, split");
        CHECK(!strcmp(s.images[0].path, fx("coco/val2014/COCO_val2014_000000391895.jpg")), "path %s", s.images[0].path);
        CHECK(s.images[0].n_captions == 2 && !strncmp(s.images[0].captions[0], "A man with", 10), "raw captions");
    }
    int *idx, n;
    CHECK(data_karpathy_select(&s, "train,restval", &idx, &n) == 0 && n == 1 && idx[0] == 1, "train+restval");
    free(idx);
    CHECK(data_karpathy_select(&s, "val", &idx, &n) != 0 && msg_has("dataset_coco.json: split 'val' is empty"), "empty");
    data_karpathy_free(&s);

    write_jpeg("f30k/flickr30k-images/1000092795.jpg", 50, 33, 3, blue);
    write_text("f30k/dataset_flickr30k.json",
               "{\"images\": [{\"sentids\": [0, 1], \"imgid\": 0, \"sentences\": ["
               "{\"tokens\": [\"two\"], \"raw\": \"Two young guys with shaggy hair look at their hands.\", \"imgid\": 0, \"sentid\": 0},"
               "{\"tokens\": [\"two\"], \"raw\": \"Two young, White males are outside near many bushes.\", \"imgid\": 0, \"sentid\": 1}],"
               " \"split\": \"train\", \"filename\": \"1000092795.jpg\"}], \"dataset\": \"flickr30k\"}");
    CHECK(data_karpathy_load(&s, fx("f30k/dataset_flickr30k.json"), fx("f30k/flickr30k-images")) == 0, "%s", err_msg());
    CHECK(s.n == 1 && s.images[0].image_id == 1000092795, "id from filename");
    CHECK(s.n == 1 && !strcmp(s.images[0].path, fx("f30k/flickr30k-images/1000092795.jpg")), "path without filepath");
    data_karpathy_free(&s);
}

static void test_karpathy_bad_inputs(void) {
    KarpathySet s;
    write_text("kb/bad.json", "{\"images\": [ {\"filename\": \"x.jpg\",\n  \"split\" \"train\"} ]}");
    CHECK(data_karpathy_load(&s, fx("kb/bad.json"), root) != 0 && msg_has("kb/bad.json:2:") && msg_has("malformed JSON"),
          "malformed JSON");
    write_text("kb/nosplit.json", "{\"images\": [{\"filename\": \"a_1.jpg\", \"sentences\": [{\"raw\": \"x\"}]}]}");
    CHECK(data_karpathy_load(&s, fx("kb/nosplit.json"), root) != 0 &&
              msg_has("kb/nosplit.json: images[0]: missing field 'split'"), "missing field");
    write_text("kb/noraw.json", "{\"images\": [{\"filename\": \"a_1.jpg\", \"split\": \"train\", \"sentences\": [{\"tokens\": []}]}]}");
    CHECK(data_karpathy_load(&s, fx("kb/noraw.json"), root) != 0 && msg_has("images[0].sentences[0]: missing field 'raw'"),
          "missing raw");
    write_text("kb/noimg.json", "{\"images\": [{\"filename\": \"a_1.jpg\", \"split\": \"train\", \"sentences\": [{\"raw\": \"x\"}]}]}");
    CHECK(data_karpathy_load(&s, fx("kb/noimg.json"), root) != 0 && msg_has("images[0]: image file") && msg_has("a_1.jpg not found"),
          "missing image");
    write_text("kb/empty.json", "{\"images\": [], \"dataset\": \"coco\"}");
    CHECK(data_karpathy_load(&s, fx("kb/empty.json"), root) != 0 && msg_has("kb/empty.json: 'images' is empty"), "empty");
}

/* ---- COCO instances ---- */

static void test_instances(void) {
    write_text("inst/instances_val2014.json",
               "{\"info\": {}, \"licenses\": [], \"images\": ["
               "{\"license\": 3, \"file_name\": \"COCO_val2014_000000000042.jpg\", \"id\": 42, \"width\": 640, \"height\": 480},"
               "{\"file_name\": \"b.jpg\", \"id\": 7, \"width\": 100, \"height\": 37}],"
               " \"annotations\": ["
               "{\"segmentation\": [[1, 2, 3]], \"area\": 50.5, \"iscrowd\": 0, \"image_id\": 7, \"bbox\": [1.5, 2, 30, 20],"
               " \"category_id\": 18, \"id\": 1, \"color\": \"red\", \"size\": \"large\"},"
               "{\"image_id\": 42, \"bbox\": [0, 0, 10, 10], \"category_id\": 1, \"id\": 2},"
               "{\"image_id\": 7, \"bbox\": [50, 5, 8, 8], \"category_id\": 1, \"id\": 3, \"size\": 2}],"
               " \"categories\": [{\"supercategory\": \"person\", \"id\": 1, \"name\": \"person\"},"
               " {\"supercategory\": \"animal\", \"id\": 18, \"name\": \"dog\"}]}");
    InstanceSet s;
    CHECK(data_instances_load(&s, fx("inst/instances_val2014.json")) == 0, "%s", err_msg());
    CHECK(s.n_images == 2 && s.n_objects == 3 && s.n_categories == 2, "counts");
    if (s.n_objects == 3) {
        InstanceImage *b = &s.images[1];
        CHECK(b->id == 7 && b->count == 2 && b->height == 37, "image 7 has 2 objects");
        InstanceObject *o = &s.objects[b->first];
        CHECK(o->id == 1 && !strcmp(s.categories[o->category].name, "dog") && !strcmp(o->color, "red"), "first object");
        CHECK_CLOSE(o->bbox[0], 1.5, 1e-6);
        CHECK(o[1].id == 3 && !strcmp(o[1].size, "2") && o[1].color == NULL, "second object, extra fields");
        CHECK(s.images[0].count == 1 && s.objects[s.images[0].first].id == 2, "image 42");
        CHECK(data_instances_find_image(&s, 7) == 1, "find");
    }
    data_instances_free(&s);
    write_text("inst/bad_image.json", "{\"images\": [{\"file_name\": \"b.jpg\", \"id\": 7, \"width\": 1, \"height\": 1}],"
               "\"annotations\": [{\"image_id\": 8, \"bbox\": [0, 0, 1, 1], \"category_id\": 1, \"id\": 1}],"
               "\"categories\": [{\"id\": 1, \"name\": \"x\"}]}");
    CHECK(data_instances_load(&s, fx("inst/bad_image.json")) != 0 &&
              msg_has("bad_image.json: annotations[0]: image_id 8 is not in 'images'"), "unknown image");
    write_text("inst/nobbox.json", "{\"images\": [{\"file_name\": \"b.jpg\", \"id\": 7, \"width\": 1, \"height\": 1}],"
               "\"annotations\": [{\"image_id\": 7, \"category_id\": 1, \"id\": 1}], \"categories\": [{\"id\": 1, \"name\": \"x\"}]}");
    CHECK(data_instances_load(&s, fx("inst/nobbox.json")) != 0 && msg_has("nobbox.json: annotations[0]: missing field 'bbox'"),
          "missing bbox");
    write_text("inst/empty.json", "{\"images\": [], \"annotations\": [], \"categories\": []}");
    CHECK(data_instances_load(&s, fx("inst/empty.json")) != 0 && msg_has("empty.json: 'images' is empty"), "empty");
}

/* ---- VQA ---- */

static void make_vqa_images(ImageIndex *ix) {
    for (int id = 1; id <= 4; id++) {
        char rel[128];
        snprintf(rel, sizeof rel, "vqa_img/COCO_val2014_%012d.jpg", id);
        write_jpeg(rel, 12 + id, 9, 3, blue);
    }
    write_text("vqa_img/README.txt", "not an image");
    data_image_index_init(ix);
    if (data_image_index_scan(ix, fx("vqa_img")) != 0) die("%s", err_msg());
}

static void test_vqa_real_format(void) {
    ImageIndex ix;
    make_vqa_images(&ix);
    CHECK(ix.n == 4 && data_image_index_find(&ix, 3) && !data_image_index_find(&ix, 5), "index of 4 images");
    VqaSet s;
    CHECK(data_vqa_load(&s, "tests/vectors/vqa/questions.json", "tests/vectors/vqa/annotations.json", &ix) == 0, "%s",
          err_msg());
    CHECK(s.n == 8 && s.has_answers, "8 questions");
    if (s.n == 8) {
        VqaEntry *e = &s.q[6];
        CHECK(e->question_id == 4000 && e->image_id == 4 && !strcmp(e->question, "How many people?"), "question");
        CHECK(!strcmp(e->multiple_choice_answer, "10,000") && !strcmp(e->answers[4], "10000"), "answers");
        CHECK(!strcmp(e->question_type, "how many") && !strcmp(e->answer_type, "number"), "types");
        CHECK(strstr(e->image_path, "COCO_val2014_000000000004.jpg") != NULL, "image path %s", e->image_path);
    }
    data_vqa_free(&s);
    CHECK(data_vqa_load(&s, "tests/vectors/vqa/questions.json", NULL, &ix) == 0 && !s.has_answers && s.n == 8,
          "test split without annotations");
    data_vqa_free(&s);
    data_image_index_free(&ix);
}

static void test_vqa_bad_inputs(void) {
    ImageIndex ix;
    make_vqa_images(&ix);
    VqaSet s;
    const char *head = "{\"info\": {}, \"task_type\": \"Open-Ended\", \"data_type\": \"mscoco\", \"license\": {},"
                       " \"data_subtype\": \"train2014\", \"questions\": ";
    write_text("vqa/v2_OpenEnded_mscoco_train2014_questions.json",
               "%s[{\"image_id\": 458752, \"question\": \"What?\", \"question_id\": 458752000}]}", head);
    CHECK(data_vqa_load(&s, fx("vqa/v2_OpenEnded_mscoco_train2014_questions.json"), NULL, &ix) != 0 &&
              msg_has("v2_OpenEnded_mscoco_train2014_questions.json: question 458752000 points at unknown image 458752"),
          "unknown image");
    write_text("vqa/q.json", "%s[{\"image_id\": 1, \"question\": \"What?\", \"question_id\": 1000}]}", head);
    write_text("vqa/a_nomc.json", "{\"annotations\": [{\"question_type\": \"what\", \"answers\": [], \"image_id\": 1,"
               " \"answer_type\": \"other\", \"question_id\": 1000}]}");
    CHECK(data_vqa_load(&s, fx("vqa/q.json"), fx("vqa/a_nomc.json"), &ix) != 0 &&
              msg_has("a_nomc.json: annotations[0]: missing field 'multiple_choice_answer'"), "missing field");
    write_text("vqa/a_other.json", "{\"annotations\": [{\"question_id\": 5000, \"image_id\": 5}]}");
    CHECK(data_vqa_load(&s, fx("vqa/q.json"), fx("vqa/a_other.json"), &ix) != 0 &&
              msg_has("a_other.json: annotations[0]: question_id 5000 is not in"), "annotation of unknown question");
    write_text("vqa/a_none.json", "{\"annotations\": []}");
    CHECK(data_vqa_load(&s, fx("vqa/q.json"), fx("vqa/a_none.json"), &ix) != 0 &&
              msg_has("a_none.json: question 1000 has no annotation"), "question without annotation");
    write_text("vqa/a_few.json", "{\"annotations\": [{\"question_type\": \"what\", \"multiple_choice_answer\": \"x\","
               " \"answers\": [{\"answer\": \"x\"}], \"image_id\": 1, \"answer_type\": \"other\", \"question_id\": 1000}]}");
    CHECK(data_vqa_load(&s, fx("vqa/q.json"), fx("vqa/a_few.json"), &ix) != 0 && msg_has("1 answers, expected 10"),
          "not 10 answers");
    write_text("vqa/q_empty.json", "%s[]}", head);
    CHECK(data_vqa_load(&s, fx("vqa/q_empty.json"), NULL, &ix) != 0 && msg_has("q_empty.json: 'questions' is empty"),
          "empty split");
    write_text("vqa/q_bad.json", "%s[{\"image_id\": 1,,}]}", head);
    CHECK(data_vqa_load(&s, fx("vqa/q_bad.json"), NULL, &ix) != 0 && msg_has("q_bad.json:1:") && msg_has("malformed JSON"),
          "malformed JSON");
    data_image_index_free(&ix);
    write_text("bad_ids/COCO_val2014_abc.jpg", "x");
    data_image_index_init(&ix);
    CHECK(data_image_index_scan(&ix, fx("bad_ids")) != 0 && msg_has("COCO_val2014_abc.jpg: no image id"), "bad image name");
    data_image_index_free(&ix);
}

static void test_answer_vocab_vectors(void) {
    ImageIndex ix;
    make_vqa_images(&ix);
    VqaSet s;
    CHECK(data_vqa_load(&s, "tests/vectors/vqa/questions.json", "tests/vectors/vqa/annotations.json", &ix) == 0, "%s",
          err_msg());
    const VqaSet *sets[1] = {&s};
    AnswerVocab v;
    CHECK(metric_vqa_answers_build(&v, sets, 1, 1) == 0, "%s", err_msg());
    const char *want[6] = {"yes", "3", "maroon", "dogs", "shirt", "10000"};
    CHECK(v.n == 6, "vocab size %d", v.n);
    for (int i = 0; i < 6 && i < v.n; i++) CHECK(!strcmp(v.answers[i], want[i]), "answer %d = %s", i, v.answers[i]);
    int labels[VQA_N_ANSWERS];
    float scores[VQA_N_ANSWERS];
    int n = metric_vqa_answers_targets(&v, &s.q[6], labels, scores); /* qid 4000 */
    CHECK(s.q[6].question_id == 4000 && n == 1 && labels[0] == 5, "qid 4000 labels n=%d", n);
    CHECK_CLOSE(scores[0], 0.6, 1e-6);
    n = metric_vqa_answers_targets(&v, &s.q[2], labels, scores); /* qid 2000: 2x3, two x2, 3 x5 */
    CHECK(n == 1 && labels[0] == 1, "qid 2000 labels");
    CHECK_CLOSE(scores[0], 1.0, 1e-6);
    float row[6];
    metric_vqa_answers_target_row(&v, &s.q[7], row); /* qid 4001: yes x9 */
    CHECK(row[0] == 1.0f && row[1] == 0.0f, "dense row");
    AnswerVocab v9;
    CHECK(metric_vqa_answers_build(&v9, sets, 1, 9) != 0 && msg_has("no answer occurs 9"), "threshold 9: empty vocabulary");
    CHECK(metric_vqa_answers_drop_unlabeled(&v, &s) == 0 && s.n == 8, "every question has a label at threshold 1");
    metric_vqa_answers_free(&v);
    CHECK(metric_vqa_answers_build(&v, sets, 1, 2) == 0, "%s", err_msg()); /* keys yes only (x3) */
    CHECK(v.n == 1 && metric_vqa_answers_drop_unlabeled(&v, &s) == 5 && s.n == 3, "unlabeled dropped, n=%d", s.n);
    metric_vqa_answers_free(&v);
    data_vqa_free(&s);
    data_image_index_free(&ix);
}

/* ---- NLVR2 ---- */

static void test_nlvr_real_lines(void) {
    write_jpeg("nlvr/images/dev/dev-850-0-img0.png", 30, 20, 3, red); /* JPEG bytes in a .png, as in NLVR2 */
    write_jpeg("nlvr/images/dev/dev-850-0-img1.jpg", 20, 30, 3, blue);
    write_jpeg("nlvr/images/train/7/train-10108-0-img0.png", 8, 8, 3, red);
    write_jpeg("nlvr/images/train/7/train-10108-0-img1.png", 8, 8, 3, red);
    write_text("nlvr/dev.json",
               "{\"validation\": {\"61\": \"False\"}, \"sentence\": \"The right image shows a curving walkway.\","
               " \"left_url\": \"https://x/l.jpg\", \"writer\": \"61\", \"label\": \"False\", \"right_url\": \"https://x/r.jpg\","
               " \"synset\": \"beer bottle\", \"query\": \"some beer bottles38\", \"identifier\": \"dev-850-0-0\","
               " \"extra_validations\": {\"154\": \"False\"}}\n");
    write_text("nlvr/train.json",
               "{\"validation\": {}, \"sentence\": \"Two dogs.\", \"left_url\": \"\", \"writer\": \"1\", \"label\": \"True\","
               " \"right_url\": \"\", \"synset\": \"dog\", \"query\": \"dogs\", \"identifier\": \"train-10108-0-1\","
               " \"directory\": 7}\n");
    NlvrSet s;
    CHECK(data_nlvr_load(&s, fx("nlvr/dev.json"), fx("nlvr/images/dev")) == 0, "%s", err_msg());
    CHECK(s.n == 1 && s.ex[0].label == 0 && !strcmp(s.ex[0].pair, "dev-850-0") && !strcmp(s.ex[0].group, "dev-850--0"),
          "dev line");
    CHECK(s.n == 1 && strstr(s.ex[0].left, "dev-850-0-img0.png") && strstr(s.ex[0].right, "dev-850-0-img1.jpg"),
          "png and jpg images");
    data_nlvr_free(&s);
    CHECK(data_nlvr_load(&s, fx("nlvr/train.json"), fx("nlvr/images/train")) == 0, "%s", err_msg());
    CHECK(s.n == 1 && s.ex[0].label == 1 && strstr(s.ex[0].left, "images/train/7/train-10108-0-img0.png"),
          "directory used");
    data_nlvr_free(&s);
    CHECK(data_nlvr_load(&s, "tests/vectors/nlvr2/dev.json", fx("nlvr/images/dev")) != 0 && msg_has("dev.json:1: image not found"),
          "missing image named with its line");
}

static void test_nlvr_bad_lines(void) {
    const char *ok = "{\"identifier\": \"dev-850-0-0\", \"sentence\": \"x\", \"label\": \"True\"}\n";
    NlvrSet s;
    write_text("nlvr/bad1.json", "%s{\"identifier\": \"dev-850-0-1\", \"sentence\": \"x\"}\n", ok);
    CHECK(data_nlvr_load(&s, fx("nlvr/bad1.json"), fx("nlvr/images/dev")) != 0 && msg_has("nlvr/bad1.json:2: missing field 'label'"),
          "missing label");
    write_text("nlvr/bad2.json", "%s{\"identifier\": \"dev-850-0-1\", \"sentence\": \"x\", \"label\": tru}\n", ok);
    CHECK(data_nlvr_load(&s, fx("nlvr/bad2.json"), fx("nlvr/images/dev")) != 0 && msg_has("nlvr/bad2.json:2: malformed JSON"),
          "malformed line");
    write_text("nlvr/bad3.json", "{\"identifier\": \"dev-850-0-0\", \"sentence\": \"x\", \"label\": \"true\"}\n");
    CHECK(data_nlvr_load(&s, fx("nlvr/bad3.json"), fx("nlvr/images/dev")) != 0 && msg_has("bad3.json:1: label 'true'"), "label");
    write_text("nlvr/bad4.json", "{\"identifier\": \"dev-850-0\", \"sentence\": \"x\", \"label\": \"True\"}\n");
    CHECK(data_nlvr_load(&s, fx("nlvr/bad4.json"), fx("nlvr/images/dev")) != 0 && msg_has("bad4.json:1: identifier 'dev-850-0'"),
          "identifier");
    write_text("nlvr/bad5.json", "%s\n%s", ok, ok);
    CHECK(data_nlvr_load(&s, fx("nlvr/bad5.json"), fx("nlvr/images/dev")) != 0 && msg_has("bad5.json:2: blank line"), "blank");
    write_text("nlvr/empty.json", "%s", "");
    CHECK(data_nlvr_load(&s, fx("nlvr/empty.json"), fx("nlvr/images/dev")) != 0 && msg_has("empty.json: no examples"), "empty");
    CHECK(data_nlvr_load(&s, fx("nlvr/none.json"), fx("nlvr/images/dev")) != 0 && msg_has("none.json: cannot open"), "absent");
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/moil_loaders_XXXXXX");
    if (!mkdtemp(root)) die("mkdtemp failed");
    RUN(test_jpeg_odd_size_rgb);
    RUN(test_jpeg_grayscale_to_rgb);
    RUN(test_png_named_jpeg_and_broken_png);
    RUN(test_jpeg_truncated);
    RUN(test_jpeg_corrupt_bytes);
    RUN(test_jpeg_oversized_header);
    RUN(test_jpeg_cmyk_rejected);
    RUN(test_zero_size_image);
    RUN(test_resize_and_chw);
    RUN(test_image_cache);
    RUN(test_tokenizer_normalize);
    RUN(test_tokenizer_vocab_round_trip);
    RUN(test_karpathy_real_coco_and_f30k);
    RUN(test_karpathy_bad_inputs);
    RUN(test_instances);
    RUN(test_vqa_real_format);
    RUN(test_vqa_bad_inputs);
    RUN(test_answer_vocab_vectors);
    RUN(test_nlvr_real_lines);
    RUN(test_nlvr_bad_lines);
    rm_tree(root);
    return TEST_DONE();
}
