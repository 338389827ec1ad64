/* NLVR2 metrics and predictions CSV; see metric_nlvr.h. */
#include "metric_nlvr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "metric_text_norm.h"

enum { MAX_CSV_BYTES = 1 << 30, MAX_NAMED_MISSING = 5 };

typedef struct {
    char *id, *pred;
    size_t line; /* 1-based, to keep the last of repeated identifiers */
} Row;

static int row_cmp(const void *a, const void *b) {
    const Row *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Strip s[0..*len) in place of Python whitespace; returns the new start. */
static char *strip(char *s, size_t *len) {
    while (*len > 0 && metric_text_norm_is_space((unsigned char)s[*len - 1])) (*len)--;
    s[*len] = '\0';
    while (*len > 0 && metric_text_norm_is_space((unsigned char)*s)) s++, (*len)--;
    return s;
}

int metric_nlvr_predictions_read(const char *path, Nlvr2Predictions *out) {
    memset(out, 0, sizeof *out);
    size_t size;
    char *text = file_read_all(path, MAX_CSV_BYTES, &size);
    if (!text) return -1;
    Row *rows = NULL;
    size_t n = 0, cap = 0, line = 0;
    int rc = 0;
    for (char *p = text; p < text + size && rc == 0;) {
        /* readlines(): a line ends after '\n'; a last line may lack it. */
        char *end = memchr(p, '\n', (size_t)(text + size - p));
        size_t len = end ? (size_t)(end - p) : (size_t)(text + size - p);
        char *next = end ? end + 1 : text + size;
        line++;
        char *s = strip(p, &len);
        char *comma = strchr(s, ',');
        if (len == 0) rc = err_set("%s:%zu: blank line (not allowed in a predictions file)", path, line);
        else if (!comma) rc = err_set("%s:%zu: no comma: expected identifier,prediction", path, line);
        else {
            *comma = '\0';
            char *second = strchr(comma + 1, ',');
            if (second) *second = '\0';
            if (n == cap) rows = xrealloc(rows, (cap = cap ? 2 * cap : 256) * sizeof *rows);
            rows[n++] = (Row){.id = s, .pred = comma + 1, .line = line};
        }
        p = next;
    }
    if (rc == 0) {
        qsort(rows, n, sizeof *rows, row_cmp);
        out->ids = xcalloc(n, sizeof *out->ids);
        out->preds = xcalloc(n, sizeof *out->preds);
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && strcmp(rows[i].id, rows[i + 1].id) == 0) continue; /* last wins */
            out->ids[out->n] = xstrdup(rows[i].id);
            out->preds[out->n++] = xstrdup(rows[i].pred);
        }
    }
    free(rows);
    free(text);
    return rc;
}

void metric_nlvr_predictions_free(Nlvr2Predictions *p) {
    for (size_t i = 0; i < p->n; i++) {
        free(p->ids[i]);
        free(p->preds[i]);
    }
    free(p->ids);
    free(p->preds);
    memset(p, 0, sizeof *p);
}

int metric_nlvr_predictions_write(const char *path, const char *const *ids, const char *const *preds,
                            size_t n) {
    size_t size = 1;
    for (size_t i = 0; i < n; i++) {
        if (strpbrk(ids[i], ",\r\n") || strpbrk(preds[i], ",\r\n"))
            return err_set("%s: line %zu: identifier or prediction holds a comma or line break", path,
                           i + 1);
        size += strlen(ids[i]) + strlen(preds[i]) + 2;
    }
    char *buf = xmalloc(size);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)sprintf(buf + o, "%s,%s\n", ids[i], preds[i]);
    int rc = file_write_atomic(path, buf, o);
    free(buf);
    return rc;
}

static const char *find_prediction(const Nlvr2Predictions *p, const char *id) {
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->ids[mid], id);
        if (c == 0) return p->preds[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Record the identifiers without a prediction in the error message. */
static int report_missing(const char *const *ids, size_t n, const Nlvr2Predictions *p) {
    char names[512] = "";
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (find_prediction(p, ids[i])) continue;
        if (missing++ < MAX_NAMED_MISSING) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", ids[i]);
        }
    }
    return err_set("nlvr2: %zu of %zu examples have no prediction: %s%s", missing, n, names,
                   missing > MAX_NAMED_MISSING ? ", ..." : "");
}

typedef struct {
    char *key; /* sentence group */
    int correct;
} Group;

static int group_cmp(const void *a, const void *b) {
    return strcmp(((const Group *)a)->key, ((const Group *)b)->key);
}

/* "split-set-pair-sentence" with the third field emptied; NULL if the
 * identifier has fewer than 3 '-'-separated fields. */
static char *group_key(const char *id) {
    const char *d1 = strchr(id, '-');
    const char *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
    if (!d2) return NULL;
    const char *d3 = strchr(d2 + 1, '-');
    size_t head = (size_t)(d2 - id) + 1; /* "split-set-" */
    const char *tail = d3 ? d3 : "";
    char *key = xmalloc(head + strlen(tail) + 1);
    memcpy(key, id, head);
    strcpy(key + head, tail);
    return key;
}

int metric_nlvr_score(const char *const *ids, const char *const *labels, size_t n,
                const Nlvr2Predictions *p, double *accuracy, double *consistency) {
    *accuracy = *consistency = 0.0;
    if (n == 0) return err_set("nlvr2: no labelled examples");
    for (size_t i = 0; i < n; i++)
        if (!find_prediction(p, ids[i])) return report_missing(ids, n, p);

    Group *g = xcalloc(n, sizeof *g);
    size_t correct = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        g[i].key = group_key(ids[i]);
        if (!g[i].key) {
            rc = err_set("nlvr2: identifier \"%s\" is not split-set-pair-sentence", ids[i]);
            break;
        }
        g[i].correct = strcasecmp(find_prediction(p, ids[i]), labels[i]) == 0;
        correct += (size_t)g[i].correct;
    }
    if (rc == 0) {
        qsort(g, n, sizeof *g, group_cmp);
        size_t groups = 0, consistent = 0;
        for (size_t i = 0; i < n;) {
            int all = 1;
            size_t j = i;
            for (; j < n && strcmp(g[j].key, g[i].key) == 0; j++) all &= g[j].correct;
            groups++;
            consistent += (size_t)all;
            i = j;
        }
        *accuracy = (double)correct / (double)n;
        *consistency = (double)consistent / (double)groups;
    }
    for (size_t i = 0; i < n; i++) free(g[i].key);
    free(g);
    return rc;
}
