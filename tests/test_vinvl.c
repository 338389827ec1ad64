/* The VinVL-style two-stage model: the region encoder's and tagger's
 * training gradient, the whole model's gradient (fusion and seq2seq
 * passes), the tag/region rows and their key mask, the seq2seq mask
 * (what the caption, tag and region rows see), LoRA and MoIL folding on
 * it, its config JSON, clear errors (unknown image, no ids, corrupt cache),
 * and `moil regions train` on a tiny dataset (cache round trip, skip when
 * up to date; the built binary $MOIL, else ./moil). */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "data_layout.h"
#include "gen_write.h"
#include "gradcheck.h"
#include "io_region_store.h"
#include "method.h"
#include "model.h"
#include "model_region_encoder.h"
#include "model_vinvl.h"
#include "ops.h"
#include "proc.h"
#include "test.h"

#define N_CLS 3
#include "model_checks.h"
enum { R = 3, DA = 4, D = DA + REGION_GEOMETRY, N_IMG = 3 };

static char dir[] = "/tmp/moil_test_vinvl_XXXXXX";
static char regions_dir[300];

/* A region folder of N_IMG images (ids 11, 12, 13 with 2, 1, 3 regions). */
static void write_regions(const char *path) {
    RegionCache c;
    region_cache_alloc(&c, N_IMG, R, D);
    Rng rng;
    rng_seed(&rng, 5);
    for (int i = 0; i < N_IMG; i++) {
        c.image_ids[i] = 11 + i;
        c.n_regions[i] = i == 0 ? 2 : i == 1 ? 1 : 3;
        for (int r = 0; r < c.n_regions[i]; r++) {
            c.tags[i * R + r] = (i + r) % N_CLS;
            rng_fill_normal(&rng, c.feats + (size_t)(i * R + r) * D, D, 1.0f);
        }
    }
    char file[400];
    if (dir_make(path) != 0) die("%s", err_msg());
    snprintf(file, sizeof file, "%s/a.bin", path);
    if (region_cache_write(file, &c) != 0) die("%s", err_msg());
    region_cache_free(&c);
    snprintf(file, sizeof file, "%s/%s", path, REGION_STORE_META);
    const char *meta = "{\"version\": 1, \"classes\": [\"shirt\", \"bag\", \"ankle boot\"], \"max_regions\": 3, "
                       "\"dim\": 9, \"sets\": [{\"name\": \"a\", \"file\": \"a.bin\"}]}";
    if (file_write_atomic(file, meta, strlen(meta)) != 0) die("%s", err_msg());
}

static ModelConfig tiny_config(int d, int layers) {
    ModelConfig c;
    if (model_config_default(&c, "vinvl", 11) != 0) die("%s", err_msg());
    c.dims.d = d, c.dims.layers = layers, c.dims.heads = 2, c.dims.mlp_ratio = 2, c.dims.max_text = 5;
    RegionConfig *rc = vinvl_regions(&c);
    snprintf(rc->dir, sizeof rc->dir, "%s", regions_dir);
    rc->max_regions = R, rc->dim = D, rc->n_classes = N_CLS, rc->tag_len = 2;
    int words[N_CLS][2] = {{5, 6}, {7, TOK_WORD_PAD}, {8, 9}};
    for (int k = 0; k < N_CLS; k++) rc->tag_words[k][0] = words[k][0], rc->tag_words[k][1] = words[k][1];
    return c;
}

static void fixture_init(Fixture *f, const ModelConfig *c, int B, const char *method, const MethodOptions *opt,
                         uint64_t seed, float spread) {
    FixtureSpec s = {N_CLS, method, opt, spread, ~0u, ATTN_CAUSAL_TEXT, 11, N_IMG, FIXTURE_DRAWS_OWN_WEIGHTS};
    fixture_init_spec(f, c, B, seed, &s);
}

static void test_whole_model_gradient(void) {
    Fixture f;
    ModelConfig c = tiny_config(8, 2);
    fixture_init(&f, &c, 3, NULL, NULL, 7, 0.3f);
    check_whole_model_gradient(&f, "vinvl");
    /* in training mode, dropout 0.3 with masks fixed per pass (tests/model_fixture.h) */
    f.dropout = 0.3f;
    check_whole_model_gradient(&f, "vinvl+dropout");
    fixture_free(&f);
}

/* Region encoder + tagger: cross-entropy gradient of every tensor. */
typedef struct {
    RegionEncoder e;
    float *x;
    int labels[3];
} EncCase;

static double enc_loss(void *ctx) {
    EncCase *c = ctx;
    region_encoder_forward(&c->e, c->x, 3);
    return crossentropy_forward(c->e.probs, c->e.logits, c->labels, 3, N_CLS, -100, NULL);
}

static void enc_grad(void *ctx) {
    EncCase *c = ctx;
    params_zero_grad(&c->e.params);
    region_encoder_forward(&c->e, c->x, 3);
    region_encoder_backward(&c->e, c->labels, 3);
}

static void test_region_encoder_gradient(void) {
    EncCase c = {.labels = {0, 2, 1}};
    CHECK(region_encoder_create(&c.e, 16, 6, N_CLS, 3, 1) != 0, "crop 16 accepted");
    if (region_encoder_create(&c.e, 12, 6, N_CLS, 3, 1) != 0) die("%s", err_msg());
    Rng rng;
    rng_seed(&rng, 3);
    c.x = xcalloc(3 * 3 * 12 * 12, sizeof(float));
    rng_fill_uniform(&rng, c.x, 3 * 3 * 12 * 12, -1, 1);
    Params *p = &c.e.params;
    for (int i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->info[i].size; k++) params_data(p, i)[k] += 0.2f * rng_normal(&rng);
    GcTensor t[16];
    for (int i = 0; i < p->n; i++) t[i] = (GcTensor){p->info[i].name, params_data(p, i), p->grad + p->info[i].offset, p->info[i].size};
    GcCase gc = {"region encoder", 1e-2, 2e-2, 16, enc_loss, enc_grad, &c, 1e-5};
    CHECK(p->n == 6, "%d tensors (crop 12: 2 conv layers + tagger, weight and bias)", p->n);
    CHECK(gradcheck_run(&gc, t, p->n, &rng) == 0, "region encoder gradient");
    /* geometry of a box */
    float geo[REGION_GEOMETRY], box[4] = {16, 8, 32, 16};
    region_geometry(box, 64, 32, geo);
    CHECK(geo[0] == 0.25f && geo[1] == 0.25f && geo[2] == 0.5f && geo[3] == 0.5f && geo[4] == 0.25f, "geometry");
    free(c.x);
    region_encoder_free(&c.e);
}

/* Tag words packed region by region then [SEP]; padded tags and missing
 * regions masked out of attention: their contents do not reach the text. */
static void test_tags_and_mask(void) {
    Fixture f;
    ModelConfig c = tiny_config(8, 2);
    fixture_init(&f, &c, 3, NULL, NULL, 9, 0.1f);
    forward(&f, ATTN_FULL);
    Vinvl *v = f.model.impl;
    int Tt = v->Tt, Tw = v->Tw;
    CHECK(f.model.n_image_tokens == 3 * 2 + 1 + 3 && f.model.T == Tt + 10, "rows: %d image of %d", f.model.n_image_tokens, f.model.T);
    /* image 11: regions tagged 0 (words 5 6) and 1 (word 7) */
    const int want[] = {5, 6, 7, TOK_WORD_SEP, TOK_WORD_PAD};
    for (int k = 0; k < 5; k++) CHECK(v->ids[Tt + k] == want[k], "tag row %d: %d, want %d", k, v->ids[Tt + k], want[k]);
    CHECK(v->mask[Tt + 3] == 1 && v->mask[Tt + 4] == 0, "tag mask");
    CHECK(v->mask[Tw] == 1 && v->mask[Tw + 1] == 1 && v->mask[Tw + 2] == 0, "region mask of image 11");
    size_t n = n_final(&f);
    float *ref = xmalloc(n * sizeof(float));
    memcpy(ref, f.model.final, n * sizeof(float));
    int row = region_store_find(&v->store, 11);
    for (int k = 0; k < D; k++) v->store.all.feats[((size_t)row * R + 2) * D + k] = 50.0f; /* the unused slot */
    forward(&f, ATTN_FULL);
    double diff = 0;
    for (int t = 0; t < Tt; t++)
        for (int k = 0; k < f.model.d; k++) diff += fabs(ref[t * f.model.d + k] - f.model.final[t * f.model.d + k]);
    CHECK(diff == 0, "a masked region changed the text rows by %g", diff);
    int64_t bad[3] = {11, 99, 12};
    ModelInput in = fixture_input(&f, ATTN_FULL);
    in.image_ids = bad;
    CHECK(model_forward(&f.model, &in) != 0 && strstr(err_msg(), "image 99") && strstr(err_msg(), regions_dir),
          "unknown image: %s", err_msg());
    in.image_ids = NULL;
    CHECK(model_forward(&f.model, &in) != 0 && strstr(err_msg(), "no image ids"), "no ids: %s", err_msg());
    free(ref);
    fixture_free(&f);
}

/* Largest change of sequence b's output rows [lo, hi) against ref. */
static double rows_changed(const Fixture *f, const float *ref, int b, int lo, int hi) {
    size_t C = (size_t)f->model.d, base = (size_t)b * f->model.T * C;
    double d = 0;
    for (size_t i = base + lo * C; i < base + hi * C; i++) d = fmax(d, fabs((double)ref[i] - f->model.final[i]));
    return d;
}

/* The seq2seq mask on [CLS] caption [SEP] tags [SEP] regions, two layers (a
 * leak through the tags or regions in layer 1 would reach the caption in
 * layer 2): changing caption token 2 changes caption rows 2.. and leaves
 * rows 0..1, every tag and region row and the other sequences unchanged;
 * with full attention it reaches the tags (the check can fail); changing a
 * region reaches every caption row. */
static void test_seq2seq_mask(void) {
    Fixture f;
    ModelConfig c = tiny_config(8, 2);
    fixture_init(&f, &c, 3, NULL, NULL, 9, 0.3f);
    Vinvl *v = f.model.impl;
    int Tt = v->Tt, T = f.model.T;
    const int caption[] = {TOK_WORD_CLS, 5, 7, 8, TOK_WORD_SEP};
    for (int t = 0; t < Tt; t++) f.ids[t] = caption[t], f.mask[t] = 1;
    size_t n = n_final(&f);
    float *ref = xmalloc(n * sizeof(float)), *ref_full = xmalloc(n * sizeof(float));
    forward(&f, ATTN_CAUSAL_TEXT);
    memcpy(ref, f.model.final, n * sizeof(float));
    forward(&f, ATTN_FULL);
    memcpy(ref_full, f.model.final, n * sizeof(float));
    f.ids[2] = 9;
    forward(&f, ATTN_CAUSAL_TEXT);
    double early = rows_changed(&f, ref, 0, 0, 2), at = rows_changed(&f, ref, 0, 2, Tt);
    double image = rows_changed(&f, ref, 0, Tt, T), others = rows_changed(&f, ref, 1, 0, T) + rows_changed(&f, ref, 2, 0, T);
    CHECK(early == 0, "caption rows 0..1 change by %g when token 2 changes", early);
    CHECK(image == 0, "tag and region rows change by %g when caption token 2 changes", image);
    CHECK(others == 0, "other sequences change by %g", others);
    CHECK(at > 1e-4, "caption rows 2.. do not see token 2 (change %g)", at);
    forward(&f, ATTN_FULL);
    double full = rows_changed(&f, ref_full, 0, Tt, T);
    CHECK(full > 1e-4, "with full attention the tags and regions do not see the caption either (change %g)", full);
    /* a region of image 11 (sequence 0), through tags and regions to the caption */
    f.ids[2] = 7;
    int row = region_store_find(&v->store, 11);
    for (int k = 0; k < D; k++) v->store.all.feats[(size_t)row * R * D + k] += 1.0f;
    forward(&f, ATTN_CAUSAL_TEXT);
    for (int t = 0; t < Tt; t++) CHECK(rows_changed(&f, ref, 0, t, t + 1) > 1e-4, "caption row %d does not see the regions", t);
    for (int k = 0; k < D; k++) v->store.all.feats[(size_t)row * R * D + k] -= 1.0f;
    free(ref), free(ref_full);
    fixture_free(&f);
}

static void perturb(Model *m, const char *prefix, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->params.n; i++)
        if (!strncmp(m->params.info[i].name, prefix, strlen(prefix))) {
            float *x = params_data(&m->params, i);
            for (size_t k = 0; k < m->params.info[i].size; k++) x[k] += 0.1f * rng_normal(&rng);
        }
}


static void test_lora_merge(void) {
    Fixture f;
    MethodOptions o = method_options_default();
    o.rank = 2, o.alpha = 4.0f;
    if (backbone_targets_parse("all", &o.targets) != 0) die("targets");
    ModelConfig c = tiny_config(16, 2);
    fixture_init(&f, &c, 2, "lora", &o, 11, 0.0f);
    perturb(&f.model, "transformer.blocks.0.mlp.fc1.lora", 12);
    perturb(&f.model, "transformer.blocks.1.attn.v.lora", 14);
    check_lora_fold(&f, ATTN_CAUSAL_TEXT);
    fixture_free(&f);
}

/* MoIL's folded student on q, k, v equals the direct formula
 * W_hat = (W0 + B_l A_l)(I + B_a A_a), b_hat = (W0 + B_l A_l)(B_a a_A + b_B) + b0
 * written into the online weights. */
static void test_moil_merge(void) {
    Fixture f;
    MethodOptions o = method_options_default();
    o.rank_lora = o.rank_adapter = 2;
    ModelConfig c = tiny_config(16, 2);
    fixture_init(&f, &c, 2, "moil", &o, 15, 0.0f);
    perturb(&f.model, "transformer.blocks.0.attn.", 16);
    perturb(&f.model, "transformer.blocks.1.attn.", 17);
    check_moil_fold(&f, 2, ATTN_CAUSAL_TEXT);
    fixture_free(&f);
}

static void test_config_json(void) {
    ModelConfig c = tiny_config(16, 2), back;
    json_t *j = model_config_to_json(&c);
    CHECK(model_config_from_json(&back, j, "test") == 0, "%s", err_msg());
    CHECK(!memcmp(vinvl_regions(&back), vinvl_regions(&c), sizeof(RegionConfig)), "regions config round trip");
    json_object_del(j, "regions");
    CHECK(model_config_from_json(&back, j, "cfg.json") != 0 && strstr(err_msg(), "'regions'"), "missing: %s", err_msg());
    json_decref(j);
    /* prepare: class names through a vocabulary */
    Tokenizer tok;
    char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nshirt\nbag\nankle\nboot\n";
    CHECK(tokenizer_parse(&tok, TOKENIZER_WORD, vocab, "vocab") == 0, "%s", err_msg());
    ModelConfig p;
    model_config_default(&p, "vinvl", tok.n);
    RegionConfig *rc = vinvl_regions(&p);
    snprintf(rc->dir, sizeof rc->dir, "%s", regions_dir);
    CHECK(model_config_prepare(&p, "unused", &tok) == 0, "%s", err_msg());
    CHECK(rc->n_classes == 3 && rc->tag_len == 2 && rc->max_regions == R && rc->dim == D,
          "prepared: %d classes, %d words", rc->n_classes, rc->tag_len);
    CHECK(rc->tag_words[2][0] == 7 && rc->tag_words[2][1] == 8 && rc->tag_words[1][1] == TOK_WORD_PAD,
          "ankle boot -> %d %d", rc->tag_words[2][0], rc->tag_words[2][1]);
    tokenizer_free(&tok);
}

/* A tiny dataset: sets pretrain, train, val of 2 images, 32 x 32, with
 * 1 or 2 coloured boxes of categories 1 and 2. */
static void write_dataset(const char *root) {
    if (data_layout_make_folders(root) != 0) die("%s", err_msg());
    GenWriter w;
    gen_writer_init(&w, root);
    const char *sets[] = {"pretrain", "train", "val"};
    unsigned char px[32 * 32 * 3];
    for (int s = 0; s < 3; s++) {
        json_t *images = json_array(), *anns = json_array();
        for (int i = 0; i < 2; i++) {
            int id = 100 * (s + 1) + i;
            char file[64], rel[LAYOUT_PATH_MAX];
            snprintf(file, sizeof file, "%s_%d.jpg", sets[s], id);
            memset(px, 20, sizeof px);
            for (int y = 4; y < 16; y++)
                for (int x = 4; x < 16; x++) px[(y * 32 + x) * 3 + i] = 230;
            if (gen_write_jpeg(&w, data_layout_image(rel, NULL, file), px, 32, 90) != 0) die("%s", err_msg());
            json_array_append_new(images, json_pack("{s:i, s:s, s:i, s:i}", "id", id, "file_name", file, "width", 32, "height", 32));
            json_array_append_new(anns, json_pack("{s:i, s:i, s:i, s:[i,i,i,i]}", "id", 10 * id, "image_id", id,
                                                  "category_id", 1 + i, "bbox", 4, 4, 12, 12));
            if (i == 1)
                json_array_append_new(anns, json_pack("{s:i, s:i, s:i, s:[i,i,i,i]}", "id", 10 * id + 1, "image_id", id,
                                                      "category_id", 1, "bbox", 16, 16, 16, 8));
        }
        json_t *root_j = json_pack("{s:o, s:o, s:[{s:i, s:s}, {s:i, s:s}]}", "images", images, "annotations", anns,
                                   "categories", "id", 1, "name", "shirt", "id", 2, "name", "bag");
        char rel[LAYOUT_PATH_MAX];
        if (gen_write_json(&w, data_layout_instances(rel, NULL, sets[s]), root_j, 0) != 0) die("%s", err_msg()); /* takes root_j */
    }
    gen_writer_free(&w);
}

static void test_regions_command(void) {
    char data[300], out[8192], path[400];
    snprintf(data, sizeof data, "%s/data", dir);
    write_dataset(data);
    int rc = proc_moil(out, sizeof out, "regions train --data %s --steps 5 --batch 4 --crop 12 --feat 6 --quiet", data);
    CHECK(rc == 0 && strstr(out, "tagger_acc_val=") && strstr(out, "max_regions=2") && strstr(out, "dim=11"),
          "exit %d: %s", rc, out);
    RegionStore s;
    snprintf(path, sizeof path, "%s/regions", data);
    CHECK(region_store_load(&s, path) == 0, "%s", err_msg());
    if (s.all.n_images == 6) {
        int row = region_store_find(&s, 201);
        CHECK(row >= 0 && s.all.n_regions[row] == 2, "image 201: row %d", row);
        const float *g = s.all.feats + ((size_t)row * 2 + 1) * 11 + 6; /* second box's geometry */
        CHECK(g[0] == 0.5f && g[1] == 0.5f && g[2] == 0.5f && g[3] == 0.25f && g[4] == 0.125f, "geometry %g %g %g %g %g",
              g[0], g[1], g[2], g[3], g[4]);
        int finite = 1;
        for (size_t k = 0; k < (size_t)6 * 2 * 11; k++) finite &= isfinite(s.all.feats[k]) != 0;
        CHECK(finite, "non-finite features");
        CHECK(s.all.tags[row * 2] >= 0 && s.all.tags[row * 2] < 2 && s.n_classes == 2, "tags");
    } else {
        CHECK(0, "%d images cached, want 6", s.all.n_images);
    }
    region_store_free(&s);
    rc = proc_moil(out, sizeof out, "regions train --data %s --steps 5 --batch 4 --crop 12 --feat 6 --quiet", data);
    CHECK(rc == 0 && strstr(out, "skipped=1"), "second run not skipped: %s", out);
    /* a corrupt cache: a clear error naming the file */
    snprintf(path, sizeof path, "%s/regions/val.bin", data);
    CHECK(truncate(path, 40) == 0, "truncate");
    snprintf(path, sizeof path, "%s/regions", data);
    CHECK(region_store_load(&s, path) != 0 && strstr(err_msg(), "val.bin") && strstr(err_msg(), "expected"),
          "corrupt cache: %s", err_msg());
    rc = proc_moil(out, sizeof out, "regions train --data %s --steps 5 --batch 4 --crop 12 --feat 6 --quiet", data);
    CHECK(rc == 0 && !strstr(out, "skipped=1") && region_store_load(&s, path) == 0, "not rebuilt: %s", out);
    region_store_free(&s);
    rc = proc_moil(out, sizeof out, "regions train --data %s/nowhere --quiet", dir);
    CHECK(rc == 1 && strstr(out, "instances_pretrain.json"), "missing data: exit %d: %s", rc, out);
}

int main(void) {
    if (!mkdtemp(dir)) die("mkdtemp %s failed", dir);
    snprintf(regions_dir, sizeof regions_dir, "%s/regions", dir);
    write_regions(regions_dir);
    RUN(test_region_encoder_gradient);
    RUN(test_whole_model_gradient);
    RUN(test_tags_and_mask);
    RUN(test_seq2seq_mask);
    RUN(test_lora_merge);
    RUN(test_moil_merge);
    RUN(test_config_json);
    RUN(test_regions_command);
    rm_tree(dir);
    return TEST_DONE();
}
