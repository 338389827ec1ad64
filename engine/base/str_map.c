#include "str_map.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t str_hash(const char *s) {
    return fnv1a_update(FNV1A_INIT, s, strlen(s));
}

/* Slot holding key, or the empty slot where it would go. cap must be > n. */
static size_t str_map_slot(char *const *keys, size_t cap, const char *key) {
    size_t i = (size_t)str_hash(key) & (cap - 1);
    while (keys[i] && strcmp(keys[i], key)) i = (i + 1) & (cap - 1);
    return i;
}

void str_map_init(StrMap *m) {
    m->cap = 64;
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
}

void str_map_free(StrMap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

int str_map_find(const StrMap *m, const char *key) {
    size_t i = str_map_slot(m->keys, m->cap, key);
    return m->keys[i] ? m->vals[i] : -1;
}

static void str_map_grow(StrMap *m) {
    size_t cap = m->cap * 2;
    char **keys = xcalloc(cap, sizeof *keys);
    int *vals = xcalloc(cap, sizeof *vals);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = str_map_slot(keys, cap, m->keys[i]);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
}

int str_map_add(StrMap *m, const char *key, int val) {
    if (2 * (m->n + 1) > m->cap) str_map_grow(m);
    size_t i = str_map_slot(m->keys, m->cap, key);
    if (m->keys[i]) return m->vals[i];
    m->keys[i] = xstrdup(key);
    m->vals[i] = val;
    m->n++;
    return val;
}
