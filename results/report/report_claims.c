/* The claims section of the report (report_claims.h). */
#include "report_claims.h"

#include <math.h>
#include <string.h>

#include "check.h"
#include "db.h"
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

static Outcome compare(const TableData *t, int r, int o, int c, double *diff, double *p) {
    double m1, s1, m2, s2;
    int n1 = table_cell(t, r, c, &m1, &s1, NULL), n2 = table_cell(t, o, c, &m2, &s2, NULL);
    *diff = m1 - m2;
    *p = NAN;
    if (!n1 || !n2) return CMP_NONE;
    *p = stats_welch_p(m1, s1, n1, m2, s2, n2);
    if (isnan(*p)) return CMP_NONE;
    return *p >= CLAIMS_ALPHA ? CMP_SAME : *diff > 0 ? CMP_ABOVE : CMP_BELOW;
}

static const char *const outcome_class[] = {"above", "below", "same", "none"};
static const char *const outcome_mark[] = {"▲", "▼", "≈", "–"};

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
    int count[4] = {0, 0, 0, 0};
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
            int o = find_row(t, k->others[i]);
            double diff = NAN, p = NAN;
            Outcome w = o < 0 ? CMP_NONE : compare(t, r, o, c, &diff, &p);
            count[w]++;
            fprintf(out, "<td class=\"%s\">", outcome_class[w]);
            if (o < 0) {
                fputs("no such row</td>", out);
                continue;
            }
            const char *runs;
            double mean, sd;
            int n = table_cell(t, o, c, &mean, &sd, &runs);
            table_put_link(out, TABLE_HTML, runs);
            fprintf(out, "%s ", outcome_mark[w]);
            if (n && !isnan(diff)) fprintf(out, "%+.2f", diff);
            else fputs("—", out);
            if (!isnan(p)) fprintf(out, " <small>p %.2g</small>", p);
            table_put_link_end(out, TABLE_HTML, runs);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n<p class=\"verdict\">", out);
    put_text(out, k->row);
    fprintf(out,
            ": above in %d, below in %d, not separated in %d of the %d comparisons (▲ ▼: Welch's t-test over "
            "seeds, two-sided p < %.2g, uncorrected for the number of comparisons)",
            count[CMP_ABOVE], count[CMP_BELOW], count[CMP_SAME], count[CMP_ABOVE] + count[CMP_BELOW] + count[CMP_SAME],
            CLAIMS_ALPHA);
    if (count[CMP_NONE]) fprintf(out, "; %d not tested (a missing cell or a single seed)", count[CMP_NONE]);
    fputs(".</p>\n", out);
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
