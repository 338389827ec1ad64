/* The report's claims section: each claim of experiments/claims.conf with
 * its comparisons computed from the tables' cells (Welch's t-test over
 * seeds, report_stats.h), every number linked to its runs. */
#ifndef MOIL_REPORT_CLAIMS_H
#define MOIL_REPORT_CLAIMS_H

#include <stdio.h>

#include "report_experiment.h"
#include "report_table.h"

/* A difference counts as one when its two-sided p-value is below this. */
#define CLAIMS_ALPHA 0.05

/* Write the claims as HTML, comparing the rows of tables[] (the profile's
 * tables); a comparison naming a table or row the profile lacks says so.
 * -1 if writing failed. */
int claims_render_html(const ExpClaims *claims, const TableData *tables, int n_tables, FILE *out);

#endif
