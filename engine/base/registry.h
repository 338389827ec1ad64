/* Name registries: the model kinds, the adaptation methods and the tasks are
 * each a table of pointers to structs whose first member is the name
 * (const char *), looked up by name; an unknown name is reported with the
 * names the table knows. */
#ifndef MOIL_REGISTRY_H
#define MOIL_REGISTRY_H

typedef struct {
    const char *what;         /* what the names are, for the error ("model") */
    const void *const *items; /* [n] pointers to the structs, in listing order */
    int n;
} Registry;

/* The registry of a static table items[] (an array, not a pointer). */
#define REGISTRY_OF(what, items) {(what), (items), (int)(sizeof(items) / sizeof(items)[0])}

/* The entry named name, or NULL. */
const void *registry_find(const Registry *r, const char *name);
/* The same, but a missing name is an error: NULL after
 * err_set("unknown <what> '<name>' (known: a, b, ...)"). */
const void *registry_get(const Registry *r, const char *name);

#endif
