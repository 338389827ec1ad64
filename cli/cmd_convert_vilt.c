#include "cmd_convert_vilt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

const char *const vilt_part_names[VILT_N_PARTS] = {"backbone",       "mlm_score",        "itm_score",
                                                   "vqa_classifier", "nlvr2_classifier", "rank_output"};

typedef struct {
    ViltTensor *t;
    int n, cap;
} List;

/* Append an entry of part, map and official shape dims (-1 ends them); its
 * names from the official name (same name ours) unless set after. */
static ViltTensor *add(List *l, int part, ViltMap map, const char *official, ...) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->t = xrealloc(l->t, (size_t)l->cap * sizeof *l->t);
    }
    ViltTensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->official, sizeof t->official, "%s", official);
    if (map != VILT_POSITION_IDS) snprintf(t->ours[0], sizeof t->ours[0], "%s", official);
    t->map = map;
    t->part = part;
    va_list ap;
    va_start(ap, official);
    for (int v; t->ndim < 4 && (v = va_arg(ap, int)) >= 0;) t->shape[t->ndim++] = v;
    va_end(ap);
    return t;
}

/* A Linear's weight [out,in] and bias [out] under prefix. */
static void add_linear(List *l, int part, const char *prefix, int in, int out) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add(l, part, VILT_COPY, name, out, in, -1);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add(l, part, VILT_COPY, name, out, -1);
}

/* A LayerNorm's weight and bias [C] under prefix. */
static void add_norm(List *l, int part, const char *prefix, int C) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add(l, part, VILT_COPY, name, C, -1);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add(l, part, VILT_COPY, name, C, -1);
}

/* ViLT's classifier Linear(in, hid), LayerNorm(hid), GELU, Linear(hid, out):
 * modules 0, 1 and 3 of its nn.Sequential. */
static void add_classifier(List *l, int part, int in, int hid, int out) {
    char name[PARAM_NAME_MAX];
    const char *prefix = vilt_part_names[part];
    snprintf(name, sizeof name, "%s.0", prefix);
    add_linear(l, part, name, in, hid);
    snprintf(name, sizeof name, "%s.1", prefix);
    add_norm(l, part, name, hid);
    snprintf(name, sizeof name, "%s.3", prefix);
    add_linear(l, part, name, hid, out);
}

ViltTensor *vilt_tensors(const ViltSizes *s, int *n) {
    List l = {0};
    const int B = VILT_PART_BACKBONE, C = s->d, P = s->grid * s->grid;
    add(&l, B, VILT_COPY, "text_embeddings.word_embeddings.weight", s->vocab, C, -1);
    add(&l, B, VILT_COPY, "text_embeddings.position_embeddings.weight", s->max_text, C, -1);
    add(&l, B, VILT_POSITION_IDS, "text_embeddings.position_ids", 1, s->max_text, -1);
    add(&l, B, VILT_TEXT_TYPES, "text_embeddings.token_type_embeddings.weight", s->text_types, C, -1);
    add_norm(&l, B, "text_embeddings.LayerNorm", C);
    add(&l, B, VILT_TYPE_ROWS, "token_type_embeddings.weight", s->n_types, C, -1);
    add(&l, B, VILT_COPY, "transformer.patch_embed.proj.weight", C, 3, s->patch, s->patch, -1);
    add(&l, B, VILT_COPY, "transformer.patch_embed.proj.bias", C, -1);
    add(&l, B, VILT_COPY, "transformer.cls_token", 1, 1, C, -1);
    add(&l, B, VILT_COPY, "transformer.pos_embed", 1, 1 + P, C, -1);
    char name[PARAM_NAME_MAX];
    for (int k = 0; k < s->layers; k++) {
#define NAME(...) (snprintf(name, sizeof name, __VA_ARGS__), name)
        add_norm(&l, B, NAME("transformer.blocks.%d.norm1", k), C);
        static const char *const suffix[2] = {"weight", "bias"};
        for (int w = 0; w < 2; w++) {
            ViltTensor *t = w == 0 ? add(&l, B, VILT_QKV, NAME("transformer.blocks.%d.attn.qkv.weight", k), 3 * C, C, -1)
                                   : add(&l, B, VILT_QKV, NAME("transformer.blocks.%d.attn.qkv.bias", k), 3 * C, -1);
            for (int j = 0; j < 3; j++)
                snprintf(t->ours[j], sizeof t->ours[j], "transformer.blocks.%d.attn.%c.%s", k, "qkv"[j], suffix[w]);
        }
        add_linear(&l, B, NAME("transformer.blocks.%d.attn.proj", k), C, C);
        add_norm(&l, B, NAME("transformer.blocks.%d.norm2", k), C);
        add_linear(&l, B, NAME("transformer.blocks.%d.mlp.fc1", k), C, s->hidden);
        add_linear(&l, B, NAME("transformer.blocks.%d.mlp.fc2", k), s->hidden, C);
#undef NAME
    }
    add_norm(&l, B, "transformer.norm", C);
    add_linear(&l, B, "pooler.dense", C, C);
    /* BERT's prediction head: transform (dense, GELU, LayerNorm), decoder
     * without a bias, and the output bias apart */
    add_linear(&l, VILT_PART_MLM, "mlm_score.transform.dense", C, C);
    add_norm(&l, VILT_PART_MLM, "mlm_score.transform.LayerNorm", C);
    add(&l, VILT_PART_MLM, VILT_COPY, "mlm_score.decoder.weight", s->vocab, C, -1);
    ViltTensor *bias = add(&l, VILT_PART_MLM, VILT_COPY, "mlm_score.bias", s->vocab, -1);
    snprintf(bias->ours[0], sizeof bias->ours[0], "mlm_score.decoder.bias");
    add_linear(&l, VILT_PART_ITM, "itm_score.fc", C, 2);
    if (s->answers > 0) add_classifier(&l, VILT_PART_VQA, C, 2 * C, s->answers);
    add_classifier(&l, VILT_PART_NLVR, 2 * C, 2 * C, 2);
    add_linear(&l, VILT_PART_IRTR, "rank_output", C, 1);
    *n = l.n;
    return l.t;
}

const ViltTensor *vilt_tensor_find(const ViltTensor *t, int n, const char *name, int ours, int *slot) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < (ours ? 3 : 1); j++)
            if (!strcmp(ours ? t[i].ours[j] : t[i].official, name) && *name) {
                if (slot) *slot = j;
                return &t[i];
            }
    return NULL;
}
