/* Many activation buffers carved out of one allocation: a table of (where
 * the pointer lives, how many floats), allocated zeroed in one block. */
#ifndef MOIL_ACT_SLOTS_H
#define MOIL_ACT_SLOTS_H

#include <stddef.h>

#include "check.h"

typedef struct {
    float **ptr;
    size_t n;
} ActSlot;

/* Sets every *s[i].ptr; *block is the one allocation to free. */
static inline void act_slots_alloc(ActSlot *s, int n, float **block) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += s[i].n;
    *block = xcalloc(total, sizeof(float));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        *s[i].ptr = *block + off;
        off += s[i].n;
    }
}

#endif
