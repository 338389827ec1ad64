/* Table 6, inference cost: the latest ok `moil bench-infer` run of the
 * results database (table_id 'inference'), per method the time per example
 * as trained and merged, and its rendering (report_table.h's formats). Not
 * a table of experiments/: one run's timings, not runs over rows, tasks and
 * seeds, so it has no layout, cells or plan. */
#ifndef MOIL_REPORT_INFERENCE_H
#define MOIL_REPORT_INFERENCE_H

#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "report_table.h"

/* The text of scripts/inference_rows.sql (figure 5 reads the same rows):
 * the CTEs last (the run's id) and infer (method, form, ms, run_id).
 * tests/test_table_inference.c keeps the two identical. */
extern const char report_inference_rows_sql[];

typedef struct {
    char *method;
    double trained, merged; /* ms per example; NaN: no such form */
} InferenceRow;

typedef struct {
    int64_t run_id;
    int threads;
    char *task, *model, *limit, *repeats; /* limit, repeats: "?" when the config has none */
    int n_rows;
    InferenceRow *rows; /* in the method registry's order, unknown methods last */
} InferenceData;

/* Read the latest ok inference run: 1 with *out filled, 0 when there is
 * none (*out empty), -1 on error. */
int db_inference_load(Db *db, InferenceData *out);
void inference_data_free(InferenceData *d);
/* Write the table for profile: per method the times as trained and merged,
 * the ratio of its deployed time (merged when it merges) to full tuning's,
 * whether it merges; in HTML every number links to the run. -1 if writing
 * failed. */
int inference_render(const InferenceData *d, const char *profile, TableFormat f, FILE *out);

#endif
