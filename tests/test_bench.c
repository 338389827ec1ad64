/* moil bench at the small size, one timed step of two sequences per
 * measurement (nothing here asserts a time): one machine-readable line per
 * mode with a positive time; the parameter counts of the three modes relate
 * as the modes say (LoRA adds 2 r d floats on each of q, k, v per layer and
 * trains those and the head, inference holds full tuning's tensors); each
 * measurement's peak memory is its own (inference, measured last, below full
 * tuning, which keeps gradients and AdamW moments); with python3-torch, the
 * PyTorch reference ran every mode and counted the same tensors (moil bench
 * fails otherwise); bad lists are refused naming the known values. Runs the
 * built binary ($MOIL, else ./moil). */
#include "proc.h"
#include "test.h"

#define LAYERS 4 /* the small size's */
#define D 128
#define RANK 16 /* LoRA's default rank */
#define HEAD (2 * D + 2)

typedef struct {
    double ms, torch_ms, torch_ratio;
    long peak_mib;
    size_t params, trainable;
    int torch_na;
} Line;

/* The machine-readable line of mode in out, into *l; 0 if there is none. */
static int line_of(const char *out, const char *mode, Line *l) {
    char key[64];
    snprintf(key, sizeof key, "bench: config=small mode=%s threads=1 ", mode);
    const char *p = strstr(out, key);
    if (!p) return 0;
    char torch_ms[32], ratio[32];
    int n = sscanf(p + strlen(key),
                   "batch=2 ms_per_step=%lf torch_ms_per_step=%31s torch_ratio=%31s peak_mib=%ld torch_peak_mib=%*s "
                   "params=%zu trainable=%zu",
                   &l->ms, torch_ms, ratio, &l->peak_mib, &l->params, &l->trainable);
    l->torch_na = !strcmp(torch_ms, "NA");
    l->torch_ms = atof(torch_ms), l->torch_ratio = atof(ratio);
    return n == 6;
}

/* `moil bench` at the small size, 1 thread, 1 step of 2 sequences per
 * measurement, with extra (--no-torch or the script); its status. */
static int bench_small(char **out, const char *extra) {
    return proc_run(out, "'%s' bench --config small --threads 1 --steps 1 --warmup 0 --batch 2 %s", moil_bin(),
                    extra);
}

static void check_modes(const char *out, int with_torch) {
    Line full, lora, infer;
    int found = line_of(out, "full", &full) + line_of(out, "lora", &lora) + line_of(out, "infer", &infer);
    CHECK(found == 3, "%d of the 3 modes' lines:\n%s", found, out);
    if (found != 3) return;
    CHECK(full.ms > 0 && lora.ms > 0 && infer.ms > 0, "times %g %g %g", full.ms, lora.ms, infer.ms);
    CHECK(full.trainable == full.params, "full tuning trains %zu of %zu floats", full.trainable, full.params);
    size_t lora_floats = (size_t)LAYERS * 3 * 2 * RANK * D;
    CHECK(lora.params == full.params + lora_floats && lora.trainable == lora_floats + HEAD,
          "LoRA: %zu floats (%zu trained), expected %zu (%zu)", lora.params, lora.trainable, full.params + lora_floats,
          lora_floats + HEAD);
    CHECK(infer.params == full.params && infer.trainable == 0, "inference: %zu floats (%zu trained)", infer.params,
          infer.trainable);
    CHECK(infer.peak_mib < full.peak_mib, "peak memory: inference %ld MiB, full tuning %ld MiB", infer.peak_mib,
          full.peak_mib);
    const Line *all[3] = {&full, &lora, &infer};
    for (int i = 0; i < 3; i++) {
        if (with_torch)
            CHECK(!all[i]->torch_na && all[i]->torch_ms > 0 && all[i]->torch_ratio > 0,
                  "mode %d: PyTorch %g ms, ratio %g", i, all[i]->torch_ms, all[i]->torch_ratio);
        else
            CHECK(all[i]->torch_na, "mode %d: PyTorch measured with --no-torch", i);
    }
}

static void bench_engine_modes(void) {
    char *out;
    int rc = bench_small(&out, "--no-torch");
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    check_modes(out, 0);
    free(out);
}

static void bench_torch_same_model(void) {
    /* the script beside this folder (make test runs from the top folder) */
    const char *src = __FILE__, *slash = strrchr(src, '/');
    char extra[600], *out;
    snprintf(extra, sizeof extra, "--torch-script '%.*s../bench/vilt_torch.py'", slash ? (int)(slash + 1 - src) : 0,
             src);
    int rc = bench_small(&out, extra);
    CHECK(rc == 0, "status %d:\n%s", rc, out);
    check_modes(out, 1);
    free(out);
}

static void bench_refuses_bad_lists(void) {
    static const struct {
        const char *args, *says;
    } bad[] = {{"--config nope", "unknown name 'nope' (known: small, vilt-b32)"},
               {"--modes full,bogus", "(known: full, lora, infer)"},
               {"--threads 1,0", "--threads 0"},
               {"--config ''", "--config: empty list"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out;
        int rc = proc_run(&out, "'%s' bench %s", moil_bin(), bad[i].args);
        CHECK(rc == 2 && strstr(out, bad[i].says), "moil bench %s: status %d, expected 2 and '%s':\n%s", bad[i].args,
              rc, bad[i].says, out);
        free(out);
    }
    char *out;
    int rc = bench_small(&out, "--modes infer --torch-script /nonexistent/vilt_torch.py");
    CHECK(rc == 0 && strstr(out, "PyTorch: skipped (/nonexistent/vilt_torch.py not found"), "status %d:\n%s", rc,
          out);
    free(out);
}

int main(void) {
    RUN(bench_engine_modes);
    RUN(bench_refuses_bad_lists);
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0)
        RUN(bench_torch_same_model);
    else
        printf("skipped bench_torch_same_model: /usr/bin/python3 cannot import torch (Debian python3-torch: "
               "`make deps` installs it)\n");
    return TEST_DONE();
}
