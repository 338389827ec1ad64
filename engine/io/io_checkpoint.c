#include "io_checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

int checkpoint_save(const char *path, const Params *p, unsigned group_mask, const StMeta *meta, int n_meta) {
    StTensor *t = xcalloc(p->n ? p->n : 1, sizeof(StTensor));
    int n = 0;
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        if (!(group_mask & (1u << e->group))) continue;
        t[n].name = e->name;
        t[n].dtype = ST_F32;
        t[n].ndim = e->ndim;
        for (int d = 0; d < e->ndim; d++) t[n].shape[d] = e->shape[d];
        t[n].data = params_data(p, i);
        n++;
    }
    int rc = safetensors_write(path, t, n, meta, meta ? n_meta : 0);
    free(t);
    return rc;
}

int checkpoint_load_file(const StFile *f, Params *p, unsigned required_mask, int allow_unknown) {
    for (int i = 0; i < f->n_tensors; i++) {
        const StTensor *t = &f->tensors[i];
        int e = params_find(p, t->name);
        if (e < 0) {
            if (!allow_unknown) return err_set("%s: tensor '%s' is not a parameter of this model", f->path, t->name);
            continue;
        }
        int64_t shape[PARAM_MAX_DIMS];
        for (int d = 0; d < p->info[e].ndim; d++) shape[d] = p->info[e].shape[d];
        if (safetensors_read_f32(f, t->name, params_data(p, e), p->info[e].ndim, shape) != 0) return -1;
    }
    for (int i = 0; i < p->n; i++) {
        if (!(required_mask & (1u << p->info[i].group))) continue;
        int found = 0;
        for (int k = 0; k < f->n_tensors && !found; k++) found = !strcmp(f->tensors[k].name, p->info[i].name);
        if (!found) return err_set("%s: missing tensor '%s'", f->path, p->info[i].name);
    }
    return 0;
}

int checkpoint_load(const char *path, Params *p, unsigned required_mask, int allow_unknown, StFile *file) {
    StFile f;
    if (safetensors_open(path, &f) != 0) return -1;
    int rc = checkpoint_load_file(&f, p, required_mask, allow_unknown);
    if (rc != 0 || !file) safetensors_close(&f);
    else *file = f;
    return rc;
}
