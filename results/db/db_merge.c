/* Folding shard databases (one per job of a cluster run) into one results
 * database without duplicates; the rules are in db.h (db_merge). The shard
 * is attached to the target's connection as schema "shard", so every copy
 * is one INSERT ... SELECT inside the target's transaction. */
#include "db_internal.h"

#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Per config hash of the shard, the run that may come over (see db.h). */
typedef struct {
    int64_t id;
    char hash[DB_HASH_LEN];
    int ok;
} Candidate;

/* The columns of table other than skip, as a quoted comma-separated list
 * (caller frees). The shard has the same schema: db_open migrated it. */
static char *column_list(Db *db, const char *table, const char *skip) {
    sqlite3_stmt *st = db_query(db,
                                "SELECT group_concat('\"' || name || '\"', ', ') FROM "
                                "(SELECT name FROM pragma_table_info(?) WHERE name != ? ORDER BY cid)",
                                "tt", table, skip);
    if (!st) return NULL;
    char *list = NULL;
    int rc = db_step(db, st);
    if (rc == 1 && sqlite3_column_text(st, 0)) list = xstrdup((const char *)sqlite3_column_text(st, 0));
    else if (rc >= 0) err_set("%s: no table %s", db->path, table);
    sqlite3_finalize(st);
    return list;
}

/* The SQL copying the rows of table whose column key equals the last
 * parameter from the shard into main. rekey: key is run_id, and becomes the
 * first parameter (the run's new id); else key is left to main (runs.id). */
static char *copy_sql(Db *db, const char *table, const char *key, int rekey) {
    char *cols = column_list(db, table, key);
    if (!cols) return NULL;
    size_t n = 2 * strlen(cols) + 2 * strlen(table) + strlen(key) + 128;
    char *sql = xmalloc(n);
    snprintf(sql, n, "INSERT INTO main.%s (%s%s) SELECT %s%s FROM shard.%s WHERE %s = ?", table,
             rekey ? "run_id, " : "", cols, rekey ? "?, " : "", cols, table, key);
    free(cols);
    return sql;
}

typedef struct {
    char *runs, *metrics, *curves, *items; /* INSERT ... SELECT statements */
} CopySql;

static void copy_sql_free(CopySql *c) {
    free(c->runs);
    free(c->metrics);
    free(c->curves);
    free(c->items);
}

static int copy_sql_init(Db *db, CopySql *c) {
    *c = (CopySql){0};
    c->runs = copy_sql(db, "runs", "id", 0);
    if (c->runs) c->metrics = copy_sql(db, "metrics", "run_id", 1);
    if (c->metrics) c->curves = copy_sql(db, "curves", "run_id", 1);
    if (c->curves) c->items = copy_sql(db, "item_scores", "run_id", 1);
    if (c->items) return 0;
    copy_sql_free(c);
    return -1;
}

/* Copy shard run old_id with its metrics, curves and item scores into main
 * (the item sets they name come over with the shard's, merge_attached). */
static int copy_run(Db *db, const CopySql *sql, int64_t old_id, DbMergeStats *stats) {
    if (db_run_sql(db, sql->runs, "i", old_id)) return -1;
    int64_t new_id = sqlite3_last_insert_rowid(db->conn);
    if (db_run_sql(db, sql->metrics, "ii", new_id, old_id)) return -1;
    stats->metrics_copied += sqlite3_changes(db->conn);
    if (db_run_sql(db, sql->curves, "ii", new_id, old_id)) return -1;
    stats->curves_copied += sqlite3_changes(db->conn);
    if (db_run_sql(db, sql->items, "ii", new_id, old_id)) return -1;
    stats->items_copied += sqlite3_changes(db->conn);
    return 0;
}

/* The shard's candidates, in id order, and its number of runs. */
static int list_candidates(Db *db, Candidate **out, int *n, int64_t *n_runs) {
    *out = NULL;
    *n = 0;
    *n_runs = 0;
    sqlite3_stmt *st = db_query(db,
                                "SELECT s.id, s.config_hash, s.status = 'ok', (SELECT count(*) FROM shard.runs) "
                                "FROM shard.runs AS s WHERE s.id = (SELECT t.id FROM shard.runs AS t "
                                "WHERE t.config_hash = s.config_hash ORDER BY t.status = 'ok' DESC, t.id DESC "
                                "LIMIT 1) ORDER BY s.id",
                                "");
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        *out = xrealloc(*out, (size_t)(*n + 1) * sizeof **out);
        Candidate *c = &(*out)[(*n)++];
        c->id = sqlite3_column_int64(st, 0);
        snprintf(c->hash, sizeof c->hash, "%s", (const char *)sqlite3_column_text(st, 1));
        c->ok = sqlite3_column_int(st, 2);
        *n_runs = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return rc < 0 ? -1 : 0;
}

/* Apply the rules of db.h to one candidate (inside the transaction). */
static int merge_candidate(Db *db, const CopySql *sql, const Candidate *c, DbMergeStats *stats) {
    sqlite3_stmt *st = db_query(db, "SELECT count(*), coalesce(max(status = 'ok'), 0) FROM main.runs "
                                    "WHERE config_hash = ?", "t", c->hash);
    if (!st) return -1;
    int rc = db_step(db, st);
    int64_t have = sqlite3_column_int64(st, 0), have_ok = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (rc < 0) return -1;
    if (have_ok || (have && !c->ok)) return 0;
    /* deleting a run deletes its metrics and curves (ON DELETE CASCADE) */
    if (have && db_run_sql(db, "DELETE FROM main.runs WHERE config_hash = ?", "t", c->hash)) return -1;
    if (copy_run(db, sql, c->id, stats)) return -1;
    if (have) stats->runs_replaced++;
    else stats->runs_added++;
    return 0;
}

/* Inside the transaction: every candidate of the attached shard. */
static int merge_attached(Db *db, DbMergeStats *stats) {
    CopySql sql;
    if (copy_sql_init(db, &sql)) return -1;
    Candidate *cands = NULL;
    int n = 0;
    int64_t n_runs = 0;
    /* every item set first: a set is its ids' hash, so one already in main is the same */
    int rc = db_exec(db, "INSERT OR IGNORE INTO main.item_sets (hash, n, ids) SELECT hash, n, ids FROM shard.item_sets");
    if (rc == 0) rc = list_candidates(db, &cands, &n, &n_runs);
    for (int i = 0; rc == 0 && i < n; i++) rc = merge_candidate(db, &sql, &cands[i], stats);
    free(cands);
    copy_sql_free(&sql);
    stats->runs_skipped = (int)(n_runs - stats->runs_added - stats->runs_replaced);
    return rc;
}

/* Refuse to merge a file into itself (it would be attached twice). */
static int check_distinct(Db *db, const char *shard_path) {
    struct stat a, b;
    if (stat(shard_path, &a) != 0) return err_set("%s: cannot open: %s", shard_path, strerror(errno));
    if (stat(db->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return err_set("%s: is the database being merged into (%s)", shard_path, db->path);
    return 0;
}

int db_merge(Db *db, const char *shard_path, DbMergeStats *stats) {
    *stats = (DbMergeStats){0};
    Db *shard;
    if (db_open_existing(shard_path, &shard) || db_close(shard) || check_distinct(db, shard_path) || db_flush(db))
        return -1;
    if (db_run_sql(db, "ATTACH DATABASE ? AS shard", "t", shard_path)) return -1;
    int rc = db_exec(db, "BEGIN IMMEDIATE");
    if (rc == 0) rc = merge_attached(db, stats);
    /* the runner's keys come along, so merged runs fill their table cells */
    if (rc == 0)
        rc = db_exec(db, "INSERT OR IGNORE INTO main.run_keys (run_key, config_hash, args) "
                         "SELECT run_key, config_hash, args FROM shard.run_keys");
    if (rc == 0) rc = db_exec(db, "COMMIT");
    if (rc == 0) return db_exec(db, "DETACH DATABASE shard");
    db_rollback(db);
    sqlite3_exec(db->conn, "DETACH DATABASE shard", NULL, NULL, NULL); /* the first error is the one reported */
    return err_prefix("%s: merging", shard_path);
}
