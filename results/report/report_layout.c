/* Table layouts, run keys and reading a table back (report_layout.h). */
#include "report_layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db_internal.h"
#include "report_items.h"

static int layout_cells(Db *db, const ExpTable *t, const char *profile, const ExpCell *cells, int n_cells) {
    int rc = db_run_sql(db, "DELETE FROM table_cells WHERE table_id = ? AND profile = ?", "tt", t->id, profile);
    for (int i = 0; rc == 0 && i < n_cells; i++) {
        const ExpRow *r = &t->rows[cells[i].row];
        rc = db_run_sql(db,
                        "INSERT INTO table_cells (table_id, profile, row, label, ref_method, split_suffix, task, "
                        "seed, run_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ttittttit", t->id, profile, (int64_t)cells[i].row, r->label, r->ref_method, r->suffix,
                        cells[i].task, cells[i].seed, cells[i].key);
    }
    return rc;
}

int db_layout_write(Db *db, const ExpTable *t, const char *profile, const ExpCell *cells, int n_cells) {
    if (db_exec(db, "BEGIN IMMEDIATE")) return -1;
    int rc = db_run_sql(db,
                        "INSERT INTO table_layout (table_id, title, reference_model, average_label, params, compare_row) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (table_id) DO UPDATE SET title = excluded.title, "
                        "reference_model = excluded.reference_model, average_label = excluded.average_label, "
                        "params = excluded.params, compare_row = excluded.compare_row",
                        "ttttnt", t->id, t->title, t->reference_model, t->average_label, (int64_t)t->params,
                        t->compare_row);
    if (rc == 0) rc = db_run_sql(db, "DELETE FROM table_columns WHERE table_id = ?", "t", t->id);
    for (int c = 0; rc == 0 && c < t->n_cols; c++) {
        const ExpColumn *k = &t->cols[c];
        rc = db_run_sql(db,
                        "INSERT INTO table_columns (table_id, col, label, task, split, metric, ref_dataset) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        "tittttt", t->id, (int64_t)c, k->label, k->task, k->split, k->metric, k->ref_dataset);
    }
    if (rc == 0) rc = layout_cells(db, t, profile, cells, n_cells);
    if (rc == 0) rc = db_exec(db, "COMMIT");
    if (rc) db_rollback(db);
    return rc;
}

int db_run_key_done(Db *db, const char *run_key, const char *init_hash, const char *data_hash) {
    sqlite3_stmt *st = db_query(db,
                                "SELECT 1 FROM run_keys AS k JOIN runs AS r ON r.config_hash = k.config_hash "
                                "WHERE k.run_key = ?1 AND r.status = 'ok' "
                                "AND json_extract(r.config_json, '$.init_hash') = ?2 "
                                "AND coalesce(json_extract(r.config_json, '$.data_hash'), ?3) = ?3 LIMIT 1",
                                "ttt", run_key, init_hash, data_hash);
    if (!st) return -1;
    int rc = db_step(db, st);
    sqlite3_finalize(st);
    return rc;
}

int db_run_key_tag(Db *db, const char *run_key, int64_t run_id, const char *args) {
    sqlite3_stmt *st = db_query(db, "SELECT config_hash FROM runs WHERE id = ?", "i", run_id);
    if (!st) return -1;
    int rc = db_step(db, st);
    char hash[DB_HASH_LEN] = "";
    if (rc == 1) snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == 0) return err_set("%s: no run %lld to tag with key %s", db->path, (long long)run_id, run_key);
    if (rc < 0) return -1;
    return db_run_sql(db,
                      "INSERT INTO run_keys (run_key, config_hash, args) VALUES (?, ?, ?) ON CONFLICT (run_key) "
                      "DO UPDATE SET config_hash = excluded.config_hash, args = excluded.args",
                      "ttt", run_key, hash, args);
}

/* ---- reading a table back ---- */

static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

static double col_real(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int load_layout(Db *db, const char *table_id, TableData *d) {
    sqlite3_stmt *st = db_query(db,
                                "SELECT title, reference_model, average_label, params, compare_row FROM table_layout "
                                "WHERE table_id = ?",
                                "t", table_id);
    if (!st) return -1;
    int rc = db_step(db, st);
    if (rc == 1) {
        d->title = col_dup(st, 0);
        d->reference_model = col_dup(st, 1);
        d->average_label = col_dup(st, 2);
        d->params = sqlite3_column_int(st, 3);
        d->compare_row = col_dup(st, 4);
    }
    sqlite3_finalize(st);
    if (rc == 0) return err_set("%s: no table '%s' (run_all.sh or moil table plan records it)", db->path, table_id);
    if (rc < 0) return -1;
    st = db_query(db, "SELECT label, task, split, metric FROM table_columns WHERE table_id = ? ORDER BY col", "t",
                  table_id);
    if (!st) return -1;
    while ((rc = db_step(db, st)) == 1) {
        char ***fields[] = {&d->col_labels, &d->col_tasks, &d->col_splits, &d->col_metrics};
        for (int k = 0; k < 4; k++) {
            *fields[k] = xrealloc(*fields[k], (size_t)(d->n_cols + 1) * sizeof **fields[k]);
            (*fields[k])[d->n_cols] = col_dup(st, k);
        }
        d->n_cols++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The rows of the profile, in order; row numbers in the database may skip
 * (rows limited to other profiles), so rows[] is indexed by position and
 * row_ids[] maps back. */
static int load_rows(Db *db, const char *table_id, TableData *d, int64_t **row_ids) {
    sqlite3_stmt *st = db_query(db,
                                "SELECT DISTINCT row, label, split_suffix FROM table_cells "
                                "WHERE table_id = ? AND profile = ? ORDER BY row",
                                "tt", table_id, d->profile);
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        d->rows = xrealloc(d->rows, (size_t)(d->n_rows + 1) * sizeof *d->rows);
        *row_ids = xrealloc(*row_ids, (size_t)(d->n_rows + 1) * sizeof **row_ids);
        TableRow *r = &d->rows[d->n_rows];
        (*row_ids)[d->n_rows++] = sqlite3_column_int64(st, 0);
        r->label = col_dup(st, 1);
        r->suffix = col_dup(st, 2);
        r->n = xcalloc((size_t)d->n_cols + 1, sizeof *r->n);
        r->mean = xcalloc((size_t)d->n_cols + 1, sizeof *r->mean);
        r->sd = xcalloc((size_t)d->n_cols + 1, sizeof *r->sd);
        r->runs = xcalloc((size_t)d->n_cols + 1, sizeof *r->runs);
        r->items = xcalloc((size_t)d->n_cols + 1, sizeof *r->items);
        r->lo = xcalloc((size_t)d->n_cols + 1, sizeof *r->lo);
        r->hi = xcalloc((size_t)d->n_cols + 1, sizeof *r->hi);
        r->test = xcalloc((size_t)d->n_cols + 1, sizeof *r->test);
        r->p_holm = xcalloc((size_t)d->n_cols + 1, sizeof *r->p_holm);
        for (int c = 0; c < d->n_cols; c++) r->lo[c] = r->hi[c] = r->p_holm[c] = NAN;
        for (int c = 0; c < d->n_cols; c++) r->runs[c] = xstrdup("");
        r->row_runs = xstrdup("");
        r->runs_params = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int row_index(const int64_t *row_ids, int n, int64_t row) {
    for (int i = 0; i < n; i++)
        if (row_ids[i] == row) return i;
    return -1;
}

/* Append " id" (no space first) to the space-separated list *list. */
static void list_add(char **list, int64_t id) {
    size_t len = strlen(*list);
    *list = xrealloc(*list, len + 24);
    snprintf(*list + len, 24, "%s%lld", len ? " " : "", (long long)id);
}

/* The runs behind each cell (the view table_values), ascending, and the
 * row's runs (each once, ascending). */
static int load_runs(Db *db, const char *table_id, TableData *d, const int64_t *row_ids) {
    static const char *const sql[2] = {
        "SELECT row, col, run_id FROM table_values WHERE table_id = ? AND profile = ? ORDER BY row, col, run_id",
        "SELECT DISTINCT row, -1, run_id FROM table_values WHERE table_id = ? AND profile = ? ORDER BY row, run_id"};
    int rc = 0;
    for (int k = 0; rc == 0 && k < 2; k++) {
        sqlite3_stmt *st = db_query(db, sql[k], "tt", table_id, d->profile);
        if (!st) return -1;
        while ((rc = db_step(db, st)) == 1) {
            int r = row_index(row_ids, d->n_rows, sqlite3_column_int64(st, 0));
            int c = sqlite3_column_int(st, 1);
            if (r < 0 || c >= d->n_cols) continue;
            list_add(c < 0 ? &d->rows[r].row_runs : &d->rows[r].runs[c], sqlite3_column_int64(st, 2));
        }
        sqlite3_finalize(st);
    }
    return rc;
}

static int load_numbers(Db *db, const char *table_id, TableData *d, const int64_t *row_ids) {
    sqlite3_stmt *st = db_query(db,
                                "SELECT row, col, n, mean, sd FROM table_summary WHERE table_id = ? AND profile = ?",
                                "tt", table_id, d->profile);
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        int r = row_index(row_ids, d->n_rows, sqlite3_column_int64(st, 0));
        int c = sqlite3_column_int(st, 1);
        if (r < 0 || c < 0 || c >= d->n_cols) continue;
        d->rows[r].n[c] = sqlite3_column_int(st, 2);
        d->rows[r].mean[c] = col_real(st, 3);
        d->rows[r].sd[c] = col_real(st, 4);
    }
    sqlite3_finalize(st);
    if (rc < 0) return -1;
    st = db_query(db,
                  "SELECT row, runs, trainable_pct, stored_pct FROM table_params WHERE table_id = ? AND profile = ?",
                  "tt", table_id, d->profile);
    if (!st) return -1;
    while ((rc = db_step(db, st)) == 1) {
        int r = row_index(row_ids, d->n_rows, sqlite3_column_int64(st, 0));
        if (r < 0) continue;
        d->rows[r].runs_params = sqlite3_column_int(st, 1);
        d->rows[r].trainable_pct = col_real(st, 2);
        d->rows[r].stored_pct = col_real(st, 3);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The paper's rows for the table's reference model: every published row of
 * a method some row of the table refers to, with the columns it reports. */
static int load_refs(Db *db, const char *table_id, TableData *d) {
    if (!d->reference_model) return 0;
    sqlite3_stmt *st = db_query(
        db,
        "SELECT p.source_label, p.source, p.scale, p.unit, k.col, p.value, p.params_pct FROM paper_reference AS p "
        "JOIN table_columns AS k ON k.ref_dataset = p.dataset AND k.metric = p.metric AND k.table_id = ? "
        "WHERE p.model = ? AND p.method IN (SELECT ref_method FROM table_cells WHERE table_id = ? AND profile = ?) "
        "ORDER BY p.source, (SELECT min(row) FROM table_cells WHERE table_id = ? AND profile = ? "
        "AND ref_method = p.method), p.source_label, k.col",
        "tttttt", table_id, d->reference_model, table_id, d->profile, table_id, d->profile);
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        const char *label = (const char *)sqlite3_column_text(st, 0), *source = (const char *)sqlite3_column_text(st, 1);
        TableRef *ref = d->n_refs ? &d->refs[d->n_refs - 1] : NULL;
        if (!ref || strcmp(ref->label, label) || strcmp(ref->source, source)) {
            d->refs = xrealloc(d->refs, (size_t)(d->n_refs + 1) * sizeof *d->refs);
            ref = &d->refs[d->n_refs++];
            ref->label = xstrdup(label);
            ref->source = xstrdup(source);
            ref->scale = col_dup(st, 2);
            ref->unit = col_dup(st, 3);
            ref->have = xcalloc((size_t)d->n_cols + 1, 1);
            ref->value = xcalloc((size_t)d->n_cols + 1, sizeof *ref->value);
            ref->params_pct = NAN;
        }
        int c = sqlite3_column_int(st, 4);
        if (c < 0 || c >= d->n_cols) continue;
        ref->have[c] = 1;
        ref->value[c] = sqlite3_column_double(st, 5);
        if (sqlite3_column_type(st, 6) != SQLITE_NULL) ref->params_pct = sqlite3_column_double(st, 6);
    }
    sqlite3_finalize(st);
    return rc;
}

int db_table_data_load(Db *db, const char *table_id, const char *profile, TableData *out) {
    memset(out, 0, sizeof *out);
    out->id = xstrdup(table_id);
    out->profile = xstrdup(profile);
    out->compare = -1;
    int64_t *row_ids = NULL;
    int rc = load_layout(db, table_id, out);
    if (rc == 0) rc = load_rows(db, table_id, out, &row_ids);
    if (rc == 0 && out->n_rows == 0)
        rc = err_set("%s: table '%s' has no rows in profile %s (run run_all.sh --profile %s --table %s)", db->path,
                     table_id, profile, profile, table_id);
    if (rc == 0) rc = load_numbers(db, table_id, out, row_ids);
    if (rc == 0) rc = load_runs(db, table_id, out, row_ids);
    if (rc == 0) rc = load_refs(db, table_id, out);
    if (rc == 0) rc = items_table_load(db, out);
    free(row_ids);
    if (rc) table_data_free(out);
    return rc;
}

int db_profile_tables_load(Db *db, const char *profile, TableData **tables, int *n) {
    char **ids;
    int n_ids;
    *tables = NULL, *n = 0;
    if (db_table_ids(db, profile, &ids, &n_ids)) return -1;
    *tables = xcalloc((size_t)n_ids + 1, sizeof **tables);
    int rc = 0;
    for (; rc == 0 && *n < n_ids; (*n)++)
        if ((rc = db_table_data_load(db, ids[*n], profile, &(*tables)[*n]))) break;
    experiment_ids_free(ids, n_ids);
    return rc;
}

void db_profile_tables_free(TableData *tables, int n) {
    for (int i = 0; i < n; i++) table_data_free(&tables[i]);
    free(tables);
}

int db_table_ids(Db *db, const char *profile, char ***ids, int *n) {
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = db_query(db,
                                "SELECT l.table_id FROM table_layout AS l WHERE EXISTS (SELECT 1 FROM table_cells AS c "
                                "WHERE c.table_id = l.table_id AND c.profile = ?) "
                                "ORDER BY l.reference_model IS NULL, l.table_id",
                                "t", profile);
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        *ids = xrealloc(*ids, (size_t)(*n + 1) * sizeof **ids);
        (*ids)[(*n)++] = col_dup(st, 0);
    }
    sqlite3_finalize(st);
    if (rc) experiment_ids_free(*ids, *n), *ids = NULL, *n = 0;
    return rc;
}
