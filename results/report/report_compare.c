/* This file contains the comparison of two editions of one table, cell by
 * cell (report_compare.h). Each cell is written by table_put_number, as
 * the edition's own table writes it; this file only matches rows and
 * columns and writes the change of the means. */
#include "report_compare.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report_stats.h"

/* a and b read the same once each run of white space counts as one (the
 * labels are trimmed when read: "Heads only,  lr 3e-4" is "Heads only, lr 3e-4"). */
static int same_label(const char *a, const char *b) {
    for (;;) {
        int sa = isspace((unsigned char)*a), sb = isspace((unsigned char)*b);
        if (sa != sb) return 0;
        while (isspace((unsigned char)*a)) a++;
        while (isspace((unsigned char)*b)) b++;
        if (sa) continue;
        if (*a != *b) return 0;
        if (!*a) return 1;
        a++, b++;
    }
}

/* Column c of d (c == n_cols: its average) is column k of e: the same
 * label, task, split and metric; an average only an average of the same
 * label. */
static int same_column(const TableData *d, int c, const TableData *e, int k) {
    if ((c == d->n_cols) != (k == e->n_cols)) return 0;
    if (c == d->n_cols) return same_label(d->average_label, e->average_label);
    return same_label(d->col_labels[c], e->col_labels[k]) && !strcmp(d->col_tasks[c], e->col_tasks[k]) &&
           !strcmp(d->col_splits[c], e->col_splits[k]) && !strcmp(d->col_metrics[c], e->col_metrics[k]);
}

static int same_row(const TableData *d, int r, const TableData *e, int k) {
    return same_label(d->rows[r].label, e->rows[k].label) && !strcmp(d->rows[r].suffix, e->rows[k].suffix);
}

/* The pairs of n[NEW] items of the new side with the first unpaired equal
 * item of the old side, in the new order, into *pairs; the unpaired items of
 * each side into only[side]. */
static int pair_up(const TableMatch *m, const int n[COMPARE_SIDES], int columns, int (**pairs)[COMPARE_SIDES],
                   int *only[COMPARE_SIDES], int n_only[COMPARE_SIDES]) {
    const TableData *o = m->side[COMPARE_OLD], *c = m->side[COMPARE_NEW];
    unsigned char *taken = xcalloc((size_t)n[COMPARE_OLD] + 1, 1);
    int n_pairs = 0;
    *pairs = xcalloc((size_t)n[COMPARE_NEW] + 1, sizeof **pairs);
    for (int s = 0; s < COMPARE_SIDES; s++) only[s] = xcalloc((size_t)n[s] + 1, sizeof *only[s]), n_only[s] = 0;
    for (int k = 0; k < n[COMPARE_NEW]; k++) {
        int found = -1;
        for (int i = 0; i < n[COMPARE_OLD] && found < 0; i++)
            if (!taken[i] && (columns ? same_column(o, i, c, k) : same_row(o, i, c, k))) found = i;
        if (found < 0) {
            only[COMPARE_NEW][n_only[COMPARE_NEW]++] = k;
            continue;
        }
        taken[found] = 1;
        (*pairs)[n_pairs][COMPARE_OLD] = found, (*pairs)[n_pairs++][COMPARE_NEW] = k;
    }
    for (int i = 0; i < n[COMPARE_OLD]; i++)
        if (!taken[i]) only[COMPARE_OLD][n_only[COMPARE_OLD]++] = i;
    free(taken);
    return n_pairs;
}

void table_match(const TableData *old, const TableData *cur, TableMatch *m) {
    memset(m, 0, sizeof *m);
    m->side[COMPARE_OLD] = old, m->side[COMPARE_NEW] = cur;
    int n_rows[COMPARE_SIDES] = {old->n_rows, cur->n_rows};
    m->n_rows = pair_up(m, n_rows, 0, &m->rows, m->only_rows, m->n_only_rows);
    /* the average counts as a column (index n_cols) of a side that has one;
     * it is shared only when every metric column is */
    int n_metric[COMPARE_SIDES] = {old->n_cols, cur->n_cols};
    m->n_cols = pair_up(m, n_metric, 1, &m->cols, m->only_cols, m->n_only_cols);
    int same_metrics = !m->n_only_cols[COMPARE_OLD] && !m->n_only_cols[COMPARE_NEW];
    int shared_average = same_metrics && old->average_label && cur->average_label &&
                         same_column(old, old->n_cols, cur, cur->n_cols);
    for (int s = 0; s < COMPARE_SIDES; s++) {
        const TableData *d = m->side[s];
        if (!d->average_label || shared_average) continue;
        m->only_cols[s] = xrealloc(m->only_cols[s], (size_t)(m->n_only_cols[s] + 1) * sizeof *m->only_cols[s]);
        m->only_cols[s][m->n_only_cols[s]++] = d->n_cols;
    }
    if (shared_average) {
        m->cols = xrealloc(m->cols, (size_t)(m->n_cols + 1) * sizeof *m->cols);
        m->cols[m->n_cols][COMPARE_OLD] = old->n_cols, m->cols[m->n_cols++][COMPARE_NEW] = cur->n_cols;
    }
    for (int r = 0; r < m->n_rows; r++)
        for (int c = 0; c < m->n_cols; c++) {
            double mean, sd;
            int both = 1;
            for (int s = 0; s < COMPARE_SIDES; s++)
                both &= table_cell(m->side[s], m->rows[r][s], m->cols[c][s], &mean, &sd, NULL) > 0;
            m->cells += both, m->missing += !both;
        }
}

void table_match_free(TableMatch *m) {
    free(m->rows), free(m->cols);
    for (int s = 0; s < COMPARE_SIDES; s++) free(m->only_rows[s]), free(m->only_cols[s]);
    memset(m, 0, sizeof *m);
}

static void put_column_name(FILE *out, TableFormat f, const TableData *d, int c) {
    if (c == d->n_cols) {
        table_put_text(out, f, d->average_label);
        fputs(" (the mean of the metric columns)", out);
        return;
    }
    table_put_text(out, f, d->col_labels[c]);
    fputs(" (", out);
    table_put_text(out, f, d->col_tasks[c]);
    fputs(", ", out);
    table_put_text(out, f, d->col_splits[c]);
    fputs(", ", out);
    table_put_text(out, f, d->col_metrics[c]);
    fputs(")", out);
}

/* "Only in the old edition: rows A; B; columns X (task, split, metric)." */
static void put_only(FILE *out, TableFormat f, const TableMatch *m, int s) {
    const TableData *d = m->side[s];
    table_put_par_begin(out, f);
    fprintf(out, "Only in the %s edition: ", s == COMPARE_OLD ? "old" : "new");
    if (!m->n_only_rows[s]) fputs("no row", out);
    for (int i = 0; i < m->n_only_rows[s]; i++) {
        fputs(i ? "; " : m->n_only_rows[s] == 1 ? "row " : "rows ", out);
        table_put_text(out, f, d->rows[m->only_rows[s][i]].label);
    }
    fputs(m->n_only_cols[s] ? "; " : "; no column", out);
    for (int i = 0; i < m->n_only_cols[s]; i++) {
        fputs(i ? "; " : m->n_only_cols[s] == 1 ? "column " : "columns ", out);
        put_column_name(out, f, d, m->only_cols[s][i]);
    }
    fputs(".", out);
    table_put_par_end(out, f);
}

int table_compare_render(const TableMatch *m, const char *old_name, const char *new_name, TableFormat f, FILE *out) {
    const TableSyntax *s = table_syntax(f);
    const TableData *o = m->side[COMPARE_OLD], *c = m->side[COMPARE_NEW];
    table_put_title(out, f, "compare", c->id, c->title);
    table_put_par_begin(out, f);
    fputs("Two editions of this table, profile ", out);
    table_put_text(out, f, c->profile);
    fputs(", cell by cell: old ", out);
    table_put_text(out, f, old_name);
    fputs(", new ", out);
    table_put_text(out, f, new_name);
    fprintf(out,
            ". Each cell as its edition's table shows it: mean over seeds [%.0f%% interval over test items and seeds] "
            "(n seeds %s items), or mean %s sd over seeds (n seeds, no items) where the runs have no per-item "
            "scores, with %s where that edition's test against its own compare row finds a difference; change: the "
            "new mean less the old; %s: no value. Rows are matched by label, columns by label, task, split and "
            "metric.",
            100 * STATS_LEVEL, s->times, s->pm, s->mark + strspn(s->mark, " "), s->none);
    if (strcmp(o->title, c->title)) {
        fputs(" The old edition's title: ", out);
        table_put_text(out, f, o->title);
        fputs(".", out);
    }
    table_put_par_end(out, f);
    if (!m->n_rows || !m->n_cols) {
        table_put_par_begin(out, f);
        fputs("No cell is in both editions.", out);
        table_put_par_end(out, f);
    }
    static const char *const labels[] = {"Method", "Column", "Old", "New", "Change"};
    if (m->n_rows && m->n_cols) table_put_header(out, f, "llrrr", labels);
    for (int r = 0; r < m->n_rows; r++)
        for (int k = 0; k < m->n_cols; k++) {
            const int *row = m->rows[r], *col = m->cols[k];
            fputs(s->row_begin, out);
            table_put_text(out, f, c->rows[row[COMPARE_NEW]].label);
            fputs(s->sep, out);
            table_put_text(out, f, col[COMPARE_NEW] == c->n_cols ? c->average_label : c->col_labels[col[COMPARE_NEW]]);
            double mean[COMPARE_SIDES], sd;
            int n[COMPARE_SIDES];
            for (int side = 0; side < COMPARE_SIDES; side++) {
                fputs(s->sep, out);
                n[side] = table_put_number(out, f, m->side[side], row[side], col[side], NULL);
                table_cell(m->side[side], row[side], col[side], &mean[side], &sd, NULL);
            }
            fputs(s->sep, out);
            if (n[COMPARE_OLD] && n[COMPARE_NEW]) fprintf(out, "%+.2f", mean[COMPARE_NEW] - mean[COMPARE_OLD]);
            else fputs(s->none, out);
            fputs(s->row_end, out);
        }
    if (m->n_rows && m->n_cols) fputs(s->close, out), fputs(f == TABLE_HTML ? "" : "\n", out);
    for (int side = 0; side < COMPARE_SIDES; side++) put_only(out, f, m, side);
    if (fflush(out) != 0 || ferror(out)) return err_set("writing the comparison of table %s failed", c->id);
    return 0;
}
