/* The functions of the Task interface: metric lists, item scores and
 * task_destroy. */
#include "train_task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void task_metrics_add(MetricList *l, const char *name, double value) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], name)) {
            l->value[i] = value;
            return;
        }
    if (l->n >= METRICS_MAX) die("task_metrics_add(%s): more than %d metrics", name, METRICS_MAX);
    snprintf(l->name[l->n], METRIC_NAME_MAX, "%s", name);
    l->value[l->n++] = value;
}

double task_metrics_get(const MetricList *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], name)) return l->value[i];
    return NAN;
}

static void items_free(ItemScores *it) {
    free(it->ids);
    free(it->values);
    memset(it, 0, sizeof *it);
}

void task_items_add(MetricList *l, const char *name, int n, const char *const *ids, const double *values) {
    if (!l->want_items) return;
    ItemScores *it = (ItemScores *)task_items_get(l, name);
    if (it) items_free(it);
    else if (l->n_items >= ITEM_SCORES_MAX) die("task_items_add(%s): more than %d item families", name, ITEM_SCORES_MAX);
    else it = &l->items[l->n_items++];
    size_t len = 0;
    for (int i = 0; i < n; i++) len += strlen(ids[i]) + 1;
    snprintf(it->name, METRIC_NAME_MAX, "%s", name);
    it->n = n;
    it->ids = xmalloc(len + 1);
    it->values = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *it->values);
    char *p = it->ids;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(ids[i]);
        if (memchr(ids[i], '\n', k)) die("task_items_add(%s): item id '%s' holds a line break", name, ids[i]);
        memcpy(p, ids[i], k);
        p[k] = '\n';
        p += k + 1;
        it->values[i] = values[i];
    }
    *p = 0;
}

const ItemScores *task_items_get(const MetricList *l, const char *name) {
    for (int i = 0; i < l->n_items; i++)
        if (!strcmp(l->items[i].name, name)) return &l->items[i];
    return NULL;
}

void task_metrics_free(MetricList *l) {
    for (int i = 0; i < l->n_items; i++) items_free(&l->items[i]);
    l->n_items = 0;
}

void task_destroy(Task *t) {
    if (t->ops && t->ops->destroy) t->ops->destroy(t);
    t->state = NULL;
}
