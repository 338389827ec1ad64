/* This file contains the numeric environment of a run (run_numeric_env.h):
 * the CPU, the build's numeric flags and OpenBLAS's choice of kernels. */
#include "run_numeric_env.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stamped by the build (Makefile: the flags of NUMERIC_FLAGS). */
#ifndef MOIL_NUMERIC_FLAGS
#define MOIL_NUMERIC_FLAGS "unknown"
#endif

/* The first "model name" of /proc/cpuinfo into out ("unknown" when there is
 * none: another OS, or an architecture that names its CPUs otherwise). */
static void cpu_model(char *out, size_t n) {
    snprintf(out, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        snprintf(out, n, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}

json_t *run_numeric_env(int threads) {
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:i}", "cpu", cpu, "build", MOIL_NUMERIC_FLAGS, "compiler",
                     __VERSION__, "openblas_config", openblas_get_config(), "openblas_core", openblas_get_corename(),
                     "openblas_coretype", coretype ? json_string(coretype) : json_null(), "threads", threads);
}
