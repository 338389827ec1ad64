/* Rendering a reproduced table as Markdown or LaTeX (report_table.h). */
#include "report_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void table_data_free(TableData *d) {
    free(d->id), free(d->title), free(d->profile), free(d->reference_model), free(d->average_label);
    for (int c = 0; c < d->n_cols; c++) free(d->col_labels[c]);
    free(d->col_labels);
    for (int r = 0; r < d->n_rows; r++) {
        TableRow *row = &d->rows[r];
        free(row->label), free(row->suffix), free(row->n), free(row->mean), free(row->sd);
    }
    free(d->rows);
    for (int i = 0; i < d->n_refs; i++) {
        TableRef *ref = &d->refs[i];
        free(ref->label), free(ref->source), free(ref->scale), free(ref->unit), free(ref->have), free(ref->value);
    }
    free(d->refs);
    memset(d, 0, sizeof *d);
}

/* The average column of a row: the mean of its column means, when every
 * column has one; its n is the smallest n of the columns. */
static int row_average(const TableData *d, const TableRow *r, double *mean) {
    int n = 0;
    double sum = 0;
    for (int c = 0; c < d->n_cols; c++) {
        if (!r->n[c]) return 0;
        n = c == 0 || r->n[c] < n ? r->n[c] : n;
        sum += r->mean[c];
    }
    *mean = sum / d->n_cols;
    return n;
}

/* Cell c of row r (c == n_cols: the average): n (0: none), mean, sd. */
static int cell(const TableData *d, const TableRow *r, int c, double *mean, double *sd) {
    if (c < d->n_cols) {
        *mean = r->mean[c];
        *sd = r->sd[c];
        return r->n[c];
    }
    *sd = NAN;
    return row_average(d, r, mean);
}

/* The best mean of column c among the rows without a suffix; -inf if none. */
static double column_best(const TableData *d, int c) {
    double best = -INFINITY, mean, sd;
    for (int r = 0; r < d->n_rows; r++)
        if (!d->rows[r].suffix[0] && cell(d, &d->rows[r], c, &mean, &sd) && mean > best) best = mean;
    return best;
}

static void put_escaped(FILE *out, const char *s, TableFormat f) {
    for (; *s; s++) {
        if (f == TABLE_TEX && strchr("&%$#_{}", *s)) fprintf(out, "\\%c", *s);
        else if (f == TABLE_TEX && (*s == '~' || *s == '^' || *s == '\\'))
            fputs(*s == '~' ? "\\textasciitilde{}" : *s == '^' ? "\\textasciicircum{}" : "\\textbackslash{}", out);
        else if (f == TABLE_MD && *s == '|') fputs("\\|", out);
        else fputc(*s, out);
    }
}

static const char *sep(TableFormat f) { return f == TABLE_MD ? " | " : " & "; }
static const char *row_end(TableFormat f) { return f == TABLE_MD ? " |\n" : " \\\\\n"; }
static const char *none(TableFormat f) { return f == TABLE_MD ? "—" : "--"; }

static void put_number(FILE *out, TableFormat f, int n, double mean, double sd, int bold) {
    const char *b0 = !bold ? "" : f == TABLE_MD ? "**" : "\\textbf{", *b1 = !bold ? "" : f == TABLE_MD ? "**" : "}";
    if (isnan(sd)) fprintf(out, "%s%.2f%s (%d)", b0, mean, b1, n);
    else fprintf(out, "%s%.2f%s %s %.2f (%d)", b0, mean, b1, f == TABLE_MD ? "±" : "$\\pm$", sd, n);
}

static void put_header(FILE *out, const TableData *d, TableFormat f, const char *first, int n_num, int ours) {
    int n_right = n_num + (ours ? 0 : 1); /* the paper's rows add Params % and Source */
    if (f == TABLE_TEX) {
        fputs("\\begin{tabular}{l", out);
        for (int c = 0; c < n_right; c++) fputc('r', out);
        fputs(ours ? "}\n\\toprule\n" : "l}\n\\toprule\n", out);
    } else {
        fputs("| ", out);
    }
    fputs(first, out);
    for (int c = 0; c < d->n_cols; c++) fputs(sep(f), out), put_escaped(out, d->col_labels[c], f);
    if (ours && d->average_label) fputs(sep(f), out), put_escaped(out, d->average_label, f);
    if (ours && d->params) fprintf(out, "%sTrainable %s%sStored %s", sep(f), f == TABLE_MD ? "%" : "\\%", sep(f),
                                   f == TABLE_MD ? "%" : "\\%");
    if (!ours) fprintf(out, "%sParams %s%sSource", sep(f), f == TABLE_MD ? "%" : "\\%", sep(f));
    fputs(row_end(f), out);
    if (f == TABLE_TEX) {
        fputs("\\midrule\n", out);
        return;
    }
    fputs("|---", out);
    for (int c = 0; c < n_right; c++) fputs("|---:", out);
    fputs(ours ? "|\n" : "|---|\n", out);
}

static void put_ours(FILE *out, const TableData *d, TableFormat f, int *n_missing) {
    int n_val = d->n_cols + (d->average_label ? 1 : 0);
    double *best = xcalloc((size_t)n_val + 1, sizeof *best);
    for (int c = 0; c < n_val; c++) best[c] = column_best(d, c);
    put_header(out, d, f, "Method", n_val + (d->params ? 2 : 0), 1);
    for (int r = 0; r < d->n_rows; r++) {
        const TableRow *row = &d->rows[r];
        if (f == TABLE_MD) fputs("| ", out);
        put_escaped(out, row->label, f);
        for (int c = 0; c < n_val; c++) {
            double mean, sd;
            int n = cell(d, row, c, &mean, &sd);
            fputs(sep(f), out);
            if (!n) {
                fputs(none(f), out);
                *n_missing += c < d->n_cols;
                continue;
            }
            put_number(out, f, n, mean, sd, !row->suffix[0] && mean >= best[c]);
        }
        if (d->params && row->runs) fprintf(out, "%s%.2f%s%.2f", sep(f), row->trainable_pct, sep(f), row->stored_pct);
        else if (d->params) fprintf(out, "%s%s%s%s", sep(f), none(f), sep(f), none(f));
        fputs(row_end(f), out);
    }
    if (f == TABLE_TEX) fputs("\\bottomrule\n\\end{tabular}\n", out);
    free(best);
}

static void put_refs(FILE *out, const TableData *d, TableFormat f) {
    put_header(out, d, f, "Published row", d->n_cols, 0);
    for (int i = 0; i < d->n_refs; i++) {
        const TableRef *ref = &d->refs[i];
        if (f == TABLE_MD) fputs("| ", out);
        put_escaped(out, ref->label, f);
        for (int c = 0; c < d->n_cols; c++) {
            fputs(sep(f), out);
            if (ref->have[c]) fprintf(out, "%.2f", ref->value[c]);
            else fputs(none(f), out);
        }
        fputs(sep(f), out);
        if (isnan(ref->params_pct)) fputs(none(f), out);
        else fprintf(out, "%.2f", ref->params_pct);
        fputs(sep(f), out);
        put_escaped(out, ref->source, f);
        fprintf(out, " (%s scale, %s)", ref->scale, ref->unit);
        fputs(row_end(f), out);
    }
    if (f == TABLE_TEX) fputs("\\bottomrule\n\\end{tabular}\n", out);
}

int table_render(const TableData *d, TableFormat f, FILE *out, int *n_missing) {
    *n_missing = 0;
    const char *pm = f == TABLE_MD ? "±" : "$\\pm$";
    if (f == TABLE_MD) fprintf(out, "## %s: ", d->id);
    else fputs("% Generated by `moil table render` from the results database; do not edit.\n\\paragraph{", out);
    put_escaped(out, d->title, f);
    fprintf(out, "%s\n\n", f == TABLE_MD ? "" : "}");
    fprintf(out,
            "Ours, profile %s (fashion-scenes, small models): mean %s sd over seeds (n seeds) of the test split, "
            "best per column in bold%s%s; %s: not run yet.%s\n\n",
            d->profile, pm,
            d->average_label ? "; the average is the mean of the metric columns" : "",
            d->params ? "; trainable/stored: share of the backbone's parameters, mean over the row's runs" : "",
            none(f), f == TABLE_MD ? "" : "\n");
    put_ours(out, d, f, n_missing);
    if (d->n_refs) {
        fprintf(out,
                "\nPaper reference (%s model, real scale: published models and datasets, %s; shown for the "
                "ranking of methods, not comparable in absolute value):%s\n\n",
                d->reference_model, d->refs[0].unit, f == TABLE_MD ? "" : "\n");
        put_refs(out, d, f);
    }
    if (fflush(out) != 0 || ferror(out)) return err_set("writing the table %s failed", d->id);
    return 0;
}
