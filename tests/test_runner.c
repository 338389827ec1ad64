/* run_all.sh end to end on a tiny profile of two tables (written below into
 * a mkdtemp folder, with the tiny dataset and a 1-layer d=32 backbone):
 * a first run in two parallel jobs logs every run; rerunning does nothing;
 * --force redoes; a run killed with kill -9 mid-way is detected and redone;
 * the --list commands' shard databases merged equal a single-file run; the
 * rendered tables carry means with n (and intervals over the test items),
 * the best marked and the parameter shares; a foreign database file is refused with a clear error; tables
 * on the VLMo- and VinVL-style models get backbones of their own; a changed
 * backbone or dataset makes its runs todo again; the first run of each
 * retrieval first stage starts first. The commands run as
 * the built binary ($MOIL, else ./moil). */
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"

static char tmp_dir[] = "/tmp/moil_test_runner_XXXXXX";
#include "tmp_path.h"

/* Two tables: t_main (three methods on VQA and NLVR, MoIL's EMA teacher as a
 * variant row) and t_side (one run shared with t_main, one of its own). The
 * slow profile makes runs long enough to be killed mid-way. */
static const char profiles_conf[] =
    "profile | tiny | tiny | 0 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 3 --batch 4 --eval-limit 20\n"
    "profile | slow | tiny | 0 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 4000 --batch 4 --eval-limit 20\n"
    "regions | tiny | --steps 20\n";
static const char t_main_exp[] =
    "title | Test main\n"
    "reference | vilt\n"
    "column | VQA | vqa | test | vqa_score | vqav2\n"
    "column | NLVR | nlvr | test | accuracy | nlvr2\n"
    "average | Avg\n"
    "params\n"
    "row | Full | full | | --method full\n"
    "row | LoRA | lora | | --method lora --rank 4\n"
    "row | MoIL | moil | | --method moil --rank-lora 4 --rank-adapter 4\n"
    "row | MoIL EMA | | @ema | --method moil --rank-lora 4 --rank-adapter 4\n";
static const char t_side_exp[] =
    "title | Test side\n"
    "column | VQA | vqa | test | vqa_score |\n"
    "row | LoRA | | | --method lora --rank 4\n"
    "row | Heads | | | --method heads\n";

/* Tables on the two other models (written into a folder of their own,
 * exp_models, with t_side, so the other cases' counts stay as they are). */
static const char t_vlmo_exp[] =
    "title | Test VLMo\n"
    "model | vlmo\n"
    "column | VQA | vqa | test | vqa_score |\n"
    "row | LoRA | | | --method lora --rank 4\n";
static const char t_vinvl_exp[] =
    "title | Test VinVL\n"
    "model | vinvl\n"
    "column | CIDEr-D | caption | test | cider_d |\n"
    "row | LoRA | | | --method lora --rank 4\n";

/* A table whose only row is limited to the slow profile, on a model no other
 * table of its folder (exp_other, with t_side) uses. */
static const char t_slow_only_exp[] =
    "title | Test slow only\n"
    "model | vlmo\n"
    "column | VQA | vqa | test | vqa_score |\n"
    "row | LoRA | | | --method lora --rank 4 | slow\n";

/* A table of retrieval runs that re-rank a shortlist (its own folder,
 * exp_fs): two first stages, the test split's and the validation split's. */
static const char fs_profiles_conf[] =
    "profile | tiny | tiny | 0 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 3 --batch 4 --eval-limit 20\n"
    "task | tiny | retrieval | --batch 2 --shortlist 4\n";
static const char t_fs_exp[] =
    "title | Test first stages\n"
    "column | VQA | vqa | test | vqa_score |\n"
    "column | Recall | retrieval | test | recall_mean |\n"
    "row | Full | | | --method full\n"
    "row | Heads | | | --method heads\n"
    "row | Full val | | | --method full --eval-split val\n";

/* run_all.sh on work folder W (under tmp_dir) with the test experiments. */
static int run_all(char *out, size_t n, const char *work, const char *extra) {
    return proc_run_into(out, n, "./run_all.sh --no-make --experiments %s --work %s --profile %s", tmp_path("exp"),
                         tmp_path(work), extra);
}

/* The integer value of "name=" in out; -1 if absent. */
static long value_of(const char *out, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "\n%s=", name);
    const char *p = strstr(out, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static char *slurp(const char *path) {
    size_t len;
    char *s = file_read_all(path, 1 << 20, &len);
    return s ? s : xstrdup("");
}

static void write_experiments(void) {
    char out[256];
    CHECK(proc_run_into(out, sizeof out, "mkdir -p %s", tmp_path("exp")) == 0, "%s", out);
    CHECK(file_write_atomic(tmp_path("exp/profiles.conf"), profiles_conf, strlen(profiles_conf)) == 0, "%s", err_msg());
    CHECK(file_write_atomic(tmp_path("exp/t_main.exp"), t_main_exp, strlen(t_main_exp)) == 0, "%s", err_msg());
    CHECK(file_write_atomic(tmp_path("exp/t_side.exp"), t_side_exp, strlen(t_side_exp)) == 0, "%s", err_msg());
}

static char out[1 << 16];

/* Two jobs at once: seven distinct runs (t_side's LoRA is t_main's), each
 * logged with its metrics and curves, none left running. */
static void test_first_run_parallel(void) {
    int rc = run_all(out, sizeof out, "w", "tiny --jobs 2");
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    CHECK(value_of(out, "runs") == 7 && value_of(out, "ran") == 7 && value_of(out, "failed") == 0, "%s", out);
    CHECK(strstr(out, "[run 7 of 7]") && strstr(out, "ETA"), "progress lines:\n%s", out);
    CHECK(strstr(out, "t_main.md (0 cells missing)") && strstr(out, "t_side.md (0 cells missing)"), "%s", out);
    const char *db = tmp_path("w/results/moil.db");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE task != 'pretrain' AND status = 'ok'") == 7, "7 ok runs");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status != 'ok'") == 0, "nothing left running or failed");
    CHECK(sql_int(db, "SELECT count(*) FROM runs AS r WHERE task != 'pretrain' AND threads = 1 AND "
                      "(SELECT count(*) FROM metrics WHERE run_id = r.id AND split = 'test') > 0 AND "
                      "(SELECT count(*) FROM curves WHERE run_id = r.id) > 0 AND "
                      "(SELECT value FROM metrics WHERE run_id = r.id AND name = 'steps_done') = 3") == 7,
          "every run has its metrics and curves");
    CHECK(sql_int(db, "SELECT count(*) FROM run_keys") == 7, "every run tagged");
    CHECK(sql_int(db, "SELECT count(*) FROM table_main") == 0, "views answer (no table main here)");
    CHECK(sql_int(db, "SELECT count(*) FROM table_summary WHERE table_id = 't_main' AND n = 1") == 8,
          "4 rows x 2 columns");
    char *md = slurp(tmp_path("w/results/tables/tiny/t_main.md"));
    CHECK(strstr(md, "| MoIL EMA |") && strstr(md, "**") && strstr(md, " (1)"), "t_main.md:\n%s", md);
    CHECK(strstr(md, "Trainable %") && strstr(md, "Paper reference") && strstr(md, "ViLT-B/32 LoRA"), "%s", md);
    free(md);
    char *tex = slurp(tmp_path("w/results/tables/tiny/t_side.tex"));
    CHECK(strstr(tex, "\\begin{tabular}") && strstr(tex, "\\textbf{") && !strstr(tex, "Paper reference"), "%s", tex);
    free(tex);
}

static void test_rerun_does_nothing(void) {
    const char *db = tmp_path("w/results/moil.db");
    long long before = sql_int(db, "SELECT count(*) FROM runs");
    int rc = run_all(out, sizeof out, "w", "tiny --jobs 2");
    CHECK(rc == 0 && value_of(out, "ran") == 0 && value_of(out, "skipped") == 7, "status %d:\n%s", rc, out);
    CHECK(sql_int(db, "SELECT count(*) FROM runs") == before, "no new run rows");
    rc = run_all(out, sizeof out, "w", "tiny --list");
    CHECK(rc == 0 && out[0] == 0, "nothing to list:\n%s", out);
}

/* A run with validation curves (--eval-every, as the figure runs) is not a
 * repeat of the table's run of the same arguments: it is not skipped. */
static void test_eval_every_is_its_own_run(void) {
    char args[2048];
    snprintf(args, sizeof args,
             "finetune --task vqa --seed 0 --data %s --init %s --steps 3 --batch 4 --eval-limit 20 --method heads "
             "--db %s --quiet",
             tmp_path("w/datasets/data/tiny"), tmp_path("w/runs/tiny/pretrain/backbone.safetensors"),
             tmp_path("w/results/moil.db"));
    int rc = proc_moil(out, sizeof out, "%s --out %s", args, tmp_path("w/ev0"));
    CHECK(rc == 0 && strstr(out, "skipped=1"), "the table's run again is skipped: status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "%s --eval-every 2 --out %s", args, tmp_path("w/ev2"));
    CHECK(rc == 0 && !strstr(out, "skipped=1") && strstr(out, "run_id="), "status %d:\n%s", rc, out);
}

static void test_force_redoes(void) {
    int rc = run_all(out, sizeof out, "w", "tiny --table t_side --force");
    CHECK(rc == 0 && value_of(out, "ran") == 2, "status %d:\n%s", rc, out);
    CHECK(sql_int(tmp_path("w/results/moil.db"), "SELECT count(*) FROM runs WHERE task != 'pretrain'") == 10,
          "two more runs (after the 7, and test_eval_every_is_its_own_run's one)");
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* kill -9 run_all.sh and its running fine-tuning process: the run stays
 * 'running'; the next run_all.sh marks it killed and redoes it. */
static void test_killed_run_redone(void) {
    const char *db = tmp_path("w/results/moil.db");
    /* orphans of the killed runner come to this process, which reaps them:
     * a zombie would still look alive to the stale check */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    fflush(stdout);
    pid_t runner = fork();
    if (runner == 0) {
        int fd = open(tmp_path("slow.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("./run_all.sh", "run_all.sh", "--no-make", "--experiments", tmp_path("exp"), "--work", tmp_path("w"),
              "--profile", "slow", "--table", "t_side", "--jobs", "1", (char *)NULL);
        _exit(127);
    }
    CHECK(runner > 0, "fork failed");
    long long pid = -1;
    for (double t0 = now_s(); now_s() - t0 < 60 && pid <= 0; usleep(50000))
        if (access(db, F_OK) == 0)
            pid = sql_int(db, "SELECT coalesce(max(pid), 0) FROM runs WHERE status = 'running' AND task = 'vqa' "
                              "AND json_extract(config_json, '$.steps') = 4000");
    CHECK(pid > 0, "no running fine-tuning row appeared");
    if (pid <= 0) return;
    usleep(200000);
    kill(runner, SIGKILL);
    kill((pid_t)pid, SIGKILL);
    waitpid(runner, NULL, 0);
    for (double t0 = now_s(); now_s() - t0 < 5 && waitpid((pid_t)pid, NULL, WNOHANG) <= 0;) usleep(20000);
    long long running = sql_int(db, "SELECT count(*) FROM runs WHERE status = 'running'");
    CHECK(running == 1, "the killed run is left running: %lld running rows", running);
    int rc = run_all(out, sizeof out, "w", "slow --table t_side");
    CHECK(rc == 0 && strstr(out, "stale runs marked killed") && value_of(out, "ran") == 2, "status %d:\n%s", rc, out);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'killed'") == 1, "marked killed");
    CHECK(sql_int(db, "SELECT count(*) FROM runs AS k JOIN runs AS r ON r.config_hash = k.config_hash "
                      "AND r.status = 'ok' AND r.id > k.id WHERE k.status = 'killed'") == 1,
          "redone after the kill");
}

/* The --list commands, each logging to its own shard, merged into a fresh
 * database: the rendered tables equal those of the single-file run. */
static void test_list_merge_equals_single(void) {
    int rc = run_all(out, sizeof out, "m", "tiny --jobs 2 --prepare");
    CHECK(rc == 0, "prepare %d:\n%s", rc, out);
    rc = run_all(out, sizeof out, "m", "tiny --list");
    int lines = 0;
    for (const char *s = out; (s = strstr(s, " finetune ")); s++) lines++;
    CHECK(rc == 0 && lines == 7 && strstr(out, "results/shards/"), "status %d:\n%s", rc, out);
    CHECK(file_write_atomic(tmp_path("jobs.sh"), out, strlen(out)) == 0, "%s", err_msg());
    rc = proc_run_into(out, sizeof out, "sh %s && '%s' db merge %s/m/results/shards/*.db --into %s",
                       tmp_path("jobs.sh"), moil_bin(), tmp_dir, tmp_path("m/results/moil.db"));
    CHECK(rc == 0 && value_of(out, "shards") == 7 && value_of(out, "runs_added") == 7, "status %d:\n%s", rc, out);
    rc = run_all(out, sizeof out, "m", "tiny --jobs 2");
    CHECK(rc == 0 && value_of(out, "failed") == 0, "status %d:\n%s", rc, out);
    CHECK(sql_int(tmp_path("m/results/moil.db"), "SELECT count(*) FROM runs WHERE task != 'pretrain'") == 7,
          "the merged runs were reused, not redone");
    /* w's tables of profile tiny, rendered again now that other profiles ran */
    rc = proc_moil(out, sizeof out, "table render --table t_side --profile tiny --db %s --out %s",
                   tmp_path("w/results/moil.db"), tmp_path("w/results/tables/again"));
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    const char *names[] = {"tiny/t_main.md", "tiny/t_main.tex", "again/t_side.md"};
    for (int i = 0; i < 3; i++) {
        char a[128], b[128];
        snprintf(a, sizeof a, "w/results/tables/%s", names[i]);
        snprintf(b, sizeof b, "m/results/tables/%s", i < 2 ? names[i] : "tiny/t_side.md");
        char *x = slurp(tmp_path(a)), *y = slurp(tmp_path(b));
        CHECK(x[0] && !strcmp(x, y), "%s differs:\n%s\n---\n%s", names[i], x, y);
        free(x);
        free(y);
    }
}

static void test_foreign_database(void) {
    CHECK(file_write_atomic(tmp_path("foreign.db"), "not a database at all, just text\n", 33) == 0, "%s", err_msg());
    int rc = proc_moil(out, sizeof out, "table render --table t_main --db %s", tmp_path("foreign.db"));
    CHECK(rc == 1 && strstr(out, "foreign.db") && strstr(out, "moil table render:"), "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "table render --table nosuch --profile tiny --db %s",
                   tmp_path("w/results/moil.db"));
    CHECK(rc == 1 && strstr(out, "no table 'nosuch'"), "status %d:\n%s", rc, out);
}

/* Tables with `model | vlmo` and `model | vinvl` beside a vilt one: the plan
 * has the regions line (vinvl's first stage, with the profile's regions
 * arguments) and a pretrain line per model; each other backbone is
 * pretrained (with --model) under pretrain-<model>, and its table's run
 * starts from it; the vilt table's run keys are unchanged (its runs are
 * t_side's, already done in w). */
static void test_other_models(void) {
    int rc = proc_run_into(out, sizeof out, "mkdir -p %s && cp %s %s %s/", tmp_path("exp_models"),
                           tmp_path("exp/profiles.conf"), tmp_path("exp/t_side.exp"), tmp_path("exp_models"));
    CHECK(rc == 0, "%s", out);
    CHECK(file_write_atomic(tmp_path("exp_models/t_vlmo.exp"), t_vlmo_exp, strlen(t_vlmo_exp)) == 0, "%s",
          err_msg());
    CHECK(file_write_atomic(tmp_path("exp_models/t_vinvl.exp"), t_vinvl_exp, strlen(t_vinvl_exp)) == 0, "%s",
          err_msg());
    char db[512], w[512];
    snprintf(db, sizeof db, "%s", tmp_path("w/results/moil.db"));
    snprintf(w, sizeof w, "%s", tmp_path("w"));
    rc = proc_moil(out, sizeof out, "table plan --profile tiny --experiments %s --work %s --db %s",
                   tmp_path("exp_models"), w, db);
    const char *pre = "--d 32 --layers 1 --heads 2 --steps 5 --batch 8";
    char line[4][700];
    snprintf(line[0], sizeof line[0], "\nregions\t%s/datasets/data/tiny\t--steps 20\n", w);
    snprintf(line[1], sizeof line[1], "\npretrain\t%s/runs/tiny/pretrain\t%s\n", w, pre);
    snprintf(line[2], sizeof line[2], "\npretrain\t%s/runs/tiny/pretrain-vlmo\t%s --model vlmo\n", w, pre);
    snprintf(line[3], sizeof line[3], "\npretrain\t%s/runs/tiny/pretrain-vinvl\t%s --model vinvl\n", w, pre);
    CHECK(rc == 0 && strstr(out, line[0]) && strstr(out, line[1]) && strstr(out, line[2]) && strstr(out, line[3]) &&
              value_of(out, "todo") == 2 && value_of(out, "done") == 2,
          "status %d:\n%s", rc, out);
    char extra[700];
    snprintf(extra, sizeof extra, "tiny --experiments %s --jobs 2", tmp_path("exp_models"));
    rc = run_all(out, sizeof out, "w", extra);
    CHECK(rc == 0 && value_of(out, "ran") == 2 && value_of(out, "failed") == 0 && strstr(out, "== regions "),
          "status %d:\n%s", rc, out);
    const char *models[] = {"vlmo", "vinvl"};
    for (int m = 0; m < 2; m++) {
        char path[128], sql[600];
        snprintf(path, sizeof path, "w/runs/tiny/pretrain-%s/backbone.safetensors", models[m]);
        CHECK(access(tmp_path(path), F_OK) == 0, "no %s", path);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM runs WHERE task = 'pretrain' AND model = '%s' AND status = 'ok'", models[m]);
        CHECK(sql_int(db, sql) == 1, "the %s backbone's pretraining run", models[m]);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM runs AS r JOIN run_keys AS k ON k.config_hash = r.config_hash "
                 "WHERE r.table_id = 't_%s' AND r.model = '%s' AND r.status = 'ok' "
                 "AND k.args LIKE '%%pretrain-%s/backbone.safetensors%%'",
                 models[m], models[m], models[m]);
        CHECK(sql_int(db, sql) == 1, "the t_%s run starts from the %s backbone", models[m], models[m]);
    }
    CHECK(access(tmp_path("w/datasets/data/tiny/regions/regions.json"), F_OK) == 0, "no region folder");
    char *md = slurp(tmp_path("w/results/tables/tiny/t_vinvl.md"));
    /* one seed of 10 captioned images: the cell's interval over the images' CIDEr-D */
    CHECK(strstr(md, "| LoRA |") && strstr(md, "] (1 × 10) |"), "t_vinvl.md:\n%s", md);
    free(md);
}

/* A table none of whose rows runs in the profile is not part of it: the plan
 * leaves it and its model's backbone out, run_all.sh neither pretrains nor
 * renders it (it failed on rendering a table with no rows), and naming it is
 * an error that says why. */
static void test_table_of_other_profile(void) {
    char exp[512];
    snprintf(exp, sizeof exp, "%s", tmp_path("exp_other"));
    int rc = proc_run_into(out, sizeof out, "mkdir -p %s && cp %s %s %s/", exp, tmp_path("exp/profiles.conf"),
                           tmp_path("exp/t_side.exp"), exp);
    CHECK(rc == 0, "%s", out);
    CHECK(file_write_atomic(tmp_path("exp_other/t_slow_only.exp"), t_slow_only_exp, strlen(t_slow_only_exp)) == 0,
          "%s", err_msg());
    char db[512], w[512];
    snprintf(db, sizeof db, "%s", tmp_path("w/results/moil.db"));
    snprintf(w, sizeof w, "%s", tmp_path("w"));
    rc = proc_moil(out, sizeof out, "table plan --profile tiny --experiments %s --work %s --db %s", exp, w, db);
    CHECK(rc == 0 && value_of(out, "tables") == 1 && strstr(out, "\ntable\tt_side\t") && !strstr(out, "t_slow_only") &&
              !strstr(out, "pretrain-vlmo"),
          "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "table plan --profile tiny --table t_slow_only --experiments %s --work %s --db %s",
                   exp, w, db);
    CHECK(rc != 0 && strstr(out, "table t_slow_only has no row in profile tiny"), "status %d:\n%s", rc, out);
    char extra[700];
    snprintf(extra, sizeof extra, "tiny --experiments %s", exp);
    rc = run_all(out, sizeof out, "w", extra);
    CHECK(rc == 0 && value_of(out, "failed") == 0 && value_of(out, "ran") == 0 && strstr(out, "t_side.md") &&
              !strstr(out, "t_slow_only"),
          "status %d:\n%s", rc, out);
    CHECK(sql_int(db, "SELECT count(*) FROM table_layout WHERE table_id = 't_slow_only'") == 0, "no layout recorded");
}

/* The first run of each retrieval first stage (backbone, split) goes before
 * the others, in plan order; every run is listed once. */
static void test_first_stages_first(void) {
    int rc = proc_run_into(out, sizeof out, "mkdir -p %s", tmp_path("exp_fs"));
    CHECK(rc == 0, "%s", out);
    CHECK(file_write_atomic(tmp_path("exp_fs/profiles.conf"), fs_profiles_conf, strlen(fs_profiles_conf)) == 0 &&
              file_write_atomic(tmp_path("exp_fs/t_fs.exp"), t_fs_exp, strlen(t_fs_exp)) == 0,
          "%s", err_msg());
    rc = proc_run_into(out, sizeof out, "./run_all.sh --no-make --experiments %s --work %s --profile tiny --dry-run",
                       tmp_path("exp_fs"), tmp_path("w_fs"));
    const char *order[] = {"[t_fs/Full retrieval seed 0]", "[t_fs/Full val retrieval seed 0]",
                           "[t_fs/Full vqa seed 0]",       "[t_fs/Heads vqa seed 0]",
                           "[t_fs/Heads retrieval seed 0]", "[t_fs/Full val vqa seed 0]"};
    const char *at = out;
    for (int i = 0; i < 6 && at; i++) {
        char line[96];
        snprintf(line, sizeof line, "would run %s", order[i]);
        at = strstr(at, line);
        CHECK(at, "run %d is not %s:\n%s", i + 1, order[i], out);
    }
    CHECK(rc == 0 && strstr(out, "6 of 6 runs to do"), "status %d:\n%s", rc, out);
}

/* "profile tiny: N of M runs to do" of a --dry-run of t_side in w: N. */
static long t_side_todo(void) {
    int rc = run_all(out, sizeof out, "w", "tiny --table t_side --dry-run");
    const char *p = strstr(out, "profile tiny: ");
    return rc == 0 && p ? strtol(p + strlen("profile tiny: "), NULL, 10) : -1;
}

/* A run is done only for the backbone and the dataset it read: changed
 * backbone weights (its last data byte, a weight's sign and exponent) or a
 * changed dataset manifest make t_side's two runs todo again, and restoring
 * them makes them done. */
static void test_changed_inputs_redo(void) {
    char cmd[2048], o[1024];
    CHECK(t_side_todo() == 0, "t_side is done: %s", out);
    const char *files[] = {"w/runs/tiny/pretrain/backbone.safetensors", "w/datasets/data/tiny/manifest.json"};
    const char *change[] = {"printf '\\001' | dd of=%s bs=1 seek=$(($(stat -c %%s %s) - 1)) conv=notrunc 2>&1",
                            "printf ' ' >> %s"};
    for (int i = 0; i < 2; i++) {
        const char *f = tmp_path(files[i]);
        char edit[1200];
        snprintf(edit, sizeof edit, change[i], f, f);
        snprintf(cmd, sizeof cmd, "cp %s %s.keep && %s", f, f, edit);
        CHECK(proc_run_into(o, sizeof o, "%s", cmd) == 0, "%s: %s", cmd, o);
        CHECK(t_side_todo() == 2, "%s changed, its runs not redone: %s", files[i], out);
        snprintf(cmd, sizeof cmd, "mv %s.keep %s", f, f);
        CHECK(proc_run_into(o, sizeof o, "%s", cmd) == 0, "%s: %s", cmd, o);
        CHECK(t_side_todo() == 0, "%s restored, runs not done: %s", files[i], out);
    }
}

/* Makes started together in one tree (two run_all.sh at once, each building
 * first) all succeed: each writes the source revision header through a
 * temporary file of its own (before, they moved each other's away: 28 of 40
 * failed). The build folder (build, or build-san under SAN=1) is the one MOIL
 * was built in, named as the Makefile names it (relative to the tree). */
static void test_concurrent_makes(void) {
    int san = strstr(moil_bin(), "build-san/") != NULL;
    const char *build = san ? "build-san" : "build";
    char o[4096];
    int rc = proc_run_into(o, sizeof o,
                           "f=0; for r in 1 2 3 4 5; do pids=''; for i in 1 2 3 4 5 6 7 8; do "
                           "make -s %s %s/code_rev.h >/dev/null 2>&1 & pids=\"$pids $!\"; done; "
                           "for p in $pids; do wait $p || f=$((f+1)); done; done; echo failed=$f; "
                           "ls %s | grep -c '^code_rev.h.tmp'",
                           san ? "SAN=1" : "", build, build);
    CHECK(rc != 127 && strstr(o, "failed=0\n0\n"), "40 makes of %s/code_rev.h, 8 at a time:\n%s", build, o);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(write_experiments);
    RUN(test_first_run_parallel);
    RUN(test_rerun_does_nothing);
    RUN(test_eval_every_is_its_own_run);
    RUN(test_force_redoes);
    RUN(test_killed_run_redone);
    RUN(test_list_merge_equals_single);
    RUN(test_foreign_database);
    RUN(test_other_models);
    RUN(test_table_of_other_profile);
    RUN(test_changed_inputs_redo);
    RUN(test_first_stages_first);
    RUN(test_concurrent_makes);
    int failed = TEST_DONE();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (!failed && system(cmd) != 0) printf("could not remove %s\n", tmp_dir);
    return failed;
}
