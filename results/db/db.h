/* The results database (SQLite, default results/moil.db; schema and its
 * migrations in results/schema.sql).
 *
 * A run logs: db_run_begin (row with status 'running') first, then curves
 * during training (db_curve_add, buffered and committed in batches), then
 * db_metric_set for the final numbers, and db_run_end with the status last.
 * Whatever happens to the process, the database stays consistent (WAL,
 * committed transactions); a run whose process died stays 'running' until
 * db_runs_mark_stale turns it into 'killed'. Several processes may log into
 * one file at once, each through its own Db (never share a Db across fork).
 *
 * Every function returning int returns 0 on success and -1 after err_set()
 * with the database path, the problem and, for SQLite errors, the SQL. */
#ifndef MOIL_DB_H
#define MOIL_DB_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define DB_DEFAULT_PATH "results/moil.db"
#define DB_HASH_LEN 17     /* 16 hex digits + NUL */
#define DB_REV_LEN 41      /* 40 hex digits (or "unknown") + NUL */
#define DB_CURVE_BATCH 256 /* curve rows buffered before a commit */
#define DB_CURVE_FLUSH_S 10.0 /* ... or seconds since the last commit */

typedef struct Db Db;

typedef enum { DB_RUNNING, DB_OK, DB_FAILED, DB_DIVERGED, DB_KILLED } DbStatus;

typedef struct {
    const char *table_id; /* paper table the run belongs to; NULL if none */
    const char *task;     /* retrieval, vqa, nlvr, caption, pretrain */
    const char *model;    /* vilt, vlmo, vinvl */
    const char *method;   /* full, lora, moil, ... */
    int64_t seed;
    /* Everything that determines the result (not threads or output paths):
     * stored in canonical form, and its hash (without the key
     * DB_CONFIG_NUMERIC_ENV) decides whether a rerun skips. */
    const json_t *config;
    const char *code_rev; /* NULL: db_code_rev(), the revision the binary was built from */
    int code_dirty;       /* with code_rev: 1 dirty, 0 clean, -1 unknown */
    int threads;
    int64_t params_trainable, params_stored, params_backbone; /* -1: unknown */
    int force;            /* 1: start a new run even if the config is done */
} RunInfo;

/* Open (creating it and its folder if missing) the database at path and
 * bring its schema and reference numbers up to date. A file that is not a
 * moil database, or one from a newer schema, is refused with a clear error. */
int db_open(const char *path, Db **out);
/* db_open for the commands that change a database they did not make
 * (table tag, db check, db merge's shards): a missing path is an error ("no
 * such results database"), never created. */
int db_open_existing(const char *path, Db **out);
/* db_open_existing for the commands that only read (db runs, show, export,
 * table render and compare, report): the file is copied into memory (one
 * consistent read, also while another process writes it) and the copy is
 * migrated there, so the file stays byte for byte as it was (a committed
 * snapshot at an old schema too) and no -wal or -shm file is left beside it
 * that was not there. Writes through the Db change the copy only. Refuses
 * what db_open refuses, naming path; costs the database's size in memory. */
int db_open_copy(const char *path, Db **out);
/* Flush buffered curves and close; returns -1 if the flush failed (the
 * database is closed either way). db_close(NULL) does nothing. */
int db_close(Db *db);
/* The schema version this program creates (the last migration's number). */
int db_schema_version(void);

/* Start a run: returns 0 with *run_id of a new 'running' row, or 1 (nothing
 * inserted) with *run_id of an existing run of the same config hash that is
 * 'ok' or still running in a live process, unless info->force. Checked and
 * inserted in one transaction, so concurrent starts of one config make one
 * row. Records host, pid, start and heartbeat time. */
int db_run_begin(Db *db, const RunInfo *info, int64_t *run_id);
/* The latest run with this config hash and status: 1 and *run_id if there is
 * one, 0 if not, -1 on error. */
int db_run_find(Db *db, const char *config_hash, DbStatus status, int64_t *run_id);
/* The status of a run; -1 if there is no such run. */
int db_run_status(Db *db, int64_t run_id, DbStatus *status);
/* Record that the run's process is alive (also done by every curve commit). */
int db_run_heartbeat(Db *db, int64_t run_id);
/* Finish a run: flush its curves, then write status, error text (NULL if
 * none), end time, wall time and peak memory (-1: unknown) in one statement. */
int db_run_end(Db *db, int64_t run_id, DbStatus status, const char *error, double wall_s,
               int64_t peak_mem_bytes);
/* Mark 'running' rows as 'killed' when their process is gone: on this host,
 * a row begun in another boot (runs.boot_id) or whose pid no longer exists;
 * on any host (max_age_s > 0), a heartbeat older than max_age_s seconds.
 * *n_marked (may be NULL) gets the count. */
int db_runs_mark_stale(Db *db, double max_age_s, int *n_marked);

/* The 'running' rows db_runs_mark_stale would mark now, with the reason for
 * each, in id order; nothing is changed. Free with db_stale_runs_free. */
typedef struct {
    int n;
    int64_t *run_ids; /* [n] */
    char **reasons;   /* [n] */
} DbStaleRuns;
int db_runs_find_stale(Db *db, double max_age_s, DbStaleRuns *stale);
void db_stale_runs_free(DbStaleRuns *stale);

/* Buffer one curve point (step, e.g. "train/loss"); committed with the others
 * every DB_CURVE_BATCH rows or DB_CURVE_FLUSH_S seconds, and by db_flush,
 * db_metric_set, db_run_end, db_close. NaN and inf are recorded as such. The
 * last value per (run, name, step) wins. */
int db_curve_add(Db *db, int64_t run_id, int64_t step, const char *name, double value);
/* Commit the buffered curve points in one transaction. On failure the
 * points are dropped (the error says why) and the buffer is empty. */
int db_flush(Db *db);
/* Set a final metric (last value per (run, split, name) wins; NaN and inf
 * recorded as such), committed before returning. */
int db_metric_set(Db *db, int64_t run_id, const char *split, const char *name, double value);
/* Read a metric back: 1 and *value (NaN/inf restored) if set, 0 if not. */
int db_metric_get(Db *db, int64_t run_id, const char *split, const char *name, double *value);

/* Per-item scores (results/db/db_items.c): the score of every test item of
 * a run's final evaluation under (split, family), e.g. ('test',
 * 'vqa_score'), for intervals and paired tests over items
 * (docs/database.md, "Per-item scores"). The ids are stored once per
 * distinct list (table item_sets), the scores as one array in the
 * narrowest exact encoding (u8, u16, f32 or f64), both deflated. */
typedef struct {
    int n;
    char set_hash[DB_HASH_LEN]; /* names the list of ids: runs with equal hashes scored the same items */
    char *ids;                  /* the n ids, each followed by '\n'; NULL unless asked for */
    double *values;             /* [n] exactly as recorded */
} DbItems;
/* Record the scores of n items (ids: each followed by '\n'; values[n]);
 * the last record per (run, split, name) wins; committed before returning. */
int db_items_set(Db *db, int64_t run_id, const char *split, const char *name, int n, const char *ids,
                 const double *values);
/* Read them back: 1 and *out (ids too when want_ids; free with
 * db_items_free), 0 if the run has none under (split, name), -1 on error. */
int db_items_get(Db *db, int64_t run_id, const char *split, const char *name, int want_ids, DbItems *out);
void db_items_free(DbItems *it);

/* Reading (results/db/db_query.c): query results as tables of text cells, for
 * `moil db` and the table renderers. */
typedef struct {
    int n_cols, n_rows;
    char **cols;         /* [n_cols] column names */
    char **cells;        /* [n_rows][n_cols] text, NULL for SQL NULL; a real in the
                            shortest form that reads back exactly; nan, inf, -inf */
    unsigned char *real; /* [n_rows][n_cols] 1 where the cell is a real number */
} DbTable;

/* Text: aligned columns for people, "-" for NULL, reals to 6 significant
 * digits. Markdown: a pipe table, reals to 6 digits. CSV (RFC 4180 quoting)
 * and TSV (\t \n \r \\ escaped): exact, NULL empty. HTML: a <table> (header
 * in <thead>), cells as text shows them, escaped (db_html_escape). All with
 * a header. */
typedef enum { DB_FORMAT_TEXT, DB_FORMAT_CSV, DB_FORMAT_TSV, DB_FORMAT_MD, DB_FORMAT_HTML } DbFormat;

/* Which runs a query covers: each text field NULL for any, run_id 0 for any. */
typedef struct {
    const char *table_id, *status, *task, *model, *method;
    int64_t run_id;
} DbRunFilter;

/* Every column of the runs table for the selected runs, oldest first, plus
 * command (the config's: finetune, pretrain, eval, bench-infer), key_metric
 * ("split/name") and key_value: the run's headline number (by
 * task: retrieval ir_r1, vqa vqa_score, nlvr accuracy, caption cider; else
 * the first by name), split test before val before the others. */
int db_select_runs(Db *db, const DbRunFilter *filter, DbTable *out);
/* run_id, table_id, task, model, method, seed, status, split, name, value
 * of every metric of the selected runs. */
int db_select_metrics(Db *db, const DbRunFilter *filter, DbTable *out);
/* run_id, table_id, task, model, method, seed, status, name, step, value of
 * every curve point of the selected runs. */
int db_select_curves(Db *db, const DbRunFilter *filter, DbTable *out);
/* run_id, table_id, task, model, method, seed, status, split, name, item,
 * value: every per-item score of the selected runs, one row per item in the
 * order it was recorded (runs by id, then split and family by name). */
int db_select_items(Db *db, const DbRunFilter *filter, DbTable *out);
/* One row per curve name of a run: name, points, nonfinite (points that are
 * NaN or inf), first_step, first_value, last_step, last_value, min_value,
 * min_step, max_value, max_step (min and max over the finite points). */
int db_select_curve_summary(Db *db, int64_t run_id, DbTable *out);
/* Everything `moil db show` prints about one run: its row (every column of
 * db_select_runs), its config as indented JSON with sorted keys, its metrics
 * (split, name, value), its curve summary (db_select_curve_summary) and its
 * per-item scores (split, name, items, encoding, bytes, item_set: one row
 * per array). Fails when there is no such run. Free with
 * db_run_details_free. */
typedef struct {
    DbTable run, metrics, curves, items;
    char *config; /* indented JSON */
} DbRunDetails;
int db_select_run_details(Db *db, int64_t run_id, DbRunDetails *out);
void db_run_details_free(DbRunDetails *d);
/* status, runs: the number of runs per status. */
int db_select_status_counts(Db *db, DbTable *out);
/* problem: one row per message of PRAGMA integrity_check and
 * foreign_key_check; no rows for a sound file. */
int db_select_problems(Db *db, DbTable *out);

/* The cell of column col in row; NULL for SQL NULL or no such column. */
const char *db_table_get(const DbTable *t, int row, const char *col);
/* Keep only the named columns, in that order; -1 if one is missing. */
int db_table_keep(DbTable *t, const char *const *cols, int n_cols);
/* Write s as HTML text, safe in element content and in a double- or
 * single-quoted attribute value: & < > " ' as character references. */
void db_html_escape(const char *s, FILE *out);
/* Write the table (header first); -1 if writing failed. */
int db_table_write(const DbTable *t, DbFormat format, FILE *out);
void db_table_free(DbTable *t);

/* Merging shards (results/db/db_merge.c). A run is identified by its config
 * hash. Per config of the shard, its candidate is its latest 'ok' run, else
 * its latest run. An 'ok' run in db wins over anything; an 'ok' candidate
 * replaces db's other runs of its config; any other candidate is added only
 * if db has no run of its config. Copied runs keep every column but id, and
 * bring their metrics, curves and item scores (with their item sets),
 * re-keyed to the new id. One transaction
 * per shard; merging a shard twice changes nothing. The shard is brought to
 * the current schema first (db_open), and may not be db's own file. */
typedef struct {
    int runs_added, runs_replaced, runs_skipped;
    int64_t metrics_copied, curves_copied, items_copied; /* items: item_scores rows */
} DbMergeStats;
/* Fold the shard at shard_path into db; *stats gets what happened to its
 * runs (every run of the shard counts once: added, replaced or skipped). */
int db_merge(Db *db, const char *shard_path, DbMergeStats *stats);

/* "running", "ok", "failed", "diverged", "killed". */
const char *db_status_name(DbStatus status);
/* The key of a run config that records the machine and build it ran on
 * (cli/run_numeric_env.h): stored with the config, left out of its hash, so
 * a run made elsewhere counts as the same run. */
#define DB_CONFIG_NUMERIC_ENV "numeric_env"
/* Canonical text of a config (sorted keys, compact; caller frees) and its
 * hash: FNV-1a 64 of the canonical text without DB_CONFIG_NUMERIC_ENV, as 16
 * lowercase hex digits. NULL/-1 if it cannot be dumped. */
char *db_config_canonical(const json_t *config);
int db_config_hash(const json_t *config, char hash[DB_HASH_LEN]);
/* The git commit this binary was built from and whether its sources
 * (engine, tasks, cli, Makefile) differed from it (1/0); "unknown" and -1
 * for a build outside a git checkout. */
void db_code_rev(char rev[DB_REV_LEN], int *dirty);
/* Peak resident memory of this process so far, in bytes (-1 if unknown). */
int64_t db_peak_rss_bytes(void);

/* The text of results/schema.sql and results/paper_reference.sql
 * (results/db/db_schema.c), exposed for the test that keeps them identical. */
extern const char db_schema_sql[];
extern const char db_paper_reference_sql[];

#endif
