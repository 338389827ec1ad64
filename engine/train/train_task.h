/* A task plugs into the trainer through this interface: it reads its
 * dataset, registers and initialises its heads, runs one training batch
 * (forward, loss, backward into the parameter gradients) and evaluates a
 * split into a MetricList. A trained model is evaluated again from its
 * checkpoint with what describe_heads recorded (TaskEnv.head_layout). Adding a task: write tasks/task_<name>.c with a
 * TaskOps (the helpers tasks share: tasks/task_common.h) and add one line to
 * the table in tasks/task_registry.c. */
#ifndef MOIL_TASK_H
#define MOIL_TASK_H

#include "io_safetensors.h"
#include "io_tokenizer.h"
#include "model.h"
#include "rng.h"

#define METRIC_NAME_MAX 48
#define METRICS_MAX 48
#define ITEM_SCORES_MAX 8

/* The score of every test item of one evaluation (a VQA question, an NLVR
 * pair, a retrieval query, a captioned image), for intervals and paired
 * tests over items (docs/database.md, "Per-item scores"). name is the
 * family: a metric whose value is the mean of these scores (vqa_score,
 * accuracy, cider_d, in its unit), or a rank (ir_rank, tr_rank: the rank
 * of the query's true match, 1 = first, from which R@K is the share with
 * rank <= K). */
typedef struct {
    char name[METRIC_NAME_MAX];
    int n;          /* items */
    char *ids;      /* the n item ids, each ended by '\n' (ids hold no '\n') */
    double *values; /* [n] in the order of ids */
} ItemScores;

typedef struct {
    int n;
    char name[METRICS_MAX][METRIC_NAME_MAX];
    double value[METRICS_MAX];
    /* Per-item scores, kept only when the caller sets want_items before
     * evaluating (the final evaluation does); the caller then frees them
     * with task_metrics_free. */
    int want_items;
    int n_items;
    ItemScores items[ITEM_SCORES_MAX];
} MetricList;

void task_metrics_add(MetricList *l, const char *name, double value);
/* The value of name, or NAN. */
double task_metrics_get(const MetricList *l, const char *name);
/* Keep the scores of n items under family name (nothing unless
 * l->want_items): ids[i] is item i's id (no '\n'), values[i] its score;
 * both are copied. A family added twice keeps the last. */
void task_items_add(MetricList *l, const char *name, int n, const char *const *ids, const double *values);
/* The item scores of family name, or NULL. */
const ItemScores *task_items_get(const MetricList *l, const char *name);
/* Free the item scores (the metrics stay); the list keeps want_items. */
void task_metrics_free(MetricList *l);

typedef struct {
    const char *data_dir;   /* the dataset folder */
    const Tokenizer *tok;   /* word vocabulary of the backbone */
    int image_size;         /* model input, pixels */
    int max_text;           /* text tokens including [CLS], [SEP] */
    int batch;              /* examples per training step */
    int eval_limit;         /* at most this many evaluation examples (0 = all) */
    int negatives;          /* retrieval: false captions per image (ViLT K = 15) */
    int shortlist;          /* retrieval: candidates per query a first stage (ITC cosine) lists for the
                             * rank head to re-rank (0 = the rank head scores every pair, ViLT's;
                             * dual encoders: 0 = 16) */
    float label_smoothing;  /* caption: cross-entropy label smoothing (0 = none) */
    int beam;               /* caption: beam width of decoding (0 or 1 = greedy) */
    int caption_objective;  /* caption: CAPTION_OBJECTIVE_* (0 = masked, VinVL's) */
    unsigned objectives;    /* pretrain: PRETRAIN_* bits (0 = all) */
    int cells_first;        /* pretrain: the first steps train the cells objective alone */
    /* Evaluating a trained model (NULL when training): the head layout its
     * run recorded (TaskOps.describe_heads). load then reads the evaluation
     * split only and takes what the heads need from here, and init_heads
     * only prepares evaluation (the heads' values come from the checkpoint). */
    const json_t *head_layout;
    /* Evaluating a trained model: the pretrained checkpoint its run started
     * from, when its file is still there unchanged (else NULL); retrieval's
     * first stage is its model. */
    const StFile *pretrained;
} TaskEnv;

/* pretraining objectives; PRETRAIN_HARD: ITM negatives mined by ITC similarity;
 * PRETRAIN_CELLS: image-only, each grid cell's category (or empty) from its patch tokens;
 * PRETRAIN_SWAP: ITM negatives that keep the image and swap one category word of the caption */
enum { PRETRAIN_MLM = 1, PRETRAIN_ITM = 2, PRETRAIN_ITC = 4, PRETRAIN_HARD = 8, PRETRAIN_CELLS = 16, PRETRAIN_SWAP = 32 };
/* the objectives of a run without --objectives */
#define PRETRAIN_DEFAULT (PRETRAIN_MLM | PRETRAIN_ITM | PRETRAIN_ITC | PRETRAIN_HARD)

/* caption training objectives (both under the seq2seq mask, ATTN_CAUSAL_TEXT):
 * MASKED, VinVL's: a few caption tokens replaced (mostly by [MASK]) and
 * predicted at their own positions, decoding by appending [MASK]; NEXT:
 * every position predicts the token after it */
enum { CAPTION_OBJECTIVE_MASKED = 0, CAPTION_OBJECTIVE_NEXT = 1 };

typedef struct Task Task;

typedef struct {
    const char *name;
    const char *summary;
    const char *primary_metric; /* the metric curves and tables use */
    /* the official learning-rate multiplier of the task's head tensors
     * (ViLT's lr_mult; TrainConfig.head_lr_mult unless a run sets its own) */
    float head_lr_mult;
    /* Read the dataset (train split and split_eval), before the model exists. */
    int (*load)(Task *t, const TaskEnv *env, const char *eval_split);
    /* Sequences one forward pass holds (the model is sized for it). */
    int (*max_sequences)(const Task *t);
    void (*register_heads)(Task *t, Params *p, int d);
    /* After params_alloc and loading the backbone: initialise the heads
     * (init = the pretrained checkpoint, may be NULL; when evaluating a
     * trained model, TaskEnv.head_layout set, the checkpoint evaluated,
     * whose tensors are loaded after this). */
    int (*init_heads)(Task *t, Model *m, Rng *rng, const StFile *init);
    /* One training batch; returns the loss (NaN if it diverged). */
    double (*train_step)(Task *t, Model *m, Rng *rng);
    /* Evaluate split ("val" or the eval split of load); metrics into out;
     * predictions written to pred_path (the task's official format) if not
     * NULL. */
    int (*evaluate)(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path);
    /* Optional: what evaluating the trained heads needs besides their
     * tensors and the dataset's evaluation split, as members added to the
     * JSON object layout (it returns as TaskEnv.head_layout); -1 (err_set)
     * on failure. */
    int (*describe_heads)(const Task *t, json_t *layout);
    void (*destroy)(Task *t);
} TaskOps;

struct Task {
    const TaskOps *ops;
    TaskEnv env;
    void *state;
};

/* Calls the task's destroy; the tasks and creating one by name are in
 * tasks/task_registry.h. */
void task_destroy(Task *t);

#endif
