/* The helpers the tasks share (the interface they implement: train_task.h). */
#ifndef MOIL_TASK_COMMON_H
#define MOIL_TASK_COMMON_H

#include "io_image_cache.h"
#include "train_task.h"

/* task_items_add with numeric item ids (a question or image id). */
void task_items_add_int(MetricList *l, const char *name, int n, const int64_t *ids, const double *values);

/* Encode text into ids/mask rows (int, as the model takes them). */
void task_encode_text(const Tokenizer *tok, const char *text, int max_text, int *ids, int *mask);
/* uint8 HWC image -> float CHW in [-1,1]. */
void task_image_to_input(const unsigned char *hwc, int size, float *chw);

/* BERT's replacement of a token chosen for masked prediction: [MASK] with
 * probability 0.8, a random token of tok's vocabulary that is not a special
 * token with 0.1, id itself with 0.1 (one uniform draw, and a second for
 * the random token). */
int task_mask_replace(int id, const Tokenizer *tok, Rng *rng);

/* Whether load reads split ("train" or "val") beside the evaluation split
 * eval_split: both when training; when evaluating a trained model
 * (env->head_layout) only val, and only as the evaluation split. */
int task_reads_split(const TaskEnv *env, const char *split, const char *eval_split);

/* Copy every entry of group found under its name in the checkpoint (the
 * pretraining heads when a backbone is evaluated); entries it lacks keep
 * their values. Returns the number copied, -1 on a shape mismatch. */
int task_heads_from_checkpoint(Params *p, ParamGroup group, const StFile *f);

/* Shuffled passes over n examples: each index once per pass, each pass
 * shuffled by sampler_next when it starts (with the rng of that step). */
typedef struct {
    int n, pos;
    int *perm;
} Sampler;
void sampler_init(Sampler *s, int n);
int sampler_next(Sampler *s, Rng *rng);
void sampler_free(Sampler *s);

/* The distinct images of a split, decoded once: example i uses cache row
 * slot[i]. paths[n] may repeat (several questions per image). */
typedef struct {
    ImageCache cache;
    int *slot; /* [n] */
    int n;
} TaskImages;
int task_images_load(TaskImages *ti, const char *const *paths, int n, int size);
void task_images_free(TaskImages *ti);

#endif
