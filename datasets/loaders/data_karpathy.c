#include "data_karpathy.h"

#include "check.h"
#include "data_image_index.h"
#include "data_layout.h"
#include "io_json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *path_join3(const char *a, const char *b, const char *c) {
    size_t len = strlen(a) + strlen(b) + strlen(c) + 3;
    char *p = xmalloc(len);
    if (*b) snprintf(p, len, "%s/%s/%s", a, b, c);
    else snprintf(p, len, "%s/%s", a, c);
    return p;
}

static int karpathy_read_image(KarpathyImage *im, const json_t *j, const char *file, size_t idx,
                               const char *image_root) {
    char ctx[1200];
    snprintf(ctx, sizeof ctx, "%s: images[%zu]", file, idx);
    const char *filename, *split, *filepath = "";
    json_t *sents;
    if (json_need_object(j, ctx) || json_need_str(j, "filename", ctx, &filename) ||
        json_need_str(j, "split", ctx, &split) || json_need_array(j, "sentences", ctx, &sents))
        return -1;
    if (json_object_get(j, "filepath") && json_need_str(j, "filepath", ctx, &filepath)) return -1;
    if (json_array_size(sents) == 0) return err_set("%s: no sentences", ctx);
    int64_t id;
    if (json_object_get(j, "cocoid")) {
        if (json_need_int(j, "cocoid", ctx, &id)) return -1;
    } else if (data_image_index_id_from_filename(filename, &id) != 0 && json_need_int(j, "imgid", ctx, &id)) {
        return err_set("%s: no 'cocoid', no id in filename '%s' and no 'imgid'", ctx, filename);
    }
    im->filename = xstrdup(filename);
    im->split = xstrdup(split);
    im->image_id = id;
    im->path = path_join3(image_root, filepath, filename);
    im->captions = xcalloc(json_array_size(sents), sizeof *im->captions);
    for (size_t k = 0; k < json_array_size(sents); k++) {
        char sctx[1300];
        snprintf(sctx, sizeof sctx, "%s.sentences[%zu]", ctx, k);
        const char *raw;
        json_t *s = json_array_get(sents, k);
        if (json_need_object(s, sctx) || json_need_str(s, "raw", sctx, &raw)) return -1;
        im->captions[im->n_captions++] = xstrdup(raw);
    }
    if (access(im->path, R_OK) != 0) return err_set("%s: image file %s not found", ctx, im->path);
    return 0;
}

int data_karpathy_load(KarpathySet *s, const char *json_path, const char *image_root) {
    memset(s, 0, sizeof *s);
    json_t *root = json_read_file(json_path);
    if (!root) return -1;
    json_t *images;
    const char *dataset = NULL;
    int rc = json_need_object(root, json_path) || json_need_array(root, "images", json_path, &images) ? -1 : 0;
    if (rc == 0 && json_object_get(root, "dataset") && json_need_str(root, "dataset", json_path, &dataset)) rc = -1;
    if (rc == 0 && json_array_size(images) == 0) rc = err_set("%s: 'images' is empty", json_path);
    if (rc == 0) {
        s->file = xstrdup(json_path);
        s->dataset = dataset ? xstrdup(dataset) : NULL;
        s->images = xcalloc(json_array_size(images), sizeof *s->images);
        for (size_t i = 0; rc == 0 && i < json_array_size(images); i++) {
            rc = karpathy_read_image(&s->images[i], json_array_get(images, i), json_path, i, image_root);
            s->n++;
        }
    }
    json_decref(root);
    if (rc != 0) data_karpathy_free(s);
    return rc;
}

int data_karpathy_load_part(KarpathySet *s, const char *data_dir, int part) {
    memset(s, 0, sizeof *s);
    DataLayout *l = xmalloc(sizeof *l);
    int rc = data_layout_read(l, data_dir);
    if (rc == 0)
        rc = part == KARPATHY_PRETRAIN ? data_karpathy_load(s, l->pretrain.path, l->pretrain_images.path)
                                       : data_karpathy_load(s, l->captions.path, l->captions_images.path);
    free(l);
    return rc;
}

void data_karpathy_free(KarpathySet *s) {
    for (int i = 0; i < s->n; i++) {
        KarpathyImage *im = &s->images[i];
        for (int k = 0; k < im->n_captions; k++) free(im->captions[k]);
        free(im->captions);
        free(im->filename);
        free(im->path);
        free(im->split);
    }
    free(s->images);
    free(s->file);
    free(s->dataset);
    memset(s, 0, sizeof *s);
}

/* Is name one of the comma-separated names of list? */
static int in_list(const char *name, const char *list) {
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == len && !strncmp(p, name, n)) return 1;
        p += n + (c ? 1 : 0);
    }
    return 0;
}

int data_karpathy_select(const KarpathySet *s, const char *splits, int **idx, int *n) {
    *idx = xmalloc((size_t)(s->n ? s->n : 1) * sizeof **idx);
    *n = 0;
    for (int i = 0; i < s->n; i++)
        if (in_list(s->images[i].split, splits)) (*idx)[(*n)++] = i;
    if (*n == 0) {
        free(*idx);
        *idx = NULL;
        return err_set("%s: split '%s' is empty", s->file, splits);
    }
    return 0;
}
