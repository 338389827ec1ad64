/* moil bench: training-step throughput of the reference ViLT-style config
 * (full tuning, a 2-class head on the pooled output, cross-entropy, AdamW),
 * with 1 and 2 OpenBLAS threads, against OpenBLAS's own sgemm rate at the
 * model's GEMM shapes and against the same model in PyTorch, all measured in
 * the same run. */
#include <cblas.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "commands.h"
#include "model_vilt.h"
#include "ops.h"
#include "train.h"
#include "train_adamw.h"

static const char usage[] =
    "usage: moil bench [--steps N] [--warmup N] [--batch B] [--threads LIST] [--dropout P] [--no-torch]\n"
    "\n"
    "Trains the reference config (d=128, 4 layers, 4 heads, MLP 4x, 64x64 images,\n"
    "patch 16, 24 text tokens) on random data and prints, per thread count:\n"
    "ms/step, samples/s, achieved GFLOP/s (counted FLOPs: forward + 2x for\n"
    "backward), OpenBLAS sgemm GFLOP/s at the model's own GEMM shapes, peak\n"
    "memory, and PyTorch's ms/step on the same model (Debian python3-torch,\n"
    "skipped with a message when absent; run with OPENBLAS_NUM_THREADS and\n"
    "OMP_NUM_THREADS set to the thread count). The last line is machine-readable,\n"
    "for 1 thread: bench: ms_per_step=... samples_per_s=... gflops=...\n"
    "sgemm_gflops=... ratio=... torch_ratio=...\n"
    "  ratio       achieved GFLOP/s over the sgemm rate\n"
    "  torch_ratio engine steps/s over PyTorch steps/s (NA without PyTorch)\n"
    "\n"
    "  --steps N      timed steps per thread count (default 20)\n"
    "  --warmup N     untimed steps first (default 3)\n"
    "  --batch B      sequences per step (default 64)\n"
    "  --threads LIST comma-separated thread counts (default 1,2)\n"
    "  --dropout P    training-mode dropout of the engine's model (default 0, as the\n"
    "                 PyTorch model; ViLT's 0.1 measures what dropout costs a step)\n"
    "  --torch-script PATH  the PyTorch model (default bench/vilt_torch.py)\n"
    "  --no-torch     skip the PyTorch comparison\n";

typedef struct {
    Params params;
    Vilt model;
    Linear head;
    int B;
    int *ids, *mask, *labels;
    float *images, *logits, *probs, *dlogits, *dpooled;
    AdamWConfig opt;
    int step;
    Rng drop_rng; /* the dropout masks' source */
    Dropout drop;
} BenchRun;

static void bench_init(BenchRun *r, int B, float dropout) {
    memset(r, 0, sizeof *r);
    ModelDims cfg = model_dims_default(200);
    params_init(&r->params);
    vilt_register(&r->model, &cfg, VILT_STEM_PATCH, &r->params);
    linear_register(&r->params, &r->head, "head.fc", cfg.d, 2, PARAM_GROUP_HEAD);
    params_alloc(&r->params);
    Rng rng;
    rng_seed(&rng, 0);
    vilt_init_weights(&r->model, &rng);
    linear_init(&r->params, &r->head, &rng);
    vilt_alloc(&r->model, B);
    r->B = B;
    int Tt = r->model.Tt, S = cfg.image_size;
    r->ids = xcalloc((size_t)B * Tt, sizeof(int));
    r->mask = xcalloc((size_t)B * Tt, sizeof(int));
    r->labels = xcalloc(B, sizeof(int));
    r->images = xcalloc((size_t)B * 3 * S * S, sizeof(float));
    for (int i = 0; i < B * Tt; i++) {
        r->ids[i] = (int)rng_below(&rng, 200);
        r->mask[i] = (i % Tt) < Tt / 2;
    }
    for (int b = 0; b < B; b++) r->labels[b] = (int)rng_below(&rng, 2);
    rng_fill_uniform(&rng, r->images, (long)B * 3 * S * S, -1, 1);
    r->logits = xcalloc((size_t)B * 2, sizeof(float));
    r->probs = xcalloc((size_t)B * 2, sizeof(float));
    r->dlogits = xcalloc((size_t)B * 2, sizeof(float));
    r->dpooled = xcalloc((size_t)B * cfg.d, sizeof(float));
    r->opt = adamw_config_default(1e-4f);
    rng_seed(&r->drop_rng, 1);
    r->drop = (Dropout){dropout, &r->drop_rng};
}

static void bench_free(BenchRun *r) {
    vilt_free(&r->model);
    params_free(&r->params);
    free(r->ids), free(r->mask), free(r->labels), free(r->images);
    free(r->logits), free(r->probs), free(r->dlogits), free(r->dpooled);
}

static void bench_step(BenchRun *r) {
    params_zero_grad(&r->params);
    ModelInput in = {.B = r->B, .text_ids = r->ids, .text_mask = r->mask, .images = r->images, .image_type = NULL, .attn_mode = ATTN_FULL};
    if (vilt_forward(&r->model, &in, &r->drop) != 0) die("%s", err_msg());
    layer_linear_forward(&r->params, &r->head, r->logits, r->model.act.pooled, r->B);
    int count;
    crossentropy_forward(r->probs, r->logits, r->labels, r->B, 2, -100, &count);
    memset(r->dlogits, 0, sizeof(float) * r->B * 2);
    crossentropy_backward(r->dlogits, r->probs, r->labels, r->B, 2, -100, count, 1.0f);
    memset(r->dpooled, 0, sizeof(float) * r->B * r->model.cfg.d);
    layer_linear_backward(&r->params, &r->head, r->dpooled, r->dlogits, r->model.act.pooled, r->B);
    vilt_backward(&r->model, &in, NULL, r->dpooled);
    train_clip_grad_norm(&r->params, 0); /* the norm a run logs; no clipping, as a run's default */
    adamw_step(&r->params, &r->opt, r->opt.lr, ++r->step);
}

/* OpenBLAS sgemm GFLOP/s over the model's own linear-layer GEMMs (forward,
 * input gradient, weight gradient of q/k/v/proj, fc1, fc2), in the
 * proportions one training step issues them. */
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

/* PyTorch ms/step from bench/vilt_torch.py, or -1 with a reason printed. */
static double torch_ms(const char *script, int threads, int steps, int batch) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("  torch: skipped (/usr/bin/python3 not found)\n");
        return -1;
    }
    if (access(script, R_OK) != 0) {
        printf("  torch: skipped (%s not found; run from the repository root or pass --torch-script)\n", script);
        return -1;
    }
    /* torch.set_num_threads does not reach the OpenBLAS that Debian's torch
     * calls for its GEMMs: without the variable, "1 thread" runs them on every
     * core. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d /usr/bin/python3 '%s' --threads %d --steps %d --batch %d 2>&1",
             threads, threads, script, threads, steps, batch);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    double ms = -1;
    while (fgets(line, sizeof line, p)) {
        char *at = strstr(line, "ms_per_step=");
        if (at) ms = atof(at + strlen("ms_per_step="));
        else if (strstr(line, "ModuleNotFoundError")) printf("  torch: skipped (python3-torch not installed)\n");
    }
    pclose(p);
    return ms;
}

static long peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    int steps = 20, warmup = 3, batch = 64, use_torch = 1;
    double dropout = 0;
    const char *threads_list = "1,2", *script = "bench/vilt_torch.py";
    static const struct option opts[] = {{"steps", required_argument, 0, 's'}, {"warmup", required_argument, 0, 'w'},
                                         {"batch", required_argument, 0, 'b'}, {"threads", required_argument, 0, 't'},
                                         {"torch-script", required_argument, 0, 'p'},
                                         {"dropout", required_argument, 0, 'd'},
                                         {"no-torch", no_argument, 0, 'n'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': steps = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 't': threads_list = optarg; break;
        case 'p': script = optarg; break;
        case 'd': dropout = atof(optarg); break;
        case 'n': use_torch = 0; break;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (steps < 1 || batch < 1 || warmup < 0 || !(dropout >= 0 && dropout < 1)) {
        fprintf(stderr, "moil bench: --steps and --batch must be >= 1, --warmup >= 0, --dropout in [0, 1)\n");
        return 2;
    }
    BenchRun r;
    bench_init(&r, batch, (float)dropout);
    double step_flops = 3.0 * vilt_forward_flops(&r.model, batch);
    int N = batch * r.model.T, C = r.model.cfg.d, hid = C * r.model.cfg.mlp_ratio;
    printf("bench: ViLT-style d=%d layers=%d heads=%d mlp=%dx image=%d patch=%d text=%d tokens=%d batch=%d "
           "dropout=%g, %.2f GFLOP per step\n",
           C, r.model.cfg.layers, r.model.cfg.heads, r.model.cfg.mlp_ratio, r.model.cfg.image_size, r.model.cfg.patch,
           r.model.Tt, r.model.T, batch, dropout, step_flops / 1e9);
    char *list = xstrdup(threads_list), *save = NULL;
    char last[512] = "";
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int th = atoi(tok);
        if (th < 1) continue;
        openblas_set_num_threads(th);
        for (int s = 0; s < warmup; s++) bench_step(&r);
        double t0 = time_now_s();
        for (int s = 0; s < steps; s++) bench_step(&r);
        double ms = (time_now_s() - t0) * 1000.0 / steps;
        double gflops = step_flops / (ms / 1000.0) / 1e9;
        double sg = sgemm_rate(N, C, hid, 1.0);
        double tms = use_torch ? torch_ms(script, th, steps, batch) : -1;
        char torch_ms_txt[32] = "NA", torch_ratio_txt[32] = "NA";
        if (tms > 0) {
            snprintf(torch_ms_txt, sizeof torch_ms_txt, "%.2f", tms);
            snprintf(torch_ratio_txt, sizeof torch_ratio_txt, "%.3f", tms / ms);
        }
        printf("  threads=%d: %.1f ms/step, %.0f samples/s, %.1f GFLOP/s achieved, sgemm %.1f GFLOP/s "
               "(ratio %.2f), peak memory %ld MiB, PyTorch %s ms/step (engine/PyTorch speed %s)\n",
               th, ms, batch / (ms / 1000.0), gflops, sg, gflops / sg, peak_rss_mib(), torch_ms_txt,
               torch_ratio_txt);
        if (th == 1 || !last[0])
            snprintf(last, sizeof last,
                     "bench: threads=%d ms_per_step=%.2f samples_per_s=%.1f gflops=%.2f sgemm_gflops=%.2f "
                     "ratio=%.3f torch_ms_per_step=%s torch_ratio=%s peak_mib=%ld",
                     th, ms, batch / (ms / 1000.0), gflops, sg, gflops / sg, torch_ms_txt, torch_ratio_txt,
                     peak_rss_mib());
        fflush(stdout);
    }
    free(list);
    bench_free(&r);
    printf("%s\n", last);
    return 0;
}
