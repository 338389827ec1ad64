#include "nn_head_mlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops.h"

void head_mlp_register(HeadMlp *h, Params *p, const char *prefix, int in, int hid, int out) {
    char name[PARAM_NAME_MAX];
    memset(h, 0, sizeof *h);
    snprintf(name, sizeof name, "%s.0", prefix);
    linear_register(p, &h->fc1, name, in, hid, PARAM_GROUP_HEAD);
    snprintf(name, sizeof name, "%s.1", prefix);
    layernorm_register(p, &h->ln, name, hid, 1e-5f, PARAM_GROUP_HEAD);
    /* ViLT exempts from weight decay the names holding "bias" or a norm's
     * name; this LayerNorm's weight (<prefix>.1.weight) holds neither, so
     * it decays as the matrices do */
    p->info[h->ln.w].decay = 1;
    snprintf(name, sizeof name, "%s.3", prefix);
    linear_register(p, &h->fc2, name, hid, out, PARAM_GROUP_HEAD);
    h->in = in, h->hid = hid, h->out = out;
}

void head_mlp_init(HeadMlp *h, Params *p, Rng *rng, int max_rows) {
    linear_init(p, &h->fc1, rng);
    layernorm_init(p, &h->ln);
    linear_init(p, &h->fc2, rng);
    size_t R = (size_t)max_rows, hid = (size_t)h->hid;
    h->max_rows = max_rows;
    h->h1 = xcalloc(R * hid * 5 + R * 2 + R * h->out, sizeof(float));
    h->ln_out = h->h1 + R * hid;
    h->act = h->ln_out + R * hid;
    h->d1 = h->act + R * hid;
    h->d2 = h->d1 + R * hid;
    h->ln_mean = h->d2 + R * hid;
    h->ln_rstd = h->ln_mean + R;
    h->logits = h->ln_rstd + R;
}

void head_mlp_free(HeadMlp *h) {
    free(h->h1);
    h->h1 = NULL;
}

void head_mlp_forward(HeadMlp *h, const Params *p, const float *x, int R) {
    if (R > h->max_rows) die("head_mlp_forward: %d rows, sized for %d", R, h->max_rows);
    layer_linear_forward(p, &h->fc1, h->h1, x, R);
    layer_layernorm_forward(p, &h->ln, h->ln_out, h->ln_mean, h->ln_rstd, h->h1, R);
    gelu_forward(h->act, h->ln_out, (size_t)R * h->hid);
    layer_linear_forward(p, &h->fc2, h->logits, h->act, R);
}

void head_mlp_backward(HeadMlp *h, const Params *p, float *dx, const float *dlogits, const float *x, int R) {
    size_t n = (size_t)R * h->hid;
    memset(h->d1, 0, n * sizeof(float));
    layer_linear_backward(p, &h->fc2, h->d1, dlogits, h->act, R);
    memset(h->d2, 0, n * sizeof(float));
    gelu_backward(h->d2, h->ln_out, h->d1, n);
    memset(h->d1, 0, n * sizeof(float));
    layer_layernorm_backward(p, &h->ln, h->d1, h->d2, h->h1, h->ln_mean, h->ln_rstd, R);
    layer_linear_backward(p, &h->fc1, dx, h->d1, x, R);
}
