/* full: every backbone tensor trains (and the heads). */
#include "method.h"

static int full_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    params_set_trainable_group(p, PARAM_GROUP_BACKBONE, 1);
    params_set_trainable_group(p, PARAM_GROUP_HEAD, 1);
    return 0;
}

const MethodOps method_full = {
    .name = "full",
    .summary = "full tuning: every backbone parameter trained",
    .setup = full_setup,
};
