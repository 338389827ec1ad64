/* The results database: opening and migrating, runs, curves, metrics. See
 * db.h for the logging protocol and results/schema.sql for the tables. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "db_internal.h"

#include "check.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DB_APP_ID 0x4D4F494C   /* 'MOIL', PRAGMA application_id of schema.sql */
#define DB_BUSY_MS 60000       /* how long a writer waits for another's lock */
#define DB_MARKER "\n-- migration "
#define DB_REF_KEY "paper_reference_fnv1a"
#define SQL_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

static const char *const status_names[] = {"running", "ok", "failed", "diverged", "killed"};

const char *db_status_name(DbStatus status) { return status_names[status]; }

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

static void fnv1a64_hex(const char *s, char hash[DB_HASH_LEN]) {
    snprintf(hash, DB_HASH_LEN, "%016llx", (unsigned long long)fnv1a64(s));
}

/* The one check of every SQLite result code: 0 for OK, ROW and DONE;
 * otherwise err_set with the database path, SQLite's message and the SQL
 * (or the name of the call). */
int db_check(Db *db, int rc, const char *sql) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return 0;
    return err_set("%s: %s (in %.400s)", db->path, sqlite3_errmsg(db->conn), sql);
}

int db_exec(Db *db, const char *sql) {
    return db_check(db, sqlite3_exec(db->conn, sql, NULL, NULL, NULL), sql);
}

/* Undo the open transaction after a failure. The caller reports the first
 * error; if ROLLBACK itself fails, SQLite rolls back when the connection
 * closes, and the database stays consistent either way. */
void db_rollback(Db *db) {
    if (!sqlite3_get_autocommit(db->conn)) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

/* Bind parameters 1.. from the arguments listed by types:
 * 'i' int64_t; 'n' int64_t, NULL if negative; 't' text, NULL if the pointer
 * is; 'd' double; 'b' a blob as two arguments, const void * and size_t; 'v'
 * double as two parameters, value and nonfinite (value NULL and
 * 'nan'/'inf'/'-inf' when it is not finite). */
static int db_bindv(Db *db, sqlite3_stmt *st, const char *types, va_list ap) {
    int idx = 1, rc = SQLITE_OK;
    for (const char *t = types; *t && rc == SQLITE_OK; t++) {
        switch (*t) {
        case 'i':
            rc = sqlite3_bind_int64(st, idx++, va_arg(ap, int64_t));
            break;
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            rc = v < 0 ? sqlite3_bind_null(st, idx++) : sqlite3_bind_int64(st, idx++, v);
            break;
        }
        case 't': {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, idx++, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx++);
            break;
        }
        case 'd':
            rc = sqlite3_bind_double(st, idx++, va_arg(ap, double));
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            rc = sqlite3_bind_blob64(st, idx++, p, (sqlite3_uint64)va_arg(ap, size_t), SQLITE_TRANSIENT);
            break;
        }
        default: { /* 'v' */
            double v = va_arg(ap, double);
            const char *label = isnan(v) ? "nan" : isinf(v) ? (v > 0 ? "inf" : "-inf") : NULL;
            rc = label ? sqlite3_bind_null(st, idx++) : sqlite3_bind_double(st, idx++, v);
            if (rc == SQLITE_OK)
                rc = label ? sqlite3_bind_text(st, idx++, label, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx++);
            break;
        }
        }
    }
    return db_check(db, rc, sqlite3_sql(st));
}

int db_bind(Db *db, sqlite3_stmt *st, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    int rc = db_bindv(db, st, types, ap);
    va_end(ap);
    return rc;
}

/* Prepare sql and bind its parameters (see db_bindv); NULL on error. */
sqlite3_stmt *db_query(Db *db, const char *sql, const char *types, ...) {
    sqlite3_stmt *st = NULL;
    if (db_check(db, sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL), sql)) return NULL;
    va_list ap;
    va_start(ap, types);
    int rc = db_bindv(db, st, types, ap);
    va_end(ap);
    if (rc) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* One step: 1 for a row, 0 when done, -1 on error. */
int db_step(Db *db, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (db_check(db, rc, sqlite3_sql(st))) return -1;
    return rc == SQLITE_ROW;
}

/* Run a statement to completion, ignoring any rows it returns. */
int db_run_sql(Db *db, const char *sql, const char *types, ...) {
    sqlite3_stmt *st = NULL;
    if (db_check(db, sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL), sql)) return -1;
    va_list ap;
    va_start(ap, types);
    int rc = db_bindv(db, st, types, ap);
    va_end(ap);
    while (rc == 0 && (rc = db_step(db, st)) == 1) rc = 0;
    sqlite3_finalize(st);
    return rc;
}

/* The integer in the first column of the first row of sql (0 if no row). */
static int db_query_int(Db *db, const char *sql, int64_t *out) {
    sqlite3_stmt *st = db_query(db, sql, "");
    if (!st) return -1;
    int rc = db_step(db, st);
    *out = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc < 0 ? -1 : 0;
}

/* Migration n of db_schema_sql: its text from its "-- migration n:" line up
 * to the next marker or the end. 0 if found, -1 if there is no migration n. */
static int schema_migration(int n, const char **start, size_t *len) {
    for (const char *p = strstr(db_schema_sql, DB_MARKER); p; p = strstr(p + 1, DB_MARKER)) {
        char *end;
        long num = strtol(p + strlen(DB_MARKER), &end, 10);
        if (num != n || *end != ':') continue;
        const char *next = strstr(p + 1, DB_MARKER);
        *start = p + 1;
        *len = next ? (size_t)(next - *start) : strlen(*start);
        return 0;
    }
    return -1;
}

int db_schema_version(void) {
    const char *start;
    size_t len;
    int n = 0;
    while (schema_migration(n + 1, &start, &len) == 0) n++;
    return n;
}

/* Refuse files that are not moil databases, or are newer than this code.
 * One statement, so one snapshot: another process may be creating the
 * schema right now. The first read also makes SQLite notice a file that is
 * not a database at all. */
static int db_identify(Db *db) {
    sqlite3_stmt *st = db_query(db, "SELECT (SELECT application_id FROM pragma_application_id), "
                                    "(SELECT user_version FROM pragma_user_version), "
                                    "(SELECT count(*) FROM sqlite_schema), "
                                    "(SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'runs')",
                                "");
    if (!st) return -1;
    int rc = db_step(db, st);
    int64_t app = sqlite3_column_int64(st, 0), version = sqlite3_column_int64(st, 1);
    int64_t n_objects = sqlite3_column_int64(st, 2), has_runs = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    if (rc < 0) return -1;
    if (app == DB_APP_ID) {
        if (version > db_schema_version())
            return err_set("%s: schema version %lld is newer than this program's (%d): update moil", db->path,
                           (long long)version, db_schema_version());
        return 0;
    }
    if (app == 0 && version == 0 && n_objects == 0) return 0; /* new or empty file */
    return err_set("%s: not a moil results database (application_id %lld, user_version %lld, %lld schema "
                   "objects, %s runs table)", db->path, (long long)app, (long long)version,
                   (long long)n_objects, has_runs ? "a foreign" : "no");
}

/* Switch to WAL (persistent in the file, so this runs once per file). The
 * switch needs an exclusive lock and SQLite gives up at once, without the
 * busy handler, when another process holds one (several processes opening a
 * new file together): retry for up to DB_BUSY_MS. */
static int db_set_wal(Db *db) {
    sqlite3_stmt *st = db_query(db, "PRAGMA journal_mode = WAL", "");
    if (!st) return -1;
    int rc = sqlite3_step(st);
    for (int waited = 0; (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && waited < DB_BUSY_MS; waited += 10) {
        sqlite3_reset(st);
        sqlite3_sleep(10);
        rc = sqlite3_step(st);
    }
    int wal = rc == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
    rc = db_check(db, rc, sqlite3_sql(st));
    sqlite3_finalize(st);
    if (rc == 0 && !wal)
        return err_set("%s: cannot switch to WAL journal mode (needed for concurrent writers)", db->path);
    return rc;
}

static int db_configure(Db *db) {
    /* In WAL mode NORMAL keeps the file consistent through kill -9 and power
     * loss; only a power loss may drop the last commits. */
    return db_set_wal(db) || db_exec(db, "PRAGMA synchronous = NORMAL") || db_exec(db, "PRAGMA foreign_keys = ON")
               ? -1 : 0;
}

/* The hash of the reference numbers loaded into the database ("" if none). */
static int db_ref_hash(Db *db, int64_t version, char hash[DB_HASH_LEN]) {
    hash[0] = 0;
    if (version < 1) return 0;
    sqlite3_stmt *st = db_query(db, "SELECT value FROM meta WHERE key = ?", "t", DB_REF_KEY);
    if (!st) return -1;
    int rc = db_step(db, st);
    if (rc == 1) snprintf(hash, DB_HASH_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc < 0 ? -1 : 0;
}

static int db_apply_migration(Db *db, int n) {
    const char *start;
    size_t len;
    if (schema_migration(n, &start, &len)) return err_set("%s: schema migration %d missing", db->path, n);
    char *sql = xmalloc(len + 1);
    memcpy(sql, start, len);
    sql[len] = 0;
    char label[64];
    snprintf(label, sizeof label, "migration %d of results/schema.sql", n);
    int rc = db_check(db, sqlite3_exec(db->conn, sql, NULL, NULL, NULL), label);
    free(sql);
    int64_t version;
    if (rc || db_query_int(db, "PRAGMA user_version", &version)) return -1;
    if (version != n) return err_set("%s: %s leaves user_version %lld", db->path, label, (long long)version);
    return 0;
}

/* Apply the missing migrations and (re)load the reference numbers if they
 * changed, in one transaction; a cheap read first skips the write lock when
 * the database is up to date, and the checks are repeated under the lock
 * because another process may have migrated in between. */
static int db_migrate(Db *db) {
    int latest = db_schema_version();
    char want[DB_HASH_LEN], have[DB_HASH_LEN];
    fnv1a64_hex(db_paper_reference_sql, want);
    int64_t version;
    if (db_query_int(db, "PRAGMA user_version", &version) || db_ref_hash(db, version, have)) return -1;
    if (version == latest && !strcmp(have, want)) return 0;
    if (db_exec(db, "BEGIN IMMEDIATE")) return -1;
    int rc = db_query_int(db, "PRAGMA user_version", &version);
    for (int n = (int)version + 1; rc == 0 && n <= latest; n++) rc = db_apply_migration(db, n);
    if (rc == 0) rc = db_ref_hash(db, latest, have);
    if (rc == 0 && strcmp(have, want)) {
        rc = db_check(db, sqlite3_exec(db->conn, db_paper_reference_sql, NULL, NULL, NULL),
                      "results/paper_reference.sql");
        if (rc == 0)
            rc = db_run_sql(db, "INSERT INTO meta (key, value) VALUES (?, ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", "tt", DB_REF_KEY, want);
    }
    if (rc == 0) rc = db_exec(db, "COMMIT");
    if (rc) db_rollback(db);
    return rc;
}

static void db_free(Db *db) {
    for (int i = 0; i < db->n_buf; i++) free(db->buf[i].name);
    free(db->path);
    free(db);
}

/* Create the folder that will hold path, if it has one. */
static int make_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    char *dir = xstrdup(path);
    dir[slash - path] = 0;
    int rc = dir_make(dir);
    free(dir);
    return rc;
}

static Db *db_alloc(const char *path) {
    Db *db = xcalloc(1, sizeof *db);
    db->path = xstrdup(path);
    if (gethostname(db->host, sizeof db->host - 1) != 0) snprintf(db->host, sizeof db->host, "unknown");
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r"); /* Linux; without it "" */
    if (f) {
        if (!fgets(db->boot_id, sizeof db->boot_id, f)) db->boot_id[0] = 0;
        db->boot_id[strcspn(db->boot_id, "\n")] = 0;
        fclose(f);
    }
    db->last_flush = time_now_s();
    return db;
}

/* Open db->conn on file (":memory:" for a database in memory); -1 with the
 * error set if SQLite could not even allocate the connection. */
static int db_connect(Db *db, const char *file) {
    int rc = sqlite3_open_v2(file, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (!db->conn) return err_set("%s: cannot open: out of memory", db->path);
    if (db_check(db, rc, "sqlite3_open_v2")) return -1;
    return db_check(db, sqlite3_busy_timeout(db->conn, DB_BUSY_MS), "sqlite3_busy_timeout");
}

static int db_open_failed(Db *db) {
    sqlite3_close(db->conn);
    db_free(db);
    return -1;
}

int db_open(const char *path, Db **out) {
    *out = NULL;
    if (make_parent(path)) return err_prefix("%s", path);
    Db *db = db_alloc(path);
    if (db_connect(db, path) || db_identify(db) || db_configure(db) || db_migrate(db)) return db_open_failed(db);
    *out = db;
    return 0;
}

/* The checks of a path a reader opens: it exists and is no folder. */
static int db_check_existing(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) return err_set("%s: no such results database (run an experiment first)", path);
        return err_set("%s: cannot open: %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode)) return err_set("%s: is a folder, not a results database", path);
    return 0;
}

int db_open_existing(const char *path, Db **out) {
    *out = NULL;
    return db_check_existing(path) ? -1 : db_open(path, out);
}

/* How db_copy_in opens the file it copies. A connection to a database in
 * WAL mode creates its -wal and -shm files if they are missing, and only the
 * last connection to close removes them, which a read-only one cannot do: it
 * would leave both behind. So with no -wal (no other connection has the file
 * open) it is opened read-write, and its close removes them; it runs no
 * statement, only the backup's read, so it writes nothing to the file (a
 * writer that opens the file meanwhile and closes first cannot checkpoint
 * while this connection is open: this one's close then moves that writer's
 * commits into the file, as the writer's own close would have). With a
 * -wal (another process's, or one a killed writer left), read-only: it
 * reads the writer's commits from there and never checkpoints them. */
static int db_copy_flags(const char *path) {
    size_t n = strlen(path) + sizeof "-wal";
    char *wal = xmalloc(n);
    snprintf(wal, n, "%s-wal", path);
    int has_wal = access(wal, F_OK) == 0;
    free(wal);
    return has_wal ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
}

/* Copy the database file db->path into db->conn with SQLite's online
 * backup: one consistent read of the file, also while another process
 * writes it. Never creates the file (no SQLITE_OPEN_CREATE). */
static int db_copy_in(Db *db) {
    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(db->path, &src, db_copy_flags(db->path), NULL);
    if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(src, DB_BUSY_MS);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(db->conn, "main", src, "main") : NULL;
    if (b) {
        rc = sqlite3_backup_step(b, -1);
        int rc_finish = sqlite3_backup_finish(b);
        if (rc == SQLITE_DONE) rc = rc_finish;
    } else if (rc == SQLITE_OK) {
        rc = sqlite3_errcode(db->conn);
    }
    sqlite3_close(src);
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        return err_set("%s: %s (copying it into memory)", db->path, sqlite3_errstr(rc));
    return 0;
}

int db_open_copy(const char *path, Db **out) {
    *out = NULL;
    if (db_check_existing(path)) return -1;
    Db *db = db_alloc(path);
    if (db_connect(db, ":memory:") || db_copy_in(db) || db_identify(db) || db_exec(db, "PRAGMA foreign_keys = ON") ||
        db_migrate(db))
        return db_open_failed(db);
    *out = db;
    return 0;
}

int db_close(Db *db) {
    if (!db) return 0;
    int rc = db_flush(db);
    int rc_close = db_check(db, sqlite3_close(db->conn), "sqlite3_close");
    db_free(db);
    return rc || rc_close ? -1 : 0;
}

char *db_config_canonical(const json_t *config) {
    char *text = config ? json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    if (!text) err_set("config: cannot be written as JSON");
    return text;
}

int db_config_hash(const json_t *config, char hash[DB_HASH_LEN]) {
    json_t *hashed = json_is_object(config) ? json_copy((json_t *)config) : json_incref((json_t *)config);
    if (config && !hashed) return err_set("config: out of memory");
    json_object_del(hashed, DB_CONFIG_NUMERIC_ENV); /* no-op without it, or for a non-object */
    char *text = db_config_canonical(hashed);
    json_decref(hashed);
    if (!text) return -1;
    fnv1a64_hex(text, hash);
    free(text);
    return 0;
}

/* Stamped by the build (Makefile: build/code_rev.h from scripts/code_rev.sh);
 * a build without the stamp (the fuzz targets) records "unknown". */
#ifndef MOIL_CODE_REV
#define MOIL_CODE_REV "unknown"
#define MOIL_CODE_DIRTY (-1)
#endif

void db_code_rev(char rev[DB_REV_LEN], int *dirty) {
    snprintf(rev, DB_REV_LEN, "%s", MOIL_CODE_REV);
    *dirty = MOIL_CODE_DIRTY;
}

int64_t db_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

/* Is pid a live process of this host? A zombie (exited, not yet reaped by
 * its parent) no longer runs: /proc/<pid>/stat says 'Z'. */
static int process_alive(int64_t pid) {
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = 0;
    const char *close = strrchr(buf, ')'); /* the state follows "(comm) " */
    return !(close && close[1] == ' ' && close[2] == 'Z');
}

/* Is a 'running' row stale? On its own host (only knowable there): it was
 * begun in another boot (boot, NULL when unknown, against this one: after a
 * reboot, or on another machine of the same name, its pid may be another
 * process's), or its pid no longer exists; on any host (max_age_s > 0): its
 * last heartbeat is older than max_age_s seconds. If so, returns 1 with the
 * reason in why. */
static int run_stale(const Db *db, const char *host, const char *boot, int64_t pid, double age_s, double max_age_s,
                     char *why, size_t n) {
    int here = !strcmp(host, db->host);
    if (here && boot && *boot && db->boot_id[0] && strcmp(boot, db->boot_id)) {
        snprintf(why, n, "stale: process %lld on %s was begun in another boot (%.8s; this one %.8s)", (long long)pid,
                 host, boot, db->boot_id);
        return 1;
    }
    if (here && !process_alive(pid)) {
        snprintf(why, n, "stale: process %lld on %s is gone", (long long)pid, host);
        return 1;
    }
    if (max_age_s > 0 && age_s > max_age_s) {
        snprintf(why, n, "stale: no heartbeat for %.0f s from process %lld on %s", age_s, (long long)pid, host);
        return 1;
    }
    return 0;
}

void db_stale_runs_free(DbStaleRuns *stale) {
    for (int i = 0; i < stale->n; i++) free(stale->reasons[i]);
    free(stale->reasons);
    free(stale->run_ids);
    *stale = (DbStaleRuns){0};
}

static void stale_runs_add(DbStaleRuns *stale, int64_t run_id, const char *why) {
    stale->run_ids = xrealloc(stale->run_ids, (size_t)(stale->n + 1) * sizeof *stale->run_ids);
    stale->reasons = xrealloc(stale->reasons, (size_t)(stale->n + 1) * sizeof *stale->reasons);
    stale->run_ids[stale->n] = run_id;
    stale->reasons[stale->n++] = xstrdup(why);
}

/* Mark the listed runs 'killed' if rc is 0 (still inside the transaction);
 * frees the list either way and returns the status. Runs found stale while
 * reading are marked after the SELECT ends: SQLite leaves undefined what a
 * running SELECT sees of rows changed under it. */
static int db_mark_killed(Db *db, DbStaleRuns *stale, int rc) {
    for (int i = 0; i < stale->n && rc == 0; i++)
        rc = db_run_sql(db, "UPDATE runs SET status = 'killed', ended_at = heartbeat_at, "
                            "error = ? || ' (last heartbeat ' || heartbeat_at || ')' "
                            "WHERE id = ? AND status = 'running'", "ti", stale->reasons[i], stale->run_ids[i]);
    db_stale_runs_free(stale);
    return rc;
}

/* Inside a transaction: the id of an 'ok' run, or of a 'running' one whose
 * process may be alive, with this config hash (0 if none). Running rows
 * whose process is gone are marked 'killed' on the way. */
static int db_find_live(Db *db, const char *hash, int64_t *found) {
    *found = 0;
    sqlite3_stmt *st = db_query(db, "SELECT id, status, host, pid, boot_id FROM runs WHERE config_hash = ? AND "
                                    "status IN ('ok', 'running') ORDER BY status = 'ok' DESC, id DESC", "t", hash);
    if (!st) return -1;
    DbStaleRuns stale = {0};
    int rc = 0;
    while (!*found && (rc = db_step(db, st)) == 1) {
        int64_t id = sqlite3_column_int64(st, 0);
        char why[512];
        if (!strcmp((const char *)sqlite3_column_text(st, 1), "ok") ||
            !run_stale(db, (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 4),
                       sqlite3_column_int64(st, 3), 0, 0, why, sizeof why))
            *found = id;
        else
            stale_runs_add(&stale, id, why);
    }
    sqlite3_finalize(st);
    return db_mark_killed(db, &stale, rc < 0 ? -1 : 0);
}

int db_run_begin(Db *db, const RunInfo *info, int64_t *run_id) {
    *run_id = 0;
    char *config = db_config_canonical(info->config);
    if (!config) return err_prefix("%s", db->path);
    char hash[DB_HASH_LEN], rev[DB_REV_LEN];
    if (db_config_hash(info->config, hash) != 0) {
        free(config);
        return err_prefix("%s", db->path);
    }
    int dirty = info->code_dirty;
    if (info->code_rev) snprintf(rev, sizeof rev, "%s", info->code_rev);
    else db_code_rev(rev, &dirty);
    int64_t found = 0, inserted = 0;
    int rc = db_exec(db, "BEGIN IMMEDIATE");
    if (rc == 0 && !info->force) rc = db_find_live(db, hash, &found);
    if (rc == 0 && !found) {
        rc = db_run_sql(db, "INSERT INTO runs (table_id, task, model, method, seed, config_json, config_hash, "
                            "code_rev, code_dirty, host, boot_id, pid, threads, params_trainable, params_stored, "
                            "params_backbone, started_at, heartbeat_at) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " SQL_NOW ", " SQL_NOW ")",
                        "ttttitttnttiinnn", info->table_id, info->task, info->model, info->method, info->seed,
                        config, hash, rev, (int64_t)dirty, db->host, db->boot_id[0] ? db->boot_id : NULL,
                        (int64_t)getpid(), (int64_t)info->threads, info->params_trainable, info->params_stored,
                        info->params_backbone);
        inserted = sqlite3_last_insert_rowid(db->conn);
    }
    if (rc == 0) rc = db_exec(db, "COMMIT");
    free(config);
    if (rc) {
        db_rollback(db);
        return -1;
    }
    *run_id = found ? found : inserted;
    return found ? 1 : 0;
}

int db_run_find(Db *db, const char *config_hash, DbStatus status, int64_t *run_id) {
    sqlite3_stmt *st = db_query(db, "SELECT id FROM runs WHERE config_hash = ? AND status = ? ORDER BY id DESC",
                                "tt", config_hash, db_status_name(status));
    if (!st) return -1;
    int rc = db_step(db, st);
    *run_id = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc;
}

int db_run_status(Db *db, int64_t run_id, DbStatus *status) {
    sqlite3_stmt *st = db_query(db, "SELECT status FROM runs WHERE id = ?", "i", run_id);
    if (!st) return -1;
    int rc = db_step(db, st);
    if (rc == 1) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (int i = 0; i <= DB_KILLED; i++)
            if (!strcmp(name, status_names[i])) *status = (DbStatus)i;
    }
    sqlite3_finalize(st);
    if (rc == 0) return err_set("%s: no run %lld", db->path, (long long)run_id);
    return rc < 0 ? -1 : 0;
}

/* Run an UPDATE of one run; an error if the run does not exist. */
static int db_update_run(Db *db, int64_t run_id, int rc) {
    if (rc == 0 && sqlite3_changes(db->conn) != 1) return err_set("%s: no run %lld", db->path, (long long)run_id);
    return rc;
}

int db_run_heartbeat(Db *db, int64_t run_id) {
    return db_update_run(db, run_id,
                         db_run_sql(db, "UPDATE runs SET heartbeat_at = " SQL_NOW " WHERE id = ?", "i", run_id));
}

int db_run_end(Db *db, int64_t run_id, DbStatus status, const char *error, double wall_s, int64_t peak_mem_bytes) {
    if (status == DB_RUNNING)
        return err_set("%s: run %lld cannot end with status running", db->path, (long long)run_id);
    if (db_flush(db)) return -1;
    return db_update_run(db, run_id,
                         db_run_sql(db, "UPDATE runs SET status = ?, error = ?, ended_at = " SQL_NOW ", "
                                        "heartbeat_at = " SQL_NOW ", wall_s = ?, peak_mem_bytes = ? WHERE id = ?",
                                    "ttdni", db_status_name(status), error, wall_s, peak_mem_bytes, run_id));
}

/* The stale 'running' rows (see run_stale) into *stale. */
static int db_collect_stale(Db *db, double max_age_s, DbStaleRuns *stale) {
    sqlite3_stmt *st = db_query(db, "SELECT id, host, pid, (julianday('now') - julianday(heartbeat_at)) * 86400.0, "
                                    "boot_id FROM runs WHERE status = 'running' ORDER BY id", "");
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        char why[512];
        if (run_stale(db, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 4),
                      sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3), max_age_s, why, sizeof why))
            stale_runs_add(stale, sqlite3_column_int64(st, 0), why);
    }
    sqlite3_finalize(st);
    return rc < 0 ? -1 : 0;
}

int db_runs_find_stale(Db *db, double max_age_s, DbStaleRuns *stale) {
    *stale = (DbStaleRuns){0};
    if (db_collect_stale(db, max_age_s, stale) == 0) return 0;
    db_stale_runs_free(stale);
    return -1;
}

int db_runs_mark_stale(Db *db, double max_age_s, int *n_marked) {
    if (n_marked) *n_marked = 0;
    if (db_exec(db, "BEGIN IMMEDIATE")) return -1;
    DbStaleRuns stale = {0};
    int rc = db_collect_stale(db, max_age_s, &stale);
    int n = stale.n;
    rc = db_mark_killed(db, &stale, rc);
    if (rc == 0) rc = db_exec(db, "COMMIT");
    if (rc) {
        db_rollback(db);
        return -1;
    }
    if (n_marked) *n_marked = n;
    return 0;
}

int db_curve_add(Db *db, int64_t run_id, int64_t step, const char *name, double value) {
    db->buf[db->n_buf++] = (CurvePoint){run_id, step, xstrdup(name), value};
    if (db->n_buf == DB_CURVE_BATCH || time_now_s() - db->last_flush >= DB_CURVE_FLUSH_S) return db_flush(db);
    return 0;
}

/* Inside the flush transaction: upsert every buffered point and refresh the
 * heartbeat of each run they belong to. */
static int db_write_curves(Db *db) {
    sqlite3_stmt *st = db_query(db, "INSERT INTO curves (run_id, name, step, value, nonfinite) "
                                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, name, step) "
                                    "DO UPDATE SET value = excluded.value, nonfinite = excluded.nonfinite", "");
    if (!st) return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < db->n_buf; i++) {
        const CurvePoint *p = &db->buf[i];
        sqlite3_reset(st);
        rc = db_bind(db, st, "itiv", p->run_id, p->name, p->step, p->value);
        if (rc == 0) rc = db_step(db, st);
        if (rc == 0 && (i == 0 || p->run_id != db->buf[i - 1].run_id)) rc = db_run_heartbeat(db, p->run_id);
    }
    sqlite3_finalize(st);
    return rc;
}

int db_flush(Db *db) {
    if (db->n_buf == 0) return 0;
    int rc = db_exec(db, "BEGIN IMMEDIATE");
    if (rc == 0) rc = db_write_curves(db);
    if (rc == 0) rc = db_exec(db, "COMMIT");
    if (rc) db_rollback(db);
    /* Dropped on failure too: after the busy timeout, retrying rarely helps,
     * and a bad point (an unknown run) would make every later flush fail. */
    for (int i = 0; i < db->n_buf; i++) free(db->buf[i].name);
    db->n_buf = 0;
    db->last_flush = time_now_s();
    return rc;
}

int db_metric_set(Db *db, int64_t run_id, const char *split, const char *name, double value) {
    if (db_flush(db)) return -1;
    return db_run_sql(db, "INSERT INTO metrics (run_id, split, name, value, nonfinite) VALUES (?, ?, ?, ?, ?) "
                          "ON CONFLICT (run_id, split, name) DO UPDATE SET value = excluded.value, "
                          "nonfinite = excluded.nonfinite", "ittv", run_id, split, name, value);
}

int db_metric_get(Db *db, int64_t run_id, const char *split, const char *name, double *value) {
    sqlite3_stmt *st = db_query(db, "SELECT value, nonfinite FROM metrics "
                                    "WHERE run_id = ? AND split = ? AND name = ?", "itt", run_id, split, name);
    if (!st) return -1;
    int rc = db_step(db, st);
    if (rc == 1) {
        const char *nonfinite = (const char *)sqlite3_column_text(st, 1);
        *value = !nonfinite ? sqlite3_column_double(st, 0)
                 : !strcmp(nonfinite, "nan") ? NAN
                 : nonfinite[0] == '-' ? -INFINITY : INFINITY;
    }
    sqlite3_finalize(st);
    return rc;
}
