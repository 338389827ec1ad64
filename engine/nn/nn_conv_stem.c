#include "nn_conv_stem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops.h"

int conv_stem_register(ConvStem *s, Params *p, const char *prefix, int patch, int d) {
    memset(s, 0, sizeof *s);
    int n = 0;
    while ((1 << n) < patch) n++;
    if ((1 << n) != patch || n < 2 || n > CONV_STEM_MAX_LAYERS)
        return err_set("--stem conv needs a power-of-two patch between 4 and %d (got %d)", 1 << CONV_STEM_MAX_LAYERS,
                       patch);
    s->n = n;
    int cin = 3;
    for (int i = 0; i < n; i++) {
        int last = i == n - 1, cout = last ? d : 24 << i, k = last ? 2 : 3;
        char name[PARAM_NAME_MAX];
        snprintf(name, sizeof name, "%s.%d.weight", prefix, i);
        s->w[i] = params_add(p, name, 4, (int[]){cout, cin, k, k}, 1, PARAM_GROUP_BACKBONE);
        snprintf(name, sizeof name, "%s.%d.bias", prefix, i);
        s->b[i] = params_add(p, name, 1, (int[]){cout}, 0, PARAM_GROUP_BACKBONE);
        s->shape[i] = (ConvShape){0, cin, 0, 0, cout, k, 2, last ? 0 : 1};
        cin = cout;
    }
    s->out_c = d;
    return 0;
}

void conv_stem_init(ConvStem *s, Params *p, Rng *rng) {
    /* PyTorch's conv default: Kaiming-uniform (a = sqrt 5) -> bound 1/sqrt(fan_in) */
    for (int i = 0; i < s->n; i++) {
        int fan_in = s->shape[i].Cin * s->shape[i].k * s->shape[i].k;
        float bound = 1.0f / sqrtf((float)fan_in);
        rng_fill_uniform(rng, params_data(p, s->w[i]), (long)p->info[s->w[i]].size, -bound, bound);
        rng_fill_uniform(rng, params_data(p, s->b[i]), (long)p->info[s->b[i]].size, -bound, bound);
    }
}

void conv_stem_alloc(ConvStem *s, int max_batch, int image_size) {
    int h = image_size;
    size_t biggest = 0, cols_one = 0;
    for (int i = 0; i < s->n; i++) {
        ConvShape *c = &s->shape[i];
        c->B = max_batch, c->H = c->W = h;
        int ho = conv_out_size(h, c->k, c->stride, c->pad);
        size_t kk = (size_t)c->Cin * c->k * c->k * ho * ho, act = (size_t)max_batch * c->Cout * ho * ho;
        s->cols[i] = xcalloc(kk * max_batch, sizeof(float));
        s->pre[i] = xcalloc(act, sizeof(float));
        s->post[i] = i < s->n - 1 ? xcalloc(act, sizeof(float)) : NULL;
        if (act > biggest) biggest = act;
        if (kk > cols_one) cols_one = kk;
        h = ho;
    }
    s->grid = h;
    s->dbuf[0] = xcalloc(biggest, sizeof(float));
    s->dbuf[1] = xcalloc(biggest, sizeof(float));
    s->dcols = xcalloc(cols_one, sizeof(float));
}

void conv_stem_free(ConvStem *s) {
    for (int i = 0; i < s->n; i++) free(s->cols[i]), free(s->pre[i]), free(s->post[i]);
    free(s->dbuf[0]), free(s->dbuf[1]), free(s->dcols);
    memset(s->cols, 0, sizeof s->cols);
    memset(s->pre, 0, sizeof s->pre);
    memset(s->post, 0, sizeof s->post);
    s->dbuf[0] = s->dbuf[1] = s->dcols = NULL;
}

static size_t act_size(const ConvShape *c, int B) {
    int ho = conv_out_size(c->H, c->k, c->stride, c->pad);
    return (size_t)B * c->Cout * ho * ho;
}

void conv_stem_forward(ConvStem *s, const Params *p, const float *images, int B) {
    const float *x = images;
    for (int i = 0; i < s->n; i++) {
        ConvShape c = s->shape[i];
        c.B = B;
        conv_forward(s->pre[i], s->cols[i], x, params_data(p, s->w[i]), params_data(p, s->b[i]), &c);
        if (i < s->n - 1) {
            gelu_forward(s->post[i], s->pre[i], act_size(&c, B));
            x = s->post[i];
        }
    }
}

void conv_stem_backward(ConvStem *s, const Params *p, const float *dout, int B) {
    /* d (the gradient at layer i's output) lives in dbuf[0] below the top
     * layer; each layer's input gradient goes to dbuf[1], then through the
     * GELU back into dbuf[0] */
    const float *d = dout;
    for (int i = s->n - 1; i >= 0; i--) {
        ConvShape c = s->shape[i];
        c.B = B;
        float *dx = NULL;
        size_t n_in = 0;
        if (i > 0) {
            ConvShape prev = s->shape[i - 1];
            n_in = act_size(&prev, B);
            dx = s->dbuf[1];
            memset(dx, 0, n_in * sizeof(float));
        }
        conv_backward(dx, params_grad(p, s->w[i]), params_grad(p, s->b[i]), s->dcols, d, s->cols[i],
                      params_data(p, s->w[i]), &c);
        if (i > 0) {
            memset(s->dbuf[0], 0, n_in * sizeof(float));
            gelu_backward(s->dbuf[0], s->pre[i - 1], dx, n_in);
            d = s->dbuf[0];
        }
    }
}
