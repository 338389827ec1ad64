#include "model_dual_encoder.h"

#include <math.h>
#include <string.h>

void dual_encoder_pool(const Model *m, const int *text_mask, int B, float *tfeat, float *vfeat) {
    int C = m->d, T = m->T, Tt = m->Tt, P1 = m->n_image_tokens;
    for (int b = 0; b < B; b++) {
        float *tf = tfeat + (size_t)b * C, *vf = vfeat + (size_t)b * C;
        memset(tf, 0, C * sizeof(float));
        memset(vf, 0, C * sizeof(float));
        int nt = 0;
        for (int t = 0; t < Tt; t++)
            if (text_mask[b * Tt + t]) {
                nt++;
                for (int c = 0; c < C; c++) tf[c] += m->final[((size_t)b * T + t) * C + c];
            }
        for (int t = Tt; t < Tt + P1; t++)
            for (int c = 0; c < C; c++) vf[c] += m->final[((size_t)b * T + t) * C + c];
        for (int c = 0; c < C; c++) tf[c] /= (float)(nt ? nt : 1), vf[c] /= (float)P1;
    }
}

void dual_encoder_normalize(float *u, const float *z, int B, int C) {
    for (int b = 0; b < B; b++) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)z[b * C + c] * z[b * C + c];
        float inv = (float)(1.0 / sqrt(ss + 1e-12));
        for (int c = 0; c < C; c++) u[b * C + c] = z[b * C + c] * inv;
    }
}
