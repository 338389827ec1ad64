#include "str_tally.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

void str_tally_init(Tally *t) {
    memset(t, 0, sizeof *t);
    str_map_init(&t->index);
}

void str_tally_free(Tally *t) {
    for (int i = 0; i < t->n; i++) free(t->names[i]);
    free(t->names);
    free(t->counts);
    str_map_free(&t->index);
    memset(t, 0, sizeof *t);
}

int str_tally_add(Tally *t, const char *name) {
    int i = str_map_add(&t->index, name, t->n);
    if (i == t->n) {
        t->names = xrealloc(t->names, (size_t)(t->n + 1) * sizeof *t->names);
        t->counts = xrealloc(t->counts, (size_t)(t->n + 1) * sizeof *t->counts);
        t->names[t->n] = xstrdup(name);
        t->counts[t->n++] = 0;
    }
    t->counts[i]++;
    return i;
}

int str_tally_top(const Tally *t) {
    int best = -1;
    for (int i = 0; i < t->n; i++)
        if (best < 0 || t->counts[i] > t->counts[best]) best = i;
    return best;
}

long str_tally_total(const Tally *t) {
    long s = 0;
    for (int i = 0; i < t->n; i++) s += t->counts[i];
    return s;
}
