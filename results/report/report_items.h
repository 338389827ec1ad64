/* Intervals and tests of a reproduced table's cells from the per-item
 * scores of their runs (docs/database.md, "Per-item scores"; the
 * statistics: report_stats.h; how the tables show them: results/README.md,
 * "Intervals and tests"). */
#ifndef MOIL_REPORT_ITEMS_H
#define MOIL_REPORT_ITEMS_H

#include <stddef.h>

#include "db.h"
#include "report_table.h"

/* The item family whose per-item scores average to a table column's metric,
 * into family[n], and *k: 0 when the scores are the metric's own, K for
 * R@K from ranks (ir_r5: family ir_rank, k 5; an item counts 100 when its
 * rank is within K). 0 when the metric is not a mean over items
 * (consistency, BLEU, recall_mean, ...): its cells keep the seed-only
 * statistic. */
int items_family(const char *metric, char *family, size_t n, int *k);
/* An item's recorded value in its column's unit: the value itself when k is
 * 0, else 100 when the rank is within K (0 < value <= k) and 0 otherwise. */
double items_score(double value, int k);
/* Read the per-item scores of every cell of d (as db_table_data_load
 * filled it), and compute each cell's interval (the cells whose every run
 * has scores of the same items) and the test of every other row's cell
 * against the compare row's in the same column, Holm-adjusted over the
 * table's tests. */
int items_table_load(Db *db, TableData *d);
/* Test row r's cell of column c against row o's (TableTest: paired
 * bootstrap, else Welch's t-test, else none). */
void items_compare(const TableData *d, int r, int o, int c, TableTest *out);

#endif
