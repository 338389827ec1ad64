/* The results database: schema and migration, run lifecycle, NaN handling,
 * concurrent writer processes, kill -9, stale runs, foreign files, the
 * paper's reference numbers. Every case works in its own file of a mkdtemp
 * folder; the checks read the database through a separate raw connection. */
#include "check.h"
#include "db.h"
#include "proc.h"
#include "test.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/moil_test_db_XXXXXX";
#include "tmp_path.h"

static void raw_text(const char *path, const char *sql, char *out, size_t n) {
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(out, n, "(no row)");
    if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(c);
}

static int raw_exec(const char *path, const char *sql) {
    sqlite3 *c = NULL;
    int rc = sqlite3_open(path, &c);
    if (rc == SQLITE_OK) rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) printf("  raw_exec(%s): %s\n", sql, sqlite3_errmsg(c));
    sqlite3_close(c);
    return rc;
}

/* A RunInfo for config {"case": name, "seed": seed}; the json is the caller's. */
static RunInfo run_info(json_t *config, int64_t seed) {
    return (RunInfo){.table_id = "3", .task = "vqa", .model = "vilt", .method = "lora", .seed = seed,
                     .config = config, .code_rev = "0123456789abcdef0123456789abcdef01234567", .code_dirty = 1,
                     .threads = 1, .params_trainable = 1000, .params_stored = 900, .params_backbone = 16000};
}

/* First line where a and b differ (0 if equal). */
static int first_diff_line(const char *a, const char *b) {
    int line = 1;
    for (; *a && *a == *b; a++, b++)
        if (*a == '\n') line++;
    return *a == *b ? 0 : line;
}

static void test_schema_matches_files(void) {
    const char *files[2] = {"results/schema.sql", "results/paper_reference.sql"};
    const char *copies[2] = {db_schema_sql, db_paper_reference_sql};
    for (int i = 0; i < 2; i++) {
        char *text = file_read_all(files[i], 1 << 20, NULL);
        CHECK(text != NULL, "%s", err_msg());
        if (!text) continue;
        int line = first_diff_line(text, copies[i]);
        CHECK(line == 0, "%s differs from its copy in results/db/db_schema.c at line %d: regenerate it", files[i], line);
        free(text);
    }
    CHECK(db_schema_version() >= 1, "version %d", db_schema_version());
}

static void test_create(void) {
    const char *path = tmp_path("sub/dir/create.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    CHECK(db_close(db) == 0, "%s", err_msg());
    CHECK(sql_int(path, "PRAGMA user_version") == db_schema_version(), "user_version");
    CHECK(sql_int(path, "PRAGMA application_id") == 0x4D4F494C, "application_id");
    char mode[32];
    raw_text(path, "PRAGMA journal_mode", mode, sizeof mode);
    CHECK(!strcmp(mode, "wal"), "journal_mode %s", mode);
    CHECK(sql_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                        "('runs', 'metrics', 'curves', 'paper_reference', 'meta', 'ok_metrics')") == 6,
          "tables");
    CHECK(sql_int(path, "SELECT count(*) FROM runs") == 0, "no runs");
}

static void test_reopen_is_noop(void) {
    const char *path = tmp_path("reopen.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    int64_t schema_version = sql_int(path, "PRAGMA schema_version");
    int64_t n_ref = sql_int(path, "SELECT count(*) FROM paper_reference");
    CHECK(raw_exec(path, "INSERT INTO paper_reference VALUES ('m', 'x', 'd', 's', 'marker', 1, 'percent', NULL, "
                         "'real', 'l', 'test')") == SQLITE_OK, "insert marker");
    CHECK(db_open(path, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    CHECK(sql_int(path, "PRAGMA schema_version") == schema_version, "schema changed on reopen");
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference") == n_ref + 1, "reference reloaded on reopen");
    /* Changed reference numbers (a different stored hash) are reloaded. */
    CHECK(raw_exec(path, "UPDATE meta SET value = 'old' WHERE key = 'paper_reference_fnv1a'") == SQLITE_OK, "meta");
    CHECK(db_open(path, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference") == n_ref, "reference not reloaded");
    char hash[64];
    raw_text(path, "SELECT value FROM meta WHERE key = 'paper_reference_fnv1a'", hash, sizeof hash);
    CHECK(strlen(hash) == 16, "stored hash '%s'", hash);
}

static void test_run_lifecycle(void) {
    const char *path = tmp_path("life.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    if (!db) return;
    json_t *config = json_pack("{s:s, s:i, s:f}", "task", "vqa", "seed", 1, "lr", 1e-3);
    RunInfo info = run_info(config, 1);
    int64_t run = 0, again = 0;
    CHECK(db_run_begin(db, &info, &run) == 0 && run > 0, "%s", err_msg());
    DbStatus status = DB_OK;
    CHECK(db_run_status(db, run, &status) == 0 && status == DB_RUNNING, "status %d", status);
    /* A second start of the same config while it runs (our live pid) skips. */
    CHECK(db_run_begin(db, &info, &again) == 1 && again == run, "again %lld", (long long)again);
    for (int step = 0; step < 10; step++)
        CHECK(db_curve_add(db, run, step, "train/loss", 10.0 - step) == 0, "%s", err_msg());
    CHECK(db_curve_add(db, run, 9, "train/loss", 0.5) == 0, "%s", err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM curves") == 0, "curves committed before a batch or flush");
    CHECK(db_metric_set(db, run, "val", "vqa_score", 40.0) == 0, "%s", err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM curves") == 10, "metric_set flushes the curves");
    CHECK(db_metric_set(db, run, "val", "vqa_score", 51.25) == 0, "%s", err_msg());
    double v = 0;
    CHECK(db_metric_get(db, run, "val", "vqa_score", &v) == 1 && v == 51.25, "last metric wins: %g", v);
    CHECK(db_metric_get(db, run, "test", "vqa_score", &v) == 0, "missing metric");
    CHECK(sql_int(path, "SELECT count(*) FROM metrics") == 1, "one metric row");
    char text[512];
    raw_text(path, "SELECT value FROM curves WHERE step = 9", text, sizeof text);
    CHECK(!strcmp(text, "0.5"), "last curve value wins: %s", text);
    for (int step = 0; step < DB_CURVE_BATCH; step++)
        CHECK(db_curve_add(db, run, step, "lr", 1e-3) == 0, "%s", err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM curves WHERE name = 'lr'") == DB_CURVE_BATCH, "a full batch commits");
    CHECK(db_curve_add(db, run + 100, 0, "train/loss", 1) == 0 && db_flush(db) == -1 &&
          strstr(err_msg(), "FOREIGN KEY constraint failed") && strstr(err_msg(), path), "%s", err_msg());
    CHECK(db_flush(db) == 0, "a failed flush drops its points: %s", err_msg());
    CHECK(db_run_heartbeat(db, run) == 0 && db_run_heartbeat(db, run + 100) == -1, "heartbeat");
    CHECK(db_run_end(db, run, DB_OK, NULL, 12.5, db_peak_rss_bytes()) == 0, "%s", err_msg());
    CHECK(db_run_status(db, run, &status) == 0 && status == DB_OK, "status %d", status);
    CHECK(db_run_end(db, run + 100, DB_OK, NULL, 1, -1) == -1 && strstr(err_msg(), "no run"), "%s", err_msg());
    CHECK(db_run_end(db, run, DB_RUNNING, NULL, 1, -1) == -1, "end as running");

    char hash[DB_HASH_LEN];
    CHECK(db_config_hash(config, hash) == 0, "%s", err_msg());
    int64_t found = 0;
    CHECK(db_run_find(db, hash, DB_OK, &found) == 1 && found == run, "find ok %lld", (long long)found);
    CHECK(db_run_find(db, hash, DB_FAILED, &found) == 0, "find failed");
    CHECK(db_run_begin(db, &info, &again) == 1 && again == run, "rerun of an ok config skips");
    info.force = 1;
    CHECK(db_run_begin(db, &info, &again) == 0 && again > run, "forced rerun %lld", (long long)again);
    CHECK(db_run_end(db, again, DB_FAILED, "test failure", 0.1, -1) == 0, "%s", err_msg());
    CHECK(db_close(db) == 0, "%s", err_msg());

    char sql[256];
    snprintf(sql, sizeof sql, "SELECT config_hash || ' ' || config_json || ' ' || host || ' ' || pid || ' ' || "
                              "code_dirty || ' ' || params_stored || ' ' || wall_s FROM runs WHERE id = %lld",
             (long long)run);
    raw_text(path, sql, text, sizeof text);
    char host[256] = "", want[512];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want, "%s {\"lr\":0.001,\"seed\":1,\"task\":\"vqa\"} %s %ld 1 900 12.5", hash, host,
             (long)getpid());
    CHECK(!strcmp(text, want), "run row '%s', expected '%s'", text, want);
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE status = 'ok' AND ended_at IS NOT NULL AND "
                        "peak_mem_bytes > 0 AND ended_at >= started_at") == 1, "end fields");
    CHECK(sql_int(path, "SELECT count(*) FROM ok_metrics WHERE name = 'vqa_score' AND value = 51.25") == 1, "view");
    json_decref(config);
}

static void test_nan_diverged(void) {
    const char *path = tmp_path("nan.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    if (!db) return;
    json_t *config = json_pack("{s:s}", "case", "nan");
    RunInfo info = run_info(config, 2);
    int64_t run = 0;
    CHECK(db_run_begin(db, &info, &run) == 0, "%s", err_msg());
    CHECK(db_curve_add(db, run, 1, "train/loss", 2.0) == 0, "%s", err_msg());
    CHECK(db_curve_add(db, run, 2, "train/loss", INFINITY) == 0, "%s", err_msg());
    CHECK(db_curve_add(db, run, 3, "train/loss", NAN) == 0, "%s", err_msg());
    CHECK(db_metric_set(db, run, "train", "final_loss", NAN) == 0, "%s", err_msg());
    CHECK(db_metric_set(db, run, "train", "grad_norm", -INFINITY) == 0, "%s", err_msg());
    CHECK(db_run_end(db, run, DB_DIVERGED, "loss is nan at step 3", 1.0, -1) == 0, "%s", err_msg());
    double v = 0;
    CHECK(db_metric_get(db, run, "train", "final_loss", &v) == 1 && isnan(v), "nan read back as %g", v);
    CHECK(db_metric_get(db, run, "train", "grad_norm", &v) == 1 && isinf(v) && v < 0, "-inf read back as %g", v);
    CHECK(db_close(db) == 0, "%s", err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM curves WHERE step = 3 AND value IS NULL AND nonfinite = 'nan'") == 1,
          "nan curve flagged");
    CHECK(sql_int(path, "SELECT count(*) FROM curves WHERE step = 2 AND value IS NULL AND nonfinite = 'inf'") == 1,
          "inf curve flagged");
    CHECK(sql_int(path, "SELECT count(*) FROM curves WHERE step = 1 AND value = 2 AND nonfinite IS NULL") == 1,
          "finite curve");
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE status = 'diverged' AND "
                        "error = 'loss is nan at step 3'") == 1, "diverged run");
    json_decref(config);
}

#define N_WRITERS 4
#define N_POINTS 500

/* One writer process: its own connection, a run, N_POINTS curve points
 * committed every 25, three metrics, the end. Exit status 0 if all worked. */
static int writer(const char *path, int k) {
    Db *db = NULL;
    json_t *config = json_pack("{s:s, s:i}", "case", "parallel", "writer", k);
    RunInfo info = run_info(config, k);
    int64_t run = 0;
    int rc = db_open(path, &db) || db_run_begin(db, &info, &run) != 0;
    for (int step = 0; !rc && step < N_POINTS; step++) {
        rc = db_curve_add(db, run, step, "train/loss", k * 1000.0 + step);
        if (!rc && step % 25 == 24) rc = db_flush(db);
    }
    for (int m = 0; !rc && m < 3; m++) rc = db_metric_set(db, run, "test", m == 0 ? "a" : m == 1 ? "b" : "c", k + m);
    if (!rc) rc = db_run_end(db, run, DB_OK, NULL, 1.0, -1);
    if (rc) fprintf(stderr, "writer %d: %s\n", k, err_msg());
    if (db_close(db)) rc = 1;
    json_decref(config);
    return rc;
}

static void test_parallel_writers(void) {
    const char *path = tmp_path("parallel.db"); /* created by the writers at once */
    pid_t pids[N_WRITERS];
    fflush(stdout);
    for (int k = 0; k < N_WRITERS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) _exit(writer(path, k));
        CHECK(pids[k] > 0, "fork");
    }
    for (int k = 0; k < N_WRITERS; k++) {
        int status = -1;
        if (pids[k] > 0) waitpid(pids[k], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d status %d", k, status);
    }
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE status = 'ok'") == N_WRITERS, "runs");
    CHECK(sql_int(path, "SELECT count(*) FROM curves") == N_WRITERS * N_POINTS, "curve rows");
    CHECK(sql_int(path, "SELECT count(*) FROM (SELECT DISTINCT run_id, step FROM curves)") == N_WRITERS * N_POINTS,
          "distinct curve points");
    /* Each writer k wrote k*1000 + step for step 0..499 into its own run. */
    CHECK(sql_int(path, "SELECT count(*) FROM curves AS c JOIN runs AS r ON r.id = c.run_id "
                        "WHERE c.value = r.seed * 1000 + c.step") == N_WRITERS * N_POINTS, "curve values");
    CHECK(sql_int(path, "SELECT count(*) FROM metrics") == N_WRITERS * 3, "metric rows");
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference") > 0, "reference loaded once");
    char ok[64];
    raw_text(path, "PRAGMA integrity_check", ok, sizeof ok);
    CHECK(!strcmp(ok, "ok"), "integrity_check: %s", ok);
}

/* A writer that logs forever, committing every 32 points, and says on fd
 * when its first commit is done; the test kills it with SIGKILL. */
static _Noreturn void endless_writer(const char *path, int fd) {
    Db *db = NULL;
    json_t *config = json_pack("{s:s}", "case", "kill9");
    RunInfo info = run_info(config, 9);
    int64_t run = 0;
    if (db_open(path, &db) || db_run_begin(db, &info, &run) != 0) _exit(1);
    for (int64_t step = 0;; step++) {
        if (db_curve_add(db, run, step, "train/loss", (double)step)) _exit(1);
        if (step % 32 == 31 && db_flush(db)) _exit(1);
        if (step == 31 && write(fd, "x", 1) != 1) _exit(1);
    }
}

/* Fork an endless_writer on path; its pid once its first commit is done,
 * -1 if it could not start. */
static pid_t start_endless_writer(const char *path) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        endless_writer(path, fds[1]);
    }
    close(fds[1]);
    char c;
    int committed = pid > 0 && read(fds[0], &c, 1) == 1;
    close(fds[0]);
    if (pid > 0 && !committed) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return committed ? pid : -1;
}

/* kill -9 the writer; 1 if it died of it. */
static int kill_writer(pid_t pid) {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void test_kill9_consistent(void) {
    const char *path = tmp_path("kill9.db");
    pid_t pid = start_endless_writer(path);
    CHECK(pid > 0, "the writer never committed");
    if (pid <= 0) return;
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(kill_writer(pid), "the writer did not die of SIGKILL");

    char ok[64];
    raw_text(path, "PRAGMA integrity_check", ok, sizeof ok);
    CHECK(!strcmp(ok, "ok"), "integrity_check: %s", ok);
    int64_t n = sql_int(path, "SELECT count(*) FROM curves");
    CHECK(n >= 32 && n % 32 == 0, "%lld curve rows: not whole commits", (long long)n);
    CHECK(sql_int(path, "SELECT max(step) + 1 FROM curves") == n, "curve rows have gaps");
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE status = 'running'") == 1, "run left running");

    Db *db = NULL;
    int marked = -1;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    CHECK(db && db_runs_mark_stale(db, 0, &marked) == 0 && marked == 1, "marked %d: %s", marked, err_msg());
    CHECK(db_close(db) == 0, "%s", err_msg());
    char error[512];
    raw_text(path, "SELECT status || ': ' || error FROM runs", error, sizeof error);
    CHECK(!strncmp(error, "killed: stale: process ", 23) && strstr(error, "is gone (last heartbeat "), "%s", error);
}

/* Through db_open_copy, as the reading commands open a database: the
 * number of curve points in path (-1 on error) and the steps they cover
 * (the largest step + 1). */
static int64_t copied_points(const char *path, int64_t *steps) {
    Db *db = NULL;
    DbTable t = {0};
    int rc = db_open_copy(path, &db) || db_select_curves(db, &(DbRunFilter){0}, &t);
    if (db_close(db)) rc = 1;
    *steps = 0;
    for (int r = 0; !rc && r < t.n_rows; r++) {
        int64_t step = atoll(db_table_get(&t, r, "step"));
        if (step + 1 > *steps) *steps = step + 1;
    }
    int64_t n = rc ? -1 : t.n_rows;
    db_table_free(&t);
    return n;
}

/* A reader of a file that another process is writing sees whole commits
 * (endless_writer commits 32 points at a time), more of them as the writer
 * goes on; the writer killed, the reader reads its last commits from the
 * -wal it left, and leaves the file and the -wal as they were. */
static void test_reader_while_writing(void) {
    const char *path = tmp_path("read_while_written.db");
    pid_t pid = start_endless_writer(path);
    CHECK(pid > 0, "the writer never committed");
    if (pid <= 0) return;
    int64_t last = 0;
    int reads = 0, grew = 0, bad = 0;
    for (double t0 = time_now_s(); !bad && grew < 3 && time_now_s() - t0 < 5; reads++) {
        int64_t steps, n = copied_points(path, &steps);
        bad = n < 32 || n % 32 || steps != n || n < last;
        CHECK(!bad, "read %d: %lld points over %lld steps, after %lld: %s", reads, (long long)n, (long long)steps,
              (long long)last, n < 0 ? err_msg() : "not whole commits");
        grew += n > last && reads > 0;
        last = n;
    }
    CHECK(grew == 3, "%d reads in 5 s saw the writer's commits grow %d times", reads, grew);
    CHECK(kill_writer(pid), "the writer did not die of SIGKILL");

    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    size_t len_db = 0, len_wal = 0, len_db2 = 0, len_wal2 = 0;
    char *db_before = file_read_all(path, 1 << 24, &len_db), *wal_before = file_read_all(wal, 1 << 26, &len_wal);
    CHECK(db_before && wal_before && len_wal > 0, "the killed writer left no -wal: %s", err_msg());
    int64_t steps, n = copied_points(path, &steps);
    char *db_after = file_read_all(path, 1 << 24, &len_db2), *wal_after = file_read_all(wal, 1 << 26, &len_wal2);
    CHECK(n >= last && n == sql_int(path, "SELECT count(*) FROM curves"), "read %lld points, the file holds %lld",
          (long long)n, sql_int(path, "SELECT count(*) FROM curves"));
    CHECK(db_after && wal_after && len_db == len_db2 && len_wal == len_wal2 && !memcmp(db_before, db_after, len_db) &&
              !memcmp(wal_before, wal_after, len_wal),
          "the reader changed the database (%zu -> %zu bytes) or its -wal (%zu -> %zu)", len_db, len_db2, len_wal,
          len_wal2);
    free(db_before), free(wal_before), free(db_after), free(wal_after);
}

static void test_stale_detection(void) {
    const char *path = tmp_path("stale.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    if (!db) return;
    json_t *config = json_pack("{s:s}", "case", "stale");
    RunInfo info = run_info(config, 3);
    int64_t live = 0;
    CHECK(db_run_begin(db, &info, &live) == 0, "%s", err_msg());

    fflush(stdout);
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char host[256] = "", sql[1024];
    gethostname(host, sizeof host - 1);
    const char *row = "INSERT INTO runs (id, task, model, method, seed, config_json, config_hash, code_rev, host, "
                      "pid, threads, started_at, heartbeat_at) VALUES (%d, 'vqa', 'vilt', 'lora', 0, '{}', '%s', "
                      "'x', '%s', %ld, 1, '2025-01-01T00:00:00.000Z', %s)";
    snprintf(sql, sizeof sql, row, 100, "deadhash", host, (long)dead, "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
    CHECK(raw_exec(path, sql) == SQLITE_OK, "insert dead");
    snprintf(sql, sizeof sql, row, 101, "farhash", "another-host", 1L, "'2025-01-01T00:00:00.000Z'");
    CHECK(raw_exec(path, sql) == SQLITE_OK, "insert far");

    int marked = -1;
    CHECK(db_runs_mark_stale(db, 0, &marked) == 0 && marked == 1, "marked %d: %s", marked, err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE id = 100 AND status = 'killed'") == 1, "dead pid row");
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE id = 101 AND status = 'running'") == 1,
          "other host's row kept without an age limit");
    CHECK(db_runs_mark_stale(db, 3600, &marked) == 0 && marked == 1, "marked %d: %s", marked, err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE id = 101 AND status = 'killed' AND "
                        "error LIKE 'stale: no heartbeat for % s from process 1 on another-host%'") == 1,
          "old heartbeat row");
    DbStatus status = DB_OK;
    CHECK(db_run_status(db, live, &status) == 0 && status == DB_RUNNING, "live run kept: %d", status);

    /* This host's rows with a live pid (this process's): kept when begun in
     * this boot or an unknown one, stale when begun in another boot (after a
     * reboot, or on another machine of the same name, the pid is another
     * process's). The live run above recorded this boot. */
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(boot, sizeof boot, f)) boot[0] = 0;
        boot[strcspn(boot, "\n")] = 0;
        fclose(f);
    }
    char want_boot[128];
    snprintf(want_boot, sizeof want_boot, "SELECT count(*) FROM runs WHERE id = %lld AND boot_id = '%s'",
             (long long)live, boot);
    CHECK(!boot[0] || sql_int(path, want_boot) == 1, "the run did not record this boot %s", boot);
    const char *booted = "INSERT INTO runs (id, task, model, method, seed, config_json, config_hash, code_rev, host, "
                         "pid, threads, started_at, heartbeat_at, boot_id) VALUES (%d, 'vqa', 'vilt', 'lora', 0, "
                         "'{}', 'boothash%d', 'x', '%s', %ld, 1, '2025-01-01T00:00:00.000Z', "
                         "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'), %s)";
    snprintf(sql, sizeof sql, booted, 110, 110, host, (long)getpid(), "'0123456789abcdef-another-boot'");
    CHECK(raw_exec(path, sql) == SQLITE_OK, "insert another boot's");
    snprintf(sql, sizeof sql, booted, 111, 111, host, (long)getpid(), "NULL");
    CHECK(raw_exec(path, sql) == SQLITE_OK, "insert an unknown boot's");
    CHECK(db_runs_mark_stale(db, 0, &marked) == 0 && marked == (boot[0] ? 1 : 0), "marked %d: %s", marked,
          err_msg());
    if (boot[0])
        CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE id = 110 AND status = 'killed' AND "
                            "error LIKE 'stale: process % was begun in another boot (01234567; this one %'") == 1,
              "another boot's row with a live pid");
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE id = 111 AND status = 'running'") == 1,
          "a row of an unknown boot with a live pid kept");
    CHECK(raw_exec(path, "UPDATE runs SET status = 'killed' WHERE id = 111") == SQLITE_OK, "tidy");

    /* A rerun of a config whose process died replaces the stale row. */
    json_t *config2 = json_pack("{s:s}", "case", "rerun");
    RunInfo info2 = run_info(config2, 4);
    char hash[DB_HASH_LEN];
    CHECK(db_config_hash(config2, hash) == 0, "%s", err_msg());
    snprintf(sql, sizeof sql, row, 102, hash, host, (long)dead, "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
    CHECK(raw_exec(path, sql) == SQLITE_OK, "insert dead with the config's hash");
    int64_t rerun = 0;
    CHECK(db_run_begin(db, &info2, &rerun) == 0 && rerun > 102, "rerun %lld: %s", (long long)rerun, err_msg());
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE id = 102 AND status = 'killed'") == 1, "stale row killed");
    CHECK(db_close(db) == 0, "%s", err_msg());
    json_decref(config);
    json_decref(config2);
}

static void test_foreign_files(void) {
    const char *foreign = tmp_path("foreign.db");
    CHECK(raw_exec(foreign, "CREATE TABLE runs (x); CREATE TABLE other (y)") == SQLITE_OK, "create foreign");
    Db *db = NULL;
    CHECK(db_open(foreign, &db) == -1 && db == NULL, "foreign file opened");
    CHECK(strstr(err_msg(), foreign) && strstr(err_msg(), "not a moil results database"), "%s", err_msg());
    char mode[32];
    raw_text(foreign, "PRAGMA journal_mode", mode, sizeof mode);
    CHECK(!strcmp(mode, "delete"), "foreign file changed to %s", mode);

    const char *garbage = tmp_path("garbage.db");
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)('a' + i % 26);
    CHECK(file_write_atomic(garbage, junk, sizeof junk) == 0, "%s", err_msg());
    CHECK(db_open(garbage, &db) == -1, "garbage file opened");
    CHECK(strstr(err_msg(), garbage) && strstr(err_msg(), "file is not a database"), "%s", err_msg());

    const char *newer = tmp_path("newer.db");
    CHECK(db_open(newer, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    CHECK(raw_exec(newer, "PRAGMA user_version = 99") == SQLITE_OK, "bump version");
    CHECK(db_open(newer, &db) == -1 && strstr(err_msg(), "schema version 99 is newer"), "%s", err_msg());

    const char *unwritable = "/proc/moil/results.db";
    CHECK(db_open(unwritable, &db) == -1 && strstr(err_msg(), "/proc/moil"), "%s", err_msg());
}

static void test_paper_reference(void) {
    const char *path = tmp_path("ref.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    char text[512];
    raw_text(path, "SELECT value || ' ' || source FROM paper_reference WHERE model = 'vilt' AND method = 'full' AND "
                   "dataset = 'f30k' AND metric = 'ir_r1' AND source LIKE 'dandelin/ViLT%'", text, sizeof text);
    CHECK(!strcmp(text, "64.54 dandelin/ViLT EVAL.md, released checkpoints"), "%s", text);
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference WHERE method = 'lora' AND dataset = 'vqav2' AND "
                        "value = 68.44 AND source LIKE 'DoubtedSteam/APT%'") == 1, "APT LoRA VQA");
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference WHERE method = 'dora' AND metric = 'cider' AND "
                        "value = 115.9 AND params_pct = 5.96") == 1, "DoRA CIDEr");
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference WHERE method = 'moil' AND value = 2.3 AND "
                        "params_pct = 6.23") == 1, "MoIL abstract");
    /* 6 methods x 4 (APT) + 14 (ViLT checkpoints) + 3 x 4 (DoRA) + 1 (MoIL). */
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference") == 51, "row count");
    CHECK(sql_int(path, "SELECT count(*) FROM paper_reference WHERE scale <> 'real' OR source = ''") == 0, "scale");
}

/* Per-item scores: every value comes back bit for bit in each encoding
 * (u8, u16, f32, f64 with NaN, inf and -0), runs of the same items share
 * one item set, the last record wins, a mismatch of ids and values is
 * refused, merging copies them under the new run id, and a database of
 * the schema before them (the committed snapshot) opens and gains them. */
static int same_bits(const double *a, const double *b, int n) {
    return n == 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static void test_item_scores(void) {
    const char *path = tmp_path("items.db"), *shard_path = tmp_path("items_shard.db");
    Db *db = NULL, *shard = NULL;
    CHECK(db_open(path, &db) == 0 && db_open(shard_path, &shard) == 0, "%s", err_msg());
    if (!db || !shard) return;
    enum { N = 700 };
    static double u8[N], u16[N], f32[N], f64[N];
    static char ids[N * 16];
    size_t o = 0;
    for (int i = 0; i < N; i++) {
        u8[i] = (i * 7) % 5 * 25;                     /* 0 .. 100 */
        u16[i] = 1 + (i * 131) % 1000;                 /* ranks */
        f32[i] = (float)(i * 0.37);                    /* float32 values */
        f64[i] = i == 0 ? NAN : i == 1 ? -INFINITY : i == 2 ? -0.0 : i * 0.1; /* anything */
        o += (size_t)snprintf(ids + o, sizeof ids - o, "q%d\n", 1000 + i);
    }
    const double *sets[4] = {u8, u16, f32, f64};
    const char *names[4] = {"vqa_score", "ir_rank", "cider_d", "other"};
    const char *encodings[4] = {"u8", "u16", "f32", "f64"};
    json_t *config = json_pack("{s:s}", "case", "items");
    RunInfo info = run_info(config, 1);
    int64_t run = 0, run2 = 0;
    CHECK(db_run_begin(db, &info, &run) == 0 && db_run_begin(shard, &info, &run2) == 0, "%s", err_msg());
    for (int k = 0; k < 4; k++) CHECK(db_items_set(db, run, "test", names[k], N, ids, sets[k]) == 0, "%s", err_msg());
    for (int k = 0; k < 4; k++) {
        DbItems it;
        CHECK(db_items_get(db, run, "test", names[k], 1, &it) == 1, "%s: %s", names[k], err_msg());
        CHECK(it.n == N && same_bits(it.values, sets[k], N), "%s: values differ", names[k]);
        CHECK(it.ids && !strcmp(it.ids, ids), "%s: ids differ", names[k]);
        db_items_free(&it);
        char enc[16], sql[160];
        snprintf(sql, sizeof sql, "SELECT encoding FROM item_scores WHERE name = '%s'", names[k]);
        raw_text(path, sql, enc, sizeof enc);
        CHECK(!strcmp(enc, encodings[k]), "%s stored as %s, not %s", names[k], enc, encodings[k]);
    }
    CHECK(sql_int(path, "SELECT count(*) FROM item_sets") == 1, "one item set for four families");
    CHECK(sql_int(path, "SELECT sum(length(scores)) FROM item_scores WHERE encoding = 'u8'") < N / 2,
          "u8 scores deflated: %lld bytes", (long long)sql_int(path, "SELECT length(scores) FROM item_scores"));
    /* the last record wins; nothing recorded reads as 0; a count mismatch is refused */
    CHECK(db_items_set(db, run, "test", "vqa_score", N, ids, u16) == 0, "%s", err_msg());
    DbItems it;
    CHECK(db_items_get(db, run, "test", "vqa_score", 0, &it) == 1 && same_bits(it.values, u16, N) && !it.ids,
          "overwrite");
    db_items_free(&it);
    CHECK(db_items_get(db, run, "val", "vqa_score", 0, &it) == 0, "no items under val");
    CHECK(db_items_set(db, run, "test", "x", N - 1, ids, u8) == -1 && strstr(err_msg(), "699 values but 700 ids"),
          "%s", err_msg());
    /* merging: the shard's run comes over with its items under the new id */
    CHECK(db_items_set(shard, run2, "test@ema", "accuracy", N, ids, u8) == 0, "%s", err_msg());
    CHECK(db_run_end(shard, run2, DB_OK, NULL, 1.0, -1) == 0 && db_close(shard) == 0, "%s", err_msg());
    json_t *other = json_pack("{s:s}", "case", "items other");
    RunInfo info_other = run_info(other, 2);
    int64_t run3 = 0;
    Db *s2 = NULL;
    CHECK(db_open(shard_path, &s2) == 0 && db_run_begin(s2, &info_other, &run3) == 0, "%s", err_msg());
    CHECK(db_items_set(s2, run3, "test", "accuracy", 3, "a\nb\nc\n", (double[]){100, 0, 100}) == 0, "%s", err_msg());
    CHECK(db_run_end(s2, run3, DB_OK, NULL, 1.0, -1) == 0 && db_close(s2) == 0, "%s", err_msg());
    DbMergeStats ms;
    CHECK(db_merge(db, shard_path, &ms) == 0, "%s", err_msg());
    /* the shard's ok run of the first config replaces the running one here, the other is new */
    CHECK(ms.runs_added == 1 && ms.runs_replaced == 1 && ms.items_copied == 2, "added %d, replaced %d, items %lld",
          ms.runs_added, ms.runs_replaced, (long long)ms.items_copied);
    int64_t merged = 0;
    char hash[DB_HASH_LEN];
    CHECK(db_config_hash(other, hash) == 0 && db_run_find(db, hash, DB_OK, &merged) == 1, "%s", err_msg());
    CHECK(db_items_get(db, merged, "test", "accuracy", 1, &it) == 1 && it.n == 3 && !strcmp(it.ids, "a\nb\nc\n") &&
              it.values[1] == 0 && it.values[2] == 100,
          "merged items: %s", err_msg());
    db_items_free(&it);
    CHECK(db_close(db) == 0, "%s", err_msg());
    json_decref(config), json_decref(other);
    /* a database of an older schema (the committed snapshot) gains the tables and keeps its runs */
    const char *old = tmp_path("snapshot.db");
    size_t len = 0;
    char *bytes = file_read_all("results/full/moil.db", (size_t)64 << 20, &len);
    CHECK(bytes && file_write_atomic(old, bytes, len) == 0, "%s", err_msg());
    free(bytes);
    int64_t runs = sql_int(old, "SELECT count(*) FROM runs");
    CHECK(db_open(old, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    CHECK(sql_int(old, "PRAGMA user_version") == db_schema_version() && sql_int(old, "SELECT count(*) FROM runs") == runs &&
              sql_int(old, "SELECT count(*) FROM item_scores") == 0,
          "snapshot: version %lld, runs %lld of %lld", (long long)sql_int(old, "PRAGMA user_version"),
          (long long)sql_int(old, "SELECT count(*) FROM runs"), (long long)runs);
}

/* A config's numeric_env (the machine and build) is stored with it but left
 * out of its hash: the same config from another machine is a finished run,
 * and the view run_numeric_env shows where each run was made. */
static void test_numeric_env_unhashed(void) {
    const char *path = tmp_path("env.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    if (!db) return;
    json_t *here = json_loads("{\"lr\":0.001,\"numeric_env\":{\"cpu\":\"A\",\"openblas_core\":\"Haswell\"}}", 0, NULL);
    json_t *there = json_loads("{\"lr\":0.001,\"numeric_env\":{\"cpu\":\"B\",\"openblas_core\":\"Zen\"}}", 0, NULL);
    json_t *bare = json_loads("{\"lr\":0.001}", 0, NULL);
    char h_here[DB_HASH_LEN], h_there[DB_HASH_LEN], h_bare[DB_HASH_LEN];
    CHECK(db_config_hash(here, h_here) == 0 && db_config_hash(there, h_there) == 0 && db_config_hash(bare, h_bare) == 0,
          "%s", err_msg());
    CHECK(!strcmp(h_here, h_bare) && !strcmp(h_there, h_bare), "numeric_env hashed: %s %s %s", h_here, h_there,
          h_bare);
    CHECK(json_object_get(here, "numeric_env"), "the hash removed the caller's numeric_env");
    RunInfo info = run_info(here, 1);
    int64_t run = 0, again = 0;
    CHECK(db_run_begin(db, &info, &run) == 0 && db_run_end(db, run, DB_OK, NULL, 1, -1) == 0, "%s", err_msg());
    info.config = there;
    CHECK(db_run_begin(db, &info, &again) == 1 && again == run, "another machine's run of the config redone: %lld",
          (long long)again);
    CHECK(db_close(db) == 0, "%s", err_msg());
    char text[256], want[256];
    snprintf(want, sizeof want, "%s A Haswell", h_bare);
    raw_text(path, "SELECT r.config_hash || ' ' || e.cpu || ' ' || e.openblas_core FROM runs AS r "
                   "JOIN run_numeric_env AS e ON e.run_id = r.id", text, sizeof text);
    CHECK(!strcmp(text, want), "stored '%s', expected '%s'", text, want);
    json_decref(here);
    json_decref(there);
    json_decref(bare);
}

static void test_hash_and_rev(void) {
    json_t *a = json_loads("{\"b\": 1, \"a\": [1, 2]}", 0, NULL), *b = json_loads("{\"a\":[1,2],\"b\":1}", 0, NULL);
    char ha[DB_HASH_LEN], hb[DB_HASH_LEN];
    CHECK(db_config_hash(a, ha) == 0 && db_config_hash(b, hb) == 0, "%s", err_msg());
    /* FNV-1a 64 of {"a":[1,2],"b":1}, computed independently. */
    CHECK(!strcmp(ha, "30077cb0d8fc07be") && !strcmp(hb, ha), "hash %s %s", ha, hb);
    char *canon = db_config_canonical(a);
    CHECK(canon && !strcmp(canon, "{\"a\":[1,2],\"b\":1}"), "canonical %s", canon ? canon : "(null)");
    free(canon);
    json_decref(a);
    json_decref(b);
    CHECK(db_config_hash(NULL, ha) == -1, "NULL config");

    /* the stamp of the build: the tests run from the repository root, built
     * from its current sources, so it is what scripts/code_rev.sh says now */
    char rev[DB_REV_LEN], expect[256], now[256];
    int dirty = -2;
    db_code_rev(rev, &dirty);
    CHECK(strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40, "rev %s", rev);
    CHECK(dirty == 0 || dirty == 1, "dirty %d", dirty);
    snprintf(expect, sizeof expect, "#define MOIL_CODE_REV \"%s\"\n#define MOIL_CODE_DIRTY %d\n", rev, dirty);
    CHECK(proc_run_into(now, sizeof now, "sh scripts/code_rev.sh") == 0 && !strcmp(now, expect),
          "the build's stamp\n%s differs from the sources'\n%s", expect, now);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) die("%s: cannot create a temporary folder", tmp_dir);
    RUN(test_schema_matches_files);
    RUN(test_create);
    RUN(test_reopen_is_noop);
    RUN(test_run_lifecycle);
    RUN(test_nan_diverged);
    RUN(test_parallel_writers);
    RUN(test_kill9_consistent);
    RUN(test_reader_while_writing);
    RUN(test_stale_detection);
    RUN(test_foreign_files);
    RUN(test_paper_reference);
    RUN(test_item_scores);
    RUN(test_numeric_env_unhashed);
    RUN(test_hash_and_rev);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
