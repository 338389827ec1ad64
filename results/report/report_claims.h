/* The report's claims section: each claim of experiments/claims.conf with
 * its comparisons computed from the tables' cells (a paired bootstrap over
 * test items and seeds, or Welch's t-test over seeds where a cell has no
 * item scores: report_items.h; Holm-adjusted over a compare line's tests),
 * every number linked to its runs. */
#ifndef MOIL_REPORT_CLAIMS_H
#define MOIL_REPORT_CLAIMS_H

#include <stdio.h>

#include "report_experiment.h"
#include "report_table.h"

/* Write the claims in format f (TABLE_HTML: the report's section;
 * TABLE_MD: `moil table claims`; not TABLE_TEX), comparing the rows of
 * tables[] (the profile's tables); a comparison naming a table or row the
 * profile lacks says so. Both formats hold the same text and numbers, the
 * HTML's linked to their runs. -1 if writing failed. */
int claims_render(const ExpClaims *claims, const TableData *tables, int n_tables, TableFormat f, FILE *out);

#endif
