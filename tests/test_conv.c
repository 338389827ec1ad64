/* Convolution op and the conv stem: forward against a direct loop,
 * backward against finite differences; the whole ViLT model with the conv
 * stem passes the gradient check too. */
#include <cblas.h>
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "model_vilt.h"
#include "nn_conv_stem.h"
#include "op_conv.h"
#include "ops.h"
#include "test.h"

static Rng rng;

typedef struct {
    ConvShape s;
    float *inp, *W, *b, *out, *cols, *r, *dinp, *dW, *db, *dcols;
    size_t n_in, n_w, n_out;
} ConvCase;

static double conv_loss(void *p) {
    ConvCase *c = p;
    conv_forward(c->out, c->cols, c->inp, c->W, c->b, &c->s);
    return gradcheck_dot(c->out, c->r, c->n_out);
}

static void conv_grad(void *p) {
    ConvCase *c = p;
    memset(c->dinp, 0, c->n_in * sizeof(float));
    memset(c->dW, 0, c->n_w * sizeof(float));
    memset(c->db, 0, c->s.Cout * sizeof(float));
    conv_loss(c);
    conv_backward(c->dinp, c->dW, c->db, c->dcols, c->r, c->cols, c->W, &c->s);
}

static void test_conv_forward_and_gradient(void) {
    ConvCase c = {.s = {2, 3, 7, 7, 4, 3, 2, 1}};
    int ho = conv_out_size(7, 3, 2, 1);
    c.n_in = 2 * 3 * 49, c.n_w = 4 * 27, c.n_out = (size_t)2 * 4 * ho * ho;
    c.inp = xmalloc(c.n_in * 4), c.W = xmalloc(c.n_w * 4), c.b = xmalloc(16), c.out = xmalloc(c.n_out * 4);
    c.cols = xmalloc((size_t)2 * 27 * ho * ho * 4), c.r = xmalloc(c.n_out * 4), c.dinp = xmalloc(c.n_in * 4);
    c.dW = xmalloc(c.n_w * 4), c.db = xmalloc(16), c.dcols = xmalloc((size_t)27 * ho * ho * 4);
    rng_fill_normal(&rng, c.inp, (long)c.n_in, 1), rng_fill_normal(&rng, c.W, (long)c.n_w, 1);
    rng_fill_normal(&rng, c.b, 4, 1), rng_fill_normal(&rng, c.r, (long)c.n_out, 1);
    conv_loss(&c);
    /* direct loop at one output: image 1, channel 2, position (1, 2) */
    double ref = c.b[2];
    for (int ci = 0; ci < 3; ci++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                int y = 1 * 2 - 1 + ky, x = 2 * 2 - 1 + kx;
                if (y >= 0 && y < 7 && x >= 0 && x < 7)
                    ref += (double)c.W[((2 * 3 + ci) * 3 + ky) * 3 + kx] * c.inp[((1 * 3 + ci) * 7 + y) * 7 + x];
            }
    CHECK_CLOSE(c.out[((1 * 4 + 2) * ho + 1) * ho + 2], ref, 1e-5);
    GcTensor t[] = {{"inp", c.inp, c.dinp, c.n_in}, {"W", c.W, c.dW, c.n_w}, {"b", c.b, c.db, 4}};
    /* linear in each argument: exact up to float rounding */
    GcCase gc = {"conv", 1e-2, 1e-3, 60, conv_loss, conv_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 3, &rng) == 0, "conv gradient");
    free(c.inp), free(c.W), free(c.b), free(c.out), free(c.cols), free(c.r), free(c.dinp), free(c.dW), free(c.db),
        free(c.dcols);
}

/* The whole model with the conv stem: pooled output dotted with r. */
typedef struct {
    Params p;
    Vilt m;
    int ids[2 * 4], mask[2 * 4];
    float *images, *r_final, *r_pool;
} StemCase;

static double stem_loss(void *pp) {
    StemCase *c = pp;
    ModelInput in = {.B = 2, .text_ids = c->ids, .text_mask = c->mask, .images = c->images, .image_type = NULL, .attn_mode = ATTN_FULL};
    if (vilt_forward(&c->m, &in, NULL) != 0) die("%s", err_msg());
    return gradcheck_dot(c->m.act.final, c->r_final, (size_t)2 * c->m.T * c->m.cfg.d) +
           gradcheck_dot(c->m.act.pooled, c->r_pool, (size_t)2 * c->m.cfg.d);
}

static void stem_grad(void *pp) {
    StemCase *c = pp;
    params_zero_grad(&c->p);
    stem_loss(c);
    ModelInput in = {.B = 2, .text_ids = c->ids, .text_mask = c->mask, .images = c->images, .image_type = NULL, .attn_mode = ATTN_FULL};
    vilt_backward(&c->m, &in, c->r_final, c->r_pool);
}

static void test_model_with_conv_stem(void) {
    StemCase c;
    memset(&c, 0, sizeof c);
    ModelDims cfg = {.vocab = 9, .d = 8, .layers = 1, .heads = 2, .mlp_ratio = 2, .patch = 4, .image_size = 8,
                     .max_text = 4, .n_types = 3};
    params_init(&c.p);
    vilt_register(&c.m, &cfg, VILT_STEM_CONV, &c.p);
    params_alloc(&c.p);
    vilt_init_weights(&c.m, &rng);
    vilt_alloc(&c.m, 2);
    CHECK(c.m.P == 4 && c.m.stem.grid == 2, "4 patches from an 8x8 image, grid %d", c.m.stem.grid);
    CHECK(params_find(&c.p, "transformer.patch_embed.stem.1.weight") >= 0, "stem tensors named");
    CHECK(params_find(&c.p, "transformer.patch_embed.proj.weight") < 0, "no linear patch embedding");
    for (int i = 0; i < 8; i++) c.ids[i] = 2 + i % 7, c.mask[i] = i % 4 < 3;
    c.images = xmalloc(2 * 3 * 64 * sizeof(float));
    c.r_final = xmalloc((size_t)2 * c.m.T * 8 * sizeof(float));
    c.r_pool = xmalloc(2 * 8 * sizeof(float));
    rng_fill_uniform(&rng, c.images, 2 * 3 * 64, -1, 1);
    rng_fill_normal(&rng, c.r_final, (long)2 * c.m.T * 8, 0.1f);
    rng_fill_normal(&rng, c.r_pool, 16, 1);
    for (int i = 0; i < c.p.n; i++) {
        float *x = params_data(&c.p, i);
        for (size_t k = 0; k < c.p.info[i].size; k++) x[k] += 0.2f * rng_normal(&rng);
    }
    stem_grad(&c);
    GcTensor *t = xcalloc(c.p.n, sizeof(GcTensor));
    int nt = 0;
    for (int i = 0; i < c.p.n; i++)
        if (strstr(c.p.info[i].name, "stem")) {
            t[nt].name = c.p.info[i].name;
            t[nt].x = params_data(&c.p, i);
            t[nt].grad = c.p.grad + c.p.info[i].offset;
            t[nt].n = c.p.info[i].size;
            nt++;
        }
    /* the stem sits under the whole network (GELUs, LayerNorms, softmax):
     * the same float32 budget as the whole-model check of test_model.c */
    GcCase gc = {"vilt+conv stem", 1e-2, 2e-2, 16, stem_loss, stem_grad, &c, 1e-4};
    CHECK(gradcheck_run(&gc, t, nt, &rng) == 0, "conv stem gradient through the model");
    CHECK(nt == 2 * c.m.stem.n, "%d stem tensors", nt);
    free(t), free(c.images), free(c.r_final), free(c.r_pool);
    vilt_free(&c.m);
    params_free(&c.p);
}

int main(void) {
    openblas_set_num_threads(1);
    rng_seed(&rng, 77);
    RUN(test_conv_forward_and_gradient);
    RUN(test_model_with_conv_stem);
    return TEST_DONE();
}
