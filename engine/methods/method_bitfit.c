/* bitfit: every bias of the backbone trains (the LayerNorm shifts included,
 * as BitFit trains every tensor named "bias"); with --bitfit-norms the
 * LayerNorm scales too. Everything else frozen. */
#include <string.h>

#include "method.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int is_norm(const char *name) { return strstr(name, "norm") || strstr(name, "LayerNorm"); }

static int bitfit_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    method_freeze_backbone(p);
    for (int i = 0; i < p->n; i++) {
        ParamInfo *e = &p->info[i];
        if (e->group != PARAM_GROUP_BACKBONE) continue;
        if (ends_with(e->name, ".bias") || (m->opt.bitfit_norms && is_norm(e->name))) e->trainable = 1;
    }
    return 0;
}

const MethodOps method_bitfit = {
    .name = "bitfit",
    .summary = "BitFit: biases trained (LayerNorm scales too with --bitfit-norms)",
    .setup = bitfit_setup,
};
