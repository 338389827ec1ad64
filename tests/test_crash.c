/* Crash consistency: short pretraining runs SIGKILLed at random moments.
 * After the kills: `moil db check` finds nothing wrong but the stale
 * 'running' row, `--fix` marks it killed, a rerun completes, no metric
 * or curve row is doubled, and every checkpoint at its final path reads
 * back complete (writes go to a temporary name, fsync, rename). */
#include "check.h"
#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <time.h>

#define N_KILLS 16
#define RUN_ARGS "--d 16 --layers 1 --heads 2 --steps 20 --quiet"

static char dir[] = "/tmp/moil_test_crash_XXXXXX";
static char db[300], data[300], out[300];

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Start a pretraining run of seed 0 (--force: a run that finished before
 * its kill does not make the later ones skip) and send it sig after delay_s
 * seconds, or (delay_s < 0) -delay_s - 1 seconds after its 'running' row is
 * in the database; its pid. */
static pid_t run_and_kill(double delay_s, int sig, const char *steps) {
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(moil_bin(), "moil", "pretrain", "--d", "16", "--layers", "1", "--heads", "2", "--steps", steps,
              "--quiet", "--force", "--seed", "0", "--data", data, "--db", db, "--out", out, (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0, "fork");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE status = 'running' AND pid = %d", (int)pid);
    struct timespec ts = {(time_t)delay_s, (long)((delay_s - (time_t)delay_s) * 1e9)}, poll = {0, 5000000};
    if (delay_s >= 0) nanosleep(&ts, NULL);
    for (double t0 = now_s(); delay_s < 0 && now_s() - t0 < 60 && sql_int(db, sql) != 1;) nanosleep(&poll, NULL);
    double after = -delay_s - 1;
    struct timespec then = {(time_t)after, (long)((after - (time_t)after) * 1e9)};
    if (delay_s < 0) nanosleep(&then, NULL);
    kill(pid, sig);
    int st;
    waitpid(pid, &st, 0);
    return pid;
}

/* Every file at a final path in out reads back; returns how many temporary
 * files (name.tmp.PID) a kill left behind. */
static int check_out_dir(void) {
    DIR *d = opendir(out);
    int tmp = 0;
    if (!d) return 0; /* killed before the folder was made */
    for (struct dirent *e; (e = readdir(d));) {
        if (strstr(e->d_name, ".tmp.")) {
            tmp++;
            continue;
        }
        const char *ext = strrchr(e->d_name, '.');
        if (!ext || strcmp(ext, ".safetensors")) continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", out, e->d_name);
        StFile f;
        int rc = safetensors_open(path, &f);
        CHECK(rc == 0, "a checkpoint at its final path is incomplete: %s", err_msg());
        if (rc == 0) safetensors_close(&f);
    }
    closedir(d);
    return tmp;
}

static void test_kill_runs(void) {
    char *o;
    /* a finished run of another seed: the duration to aim the kills at, and
     * the metrics a complete run has */
    double t0 = now_s();
    int rc = proc_run(&o, "%s pretrain " RUN_ARGS " --seed 1 --data %s --db %s --out %s/seed1", moil_bin(), data, db,
                      dir);
    double full_s = now_s() - t0;
    CHECK(rc == 0, "baseline run failed: %s", o);
    free(o);
    unsigned seed = 12345;
    int tmp_left = 0;
    for (int k = 0; k < N_KILLS; k++) {
        seed = seed * 1103515245u + 12345u;
        /* the last kill once the run is logged, so that its 'running' row is left */
        double delay = k == N_KILLS - 1 ? -1 : 0.02 + full_s * 1.1 * (double)(seed >> 8 & 0xffff) / 65536.0;
        run_and_kill(delay, SIGKILL, "20");
        tmp_left += check_out_dir();
    }
    printf("  %d kills within %.2fs (a full run), %d temporary files left\n", N_KILLS, full_s * 1.1, tmp_left);
    long long running = sql_int(db, "SELECT count(*) FROM runs WHERE status = 'running'");
    /* each run marks the rows of dead processes killed as it starts: only
     * the last kill's row is still 'running' */
    CHECK(running == 1, "%lld 'running' rows after the kills, expected 1", running);

    rc = proc_run(&o, "%s db check --db %s", moil_bin(), db);
    CHECK(strstr(o, "integrity=ok"), "integrity: %s", o);
    CHECK(out_int(o, "stale") == running, "stale=%d, %lld running rows", out_int(o, "stale"), running);
    CHECK(out_int(o, "problems") == running && rc == (running ? 1 : 0), "only the stale rows are problems: %s", o);
    free(o);
    rc = proc_run(&o, "%s db check --db %s --fix", moil_bin(), db);
    CHECK(rc == 0 && out_int(o, "fixed") == running, "--fix: %s", o);
    free(o);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'running'") == 0, "running rows left");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'killed'") >= running, "killed rows");

    rc = proc_run(&o, "%s pretrain " RUN_ARGS " --seed 0 --data %s --db %s --out %s", moil_bin(), data, db, out);
    CHECK(rc == 0, "rerun failed: %s", o);
    free(o);
    check_out_dir();
    char ck[400];
    snprintf(ck, sizeof ck, "%s/backbone.safetensors", out);
    StFile f;
    CHECK(safetensors_open(ck, &f) == 0, "rerun checkpoint: %s", err_msg());
    safetensors_close(&f);
    long long m1 = sql_int(db, "SELECT count(*) FROM metrics JOIN runs ON runs.id = run_id WHERE seed = 1");
    CHECK(m1 > 0 && sql_int(db, "SELECT count(*) FROM runs WHERE status = 'ok' AND seed = 0") >= 1, "no finished run");
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM runs WHERE status = 'ok' AND (SELECT count(*) FROM metrics WHERE run_id = runs.id) != %lld",
             m1);
    CHECK(sql_int(db, sql) == 0, "a finished run lacks metrics or has extra ones (a complete run has %lld)", m1);
    CHECK(sql_int(db, "SELECT count(*) FROM (SELECT 1 FROM metrics GROUP BY run_id, split, name HAVING count(*) > 1)") == 0,
          "doubled metric rows");
    CHECK(sql_int(db, "SELECT count(*) FROM (SELECT 1 FROM curves GROUP BY run_id, name, step HAVING count(*) > 1)") == 0,
          "doubled curve rows");
    rc = proc_run(&o, "%s db check --db %s", moil_bin(), db);
    CHECK(rc == 0 && out_int(o, "problems") == 0, "final check: %s", o);
    free(o);
}

/* SIGTERM (run_all.sh stopping its runs) part-way through training: the
 * row says 'killed' with the signal, never 'diverged', whichever part of a
 * step the signal lands in. */
static void test_sigterm_is_killed(void) {
    for (int k = 0; k < 6; k++) {
        pid_t pid = run_and_kill(-1 - 0.05 * k, SIGTERM, "100000");
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE pid = %d AND status = 'killed' AND error LIKE "
                 "'stopped by signal 15%%'", (int)pid);
        CHECK(sql_int(db, sql) == 1, "kill %d: the SIGTERMed run's row is not 'killed' by signal 15", k);
    }
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'diverged'") == 0, "a stopped run marked diverged");
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(data, sizeof data, "%s/tiny", dir);
    snprintf(out, sizeof out, "%s/seed0", dir);
    char *o;
    if (proc_run(&o, "%s data gen --profile tiny --quiet --out %s", moil_bin(), data) != 0) {
        printf("not ok setup: data gen failed: %s\n", o);
        return 1;
    }
    free(o);
    RUN(test_kill_runs);
    RUN(test_sigterm_is_killed);
    rm_tree(dir);
    return TEST_DONE();
}
