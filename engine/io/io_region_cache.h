/* Cached stage-one outputs of the two-stage (VinVL-style) model: per image,
 * up to max_regions object regions, each a feature vector of dim floats
 * (appearance + box geometry) and the tagger's predicted class id.
 *
 * File layout, little-endian:
 *   header  "MOILRGN\0" (8 bytes), u32 version (1), u32 n_images,
 *           u32 max_regions, u32 dim                          (24 bytes)
 *   records n_images x { i64 image_id, i32 n_regions,
 *           i32 tags[max_regions], f32 feats[max_regions * dim] }
 * Unused region slots are zero. Reading checks the magic, the version, the
 * sizes (header values and the file length) and every n_regions. */
#ifndef MOIL_REGION_CACHE_H
#define MOIL_REGION_CACHE_H

#include <stdint.h>

#define REGION_CACHE_VERSION 1

typedef struct {
    int n_images, max_regions, dim;
    int64_t *image_ids; /* [n_images] */
    int *n_regions;     /* [n_images] */
    int *tags;          /* [n_images, max_regions] class ids, -1 unused */
    float *feats;       /* [n_images, max_regions, dim] */
} RegionCache;

/* Zeroed arrays for n_images (tags -1). */
void region_cache_alloc(RegionCache *c, int n_images, int max_regions, int dim);
void region_cache_free(RegionCache *c);
int region_cache_write(const char *path, const RegionCache *c);
/* Fails (path: problem) on a bad magic, version, size or region count. */
int region_cache_read(const char *path, RegionCache *c);
/* The row of image_id, or -1. */
int region_cache_find(const RegionCache *c, int64_t image_id);

#endif
