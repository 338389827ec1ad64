#include "data_layout.h"

#include "check.h"
#include "io_json_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IMAGES "images"
#define ANNOTATIONS "annotations"
#define INSTANCES ANNOTATIONS "/instances_"
#define VQA "vqa"
#define NLVR "nlvr"
#define NLVR_IMAGES NLVR "/images"

static char *layout_path(char out[LAYOUT_PATH_MAX], const char *dir, const char *fmt, ...) MOIL_PRINTF(3, 4);
static char *layout_path(char out[LAYOUT_PATH_MAX], const char *dir, const char *fmt, ...) {
    int n = dir ? snprintf(out, LAYOUT_PATH_MAX, "%s/", dir) : 0;
    va_list ap;
    va_start(ap, fmt);
    int m = n >= 0 && n < LAYOUT_PATH_MAX ? vsnprintf(out + n, LAYOUT_PATH_MAX - (size_t)n, fmt, ap) : -1;
    va_end(ap);
    if (m < 0 || n + m >= LAYOUT_PATH_MAX) die("%s: a path in this dataset folder is longer than %d bytes", dir ? dir : ".", LAYOUT_PATH_MAX - 1);
    return out;
}

char *data_layout_manifest(char out[LAYOUT_PATH_MAX], const char *dir) { return layout_path(out, dir, "manifest.json"); }

char *data_layout_images(char out[LAYOUT_PATH_MAX], const char *dir) { return layout_path(out, dir, IMAGES); }

char *data_layout_image(char out[LAYOUT_PATH_MAX], const char *dir, const char *file) {
    return layout_path(out, dir, IMAGES "/%s", file);
}

char *data_layout_karpathy_pretrain(char out[LAYOUT_PATH_MAX], const char *dir) {
    return layout_path(out, dir, ANNOTATIONS "/karpathy_pretrain.json");
}

char *data_layout_karpathy_captions(char out[LAYOUT_PATH_MAX], const char *dir) {
    return layout_path(out, dir, ANNOTATIONS "/karpathy_captions.json");
}

char *data_layout_instances(char out[LAYOUT_PATH_MAX], const char *dir, const char *set) {
    return layout_path(out, dir, INSTANCES "%s.json", set);
}

char *data_layout_nlvr_instances(char out[LAYOUT_PATH_MAX], const char *dir, const char *split) {
    return layout_path(out, dir, INSTANCES NLVR "_%s.json", split);
}

const char *data_layout_vqa_subtype(const char *split) {
    if (!strcmp(split, "train")) return "train2014";
    if (!strcmp(split, "val")) return "val2014";
    if (!strcmp(split, "test")) return "test2015";
    return NULL;
}

static const char *vqa_subtype_of(const char *split) {
    const char *subtype = data_layout_vqa_subtype(split);
    if (!subtype) die("no VQA file of split '%s' (train, val, test)", split);
    return subtype;
}

char *data_layout_vqa_questions(char out[LAYOUT_PATH_MAX], const char *dir, const char *split) {
    return layout_path(out, dir, VQA "/v2_OpenEnded_mscoco_%s_questions.json", vqa_subtype_of(split));
}

char *data_layout_vqa_annotations(char out[LAYOUT_PATH_MAX], const char *dir, const char *split) {
    return layout_path(out, dir, VQA "/v2_mscoco_%s_annotations.json", vqa_subtype_of(split));
}

char *data_layout_nlvr(char out[LAYOUT_PATH_MAX], const char *dir, const char *split) {
    return layout_path(out, dir, NLVR "/%s.json", split);
}

char *data_layout_nlvr_images(char out[LAYOUT_PATH_MAX], const char *dir) { return layout_path(out, dir, NLVR_IMAGES); }

char *data_layout_nlvr_image(char out[LAYOUT_PATH_MAX], const char *dir, const char *file) {
    return layout_path(out, dir, NLVR_IMAGES "/%s", file);
}

int data_layout_make_folders(const char *dir) {
    static const char *const folders[] = {IMAGES, ANNOTATIONS, VQA, NLVR_IMAGES};
    char path[LAYOUT_PATH_MAX];
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
        if (dir_make(layout_path(path, dir, "%s", folders[i]))) return -1;
    return 0;
}

static const char *const vqa_splits[] = {[LAYOUT_VQA_TRAIN] = "train", [LAYOUT_VQA_VAL] = "val", [LAYOUT_VQA_TEST] = "test"};
static const char *const nlvr_splits[] = {[LAYOUT_NLVR_TRAIN] = "train", [LAYOUT_NLVR_DEV] = "dev",
                                          [LAYOUT_NLVR_TEST1] = "test1", [LAYOUT_NLVR_TEST2] = "test2"};
_Static_assert(sizeof vqa_splits / sizeof vqa_splits[0] == LAYOUT_VQA_SPLITS, "one name per LAYOUT_VQA_*");
_Static_assert(sizeof nlvr_splits / sizeof nlvr_splits[0] == LAYOUT_NLVR_SPLITS, "one name per LAYOUT_NLVR_*");

int data_layout_vqa_split(const char *split) { return NAME_INDEX(vqa_splits, split); }
int data_layout_nlvr_split(const char *split) { return NAME_INDEX(nlvr_splits, split); }

/* The generated layout of dir. */
static void layout_default(DataLayout *l, const char *dir) {
    data_layout_karpathy_pretrain(l->pretrain.path, dir);
    layout_path(l->pretrain_images.path, NULL, "%s", dir);
    data_layout_karpathy_captions(l->captions.path, dir);
    layout_path(l->captions_images.path, NULL, "%s", dir);
    for (int k = 0; k < LAYOUT_VQA_SPLITS; k++) {
        data_layout_vqa_questions(l->vqa_questions[k].path, dir, vqa_splits[k]);
        data_layout_vqa_annotations(l->vqa_annotations[k].path, dir, vqa_splits[k]);
        data_layout_images(l->vqa_images[k].path, dir);
    }
    for (int k = 0; k < LAYOUT_NLVR_SPLITS; k++) {
        data_layout_nlvr(l->nlvr[k].path, dir, nlvr_splits[k]);
        layout_path(l->nlvr_images[k].path, dir, NLVR_IMAGES "/%s", nlvr_splits[k]);
    }
}

/* One member of a layout object: names[i] of obj sets out[i] (dir/value,
 * or value when absolute). Fails on another member or a non-string. */
static int layout_members(const json_t *obj, const char *ctx, const char *dir, const char *const *names,
                          LayoutPath *const *out, int n) {
    if (json_need_object(obj, ctx) != 0) return -1;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int i = 0;
        while (i < n && strcmp(names[i], key)) i++;
        if (i == n) return err_set("%s: unknown member '%s'", ctx, key);
        if (!json_is_string(v)) return err_set("%s: '%s' is not a string (a path)", ctx, key);
        const char *p = json_string_value(v);
        layout_path(out[i]->path, *p == '/' ? NULL : dir, "%s", p);
    }
    return 0;
}

/* A member whose value holds one object per split (vqa, nlvr). */
static int layout_splits(const json_t *obj, const char *ctx, const char *dir, const char *const *splits, int n_splits,
                         const char *const *names, LayoutPath *const *out, int n) {
    if (json_need_object(obj, ctx) != 0) return -1;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int s = name_index(splits, n_splits, key);
        if (s < 0) return err_set("%s: unknown split '%s'", ctx, key);
        LayoutPath *split_out[3];
        for (int i = 0; i < n; i++) split_out[i] = out[i] + s;
        char sctx[LAYOUT_PATH_MAX + 64];
        snprintf(sctx, sizeof sctx, "%s.%s", ctx, key);
        if (layout_members(v, sctx, dir, names, split_out, n) != 0) return -1;
    }
    return 0;
}

int data_layout_read(DataLayout *l, const char *dir) {
    layout_default(l, dir);
    char file[LAYOUT_PATH_MAX];
    layout_path(file, dir, LAYOUT_FILE);
    if (access(file, F_OK) != 0) return 0;
    json_t *root = json_read_file(file);
    if (!root || json_need_object(root, file) != 0) {
        json_decref(root);
        return -1;
    }
    static const char *const karpathy[] = {"file", "images"}, *const vqa[] = {"questions", "annotations", "images"};
    LayoutPath *pretrain[] = {&l->pretrain, &l->pretrain_images}, *captions[] = {&l->captions, &l->captions_images};
    LayoutPath *vqa_out[] = {l->vqa_questions, l->vqa_annotations, l->vqa_images}, *nlvr_out[] = {l->nlvr, l->nlvr_images};
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        char ctx[LAYOUT_PATH_MAX + 64];
        snprintf(ctx, sizeof ctx, "%s: %s", file, key);
        if (!strcmp(key, "pretrain")) rc = layout_members(v, ctx, dir, karpathy, pretrain, 2);
        else if (!strcmp(key, "captions")) rc = layout_members(v, ctx, dir, karpathy, captions, 2);
        else if (!strcmp(key, "vqa")) rc = layout_splits(v, ctx, dir, vqa_splits, LAYOUT_VQA_SPLITS, vqa, vqa_out, 3);
        else if (!strcmp(key, "nlvr"))
            rc = layout_splits(v, ctx, dir, nlvr_splits, LAYOUT_NLVR_SPLITS, karpathy, nlvr_out, 2);
        else rc = err_set("%s: unknown member '%s' (pretrain, captions, vqa, nlvr)", file, key);
        if (rc != 0) break;
    }
    json_decref(root);
    return rc;
}
