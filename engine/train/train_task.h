/* A task plugs into the trainer through this interface: it reads its
 * dataset, registers and initialises its heads, runs one training batch
 * (forward, loss, backward into the parameter gradients) and evaluates a
 * split. Adding a task: write tasks/task_<name>.c with a TaskOps and add one
 * line to the table in tasks/task_registry.c. */
#ifndef MOIL_TASK_H
#define MOIL_TASK_H

#include "io_image_cache.h"
#include "model.h"
#include "rng.h"
#include "io_safetensors.h"
#include "io_tokenizer.h"

#define METRIC_NAME_MAX 48
#define METRICS_MAX 48

typedef struct {
    int n;
    char name[METRICS_MAX][METRIC_NAME_MAX];
    double value[METRICS_MAX];
} MetricList;

void metrics_add(MetricList *l, const char *name, double value);
/* The value of name, or NAN. */
double metrics_get(const MetricList *l, const char *name);

typedef struct {
    const char *data_dir;   /* the dataset folder */
    const Tokenizer *tok;   /* word vocabulary of the backbone */
    int image_size;         /* model input, pixels */
    int max_text;           /* text tokens including [CLS], [SEP] */
    int batch;              /* examples per training step */
    int eval_limit;         /* at most this many evaluation examples (0 = all) */
    int negatives;          /* retrieval: false captions per image (ViLT K = 15) */
    float label_smoothing;  /* caption: cross-entropy label smoothing (0 = none) */
    int beam;               /* caption: beam width of decoding (0 or 1 = greedy) */
    unsigned objectives;    /* pretrain: PRETRAIN_* bits (0 = all) */
    int cells_first;        /* pretrain: the first steps train the cells objective alone */
} TaskEnv;

/* pretraining objectives; PRETRAIN_HARD: ITM negatives mined by ITC similarity;
 * PRETRAIN_CELLS: image-only, each grid cell's category (or empty) from its patch tokens;
 * PRETRAIN_SWAP: ITM negatives that keep the image and swap one category word of the caption */
enum { PRETRAIN_MLM = 1, PRETRAIN_ITM = 2, PRETRAIN_ITC = 4, PRETRAIN_HARD = 8, PRETRAIN_CELLS = 16, PRETRAIN_SWAP = 32 };
/* the objectives of a run without --objectives */
#define PRETRAIN_DEFAULT (PRETRAIN_MLM | PRETRAIN_ITM | PRETRAIN_ITC | PRETRAIN_HARD)

typedef struct Task Task;

typedef struct {
    const char *name;
    const char *summary;
    const char *primary_metric; /* the metric curves and tables use */
    /* Read the dataset (train split and split_eval), before the model exists. */
    int (*load)(Task *t, const TaskEnv *env, const char *eval_split);
    /* Sequences one forward pass holds (the model is sized for it). */
    int (*max_sequences)(const Task *t);
    void (*register_heads)(Task *t, Params *p, int d);
    /* After params_alloc and loading the backbone: initialise the heads
     * (init = the pretrained checkpoint, may be NULL). */
    int (*init_heads)(Task *t, Model *m, Rng *rng, const StFile *init);
    /* One training batch; returns the loss (NaN if it diverged). */
    double (*train_step)(Task *t, Model *m, Rng *rng);
    /* Evaluate split ("val" or the eval split of load); metrics into out;
     * predictions written to pred_path (the task's official format) if not
     * NULL. */
    int (*evaluate)(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path);
    void (*destroy)(Task *t);
} TaskOps;

struct Task {
    const TaskOps *ops;
    TaskEnv env;
    void *state;
};

const TaskOps *task_find(const char *name);
int task_count(void);
const TaskOps *task_at(int i);
int task_create(Task *t, const char *name, const TaskEnv *env);
void task_destroy(Task *t);

/* Helpers every task uses. */
/* Encode text into ids/mask rows (int, as the model takes them). */
void task_encode_text(const Tokenizer *tok, const char *text, int max_text, int *ids, int *mask);
/* uint8 HWC image -> float CHW in [-1,1]. */
void task_image_to_input(const unsigned char *hwc, int size, float *chw);

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
