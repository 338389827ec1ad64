/* The table of adaptation methods, by name, and creating a method by name. */
#include <string.h>

#include "method.h"
#include "registry.h"

extern const MethodOps method_full, method_heads, method_bitfit, method_lora, method_dora, method_adapter,
    method_prompt, method_moil;

static const void *const methods[] = {
    &method_full, &method_heads, &method_bitfit, &method_prompt, &method_adapter, &method_lora, &method_dora,
    &method_moil,
};
static const Registry registry = REGISTRY_OF("method", methods);

int method_count(void) { return registry.n; }

const MethodOps *method_at(int i) { return methods[i]; }

int method_create(Method *m, const char *name, const MethodOptions *opt) {
    memset(m, 0, sizeof *m);
    m->ops = registry_get(&registry, name);
    if (!m->ops) return -1;
    m->opt = *opt;
    return 0;
}
