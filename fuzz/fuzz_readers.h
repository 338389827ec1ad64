/* Every file reader of the engine driven from a byte buffer: the bodies of
 * the libFuzzer harnesses (fuzz/fuzz_<reader>.c, one per reader) and of
 * tests/test_fuzz_regressions.c, which replays fuzz/regressions/<reader>/.
 *
 * Each fuzz_read_<reader>(data, size) feeds the bytes to the reader and
 * returns its result, 0 or -1 (err_set), after freeing what it built.
 * Readers that take a path get the bytes written to a file in a private
 * temporary folder (made once per process, removed by fuzz_cleanup). The
 * folder also holds empty image files with the names the seed corpora
 * refer to, since annotation readers check that their images exist:
 *   images/FS_{train,pretrain,val,test}_<id>.jpg        Karpathy and VQA
 *   nlvr/[0/]<split>-0-<pair>-img<side>.jpg            NLVR2 pairs (every
 *                                                       split's in one folder)
 * Inputs holding two files (VQA questions + annotations, IDX images +
 * labels, an experiment table + profiles.conf) are split as described at
 * their function. */
#ifndef MOIL_FUZZ_READERS_H
#define MOIL_FUZZ_READERS_H

#include "data_idx.h"
#include "data_image_index.h"
#include "data_instances.h"
#include "data_karpathy.h"
#include "data_nlvr.h"
#include "data_vqa.h"
#include "data_vqa_cache.h"
#include "io_image_load.h"
#include "io_region_cache.h"
#include "io_safetensors.h"
#include "io_tokenizer.h"
#include "report_experiment.h"

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir[64];
static volatile unsigned fuzz_sink; /* keeps reads of loaded data from being optimised away */

static inline void fuzz_touch(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, rel);
    for (char *p = path + strlen(fuzz_dir) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(path, 0777);
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fclose(f);
}

/* The temporary folder with its image fixtures (made on first use). */
static inline const char *fuzz_tmpdir(void) {
    if (fuzz_dir[0]) return fuzz_dir;
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/moil-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir)) abort();
    static const char *const images[] = {"FS_train_000000000051", "FS_train_000000000052",
                                         "FS_pretrain_000000000001", "FS_pretrain_000000000002",
                                         "FS_val_000000000081", "FS_test_000000000091"};
    char rel[256];
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        snprintf(rel, sizeof rel, "images/%s.jpg", images[i]);
        fuzz_touch(rel);
    }
    static const char *const splits[] = {"dev", "test1", "train"};
    for (int s = 0; s < 3; s++)
        for (int pair = 0; pair < 3; pair++)
            for (int side = 0; side < 2; side++) {
                snprintf(rel, sizeof rel, "nlvr/%s%s-0-%d-img%d.jpg", s == 2 ? "0/" : "", splits[s], pair, side);
                fuzz_touch(rel);
            }
    return fuzz_dir;
}

static inline int fuzz_unlink_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove the temporary folder and everything in it. */
static inline void fuzz_cleanup(void) {
    if (fuzz_dir[0]) nftw(fuzz_dir, fuzz_unlink_entry, 16, FTW_DEPTH | FTW_PHYS);
    fuzz_dir[0] = 0;
}

/* Write bytes to <tmpdir>/name and return the path (one static buffer per
 * slot 0/1, so two files can be live at once). */
static inline const char *fuzz_write(int slot, const char *name, const uint8_t *data, size_t size) {
    static char paths[2][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(paths[slot], "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
    return paths[slot];
}

/* Image bytes decoded from memory by decode and shrunk to 8x8 as the loaders do. */
static inline int fuzz_read_image(int (*decode)(const uint8_t *, size_t, const char *, Image *), const uint8_t *data,
                                  size_t size, const char *name) {
    Image im;
    if (decode(data, size, name, &im) != 0) return -1;
    uint8_t small[8 * 8 * 3];
    image_resize(im.pix, im.h, im.w, small, 8, 8);
    image_free(&im);
    return 0;
}

static inline int fuzz_read_png(const uint8_t *data, size_t size) {
    return fuzz_read_image(image_decode_png, data, size, "fuzz.png");
}

static inline int fuzz_read_jpeg(const uint8_t *data, size_t size) {
    return fuzz_read_image(image_decode_jpeg, data, size, "fuzz.jpg");
}

static inline int fuzz_read_karpathy(const uint8_t *data, size_t size) {
    KarpathySet s;
    const char *path = fuzz_write(0, "karpathy.json", data, size);
    if (data_karpathy_load(&s, path, fuzz_tmpdir()) != 0) return -1;
    int *idx, n, rc = data_karpathy_select(&s, "train,restval", &idx, &n);
    if (rc == 0) free(idx);
    data_karpathy_free(&s);
    return rc;
}

/* The index of the image fixtures in <tmpdir>/images, which the VQA readers
 * look their images up in (the fixtures are the harness's own: a failed scan
 * is a broken harness, not a finding). */
static inline void fuzz_image_index(ImageIndex *ix) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/images", fuzz_tmpdir());
    data_image_index_init(ix);
    if (data_image_index_scan(ix, dir) != 0) abort();
}

/* The questions file, then (after a NUL byte, if any) the annotations
 * file; images are looked up in <tmpdir>/images. */
static inline int fuzz_read_vqa(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t qlen = nul ? (size_t)(nul - data) : size;
    const char *qpath = fuzz_write(0, "questions.json", data, qlen);
    const char *apath = nul ? fuzz_write(1, "annotations.json", nul + 1, size - qlen - 1) : NULL;
    ImageIndex ix;
    fuzz_image_index(&ix);
    VqaSet s;
    int rc = data_vqa_load(&s, qpath, apath, &ix);
    if (rc == 0) data_vqa_free(&s);
    data_image_index_free(&ix);
    return rc;
}

static inline int fuzz_read_nlvr(const uint8_t *data, size_t size) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/nlvr", fuzz_tmpdir());
    NlvrSet s;
    if (data_nlvr_load(&s, fuzz_write(0, "nlvr.jsonl", data, size), dir) != 0) return -1;
    data_nlvr_free(&s);
    return 0;
}

static inline int fuzz_read_instances(const uint8_t *data, size_t size) {
    InstanceSet s;
    if (data_instances_load(&s, fuzz_write(0, "instances.json", data, size)) != 0) return -1;
    data_instances_free(&s);
    return 0;
}

/* A u32 little-endian length L, L bytes of the images file, then the labels
 * file (each raw IDX or gzip; zlib reads both). */
static inline int fuzz_read_idx(const uint8_t *data, size_t size) {
    if (size < 4) return -1;
    size_t ilen = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    if (ilen > size - 4) ilen = size - 4;
    fuzz_write(0, "fz-images-idx3-ubyte.gz", data + 4, ilen);
    fuzz_write(1, "fz-labels-idx1-ubyte.gz", data + 4 + ilen, size - 4 - ilen);
    IdxSet set;
    if (data_idx_load_split(&set, fuzz_tmpdir(), "fz") != 0) return -1;
    size_t n;
    if (set.count < 1 || set.rows < 1 || set.cols < 1 ||
        __builtin_mul_overflow((size_t)set.count * (size_t)set.rows, (size_t)set.cols, &n))
        abort(); /* the reader accepted an impossible header */
    unsigned sum = 0; /* touch every byte the header promises */
    for (size_t i = 0; i < n; i++) sum += set.pixels[i];
    for (int i = 0; i < set.count; i++) sum += set.labels[i];
    data_idx_free(&set);
    fuzz_sink = sum;
    return 0;
}

/* Open, then read every float tensor as the checkpoint loader does. */
static inline int fuzz_read_safetensors(const uint8_t *data, size_t size) {
    StFile f;
    if (safetensors_open(fuzz_write(0, "fuzz.safetensors", data, size), &f) != 0) return -1;
    int rc = 0;
    safetensors_meta(&f, "format");
    for (int i = 0; i < f.n_tensors; i++) {
        const StTensor *t = &f.tensors[i];
        if (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16) continue;
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
        float *out = malloc(n ? n * sizeof *out : 1);
        if (!out) abort();
        if (safetensors_read_f32(&f, t->name, out, t->ndim, t->shape) != 0) rc = -1;
        free(out);
    }
    safetensors_close(&f);
    return rc;
}

/* A parsed VQA set's cache file, its images found in the image fixtures. */
static inline int fuzz_read_vqa_cache(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(0, "fuzz.vqa", data, size);
    ImageIndex ix;
    fuzz_image_index(&ix);
    VqaSet s;
    int rc = data_vqa_cache_read(path, "questions.json", &s, &ix);
    if (rc == 0) {
        for (int i = 0; i < s.n; i++) fuzz_sink += (unsigned)strlen(s.q[i].question) + (s.q[i].image_path != NULL);
        data_vqa_free(&s);
    }
    data_image_index_free(&ix);
    return rc;
}

static inline int fuzz_read_region_cache(const uint8_t *data, size_t size) {
    RegionCache c;
    if (region_cache_read(fuzz_write(0, "fuzz.rgn", data, size), &c) != 0) return -1;
    for (int i = 0; i < c.n_images; i++)
        if (region_cache_find(&c, c.image_ids[i]) < 0) abort();
    region_cache_free(&c);
    return 0;
}

/* WordPiece encoding of arbitrary text (a NUL-terminated copy: any bytes,
 * malformed UTF-8 included) with a small BERT-like vocabulary, at two
 * lengths, then decoding. */
static inline int fuzz_read_wordpiece(const uint8_t *data, size_t size) {
    char vocab[] = "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\na\n##a\n##s\nplay\n##ing\n.\n\xc3\xa6\n##\xc3\xa6\n";
    Tokenizer t;
    if (tokenizer_parse(&t, TOKENIZER_WORDPIECE, vocab, "fuzz vocab") != 0) abort();
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    int32_t ids[64];
    uint8_t mask[64];
    tokenizer_encode(&t, text, 8, ids, mask);
    int n = tokenizer_encode(&t, text, 64, ids, mask);
    for (int i = 0; i < 64; i++)
        if (ids[i] < 0 || ids[i] >= t.n || mask[i] != (i < n)) abort();
    free(tokenizer_decode(&t, ids, n));
    free(text);
    tokenizer_free(&t);
    return 0;
}

/* tokenizer_parse on a NUL-terminated copy, then an encode/decode round. */
static inline int fuzz_read_tokenizer(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    Tokenizer t;
    int rc = tokenizer_parse(&t, TOKENIZER_WORD, buf, "fuzz.vocab");
    free(buf);
    if (rc != 0) return -1;
    int32_t ids[16];
    uint8_t mask[16];
    int n = tokenizer_encode(&t, t.words[t.n - 1], 16, ids, mask);
    free(tokenizer_decode(&t, ids, n));
    tokenizer_free(&t);
    return 0;
}

/* A table file (<tmpdir>/fuzz.exp), then (after a NUL byte, if any) a
 * profiles.conf; profile "tiny" of the second is read, and when both parse
 * the table is expanded into its runs. */
static inline int fuzz_read_experiment(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    ExpTable t;
    ExpProfile p;
    int trc = experiment_table_read(fuzz_write(0, "fuzz.exp", data, tlen), &t), prc = 0;
    if (nul) {
        prc = experiment_profile_read(fuzz_write(1, "profiles.conf", nul + 1, size - tlen - 1), "tiny", &p);
        ExpCell *cells;
        int n;
        if (trc == 0 && prc == 0 && experiment_expand(&t, &p, "data", "init.safetensors", &cells, &n) == 0)
            experiment_cells_free(cells, n);
        if (prc == 0) experiment_profile_free(&p);
    }
    if (trc == 0) experiment_table_free(&t);
    return trc || prc ? -1 : 0;
}

#endif
