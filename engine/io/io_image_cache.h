/* All images of a split decoded and resized once into one block, so training
 * never decodes a JPEG per step. */
#ifndef MOIL_IMAGE_CACHE_H
#define MOIL_IMAGE_CACHE_H

#include <stdint.h>

typedef struct {
    int n, h, w;
    uint8_t *pix; /* [n][h][w][3] RGB, resized by IMAGE_RESIZE_POLICY */
} ImageCache;

/* Load paths[0..n-1] at h x w; fails (naming the file) on the first image
 * that does not decode, or when n == 0. */
int image_cache_load(ImageCache *c, const char *const *paths, int n, int h, int w);
/* Image i, [h][w][3]. */
const uint8_t *image_cache_get(const ImageCache *c, int i);
void image_cache_free(ImageCache *c);

#endif
