/* Where a training run reports what it measures: curve points (a value at an
 * optimiser step), metrics (a value on an evaluation split) and the scores
 * of every test item of the final evaluation (train_task.h, ItemScores). The engine
 * knows no database: the command layer fills a sink with one
 * (cli/run_sink.h). A NULL sink records nothing. */
#ifndef MOIL_TRAIN_SINK_H
#define MOIL_TRAIN_SINK_H

typedef struct {
    void *ctx; /* passed to both callbacks */
    /* Record one value; 0, or -1 with err_set(). */
    int (*curve)(void *ctx, int step, const char *name, double value);
    int (*metric)(void *ctx, const char *split, const char *name, double value);
    /* n items of family name: ids each ended by '\n', values[n]; NULL:
     * item scores are not recorded. */
    int (*items)(void *ctx, const char *split, const char *name, int n, const char *ids, const double *values);
} TrainSink;

/* Report a curve point / a metric / item scores to sink (nothing when sink
 * is NULL, no item scores when its items is). A
 * failure does not stop the run: it is printed as "moil: warning: <error>". */
void train_sink_curve(const TrainSink *sink, int step, const char *name, double value);
void train_sink_metric(const TrainSink *sink, const char *split, const char *name, double value);
void train_sink_items(const TrainSink *sink, const char *split, const char *name, int n, const char *ids,
                      const double *values);

#endif
