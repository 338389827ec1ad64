/* A reproduced table as read from the results database (results/report/report_layout.c)
 * and its rendering as Markdown, LaTeX or HTML (results/report/report_table.c).
 * Rendering only formats what the database holds: means, spreads and counts
 * come from the view table_summary, the runs behind each number from
 * table_values, parameter shares from table_params, the paper's numbers from
 * paper_reference; intervals and tests from the runs' per-item scores
 * (report_items.c). */
#ifndef MOIL_TABLE_RENDER_H
#define MOIL_TABLE_RENDER_H

#include <stdint.h>
#include <stdio.h>

/* The per-item scores of one cell (report_items.c): its runs (one per
 * seed), each of the same items in the same order, in the column's unit. */
typedef struct {
    int n_seeds, n_items; /* n_seeds 0: none (a run without item scores, or runs of different items) */
    double *x;            /* [n_seeds][n_items] */
    int64_t *seeds;       /* [n_seeds] */
    char set_hash[17];    /* the item set every run scored (db.h, DbItems) */
} TableItems;

/* What a test of one cell against another gives (items_compare): a paired
 * bootstrap over their common seeds and the same items when both have item
 * scores of the same items, else Welch's t-test over the seeds of each
 * (both need 2 seeds), else nothing. */
typedef enum { TABLE_TEST_NONE, TABLE_TEST_PAIRED, TABLE_TEST_WELCH } TableTestKind;

typedef struct {
    TableTestKind kind;
    double diff;   /* the first cell's mean less the second's (paired: over the common seeds) */
    double lo, hi; /* the difference's interval (paired only; NaN otherwise) */
    double p;      /* two-sided, unadjusted */
    int seeds;     /* paired seeds (paired) */
} TableTest;

typedef struct {
    char *label, *suffix;  /* suffix "" for a method's own row, "@ema" etc. for a variant */
    int *n;                /* [n_cols] seeds with a value; 0: no value yet */
    double *mean, *sd;     /* [n_cols]; sd NaN with one seed */
    TableItems *items;     /* [n_cols] */
    double *lo, *hi;       /* [n_cols] STATS_LEVEL interval over test items and seeds; NaN: no item scores */
    TableTest *test;       /* [n_cols] against the compare row's cell; kind NONE: not tested */
    double *p_holm;        /* [n_cols] test's p, Holm-adjusted over the table's tests; NaN: not tested */
    char **runs;           /* [n_cols] the ids of the runs behind each cell, space-separated, ascending */
    char *row_runs;        /* the ids of every run behind the row's cells, space-separated, ascending */
    int runs_params;       /* finished runs behind the parameter shares; 0: none */
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
    char *compare_row;     /* the row the others are tested against; NULL: none */
    int compare;           /* its index in rows; -1: none */
    int n_tests;           /* the tests against it (the Holm family) */
    int params;
    int n_cols, n_rows, n_refs;
    char **col_labels; /* [n_cols] */
    char **col_tasks;  /* [n_cols] the task of each column */
    char **col_splits, **col_metrics; /* [n_cols] the split and metric each column reads */
    TableRow *rows;    /* [n_rows] */
    TableRef *refs;    /* [n_refs] */
} TableData;

typedef enum { TABLE_MD, TABLE_TEX, TABLE_HTML } TableFormat;

/* How a format writes a table (every table of report/ goes through these):
 * open, the header row (head_begin, cells separated by head_sep, head_end),
 * the rule under it, the body rows (row_begin, cells separated by sep,
 * row_end), close; none marks a missing number, pm the +-, bold0/bold1
 * wrap the best number, times the x of "seeds x items", mark follows a
 * number that differs significantly from the compare row's. */
typedef struct {
    const char *open, *head_begin, *head_sep, *head_end, *rule, *row_begin, *sep, *row_end, *close;
    const char *none, *pm, *bold0, *bold1, *times, *mark;
} TableSyntax;

const TableSyntax *table_syntax(TableFormat f);
/* Text escaped for the format: LaTeX's specials, Markdown's |, HTML's & < > " '. */
void table_put_text(FILE *out, TableFormat f, const char *s);
/* The heading of table id (HTML: an <h3 id="table-<id>">; LaTeX: a comment
 * naming `moil table <command>` that wrote it), and the paragraphs around a
 * table. */
void table_put_title(FILE *out, TableFormat f, const char *command, const char *id, const char *title);
void table_put_par_begin(FILE *out, TableFormat f);
void table_put_par_end(FILE *out, TableFormat f);
/* Open a table and write its header: one label per letter of align ('l'
 * left, 'r' right: LaTeX's column spec, Markdown's alignment line). */
void table_put_header(FILE *out, TableFormat f, const char *align, const char *const *labels);
/* In HTML, wrap a number in a link to its runs (space-separated ids): the
 * first one's section (#run-<id>), all of them in data-runs and the
 * tooltip. Nothing in the other formats, nor without runs. */
void table_put_link(FILE *out, TableFormat f, const char *runs);
void table_put_link_end(FILE *out, TableFormat f, const char *runs);

void table_data_free(TableData *d);
/* Cell c of row r (c == n_cols: the average column, the mean of the column
 * means when every column has one): its n (0: no value), mean and sd (NaN
 * with one seed and for the average), and (runs not NULL) the ids of its
 * runs (the average's: the row's). */
int table_cell(const TableData *d, int r, int c, double *mean, double *sd, const char **runs);
/* Write cell c of row r as the tables print it, linked to its runs
 * (table_put_link): mean [lo, hi] (n x items) with the interval over test
 * items and seeds, or mean +- sd (n seeds, no items) where its runs have no
 * per-item scores, mean (n) for the average; in bold when best (one per
 * column; NULL: none) is reached by a row without a suffix; followed by
 * the mark when its test against the compare row has a Holm-adjusted p
 * below STATS_ALPHA; the missing mark without a value. Returns the cell's
 * n. */
int table_put_number(FILE *out, TableFormat f, const TableData *d, int r, int c, const double *best);
/* Write the table: our rows (mean +- sd (n), the best of each column among
 * the rows without a suffix in bold), then the paper's rows in a separate
 * block. HTML: a heading with id "table-<id>", the notes as paragraphs, each
 * table of class "sortable", every number of ours a link to its runs
 * (table_put_link), every text escaped. *n_missing gets the cells without
 * a value. -1 if writing failed. */
int table_render(const TableData *d, TableFormat format, FILE *out, int *n_missing);

#endif
