#include "data_id_index.h"

#include <stdlib.h>

#include "check.h"

static int id_slot_cmp(const void *a, const void *b) {
    int64_t x = ((const IdSlot *)a)->id, y = ((const IdSlot *)b)->id;
    return (x > y) - (x < y);
}

IdSlot *data_id_index_sort(const int64_t *ids, size_t stride, int n) {
    IdSlot *s = xmalloc((size_t)(n ? n : 1) * sizeof *s);
    for (int i = 0; i < n; i++) s[i] = (IdSlot){*(const int64_t *)((const char *)ids + (size_t)i * stride), i};
    qsort(s, (size_t)n, sizeof *s, id_slot_cmp);
    return s;
}

int data_id_index_find(const IdSlot *slots, int n, int64_t id) {
    IdSlot key = {id, 0};
    const IdSlot *hit = bsearch(&key, slots, (size_t)n, sizeof *slots, id_slot_cmp);
    return hit ? hit->index : -1;
}
