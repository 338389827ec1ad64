/* The results report as one HTML page (report_html.h). */
#include "report_html.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db_internal.h"
#include "report_claims.h"
#include "report_inference.h"
#include "report_layout.h"
#include "report_table.h"

#define FIGURE_MAX_BYTES ((size_t)16 << 20)

/* Plain CSS: system fonts, no external resource. */
static const char page_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d2430;"
    "background:#f6f7f9;line-height:1.45}\n"
    "header{background:#1f2a44;color:#fff;padding:18px 32px}\n"
    "header h1{margin:0 0 6px;font-size:1.6em}header p{margin:4px 0;max-width:75em}\n"
    "header a{color:#cfe0ff}\n"
    "nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #d8dde6;padding:8px 32px;"
    "font-size:.95em}\n"
    "nav a{margin-right:14px}nav label{float:right}\n"
    "main{padding:8px 32px 40px;max-width:110em}\n"
    "section{margin-top:28px}h2{border-bottom:2px solid #1f2a44;padding-bottom:4px}\n"
    "h3{margin:22px 0 6px}.card h3{margin-top:8px}\n"
    ".card{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:10px 16px;margin:12px 0;"
    "overflow-x:auto}\n"
    "table{border-collapse:collapse;margin:8px 0;font-size:.92em}\n"
    "th,td{border-bottom:1px solid #e3e7ee;padding:3px 10px;text-align:right;white-space:nowrap}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "thead th{background:#eef1f6;position:relative}\n"
    "table.sortable thead th{cursor:pointer}\n"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}\n"
    "a.num{color:inherit;text-decoration:none;border-bottom:1px dotted #7a8699}\n"
    "a.num:hover{background:#fff3c4}\n"
    "p.note,p.varies,p.verdict,summary.note{color:#4a5568;font-size:.9em;max-width:75em}\n"
    "summary.note{cursor:pointer;margin:8px 0}\n"
    "td.above{background:#e3f4e8}td.below{background:#fbe4e4}td.same{background:#f1f2f4}td.none{color:#8a94a6}\n"
    "figure{margin:12px 0}figure img{max-width:100%;height:auto;background:#fff}\n"
    "figcaption{color:#4a5568;font-size:.9em;max-width:75em}\n"
    "details.run{background:#fff;border:1px solid #d8dde6;border-radius:4px;margin:4px 0;padding:2px 10px}\n"
    "details.run summary{cursor:pointer;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}\n"
    "details.run td{text-align:left}\n"
    "details.run pre{background:#f6f7f9;padding:8px;max-height:24em;overflow:auto;font-size:.85em}\n"
    ".hidden{display:none}\n"
    "#run-filter{background:#fff3c4;padding:6px 10px;border-radius:4px}\n"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}\n";

/* Light JavaScript: sortable tables, the task filter, and a number's runs
 * listed when it is clicked. It logs nothing; document.body's data-ready
 * turns 1 once it has run. Opened with ?selftest, it clicks the first
 * number of the first table and sorts that table by its second column,
 * records in data-selftest "runs <shown>/<linked> sorted <1 or 0>" (the
 * report test reads it in headless Chromium) and scrolls back to the top. */
static const char page_js[] =
    "(function () {\n"
    "  'use strict';\n"
    "  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }\n"
    "  function key(cell) { var v = parseFloat(cell.textContent); return isNaN(v) ? null : v; }\n"
    "  function sortBy(table, col, th) {\n"
    "    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);\n"
    "    var up = th.getAttribute('aria-sort') !== 'ascending';\n"
    "    rows.sort(function (a, b) {\n"
    "      var x = key(a.cells[col]), y = key(b.cells[col]);\n"
    "      if (x === null || y === null) {\n"
    "        if (x !== null) return -1;\n"
    "        if (y !== null) return 1;\n"
    "        return (up ? 1 : -1) * a.cells[col].textContent.localeCompare(b.cells[col].textContent);\n"
    "      }\n"
    "      return up ? x - y : y - x;\n"
    "    });\n"
    "    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute('aria-sort'); });\n"
    "    th.setAttribute('aria-sort', up ? 'ascending' : 'descending');\n"
    "    rows.forEach(function (r) { body.appendChild(r); });\n"
    "  }\n"
    "  each('table.sortable', function (table) {\n"
    "    if (!table.tHead || !table.tBodies.length) return;\n"
    "    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {\n"
    "      th.title = 'sort by this column';\n"
    "      th.addEventListener('click', function () { sortBy(table, col, th); });\n"
    "    });\n"
    "  });\n"
    "  var task = document.getElementById('task'), only = null;\n"
    "  var note = document.getElementById('run-filter'), noteText = document.getElementById('run-filter-text');\n"
    "  function apply() {\n"
    "    var t = task.value;\n"
    "    each('[data-tasks]', function (el) {\n"
    "      el.classList.toggle('hidden', t !== '' && el.getAttribute('data-tasks').split(' ').indexOf(t) < 0);\n"
    "    });\n"
    "    each('details.run', function (el) {\n"
    "      var id = el.id.slice(4);\n"
    "      var shown = (t === '' || el.getAttribute('data-task') === t) && (!only || only.indexOf(id) >= 0);\n"
    "      el.classList.toggle('hidden', !shown);\n"
    "      if (only && shown) el.open = true;\n"
    "    });\n"
    "    note.classList.toggle('hidden', !only);\n"
    "    noteText.textContent = only ? 'Showing runs ' + only.join(', ') + ' only (the runs behind the number '\n"
    "      + 'clicked).' : '';\n"
    "  }\n"
    "  task.addEventListener('change', apply);\n"
    "  document.getElementById('show-all').addEventListener('click', function () { only = null; apply(); });\n"
    "  document.addEventListener('click', function (e) {\n"
    "    var a = e.target.closest ? e.target.closest('a[data-runs]') : null;\n"
    "    if (!a) return;\n"
    "    only = a.getAttribute('data-runs').split(' ');\n"
    "    apply();\n"
    "    var first = document.getElementById('run-' + only[0]);\n"
    "    if (first) { e.preventDefault(); first.scrollIntoView(); }\n"
    "  });\n"
    "  apply();\n"
    "  if (location.search === '?selftest') {\n"
    "    var link = document.querySelector('table.sortable a[data-runs]'), table = document.querySelector('table.sortable');\n"
    "    var want = link ? link.getAttribute('data-runs').split(' ').length : 0, sorted = 0;\n"
    "    if (link) link.click();\n"
    "    var shown = document.querySelectorAll('details.run:not(.hidden)').length;\n"
    "    if (table && table.tHead.rows[0].cells.length > 1) {\n"
    "      table.tHead.rows[0].cells[1].click();\n"
    "      var v = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return key(r.cells[1]); });\n"
    "      v = v.filter(function (x) { return x !== null; });\n"
    "      sorted = v.length > 1 && v.every(function (x, i) { return i === 0 || v[i - 1] <= x; }) ? 1 : 0;\n"
    "    }\n"
    "    document.body.setAttribute('data-selftest', 'runs ' + shown + '/' + want + ' sorted ' + sorted);\n"
    "    window.scrollTo(0, 0);\n"
    "  }\n"
    "  document.body.setAttribute('data-ready', '1');\n"
    "})();\n";

static void put(FILE *out, const char *s) { db_html_escape(s ? s : "-", out); }

/* A query's rows as an HTML table under a caption; folded (a <details>
 * whose summary is the caption and the row count) when it is long. */
static int put_query(Db *db, FILE *out, const char *caption, sqlite3_stmt *st) {
    DbTable t;
    if (!st || db_table_fill(db, st, &t)) return -1;
    int fold = t.n_rows > 8;
    fputs(fold ? "<details><summary class=\"note\">" : "<p class=\"note\">", out);
    put(out, caption);
    if (fold) fprintf(out, " (%d rows)", t.n_rows);
    fputs(fold ? "</summary>\n" : "</p>\n", out);
    int rc = db_table_write(&t, DB_FORMAT_HTML, out);
    if (fold) fputs("</details>\n", out);
    db_table_free(&t);
    return rc;
}

/* Where the numbers come from: the database, its runs by status, period,
 * code revision, machine and table, and the settings every run of the
 * profile's tables shares. */
static int put_provenance(Db *db, const ReportInput *in, FILE *out) {
    fputs("<section id=\"provenance\">\n<h2>Provenance and settings</h2>\n<div class=\"card\">\n", out);
    fputs("<p>Every number of this page is read from the results database <code>", out);
    put(out, in->db_label);
    fputs("</code> (profile <code>", out);
    put(out, in->profile);
    fputs("</code>), as <code>moil table render</code>, <code>moil db show</code> and "
          "<code>scripts/figures.sh</code> read it; hover a number for the ids of its runs, click it to list "
          "them under <a href=\"#runs\">Runs</a>.</p>\n",
          out);
    int rc = put_query(db, out, "Runs by status, the period they ran in and their wall time:",
                       db_query(db,
                                "SELECT status, count(*) AS runs, min(started_at) AS first_start, "
                                "max(ended_at) AS last_end, round(sum(wall_s) / 3600.0, 2) AS wall_hours "
                                "FROM runs GROUP BY status ORDER BY status",
                                ""));
    if (rc == 0)
        rc = put_query(db, out,
                       "Code: the git commit each run was built from (dirty: uncommitted changes in the sources):",
                       db_query(db,
                                "SELECT code_rev, code_dirty, count(*) AS runs, min(started_at) AS first_start, "
                                "max(started_at) AS last_start FROM runs GROUP BY code_rev, code_dirty "
                                "ORDER BY min(started_at)",
                                ""));
    if (rc == 0)
        rc = put_query(db, out, "Machines and threads:",
                       db_query(db,
                                "SELECT host, threads, count(*) AS runs, round(sum(wall_s) / 3600.0, 2) AS wall_hours, "
                                "round(max(peak_mem_bytes) / 1048576.0) AS peak_mib FROM runs "
                                "GROUP BY host, threads ORDER BY host, threads",
                                ""));
    if (rc == 0)
        rc = put_query(db, out, "Runs per table (the table each run was logged for; figures: the runs only the "
                                "figures need):",
                       db_query(db,
                                "SELECT coalesce(table_id, '-') AS table_id, count(*) AS runs, "
                                "sum(status = 'ok') AS ok, round(sum(wall_s) / 60.0, 1) AS wall_minutes, "
                                "min(started_at) AS first_start, max(ended_at) AS last_end FROM runs "
                                "GROUP BY table_id ORDER BY min(id)",
                                ""));
    if (rc == 0)
        rc = put_query(db, out,
                       "Settings every run behind the tables of this profile shares (its config, as moil db show "
                       "prints it; what varies within a table is listed under it):",
                       db_query(db,
                                "WITH r AS (SELECT DISTINCT run_id FROM table_values WHERE profile = ?1), "
                                "leaf AS (SELECT replace(j.fullkey, '\"', '') AS k, j.atom AS v FROM r JOIN runs AS x ON x.id = r.run_id, "
                                "json_tree(x.config_json) AS j WHERE j.type NOT IN ('object', 'array')) "
                                "SELECT substr(k, 3) AS setting, min(v) AS value FROM leaf GROUP BY k "
                                "HAVING count(DISTINCT v) = 1 AND count(*) = (SELECT count(*) FROM r) ORDER BY k",
                                "t", in->profile));
    fputs("</div>\n</section>\n", out);
    return rc;
}

/* The tasks of a table's columns, each once, space-separated. */
static void put_tasks(FILE *out, const TableData *t) {
    for (int c = 0; c < t->n_cols; c++) {
        int seen = 0;
        for (int k = 0; k < c; k++) seen |= !strcmp(t->col_tasks[k], t->col_tasks[c]);
        if (!seen) fputs(c ? " " : "", out), put(out, t->col_tasks[c]);
    }
}

/* The settings that differ between the runs of a table (its rows, tasks
 * and seeds), with their values (or how many there are). */
static int put_varies(Db *db, FILE *out, const TableData *t) {
    DbTable v;
    sqlite3_stmt *st = db_query(
        db,
        "WITH r AS (SELECT DISTINCT run_id FROM table_values WHERE table_id = ?1 AND profile = ?2), "
        "leaf AS (SELECT replace(j.fullkey, '\"', '') AS k, j.atom AS v FROM r JOIN runs AS x ON x.id = r.run_id, "
        "json_tree(x.config_json) AS j WHERE j.type NOT IN ('object', 'array')) "
        "SELECT substr(k, 3) AS setting, CASE WHEN count(DISTINCT v) > 8 THEN count(DISTINCT v) || ' values' "
        "ELSE group_concat(DISTINCT v) END AS vals FROM leaf GROUP BY k "
        "HAVING count(DISTINCT v) > 1 OR count(*) < (SELECT count(*) FROM r) ORDER BY k",
        "tt", t->id, t->profile);
    if (!st || db_table_fill(db, st, &v)) return -1;
    if (v.n_rows) {
        fputs("<p class=\"varies\">Settings that differ between its runs: ", out);
        for (int r = 0; r < v.n_rows; r++) {
            fputs(r ? "; <code>" : "<code>", out);
            put(out, v.cells[(size_t)r * 2]);
            fputs("</code> ", out);
            put(out, v.cells[(size_t)r * 2 + 1]);
        }
        fputs(".</p>\n", out);
    }
    db_table_free(&v);
    return 0;
}

static int put_tables(Db *db, const ReportInput *in, const TableData *tables, int n, FILE *out, int *count) {
    fputs("<section id=\"tables\">\n<h2>Tables</h2>\n", out);
    int rc = 0, missing;
    for (int i = 0; rc == 0 && i < n; i++) {
        fputs("<div class=\"card tbl\" data-tasks=\"", out);
        put_tasks(out, &tables[i]);
        fputs("\">\n", out);
        rc = table_render(&tables[i], TABLE_HTML, out, &missing);
        if (rc == 0) rc = put_varies(db, out, &tables[i]);
        fputs("</div>\n", out);
    }
    InferenceData inf;
    int found = rc ? -1 : db_inference_load(db, &inf);
    if (found == 1) {
        fputs("<div class=\"card tbl\" data-tasks=\"", out);
        put(out, inf.task);
        fputs("\">\n", out);
        rc = inference_render(&inf, in->profile, TABLE_HTML, out);
        fputs("</div>\n", out);
        inference_data_free(&inf);
    }
    fputs("</section>\n", out);
    *count = n + (found == 1);
    return found < 0 ? -1 : rc;
}

static void put_base64(FILE *out, const unsigned char *p, size_t n) {
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(digits[v >> 18 & 63], out);
        fputc(digits[v >> 12 & 63], out);
        fputc(i + 1 < n ? digits[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? digits[v & 63] : '=', out);
    }
}

static int is_svg(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 4 && !strcmp(e->d_name + n - 4, ".svg");
}

/* One figure: the SVG as an image of data (its text cannot run: an <img>
 * never runs scripts), its caption and the runs it draws, each a link. */
static int put_figure(FILE *out, const char *dir, const char *file) {
    char path[2048], name[1024];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len;
    unsigned char *svg = (unsigned char *)file_read_all(path, FIGURE_MAX_BYTES, &len);
    if (!svg) return -1;
    snprintf(path, sizeof path, "%s/%s.caption", dir, name);
    char *caption = file_read_all(path, FIGURE_MAX_BYTES, NULL);
    char *ids = caption ? strchr(caption, '\n') : NULL;
    if (ids) *ids++ = 0;
    fputs("<figure class=\"card\" id=\"fig-", out);
    put(out, name);
    fputs("\">\n<img alt=\"", out);
    put(out, caption ? caption : name);
    fputs("\" src=\"data:image/svg+xml;base64,", out);
    put_base64(out, svg, len);
    fputs("\">\n<figcaption><b>", out);
    put(out, name);
    fputs("</b>: ", out);
    put(out, caption ? caption : "(no caption file: draw it with make figures)");
    if (ids && *ids) {
        ids[strcspn(ids, "\n")] = 0;
        fputs(" Runs drawn: <a class=\"num\" href=\"#runs\" data-runs=\"", out);
        put(out, ids);
        fputs("\">", out);
        put(out, ids);
        fputs("</a>.", out);
    }
    fputs("</figcaption>\n</figure>\n", out);
    free(svg);
    free(caption);
    return 0;
}

static int put_figures(const ReportInput *in, FILE *out, int *count) {
    fputs("<section id=\"figures\">\n<h2>Figures</h2>\n", out);
    struct dirent **list = NULL;
    int n = in->figures_dir ? scandir(in->figures_dir, &list, is_svg, alphasort) : 0;
    if (n < 0) {
        fputs("</section>\n", out);
        return err_set("%s: cannot list the figures", in->figures_dir);
    }
    if (n == 0) {
        fputs("<p>No figures", out);
        if (in->figures_dir) fputs(" in <code>", out), put(out, in->figures_dir), fputs("</code>", out);
        fputs(" (draw them with <code>make figures</code>).</p>\n", out);
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0) rc = put_figure(out, in->figures_dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
    fputs("</section>\n", out);
    *count = n;
    return rc;
}

/* One run as `moil db show` prints it, folded: its row, config, metrics
 * and curve summary. */
static int put_run(Db *db, int64_t id, FILE *out) {
    DbRunDetails d;
    if (db_select_run_details(db, id, &d)) return -1;
    const DbTable *r = &d.run;
    fprintf(out, "<details class=\"run\" id=\"run-%lld\" data-task=\"", (long long)id);
    put(out, db_table_get(r, 0, "task"));
    fprintf(out, "\"><summary>run %lld · ", (long long)id);
    static const char *const brief[] = {"table_id", "task", "model", "method", "seed", "status"};
    for (size_t k = 0; k < sizeof brief / sizeof brief[0]; k++) put(out, db_table_get(r, 0, brief[k])), fputs(" · ", out);
    const char *key = db_table_get(r, 0, "key_value");
    char num[40];
    if (key) snprintf(num, sizeof num, "%.6g", strtod(key, NULL));
    put(out, db_table_get(r, 0, "key_metric"));
    fputs(" ", out);
    put(out, key ? num : NULL);
    fputs("</summary>\n<table>\n<tbody>\n", out);
    for (int c = 0; c < r->n_cols; c++) {
        if (!strcmp(r->cols[c], "config_json")) continue;
        fputs("<tr><td>", out);
        put(out, r->cols[c]);
        fputs("</td><td>", out);
        put(out, r->cells[c]);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody>\n</table>\n<p>config:</p>\n<pre>", out);
    put(out, d.config);
    fputs("</pre>\n<p>metrics:</p>\n", out);
    int rc = db_table_write(&d.metrics, DB_FORMAT_HTML, out);
    fputs("<p>curves:</p>\n", out);
    if (rc == 0) rc = db_table_write(&d.curves, DB_FORMAT_HTML, out);
    fputs("<p>item scores (one array of per-item scores per row):</p>\n", out);
    if (rc == 0) rc = db_table_write(&d.items, DB_FORMAT_HTML, out);
    fputs("</details>\n", out);
    db_run_details_free(&d);
    return rc;
}

static int put_runs(Db *db, FILE *out, int *count) {
    fputs("<section id=\"runs\">\n<h2>Runs</h2>\n<p id=\"run-filter\" class=\"hidden\"><span id=\"run-filter-text\">"
          "</span> <button id=\"show-all\" type=\"button\">Show all runs</button></p>\n"
          "<p class=\"note\">Every run of the database, as <code>moil db show RUN</code> prints it: its row, config, "
          "metrics, and per curve the points, first, last, minimum and maximum.</p>\n",
          out);
    sqlite3_stmt *st = db_query(db, "SELECT id FROM runs ORDER BY id", "");
    if (!st) return -1;
    int64_t *ids = NULL;
    int n = 0, rc;
    while ((rc = db_step(db, st)) == 1) {
        ids = xrealloc(ids, (size_t)(n + 1) * sizeof *ids);
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    for (int i = 0; rc == 0 && i < n; i++) rc = put_run(db, ids[i], out);
    free(ids);
    fputs("</section>\n", out);
    *count = n;
    return rc;
}

/* The header: what the page is, its sections, the task filter. */
static int put_head(Db *db, const ReportInput *in, const TableData *tables, int n_tables, FILE *out) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>moil-repro results, "
          "profile ",
          out);
    put(out, in->profile);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body data-ready=\"0\">\n<header>\n<h1>moil-repro results, "
                 "profile ",
            page_css);
    put(out, in->profile);
    fputs("</h1>\n<p>A reproduction, at a scale one machine can train, of <i>MoIL: Momentum Imitation Learning for "
          "Efficient Vision-Language Adaptation</i> (Luo et al., IEEE TPAMI 2024). Written by <code>moil report</code> "
          "from the results database alone; every number is a link to the runs behind it.</p>\n</header>\n<nav>\n"
          "<a href=\"#provenance\">Provenance</a>",
          out);
    if (in->claims) fputs("<a href=\"#claims\">Claims</a>", out);
    fputs("<a href=\"#tables\">Tables</a>", out);
    for (int i = 0; i < n_tables; i++) {
        fputs("<a href=\"#table-", out);
        put(out, tables[i].id);
        fputs("\">", out);
        put(out, tables[i].id);
        fputs("</a>", out);
    }
    fputs("<a href=\"#figures\">Figures</a><a href=\"#runs\">Runs</a>\n"
          "<label>Task <select id=\"task\"><option value=\"\">all</option>",
          out);
    sqlite3_stmt *st = db_query(db, "SELECT DISTINCT task FROM runs ORDER BY task", "");
    if (!st) return -1;
    int rc;
    while ((rc = db_step(db, st)) == 1) {
        const char *task = (const char *)sqlite3_column_text(st, 0);
        fputs("<option value=\"", out);
        put(out, task);
        fputs("\">", out);
        put(out, task);
        fputs("</option>", out);
    }
    sqlite3_finalize(st);
    fputs("</select></label>\n</nav>\n<main>\n", out);
    return rc;
}

int report_write_html(Db *db, const ReportInput *in, FILE *out, ReportCounts *counts) {
    *counts = (ReportCounts){0, 0, 0};
    TableData *tables;
    int n_tables, rc = db_profile_tables_load(db, in->profile, &tables, &n_tables);
    if (rc == 0) rc = put_head(db, in, tables, n_tables, out);
    if (rc == 0) rc = put_provenance(db, in, out);
    if (rc == 0 && in->claims) {
        fputs("<section id=\"claims\">\n<h2>The paper's claims at this scale</h2>\n<p class=\"note\">Each claim "
              "(<code>docs/paper.md</code>) with the comparisons of table rows that test it "
              "(<code>experiments/claims.conf</code>), computed from the tables below: the row's number, then its "
              "difference from each other row (▲ above, ▼ below: two-sided p &lt; 0.05 after Holm's adjustment over "
              "the comparisons of one line, by a paired bootstrap over the same test items and seeds, or Welch's "
              "t-test over the seeds where a cell has no per-item scores; ≈ not separated; – untested). What they "
              "mean, and what the tables cannot show, is discussed in "
              "<code>results/README.md</code>.</p>\n",
              out);
        rc = claims_render(in->claims, tables, n_tables, TABLE_HTML, out);
        fputs("</section>\n", out);
    }
    if (rc == 0) rc = put_tables(db, in, tables, n_tables, out, &counts->tables);
    if (rc == 0) rc = put_figures(in, out, &counts->figures);
    if (rc == 0) rc = put_runs(db, out, &counts->runs);
    if (rc == 0) fprintf(out, "</main>\n<script>\n%s</script>\n</body>\n</html>\n", page_js);
    db_profile_tables_free(tables, n_tables);
    if (rc == 0 && (fflush(out) != 0 || ferror(out))) rc = err_set("writing the report failed");
    return rc;
}
