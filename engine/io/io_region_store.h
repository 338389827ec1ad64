/* The region folder `moil regions train` writes (default DATA/regions):
 *   regions.json             what the caches hold (below)
 *   <set>.bin                one region cache per image set (io_region_cache.h)
 *   region_encoder.safetensors  the frozen stage one (engine/models/model_region_encoder.h)
 * regions.json: {"version": 1, "classes": [names, index = tag id],
 *   "max_regions": R, "dim": D (appearance + REGION_GEOMETRY), "crop", "feat",
 *   "steps", "seed", "sets": [{"name", "file", "instances", "hash", "images"}],
 *   "accuracy": {"train", "val", "test", ...: tagger accuracy on that set's crops}}.
 * A RegionStore is every set's cache merged, found by image id. */
#ifndef MOIL_REGION_STORE_H
#define MOIL_REGION_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "io_region_cache.h"

#define REGION_STORE_VERSION 1
#define REGION_STORE_META "regions.json"

/* The default region folder of a dataset folder: data_dir/regions. */
void region_store_default_dir(char *out, size_t size, const char *data_dir);

typedef struct {
    int n_classes;
    char **classes;  /* [n_classes] */
    RegionCache all; /* every set's images */
    int *order;      /* [all.n_images] rows sorted by image id */
} RegionStore;

/* Read <dir>/regions.json (new reference in *meta). Errors name the file. */
int region_store_read_meta(const char *dir, json_t **meta);
/* Load the meta and every set's cache; checks that each cache's sizes
 * match the meta and that no image id repeats. */
int region_store_load(RegionStore *s, const char *dir);
void region_store_free(RegionStore *s);
/* The row of image_id in s->all, or -1. */
int region_store_find(const RegionStore *s, int64_t image_id);

#endif
