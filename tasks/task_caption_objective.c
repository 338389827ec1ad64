/* The captioning objective's names and VinVL's masking rule
 * (task_caption_objective.h). */
#include "task_caption_objective.h"

#include <math.h>

#include "check.h"
#include "task_common.h"

/* VinVL's mask_prob: the share of a caption's tokens predicted */
#define CAPTION_MASK_PROB 0.15

static const char *const names[] = {[CAPTION_OBJECTIVE_MASKED] = "masked", [CAPTION_OBJECTIVE_NEXT] = "next"};
_Static_assert(sizeof names / sizeof names[0] == CAPTION_OBJECTIVE_NEXT + 1, "one name per CAPTION_OBJECTIVE_*");

int caption_objective_parse(const char *name) {
    int k = NAME_INDEX(names, name);
    return k >= 0 ? k : err_set("caption objective '%s': expected masked (VinVL's) or next", name);
}

const char *caption_objective_name(int objective) { return names[objective]; }

int caption_objective_mask(int *ids, const int *mask, int Tt, const Tokenizer *tok, Rng *rng, int pos[CAPTION_MASK_MAX],
                           int target[CAPTION_MASK_MAX]) {
    int L = 0;
    while (L < Tt && mask[L]) L++;
    if (L < 2) return 0;
    int k = (int)rint(CAPTION_MASK_PROB * L); /* ties to even in the default rounding mode */
    k = k < 1 ? 1 : k > CAPTION_MASK_MAX ? CAPTION_MASK_MAX : k; /* <= L - 1 for every L >= 2 */
    /* the first k of a partial Fisher-Yates shuffle of 1 .. L-1 */
    int cand[512];
    if (L - 1 > (int)(sizeof cand / sizeof cand[0])) die("caption_objective_mask: caption of %d tokens", L);
    for (int i = 0; i < L - 1; i++) cand[i] = i + 1;
    for (int j = 0; j < k; j++) {
        int r = j + (int)rng_below(rng, (uint32_t)(L - 1 - j)), t = cand[j];
        cand[j] = cand[r], cand[r] = t;
    }
    for (int j = 1; j < k; j++) /* ascending: insertion sort of k <= 3 */
        for (int i = j; i > 0 && cand[i - 1] > cand[i]; i--) {
            int t = cand[i];
            cand[i] = cand[i - 1], cand[i - 1] = t;
        }
    for (int j = 0; j < k; j++) {
        pos[j] = cand[j], target[j] = ids[cand[j]];
        ids[cand[j]] = task_mask_replace(ids[cand[j]], tok, rng);
    }
    return k;
}
