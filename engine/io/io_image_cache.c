#include "io_image_cache.h"

#include "check.h"
#include "io_image_load.h"

#include <stdlib.h>
#include <string.h>

int image_cache_load(ImageCache *c, const char *const *paths, int n, int h, int w) {
    memset(c, 0, sizeof *c);
    if (n <= 0) return err_set("image cache: no images to load (empty split)");
    if (h <= 0 || w <= 0) return err_set("image cache: bad image size %dx%d", h, w);
    size_t one = (size_t)h * (size_t)w * 3;
    uint8_t *pix = xmalloc((size_t)n * one);
    for (int i = 0; i < n; i++) {
        if (image_load_resized(paths[i], h, w, pix + (size_t)i * one) != 0) {
            free(pix);
            return -1;
        }
    }
    *c = (ImageCache){n, h, w, pix};
    return 0;
}

const uint8_t *image_cache_get(const ImageCache *c, int i) {
    return c->pix + (size_t)i * (size_t)c->h * (size_t)c->w * 3;
}

void image_cache_free(ImageCache *c) {
    free(c->pix);
    memset(c, 0, sizeof *c);
}
