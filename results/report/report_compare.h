/* Two editions of one reproduced table, cell by cell (`moil table compare`):
 * the rows and columns both have, each shared cell as each edition's table
 * shows it (table_put_number) with the change of its mean, and the rows and
 * columns only one of them has. Rows match by label (runs of spaces read
 * as one) and suffix; metric columns by label, task, split and metric; the
 * average column by its label, when the editions average the same columns. */
#ifndef MOIL_REPORT_COMPARE_H
#define MOIL_REPORT_COMPARE_H

#include <stdio.h>

#include "report_table.h"

enum { COMPARE_OLD, COMPARE_NEW, COMPARE_SIDES };

typedef struct {
    const TableData *side[COMPARE_SIDES]; /* the editions, as db_table_data_load read them */
    int n_rows, n_cols;                   /* rows and columns both have */
    int (*rows)[COMPARE_SIDES];           /* [n_rows] each side's row index, in the new edition's order */
    int (*cols)[COMPARE_SIDES];           /* [n_cols] each side's column (its n_cols: its average), the new order */
    int *only_rows[COMPARE_SIDES];        /* [n_only_rows[s]] rows of side s the other lacks */
    int *only_cols[COMPARE_SIDES];        /* [n_only_cols[s]] columns of side s the other lacks */
    int n_only_rows[COMPARE_SIDES], n_only_cols[COMPARE_SIDES];
    int cells;                            /* shared cells with a value on both sides */
    int missing;                          /* shared cells without a value on one side or both */
} TableMatch;

/* Match the rows and columns of the editions old and cur (kept by
 * pointer: they must outlive m). */
void table_match(const TableData *old, const TableData *cur, TableMatch *m);
void table_match_free(TableMatch *m);
/* Write the comparison: a heading, what the cells show, one line per
 * shared cell (row, column, old, new, change = new mean - old mean), then
 * the rows and columns only in each edition; old_name and new_name say
 * where each edition comes from. -1 if writing failed. */
int table_compare_render(const TableMatch *m, const char *old_name, const char *new_name, TableFormat f, FILE *out);

#endif
