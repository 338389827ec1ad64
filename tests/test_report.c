/* moil report: the HTML results report of a tiny profile. run_all.sh makes
 * its runs (two tables, two seeds, a row label and a title holding HTML and
 * a script), moil bench-infer table 6, scripts/figures.sh its figure, and a
 * run logged through the C API carries HTML and scripts in every text it
 * can (table id, method, config, metric and curve names, error). Then: the
 * page holds every table, the figure, the claims and every run; it loads
 * nothing from outside and runs no script but its own; every text from the
 * database is escaped; every number of ours links to its runs; each table's
 * cells read exactly as the rendered Markdown table's; and in headless
 * Chromium the page loads without a console message, its script runs (a
 * number's click lists its runs, a header's click sorts), and a screenshot
 * is not blank. Without Chromium (scripts/deps.sh test installs it) the
 * browser check is skipped with a message. */
#include <zlib.h>

#include "check.h"
#include "db.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_report_XXXXXX";
#include "tmp_path.h"

#define EVIL_LABEL "<script>alert(1)</script> LoRA"
#define EVIL_TITLE "Tiny <b>main</b> & \"quoted\" 'table'"

static const char profiles_conf[] =
    "profile | tiny | tiny | 0,1 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 3 --batch 4 "
    "--eval-limit 20\n";
static const char main_exp[] =
    "title | " EVIL_TITLE "\n"
    "reference | vilt\n"
    "column | VQA score | vqa | test | vqa_score | vqav2\n"
    "average | Average\n"
    "params\n"
    "row | Full tuning | full | | --method full\n"
    "row | " EVIL_LABEL " | lora | | --method lora --rank 4\n"
    "row | MoIL | moil | | --method moil --rank-lora 4 --rank-adapter 4\n"
    "row | MoIL EMA teacher | | @ema | --method moil --rank-lora 4 --rank-adapter 4\n";
static const char side_exp[] =
    "title | Side: NLVR\n"
    "column | NLVR acc | nlvr | test | accuracy |\n"
    "row | Heads only | | | --method heads\n"
    "row | MoIL | | | --method moil --rank-lora 4 --rank-adapter 4\n";
static const char claims_conf[] =
    "claim | 1 | MoIL beats <i>LoRA</i>\n"
    "note | a note & <b>more</b>\n"
    "compare | main | MoIL | Full tuning; " EVIL_LABEL "; No such row\n"
    "compare | nosuch | MoIL | Full tuning\n";

static char *html;  /* the report */
static char *said;  /* what moil report printed */
static char *dom;   /* Chromium's DOM of it after its script ran; NULL: not run */
static char out[1 << 16];

static void fail(const char *what) {
    printf("test_report: %s: %s\n", what, err_msg());
    exit(1);
}

static void write_file(const char *name, const char *text) {
    if (file_write_atomic(tmp_path(name), text, strlen(text)) != 0) fail(name);
}

/* A run whose every text is HTML or script, logged through the C API. */
static void add_evil_run(void) {
    Db *db;
    if (db_open(tmp_path("w/results/moil.db"), &db) != 0) fail("db_open");
    json_t *cfg = json_pack("{s:s, s:s}", "command", "finetune", "note", "</pre></script><script>alert(3)</script>");
    RunInfo info = {"<img src=x onerror=alert(2)>", "vqa", "vilt", "evil\"'<>&", 0, cfg, "unknown", -1, 1, -1, -1, -1,
                    1};
    int64_t id;
    if (db_run_begin(db, &info, &id) != 0) fail("db_run_begin");
    json_decref(cfg);
    if (db_metric_set(db, id, "test", "<b>bold</b>", 1.5) != 0) fail("db_metric_set");
    if (db_curve_add(db, id, 1, "<i>curve</i>", 2.5) != 0) fail("db_curve_add");
    if (db_run_end(db, id, DB_FAILED, "<iframe src=\"javascript:alert(4)\"></iframe>", 1.0, -1) != 0)
        fail("db_run_end");
    if (db_close(db) != 0) fail("db_close");
}

/* The runs, the figure and the report, once for every case. */
static void make_report(void) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmp_path("exp"));
    if (proc_run_into(out, sizeof out, "%s", cmd) != 0) fail(out);
    write_file("exp/profiles.conf", profiles_conf);
    write_file("exp/main.exp", main_exp);
    write_file("exp/side.exp", side_exp);
    write_file("claims.conf", claims_conf);
    int rc = proc_run_into(out, sizeof out, "./run_all.sh --no-make --experiments %s --work %s --profile tiny --jobs 2",
                           tmp_path("exp"), tmp_path("w"));
    if (rc != 0) printf("run_all.sh: status %d:\n%s\n", rc, out), exit(1);
    rc = proc_moil(out, sizeof out, "bench-infer --init %s --data %s --db %s --eval-limit 8 --repeats 1",
                   tmp_path("w/runs/tiny/pretrain/backbone.safetensors"), tmp_path("w/datasets/data/tiny"),
                   tmp_path("w/results/moil.db"));
    if (rc != 0) printf("moil bench-infer: status %d:\n%s\n", rc, out), exit(1);
    add_evil_run();
    rc = proc_run_into(out, sizeof out, "sh scripts/figures.sh --db %s --out %s --profile tiny fig3",
                       tmp_path("w/results/moil.db"), tmp_path("plots"));
    if (rc != 0) printf("figures.sh: status %d:\n%s\n", rc, out), exit(1);
    rc = proc_moil(out, sizeof out, "report --profile tiny --db %s --figures %s --claims %s --out %s",
                   tmp_path("w/results/moil.db"), tmp_path("plots"), tmp_path("claims.conf"), tmp_path("r.html"));
    if (rc != 0) printf("moil report: status %d:\n%s\n", rc, out), exit(1);
    said = xstrdup(out);
    html = file_read_all(tmp_path("r.html"), (size_t)64 << 20, NULL);
    if (!html) fail("r.html");
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_everything_present(void) {
    long long runs = sql_int(tmp_path("w/results/moil.db"), "SELECT count(*) FROM runs");
    CHECK(strstr(said, "\ntables=3\n") && strstr(said, "\nfigures=1\n"), "moil report said:\n%s", said);
    CHECK(runs > 10 && out_int(said, "runs") == runs, "runs: %lld in the database:\n%s", runs, said);
    for (long long id = 1; id <= runs; id++) {
        char anchor[64];
        snprintf(anchor, sizeof anchor, "<details class=\"run\" id=\"run-%lld\"", id);
        CHECK(strstr(html, anchor) != NULL, "no section of run %lld", id);
    }
    static const char *const parts[] = {"id=\"table-main\"", "id=\"table-side\"", "id=\"table-inference\"",
                                        "id=\"fig-fig3_params\"", "data:image/svg+xml;base64,", "id=\"claims\"",
                                        "id=\"provenance\"", "Claim 1: MoIL beats &lt;i&gt;LoRA&lt;/i&gt;",
                                        "No table nosuch", "Paper reference", "Settings that differ between its runs",
                                        "<option value=\"nlvr\">"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        CHECK(strstr(html, parts[i]) != NULL, "the report has no %s", parts[i]);
    CHECK(count(html, "<img ") == 1, "%d figures, expected 1", count(html, "<img "));
    /* the figure's caption names its runs, each a run of the report */
    const char *fig = strstr(html, "Runs drawn: <a class=\"num\" href=\"#runs\" data-runs=\"");
    CHECK(fig != NULL, "the figure's caption does not name its runs");
}

static void test_self_contained(void) {
    CHECK(count(html, "<script") == 1 && count(html, "</script>") == 1, "%d script tags, expected the page's one",
          count(html, "<script"));
    static const char *const outside[] = {"http:", "https:", "<link", "@import", "url(", "<iframe", "<object",
                                          "<embed", "//cdn"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        CHECK(strstr(html, outside[i]) == NULL, "the report holds '%s'", outside[i]);
    for (const char *p = strstr(html, " src=\""); p; p = strstr(p + 1, " src=\""))
        CHECK(!strncmp(p + 6, "data:image/svg+xml;base64,", 26), "a src that is not the page's data: %.60s", p);
    for (const char *p = strstr(html, " href=\""); p; p = strstr(p + 1, " href=\""))
        CHECK(p[7] == '#', "a link out of the page: %.60s", p);
}

static void test_escaped(void) {
    static const char *const raw[] = {"<script>alert", "<img src=x", "<iframe", "</pre></script>", "<b>bold</b>",
                                      "<i>curve</i>", "evil\"'<>&", "<b>main</b>"};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
        CHECK(strstr(html, raw[i]) == NULL, "unescaped text from the database: %s", raw[i]);
    static const char *const escaped[] = {"&lt;script&gt;alert(1)&lt;/script&gt; LoRA",
                                          "&lt;img src=x onerror=alert(2)&gt;",
                                          "&lt;/pre&gt;&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;",
                                          "&lt;iframe src=&quot;javascript:alert(4)&quot;&gt;&lt;/iframe&gt;",
                                          "&lt;b&gt;bold&lt;/b&gt;", "evil&quot;&#39;&lt;&gt;&amp;",
                                          "Tiny &lt;b&gt;main&lt;/b&gt; &amp; &quot;quoted&quot; &#39;table&#39;"};
    for (size_t i = 0; i < sizeof escaped / sizeof escaped[0]; i++)
        CHECK(strstr(html, escaped[i]) != NULL, "the report does not show the escaped text %s", escaped[i]);
}

/* The text of an HTML fragment: tags dropped, character references read. */
static void html_text(const char *s, size_t n, char *buf, size_t cap) {
    static const char *const refs[][2] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap;) {
        if (s[i] == '<') {
            while (i < n && s[i] != '>') i++;
            i++;
            continue;
        }
        int done = 0;
        for (size_t r = 0; r < 5 && !done; r++)
            if (!strncmp(s + i, refs[r][0], strlen(refs[r][0]))) {
                buf[k++] = refs[r][1][0];
                i += strlen(refs[r][0]);
                done = 1;
            }
        if (!done) buf[k++] = s[i++];
    }
    buf[k] = 0;
}

/* The rows of the tables in html[from, to) as Markdown would write them:
 * "| a | b |" lines, one per <tr>; a cell may carry a class (the claims'). */
static void html_rows(const char *from, const char *to, char *buf, size_t cap, int *unlinked) {
    size_t k = 0;
    buf[0] = 0;
    for (const char *tr = strstr(from, "<tr>"); tr && tr < to; tr = strstr(tr + 1, "<tr>")) {
        const char *end = strstr(tr, "</tr>");
        k += (size_t)snprintf(buf + k, cap - k, "|");
        int col = 0;
        for (const char *c = tr; (c = strpbrk(c + 1, "<")) && c < end;) {
            if (strncmp(c, "<td>", 4) && strncmp(c, "<th>", 4) && strncmp(c, "<td class=", 10)) continue;
            const char *e = strstr(c, c[2] == 'd' ? "</td>" : "</th>"), *in = strchr(c, '>') + 1;
            char cell[1024];
            html_text(in, (size_t)(e - in), cell, sizeof cell);
            k += (size_t)snprintf(buf + k, cap - k, " %s |", cell);
            /* a number of ours (not the label, not the paper's rows, not table 6's last column) is a link */
            if (unlinked && c[2] == 'd' && col > 0 && strcmp(cell, "—") && strchr("0123456789", cell[0]) &&
                strncmp(in, "<a class=\"num\" href=\"#run-", 26))
                (*unlinked)++;
            col++;
        }
        k += (size_t)snprintf(buf + k, cap - k, "\n");
    }
}

/* The Markdown table's rows: its "| ... |" lines but the alignment line,
 * bold marks dropped. */
static void md_rows(const char *md, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (const char *line = md; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        size_t n = strcspn(line, "\n");
        if (line[0] != '|' || !strncmp(line, "|---", 4)) continue;
        for (size_t i = 0; i < n && k + 1 < cap; i++) {
            if (!strncmp(line + i, "**", 2)) {
                i++;
                continue;
            }
            buf[k++] = line[i];
        }
        buf[k++] = '\n';
        buf[k] = 0;
    }
}

static void test_numbers_equal_markdown(void) {
    static const char *const ids[] = {"main", "side", "inference"};
    static char h[1 << 16], m[1 << 16];
    for (int i = 0; i < 3; i++) {
        int rc = proc_moil(out, sizeof out, "table render --table %s --profile tiny --format md --out - --db %s",
                           ids[i], tmp_path("w/results/moil.db"));
        CHECK(rc == 0, "table render %s: status %d:\n%s", ids[i], rc, out);
        md_rows(out, m, sizeof m);
        char anchor[64];
        snprintf(anchor, sizeof anchor, "<h3 id=\"table-%s\">", ids[i]);
        const char *from = strstr(html, anchor), *to = from ? strstr(from, "</div>") : NULL;
        CHECK(from && to, "no table %s in the report", ids[i]);
        if (!from || !to) continue;
        /* ours: the first table; every number of it links to its runs */
        const char *ours_end = strstr(from, "</table>");
        int unlinked = 0;
        html_rows(from, ours_end, h, sizeof h, &unlinked);
        CHECK(unlinked == 0, "table %s: %d numbers without a link to their runs", ids[i], unlinked);
        html_rows(from, to, h, sizeof h, NULL);
        CHECK(m[0] && !strcmp(h, m), "table %s: the report's cells\n%s\ndiffer from the Markdown table's\n%s", ids[i], h,
              m);
    }
}

/* moil table claims: the report's claims section as Markdown, the same
 * headings, notes, verdicts and table cells (the report's escaped, the
 * Markdown's with | escaped only); written to results/tables/<profile>/
 * claims.md by default; no table of the profile: exit 1 naming the
 * database. */
static void test_claims_markdown(void) {
    static char h[1 << 16], m[1 << 16];
    char db[512];
    snprintf(db, sizeof db, "%s", tmp_path("w/results/moil.db"));
    int rc = proc_moil(out, sizeof out, "table claims --profile tiny --db %s --claims %s --out -", db,
                       tmp_path("claims.conf"));
    CHECK(rc == 0 && strstr(out, "\nclaims=1\ntables=2\n") && !strstr(out, "md="), "status %d:\n%s", rc, out);
    static const char *const parts[] = {"### Claim 1: MoIL beats <i>LoRA</i>\n\na note & <b>more</b>\n\n",
                                        "| Column (table main) | MoIL | − Full tuning | − " EVIL_LABEL
                                        " | − No such row |\n|---|---:|---:|---:|---:|\n",
                                        "\n\nMoIL: above in ", "No table nosuch in this profile: not compared.\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        CHECK(strstr(out, parts[i]) != NULL, "the claims have no %s:\n%s", parts[i], out);
    md_rows(out, m, sizeof m);
    const char *from = strstr(html, "<section id=\"claims\">"), *to = from ? strstr(from, "</section>") : NULL;
    CHECK(from && to, "no claims section in the report");
    if (from && to) {
        html_rows(from, to, h, sizeof h, NULL);
        CHECK(m[0] && !strcmp(h, m), "the report's claim cells\n%s\ndiffer from the Markdown's\n%s", h, m);
    }
    rc = proc_moil(out, sizeof out, "table claims --profile tiny --db %s --claims %s --out %s", db,
                   tmp_path("claims.conf"), tmp_path("tabs"));
    char want[600];
    snprintf(want, sizeof want, "\nmd=%s/claims.md\n", tmp_path("tabs"));
    CHECK(rc == 0 && strstr(out, want), "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "table claims --profile nosuch --db %s --claims %s --out -", db,
                   tmp_path("claims.conf"));
    CHECK(rc == 1 && strstr(out, db) && strstr(out, "no table of profile nosuch"), "status %d:\n%s", rc, out);
}

/* ---- headless Chromium ---- */

/* The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's
 * screenshots are), as RGB; NULL if it is not one. */
static unsigned char *png_rgb(const char *path, int *w, int *h) {
    size_t len;
    unsigned char *f = (unsigned char *)file_read_all(path, (size_t)256 << 20, &len), *idat = NULL, *raw = NULL;
    unsigned char *rgb = NULL;
    size_t n_idat = 0;
    int ch = 0;
    if (!f || len < 8 || memcmp(f, "\x89PNG\r\n\x1a\n", 8)) goto done;
    for (size_t i = 8; i + 12 <= len;) {
        size_t n = (size_t)f[i] << 24 | (size_t)f[i + 1] << 16 | (size_t)f[i + 2] << 8 | f[i + 3];
        const unsigned char *type = f + i + 4, *c = f + i + 8;
        if (i + 12 + n > len) goto done;
        if (!memcmp(type, "IHDR", 4)) {
            *w = c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];
            *h = c[4] << 24 | c[5] << 16 | c[6] << 8 | c[7];
            if (c[8] != 8 || (c[9] != 2 && c[9] != 6) || c[12] != 0 || *w <= 0 || *h <= 0) goto done;
            ch = c[9] == 2 ? 3 : 4;
        } else if (!memcmp(type, "IDAT", 4)) {
            idat = xrealloc(idat, n_idat + n + 1);
            memcpy(idat + n_idat, c, n);
            n_idat += n;
        }
        i += 12 + n;
    }
    if (!ch || !idat) goto done;
    size_t stride = (size_t)*w * (size_t)ch;
    uLongf raw_len = (uLongf)((stride + 1) * (size_t)*h);
    raw = xmalloc(raw_len);
    if (uncompress(raw, &raw_len, idat, (uLong)n_idat) != Z_OK || raw_len != (stride + 1) * (size_t)*h) goto done;
    unsigned char *img = xcalloc(stride * (size_t)*h, 1);
    for (int y = 0; y < *h; y++) {
        const unsigned char *line = raw + (size_t)y * (stride + 1) + 1;
        unsigned char *cur = img + (size_t)y * stride, *up = y ? cur - stride : NULL;
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)ch ? cur[x - (size_t)ch] : 0, b = up ? up[x] : 0;
            int c = x >= (size_t)ch && up ? up[x - (size_t)ch] : 0, pred = 0;
            switch (line[-1]) {
            case 1: pred = a; break;
            case 2: pred = b; break;
            case 3: pred = (a + b) / 2; break;
            case 4: {
                int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
                pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                break;
            }
            }
            cur[x] = (unsigned char)(line[x] + pred);
        }
    }
    rgb = xmalloc((size_t)*w * (size_t)*h * 3);
    for (size_t p = 0; p < (size_t)*w * (size_t)*h; p++) memcpy(rgb + 3 * p, img + (size_t)ch * p, 3);
    free(img);
done:
    free(f), free(idat), free(raw);
    return rgb;
}

static void test_in_chromium(void) {
    if (proc_run(NULL, "command -v chromium") != 0) {
        printf("  skipped: no chromium command (Debian's chromium; scripts/deps.sh test installs it)\n");
        return;
    }
    /* one run: the DOM after the page's script, its console, a screenshot */
    char profile[512], page[512];
    snprintf(profile, sizeof profile, "%s", tmp_path("chromium"));
    snprintf(page, sizeof page, "%s", tmp_path("r.html"));
    int rc = proc_run(NULL,
                      "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
                      "--user-data-dir=%s --enable-logging=stderr --v=0 --window-size=1280,1600 --screenshot=%s "
                      "--dump-dom 'file://%s?selftest' >%s 2>%s",
                      profile, tmp_path("shot.png"), page, tmp_path("dom.html"), tmp_path("console.txt"));
    CHECK(rc == 0, "chromium: status %d", rc);
    dom = file_read_all(tmp_path("dom.html"), (size_t)64 << 20, NULL);
    char *log = file_read_all(tmp_path("console.txt"), (size_t)16 << 20, NULL);
    CHECK(dom && strstr(dom, "data-ready=\"1\""), "the page's script did not run to its end");
    const char *st = dom ? strstr(dom, "data-selftest=\"runs ") : NULL;
    int shown = -1, linked = -2, sorted = 0;
    if (st) sscanf(st, "data-selftest=\"runs %d/%d sorted %d", &shown, &linked, &sorted);
    CHECK(linked > 0 && shown == linked && sorted == 1,
          "clicking a number must list its runs alone, clicking a header sort: %.60s", st ? st : "(no data-selftest)");
    const char *msg = log ? strstr(log, ":CONSOLE") : NULL;
    CHECK(log && !msg, "the browser console: %.300s", msg ? msg : "(no log)");
    free(log);
    int w = 0, h = 0;
    unsigned char *rgb = png_rgb(tmp_path("shot.png"), &w, &h);
    CHECK(rgb && w == 1280 && h == 1600, "the screenshot is not a 1280x1600 PNG");
    if (!rgb) return;
    /* not blank: many pixels away from the page's background, in several colours */
    long differ = 0, dark = 0;
    for (long p = 0; p < (long)w * h; p++) {
        const unsigned char *px = rgb + 3 * p;
        differ += memcmp(px, rgb + 3 * ((long)w * h - 1), 3) != 0;
        dark += px[0] + px[1] + px[2] < 200;
    }
    CHECK(differ > (long)w * h / 20 && dark > (long)w * h / 200,
          "the screenshot looks blank: %ld of %ld pixels differ from the background, %ld dark", differ, (long)w * h,
          dark);
    free(rgb);
}

static void test_errors(void) {
    int rc = proc_moil(out, sizeof out, "report --db %s --out %s", tmp_path("nosuch.db"), tmp_path("x.html"));
    CHECK(rc == 1 && strstr(out, "no such results database"), "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "report --db %s --claims %s --out -", tmp_path("w/results/moil.db"),
                   tmp_path("nosuch.conf"));
    CHECK(rc == 1 && strstr(out, "nosuch.conf"), "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "report --frobnicate 1");
    CHECK(rc == 2 && strstr(out, "usage: moil report"), "status %d:\n%s", rc, out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("test_report: %s: cannot create a temporary folder\n", tmp_dir);
        return 1;
    }
    make_report();
    RUN(test_everything_present);
    RUN(test_self_contained);
    RUN(test_escaped);
    RUN(test_numbers_equal_markdown);
    RUN(test_claims_markdown);
    RUN(test_in_chromium);
    RUN(test_errors);
    free(html), free(dom), free(said);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
