#include "run_sink.h"

static int curve(void *ctx, int step, const char *name, double value) {
    const RunSink *rs = ctx;
    return db_curve_add(rs->db, rs->run_id, step, name, value);
}

static int metric(void *ctx, const char *split, const char *name, double value) {
    const RunSink *rs = ctx;
    return db_metric_set(rs->db, rs->run_id, split, name, value);
}

static int items(void *ctx, const char *split, const char *name, int n, const char *ids, const double *values) {
    const RunSink *rs = ctx;
    return db_items_set(rs->db, rs->run_id, split, name, n, ids, values);
}

const TrainSink *run_sink_init(RunSink *rs, Db *db, int64_t run_id) {
    *rs = (RunSink){.sink = {.ctx = rs, .curve = curve, .metric = metric, .items = items}, .db = db, .run_id = run_id};
    return db ? &rs->sink : NULL;
}
