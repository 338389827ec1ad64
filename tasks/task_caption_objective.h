/* The captioning objective (TaskEnv.caption_objective, the values in
 * train_task.h): its names, as --caption-objective, the run config and a
 * caption checkpoint's head layout spell them, and VinVL's choice of the
 * caption tokens the masked objective predicts. */
#ifndef MOIL_TASK_CAPTION_OBJECTIVE_H
#define MOIL_TASK_CAPTION_OBJECTIVE_H

#include "io_tokenizer.h"
#include "rng.h"

/* At most this many tokens of one caption are predicted (VinVL's
 * max_masked_tokens). */
#define CAPTION_MASK_MAX 3

/* "masked" or "next" -> CAPTION_OBJECTIVE_*; -1 (err_set) for another name. */
int caption_objective_parse(const char *name);
/* CAPTION_OBJECTIVE_* -> its name. */
const char *caption_objective_name(int objective);

/* VinVL's masking of one caption: ids/mask [Tt] hold [CLS] w1 .. wn [SEP]
 * then padding, L = n + 2 real tokens. k = min(max(round(0.15 L), 1), 3)
 * positions (round half to even, as Python's round) are drawn uniformly
 * without replacement from 1 .. L - 1 (the words and [SEP]; never [CLS] or
 * padding) and each replaced in ids by task_mask_replace (task_common.h)
 * with tok's tokens, in ascending order. pos[k] gets the positions
 * (ascending), target[k] their original tokens. Returns k (0 when L < 2). */
int caption_objective_mask(int *ids, const int *mask, int Tt, const Tokenizer *tok, Rng *rng, int pos[CAPTION_MASK_MAX],
                           int target[CAPTION_MASK_MAX]);

#endif
