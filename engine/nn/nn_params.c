#include "nn_params.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

void params_init(Params *p) { memset(p, 0, sizeof *p); }

void params_free(Params *p) {
    free(p->info);
    free(p->data);
    free(p->grad);
    free(p->m);
    free(p->v);
    memset(p, 0, sizeof *p);
}

int params_add(Params *p, const char *name, int ndim, const int *shape, int decay, ParamGroup group) {
    if (p->data) die("params_add(%s): the parameter block is already allocated", name);
    if (strlen(name) >= PARAM_NAME_MAX) die("params_add: name too long: %s", name);
    if (ndim < 1 || ndim > PARAM_MAX_DIMS) die("params_add(%s): %d dimensions", name, ndim);
    if (params_find(p, name) >= 0) die("params_add: duplicate parameter %s", name);
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->info = xrealloc(p->info, sizeof(ParamInfo) * p->cap);
    }
    ParamInfo *e = &p->info[p->n];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->ndim = ndim;
    e->size = 1;
    for (int d = 0; d < ndim; d++) {
        e->shape[d] = shape[d];
        e->size *= (size_t)shape[d];
    }
    e->offset = p->total;
    e->trainable = 1;
    e->decay = decay;
    e->lr_mult = 1.0f;
    e->first_step = 1;
    e->group = group;
    p->total += e->size;
    return p->n++;
}

void params_alloc_data(Params *p) { p->data = xcalloc(p->total, sizeof(float)); }

void params_alloc(Params *p) {
    params_alloc_data(p);
    p->grad = xcalloc(p->total, sizeof(float));
    p->m = xcalloc(p->total, sizeof(float));
    p->v = xcalloc(p->total, sizeof(float));
}

int params_find(const Params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->info[i].name, name)) return i;
    return -1;
}

void params_zero_grad(Params *p) { memset(p->grad, 0, sizeof(float) * p->total); }

void params_set_trainable_group(Params *p, ParamGroup group, int trainable) {
    for (int i = 0; i < p->n; i++)
        if (p->info[i].group == (int)group) p->info[i].trainable = trainable;
}

size_t params_count_trainable(const Params *p, int group) {
    size_t n = 0;
    for (int i = 0; i < p->n; i++)
        if (p->info[i].trainable && (group < 0 || p->info[i].group == group)) n += p->info[i].size;
    return n;
}

size_t params_count_group(const Params *p, ParamGroup group) {
    size_t n = 0;
    for (int i = 0; i < p->n; i++)
        if (p->info[i].group == (int)group) n += p->info[i].size;
    return n;
}

void params_init_trunc_normal(Params *p, int i, float std, Rng *rng) {
    float *x = params_data(p, i);
    for (size_t k = 0; k < p->info[i].size; k++) {
        float z;
        do z = rng_normal(rng);
        while (z < -2.0f || z > 2.0f);
        x[k] = std * z;
    }
}

void params_init_const(Params *p, int i, float value) {
    float *x = params_data(p, i);
    for (size_t k = 0; k < p->info[i].size; k++) x[k] = value;
}
