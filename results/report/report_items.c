/* This file contains the intervals and tests of a table's cells from the
 * per-item scores of their runs (report_items.h). */
#include "report_items.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db_internal.h"
#include "report_stats.h"

int items_family(const char *metric, char *family, size_t n, int *k) {
    static const char *const own[] = {"vqa_score", "accuracy", "cider_d"};
    *k = 0;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (!strcmp(metric, own[i])) {
            snprintf(family, n, "%s", metric);
            return 1;
        }
    /* [prefix]ir_rK / [prefix]tr_rK, K 1, 5 or 10: the family [prefix]ir_rank / [prefix]tr_rank */
    for (const char *p = metric; (p = strstr(p, "_r")) != NULL; p++) {
        char *end;
        long K = strtol(p + 2, &end, 10);
        int is_ir_tr = p - metric >= 2 && (!strncmp(p - 2, "ir", 2) || !strncmp(p - 2, "tr", 2));
        if (!is_ir_tr || *end || end == p + 2 || (K != 1 && K != 5 && K != 10)) continue;
        *k = (int)K;
        snprintf(family, n, "%.*s_rank", (int)(p - metric), metric);
        return 1;
    }
    return 0;
}

double items_score(double value, int k) {
    return k ? (value > 0 && value <= k ? 100 : 0) : value;
}

/* Add run run_id's scores of family (split) to cell t; a cell whose runs
 * lack scores or scored different items is emptied and marked broken. */
static int add_run(Db *db, TableItems *t, int *broken, int64_t run_id, int64_t seed, const char *split,
                   const char *family, int k) {
    if (*broken) return 0;
    DbItems it;
    int rc = db_items_get(db, run_id, split, family, 0, &it);
    if (rc < 0) return -1;
    if (rc == 0 || (t->n_seeds && (strcmp(it.set_hash, t->set_hash) || it.n != t->n_items))) {
        db_items_free(&it);
        free(t->x), free(t->seeds);
        memset(t, 0, sizeof *t);
        *broken = 1;
        return 0;
    }
    if (!t->n_seeds) t->n_items = it.n, snprintf(t->set_hash, sizeof t->set_hash, "%s", it.set_hash);
    t->x = xrealloc(t->x, ((size_t)t->n_seeds + 1) * (size_t)(it.n ? it.n : 1) * sizeof *t->x);
    t->seeds = xrealloc(t->seeds, ((size_t)t->n_seeds + 1) * sizeof *t->seeds);
    double *row = t->x + (size_t)t->n_seeds * it.n;
    for (int i = 0; i < it.n; i++) row[i] = items_score(it.values[i], k);
    t->seeds[t->n_seeds++] = seed;
    db_items_free(&it);
    return 0;
}

static int row_index(const TableData *d, const char *label, const char *suffix) {
    for (int r = 0; r < d->n_rows; r++)
        if (!strcmp(d->rows[r].label, label) && !strcmp(d->rows[r].suffix, suffix)) return r;
    return -1;
}

/* Every cell's scores: the runs of table_values, by row and column. */
static int load_scores(Db *db, TableData *d) {
    sqlite3_stmt *st = db_query(db,
                                "SELECT v.row_label, v.split_suffix, v.col, v.seed, v.run_id, v.split, v.metric "
                                "FROM table_values AS v WHERE v.table_id = ? AND v.profile = ? "
                                "ORDER BY v.row, v.col, v.seed",
                                "tt", d->id, d->profile);
    if (!st) return -1;
    int *broken = xcalloc((size_t)d->n_rows * (d->n_cols + 1) + 1, sizeof *broken), rc;
    while ((rc = db_step(db, st)) == 1) {
        int r = row_index(d, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
        int c = sqlite3_column_int(st, 2), k;
        char family[64];
        if (r < 0 || c < 0 || c >= d->n_cols || !items_family((const char *)sqlite3_column_text(st, 6), family,
                                                               sizeof family, &k))
            continue;
        if (add_run(db, &d->rows[r].items[c], &broken[r * d->n_cols + c], sqlite3_column_int64(st, 4),
                    sqlite3_column_int64(st, 3), (const char *)sqlite3_column_text(st, 5), family, k))
            rc = -1;
        if (rc < 0) break;
    }
    sqlite3_finalize(st);
    free(broken);
    return rc < 0 ? -1 : 0;
}

static StatsCell stats_cell(const TableItems *t) { return (StatsCell){t->n_seeds, t->n_items, t->x, t->seeds}; }

void items_compare(const TableData *d, int r, int o, int c, TableTest *out) {
    *out = (TableTest){TABLE_TEST_NONE, NAN, NAN, NAN, NAN, 0};
    const TableRow *a = &d->rows[r], *b = &d->rows[o];
    if (!a->n[c] || !b->n[c]) return;
    const TableItems *ia = &a->items[c], *ib = &b->items[c];
    if (ia->n_seeds && ib->n_seeds && !strcmp(ia->set_hash, ib->set_hash)) {
        StatsCell ca = stats_cell(ia), cb = stats_cell(ib);
        out->seeds = stats_boot_paired(&ca, &cb, STATS_BOOT_B, STATS_BOOT_SEED, &out->diff, &out->lo, &out->hi, &out->p);
        if (out->seeds) {
            out->kind = TABLE_TEST_PAIRED;
            return;
        }
    }
    out->p = stats_welch_p(a->mean[c], a->sd[c], a->n[c], b->mean[c], b->sd[c], b->n[c]);
    out->diff = a->mean[c] - b->mean[c];
    out->kind = isnan(out->p) ? TABLE_TEST_NONE : TABLE_TEST_WELCH;
}

int items_table_load(Db *db, TableData *d) {
    if (load_scores(db, d)) return -1;
    for (int r = 0; r < d->n_rows; r++)
        for (int c = 0; c < d->n_cols; c++) {
            TableRow *row = &d->rows[r];
            TableItems *t = &row->items[c];
            if (!t->n_seeds || t->n_seeds != row->n[c]) continue; /* a run without scores: seed-only */
            StatsCell cell = stats_cell(t);
            double mean;
            stats_boot_interval(&cell, STATS_BOOT_B, STATS_BOOT_SEED, &mean, &row->lo[c], &row->hi[c]);
        }
    d->compare = d->compare_row ? row_index(d, d->compare_row, "") : -1;
    if (d->compare < 0) return 0;
    int n = d->n_rows * d->n_cols;
    double *p = xcalloc((size_t)n + 1, sizeof *p), *adj = xcalloc((size_t)n + 1, sizeof *adj);
    for (int r = 0; r < d->n_rows; r++)
        for (int c = 0; c < d->n_cols; c++) {
            TableTest *t = &d->rows[r].test[c];
            if (r == d->compare) *t = (TableTest){TABLE_TEST_NONE, NAN, NAN, NAN, NAN, 0};
            else items_compare(d, r, d->compare, c, t);
            p[r * d->n_cols + c] = t->kind == TABLE_TEST_NONE ? NAN : t->p;
            d->n_tests += t->kind != TABLE_TEST_NONE;
        }
    stats_holm(p, n, adj);
    for (int r = 0; r < d->n_rows; r++)
        for (int c = 0; c < d->n_cols; c++) d->rows[r].p_holm[c] = adj[r * d->n_cols + c];
    free(p);
    free(adj);
    return 0;
}
