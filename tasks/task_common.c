/* The helpers tasks share. */
#include "task_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_image_load.h"
#include "str_map.h"

void task_items_add_int(MetricList *l, const char *name, int n, const int64_t *ids, const double *values) {
    if (!l->want_items) return;
    char *text = xmalloc((size_t)(n > 0 ? n : 1) * 24);
    const char **names = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *names);
    for (int i = 0; i < n; i++) {
        snprintf(text + (size_t)i * 24, 24, "%lld", (long long)ids[i]);
        names[i] = text + (size_t)i * 24;
    }
    task_items_add(l, name, n, names, values);
    free(names);
    free(text);
}

void task_encode_text(const Tokenizer *tok, const char *text, int max_text, int *ids, int *mask) {
    int32_t id32[512];
    uint8_t m8[512];
    if (max_text > 512) die("task_encode_text: max_text %d > 512", max_text);
    tokenizer_encode(tok, text, max_text, id32, m8);
    for (int i = 0; i < max_text; i++) ids[i] = id32[i], mask[i] = m8[i];
}

void task_image_to_input(const unsigned char *hwc, int size, float *chw) { image_to_chw(hwc, size, size, chw); }

int task_mask_replace(int id, const Tokenizer *tok, Rng *rng) {
    float u = rng_uniform(rng);
    if (u < 0.8f) return tok->mask;
    if (u < 0.9f) return tokenizer_ordinary(tok, (int)rng_below(rng, (uint32_t)(tok->n - TOK_N_SPECIAL)));
    return id;
}

int task_reads_split(const TaskEnv *env, const char *split, const char *eval_split) {
    return !env->head_layout || (!strcmp(split, "val") && !strcmp(eval_split, "val"));
}

void sampler_init(Sampler *s, int n) {
    s->n = n;
    s->pos = n;
    s->perm = xcalloc(n, sizeof(int));
    for (int i = 0; i < n; i++) s->perm[i] = i;
}

int sampler_next(Sampler *s, Rng *rng) {
    if (s->pos >= s->n) {
        for (int i = s->n - 1; i > 0; i--) {
            int j = (int)rng_below(rng, (uint32_t)(i + 1)), t = s->perm[i];
            s->perm[i] = s->perm[j], s->perm[j] = t;
        }
        s->pos = 0;
    }
    return s->perm[s->pos++];
}

void sampler_free(Sampler *s) {
    free(s->perm);
    s->perm = NULL;
}

int task_images_load(TaskImages *ti, const char *const *paths, int n, int size) {
    memset(ti, 0, sizeof *ti);
    ti->n = n;
    ti->slot = xcalloc(n ? n : 1, sizeof(int));
    StrMap seen;
    str_map_init(&seen);
    const char **uniq = xcalloc(n ? n : 1, sizeof(char *));
    int nu = 0;
    for (int i = 0; i < n; i++) {
        int at = str_map_add(&seen, paths[i], nu);
        if (at == nu) uniq[nu++] = paths[i];
        ti->slot[i] = at;
    }
    int rc = image_cache_load(&ti->cache, uniq, nu, size, size);
    free(uniq);
    str_map_free(&seen);
    return rc;
}

void task_images_free(TaskImages *ti) {
    image_cache_free(&ti->cache);
    free(ti->slot);
    ti->slot = NULL;
}

int task_heads_from_checkpoint(Params *p, ParamGroup group, const StFile *f) {
    int copied = 0;
    for (int i = 0; i < p->n; i++) {
        const ParamInfo *e = &p->info[i];
        if (e->group != (int)group) continue;
        const StTensor *t = NULL;
        for (int k = 0; k < f->n_tensors && !t; k++)
            if (!strcmp(f->tensors[k].name, e->name)) t = &f->tensors[k];
        if (!t) continue;
        int64_t shape[PARAM_MAX_DIMS];
        for (int d = 0; d < e->ndim; d++) shape[d] = e->shape[d];
        if (safetensors_read_f32(f, e->name, params_data(p, i), e->ndim, shape) != 0) return -1;
        copied++;
    }
    return copied;
}
