/* `moil table plan|tag|render|compare|claims`: the experiment runner's
 * commands. plan expands experiments/ into runs and records the table
 * layouts in the results database; tag records which run a runner key made;
 * render writes a table from the database alone (table 6, inference, from
 * the latest `moil bench-infer` run); compare writes one table of two
 * databases (two editions of a profile) cell by cell; claims writes the
 * paper's claims with the row comparisons that test them. run_all.sh drives
 * plan, tag, render and claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "db.h"
#include "method.h"
#include "report_claims.h"
#include "report_compare.h"
#include "report_experiment.h"
#include "report_inference.h"
#include "report_layout.h"
#include "report_table.h"
#include "run_inputs.h"

#define MAX_TABLES 64

static const char plan_usage[] =
    "usage: moil table plan [--profile P] [--table ID]... [--experiments DIR] [--work DIR] [--db PATH]\n"
    "\n"
    "Expands the tables of DIR (default experiments; every <id>.exp, or the --table\n"
    "ones) in profile P (default quick; profiles in DIR/profiles.conf) into their\n"
    "fine-tuning runs, records each table's layout and cells in the results\n"
    "database (default " DB_DEFAULT_PATH "), and prints, tab-separated:\n"
    "  dataset  <moil data gen profile>  <dataset folder>\n"
    "  regions  <dataset folder>  <moil regions train arguments>  (if a table uses vinvl)\n"
    "  pretrain <output folder>  <moil pretrain arguments>  (one per model of the tables)\n"
    "  shipped  <backbone folder>  <file>  <weights hash>  <moil pretrain arguments>\n"
    "           (instead of pretrain for a model whose backbone P ships: a `backbone`\n"
    "           line of profiles.conf; the arguments are P's pretraining ones, which\n"
    "           rebuild it where P's own pretraining made it)\n"
    "  figure <method>  <moil finetune arguments of a VQA run of that method in P>\n"
    "  table <id>  <cells>\n"
    "  run  <key>  todo|done  <table>/<row>  <task>  <seed>  <moil finetune arguments>\n"
    "one run line per distinct run (a run shared by tables is listed once); done:\n"
    "its key names a config with an 'ok' run. Paths are under --work DIR (default\n"
    "the current folder): DIR/datasets/data/<dataset>, DIR/runs/<profile>/pretrain (the\n"
    "vilt backbone; a table's `model | M` line: DIR/runs/<profile>/pretrain-M, pretrained\n"
    "with the profile's arguments and --model M). A table whose every row is limited\n"
    "to other profiles (`| PROFILES` after its arguments) is not part of P: left out,\n"
    "its backbone too, and an error when named by --table.\n"
    "Ends with name=value lines: tables, runs, todo, done.\n";

static const char tag_usage[] =
    "usage: moil table tag --key KEY --run ID [--args TEXT] [--db PATH]\n"
    "\n"
    "Records that run ID of the results database (default " DB_DEFAULT_PATH ") is the\n"
    "run of the runner key KEY (from moil table plan); TEXT is its arguments.\n"
    "Ends with name=value lines: key, run_id.\n";

static const char render_usage[] =
    "usage: moil table render --table ID [--profile P] [--format md|tex] [--out DIR|-] [--db PATH]\n"
    "\n"
    "Renders table ID of profile P (default quick) from the results database alone\n"
    "(default " DB_DEFAULT_PATH "): per cell the mean over seeds with its 95% interval\n"
    "over test items and seeds from the runs' per-item scores (mean +- sd over seeds\n"
    "for runs without them), a mark where the cell differs from the table's compare\n"
    "row (paired test, Holm-adjusted), the best of each column in bold,\n"
    "trainable/stored parameter shares, and the paper's reference numbers\n"
    "in a separate labelled block. Writes DIR/ID.md and DIR/ID.tex (default DIR\n"
    "results/tables/P; --format one of them only; --out - prints to stdout).\n"
    "Ends with name=value lines: rows, columns, missing (cells without a value), and\n"
    "md/tex (the files written).\n"
    "\n"
    "ID inference (table 6, not an experiments/ table): per method the time per\n"
    "example as trained and merged, the ratio of its deployed time (merged when it\n"
    "merges) to full tuning's and whether it merges, from the latest ok run with\n"
    "table_id 'inference' (moil bench-infer). Ends with md/tex, run_id, methods.\n";

static const char compare_usage[] =
    "usage: moil table compare --table ID --old OLD.db [--profile P] [--format md|tex] [--out DIR|-] [--db NEW.db]\n"
    "\n"
    "Compares table ID of profile P (default quick) in two results databases, two\n"
    "editions of it: OLD.db and NEW.db (default " DB_DEFAULT_PATH "), cell by cell. Rows match by\n"
    "label (runs of spaces read as one) and suffix, columns by label, task, split and\n"
    "metric (the average column by label, when every metric column matches). Per\n"
    "shared cell: the old and the new value as `moil table render` writes them (mean\n"
    "[95% interval] (n seeds x items), or mean +- sd (n seeds, no items)) and the\n"
    "change, new mean less old; then the rows and columns only in one edition.\n"
    "Neither database is written: each is read once, read-only, into memory (and\n"
    "brought to this program's schema there). Writes DIR/ID.md and DIR/ID.tex\n"
    "(default DIR results/tables/P/compare; --format one of them only; --out -\n"
    "prints to stdout).\n"
    "Ends with name=value lines: rows, columns (shared), matched (shared cells with a\n"
    "value in both), missing (shared cells without one), only_old, only_new (rows\n"
    "plus columns only in that edition), and md/tex (the files written).\n";

static const char claims_usage[] =
    "usage: moil table claims [--profile P] [--claims FILE] [--out DIR|-] [--db PATH]\n"
    "\n"
    "Writes the paper's claims of FILE (default experiments/claims.conf) with the\n"
    "comparisons of table rows that test them, computed from the tables of profile P\n"
    "(default quick) in the results database (default " DB_DEFAULT_PATH "), as Markdown:\n"
    "the claims section of moil report. Per compare line, a table of the row's number\n"
    "in each column and its difference from each other row: a paired bootstrap over\n"
    "the same test items and the seeds both rows ran (the difference [its 95%\n"
    "interval]), or Welch's t-test over seeds where a cell has no per-item scores;\n"
    "the p values Holm-adjusted over the line's tests; marked above or below when\n"
    "the adjusted p is under 0.05, not separated otherwise, untested without both\n"
    "cells. A compare line naming a table or row the profile lacks says so. The\n"
    "database is read, not written. Writes DIR/claims.md (default results/tables/P;\n"
    "--out - prints to stdout).\n"
    "Ends with name=value lines: claims, tables (the profile's), and md (the file\n"
    "written).\n";

static int fail(const char *cmd, Db *db) {
    fprintf(stderr, "moil table %s: %s\n", cmd, err_msg());
    db_close(db);
    return 1;
}

static int usage_error(const char *cmd, const char *usage, const char *msg, const char *arg) {
    fprintf(stderr, "moil table %s: %s%s\n\n%s", cmd, msg, arg ? arg : "", usage);
    return 2;
}

/* The formats --format asks for into *md and *tex; -1 (message printed)
 * for another. */
static int parse_format(const char *cmd, const char *usage, const char *format, int *md, int *tex) {
    *md = !format || !strcmp(format, "md"), *tex = !format || !strcmp(format, "tex");
    if (!*md && !*tex) return usage_error(cmd, usage, "--format: expected md or tex, not ", format), -1;
    return 0;
}

typedef struct {
    const char *profile, *experiments, *work, *db, *key, *args, *format, *out, *old, *claims;
    const char *tables[MAX_TABLES];
    int n_tables;
    long long run_id;
} TableArgs;

/* Parse --name VALUE options; -1 (message printed) on a bad one. */
static int parse(const char *cmd, const char *usage, int argc, char **argv, TableArgs *a) {
    *a = (TableArgs){.profile = "quick",
                     .experiments = "experiments",
                     .work = ".",
                     .db = DB_DEFAULT_PATH,
                     .claims = "experiments/claims.conf"};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc) return usage_error(cmd, usage, "missing value or unknown option: ", o), -1;
        const char *v = argv[++i];
        if (!strcmp(o, "--profile")) a->profile = v;
        else if (!strcmp(o, "--experiments")) a->experiments = v;
        else if (!strcmp(o, "--work")) a->work = v;
        else if (!strcmp(o, "--db")) a->db = v;
        else if (!strcmp(o, "--key")) a->key = v;
        else if (!strcmp(o, "--args")) a->args = v;
        else if (!strcmp(o, "--format")) a->format = v;
        else if (!strcmp(o, "--out")) a->out = v;
        else if (!strcmp(o, "--old")) a->old = v;
        else if (!strcmp(o, "--claims")) a->claims = v;
        else if (!strcmp(o, "--run")) a->run_id = atoll(v);
        else if (!strcmp(o, "--table") && a->n_tables < MAX_TABLES) a->tables[a->n_tables++] = v;
        else return usage_error(cmd, usage, "unknown option ", o), -1;
    }
    return 0;
}

/* "<work>/<a>/<b>/<c>", without "./" when work is the current folder. */
static void work_path(char *out, size_t n, const char *work, const char *a, const char *b, const char *c) {
    if (!strcmp(work, ".")) snprintf(out, n, "%s/%s/%s", a, b, c);
    else snprintf(out, n, "%s/%s/%s/%s", work, a, b, c);
}

typedef struct {
    char key[EXP_KEY_LEN];
} SeenKey;

/* The inputs' fingerprints of the cells planned so far, by path: most
 * cells share one backbone and one dataset. */
typedef struct {
    char path[1100], hash[RUN_HASH_LEN];
} InputHash;

static int input_hash(InputHash *cache, const char *path, int is_data, const char **hash) {
    const char *key = path ? path : "";
    if (strcmp(cache->path, key) != 0 || !cache->hash[0]) {
        snprintf(cache->path, sizeof cache->path, "%s", key);
        if ((is_data ? run_data_hash(key, cache->hash) : run_init_hash(path, cache->hash)) != 0) return -1;
    }
    *hash = cache->hash;
    return 0;
}

/* The backbone folder of a model: DIR/runs/<profile>/pretrain for vilt (the
 * folder every existing run key names), DIR/runs/<profile>/pretrain-<model>
 * for the others. */
static void backbone_dir(char *out, size_t n, const char *work, const char *profile, const char *model) {
    char leaf[64] = "pretrain";
    if (strcmp(model, "vilt")) snprintf(leaf, sizeof leaf, "pretrain-%s", model);
    work_path(out, n, work, "runs", profile, leaf);
}

static int plan_table(Db *db, const TableArgs *a, const ExpProfile *p, const ExpTable *t, const char *data,
                      SeenKey **seen, int *n_seen, int *n_todo) {
    InputHash inputs[2] = {{"", ""}, {"", ""}}; /* backbone, dataset */
    char dir[1024], init[1100];
    backbone_dir(dir, sizeof dir, a->work, p->name, t->model);
    snprintf(init, sizeof init, "%s/backbone.safetensors", dir);
    ExpCell *cells;
    int n_cells, rc = experiment_expand(t, p, data, init, &cells, &n_cells);
    if (rc == 0) rc = db_layout_write(db, t, p->name, cells, n_cells);
    if (rc == 0) printf("table\t%s\t%d\n", t->id, n_cells);
    for (int i = 0; rc == 0 && i < n_cells; i++) {
        int dup = 0;
        for (int k = 0; k < *n_seen; k++) dup |= !strcmp((*seen)[k].key, cells[i].key);
        if (dup) continue;
        *seen = xrealloc(*seen, (size_t)(*n_seen + 1) * sizeof **seen);
        memcpy((*seen)[(*n_seen)++].key, cells[i].key, EXP_KEY_LEN);
        const char *init_hash, *data_hash;
        int done = -1;
        if (input_hash(&inputs[0], experiment_args_last(&cells[i].args, "--init"), 0, &init_hash) == 0 &&
            input_hash(&inputs[1], experiment_args_last(&cells[i].args, "--data"), 1, &data_hash) == 0)
            done = db_run_key_done(db, cells[i].key, init_hash, data_hash);
        if (done < 0) rc = -1;
        *n_todo += done == 0;
        char *args = experiment_args_join(&cells[i].args);
        printf("run\t%s\t%s\t%s/%s\t%s\t%lld\t%s\n", cells[i].key, done ? "done" : "todo", t->id,
               t->rows[cells[i].row].label, cells[i].task, (long long)cells[i].seed, args);
        free(args);
    }
    if (n_cells) experiment_cells_free(cells, n_cells);
    return rc;
}

/* One pretrain line per distinct model of the tables, in order of first use
 * (a shipped line instead for a model whose backbone the profile ships,
 * with the pretraining arguments that rebuild it: scripts/backbone.sh);
 * before them the regions line when the vinvl model (whose backbone reads
 * the region folder of the dataset) is one of them. */
static void plan_pretrain(const TableArgs *a, const ExpProfile *p, const ExpTable *tables, int n, const char *data) {
    for (int i = 0; i < n; i++)
        if (!strcmp(tables[i].model, "vinvl")) {
            char *joined = experiment_args_join(&p->regions);
            printf("regions\t%s\t%s\n", data, joined);
            free(joined);
            break;
        }
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int k = 0; k < i; k++) seen |= !strcmp(tables[k].model, tables[i].model);
        if (seen) continue;
        char dir[1024];
        backbone_dir(dir, sizeof dir, a->work, p->name, tables[i].model);
        const ExpShipped *shipped = experiment_shipped(p, tables[i].model);
        ExpArgs args;
        experiment_pretrain_args(p, tables[i].model, &args);
        char *joined = experiment_args_join(&args);
        if (shipped)
            printf("shipped\t%s\t%s\t%s\t%s\n", dir, shipped->file, shipped->hash, joined);
        else
            printf("pretrain\t%s\t%s\n", dir, joined);
        free(joined);
        experiment_args_free(&args);
    }
}

/* One "figure <method> <args>" line per method: the arguments a VQA run of
 * that method gets in this profile, for run_all.sh's figure runs. */
static void plan_figure_args(const ExpProfile *p) {
    for (int i = 0; i < method_count(); i++) {
        ExpArgs args = {0, NULL};
        experiment_profile_args(p, "vqa", method_at(i)->name, &args);
        char *joined = experiment_args_join(&args);
        printf("figure\t%s\t%s\n", method_at(i)->name, joined);
        free(joined);
        experiment_args_free(&args);
    }
}

int cmd_table_plan(int argc, char **argv) {
    TableArgs a;
    if (cli_wants_help(argc, argv, plan_usage)) return 0;
    if (parse("plan", plan_usage, argc, argv, &a)) return 2;
    char path[1024], data[1024];
    snprintf(path, sizeof path, "%s/profiles.conf", a.experiments);
    ExpProfile p;
    if (experiment_profile_read(path, a.profile, &p) != 0) return fail("plan", NULL);
    char **ids = NULL;
    int n_ids = 0, rc = 0;
    if (a.n_tables) {
        ids = xcalloc((size_t)a.n_tables, sizeof *ids);
        for (n_ids = 0; n_ids < a.n_tables; n_ids++) ids[n_ids] = xstrdup(a.tables[n_ids]);
    } else {
        rc = experiment_list_ids(a.experiments, &ids, &n_ids);
    }
    ExpTable *tables = xcalloc((size_t)n_ids + 1, sizeof *tables);
    int n_read = 0;
    while (rc == 0 && n_read < n_ids) {
        snprintf(path, sizeof path, "%s/%s.exp", a.experiments, ids[n_read]);
        rc = experiment_table_read(path, &tables[n_read]);
        n_read += rc == 0; /* a failed read leaves nothing to free */
    }
    /* a table none of whose rows runs in this profile is not part of it:
     * left out of the profile's plan, refused when named */
    int n_in = 0;
    for (int i = 0; i < n_read; i++) {
        if (experiment_table_in_profile(&tables[i], &p)) {
            tables[n_in++] = tables[i];
            continue;
        }
        if (rc == 0 && a.n_tables)
            rc = err_set("table %s has no row in profile %s (each of its rows names other profiles)", tables[i].id,
                         p.name);
        experiment_table_free(&tables[i]);
    }
    n_read = n_in;
    work_path(data, sizeof data, a.work, "datasets", "data", p.dataset);
    Db *db = NULL;
    if (rc == 0) rc = db_open(a.db, &db);
    if (rc == 0) {
        printf("dataset\t%s\t%s\n", p.dataset, data);
        plan_pretrain(&a, &p, tables, n_read, data);
        plan_figure_args(&p);
    }
    SeenKey *seen = NULL;
    int n_seen = 0, n_todo = 0;
    for (int i = 0; rc == 0 && i < n_read; i++) rc = plan_table(db, &a, &p, &tables[i], data, &seen, &n_seen, &n_todo);
    if (rc == 0) printf("tables=%d\nruns=%d\ntodo=%d\ndone=%d\n", n_read, n_seen, n_todo, n_seen - n_todo);
    free(seen);
    for (int i = 0; i < n_read; i++) experiment_table_free(&tables[i]);
    free(tables);
    experiment_ids_free(ids, n_ids);
    experiment_profile_free(&p);
    if (rc) return fail("plan", db);
    return db_close(db) ? fail("plan", NULL) : 0;
}

int cmd_table_tag(int argc, char **argv) {
    TableArgs a;
    if (cli_wants_help(argc, argv, tag_usage)) return 0;
    if (parse("tag", tag_usage, argc, argv, &a)) return 2;
    if (!a.key || a.run_id <= 0) return usage_error("tag", tag_usage, "--key and --run are required", NULL);
    Db *db;
    if (db_open_existing(a.db, &db) != 0) return fail("tag", NULL);
    if (db_run_key_tag(db, a.key, a.run_id, a.args ? a.args : "") != 0) return fail("tag", db);
    printf("key=%s\nrun_id=%lld\n", a.key, a.run_id);
    return db_close(db) ? fail("tag", NULL) : 0;
}

/* What one format of a table is rendered from: a reproduced table, table
 * 6 (inference set), two editions of a table (compare set), or the claims
 * tested on a profile's tables (claims set). */
typedef struct {
    const TableData *table;
    const InferenceData *inference;
    const TableMatch *compare;
    const ExpClaims *claims;
    const TableData *tables; /* claims: the profile's tables[n_tables] */
    int n_tables;
    const char *id, *profile;
    const char *old_name, *new_name; /* compare: where each edition comes from */
} Renderable;

/* Render r in one format to DIR/ID.<ext> (atomically; its path into
 * path[1100]) or stdout (path ""). */
static int render_one(const Renderable *r, TableFormat f, const char *out, int *missing, char path[1100]) {
    path[0] = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = !strcmp(out, "-") ? stdout : open_memstream(&buf, &len);
    if (!mem) return err_set("open_memstream failed");
    int rc = r->inference ? inference_render(r->inference, r->profile, f, mem)
             : r->compare ? table_compare_render(r->compare, r->old_name, r->new_name, f, mem)
             : r->claims  ? claims_render(r->claims, r->tables, r->n_tables, f, mem)
                          : table_render(r->table, f, mem, missing);
    if (mem == stdout) return rc;
    fclose(mem);
    snprintf(path, 1100, "%s/%s.%s", out, r->id, f == TABLE_MD ? "md" : "tex");
    if (rc == 0) rc = dir_make(out);
    if (rc == 0) rc = file_write_atomic(path, buf, len);
    free(buf);
    if (rc) path[0] = 0;
    return rc;
}

/* Render r in each format asked for (md, tex), stopping at the first
 * failure; a name=value line (md=, tex=) for each file written. */
static int render_formats(const Renderable *r, int md, int tex, const char *out, int *missing) {
    char path[1100] = "";
    int rc = md ? render_one(r, TABLE_MD, out, missing, path) : 0;
    if (path[0]) printf("md=%s\n", path);
    if (rc == 0 && tex && (rc = render_one(r, TABLE_TEX, out, missing, path)) == 0 && path[0])
        printf("tex=%s\n", path);
    return rc;
}

/* Table 6: the latest inference run's timings; exit 1 with a message when
 * the database has none. */
static int render_inference(Db *db, const TableArgs *a, int md, int tex, const char *out) {
    InferenceData d;
    int found = db_inference_load(db, &d);
    if (found == 0)
        err_set("%s: no ok inference run: run 'moil bench-infer --init <backbone.safetensors>' (run_all.sh does, "
                "in its figures stage)",
                a->db);
    if (found != 1) return -1;
    Renderable r = {.inference = &d, .id = "inference", .profile = a->profile};
    int rc = render_formats(&r, md, tex, out, NULL);
    if (rc == 0) printf("run_id=%lld\nmethods=%d\n", (long long)d.run_id, d.n_rows);
    inference_data_free(&d);
    return rc;
}

int cmd_table_render(int argc, char **argv) {
    TableArgs a;
    if (cli_wants_help(argc, argv, render_usage)) return 0;
    if (parse("render", render_usage, argc, argv, &a)) return 2;
    if (a.n_tables != 1) return usage_error("render", render_usage, "give one --table ID", NULL);
    int md, tex;
    if (parse_format("render", render_usage, a.format, &md, &tex)) return 2;
    char out_dir[1024];
    snprintf(out_dir, sizeof out_dir, "results/tables/%s", a.profile);
    const char *out = a.out ? a.out : out_dir;
    Db *db;
    if (db_open_copy(a.db, &db) != 0) return fail("render", NULL);
    if (!strcmp(a.tables[0], "inference"))
        return render_inference(db, &a, md, tex, out) ? fail("render", db) : db_close(db) ? fail("render", NULL) : 0;
    TableData d;
    if (db_table_data_load(db, a.tables[0], a.profile, &d) != 0) return fail("render", db);
    Renderable r = {.table = &d, .id = d.id, .profile = a.profile};
    int missing = 0, rc = render_formats(&r, md, tex, out, &missing);
    if (rc == 0) printf("rows=%d\ncolumns=%d\nmissing=%d\n", d.n_rows, d.n_cols, missing);
    table_data_free(&d);
    if (rc) return fail("render", db);
    return db_close(db) ? fail("render", NULL) : 0;
}

/* Read table id of profile from the database at path without writing it. */
static int load_edition(const char *path, const char *id, const char *profile, TableData *d) {
    Db *db;
    if (db_open_copy(path, &db) != 0) return -1;
    int rc = db_table_data_load(db, id, profile, d);
    if (db_close(db) != 0 && rc == 0) table_data_free(d), rc = -1;
    return rc;
}

int cmd_table_compare(int argc, char **argv) {
    TableArgs a;
    if (cli_wants_help(argc, argv, compare_usage)) return 0;
    if (parse("compare", compare_usage, argc, argv, &a)) return 2;
    if (a.n_tables != 1) return usage_error("compare", compare_usage, "give one --table ID", NULL);
    if (!a.old) return usage_error("compare", compare_usage, "give the old edition's database: --old PATH", NULL);
    int md, tex;
    if (parse_format("compare", compare_usage, a.format, &md, &tex)) return 2;
    char out_dir[1024];
    snprintf(out_dir, sizeof out_dir, "results/tables/%s/compare", a.profile);
    const char *out = a.out ? a.out : out_dir;
    TableData old, cur;
    if (load_edition(a.old, a.tables[0], a.profile, &old) != 0) return fail("compare", NULL);
    if (load_edition(a.db, a.tables[0], a.profile, &cur) != 0) {
        table_data_free(&old);
        return fail("compare", NULL);
    }
    TableMatch m;
    table_match(&old, &cur, &m);
    Renderable r = {.compare = &m, .id = cur.id, .profile = a.profile, .old_name = a.old, .new_name = a.db};
    int rc = render_formats(&r, md, tex, out, NULL);
    if (rc == 0)
        printf("rows=%d\ncolumns=%d\nmatched=%d\nmissing=%d\nonly_old=%d\nonly_new=%d\n", m.n_rows, m.n_cols, m.cells,
               m.missing, m.n_only_rows[COMPARE_OLD] + m.n_only_cols[COMPARE_OLD],
               m.n_only_rows[COMPARE_NEW] + m.n_only_cols[COMPARE_NEW]);
    table_match_free(&m);
    table_data_free(&old);
    table_data_free(&cur);
    return rc ? fail("compare", NULL) : 0;
}

int cmd_table_claims(int argc, char **argv) {
    TableArgs a;
    if (cli_wants_help(argc, argv, claims_usage)) return 0;
    if (parse("claims", claims_usage, argc, argv, &a)) return 2;
    char out_dir[1024], path[1100] = "";
    snprintf(out_dir, sizeof out_dir, "results/tables/%s", a.profile);
    ExpClaims claims;
    if (experiment_claims_read(a.claims, &claims) != 0) return fail("claims", NULL);
    TableData *tables = NULL;
    int n_tables = 0;
    Db *db;
    int rc = db_open_copy(a.db, &db);
    if (rc == 0) {
        rc = db_profile_tables_load(db, a.profile, &tables, &n_tables);
        if (db_close(db) != 0) rc = -1;
    }
    if (rc == 0 && n_tables == 0)
        rc = err_set("%s: no table of profile %s (run_all.sh --profile %s records them)", a.db, a.profile, a.profile);
    Renderable r = {.claims = &claims, .tables = tables, .n_tables = n_tables, .id = "claims", .profile = a.profile};
    if (rc == 0) rc = render_one(&r, TABLE_MD, a.out ? a.out : out_dir, NULL, path);
    if (rc == 0) {
        printf("claims=%d\ntables=%d\n", claims.n, n_tables);
        if (path[0]) printf("md=%s\n", path);
    }
    db_profile_tables_free(tables, n_tables);
    experiment_claims_free(&claims);
    return rc ? fail("claims", NULL) : 0;
}
