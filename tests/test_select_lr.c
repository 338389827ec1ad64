/* The learning-rate selection on validation data (scripts/select_lr.sh,
 * docs/recipe.md): a tiny sweep_lr table run by run_all.sh evaluates on the
 * validation split only (no run of it has a test score), the script marks
 * each method's best validation mean per task, and --write puts exactly those rates
 * into the profile's 'method' lines of profiles.conf, leaving other
 * profiles' lines and everything else as they were. */
#include <string.h>

#include "check.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_select_lr_XXXXXX";
#include "tmp_path.h"

static const char profiles_conf[] =
    "# a comment that stays\n"
    "profile | tiny | tiny | 0 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 4 --batch 4 --eval-limit 20\n"
    "method | other | heads | --lr 7e-3\n"
    "method | tiny  | heads | --lr 9e-9\n"
    "# after the method lines\n";
static const char sweep_exp[] =
    "title | Test selection\n"
    "column | VQA (val) | vqa | val | vqa_score |\n"
    "column | Recall (val) | retrieval | val | recall_mean |\n"
    "row | heads 1e-3 | | | --method heads --lr 1e-3 --eval-split val\n"
    "row | heads 1e-1 | | | --method heads --lr 1e-1 --eval-split val\n"
    "row | bitfit 1e-4 | | | --method bitfit --lr 1e-4 --eval-split val\n"
    "row | bitfit 1e-1 | | | --method bitfit --lr 1e-1 --eval-split val\n";

static char out[1 << 16];

/* The rate of method's best validation score on task (metric), by SQL over
 * the runs (the smaller rate on ties); 0 if none. */
static double best_rate(const char *db, const char *task, const char *metric, const char *method) {
    char sql[700];
    snprintf(sql, sizeof sql,
             "SELECT json_extract(r.config_json, '$.lr') * 1e9 FROM runs r JOIN metrics m ON m.run_id = r.id "
             "WHERE r.table_id = 'sweep_lr' AND r.task = '%s' AND r.method = '%s' AND m.split = 'val' AND "
             "m.name = '%s' ORDER BY m.value DESC, json_extract(r.config_json, '$.lr') ASC LIMIT 1",
             task, method, metric);
    return sql_int(db, sql) / 1e9;
}

static void test_selection(void) {
    CHECK(proc_run_into(out, sizeof out, "mkdir -p %s", tmp_path("exp")) == 0, "%s", out);
    CHECK(file_write_atomic(tmp_path("exp/profiles.conf"), profiles_conf, strlen(profiles_conf)) == 0, "%s", err_msg());
    CHECK(file_write_atomic(tmp_path("exp/sweep_lr.exp"), sweep_exp, strlen(sweep_exp)) == 0, "%s", err_msg());
    int rc = proc_run_into(out, sizeof out, "./run_all.sh --no-make --experiments %s --work %s --profile tiny --jobs 2",
                           tmp_path("exp"), tmp_path("w"));
    CHECK(rc == 0, "run_all: status %d:\n%s", rc, out);
    const char *db = tmp_path("w/results/moil.db");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE table_id = 'sweep_lr' AND status = 'ok'") == 8, "8 runs");
    CHECK(sql_int(db, "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id "
                      "WHERE r.table_id = 'sweep_lr' AND m.split LIKE 'test%'") == 0,
          "a selection run has a test score");
    double heads = best_rate(db, "vqa", "vqa_score", "heads"), bitfit = best_rate(db, "vqa", "vqa_score", "bitfit");
    double heads_r = best_rate(db, "retrieval", "recall_mean", "heads");
    double bitfit_r = best_rate(db, "retrieval", "recall_mean", "bitfit");
    CHECK(heads > 0 && bitfit > 0 && heads_r > 0 && bitfit_r > 0, "no validation scores: %g %g %g %g", heads, bitfit,
          heads_r, bitfit_r);
    rc = proc_run_into(out, sizeof out, "scripts/select_lr.sh --db %s --profile tiny --experiments %s --write", db,
                       tmp_path("exp"));
    CHECK(rc == 0 && strstr(out, "methods=2") && strstr(out, "lines=4") && strstr(out, "written=1"),
          "select_lr: status %d:\n%s", rc, out);
    /* VQA's (the first column's) rate for every task, retrieval's for retrieval */
    char want[4][80];
    snprintf(want[0], sizeof want[0], "method | tiny | heads   | --lr %g\n", heads);
    snprintf(want[1], sizeof want[1], "method | tiny | bitfit  | --lr %g\n", bitfit);
    snprintf(want[2], sizeof want[2], "method | tiny | heads   | --lr %g | retrieval\n", heads_r);
    snprintf(want[3], sizeof want[3], "method | tiny | bitfit  | --lr %g | retrieval\n", bitfit_r);
    size_t len;
    char *conf = file_read_all(tmp_path("exp/profiles.conf"), 1 << 16, &len);
    CHECK(conf != NULL, "%s", err_msg());
    if (!conf) return;
    for (int i = 0; i < 4; i++) {
        CHECK(strstr(out, want[i]), "printed lines lack '%s':\n%s", want[i], out);
        CHECK(strstr(conf, want[i]), "profiles.conf lacks '%s':\n%s", want[i], conf);
    }
    CHECK(strstr(conf, "method | other | heads | --lr 7e-3\n") && !strstr(conf, "9e-9") &&
              strstr(conf, "# a comment that stays\n") && strstr(conf, "# after the method lines\n"),
          "profiles.conf otherwise changed:\n%s", conf);
    /* bitfit had no line: it follows the profile's last method line */
    const char *h = strstr(conf, want[0]), *b = strstr(conf, want[1]);
    CHECK(h && b && b > h && b < strstr(conf, "# after"), "bitfit's line not after heads':\n%s", conf);
    free(conf);
    rc = proc_run_into(out, sizeof out, "scripts/select_lr.sh --db %s --profile full", db);
    CHECK(rc == 1 && strstr(out, "no validation score"), "profile without runs: status %d:\n%s", rc, out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(test_selection);
    int failed = TEST_DONE();
    if (!failed) rm_tree(tmp_dir);
    return failed;
}
