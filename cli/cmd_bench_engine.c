/* This file contains moil bench's measurement of the engine: one model size,
 * one mode (full tuning, LoRA, inference), one thread count, timed in a
 * child process of its own so that the child's peak resident memory is that
 * measurement's alone. The model is the ViLT-style backbone with a 2-class
 * linear head on the pooled output, trained with cross-entropy and AdamW on
 * random data, built through the same Model and Method interfaces a run
 * uses (cli/run_build.c). */
#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cmd_bench.h"
#include "method.h"
#include "model_vilt.h"
#include "ops.h"
#include "train.h"
#include "train_adamw.h"

#define BENCH_CLASSES 2

typedef struct {
    Model model;
    Method meth;
    int has_meth;
    Linear head; /* head.fc: [2,C], [2] */
    int B, step;
    int *ids, *mask, *labels; /* [B,Tt], [B,Tt], [B] */
    float *images;            /* [B,3,S,S] */
    float *logits, *probs, *dlogits; /* [B,2] */
    float *dpooled;           /* [B,C] */
    AdamWConfig opt;
    Rng drop_rng; /* the dropout masks' source */
    float dropout;
} EngineRun;

/* Model, head and (training) method of mode, allocated for size->batch
 * sequences; random weights and a random batch (half of each text padding). */
static int run_init(EngineRun *r, const BenchSize *size, BenchMode mode, float dropout) {
    memset(r, 0, sizeof *r);
    ModelConfig mc;
    if (model_config_default(&mc, "vilt", size->dims.vocab) != 0) return err_set("bench: no vilt model kind");
    mc.dims = size->dims;
    if (model_create(&r->model, &mc) != 0) return err_prefix("bench: %s", size->name);
    Model *m = &r->model;
    linear_register(&m->params, &r->head, "head.fc", m->d, BENCH_CLASSES, PARAM_GROUP_HEAD);
    if (mode != BENCH_INFER) {
        MethodOptions mo = method_options_default(); /* LoRA: q, k, v at rank 16, alpha 16 */
        if (method_create(&r->meth, mode == BENCH_LORA ? "lora" : "full", &mo) != 0) return -1;
        r->has_meth = 1;
        if (r->meth.ops->add_params && r->meth.ops->add_params(&r->meth, &m->bb, &m->params) != 0) return -1;
    }
    int B = size->batch;
    Rng rng;
    rng_seed(&rng, 0);
    (mode == BENCH_INFER ? model_finish_eval : model_finish)(m, B, &rng);
    linear_init(&m->params, &r->head, &rng);
    if (r->has_meth && r->meth.ops->setup(&r->meth, &m->bb, &m->params, &rng) != 0) return -1;
    r->B = B;
    int Tt = m->Tt, S = m->image_size, V = size->dims.vocab;
    r->ids = xcalloc((size_t)B * Tt, sizeof(int));
    r->mask = xcalloc((size_t)B * Tt, sizeof(int));
    r->labels = xcalloc(B, sizeof(int));
    r->images = xcalloc((size_t)B * 3 * S * S, sizeof(float));
    for (int i = 0; i < B * Tt; i++) {
        r->ids[i] = (int)rng_below(&rng, (uint32_t)V);
        r->mask[i] = (i % Tt) < Tt / 2;
    }
    for (int b = 0; b < B; b++) r->labels[b] = (int)rng_below(&rng, BENCH_CLASSES);
    rng_fill_uniform(&rng, r->images, (long)B * 3 * S * S, -1, 1);
    r->logits = xcalloc((size_t)B * BENCH_CLASSES, sizeof(float));
    r->probs = xcalloc((size_t)B * BENCH_CLASSES, sizeof(float));
    r->dlogits = xcalloc((size_t)B * BENCH_CLASSES, sizeof(float));
    r->dpooled = xcalloc((size_t)B * m->d, sizeof(float));
    r->opt = adamw_config_default(1e-4f);
    rng_seed(&r->drop_rng, 1);
    r->dropout = dropout;
    return 0;
}

static void run_free(EngineRun *r) {
    if (r->has_meth) method_destroy(&r->meth);
    model_free(&r->model);
    free(r->ids), free(r->mask), free(r->labels), free(r->images);
    free(r->logits), free(r->probs), free(r->dlogits), free(r->dpooled);
}

static ModelInput run_input(const EngineRun *r) {
    return (ModelInput){.B = r->B, .text_ids = r->ids, .text_mask = r->mask, .images = r->images,
                        .attn_mode = ATTN_FULL};
}

/* One training step as train_run takes it: forward (dropout as asked),
 * loss, backward, the gradient norm a run logs (no clipping, a run's
 * default), AdamW. */
static int run_train_step(EngineRun *r) {
    Model *m = &r->model;
    ModelInput in = run_input(r);
    int B = r->B, count;
    params_zero_grad(&m->params);
    model_train_mode(m, r->dropout, &r->drop_rng);
    int rc = model_forward(m, &in);
    model_eval_mode(m);
    if (rc != 0) return -1;
    layer_linear_forward(&m->params, &r->head, r->logits, m->pooled, B);
    crossentropy_forward(r->probs, r->logits, r->labels, B, BENCH_CLASSES, -100, &count);
    memset(r->dlogits, 0, sizeof(float) * B * BENCH_CLASSES);
    crossentropy_backward(r->dlogits, r->probs, r->labels, B, BENCH_CLASSES, -100, count, 1.0f);
    memset(r->dpooled, 0, sizeof(float) * B * m->d);
    layer_linear_backward(&m->params, &r->head, r->dpooled, r->dlogits, m->pooled, B);
    model_backward(m, &in, NULL, r->dpooled);
    train_clip_grad_norm(&m->params, 0);
    adamw_step(&m->params, &r->opt, r->opt.lr, ++r->step);
    return 0;
}

/* One inference step: the evaluated model's forward pass and the head. */
static int run_infer_step(EngineRun *r) {
    ModelInput in = run_input(r);
    if (model_forward(&r->model, &in) != 0) return -1;
    layer_linear_forward(&r->model.params, &r->head, r->logits, r->model.pooled, r->B);
    return 0;
}

/* OpenBLAS sgemm GFLOP/s over the model's own linear-layer GEMMs (forward,
 * input gradient, weight gradient of q/k/v/proj, fc1, fc2), in the
 * proportions one training step issues them; N rows = B*T, C = d, hid =
 * mlp_ratio*d. */
static double sgemm_rate(int N, int C, int hid, double min_seconds) {
    int shapes[3][2] = {{C, C}, {C, hid}, {hid, C}}; /* (in, out) */
    int weight[3] = {4, 1, 1};
    size_t big = (size_t)N * hid;
    float *a = xcalloc(big, sizeof(float)), *w = xcalloc((size_t)hid * C, sizeof(float));
    float *o = xcalloc(big, sizeof(float));
    for (size_t i = 0; i < big; i++) a[i] = o[i] = (float)(i % 7) * 0.1f;
    double flops = 0, t0 = time_now_s(), t;
    do {
        for (int s = 0; s < 3; s++) {
            int in = shapes[s][0], out = shapes[s][1];
            for (int rep = 0; rep < weight[s]; rep++) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1, a, in, w, in, 0, o, out);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1, o, out, w, in, 1, a, in);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1, o, out, a, in, 1, w, in);
                flops += 3.0 * 2.0 * N * in * out;
            }
        }
        t = time_now_s() - t0;
    } while (t < min_seconds);
    free(a), free(w), free(o);
    return flops / t / 1e9;
}

/* The measurement itself, in the child. */
static int measure(const BenchSize *size, BenchMode mode, int threads, float dropout, BenchResult *out) {
    memset(out, 0, sizeof *out);
    openblas_set_num_threads(threads);
    EngineRun r;
    int rc = run_init(&r, size, mode, dropout);
    int (*step)(EngineRun *) = mode == BENCH_INFER ? run_infer_step : run_train_step;
    for (int s = 0; rc == 0 && s < size->warmup; s++) rc = step(&r);
    out->ms = -1;
    for (int s = 0; rc == 0 && s < size->steps; s++) {
        double t0 = time_now_s();
        rc = step(&r);
        double ms = (time_now_s() - t0) * 1000.0;
        if (out->ms < 0 || ms < out->ms) out->ms = ms;
    }
    if (rc == 0) {
        const Model *m = &r.model;
        out->params = m->params.total;
        out->trainable = mode == BENCH_INFER ? 0 : params_count_trainable(&m->params, -1);
        /* a Model of kind vilt holds its Vilt in impl (model_vilt.h) */
        double fwd = vilt_forward_flops(m->impl, r.B);
        out->gflop = mode == BENCH_FULL ? 3.0 * fwd / 1e9 : mode == BENCH_INFER ? fwd / 1e9 : 0;
        if (mode == BENCH_FULL)
            out->sgemm_gflops = sgemm_rate(r.B * m->T, m->d, m->d * size->dims.mlp_ratio, 1.0);
    }
    run_free(&r);
    return rc;
}

/* Write all n bytes of buf to fd; -1 on failure. */
static int write_all(int fd, const void *buf, size_t n) {
    for (const char *p = buf; n > 0;) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

int bench_engine_measure(const BenchSize *size, BenchMode mode, int threads, float dropout, BenchResult *out) {
    int fds[2];
    if (pipe(fds) != 0) return err_set("bench: pipe: %s", strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return err_set("bench: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        BenchResult res;
        int rc = measure(size, mode, threads, dropout, &res);
        if (rc != 0) fprintf(stderr, "moil bench: %s %s: %s\n", size->name, bench_mode_names[mode], err_msg());
        if (rc == 0 && write_all(fds[1], &res, sizeof res) != 0) rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t n = read(fds[0], (char *)out + got, sizeof *out - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return err_set("bench: wait4: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != sizeof *out)
        return err_set("bench: the engine's %s measurement of %s failed (%s %d)", bench_mode_names[mode], size->name,
                       WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    out->peak_mib = ru.ru_maxrss / 1024; /* KiB on Linux */
    return 0;
}
