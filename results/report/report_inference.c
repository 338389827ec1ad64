/* Table 6, inference cost (report_inference.h). */
#include "report_inference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db_internal.h"
#include "method.h"

/* A copy of scripts/inference_rows.sql (tests/test_table_inference.c checks
 * it byte for byte). After editing the file, regenerate this string from
 * the repository root with the gen() of results/db/db_schema.c:
 *   gen scripts/inference_rows.sql report_inference_rows_sql */
const char report_inference_rows_sql[] =
    "-- The rows of the latest ok `moil bench-infer` run (table_id 'inference'):\n"
    "-- CTEs last (its run id) and infer (method, form, ms, run_id), form\n"
    "-- as_trained or merged, from metrics split 'infer' named\n"
    "-- <method>/<form>/ms_per_example. Read by scripts/figures.sh (figure 5) and,\n"
    "-- compiled in (results/report/report_inference.c, kept identical by\n"
    "-- tests/test_table_inference.c), by moil table render --table inference\n"
    "-- (table 6), after a WITH.\n"
    "last AS (SELECT max(id) AS id FROM runs WHERE status = 'ok' AND table_id = 'inference'),\n"
    "infer AS (SELECT substr(name, 1, instr(name, '/') - 1) AS method,\n"
    "                 substr(name, instr(name, '/') + 1, length(name) - instr(name, '/') - length('/ms_per_example')) AS form,\n"
    "                 value AS ms, run_id\n"
    "          FROM metrics WHERE run_id = (SELECT id FROM last) AND split = 'infer'\n"
    "                         AND name GLOB '*/*/ms_per_example' AND value IS NOT NULL)\n"
    ;

static char *col_text(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return xstrdup(s ? (const char *)s : "?");
}

/* A method's place in the tables: the registry's order, others after. */
static int method_rank(const char *name) {
    for (int i = 0; i < method_count(); i++)
        if (!strcmp(method_at(i)->name, name)) return i;
    return method_count();
}

static int row_cmp(const void *a, const void *b) {
    const InferenceRow *x = a, *y = b;
    int rx = method_rank(x->method), ry = method_rank(y->method);
    return rx != ry ? (rx > ry) - (rx < ry) : strcmp(x->method, y->method);
}

static InferenceRow *row_of(InferenceData *d, const char *method) {
    for (int i = 0; i < d->n_rows; i++)
        if (!strcmp(d->rows[i].method, method)) return &d->rows[i];
    d->rows = xrealloc(d->rows, (size_t)(d->n_rows + 1) * sizeof *d->rows);
    d->rows[d->n_rows] = (InferenceRow){xstrdup(method), NAN, NAN};
    return &d->rows[d->n_rows++];
}

static char *with_rows(const char *select) {
    size_t n = strlen(report_inference_rows_sql) + strlen(select) + 8;
    char *sql = xmalloc(n);
    snprintf(sql, n, "WITH %s %s", report_inference_rows_sql, select);
    return sql;
}

int db_inference_load(Db *db, InferenceData *out) {
    memset(out, 0, sizeof *out);
    char *sql = with_rows("SELECT r.id, r.threads, r.task, r.model, json_extract(r.config_json, '$.eval_limit'), "
                          "json_extract(r.config_json, '$.repeats') FROM runs AS r WHERE r.id = (SELECT id FROM last)");
    sqlite3_stmt *st = db_query(db, sql, "");
    free(sql);
    if (!st) return -1;
    int rc = db_step(db, st);
    if (rc == 1) {
        out->run_id = sqlite3_column_int64(st, 0);
        out->threads = sqlite3_column_int(st, 1);
        out->task = col_text(st, 2);
        out->model = col_text(st, 3);
        out->limit = col_text(st, 4);
        out->repeats = col_text(st, 5);
    }
    sqlite3_finalize(st);
    if (rc != 1) return rc;
    sql = with_rows("SELECT method, form, ms FROM infer");
    st = db_query(db, sql, "");
    free(sql);
    if (!st) rc = -1;
    while (st && (rc = db_step(db, st)) == 1) {
        InferenceRow *row = row_of(out, (const char *)sqlite3_column_text(st, 0));
        const char *form = (const char *)sqlite3_column_text(st, 1);
        if (!strcmp(form, "as_trained")) row->trained = sqlite3_column_double(st, 2);
        else if (!strcmp(form, "merged")) row->merged = sqlite3_column_double(st, 2);
    }
    if (st) sqlite3_finalize(st);
    if (rc < 0) {
        inference_data_free(out);
        return -1;
    }
    qsort(out->rows, (size_t)out->n_rows, sizeof *out->rows, row_cmp);
    return 1;
}

void inference_data_free(InferenceData *d) {
    free(d->task), free(d->model), free(d->limit), free(d->repeats);
    for (int i = 0; i < d->n_rows; i++) free(d->rows[i].method);
    free(d->rows);
    memset(d, 0, sizeof *d);
}

/* A time or ratio to prec decimals, the missing mark when NaN; in HTML a
 * link to the run. */
static void put_value(FILE *out, TableFormat f, double v, int prec, const char *run) {
    const TableSyntax *s = table_syntax(f);
    fputs(s->sep, out);
    if (isnan(v)) {
        fputs(s->none, out);
        return;
    }
    table_put_link(out, f, run);
    fprintf(out, "%.*f", prec, v);
    table_put_link_end(out, f, run);
}

int inference_render(const InferenceData *d, const char *profile, TableFormat f, FILE *out) {
    static const char *const labels[] = {"Method", "As trained (ms/example)", "Merged (ms/example)", "Ratio to full",
                                         "Can merge"};
    const TableSyntax *s = table_syntax(f);
    char run[24];
    snprintf(run, sizeof run, "%lld", (long long)d->run_id);
    double full = NAN;
    for (int i = 0; i < d->n_rows; i++)
        if (!strcmp(d->rows[i].method, "full")) full = d->rows[i].trained;
    table_put_title(out, f, "render", "inference", "Inference cost: time per example, as trained and merged");
    table_put_par_begin(out, f);
    fputs("Ours, profile ", out);
    table_put_text(out, f, profile);
    fputs(" (", out);
    table_put_text(out, f, d->model);
    fprintf(out, "-style backbone, fashion-scenes): the latest %s run (run %s), task ",
            f == TABLE_MD ? "`moil bench-infer`" : "moil bench-infer", run);
    table_put_text(out, f, d->task);
    fputs(", the fastest of ", out);
    table_put_text(out, f, d->repeats);
    fputs(" evaluation passes over ", out);
    table_put_text(out, f, d->limit);
    fprintf(out,
            " validation examples on %d thread(s). As trained: the method's hooks attached (LoRA/DoRA branches, "
            "adapters, prompt tokens); merged: the update folded into plain weights. Ratio: the deployed time "
            "(merged when the method merges, else as trained) over full tuning's; %s: none.",
            d->threads, s->none);
    table_put_par_end(out, f);
    table_put_header(out, f, "lrrrl", labels);
    for (int i = 0; i < d->n_rows; i++) {
        const InferenceRow *r = &d->rows[i];
        int full_row = !strcmp(r->method, "full");
        fputs(s->row_begin, out);
        table_put_text(out, f, r->method);
        put_value(out, f, r->trained, 3, run);
        put_value(out, f, r->merged, 3, run);
        put_value(out, f, (isnan(r->merged) ? r->trained : r->merged) / full, 2, run);
        fputs(s->sep, out);
        if (!isnan(r->merged)) fputs("yes", out);
        else if (full_row) fprintf(out, "%s (plain weights)", s->none);
        else fputs("no", out);
        fputs(s->row_end, out);
    }
    fputs(s->close, out);
    if (fflush(out) != 0 || ferror(out)) return err_set("writing the inference table failed");
    return 0;
}
