/* Image to patches, the data side of a conv with kernel = stride = patch. */
#include "ops.h"

void patchify_forward(float *patches, const float *images, int B, int S, int p) {
    /* images[B,3,S,S] -> patches[B,P,3*p*p], P = (S/p)^2, patch order row-major,
     * inside a patch: channel, then row, then column (conv weight [OC,3,p,p]). */
    int g = S / p, K = 3 * p * p;
    for (int b = 0; b < B; b++) {
        const float *img = images + (size_t)b * 3 * S * S;
        for (int py = 0; py < g; py++) {
            for (int px = 0; px < g; px++) {
                float *dst = patches + ((size_t)b * g * g + (size_t)py * g + px) * K;
                for (int ch = 0; ch < 3; ch++)
                    for (int y = 0; y < p; y++)
                        for (int x = 0; x < p; x++)
                            *dst++ = img[((size_t)ch * S + py * p + y) * S + px * p + x];
            }
        }
    }
}
