/* The `moil db` commands (runs, show, pair, export, merge, check) and the engine
 * functions behind them (db_select_*, DbTable output, db_merge,
 * db_runs_find_stale); every command that only reads a database (these,
 * moil table render and claims, moil report) leaving its file as it was. Databases are
 * written through the C API in a mkdtemp folder; the commands run as the
 * built binary ($MOIL, else ./moil). */
#include "check.h"
#include "db.h"
#include "proc.h"
#include "report_stats.h"
#include "test.h"

#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/moil_test_db_cli_XXXXXX";
#include "tmp_path.h"

/* Every row of sql as "a|b|c\n" text, through a raw connection (caller frees). */
static int dump_row(void *buf, int n, char **vals, char **cols) {
    (void)cols;
    char **text = buf;
    for (int i = 0; i < n; i++) {
        const char *v = vals[i] ? vals[i] : "NULL";
        size_t len = strlen(*text), add = strlen(v) + 2;
        *text = xrealloc(*text, len + add + 1);
        snprintf(*text + len, add + 1, "%s%s", v, i == n - 1 ? "\n" : "|");
    }
    return 0;
}

static char *raw_dump(const char *path, const char *sql) {
    sqlite3 *c = NULL;
    char *text = xstrdup("");
    if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(c, sql, dump_row, &text, NULL) != SQLITE_OK)
        printf("  raw_dump(%s): %s\n", sql, sqlite3_errmsg(c));
    sqlite3_close(c);
    return text;
}

/* Runs, metrics and curves of a database, modulo ids, times and pid: what
 * two databases holding the same results have in common. */
static char *content(const char *path) {
    static const char *const parts[] = {
        "SELECT table_id, task, model, method, seed, config_json, config_hash, code_rev, code_dirty, host, threads, "
        "params_trainable, params_stored, params_backbone, status, error, wall_s, peak_mem_bytes FROM runs "
        "ORDER BY config_hash",
        "SELECT r.config_hash, m.split, m.name, m.value, m.nonfinite FROM metrics AS m JOIN runs AS r "
        "ON r.id = m.run_id ORDER BY 1, 2, 3",
        "SELECT r.config_hash, c.name, c.step, c.value, c.nonfinite FROM curves AS c JOIN runs AS r "
        "ON r.id = c.run_id ORDER BY 1, 2, 3",
        "SELECT count(*) FROM paper_reference"};
    char *all = xstrdup("");
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char *part = raw_dump(path, parts[i]);
        all = xrealloc(all, strlen(all) + strlen(part) + 8);
        strcat(strcat(all, part), "--\n");
        free(part);
    }
    return all;
}

typedef struct {
    const char *name, *table, *task, *method;
    int seed;
    DbStatus status;
    int steps;     /* curve points of train/loss; a diverged run's last is NaN */
    double metric; /* test/<key metric>; val/<key metric> is 0.1 lower */
} RunSpec;

static const RunSpec run_a = {"a", "3", "retrieval", "lora", 0, DB_OK, 10, 0.5};
static const RunSpec run_b = {"b", "3", "vqa", "moil", 1, DB_OK, 10, 0.625};
static const RunSpec run_c = {"c", "4", "nlvr", "full", 0, DB_FAILED, 3, 0};
static const RunSpec run_d = {"d", "4", "retrieval", "full", 2, DB_DIVERGED, 6, 0};

static const char *key_metric(const char *task) {
    return !strcmp(task, "retrieval") ? "ir_r1" : !strcmp(task, "vqa") ? "vqa_score" : "accuracy";
}

/* Start a run of s as a training command would: db_run_begin's return. */
static int begin_run(Db *db, const RunSpec *s, int64_t *run) {
    json_t *config = json_pack("{s:s, s:f, s:i, s:s}", "case", s->name, "lr", 0.001, "seed", s->seed, "note",
                               "a, \"quoted\" note");
    RunInfo info = {.table_id = s->table, .task = s->task, .model = "vilt", .method = s->method, .seed = s->seed,
                    .config = config, .code_rev = "0123456789abcdef0123456789abcdef01234567", .code_dirty = 0,
                    .threads = 1, .params_trainable = 1000, .params_stored = 900, .params_backbone = 16000};
    int rc = db_run_begin(db, &info, run);
    json_decref(config);
    return rc;
}

/* Log one run as a training command would; nothing if its config is done. */
static int write_run(Db *db, const RunSpec *s, DbStatus status) {
    int64_t run;
    int rc = begin_run(db, s, &run);
    if (rc) return rc < 0 ? -1 : 0;
    for (int step = 0; step < s->steps; step++) {
        double loss = status == DB_DIVERGED && step == s->steps - 1 ? NAN : 2.0 / (1 + step);
        if (db_curve_add(db, run, step, "train/loss", loss)) return -1;
        if (step % 5 == 4 && db_curve_add(db, run, step, "val/metric", 0.1 * step)) return -1;
    }
    if (status == DB_OK && (db_metric_set(db, run, "test", key_metric(s->task), s->metric) ||
                            db_metric_set(db, run, "val", key_metric(s->task), s->metric - 0.1) ||
                            db_items_set(db, run, "test", "ir_rank", 3, "q1\nq2\nq3\n", (double[]){1, 2, 700})))
        return -1;
    if (status == DB_DIVERGED && db_metric_set(db, run, "train", "loss", NAN)) return -1;
    const char *error = status == DB_FAILED ? "out of memory" : status == DB_DIVERGED ? "loss is nan at step 5" : NULL;
    return db_run_end(db, run, status, error, 1.5 + s->seed, -1);
}

/* A database at path holding the n runs, each with its own status. */
static int write_db(const char *path, const RunSpec *const *runs, int n) {
    Db *db;
    if (db_open(path, &db)) return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) rc = write_run(db, runs[i], runs[i]->status);
    return db_close(db) || rc ? -1 : 0;
}

static const char *main_db(void) {
    const char *path = tmp_path("main.db");
    static int done;
    if (!done) {
        const RunSpec *const runs[] = {&run_a, &run_b, &run_c, &run_d};
        CHECK(write_db(path, runs, 4) == 0, "%s", err_msg());
        done = 1;
    }
    return path;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_runs(void) {
    const char *path = main_db();
    static char out[16384];
    int rc = proc_moil(out, sizeof out, "db runs --db %s", path);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "runs=4\n") && strstr(out, "runs_ok=2\n") && strstr(out, "runs_failed=1\n") &&
              strstr(out, "runs_diverged=1\n") && strstr(out, "runs_running=0\n"), "%s", out);
    CHECK(strstr(out, "test/ir_r1") && strstr(out, "test/vqa_score") && strstr(out, "0.625"), "key metric: %s", out);
    const char *a = strstr(out, "retrieval"), *b = strstr(out, "vqa ");
    CHECK(a && b && a < b, "oldest first: %s", out);
    rc = proc_moil(out, sizeof out, "db runs --db %s --status ok --task vqa", path);
    CHECK(rc == 0 && strstr(out, "runs=1\n") && strstr(out, "moil"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db runs --db %s --table 4 --method full --model vilt", path);
    CHECK(rc == 0 && strstr(out, "runs=2\n"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db runs --db %s --table 9", path);
    CHECK(rc == 0 && strstr(out, "no runs match") && strstr(out, "runs=0\n"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db runs --db %s --status done", path);
    CHECK(rc == 2 && strstr(out, "unknown status 'done'") && strstr(out, "usage:"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db runs --help");
    CHECK(rc == 0 && strstr(out, "usage: moil db runs"), "exit %d: %s", rc, out);
}

static void test_show(void) {
    const char *path = main_db();
    static char out[16384];
    int rc = proc_moil(out, sizeof out, "db show 1 --db %s", path);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "config:\n{\n  \"case\": \"a\",\n") && strstr(out, "\"note\": \"a, \\\"quoted\\\" note\""),
          "pretty config: %s", out);
    CHECK(strstr(out, "params_trainable  1000") && strstr(out, "status            ok"), "run row: %s", out);
    CHECK(strstr(out, "test/ir_r1=0.5\n") && strstr(out, "val/ir_r1=0.4\n") && strstr(out, "run_id=1\n"),
          "name=value: %s", out);
    /* train/loss: 10 points, first 2 at step 0, last 0.2 at 9, min 0.2 at 9, max 2 at 0 */
    CHECK(strstr(out, "train/loss  10      0          0           2            9          0.2         0.2        "
                      "9         2          0\n"), "curve summary: %s", out);
    CHECK(strstr(out, "val/metric  2       0          4           0.4"), "curve summary: %s", out);
    CHECK(strstr(out, "item scores:\nsplit  name     items  encoding  bytes") && strstr(out, "test   ir_rank  3      u16"),
          "item scores: %s", out);

    rc = proc_moil(out, sizeof out, "db show 4 --db %s", path);
    CHECK(rc == 0 && strstr(out, "status=diverged\n") && strstr(out, "train/loss=nan\n") &&
              strstr(out, "loss is nan at step 5"), "exit %d: %s", rc, out);
    /* the diverged curve: 6 points, 1 NaN, last value nan, min over the finite ones */
    CHECK(strstr(out, "train/loss  6       1          0           2            5          nan         0.4"),
          "diverged curve: %s", out);
    rc = proc_moil(out, sizeof out, "db show 3 --db %s", path);
    CHECK(rc == 0 && strstr(out, "out of memory") && strstr(out, "metrics:\n(none)") &&
              strstr(out, "item scores:\n(none)"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db show 99 --db %s", path);
    CHECK(rc == 1 && strstr(out, "no run 99") && strstr(out, path), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db show x1 --db %s", path);
    CHECK(rc == 2 && strstr(out, "expected a positive integer"), "exit %d: %s", rc, out);
}

static void test_export(void) {
    const char *path = main_db();
    static char out[32768];
    int rc = proc_moil(out, sizeof out, "db export --db %s", path);
    CHECK(rc == 0 && !strncmp(out, "id,table_id,task,model,method,seed,config_json,", 47), "exit %d: %s", rc, out);
    CHECK(count_lines(out) == 5, "runs csv: %d lines", count_lines(out));
    CHECK(strstr(out, "\"{\"\"case\"\":\"\"a\"\",\"\"lr\"\":0.001,\"\"note\"\":\"\"a, \\\"\"quoted\\\"\" note\"\""),
          "csv quoting: %s", out);
    CHECK(strstr(out, ",test/ir_r1,0.5\n"), "key metric column: %s", out);

    rc = proc_moil(out, sizeof out, "db export --db %s --what metrics --format tsv --table 4", path);
    const char *tsv_head = "run_id\ttable_id\ttask\tmodel\tmethod\tseed\tstatus\tsplit\tname\tvalue\n";
    CHECK(rc == 0 && !strncmp(out, tsv_head, strlen(tsv_head)), "exit %d: %s", rc, out);
    CHECK(count_lines(out) == 2 && strstr(out, "\tdiverged\ttrain\tloss\tnan\n"), "metrics tsv: %s", out);

    rc = proc_moil(out, sizeof out, "db export --db %s --what curves", path);
    /* train/loss 10 + 10 + 3 + 6 points, val/metric 2 + 2 + 0 + 1 */
    CHECK(rc == 0 && count_lines(out) == 1 + 29 + 5, "exit %d, %d lines", rc, count_lines(out));
    CHECK(strstr(out, "4,4,retrieval,vilt,full,2,diverged,train/loss,5,nan\n"), "nan point: %s", out);

    rc = proc_moil(out, sizeof out, "db export --db %s --what metrics --format md --status ok", path);
    CHECK(rc == 0 && !strncmp(out, "| run_id | table_id |", 21) && strstr(out, "\n| --- | --- |") &&
              count_lines(out) == 6 && strstr(out, "| test | vqa_score | 0.625 |\n"), "exit %d: %s", rc, out);
    /* every item of every ok run (a and b: ranks 1, 2, 700 of q1..q3), as recorded */
    rc = proc_moil(out, sizeof out, "db export --db %s --what items", path);
    CHECK(rc == 0 && !strncmp(out, "run_id,table_id,task,model,method,seed,status,split,name,item,value\n", 68) &&
              count_lines(out) == 1 + 2 * 3 && strstr(out, ",retrieval,vilt,lora,0,ok,test,ir_rank,q1,1\n") &&
              strstr(out, ",vqa,vilt,moil,1,ok,test,ir_rank,q3,700\n"),
          "items csv: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db export --db %s --what items --method moil --format tsv", path);
    CHECK(rc == 0 && count_lines(out) == 1 + 3 && strstr(out, "\tq2\t2\n"), "items of one method: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db export --db %s --format xml", path);
    CHECK(rc == 2 && strstr(out, "expected csv, tsv or md"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db export --db %s --what scores", path);
    CHECK(rc == 2 && strstr(out, "expected runs, metrics, curves or items"), "exit %d: %s", rc, out);
}

/* The same runs written into two shards and merged, or into one file
 * directly, give the same content; a second merge changes nothing. */
static void test_merge_equals_single(void) {
    const char *s1 = tmp_path("shard1.db"), *s2 = tmp_path("shard2.db"), *direct = tmp_path("direct.db");
    const RunSpec *const one[] = {&run_a, &run_c}, *const two[] = {&run_b, &run_d, &run_a};
    const RunSpec *const all[] = {&run_a, &run_c, &run_b, &run_d, &run_a};
    CHECK(write_db(s1, one, 2) == 0 && write_db(s2, two, 3) == 0 && write_db(direct, all, 5) == 0, "%s", err_msg());
    const char *merged = tmp_path("merged/moil.db");
    static char out[8192];
    int rc = proc_moil(out, sizeof out, "db merge %s %s --into %s", s1, s2, merged);
    CHECK(rc == 0 && strstr(out, "shards=2\nruns_added=4\nruns_replaced=0\nruns_skipped=1\n") &&
              strstr(out, "metrics_copied=5\ncurves_copied=34\nitems_copied=2\n"), "exit %d: %s", rc, out);
    char *want = content(direct), *got = content(merged);
    CHECK(!strcmp(want, got), "merged:\n%s\ndirect:\n%s", got, want);
    CHECK(sql_int(merged, "SELECT count(*) FROM paper_reference") > 0, "reference numbers");
    char *start_shard = raw_dump(s2, "SELECT started_at FROM runs WHERE task = 'vqa'");
    char *start_merged = raw_dump(merged, "SELECT started_at FROM runs WHERE task = 'vqa'");
    CHECK(!strcmp(start_shard, start_merged), "times kept: %s vs %s", start_shard, start_merged);

    rc = proc_moil(out, sizeof out, "db merge %s %s --into %s", s2, s1, merged);
    CHECK(rc == 0 && strstr(out, "runs_added=0\nruns_replaced=0\nruns_skipped=5\n"), "exit %d: %s", rc, out);
    char *again = content(merged);
    CHECK(!strcmp(got, again), "second merge changed:\n%s", again);

    rc = proc_moil(out, sizeof out, "db merge %s --into %s", merged, merged);
    CHECK(rc == 1 && strstr(out, "is the database being merged into"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db merge %s --into %s", tmp_path("nope.db"), merged);
    CHECK(rc == 1 && strstr(out, "no such results database"), "exit %d: %s", rc, out);
    free(want);
    free(got);
    free(again);
    free(start_shard);
    free(start_merged);
}

/* Which run wins when both sides hold the same config (through db_merge). */
static void test_merge_rules(void) {
    const char *target = tmp_path("rules_target.db"), *shard = tmp_path("rules_shard.db");
    Db *db = NULL;
    CHECK(db_open(target, &db) == 0, "%s", err_msg());
    if (!db) return;
    /* target: a ok (0.5), b failed, c failed; shard: a ok (0.9), b ok, c killed, d failed then d ok */
    RunSpec a9 = run_a, d_fail = run_d;
    a9.metric = 0.9;
    CHECK(write_run(db, &run_a, DB_OK) == 0 && write_run(db, &run_b, DB_FAILED) == 0 &&
              write_run(db, &run_c, DB_FAILED) == 0, "%s", err_msg());
    Db *sh = NULL;
    CHECK(db_open(shard, &sh) == 0, "%s", err_msg());
    if (sh) {
        CHECK(write_run(sh, &a9, DB_OK) == 0 && write_run(sh, &run_b, DB_OK) == 0 &&
                  write_run(sh, &run_c, DB_KILLED) == 0 && write_run(sh, &d_fail, DB_FAILED) == 0 &&
                  write_run(sh, &run_d, DB_OK) == 0, "%s", err_msg());
        CHECK(db_close(sh) == 0, "%s", err_msg());
    }
    /* the runner's key of a shard run comes along */
    sqlite3 *raw = NULL;
    CHECK(sqlite3_open(shard, &raw) == SQLITE_OK &&
              sqlite3_exec(raw, "INSERT INTO run_keys VALUES ('00000000000000aa', 'h', '--method full')", NULL, NULL,
                           NULL) == SQLITE_OK,
          "%s", raw ? sqlite3_errmsg(raw) : "open");
    sqlite3_close(raw);
    DbMergeStats st;
    CHECK(db_merge(db, shard, &st) == 0, "%s", err_msg());
    CHECK(sql_int(target, "SELECT count(*) FROM run_keys WHERE run_key = '00000000000000aa'") == 1, "run key merged");
    CHECK(st.runs_added == 1 && st.runs_replaced == 1 && st.runs_skipped == 3,
          "added %d replaced %d skipped %d", st.runs_added, st.runs_replaced, st.runs_skipped);
    CHECK(db_close(db) == 0, "%s", err_msg());
    char *runs = raw_dump(target, "SELECT task, status FROM runs ORDER BY task");
    CHECK(!strcmp(runs, "nlvr|failed\nretrieval|ok\nretrieval|ok\nvqa|ok\n"), "%s", runs);
    CHECK(sql_int(target, "SELECT count(*) FROM runs AS r JOIN metrics AS m ON m.run_id = r.id WHERE "
                          "r.seed = 0 AND r.task = 'retrieval' AND m.split = 'test' AND m.value = 0.5") == 1,
          "target's ok run kept");
    CHECK(sql_int(target, "SELECT count(*) FROM metrics AS m JOIN runs AS r ON r.id = m.run_id WHERE r.task = 'vqa'")
              == 2, "replacing run's metrics");
    CHECK(sql_int(target, "SELECT count(*) FROM curves WHERE run_id NOT IN (SELECT id FROM runs)") == 0,
          "no orphan curves");
    free(runs);
}

static void test_check(void) {
    const char *path = tmp_path("check.db");
    const RunSpec *const runs[] = {&run_a, &run_c};
    CHECK(write_db(path, runs, 2) == 0, "%s", err_msg());
    static char out[8192];
    int rc = proc_moil(out, sizeof out, "db check --db %s", path);
    CHECK(rc == 0 && strstr(out, "integrity=ok\n") && strstr(out, "problems=0\n") && strstr(out, "runs_ok=1\n") &&
              strstr(out, "runs_failed=1\n"), "exit %d: %s", rc, out);
    char version[32];
    snprintf(version, sizeof version, "schema_version=%d\n", db_schema_version());
    CHECK(strstr(out, version), "%s", out);

    /* a run whose process died without ending it */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        Db *db;
        json_t *config = json_pack("{s:s}", "case", "dies");
        RunInfo info = {.task = "vqa", .model = "vilt", .method = "lora", .config = config, .code_rev = "x",
                        .code_dirty = -1, .threads = 1, .params_trainable = -1, .params_stored = -1,
                        .params_backbone = -1};
        int64_t run;
        _exit(db_open(path, &db) || db_run_begin(db, &info, &run) || db_close(db));
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
    rc = proc_moil(out, sizeof out, "db check --db %s", path);
    CHECK(rc == 1 && strstr(out, "stale=1\n") && strstr(out, "problems=1\n") && strstr(out, "is gone") &&
              strstr(out, "--fix"), "exit %d: %s", rc, out);
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE status = 'running'") == 1, "check alone changed nothing");
    rc = proc_moil(out, sizeof out, "db check --db %s --fix", path);
    CHECK(rc == 0 && strstr(out, "fixed=1\n") && strstr(out, "problems=0\n") && strstr(out, "runs_killed=1\n"),
          "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db check --db %s", path);
    CHECK(rc == 0 && strstr(out, "stale=0\n"), "exit %d: %s", rc, out);
}

/* A database of two runs at path, with 1024 bytes of junk written at
 * offset within the root page of its curves table. */
static int damage_curves(const char *path, long offset, const char *junk) {
    const RunSpec *const runs[] = {&run_a, &run_b};
    if (write_db(path, runs, 2)) return -1;
    int64_t page = sql_int(path, "SELECT rootpage FROM sqlite_schema WHERE name = 'curves'");
    int64_t page_size = sql_int(path, "PRAGMA page_size");
    FILE *f = fopen(path, "r+b");
    int ok = f && page > 1 && fseek(f, (long)((page - 1) * page_size) + offset, SEEK_SET) == 0 &&
             fwrite(junk, 1, 1024, f) == 1024;
    if (f) fclose(f);
    return ok ? 0 : -1;
}

/* Missing, foreign, garbage and damaged files: a clear error naming the
 * file, a non-zero exit, never a crash, and no file created. */
static void test_bad_files(void) {
    static const char *const commands[] = {"db runs --db", "db show 1 --db", "db export --db", "db check --db",
                                           "db merge --into"};
    char missing[256], foreign[256], garbage[256], damaged[256], shard[256];
    snprintf(missing, sizeof missing, "%s", tmp_path("missing.db"));
    snprintf(foreign, sizeof foreign, "%s", tmp_path("foreign.db"));
    snprintf(garbage, sizeof garbage, "%s", tmp_path("garbage.db"));
    snprintf(damaged, sizeof damaged, "%s", tmp_path("damaged.db"));
    snprintf(shard, sizeof shard, "%s", main_db());
    sqlite3 *c = NULL;
    CHECK(sqlite3_open(foreign, &c) == SQLITE_OK && sqlite3_exec(c, "CREATE TABLE runs (x)", NULL, NULL, NULL) == 0,
          "foreign");
    sqlite3_close(c);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)('a' + i % 26);
    CHECK(file_write_atomic(garbage, junk, sizeof junk) == 0, "%s", err_msg());

    static char out[8192];
    for (int k = 0; k < 5; k++) {
        int rc;
        if (k < 4) { /* merge creates a missing target */
            rc = proc_moil(out, sizeof out, "%s %s", commands[k], missing);
            CHECK(rc == 1 && strstr(out, "missing.db: no such results database (run an experiment first)"),
                  "%s missing: exit %d: %s", commands[k], rc, out);
        }
        rc = proc_moil(out, sizeof out, "%s %s %s", commands[k], foreign, k == 4 ? shard : "");
        CHECK(rc == 1 && strstr(out, "foreign.db: not a moil results database"), "%s foreign: exit %d: %s",
              commands[k], rc, out);
        rc = proc_moil(out, sizeof out, "%s %s %s", commands[k], garbage, k == 4 ? shard : "");
        CHECK(rc == 1 && strstr(out, "garbage.db: file is not a database"), "%s garbage: exit %d: %s", commands[k],
              rc, out);
    }
    struct stat sb;
    CHECK(stat(missing, &sb) != 0, "a reader created %s", missing);
    int rc = proc_moil(out, sizeof out, "db merge %s --into %s", garbage, tmp_path("into.db"));
    CHECK(rc == 1 && strstr(out, "garbage.db: file is not a database"), "garbage shard: exit %d: %s", rc, out);

    /* moil databases with the curves page overwritten after its header
     * (cell pointers: integrity_check lists the damage) or from its start
     * (the page header: every read of it fails) */
    char header[256];
    snprintf(header, sizeof header, "%s", tmp_path("header.db"));
    CHECK(damage_curves(damaged, 8, junk) == 0 && damage_curves(header, 0, junk) == 0, "damage");
    rc = proc_moil(out, sizeof out, "db check --db %s", damaged);
    CHECK(rc == 1 && strstr(out, "integrity: FAILED\n") && strstr(out, "integrity=failed\n"), "exit %d: %s", rc,
          out);
    rc = proc_moil(out, sizeof out, "db check --db %s", header);
    CHECK(rc == 1 && strstr(out, "header.db: database disk image is malformed"), "exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db export --what curves --db %s", header);
    CHECK(rc == 1 && strstr(out, "header.db: database disk image is malformed"), "exit %d: %s", rc, out);
}

/* The full profile's committed first edition: a database at schema 2. */
#define V1_SNAPSHOT "results/full-v1/moil.db"

/* Whether path-suffix exists. */
static int side_file(const char *path, const char *suffix) {
    char name[600];
    snprintf(name, sizeof name, "%s%s", path, suffix);
    return access(name, F_OK) == 0;
}

/* The commands that only read, on a copy of a committed database of an
 * older schema: the file stays byte for byte, no -wal or -shm is left beside
 * it, and each prints what it printed when opening a database migrated it
 * in the file (the same commands once the copy is migrated in place; all but
 * the report, the last, which takes 1.7 s and reads through the queries of
 * table render and db show). */
static void test_readers_leave_file(void) {
    static const char *const commands[] = {
        "db runs", "db show 5", "db export --what runs", "db export --what metrics --format tsv",
        "db export --what curves --table ablation --format md", "table render --profile full --table main --out -",
        "table render --profile full --table inference --format tex --out -",
        "table claims --profile full --out -", "report --profile full --figures plots/full --out -"};
    enum { N_COMMANDS = sizeof commands / sizeof commands[0], N_COMPARED = N_COMMANDS - 1 };
    const char *path = tmp_path("v1.db");
    size_t len, len_after;
    char *before = file_read_all(V1_SNAPSHOT, (size_t)64 << 20, &len);
    CHECK(before && file_write_atomic(path, before, len) == 0, "%s", err_msg());
    if (!before) return;
    char *read_out[N_COMMANDS];
    for (int k = 0; k < N_COMMANDS; k++) {
        int rc = proc_run(&read_out[k], "'%s' %s --db %s", moil_bin(), commands[k], path);
        char *after = file_read_all(path, (size_t)64 << 20, &len_after);
        CHECK(rc == 0 && strlen(read_out[k]) > 100, "%s: exit %d: %.2000s", commands[k], rc, read_out[k]);
        CHECK(after && len_after == len && !memcmp(after, before, len), "%s wrote the file", commands[k]);
        CHECK(!side_file(path, "-wal") && !side_file(path, "-shm"), "%s left a -wal or -shm file", commands[k]);
        free(after);
    }
    Db *db = NULL; /* what the commands did before: migrate the file */
    CHECK(db_open(path, &db) == 0 && db_close(db) == 0, "%s", err_msg());
    char *after = file_read_all(path, (size_t)64 << 20, &len_after);
    CHECK(after && (len_after != len || memcmp(after, before, len)), "migrating %s changed nothing", V1_SNAPSHOT);
    for (int k = 0; k < N_COMPARED; k++) {
        char *out = NULL;
        int rc = proc_run(&out, "'%s' %s --db %s", moil_bin(), commands[k], path);
        CHECK(rc == 0 && !strcmp(out, read_out[k]), "%s prints otherwise on the migrated file (exit %d)", commands[k],
              rc);
        free(out);
    }
    for (int k = 0; k < N_COMMANDS; k++) free(read_out[k]);
    free(before);
    free(after);
}

/* An ok run of case name and seed whose only item scores are values[n] of
 * family on split test, the items ids (each followed by '\n'). */
static int write_items_run(Db *db, const char *name, int seed, const char *family, const char *ids, int n,
                           const double *values) {
    RunSpec s = {name, "5", "vqa", "full", seed, DB_OK, 0, 0};
    int64_t run;
    if (begin_run(db, &s, &run)) return -1;
    if (db_items_set(db, run, "test", family, n, ids, values)) return -1;
    return db_run_end(db, run, DB_OK, NULL, 1, -1);
}

#define PAIR_N 40

/* `moil db pair` against the statistics computed here from the recorded
 * scores: identical runs, a run 100 higher on every item, R@K from ranks,
 * a second database; refusals of differing item sets, missing runs and
 * scores; both files left as they were. */
static void test_pair(void) {
    char ids[PAIR_N * 8] = "", other_ids[PAIR_N * 8] = "";
    double vqa[PAIR_N], higher[PAIR_N], ranks_a[PAIR_N], ranks_b[PAIR_N], shifted[PAIR_N];
    static const double levels[] = {0, 30, 60, 90, 100};
    for (int i = 0; i < PAIR_N; i++) {
        snprintf(ids + strlen(ids), 8, "q%u\n", (unsigned char)i);
        snprintf(other_ids + strlen(other_ids), 8, "x%u\n", (unsigned char)i);
        vqa[i] = levels[(i * 7) % 5];
        higher[i] = vqa[i] + 100;
        ranks_a[i] = 1 + (i * 13) % 9;
        ranks_b[i] = 1 + (i * 5) % 7;
        shifted[i] = i % 3 ? vqa[i] : levels[(i * 3) % 5];
    }
    const char *path = tmp_path("pair.db"), *path_b = tmp_path("pair_b.db");
    Db *db = NULL;
    CHECK(db_open(path, &db) == 0 && write_items_run(db, "p1", 0, "vqa_score", ids, PAIR_N, vqa) == 0 &&
              write_items_run(db, "p2", 1, "vqa_score", ids, PAIR_N, vqa) == 0 &&
              write_items_run(db, "p3", 2, "vqa_score", ids, PAIR_N, higher) == 0 &&
              write_items_run(db, "p4", 0, "vqa_score", other_ids, PAIR_N, vqa) == 0 &&
              write_items_run(db, "p5", 0, "ir_rank", ids, PAIR_N, ranks_a) == 0 &&
              write_items_run(db, "p6", 1, "ir_rank", ids, PAIR_N, ranks_b) == 0 &&
              db_items_set(db, 6, "test", "tr_rank", PAIR_N, ids, ranks_a) == 0 && db_close(db) == 0,
          "%s", err_msg());
    CHECK(db_open(path_b, &db) == 0 && write_items_run(db, "b1", 7, "vqa_score", ids, PAIR_N, shifted) == 0 &&
              db_close(db) == 0, "%s", err_msg());
    size_t len, len_b, len_after;
    char *before = file_read_all(path, (size_t)1 << 24, &len), *before_b = file_read_all(path_b, (size_t)1 << 24, &len_b);
    static char out[8192];

    int rc = proc_moil(out, sizeof out, "db pair 1 2 --db %s", path);
    CHECK(rc == 0 && strstr(out, "run_a=1\nrun_b=2\n") && strstr(out, "metric=vqa_score\nitems=40\n") &&
              strstr(out, "\ndiff=0\ndiff_lo=0\ndiff_hi=0\np=1\nitems_differing=0\n"), "identical runs: exit %d: %s", rc,
          out);
    double mean = 0;
    for (int i = 0; i < PAIR_N; i++) mean += vqa[i] / PAIR_N;
    char expect[256];
    snprintf(expect, sizeof expect, "mean_a=%.6g\n", mean);
    CHECK(strstr(out, expect), "%s in %s", expect, out);

    /* every item 100 higher: every replicate's difference is 100, p 1 / (B + 1) */
    rc = proc_moil(out, sizeof out, "db pair 3 1 --db %s --metric vqa_score", path);
    snprintf(expect, sizeof expect, "\ndiff=100\ndiff_lo=100\ndiff_hi=100\np=%.6g\nitems_differing=40\n",
             1.0 / (STATS_BOOT_B + 1));
    CHECK(rc == 0 && strstr(out, expect), "100 higher: exit %d: %s", rc, out);

    /* R@3 from ranks, against the same statistics on the converted scores */
    double ra[PAIR_N], rb[PAIR_N], diff, lo, hi, p;
    int differing = 0;
    for (int i = 0; i < PAIR_N; i++) {
        ra[i] = ranks_a[i] <= 3 ? 100 : 0;
        rb[i] = ranks_b[i] <= 3 ? 100 : 0;
        differing += ra[i] != rb[i];
    }
    int64_t seed = 0;
    StatsCell ca = {1, PAIR_N, ra, &seed}, cb = {1, PAIR_N, rb, &seed};
    stats_boot_paired(&ca, &cb, STATS_BOOT_B, STATS_BOOT_SEED, &diff, &lo, &hi, &p);
    CHECK(p > 0 && p < 1 && diff != 0, "the fixture's ranks should differ: diff %g p %g", diff, p);
    snprintf(expect, sizeof expect, "\ndiff=%.6g\ndiff_lo=%.6g\ndiff_hi=%.6g\np=%.6g\nitems_differing=%d\n", diff, lo,
             hi, p, differing);
    rc = proc_moil(out, sizeof out, "db pair 5 6 --db %s --metric ir_rank --at 3", path);
    CHECK(rc == 0 && strstr(out, expect) && strstr(out, "metric=ir_rank@3\n"), "R@3: exit %d: %s\nexpected %s", rc,
          out, expect);

    /* across two databases */
    differing = 0;
    for (int i = 0; i < PAIR_N; i++) differing += vqa[i] != shifted[i];
    StatsCell c1 = {1, PAIR_N, vqa, &seed}, c2 = {1, PAIR_N, shifted, &seed};
    stats_boot_paired(&c1, &c2, STATS_BOOT_B, STATS_BOOT_SEED, &diff, &lo, &hi, &p);
    snprintf(expect, sizeof expect, "\ndiff=%.6g\ndiff_lo=%.6g\ndiff_hi=%.6g\np=%.6g\nitems_differing=%d\n", diff, lo,
             hi, p, differing);
    rc = proc_moil(out, sizeof out, "db pair 1 1 --db %s --db-b %s", path, path_b);
    CHECK(rc == 0 && differing > 0 && strstr(out, expect), "two files: exit %d: %s\nexpected %s", rc, out, expect);

    /* refusals */
    rc = proc_moil(out, sizeof out, "db pair 1 4 --db %s", path);
    CHECK(rc == 1 && strstr(out, "run 1 of ") && strstr(out, "run 4 of ") && strstr(out, path) &&
              strstr(out, "did not score the same items"), "different items: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db pair 1 99 --db %s", path);
    CHECK(rc == 1 && strstr(out, "no run 99") && strstr(out, path), "missing run: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db pair 1 2 --db %s --split val", path);
    CHECK(rc == 1 && strstr(out, "run 1 has no per-item scores on split 'val'") && strstr(out, path),
          "no scores: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db pair 1 5 --db %s", path);
    CHECK(rc == 1 && strstr(out, "run 5 has no per-item scores 'vqa_score'"), "no family: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db pair 6 5 --db %s", path);
    CHECK(rc == 1 && strstr(out, "(ir_rank, tr_rank)") && strstr(out, "--metric"), "two families: exit %d: %s", rc,
          out);
    rc = proc_moil(out, sizeof out, "db pair 5 6 --db %s --metric ir_rank", path);
    CHECK(rc == 1 && strstr(out, "--at K"), "rank without --at: exit %d: %s", rc, out);
    rc = proc_moil(out, sizeof out, "db pair 1 --db %s", path);
    CHECK(rc == 2 && strstr(out, "two run ids") && strstr(out, "usage: moil db pair"), "one run: exit %d: %s", rc, out);

    char *after = file_read_all(path, (size_t)1 << 24, &len_after);
    CHECK(before && after && len_after == len && !memcmp(after, before, len), "db pair wrote %s", path);
    free(after);
    after = file_read_all(path_b, (size_t)1 << 24, &len_after);
    CHECK(before_b && after && len_after == len_b && !memcmp(after, before_b, len_b), "db pair wrote %s", path_b);
    CHECK(!side_file(path, "-wal") && !side_file(path_b, "-wal"), "db pair left a -wal file");
    free(after), free(before), free(before_b);
}

/* DbTable helpers: projection and the four output formats on awkward text. */
static void test_table_formats(void) {
    const char *path = main_db();
    Db *db = NULL;
    CHECK(db_open_existing(path, &db) == 0, "%s", err_msg());
    if (!db) return;
    DbTable t;
    DbRunFilter f = {.run_id = 2};
    CHECK(db_select_runs(db, &f, &t) == 0 && t.n_rows == 1, "%s", err_msg());
    const char *const keep[] = {"config_json", "key_value", "wall_s"};
    CHECK(db_table_keep(&t, keep, 3) == 0 && t.n_cols == 3, "%s", err_msg());
    const char *const bad[] = {"nope"};
    CHECK(db_table_keep(&t, bad, 1) == -1 && strstr(err_msg(), "no column 'nope'"), "%s", err_msg());
    CHECK(!strcmp(db_table_get(&t, 0, "key_value"), "0.625") && !db_table_get(&t, 0, "nope"), "cells");
    char *cell = t.cells[0];
    t.cells[0] = xstrdup("a\tb|c\nd\\e");
    free(cell);
    char buf[4][512];
    static const DbFormat formats[] = {DB_FORMAT_TEXT, DB_FORMAT_CSV, DB_FORMAT_TSV, DB_FORMAT_MD};
    for (int k = 0; k < 4; k++) {
        FILE *m = fmemopen(buf[k], sizeof buf[k], "w");
        CHECK(m && db_table_write(&t, formats[k], m) == 0, "format %d", k);
        if (m) fclose(m);
    }
    CHECK(!strcmp(buf[1], "config_json,key_value,wall_s\n\"a\tb|c\nd\\e\",0.625,2.5\n"), "csv: %s", buf[1]);
    CHECK(!strcmp(buf[2], "config_json\tkey_value\twall_s\na\\tb|c\\nd\\\\e\t0.625\t2.5\n"), "tsv: %s", buf[2]);
    CHECK(!strcmp(buf[3], "| config_json | key_value | wall_s |\n| --- | --- | --- |\n| a\tb\\|c d\\e | 0.625 | 2.5 |\n"),
          "md: %s", buf[3]);
    CHECK(strstr(buf[0], "key_value") && strstr(buf[0], "d\\e    0.625      2.5\n"), "text: %s", buf[0]);
    db_table_free(&t);
    CHECK(db_close(db) == 0, "%s", err_msg());
}

int main(void) {
    if (!mkdtemp(tmp_dir)) die("%s: cannot create a temporary folder", tmp_dir);
    RUN(test_runs);
    RUN(test_show);
    RUN(test_pair);
    RUN(test_export);
    RUN(test_merge_equals_single);
    RUN(test_merge_rules);
    RUN(test_check);
    RUN(test_bad_files);
    RUN(test_readers_leave_file);
    RUN(test_table_formats);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
