/* COCO instances files (instances_train2014.json, the generated
 * annotations/instances_<set>.json): images, categories and boxed objects.
 * Required: images[].{id, file_name, width, height},
 * categories[].{id, name}, annotations[].{id, image_id, category_id, bbox}.
 * Optional: categories[].supercategory; annotations[].{area, iscrowd} and
 * the generator's extra attributes "color" and "size" (string or integer,
 * kept as text). Other fields are ignored. */
#ifndef MOIL_DATA_INSTANCES_H
#define MOIL_DATA_INSTANCES_H

#include <stdint.h>

typedef struct {
    int64_t id;
    char *name;
    char *supercategory; /* NULL if absent */
} InstanceCategory;

typedef struct {
    int64_t id;
    int64_t image_id;
    int category;   /* index into InstanceSet.categories */
    float bbox[4];  /* x, y, width, height in pixels of the original image */
    char *color;    /* NULL if absent */
    char *size;     /* NULL if absent */
} InstanceObject;

typedef struct {
    int64_t id;
    char *file_name;
    int width, height;
    int first, count; /* its objects: objects[first .. first + count - 1] */
} InstanceImage;

typedef struct {
    int n_images, n_categories, n_objects;
    InstanceImage *images;         /* [n_images] in file order */
    InstanceCategory *categories;  /* [n_categories] */
    InstanceObject *objects;       /* [n_objects] grouped by image, file order within */
} InstanceSet;

/* Fails (file, array index, field) on malformed JSON, a missing field, a
 * duplicate image id, an object of an unknown image or category, a bbox that
 * is not 4 numbers with positive size, or no images. */
int data_instances_load(InstanceSet *s, const char *path);
void data_instances_free(InstanceSet *s);
/* The index of image id, -1 if absent. */
int data_instances_find_image(const InstanceSet *s, int64_t id);

#endif
