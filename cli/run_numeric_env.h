/* The numeric environment of a run: what, besides its config, decides the
 * bits of its numbers (docs/testing.md, "Numeric reproducibility"). Recorded
 * in every run's config under "numeric_env" (DB_CONFIG_NUMERIC_ENV), which
 * the config hash leaves out: the same run on another machine is the same
 * run, done once, with the machine it was done on on record. */
#ifndef MOIL_RUN_NUMERIC_ENV_H
#define MOIL_RUN_NUMERIC_ENV_H

#include <jansson.h>

/* {"cpu": /proc/cpuinfo's model name ("unknown" when unreadable),
 *  "build": the compiler flags that set the numerics (instruction-set level,
 *  FMA contraction; "unknown" for a build that does not stamp them),
 *  "compiler": its version string, "openblas_config": openblas_get_config(),
 *  "openblas_core": openblas_get_corename() (the kernels OpenBLAS chose for
 *  this CPU), "openblas_coretype": $OPENBLAS_CORETYPE or null when unset,
 *  "threads": threads}. NULL only when out of memory. */
json_t *run_numeric_env(int threads);

#endif
