/* Reading experiments/ and expanding a table into its runs (report_experiment.h). */
#include "report_experiment.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "db.h"
#include "io_safetensors.h"
#include "model.h"

#define EXP_MAX_FIELDS 8
#define EXP_MAX_BYTES ((size_t)1 << 20)

/* Trim spaces at both ends, in place. */
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static void args_split(const char *text, ExpArgs *a) {
    a->n = 0;
    a->v = NULL;
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) return;
        const char *e = p;
        while (*e && !isspace((unsigned char)*e)) e++;
        a->v = xrealloc(a->v, (size_t)(a->n + 1) * sizeof *a->v);
        a->v[a->n] = xmalloc((size_t)(e - p) + 1);
        memcpy(a->v[a->n], p, (size_t)(e - p));
        a->v[a->n++][e - p] = 0;
        p = e;
    }
}

void experiment_args_free(ExpArgs *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    a->n = 0;
    a->v = NULL;
}

static void args_append(ExpArgs *a, const ExpArgs *b) {
    a->v = xrealloc(a->v, (size_t)(a->n + b->n + 1) * sizeof *a->v);
    for (int i = 0; i < b->n; i++) a->v[a->n++] = xstrdup(b->v[i]);
}

static void args_push(ExpArgs *a, const char *w) {
    ExpArgs one = {1, (char **)&w};
    args_append(a, &one);
}

char *experiment_args_join(const ExpArgs *a) {
    size_t len = 1;
    for (int i = 0; i < a->n; i++) len += strlen(a->v[i]) + 1;
    char *s = xmalloc(len), *p = s;
    *p = 0;
    for (int i = 0; i < a->n; i++) p += sprintf(p, "%s%s", i ? " " : "", a->v[i]);
    return s;
}

static char *dup_or_null(const char *s) { return *s ? xstrdup(s) : NULL; }

/* Append (name, the words of text) to list. */
static void named_args_add(ExpNamedArgs *list, const char *name, const char *text) {
    list->names = xrealloc(list->names, (size_t)(list->n + 1) * sizeof *list->names);
    list->args = xrealloc(list->args, (size_t)(list->n + 1) * sizeof *list->args);
    list->names[list->n] = xstrdup(name);
    args_split(text, &list->args[list->n++]);
}

/* Calls line_fn for every non-empty line of path with its '|' fields
 * trimmed; stops at the first failure. */
typedef int (*LineFn)(void *ctx, char **f, int n, const char *where);

static int read_lines(const char *path, LineFn line_fn, void *ctx) {
    size_t len;
    char *buf = file_read_all(path, EXP_MAX_BYTES, &len);
    if (!buf) return -1;
    int rc = 0, line_no = 0;
    for (char *line = buf, *next; rc == 0 && line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        if (!*trim(line)) continue;
        char *f[EXP_MAX_FIELDS];
        int n = 0;
        for (char *p = line; p && n < EXP_MAX_FIELDS; n++) {
            char *bar = strchr(p, '|');
            if (bar) *bar++ = 0;
            f[n] = trim(p);
            p = bar;
        }
        char where[1100];
        snprintf(where, sizeof where, "%s:%d", path, line_no);
        rc = line_fn(ctx, f, n, where);
    }
    free(buf);
    return rc;
}

static int need_fields(const char *where, char **f, int n, int lo, int hi) {
    if (n >= lo && n <= hi) return 0;
    return err_set("%s: '%s' needs %d to %d fields separated by '|', found %d", where, f[0], lo, hi, n);
}

/* ---- profiles.conf ---- */

typedef struct {
    const char *want;
    ExpProfile *p;
    int found;
} ProfileCtx;

/* A comma-separated list of distinct seeds ("0,1,2") appended to *seeds. */
static int parse_seeds(const char *text, int64_t **seeds, int *n, const char *where) {
    for (const char *s = text; *s;) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || (*end && *end != ',')) return err_set("%s: seeds '%s': expected 0,1,2", where, text);
        for (int i = 0; i < *n; i++)
            if ((*seeds)[i] == v) return err_set("%s: seeds '%s': seed %lld given twice", where, text, v);
        *seeds = xrealloc(*seeds, (size_t)(*n + 1) * sizeof **seeds);
        (*seeds)[(*n)++] = v;
        s = *end ? end + 1 : end;
    }
    return *n ? 0 : err_set("%s: no seeds", where);
}

static const ExpArgs *named_args_find(const ExpNamedArgs *list, const char *name) {
    for (int i = 0; name && i < list->n; i++)
        if (!strcmp(list->names[i], name)) return &list->args[i];
    return NULL;
}

static void named_args_free(ExpNamedArgs *list) {
    for (int i = 0; i < list->n; i++) {
        free(list->names[i]);
        experiment_args_free(&list->args[i]);
    }
    free(list->names);
    free(list->args);
}

/* A `backbone | NAME | MODEL | FILE | WEIGHTS HASH` line (kept when NAME is
 * the profile read): a known model, a file, 16 lowercase hex digits. */
static int shipped_line(ExpProfile *p, const char *want, char **f, int n, const char *where) {
    if (need_fields(where, f, n, 5, 5)) return -1;
    ModelConfig known;
    if (model_config_default(&known, f[2], 1) != 0) return err_prefix("%s", where);
    if (!*f[3] || !safetensors_is_weights_hash(f[4]))
        return err_set("%s: backbone: expected a file and its weights hash (16 hex digits), not '%s' '%s'", where,
                       f[3], f[4]);
    if (strcmp(f[1], want)) return 0;
    if (experiment_shipped(p, f[2])) return err_set("%s: backbone %s of profile %s given twice", where, f[2], f[1]);
    p->shipped = xrealloc(p->shipped, (size_t)(p->n_shipped + 1) * sizeof *p->shipped);
    p->shipped[p->n_shipped++] = (ExpShipped){xstrdup(f[2]), xstrdup(f[3]), xstrdup(f[4])};
    return 0;
}

static int profile_line(void *ctx_, char **f, int n, const char *where) {
    ProfileCtx *ctx = ctx_;
    ExpProfile *p = ctx->p;
    if (!strcmp(f[0], "profile")) {
        if (need_fields(where, f, n, 6, 6)) return -1;
        if (strcmp(f[1], ctx->want)) return 0;
        if (ctx->found) return err_set("%s: profile %s defined twice", where, f[1]);
        ctx->found = 1;
        p->name = xstrdup(f[1]);
        p->dataset = xstrdup(f[2]);
        args_split(f[4], &p->pretrain);
        args_split(f[5], &p->finetune);
        return parse_seeds(f[3], &p->seeds, &p->n_seeds, where);
    }
    int is_task = !strcmp(f[0], "task");
    if (is_task || !strcmp(f[0], "method")) {
        if (need_fields(where, f, n, 4, is_task ? 4 : 5)) return -1;
        if (strcmp(f[1], ctx->want)) return 0;
        ExpNamedArgs *list = is_task ? &p->tasks : &p->methods;
        char name[256]; /* a method's line for one task: "METHOD@TASK" */
        if (n == 5 && *f[4]) snprintf(name, sizeof name, "%s@%s", f[2], f[4]);
        else snprintf(name, sizeof name, "%s", f[2]);
        if (named_args_find(list, name)) return err_set("%s: %s %s of profile %s given twice", where, f[0], name, f[1]);
        named_args_add(list, name, f[3]);
        return 0;
    }
    if (!strcmp(f[0], "model")) {
        if (need_fields(where, f, n, 4, 4)) return -1;
        if (!strcmp(f[2], "vilt"))
            return err_set("%s: the vilt backbone's pretraining arguments are the profile's own", where);
        if (strcmp(f[1], ctx->want)) return 0;
        named_args_add(&p->models, f[2], f[3]);
        return 0;
    }
    if (!strcmp(f[0], "backbone")) return shipped_line(p, ctx->want, f, n, where);
    if (!strcmp(f[0], "regions")) {
        if (need_fields(where, f, n, 3, 3)) return -1;
        if (strcmp(f[1], ctx->want)) return 0;
        experiment_args_free(&p->regions);
        args_split(f[2], &p->regions);
        return 0;
    }
    return err_set("%s: unknown directive '%s' (expected profile, task, method, model, regions or backbone)", where,
                   f[0]);
}

int experiment_profile_read(const char *path, const char *name, ExpProfile *out) {
    memset(out, 0, sizeof *out);
    ProfileCtx ctx = {name, out, 0};
    if (read_lines(path, profile_line, &ctx) != 0) {
        experiment_profile_free(out);
        return -1;
    }
    if (!ctx.found) {
        experiment_profile_free(out); /* task lines of that name were read */
        return err_set("%s: no profile '%s'", path, name);
    }
    return 0;
}

void experiment_profile_free(ExpProfile *p) {
    free(p->name);
    free(p->dataset);
    free(p->seeds);
    experiment_args_free(&p->pretrain);
    experiment_args_free(&p->finetune);
    experiment_args_free(&p->regions);
    named_args_free(&p->tasks);
    named_args_free(&p->methods);
    named_args_free(&p->models);
    for (int i = 0; i < p->n_shipped; i++) {
        free(p->shipped[i].model);
        free(p->shipped[i].file);
        free(p->shipped[i].hash);
    }
    free(p->shipped);
    memset(p, 0, sizeof *p);
}

/* ---- <id>.exp ---- */

static int table_line(void *ctx, char **f, int n, const char *where) {
    ExpTable *t = ctx;
    if (!strcmp(f[0], "title")) {
        if (need_fields(where, f, n, 2, 2)) return -1;
        free(t->title);
        t->title = xstrdup(f[1]);
    } else if (!strcmp(f[0], "model")) {
        if (need_fields(where, f, n, 2, 2)) return -1;
        ModelConfig known;
        if (model_config_default(&known, f[1], 1) != 0) return err_prefix("%s", where);
        free(t->model);
        t->model = xstrdup(f[1]);
    } else if (!strcmp(f[0], "reference")) {
        if (need_fields(where, f, n, 2, 2)) return -1;
        free(t->reference_model);
        t->reference_model = dup_or_null(f[1]);
    } else if (!strcmp(f[0], "average")) {
        if (need_fields(where, f, n, 2, 2)) return -1;
        free(t->average_label);
        t->average_label = xstrdup(f[1]);
    } else if (!strcmp(f[0], "params")) {
        if (need_fields(where, f, n, 1, 1)) return -1;
        t->params = 1;
    } else if (!strcmp(f[0], "compare")) {
        if (need_fields(where, f, n, 2, 2)) return -1;
        free(t->compare_row);
        t->compare_row = xstrdup(f[1]);
    } else if (!strcmp(f[0], "column")) {
        if (need_fields(where, f, n, 6, 6)) return -1;
        t->cols = xrealloc(t->cols, (size_t)(t->n_cols + 1) * sizeof *t->cols);
        t->cols[t->n_cols++] = (ExpColumn){xstrdup(f[1]), xstrdup(f[2]), xstrdup(f[3]), xstrdup(f[4]), dup_or_null(f[5])};
    } else if (!strcmp(f[0], "profile")) {
        if (need_fields(where, f, n, 3, 3)) return -1;
        named_args_add(&t->profiles, f[1], f[2]);
    } else if (!strcmp(f[0], "seeds")) {
        if (need_fields(where, f, n, 3, 3)) return -1;
        for (int i = 0; i < t->n_seeds; i++)
            if (!strcmp(t->seeds[i].profile, f[1])) return err_set("%s: seeds of profile %s given twice", where, f[1]);
        t->seeds = xrealloc(t->seeds, (size_t)(t->n_seeds + 1) * sizeof *t->seeds);
        ExpSeeds *k = &t->seeds[t->n_seeds++];
        *k = (ExpSeeds){xstrdup(f[1]), xstrdup(where), 0, NULL};
        return parse_seeds(f[2], &k->seeds, &k->n, where);
    } else if (!strcmp(f[0], "row")) {
        if (need_fields(where, f, n, 5, 6)) return -1;
        if (!*f[1]) return err_set("%s: a row needs a label", where);
        if (*f[3] && f[3][0] != '@') return err_set("%s: split suffix '%s' must start with '@'", where, f[3]);
        t->rows = xrealloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *t->rows);
        ExpRow *r = &t->rows[t->n_rows++];
        *r = (ExpRow){xstrdup(f[1]), dup_or_null(f[2]), xstrdup(f[3]), n == 6 ? dup_or_null(f[5]) : NULL, {0, NULL}};
        args_split(f[4], &r->args);
    } else {
        return err_set("%s: unknown directive '%s' (title, model, reference, column, average, params, compare, profile, "
                       "seeds, row)",
                       where, f[0]);
    }
    return 0;
}

int experiment_table_read(const char *path, ExpTable *out) {
    memset(out, 0, sizeof *out);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len < 5 || strcmp(base + len - 4, ".exp")) return err_set("%s: a table file must be named <id>.exp", path);
    out->id = xmalloc(len - 3);
    memcpy(out->id, base, len - 4);
    out->id[len - 4] = 0;
    int rc = read_lines(path, table_line, out);
    if (rc == 0 && !out->title) rc = err_set("%s: no title", path);
    if (rc == 0 && !out->model) out->model = xstrdup("vilt");
    if (rc == 0 && (!out->n_cols || !out->n_rows)) rc = err_set("%s: a table needs columns and rows", path);
    int found = 0;
    for (int r = 0; rc == 0 && out->compare_row && r < out->n_rows; r++)
        found |= !strcmp(out->rows[r].label, out->compare_row) && !out->rows[r].suffix[0];
    if (rc == 0 && out->compare_row && !found)
        rc = err_set("%s: compare names '%s', not a row of the table without a split suffix", path, out->compare_row);
    if (rc) experiment_table_free(out);
    return rc;
}

void experiment_table_free(ExpTable *t) {
    free(t->id);
    free(t->title);
    free(t->model);
    free(t->reference_model);
    free(t->average_label);
    free(t->compare_row);
    for (int i = 0; i < t->n_cols; i++) {
        ExpColumn *c = &t->cols[i];
        free(c->label), free(c->task), free(c->split), free(c->metric), free(c->ref_dataset);
    }
    for (int i = 0; i < t->n_rows; i++) {
        ExpRow *r = &t->rows[i];
        free(r->label), free(r->ref_method), free(r->suffix), free(r->profiles);
        experiment_args_free(&r->args);
    }
    named_args_free(&t->profiles);
    for (int i = 0; i < t->n_seeds; i++) free(t->seeds[i].profile), free(t->seeds[i].where), free(t->seeds[i].seeds);
    free(t->cols), free(t->rows), free(t->seeds);
    memset(t, 0, sizeof *t);
}

/* ---- claims.conf ---- */

static int claim_line(void *ctx, char **f, int n, const char *where) {
    ExpClaims *c = ctx;
    ExpClaim *last = c->n ? &c->claims[c->n - 1] : NULL;
    if (!strcmp(f[0], "claim")) {
        if (need_fields(where, f, n, 3, 3)) return -1;
        if (!*f[1] || !*f[2]) return err_set("%s: a claim needs a number and a statement", where);
        c->claims = xrealloc(c->claims, (size_t)(c->n + 1) * sizeof *c->claims);
        c->claims[c->n++] = (ExpClaim){xstrdup(f[1]), xstrdup(f[2]), 0, 0, NULL, NULL};
        return 0;
    }
    int is_note = !strcmp(f[0], "note");
    if (!is_note && strcmp(f[0], "compare"))
        return err_set("%s: unknown directive '%s' (expected claim, note or compare)", where, f[0]);
    if (!last) return err_set("%s: '%s' before the first claim", where, f[0]);
    if (is_note) {
        if (need_fields(where, f, n, 2, 2)) return -1;
        last->notes = xrealloc(last->notes, (size_t)(last->n_notes + 1) * sizeof *last->notes);
        last->notes[last->n_notes++] = xstrdup(f[1]);
        return 0;
    }
    if (need_fields(where, f, n, 4, 4)) return -1;
    if (!*f[1] || !*f[2] || !*f[3]) return err_set("%s: compare needs a table, a row and other rows", where);
    last->compares = xrealloc(last->compares, (size_t)(last->n_compares + 1) * sizeof *last->compares);
    ExpCompare *k = &last->compares[last->n_compares++];
    *k = (ExpCompare){xstrdup(f[1]), xstrdup(f[2]), 0, NULL};
    for (char *p = f[3]; p;) {
        char *semi = strchr(p, ';');
        if (semi) *semi++ = 0;
        char *other = trim(p);
        if (!*other) return err_set("%s: an empty row in the list of other rows", where);
        k->others = xrealloc(k->others, (size_t)(k->n_others + 1) * sizeof *k->others);
        k->others[k->n_others++] = xstrdup(other);
        p = semi;
    }
    return 0;
}

int experiment_claims_read(const char *path, ExpClaims *out) {
    memset(out, 0, sizeof *out);
    int rc = read_lines(path, claim_line, out);
    if (rc == 0 && !out->n) rc = err_set("%s: no claim", path);
    if (rc) experiment_claims_free(out);
    return rc;
}

void experiment_claims_free(ExpClaims *c) {
    for (int i = 0; i < c->n; i++) {
        ExpClaim *k = &c->claims[i];
        free(k->number), free(k->statement);
        for (int j = 0; j < k->n_notes; j++) free(k->notes[j]);
        for (int j = 0; j < k->n_compares; j++) {
            ExpCompare *m = &k->compares[j];
            free(m->table), free(m->row);
            for (int o = 0; o < m->n_others; o++) free(m->others[o]);
            free(m->others);
        }
        free(k->notes), free(k->compares);
    }
    free(c->claims);
    memset(c, 0, sizeof *c);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int experiment_list_ids(const char *dir, char ***ids, int *n) {
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return err_set("%s: cannot open the experiments folder", dir);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".exp")) continue;
        *ids = xrealloc(*ids, (size_t)(*n + 1) * sizeof **ids);
        (*ids)[*n] = xstrdup(e->d_name);
        (*ids)[(*n)++][len - 4] = 0;
    }
    closedir(d);
    qsort(*ids, (size_t)*n, sizeof **ids, cmp_str);
    return 0;
}

void experiment_ids_free(char **ids, int n) {
    for (int i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* ---- expansion ---- */

static int in_list(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; p; p = strchr(p, ',')) {
        if (*p == ',') p++;
        while (*p == ' ') p++;
        if (!strncmp(p, name, len) && (p[len] == 0 || p[len] == ',' || p[len] == ' ')) return 1;
    }
    return 0;
}

static int args_key(const ExpArgs *a, char key[EXP_KEY_LEN]) {
    char *joined = experiment_args_join(a);
    json_t *j = json_pack("[s]", joined);
    free(joined);
    int rc = j ? db_config_hash(j, key) : err_set("arguments are not valid UTF-8");
    json_decref(j);
    return rc;
}

const char *experiment_args_last(const ExpArgs *a, const char *flag) {
    const char *v = NULL;
    for (int i = 0; i + 1 < a->n; i++)
        if (!strcmp(a->v[i], flag)) v = a->v[i + 1];
    return v;
}

void experiment_pretrain_args(const ExpProfile *p, const char *model, ExpArgs *out) {
    *out = (ExpArgs){0, NULL};
    args_append(out, &p->pretrain);
    if (!strcmp(model, "vilt")) return;
    args_push(out, "--model");
    args_push(out, model);
    const ExpArgs *extra = named_args_find(&p->models, model);
    if (extra) args_append(out, extra);
}

const ExpShipped *experiment_shipped(const ExpProfile *p, const char *model) {
    for (int i = 0; i < p->n_shipped; i++)
        if (!strcmp(p->shipped[i].model, model)) return &p->shipped[i];
    return NULL;
}

void experiment_profile_args(const ExpProfile *p, const char *task, const char *method, ExpArgs *out) {
    args_append(out, &p->finetune);
    const ExpArgs *extra = named_args_find(&p->tasks, task);
    if (extra) args_append(out, extra);
    extra = named_args_find(&p->methods, method);
    if (extra) args_append(out, extra);
    if (method) {
        char name[256];
        snprintf(name, sizeof name, "%s@%s", method, task);
        extra = named_args_find(&p->methods, name);
        if (extra) args_append(out, extra);
    }
}

/* Sets *out to the table's seeds line for profile p (NULL: none); -1 when
 * the line names a seed the profile does not have. */
static int table_seeds(const ExpTable *t, const ExpProfile *p, const ExpSeeds **out) {
    *out = NULL;
    for (int i = 0; i < t->n_seeds; i++)
        if (!strcmp(t->seeds[i].profile, p->name)) *out = &t->seeds[i];
    for (int i = 0; *out && i < (*out)->n; i++) {
        int known = 0;
        for (int s = 0; s < p->n_seeds; s++) known |= p->seeds[s] == (*out)->seeds[i];
        if (known) continue;
        char list[256] = "";
        for (int s = 0, len = 0; s < p->n_seeds && len < (int)sizeof list; s++)
            len += snprintf(list + len, sizeof list - (size_t)len, "%s%lld", s ? "," : "", (long long)p->seeds[s]);
        return err_set("%s: seed %lld is not one of profile %s's seeds (%s)", (*out)->where,
                       (long long)(*out)->seeds[i], p->name, list);
    }
    return 0;
}

static int row_in_profile(const ExpRow *row, const ExpProfile *p) {
    return !row->profiles || in_list(row->profiles, p->name);
}

int experiment_table_in_profile(const ExpTable *t, const ExpProfile *p) {
    for (int r = 0; r < t->n_rows; r++)
        if (row_in_profile(&t->rows[r], p)) return 1;
    return 0;
}

static int seed_listed(const ExpSeeds *k, int64_t seed) {
    for (int i = 0; k && i < k->n; i++)
        if (k->seeds[i] == seed) return 1;
    return !k;
}

int experiment_expand(const ExpTable *t, const ExpProfile *p, const char *data, const char *init, ExpCell **cells,
                      int *n) {
    *cells = NULL;
    *n = 0;
    const ExpSeeds *only;
    if (table_seeds(t, p, &only) != 0) return -1;
    for (int r = 0; r < t->n_rows; r++) {
        const ExpRow *row = &t->rows[r];
        if (!row_in_profile(row, p)) continue;
        for (int c = 0; c < t->n_cols; c++) {
            const char *task = t->cols[c].task;
            int seen = 0;
            for (int k = 0; k < c; k++) seen |= !strcmp(t->cols[k].task, task);
            for (int s = 0; !seen && s < p->n_seeds; s++) {
                if (!seed_listed(only, p->seeds[s])) continue;
                ExpCell cell = {t, r, task, p->seeds[s], {0, NULL}, ""};
                char seed[24];
                snprintf(seed, sizeof seed, "%lld", (long long)p->seeds[s]);
                const char *head[] = {"--task", task, "--seed", seed, "--data", data, "--init", init};
                for (int i = 0; i < 8; i++) args_push(&cell.args, head[i]);
                experiment_profile_args(p, task, experiment_args_last(&row->args, "--method"), &cell.args);
                for (int i = 0; i < t->profiles.n; i++)
                    if (!strcmp(t->profiles.names[i], p->name)) args_append(&cell.args, &t->profiles.args[i]);
                args_append(&cell.args, &row->args);
                if (args_key(&cell.args, cell.key) != 0) {
                    experiment_args_free(&cell.args);
                    experiment_cells_free(*cells, *n);
                    *cells = NULL;
                    *n = 0;
                    return -1;
                }
                *cells = xrealloc(*cells, (size_t)(*n + 1) * sizeof **cells);
                (*cells)[(*n)++] = cell;
            }
        }
    }
    return 0;
}

void experiment_cells_free(ExpCell *cells, int n) {
    for (int i = 0; i < n; i++) experiment_args_free(&cells[i].args);
    free(cells);
}
