/* The VLMo-style model (engine/models/model_vlmo.c) through the Model interface:
 * whole-model gradient check of a fusion and a unimodal pass, expert routing
 * by modality and attention mode, the backbone view, the prompt method
 * refused, LoRA and MoIL folding on it, the model config's JSON and a
 * checkpoint round trip. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "io_checkpoint.h"
#include "method.h"
#include "model.h"
#include "model_vlmo.h"
#include "ops.h"
#include "test.h"

#define N_CLS 3
#include "model_checks.h"

static ModelConfig tiny_config(int d, int layers, int fusion) {
    ModelConfig c;
    if (model_config_default(&c, "vlmo", 11) != 0) die("%s", err_msg());
    c.dims.d = d, c.dims.layers = layers, c.dims.heads = 2, c.dims.mlp_ratio = 2, c.dims.patch = 4;
    c.dims.image_size = 8, c.dims.max_text = 5;
    vlmo_config(&c)->fusion_layers = fusion;
    return c;
}

static void fixture_init(Fixture *f, const ModelConfig *c, int B, const char *method, const MethodOptions *opt,
                         uint64_t seed, float spread) {
    FixtureSpec s = {N_CLS, method, opt, spread, ~0u, ATTN_SEPARATE, 0, 0, FIXTURE_DRAWS_OWN_WEIGHTS};
    fixture_init_spec(f, c, B, seed, &s);
}

static void test_whole_model_gradient(void) {
    Fixture f;
    ModelConfig c = tiny_config(8, 2, 1);
    fixture_init(&f, &c, 3, NULL, NULL, 7, 0.3f);
    Params *p = &f.model.params;
    int experts = 0;
    for (int i = 0; i < p->n; i++) experts += strstr(p->info[i].name, ".mlp_") != NULL;
    CHECK(experts == 2 * (2 + 3) * 2, "%d expert tensors (want fc1/fc2 weight+bias of 2 + 3 experts)", experts);
    /* every expert is reached by one of the two passes */
    check_whole_model_gradient(&f, "vlmo");
    /* in training mode, dropout 0.3 with masks fixed per pass (tests/model_fixture.h): the masks follow the rows grouped by expert */
    f.dropout = 0.3f;
    check_whole_model_gradient(&f, "vlmo+dropout");
    fixture_free(&f);
}

/* Adds noise to every tensor whose name starts with prefix. */
static void perturb(Model *m, const char *prefix, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    int hit = 0;
    for (int i = 0; i < m->params.n; i++) {
        if (strncmp(m->params.info[i].name, prefix, strlen(prefix)) != 0) continue;
        rng_fill_normal(&rng, params_data(&m->params, i), (long)m->params.info[i].size, 0.5f);
        hit++;
    }
    if (!hit) die("no tensor named %s*", prefix);
}

/* How many of the B*T rows of final differ from ref (bitwise), split into
 * text rows and the rest. */
static void rows_changed(const Fixture *f, const float *ref, int *text, int *rest) {
    int T = f->model.T, Tt = f->model.Tt, C = f->model.d;
    *text = *rest = 0;
    for (int r = 0; r < f->B * T; r++) {
        int diff = memcmp(ref + (size_t)r * C, f->model.final + (size_t)r * C, sizeof(float) * C) != 0;
        if (r % T < Tt) *text += diff;
        else *rest += diff;
    }
}

/* One case: perturb the tensors under prefix, run a pass in mode, count
 * the changed text / other rows against the unperturbed pass. */
static void route_case(const char *prefix, AttnMode mode, int want_text, int want_rest) {
    Fixture f;
    ModelConfig c = tiny_config(16, 3, 1);
    fixture_init(&f, &c, 2, NULL, NULL, 5, 0.1f);
    float *ref = final_of(&f, mode);
    perturb(&f.model, prefix, 6);
    forward(&f, mode);
    int text, rest;
    rows_changed(&f, ref, &text, &rest);
    const char *mn = mode == ATTN_SEPARATE ? "separate" : "full";
    printf("  %s, %s pass: %d text rows, %d other rows changed\n", prefix, mn, text, rest);
    CHECK(want_text ? text > 0 : text == 0, "%s (%s pass): %d text rows changed", prefix, mn, text);
    CHECK(want_rest ? rest > 0 : rest == 0, "%s (%s pass): %d image rows changed", prefix, mn, rest);
    free(ref);
    fixture_free(&f);
}

static void test_routing(void) {
    /* unimodal pass: each modality only ever meets its own expert */
    route_case("transformer.blocks.0.mlp_imag", ATTN_SEPARATE, 0, 1);
    route_case("transformer.blocks.0.norm2_imag", ATTN_SEPARATE, 0, 1);
    route_case("transformer.blocks.0.mlp_text", ATTN_SEPARATE, 1, 0);
    route_case("transformer.blocks.2.mlp_text", ATTN_SEPARATE, 1, 0);
    route_case("transformer.blocks.2.mlp_imag", ATTN_SEPARATE, 0, 1);
    route_case("transformer.blocks.2.mlp_vl", ATTN_SEPARATE, 0, 0);
    /* fusion pass: bottom experts reach every row through attention; the
     * top layer uses the vision-language expert only */
    route_case("transformer.blocks.0.mlp_imag", ATTN_FULL, 1, 1);
    route_case("transformer.blocks.1.mlp_text", ATTN_FULL, 1, 1);
    route_case("transformer.blocks.2.mlp_text", ATTN_FULL, 0, 0);
    route_case("transformer.blocks.2.mlp_imag", ATTN_FULL, 0, 0);
    route_case("transformer.blocks.2.norm2_vl", ATTN_FULL, 1, 1);
    route_case("transformer.blocks.2.mlp_vl", ATTN_FULL, 1, 1);
    /* shared attention: used by both passes */
    route_case("transformer.blocks.2.attn.q", ATTN_SEPARATE, 1, 1);
}

/* The unimodal pass is a dual encoder: text rows ignore the image. */
static void test_dual_encoder(void) {
    Fixture f;
    ModelConfig c = tiny_config(16, 3, 1);
    fixture_init(&f, &c, 2, NULL, NULL, 8, 0.1f);
    float *ref = final_of(&f, ATTN_SEPARATE);
    for (int i = 0; i < 3 * f.model.image_size * f.model.image_size; i++) f.images[i] = -f.images[i];
    forward(&f, ATTN_SEPARATE);
    int text, rest;
    rows_changed(&f, ref, &text, &rest);
    CHECK(text == 0 && rest > 0, "new image: %d text rows, %d image rows changed (want 0, > 0)", text, rest);
    free(ref);
    fixture_free(&f);
}

static void test_backbone_view(void) {
    Fixture f;
    ModelConfig c = tiny_config(16, 3, 2);
    fixture_init(&f, &c, 2, NULL, NULL, 9, 0.0f);
    const Backbone *bb = &f.model.bb;
    CHECK(!strcmp(bb->model_name, "vlmo") && bb->layers == 3 && bb->d == 16, "view %s, %d layers, d %d",
          bb->model_name, bb->layers, bb->d);
    static const char *const want[3] = {"mlp_text", "mlp_vl", "mlp_vl"};
    for (int l = 0; l < 3; l++) {
        char name[PARAM_NAME_MAX];
        snprintf(name, sizeof name, "transformer.blocks.%d.%s.fc1.weight", l, want[l]);
        CHECK(backbone_linear(bb, l, LIN_FC1)->w == params_find(&f.model.params, name), "layer %d fc1 is not %s", l,
              name);
        snprintf(name, sizeof name, "transformer.blocks.%d.attn.v.weight", l);
        CHECK(backbone_linear(bb, l, LIN_V)->w == params_find(&f.model.params, name), "layer %d v is not %s", l, name);
    }
    fixture_free(&f);
}

/* Deep prompts are the vilt model's: the prompt method is refused with an
 * error naming the model. */
static void test_no_deep_prompts(void) {
    ModelConfig c = tiny_config(16, 2, 1);
    Model m;
    Method meth;
    MethodOptions o = method_options_default();
    CHECK(model_create(&m, &c) == 0 && method_create(&meth, "prompt", &o) == 0, "%s", err_msg());
    CHECK(meth.ops->add_params(&meth, &m.bb, &m.params) != 0 && strstr(err_msg(), "vlmo model has no deep prompts"),
          "prompt on vlmo: %s", err_msg());
    method_destroy(&meth);
    model_free(&m);
}

/* LoRA on every view linear (shared attention, vision-language and text
 * experts): merged = hooked. */
static void test_lora_merge(void) {
    Fixture f;
    MethodOptions o = method_options_default();
    o.rank = 2, o.alpha = 4.0f;
    if (backbone_targets_parse("all", &o.targets) != 0) die("targets");
    ModelConfig c = tiny_config(16, 2, 1);
    fixture_init(&f, &c, 2, "lora", &o, 11, 0.0f);
    perturb(&f.model, "transformer.blocks.0.mlp_text.fc1.lora", 12);
    perturb(&f.model, "transformer.blocks.1.mlp_vl.fc2.lora", 13);
    perturb(&f.model, "transformer.blocks.1.attn.v.lora", 14);
    check_lora_fold(&f, ATTN_FULL);
    fixture_free(&f);
}

/* MoIL's folded student on the shared q, k, v equals the direct formula
 * W_hat = (W0 + B_l A_l)(I + B_a A_a), b_hat = (W0 + B_l A_l)(B_a a_A + b_B) + b0
 * written into the online weights. */
static void test_moil_merge(void) {
    Fixture f;
    MethodOptions o = method_options_default();
    o.rank_lora = o.rank_adapter = 2;
    ModelConfig c = tiny_config(16, 2, 1);
    fixture_init(&f, &c, 2, "moil", &o, 15, 0.0f);
    for (int l = 0; l < 2; l++) {
        char pre[64];
        snprintf(pre, sizeof pre, "transformer.blocks.%d.attn.", l);
        perturb(&f.model, pre, 16 + l); /* the online teacher and the student's factors */
    }
    check_moil_fold(&f, 2, ATTN_FULL);
    fixture_free(&f);
}

/* Config JSON (fusion_layers optional: a vilt config still parses) and a
 * checkpoint round trip: same outputs, bitwise. */
static void test_checkpoint_round_trip(void) {
    ModelConfig c = tiny_config(16, 3, 2), back;
    json_t *j = model_config_to_json(&c);
    CHECK(model_config_from_json(&back, j, "test") == 0, "%s", err_msg());
    CHECK(vlmo_config(&back)->fusion_layers == 2 && !strcmp(back.kind, "vlmo") && back.dims.layers == 3,
          "round trip: %s, %d fusion", back.kind, vlmo_config(&back)->fusion_layers);
    json_object_del(j, "fusion_layers");
    CHECK(model_config_from_json(&back, j, "test") == 0 && vlmo_config(&back)->fusion_layers == VLMO_FUSION_LAYERS,
          "no key: %d fusion layers", vlmo_config(&back)->fusion_layers);
    json_object_set_new(j, "fusion_layers", json_integer(4));
    CHECK(model_config_from_json(&back, j, "test") != 0 && strstr(err_msg(), "fusion_layers"), "4 of 3 layers: %s",
          err_msg());
    json_object_set_new(j, "kind", json_string("vilt"));
    json_object_del(j, "fusion_layers");
    CHECK(model_config_from_json(&back, j, "test") == 0 && !strcmp(back.kind, "vilt"), "vilt config: %s", err_msg());
    json_decref(j);
    j = model_config_to_json(&back);
    CHECK(j && !json_object_get(j, "fusion_layers"), "a vilt config wrote fusion_layers");
    json_decref(j);

    Fixture a, b;
    fixture_init(&a, &c, 2, NULL, NULL, 31, 0.1f);
    fixture_init(&b, &c, 2, NULL, NULL, 31, 0.1f); /* same inputs */
    perturb(&b.model, "transformer.blocks.", 33);   /* other weights */
    size_t n = n_final(&a);
    forward(&a, ATTN_FULL);
    forward(&b, ATTN_FULL);
    CHECK(memcmp(a.model.final, b.model.final, n * sizeof(float)) != 0, "the two models agree before loading");
    const char *path = "/tmp/moil_test_vlmo.safetensors";
    CHECK(checkpoint_save(path, &a.model.params, 1u << PARAM_GROUP_BACKBONE, NULL, 0) == 0, "%s", err_msg());
    CHECK(checkpoint_load(path, &b.model.params, 1u << PARAM_GROUP_BACKBONE, 0, NULL) == 0, "%s", err_msg());
    remove(path);
    for (int mode = ATTN_FULL; mode <= ATTN_SEPARATE; mode++) {
        forward(&a, mode);
        forward(&b, mode);
        CHECK(memcmp(a.model.final, b.model.final, n * sizeof(float)) == 0, "mode %d: loaded model differs", mode);
    }
    fixture_free(&a);
    fixture_free(&b);
}

int main(void) {
    openblas_set_num_threads(1);
    RUN(test_whole_model_gradient);
    RUN(test_routing);
    RUN(test_dual_encoder);
    RUN(test_backbone_view);
    RUN(test_no_deep_prompts);
    RUN(test_lora_merge);
    RUN(test_moil_merge);
    RUN(test_checkpoint_round_trip);
    return TEST_DONE();
}
