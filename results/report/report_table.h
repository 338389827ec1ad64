/* A reproduced table as read from the results database (results/report/report_layout.c)
 * and its rendering as Markdown or LaTeX (results/report/report_table.c). Rendering
 * only formats what the database holds: means, spreads and counts come from
 * the view table_summary, parameter shares from table_params, the paper's
 * numbers from paper_reference. */
#ifndef MOIL_TABLE_RENDER_H
#define MOIL_TABLE_RENDER_H

#include <stdio.h>

typedef struct {
    char *label, *suffix;  /* suffix "" for a method's own row, "@ema" etc. for a variant */
    int *n;                /* [n_cols] seeds with a value; 0: no value yet */
    double *mean, *sd;     /* [n_cols]; sd NaN with one seed */
    int runs;              /* finished runs behind the parameter shares; 0: none */
    double trainable_pct, stored_pct;
} TableRow;

typedef struct {
    char *label, *source, *scale, *unit;
    unsigned char *have;   /* [n_cols] */
    double *value;         /* [n_cols] as published */
    double params_pct;     /* NaN: not reported */
} TableRef;

typedef struct {
    char *id, *title, *profile, *reference_model, *average_label; /* the last two NULL: none */
    int params;
    int n_cols, n_rows, n_refs;
    char **col_labels; /* [n_cols] */
    TableRow *rows;    /* [n_rows] */
    TableRef *refs;    /* [n_refs] */
} TableData;

typedef enum { TABLE_MD, TABLE_TEX } TableFormat;

void table_data_free(TableData *d);
/* Write the table: our rows (mean +- sd (n), the best of each column among
 * the rows without a suffix in bold), then the paper's rows in a separate
 * block. *n_missing gets the cells without a value. -1 if writing failed. */
int table_render(const TableData *d, TableFormat format, FILE *out, int *n_missing);

#endif
