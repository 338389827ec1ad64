#include "data_layout.h"

#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
