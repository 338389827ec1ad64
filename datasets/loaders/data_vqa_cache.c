/* The parsed VQA set's cache file; see data_vqa_cache.h. The layout is
 * written with memcpy of host values: little-endian hosts only (checked). */
#include "data_vqa_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

static const char magic[8] = "MOILVQA";
enum { HEADER_BYTES = 20, STRINGS_WITH_ANSWERS = 4 + VQA_N_ANSWERS };

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* The strings of entry e in file order: the question, then (with answers)
 * its types, the majority answer and the annotators' answers. */
static int entry_strings(VqaEntry *e, int has_answers, char **out[STRINGS_WITH_ANSWERS]) {
    out[0] = &e->question;
    if (!has_answers) return 1;
    out[1] = &e->question_type, out[2] = &e->answer_type, out[3] = &e->multiple_choice_answer;
    for (int k = 0; k < VQA_N_ANSWERS; k++) out[4 + k] = &e->answers[k];
    return STRINGS_WITH_ANSWERS;
}

/* A growing byte buffer. */
typedef struct {
    unsigned char *b;
    size_t len, cap;
} Bytes;

static void put(Bytes *o, const void *p, size_t n) {
    if (o->len + n > o->cap) {
        o->cap = 2 * (o->len + n);
        o->b = xrealloc(o->b, o->cap);
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

static void put_u32(Bytes *o, uint32_t v) { put(o, &v, 4); }

int data_vqa_cache_write(const char *path, const VqaSet *s) {
    if (!host_is_little_endian()) return err_set("%s: VQA caches are written on little-endian hosts only", path);
    Bytes o = {0};
    put(&o, magic, 8);
    put_u32(&o, VQA_CACHE_VERSION);
    put_u32(&o, (uint32_t)s->n);
    put_u32(&o, (uint32_t)(s->has_answers != 0));
    for (int i = 0; i < s->n; i++) {
        VqaEntry *e = &s->q[i];
        char **str[STRINGS_WITH_ANSWERS];
        int ns = entry_strings(e, s->has_answers, str);
        put(&o, &e->question_id, 8);
        put(&o, &e->image_id, 8);
        for (int k = 0; k < ns; k++) {
            size_t n = strlen(*str[k]);
            put_u32(&o, (uint32_t)n);
            put(&o, *str[k], n);
        }
    }
    int rc = file_write_atomic(path, o.b, o.len);
    free(o.b);
    return rc;
}

/* A cursor over the file's bytes: take n more bytes, or fail naming path. */
typedef struct {
    const unsigned char *p, *end;
    const char *path;
} Cursor;

static const unsigned char *take(Cursor *c, size_t n, int question) {
    if ((size_t)(c->end - c->p) < n) {
        err_set("%s: VQA cache truncated in question %d; remove it to parse the JSON again", c->path, question);
        return NULL;
    }
    const unsigned char *at = c->p;
    c->p += n;
    return at;
}

static int read_entry(Cursor *c, VqaEntry *e, int has_answers, int i) {
    const unsigned char *ids = take(c, 16, i);
    if (!ids) return -1;
    memcpy(&e->question_id, ids, 8);
    memcpy(&e->image_id, ids + 8, 8);
    char **str[STRINGS_WITH_ANSWERS];
    int ns = entry_strings(e, has_answers, str);
    for (int k = 0; k < ns; k++) {
        const unsigned char *len = take(c, 4, i);
        uint32_t n;
        if (!len) return -1;
        memcpy(&n, len, 4);
        const unsigned char *bytes = take(c, n, i);
        if (!bytes) return -1;
        if (memchr(bytes, 0, n))
            return err_set("%s: VQA cache: a string of question %d holds a NUL byte; remove it to parse the JSON "
                           "again",
                           c->path, i);
        *str[k] = xmalloc((size_t)n + 1);
        memcpy(*str[k], bytes, n);
        (*str[k])[n] = 0;
    }
    return 0;
}

int data_vqa_cache_read(const char *path, const char *questions_path, VqaSet *s, const ImageIndex *images) {
    memset(s, 0, sizeof *s);
    if (!host_is_little_endian()) return err_set("%s: VQA caches are read on little-endian hosts only", path);
    size_t len;
    unsigned char *buf = (unsigned char *)file_read_all(path, (size_t)1 << 34, &len);
    if (!buf) return -1;
    uint32_t head[3] = {0, 0, 0}; /* version, n, has_answers */
    if (len >= HEADER_BYTES) memcpy(head, buf + 8, sizeof head);
    int rc = 0;
    if (len < HEADER_BYTES || memcmp(buf, magic, 8) != 0) rc = err_set("%s: not a VQA cache (bad magic)", path);
    else if (head[0] != VQA_CACHE_VERSION)
        rc = err_set("%s: VQA cache version %u, this build reads %d", path, head[0], VQA_CACHE_VERSION);
    else if (head[1] < 1 || head[1] > (len - HEADER_BYTES) / 20 || head[2] > 1) /* >= 20 bytes a question */
        rc = err_set("%s: VQA cache of %u questions in %zu bytes, has_answers %u", path, head[1], len, head[2]);
    s->questions_file = xstrdup(questions_path);
    s->has_answers = (int)head[2];
    Cursor c = {buf + HEADER_BYTES, buf + len, path};
    if (rc == 0) s->q = xcalloc(head[1], sizeof *s->q);
    for (uint32_t i = 0; rc == 0 && i < head[1]; i++) {
        s->n = (int)i + 1; /* freed with the set, read or not */
        rc = read_entry(&c, &s->q[i], s->has_answers, (int)i);
    }
    if (rc == 0 && c.p != c.end)
        rc = err_set("%s: %zu bytes after the last question of the VQA cache", path, (size_t)(c.end - c.p));
    free(buf);
    if (rc == 0) rc = data_vqa_find_images(s, images);
    if (rc != 0) data_vqa_free(s);
    return rc;
}

/* FNV-1a 64 of the format version and both files' lengths and bytes (a
 * missing annotations file, NULL, counted as absent). */
static int source_key(const char *questions_path, const char *annotations_path, uint64_t *key) {
    uint32_t version = VQA_CACHE_VERSION;
    uint64_t h = fnv1a_update(FNV1A_INIT, &version, sizeof version);
    const char *paths[2] = {questions_path, annotations_path};
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        char *text = paths[k] ? file_read_all(paths[k], SIZE_MAX, &len) : NULL;
        if (paths[k] && !text) return -1;
        uint64_t n = len;
        h = fnv1a_update(h, &n, sizeof n);
        h = fnv1a_update(h, text, len);
        free(text);
    }
    *key = h;
    return 0;
}

int data_vqa_load_cached(VqaSet *s, const char *data_dir, const char *questions_path, const char *annotations_path,
                         const ImageIndex *images) {
    uint64_t key;
    if (source_key(questions_path, annotations_path, &key) != 0) return -1;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, VQA_CACHE_DIR);
    snprintf(path, sizeof path, "%s/%016llx.bin", dir, (unsigned long long)key);
    struct stat st;
    if (stat(path, &st) == 0) return data_vqa_cache_read(path, questions_path, s, images);
    if (errno != ENOENT) return err_set("%s: %s", path, strerror(errno));
    if (data_vqa_load(s, questions_path, annotations_path, images) != 0) return -1;
    if (dir_make(dir) != 0 || data_vqa_cache_write(path, s) != 0)
        fprintf(stderr, "vqa: the parsed annotations are not cached: %s\n", err_msg());
    return 0;
}
