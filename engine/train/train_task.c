/* The functions of the Task interface: metric lists and task_destroy. */
#include "train_task.h"

#include <math.h>
#include <stdio.h>
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

void task_destroy(Task *t) {
    if (t->ops && t->ops->destroy) t->ops->destroy(t);
    t->state = NULL;
}
