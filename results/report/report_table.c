/* Rendering a reproduced table as Markdown, LaTeX or HTML (report_table.h).
 * One walk over the table writes every format; a format is its syntax
 * (where rows and cells begin and end, bold, the missing mark) and its
 * escaping. */
#include "report_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "report_stats.h"

void table_data_free(TableData *d) {
    free(d->id), free(d->title), free(d->profile), free(d->reference_model), free(d->average_label);
    free(d->compare_row);
    for (int c = 0; c < d->n_cols; c++)
        free(d->col_labels[c]), free(d->col_tasks[c]), free(d->col_splits[c]), free(d->col_metrics[c]);
    free(d->col_labels), free(d->col_tasks), free(d->col_splits), free(d->col_metrics);
    for (int r = 0; r < d->n_rows; r++) {
        TableRow *row = &d->rows[r];
        free(row->label), free(row->suffix), free(row->n), free(row->mean), free(row->sd);
        for (int c = 0; c < d->n_cols; c++) free(row->runs[c]);
        for (int c = 0; row->items && c < d->n_cols; c++) free(row->items[c].x), free(row->items[c].seeds);
        free(row->runs), free(row->row_runs);
        free(row->items), free(row->lo), free(row->hi), free(row->test), free(row->p_holm);
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

int table_cell(const TableData *d, int r, int c, double *mean, double *sd, const char **runs) {
    const TableRow *row = &d->rows[r];
    if (c < d->n_cols) {
        *mean = row->mean[c];
        *sd = row->sd[c];
        if (runs) *runs = row->runs[c];
        return row->n[c];
    }
    *sd = NAN;
    if (runs) *runs = row->row_runs;
    return row_average(d, row, mean);
}

/* The best mean of column c among the rows without a suffix; -inf if none. */
static double column_best(const TableData *d, int c) {
    double best = -INFINITY, mean, sd;
    for (int r = 0; r < d->n_rows; r++)
        if (!d->rows[r].suffix[0] && table_cell(d, r, c, &mean, &sd, NULL) && mean > best) best = mean;
    return best;
}

static const TableSyntax syntaxes[] = {
    [TABLE_MD] = {"", "| ", " | ", " |\n", "", "| ", " | ", " |\n", "", "—", "±", "**", "**", "×", " †"},
    [TABLE_TEX] = {"", "", " & ", " \\\\\n", "\\midrule\n", "", " & ", " \\\\\n", "\\bottomrule\n\\end{tabular}\n",
                   "--", "$\\pm$", "\\textbf{", "}", "$\\times$", "$^\\dagger$"},
    [TABLE_HTML] = {"<table class=\"sortable\">\n", "<thead><tr><th>", "</th><th>", "</th></tr></thead>\n", "<tbody>\n",
                    "<tr><td>", "</td><td>", "</td></tr>\n", "</tbody>\n</table>\n", "—", "±", "<b>", "</b>", "×", " †"},
};

const TableSyntax *table_syntax(TableFormat f) { return &syntaxes[f]; }

void table_put_text(FILE *out, TableFormat f, const char *s) {
    if (f == TABLE_HTML) {
        db_html_escape(s, out);
        return;
    }
    for (; *s; s++) {
        if (f == TABLE_TEX && strchr("&%$#_{}", *s)) fprintf(out, "\\%c", *s);
        else if (f == TABLE_TEX && (*s == '~' || *s == '^' || *s == '\\'))
            fputs(*s == '~' ? "\\textasciitilde{}" : *s == '^' ? "\\textasciicircum{}" : "\\textbackslash{}", out);
        else if (f == TABLE_MD && *s == '|') fputs("\\|", out);
        else fputc(*s, out);
    }
}

void table_put_link(FILE *out, TableFormat f, const char *runs) {
    if (f != TABLE_HTML || !runs || !*runs) return;
    fprintf(out, "<a class=\"num\" href=\"#run-%.*s\" data-runs=\"", (int)strcspn(runs, " "), runs);
    db_html_escape(runs, out);
    fputs("\" title=\"runs ", out);
    db_html_escape(runs, out);
    fputs("\">", out);
}

void table_put_link_end(FILE *out, TableFormat f, const char *runs) {
    if (f == TABLE_HTML && runs && *runs) fputs("</a>", out);
}

int table_put_number(FILE *out, TableFormat f, const TableData *d, int r, int c, const double *best) {
    const TableSyntax *s = &syntaxes[f];
    double mean, sd;
    const char *runs;
    int n = table_cell(d, r, c, &mean, &sd, &runs);
    if (!n) {
        fputs(s->none, out);
        return 0;
    }
    const TableRow *row = &d->rows[r];
    int bold = best && !row->suffix[0] && mean >= best[c];
    table_put_link(out, f, runs);
    fprintf(out, "%s%.2f%s", bold ? s->bold0 : "", mean, bold ? s->bold1 : "");
    if (c < d->n_cols && !isnan(row->lo[c])) {
        fprintf(out, " [%.2f, %.2f] (%d %s %d)", row->lo[c], row->hi[c], n, s->times, row->items[c].n_items);
    } else {
        if (!isnan(sd)) fprintf(out, " %s %.2f", s->pm, sd);
        fprintf(out, c < d->n_cols ? " (%d seed%s, no items)" : " (%d)", n, n == 1 ? "" : "s");
    }
    if (c < d->n_cols && row->p_holm[c] < STATS_ALPHA) fputs(s->mark, out);
    table_put_link_end(out, f, runs);
    return n;
}

void table_put_header(FILE *out, TableFormat f, const char *align, const char *const *labels) {
    const TableSyntax *s = &syntaxes[f];
    if (f == TABLE_TEX) fprintf(out, "\\begin{tabular}{%s}\n\\toprule\n", align);
    fputs(s->open, out);
    fputs(s->head_begin, out);
    for (size_t c = 0; align[c]; c++) {
        if (c) fputs(s->head_sep, out);
        table_put_text(out, f, labels[c]);
    }
    fputs(s->head_end, out);
    fputs(s->rule, out);
    if (f != TABLE_MD) return;
    for (size_t c = 0; align[c]; c++) fputs(align[c] == 'r' ? "|---:" : "|---", out);
    fputs("|\n", out);
}

/* The header of our rows (ours) or of the paper's: the first column's
 * label, the metric columns', then the average and the parameter shares
 * (ours) or the paper's Params % and Source. */
static void put_header(FILE *out, const TableData *d, TableFormat f, const char *first, int ours) {
    char *align = xcalloc((size_t)d->n_cols + 5, 1);
    const char **labels = xcalloc((size_t)d->n_cols + 5, sizeof *labels);
    int n = 0;
    labels[n] = first, align[n++] = 'l';
    for (int c = 0; c < d->n_cols; c++) labels[n] = d->col_labels[c], align[n++] = 'r';
    if (ours && d->average_label) labels[n] = d->average_label, align[n++] = 'r';
    if (ours && d->params) labels[n] = "Trainable %", align[n++] = 'r', labels[n] = "Stored %", align[n++] = 'r';
    if (!ours) labels[n] = "Params %", align[n++] = 'r', labels[n] = "Source", align[n++] = 'l';
    table_put_header(out, f, align, labels);
    free(align);
    free(labels);
}

static void put_ours(FILE *out, const TableData *d, TableFormat f, int *n_missing) {
    const TableSyntax *s = &syntaxes[f];
    int n_val = d->n_cols + (d->average_label ? 1 : 0);
    double *best = xcalloc((size_t)n_val + 1, sizeof *best);
    for (int c = 0; c < n_val; c++) best[c] = column_best(d, c);
    put_header(out, d, f, "Method", 1);
    for (int r = 0; r < d->n_rows; r++) {
        const TableRow *row = &d->rows[r];
        fputs(s->row_begin, out);
        table_put_text(out, f, row->label);
        for (int c = 0; c < n_val; c++) {
            fputs(s->sep, out);
            if (!table_put_number(out, f, d, r, c, best)) *n_missing += c < d->n_cols;
        }
        for (int k = 0; d->params && k < 2; k++) {
            fputs(s->sep, out);
            if (!row->runs_params) {
                fputs(s->none, out);
                continue;
            }
            table_put_link(out, f, row->row_runs);
            fprintf(out, "%.2f", k == 0 ? row->trainable_pct : row->stored_pct);
            table_put_link_end(out, f, row->row_runs);
        }
        fputs(s->row_end, out);
    }
    fputs(s->close, out);
    free(best);
}

static void put_refs(FILE *out, const TableData *d, TableFormat f) {
    const TableSyntax *s = &syntaxes[f];
    put_header(out, d, f, "Published row", 0);
    for (int i = 0; i < d->n_refs; i++) {
        const TableRef *ref = &d->refs[i];
        fputs(s->row_begin, out);
        table_put_text(out, f, ref->label);
        for (int c = 0; c < d->n_cols; c++) {
            fputs(s->sep, out);
            if (ref->have[c]) fprintf(out, "%.2f", ref->value[c]);
            else fputs(s->none, out);
        }
        fputs(s->sep, out);
        if (isnan(ref->params_pct)) fputs(s->none, out);
        else fprintf(out, "%.2f", ref->params_pct);
        fputs(s->sep, out);
        table_put_text(out, f, ref->source);
        fputs(" (", out);
        table_put_text(out, f, ref->scale);
        fputs(" scale, ", out);
        table_put_text(out, f, ref->unit);
        fputs(")", out);
        fputs(s->row_end, out);
    }
    fputs(s->close, out);
}

void table_put_par_begin(FILE *out, TableFormat f) {
    if (f == TABLE_HTML) fputs("<p class=\"note\">", out);
}

void table_put_par_end(FILE *out, TableFormat f) {
    fputs(f == TABLE_HTML ? "</p>\n" : f == TABLE_TEX ? "\n\n\n" : "\n\n", out);
}

void table_put_title(FILE *out, TableFormat f, const char *command, const char *id, const char *title) {
    if (f == TABLE_MD) {
        fprintf(out, "## %s: ", id);
        table_put_text(out, f, title);
        fputs("\n\n", out);
    } else if (f == TABLE_TEX) {
        fprintf(out, "%% Generated by `moil table %s` from the results database; do not edit.\n\\paragraph{", command);
        table_put_text(out, f, title);
        fputs("}\n\n", out);
    } else {
        fputs("<h3 id=\"table-", out);
        table_put_text(out, f, id);
        fputs("\">", out);
        table_put_text(out, f, id);
        fputs(": ", out);
        table_put_text(out, f, title);
        fputs("</h3>\n", out);
    }
}

int table_render(const TableData *d, TableFormat f, FILE *out, int *n_missing) {
    const TableSyntax *s = &syntaxes[f];
    *n_missing = 0;
    table_put_title(out, f, "render", d->id, d->title);
    table_put_par_begin(out, f);
    fputs("Ours, profile ", out);
    table_put_text(out, f, d->profile);
    fprintf(out,
            " (fashion-scenes, small models), each column on its split (test unless its label says val): mean "
            "over seeds [%.0f%% interval over the scored items and seeds] (n seeds %s items), or mean %s sd over "
            "seeds (n seeds, no items) where the runs have no per-item scores or the metric has no per-item form "
            "(a mean of recalls over both directions); best per column in bold%s%s; %s: not run yet.",
            100 * STATS_LEVEL, s->times, s->pm,
            d->average_label ? "; the average is the mean of the metric columns" : "",
            d->params ? "; trainable/stored: share of the backbone's parameters, mean over the row's runs" : "",
            s->none);
    table_put_par_end(out, f);
    table_put_par_begin(out, f);
    fprintf(out,
            "Intervals: percentile bootstrap, %d replicates from seed %d, resampling the test items (one resample "
            "for every seed) plus the seeds' part, Student's t over seeds (results/README.md, \"Intervals and "
            "tests\").",
            STATS_BOOT_B, STATS_BOOT_SEED);
    if (d->compare >= 0) {
        fprintf(out, " %s: differs from ", s->mark + strspn(s->mark, " "));
        table_put_text(out, f, d->compare_row);
        fprintf(out,
                " in the same column, two-sided p below %.2g after Holm's adjustment over the table's %d tests (a paired "
                "bootstrap over the same test items and the seeds both rows ran; Welch's t-test over seeds where a "
                "cell has no item scores).",
                STATS_ALPHA, d->n_tests);
    }
    table_put_par_end(out, f);
    put_ours(out, d, f, n_missing);
    if (d->n_refs) {
        fputs(f == TABLE_HTML ? "" : "\n", out);
        table_put_par_begin(out, f);
        fputs("Paper reference (", out);
        table_put_text(out, f, d->reference_model);
        fputs(" model, real scale: published models and datasets, ", out);
        table_put_text(out, f, d->refs[0].unit);
        fputs("; shown for the ranking of methods, not comparable in absolute value):", out);
        table_put_par_end(out, f);
        put_refs(out, d, f);
    }
    if (fflush(out) != 0 || ferror(out)) return err_set("writing the table %s failed", d->id);
    return 0;
}
