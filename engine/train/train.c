#include "train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"

static void on_signal(int sig) { interrupt_request(sig); }

void train_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int train_stop_requested(void) { return interrupt_pending() != 0; }

/* Evaluate every variant of the method on split: at a training step (step
 * >= 0) into curves, at the end (step < 0) into metrics and item scores with
 * predictions files in out_dir (NULL: none); the first variant's metrics
 * (without item scores) into first (if not NULL). Returns -1 if an evaluation failed. */
static int evaluate_variants(Model *m, Task *t, Method *meth, const char *split, const char *out_dir, int quiet,
                             const TrainSink *sink, int step, MetricList *first) {
    int nv = method_n_variants(meth);
    for (int v = 0; v < nv; v++) {
        const char *vname = method_variant_name(meth, v);
        if (meth->ops->apply_variant) meth->ops->apply_variant(meth, &m->bb, &m->params, v);
        char pred[1024], *pred_path = NULL;
        if (out_dir && step < 0) {
            snprintf(pred, sizeof pred, "%s/predictions_%s_%s", out_dir, split, vname);
            pred_path = pred;
        }
        MetricList ml = {.want_items = step < 0};
        double t0 = time_now_s();
        int rc = t->ops->evaluate(t, m, split, &ml, pred_path);
        if (meth->ops->restore) meth->ops->restore(meth, &m->bb, &m->params);
        if (rc != 0) return -1;
        task_metrics_add(&ml, "eval_seconds", time_now_s() - t0);
        char sp[64];
        if (v == 0) snprintf(sp, sizeof sp, "%s", split);
        else snprintf(sp, sizeof sp, "%s@%s", split, vname);
        for (int i = 0; i < ml.n; i++) {
            if (step >= 0) {
                char cname[96];
                snprintf(cname, sizeof cname, "%s/%s", sp, ml.name[i]);
                train_sink_curve(sink, step, cname, ml.value[i]);
            } else {
                train_sink_metric(sink, sp, ml.name[i], ml.value[i]);
            }
        }
        for (int i = 0; i < ml.n_items; i++)
            train_sink_items(sink, sp, ml.items[i].name, ml.items[i].n, ml.items[i].ids, ml.items[i].values);
        task_metrics_free(&ml);
        if (!quiet) {
            fprintf(stderr, "  eval %s (%s): ", sp, vname);
            for (int i = 0; i < ml.n && i < 8; i++) fprintf(stderr, "%s%s=%.4g", i ? " " : "", ml.name[i], ml.value[i]);
            fprintf(stderr, " [%.1fs]\n", task_metrics_get(&ml, "eval_seconds"));
        }
        if (v == 0 && first) *first = ml;
    }
    return 0;
}

int train_evaluate(Model *m, Task *t, Method *meth, const char *split, const char *out_dir, int quiet,
                   const TrainSink *sink, MetricList *first) {
    return evaluate_variants(m, t, meth, split, out_dir, quiet, sink, -1, first);
}

/* Weight distances of every variant to the reference (train_weight_distance.h). */
static void log_distances(Model *m, Method *meth, const TrainConfig *tc, const TrainSink *sink, int step) {
    int nv = method_n_variants(meth);
    for (int v = 0; v < nv; v++) {
        const char *vname = method_variant_name(meth, v);
        if (meth->ops->apply_variant) meth->ops->apply_variant(meth, &m->bb, &m->params, v);
        wdist_log(tc->wdist, &m->bb, &m->params, sink, step, vname);
        if (meth->ops->restore) meth->ops->restore(meth, &m->bb, &m->params);
    }
}

/* Names the first tensor holding a non-finite value, weights before
 * gradients (a bad weight is the cause, a bad gradient its symptom):
 * "; first non-finite: weight 'name'[k]" into buf, or "" when all are finite. */
static void find_nonfinite(const Params *p, char *buf, size_t cap) {
    buf[0] = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n; i++) {
            const float *x = pass == 0 ? params_data(p, i) : params_grad(p, i);
            for (size_t k = 0; x && k < p->info[i].size; k++)
                if (!isfinite(x[k])) {
                    snprintf(buf, cap, "; first non-finite: %s '%s'[%zu]", pass ? "gradient of" : "weight",
                             p->info[i].name, k);
                    return;
                }
        }
}

static const char *const schedule_names[] = {"vilt", "shifted"};

const char *train_lr_schedule_name(LrSchedule s) { return schedule_names[s]; }

int train_lr_schedule_parse(const char *name) {
    return NAME_INDEX(schedule_names, name);
}

float train_lr_schedule(LrSchedule form, int s, int total, int warmup, float peak) {
    if (warmup > 0 && s < warmup) return peak * (float)(s + (form == LR_SCHEDULE_SHIFTED)) / (float)warmup;
    if (total <= warmup) return peak;
    float frac = (float)(total - s) / (float)(total - warmup);
    return frac > 0 ? peak * frac : 0.0f;
}

double train_clip_grad_norm(Params *p, double max_norm) {
    double ss = 0.0;
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        if (!e->trainable) continue;
        const float *g = p->grad + e->offset;
        for (size_t k = 0; k < e->size; k++) ss += (double)g[k] * g[k];
    }
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (int i = 0; i < p->n; i++) {
            const ParamInfo *e = &p->info[i];
            if (!e->trainable) continue;
            float *g = p->grad + e->offset;
            for (size_t k = 0; k < e->size; k++) g[k] *= s;
        }
    }
    return norm;
}

void train_run(Model *m, Task *t, Method *meth, const TrainConfig *tc, Rng *rng, const TrainSink *sink,
               TrainResult *res) {
    memset(res, 0, sizeof *res);
    AdamWConfig opt = adamw_config_default(tc->lr);
    opt.weight_decay = tc->weight_decay;
    opt.form = tc->adamw;
    if (tc->head_lr_mult > 0)
        for (int i = 0; i < m->params.n; i++)
            if (m->params.info[i].group == PARAM_GROUP_HEAD) m->params.info[i].lr_mult = tc->head_lr_mult;
    int warmup = (int)(tc->warmup_frac * tc->steps);
    int log_every = tc->log_every > 0 ? tc->log_every : 10;
    double t0 = time_now_s(), last_print = 0, loss_avg = 0, extra_avg = 0;
    int avg_n = 0;
    for (int s = 0; s < tc->steps; s++) {
        if (interrupt_pending()) {
            res->status = TRAIN_KILLED;
            snprintf(res->error, sizeof res->error, "stopped by signal %d at step %d", interrupt_pending(), s);
            break;
        }
        double tm = time_now_s();
        if (meth->ops->before_step) meth->ops->before_step(meth, &m->bb, &m->params, s + 1);
        double tt = time_now_s();
        res->method_seconds += tt - tm;
        params_zero_grad(&m->params);
        err_clear();
        /* dropout in the training step only: evaluations, the method's loss
         * and update run the model as evaluated (no masks, no draws) */
        model_train_mode(m, tc->dropout, rng);
        double loss = t->ops->train_step(t, m, rng);
        model_eval_mode(m);
        tm = time_now_s();
        res->task_seconds += tm - tt;
        if (!isfinite(loss) && err_msg()[0]) { /* the step failed (a signal, missing data): not a divergence */
            res->status = interrupt_pending() ? TRAIN_KILLED : TRAIN_FAILED;
            snprintf(res->error, sizeof res->error, "%s (in step %d)", err_msg(), s + 1);
            break;
        }
        double extra = meth->ops->extra_loss ? meth->ops->extra_loss(meth, &m->bb, &m->params) : 0.0;
        double to = time_now_s();
        res->method_seconds += to - tm;
        double gnorm = train_clip_grad_norm(&m->params, tc->clip);
        if (!isfinite(loss) || !isfinite(extra) || !isfinite(gnorm)) {
            res->status = TRAIN_DIVERGED;
            char where[PARAM_NAME_MAX + 64];
            find_nonfinite(&m->params, where, sizeof where);
            snprintf(res->error, sizeof res->error, "non-finite %s at step %d (loss %g, extra %g, grad norm %g)%s",
                     !isfinite(loss) ? "task loss" : !isfinite(extra) ? "method loss" : "gradient", s + 1, loss,
                     extra, gnorm, where);
            train_sink_curve(sink, s + 1, "loss", loss);
            break;
        }
        float lr = train_lr_schedule(tc->schedule, s, tc->steps, warmup, tc->lr);
        adamw_step(&m->params, &opt, lr, s + 1);
        res->optimizer_seconds += time_now_s() - to;
        res->steps_done = s + 1;
        res->last_loss = loss;
        loss_avg += loss, extra_avg += extra, avg_n++;
        if ((s + 1) % log_every == 0 || s + 1 == tc->steps) {
            train_sink_curve(sink, s + 1, "loss", loss_avg / avg_n);
            train_sink_curve(sink, s + 1, "lr", lr);
            train_sink_curve(sink, s + 1, "grad_norm", gnorm);
            if (meth->ops->extra_loss) train_sink_curve(sink, s + 1, "imitation_loss", extra_avg / avg_n);
            loss_avg = extra_avg = 0, avg_n = 0;
        }
        double now = time_now_s() - t0;
        if (!tc->quiet && (now - last_print > 2.0 || s + 1 == tc->steps)) {
            double per = now / (s + 1);
            fprintf(stderr, "\r  step %d/%d  loss %.4f%s  %.0f ms/step  ETA %.0fs   ", s + 1, tc->steps, loss,
                    meth->ops->extra_loss ? "" : "", per * 1000, per * (tc->steps - s - 1));
            if (s + 1 == tc->steps) fputc('\n', stderr);
            last_print = now;
        }
        if (tc->wdist && tc->diag_every > 0 && ((s + 1) % tc->diag_every == 0 || s + 1 == tc->steps))
            log_distances(m, meth, tc, sink, s + 1);
        if (tc->eval_every > 0 && (s + 1) % tc->eval_every == 0 && s + 1 < tc->steps) {
            if (!tc->quiet) fputc('\n', stderr);
            double te = time_now_s();
            int rc = evaluate_variants(m, t, meth, "val", tc->out_dir, tc->quiet, sink, s + 1, NULL);
            res->eval_seconds += time_now_s() - te;
            if (rc != 0) {
                res->status = interrupt_pending() ? TRAIN_KILLED : TRAIN_FAILED;
                snprintf(res->error, sizeof res->error, "%s", err_msg());
                break;
            }
        }
    }
    if (res->status == TRAIN_OK) {
        double te = time_now_s();
        int rc = train_evaluate(m, t, meth, tc->eval_split, tc->out_dir, tc->quiet, sink, &res->final);
        res->eval_seconds += time_now_s() - te;
        if (rc != 0) {
            res->status = interrupt_pending() ? TRAIN_KILLED : TRAIN_FAILED;
            snprintf(res->error, sizeof res->error, "%s", err_msg());
        }
    }
    res->seconds = time_now_s() - t0;
}
