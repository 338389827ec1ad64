/* Losses: softmax cross-entropy with an ignore index, BCE with logits on
 * soft targets. */
#include "ops.h"

#include <math.h>

float crossentropy_forward(float *probs, const float *logits, const int *targets, int N, int V,
                           int ignore_index, int *count) {
    /* logits, probs: [N,V]; targets: [N] */
    double total = 0.0;
    int counted = 0;
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float mx = x[0];
        for (int j = 1; j < V; j++)
            if (x[j] > mx) mx = x[j];
        double sum = 0.0;
        for (int j = 0; j < V; j++) {
            p[j] = expf(x[j] - mx);
            sum += p[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < V; j++) p[j] *= inv;
        if (targets[n] == ignore_index) continue;
        /* -log softmax = log(sum) - (x_t - max), exact even when p_t underflows */
        total += log(sum) - (double)(x[targets[n]] - mx);
        counted++;
    }
    if (count) *count = counted;
    return counted ? (float)(total / counted) : 0.0f;
}

void crossentropy_backward(float *dlogits, const float *probs, const int *targets, int N, int V,
                           int ignore_index, int count, float scale) {
    if (count == 0) return;
    float s = scale / (float)count;
    for (int n = 0; n < N; n++) {
        if (targets[n] == ignore_index) continue;
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        for (int j = 0; j < V; j++) d[j] += s * p[j];
        d[targets[n]] -= s;
    }
}

float bce_forward(const float *logits, const float *targets, size_t n, float scale) {
    /* softplus(x) - t x, computed stably as max(x,0) - t x + log1p(exp(-|x|)) */
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float x = logits[i];
        total += (x > 0 ? x : 0) - targets[i] * x + log1pf(expf(-fabsf(x)));
    }
    return n ? (float)(total / n * scale) : 0.0f;
}

void bce_backward(float *dlogits, const float *logits, const float *targets, size_t n, float scale) {
    float s = n ? scale / (float)n : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float sig = 1.0f / (1.0f + expf(-logits[i]));
        dlogits[i] += s * (sig - targets[i]);
    }
}
