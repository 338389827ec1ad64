/* NLVR2 JSON-lines files (train.json, dev.json, test1.json; docs/formats.md
 * "NLVR2").
 *
 * Each line needs "identifier" (split-set-pair-sentence) and "sentence" and a
 * "label" "True"/"False"; other keys (urls, writer, validation, synset,
 * query, extra_validations) are ignored; "directory" (integer or string,
 * train) adds a sub-folder. Images: <image_dir>/[<directory>/]
 * <split>-<set>-<pair>-img{0,1}.png, or .jpg when no .png exists, where
 * image_dir is the split's folder of images (NLVR2's images/train, dev,
 * test1; the generated nlvr/images/<split>). */
#ifndef MOIL_DATA_NLVR_H
#define MOIL_DATA_NLVR_H

#include <stdint.h>

typedef struct {
    char *identifier;
    char *sentence;
    int label;           /* 1 "True", 0 "False" */
    char *pair;          /* "split-set-pair": ViLT groups lines by it */
    char *group;         /* "split-set--sentence": the consistency group */
    char *left, *right;  /* image paths */
    int line;            /* 1-based line in the file */
} NlvrExample;

typedef struct {
    char *file;
    int n;
    NlvrExample *ex; /* [n] in file order */
} NlvrSet;

/* Errors read "<file>:<line>: missing field 'label'" and the like; blank
 * lines, an unknown label, a malformed identifier, a missing image and an
 * empty file are errors. */
int data_nlvr_load(NlvrSet *s, const char *jsonl_path, const char *image_dir);
void data_nlvr_free(NlvrSet *s);

/* The image ids of the first n examples' images, ids[2i] left and
 * ids[2i + 1] right, from a COCO instances file whose images[].file_name
 * are paths under image_dir, the folder of every split's folder (the
 * generator's annotations/
 * instances_nlvr_<split>.json; models reading cached regions find an
 * image by its id). Fails naming the instances file and the first image
 * it does not list. */
int data_nlvr_image_ids(const NlvrSet *s, int n, const char *instances_path, const char *image_dir, int64_t *ids);

#endif
