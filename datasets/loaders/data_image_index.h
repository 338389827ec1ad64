/* Image id -> file path, for annotation files that name images by id only
 * (VQA questions). Built by listing image folders: the id of
 * "FS_train_000000000003.jpg" or "COCO_val2014_000000391895.jpg" is the
 * integer after the last '_' (ViLT's rule), of "1000092795.jpg" the whole
 * stem. Files ending .jpg, .jpeg or .png (any case) are images; other files
 * are not listed. */
#ifndef MOIL_IMAGE_INDEX_H
#define MOIL_IMAGE_INDEX_H

#include <stdint.h>

typedef struct {
    int n;
    int64_t *ids; /* [n], ascending */
    char **paths; /* [n] */
} ImageIndex;

/* The id in an image file name; -1 (err_set) if there is none. */
int data_image_index_id_from_filename(const char *name, int64_t *id);
void data_image_index_init(ImageIndex *ix);
/* Add every image of folder dir; fails on an image name without an id and
 * on an id already present (naming both files). */
int data_image_index_scan(ImageIndex *ix, const char *dir);
/* The path of image id, or NULL. */
const char *data_image_index_find(const ImageIndex *ix, int64_t id);
void data_image_index_free(ImageIndex *ix);

#endif
