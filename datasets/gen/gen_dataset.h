/* `moil data gen`: a whole fashion-scenes dataset folder, deterministic from
 * a seed. The layout is documented in datasets/README.md. */
#ifndef MOIL_GEN_DATASET_H
#define MOIL_GEN_DATASET_H

#include "gen_scene.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *name;
    int pretrain_train, pretrain_val;   /* pretraining corpus images */
    int train, val, test;               /* downstream images: captions, retrieval, VQA */
    int questions_per_image;            /* VQA */
    int nlvr_train, nlvr_dev, nlvr_test; /* NLVR examples (lines) */
} GenProfile;

extern const GenProfile gen_profiles[];
extern const int gen_n_profiles;
/* The profile called name, or NULL. */
const GenProfile *gen_profile_find(const char *name);

typedef struct {
    GenProfile profile;
    uint64_t seed;          /* 0 .. 2^63-1 */
    int image_size;         /* canvas side in pixels, even, 32..512 */
    int jpeg_quality;       /* 1..100 */
    /* Zero-initialised options give the first edition's scenes (full tint,
     * jittered); `moil data gen` asks for the second edition's by default
     * (tint 50, centred). */
    int tint_percent;       /* the tint's share of an item's colour, 1..100 (the rest: the photo's
                             * grey); 0 = 100 */
    GenPlacement placement; /* where items sit in their cells */
    const char *source_dir; /* the Fashion-MNIST IDX files */
    const char *out_dir;
    int force;              /* replace a different existing dataset */
    FILE *progress;         /* progress lines, or NULL */
} GenOptions;

typedef struct {
    int up_to_date;      /* the folder already held this very dataset: nothing written */
    long images;         /* JPEG files */
    long captions;       /* downstream + pretraining captions */
    long questions;      /* VQA questions */
    long nlvr_examples, nlvr_true;
    uint64_t bytes;      /* all files written */
    double seconds;
} GenSummary;

/* Generate the dataset of opt into opt->out_dir. Refuses (err_set) a folder
 * that holds a different dataset or other files unless opt->force. */
int gen_dataset_generate(const GenOptions *opt, GenSummary *sum);

#endif
