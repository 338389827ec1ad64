/* The experiment definitions of experiments/: the profiles (profiles.conf),
 * one file per reproduced table (<id>.exp) and the paper's claims with the
 * comparisons of table rows that test them (claims.conf), and the expansion
 * of a table into the fine-tuning runs that make it.
 *
 * Both are line files: '#' starts a comment, fields are separated by '|',
 * argument lists are words separated by spaces (no quoting: no argument
 * holds a space). profiles.conf:
 *   profile | NAME | DATASET | SEEDS | PRETRAIN ARGS | FINETUNE ARGS
 *   task    | NAME | TASK | FINETUNE ARGS            (extra args for one task)
 *   method  | NAME | METHOD | FINETUNE ARGS [| TASK] (extra args for one method;
 *                                                 with TASK, for its runs of that task only,
 *                                                 after the method's line without one)
 *   model   | NAME | MODEL | PRETRAIN ARGS          (extra args for one model's
 *                                                    backbone; not vilt, whose
 *                                                    arguments are the profile's)
 *   regions | NAME | REGIONS ARGS                   (extra args of `moil regions
 *                                                    train`, the vinvl backbone's
 *                                                    first stage)
 *   backbone | NAME | MODEL | FILE | WEIGHTS HASH   (MODEL's backbone is not
 *                                                    pretrained but shipped: FILE,
 *                                                    relative to the repository's
 *                                                    root, checked against WEIGHTS
 *                                                    HASH, `moil backbone hash`)
 * <id>.exp:
 *   title     | TEXT
 *   model     | NAME                   (the backbone's kind: vilt when absent,
 *                                       vlmo, vinvl; a profile pretrains one
 *                                       backbone per kind its tables use)
 *   reference | MODEL                  (paper_reference.model shown beside ours)
 *   column    | LABEL | TASK | SPLIT | METRIC | REF DATASET or empty
 *   average   | LABEL                  (a column averaging the metric columns)
 *   params                             (trainable and stored share columns)
 *   compare   | ROW                    (test every other row against this one,
 *                                       a row without a split suffix, and mark
 *                                       the differences: results/README.md,
 *                                       "Intervals and tests")
 *   profile   | NAME | FINETUNE ARGS   (this table's args in that profile)
 *   seeds     | NAME | SEEDS           (comma-separated: the only seeds of
 *                                       profile NAME this table runs, each
 *                                       one of the profile's; e.g. a selection
 *                                       on validation data run at one seed)
 *   row       | LABEL | REF METHOD or empty | SPLIT SUFFIX or empty | ARGS [| PROFILES]
 * A row is run for every task of the columns and every seed of the profile
 * (those of the table's seeds line for the profile, when it has one), with the arguments, in this order (later ones win): --task --seed --data
 * --init, the profile's, the profile's for the task, the profile's for the
 * row's --method, the profile's for that method and task, the table's for the profile, the row's. PROFILES (comma-separated) limits a row to those.
 * claims.conf:
 *   claim   | NUMBER | STATEMENT           (a claim of the paper)
 *   note    | TEXT                        (what else bears on it, e.g. a figure)
 *   compare | TABLE | ROW | OTHER; OTHER...  (ROW of table TABLE against each
 *                                          OTHER row, in every column)
 * note and compare lines belong to the claim above them. */
#ifndef MOIL_EXPERIMENT_H
#define MOIL_EXPERIMENT_H

#include <stdint.h>

#define EXP_KEY_LEN 17 /* 16 hex digits + NUL */

typedef struct {
    int n;
    char **v; /* [n] words */
} ExpArgs;

/* Argument lists by name: a profile's extra arguments per task or method. */
typedef struct {
    int n;
    char **names; /* [n] */
    ExpArgs *args; /* [n] */
} ExpNamedArgs;

/* A profile's `backbone` line: model's backbone is the file shipped at
 * file (relative to the repository's root), whose weights hash is hash. */
typedef struct {
    char *model, *file, *hash;
} ExpShipped;

typedef struct {
    char *name, *dataset; /* dataset: the profile of `moil data gen` */
    int n_seeds;
    int64_t *seeds;       /* [n_seeds] */
    ExpArgs pretrain, finetune, regions;
    ExpNamedArgs tasks, methods, models; /* models: extra pretraining args per non-vilt kind */
    int n_shipped;
    ExpShipped *shipped;  /* [n_shipped] the models whose backbone is shipped */
} ExpProfile;

typedef struct {
    char *label, *task, *split, *metric, *ref_dataset; /* ref_dataset NULL: none */
} ExpColumn;

typedef struct {
    char *label, *ref_method, *suffix; /* ref_method NULL: none; suffix "" or "@ema" */
    char *profiles;                    /* comma-separated; NULL: every profile */
    ExpArgs args;
} ExpRow;

/* A table's `seeds` line: in profile `profile` it runs these seeds only. */
typedef struct {
    char *profile, *where; /* where: "file:line" of the line, for its errors */
    int n;
    int64_t *seeds;        /* [n] distinct */
} ExpSeeds;

typedef struct {
    char *id, *title, *reference_model, *average_label; /* the last two NULL: none */
    char *compare_row;     /* the row the others are tested against; NULL: none */
    char *model;           /* the backbone's kind: "vilt" (the default), "vlmo", "vinvl" */
    int params;
    int n_cols, n_rows;
    ExpColumn *cols;       /* [n_cols] */
    ExpRow *rows;          /* [n_rows] */
    ExpNamedArgs profiles; /* the table's fine-tuning args per profile */
    int n_seeds;
    ExpSeeds *seeds;       /* [n_seeds] at most one per profile */
} ExpTable;

/* One cell of a table's expansion: the run for one row, task and seed. */
typedef struct {
    const ExpTable *table;
    int row;
    const char *task;
    int64_t seed;
    ExpArgs args;           /* the moil finetune arguments */
    char key[EXP_KEY_LEN];  /* FNV-1a 64 of the arguments joined by spaces */
} ExpCell;

/* One compare line of claims.conf. */
typedef struct {
    char *table, *row;
    int n_others;
    char **others; /* [n_others] */
} ExpCompare;

typedef struct {
    char *number, *statement;
    int n_notes, n_compares;
    char **notes;          /* [n_notes] */
    ExpCompare *compares;  /* [n_compares] */
} ExpClaim;

typedef struct {
    int n;
    ExpClaim *claims; /* [n] in the file's order */
} ExpClaims;

/* Read experiments/profiles.conf (path) and find one profile in it. */
int experiment_profile_read(const char *path, const char *name, ExpProfile *out);
void experiment_profile_free(ExpProfile *p);
/* Read one table file; its id is the file name without folder and ".exp". */
int experiment_table_read(const char *path, ExpTable *out);
void experiment_table_free(ExpTable *t);
/* Read claims.conf (path). */
int experiment_claims_read(const char *path, ExpClaims *out);
void experiment_claims_free(ExpClaims *c);
/* The ids of the tables in dir (files *.exp), sorted; free with
 * experiment_ids_free. */
int experiment_list_ids(const char *dir, char ***ids, int *n);
void experiment_ids_free(char **ids, int n);

/* The pretraining arguments of model's backbone in profile p: the profile's,
 * then, unless model is vilt (the default, whose arguments stay the
 * profile's alone), --model MODEL and the profile's for that model. Free
 * with experiment_args_free. */
void experiment_pretrain_args(const ExpProfile *p, const char *model, ExpArgs *out);
/* The shipped backbone of model in profile p, NULL when it is pretrained. */
const ExpShipped *experiment_shipped(const ExpProfile *p, const char *model);
/* Append to out the profile's fine-tuning arguments for a run of task and
 * method (NULL: none): the profile's, its task line's, its method line's. */
void experiment_profile_args(const ExpProfile *p, const char *task, const char *method, ExpArgs *out);
void experiment_args_free(ExpArgs *a);

/* Whether table t has a row that runs in profile p (a row without a profile
 * list, or one that names it): a table with none is not part of p. */
int experiment_table_in_profile(const ExpTable *t, const ExpProfile *p);
/* The cells of table t in profile p, with data and init as the dataset folder
 * and backbone checkpoint. Free with experiment_cells_free. Fails (naming the
 * line) when t's seeds line for p names a seed p does not have. */
int experiment_expand(const ExpTable *t, const ExpProfile *p, const char *data, const char *init, ExpCell **cells,
                      int *n);
void experiment_cells_free(ExpCell *cells, int n);
/* The arguments joined by single spaces (caller frees). */
char *experiment_args_join(const ExpArgs *a);
/* The value after the last `flag` in a, NULL when none. */
const char *experiment_args_last(const ExpArgs *a, const char *flag);

#endif
