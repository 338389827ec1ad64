/* profiles.conf's per-task, per-method and per-method-and-task argument
 * lines and where the expansion of a table puts them: after the profile's
 * fine-tuning arguments, before the table's and the row's (so a row's own
 * --lr still wins); its
 * backbone lines (a shipped backbone) and the malformed ones it refuses; a
 * table's compare line, which must name a row without a split suffix; a
 * table's seeds line, which limits one profile's runs of it to some of the
 * profile's seeds and names its file and line when a seed is not one. */
#include "test.h"

#include <unistd.h>

#include "check.h"
#include "report_experiment.h"

static char dir[] = "/tmp/moil_test_experiment_XXXXXX";

static const char *write_file(const char *name, const char *text) {
    static char path[2][600];
    static int slot;
    slot = !slot;
    snprintf(path[slot], sizeof path[slot], "%s/%s", dir, name);
    FILE *f = fopen(path[slot], "w");
    if (f) fputs(text, f), fclose(f);
    return path[slot];
}

static const char profiles[] = "profile | p | tiny | 0,1 | --steps 5 | --steps 3\n"
                               "task    | p | vqa  | --batch 4\n"
                               "method  | p | lora | --lr 1e-3\n"
                               "method  | p | lora | --lr 2e-3 | nlvr\n"
                               "method  | p | full | --lr 5e-4 | vqa\n"
                               "method  | q | lora | --lr 9\n";
static const char table[] = "title | T\n"
                            "column | VQA | vqa | test | vqa_score |\n"
                            "row | LoRA | | | --method lora --rank 4\n"
                            "row | LoRA fast | | | --method lora --lr 3e-3\n"
                            "row | Full | | | --method full\n";

static char *joined(const ExpCell *c) { return experiment_args_join(&c->args); }

static void test_method_args_follow_task_args(void) {
    ExpProfile p;
    ExpTable t;
    CHECK(experiment_profile_read(write_file("profiles.conf", profiles), "p", &p) == 0, "%s", err_msg());
    CHECK(experiment_table_read(write_file("t.exp", table), &t) == 0, "%s", err_msg());
    ExpCell *cells = NULL;
    int n = 0;
    CHECK(experiment_expand(&t, &p, "D", "I", &cells, &n) == 0, "%s", err_msg());
    CHECK(n == 6, "3 rows x 2 seeds, got %d cells", n);
    const char *want[3] = {
        "--task vqa --seed 0 --data D --init I --steps 3 --batch 4 --lr 1e-3 --method lora --rank 4",
        "--task vqa --seed 0 --data D --init I --steps 3 --batch 4 --lr 1e-3 --method lora --lr 3e-3",
        "--task vqa --seed 0 --data D --init I --steps 3 --batch 4 --lr 5e-4 --method full",
    };
    for (int r = 0; r < 3 && n == 6; r++) {
        char *got = joined(&cells[2 * r]);
        CHECK(!strcmp(got, want[r]), "row %d: '%s', expected '%s'", r, got, want[r]);
        free(got);
    }
    if (n) experiment_cells_free(cells, n);
    /* the figure runs' arguments (moil table plan's "figure" lines) */
    ExpArgs fig = {0, NULL};
    experiment_profile_args(&p, "vqa", "lora", &fig);
    char *got = experiment_args_join(&fig);
    CHECK(!strcmp(got, "--steps 3 --batch 4 --lr 1e-3"), "figure args '%s'", got);
    free(got);
    experiment_args_free(&fig);
    /* a method's line for one task follows its line for every task */
    ExpArgs nlvr = {0, NULL};
    experiment_profile_args(&p, "nlvr", "lora", &nlvr);
    got = experiment_args_join(&nlvr);
    CHECK(!strcmp(got, "--steps 3 --lr 1e-3 --lr 2e-3"), "nlvr args '%s'", got);
    free(got);
    experiment_args_free(&nlvr);
    experiment_table_free(&t);
    experiment_profile_free(&p);
}

static void test_method_given_twice_is_an_error(void) {
    ExpProfile p;
    const char *path = write_file("twice.conf", "profile | p | tiny | 0 | | --steps 3\n"
                                                "method | p | lora | --lr 1e-3\n"
                                                "method | p | lora | --lr 3e-3\n");
    CHECK(experiment_profile_read(path, "p", &p) != 0, "a method given twice was accepted");
    CHECK(strstr(err_msg(), "twice.conf") && strstr(err_msg(), "lora"), "message: %s", err_msg());
    path = write_file("twice.conf", "profile | p | tiny | 0 | | --steps 3\n"
                                    "method | p | lora | --lr 1e-3 | vqa\n"
                                    "method | p | lora | --lr 3e-3 | vqa\n");
    CHECK(experiment_profile_read(path, "p", &p) != 0, "a method's task line given twice was accepted");
    CHECK(strstr(err_msg(), "lora@vqa"), "message: %s", err_msg());
}

static void test_backbone_lines(void) {
    ExpProfile p;
    const char *path = write_file("shipped.conf", "profile | p | tiny | 0 | | --steps 3\n"
                                                  "profile | q | tiny | 0 | | --steps 3\n"
                                                  "backbone | p | vilt | backbones/v.safetensors | 0123456789abcdef\n"
                                                  "backbone | q | vlmo | other.safetensors | fedcba9876543210\n");
    CHECK(experiment_profile_read(path, "p", &p) == 0, "%s", err_msg());
    const ExpShipped *s = experiment_shipped(&p, "vilt");
    CHECK(s && !strcmp(s->file, "backbones/v.safetensors") && !strcmp(s->hash, "0123456789abcdef"), "vilt shipped");
    CHECK(p.n_shipped == 1 && !experiment_shipped(&p, "vlmo"), "q's line kept for p");
    experiment_profile_free(&p);
    const char *bad[] = {
        "backbone | p | vilt | v.safetensors | 0123456789ABCDEF\n", /* not lowercase hex */
        "backbone | p | vilt | v.safetensors | 0123456789abcde\n",  /* 15 digits */
        "backbone | p | vilt | | 0123456789abcdef\n",               /* no file */
        "backbone | p | bert | v.safetensors | 0123456789abcdef\n", /* no such model */
        "backbone | p | vilt | v.safetensors\n",                    /* no hash */
        "backbone | p | vilt | a.safetensors | 0123456789abcdef\n"
        "backbone | p | vilt | b.safetensors | 0123456789abcdef\n", /* twice */
    };
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof text, "profile | p | tiny | 0 | | --steps 3\n%s", bad[i]);
        CHECK(experiment_profile_read(write_file("bad.conf", text), "p", &p) != 0, "accepted:\n%s", bad[i]);
        CHECK(strstr(err_msg(), "bad.conf:"), "message: %s", err_msg());
    }
}

/* The full profile of experiments/profiles.conf evaluates with power (issue
 * 20: tests/test_gen.c checks that its dataset holds these): retrieval 200
 * images re-ranked from a shortlist, VQA 5,000 questions, NLVR 2,000 pairs;
 * quick keeps its small sets and ranks every pair. */
static void test_full_profile_test_sets(void) {
    ExpProfile full, quick;
    if (experiment_profile_read("experiments/profiles.conf", "full", &full) != 0) {
        CHECK(0, "%s", err_msg());
        return;
    }
    static const struct {
        const char *task, *eval_limit, *shortlist;
    } want[] = {{"retrieval", "200", "32"}, {"vqa", "5000", NULL}, {"nlvr", "2000", NULL}, {"caption", "1000", NULL}};
    for (int i = 0; i < 4; i++) {
        ExpArgs a = {0};
        experiment_profile_args(&full, want[i].task, "lora", &a);
        const char *limit = experiment_args_last(&a, "--eval-limit"), *sl = experiment_args_last(&a, "--shortlist");
        CHECK(limit && !strcmp(limit, want[i].eval_limit), "full %s: --eval-limit %s", want[i].task,
              limit ? limit : "(none)");
        CHECK(want[i].shortlist ? sl && !strcmp(sl, want[i].shortlist) : !sl, "full %s: --shortlist %s",
              want[i].task, sl ? sl : "(none)");
        experiment_args_free(&a);
    }
    experiment_profile_free(&full);
    CHECK(experiment_profile_read("experiments/profiles.conf", "quick", &quick) == 0, "%s", err_msg());
    ExpArgs a = {0};
    experiment_profile_args(&quick, "retrieval", "lora", &a);
    const char *limit = experiment_args_last(&a, "--eval-limit");
    CHECK(limit && atoi(limit) <= 50 && !experiment_args_last(&a, "--shortlist"), "quick retrieval: %s",
          limit ? limit : "(no limit)");
    experiment_args_free(&a);
    experiment_profile_free(&quick);
}

static void test_compare_row(void) {
    ExpTable t;
    static const char ok[] = "title | T\ncolumn | VQA | vqa | test | vqa_score |\ncompare | Full\n"
                             "row | LoRA | | | --method lora\nrow | Full | | | --method full\n"
                             "row | Full, EMA | | @ema | --method full\n";
    CHECK(experiment_table_read(write_file("t.exp", ok), &t) == 0 && t.compare_row && !strcmp(t.compare_row, "Full"),
          "%s", err_msg());
    experiment_table_free(&t);
    static const char *const bad[] = {"compare | Nobody\n", "compare | Full, EMA\n", "compare\n"};
    for (int i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text, "title | T\ncolumn | VQA | vqa | test | vqa_score |\n%s"
                                    "row | Full | | | --method full\nrow | Full, EMA | | @ema | --method full\n",
                 bad[i]);
        CHECK(experiment_table_read(write_file("t.exp", text), &t) != 0 && strstr(err_msg(), "t.exp"),
              "accepted: %s (%s)", bad[i], err_msg());
    }
}

/* The cells' seeds of table text in profile p (0,1,2): 0 when the
 * expansion fails, else the number of cells, their seeds in seeds[]. */
static int expand_seeds(const char *text, int64_t seeds[8]) {
    ExpProfile p;
    ExpTable t;
    int n = 0;
    if (experiment_profile_read(write_file("profiles.conf", "profile | p | tiny | 0,1,2 | | --steps 3\n"
                                                            "profile | q | tiny | 0,1,2 | | --steps 3\n"),
                                "p", &p) != 0)
        return 0;
    if (experiment_table_read(write_file("t.exp", text), &t) == 0) {
        ExpCell *cells = NULL;
        if (experiment_expand(&t, &p, "D", "I", &cells, &n) != 0) n = 0;
        for (int i = 0; i < n && i < 8; i++) seeds[i] = cells[i].seed;
        if (n) experiment_cells_free(cells, n);
        experiment_table_free(&t);
    }
    experiment_profile_free(&p);
    return n;
}

static void test_seeds_line(void) {
    int64_t seeds[8];
    static const char head[] = "title | T\ncolumn | VQA | vqa | val | vqa_score |\nrow | LoRA | | | --method lora\n";
    char text[512];
    snprintf(text, sizeof text, "%s", head);
    int n = expand_seeds(text, seeds);
    CHECK(n == 3 && seeds[0] == 0 && seeds[2] == 2, "no seeds line: %d cells (%s)", n, err_msg());
    snprintf(text, sizeof text, "%sseeds | p | 2, 0\n", head);
    n = expand_seeds(text, seeds);
    CHECK(n == 2 && seeds[0] == 0 && seeds[1] == 2, "seeds | p | 2,0: %d cells (%s)", n, err_msg());
    snprintf(text, sizeof text, "%sseeds | q | 1\n", head); /* another profile's line */
    n = expand_seeds(text, seeds);
    CHECK(n == 3, "seeds | q | 1 limited profile p: %d cells", n);
    /* a seed the profile lacks: refused with the line's file and number */
    snprintf(text, sizeof text, "%s# why\nseeds | p | 0,3\n", head);
    CHECK(expand_seeds(text, seeds) == 0 && strstr(err_msg(), "t.exp:5:") && strstr(err_msg(), "seed 3"),
          "seed 3 of 0,1,2 accepted: %s", err_msg());
    static const struct {
        const char *lines, *where;
    } bad[] = {{"seeds | p | 0,0\n", "t.exp:4:"},
               {"seeds | p | x\n", "t.exp:4:"},
               {"seeds | p |\n", "t.exp:4:"},
               {"seeds | p\n", "t.exp:4:"},
               {"seeds | p | 0\nseeds | p | 1\n", "t.exp:5:"}};
    for (int i = 0; i < 5; i++) {
        ExpTable t;
        snprintf(text, sizeof text, "%s%s", head, bad[i].lines);
        CHECK(experiment_table_read(write_file("t.exp", text), &t) != 0 && strstr(err_msg(), bad[i].where),
              "accepted: %s (%s)", bad[i].lines, err_msg());
    }
}

/* experiments/sweep_lr.exp runs seed 0 only in the full profile (a
 * selection on validation data); the main table keeps the profile's 3. */
static void test_sweep_lr_full_seed_0(void) {
    ExpProfile full;
    ExpTable sweep, main_table;
    if (experiment_profile_read("experiments/profiles.conf", "full", &full) != 0) {
        CHECK(0, "%s", err_msg());
        return;
    }
    if (experiment_table_read("experiments/sweep_lr.exp", &sweep) == 0) {
        ExpCell *cells = NULL;
        int n = 0, others = 0;
        CHECK(experiment_expand(&sweep, &full, "D", "I", &cells, &n) == 0, "%s", err_msg());
        for (int i = 0; i < n; i++) others += cells[i].seed != 0;
        CHECK(n == 2 * sweep.n_rows && !others, "sweep_lr full: %d cells for %d rows, %d not seed 0", n,
              sweep.n_rows, others);
        if (n) experiment_cells_free(cells, n);
        experiment_table_free(&sweep);
    } else {
        CHECK(0, "%s", err_msg());
    }
    if (experiment_table_read("experiments/main.exp", &main_table) == 0) {
        ExpCell *cells = NULL;
        int n = 0, seed2 = 0;
        CHECK(experiment_expand(&main_table, &full, "D", "I", &cells, &n) == 0, "%s", err_msg());
        for (int i = 0; i < n; i++) seed2 += cells[i].seed == 2;
        CHECK(n > 0 && 3 * seed2 == n, "main full: %d cells, %d of seed 2", n, seed2);
        if (n) experiment_cells_free(cells, n);
        experiment_table_free(&main_table);
    } else {
        CHECK(0, "%s", err_msg());
    }
    experiment_profile_free(&full);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_method_args_follow_task_args);
    RUN(test_method_given_twice_is_an_error);
    RUN(test_backbone_lines);
    RUN(test_full_profile_test_sets);
    RUN(test_compare_row);
    RUN(test_seeds_line);
    RUN(test_sweep_lr_full_seed_0);
    unlink(write_file("profiles.conf", "")), unlink(write_file("t.exp", "")), unlink(write_file("twice.conf", ""));
    unlink(write_file("shipped.conf", "")), unlink(write_file("bad.conf", ""));
    rmdir(dir);
    return TEST_DONE();
}
