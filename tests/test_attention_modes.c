/* Attention masks beyond key padding: the unimodal pass (ATTN_SEPARATE) and
 * the seq2seq text mask (ATTN_CAUSAL_TEXT): what each query can see, and
 * finite-difference gradients in both modes. */
#include <cblas.h>
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "ops.h"
#include "test.h"

enum { B = 2, T = 7, C = 8, H = 2, SEG = 4 };
static Rng rng;
static int *lanes; /* attention_lanes(T) */

typedef struct {
    int mask[B * T];
    AttnMode mode;
    float q[B * T * C], k[B * T * C], v[B * T * C], out[B * T * C], probs[B * H * T * T], r[B * T * C];
    float dq[B * T * C], dk[B * T * C], dv[B * T * C], scratch[T * T];
} Case;

static double case_loss(void *p) {
    Case *c = p;
    attention_forward_mode(c->out, c->probs, lanes, c->q, c->k, c->v, c->mask, B, T, C, H, SEG, c->mode);
    return gradcheck_dot(c->out, c->r, B * T * C);
}

static void case_grad(void *p) {
    Case *c = p;
    memset(c->dq, 0, sizeof c->dq), memset(c->dk, 0, sizeof c->dk), memset(c->dv, 0, sizeof c->dv);
    case_loss(c);
    attention_backward(c->dq, c->dk, c->dv, c->scratch, c->r, c->probs, c->q, c->k, c->v, B, T, C, H);
}

static void case_init(Case *c, AttnMode mode) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < B * T; i++) c->mask[i] = !(i / T == 1 && i % T == 3); /* second sequence: text pad at 3 */
    c->mode = mode;
    rng_fill_normal(&rng, c->q, B * T * C, 1), rng_fill_normal(&rng, c->k, B * T * C, 1);
    rng_fill_normal(&rng, c->v, B * T * C, 1), rng_fill_normal(&rng, c->r, B * T * C, 1);
}

/* Does output row (b, i) change when key/value row (b, j) changes? */
static int depends(Case *c, int b, int i, int j) {
    case_loss(c);
    float before[C];
    memcpy(before, c->out + ((size_t)b * T + i) * C, sizeof before);
    c->v[((size_t)b * T + j) * C] += 3.0f;
    c->k[((size_t)b * T + j) * C + 1] += 3.0f;
    case_loss(c);
    c->v[((size_t)b * T + j) * C] -= 3.0f;
    c->k[((size_t)b * T + j) * C + 1] -= 3.0f;
    return memcmp(before, c->out + ((size_t)b * T + i) * C, sizeof before) != 0;
}

static void test_separate(void) {
    Case c;
    case_init(&c, ATTN_SEPARATE);
    CHECK(!depends(&c, 0, 1, 5), "a text query sees an image key");
    CHECK(!depends(&c, 0, 5, 2), "an image query sees a text key");
    CHECK(depends(&c, 0, 1, 2), "text queries see text keys");
    CHECK(depends(&c, 0, 5, 6), "image queries see image keys");
    GcTensor t[] = {{"q", c.q, c.dq, B * T * C}, {"k", c.k, c.dk, B * T * C}, {"v", c.v, c.dv, B * T * C}};
    /* the same float32 budget as the full-attention check in test_ops.c */
    GcCase gc = {"attention separate", 1e-2, 1e-2, 80, case_loss, case_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 3, &rng) == 0, "gradient");
}

static void test_causal_text(void) {
    Case c;
    case_init(&c, ATTN_CAUSAL_TEXT);
    CHECK(!depends(&c, 0, 1, 2), "text query 1 sees the later text key 2");
    CHECK(depends(&c, 0, 2, 1), "text query 2 sees the earlier text key 1");
    CHECK(depends(&c, 0, 1, 5), "text queries see the image");
    CHECK(!depends(&c, 0, 5, 3), "an image query sees text (it would carry later words back)");
    CHECK(depends(&c, 0, 5, 6), "image queries see the image");
    CHECK(!depends(&c, 1, 5, 3), "a padded key stays invisible");
    GcTensor t[] = {{"q", c.q, c.dq, B * T * C}, {"k", c.k, c.dk, B * T * C}, {"v", c.v, c.dv, B * T * C}};
    GcCase gc = {"attention causal text", 1e-2, 1e-2, 80, case_loss, case_grad, &c, 0};
    CHECK(gradcheck_run(&gc, t, 3, &rng) == 0, "gradient");
}

static void test_full_matches_plain(void) {
    Case c;
    case_init(&c, ATTN_FULL);
    float plain[B * T * C];
    attention_forward(plain, c.probs, lanes, c.q, c.k, c.v, c.mask, B, T, C, H);
    case_loss(&c);
    CHECK(memcmp(plain, c.out, sizeof plain) == 0, "ATTN_FULL differs from attention_forward");
}

int main(void) {
    openblas_set_num_threads(1);
    rng_seed(&rng, 5);
    lanes = xcalloc(attention_lanes(T), sizeof(int));
    RUN(test_separate);
    RUN(test_causal_text);
    RUN(test_full_matches_plain);
    free(lanes);
    return TEST_DONE();
}
