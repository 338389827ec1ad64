#include "io_region_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void region_store_default_dir(char *out, size_t size, const char *data_dir) {
    snprintf(out, size, "%s/regions", data_dir);
}

int region_store_read_meta(const char *dir, json_t **meta) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, REGION_STORE_META);
    json_error_t e;
    *meta = json_load_file(path, 0, &e);
    if (!*meta) return err_set("%s: %s (run `moil regions train` first)", path, e.text);
    json_int_t version = 0;
    if (json_unpack_ex(*meta, &e, 0, "{s:I}", "version", &version) != 0 || version != REGION_STORE_VERSION) {
        json_decref(*meta);
        *meta = NULL;
        return err_set("%s: not a version %d region folder description", path, REGION_STORE_VERSION);
    }
    return 0;
}

static const RegionStore *sort_store;
static int by_id(const void *a, const void *b) {
    int64_t x = sort_store->all.image_ids[*(const int *)a], y = sort_store->all.image_ids[*(const int *)b];
    return (x > y) - (x < y);
}

/* Append cache c (rows of R regions x D floats) to s->all at row at. */
static void append(RegionStore *s, const RegionCache *c, int at) {
    size_t R = (size_t)c->max_regions, D = (size_t)c->dim;
    memcpy(s->all.image_ids + at, c->image_ids, sizeof(int64_t) * c->n_images);
    memcpy(s->all.n_regions + at, c->n_regions, sizeof(int) * c->n_images);
    memcpy(s->all.tags + at * R, c->tags, sizeof(int) * R * c->n_images);
    memcpy(s->all.feats + at * R * D, c->feats, sizeof(float) * R * D * c->n_images);
}

static int load_sets(RegionStore *s, const char *dir, const json_t *sets, int R, int D) {
    size_t n_sets = json_array_size(sets);
    RegionCache *caches = xcalloc(n_sets ? n_sets : 1, sizeof(RegionCache));
    int rc = 0, total = 0;
    char path[1024];
    for (size_t i = 0; i < n_sets && rc == 0; i++) {
        const char *file = json_string_value(json_object_get(json_array_get(sets, i), "file"));
        snprintf(path, sizeof path, "%s/%s", dir, file ? file : "?");
        if (!file) rc = err_set("%s/%s: sets[%zu] has no file", dir, REGION_STORE_META, i);
        else if (region_cache_read(path, &caches[i]) != 0) rc = -1;
        else if (caches[i].max_regions != R || caches[i].dim != D)
            rc = err_set("%s: %d regions x %d floats, but %s/%s says %d x %d", path, caches[i].max_regions,
                         caches[i].dim, dir, REGION_STORE_META, R, D);
        else total += caches[i].n_images;
    }
    if (rc == 0) {
        region_cache_alloc(&s->all, total, R, D);
        for (size_t i = 0, at = 0; i < n_sets; at += caches[i].n_images, i++) append(s, &caches[i], (int)at);
    }
    for (size_t i = 0; i < n_sets; i++) region_cache_free(&caches[i]);
    free(caches);
    return rc;
}

int region_store_load(RegionStore *s, const char *dir) {
    memset(s, 0, sizeof *s);
    json_t *meta;
    if (region_store_read_meta(dir, &meta) != 0) return -1;
    json_t *classes = NULL, *sets = NULL;
    json_int_t R = 0, D = 0;
    json_error_t e;
    int rc = 0;
    if (json_unpack_ex(meta, &e, 0, "{s:o, s:I, s:I, s:o}", "classes", &classes, "max_regions", &R, "dim", &D, "sets",
                       &sets) != 0 ||
        !json_is_array(classes) || !json_is_array(sets) || json_array_size(classes) < 2 || R < 1 || D < 1)
        rc = err_set("%s/%s: bad region folder description (classes, max_regions, dim, sets)", dir, REGION_STORE_META);
    if (rc == 0) {
        s->n_classes = (int)json_array_size(classes);
        s->classes = xcalloc(s->n_classes, sizeof(char *));
        for (int i = 0; i < s->n_classes; i++) {
            const char *name = json_string_value(json_array_get(classes, i));
            s->classes[i] = xstrdup(name ? name : "");
        }
        rc = load_sets(s, dir, sets, (int)R, (int)D);
    }
    if (rc == 0) {
        s->order = xcalloc(s->all.n_images ? s->all.n_images : 1, sizeof(int));
        for (int i = 0; i < s->all.n_images; i++) s->order[i] = i;
        sort_store = s;
        qsort(s->order, s->all.n_images, sizeof(int), by_id);
        for (int i = 1; i < s->all.n_images && rc == 0; i++)
            if (s->all.image_ids[s->order[i]] == s->all.image_ids[s->order[i - 1]])
                rc = err_set("%s: image id %lld is in two region caches", dir, (long long)s->all.image_ids[s->order[i]]);
        for (int i = 0; i < s->all.n_images && rc == 0; i++)
            for (int r = 0; r < s->all.n_regions[i]; r++) {
                int tag = s->all.tags[(size_t)i * R + r];
                if (tag < 0 || tag >= s->n_classes) {
                    rc = err_set("%s: image %lld has tag %d (classes: %d)", dir, (long long)s->all.image_ids[i], tag,
                                 s->n_classes);
                    break;
                }
            }
    }
    json_decref(meta);
    if (rc != 0) region_store_free(s);
    return rc;
}

void region_store_free(RegionStore *s) {
    for (int i = 0; i < s->n_classes; i++) free(s->classes[i]);
    free(s->classes);
    if (s->all.image_ids) region_cache_free(&s->all);
    free(s->order);
    memset(s, 0, sizeof *s);
}

int region_store_find(const RegionStore *s, int64_t image_id) {
    int lo = 0, hi = s->all.n_images - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int64_t v = s->all.image_ids[s->order[mid]];
        if (v == image_id) return s->order[mid];
        if (v < image_id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}
