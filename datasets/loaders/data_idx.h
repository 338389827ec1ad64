/* Reader for the gzip-compressed IDX files of Fashion-MNIST (docs/formats.md,
 * "Fashion-MNIST IDX"),
 * as Debian's dataset-fashion-mnist package installs them. */
#ifndef MOIL_GEN_IDX_H
#define MOIL_GEN_IDX_H

#define IDX_DEFAULT_SOURCE "/usr/share/datasets/fashion-mnist"

typedef struct {
    int count;             /* N photos */
    int rows, cols;        /* 28 x 28 */
    unsigned char *pixels; /* [N][rows][cols], 0 = background, 255 = full ink */
    unsigned char *labels; /* [N], class 0..9 */
} IdxSet;

/* Load <source_dir>/<prefix>-images-idx3-ubyte.gz and
 * <prefix>-labels-idx1-ubyte.gz; prefix is "train" or "t10k". A missing file
 * gives an error naming it and the package that provides it. */
int data_idx_load_split(IdxSet *set, const char *source_dir, const char *prefix);
void data_idx_free(IdxSet *set);

#endif
