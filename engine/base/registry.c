#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

/* Entry i's name: the first member of the struct it points to. */
static const char *entry_name(const Registry *r, int i) { return *(const char *const *)r->items[i]; }

const void *registry_find(const Registry *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(entry_name(r, i), name)) return r->items[i];
    return NULL;
}

const void *registry_get(const Registry *r, const char *name) {
    const void *e = registry_find(r, name);
    if (e) return e;
    char list[512] = "";
    size_t len = 0;
    for (int i = 0; i < r->n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", entry_name(r, i));
    err_set("unknown %s '%s' (known: %s)", r->what, name, list);
    return NULL;
}
