/* moil convert (docs/checkpoints.md, "Converting a released ViLT
 * checkpoint"), on a tiny backbone and models fine-tuned from it, turned
 * into ViLT's state dict (--to official) and back:
 *  - the tensors of ours are ViLT's: q, k, v the row blocks of attn.qkv,
 *    the MLM bias renamed, BERT's position_ids left out, the sizes,
 *    tokenizer, vocabulary and origin in the metadata;
 *  - official -> ours -> official gives the file back byte for byte, with
 *    and without position_ids and metadata, and with a 2-row modality table
 *    padded to 3;
 *  - a converted VQA, NLVR2 or retrieval model (with ViLT's frozen ITM head
 *    beside the rank head) evaluated by moil eval gives what the model it
 *    came from gives: the same metrics and byte-identical predictions (the
 *    retrieval score matrix to 9 digits), so its trained heads are used;
 *  - unknown tensors, wrong shapes, incomplete heads, a vocabulary of the
 *    wrong size or without BERT's specials, a VQA model without its answers
 *    and a method's tensors going back are refused with a message naming
 *    them. */
#include <jansson.h>

#include "check.h"
#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_convert_XXXXXX";
#include "tmp_path.h"

/* moil convert with args (paths in the scratch folder spelled out by the
 * caller); its output into *o (to free). */
static int convert(char **o, const char *args) { return proc_run(o, "%s convert %s", moil_bin(), args); }

/* tmp_path(dst): the tensors of tmp_path(src) but those whose names start
 * with drop (NULL: none), plus add[0..n_add), with src's metadata or none. */
static int rewrite(const char *src, const char *dst, const char *drop, const StTensor *add, int n_add, int keep_meta) {
    StFile f;
    if (safetensors_open(tmp_path(src), &f) != 0) return -1;
    StTensor *t = xcalloc((size_t)f.n_tensors + n_add, sizeof *t);
    int n = 0;
    for (int i = 0; i < f.n_tensors; i++)
        if (!drop || strncmp(f.tensors[i].name, drop, strlen(drop))) t[n++] = f.tensors[i];
    for (int i = 0; i < n_add; i++) t[n++] = add[i];
    int rc = safetensors_write(tmp_path(dst), t, n, f.meta, keep_meta ? f.n_meta : ST_NO_METADATA);
    free(t);
    safetensors_close(&f);
    return rc;
}

/* Whether tmp_path(a) and tmp_path(b) are the same bytes. */
static int same_file(const char *a, const char *b) {
    char *o;
    int rc = proc_run(&o, "cmp '%s' '%s'", tmp_path(a), tmp_path(b));
    free(o);
    return rc == 0;
}

/* nbytes of tensor na of f at byte offset off equal those of nb of g. */
static int same_data(const StFile *f, const char *na, size_t off, const StFile *g, const char *nb) {
    const StTensor *a = safetensors_find(f, na), *b = safetensors_find(g, nb);
    return a && b && memcmp((const char *)a->data + off, b->data, (size_t)safetensors_nbytes(b)) == 0;
}

/* The word vocabulary and VQA answers of a fine-tuned checkpoint of ours,
 * as files vocab.txt and answers.json. */
static int write_vocab_answers(const char *model) {
    StFile f;
    if (safetensors_open(tmp_path(model), &f) != 0) return -1;
    const char *vocab = safetensors_meta(&f, "vocab");
    json_t *layout = json_loads(safetensors_meta(&f, "head_layout"), 0, NULL);
    int rc = vocab && layout ? file_write_atomic(tmp_path("vocab.txt"), vocab, strlen(vocab)) : -1;
    if (rc == 0) rc = json_dump_file(json_object_get(layout, "answers"), tmp_path("answers.json"), 0);
    json_decref(layout);
    safetensors_close(&f);
    return rc;
}

#define TO_OURS "--vocab %s --tokenizer word --heads 2 --batch 4"

/* A backbone: q, k, v are attn.qkv's row blocks, the MLM bias renamed, no
 * position_ids; the metadata says what the model is and where it came from. */
static void test_tensors_and_metadata(void) {
    char *o, args[2000];
    snprintf(args, sizeof args, "%s %s --to official --drop itc.", tmp_path("pre/backbone.safetensors"),
             tmp_path("pre_off.safetensors"));
    int rc = convert(&o, args);
    CHECK(rc == 0 && strstr(o, "left out itc.text_proj.weight"), "to official: %s", o);
    free(o);
    snprintf(args, sizeof args, "%s %s " TO_OURS, tmp_path("pre_off.safetensors"), tmp_path("pre_ours.safetensors"),
             tmp_path("vocab.txt"));
    rc = convert(&o, args);
    CHECK(rc == 0 && strstr(o, "task=none"), "to ours: %s", o);
    free(o);
    StFile off, ours;
    if (safetensors_open(tmp_path("pre_off.safetensors"), &off) != 0 ||
        safetensors_open(tmp_path("pre_ours.safetensors"), &ours) != 0) {
        CHECK(0, "open: %s", err_msg());
        return;
    }
    const StTensor *qkv = safetensors_find(&off, "transformer.blocks.1.attn.qkv.weight");
    CHECK(qkv && qkv->shape[0] == 48 && qkv->shape[1] == 16, "official qkv weight [48,16]");
    size_t block = 16 * 16 * sizeof(float);
    CHECK(same_data(&off, "transformer.blocks.1.attn.qkv.weight", 0, &ours, "transformer.blocks.1.attn.q.weight") &&
              same_data(&off, "transformer.blocks.1.attn.qkv.weight", block, &ours,
                        "transformer.blocks.1.attn.k.weight") &&
              same_data(&off, "transformer.blocks.1.attn.qkv.weight", 2 * block, &ours,
                        "transformer.blocks.1.attn.v.weight") &&
              same_data(&off, "transformer.blocks.1.attn.qkv.bias", 32 * sizeof(float), &ours,
                        "transformer.blocks.1.attn.v.bias"),
          "q, k, v are not the row blocks of qkv");
    CHECK(same_data(&off, "mlm_score.bias", 0, &ours, "mlm_score.decoder.bias"), "the MLM bias was not renamed");
    const StTensor *ids = safetensors_find(&off, "text_embeddings.position_ids");
    CHECK(ids && ids->dtype == ST_I64 && !safetensors_find(&ours, "text_embeddings.position_ids"),
          "position_ids: written going to ViLT's names, left out coming back");
    const StTensor *tt = safetensors_find(&ours, "text_embeddings.token_type_embeddings.weight");
    float zero[2 * 16] = {0};
    CHECK(tt && tt->shape[0] == 2 && !memcmp(tt->data, zero, sizeof zero), "BERT's text table: zeros for ours");
    json_t *mc = json_loads(safetensors_meta(&ours, "model_config") ? safetensors_meta(&ours, "model_config") : "",
                            0, NULL);
    json_t *from = json_loads(safetensors_meta(&ours, "converted_from") ? safetensors_meta(&ours, "converted_from")
                                                                         : "",
                              0, NULL);
    CHECK(json_integer_value(json_object_get(mc, "d")) == 16 && json_integer_value(json_object_get(mc, "layers")) == 2 &&
              json_integer_value(json_object_get(mc, "heads")) == 2 &&
              json_integer_value(json_object_get(mc, "text_types")) == 2 &&
              json_integer_value(json_object_get(mc, "n_types")) == 3,
          "model config: %s", safetensors_meta(&ours, "model_config"));
    const char *tok = safetensors_meta(&ours, "tokenizer");
    CHECK(tok && !strcmp(tok, "word"), "tokenizer: %s", tok ? tok : "(none)");
    CHECK(json_is_true(json_object_get(from, "position_ids")) &&
              json_integer_value(json_object_get(from, "modality_rows")) == 3,
          "converted_from: %s", safetensors_meta(&ours, "converted_from"));
    CHECK(!safetensors_meta(&ours, "task") && !safetensors_meta(&ours, "run_config_hash"),
          "a converted backbone has no task and no run");
    json_decref(mc), json_decref(from);
    safetensors_close(&off), safetensors_close(&ours);
    /* moil finetune starts from it */
    rc = proc_run(&o, "%s finetune --task vqa --method lora --steps 2 --batch 4 --eval-limit 4 --quiet --no-db "
                      "--data %s --init %s --out %s",
                  moil_bin(), tmp_path("tiny"), tmp_path("pre_ours.safetensors"), tmp_path("ft_from_converted"));
    CHECK(rc == 0, "finetune from a converted backbone: %s", o);
    free(o);
}

/* official -> ours -> official, byte for byte: with position_ids and
 * metadata; without either, a 2-row modality table padded to 3 on the way. */
static void test_round_trip(void) {
    char *o, args[2000];
    snprintf(args, sizeof args, "%s %s --to official", tmp_path("vqa/model.safetensors"), tmp_path("vqa_off.safetensors"));
    int rc = convert(&o, args);
    CHECK(rc == 0, "to official: %s", o);
    free(o);
    StFile f;
    if (safetensors_open(tmp_path("vqa_off.safetensors"), &f) != 0) {
        CHECK(0, "open: %s", err_msg());
        return;
    }
    StTensor two = *safetensors_find(&f, "token_type_embeddings.weight");
    two.shape[0] = 2;
    CHECK(f.n_meta == 1 && !strcmp(f.meta[0].key, "format"), "a file of ours goes out with safetensors' format key");
    rc = rewrite("vqa_off.safetensors", "vqa_bare.safetensors", "token_type_embeddings.weight", &two, 1, 0);
    if (rc == 0) rc = rewrite("vqa_bare.safetensors", "vqa_bare2.safetensors", "text_embeddings.position_ids", NULL, 0, 0);
    safetensors_close(&f);
    CHECK(rc == 0, "rewrite: %s", err_msg());
    static const struct {
        const char *official, *extra;
    } cases[] = {{"vqa_off", ""}, {"vqa_bare2", "--types 3"}};
    for (int k = 0; k < 2; k++) {
        char ours[64], back[64];
        snprintf(ours, sizeof ours, "%s_ours.safetensors", cases[k].official);
        snprintf(back, sizeof back, "%s_back.safetensors", cases[k].official);
        char in[80];
        snprintf(in, sizeof in, "%s.safetensors", cases[k].official);
        snprintf(args, sizeof args, "%s %s " TO_OURS " --answers %s %s", tmp_path(in), tmp_path(ours),
                 tmp_path("vocab.txt"), tmp_path("answers.json"), cases[k].extra);
        rc = convert(&o, args);
        CHECK(rc == 0 && strstr(o, "task=vqa"), "%s to ours: %s", in, o);
        free(o);
        snprintf(args, sizeof args, "%s %s --to official", tmp_path(ours), tmp_path(back));
        rc = convert(&o, args);
        CHECK(rc == 0, "%s back: %s", ours, o);
        free(o);
        CHECK(same_file(in, back), "%s -> ours -> official is not the same file", in);
    }
    if (safetensors_open(tmp_path("vqa_bare2_ours.safetensors"), &f) == 0) {
        const StTensor *t = safetensors_find(&f, "token_type_embeddings.weight");
        CHECK(t && t->shape[0] == 3 && !memcmp((const float *)t->data + 2 * 16, (const float *)t->data + 16, 64),
              "--types 3: row 2 is not a copy of row 1");
        safetensors_close(&f);
    }
}

/* The printed metrics of a moil eval output, but the timings. */
static void metrics_of(const char *out, char *buf, size_t n) {
    buf[0] = 0;
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        size_t len = strcspn(line, "\n");
        if (!memchr(line, '=', len) || strstr(line, "seconds") == line || strstr(line, "eval_seconds") == line)
            continue;
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, "%.*s\n", (int)len, line);
    }
}

/* tmp_path(model) and tmp_path(converted) evaluated on the test split:
 * the same metrics and prediction files. */
static void check_same_eval(const char *model, const char *converted, const char *pred, const char *limit) {
    char *a, *b, ma[4096], mb[4096], dir_a[64], dir_b[64];
    snprintf(dir_a, sizeof dir_a, "eval_%s_a", pred);
    snprintf(dir_b, sizeof dir_b, "eval_%s_b", pred);
    int ra = proc_run(&a, "%s eval --init %s --quiet --no-db --out %s", moil_bin(), tmp_path(model), tmp_path(dir_a));
    int rb = proc_run(&b, "%s eval --init %s --quiet --no-db --data %s --eval-limit %s --out %s", moil_bin(),
                      tmp_path(converted), tmp_path("tiny"), limit, tmp_path(dir_b));
    CHECK(ra == 0 && rb == 0, "eval: %s\n%s", a, b);
    metrics_of(a, ma, sizeof ma), metrics_of(b, mb, sizeof mb);
    CHECK(strlen(ma) > 20 && !strcmp(ma, mb), "metrics differ:\n%s---\n%s", ma, mb);
    char pa[200], pb[200];
    snprintf(pa, sizeof pa, "%s/predictions_test_trained.%s", dir_a, pred);
    snprintf(pb, sizeof pb, "%s/predictions_test_trained.%s", dir_b, pred);
    CHECK(same_file(pa, pb), "%s and %s differ", pa, pb);
    free(a), free(b);
}

/* Converted VQA, NLVR2 and retrieval models evaluate as the models they
 * came from. */
static void test_eval_converted(void) {
    char *o, args[2000];
    /* VQA: from the round trip above */
    check_same_eval("vqa/model.safetensors", "vqa_off_ours.safetensors", "json", "8");
    /* NLVR2 */
    snprintf(args, sizeof args, "%s %s --to official", tmp_path("nlvr/model.safetensors"), tmp_path("nlvr_off.safetensors"));
    int rc = convert(&o, args);
    free(o);
    snprintf(args, sizeof args, "%s %s " TO_OURS, tmp_path("nlvr_off.safetensors"), tmp_path("nlvr_ours.safetensors"),
             tmp_path("vocab.txt"));
    if (rc == 0) rc = convert(&o, args);
    CHECK(rc == 0 && strstr(o, "task=nlvr"), "nlvr: %s", o);
    free(o);
    check_same_eval("nlvr/model.safetensors", "nlvr_ours.safetensors", "csv", "8");
    /* retrieval: ViLT's model keeps its frozen ITM head beside the rank head */
    snprintf(args, sizeof args, "%s %s --to official --drop itc.", tmp_path("ret/model.safetensors"),
             tmp_path("ret_off.safetensors"));
    rc = convert(&o, args);
    free(o);
    float itm_w[2 * 16], itm_b[2] = {0.25f, -0.5f};
    for (int i = 0; i < 32; i++) itm_w[i] = 0.01f * (float)(i - 16);
    StTensor itm[2] = {{"itm_score.fc.weight", ST_F32, 2, {2, 16}, itm_w}, {"itm_score.fc.bias", ST_F32, 1, {2}, itm_b}};
    if (rc == 0) rc = rewrite("ret_off.safetensors", "ret_itm.safetensors", NULL, itm, 2, 1);
    snprintf(args, sizeof args, "%s %s " TO_OURS, tmp_path("ret_itm.safetensors"), tmp_path("ret_ours.safetensors"),
             tmp_path("vocab.txt"));
    if (rc == 0) rc = convert(&o, args);
    CHECK(rc == 0 && strstr(o, "task=retrieval"), "retrieval: %s", o);
    free(o);
    StFile f;
    if (safetensors_open(tmp_path("ret_ours.safetensors"), &f) == 0) {
        json_t *layout = json_loads(safetensors_meta(&f, "head_layout"), 0, NULL);
        json_t *unused = json_object_get(layout, "unused");
        CHECK(json_array_size(unused) == 2 && !strcmp(json_string_value(json_object_get(layout, "scoring")), "fusion"),
              "head layout: %s", safetensors_meta(&f, "head_layout"));
        json_decref(layout);
        safetensors_close(&f);
    }
    check_same_eval("ret/model.safetensors", "ret_ours.safetensors", "scores.tsv", "10");
    snprintf(args, sizeof args, "%s %s --to official", tmp_path("ret_ours.safetensors"), tmp_path("ret_back.safetensors"));
    rc = convert(&o, args);
    free(o);
    CHECK(rc == 0 && same_file("ret_itm.safetensors", "ret_back.safetensors"), "retrieval round trip");
    /* no data folder recorded: --data is needed */
    rc = proc_run(&o, "%s eval --init %s --quiet --no-db", moil_bin(), tmp_path("nlvr_ours.safetensors"));
    CHECK(rc != 0 && strstr(o, "give --data DIR"), "eval without --data: %d %s", rc, o);
    free(o);
}

/* Refusals, each naming what is wrong. */
static void test_refusals(void) {
    float mask[16] = {0}, qkv_b[40] = {0};
    StTensor extra = {"transformer.mask_token", ST_F32, 3, {1, 1, 16}, mask};
    StTensor bad = {"transformer.blocks.1.attn.qkv.bias", ST_F32, 1, {40}, qkv_b};
    int rc = rewrite("pre_off.safetensors", "unknown.safetensors", NULL, &extra, 1, 1);
    if (rc == 0) rc = rewrite("pre_off.safetensors", "shape.safetensors", "transformer.blocks.1.attn.qkv.bias", &bad, 1, 1);
    if (rc == 0) rc = rewrite("pre_off.safetensors", "partial.safetensors", "mlm_score.transform.dense.bias", NULL, 0, 1);
    if (rc == 0) rc = rewrite("pre_off.safetensors", "nofc2.safetensors", "transformer.blocks.1.mlp.fc2.weight", NULL, 0, 1);
    CHECK(rc == 0, "rewrite: %s", err_msg());
    char bert[600], nomask[600];
    snprintf(bert, sizeof bert, "%s", tmp_path("bert_vocab.txt"));
    snprintf(nomask, sizeof nomask, "%s", tmp_path("nomask_vocab.txt"));
    const char *bert_text = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n", *nomask_text = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
    if (file_write_atomic(bert, bert_text, strlen(bert_text)) != 0 ||
        file_write_atomic(nomask, nomask_text, strlen(nomask_text)) != 0)
        CHECK(0, "write: %s", err_msg());
    char a[8][1100];
    snprintf(a[0], 1100, "%s %s " TO_OURS, tmp_path("unknown.safetensors"), tmp_path("x.safetensors"), tmp_path("vocab.txt"));
    snprintf(a[1], 1100, "%s %s " TO_OURS, tmp_path("shape.safetensors"), tmp_path("x.safetensors"), tmp_path("vocab.txt"));
    snprintf(a[2], 1100, "%s %s " TO_OURS, tmp_path("partial.safetensors"), tmp_path("x.safetensors"), tmp_path("vocab.txt"));
    snprintf(a[3], 1100, "%s %s " TO_OURS, tmp_path("nofc2.safetensors"), tmp_path("x.safetensors"), tmp_path("vocab.txt"));
    snprintf(a[4], 1100, "%s %s --vocab %s --heads 2", tmp_path("pre_off.safetensors"), tmp_path("x.safetensors"), bert);
    snprintf(a[5], 1100, "%s %s " TO_OURS, tmp_path("vqa_off.safetensors"), tmp_path("x.safetensors"), tmp_path("vocab.txt"));
    snprintf(a[6], 1100, "%s %s --to official", tmp_path("lora/model.safetensors"), tmp_path("x.safetensors"));
    snprintf(a[7], 1100, "%s %s --vocab %s --tokenizer word", tmp_path("pre_off.safetensors"), tmp_path("x.safetensors"),
             tmp_path("vocab.txt"));
    const char *want[8] = {"tensor 'transformer.mask_token' is not part of ViLT's state dict",
                           "tensor 'transformer.blocks.1.attn.qkv.bias' has shape [40], expected [48]",
                           "mlm_score has 5 of its 6 tensors; missing 'mlm_score.transform.dense.bias'",
                           "backbone has",
                           "tokens, but the word embeddings",
                           "a VQA model needs --answers FILE",
                           "lora_A' is not one of ours that ViLT's state dict has",
                           "no multiple of ViLT's head width 64: give --heads N"};
    for (int k = 0; k < 8; k++) {
        char *o;
        rc = convert(&o, a[k]);
        CHECK(rc == 1 && strstr(o, want[k]), "case %d: exit %d, expected \"%s\": %s", k, rc, want[k], o);
        free(o);
    }
    /* a WordPiece vocabulary needs BERT's specials by name */
    char *o;
    snprintf(a[0], 1100, "%s %s --vocab %s --heads 2", tmp_path("pre_off.safetensors"), tmp_path("x.safetensors"),
             nomask);
    rc = convert(&o, a[0]);
    CHECK(rc == 1 && strstr(o, "no special token [MASK]"), "no [MASK]: %d %s", rc, o);
    free(o);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) return 1;
    char *o;
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s", moil_bin(), tmp_path("tiny"));
    free(o);
    if (rc == 0)
        rc = proc_run(&o, "%s pretrain --d 16 --layers 2 --heads 2 --steps 5 --quiet --no-db --data %s --out %s",
                      moil_bin(), tmp_path("tiny"), tmp_path("pre")), free(o);
    static const char *const runs[][3] = {{"vqa", "full", "8"}, {"nlvr", "full", "8"}, {"retrieval", "full", "10"},
                                          {"vqa", "lora", "8"}};
    static const char *const outs[] = {"vqa", "nlvr", "ret", "lora"};
    for (int k = 0; k < 4 && rc == 0; k++) {
        rc = proc_run(&o, "%s finetune --task %s --method %s --steps 3 --batch 4 --eval-limit %s --quiet --no-db "
                          "--data %s --init %s --out %s",
                      moil_bin(), runs[k][0], runs[k][1], runs[k][2], tmp_path("tiny"),
                      tmp_path("pre/backbone.safetensors"), tmp_path(outs[k]));
        if (rc != 0) printf("%s\n", o);
        free(o);
    }
    if (rc == 0) rc = write_vocab_answers("vqa/model.safetensors");
    if (rc != 0) {
        printf("not ok setup: the tiny dataset, backbone and fine-tuned models\n");
        return 1;
    }
    RUN(test_tensors_and_metadata);
    RUN(test_round_trip);
    RUN(test_eval_converted);
    RUN(test_refusals);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
