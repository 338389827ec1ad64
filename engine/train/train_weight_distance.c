#include "train_weight_distance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_safetensors.h"
#include "linalg.h"

static const char *const kind_name[WDIST_KINDS] = {"q", "k", "v"};

static double frob_diff(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return sqrt(s);
}

int wdist_init(WeightDistance *w, const Backbone *bb, const Params *p, const char *ref_ckpt) {
    memset(w, 0, sizeof *w);
    w->layers = bb->layers;
    w->d = bb->d;
    size_t dd = (size_t)w->d * w->d, n = (size_t)w->layers * WDIST_KINDS;
    w->w0 = xcalloc(n * dd, sizeof(float));
    w->ref = xcalloc(n * dd, sizeof(float));
    w->gap = xcalloc(n, sizeof(double));
    StFile f;
    if (safetensors_open(ref_ckpt, &f) != 0) return err_prefix("--reference");
    int rc = 0;
    for (int l = 0; l < w->layers && rc == 0; l++)
        for (int k = 0; k < WDIST_KINDS && rc == 0; k++) {
            const Linear *lin = backbone_linear(bb, l, (LinearKind)k);
            size_t at = ((size_t)l * WDIST_KINDS + k) * dd;
            if (lin->in != w->d || lin->out != w->d) {
                rc = err_set("%s: %s is not %dx%d", ref_ckpt, p->info[lin->w].name, w->d, w->d);
                break;
            }
            memcpy(w->w0 + at, params_data(p, lin->w), dd * sizeof(float));
            int64_t shape[2] = {w->d, w->d};
            rc = safetensors_read_f32(&f, p->info[lin->w].name, w->ref + at, 2, shape);
            if (rc == 0) w->gap[l * WDIST_KINDS + k] = frob_diff(w->ref + at, w->w0 + at, dd);
        }
    safetensors_close(&f);
    if (rc != 0) err_prefix("--reference");
    return rc;
}

void wdist_free(WeightDistance *w) {
    free(w->w0), free(w->ref), free(w->gap);
    memset(w, 0, sizeof *w);
}

double wdist_measure(const WeightDistance *w, const Backbone *bb, const Params *p, double *out) {
    size_t dd = (size_t)w->d * w->d;
    double sum = 0;
    for (int l = 0; l < w->layers; l++)
        for (int k = 0; k < WDIST_KINDS; k++) {
            int i = l * WDIST_KINDS + k;
            const Linear *lin = backbone_linear(bb, l, (LinearKind)k);
            double dist = frob_diff(params_data(p, lin->w), w->ref + (size_t)i * dd, dd);
            out[i] = w->gap[i] > 0 ? dist / w->gap[i] : 0.0;
            sum += out[i];
        }
    return sum / (w->layers * WDIST_KINDS);
}

void wdist_log(const WeightDistance *w, const Backbone *bb, const Params *p, const TrainSink *sink, int step,
               const char *variant) {
    if (!sink) return;
    double *rel = xcalloc((size_t)w->layers * WDIST_KINDS, sizeof(double));
    double mean = wdist_measure(w, bb, p, rel);
    char name[96];
    snprintf(name, sizeof name, "wdist/%s/mean", variant);
    train_sink_curve(sink, step, name, mean);
    for (int l = 0; l < w->layers; l++)
        for (int k = 0; k < WDIST_KINDS; k++) {
            snprintf(name, sizeof name, "wdist/%s/l%d.%s", variant, l, kind_name[k]);
            train_sink_curve(sink, step, name, rel[l * WDIST_KINDS + k]);
        }
    free(rel);
}

double wdist_log_floor(const WeightDistance *w, int rank, const TrainSink *sink) {
    size_t dd = (size_t)w->d * w->d;
    float *delta = xmalloc(dd * sizeof(float));
    double sum = 0;
    char name[96];
    for (int l = 0; l < w->layers; l++)
        for (int k = 0; k < WDIST_KINDS; k++) {
            int i = l * WDIST_KINDS + k;
            for (size_t j = 0; j < dd; j++) delta[j] = w->ref[(size_t)i * dd + j] - w->w0[(size_t)i * dd + j];
            double tail = svd_tail_norm(delta, w->d, w->d, rank);
            if (tail < 0) {
                free(delta);
                return -1;
            }
            double rel = w->gap[i] > 0 ? tail / w->gap[i] : 0.0;
            sum += rel;
            snprintf(name, sizeof name, "ey_floor_r%d/l%d.%s", rank, l, kind_name[k]);
            train_sink_metric(sink, "diag", name, rel);
        }
    free(delta);
    double mean = sum / (w->layers * WDIST_KINDS);
    snprintf(name, sizeof name, "ey_floor_r%d/mean", rank);
    train_sink_metric(sink, "diag", name, mean);
    return mean;
}
