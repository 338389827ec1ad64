/* The claims section of the report (report_claims.h). */
#include "report_claims.h"

#include <math.h>
#include <string.h>

#include "check.h"
#include "report_items.h"
#include "report_stats.h"

static const TableData *find_table(const TableData *tables, int n, const char *id) {
    for (int i = 0; i < n; i++)
        if (!strcmp(tables[i].id, id)) return &tables[i];
    return NULL;
}

static int find_row(const TableData *t, const char *label) {
    for (int r = 0; r < t->n_rows; r++)
        if (!strcmp(t->rows[r].label, label)) return r;
    return -1;
}

/* The outcome of one comparison of a row with another in one column. */
typedef enum { CMP_ABOVE, CMP_BELOW, CMP_SAME, CMP_NONE } Outcome;

static Outcome outcome(const TableTest *t, double p_holm) {
    if (t->kind == TABLE_TEST_NONE) return CMP_NONE;
    return p_holm >= STATS_ALPHA ? CMP_SAME : t->diff > 0 ? CMP_ABOVE : CMP_BELOW;
}

static const char *const outcome_class[] = {"above", "below", "same", "none"};
static const char *const outcome_mark[] = {"▲", "▼", "≈", "–"};

/* The markup around a claim table's cells and rows: HTML's (a cell's class
 * the outcome it shows; NULL: none) or Markdown's. */
static void cell_begin(FILE *out, TableFormat f, const char *cls) {
    if (f != TABLE_HTML) fputs(" ", out);
    else if (cls) fprintf(out, "<td class=\"%s\">", cls);
    else fputs("<td>", out);
}
static void cell_end(FILE *out, TableFormat f) { fputs(f == TABLE_HTML ? "</td>" : " |", out); }
static void row_begin(FILE *out, TableFormat f) { fputs(f == TABLE_HTML ? "<tr>" : "|", out); }
static void row_end(FILE *out, TableFormat f) { fputs(f == TABLE_HTML ? "</tr>\n" : "\n", out); }
static void par_begin(FILE *out, TableFormat f, const char *cls) {
    if (f != TABLE_HTML) return;
    if (cls) fprintf(out, "<p class=\"%s\">", cls);
    else fputs("<p>", out);
}
static void par_end(FILE *out, TableFormat f) { fputs(f == TABLE_HTML ? "</p>\n" : "\n\n", out); }

/* One comparison's cell: mark, difference, its interval (paired), the
 * adjusted p and the test. */
static void put_test(FILE *out, TableFormat f, const TableData *t, int o, int c, const TableTest *k, double p_holm,
                     Outcome w) {
    const char *runs;
    double mean, sd;
    int n = table_cell(t, o, c, &mean, &sd, &runs), html = f == TABLE_HTML;
    cell_begin(out, f, outcome_class[w]);
    table_put_link(out, f, runs);
    fprintf(out, "%s ", outcome_mark[w]);
    if (n && !isnan(k->diff)) fprintf(out, "%+.2f", k->diff);
    else fputs("—", out);
    if (k->kind == TABLE_TEST_PAIRED) fprintf(out, " [%+.2f, %+.2f]", k->lo, k->hi);
    if (!isnan(p_holm)) fprintf(out, " %sp %.2g", html ? "<small>" : "", p_holm);
    if (k->kind == TABLE_TEST_PAIRED)
        fprintf(out, ", paired, %d seed%s %s %d items%s", k->seeds, k->seeds == 1 ? "" : "s", "×",
                t->rows[o].items[c].n_items, html ? "</small>" : "");
    else if (k->kind == TABLE_TEST_WELCH) fprintf(out, ", Welch%s", html ? "</small>" : "");
    table_put_link_end(out, f, runs);
    cell_end(out, f);
}

/* The claim table's header: the column, the row, then minus each other row. */
static void put_header(FILE *out, TableFormat f, const TableData *t, const ExpCompare *k) {
    if (f == TABLE_HTML) {
        fputs("<table class=\"claim\">\n<thead><tr><th>Column (table <a href=\"#table-", out);
        table_put_text(out, f, t->id);
        fputs("\">", out);
        table_put_text(out, f, t->id);
        fputs("</a>)</th><th>", out);
        table_put_text(out, f, k->row);
        fputs("</th>", out);
        for (int o = 0; o < k->n_others; o++)
            fputs("<th>− ", out), table_put_text(out, f, k->others[o]), fputs("</th>", out);
        fputs("</tr></thead>\n<tbody>\n", out);
        return;
    }
    fputs("| Column (table ", out);
    table_put_text(out, f, t->id);
    fputs(") | ", out);
    table_put_text(out, f, k->row);
    fputs(" |", out);
    for (int o = 0; o < k->n_others; o++) fputs(" − ", out), table_put_text(out, f, k->others[o]), fputs(" |", out);
    fputs("\n|---|---:|", out);
    for (int o = 0; o < k->n_others; o++) fputs("---:|", out);
    fputs("\n", out);
}

static void put_compare(FILE *out, TableFormat f, const ExpCompare *k, const TableData *tables, int n_tables) {
    const TableData *t = find_table(tables, n_tables, k->table);
    int r = t ? find_row(t, k->row) : -1;
    if (r < 0) {
        par_begin(out, f, "missing");
        fputs("No ", out);
        if (t) fputs("row “", out), table_put_text(out, f, k->row), fputs("” of ", out);
        fputs("table ", out);
        table_put_text(out, f, k->table);
        fputs(" in this profile: not compared.", out);
        par_end(out, f);
        return;
    }
    /* every test of the line first: Holm's adjustment runs over all of them */
    int n = t->n_cols * k->n_others, count[4] = {0, 0, 0, 0}, n_tested = 0;
    TableTest *tests = xcalloc((size_t)n + 1, sizeof *tests);
    double *p = xcalloc((size_t)n + 1, sizeof *p), *adj = xcalloc((size_t)n + 1, sizeof *adj);
    int *others = xcalloc((size_t)k->n_others + 1, sizeof *others);
    for (int i = 0; i < k->n_others; i++) others[i] = find_row(t, k->others[i]);
    for (int c = 0; c < t->n_cols; c++)
        for (int i = 0; i < k->n_others; i++) {
            TableTest *x = &tests[c * k->n_others + i];
            if (others[i] < 0) *x = (TableTest){TABLE_TEST_NONE, NAN, NAN, NAN, NAN, 0};
            else items_compare(t, r, others[i], c, x);
            p[c * k->n_others + i] = x->kind == TABLE_TEST_NONE ? NAN : x->p;
            n_tested += x->kind != TABLE_TEST_NONE;
        }
    stats_holm(p, n, adj);
    put_header(out, f, t, k);
    for (int c = 0; c < t->n_cols; c++) {
        row_begin(out, f);
        cell_begin(out, f, NULL);
        table_put_text(out, f, t->col_labels[c]);
        cell_end(out, f);
        cell_begin(out, f, NULL);
        table_put_number(out, f, t, r, c, NULL);
        cell_end(out, f);
        for (int i = 0; i < k->n_others; i++) {
            int j = c * k->n_others + i;
            Outcome w = outcome(&tests[j], adj[j]);
            count[w]++;
            if (others[i] < 0) cell_begin(out, f, outcome_class[w]), fputs("no such row", out), cell_end(out, f);
            else put_test(out, f, t, others[i], c, &tests[j], adj[j], w);
        }
        row_end(out, f);
    }
    fputs(f == TABLE_HTML ? "</tbody>\n</table>\n" : "\n", out);
    par_begin(out, f, "verdict");
    table_put_text(out, f, k->row);
    fprintf(out,
            ": above in %d, below in %d, not separated in %d of the %d comparisons (▲ ▼: two-sided p < %.2g after "
            "Holm's adjustment over these %d tests; the difference [its %.0f%% interval], by a paired bootstrap over "
            "the same test items and the seeds both rows ran, or Welch's t-test over seeds where a cell has no item "
            "scores)",
            count[CMP_ABOVE], count[CMP_BELOW], count[CMP_SAME], count[CMP_ABOVE] + count[CMP_BELOW] + count[CMP_SAME],
            STATS_ALPHA, n_tested, 100 * STATS_LEVEL);
    if (count[CMP_NONE]) fprintf(out, "; %d not tested (a missing cell or a single seed without item scores)", count[CMP_NONE]);
    fputs(".", out);
    par_end(out, f);
    free(tests), free(p), free(adj), free(others);
}

int claims_render(const ExpClaims *claims, const TableData *tables, int n_tables, TableFormat f, FILE *out) {
    if (f == TABLE_TEX) return err_set("the claims are written as HTML or Markdown, not LaTeX");
    for (int i = 0; i < claims->n; i++) {
        const ExpClaim *k = &claims->claims[i];
        fputs(f == TABLE_HTML ? "<div class=\"card claim\">\n<h3>Claim " : "### Claim ", out);
        table_put_text(out, f, k->number);
        fputs(": ", out);
        table_put_text(out, f, k->statement);
        fputs(f == TABLE_HTML ? "</h3>\n" : "\n\n", out);
        for (int j = 0; j < k->n_notes; j++)
            par_begin(out, f, NULL), table_put_text(out, f, k->notes[j]), par_end(out, f);
        for (int j = 0; j < k->n_compares; j++) put_compare(out, f, &k->compares[j], tables, n_tables);
        if (f == TABLE_HTML) fputs("</div>\n", out);
    }
    if (fflush(out) != 0 || ferror(out)) return err_set("writing the claims failed");
    return 0;
}
