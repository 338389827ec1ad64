#include "data_image_index.h"

#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int data_image_index_id_from_filename(const char *name, int64_t *id) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *us = strrchr(base, '_');
    const char *p = us ? us + 1 : base;
    const char *dot = strrchr(p, '.');
    if (!dot || dot == p) return err_set("%s: no image id (digits after the last '_') in the file name", name);
    int64_t v = 0;
    for (const char *q = p; q < dot; q++) {
        if (*q < '0' || *q > '9' || v > (INT64_MAX - 9) / 10)
            return err_set("%s: no image id (digits after the last '_') in the file name", name);
        v = v * 10 + (*q - '0');
    }
    *id = v;
    return 0;
}

void data_image_index_init(ImageIndex *ix) { memset(ix, 0, sizeof *ix); }

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

typedef struct {
    int64_t id;
    char *path;
} IndexEntry;

static int entry_cmp(const void *a, const void *b) {
    int64_t x = ((const IndexEntry *)a)->id, y = ((const IndexEntry *)b)->id;
    return (x > y) - (x < y);
}

int data_image_index_scan(ImageIndex *ix, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return err_set("%s: cannot list image folder: %s", dir, strerror(errno));
    int n = ix->n, cap = ix->n + 256;
    IndexEntry *e = xmalloc((size_t)cap * sizeof *e);
    for (int i = 0; i < ix->n; i++) e[i] = (IndexEntry){ix->ids[i], ix->paths[i]};
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!is_image_name(de->d_name)) continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *path = xmalloc(len);
        snprintf(path, len, "%s/%s", dir, de->d_name);
        int64_t id;
        if (data_image_index_id_from_filename(path, &id) != 0) {
            free(path);
            rc = -1;
            break;
        }
        if (n == cap) e = xrealloc(e, (size_t)(cap *= 2) * sizeof *e);
        e[n++] = (IndexEntry){id, path};
    }
    closedir(d);
    qsort(e, (size_t)n, sizeof *e, entry_cmp);
    for (int i = 1; rc == 0 && i < n; i++)
        if (e[i].id == e[i - 1].id)
            rc = err_set("%s and %s: two images with id %lld", e[i - 1].path, e[i].path, (long long)e[i].id);
    ix->ids = xrealloc(ix->ids, (size_t)(n ? n : 1) * sizeof *ix->ids);
    ix->paths = xrealloc(ix->paths, (size_t)(n ? n : 1) * sizeof *ix->paths);
    for (int i = 0; i < n; i++) {
        ix->ids[i] = e[i].id;
        ix->paths[i] = e[i].path;
    }
    ix->n = n;
    free(e);
    return rc;
}

const char *data_image_index_find(const ImageIndex *ix, int64_t id) {
    int lo = 0, hi = ix->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ix->ids[mid] == id) return ix->paths[mid];
        if (ix->ids[mid] < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

void data_image_index_free(ImageIndex *ix) {
    for (int i = 0; i < ix->n; i++) free(ix->paths[i]);
    free(ix->ids);
    free(ix->paths);
    memset(ix, 0, sizeof *ix);
}
