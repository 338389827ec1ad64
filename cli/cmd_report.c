/* `moil report`: the results report of a profile, one self-contained HTML
 * page (results/report/report_html.h), written atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "db.h"
#include "report_experiment.h"
#include "report_html.h"

static const char usage[] =
    "usage: moil report [--profile P] [--db PATH] [--figures DIR] [--claims FILE] [--out FILE|-]\n"
    "\n"
    "Writes the results report of profile P (default quick): one self-contained HTML\n"
    "page (no network, no external script or font) holding, from the results\n"
    "database (default " DB_DEFAULT_PATH ") alone: provenance (runs by status, period,\n"
    "commits, machines, wall time) and the settings the runs share; the paper's claims\n"
    "with the comparisons of table rows that test them (FILE, default\n"
    "experiments/claims.conf; paired tests over test items and seeds, Holm-adjusted);\n"
    "every table of the profile as moil table render writes it, and table 6\n"
    "(inference); the figures of DIR\n"
    "(default plots for quick, plots/P otherwise: every <figure>.svg with its\n"
    "<figure>.caption, as scripts/figures.sh draws them) embedded; and every run as\n"
    "moil db show prints it. Every number links to the runs behind it; tables sort\n"
    "by a click on their header, and a task filter hides the others. Writes FILE\n"
    "(default results/report/P.html; - prints to stdout).\n"
    "Ends with name=value lines: html, tables, figures, runs.\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "moil report: %s%s\n\n%s", msg, arg ? arg : "", usage);
    return 2;
}

static int fail(Db *db) {
    fprintf(stderr, "moil report: %s\n", err_msg());
    db_close(db);
    return 1;
}

/* Write the page atomically, making its folder first. */
static int write_page(const char *path, const char *buf, size_t len) {
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        if (dir_make(dir)) return -1;
    }
    return file_write_atomic(path, buf, len);
}

int cmd_report(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    const char *profile = "quick", *db_path = DB_DEFAULT_PATH, *figures = NULL, *claims_path = "experiments/claims.conf",
               *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc) return usage_error("missing value or unknown option: ", o);
        const char *v = argv[++i];
        if (!strcmp(o, "--profile")) profile = v;
        else if (!strcmp(o, "--db")) db_path = v;
        else if (!strcmp(o, "--figures")) figures = v;
        else if (!strcmp(o, "--claims")) claims_path = v;
        else if (!strcmp(o, "--out")) out = v;
        else return usage_error("unknown option ", o);
    }
    char fig_dir[1024], out_path[1024];
    snprintf(fig_dir, sizeof fig_dir, strcmp(profile, "quick") ? "plots/%s" : "plots", profile);
    snprintf(out_path, sizeof out_path, "results/report/%s.html", profile);
    ExpClaims claims;
    if (experiment_claims_read(claims_path, &claims)) return fail(NULL);
    Db *db = NULL;
    char *buf = NULL;
    size_t len = 0;
    ReportInput in = {profile, db_path, figures ? figures : fig_dir, &claims};
    ReportCounts counts;
    int rc = db_open_copy(db_path, &db);
    FILE *mem = rc ? NULL : open_memstream(&buf, &len);
    if (rc == 0 && !mem) rc = err_set("open_memstream failed");
    if (rc == 0) rc = report_write_html(db, &in, mem, &counts);
    if (mem) fclose(mem);
    const char *dest = out ? out : out_path;
    if (rc == 0 && !strcmp(dest, "-")) rc = fwrite(buf, 1, len, stdout) == len ? 0 : err_set("stdout: write failed");
    else if (rc == 0) rc = write_page(dest, buf, len);
    free(buf);
    experiment_claims_free(&claims);
    if (rc) return fail(db);
    if (strcmp(dest, "-")) printf("html=%s\n", dest);
    printf("tables=%d\nfigures=%d\nruns=%d\n", counts.tables, counts.figures, counts.runs);
    return db_close(db) ? fail(NULL) : 0;
}
