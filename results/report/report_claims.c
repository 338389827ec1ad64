/* The claims section of the report (report_claims.h). */
#include "report_claims.h"

#include <math.h>
#include <string.h>

#include "check.h"
#include "db.h"
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

static void put_text(FILE *out, const char *s) { db_html_escape(s, out); }

/* The outcome of one comparison of a row with another in one column. */
typedef enum { CMP_ABOVE, CMP_BELOW, CMP_SAME, CMP_NONE } Outcome;

static Outcome outcome(const TableTest *t, double p_holm) {
    if (t->kind == TABLE_TEST_NONE) return CMP_NONE;
    return p_holm >= STATS_ALPHA ? CMP_SAME : t->diff > 0 ? CMP_ABOVE : CMP_BELOW;
}

static const char *const outcome_class[] = {"above", "below", "same", "none"};
static const char *const outcome_mark[] = {"▲", "▼", "≈", "–"};

/* One comparison's cell: mark, difference, its interval (paired), the
 * adjusted p and the test. */
static void put_test(FILE *out, const TableData *t, int o, int c, const TableTest *k, double p_holm, Outcome w) {
    const char *runs;
    double mean, sd;
    int n = table_cell(t, o, c, &mean, &sd, &runs);
    fprintf(out, "<td class=\"%s\">", outcome_class[w]);
    table_put_link(out, TABLE_HTML, runs);
    fprintf(out, "%s ", outcome_mark[w]);
    if (n && !isnan(k->diff)) fprintf(out, "%+.2f", k->diff);
    else fputs("—", out);
    if (k->kind == TABLE_TEST_PAIRED) fprintf(out, " [%+.2f, %+.2f]", k->lo, k->hi);
    if (!isnan(p_holm)) fprintf(out, " <small>p %.2g", p_holm);
    if (k->kind == TABLE_TEST_PAIRED)
        fprintf(out, ", paired, %d seed%s %s %d items</small>", k->seeds, k->seeds == 1 ? "" : "s", "×",
                t->rows[o].items[c].n_items);
    else if (k->kind == TABLE_TEST_WELCH) fputs(", Welch</small>", out);
    table_put_link_end(out, TABLE_HTML, runs);
    fputs("</td>", out);
}

static void put_compare(FILE *out, const ExpCompare *k, const TableData *tables, int n_tables) {
    const TableData *t = find_table(tables, n_tables, k->table);
    int r = t ? find_row(t, k->row) : -1;
    if (r < 0) {
        fputs("<p class=\"missing\">No ", out);
        if (t) fputs("row “", out), put_text(out, k->row), fputs("” of ", out);
        fputs("table ", out);
        put_text(out, k->table);
        fputs(" in this profile: not compared.</p>\n", out);
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
    fputs("<table class=\"claim\">\n<thead><tr><th>Column (table <a href=\"#table-", out);
    put_text(out, t->id);
    fputs("\">", out);
    put_text(out, t->id);
    fputs("</a>)</th><th>", out);
    put_text(out, k->row);
    fputs("</th>", out);
    for (int o = 0; o < k->n_others; o++) fputs("<th>− ", out), put_text(out, k->others[o]), fputs("</th>", out);
    fputs("</tr></thead>\n<tbody>\n", out);
    for (int c = 0; c < t->n_cols; c++) {
        fputs("<tr><td>", out);
        put_text(out, t->col_labels[c]);
        fputs("</td><td>", out);
        table_put_number(out, TABLE_HTML, t, r, c, NULL);
        fputs("</td>", out);
        for (int i = 0; i < k->n_others; i++) {
            int j = c * k->n_others + i;
            Outcome w = outcome(&tests[j], adj[j]);
            count[w]++;
            if (others[i] < 0) fprintf(out, "<td class=\"%s\">no such row</td>", outcome_class[w]);
            else put_test(out, t, others[i], c, &tests[j], adj[j], w);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n<p class=\"verdict\">", out);
    put_text(out, k->row);
    fprintf(out,
            ": above in %d, below in %d, not separated in %d of the %d comparisons (▲ ▼: two-sided p < %.2g after "
            "Holm's adjustment over these %d tests; the difference [its %.0f%% interval], by a paired bootstrap over "
            "the same test items and the seeds both rows ran, or Welch's t-test over seeds where a cell has no item "
            "scores)",
            count[CMP_ABOVE], count[CMP_BELOW], count[CMP_SAME], count[CMP_ABOVE] + count[CMP_BELOW] + count[CMP_SAME],
            STATS_ALPHA, n_tested, 100 * STATS_LEVEL);
    if (count[CMP_NONE]) fprintf(out, "; %d not tested (a missing cell or a single seed without item scores)", count[CMP_NONE]);
    fputs(".</p>\n", out);
    free(tests), free(p), free(adj), free(others);
}

int claims_render_html(const ExpClaims *claims, const TableData *tables, int n_tables, FILE *out) {
    for (int i = 0; i < claims->n; i++) {
        const ExpClaim *k = &claims->claims[i];
        fputs("<div class=\"card claim\">\n<h3>Claim ", out);
        put_text(out, k->number);
        fputs(": ", out);
        put_text(out, k->statement);
        fputs("</h3>\n", out);
        for (int j = 0; j < k->n_notes; j++) fputs("<p>", out), put_text(out, k->notes[j]), fputs("</p>\n", out);
        for (int j = 0; j < k->n_compares; j++) put_compare(out, &k->compares[j], tables, n_tables);
        fputs("</div>\n", out);
    }
    if (fflush(out) != 0 || ferror(out)) return err_set("writing the claims failed");
    return 0;
}
