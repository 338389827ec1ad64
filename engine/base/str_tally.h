/* Counts of strings in first-seen order: word counts for a vocabulary,
 * answer and question-kind distributions. */
#ifndef MOIL_STR_TALLY_H
#define MOIL_STR_TALLY_H

#include "str_map.h"

typedef struct {
    int n;
    char **names; /* [n], first-seen order */
    long *counts; /* [n] */
    StrMap index; /* name -> position in names */
} Tally;

void str_tally_init(Tally *t);
void str_tally_free(Tally *t);
/* Count name once more; returns its position in names. */
int str_tally_add(Tally *t, const char *name);
/* The position of the largest count (the first seen on ties), -1 if empty. */
int str_tally_top(const Tally *t);
/* The sum of the counts. */
long str_tally_total(const Tally *t);

#endif
