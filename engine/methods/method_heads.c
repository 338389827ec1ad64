/* heads: backbone frozen, only the task heads train (the linear-probe floor). */
#include "method.h"

static int heads_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    method_freeze_backbone(p);
    return 0;
}

const MethodOps method_heads = {
    .name = "heads",
    .summary = "heads only: backbone frozen (the floor)",
    .setup = heads_setup,
};
