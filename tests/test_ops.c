/* Every op: forward against a hand-computed or naive reference, backward
 * against finite differences (tests/gradcheck.h). Tolerances are on the
 * norm-relative error of float32 central differences; each says why. */
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "op_internal.h"
#include "op_reference.h"
#include "ops.h"
#include "test.h"

static Rng rng;

static float *randn(size_t n, float std) {
    float *x = xmalloc(sizeof(float) * n);
    rng_fill_normal(&rng, x, (long)n, std);
    return x;
}

static float *zeros(size_t n) { return xcalloc(n, sizeof(float)); }

static void zero(float *x, size_t n) { memset(x, 0, sizeof(float) * n); }

/* ---- linear ---- */
enum { LN_N = 7, LN_C = 5, LN_OC = 6 };
typedef struct {
    float *inp, *W, *b, *out, *r, *dinp, *dW, *db;
} LinearCase;

static double linear_loss(void *p) {
    LinearCase *c = p;
    linear_forward(c->out, c->inp, c->W, c->b, LN_N, LN_C, LN_OC);
    return gradcheck_dot(c->out, c->r, LN_N * LN_OC);
}

static void linear_grad(void *p) {
    LinearCase *c = p;
    zero(c->dinp, LN_N * LN_C), zero(c->dW, LN_OC * LN_C), zero(c->db, LN_OC);
    linear_backward(c->dinp, c->dW, c->db, c->r, c->inp, c->W, LN_N, LN_C, LN_OC);
}

static void test_linear_matches_naive(void) {
    int N = 37, C = 19, OC = 23;
    float *inp = randn((size_t)N * C, 1), *W = randn((size_t)OC * C, 1), *b = randn(OC, 1);
    float *o1 = zeros((size_t)N * OC), *o2 = zeros((size_t)N * OC), *dout = randn((size_t)N * OC, 1);
    float *g1[3] = {zeros((size_t)N * C), zeros((size_t)OC * C), zeros(OC)};
    float *g2[3] = {zeros((size_t)N * C), zeros((size_t)OC * C), zeros(OC)};
    linear_forward(o1, inp, W, b, N, C, OC);
    linear_forward_naive(o2, inp, W, b, N, C, OC);
    double maxd = 0;
    for (int i = 0; i < N * OC; i++) maxd = fmax(maxd, fabs(o1[i] - o2[i]));
    CHECK(maxd < 1e-4, "forward max diff %g", maxd);
    linear_backward(g1[0], g1[1], g1[2], dout, inp, W, N, C, OC);
    linear_backward_naive(g2[0], g2[1], g2[2], dout, inp, W, N, C, OC);
    size_t sizes[3] = {(size_t)N * C, (size_t)OC * C, OC};
    for (int t = 0; t < 3; t++) {
        maxd = 0;
        for (size_t i = 0; i < sizes[t]; i++) maxd = fmax(maxd, fabs(g1[t][i] - g2[t][i]));
        CHECK(maxd < 1e-4, "backward grad %d max diff %g", t, maxd);
        free(g1[t]), free(g2[t]);
    }
    free(inp), free(W), free(b), free(o1), free(o2), free(dout);
}

static void test_linear_grad(void) {
    LinearCase c = {randn(LN_N * LN_C, 1), randn(LN_OC * LN_C, 1), randn(LN_OC, 1), zeros(LN_N * LN_OC),
                    randn(LN_N * LN_OC, 1), zeros(LN_N * LN_C), zeros(LN_OC * LN_C), zeros(LN_OC)};
    GcTensor t[] = {{"inp", c.inp, c.dinp, LN_N * LN_C}, {"W", c.W, c.dW, LN_OC * LN_C}, {"b", c.b, c.db, LN_OC}};
    /* linear in every input: central differences are exact up to float
     * rounding of the outputs (~1e-7 relative), so a tight tolerance */
    GcCase gc = {"linear", 1e-2, 1e-3, 64, linear_loss, linear_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 3, &rng) == 0, "linear gradient");
    free(c.inp), free(c.W), free(c.b), free(c.out), free(c.r), free(c.dinp), free(c.dW), free(c.db);
}

/* ---- layernorm ---- */
enum { LY_N = 5, LY_C = 19 }; /* not a multiple of the vector width: covers the tails */
typedef struct {
    float *inp, *w, *b, *out, *mean, *rstd, *r, *dinp, *dw, *db;
} LayerNormCase;

static double layernorm_loss(void *p) {
    LayerNormCase *c = p;
    layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, LY_N, LY_C, 1e-6f);
    return gradcheck_dot(c->out, c->r, LY_N * LY_C);
}

static void layernorm_grad(void *p) {
    LayerNormCase *c = p;
    zero(c->dinp, LY_N * LY_C), zero(c->dw, LY_C), zero(c->db, LY_C);
    layernorm_loss(c);
    layernorm_backward(c->dinp, c->dw, c->db, c->r, c->inp, c->w, c->mean, c->rstd, LY_N, LY_C);
}

static void test_layernorm(void) {
    LayerNormCase c = {randn(LY_N * LY_C, 2), randn(LY_C, 1), randn(LY_C, 1), zeros(LY_N * LY_C), zeros(LY_N),
                       zeros(LY_N), randn(LY_N * LY_C, 1), zeros(LY_N * LY_C), zeros(LY_C), zeros(LY_C)};
    layernorm_loss(&c);
    /* each row of the output, with w = 1 and b = 0, has mean 0 and variance 1 */
    float *ones = zeros(LY_C), *nul = zeros(LY_C), *o = zeros(LY_N * LY_C);
    for (int i = 0; i < LY_C; i++) ones[i] = 1;
    layernorm_forward(o, c.mean, c.rstd, c.inp, ones, nul, LY_N, LY_C, 1e-6f);
    double m = 0, v = 0;
    for (int i = 0; i < LY_C; i++) m += o[i];
    for (int i = 0; i < LY_C; i++) v += (o[i] - m / LY_C) * (o[i] - m / LY_C);
    CHECK(fabs(m / LY_C) < 1e-5 && fabs(v / LY_C - 1) < 1e-4, "normalised row mean %g var %g", m / LY_C, v / LY_C);
    GcTensor t[] = {{"inp", c.inp, c.dinp, LY_N * LY_C}, {"w", c.w, c.dw, LY_C}, {"b", c.b, c.db, LY_C}};
    /* nonlinear in inp (1/std): O(h^2) truncation plus float rounding
     * amplified by 1/h: about 1e-3 relative at h = 1e-2 */
    GcCase gc = {"layernorm", 1e-2, 1e-2, 64, layernorm_loss, layernorm_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 3, &rng) == 0, "layernorm gradient");
    free(ones), free(nul), free(o);
    free(c.inp), free(c.w), free(c.b), free(c.out), free(c.mean), free(c.rstd), free(c.r), free(c.dinp), free(c.dw),
        free(c.db);
}

/* ---- element-wise: gelu, tanh, residual ---- */
enum { EW_N = 40 };
typedef struct {
    float *a, *b, *out, *r, *da, *db;
    int which; /* 0 gelu, 1 tanh, 2 residual */
} ElementwiseCase;

static double elementwise_loss(void *p) {
    ElementwiseCase *c = p;
    if (c->which == 0) gelu_forward(c->out, c->a, EW_N);
    if (c->which == 1) tanh_forward(c->out, c->a, EW_N);
    if (c->which == 2) residual_forward(c->out, c->a, c->b, EW_N);
    return gradcheck_dot(c->out, c->r, EW_N);
}

static void elementwise_grad(void *p) {
    ElementwiseCase *c = p;
    zero(c->da, EW_N), zero(c->db, EW_N);
    elementwise_loss(c);
    if (c->which == 0) gelu_backward(c->da, c->a, c->r, EW_N);
    if (c->which == 1) tanh_backward(c->da, c->out, c->r, EW_N);
    if (c->which == 2) residual_backward(c->da, c->db, c->r, EW_N);
}

static void test_elementwise(void) {
    const char *names[] = {"gelu", "tanh", "residual"};
    for (int w = 0; w < 3; w++) {
        ElementwiseCase c = {randn(EW_N, 1.5), randn(EW_N, 1), zeros(EW_N), randn(EW_N, 1), zeros(EW_N), zeros(EW_N), w};
        GcTensor t[] = {{"a", c.a, c.da, EW_N}, {"b", c.b, c.db, EW_N}};
        /* smooth scalar functions: O(h^2) = 1e-6 truncation; 1e-3 leaves
         * room for float rounding of the outputs */
        GcCase gc = {names[w], 1e-3, 1e-3, EW_N, elementwise_loss, elementwise_grad, &c, 0};
        CHECK(gradcheck_run(&gc, t, w == 2 ? 2 : 1, &rng) == 0, "%s gradient", names[w]);
        free(c.a), free(c.b), free(c.out), free(c.r), free(c.da), free(c.db);
    }
    /* GELU reference values: x Phi(x) */
    float x[3] = {-1.0f, 0.0f, 2.0f}, y[3];
    gelu_forward(y, x, 3);
    CHECK_CLOSE(y[0], -0.15865525393145707, 1e-6);
    CHECK_CLOSE(y[1], 0.0, 1e-7);
    CHECK_CLOSE(y[2], 1.9544997361036416, 1e-6);
}

/* GELU on a dense grid against x Phi(x) and Phi(x) + x phi(x) in double; the
 * length is not a multiple of the vector width, so the tail is covered too. */
static void test_gelu_reference(void) {
    enum { N = 16001 };
    float *x = zeros(N), *y = zeros(N), *g = zeros(N), *ones = zeros(N);
    for (int i = 0; i < N; i++) x[i] = -8.0f + 16.0f * (float)i / (N - 1), ones[i] = 1.0f;
    gelu_forward(y, x, N);
    for (int i = 0; i < N; i++) g[i] = 1.0f; /* backward accumulates onto this */
    gelu_backward(g, x, ones, N);
    double max_y = 0, max_g = 0;
    for (int i = 0; i < N; i++) {
        double xi = x[i], cdf = 0.5 * (1.0 + erf(xi / sqrt(2.0))), pdf = exp(-0.5 * xi * xi) / sqrt(2.0 * M_PI);
        max_y = fmax(max_y, fabs(y[i] - xi * cdf) / fmax(1.0, fabs(xi)));
        max_g = fmax(max_g, fabs((g[i] - 1.0) - (cdf + xi * pdf)));
    }
    /* erf is within 1.3e-7, so x Phi(x) within ~1e-7 |x| plus rounding */
    CHECK(max_y < 4e-7, "gelu forward max error %g (relative to max(1, |x|))", max_y);
    CHECK(max_g < 4e-7, "gelu backward max error %g", max_g);
    float special[4] = {NAN, INFINITY, -0.0f, 0.0f}, out[4];
    gelu_forward(out, special, 4);
    CHECK(isnan(out[0]) && isinf(out[1]) && out[1] > 0 && out[2] == 0.0f && out[3] == 0.0f,
          "gelu(nan, inf, -0, 0) = %g %g %g %g", out[0], out[1], out[2], out[3]);
    free(x), free(y), free(g), free(ones);
}

/* The vector exp and erf of op_internal.h against libm in double, over dense grids. */
static void test_vec_math(void) {
    double max_erf = 0, erf_at = 0, max_exp = 0, exp_at = 0;
    for (long i = -600000; i <= 600000; i += VEC_LANES) { /* erf on [-6, 6], step 1e-5 */
        vecf u;
        for (int l = 0; l < VEC_LANES; l++) u[l] = (float)((double)(i + l) * 1e-5);
        vecf e = vec_erf(u, vec_exp(-(u * u)));
        for (int l = 0; l < VEC_LANES; l++) {
            double d = fabs(e[l] - erf((double)u[l]));
            if (d > max_erf) max_erf = d, erf_at = u[l];
        }
    }
    CHECK(max_erf <= 2e-7, "erf max abs error %g at %g", max_erf, erf_at);
    for (long i = -870000; i <= 880000; i += VEC_LANES) { /* exp on [-87, 88], step 1e-4 */
        vecf x;
        for (int l = 0; l < VEC_LANES; l++) x[l] = (float)((double)(i + l) * 1e-4);
        vecf e = vec_exp(x);
        for (int l = 0; l < VEC_LANES; l++) {
            double ref = exp((double)x[l]), d = fabs(e[l] - ref) / ref;
            if (d > max_exp) max_exp = d, exp_at = x[l];
        }
    }
    CHECK(max_exp <= 2.5e-7, "exp max relative error %g at %g (2 ulp = 2.4e-7)", max_exp, exp_at);
    /* special values; NaN must stay NaN so that the NaN checks downstream fire */
    const float x[6] = {NAN, INFINITY, -INFINITY, -100.0f, 100.0f, -0.0f};
    const float want_exp[6] = {NAN, INFINITY, 0.0f, 0.0f, INFINITY, 1.0f}, want_erf[6] = {NAN, 1, -1, -1, 1, -0.0f};
    for (int i = 0; i < 6; i++) {
        vecf v = vec_set(x[i]);
        float e = vec_exp(v)[0], f = vec_erf(v, vec_exp(-(v * v)))[0];
        CHECK(isnan(want_exp[i]) ? isnan(e) : e == want_exp[i], "exp(%g) = %g, expected %g", x[i], e, want_exp[i]);
        CHECK(isnan(want_erf[i]) ? isnan(f) : f == want_erf[i] && signbit(f) == signbit(want_erf[i]),
              "erf(%g) = %g, expected %g", x[i], f, want_erf[i]);
    }
}

/* ---- embedding ---- */
enum { EM_N = 9, EM_V = 6, EM_C = 4 };
typedef struct {
    int ids[EM_N];
    float *table, *out, *r, *dtable;
} EmbeddingCase;

static double embedding_loss(void *p) {
    EmbeddingCase *c = p;
    embedding_forward(c->out, c->ids, c->table, EM_N, EM_C);
    return gradcheck_dot(c->out, c->r, EM_N * EM_C);
}

static void embedding_grad(void *p) {
    EmbeddingCase *c = p;
    zero(c->dtable, EM_V * EM_C);
    embedding_backward(c->dtable, c->r, c->ids, EM_N, EM_C);
}

static void test_embedding(void) {
    EmbeddingCase c = {{0, 3, 3, 5, 1, 0, 3, 2, 5}, randn(EM_V * EM_C, 1), zeros(EM_N * EM_C), randn(EM_N * EM_C, 1),
                       zeros(EM_V * EM_C)};
    embedding_loss(&c);
    CHECK(c.out[1 * EM_C + 2] == c.table[3 * EM_C + 2], "row 1 is table row 3");
    GcTensor t[] = {{"table", c.table, c.dtable, EM_V * EM_C}};
    /* a gather: linear, exact up to rounding (repeated ids accumulate) */
    GcCase gc = {"embedding", 1e-2, 1e-4, EM_V * EM_C, embedding_loss, embedding_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 1, &rng) == 0, "embedding gradient");
    free(c.table), free(c.out), free(c.r), free(c.dtable);
}

/* ---- attention ---- */
enum { AT_B = 2, AT_T = 21, AT_C = 8, AT_H = 2 }; /* rows of 21: full vectors and a tail */
typedef struct {
    int mask[AT_B * AT_T];
    float *q, *k, *v, *out, *probs, *r, *dq, *dk, *dv, *scratch;
    int *lanes;
} AttentionCase;

static double attention_loss(void *p) {
    AttentionCase *c = p;
    attention_forward(c->out, c->probs, c->lanes, c->q, c->k, c->v, c->mask, AT_B, AT_T, AT_C, AT_H);
    return gradcheck_dot(c->out, c->r, AT_B * AT_T * AT_C);
}

static void attention_grad(void *p) {
    AttentionCase *c = p;
    size_t n = AT_B * AT_T * AT_C;
    zero(c->dq, n), zero(c->dk, n), zero(c->dv, n);
    attention_loss(c);
    attention_backward(c->dq, c->dk, c->dv, c->scratch, c->r, c->probs, c->q, c->k, c->v, AT_B, AT_T, AT_C, AT_H);
}

static void test_attention(void) {
    size_t n = AT_B * AT_T * AT_C;
    /* the second sequence has its last two tokens padded */
    AttentionCase c = {{0}, randn(n, 1), randn(n, 1), randn(n, 1), zeros(n),
                       zeros(AT_B * AT_H * AT_T * AT_T), randn(n, 1), zeros(n), zeros(n), zeros(n), zeros(AT_T * AT_T),
                       xcalloc(attention_lanes(AT_T), sizeof(int))};
    for (int i = 0; i < AT_B * AT_T; i++) c.mask[i] = i < 2 * AT_T - 2;
    attention_loss(&c);
    /* masked keys get probability exactly 0; each row sums to 1 */
    const float *P = c.probs + (size_t)(1 * AT_H + 1) * AT_T * AT_T;
    double rowsum = 0;
    for (int j = 0; j < AT_T; j++) rowsum += P[j];
    CHECK(P[AT_T - 2] == 0.0f && P[AT_T - 1] == 0.0f, "masked probs %g %g", P[AT_T - 2], P[AT_T - 1]);
    CHECK_CLOSE(rowsum, 1.0, 1e-6);
    /* changing a padded key or value does not change any output */
    float before = c.out[AT_T * AT_C + 3];
    c.v[(2 * AT_T - 1) * AT_C + 3] += 5.0f, c.k[(2 * AT_T - 1) * AT_C + 1] += 5.0f;
    attention_loss(&c);
    CHECK(c.out[AT_T * AT_C + 3] == before, "padded key leaked: %g vs %g", c.out[AT_T * AT_C + 3], before);
    GcTensor t[] = {{"q", c.q, c.dq, n}, {"k", c.k, c.dk, n}, {"v", c.v, c.dv, n}};
    /* softmax of products: smooth, O(h^2) truncation at h = 1e-2 plus
     * float rounding; 1e-2 relative */
    GcCase gc = {"attention", 1e-2, 1e-2, 80, attention_loss, attention_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 3, &rng) == 0, "attention gradient");
    /* padded keys and values receive exactly zero gradient */
    CHECK(c.dv[(2 * AT_T - 1) * AT_C] == 0.0f && c.dk[(2 * AT_T - 2) * AT_C + 2] == 0.0f, "padding gets gradient");
    free(c.q), free(c.k), free(c.v), free(c.out), free(c.probs), free(c.r), free(c.dq), free(c.dk), free(c.dv),
        free(c.scratch), free(c.lanes);
}

/* ---- losses ---- */
enum { CE_N = 4, CE_V = 5 };
typedef struct {
    int targets[CE_N];
    float *logits, *probs, *dlogits, *soft;
    int bce;
} LossCase;

static double loss_loss(void *p) {
    LossCase *c = p;
    if (c->bce) return bce_forward(c->logits, c->soft, CE_N * CE_V, (float)CE_V);
    return crossentropy_forward(c->probs, c->logits, c->targets, CE_N, CE_V, -100, NULL);
}

static void loss_grad(void *p) {
    LossCase *c = p;
    zero(c->dlogits, CE_N * CE_V);
    if (c->bce) {
        bce_backward(c->dlogits, c->logits, c->soft, CE_N * CE_V, (float)CE_V);
        return;
    }
    int count;
    crossentropy_forward(c->probs, c->logits, c->targets, CE_N, CE_V, -100, &count);
    crossentropy_backward(c->dlogits, c->probs, c->targets, CE_N, CE_V, -100, count, 1.0f);
}

static void test_losses(void) {
    for (int bce = 0; bce < 2; bce++) {
        LossCase c = {{2, -100, 0, 4}, randn(CE_N * CE_V, 2), zeros(CE_N * CE_V), zeros(CE_N * CE_V),
                      zeros(CE_N * CE_V), bce};
        for (int i = 0; i < CE_N * CE_V; i++) c.soft[i] = (float)(i % 5) * 0.25f;
        GcTensor t[] = {{"logits", c.logits, c.dlogits, CE_N * CE_V}};
        /* the loss is returned as a float: at h = 1e-2 its rounding
         * (~1e-7 / h) and the O(h^2) truncation both stay near 1e-5 */
        GcCase gc = {bce ? "bce" : "crossentropy", 1e-2, 1e-3, CE_N * CE_V, loss_loss, loss_grad, &c, 0};
        CHECK(gradcheck_run(&gc, t, 1, &rng) == 0, "%s gradient", gc.op);
        if (!bce) {
            /* the ignored row gets no gradient */
            double s = 0;
            for (int j = 0; j < CE_V; j++) s += fabs(c.dlogits[CE_V + j]);
            CHECK(s == 0.0, "ignored row has gradient %g", s);
        }
        free(c.logits), free(c.probs), free(c.dlogits), free(c.soft);
    }
    /* hand-computed: logits (0, ln 3) target 1 -> loss ln(4/3);
     * BCE of logit 0 with target 0.3 -> ln 2 (= softplus(0) - 0) */
    float logits[2] = {0.0f, logf(3.0f)}, probs[2];
    int target = 1, count;
    CHECK_CLOSE(crossentropy_forward(probs, logits, &target, 1, 2, -100, &count), log(4.0 / 3.0), 1e-6);
    CHECK(count == 1, "count %d", count);
    float z = 0.0f, t3 = 0.3f;
    CHECK_CLOSE(bce_forward(&z, &t3, 1, 1.0f), log(2.0), 1e-6);
    target = -100;
    CHECK(crossentropy_forward(probs, logits, &target, 1, 2, -100, &count) == 0.0f && count == 0, "all ignored");
}

/* ---- dropout ---- */
enum { DR_N = 37 }; /* odd: covers the last single draw and the tails */
typedef struct {
    float *inp, *mask, *out, *r, *dinp;
    Rng masks; /* every forward starts from this state: one fixed mask */
} DropoutCase;

static double dropout_loss(void *p) {
    DropoutCase *c = p;
    Rng r = c->masks;
    dropout_forward(c->out, c->mask, c->inp, DR_N, 0.3f, &r);
    return gradcheck_dot(c->out, c->r, DR_N);
}

static void dropout_grad(void *p) {
    DropoutCase *c = p;
    zero(c->dinp, DR_N);
    dropout_loss(c);
    dropout_backward(c->dinp, c->r, c->mask, DR_N);
}

static void test_dropout_grad(void) {
    DropoutCase c = {randn(DR_N, 1), zeros(DR_N), zeros(DR_N), randn(DR_N, 1), zeros(DR_N), rng};
    dropout_loss(&c);
    int dropped = 0;
    for (int i = 0; i < DR_N; i++) dropped += c.mask[i] == 0.0f;
    CHECK(dropped > 0 && dropped < DR_N, "%d of %d dropped: the check needs both kinds", dropped, DR_N);
    GcTensor t[] = {{"inp", c.inp, c.dinp, DR_N}};
    /* linear in inp for a fixed mask: exact up to float rounding, as linear's */
    GcCase gc = {"dropout", 1e-2, 1e-3, DR_N, dropout_loss, dropout_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 1, &rng) == 0, "dropout gradient");
    free(c.inp), free(c.mask), free(c.out), free(c.r), free(c.dinp);
}

/* Training-mode dropout drops about p of the entries and scales the rest by
 * 1/(1-p), by the mask it stores; the same generator state draws the same
 * mask; in place or not, the same output. */
static void test_dropout_mask(void) {
    size_t n = 100001; /* full blocks of draws and an odd tail */
    float p = 0.1f, *mask = zeros(n), *again = zeros(n), *x = randn(n, 1), *y = zeros(n);
    Rng r0;
    rng_seed(&r0, 5);
    Rng r1 = r0;
    dropout_forward(y, mask, x, n, p, &r0);
    size_t dropped = 0, other = 0, wrong = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == 0.0f) dropped++;
        else if (mask[i] != 1.0f / (1.0f - p)) other++;
        wrong += y[i] != (mask[i] == 0.0f ? 0.0f : x[i] * (1.0f / (1.0f - p)));
    }
    /* binomial(n, 0.1): sd = sqrt(n p (1-p)) ~ 95, so 5 sd is ~475 */
    double expect = (double)n * p, sd = sqrt((double)n * p * (1 - p));
    CHECK(fabs((double)dropped - expect) < 5 * sd, "%zu dropped of %zu, expected %.0f +- %.0f", dropped, n, expect, sd);
    CHECK(other == 0, "%zu kept entries not scaled by 1/(1-p)", other);
    CHECK(wrong == 0, "%zu outputs are not 0 or x / (1 - p)", wrong);
    dropout_forward(x, again, x, n, p, &r1); /* in place, from the same state */
    CHECK(memcmp(mask, again, n * sizeof(float)) == 0, "same generator state, different masks");
    CHECK(memcmp(x, y, n * sizeof(float)) == 0, "in-place forward differs");
    /* the mask's definition, from one rng_next per two elements: element i
     * is dropped when half i % 2 (low, high) of draw i / 2 is below p 2^32 */
    Rng r2;
    rng_seed(&r2, 5);
    size_t off = 0;
    uint32_t below = (uint32_t)ldexp(p, 32);
    for (size_t i = 0; i < n; i += 2) {
        uint64_t d = rng_next(&r2);
        for (size_t h = 0; h < 2 && i + h < n; h++) off += (mask[i + h] == 0.0f) != ((uint32_t)(d >> (32 * h)) < below);
    }
    CHECK(off == 0 && r2.state == r1.state, "%zu entries differ from the definition", off);
    /* rng_next_n: the same numbers as calls of rng_next, the same state after */
    uint64_t block[37];
    Rng a, b;
    rng_seed(&a, 9);
    b = a;
    rng_next_n(&a, block, 37);
    int same = 1;
    for (int i = 0; i < 37; i++) same &= block[i] == rng_next(&b);
    CHECK(same && a.state == b.state, "rng_next_n differs from rng_next");
    free(mask), free(again), free(x), free(y);
}

static void test_patchify(void) {
    /* a 4x4 image with patch 2: pixel (ch, y, x) = 100 ch + 10 y + x */
    float img[3 * 16], patches[4 * 12];
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) img[(ch * 4 + y) * 4 + x] = (float)(100 * ch + 10 * y + x);
    patchify_forward(patches, img, 1, 4, 2);
    /* patch 3 = bottom right; its element (ch 1, y 1, x 0) = 100 + 30 + 2 */
    CHECK(patches[3 * 12 + 1 * 4 + 1 * 2 + 0] == 132.0f, "got %g", patches[3 * 12 + 6]);
    CHECK(patches[1 * 12 + 0] == 2.0f, "patch 1 starts at x=2: %g", patches[12]);
}

int main(void) {
    rng_seed(&rng, 1234);
    RUN(test_linear_matches_naive);
    RUN(test_linear_grad);
    RUN(test_layernorm);
    RUN(test_elementwise);
    RUN(test_gelu_reference);
    RUN(test_vec_math);
    RUN(test_embedding);
    RUN(test_attention);
    RUN(test_losses);
    RUN(test_patchify);
    RUN(test_dropout_grad);
    RUN(test_dropout_mask);
    return TEST_DONE();
}
