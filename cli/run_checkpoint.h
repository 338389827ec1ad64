/* The metadata of the checkpoints moil writes (docs/checkpoints.md), read
 * and written here: the engine saves tensors and string pairs, this layer
 * decides what they say.
 *
 * Every moil checkpoint carries its model config ("model_config", JSON),
 * its vocabulary ("vocab", one token per line, in id order), its image stem
 * ("stem") and the config hash of the run that wrote it ("run_config_hash"),
 * and, when its tokenizer is not word-level, which one ("tokenizer":
 * "wordpiece"; absent means "word"). A backbone
 * (moil pretrain) holds the backbone and the pretraining heads. A fine-tuned
 * model (moil finetune) holds every tensor of its run as training left it
 * ("weights": "as_trained": the backbone's entries, the task heads and the
 * method's own tensors, unmerged), and what evaluating it needs: "task",
 * "head_layout" (JSON: the head tensors' names and shapes, and the task's
 * own description of them: the VQA answer list, the retrieval scoring),
 * "method", "method_options" (JSON), "variants" (JSON: the evaluation
 * variants the method forms from those tensors, the reported one first) and
 * "run_config" (JSON: the run's whole config, as the results database holds
 * it). */
#ifndef MOIL_RUN_CHECKPOINT_H
#define MOIL_RUN_CHECKPOINT_H

#include <jansson.h>

#include "io_safetensors.h"
#include "io_tokenizer.h"
#include "method.h"
#include "model.h"
#include "train_task.h"

/* The model config and vocabulary of an opened moil checkpoint. */
int run_checkpoint_model(const StFile *f, ModelConfig *mc, Tokenizer *tok);

/* A pretraining run's checkpoint: backbone and pretraining heads. */
int run_checkpoint_save_backbone(const char *path, const Model *m, const Tokenizer *tok, const char *config_hash);

/* A fine-tuning run's checkpoint: every tensor of m, with the metadata
 * above; run_config is the run's config, config_hash its hash. */
int run_checkpoint_save_finetuned(const char *path, const Model *m, const Tokenizer *tok, const Task *t,
                                  const Method *meth, const json_t *run_config, const char *config_hash);

/* A checkpoint converted from a released model's state dict (moil convert,
 * docs/checkpoints.md): its tensors t[0..n) as given, and in its metadata
 * the model config, vocabulary and stem, "tokenizer" ("word" or
 * "wordpiece"), "converted_from" (JSON: where it came from and what
 * converting it back needs) and no run_config_hash (no run wrote it); for a
 * task's model (task not NULL) also the keys of a fine-tuned checkpoint:
 * the task, head_layout, method "full" with its default options and
 * variants, and a run_config of command "convert" without a data folder,
 * recording batch as the evaluation's batch. */
typedef struct {
    const ModelConfig *mc;
    const char *vocab;            /* one token a line, in id order */
    const char *tokenizer;        /* "word" or "wordpiece" */
    const json_t *converted_from; /* JSON object */
    const char *task;             /* NULL: a backbone */
    const json_t *head_layout;    /* the task's (with task) */
    int batch;                    /* moil eval's batch (with task) */
} RunConverted;
int run_checkpoint_save_converted(const char *path, const StTensor *t, int n, const RunConverted *c);

/* A fine-tuned checkpoint opened for evaluation. */
typedef struct {
    StFile file;
    ModelConfig mc;
    Tokenizer tok;
    const char *task, *method, *config_hash; /* in file's metadata */
    MethodOptions mopt;
    json_t *head_layout, *run_config;
} RunCheckpoint;

/* Open path and read its metadata; a file without what evaluation needs (a
 * backbone, a fine-tuned model written before checkpoints carried it) is an
 * error naming the file and the missing keys. Close with
 * run_checkpoint_close, also after a failure. */
int run_checkpoint_open(const char *path, RunCheckpoint *c);
void run_checkpoint_close(RunCheckpoint *c);

#endif
