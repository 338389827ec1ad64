/* The approximation-error diagnostics: relative distance to a reference
 * fine-tuning (1 at W0, 0 at the reference) and the Eckart-Young floor
 * (0 for a reference that differs from W0 by a rank-r update, positive
 * below that rank), read through a real checkpoint file, and what they
 * report to a training sink. */
#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "io_checkpoint.h"
#include "model_vilt.h"
#include "test.h"
#include "train_weight_distance.h"

/* A sink that keeps what it is given; report number fail (from 1; 0 = none)
 * fails, with a warning, and the reports go on. */
typedef struct {
    TrainSink sink;
    int n, fail;
    char split[8][16], name[8][48];
    int step[8];
    double value[8];
} Recorder;

static int record(Recorder *r, int step, const char *split, const char *name, double value) {
    if (r->n < 8) {
        snprintf(r->split[r->n], sizeof r->split[0], "%s", split);
        snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
        r->step[r->n] = step, r->value[r->n] = value;
    }
    return ++r->n == r->fail ? err_set("recorder: report %d fails (expected warning)", r->n) : 0;
}

static int record_curve(void *ctx, int step, const char *name, double value) {
    return record(ctx, step, "", name, value);
}

static int record_metric(void *ctx, const char *split, const char *name, double value) {
    return record(ctx, -1, split, name, value);
}

static void test_distance_and_floor(void) {
    ModelDims cfg = {.vocab = 10, .d = 8, .layers = 2, .heads = 2, .mlp_ratio = 2, .patch = 4, .image_size = 8,
                     .max_text = 4, .n_types = 3};
    Params p;
    Vilt m;
    params_init(&p);
    vilt_register(&m, &cfg, VILT_STEM_PATCH, &p);
    params_alloc(&p);
    Rng rng;
    rng_seed(&rng, 3);
    vilt_init_weights(&m, &rng);
    vilt_alloc(&m, 1);
    Backbone bb;
    vilt_backbone(&m, &bb);
    /* the reference: W0 + a rank-2 update on every q, k, v */
    Params ref;
    Vilt mr;
    params_init(&ref);
    vilt_register(&mr, &cfg, VILT_STEM_PATCH, &ref);
    params_alloc(&ref);
    memcpy(ref.data, p.data, p.total * sizeof(float));
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 3; k++) {
            const Linear *lin = backbone_linear(&bb, l, (LinearKind)k);
            float u[16], v[16];
            rng_fill_normal(&rng, u, 16, 0.1f), rng_fill_normal(&rng, v, 16, 0.1f);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 8, 8, 2, 1.0f, u, 2, v, 8, 1.0f,
                        params_data(&ref, lin->w), 8);
        }
    char dir[] = "/tmp/moil-wdist-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/ref.safetensors", dir);
    CHECK(checkpoint_save(path, &ref, ~0u, NULL, 0) == 0, "%s", err_msg());
    WeightDistance w;
    CHECK(wdist_init(&w, &bb, &p, path) == 0, "%s", err_msg());
    double rel[6];
    CHECK_CLOSE(wdist_measure(&w, &bb, &p, rel), 1.0, 1e-9); /* W = W0 */
    memcpy(p.data, ref.data, p.total * sizeof(float));
    CHECK(wdist_measure(&w, &bb, &p, rel) < 1e-6, "at the reference: %g", rel[0]);
    CHECK(wdist_log_floor(&w, 2, NULL) < 1e-5, "rank-2 update, rank-2 floor not 0");
    double f1 = wdist_log_floor(&w, 1, NULL);
    CHECK(f1 > 0.05 && f1 < 1.0, "rank-1 floor of a rank-2 update: %g", f1);
    /* reports: per layer and kind, then the mean; a failed one stops none */
    Recorder r = {.sink = {.ctx = &r, .curve = record_curve, .metric = record_metric}, .fail = 2};
    CHECK(wdist_log_floor(&w, 1, &r.sink) == f1, "the floor changes with a sink");
    CHECK(r.n == 7 && !strcmp(r.split[0], "diag") && !strcmp(r.name[0], "ey_floor_r1/l0.q") &&
              !strcmp(r.name[5], "ey_floor_r1/l1.v") && !strcmp(r.name[6], "ey_floor_r1/mean") && r.value[6] == f1,
          "%d floor metrics, first %s, last %s", r.n, r.name[0], r.name[6]);
    r.n = r.fail = 0;
    wdist_log(&w, &bb, &p, &r.sink, 5, "merged");
    CHECK(r.n == 7 && r.step[0] == 5 && !strcmp(r.name[0], "wdist/merged/mean") &&
              !strcmp(r.name[1], "wdist/merged/l0.q") && !strcmp(r.name[6], "wdist/merged/l1.v") &&
              r.value[0] < 1e-6,
          "%d distance curves, first %s at step %d", r.n, r.name[0], r.step[0]);
    wdist_free(&w);
    /* a missing reference is named */
    CHECK(wdist_init(&w, &bb, &p, "/nonexistent.safetensors") != 0 && strstr(err_msg(), "--reference"), "%s",
          err_msg());
    wdist_free(&w);
    unlink(path);
    rmdir(dir);
    vilt_free(&m), vilt_free(&mr), params_free(&p), params_free(&ref);
}

int main(void) {
    openblas_set_num_threads(1);
    RUN(test_distance_and_floor);
    return TEST_DONE();
}
