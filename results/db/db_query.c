/* Reading the results database: runs, metrics, curves and health checks as
 * tables of text cells, and writing such tables as text, CSV, TSV,
 * Markdown or HTML. See db.h (DbTable). */
#include "db_internal.h"

#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The runs a DbRunFilter selects, as parameters ?1..?6 (bound by
 * db_bind_filter) over runs AS r. */
#define FILTER_SQL                                                                                     \
    "(?1 IS NULL OR r.table_id = ?1) AND (?2 IS NULL OR r.status = ?2) AND (?3 IS NULL OR r.task = ?3) " \
    "AND (?4 IS NULL OR r.model = ?4) AND (?5 IS NULL OR r.method = ?5) AND (?6 = 0 OR r.id = ?6)"

/* The identity columns of a run beside each metric or curve point. */
#define RUN_ID_COLS "r.id AS run_id, r.table_id, r.task, r.model, r.method, r.seed, r.status"

/* A stored value and its nonfinite label as one column: REAL, or the text
 * nan/inf/-inf. */
#define VALUE_SQL(t) "CASE WHEN " t ".nonfinite IS NULL THEN " t ".value ELSE " t ".nonfinite END"

/* The headline metric of each run (see db_select_runs): rank 1 per run. */
#define KEY_METRIC_SQL                                                                                    \
    "WITH key AS (SELECT m.run_id, m.split || '/' || m.name AS key_metric, " VALUE_SQL("m") " AS key_value, " \
    "row_number() OVER (PARTITION BY m.run_id ORDER BY m.name IS CASE r.task WHEN 'retrieval' THEN 'ir_r1' "  \
    "WHEN 'vqa' THEN 'vqa_score' WHEN 'nlvr' THEN 'accuracy' WHEN 'caption' THEN 'cider' END DESC, "          \
    "m.split = 'test' DESC, m.split = 'val' DESC, m.split, m.name) AS rank "                                  \
    "FROM metrics AS m JOIN runs AS r ON r.id = m.run_id) "

/* The shortest %.*g text of v that reads back as exactly v; a whole number
 * below 2^53 in plain digits (100, not 1e+02). */
static char *real_text(double v) {
    if (isnan(v)) return xstrdup("nan");
    if (isinf(v)) return xstrdup(v > 0 ? "inf" : "-inf");
    char buf[40];
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, sizeof buf, "%.0f", v);
        return xstrdup(buf);
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return xstrdup(buf);
}

/* Row r of t: its n_cols cells, grown as rows are added (*cap rows held). */
static char **table_new_row(DbTable *t, int *cap) {
    if (t->n_rows == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        t->cells = xrealloc(t->cells, (size_t)*cap * (size_t)t->n_cols * sizeof *t->cells);
        t->real = xrealloc(t->real, (size_t)*cap * (size_t)t->n_cols);
    }
    size_t at = (size_t)t->n_rows++ * (size_t)t->n_cols;
    memset(t->real + at, 0, (size_t)t->n_cols);
    return t->cells + at;
}

int db_table_fill(Db *db, sqlite3_stmt *st, DbTable *out) {
    *out = (DbTable){0};
    int n = sqlite3_column_count(st);
    out->n_cols = n;
    out->cols = xcalloc((size_t)n, sizeof *out->cols);
    for (int c = 0; c < n; c++) out->cols[c] = xstrdup(sqlite3_column_name(st, c));
    int rc, cap = 0;
    while ((rc = db_step(db, st)) == 1) {
        char **row = table_new_row(out, &cap);
        unsigned char *real = out->real + (row - out->cells);
        for (int c = 0; c < n; c++) {
            int type = sqlite3_column_type(st, c);
            real[c] = type == SQLITE_FLOAT;
            row[c] = type == SQLITE_NULL    ? NULL
                     : type == SQLITE_FLOAT ? real_text(sqlite3_column_double(st, c))
                                            : xstrdup((const char *)sqlite3_column_text(st, c));
        }
    }
    sqlite3_finalize(st);
    if (rc == 0) return 0;
    db_table_free(out);
    return -1;
}

/* Run sql with the filter bound as ?1..?6 and collect its rows. */
static int select_filtered(Db *db, const char *sql, const DbRunFilter *f, DbTable *out) {
    *out = (DbTable){0};
    sqlite3_stmt *st = db_query(db, sql, "ttttti", f->table_id, f->status, f->task, f->model, f->method, f->run_id);
    return st ? db_table_fill(db, st, out) : -1;
}

int db_select_runs(Db *db, const DbRunFilter *filter, DbTable *out) {
    return select_filtered(db,
                           KEY_METRIC_SQL "SELECT r.*, json_extract(r.config_json, '$.command') AS command, "
                                          "k.key_metric, k.key_value FROM runs AS r "
                                          "LEFT JOIN key AS k ON k.run_id = r.id AND k.rank = 1 "
                                          "WHERE " FILTER_SQL " ORDER BY r.id",
                           filter, out);
}

int db_select_metrics(Db *db, const DbRunFilter *filter, DbTable *out) {
    return select_filtered(db,
                           "SELECT " RUN_ID_COLS ", m.split, m.name, " VALUE_SQL("m") " AS value "
                           "FROM runs AS r JOIN metrics AS m ON m.run_id = r.id "
                           "WHERE " FILTER_SQL " ORDER BY r.id, m.split, m.name",
                           filter, out);
}

int db_select_curves(Db *db, const DbRunFilter *filter, DbTable *out) {
    return select_filtered(db,
                           "SELECT " RUN_ID_COLS ", c.name, c.step, " VALUE_SQL("c") " AS value "
                           "FROM runs AS r JOIN curves AS c ON c.run_id = r.id "
                           "WHERE " FILTER_SQL " ORDER BY r.id, c.name, c.step",
                           filter, out);
}

int db_select_items(Db *db, const DbRunFilter *filter, DbTable *out) {
    DbTable sets;
    if (select_filtered(db,
                        "SELECT " RUN_ID_COLS ", s.split, s.name FROM runs AS r "
                        "JOIN item_scores AS s ON s.run_id = r.id WHERE " FILTER_SQL " ORDER BY r.id, s.split, s.name",
                        filter, &sets))
        return -1;
    int k = sets.n_cols, cap = 0, rc = 0;
    *out = (DbTable){.n_cols = k + 2};
    out->cols = xcalloc((size_t)out->n_cols, sizeof *out->cols);
    for (int c = 0; c < k; c++) out->cols[c] = xstrdup(sets.cols[c]);
    out->cols[k] = xstrdup("item");
    out->cols[k + 1] = xstrdup("value");
    for (int s = 0; s < sets.n_rows && rc == 0; s++) {
        char **key = sets.cells + (size_t)s * (size_t)k;
        DbItems it;
        int got = db_items_get(db, strtoll(key[0], NULL, 10), key[k - 2], key[k - 1], 1, &it);
        rc = got == 1   ? 0
             : got == 0 ? err_set("%s: run %s: item scores %s/%s vanished while read", db->path, key[0],
                                  key[k - 2], key[k - 1])
                        : -1;
        const char *id = it.ids;
        for (int i = 0; rc == 0 && i < it.n; i++) {
            const char *end = strchr(id, '\n');
            char **row = table_new_row(out, &cap);
            for (int c = 0; c < k; c++) row[c] = key[c] ? xstrdup(key[c]) : NULL;
            row[k] = xmalloc((size_t)(end - id) + 1);
            memcpy(row[k], id, (size_t)(end - id));
            row[k][end - id] = '\0';
            row[k + 1] = real_text(it.values[i]);
            out->real[(size_t)out->n_rows * (size_t)out->n_cols - 1] = 1;
            id = end + 1;
        }
        if (rc == 0) db_items_free(&it);
    }
    db_table_free(&sets);
    if (rc) db_table_free(out);
    return rc;
}

int db_select_curve_summary(Db *db, int64_t run_id, DbTable *out) {
    *out = (DbTable){0};
    sqlite3_stmt *st = db_query(
        db,
        "WITH s AS (SELECT name, count(*) AS points, count(nonfinite) AS nonfinite, min(step) AS first_step, "
        "max(step) AS last_step, min(value) AS min_value, max(value) AS max_value "
        "FROM curves WHERE run_id = ?1 GROUP BY name) "
        "SELECT s.name, s.points, s.nonfinite, s.first_step, "
        "(SELECT " VALUE_SQL("c") " FROM curves AS c WHERE c.run_id = ?1 AND c.name = s.name "
        "AND c.step = s.first_step) AS first_value, s.last_step, "
        "(SELECT " VALUE_SQL("c") " FROM curves AS c WHERE c.run_id = ?1 AND c.name = s.name "
        "AND c.step = s.last_step) AS last_value, s.min_value, "
        "(SELECT min(step) FROM curves AS c WHERE c.run_id = ?1 AND c.name = s.name AND c.value = s.min_value) "
        "AS min_step, s.max_value, "
        "(SELECT min(step) FROM curves AS c WHERE c.run_id = ?1 AND c.name = s.name AND c.value = s.max_value) "
        "AS max_step FROM s ORDER BY s.name",
        "i", run_id);
    return st ? db_table_fill(db, st, out) : -1;
}

int db_select_run_details(Db *db, int64_t run_id, DbRunDetails *out) {
    static const char *const metric_cols[] = {"split", "name", "value"};
    DbRunFilter only = {.run_id = run_id};
    *out = (DbRunDetails){0};
    int rc = db_select_runs(db, &only, &out->run);
    if (rc == 0 && out->run.n_rows == 0) rc = err_set("%s: no run %lld", db->path, (long long)run_id);
    if (rc == 0) rc = db_select_metrics(db, &only, &out->metrics);
    if (rc == 0) rc = db_table_keep(&out->metrics, metric_cols, 3);
    if (rc == 0) rc = db_select_curve_summary(db, run_id, &out->curves);
    if (rc == 0) {
        sqlite3_stmt *st = db_query(db,
                                    "SELECT s.split, s.name, t.n AS items, s.encoding, length(s.scores) AS bytes, "
                                    "s.item_set FROM item_scores AS s JOIN item_sets AS t ON t.hash = s.item_set "
                                    "WHERE s.run_id = ? ORDER BY s.split, s.name",
                                    "i", run_id);
        rc = st ? db_table_fill(db, st, &out->items) : -1;
    }
    if (rc == 0) {
        json_error_t jerr;
        json_t *config = json_loads(db_table_get(&out->run, 0, "config_json"), 0, &jerr);
        if (config) out->config = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(config);
        if (!out->config) rc = err_set("%s: run %lld: config_json: %s", db->path, (long long)run_id,
                                       config ? "cannot be written as JSON" : jerr.text);
    }
    if (rc) db_run_details_free(out);
    return rc;
}

void db_run_details_free(DbRunDetails *d) {
    db_table_free(&d->run);
    db_table_free(&d->metrics);
    db_table_free(&d->curves);
    db_table_free(&d->items);
    free(d->config);
    *d = (DbRunDetails){0};
}

int db_select_status_counts(Db *db, DbTable *out) {
    *out = (DbTable){0};
    sqlite3_stmt *st = db_query(db, "SELECT status, count(*) AS runs FROM runs GROUP BY status ORDER BY status", "");
    return st ? db_table_fill(db, st, out) : -1;
}

int db_select_problems(Db *db, DbTable *out) {
    *out = (DbTable){0};
    sqlite3_stmt *st = db_query(db, "SELECT integrity_check AS problem FROM pragma_integrity_check "
                                    "WHERE integrity_check != 'ok'", "");
    if (!st || db_table_fill(db, st, out)) return -1;
    if (out->n_rows) return 0; /* foreign_key_check would stumble on the damage */
    db_table_free(out);
    st = db_query(db,
                  "SELECT 'foreign key: row ' || coalesce(rowid, '?') || ' of ' || \"table\" || "
                  "' refers to a missing row of ' || parent AS problem FROM pragma_foreign_key_check",
                  "");
    return st ? db_table_fill(db, st, out) : -1;
}

static int table_col(const DbTable *t, const char *col) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c], col)) return c;
    return -1;
}

const char *db_table_get(const DbTable *t, int row, const char *col) {
    int c = table_col(t, col);
    return c < 0 ? NULL : t->cells[(size_t)row * (size_t)t->n_cols + (size_t)c];
}

int db_table_keep(DbTable *t, const char *const *cols, int n_cols) {
    int *from = xcalloc((size_t)n_cols + 1, sizeof *from);
    for (int k = 0; k < n_cols; k++)
        if ((from[k] = table_col(t, cols[k])) < 0) {
            free(from);
            return err_set("table: no column '%s'", cols[k]);
        }
    DbTable kept = {.n_cols = n_cols, .n_rows = t->n_rows};
    kept.cols = xcalloc((size_t)n_cols + 1, sizeof *kept.cols);
    kept.cells = xcalloc((size_t)t->n_rows * (size_t)n_cols + 1, sizeof *kept.cells);
    kept.real = xcalloc((size_t)t->n_rows * (size_t)n_cols + 1, 1);
    for (int k = 0; k < n_cols; k++) kept.cols[k] = xstrdup(cols[k]);
    for (int r = 0; r < t->n_rows; r++)
        for (int k = 0; k < n_cols; k++) {
            size_t src = (size_t)r * (size_t)t->n_cols + (size_t)from[k], dst = (size_t)r * (size_t)n_cols + (size_t)k;
            kept.cells[dst] = t->cells[src] ? xstrdup(t->cells[src]) : NULL;
            kept.real[dst] = t->real[src];
        }
    free(from);
    db_table_free(t);
    *t = kept;
    return 0;
}

/* A cell as people read it (text and Markdown): NULL as "-" (text) or ""
 * (Markdown), reals to 6 significant digits. buf holds the formatted real. */
static const char *cell_display(const DbTable *t, size_t i, const char *null_as, char *buf, size_t n) {
    const char *s = t->cells[i];
    if (!s) return null_as;
    if (!t->real[i]) return s;
    snprintf(buf, n, "%.6g", strtod(s, NULL));
    return buf;
}

static void write_text(const DbTable *t, FILE *out) {
    size_t *width = xcalloc((size_t)t->n_cols + 1, sizeof *width);
    char buf[40];
    for (int c = 0; c < t->n_cols; c++) width[c] = strlen(t->cols[c]);
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_cols; c++) {
            size_t len = strlen(cell_display(t, (size_t)r * (size_t)t->n_cols + (size_t)c, "-", buf, sizeof buf));
            if (len > width[c]) width[c] = len;
        }
    for (int r = -1; r < t->n_rows; r++)
        for (int c = 0; c < t->n_cols; c++) {
            const char *s = r < 0 ? t->cols[c]
                                  : cell_display(t, (size_t)r * (size_t)t->n_cols + (size_t)c, "-", buf, sizeof buf);
            if (c == t->n_cols - 1) fprintf(out, "%s\n", s);
            else fprintf(out, "%-*s  ", (int)width[c], s);
        }
    free(width);
}

/* One CSV field: quoted (with "" for ") when it holds , " CR LF or starts
 * or ends with a space. */
static void write_csv_field(const char *s, FILE *out) {
    size_t len = strlen(s);
    if (!strpbrk(s, ",\"\r\n") && !(len && (s[0] == ' ' || s[len - 1] == ' '))) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* One TSV or Markdown field: backslash escapes for TSV's tab, CR, LF and
 * backslash; for Markdown, \| for | and a space for CR and LF. */
static void write_escaped_field(const char *s, int markdown, FILE *out) {
    for (; *s; s++) {
        if (markdown) {
            if (*s == '|') fputs("\\|", out);
            else fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
            continue;
        }
        switch (*s) {
        case '\t': fputs("\\t", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\\': fputs("\\\\", out); break;
        default: fputc(*s, out);
        }
    }
}

static void write_delimited(const DbTable *t, DbFormat format, FILE *out) {
    const char *sep = format == DB_FORMAT_CSV ? "," : format == DB_FORMAT_TSV ? "\t" : " | ";
    char buf[40];
    for (int r = -1; r < t->n_rows; r++) {
        if (format == DB_FORMAT_MD) fputs("| ", out);
        for (int c = 0; c < t->n_cols; c++) {
            size_t i = r < 0 ? 0 : (size_t)r * (size_t)t->n_cols + (size_t)c;
            const char *s = r < 0                      ? t->cols[c]
                            : format == DB_FORMAT_MD ? cell_display(t, i, "", buf, sizeof buf)
                            : t->cells[i]            ? t->cells[i]
                                                     : "";
            if (c) fputs(sep, out);
            if (format == DB_FORMAT_CSV) write_csv_field(s, out);
            else write_escaped_field(s, format == DB_FORMAT_MD, out);
        }
        fputs(format == DB_FORMAT_MD ? " |\n" : "\n", out);
        if (r < 0 && format == DB_FORMAT_MD) {
            fputc('|', out);
            for (int c = 0; c < t->n_cols; c++) fputs(" --- |", out);
            fputc('\n', out);
        }
    }
}

void db_html_escape(const char *s, FILE *out) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

static void write_html(const DbTable *t, FILE *out) {
    char buf[40];
    fputs("<table>\n<thead><tr>", out);
    for (int c = 0; c < t->n_cols; c++) fputs("<th>", out), db_html_escape(t->cols[c], out), fputs("</th>", out);
    fputs("</tr></thead>\n<tbody>\n", out);
    for (int r = 0; r < t->n_rows; r++) {
        fputs("<tr>", out);
        for (int c = 0; c < t->n_cols; c++) {
            fputs("<td>", out);
            db_html_escape(cell_display(t, (size_t)r * (size_t)t->n_cols + (size_t)c, "-", buf, sizeof buf), out);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n", out);
}

int db_table_write(const DbTable *t, DbFormat format, FILE *out) {
    if (format == DB_FORMAT_TEXT) write_text(t, out);
    else if (format == DB_FORMAT_HTML) write_html(t, out);
    else write_delimited(t, format, out);
    if (fflush(out) != 0 || ferror(out)) return err_set("output: write failed");
    return 0;
}

void db_table_free(DbTable *t) {
    size_t n = (size_t)t->n_rows * (size_t)t->n_cols;
    for (size_t i = 0; i < n; i++) free(t->cells[i]);
    for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
    free(t->cells);
    free(t->real);
    free(t->cols);
    *t = (DbTable){0};
}
