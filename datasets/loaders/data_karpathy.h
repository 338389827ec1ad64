/* Karpathy split files (dataset_coco.json, dataset_flickr30k.json, and the
 * generated annotations/karpathy_{pretrain,captions}.json), docs/formats.md
 * "Karpathy caption splits".
 *
 * Read as ViLT's write_{coco,f30k}_karpathy.py does: captions are the `raw`
 * strings (normalised later by the tokenizer), the split comes from `split`.
 * The image file is <image_root>/<filepath>/<filename>, or
 * <image_root>/<filename> when there is no `filepath` (Flickr30K); it must
 * exist. The image id is `cocoid` when present, else the integer after the
 * last '_' of filename, else `imgid`. Unknown fields are ignored. */
#ifndef MOIL_DATA_KARPATHY_H
#define MOIL_DATA_KARPATHY_H

#include <stdint.h>

typedef struct {
    char *filename;
    char *path;       /* resolved file path */
    int64_t image_id;
    char *split;      /* "train", "restval", "val", "test" */
    int n_captions;
    char **captions;  /* [n_captions] raw text */
} KarpathyImage;

typedef struct {
    char *file;       /* the JSON path, for messages */
    char *dataset;    /* "coco", "flickr30k", ... (NULL if absent) */
    int n;
    KarpathyImage *images; /* [n] in file order */
} KarpathySet;

/* Fails (file, image index, field) on malformed JSON, a missing or mistyped
 * field, an image without captions, a missing image file, or no images. */
int data_karpathy_load(KarpathySet *s, const char *json_path, const char *image_root);
/* The pretraining corpus (KARPATHY_PRETRAIN) or the caption splits
 * (KARPATHY_CAPTIONS) of a dataset folder, where its data layout puts them
 * (data_layout.h). */
enum { KARPATHY_PRETRAIN, KARPATHY_CAPTIONS };
int data_karpathy_load_part(KarpathySet *s, const char *data_dir, int part);
void data_karpathy_free(KarpathySet *s);
/* The indices of the images whose split is one of the comma-separated names
 * in splits ("train,restval"); *idx is a new array. Fails when none match
 * (an empty split). */
int data_karpathy_select(const KarpathySet *s, const char *splits, int **idx, int *n);

#endif
