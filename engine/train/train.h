/* The training loop every fine-tuning and pretraining run shares: task
 * batches, the method's extra loss and momentum update, AdamW with warmup +
 * linear decay and gradient clipping, dropout in the training steps only,
 * curves and metrics to a sink (train_sink.h), progress with ETA, NaN
 * detection and clean stops on SIGINT / SIGTERM. */
#ifndef MOIL_TRAIN_H
#define MOIL_TRAIN_H

#include "method.h"
#include "train_adamw.h"
#include "train_sink.h"
#include "train_task.h"
#include "train_weight_distance.h"

/* The warmup's first step. LR_SCHEDULE_VILT: as the schedule ViLT and MoIL
 * train with (transformers' linear warmup): step s (from 0) at peak s / W, so
 * the first step is at 0. LR_SCHEDULE_SHIFTED (the first edition): peak
 * (s + 1) / W. Both then decay linearly to 0 at the last step. */
typedef enum { LR_SCHEDULE_VILT = 0, LR_SCHEDULE_SHIFTED } LrSchedule;

/* The schedules' names ("vilt", "shifted") and the schedule of a name (-1:
 * none). */
const char *train_lr_schedule_name(LrSchedule s);
int train_lr_schedule_parse(const char *name);

typedef struct {
    int steps;          /* optimiser steps */
    float warmup_frac;  /* warmup steps = warmup_frac * steps (ViLT: 0.1) */
    float lr;           /* peak learning rate */
    float weight_decay; /* AdamW decoupled decay (0.01) */
    float clip;         /* gradient-norm clip, 0 = none (ViLT's) */
    float dropout;      /* drop probability of the training forward passes (ViLT 0.1); 0 = none */
    AdamWForm adamw;    /* where AdamW's eps enters (ADAMW_TRANSFORMERS: ViLT's) */
    LrSchedule schedule; /* the warmup's first step (LR_SCHEDULE_VILT) */
    /* learning-rate multiplier of every task-head tensor (PARAM_GROUP_HEAD),
     * as ViLT's lr_mult: 10 for VQA's head, 1 elsewhere (TaskOps.head_lr_mult) */
    float head_lr_mult;
    int eval_every;     /* validation evaluations during training (0 = none) */
    int log_every;      /* curve points every this many steps */
    const char *eval_split; /* final evaluation split ("test") */
    const char *out_dir;    /* predictions files; NULL = none */
    int quiet;
    /* diagnostics: distances of every evaluation variant's q/k/v weights to a
     * reference fine-tuning, every diag_every steps (NULL / 0: none) */
    const WeightDistance *wdist;
    int diag_every;
} TrainConfig;

typedef enum { TRAIN_OK = 0, TRAIN_DIVERGED, TRAIN_KILLED, TRAIN_FAILED } TrainStatus;

typedef struct {
    TrainStatus status;
    char error[512];
    double seconds;
    /* where seconds went: the task's forward and backward (train_step), the
     * method's own work (before_step, extra_loss), clipping and AdamW, and
     * every evaluation (validation curves and the final one); the rest is
     * logging and weight-distance diagnostics */
    double task_seconds, method_seconds, optimizer_seconds, eval_seconds;
    int steps_done;
    double last_loss;
    MetricList final; /* metrics of the reported variant on eval_split */
} TrainResult;

/* Train and evaluate, reporting to sink (NULL: nothing recorded): curves
 * "loss", "lr", "grad_norm" (and "imitation_loss" for a method with an extra
 * loss) every log_every steps, validation metrics as curves "<split>/<name>",
 * the weight distances (wdist_log), and the final metrics with the item
 * scores of the final evaluation. Metrics of the
 * method's first evaluation variant are reported under split eval_split, the
 * others under "<split>@<variant>"; each variant's evaluation adds its
 * wall time, eval_seconds. */
void train_run(Model *m, Task *t, Method *meth, const TrainConfig *tc, Rng *rng, const TrainSink *sink,
               TrainResult *res);

/* The final evaluation train_run ends with, also on its own (a trained
 * model evaluated again): every variant of the method on split, with the
 * method's apply_variant / restore around each; metrics to sink under split
 * (the first variant) and "<split>@<variant>" (the others), predictions in
 * the task's format to <out_dir>/predictions_<split>_<variant> (out_dir
 * NULL: none), the first variant's metrics into first (may be NULL).
 * Returns -1 (err_set) if an evaluation failed. */
int train_evaluate(Model *m, Task *t, Method *meth, const char *split, const char *out_dir, int quiet,
                   const TrainSink *sink, MetricList *first);

/* Learning rate at step s (0-based) of `total`: linear warmup over the first
 * `warmup` steps to `peak`, then linear decay to 0 at `total`. */
float train_lr_schedule(LrSchedule form, int s, int total, int warmup, float peak);

/* L2 norm of the trainable gradients; if max_norm > 0 and the norm exceeds
 * it, the gradients are scaled to max_norm. Returns the norm before clipping. */
double train_clip_grad_norm(Params *p, double max_norm);

/* Install SIGINT/SIGTERM handlers that ask the loop to stop (the run is
 * then recorded as killed). */
void train_install_signal_handlers(void);
/* 1 once a stop was requested. */
int train_stop_requested(void);

#endif
