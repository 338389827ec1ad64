/* moil convert: a released ViLT checkpoint (its state dict exported to
 * safetensors in float32) into a checkpoint of ours, and back. The tensors'
 * correspondence is in cmd_convert_vilt.h; here the sizes are read from the
 * tensors, every tensor is checked (an unknown name or a wrong shape is
 * refused, naming it), and the metadata moil needs is written
 * (run_checkpoint.h: model config, vocabulary, tokenizer and, for a
 * fine-tuned model, the task's head layout, so that moil eval runs it with
 * its trained heads). Converting back gives the released file bit for bit:
 * what ours does not keep (BERT's position_ids, the original metadata, a
 * 2-row modality table we padded) is recorded in "converted_from". */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmd_convert_vilt.h"
#include "commands.h"
#include "io_json_read.h"
#include "io_safetensors.h"
#include "io_tokenizer.h"
#include "run_checkpoint.h"

static const char usage[] =
    "usage: moil convert IN.safetensors OUT.safetensors --vocab vocab.txt [--tokenizer wordpiece|word]\n"
    "                    [--heads N] [--task T] [--answers FILE] [--types 3] [--batch N] [--drop PREFIX]...\n"
    "       moil convert IN.safetensors OUT.safetensors --to official [--drop PREFIX]...\n"
    "\n"
    "Converts a released ViLT checkpoint (the state dict of ViLT's model, exported to\n"
    "safetensors in float32: its tensors under ViLT's names) into a checkpoint of ours,\n"
    "or (--to official) one of ours back into ViLT's names. Each block's fused\n"
    "attn.qkv is split into our q, k, v (and fused back), BERT's position_ids buffer is\n"
    "dropped (rebuilt going back), the MLM bias is renamed, BERT's text token-type\n"
    "table is kept. The sizes come from the tensors; every tensor must be one of ViLT's\n"
    "with the shape they imply, or it is refused by name. Official -> ours -> official\n"
    "gives the original file back bit for bit. A file with one task's head (VQA, NLVR2\n"
    "or retrieval) becomes a fine-tuned model moil eval runs with its trained heads;\n"
    "one without a task's head a backbone moil finetune starts from\n"
    "(docs/checkpoints.md).\n"
    "\n"
    "  --to T          ours (default) or official\n"
    "  --vocab FILE    the vocabulary, one token a line in id order (BERT's vocab.txt);\n"
    "                  required to ours, its size that of the word embeddings\n"
    "  --tokenizer T   wordpiece (default: BERT uncased, as ViLT) or word (ours)\n"
    "  --heads N       attention heads (default: d / 64, ViLT's head width)\n"
    "  --task T        vqa, nlvr or retrieval: the task whose head to use (default:\n"
    "                  the one task head the file has; none: a backbone)\n"
    "  --answers FILE  VQA: the answers in the classifier's output order, a JSON list\n"
    "                  or an object of id -> answer (or answer -> id); required for vqa\n"
    "  --types N       rows of the modality-type table: 3 pads a 2-row table with a\n"
    "                  copy of row 1, as ViLT does for NLVR2 (default: the file's)\n"
    "  --batch N       the batch moil eval evaluates a task's model with (default 8)\n"
    "  --drop PREFIX   leave out the tensors whose names start with PREFIX (repeatable;\n"
    "                  they are listed, and converting back cannot restore them)\n"
    "Ends with name=value lines: tensors, task (to ours; none: a backbone), weights_hash\n"
    "(of OUT's tensors, moil backbone hash).\n";

enum { MAX_DROPS = 16 };

typedef struct {
    const char *in, *out, *to, *vocab, *tokenizer, *task, *answers;
    const char *drop[MAX_DROPS];
    int n_drop, heads, types, batch;
} ConvertArgs;

static int parse_args(int argc, char **argv, ConvertArgs *a) {
    static const struct option longopts[] = {
        {"to", required_argument, 0, 'o'},      {"vocab", required_argument, 0, 'v'},
        {"tokenizer", required_argument, 0, 'k'}, {"heads", required_argument, 0, 'h'},
        {"task", required_argument, 0, 't'},    {"answers", required_argument, 0, 'a'},
        {"types", required_argument, 0, 'y'},   {"batch", required_argument, 0, 'b'},
        {"drop", required_argument, 0, 'd'},    {0, 0, 0, 0}};
    static const char *const tos[] = {"ours", "official"}, *const tokenizers[] = {"wordpiece", "word"};
    *a = (ConvertArgs){.to = "ours", .tokenizer = "wordpiece", .batch = 8};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'o': a->to = optarg; break;
        case 'v': a->vocab = optarg; break;
        case 'k': a->tokenizer = optarg; break;
        case 'h': rc = option_parse_int("heads", optarg, 1, 4096, &a->heads); break;
        case 't': a->task = optarg; break;
        case 'a': a->answers = optarg; break;
        case 'y': rc = option_parse_int("types", optarg, 2, 3, &a->types); break;
        case 'b': rc = option_parse_int("batch", optarg, 1, 4096, &a->batch); break;
        case 'd':
            if (a->n_drop == MAX_DROPS) return err_set("at most %d --drop options", MAX_DROPS);
            a->drop[a->n_drop++] = optarg;
            break;
        default: return err_set("bad option %s (see --help)", argv[optind - 1]);
        }
        if (rc != 0) return -1;
    }
    if (argc - optind != 2) return err_set("expected IN.safetensors OUT.safetensors (see --help)");
    a->in = argv[optind], a->out = argv[optind + 1];
    if (NAME_INDEX(tos, a->to) < 0) return err_set("--to %s: ours or official", a->to);
    if (NAME_INDEX(tokenizers, a->tokenizer) < 0) return err_set("--tokenizer %s: wordpiece or word", a->tokenizer);
    int official = !strcmp(a->to, "official");
    if (!official && !a->vocab) return err_set("--vocab FILE is required (the tokenizer's vocabulary, see --help)");
    if (official && (a->vocab || a->task || a->answers || a->types || a->heads))
        return err_set("--to official takes only --drop: the official state dict has no vocabulary or metadata");
    return 0;
}

/* Whether name is left out by a --drop prefix. */
static int dropped(const ConvertArgs *a, const char *name) {
    for (int i = 0; i < a->n_drop; i++)
        if (!strncmp(name, a->drop[i], strlen(a->drop[i]))) return 1;
    return 0;
}

/* "[3,4]" of a shape, into buf. */
static const char *shape_text(int ndim, const int64_t *shape, char *buf, size_t n) {
    int k = snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < (int)n; d++) k += snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (k < (int)n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* The tensor name of f with ndim dimensions, or NULL (err_set naming it). */
static const StTensor *need(const StFile *f, const char *name, int ndim) {
    const StTensor *t = safetensors_find(f, name);
    if (!t) return (void)err_set("%s: not a ViLT state dict: no tensor '%s'", f->path, name), NULL;
    if (t->ndim != ndim) {
        char s[64];
        err_set("%s: tensor '%s' has shape %s, not %d dimensions", f->path, name, shape_text(t->ndim, t->shape, s, 64),
                ndim);
        return NULL;
    }
    return t;
}

/* The sizes of the official state dict f (the shapes checked after, against
 * every tensor). */
static int official_sizes(const StFile *f, ViltSizes *s) {
    const StTensor *word = need(f, "text_embeddings.word_embeddings.weight", 2);
    const StTensor *pos = need(f, "text_embeddings.position_embeddings.weight", 2);
    const StTensor *tt = need(f, "text_embeddings.token_type_embeddings.weight", 2);
    const StTensor *types = need(f, "token_type_embeddings.weight", 2);
    const StTensor *patch = need(f, "transformer.patch_embed.proj.weight", 4);
    const StTensor *ipos = need(f, "transformer.pos_embed", 3);
    const StTensor *fc1 = need(f, "transformer.blocks.0.mlp.fc1.weight", 2);
    if (!word || !pos || !tt || !types || !patch || !ipos || !fc1) return -1;
    memset(s, 0, sizeof *s);
    s->vocab = (int)word->shape[0], s->d = (int)word->shape[1];
    s->max_text = (int)pos->shape[0], s->text_types = (int)tt->shape[0], s->n_types = (int)types->shape[0];
    s->patch = (int)patch->shape[2], s->hidden = (int)fc1->shape[0];
    while (s->grid * s->grid < ipos->shape[1] - 1) s->grid++;
    if (s->grid * s->grid != ipos->shape[1] - 1)
        return err_set("%s: transformer.pos_embed has %lld rows: not 1 + a square grid of patches", f->path,
                       (long long)ipos->shape[1]);
    char name[PARAM_NAME_MAX];
    for (;; s->layers++) {
        snprintf(name, sizeof name, "transformer.blocks.%d.norm1.weight", s->layers);
        if (!safetensors_find(f, name)) break;
    }
    const StTensor *vqa = safetensors_find(f, "vqa_classifier.3.weight");
    s->answers = vqa && vqa->ndim == 2 ? (int)vqa->shape[0] : 0;
    err_clear();
    return 0;
}

/* The official shape of entry e, or ours (slot-th of q, k, v; the
 * modality table with types rows, the text table with text_types). */
static int shape_of(const ViltTensor *e, int ours, int types, int text_types, int64_t *shape) {
    memcpy(shape, e->shape, sizeof e->shape);
    if (ours && e->map == VILT_QKV) shape[0] /= 3;
    if (ours && e->map == VILT_TYPE_ROWS) shape[0] = types;
    if (ours && e->map == VILT_TEXT_TYPES) shape[0] = text_types;
    return e->ndim;
}

/* Every tensor of f is an entry of t[0..n) (by its official name, or ours)
 * of the shape it must have, F32 (BERT's position_ids: I64); which tensor
 * of f each entry and slot is in at[3 * i + slot] (-1: absent). */
static int match_tensors(const ConvertArgs *a, const StFile *f, const ViltTensor *t, int n, int ours, int types,
                         int text_types, int *at) {
    for (int i = 0; i < 3 * n; i++) at[i] = -1;
    for (int k = 0; k < f->n_tensors; k++) {
        const StTensor *x = &f->tensors[k];
        if (dropped(a, x->name)) {
            fprintf(stderr, "convert: left out %s (--drop)\n", x->name);
            continue;
        }
        int slot = 0;
        const ViltTensor *e = vilt_tensor_find(t, n, x->name, ours, &slot);
        if (!e)
            return err_set("%s: tensor '%s' is not %s (--drop PREFIX leaves it out)", f->path, x->name,
                           ours ? "one of ours that ViLT's state dict has: a method's tensor, our ITC or captioning "
                                  "head?"
                                : "part of ViLT's state dict as moil convert knows it");
        int64_t shape[4];
        int ndim = shape_of(e, ours, types, text_types, shape), same = x->ndim == ndim;
        for (int d = 0; d < ndim && same; d++) same = x->shape[d] == shape[d];
        StDtype want = e->map == VILT_POSITION_IDS ? ST_I64 : ST_F32;
        char s1[64], s2[64];
        if (!same)
            return err_set("%s: tensor '%s' has shape %s, expected %s (d %lld, layers, vocabulary and image size "
                           "from the embeddings)",
                           f->path, x->name, shape_text(x->ndim, x->shape, s1, 64), shape_text(ndim, shape, s2, 64),
                           (long long)t[0].shape[1]);
        if (x->dtype != want)
            return err_set("%s: tensor '%s' is %s, expected %s (export the state dict in float32)", f->path, x->name,
                           safetensors_dtype_name(x->dtype), safetensors_dtype_name(want));
        at[3 * (e - t) + slot] = k;
    }
    return 0;
}

/* Which parts f holds (present[part]); the backbone must be whole and each
 * head whole or absent. Optional entries (BERT's position_ids; ours: the
 * text token-type table) may be absent. */
static int check_parts(const StFile *f, const ViltTensor *t, int n, int ours, const int *at, int *present) {
    int have[VILT_N_PARTS] = {0}, total[VILT_N_PARTS] = {0}, missing[VILT_N_PARTS];
    for (int p = 0; p < VILT_N_PARTS; p++) missing[p] = -1;
    for (int i = 0; i < n; i++) {
        if (t[i].map == VILT_POSITION_IDS || (ours && t[i].map == VILT_TEXT_TYPES)) continue;
        for (int j = 0; j < (ours && t[i].map == VILT_QKV ? 3 : 1); j++) {
            total[t[i].part]++;
            if (at[3 * i + j] >= 0) have[t[i].part]++;
            else if (missing[t[i].part] < 0) missing[t[i].part] = 3 * i + j;
        }
    }
    for (int p = 0; p < VILT_N_PARTS; p++) {
        present[p] = have[p] > 0;
        if (have[p] == total[p] || (p != VILT_PART_BACKBONE && have[p] == 0)) continue;
        int m = missing[p];
        return err_set("%s: %s has %d of its %d tensors; missing '%s'", f->path, vilt_part_names[p], have[p], total[p],
                       ours ? t[m / 3].ours[m % 3] : t[m / 3].official);
    }
    return 0;
}

/* The vocabulary file as the "vocab" metadata (each line and "\n"), a new
 * string; its lines counted in *n. */
static char *vocab_read(const char *path, int *n) {
    size_t len;
    char *text = file_read_all(path, (size_t)1 << 28, &len);
    if (!text) return NULL;
    char *out = xmalloc(len + 2), *o = out;
    *n = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n'), *next = end ? end + 1 : line + strlen(line);
        size_t k = (size_t)(next - line) - (end ? 1 : 0);
        if (k > 0 && line[k - 1] == '\r') k--;
        memcpy(o, line, k);
        o += k;
        *o++ = '\n';
        ++*n;
        line = next;
    }
    *o = 0;
    free(text);
    return out;
}

/* The vocabulary reads as a tokenizer of its kind (tokenizer_parse's
 * checks: word-level, the specials at ids 0-4; WordPiece, BERT's specials
 * present by name). */
static int vocab_check(const char *vocab, const char *tokenizer, const char *path) {
    Tokenizer tok;
    char *buf = xstrdup(vocab);
    int rc = tokenizer_parse(&tok, (TokenizerKind)tokenizer_kind_parse(tokenizer), buf, path); /* a name checked */
    free(buf);
    if (rc == 0) tokenizer_free(&tok);
    return rc;
}

/* The VQA answers of path in output order (n of them) as a JSON list: a
 * list, an object id -> answer, or an object answer -> id. */
static json_t *answers_read(const char *path, int n) {
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e), *list = json_array();
    int rc = j ? 0 : err_set("%s: %s (line %d)", path, e.text, e.line);
    for (int i = 0; i < n && rc == 0; i++) json_array_append_new(list, json_null());
    if (rc == 0 && json_is_array(j)) {
        if ((int)json_array_size(j) != n) rc = err_set("%s: %zu answers, the classifier has %d outputs", path, json_array_size(j), n);
        for (int i = 0; i < n && rc == 0; i++) json_array_set(list, i, json_array_get(j, i));
    } else if (rc == 0 && json_is_object(j)) {
        if ((int)json_object_size(j) != n) rc = err_set("%s: %zu answers, the classifier has %d outputs", path, json_object_size(j), n);
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            char *end = NULL;
            long id = json_is_integer(v) ? (long)json_integer_value(v) : strtol(key, &end, 10);
            json_t *answer = json_is_integer(v) ? json_string(key) : json_incref(v);
            int bad = id < 0 || id >= n || (!json_is_integer(v) && (*end || end == key));
            if (bad || !json_is_null(json_array_get(list, id))) {
                json_decref(answer);
                rc = err_set("%s: entry '%s': not an output id in 0..%d once", path, key, n - 1);
                break;
            }
            json_array_set_new(list, id, answer);
        }
    } else if (rc == 0) {
        rc = err_set("%s: neither a list of answers nor an object of id -> answer", path);
    }
    for (int i = 0; i < n && rc == 0; i++)
        if (!json_is_string(json_array_get(list, i))) rc = err_set("%s: answer %d is not a string", path, i);
    json_decref(j);
    if (rc != 0) json_decref(list);
    return rc == 0 ? list : NULL;
}

/* The task of a converted model: --task, or the one task head present. */
static int choose_task(const ConvertArgs *a, const int *present, const char *path, int *part) {
    static const int task_parts[3] = {VILT_PART_VQA, VILT_PART_NLVR, VILT_PART_IRTR};
    static const char *const task_names[3] = {"vqa", "nlvr", "retrieval"};
    *part = -1;
    if (a->task) {
        int k = NAME_INDEX(task_names, a->task);
        if (k < 0) return err_set("--task %s: vqa, nlvr or retrieval", a->task);
        if (!present[task_parts[k]]) return err_set("--task %s, but %s has no %s head", a->task, path, vilt_part_names[task_parts[k]]);
        *part = task_parts[k];
        return 0;
    }
    int found = 0;
    for (int k = 0; k < 3; k++)
        if (present[task_parts[k]]) found++, *part = task_parts[k];
    if (found > 1) {
        fprintf(stderr, "convert: %s has several task heads: written as a backbone (--task T makes it T's model)\n", path);
        *part = -1;
    }
    return 0;
}

static const char *task_of_part(int part) {
    return part == VILT_PART_VQA ? "vqa" : part == VILT_PART_NLVR ? "nlvr" : part == VILT_PART_IRTR ? "retrieval" : NULL;
}

/* The head layout of the task whose head is part (moil eval's
 * TaskEnv.head_layout): its tensors (ours, in the order the task registers
 * them), the VQA answers, the retrieval scoring, and "unused": the other
 * heads' tensors, kept for converting back. */
static json_t *layout_build(const ConvertArgs *a, const ViltTensor *t, int n, const int *at, int part, int answers) {
    json_t *layout = json_object(), *tensors = json_array(), *unused = json_array();
    for (int i = 0; i < n; i++) {
        if (t[i].part == VILT_PART_BACKBONE || at[3 * i] < 0) continue;
        if (t[i].part != part) {
            json_array_append_new(unused, json_string(t[i].ours[0]));
            continue;
        }
        json_t *shape = json_array();
        for (int d = 0; d < t[i].ndim; d++) json_array_append_new(shape, json_integer(t[i].shape[d]));
        json_array_append_new(tensors, json_pack("{s:s, s:o}", "name", t[i].ours[0], "shape", shape));
    }
    json_object_set_new(layout, "tensors", tensors);
    if (json_array_size(unused)) json_object_set_new(layout, "unused", unused);
    else json_decref(unused);
    if (part == VILT_PART_IRTR) json_object_set_new(layout, "scoring", json_string("fusion"));
    if (part == VILT_PART_VQA) {
        if (!a->answers) {
            json_decref(layout);
            return (void)err_set("a VQA model needs --answers FILE (the classifier's %d answers in output order)", answers), NULL;
        }
        json_t *list = answers_read(a->answers, answers);
        if (!list) {
            json_decref(layout);
            return NULL;
        }
        json_object_set_new(layout, "answers", list);
    }
    return layout;
}

/* BERT's position_ids are 0..Tt-1, so going back rebuilds them. */
static int ids_check(const StFile *f, const StTensor *x) {
    const unsigned char *b = x->data;
    for (int64_t i = 0; i < x->shape[1]; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++) v |= (uint64_t)b[8 * i + k] << (8 * k);
        if (v != (uint64_t)i)
            return err_set("%s: text_embeddings.position_ids[%lld] is %llu: not 0..%lld (cannot be rebuilt)", f->path,
                           (long long)i, (unsigned long long)v, (long long)x->shape[1] - 1);
    }
    return 0;
}

/* The closing lines: the tensors written, the task (ours: none for a
 * backbone), the weights hash of the file written. */
static void print_result(const char *path, int n, int ours, const char *task) {
    StFile f;
    char hash[17] = "";
    if (safetensors_open(path, &f) == 0) {
        safetensors_weights_hash(&f, hash);
        safetensors_close(&f);
    }
    printf("convert: wrote %s\ntensors=%d\n", path, n);
    if (ours) printf("task=%s\n", task ? task : "none");
    printf("weights_hash=%s\n", hash);
}

static int to_ours(const ConvertArgs *a) {
    StFile f;
    ViltSizes s;
    if (safetensors_open(a->in, &f) != 0) return -1;
    ViltTensor *t = NULL;
    int n = 0, *at = NULL, present[VILT_N_PARTS], part, n_vocab = 0, rc = -1;
    json_t *from = NULL, *layout = NULL;
    StTensor *out = NULL;
    float *pad = NULL;
    char *vocab = NULL, hash[17];
    if (official_sizes(&f, &s) != 0) goto done;
    int types = a->types > s.n_types ? a->types : s.n_types;
    t = vilt_tensors(&s, &n);
    at = xcalloc(3 * (size_t)n, sizeof(int));
    if (match_tensors(a, &f, t, n, 0, types, s.text_types, at) != 0 || check_parts(&f, t, n, 0, at, present) != 0 ||
        choose_task(a, present, a->in, &part) != 0)
        goto done;
    ModelConfig mc;
    if (model_config_default(&mc, "vilt", s.vocab) != 0) goto done;
    int heads = a->heads ? a->heads : s.d / 64;
    if (!a->heads && s.d % 64) {
        err_set("%s: d = %d is no multiple of ViLT's head width 64: give --heads N", a->in, s.d);
        goto done;
    }
    if (s.hidden % s.d) {
        err_set("%s: the MLP's width %d is no multiple of d = %d", a->in, s.hidden, s.d);
        goto done;
    }
    mc.dims = (ModelDims){.vocab = s.vocab, .d = s.d, .layers = s.layers, .heads = heads, .mlp_ratio = s.hidden / s.d,
                          .patch = s.patch, .image_size = s.grid * s.patch, .max_text = s.max_text, .n_types = types,
                          .text_types = s.text_types};
    if (s.d % heads || s.layers < 1 || s.max_text < 3) {
        err_set("%s: d %d, %d heads, %d layers, %d text positions: not a model moil builds", a->in, s.d, heads,
                s.layers, s.max_text);
        goto done;
    }
    if (part == VILT_PART_NLVR && types < 3) {
        err_set("%s: an NLVR2 model needs 3 modality types, the file has %d", a->in, types);
        goto done;
    }
    if (!(vocab = vocab_read(a->vocab, &n_vocab)) || vocab_check(vocab, a->tokenizer, a->vocab) != 0) goto done;
    if (n_vocab != s.vocab) {
        err_set("%s: %d tokens, but the word embeddings of %s have %d rows", a->vocab, n_vocab, a->in, s.vocab);
        goto done;
    }
    /* the tensors of ours, pointing into the file (the padded table apart) */
    out = xcalloc(3 * (size_t)n, sizeof *out);
    int k = 0, ids = 0;
    for (int i = 0; i < n; i++) {
        if (at[3 * i] < 0) continue;
        const StTensor *x = &f.tensors[at[3 * i]];
        if (t[i].map == VILT_POSITION_IDS) {
            if (ids_check(&f, x) != 0) goto done;
            ids = 1;
            continue;
        }
        for (int j = 0; j < (t[i].map == VILT_QKV ? 3 : 1); j++) {
            StTensor *o = &out[k++];
            *o = (StTensor){.name = t[i].ours[j], .dtype = ST_F32, .ndim = x->ndim};
            shape_of(&t[i], 1, types, s.text_types, o->shape);
            size_t bytes = (size_t)safetensors_nbytes(o);
            o->data = (const unsigned char *)x->data + j * bytes;
            if (t[i].map == VILT_TYPE_ROWS && types > s.n_types) { /* rows n_types.. copies of row 1 */
                size_t row = (size_t)s.d * sizeof(float);
                pad = xmalloc(bytes);
                memcpy(pad, x->data, (size_t)s.n_types * row);
                for (int r = s.n_types; r < types; r++) memcpy((char *)pad + r * row, (const char *)x->data + row, row);
                o->data = pad;
            }
        }
    }
    if (file_hash_fnv1a(a->in, hash) != 0) goto done;
    json_t *meta = json_object();
    for (int i = 0; i < f.n_meta; i++) json_object_set_new(meta, f.meta[i].key, json_string(f.meta[i].value));
    from = json_pack("{s:s, s:s, s:s, s:b, s:i, s:o}", "format", "vilt", "source", a->in, "source_hash", hash,
                     "position_ids", ids, "modality_rows", s.n_types, "metadata", f.n_meta ? meta : json_null());
    if (!f.n_meta) json_decref(meta);
    if (part >= 0 && !(layout = layout_build(a, t, n, at, part, s.answers))) goto done;
    RunConverted rcv = {&mc, vocab, a->tokenizer, from, task_of_part(part), layout, a->batch};
    if (!from || run_checkpoint_save_converted(a->out, out, k, &rcv) != 0) goto done;
    print_result(a->out, k, 1, task_of_part(part));
    rc = 0;
done:
    json_decref(from), json_decref(layout);
    free(out), free(pad), free(vocab), free(at), free(t);
    safetensors_close(&f);
    return rc;
}

/* How many rows of ours (n_ours of them) the official table had: the
 * recorded count when the rows after it are copies of row 1 (our padding),
 * else all. */
static int official_rows(const StFile *f, const json_t *from, int n_ours, int d) {
    const json_t *r = json_object_get(from, "modality_rows");
    const StTensor *x = safetensors_find(f, "token_type_embeddings.weight");
    err_clear();
    if (!json_is_integer(r) || !x || json_integer_value(r) < 2 || json_integer_value(r) >= n_ours) return n_ours;
    size_t row = (size_t)d * sizeof(float);
    for (int k = (int)json_integer_value(r); k < n_ours; k++)
        if (memcmp((const char *)x->data + k * row, (const char *)x->data + row, row)) return n_ours;
    return (int)json_integer_value(r);
}

static int to_official(const ConvertArgs *a) {
    StFile f;
    if (safetensors_open(a->in, &f) != 0) return -1;
    ViltTensor *t = NULL;
    int n = 0, *at = NULL, present[VILT_N_PARTS], rc = -1;
    StTensor *out = NULL;
    StMeta *meta = NULL;
    unsigned char *extra = NULL;
    json_t *cfg = NULL, *from = NULL;
    ModelConfig mc;
    char ctx[1100];
    snprintf(ctx, sizeof ctx, "%s: metadata 'model_config'", a->in);
    const char *text = safetensors_meta(&f, "model_config");
    if (!text) {
        err_set("%s: no model_config in the metadata: not a checkpoint of ours", a->in);
        goto done;
    }
    if (!(cfg = json_read_text(text, ctx)) || model_config_from_json(&mc, cfg, a->in) != 0) goto done;
    if (strcmp(mc.kind, "vilt") || strcmp(mc.stem, "patch")) {
        err_set("%s: a %s model with a %s stem: only the ViLT-style model with the patch stem is ViLT's", a->in,
                mc.kind, mc.stem);
        goto done;
    }
    const char *from_text = safetensors_meta(&f, "converted_from");
    snprintf(ctx, sizeof ctx, "%s: metadata 'converted_from'", a->in);
    if (from_text && (!(from = json_read_text(from_text, ctx)) || json_need_object(from, ctx) != 0)) goto done;
    const ModelDims *v = &mc.dims;
    const StTensor *vqa = safetensors_find(&f, "vqa_classifier.3.weight");
    err_clear();
    ViltSizes s = {.d = v->d, .layers = v->layers, .hidden = v->mlp_ratio * v->d, .vocab = v->vocab,
                   .max_text = v->max_text, .text_types = v->text_types ? v->text_types : 2, .patch = v->patch,
                   .grid = v->image_size / v->patch, .n_types = v->n_types,
                   .answers = vqa && vqa->ndim == 2 ? (int)vqa->shape[0] : 0};
    t = vilt_tensors(&s, &n);
    at = xcalloc(3 * (size_t)n, sizeof(int));
    if (match_tensors(a, &f, t, n, 1, v->n_types, v->text_types, at) != 0 ||
        check_parts(&f, t, n, 1, at, present) != 0)
        goto done;
    int rows = official_rows(&f, from, v->n_types, v->d);
    const json_t *ids_flag = json_object_get(from, "position_ids");
    int ids = !from || json_is_true(ids_flag);
    /* bytes of what ours lacks: fused q, k, v; a zero text table; position_ids */
    size_t C = (size_t)v->d, need = (size_t)v->layers * (3 * C * C + 3 * C) * sizeof(float) + 2 * C * sizeof(float) +
                                    (size_t)v->max_text * 8;
    extra = xcalloc(need, 1);
    unsigned char *e = extra;
    out = xcalloc((size_t)n, sizeof *out);
    int k = 0;
    for (int i = 0; i < n; i++) {
        StTensor *o = &out[k];
        *o = (StTensor){.name = t[i].official, .dtype = ST_F32, .ndim = t[i].ndim};
        memcpy(o->shape, t[i].shape, sizeof o->shape);
        const StTensor *x = at[3 * i] >= 0 ? &f.tensors[at[3 * i]] : NULL;
        switch (t[i].map) {
        case VILT_POSITION_IDS:
            if (!ids) continue;
            o->dtype = ST_I64;
            for (int p = 0; p < v->max_text; p++)
                for (int b = 0; b < 8; b++) e[8 * p + b] = (unsigned char)((uint64_t)p >> (8 * b));
            o->data = e;
            e += (size_t)v->max_text * 8;
            break;
        case VILT_TEXT_TYPES:
            if (x) o->data = x->data;
            else o->data = e, e += 2 * C * sizeof(float); /* BERT's row 0 as zeros: the same sums */
            break;
        case VILT_QKV:
            if (!x) continue;
            o->data = e;
            for (int j = 0; j < 3; j++) {
                const StTensor *q = &f.tensors[at[3 * i + j]];
                size_t bytes = (size_t)safetensors_nbytes(q);
                memcpy(e, q->data, bytes);
                e += bytes;
            }
            break;
        case VILT_TYPE_ROWS:
            o->shape[0] = rows;
            o->data = x->data;
            break;
        case VILT_COPY:
            if (!x) continue;
            o->data = x->data;
            break;
        }
        k++;
    }
    /* the metadata the released file had (none when it had none); ours
     * written fresh: safetensors' own {"format": "pt"} */
    const json_t *orig = from ? json_object_get(from, "metadata") : NULL;
    int n_meta = from && !json_is_object(orig) ? ST_NO_METADATA : 0;
    meta = xcalloc(json_is_object(orig) ? json_object_size(orig) + 1 : 1, sizeof *meta);
    const char *key;
    json_t *val;
    if (json_is_object(orig))
        json_object_foreach((json_t *)orig, key, val) meta[n_meta++] = (StMeta){key, json_string_value(val)};
    if (safetensors_write(a->out, out, k, meta, n_meta) != 0) goto done;
    print_result(a->out, k, 0, NULL);
    rc = 0;
done:
    json_decref(cfg), json_decref(from);
    free(out), free(meta), free(extra), free(at), free(t);
    safetensors_close(&f);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    ConvertArgs a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "moil convert: %s\n", err_msg());
        return 2;
    }
    if ((!strcmp(a.to, "official") ? to_official : to_ours)(&a) != 0) {
        fprintf(stderr, "moil convert: %s\n", err_msg());
        return 1;
    }
    return 0;
}
