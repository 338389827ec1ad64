#include "run_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data_vocab.h"
#include "io_checkpoint.h"
#include "io_json_read.h"

/* The metadata every checkpoint carries, in this order; a model of ours
 * adds "tokenizer" when it is not word-level (absent means word: the
 * checkpoints written before WordPiece, byte for byte the same) */
enum { META_MODEL_CONFIG, META_VOCAB, META_STEM, META_RUN_CONFIG_HASH, N_MODEL_META, MODEL_META_MAX = N_MODEL_META + 1 };

/* What evaluating a fine-tuned checkpoint reads. */
static const char *const needed_keys[] = {"model_config", "vocab",          "task",      "head_layout",
                                          "method",       "method_options", "run_config"};

int run_checkpoint_model(const StFile *f, ModelConfig *mc, Tokenizer *tok) {
    const char *cfg = safetensors_meta(f, "model_config");
    json_t *j = cfg ? json_loads(cfg, 0, NULL) : NULL;
    int rc = j ? model_config_from_json(mc, j, f->path)
               : err_set("%s: no readable 'model_config' in the metadata (not a moil checkpoint?)", f->path);
    json_decref(j);
    if (rc == 0) rc = data_vocab_from_checkpoint(tok, f);
    return rc;
}

/* JSON as compact text with sorted keys (caller frees); NULL (err_set) if
 * it cannot be written. */
static char *json_text(const json_t *j, const char *what) {
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!s) err_set("cannot write the %s of a checkpoint as JSON", what);
    return s;
}

/* meta[0..N_MODEL_META) of a model of config c with the vocabulary vocab
 * (one token a line), written by the run of config hash config_hash (NULL:
 * by none, the key left out: N_MODEL_META - 1 entries); *model_config to
 * free. Returns the number of entries, -1 on failure. */
static int config_meta(const ModelConfig *c, const char *vocab, const char *config_hash, StMeta *meta,
                       char **model_config) {
    json_t *mc = model_config_to_json(c);
    *model_config = json_text(mc, "model config");
    json_decref(mc);
    meta[META_MODEL_CONFIG] = (StMeta){"model_config", *model_config};
    meta[META_VOCAB] = (StMeta){"vocab", vocab};
    meta[META_STEM] = (StMeta){"stem", c->stem};
    meta[META_RUN_CONFIG_HASH] = (StMeta){"run_config_hash", config_hash};
    return !*model_config ? -1 : config_hash ? N_MODEL_META : N_MODEL_META - 1;
}

/* The same for the model m and the tokenizer tok, and its kind when it
 * is not word-level (meta[0..MODEL_META_MAX)); *vocab to free too. */
static int model_meta(const Model *m, const Tokenizer *tok, const char *config_hash, StMeta *meta,
                      char **model_config, char **vocab) {
    *vocab = data_vocab_to_text(tok);
    int n = config_meta(&m->cfg, *vocab, config_hash, meta, model_config);
    if (n >= 0 && tok->kind != TOKENIZER_WORD) meta[n++] = (StMeta){"tokenizer", tokenizer_kind_name(tok->kind)};
    return n;
}

int run_checkpoint_save_backbone(const char *path, const Model *m, const Tokenizer *tok, const char *config_hash) {
    StMeta meta[MODEL_META_MAX];
    char *mc, *vocab;
    int n = model_meta(m, tok, config_hash, meta, &mc, &vocab), rc = n < 0 ? -1 : 0;
    if (rc == 0)
        rc = checkpoint_save(path, &m->params, (1u << PARAM_GROUP_BACKBONE) | (1u << PARAM_GROUP_PRETRAIN), meta, n);
    free(mc);
    free(vocab);
    return rc;
}

/* The head tensors of m (names and shapes) and the task's own description. */
static json_t *head_layout(const Model *m, const Task *t) {
    json_t *layout = json_object(), *tensors = json_array();
    const Params *p = &m->params;
    for (int i = 0; i < p->n; i++) {
        if (p->info[i].group != PARAM_GROUP_HEAD) continue;
        json_t *shape = json_array();
        for (int d = 0; d < p->info[i].ndim; d++) json_array_append_new(shape, json_integer(p->info[i].shape[d]));
        json_array_append_new(tensors, json_pack("{s:s, s:o}", "name", p->info[i].name, "shape", shape));
    }
    json_object_set_new(layout, "tensors", tensors);
    if (t->ops->describe_heads && t->ops->describe_heads(t, layout) != 0) {
        json_decref(layout);
        return NULL;
    }
    return layout;
}

/* The keys a fine-tuned checkpoint adds, from meta[*n] on (N_TASK_META of
 * them; *texts[0..3) to free): the task, its head layout, the method, its
 * options and variants, the run's config. */
enum { N_TASK_META = 7 };
static int task_meta(const char *task, const json_t *layout, const Method *meth, const json_t *run_config,
                     StMeta *meta, int *n, char *options, size_t options_n, char *texts[3]) {
    char members[2048];
    json_t *variants = json_array();
    method_options_json(&meth->opt, members, sizeof members);
    snprintf(options, options_n, "{%s}", members);
    for (int v = 0; v < method_n_variants(meth); v++)
        json_array_append_new(variants, json_string(method_variant_name(meth, v)));
    texts[0] = json_text(layout, "head layout");
    texts[1] = json_text(variants, "variant list");
    texts[2] = json_text(run_config, "run config");
    json_decref(variants);
    meta[(*n)++] = (StMeta){"task", task};
    meta[(*n)++] = (StMeta){"head_layout", texts[0]};
    meta[(*n)++] = (StMeta){"method", meth->ops->name};
    meta[(*n)++] = (StMeta){"method_options", options};
    meta[(*n)++] = (StMeta){"weights", "as_trained"};
    meta[(*n)++] = (StMeta){"variants", texts[1]};
    meta[(*n)++] = (StMeta){"run_config", texts[2]};
    return texts[0] && texts[1] && texts[2] ? 0 : -1;
}

int run_checkpoint_save_finetuned(const char *path, const Model *m, const Tokenizer *tok, const Task *t,
                                  const Method *meth, const json_t *run_config, const char *config_hash) {
    StMeta meta[MODEL_META_MAX + N_TASK_META];
    char *mc, *vocab, options[2100], *texts[3] = {0};
    int n = model_meta(m, tok, config_hash, meta, &mc, &vocab), rc = n < 0 ? -1 : 0;
    json_t *layout = rc == 0 ? head_layout(m, t) : NULL;
    if (!layout || task_meta(t->ops->name, layout, meth, run_config, meta, &n, options, sizeof options, texts) != 0)
        rc = -1;
    json_decref(layout);
    if (rc == 0) rc = checkpoint_save(path, &m->params, ~0u, meta, n);
    free(mc), free(vocab), free(texts[0]), free(texts[1]), free(texts[2]);
    return rc;
}

int run_checkpoint_save_converted(const char *path, const StTensor *t, int n, const RunConverted *c) {
    StMeta meta[N_MODEL_META + 2 + N_TASK_META];
    char *mc, *from = json_text(c->converted_from, "conversion record"), options[2100], *texts[3] = {0};
    int k = config_meta(c->mc, c->vocab, NULL, meta, &mc), rc = k < 0 || !from ? -1 : 0;
    if (rc == 0) {
        meta[k++] = (StMeta){"tokenizer", c->tokenizer};
        meta[k++] = (StMeta){"converted_from", from};
    }
    /* a task's model: every tensor as the released file has it, evaluated as
     * a full fine-tuning's; no data folder recorded (moil eval --data) */
    Method meth = {0};
    json_t *run_config = NULL;
    if (rc == 0 && c->task) {
        MethodOptions opt = method_options_default();
        char members[2048], object[2100];
        method_options_json(&opt, members, sizeof members);
        snprintf(object, sizeof object, "{%s}", members);
        rc = method_create(&meth, "full", &opt);
        run_config = json_pack("{s:s, s:O, s:i, s:i, s:i, s:s, s:i, s:o}", "command", "convert", "converted_from",
                               c->converted_from, "steps", 0, "batch", c->batch, "seed", 0, "eval_split", "test",
                               "eval_limit", 0, "method_options", json_loads(object, 0, NULL));
        if (rc == 0 && (!run_config || task_meta(c->task, c->head_layout, &meth, run_config, meta, &k, options,
                                                 sizeof options, texts) != 0))
            rc = err_set("%s: cannot write the converted model's metadata", path);
    }
    if (rc == 0) rc = safetensors_write(path, t, n, meta, k);
    if (meth.ops) method_destroy(&meth);
    json_decref(run_config);
    free(mc), free(from), free(texts[0]), free(texts[1]), free(texts[2]);
    return rc;
}

/* One option of a method_options object as method_option_parse takes it:
 * its command-line name and value; 0 to skip it (a flag left off). */
static int option_text(const char *key, const json_t *v, char *name, size_t name_n, char *val, size_t val_n) {
    snprintf(name, name_n, "%s", key);
    for (char *c = name; *c; c++)
        if (*c == '_') *c = '-';
    if (method_option_is_flag(name)) {
        snprintf(val, val_n, "%s", "");
        return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
    }
    if (json_is_string(v)) snprintf(val, val_n, "%s", json_string_value(v));
    else if (!strcmp(name, "momentum") && json_is_number(v) && json_number_value(v) < 0) snprintf(val, val_n, "auto");
    else if (json_is_integer(v)) snprintf(val, val_n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v)) snprintf(val, val_n, "%.17g", json_real_value(v));
    else return -1;
    return 1;
}

/* The method options recorded in the metadata, over the defaults. */
static int options_read(MethodOptions *o, const char *text, const char *ctx) {
    *o = method_options_default();
    json_t *j = json_read_text(text, ctx);
    if (!j || json_need_object(j, ctx) != 0) {
        json_decref(j);
        return -1;
    }
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        char name[64], val[64];
        int take = option_text(key, v, name, sizeof name, val, sizeof val), parsed = 1;
        if (take < 0) rc = err_set("%s: option '%s' is neither a string nor a number", ctx, key);
        else if (take > 0 && (parsed = method_option_parse(o, name, val)) < 0) rc = err_prefix("%s", ctx);
        else if (parsed == 0) rc = err_set("%s: unknown method option '%s'", ctx, key);
        if (rc != 0) break;
    }
    json_decref(j);
    return rc;
}

/* A JSON object of the metadata into *out (a new reference). */
static int meta_object(const StFile *f, const char *key, json_t **out) {
    char ctx[1100];
    snprintf(ctx, sizeof ctx, "%s: metadata '%s'", f->path, key);
    *out = json_read_text(safetensors_meta(f, key), ctx);
    return *out ? json_need_object(*out, ctx) : -1;
}

/* Every key evaluation needs is there, or an error naming the missing ones. */
static int check_keys(const StFile *f) {
    char missing[256] = "";
    for (size_t k = 0; k < sizeof needed_keys / sizeof needed_keys[0]; k++)
        if (!safetensors_meta(f, needed_keys[k]))
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", *missing ? ", " : "",
                     needed_keys[k]);
    if (!*missing) return 0;
    const char *what = !safetensors_meta(f, "model_config")
                           ? "it carries no moil metadata (a model.safetensors written before fine-tuned checkpoints "
                             "carried theirs? fine-tune again to get one)"
                       : !safetensors_meta(f, "task")
                           ? "a backbone? (moil pretrain --eval CKPT measures a backbone)"
                           : "an incomplete fine-tuned checkpoint";
    return err_set("%s: not a fine-tuned moil checkpoint: its metadata lacks %s; %s", f->path, missing, what);
}

int run_checkpoint_open(const char *path, RunCheckpoint *c) {
    memset(c, 0, sizeof *c);
    if (safetensors_open(path, &c->file) != 0) return -1;
    const StFile *f = &c->file;
    if (check_keys(f) != 0 || run_checkpoint_model(f, &c->mc, &c->tok) != 0) return -1;
    c->task = safetensors_meta(f, "task");
    c->method = safetensors_meta(f, "method");
    c->config_hash = safetensors_meta(f, "run_config_hash");
    char ctx[1100];
    snprintf(ctx, sizeof ctx, "%s: metadata 'method_options'", path);
    if (meta_object(f, "head_layout", &c->head_layout) != 0 || meta_object(f, "run_config", &c->run_config) != 0 ||
        options_read(&c->mopt, safetensors_meta(f, "method_options"), ctx) != 0)
        return -1;
    int64_t steps;
    snprintf(ctx, sizeof ctx, "%s: metadata 'run_config'", path);
    if (json_need_int(c->run_config, "steps", ctx, &steps) != 0) return -1;
    c->mopt.total_steps = (int)steps;
    return 0;
}

void run_checkpoint_close(RunCheckpoint *c) {
    if (c->file.path) safetensors_close(&c->file);
    tokenizer_free(&c->tok);
    json_decref(c->head_layout);
    json_decref(c->run_config);
    memset(c, 0, sizeof *c);
}
