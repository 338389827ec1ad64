/* Vision-language pretraining: ViLT's MLM (whole-word masking; our
 * tokenizer is word-level) and ITM (with random and ITC-mined hard
 * negatives), plus an image-text contrastive loss (ITC: in-batch,
 * symmetric, learned temperature) on mean-pooled text-token and image-token
 * features of a unimodal pass (no cross-modal attention), which is what
 * makes a model this small ground words in image content (docs/tasks.md,
 * "Pretraining"; measured in results/README.md, "Pretraining").
 *
 * Optional objective "swap" (PRETRAIN_SWAP): a third of ITM's false pairs
 * keep the true image and swap one category word of the caption for another
 * one-word category name, so that ITM cannot be solved by colour alone.
 *
 * Optional objective "cells" (PRETRAIN_CELLS), image-only supervision, our
 * stand-in for an ImageNet-initialised vision side: in the unimodal pass
 * (image tokens see only the image), each cell of the scene's 2x2 grid is
 * classified (the category of the object in it, or "empty") from the mean
 * of that cell's patch tokens at the last layer: Linear(d, categories + 1),
 * softmax cross-entropy. Labels from DATA/annotations/instances_pretrain.json
 * (the cell of an object is the one holding its box centre).
 *
 * Data: DATA/annotations/karpathy_pretrain.json (train split for training,
 * val split held out for the grounding metrics). Heads (group pretrain, saved
 * with the backbone): mlm_score.{transform.dense, transform.LayerNorm,
 * decoder}, itm_score.fc, itc.{text_proj, image_proj, logit_scale}, and
 * cells.fc when the cells objective is on.
 *
 * Grounding metrics (evaluate, on held-out pairs):
 *   itc_ir_r1 / itc_tr_r1  zero-shot retrieval R@1 (%) with ITC, beside chance_r1
 *   itm_acc_random         ITM accuracy, true pairs vs. random captions
 *   itm_acc_hard           ITM accuracy, true pairs vs. the caption with one
 *                          colour word swapped (one-attribute hard negatives)
 *   itm_acc_hard_category  the same with one category word swapped (among the
 *                          one-word category names)
 *   itm_r1                 ITM text->image R@1 over the first 50 held-out images
 *   mlm_acc_<kind>, mlm_prior_<kind>  MLM accuracy on words of a kind (colour,
 *                          category, size, position, other), beside the best
 *                          text-only guess (the kind's most frequent word).
 *   cell_acc, cell_prior   cells head accuracy over every cell of the held-out
 *                          images, beside the majority training label's share;
 *   cell_acc_object,       the same over the cells that hold an object, beside
 *   cell_prior_object      the most frequent training category (only when the
 *                          head is trained or read from the checkpoint). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data_instances.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "metric_retrieval.h"
#include "model_dual_encoder.h"
#include "ops.h"
#include "task_common.h"

enum { KIND_OTHER = 0, KIND_COLOUR, KIND_CATEGORY, KIND_SIZE, KIND_POSITION, N_KINDS };
static const char *const kind_names[N_KINDS] = {"other", "colour", "category", "size", "position"};
#define ITM_EVAL_IMAGES 50
#define CELL_GRID 2 /* the scenes' grid of cells (datasets/gen/gen_scene.h), per side */
#define N_CELLS (CELL_GRID * CELL_GRID)
#define CELLS_MAX_PATCHES 1024

typedef struct {
    int n;
    int *ids, *mask; /* [n,Tt] encoded captions */
    int64_t *image_ids; /* [n] */
    int *cells;      /* [n,N_CELLS] category index of the object in each cell, n_categories
                      * for an empty cell, -100 for an image the instances file lacks */
    TaskImages images;
} PtSplit;

typedef struct {
    KarpathySet set;
    PtSplit train, val;
    int *kind;       /* [V] word kind of every vocabulary entry */
    int prior[N_KINDS]; /* most frequent training word of each kind */
    int colours[64], n_colours;
    int categories[64], n_categories; /* token ids of the one-word category names */
    unsigned objectives; /* PRETRAIN_* */
    int cells_first, step; /* the first cells_first steps train PRETRAIN_CELLS alone; steps so far */
    int has_cells;       /* the cells head is registered (objective on, or a cells-only first stage) */
    InstanceSet inst;    /* instances of the pretraining images (n_images 0 without the file) */
    int have_inst;
    int K;               /* cells head classes: categories + empty */
    int cell_prior, cell_prior_object; /* most frequent training cell label, and category */
    int cells_ready;     /* the cells head is trained or read from the checkpoint */
    int patch_cell[CELLS_MAX_PATCHES], cell_patches[N_CELLS]; /* cell of each patch; patches per cell */
    /* heads */
    Linear mlm_dense, mlm_decoder, itm, text_proj, image_proj, cells;
    LayerNorm mlm_ln;
    int logit_scale;
    Sampler sampler;
    const Tokenizer *tok; /* the backbone's vocabulary (its special tokens) */
    int B, Tt, S, C, V, T;
    /* batch buffers */
    int *ids, *mask, *mids, *targets, *itm_label, *rows, *tg, *cell_label; /* cell_label [B*N_CELLS] */
    float *images, *img_tmp, *dfinal, *dpooled;
    int64_t *iids, *iid_tmp; /* [B] image ids of the batch (models reading cached regions) */
    float *tfeat, *vfeat, *zt, *zv, *ut, *uv, *sim, *dS, *dut, *duv, *dz, *dfeat; /* [B,C] / [B,B] */
    float *mrows, *mh, *mg, *mln, *mln_mean, *mln_rstd, *mlogits, *mprobs, *dml, *dmh, *dmg, *dmln, *drow; /* MLM rows */
    float *cfeat, *clogits, *cprobs, *dclogits, *dcfeat; /* [B*N_CELLS,C] / [B*N_CELLS,K] */
    float itm_logits[2 * 1024], itm_probs[2 * 1024], ditm[2 * 1024];
    int *perm;
} PtState;

static int word_kind_list(PtState *s, const Tokenizer *tok, const char *words, int kind) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", words);
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
        int id = tokenizer_id(tok, w);
        if (!tokenizer_is_special(tok, id)) s->kind[id] = kind;
    }
    return 0;
}

/* Word kinds: from the instances file when there is one (categories, colours,
 * sizes), plus plain English size and position words. */
static int load_kinds(PtState *s, const TaskEnv *env) {
    const Tokenizer *tok = env->tok;
    s->kind = xcalloc(tok->n, sizeof(int));
    word_kind_list(s, tok, "small large tiny big little huge", KIND_SIZE);
    word_kind_list(s, tok, "top bottom left right upper lower center centre middle corner", KIND_POSITION);
    if (!s->have_inst) return 0;
    const InstanceSet in = s->inst;
    for (int i = 0; i < in.n_categories; i++) word_kind_list(s, tok, in.categories[i].name, KIND_CATEGORY);
    for (int i = 0; i < in.n_objects; i++) {
        if (in.objects[i].color) word_kind_list(s, tok, in.objects[i].color, KIND_COLOUR);
        if (in.objects[i].size) word_kind_list(s, tok, in.objects[i].size, KIND_SIZE);
    }
    for (int id = 0; id < tok->n && s->n_colours < 64; id++)
        if (s->kind[id] == KIND_COLOUR) s->colours[s->n_colours++] = id;
    for (int i = 0; i < in.n_categories && s->n_categories < 64; i++) {
        int id = tokenizer_id(tok, in.categories[i].name);
        if (!strchr(in.categories[i].name, ' ') && !tokenizer_is_special(tok, id)) s->categories[s->n_categories++] = id;
    }
    return 0;
}

/* The cell labels of image id into out[N_CELLS]: the category of the object
 * whose box centre lies in the cell, n_categories for an empty cell; all
 * -100 (ignored) when the instances file lacks the image. */
static void cell_labels(const PtState *s, int64_t id, int *out) {
    int k = s->have_inst ? data_instances_find_image(&s->inst, id) : -1;
    for (int c = 0; c < N_CELLS; c++) out[c] = k < 0 ? -100 : s->inst.n_categories;
    if (k < 0) return;
    const InstanceImage *im = &s->inst.images[k];
    for (int i = im->first; i < im->first + im->count; i++) {
        const float *bb = s->inst.objects[i].bbox;
        int cx = (int)((bb[0] + 0.5f * bb[2]) * CELL_GRID / im->width);
        int cy = (int)((bb[1] + 0.5f * bb[3]) * CELL_GRID / im->height);
        cx = cx < 0 ? 0 : cx >= CELL_GRID ? CELL_GRID - 1 : cx;
        cy = cy < 0 ? 0 : cy >= CELL_GRID ? CELL_GRID - 1 : cy;
        out[cy * CELL_GRID + cx] = s->inst.objects[i].category;
    }
}

static int split_load(PtState *s, PtSplit *sp, const TaskEnv *env, const char *split, int limit) {
    int *idx, n;
    if (data_karpathy_select(&s->set, split, &idx, &n) != 0) return -1;
    if (limit > 0 && n > limit) n = limit;
    sp->n = n;
    sp->ids = xcalloc((size_t)n * env->max_text, sizeof(int));
    sp->mask = xcalloc((size_t)n * env->max_text, sizeof(int));
    sp->image_ids = xcalloc(n ? n : 1, sizeof(int64_t));
    sp->cells = xcalloc((size_t)(n ? n : 1) * N_CELLS, sizeof(int));
    const char **paths = xcalloc(n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        const KarpathyImage *im = &s->set.images[idx[i]];
        task_encode_text(env->tok, im->captions[0], env->max_text, sp->ids + (size_t)i * env->max_text,
                         sp->mask + (size_t)i * env->max_text);
        sp->image_ids[i] = im->image_id;
        cell_labels(s, im->image_id, sp->cells + (size_t)i * N_CELLS);
        paths[i] = im->path;
    }
    int rc = task_images_load(&sp->images, paths, n, env->image_size);
    free(paths);
    free(idx);
    return rc;
}

static int pt_load(Task *t, const TaskEnv *env, const char *eval_split) {
    PtState *s = xcalloc(1, sizeof *s);
    t->state = s;
    char path[LAYOUT_PATH_MAX];
    if (data_karpathy_load_part(&s->set, env->data_dir, KARPATHY_PRETRAIN) != 0) return -1;
    s->objectives = env->objectives ? env->objectives : PRETRAIN_DEFAULT;
    s->cells_first = env->cells_first > 0 ? env->cells_first : 0;
    s->has_cells = (s->objectives & PRETRAIN_CELLS) || s->cells_first;
    if (access(data_layout_instances(path, env->data_dir, "pretrain"), R_OK) == 0) {
        if (data_instances_load(&s->inst, path) != 0) return -1;
        s->have_inst = 1;
    } else if (s->has_cells) {
        return err_set("%s: missing; the cells objective takes its labels from it", path);
    }
    s->K = s->have_inst ? s->inst.n_categories + 1 : 0;
    if (split_load(s, &s->train, env, "train,restval", 0) != 0) return -1;
    if (split_load(s, &s->val, env, "val", env->eval_limit) != 0) return -1;
    if (s->val.n < 10)
        return err_set("%s: the val split has %d images; the grounding metrics need >= 10", s->set.file, s->val.n);
    if (load_kinds(s, env) != 0) return -1;
    int *count = xcalloc(env->tok->n, sizeof(int));
    for (size_t i = 0; i < (size_t)s->train.n * env->max_text; i++)
        if (s->train.mask[i]) count[s->train.ids[i]]++;
    for (int k = 0; k < N_KINDS; k++) {
        s->prior[k] = -1;
        for (int id = 0; id < env->tok->n; id++)
            if (!tokenizer_is_special(env->tok, id) && s->kind[id] == k && (s->prior[k] < 0 || count[id] > count[s->prior[k]])) s->prior[k] = id;
    }
    free(count);
    /* the majority guesses of the cells head, from the training cells */
    int *cc = xcalloc(s->K + 1, sizeof(int));
    for (size_t i = 0; i < (size_t)s->train.n * N_CELLS; i++)
        if (s->train.cells[i] >= 0) cc[s->train.cells[i]]++;
    s->cell_prior = s->cell_prior_object = 0;
    for (int k = 0; k < s->K; k++) {
        if (cc[k] > cc[s->cell_prior]) s->cell_prior = k;
        if (k < s->K - 1 && cc[k] > cc[s->cell_prior_object]) s->cell_prior_object = k;
    }
    free(cc);
    s->B = env->batch > 1024 ? 1024 : env->batch;
    s->Tt = env->max_text, s->S = env->image_size, s->V = env->tok->n, s->tok = env->tok;
    return 0;
}

static int pt_max_sequences(const Task *t) { return ((PtState *)t->state)->B; }

static void pt_register_heads(Task *t, Params *p, int d) {
    PtState *s = t->state;
    const ParamGroup g = PARAM_GROUP_PRETRAIN;
    linear_register(p, &s->mlm_dense, "mlm_score.transform.dense", d, d, g);
    layernorm_register(p, &s->mlm_ln, "mlm_score.transform.LayerNorm", d, 1e-12f, g);
    linear_register(p, &s->mlm_decoder, "mlm_score.decoder", d, s->V, g);
    linear_register(p, &s->itm, "itm_score.fc", d, 2, g);
    linear_register(p, &s->text_proj, "itc.text_proj", d, d, g);
    linear_register(p, &s->image_proj, "itc.image_proj", d, d, g);
    s->logit_scale = params_add(p, "itc.logit_scale", 1, (int[]){1}, 0, g);
    if (s->has_cells) linear_register(p, &s->cells, "cells.fc", d, s->K, g);
    s->C = d;
}

/* Which cell each patch token belongs to (by the patch centre): the image
 * tokens are [image CLS; patches row-major] (Model.patch_grid). Models over
 * regions have no patch grid. */
static int cells_layout(PtState *s, const Model *m) {
    int S = m->image_size, g = m->patch_grid, p = g > 0 ? S / g : 0;
    if (g == 0) return err_set("--objectives cells: a %s model has no patch grid", m->cfg.kind);
    if (g < CELL_GRID || g * g > CELLS_MAX_PATCHES || m->n_image_tokens != 1 + g * g)
        return err_set("--objectives cells: %d image tokens, expected 1 + %dx%d patches (at least %dx%d, at most %d)",
                       m->n_image_tokens, g, g, CELL_GRID, CELL_GRID, CELLS_MAX_PATCHES);
    memset(s->cell_patches, 0, sizeof s->cell_patches);
    for (int py = 0; py < g; py++)
        for (int px = 0; px < g; px++) {
            int cy = (py * p + p / 2) * CELL_GRID / S, cx = (px * p + p / 2) * CELL_GRID / S;
            s->patch_cell[py * g + px] = cy * CELL_GRID + cx;
            s->cell_patches[cy * CELL_GRID + cx]++;
        }
    return 0;
}

/* Cells head forward, B images of the last unimodal pass:
 * final [B,T,C] -> cfeat [B*N_CELLS,C] (mean of each cell's patch tokens)
 * -> clogits [B*N_CELLS,K]. */
static void cells_forward(PtState *s, const Model *m, int B) {
    int C = s->C, T = m->T, P = m->n_image_tokens - 1, first = m->Tt + 1;
    memset(s->cfeat, 0, sizeof(float) * B * N_CELLS * C);
    for (int b = 0; b < B; b++)
        for (int q = 0; q < P; q++) {
            int k = s->patch_cell[q];
            const float *x = m->final + ((size_t)b * T + first + q) * C;
            float *f = s->cfeat + ((size_t)b * N_CELLS + k) * C, w = 1.0f / s->cell_patches[k];
            for (int c = 0; c < C; c++) f[c] += w * x[c];
        }
    layer_linear_forward(&m->params, &s->cells, s->clogits, s->cfeat, B * N_CELLS);
}

/* Cells loss (mean cross-entropy over the labelled cells) and its backward:
 * the head's gradients, and dfinal [B,T,C] += the patch rows' share. */
static double cells_loss_backward(PtState *s, Model *m, int B) {
    int C = s->C, T = m->T, P = m->n_image_tokens - 1, first = m->Tt + 1, N = B * N_CELLS, cnt;
    cells_forward(s, m, B);
    double loss = crossentropy_forward(s->cprobs, s->clogits, s->cell_label, N, s->K, -100, &cnt);
    if (!cnt) return 0.0;
    memset(s->dclogits, 0, sizeof(float) * N * s->K);
    crossentropy_backward(s->dclogits, s->cprobs, s->cell_label, N, s->K, -100, cnt, 1.0f);
    memset(s->dcfeat, 0, sizeof(float) * N * C);
    layer_linear_backward(&m->params, &s->cells, s->dcfeat, s->dclogits, s->cfeat, N);
    for (int b = 0; b < B; b++)
        for (int q = 0; q < P; q++) {
            int k = s->patch_cell[q];
            const float *df = s->dcfeat + ((size_t)b * N_CELLS + k) * C;
            float *dx = s->dfinal + ((size_t)b * T + first + q) * C, w = 1.0f / s->cell_patches[k];
            for (int c = 0; c < C; c++) dx[c] += w * df[c];
        }
    return loss;
}

static int pt_init_heads(Task *t, Model *m, Rng *rng, const StFile *init) {
    PtState *s = t->state;
    Params *p = &m->params;
    Linear *lins[] = {&s->mlm_dense, &s->mlm_decoder, &s->itm, &s->text_proj, &s->image_proj};
    for (int i = 0; i < 5; i++) linear_init(p, lins[i], rng);
    layernorm_init(p, &s->mlm_ln);
    params_data(p, s->logit_scale)[0] = logf(1.0f / 0.07f); /* CLIP's initial temperature */
    int cells = s->has_cells;
    if (cells) {
        linear_init(p, &s->cells, rng);
        if (cells_layout(s, m) != 0) return -1;
    }
    if (init && task_heads_from_checkpoint(p, PARAM_GROUP_PRETRAIN, init) < 0) return -1;
    /* trained here, or read from the checkpoint (an --eval) */
    s->cells_ready = cells && (!init || safetensors_find(init, "cells.fc.weight"));
    params_set_trainable_group(p, PARAM_GROUP_PRETRAIN, 1);
    sampler_init(&s->sampler, s->train.n);
    s->T = m->T;
    size_t B = (size_t)s->B, C = (size_t)s->C, Tt = (size_t)s->Tt, V = (size_t)s->V, S = (size_t)s->S;
    size_t R = B * Tt; /* at most every text position is masked */
    s->ids = xcalloc(B * Tt, sizeof(int)), s->mask = xcalloc(B * Tt, sizeof(int));
    s->mids = xcalloc(B * Tt, sizeof(int)), s->targets = xcalloc(R, sizeof(int));
    s->itm_label = xcalloc(B, sizeof(int)), s->rows = xcalloc(R, sizeof(int)), s->perm = xcalloc(B, sizeof(int));
    s->images = xcalloc(B * 3 * S * S, sizeof(float));
    s->img_tmp = xcalloc(B * 3 * S * S, sizeof(float));
    s->iids = xcalloc(B, sizeof(int64_t)), s->iid_tmp = xcalloc(B, sizeof(int64_t));
    s->dfinal = xcalloc(B * s->T * C, sizeof(float)), s->dpooled = xcalloc(B * C, sizeof(float));
    float **bc[] = {&s->tfeat, &s->vfeat, &s->zt, &s->zv, &s->ut, &s->uv, &s->dut, &s->duv, &s->dz, &s->dfeat};
    for (int i = 0; i < 10; i++) *bc[i] = xcalloc(B * C, sizeof(float));
    s->sim = xcalloc(B * B, sizeof(float)), s->dS = xcalloc(B * B, sizeof(float));
    float **rc[] = {&s->mrows, &s->mh, &s->mg, &s->mln, &s->dmh, &s->dmg, &s->dmln, &s->drow};
    for (int i = 0; i < 8; i++) *rc[i] = xcalloc(R * C, sizeof(float));
    s->tg = xcalloc(R, sizeof(int));
    size_t N = B * N_CELLS, K = s->K ? (size_t)s->K : 1;
    s->cell_label = xcalloc(N, sizeof(int));
    s->cfeat = xcalloc(N * C, sizeof(float)), s->dcfeat = xcalloc(N * C, sizeof(float));
    s->clogits = xcalloc(N * K, sizeof(float)), s->cprobs = xcalloc(N * K, sizeof(float));
    s->dclogits = xcalloc(N * K, sizeof(float));
    s->mln_mean = xcalloc(R, sizeof(float)), s->mln_rstd = xcalloc(R, sizeof(float));
    s->mlogits = xcalloc(R * V, sizeof(float)), s->mprobs = xcalloc(R * V, sizeof(float));
    s->dml = xcalloc(R * V, sizeof(float));
    return 0;
}

/* Fill text (ids of example ex[b]) and images (of example img[b]). */
static void fill(PtState *s, const PtSplit *sp, const int *ex, const int *img, int B) {
    size_t Tt = (size_t)s->Tt, px = (size_t)3 * s->S * s->S;
    for (int b = 0; b < B; b++) {
        memcpy(s->ids + b * Tt, sp->ids + (size_t)ex[b] * Tt, Tt * sizeof(int));
        memcpy(s->mask + b * Tt, sp->mask + (size_t)ex[b] * Tt, Tt * sizeof(int));
        task_image_to_input(image_cache_get(&sp->images.cache, sp->images.slot[img[b]]), s->S, s->images + b * px);
        s->iids[b] = sp->image_ids[img[b]];
        memcpy(s->cell_label + (size_t)b * N_CELLS, sp->cells + (size_t)img[b] * N_CELLS, N_CELLS * sizeof(int));
    }
}

/* dz += (du - u (u . du)) / |z| */
static void normalize_backward(float *dz, const float *du, const float *u, const float *z, int B, int C) {
    for (int b = 0; b < B; b++) {
        double ss = 0, dot = 0;
        for (int c = 0; c < C; c++) ss += (double)z[b * C + c] * z[b * C + c], dot += (double)u[b * C + c] * du[b * C + c];
        float inv = (float)(1.0 / sqrt(ss + 1e-12));
        for (int c = 0; c < C; c++) dz[b * C + c] += (du[b * C + c] - u[b * C + c] * (float)dot) * inv;
    }
}

/* Unimodal forward + ITC features: s->uv, s->ut (normalised), s->sim = cos. */
static int itc_forward(PtState *s, Model *m, int B) {
    ModelInput in = {B, s->ids, s->mask, s->images, NULL, ATTN_SEPARATE, s->iids};
    if (model_forward(m, &in) != 0) return -1;
    dual_encoder_pool(m, s->mask, B, s->tfeat, s->vfeat);
    const Params *p = &m->params;
    layer_linear_forward(p, &s->text_proj, s->zt, s->tfeat, B);
    layer_linear_forward(p, &s->image_proj, s->zv, s->vfeat, B);
    dual_encoder_normalize(s->ut, s->zt, B, s->C);
    dual_encoder_normalize(s->uv, s->zv, B, s->C);
    /* sim[i,j] = image i . text j */
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double d = 0;
            for (int c = 0; c < s->C; c++) d += (double)s->uv[i * s->C + c] * s->ut[j * s->C + c];
            s->sim[i * B + j] = (float)d;
        }
    return 0;
}

/* ITC loss and its backward: the heads' gradients, dfinal [B,T,C] += the
 * pooled rows' share (the caller zeroes dfinal and runs the backward). */
static double itc_loss_backward(PtState *s, Model *m, int B) {
    Params *p = &m->params;
    float ls = params_data(p, s->logit_scale)[0];
    if (ls > logf(100.0f)) ls = params_data(p, s->logit_scale)[0] = logf(100.0f); /* CLIP's clamp */
    float scale = expf(ls);
    double loss = 0, dls = 0;
    memset(s->dS, 0, sizeof(float) * B * B);
    /* rows: image -> texts; columns: text -> images; both soft-maxed */
    for (int dir = 0; dir < 2; dir++)
        for (int i = 0; i < B; i++) {
            double mx = -1e30, sum = 0;
            for (int j = 0; j < B; j++) mx = fmax(mx, scale * s->sim[dir ? j * B + i : i * B + j]);
            for (int j = 0; j < B; j++) sum += exp(scale * s->sim[dir ? j * B + i : i * B + j] - mx);
            loss += (log(sum) + mx - scale * s->sim[i * B + i]) / (2.0 * B);
            for (int j = 0; j < B; j++) {
                int at = dir ? j * B + i : i * B + j;
                double pr = exp(scale * s->sim[at] - mx) / sum, g = (pr - (i == j)) / (2.0 * B);
                s->dS[at] += (float)(g * scale);
                dls += g * scale * s->sim[at];
            }
        }
    float *dl = params_grad(p, s->logit_scale);
    if (dl) dl[0] += (float)dls;
    int C = s->C;
    /* duv = dS ut; dut = dS^T uv */
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            double a = 0, b2 = 0;
            for (int j = 0; j < B; j++) a += (double)s->dS[i * B + j] * s->ut[j * C + c], b2 += (double)s->dS[j * B + i] * s->uv[j * C + c];
            s->duv[i * C + c] = (float)a, s->dut[i * C + c] = (float)b2;
        }
    int T = m->T, Tt = s->Tt, P1 = m->n_image_tokens;
    float *dzs[2] = {s->dut, s->duv};
    const float *us[2] = {s->ut, s->uv}, *zs[2] = {s->zt, s->zv}, *feats[2] = {s->tfeat, s->vfeat};
    const Linear *proj[2] = {&s->text_proj, &s->image_proj};
    for (int k = 0; k < 2; k++) {
        memset(s->dz, 0, sizeof(float) * B * C);
        normalize_backward(s->dz, dzs[k], us[k], zs[k], B, C);
        memset(s->dfeat, 0, sizeof(float) * B * C);
        layer_linear_backward(p, proj[k], s->dfeat, s->dz, feats[k], B);
        for (int b = 0; b < B; b++) {
            if (k == 0) {
                int nt = 0;
                for (int t = 0; t < Tt; t++) nt += s->mask[b * Tt + t];
                for (int t = 0; t < Tt; t++)
                    if (s->mask[b * Tt + t])
                        for (int c = 0; c < C; c++) s->dfinal[((size_t)b * T + t) * C + c] += s->dfeat[b * C + c] / nt;
            } else {
                for (int t = Tt; t < Tt + P1; t++)
                    for (int c = 0; c < C; c++) s->dfinal[((size_t)b * T + t) * C + c] += s->dfeat[b * C + c] / P1;
            }
        }
    }
    return loss;
}

/* ViLT's MLM masking on mids (a copy of ids): 15% of the real words chosen
 * (at least one); of those 80% [MASK], 10% a random word, 10% unchanged.
 * Every row is masked, true and false ITM pairs alike, so the presence of
 * [MASK] says nothing about the ITM label (ViLT runs MLM and ITM as separate
 * passes; one joint pass saves a third forward). Targets: the chosen word on
 * rows that count (true pairs), else -100. */
static void mask_words(PtState *s, int B, const int *counts, Rng *rng) {
    int Tt = s->Tt;
    memcpy(s->mids, s->ids, sizeof(int) * B * Tt);
    for (int b = 0; b < B; b++) {
        int chosen = 0, first_word = -1;
        for (int t = 0; t < Tt; t++) {
            int at = b * Tt + t, id = s->ids[at];
            s->targets[at] = -100;
            if (!s->mask[at] || tokenizer_is_special(s->tok, id)) continue;
            if (first_word < 0) first_word = t;
            if (rng_uniform(rng) < 0.15f) {
                chosen++;
                s->targets[at] = id;
            }
        }
        if (!chosen && first_word >= 0) s->targets[b * Tt + first_word] = s->ids[b * Tt + first_word];
        for (int t = 0; t < Tt; t++) {
            int at = b * Tt + t;
            if (s->targets[at] < 0) continue;
            s->mids[at] = task_mask_replace(s->ids[at], s->tok, rng);
            if (!counts[b]) s->targets[at] = -100;
        }
    }
}

/* Swaps the first word of row [Tt] (mask [Tt]) that is in pool[n] and does
 * not continue a multi-word category name ("t shirt") for pool entry pick
 * (the next one when pick names the word itself); 0 when no word qualifies. */
static int swap_first_word(const PtState *s, int *row, const int *mask, const int *pool, int n, int pick) {
    for (int t = 0; t < s->Tt && n > 1; t++) {
        if (!mask[t] || (t > 0 && s->kind[row[t - 1]] == KIND_CATEGORY)) continue;
        for (int k = 0; k < n; k++)
            if (row[t] == pool[k]) {
                int other = pool[pick % n];
                row[t] = other != row[t] ? other : pool[(pick + 1) % n];
                return 1;
            }
    }
    return 0;
}

/* MLM head on the rows of final listed in s->rows (n of them): logits into
 * s->mlogits. */
static void mlm_forward(PtState *s, const Model *m, int n) {
    const Params *p = &m->params;
    int C = s->C;
    for (int r = 0; r < n; r++) memcpy(s->mrows + (size_t)r * C, m->final + (size_t)s->rows[r] * C, C * sizeof(float));
    layer_linear_forward(p, &s->mlm_dense, s->mh, s->mrows, n);
    gelu_forward(s->mg, s->mh, (size_t)n * C);
    layer_layernorm_forward(p, &s->mlm_ln, s->mln, s->mln_mean, s->mln_rstd, s->mg, n);
    layer_linear_forward(p, &s->mlm_decoder, s->mlogits, s->mln, n);
}

static double joint_step(PtState *s, Model *m, Rng *rng, int B) {
    Params *p = &m->params;
    int Tt = s->Tt, C = s->C, T = m->T, itm = s->objectives & PRETRAIN_ITM;
    int hard = (s->objectives & PRETRAIN_ITC) && (s->objectives & PRETRAIN_HARD);
    int swap = s->objectives & PRETRAIN_SWAP;
    /* ITM pairs: half true; with "swap", a third of the false pairs keep the
     * image and swap a category word of the caption; the others take an
     * ITC-mined hard image half of the time (sampled by similarity; random
     * without ITC or "hard"), a random one otherwise. Without ITM every pair
     * is true (MLM only). */
    int img[1024], counts[1024];
    float scale = expf(params_data(p, s->logit_scale)[0]);
    for (int b = 0; b < B; b++) {
        img[b] = b;
        s->itm_label[b] = 1;
        if (itm && B > 1 && rng_uniform(rng) < 0.5f) {
            int j;
            if (swap && rng_uniform(rng) < 1.0f / 3.0f &&
                swap_first_word(s, s->ids + (size_t)b * Tt, s->mask + (size_t)b * Tt, s->categories, s->n_categories,
                                (int)rng_below(rng, (uint32_t)s->n_categories))) {
                j = b;
            } else if (hard && rng_uniform(rng) < 0.5f) {
                double tot = 0, w[1024];
                for (int i = 0; i < B; i++) tot += (w[i] = i == b ? 0 : exp(scale * (s->sim[i * B + b] - 1)));
                double u = rng_uniform(rng) * tot;
                for (j = 0; j < B - 1 && (u -= w[j]) > 0; j++) {
                }
                if (j == b) j = (b + 1) % B;
            } else {
                j = (b + 1 + (int)rng_below(rng, (uint32_t)(B - 1))) % B;
            }
            img[b] = j;
            s->itm_label[b] = 0;
        }
        counts[b] = s->itm_label[b];
    }
    /* images of this batch are already in s->images in order ex; permute */
    size_t px = (size_t)3 * s->S * s->S;
    memcpy(s->img_tmp, s->images, sizeof(float) * B * px);
    for (int b = 0; b < B; b++) memcpy(s->images + b * px, s->img_tmp + (size_t)img[b] * px, px * sizeof(float));
    memcpy(s->iid_tmp, s->iids, sizeof(int64_t) * B);
    for (int b = 0; b < B; b++) s->iids[b] = s->iid_tmp[img[b]];
    mask_words(s, B, counts, rng);
    ModelInput in = {B, s->mids, s->mask, s->images, NULL, ATTN_FULL, s->iids};
    if (model_forward(m, &in) != 0) return NAN;
    /* ITM */
    int cnt;
    double loss = 0.0;
    memset(s->dpooled, 0, sizeof(float) * B * C);
    if (itm) {
        layer_linear_forward(p, &s->itm, s->itm_logits, m->pooled, B);
        loss = crossentropy_forward(s->itm_probs, s->itm_logits, s->itm_label, B, 2, -100, &cnt);
        memset(s->ditm, 0, sizeof(float) * 2 * B);
        crossentropy_backward(s->ditm, s->itm_probs, s->itm_label, B, 2, -100, cnt, 1.0f);
        layer_linear_backward(p, &s->itm, s->dpooled, s->ditm, m->pooled, B);
    }
    /* MLM on the masked rows of true pairs */
    int n = 0, *tg = s->tg;
    for (int b = 0; b < B && (s->objectives & PRETRAIN_MLM); b++)
        for (int t = 0; t < Tt; t++)
            if (s->targets[b * Tt + t] >= 0) {
                s->rows[n] = b * T + t;
                tg[n++] = s->targets[b * Tt + t];
            }
    memset(s->dfinal, 0, sizeof(float) * B * T * C);
    if (n > 0) {
        mlm_forward(s, m, n);
        loss += crossentropy_forward(s->mprobs, s->mlogits, tg, n, s->V, -100, &cnt);
        memset(s->dml, 0, sizeof(float) * n * s->V);
        crossentropy_backward(s->dml, s->mprobs, tg, n, s->V, -100, cnt, 1.0f);
        memset(s->dmln, 0, sizeof(float) * n * C);
        layer_linear_backward(p, &s->mlm_decoder, s->dmln, s->dml, s->mln, n);
        memset(s->dmg, 0, sizeof(float) * n * C);
        layer_layernorm_backward(p, &s->mlm_ln, s->dmg, s->dmln, s->mg, s->mln_mean, s->mln_rstd, n);
        memset(s->dmh, 0, sizeof(float) * n * C);
        gelu_backward(s->dmh, s->mh, s->dmg, (size_t)n * C);
        memset(s->drow, 0, sizeof(float) * n * C);
        layer_linear_backward(p, &s->mlm_dense, s->drow, s->dmh, s->mrows, n);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < C; c++) s->dfinal[(size_t)s->rows[r] * C + c] += s->drow[(size_t)r * C + c];
    }
    model_backward(m, &in, s->dfinal, s->dpooled);
    return loss;
}

static int int_cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static double pt_train_step(Task *t, Model *m, Rng *rng) {
    PtState *s = t->state;
    int B = s->B, ex[1024];
    for (int b = 0; b < B; b++) ex[b] = sampler_next(&s->sampler, rng);
    /* in index order: the batch is a set, and its order then depends on the
     * rng alone (the sampler's carried-over permutation does not leak in) */
    qsort(ex, B, sizeof(int), int_cmp);
    fill(s, &s->train, ex, ex, B);
    double loss = 0.0;
    unsigned obj = s->step++ < s->cells_first ? PRETRAIN_CELLS : s->objectives;
    /* the unimodal pass: ITC and the image-only cells objective */
    if (obj & (PRETRAIN_ITC | PRETRAIN_CELLS)) {
        if (itc_forward(s, m, B) != 0) return NAN;
        memset(s->dfinal, 0, sizeof(float) * B * m->T * s->C);
        if (obj & PRETRAIN_ITC) loss += itc_loss_backward(s, m, B);
        if (obj & PRETRAIN_CELLS) loss += cells_loss_backward(s, m, B);
        ModelInput in = {B, s->ids, s->mask, s->images, NULL, ATTN_SEPARATE, s->iids};
        model_backward(m, &in, s->dfinal, NULL);
    }
    if (!(obj & (PRETRAIN_MLM | PRETRAIN_ITM))) return loss;
    return loss + joint_step(s, m, rng, B);
}

/* ITM scores (logit match - logit no-match) of n pairs (text txt[i] with
 * image img[i] of the split; text rows from ids_override [n,Tt] if given). */
static int itm_scores(PtState *s, Model *m, const PtSplit *sp, const int *txt, const int *img,
                      const int *ids_override, int n, float *out) {
    size_t Tt = (size_t)s->Tt;
    for (int start = 0; start < n; start += s->B) {
        int B = n - start < s->B ? n - start : s->B;
        fill(s, sp, txt + start, img + start, B);
        if (ids_override) memcpy(s->ids, ids_override + (size_t)start * Tt, sizeof(int) * B * Tt);
        ModelInput in = {B, s->ids, s->mask, s->images, NULL, ATTN_FULL, s->iids};
        if (model_forward(m, &in) != 0) return -1;
        layer_linear_forward(&m->params, &s->itm, s->itm_logits, m->pooled, B);
        for (int b = 0; b < B; b++) out[start + b] = s->itm_logits[2 * b + 1] - s->itm_logits[2 * b];
    }
    return 0;
}

static int eval_itc(PtState *s, Model *m, const PtSplit *sp, MetricList *out) {
    int n = sp->n, C = s->C;
    float *uv = xcalloc((size_t)n * C, sizeof(float)), *ut = xcalloc((size_t)n * C, sizeof(float));
    int idx[1024], rc = 0;
    for (int start = 0; start < n && rc == 0; start += s->B) {
        int B = n - start < s->B ? n - start : s->B;
        for (int b = 0; b < B; b++) idx[b] = start + b;
        fill(s, sp, idx, idx, B);
        rc = itc_forward(s, m, B);
        memcpy(uv + (size_t)start * C, s->uv, sizeof(float) * B * C);
        memcpy(ut + (size_t)start * C, s->ut, sizeof(float) * B * C);
    }
    float *scores = xcalloc((size_t)n * n, sizeof(float));
    int64_t *ids = xcalloc(n, sizeof(int64_t));
    for (int i = 0; i < n; i++) {
        ids[i] = i;
        for (int j = 0; j < n; j++) {
            double d = 0;
            for (int c = 0; c < C; c++) d += (double)uv[(size_t)i * C + c] * ut[(size_t)j * C + c];
            scores[(size_t)i * n + j] = (float)d;
        }
    }
    IrtrRecall r;
    if (rc == 0) rc = metric_retrieval_recall(scores, n, n, ids, ids, &r);
    if (rc == 0) {
        task_metrics_add(out, "itc_ir_r1", 100.0 * r.ir_r1);
        task_metrics_add(out, "itc_tr_r1", 100.0 * r.tr_r1);
        task_metrics_add(out, "itc_ir_r5", 100.0 * r.ir_r5);
        task_metrics_add(out, "chance_r1", 100.0 / n);
    }
    free(uv), free(ut), free(scores), free(ids);
    return rc;
}

/* Swap the first word of each caption that is in pool[n] for another
 * (caption i takes pool entry i + 1); rows without such a word are left out
 * (*kept gets the example indices). */
static int hard_negatives(const PtState *s, const PtSplit *sp, const int *pool, int n, int *ids_out, int *kept) {
    int m = 0;
    size_t Tt = (size_t)s->Tt;
    for (int i = 0; i < sp->n; i++) {
        int *row = ids_out + (size_t)m * Tt;
        memcpy(row, sp->ids + (size_t)i * Tt, Tt * sizeof(int));
        if (swap_first_word(s, row, sp->mask + (size_t)i * Tt, pool, n, i + 1)) kept[m++] = i;
    }
    return m;
}

/* ITM on true pairs (scores true_sc[n] of the split) against one-word hard
 * negatives from pool[n_pool]: itm_acc_hard<suffix> and itm_rank_hard<suffix>. */
static int eval_itm_hard(PtState *s, Model *m, const PtSplit *sp, const float *true_sc, const int *pool, int n_pool,
                         const char *suffix, MetricList *out) {
    int n = sp->n, rc = 0;
    int *hid = xcalloc((size_t)n * s->Tt, sizeof(int)), *kept = xcalloc(n, sizeof(int));
    float *sc = xcalloc(n, sizeof(float));
    int h = hard_negatives(s, sp, pool, n_pool, hid, kept);
    if (h > 0) rc = itm_scores(s, m, sp, kept, kept, hid, h, sc);
    if (h > 0 && rc == 0) {
        int correct = 0, ranked = 0;
        for (int i = 0; i < h; i++) {
            correct += (true_sc[kept[i]] > 0) + (sc[i] <= 0);
            ranked += true_sc[kept[i]] > sc[i];
        }
        char name[64];
        snprintf(name, sizeof name, "itm_acc_hard%s", suffix);
        task_metrics_add(out, name, 100.0 * correct / (2 * h));
        snprintf(name, sizeof name, "itm_rank_hard%s", suffix);
        task_metrics_add(out, name, 100.0 * ranked / h);
    }
    free(hid), free(kept), free(sc);
    return rc;
}

static int eval_itm(PtState *s, Model *m, const PtSplit *sp, MetricList *out) {
    int n = sp->n, rc = 0;
    int *txt = xcalloc(2 * (size_t)n, sizeof(int)), *img = xcalloc(2 * (size_t)n, sizeof(int));
    float *sc = xcalloc(2 * (size_t)n, sizeof(float));
    for (int i = 0; i < n; i++) txt[i] = img[i] = img[n + i] = i, txt[n + i] = (i + n / 2) % n;
    rc = itm_scores(s, m, sp, txt, img, NULL, 2 * n, sc);
    int correct = 0;
    for (int i = 0; i < 2 * n; i++) correct += (sc[i] > 0) == (i < n);
    if (rc == 0) task_metrics_add(out, "itm_acc_random", 100.0 * correct / (2 * n));
    /* hard negatives: the true pair against the caption with one colour
     * (category) word swapped */
    if (rc == 0) rc = eval_itm_hard(s, m, sp, sc, s->colours, s->n_colours, "", out);
    if (rc == 0) rc = eval_itm_hard(s, m, sp, sc, s->categories, s->n_categories, "_category", out);
    /* ITM retrieval over the first images: all pairs */
    int k = n < ITM_EVAL_IMAGES ? n : ITM_EVAL_IMAGES;
    int *ti = xcalloc((size_t)k * k, sizeof(int)), *ii = xcalloc((size_t)k * k, sizeof(int));
    float *all = xcalloc((size_t)k * k, sizeof(float));
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) ii[i * k + j] = i, ti[i * k + j] = j;
    if (rc == 0) rc = itm_scores(s, m, sp, ti, ii, NULL, k * k, all);
    int64_t ids[ITM_EVAL_IMAGES];
    for (int i = 0; i < k; i++) ids[i] = i;
    IrtrRecall r;
    if (rc == 0 && k >= 10 && metric_retrieval_recall(all, k, k, ids, ids, &r) == 0) {
        task_metrics_add(out, "itm_ir_r1", 100.0 * r.ir_r1);
        task_metrics_add(out, "itm_tr_r1", 100.0 * r.tr_r1);
    }
    free(txt), free(img), free(sc), free(ti), free(ii), free(all);
    return rc;
}

/* MLM on word kind k, every word of the kind masked at once: how many masked
 * words the model gets right, the prediction taken among the kind's words
 * (the text-only guess knows the kind too, and with every word of a kind
 * masked the text may no longer say which slots hold one), how many the
 * text-only guess (the kind's most frequent training word) gets right, out
 * of how many. wrong_image: each caption with the image of the pair n/2
 * further on, the control that shows how much the image contributes. */
static int mlm_kind_hits(PtState *s, Model *m, const PtSplit *sp, int k, int wrong_image, int *hits,
                         int *prior_hits, int *total) {
    int n = sp->n, Tt = s->Tt, T = m->T, idx[1024], img[1024];
    *hits = *prior_hits = *total = 0;
    for (int start = 0; start < n; start += s->B) {
        int B = n - start < s->B ? n - start : s->B, nr = 0;
        for (int b = 0; b < B; b++) idx[b] = start + b, img[b] = wrong_image ? (start + b + n / 2) % n : start + b;
        fill(s, sp, idx, img, B);
        memcpy(s->mids, s->ids, sizeof(int) * B * Tt);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tt; t++) {
                int id = s->ids[b * Tt + t];
                if (!s->mask[b * Tt + t] || tokenizer_is_special(s->tok, id) || s->kind[id] != k) continue;
                s->mids[b * Tt + t] = s->tok->mask;
                s->rows[nr] = b * T + t;
                s->tg[nr++] = id;
            }
        if (!nr) continue;
        ModelInput in = {B, s->mids, s->mask, s->images, NULL, ATTN_FULL, s->iids};
        if (model_forward(m, &in) != 0) return -1;
        mlm_forward(s, m, nr);
        for (int r = 0; r < nr; r++) {
            const float *row = s->mlogits + (size_t)r * s->V;
            int best = -1;
            for (int j = 0; j < s->V; j++)
                if (!tokenizer_is_special(s->tok, j) && s->kind[j] == k && (best < 0 || row[j] > row[best])) best = j;
            *hits += best == s->tg[r];
            *prior_hits += s->tg[r] == s->prior[k];
            ++*total;
        }
    }
    return 0;
}

/* Per word kind: mlm_acc_<kind> (true pairs), mlm_wrongimg_<kind> (captions
 * with another pair's image) and mlm_prior_<kind> (the text-only guess). */
static int eval_mlm(PtState *s, Model *m, const PtSplit *sp, MetricList *out) {
    for (int k = 0; k < N_KINDS; k++) {
        int hits, prior_hits, total, wrong_hits;
        if (mlm_kind_hits(s, m, sp, k, 0, &hits, &prior_hits, &total) != 0 ||
            mlm_kind_hits(s, m, sp, k, 1, &wrong_hits, &prior_hits, &total) != 0)
            return -1;
        if (!total) continue;
        char name[METRIC_NAME_MAX];
        snprintf(name, sizeof name, "mlm_acc_%s", kind_names[k]);
        task_metrics_add(out, name, 100.0 * hits / total);
        snprintf(name, sizeof name, "mlm_wrongimg_%s", kind_names[k]);
        task_metrics_add(out, name, 100.0 * wrong_hits / total);
        snprintf(name, sizeof name, "mlm_prior_%s", kind_names[k]);
        task_metrics_add(out, name, 100.0 * prior_hits / total);
    }
    return 0;
}

/* Cells head on the held-out images (unimodal pass): accuracy over every
 * labelled cell and over the cells holding an object, beside the majority
 * training label and category. */
static int eval_cells(PtState *s, Model *m, const PtSplit *sp, MetricList *out) {
    int n = sp->n, idx[1024], hits = 0, total = 0, prior = 0, ohits = 0, ototal = 0, oprior = 0;
    for (int start = 0; start < n; start += s->B) {
        int B = n - start < s->B ? n - start : s->B;
        for (int b = 0; b < B; b++) idx[b] = start + b;
        fill(s, sp, idx, idx, B);
        if (itc_forward(s, m, B) != 0) return -1;
        cells_forward(s, m, B);
        for (int r = 0; r < B * N_CELLS; r++) {
            int y = s->cell_label[r], best = 0;
            if (y < 0) continue;
            const float *row = s->clogits + (size_t)r * s->K;
            for (int k = 1; k < s->K; k++) best = row[k] > row[best] ? k : best;
            hits += best == y, prior += y == s->cell_prior, total++;
            if (y == s->K - 1) continue;
            ohits += best == y, oprior += y == s->cell_prior_object, ototal++;
        }
    }
    if (total) task_metrics_add(out, "cell_acc", 100.0 * hits / total), task_metrics_add(out, "cell_prior", 100.0 * prior / total);
    if (ototal) {
        task_metrics_add(out, "cell_acc_object", 100.0 * ohits / ototal);
        task_metrics_add(out, "cell_prior_object", 100.0 * oprior / ototal);
    }
    return 0;
}

static int pt_evaluate(Task *t, Model *m, const char *split, MetricList *out, const char *pred_path) {
    PtState *s = t->state;
    (void)split;
    (void)pred_path;
    if (eval_itc(s, m, &s->val, out) != 0 || eval_itm(s, m, &s->val, out) != 0 || eval_mlm(s, m, &s->val, out) != 0)
        return -1;
    if (s->cells_ready && eval_cells(s, m, &s->val, out) != 0) return -1;
    task_metrics_add(out, "pairs", s->val.n);
    return 0;
}

static void split_free(PtSplit *sp) {
    free(sp->ids), free(sp->mask), free(sp->image_ids), free(sp->cells);
    task_images_free(&sp->images);
}

static void pt_destroy(Task *t) {
    PtState *s = t->state;
    if (!s) return;
    data_karpathy_free(&s->set);
    split_free(&s->train), split_free(&s->val);
    sampler_free(&s->sampler);
    free(s->kind);
    if (s->have_inst) data_instances_free(&s->inst);
    void *bufs[] = {s->ids, s->mask, s->mids, s->targets, s->itm_label, s->rows, s->tg, s->perm, s->images,
                    s->img_tmp, s->dfinal, s->dpooled, s->tfeat, s->vfeat, s->zt, s->zv, s->ut, s->uv, s->sim,
                    s->dS, s->dut, s->duv, s->dz, s->dfeat, s->mrows, s->mh, s->mg, s->mln, s->mln_mean,
                    s->mln_rstd, s->mlogits, s->mprobs, s->dml, s->dmh, s->dmg, s->dmln, s->drow, s->iids, s->iid_tmp,
                    s->cell_label, s->cfeat, s->dcfeat, s->clogits, s->cprobs, s->dclogits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(s);
}

const TaskOps task_pretrain = {
    .name = "pretrain",
    .summary = "pretraining: MLM + ITM (hard negatives) + ITC on mean-pooled unimodal features (+ optional image-only "
                "cells); grounding metrics",
    .primary_metric = "itc_ir_r1",
    .head_lr_mult = 1.0f,
    .load = pt_load,
    .max_sequences = pt_max_sequences,
    .register_heads = pt_register_heads,
    .init_heads = pt_init_heads,
    .train_step = pt_train_step,
    .evaluate = pt_evaluate,
    .destroy = pt_destroy,
};
