#include "train_sink.h"

#include <stdio.h>

#include "check.h"

/* A failed report is a warning: the run goes on. */
static void warn_if_failed(int rc) {
    if (rc != 0) fprintf(stderr, "moil: warning: %s\n", err_msg());
}

void train_sink_curve(const TrainSink *sink, int step, const char *name, double value) {
    if (sink) warn_if_failed(sink->curve(sink->ctx, step, name, value));
}

void train_sink_metric(const TrainSink *sink, const char *split, const char *name, double value) {
    if (sink) warn_if_failed(sink->metric(sink->ctx, split, name, value));
}

void train_sink_items(const TrainSink *sink, const char *split, const char *name, int n, const char *ids,
                      const double *values) {
    if (sink && sink->items) warn_if_failed(sink->items(sink->ctx, split, name, n, ids, values));
}
