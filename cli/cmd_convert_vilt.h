/* The tensors of a released ViLT checkpoint (the state dict of ViLT's
 * ViLTransformerSS, exported to safetensors in float32) beside ours, for
 * moil convert (cli/cmd_convert.c; docs/checkpoints.md, "Converting a
 * released ViLT checkpoint"). Most tensors carry the same name and shape on
 * both sides; the differences:
 *  - each block's fused attn.qkv (weight [3d,d], bias [3d]: q, k, v stacked
 *    in that order) is our attn.q, attn.k, attn.v;
 *  - BERT's text embeddings hold an int64 buffer position_ids [1,Tt]
 *    (0..Tt-1), which we do not keep, and a text token-type table [2,d],
 *    which we keep (ModelDims.text_types);
 *  - the MLM head's output bias is mlm_score.bias there,
 *    mlm_score.decoder.bias here;
 *  - the modality-type table has 2 rows (3 in the NLVR2 model), which we
 *    keep or pad to 3 with a copy of row 1, as ViLT extends it for NLVR2.
 * The heads come in parts, each present whole or absent: ViLT's MLM and ITM
 * heads, the VQA and NLVR2 classifiers and the retrieval rank head. */
#ifndef MOIL_CMD_CONVERT_VILT_H
#define MOIL_CMD_CONVERT_VILT_H

#include <stdint.h>

#include "nn_params.h"

/* The parts of a ViLT state dict: the backbone (always whole) and the heads. */
enum { VILT_PART_BACKBONE, VILT_PART_MLM, VILT_PART_ITM, VILT_PART_VQA, VILT_PART_NLVR, VILT_PART_IRTR, VILT_N_PARTS };
/* each part's name (a head's: its module name, the prefix of its tensors) */
extern const char *const vilt_part_names[VILT_N_PARTS];

typedef enum {
    VILT_COPY,         /* the same values under one name each side (the same name but for the MLM bias) */
    VILT_QKV,          /* official attn.qkv = ours attn.q, attn.k, attn.v stacked along dimension 0 */
    VILT_POSITION_IDS, /* official only: BERT's buffer [1,Tt] of int64 0..Tt-1 */
    VILT_TYPE_ROWS,    /* the modality-type table: rows kept, or ours padded with copies of row 1 */
    VILT_TEXT_TYPES,   /* BERT's text token-type table: a model of ours may lack it (zeros there) */
} ViltMap;

typedef struct {
    char official[PARAM_NAME_MAX];
    char ours[3][PARAM_NAME_MAX]; /* [0] the name; q, k, v for VILT_QKV; none for VILT_POSITION_IDS */
    ViltMap map;
    int part;                     /* VILT_PART_* */
    int ndim;
    int64_t shape[4];             /* the official shape (ours: [d,...] each of q, k, v for VILT_QKV) */
} ViltTensor;

/* The sizes a ViLT state dict's shapes follow. */
typedef struct {
    int d;          /* C */
    int layers;     /* L */
    int hidden;     /* the MLP's width (mlp_ratio * C) */
    int vocab;      /* V */
    int max_text;   /* Tt: rows of the text position table */
    int text_types; /* rows of BERT's text token-type table (2) */
    int patch;      /* p */
    int grid;       /* g: g x g patches, image size g p */
    int n_types;    /* rows of the modality-type table (official side) */
    int answers;    /* outputs of the VQA classifier (0: no VQA head) */
} ViltSizes;

/* Every tensor a ViLT state dict of sizes s may hold, *n of them (a new
 * array). */
ViltTensor *vilt_tensors(const ViltSizes *s, int *n);

/* The entry whose official name (ours: 0) or one of whose names of ours
 * (ours: 1) is name, or NULL; *slot gets which of ours (q 0, k 1, v 2). */
const ViltTensor *vilt_tensor_find(const ViltTensor *t, int n, const char *name, int ours, int *slot);

#endif
