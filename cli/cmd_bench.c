/* moil bench: the cost of a training step (full tuning, LoRA) and of an
 * inference pass of the ViLT-style model at one or more sizes (the suite's
 * small reference config, ViLT-B/32's shape), with 1 and 2 OpenBLAS threads:
 * ms per step and peak memory of the engine beside the same model in
 * PyTorch, OpenBLAS's own sgemm rate at the model's GEMM shapes, all
 * measured in the same run, so that the ratios hold whatever else the
 * machine is doing. Each measurement runs in a process of its own
 * (cli/cmd_bench_engine.c, cli/cmd_bench_torch.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmd_bench.h"
#include "commands.h"

const char *const bench_mode_names[BENCH_MODES] = {"full", "lora", "infer"};

static const BenchSize sizes[] = {
    {"small", "the suite's reference config", {.vocab = 200, .d = 128, .layers = 4, .heads = 4, .mlp_ratio = 4,
                                               .patch = 16, .image_size = 64, .max_text = 24, .n_types = 3},
     64, 20, 3},
    {"vilt-b32", "ViLT-B/32's shape and tensors, BERT's vocabulary",
     {.vocab = 30522, .d = 768, .layers = 12, .heads = 12, .mlp_ratio = 4, .patch = 32, .image_size = 384,
      .max_text = 40, .n_types = 2, .text_types = 2},
     4, 3, 1},
};
#define N_SIZES ((int)(sizeof sizes / sizeof sizes[0]))

#define MAX_THREADS 8

static const char usage[] =
    "usage: moil bench [--config LIST] [--modes LIST] [--threads LIST] [--steps N] [--warmup N]\n"
    "                  [--batch B] [--dropout P] [--torch-script PATH] [--no-torch]\n"
    "\n"
    "Times the ViLT-style model (a 2-class head on the pooled output, random data)\n"
    "per step at each size of --config, in each mode of --modes, with each thread\n"
    "count of --threads, in the engine and in PyTorch (bench/vilt_torch.py under\n"
    "Debian's /usr/bin/python3 with python3-torch; skipped with a message when\n"
    "absent), each measurement in a process of its own:\n"
    "  full   training step: forward, cross-entropy, backward, AdamW, every tensor\n"
    "  lora   the same with LoRA on q, k, v (rank 16, alpha 16), the rest frozen\n"
    "  infer  forward pass of the evaluated model\n"
    "and prints ms/step (the fastest of the timed steps: on a shared machine the\n"
    "mean moves with the load, the fastest much less), the speed ratio\n"
    "engine/PyTorch (PyTorch ms over engine ms: above 1 the engine is faster),\n"
    "the peak resident memory of each (MiB; PyTorch's includes its libraries),\n"
    "the achieved GFLOP/s (counted FLOPs: forward, + 2x for backward in full)\n"
    "and OpenBLAS's sgemm GFLOP/s at the model's own GEMM shapes, then, with\n"
    "several sizes, how the time per sequence grows from the first size, and\n"
    "one machine-readable line per measurement: bench: config=... mode=...\n"
    "threads=... ms_per_step=... torch_ratio=... peak_mib=... (NA where PyTorch\n"
    "did not run). The load average is printed beside each size: the ratios,\n"
    "measured in the same run, are the figures that hold on a busy machine.\n"
    "\n"
    "  --config LIST  comma-separated sizes (default small):\n"
    "                 small     d=128, 4 layers, 4 heads, MLP 512, patch 16, 64x64\n"
    "                           images (16 patches), 24 text tokens, vocabulary 200;\n"
    "                           batch 64, 3 + 20 steps\n"
    "                 vilt-b32  d=768, 12 layers, 12 heads, MLP 3072, patch 32,\n"
    "                           384x384 images (144 patches), 40 text tokens,\n"
    "                           vocabulary 30,522, BERT's 2 token types, 2\n"
    "                           modality types; batch 4, 1 + 3 steps (112M\n"
    "                           parameters; a few minutes in all on 2 cores)\n"
    "  --modes LIST   comma-separated (default full,lora,infer)\n"
    "  --threads LIST comma-separated thread counts (default 1,2)\n"
    "  --steps N      timed steps per measurement (default: the size's)\n"
    "  --warmup N     untimed steps first (default: the size's)\n"
    "  --batch B      sequences per step (default: the size's)\n"
    "  --dropout P    training-mode dropout of the engine's model (default 0, as the\n"
    "                 PyTorch model; ViLT's 0.1 measures what dropout costs a step)\n"
    "  --torch-script PATH  the PyTorch model (default bench/vilt_torch.py)\n"
    "  --no-torch     skip the PyTorch comparison\n";

typedef struct {
    int size[N_SIZES], n_sizes;
    int mode[BENCH_MODES], n_modes;
    int threads[MAX_THREADS], n_threads;
    int steps, warmup, batch; /* -1: the size's own */
    double dropout;
    const char *script;
    int use_torch;
} BenchArgs;

/* One row: a size, a mode, a thread count. */
typedef struct {
    int size, mode, threads;
    BenchResult eng, torch;
    int has_torch;
} BenchRow;

/* The comma-separated list s as indices into names[0..n) (or, names NULL,
 * as integers in [1, MAX_THREADS]), at most cap of them. */
static int parse_list(const char *opt, const char *s, const char *const *names, int n, int *out, int cap,
                      int *count) {
    char *list = xstrdup(s), *save = NULL;
    int rc = 0;
    *count = 0;
    for (char *tok = strtok_r(list, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        int v;
        if (names) {
            v = name_index(names, n, tok);
            if (v < 0) {
                char known[256] = "";
                for (int i = 0; i < n; i++)
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", names[i]);
                rc = err_set("--%s %s: unknown name '%s' (known: %s)", opt, s, tok, known);
            }
        } else {
            rc = option_parse_int(opt, tok, 1, MAX_THREADS, &v);
        }
        if (rc == 0 && *count == cap) rc = err_set("--%s %s: at most %d values", opt, s, cap);
        if (rc == 0) out[(*count)++] = v;
    }
    if (rc == 0 && *count == 0) rc = err_set("--%s: empty list", opt);
    free(list);
    return rc;
}

static int parse_args(int argc, char **argv, BenchArgs *a) {
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"modes", required_argument, 0, 'm'},
        {"threads", required_argument, 0, 't'}, {"steps", required_argument, 0, 's'},
        {"warmup", required_argument, 0, 'w'}, {"batch", required_argument, 0, 'b'},
        {"dropout", required_argument, 0, 'd'}, {"torch-script", required_argument, 0, 'p'},
        {"no-torch", no_argument, 0, 'n'}, {0, 0, 0, 0}};
    const char *size_names[N_SIZES];
    for (int i = 0; i < N_SIZES; i++) size_names[i] = sizes[i].name;
    const char *config = "small", *modes = "full,lora,infer", *threads = "1,2";
    *a = (BenchArgs){.steps = -1, .warmup = -1, .batch = -1, .script = "bench/vilt_torch.py", .use_torch = 1};
    optind = 1;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'm': modes = optarg; break;
        case 't': threads = optarg; break;
        case 's': rc = option_parse_int("steps", optarg, 1, 1000000, &a->steps); break;
        case 'w': rc = option_parse_int("warmup", optarg, 0, 1000000, &a->warmup); break;
        case 'b': rc = option_parse_int("batch", optarg, 1, 4096, &a->batch); break;
        case 'd': rc = option_parse_double("dropout", optarg, 0, 0.999999, &a->dropout); break;
        case 'p': a->script = optarg; break;
        case 'n': a->use_torch = 0; break;
        default: return err_set("bad option (see moil bench --help)");
        }
    }
    if (rc != 0) return -1;
    if (optind < argc) return err_set("unexpected argument '%s' (see moil bench --help)", argv[optind]);
    if (parse_list("config", config, size_names, N_SIZES, a->size, N_SIZES, &a->n_sizes) != 0 ||
        parse_list("modes", modes, bench_mode_names, BENCH_MODES, a->mode, BENCH_MODES, &a->n_modes) != 0 ||
        parse_list("threads", threads, NULL, 0, a->threads, MAX_THREADS, &a->n_threads) != 0)
        return -1;
    return 0;
}

/* The size i with the options' overrides. */
static BenchSize size_with_args(int i, const BenchArgs *a) {
    BenchSize s = sizes[i];
    if (a->steps > 0) s.steps = a->steps;
    if (a->warmup >= 0) s.warmup = a->warmup;
    if (a->batch > 0) s.batch = a->batch;
    return s;
}

static double load1(void) {
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

static void print_header(const BenchSize *s) {
    const ModelDims *d = &s->dims;
    int g = d->image_size / d->patch;
    printf("bench: %s (%s): d=%d layers=%d heads=%d mlp=%d patch=%d image=%d (%d patches) text=%d vocab=%d; "
           "batch %d, %d warmup + the fastest of %d timed steps; load average %.2f\n",
           s->name, s->summary, d->d, d->layers, d->heads, d->mlp_ratio * d->d, d->patch, d->image_size, g * g,
           d->max_text, d->vocab, s->batch, s->warmup, s->steps, load1());
    printf("  %-5s %7s %12s %12s %9s %10s %10s %9s %9s %9s\n", "mode", "threads", "engine ms", "PyTorch ms",
           "speed e/P", "engine MiB", "PyTorch", "mem e/P", "GFLOP/s", "sgemm");
    fflush(stdout);
}

static void print_row(const BenchRow *r) {
    char tms[32] = "-", speed[32] = "-", tmib[32] = "-", mem[32] = "-", gf[32] = "-", sg[32] = "-";
    if (r->has_torch) {
        snprintf(tms, sizeof tms, "%.1f", r->torch.ms);
        snprintf(speed, sizeof speed, "%.2f", r->torch.ms / r->eng.ms);
        snprintf(tmib, sizeof tmib, "%ld", r->torch.peak_mib);
        snprintf(mem, sizeof mem, "%.2f", (double)r->eng.peak_mib / (double)r->torch.peak_mib);
    }
    if (r->eng.gflop > 0) snprintf(gf, sizeof gf, "%.1f", r->eng.gflop / (r->eng.ms / 1000.0));
    if (r->eng.sgemm_gflops > 0) snprintf(sg, sizeof sg, "%.1f", r->eng.sgemm_gflops);
    printf("  %-5s %7d %12.1f %12s %9s %10ld %10s %9s %9s %9s\n", bench_mode_names[r->mode], r->threads, r->eng.ms,
           tms, speed, r->eng.peak_mib, tmib, mem, gf, sg);
    fflush(stdout);
}

static void print_machine_line(const BenchRow *r, int batch) {
    char tms[32] = "NA", ratio[32] = "NA", tmib[32] = "NA";
    if (r->has_torch) {
        snprintf(tms, sizeof tms, "%.2f", r->torch.ms);
        snprintf(ratio, sizeof ratio, "%.3f", r->torch.ms / r->eng.ms);
        snprintf(tmib, sizeof tmib, "%ld", r->torch.peak_mib);
    }
    printf("bench: config=%s mode=%s threads=%d batch=%d ms_per_step=%.2f torch_ms_per_step=%s torch_ratio=%s "
           "peak_mib=%ld torch_peak_mib=%s params=%zu trainable=%zu\n",
           sizes[r->size].name, bench_mode_names[r->mode], r->threads, batch, r->eng.ms, tms, ratio,
           r->eng.peak_mib, tmib, r->eng.params, r->eng.trainable);
}

/* With several sizes: each size's time per sequence over the first size's,
 * per mode and thread count, for the engine and for PyTorch. */
static void print_growth(const BenchRow *rows, int n, const BenchArgs *a) {
    int per_size = a->n_modes * a->n_threads;
    BenchSize first = size_with_args(a->size[0], a);
    for (int k = 1; k < a->n_sizes; k++) {
        BenchSize s = size_with_args(a->size[k], a);
        printf("bench: time per sequence, %s over %s:", s.name, first.name);
        for (int j = 0; j < per_size && k * per_size + j < n; j++) {
            const BenchRow *base = &rows[j], *r = &rows[k * per_size + j];
            double eng = (r->eng.ms / s.batch) / (base->eng.ms / first.batch);
            printf(" %s/%d thread%s %.0fx", bench_mode_names[r->mode], r->threads, r->threads > 1 ? "s" : "", eng);
            if (r->has_torch && base->has_torch)
                printf(" (PyTorch %.0fx)", (r->torch.ms / s.batch) / (base->torch.ms / first.batch));
            printf(j + 1 < per_size ? "," : "\n");
        }
    }
}

int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    BenchArgs a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "moil bench: %s\n", err_msg());
        return 2;
    }
    int n_rows = a.n_sizes * a.n_modes * a.n_threads, n = 0, failed = 0;
    BenchRow *rows = xcalloc((size_t)n_rows, sizeof *rows);
    char skip[512] = "";
    int torch_ok = a.use_torch;
    for (int si = 0; si < a.n_sizes && !failed; si++) {
        BenchSize s = size_with_args(a.size[si], &a);
        print_header(&s);
        for (int mi = 0; mi < a.n_modes && !failed; mi++) {
            for (int ti = 0; ti < a.n_threads && !failed; ti++) {
                BenchRow *r = &rows[n];
                *r = (BenchRow){.size = a.size[si], .mode = a.mode[mi], .threads = a.threads[ti]};
                if (bench_engine_measure(&s, r->mode, r->threads, (float)a.dropout, &r->eng) != 0) {
                    fprintf(stderr, "moil bench: %s\n", err_msg());
                    failed = 1;
                    break;
                }
                int trc = torch_ok ? bench_torch_measure(a.script, &s, r->mode, r->threads, &r->torch, skip,
                                                         sizeof skip)
                                   : 1;
                if (trc == 1 && torch_ok) {
                    printf("  PyTorch: skipped (%s)\n", skip);
                    torch_ok = 0;
                } else if (trc < 0) {
                    fprintf(stderr, "moil bench: %s\n", err_msg());
                    failed = 1;
                } else if (trc == 0 && (r->torch.params != r->eng.params || r->torch.trainable != r->eng.trainable)) {
                    fprintf(stderr,
                            "moil bench: %s %s: the PyTorch model has %zu floats (%zu trained), the engine's %zu "
                            "(%zu trained): they are not the same model\n",
                            s.name, bench_mode_names[r->mode], r->torch.params, r->torch.trainable, r->eng.params,
                            r->eng.trainable);
                    failed = 1;
                }
                r->has_torch = trc == 0;
                n++;
                print_row(r);
            }
        }
        if (torch_ok && n > 0 && rows[n - 1].has_torch)
            printf("  PyTorch's peak memory includes %ld MiB of its libraries (torch imported, no tensor yet)\n",
                   rows[n - 1].torch.base_mib);
        printf("  load average after %s: %.2f\n", s.name, load1());
    }
    if (!failed) print_growth(rows, n, &a);
    for (int i = 0; i < n; i++) print_machine_line(&rows[i], size_with_args(rows[i].size, &a).batch);
    free(rows);
    return failed ? 1 : 0;
}
