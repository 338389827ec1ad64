/* This file contains moil bench's measurement of the PyTorch reference
 * (bench/vilt_torch.py, Debian's python3-torch under /usr/bin/python3): the
 * same model size, mode, batch, steps and thread count as the engine's
 * measurement, read back from the script's one result line. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cmd_bench.h"

#define PYTHON "/usr/bin/python3"

/* The number after "name=" in line, or -1 when absent. */
static double field(const char *line, const char *name) {
    char key[40];
    snprintf(key, sizeof key, " %s=", name);
    const char *at = strstr(line, key);
    return at ? atof(at + strlen(key)) : -1;
}

int bench_torch_measure(const char *script, const BenchSize *size, BenchMode mode, int threads, BenchResult *out,
                        char *skip, size_t skip_n) {
    memset(out, 0, sizeof *out);
    if (access(PYTHON, X_OK) != 0) {
        snprintf(skip, skip_n, "%s not found", PYTHON);
        return 1;
    }
    if (access(script, R_OK) != 0) {
        snprintf(skip, skip_n, "%s not found; run from the repository root or pass --torch-script", script);
        return 1;
    }
    /* torch.set_num_threads does not reach the OpenBLAS that Debian's torch
     * calls for its GEMMs: without the variables, "1 thread" runs them on
     * every core. */
    const ModelDims *d = &size->dims;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d " PYTHON " '%s' --mode %s --threads %d --steps %d "
             "--warmup %d --batch %d --vocab %d --d %d --layers %d --heads %d --mlp-ratio %d --patch %d "
             "--image-size %d --text-len %d --types %d --text-types %d 2>&1",
             threads, threads, script, bench_mode_names[mode], threads, size->steps, size->warmup, size->batch,
             d->vocab, d->d, d->layers, d->heads, d->mlp_ratio, d->patch, d->image_size, d->max_text, d->n_types,
             d->text_types);
    FILE *p = popen(cmd, "r");
    if (!p) return err_set("bench: cannot start %s %s", PYTHON, script);
    char line[1024], last[1024] = "";
    int found = 0, no_torch = 0;
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, "torch:", 6) == 0) {
            out->ms = field(line, "ms_per_step");
            out->peak_mib = (long)field(line, "peak_mib");
            out->base_mib = (long)field(line, "base_mib");
            out->params = (size_t)field(line, "params");
            out->trainable = (size_t)field(line, "trainable");
            found = out->ms > 0;
        } else if (strstr(line, "No module named 'torch'")) {
            no_torch = 1;
        }
        if (line[0] != '\n') snprintf(last, sizeof last, "%s", line);
    }
    int st = pclose(p);
    if (no_torch) {
        snprintf(skip, skip_n, "%s cannot import torch (Debian python3-torch: `make deps` installs it)", PYTHON);
        return 1;
    }
    if (st != 0 || !found) {
        last[strcspn(last, "\n")] = 0;
        return err_set("bench: %s %s --mode %s failed (status %d): %s", PYTHON, script, bench_mode_names[mode], st,
                       last);
    }
    return 0;
}
