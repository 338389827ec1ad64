/* The results report: one self-contained HTML page of a profile, from the
 * results database and the figures drawn from it (moil report). Its tables
 * are the rendered tables' (report_table.c in HTML), its claims the
 * comparisons of report_claims.c, its figures the SVGs of
 * scripts/figures.sh embedded as data, its runs what `moil db show` prints
 * (db_select_run_details). No network: no external script, style, font or
 * image; every text from the database escaped. */
#ifndef MOIL_REPORT_HTML_H
#define MOIL_REPORT_HTML_H

#include <stdio.h>

#include "db.h"
#include "report_experiment.h"

typedef struct {
    const char *profile;
    const char *db_label;    /* the database as the page names it (its path) */
    const char *figures_dir; /* <figure>.svg and <figure>.caption; NULL: no figures */
    const ExpClaims *claims; /* NULL: no claims section */
} ReportInput;

typedef struct {
    int tables, figures, runs; /* what the page holds (tables: table 6 included) */
} ReportCounts;

/* Write the page of in->profile to out. -1 on a database or writing error. */
int report_write_html(Db *db, const ReportInput *in, FILE *out, ReportCounts *counts);

#endif
