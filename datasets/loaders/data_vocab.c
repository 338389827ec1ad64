#include "data_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data_image_index.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "data_nlvr.h"
#include "data_vqa.h"

static int add_karpathy(Tally *words, const LayoutPath *file, const LayoutPath *images, int *found) {
    if (access(file->path, R_OK) != 0) return 0;
    KarpathySet s;
    if (data_karpathy_load(&s, file->path, images->path) != 0) return -1;
    for (int i = 0; i < s.n; i++)
        if (!strcmp(s.images[i].split, "train") || !strcmp(s.images[i].split, "restval"))
            for (int k = 0; k < s.images[i].n_captions; k++) tokenizer_tally(words, s.images[i].captions[k]);
    data_karpathy_free(&s);
    (*found)++;
    return 0;
}

static int add_vqa(Tally *words, const DataLayout *l, int *found) {
    const char *q = l->vqa_questions[LAYOUT_VQA_TRAIN].path;
    if (access(q, R_OK) != 0) return 0;
    ImageIndex ix;
    data_image_index_init(&ix);
    VqaSet s;
    int rc = data_image_index_scan(&ix, l->vqa_images[LAYOUT_VQA_TRAIN].path);
    if (rc == 0) rc = data_vqa_load(&s, q, NULL, &ix);
    if (rc == 0) {
        for (int i = 0; i < s.n; i++) tokenizer_tally(words, s.q[i].question);
        data_vqa_free(&s);
        (*found)++;
    }
    data_image_index_free(&ix);
    return rc;
}

static int add_nlvr(Tally *words, const DataLayout *l, int *found) {
    if (access(l->nlvr[LAYOUT_NLVR_TRAIN].path, R_OK) != 0) return 0;
    NlvrSet s;
    if (data_nlvr_load(&s, l->nlvr[LAYOUT_NLVR_TRAIN].path, l->nlvr_images[LAYOUT_NLVR_TRAIN].path) != 0) return -1;
    for (int i = 0; i < s.n; i++) tokenizer_tally(words, s.ex[i].sentence);
    data_nlvr_free(&s);
    (*found)++;
    return 0;
}

int data_vocab_build(Tokenizer *tok, const char *data_dir, int min_count) {
    Tally words;
    str_tally_init(&words);
    int found = 0;
    DataLayout *l = xmalloc(sizeof *l);
    int rc = data_layout_read(l, data_dir);
    if (rc == 0) rc = add_karpathy(&words, &l->pretrain, &l->pretrain_images, &found);
    if (rc == 0) rc = add_karpathy(&words, &l->captions, &l->captions_images, &found);
    if (rc == 0) rc = add_vqa(&words, l, &found);
    if (rc == 0) rc = add_nlvr(&words, l, &found);
    if (rc == 0 && !found)
        rc = err_set("%s: no training text found (annotations/karpathy_*.json, vqa/, nlvr/, or what its %s "
                     "names); generate a dataset with `moil data gen --out %s`",
                     data_dir, LAYOUT_FILE, data_dir);
    if (rc == 0) tokenizer_build(tok, &words, min_count);
    str_tally_free(&words);
    free(l);
    return rc;
}

char *data_vocab_to_text(const Tokenizer *tok) {
    size_t len = 1;
    for (int i = 0; i < tok->n; i++) len += strlen(tok->words[i]) + 1;
    char *s = xmalloc(len), *p = s;
    for (int i = 0; i < tok->n; i++) p += sprintf(p, "%s\n", tok->words[i]);
    *p = 0;
    return s;
}

int data_vocab_from_checkpoint(Tokenizer *tok, const StFile *f) {
    const char *text = safetensors_meta(f, "vocab"), *kind_name = safetensors_meta(f, "tokenizer");
    if (!text) return err_set("%s: no 'vocab' in the checkpoint metadata (not a moil backbone?)", f->path);
    int kind = kind_name ? tokenizer_kind_parse(kind_name) : TOKENIZER_WORD;
    if (kind < 0) return err_prefix("%s: metadata 'tokenizer': ", f->path);
    char *buf = xstrdup(text), where[1100];
    snprintf(where, sizeof where, "%s: vocab metadata", f->path);
    int rc = tokenizer_parse(tok, (TokenizerKind)kind, buf, where);
    free(buf);
    return rc;
}
