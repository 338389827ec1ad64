#include "data_id_index.h"
#include "data_instances.h"

#include "check.h"
#include "io_json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_images(InstanceSet *s, json_t *arr, const char *path) {
    s->images = xcalloc(json_array_size(arr), sizeof *s->images);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char ctx[1200];
        snprintf(ctx, sizeof ctx, "%s: images[%zu]", path, i);
        json_t *j = json_array_get(arr, i);
        InstanceImage *im = &s->images[i];
        const char *name;
        int64_t w, h;
        if (json_need_object(j, ctx) || json_need_int(j, "id", ctx, &im->id) ||
            json_need_str(j, "file_name", ctx, &name) || json_need_int(j, "width", ctx, &w) ||
            json_need_int(j, "height", ctx, &h))
            return -1;
        if (w <= 0 || h <= 0 || w > 1 << 20 || h > 1 << 20)
            return err_set("%s: bad image size %lldx%lld", ctx, (long long)w, (long long)h);
        im->file_name = xstrdup(name);
        im->width = (int)w;
        im->height = (int)h;
        s->n_images++;
    }
    return 0;
}

static int read_categories(InstanceSet *s, json_t *arr, const char *path) {
    s->categories = xcalloc(json_array_size(arr), sizeof *s->categories);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char ctx[1200];
        snprintf(ctx, sizeof ctx, "%s: categories[%zu]", path, i);
        json_t *j = json_array_get(arr, i);
        InstanceCategory *c = &s->categories[i];
        const char *name;
        if (json_need_object(j, ctx) || json_need_int(j, "id", ctx, &c->id) || json_need_str(j, "name", ctx, &name) ||
            json_opt_text(j, "supercategory", ctx, &c->supercategory))
            return -1;
        c->name = xstrdup(name);
        s->n_categories++;
    }
    return 0;
}

static int read_object(InstanceObject *o, json_t *j, const char *ctx, const IdSlot *cats, int n_cats) {
    int64_t cat;
    json_t *bbox;
    if (json_need_object(j, ctx) || json_need_int(j, "id", ctx, &o->id) ||
        json_need_int(j, "image_id", ctx, &o->image_id) || json_need_int(j, "category_id", ctx, &cat) ||
        json_need_array(j, "bbox", ctx, &bbox) || json_opt_text(j, "color", ctx, &o->color) ||
        json_opt_text(j, "size", ctx, &o->size))
        return -1;
    if ((o->category = data_id_index_find(cats, n_cats, cat)) < 0)
        return err_set("%s: unknown category_id %lld", ctx, (long long)cat);
    if (json_array_size(bbox) != 4) return err_set("%s: 'bbox' has %zu values, not 4", ctx, json_array_size(bbox));
    for (int k = 0; k < 4; k++) {
        json_t *v = json_array_get(bbox, (size_t)k);
        if (!json_is_number(v)) return err_set("%s: bbox[%d] is not a number", ctx, k);
        o->bbox[k] = (float)json_number_value(v);
    }
    if (!(o->bbox[2] > 0 && o->bbox[3] > 0)) return err_set("%s: bbox has no area", ctx);
    return 0;
}

/* Objects grouped by image (a stable counting sort on the image index, so
 * file order is kept within an image); sets each image's first/count. */
static void group_objects(InstanceSet *s, const int *image_of) {
    InstanceObject *sorted = xcalloc((size_t)s->n_objects + 1, sizeof *sorted);
    for (int i = 0; i < s->n_objects; i++) s->images[image_of[i]].count++;
    for (int i = 0, at = 0; i < s->n_images; i++) {
        s->images[i].first = at;
        at += s->images[i].count;
        s->images[i].count = 0;
    }
    for (int i = 0; i < s->n_objects; i++) {
        InstanceImage *im = &s->images[image_of[i]];
        sorted[im->first + im->count++] = s->objects[i];
    }
    free(s->objects);
    s->objects = sorted;
}

static int read_objects(InstanceSet *s, json_t *arr, const char *path) {
    IdSlot *imgs = data_id_index_sort(&s->images[0].id, sizeof *s->images, s->n_images);
    IdSlot *cats = data_id_index_sort(&s->categories[0].id, sizeof *s->categories, s->n_categories);
    int rc = 0;
    for (int i = 1; rc == 0 && i < s->n_images; i++)
        if (imgs[i].id == imgs[i - 1].id)
            rc = err_set("%s: images[%d] repeats image id %lld", path, imgs[i].index, (long long)imgs[i].id);
    size_t n = json_array_size(arr);
    s->objects = xcalloc(n + 1, sizeof *s->objects);
    int *image_of = xmalloc((n + 1) * sizeof *image_of);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char ctx[1200];
        snprintf(ctx, sizeof ctx, "%s: annotations[%zu]", path, i);
        InstanceObject *o = &s->objects[s->n_objects++];
        rc = read_object(o, json_array_get(arr, i), ctx, cats, s->n_categories);
        if (rc == 0 && (image_of[i] = data_id_index_find(imgs, s->n_images, o->image_id)) < 0)
            rc = err_set("%s: image_id %lld is not in 'images'", ctx, (long long)o->image_id);
    }
    if (rc == 0) group_objects(s, image_of);
    free(image_of);
    free(imgs);
    free(cats);
    return rc;
}

int data_instances_load(InstanceSet *s, const char *path) {
    memset(s, 0, sizeof *s);
    json_t *root = json_read_file(path);
    if (!root) return -1;
    json_t *images, *cats, *anns;
    int rc = json_need_object(root, path) || json_need_array(root, "images", path, &images) ||
                     json_need_array(root, "categories", path, &cats) ||
                     json_need_array(root, "annotations", path, &anns)
                 ? -1
                 : 0;
    if (rc == 0 && json_array_size(images) == 0) rc = err_set("%s: 'images' is empty", path);
    if (rc == 0) rc = read_images(s, images, path);
    if (rc == 0) rc = read_categories(s, cats, path);
    if (rc == 0) rc = read_objects(s, anns, path);
    json_decref(root);
    if (rc != 0) data_instances_free(s);
    return rc;
}

void data_instances_free(InstanceSet *s) {
    for (int i = 0; i < s->n_images; i++) free(s->images[i].file_name);
    for (int i = 0; i < s->n_categories; i++) {
        free(s->categories[i].name);
        free(s->categories[i].supercategory);
    }
    for (int i = 0; i < s->n_objects; i++) {
        free(s->objects[i].color);
        free(s->objects[i].size);
    }
    free(s->images);
    free(s->categories);
    free(s->objects);
    memset(s, 0, sizeof *s);
}

int data_instances_find_image(const InstanceSet *s, int64_t id) {
    for (int i = 0; i < s->n_images; i++)
        if (s->images[i].id == id) return i;
    return -1;
}
