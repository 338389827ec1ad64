/* A string -> int map (open addressing, FNV-1a hash) used by the vocabularies
 * and the loaders. Keys are copied; values are caller-chosen non-negative
 * ints, usually an index into an array the caller keeps in insertion order. */
#ifndef MOIL_STR_MAP_H
#define MOIL_STR_MAP_H

#include <stddef.h>

typedef struct {
    char **keys;  /* [cap], NULL for an empty slot */
    int *vals;    /* [cap] */
    size_t cap;   /* power of two */
    size_t n;     /* keys stored */
} StrMap;

void str_map_init(StrMap *m);
void str_map_free(StrMap *m);
/* The value stored for key, or -1 if key is absent. */
int str_map_find(const StrMap *m, const char *key);
/* Insert key -> val unless key is present; returns the value now stored
 * (the old one if key was already there). */
int str_map_add(StrMap *m, const char *key, int val);

#endif
