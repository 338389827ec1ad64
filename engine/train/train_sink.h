/* Where a training run reports what it measures: curve points (a value at an
 * optimiser step) and metrics (a value on an evaluation split). The engine
 * knows no database: the command layer fills a sink with one
 * (cli/run_sink.h). A NULL sink records nothing. */
#ifndef MOIL_TRAIN_SINK_H
#define MOIL_TRAIN_SINK_H

typedef struct {
    void *ctx; /* passed to both callbacks */
    /* Record one value; 0, or -1 with err_set(). */
    int (*curve)(void *ctx, int step, const char *name, double value);
    int (*metric)(void *ctx, const char *split, const char *name, double value);
} TrainSink;

/* Report a curve point / a metric to sink (nothing when sink is NULL). A
 * failure does not stop the run: it is printed as "moil: warning: <error>". */
void train_sink_curve(const TrainSink *sink, int step, const char *name, double value);
void train_sink_metric(const TrainSink *sink, const char *split, const char *name, double value);

#endif
