/* What moil bench's files share (cli/cmd_bench.c, the command and its
 * tables; cli/cmd_bench_engine.c, one measurement of the engine;
 * cli/cmd_bench_torch.c, one of the PyTorch reference bench/vilt_torch.py):
 * the model sizes it knows, the three things it times, and one
 * measurement's result. */
#ifndef MOIL_CMD_BENCH_H
#define MOIL_CMD_BENCH_H

#include <stddef.h>

#include "model.h"

/* A model size of --config, with the batch and step counts that keep its
 * part of the run to a few minutes on 2 cores. */
typedef struct {
    const char *name;    /* --config name: "small", "vilt-b32" */
    const char *summary; /* what the size is */
    ModelDims dims;
    int batch;  /* sequences per step */
    int steps;  /* timed steps per measurement */
    int warmup; /* untimed steps before them */
} BenchSize;

/* What one measurement times, per step of `batch` sequences. */
typedef enum {
    BENCH_FULL = 0, /* training step, every tensor trained: forward, backward, AdamW */
    BENCH_LORA,     /* training step, LoRA on q, k, v (rank 16, alpha 16), the rest frozen */
    BENCH_INFER,    /* forward pass of the evaluated model (no gradients kept) */
    BENCH_MODES
} BenchMode;

/* "full", "lora", "infer". */
extern const char *const bench_mode_names[BENCH_MODES];

/* One measurement. */
typedef struct {
    double ms;            /* the fastest of the timed steps */
    long peak_mib;        /* the measuring process's peak resident memory */
    long base_mib;        /* PyTorch: that peak once torch is imported, before any tensor (engine: 0) */
    size_t params;        /* floats of every tensor (model + head + method) */
    size_t trainable;     /* of which trained (0 for BENCH_INFER) */
    double gflop;         /* counted FLOPs of a step (engine only; 0: not counted) */
    double sgemm_gflops;  /* OpenBLAS sgemm rate at the model's GEMM shapes (engine, BENCH_FULL; else 0) */
} BenchResult;

/* The engine's time of mode on size with `threads` OpenBLAS threads and
 * training-mode dropout p, measured in a child process of its own (its peak
 * memory is this measurement's alone). Returns -1 (err_set) on failure. */
int bench_engine_measure(const BenchSize *size, BenchMode mode, int threads, float dropout, BenchResult *out);

/* The same measured by the PyTorch reference at `script` under
 * /usr/bin/python3 with `threads` threads. Returns 1 when PyTorch cannot run
 * here (the reason in *skip, printed once by the caller), -1 (err_set) when
 * the script failed, 0 on success. */
int bench_torch_measure(const char *script, const BenchSize *size, BenchMode mode, int threads, BenchResult *out,
                        char *skip, size_t skip_n);

#endif
