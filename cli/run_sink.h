/* The training sink (engine/train/train_sink.h) of a run in the results
 * database: curve points go to db_curve_add, metrics to db_metric_set, item
 * scores to db_items_set. */
#ifndef MOIL_RUN_SINK_H
#define MOIL_RUN_SINK_H

#include <stdint.h>

#include "db.h"
#include "train_sink.h"

typedef struct {
    TrainSink sink;
    Db *db;
    int64_t run_id;
} RunSink;

/* Fill rs to report to run run_id of db; returns &rs->sink, or NULL (no
 * sink: nothing recorded) when db is NULL. */
const TrainSink *run_sink_init(RunSink *rs, Db *db, int64_t run_id);

#endif
