/* Concurrency: N_PROCS processes log into one results database at once for
 * STRESS_S seconds each (their own run: curve points with flushes of varying
 * size, metrics, heartbeats), after all of them raced to start one shared
 * configuration. Every row arrives exactly once; exactly one process starts
 * the shared run. */
#include "check.h"
#include "db.h"
#include "proc.h"
#include "test.h"

#include <time.h>
#include <unistd.h>

#define N_PROCS 6
#define STRESS_S 3.0

static char dir[] = "/tmp/moil_test_db_stress_XXXXXX";
static char path[300];

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run_begin(Db *db, const char *name, int64_t seed, int64_t *run) {
    json_t *config = json_pack("{s:s,s:I}", "name", name, "seed", (json_int_t)seed);
    RunInfo info = {.task = "vqa", .model = "vilt", .method = name, .seed = seed, .config = config,
                    .code_rev = "unknown", .code_dirty = -1, .threads = 1, .params_trainable = -1,
                    .params_stored = -1, .params_backbone = -1};
    int rc = db_run_begin(db, &info, run);
    json_decref(config);
    return rc;
}

/* One writer: exit status 0 when every call succeeded; the number of curve
 * points is stored as metric "written" of its run. Bit 1 of the status: it
 * started the shared run. */
static int writer(int k, double t_end) {
    Db *db;
    int64_t shared, run;
    if (db_open(path, &db) != 0) return 10;
    int started = run_begin(db, "shared", 0, &shared);
    if (started < 0 || run_begin(db, "own", k, &run) != 0) return 11;
    int64_t step = 0;
    while (now_s() < t_end) {
        int n = 1 + (int)(step % 97); /* flushes of 1..97 points */
        for (int i = 0; i < n; i++, step++)
            if (db_curve_add(db, run, step, "train/loss", (double)k + 1e-6 * (double)step) != 0) return 12;
        if (db_flush(db) != 0 || db_metric_set(db, run, "val", "last_step", (double)step) != 0 ||
            db_run_heartbeat(db, run) != 0)
            return 13;
    }
    if (db_metric_set(db, run, "train", "written", (double)step) != 0 || db_run_end(db, run, DB_OK, NULL, 1, -1) != 0)
        return 14;
    if (started == 0 && db_run_end(db, shared, DB_OK, NULL, 1, -1) != 0) return 15;
    return db_close(db) != 0 ? 16 : started == 0 ? 1 : 0;
}

static void test_concurrent_writers(void) {
    Db *db;
    CHECK(db_open(path, &db) == 0, "%s", err_msg()); /* schema first, as a real first run would */
    db_close(db);
    double t_end = now_s() + STRESS_S;
    pid_t pids[N_PROCS];
    for (int k = 0; k < N_PROCS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) _exit(writer(k + 1, t_end));
        CHECK(pids[k] > 0, "fork");
    }
    int starters = 0;
    for (int k = 0; k < N_PROCS; k++) {
        int st;
        waitpid(pids[k], &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
        CHECK(code <= 1, "writer %d failed with status %d", k + 1, code);
        starters += code == 1;
    }
    CHECK(starters == 1, "%d processes started the shared run", starters);
    CHECK(sql_int(path, "SELECT count(*) FROM runs") == N_PROCS + 1, "runs");
    CHECK(sql_int(path, "SELECT count(*) FROM runs WHERE status = 'ok'") == N_PROCS + 1, "finished runs");
    /* per run: points 0..written-1, each once, with the value that writer gave it */
    CHECK(sql_int(path, "SELECT count(*) FROM runs r JOIN metrics m ON m.run_id = r.id AND m.name = 'written' "
                        "WHERE m.value != (SELECT count(*) FROM curves c WHERE c.run_id = r.id) "
                        "OR m.value - 1 != (SELECT max(step) FROM curves c WHERE c.run_id = r.id) "
                        "OR m.value != (SELECT value FROM metrics l WHERE l.run_id = r.id AND l.name = 'last_step')") == 0,
          "a run lost or doubled curve points");
    CHECK(sql_int(path, "SELECT count(*) FROM curves c JOIN runs r ON r.id = c.run_id "
                        "WHERE abs(c.value - (r.seed + 1e-6 * c.step)) > 1e-9") == 0,
          "a curve point holds another writer's value");
    long long points = sql_int(path, "SELECT count(*) FROM curves");
    CHECK(points > 1000, "only %lld points written", points);
    printf("  %d processes, %.0f s: %lld curve points\n", N_PROCS, STRESS_S, points);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/r.db", dir);
    RUN(test_concurrent_writers);
    rm_tree(dir);
    return TEST_DONE();
}
