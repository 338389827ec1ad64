/* scripts/rerun.sh: a recorded fine-tuning run (a tiny MoIL VQA run from a
 * tiny backbone, its arguments tagged as run_all.sh tags them) redone from a
 * clone of its commit gives the same config, metrics, curves, per-item
 * scores and weights, with the dataset and the backbone moved elsewhere
 * (--data, --init); an original whose score was changed afterwards is
 * reported as differing; the refusals name the database and the run; a
 * run without recorded arguments is redone from --args; the original
 * database is only read. The commands run as the built binary
 * ($MOIL, else ./moil). A run made from uncommitted code cannot be redone
 * from a commit: with such a working tree the comparisons are skipped. */
#include "test.h"

#include <unistd.h>

#include "check.h"
#include "proc.h"

static char tmp_dir[] = "/tmp/moil_test_rerun_XXXXXX";
#include "tmp_path.h"

static char out[1 << 16];
static char db[512];   /* the original run's database */
static int committed;  /* the run was made from committed code */

/* The tiny dataset and backbone, one MoIL VQA run on them, tagged with the
 * arguments that made it; then the dataset and backbone moved away, so the
 * rerun finds them only through --data and --init. */
static void make_run(void) {
    snprintf(db, sizeof db, "%s", tmp_path("orig.db"));
    char args[1024];
    snprintf(args, sizeof args,
             "--task vqa --seed 0 --data %s --init %s/backbone.safetensors --steps 6 --batch 4 --eval-limit 20 "
             "--method moil",
             tmp_path("data"), tmp_path("pre"));
    int rc = proc_moil(out, sizeof out, "data gen --profile tiny --quiet --out %s", tmp_path("data"));
    CHECK(rc == 0, "data gen: status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out,
                   "pretrain --d 32 --layers 1 --heads 2 --steps 5 --batch 8 --threads 1 --quiet --no-db --data %s "
                   "--out %s",
                   tmp_path("data"), tmp_path("pre"));
    CHECK(rc == 0, "pretrain: status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "finetune %s --threads 1 --quiet --out %s --db %s", args, tmp_path("orig"), db);
    CHECK(rc == 0, "finetune: status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "table tag --db %s --key k1 --run 1 --args '%s'", db, args);
    CHECK(rc == 0, "table tag: status %d:\n%s", rc, out);
    rc = proc_run_into(out, sizeof out, "mv %s %s && mv %s %s", tmp_path("data"), tmp_path("data2"), tmp_path("pre"),
                       tmp_path("pre2"));
    CHECK(rc == 0, "%s", out);
    committed = sql_int(db, "SELECT count(*) FROM runs WHERE id = 1 AND code_dirty = 0 AND code_rev != 'unknown'") == 1;
    if (!committed)
        printf("skipped: the run was made from uncommitted code (code_dirty), which no commit holds; commit to "
               "compare a rerun\n");
}

/* Redone from a clone of its commit, the dataset and backbone at their new
 * paths: the same numbers, byte for byte the same database file after, with
 * no -wal or -shm beside it. The
 * numeric environment may differ (under SAN=1 the original ran from the
 * sanitizer build, the clone builds the plain one; both sum in one order,
 * docs/testing.md): it is reported, not compared. */
static void test_identical(void) {
    if (!committed) return;
    char before[17], after[17], side[600];
    CHECK(file_hash_fnv1a(db, before) == 0, "%s", err_msg());
    /* the side files this test's own read-only queries (sql_int) left, empty:
     * no writer has the file open */
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    int rc = proc_run_into(out, sizeof out,
                           "scripts/rerun.sh 1 --db %s --out %s --data %s --init %s/backbone.safetensors --weights "
                           "%s/model.safetensors",
                           db, tmp_path("re1"), tmp_path("data2"), tmp_path("pre2"), tmp_path("orig"));
    CHECK(rc == 0 && strstr(out, "\nconfig=same\n") && strstr(out, "\nweights=same ") &&
              strstr(out, "\nverdict=identical\n"),
          "status %d:\n%s", rc, out);
    const char *names[] = {"metrics=", "curves=", "item_scores="};
    for (int i = 0; i < 3; i++) {
        const char *p = strstr(out, names[i]);
        int same = -1, total = -2;
        if (p) sscanf(p + strlen(names[i]), "%d/%d", &same, &total);
        CHECK(same == total && total > 0, "%s%d/%d", names[i], same, total);
    }
    CHECK(file_hash_fnv1a(db, after) == 0 && !strcmp(before, after), "the original database changed");
    snprintf(side, sizeof side, "%s-wal", db);
    CHECK(access(side, F_OK) != 0, "a -wal was left beside the original");
    snprintf(side, sizeof side, "%s-shm", db);
    CHECK(access(side, F_OK) != 0, "a -shm was left beside the original");
}

/* The original's VQA score changed afterwards: one metric differs, status 1;
 * the checkout of the first rerun is reused (--src), not cloned again. */
static void test_differs(void) {
    if (!committed) return;
    long long n = sql_int(db, "SELECT count(*) FROM metrics WHERE run_id = 1 AND name NOT LIKE '%seconds'");
    int rc = proc_run_into(out, sizeof out,
                           "sqlite3 %s \"UPDATE metrics SET value = value + 1 WHERE run_id = 1 AND split = 'test' "
                           "AND name = 'vqa_score'\"",
                           db);
    CHECK(rc == 0, "%s", out);
    rc = proc_run_into(out, sizeof out, "scripts/rerun.sh 1 --db %s --out %s --src %s --data %s --init %s/backbone.safetensors",
                       db, tmp_path("re2"), tmp_path("re1/src"), tmp_path("data2"), tmp_path("pre2"));
    char want[64];
    snprintf(want, sizeof want, "\nmetrics=%lld/%lld\n", n - 1, n);
    CHECK(rc == 1 && strstr(out, want) && strstr(out, "\nverdict=differs\n") && strstr(out, "\nweights=none\n") &&
              !strstr(out, "cloning"),
          "status %d (want %s):\n%s", rc, want + 1, out);
}

/* Refused, status 2, naming what is wrong: no such run, a run without
 * recorded arguments, one from uncommitted code, a --src that is no
 * checkout, an --out that already holds a rerun (each case's database
 * change made before it). */
static void test_refusals(void) {
    struct {
        const char *setup, *args, *want;
        int names_db; /* the message names the database */
    } c[] = {
        {"", "99", "no run 99", 1},
        {"UPDATE runs SET code_dirty = 1", "1", "uncommitted changes", 1},
        {"UPDATE runs SET code_dirty = 0", "1 --src /tmp", "/tmp: not a git checkout", 0},
        {"", "1 --out RE2", "re2/rerun.db exists", 0},
        {"DELETE FROM run_keys", "1", "no recorded arguments", 1},
    };
    char o[1024];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (*c[i].setup) {
            int rc = proc_run_into(o, sizeof o, "sqlite3 %s \"%s\"", db, c[i].setup);
            CHECK(rc == 0, "%s: %s", c[i].setup, o);
        }
        char a[512];
        snprintf(a, sizeof a, "%s", c[i].args);
        if (strstr(a, "RE2")) snprintf(a, sizeof a, "1 --out %s", tmp_path("re2"));
        if (!committed && strstr(a, "--out")) continue; /* re2 exists only after test_differs */
        int rc = proc_run_into(out, sizeof out, "scripts/rerun.sh %s --db %s", a, db);
        CHECK(rc == 2 && strstr(out, c[i].want) && (!c[i].names_db || strstr(out, db)),
              "case %zu: status %d:\n%s", i, rc, out);
    }
}

/* A run without recorded arguments (run_keys emptied by the last refusal)
 * redone from arguments given by hand: those that made it give its config
 * (its score still the one changed above: one metric differs); a step
 * fewer shows in the config's keys (steps, and MoIL's automatic momentum,
 * which follows the length). */
static void test_args(void) {
    if (!committed) return;
    long long n = sql_int(db, "SELECT count(*) FROM metrics WHERE run_id = 1 AND name NOT LIKE '%seconds'");
    for (int k = 0; k < 2; k++) {
        char args[1024], dir[16];
        snprintf(args, sizeof args,
                 "--task vqa --seed 0 --data %s --init %s/backbone.safetensors --steps %d --batch 4 --eval-limit 20 "
                 "--method moil",
                 tmp_path("data2"), tmp_path("pre2"), k ? 5 : 6);
        snprintf(dir, sizeof dir, "re%d", 3 + k);
        int rc = proc_run_into(out, sizeof out, "scripts/rerun.sh 1 --db %s --out %s --src %s --args '%s'", db,
                               tmp_path(dir), tmp_path("re1/src"), args);
        char want[64];
        snprintf(want, sizeof want, "\nmetrics=%lld/%lld\n", n - 1, n);
        if (k == 0)
            CHECK(rc == 1 && strstr(out, "\nconfig=same\n") && strstr(out, want), "status %d (want %s):\n%s", rc,
                  want + 1, out);
        else
            CHECK(rc == 1 && strstr(out, "\nconfig=differs: ") && strstr(out, "steps\nnumeric_env=") &&
                      strstr(out, "\nverdict=differs\n"),
                  "status %d:\n%s", rc, out);
    }
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(make_run);
    RUN(test_identical);
    RUN(test_differs);
    RUN(test_refusals);
    RUN(test_args);
    int failed = TEST_DONE();
    if (!failed) rm_tree(tmp_dir);
    return failed;
}
