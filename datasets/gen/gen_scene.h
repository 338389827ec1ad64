/* Fashion scenes: a small RGB canvas with 1-4 tinted Fashion-MNIST photos,
 * one per quadrant of a 2x2 grid, so objects never overlap. */
#ifndef MOIL_GEN_SCENE_H
#define MOIL_GEN_SCENE_H

#include "data_idx.h"
#include "rng.h"

#include <stdint.h>

enum {
    GEN_N_CLASSES = 10,  /* Fashion-MNIST classes */
    GEN_N_COLOURS = 8,   /* tints, named in gen_words.c */
    GEN_N_CELLS = 4,     /* 0 top left, 1 top right, 2 bottom left, 3 bottom right */
    GEN_MAX_OBJECTS = 4, /* one per cell */
    GEN_N_SUPERS = 2     /* 0 shoes, 1 tops */
};

typedef struct {
    int category;   /* Fashion-MNIST class 0..9 */
    int colour;     /* 0..GEN_N_COLOURS-1 */
    int large;      /* 0 small, 1 large */
    int cell;       /* 0..GEN_N_CELLS-1 */
    int x, y, side; /* box [x, x+side) x [y, y+side) in canvas pixels */
    int photo;      /* index of the photo in its source split */
} GenObject;

typedef struct {
    int n;                          /* objects, 1..GEN_MAX_OBJECTS */
    GenObject obj[GEN_MAX_OBJECTS]; /* in cell order */
    unsigned char background[3];    /* base RGB of the textured background */
    uint64_t texture_seed;
} GenScene;

/* Where an object sits in its cell. */
typedef enum {
    GEN_PLACE_JITTER = 0, /* at a random offset inside the cell (the first edition's scenes) */
    GEN_PLACE_CENTRED,    /* centred in the cell, so the patch grid sees every item of a size
                           * the same way (results/README.md, "Pretraining") */
} GenPlacement;

/* How scenes are drawn: canvas side in pixels, the tint's share of an
 * item's colour (percent, 1..100; the rest is the photo's grey) and the
 * placement. */
typedef struct {
    int size, tint_percent;
    GenPlacement placement;
} GenCanvas;

/* Which objects a question or statement is about; -1 fields match anything. */
typedef struct {
    int category; /* class 0..9 or -1 */
    int super;    /* super-class 0..GEN_N_SUPERS-1 or -1 (ignored when category >= 0) */
    int colour;   /* colour or -1 */
} GenQuery;

/* The photos scenes may use: the indices of one IDX split, by class. */
typedef struct {
    const IdxSet *set;
    int *by_class[GEN_N_CLASSES]; /* photo indices of each class */
    int n_by_class[GEN_N_CLASSES];
} GenPhotoPool;

/* parity -1 takes every photo, 0 the even-numbered, 1 the odd-numbered ones. */
void gen_pool_init(GenPhotoPool *pool, const IdxSet *set, int parity);
void gen_pool_free(GenPhotoPool *pool);

/* Is class `category` a member of super-class `super`? */
int gen_super_has(int super, int category);
/* Does object o match query q? */
int gen_query_match(const GenQuery *q, const GenObject *o);
/* Number of objects of s that match q. */
int gen_scene_count(const GenScene *s, const GenQuery *q);

/* Sample a scene of 1..GEN_MAX_OBJECTS objects on cv's canvas. The first
 * n_forced objects match forced[i] (their free fields random). The random
 * draws do not depend on the placement: a centred scene holds the same
 * objects as the jittered one of the same stream. */
void gen_scene_sample(GenScene *s, Rng *r, const GenPhotoPool *pool, const GenCanvas *cv,
                      const GenQuery *forced, int n_forced);
/* Draw s into rgb[cv->size][cv->size][3]. */
void gen_scene_render(const GenScene *s, const GenPhotoPool *pool, const GenCanvas *cv, unsigned char *rgb);

#endif
