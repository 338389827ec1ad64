/* Lookup of array positions by 64-bit id (image ids, question ids,
 * category ids): the ids sorted once, then binary search. */
#ifndef MOIL_ID_INDEX_H
#define MOIL_ID_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* An id and the array position holding it. */
typedef struct {
    int64_t id;
    int index;
} IdSlot;

/* The n ids found every `stride` bytes from ids, sorted by id (caller frees). */
IdSlot *data_id_index_sort(const int64_t *ids, size_t stride, int n);
/* The position of id in sorted slots, -1 if absent. */
int data_id_index_find(const IdSlot *slots, int n, int64_t id);

#endif
