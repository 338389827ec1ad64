/* The region feature cache file; see io_region_cache.h. The layout is written
 * with memcpy of host values: little-endian hosts only (checked). */
#include "io_region_cache.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char magic[8] = "MOILRGN";
enum { HEADER_BYTES = 24, MAX_DIM = 1 << 16, MAX_REGIONS = 1 << 12 };

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static size_t record_bytes(int max_regions, int dim) {
    return 8 + 4 + 4 * (size_t)max_regions + 4 * (size_t)max_regions * dim;
}

void region_cache_alloc(RegionCache *c, int n_images, int max_regions, int dim) {
    c->n_images = n_images, c->max_regions = max_regions, c->dim = dim;
    size_t n = n_images ? (size_t)n_images : 1;
    c->image_ids = xcalloc(n, sizeof(int64_t));
    c->n_regions = xcalloc(n, sizeof(int));
    c->tags = xcalloc(n * max_regions, sizeof(int));
    for (size_t i = 0; i < (size_t)n_images * max_regions; i++) c->tags[i] = -1;
    c->feats = xcalloc(n * max_regions * dim, sizeof(float));
}

void region_cache_free(RegionCache *c) {
    free(c->image_ids), free(c->n_regions), free(c->tags), free(c->feats);
    memset(c, 0, sizeof *c);
}

static void put_u32(unsigned char **p, uint32_t v) { memcpy(*p, &v, 4), *p += 4; }

int region_cache_write(const char *path, const RegionCache *c) {
    if (!host_is_little_endian()) return err_set("%s: region caches are written on little-endian hosts only", path);
    size_t R = (size_t)c->max_regions, D = (size_t)c->dim, rec = record_bytes(c->max_regions, c->dim);
    size_t len = HEADER_BYTES + rec * c->n_images;
    unsigned char *buf = xmalloc(len), *p = buf;
    memcpy(p, magic, 8), p += 8;
    put_u32(&p, REGION_CACHE_VERSION);
    put_u32(&p, (uint32_t)c->n_images);
    put_u32(&p, (uint32_t)c->max_regions);
    put_u32(&p, (uint32_t)c->dim);
    for (int i = 0; i < c->n_images; i++) {
        int32_t n = c->n_regions[i];
        memcpy(p, &c->image_ids[i], 8), p += 8;
        memcpy(p, &n, 4), p += 4;
        memcpy(p, c->tags + i * R, 4 * R), p += 4 * R;
        memcpy(p, c->feats + i * R * D, 4 * R * D), p += 4 * R * D;
    }
    int rc = file_write_atomic(path, buf, len);
    free(buf);
    return rc;
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int region_cache_read(const char *path, RegionCache *c) {
    memset(c, 0, sizeof *c);
    if (!host_is_little_endian()) return err_set("%s: region caches are read on little-endian hosts only", path);
    size_t len;
    unsigned char *buf = (unsigned char *)file_read_all(path, (size_t)1 << 34, &len);
    if (!buf) return -1;
    int rc = 0;
    uint32_t version = 0, n = 0, R = 0, D = 0;
    if (len < HEADER_BYTES || memcmp(buf, magic, 8) != 0) {
        rc = err_set("%s: not a region cache (bad magic)", path);
    } else if ((version = get_u32(buf + 8)) != REGION_CACHE_VERSION) {
        rc = err_set("%s: region cache version %u, this build reads %d", path, version, REGION_CACHE_VERSION);
    } else {
        n = get_u32(buf + 12), R = get_u32(buf + 16), D = get_u32(buf + 20);
        if (R < 1 || R > MAX_REGIONS || D < 1 || D > MAX_DIM || n > (1u << 30))
            rc = err_set("%s: bad sizes (images %u, regions %u, dim %u)", path, n, R, D);
        else if (len != HEADER_BYTES + record_bytes((int)R, (int)D) * n)
            rc = err_set("%s: %zu bytes, expected %zu for %u images of %u regions x %u floats", path, len,
                         HEADER_BYTES + record_bytes((int)R, (int)D) * n, n, R, D);
    }
    if (rc == 0) {
        region_cache_alloc(c, (int)n, (int)R, (int)D);
        const unsigned char *p = buf + HEADER_BYTES;
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            int32_t nr;
            memcpy(&c->image_ids[i], p, 8), p += 8;
            memcpy(&nr, p, 4), p += 4;
            memcpy(c->tags + (size_t)i * R, p, 4 * (size_t)R), p += 4 * (size_t)R;
            memcpy(c->feats + (size_t)i * R * D, p, 4 * (size_t)R * D), p += 4 * (size_t)R * D;
            if (nr < 0 || (uint32_t)nr > R) rc = err_set("%s: image %u has %d regions (max %u)", path, i, nr, R);
            c->n_regions[i] = nr;
        }
        if (rc != 0) region_cache_free(c);
    }
    free(buf);
    return rc;
}

int region_cache_find(const RegionCache *c, int64_t image_id) {
    for (int i = 0; i < c->n_images; i++)
        if (c->image_ids[i] == image_id) return i;
    return -1;
}
