#include "data_nlvr.h"

#include "check.h"
#include "data_instances.h"
#include "io_json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The existing image file "<base>.png" or "<base>.jpg" (a new string). */
static char *find_image(const char *base, const char *ctx) {
    size_t len = strlen(base) + 5;
    char *p = xmalloc(len);
    snprintf(p, len, "%s.png", base);
    if (access(p, R_OK) == 0) return p;
    snprintf(p, len, "%s.jpg", base);
    if (access(p, R_OK) == 0) return p;
    err_set("%s: image not found: %s.png (or .jpg)", ctx, base);
    free(p);
    return NULL;
}

/* Split "split-set-pair-sentence" into its 4 parts (in place in buf). */
static int split_identifier(char *buf, char *part[4], const char *ctx, const char *id) {
    int n = 0;
    for (char *p = buf; n < 4; n++) {
        part[n] = p;
        char *dash = strchr(p, '-');
        if (!dash) break;
        *dash = 0;
        p = dash + 1;
    }
    if (n != 3 || strchr(part[3], '-') || !*part[0] || !*part[1] || !*part[2] || !*part[3])
        return err_set("%s: identifier '%s' is not split-set-pair-sentence", ctx, id);
    return 0;
}

static int read_example(NlvrExample *e, const json_t *j, const char *ctx, const char *image_dir) {
    const char *id, *sentence, *label;
    char *dir = NULL;
    if (json_need_object(j, ctx) || json_need_str(j, "identifier", ctx, &id) ||
        json_need_str(j, "sentence", ctx, &sentence) || json_need_str(j, "label", ctx, &label) ||
        json_opt_text(j, "directory", ctx, &dir))
        return -1;
    char *buf = xstrdup(id), *part[4];
    int rc = 0;
    if (strcmp(label, "True") && strcmp(label, "False"))
        rc = err_set("%s: label '%s' is neither \"True\" nor \"False\"", ctx, label);
    else rc = split_identifier(buf, part, ctx, id);
    if (rc != 0) {
        free(buf);
        free(dir);
        return -1;
    }
    e->identifier = xstrdup(id);
    e->sentence = xstrdup(sentence);
    e->label = !strcmp(label, "True");
    size_t len = strlen(image_dir) + 2 * strlen(id) + (dir ? strlen(dir) : 0) + 16;
    e->pair = xmalloc(len);
    e->group = xmalloc(len);
    snprintf(e->pair, len, "%s-%s-%s", part[0], part[1], part[2]);
    snprintf(e->group, len, "%s-%s--%s", part[0], part[1], part[3]);
    char *base = xmalloc(len);
    for (int side = 0; side < 2; side++) {
        snprintf(base, len, "%s/%s%s%s-img%d", image_dir, dir ? dir : "", dir ? "/" : "", e->pair, side);
        char *path = find_image(base, ctx);
        if (!path) break;
        *(side ? &e->right : &e->left) = path;
    }
    free(base);
    free(buf);
    free(dir);
    return e->right ? 0 : -1;
}

int data_nlvr_load(NlvrSet *s, const char *jsonl_path, const char *image_dir) {
    memset(s, 0, sizeof *s);
    FILE *f = fopen_check(jsonl_path, "r");
    if (!f) return -1;
    s->file = xstrdup(jsonl_path);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, cap_ex = 0;
    for (int lineno = 1; rc == 0 && getline(&line, &cap, f) >= 0; lineno++) {
        char ctx[1200];
        snprintf(ctx, sizeof ctx, "%s:%d", jsonl_path, lineno);
        if (strspn(line, " \t\r\n") == strlen(line)) {
            rc = err_set("%s: blank line", ctx);
            break;
        }
        json_t *j = json_read_text(line, ctx);
        if (!j) {
            rc = -1;
            break;
        }
        if (s->n == cap_ex) s->ex = xrealloc(s->ex, (size_t)(cap_ex = cap_ex ? 2 * cap_ex : 256) * sizeof *s->ex);
        NlvrExample *e = &s->ex[s->n++];
        memset(e, 0, sizeof *e);
        e->line = lineno;
        rc = read_example(e, j, ctx, image_dir);
        json_decref(j);
    }
    if (rc == 0 && ferror(f)) rc = err_set("%s: read error", jsonl_path);
    if (rc == 0 && s->n == 0) rc = err_set("%s: no examples (empty split)", jsonl_path);
    free(line);
    fclose(f);
    if (rc != 0) data_nlvr_free(s);
    return rc;
}

void data_nlvr_free(NlvrSet *s) {
    for (int i = 0; i < s->n; i++) {
        NlvrExample *e = &s->ex[i];
        free(e->identifier);
        free(e->sentence);
        free(e->pair);
        free(e->group);
        free(e->left);
        free(e->right);
    }
    free(s->ex);
    free(s->file);
    memset(s, 0, sizeof *s);
}

static int by_file_name(const void *a, const void *b) {
    const InstanceImage *const *x = a, *const *y = b;
    return strcmp((*x)->file_name, (*y)->file_name);
}

int data_nlvr_image_ids(const NlvrSet *s, int n, const char *instances_path, const char *image_dir, int64_t *ids) {
    InstanceSet inst;
    if (data_instances_load(&inst, instances_path) != 0) return -1;
    const InstanceImage **order = xcalloc((size_t)inst.n_images, sizeof *order);
    for (int i = 0; i < inst.n_images; i++) order[i] = &inst.images[i];
    qsort(order, (size_t)inst.n_images, sizeof *order, by_file_name);
    size_t prefix = strlen(image_dir) + 1; /* paths are image_dir "/" file_name */
    int rc = 0;
    for (int i = 0; i < 2 * n && rc == 0; i++) {
        const char *path = i % 2 ? s->ex[i / 2].right : s->ex[i / 2].left;
        InstanceImage key = {.file_name = (char *)(strlen(path) > prefix ? path + prefix : path)};
        const InstanceImage *k = &key, **hit = bsearch(&k, order, (size_t)inst.n_images, sizeof *order, by_file_name);
        if (hit) ids[i] = (*hit)->id;
        else rc = err_set("%s: no image '%s' (of %s:%d)", instances_path, key.file_name, s->file, s->ex[i / 2].line);
    }
    free(order);
    data_instances_free(&inst);
    return rc;
}
