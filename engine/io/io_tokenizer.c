#include "io_tokenizer.h"

#include "check.h"
#include "io_wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const special_tokens[TOK_N_SPECIAL] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
static const char *const kind_names[] = {[TOKENIZER_WORD] = "word", [TOKENIZER_WORDPIECE] = "wordpiece"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == TOKENIZER_N_KINDS, "one name per TOKENIZER_*");

int tokenizer_kind_parse(const char *name) {
    int k = NAME_INDEX(kind_names, name);
    return k >= 0 ? k : err_set("tokenizer '%s': expected word or wordpiece", name);
}

const char *tokenizer_kind_name(TokenizerKind kind) { return kind_names[kind]; }

char *tokenizer_normalize(const char *text) {
    size_t n = strlen(text);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    int pending_space = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned char ch = *p;
        if (ch == '\'') continue;
        if (ch == 0xE2 && p[1] == 0x80 && p[2] == 0x99) { /* U+2019 right single quote */
            p += 2;
            continue;
        }
        int word = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || ch >= 0x80;
        if (!word) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) out[o++] = ' ';
        pending_space = 0;
        out[o++] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
    }
    out[o] = 0;
    return out;
}

int tokenizer_count_words(const char *normalized) {
    if (!*normalized) return 0;
    int n = 1;
    for (const char *p = normalized; *p; p++) n += *p == ' ';
    return n;
}

void tokenizer_tally(Tally *words, const char *text) {
    char *norm = tokenizer_normalize(text);
    for (char *save = NULL, *w = strtok_r(norm, " ", &save); w; w = strtok_r(NULL, " ", &save)) str_tally_add(words, w);
    free(norm);
}

static void tokenizer_push(Tokenizer *t, const char *word) {
    t->words = xrealloc(t->words, (size_t)(t->n + 1) * sizeof *t->words);
    t->words[t->n] = xstrdup(word);
    str_map_add(&t->ids, word, t->n);
    t->n++;
}

/* Look the special tokens up by name; fails (path) naming a missing one. */
static int find_specials(Tokenizer *t, const char *path) {
    int *ids[TOK_N_SPECIAL] = {&t->pad, &t->unk, &t->cls, &t->sep, &t->mask};
    for (int i = 0; i < TOK_N_SPECIAL; i++) {
        if ((*ids[i] = str_map_find(&t->ids, special_tokens[i])) < 0)
            return err_set("%s: no special token %s among its %d tokens", path, special_tokens[i], t->n);
        t->special[i] = *ids[i];
    }
    for (int i = 1; i < TOK_N_SPECIAL; i++) /* ascending: insertion sort */
        for (int j = i; j > 0 && t->special[j - 1] > t->special[j]; j--) {
            int x = t->special[j];
            t->special[j] = t->special[j - 1], t->special[j - 1] = x;
        }
    return 0;
}

static void tokenizer_init_specials(Tokenizer *t) {
    memset(t, 0, sizeof *t);
    str_map_init(&t->ids);
    for (int i = 0; i < TOK_N_SPECIAL; i++) tokenizer_push(t, special_tokens[i]);
    find_specials(t, "word vocabulary");
}

static const Tally *sort_words; /* qsort has no context argument */

static int by_count_then_bytes(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    long ci = sort_words->counts[i], cj = sort_words->counts[j];
    if (ci != cj) return cj > ci ? 1 : -1;
    return strcmp(sort_words->names[i], sort_words->names[j]);
}

void tokenizer_build(Tokenizer *t, const Tally *words, int min_count) {
    tokenizer_init_specials(t);
    int *order = xmalloc((size_t)(words->n ? words->n : 1) * sizeof *order);
    for (int i = 0; i < words->n; i++) order[i] = i;
    sort_words = words;
    qsort(order, (size_t)words->n, sizeof *order, by_count_then_bytes);
    sort_words = NULL;
    for (int i = 0; i < words->n && words->counts[order[i]] >= min_count; i++) tokenizer_push(t, words->names[order[i]]);
    free(order);
}

int tokenizer_save(const Tokenizer *t, const char *path) {
    size_t len = 0;
    for (int i = 0; i < t->n; i++) len += strlen(t->words[i]) + 1;
    char *buf = xmalloc(len + 1), *p = buf;
    for (int i = 0; i < t->n; i++) p += sprintf(p, "%s\n", t->words[i]);
    int rc = file_write_atomic(path, buf, len);
    free(buf);
    return rc;
}

int tokenizer_load(Tokenizer *t, TokenizerKind kind, const char *path) {
    memset(t, 0, sizeof *t);
    char *buf = file_read_all(path, (size_t)1 << 28, NULL);
    if (!buf) return -1;
    int rc = tokenizer_parse(t, kind, buf, path);
    free(buf);
    return rc;
}

int tokenizer_parse(Tokenizer *t, TokenizerKind kind, char *buf, const char *path) {
    memset(t, 0, sizeof *t);
    Tokenizer r = {.kind = kind};
    str_map_init(&r.ids);
    int rc = 0, line = 0;
    for (char *p = buf; rc == 0 && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line++;
        if (kind == TOKENIZER_WORD && line <= TOK_N_SPECIAL && strcmp(p, special_tokens[line - 1]))
            rc = err_set("%s:%d: expected special token %s, found '%s'", path, line, special_tokens[line - 1], p);
        else if (!*p) rc = err_set("%s:%d: empty token", path, line);
        else if (strpbrk(p, " \t\r\v\f")) rc = err_set("%s:%d: token '%s' contains whitespace", path, line, p);
        else if (str_map_find(&r.ids, p) >= 0) rc = err_set("%s:%d: duplicate token '%s'", path, line, p);
        else tokenizer_push(&r, p);
        p = nl ? nl + 1 : p + strlen(p);
    }
    if (rc == 0 && kind == TOKENIZER_WORD && r.n < TOK_N_SPECIAL) rc = err_set("%s: %d lines, the %d special tokens are missing", path, r.n, TOK_N_SPECIAL);
    if (rc == 0) rc = find_specials(&r, path);
    if (rc != 0) {
        tokenizer_free(&r);
        return -1;
    }
    *t = r;
    return 0;
}

void tokenizer_free(Tokenizer *t) {
    for (int i = 0; i < t->n; i++) free(t->words[i]);
    free(t->words);
    if (t->ids.keys) str_map_free(&t->ids);
    memset(t, 0, sizeof *t);
}

int tokenizer_id(const Tokenizer *t, const char *word) {
    int id = str_map_find(&t->ids, word);
    return id < 0 ? t->unk : id;
}

int tokenizer_is_special(const Tokenizer *t, int id) {
    return id == t->pad || id == t->unk || id == t->cls || id == t->sep || id == t->mask;
}

int tokenizer_ordinary(const Tokenizer *t, int k) {
    for (int i = 0; i < TOK_N_SPECIAL && t->special[i] <= k; i++) k++;
    return k;
}

/* The word-level tokens of text into ids[max]; returns how many. */
static int word_tokens(const Tokenizer *t, const char *text, int32_t *ids, int max) {
    char *norm = tokenizer_normalize(text);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(norm, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
        ids[n++] = tokenizer_id(t, w);
    free(norm);
    return n;
}

int tokenizer_encode(const Tokenizer *t, const char *text, int max_len, int32_t *ids, uint8_t *mask) {
    int n = 1;
    ids[0] = t->cls;
    n += t->kind == TOKENIZER_WORDPIECE ? wordpiece_tokens(t, text, ids + 1, max_len - 2)
                                        : word_tokens(t, text, ids + 1, max_len - 2);
    ids[n++] = t->sep;
    for (int i = 0; i < max_len; i++) {
        if (i >= n) ids[i] = t->pad;
        mask[i] = i < n;
    }
    return n;
}

char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < t->n) len += strlen(t->words[ids[i]]) + 1;
    char *out = xmalloc(len), *p = out;
    *p = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n || ids[i] == t->pad || ids[i] == t->cls || ids[i] == t->sep) continue;
        const char *w = t->words[ids[i]];
        int joined = t->kind == TOKENIZER_WORDPIECE && p != out && !strncmp(w, "##", 2);
        p += sprintf(p, "%s%s", joined || p == out ? "" : " ", joined ? w + 2 : w);
    }
    return out;
}
