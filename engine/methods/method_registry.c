/* The table of adaptation methods, by name. */
#include <string.h>

#include "method.h"

extern const MethodOps method_full, method_heads, method_bitfit, method_lora, method_dora, method_adapter,
    method_prompt, method_moil;

static const MethodOps *const methods[] = {
    &method_full, &method_heads, &method_bitfit, &method_prompt, &method_adapter, &method_lora, &method_dora,
    &method_moil,
};

int method_count(void) { return (int)(sizeof methods / sizeof methods[0]); }

const MethodOps *method_at(int i) { return methods[i]; }

const MethodOps *method_find(const char *name) {
    for (int i = 0; i < method_count(); i++)
        if (!strcmp(methods[i]->name, name)) return methods[i];
    return NULL;
}
