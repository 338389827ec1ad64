/* The parts of the results database shared by results/db/db*.c only (db.c:
 * opening, runs, curves, metrics; db_query.c: reading; db_merge.c: merging
 * shards). Everything else uses db.h. */
#ifndef MOIL_DB_INTERNAL_H
#define MOIL_DB_INTERNAL_H

#include "db.h"

#include <sqlite3.h>

typedef struct {
    int64_t run_id, step;
    char *name;
    double value;
} CurvePoint;

struct Db {
    sqlite3 *conn;
    char *path;
    char host[256];
    char boot_id[64]; /* this boot's id (/proc/sys/kernel/random/boot_id); "": unknown */
    CurvePoint buf[DB_CURVE_BATCH]; /* curve points not yet committed */
    int n_buf;
    double last_flush; /* monotonic seconds */
};

/* 0 for SQLITE_OK, ROW and DONE; otherwise err_set with the database path,
 * SQLite's message and the SQL (or the name of the call). */
int db_check(Db *db, int rc, const char *sql);
int db_exec(Db *db, const char *sql);
/* Undo the open transaction, if any, after a failure. */
void db_rollback(Db *db);
/* Bind parameters 1.. from the arguments listed by types: 'i' int64_t; 'n'
 * int64_t, NULL if negative; 't' text, NULL if the pointer is; 'd' double;
 * 'b' blob (const void *, size_t); 'v' double as two parameters, value and
 * nonfinite. */
int db_bind(Db *db, sqlite3_stmt *st, const char *types, ...);
/* Prepare sql and bind its parameters (as db_bind); NULL on error. */
sqlite3_stmt *db_query(Db *db, const char *sql, const char *types, ...);
/* One step: 1 for a row, 0 when done, -1 on error. */
int db_step(Db *db, sqlite3_stmt *st);
/* Run a statement to completion, ignoring any rows it returns. */
int db_run_sql(Db *db, const char *sql, const char *types, ...);
/* Step st to the end, collecting its rows into *out (zeroed first; reals
 * as the shortest text that reads back exactly), and finalize st. */
int db_table_fill(Db *db, sqlite3_stmt *st, DbTable *out);

#endif
