/* moil: Momentum Imitation Learning, as the official code trains it
 * (docs/methods.md, "MoIL").
 *
 * Per layer, for each --targets projection (q, k, v by default), Linear
 * y = W x + b with pretrained W0, b0:
 *   online teacher   W, b: the backbone's own entries, trained by the task
 *                    loss (the rest of the backbone frozen);
 *   momentum teacher W_ema, b_ema: start at W0, b0; at the start of every
 *                    step but the first, before its imitation loss,
 *                    W_ema = m W_ema + (1 - m) W;
 *   student          W_hat = (W0 + B_l A_l)(I + B_a A_a)
 *                    b_hat = (W0 + B_l A_l)(B_a a_A + b_B) + b0
 *                    A_l [r_l,d] Kaiming-uniform, B_l [d,r_l] zero (one pair
 *                    per projection, no scale); adapter A_a [r_a,d] Xavier-
 *                    uniform with bias a_A = 0, B_a [d,r_a] zero with bias
 *                    b_B = 0, one per layer shared by the projections.
 *   imitation loss   s * sum over layers and projections of
 *                    mean((W_ema - W_hat)^2) + mean((b_ema - b_hat)^2),
 *                    reaching only the student's factors (W_ema constant).
 *                    The official code computes none at the first step, so
 *                    the student's tensors have no gradient then: AdamW
 *                    moves them from the second step on (first_step = 2),
 *                    their bias correction counting from there.
 * The student never sees data. Evaluation folds W_hat, b_hat into plain
 * weights ("student", the reported number) and also evaluates the EMA and
 * the online teacher. Ablations: --student lora (W_hat = W0 + B_l A_l),
 * --student adapter (W_hat = W0 (I + B_a A_a)), --momentum 0 (imitate the
 * online weights directly), --targets subsets.
 *
 * Momentum: the official m = 0.9996 remembers ~2,500 updates; in a short
 * run the EMA would stay near W0 (docs/methods.md, "Two choices at our run
 * lengths"). --momentum auto
 * (the default) uses m = min(0.9996, 1 - 5/steps), so the EMA spans the run;
 * the value used is recorded with the run (describe). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method_lora.h"
#include "method_merge.h"

typedef struct {
    Linear *lin;
    int W0, b0;       /* pretrained copies [d,d], [d] (frozen, not stored) */
    int Wema, bema;   /* momentum teacher [d,d], [d] (not trained, not stored) */
    int A, B;         /* student LoRA [r_l,d], [d,r_l]; -1 without */
    int layer;
    float *saved_w, *saved_b; /* online weights while a variant is applied */
} MoilTarget;

typedef struct {
    int Aa, aA, Ba, bB; /* adapter [r_a,d], [r_a], [d,r_a], [d]; -1 without */
} MoilAdapter;

typedef struct {
    MoilTarget *t;
    int n;
    MoilAdapter *ad; /* [layers] */
    int d, rl, ra;
    double momentum; /* the rate in use */
    int applied;     /* variant applied, -1 none */
    /* scratch for the imitation loss */
    float *M, *What, *G, *dM, *Mb, *GAt, *c, *bhat, *g, *dc; /* [d,d] x4, [d,r_a] x2, [d] x4 */
} MoilState;

static const char *const variant_names[] = {"student", "ema", "online"};

static void prefix_of(const Params *p, const Linear *lin, char *out) {
    strcpy(out, p->info[lin->w].name);
    out[strlen(out) - strlen(".weight")] = 0;
}

static int add(Params *p, const char *prefix, const char *what, int ndim, const int *shape) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", prefix, what);
    /* weight decay on matrices only, as the official optimiser groups do
     * (names with bias or norm are exempt) */
    return params_add(p, name, ndim, shape, ndim == 2, PARAM_GROUP_METHOD);
}

static int moil_add_params(Method *m, const Backbone *bb, Params *p) {
    MoilState *s = xcalloc(1, sizeof *s);
    int d = bb->d, with_lora = m->opt.student != MOIL_STUDENT_ADAPTER, with_ad = m->opt.student != MOIL_STUDENT_LORA;
    s->d = d;
    s->rl = with_lora ? m->opt.rank_lora : 0;
    s->ra = with_ad ? m->opt.rank_adapter : 0;
    s->applied = -1;
    s->t = xcalloc((size_t)bb->layers * LIN_KINDS, sizeof(MoilTarget));
    s->ad = xcalloc(bb->layers, sizeof(MoilAdapter));
    char prefix[PARAM_NAME_MAX];
    for (int l = 0; l < bb->layers; l++) {
        for (int k = 0; k < LIN_KINDS; k++) {
            if (!(m->opt.targets & TARGET_BIT(k))) continue;
            MoilTarget *t = &s->t[s->n++];
            t->lin = backbone_linear(bb, l, k);
            t->layer = l;
            prefix_of(p, t->lin, prefix);
            int out = t->lin->out, in = t->lin->in;
            t->W0 = add(p, prefix, "moil_W0", 2, (int[]){out, in});
            t->b0 = add(p, prefix, "moil_b0", 1, (int[]){out});
            t->Wema = add(p, prefix, "moil_ema.weight", 2, (int[]){out, in});
            t->bema = add(p, prefix, "moil_ema.bias", 1, (int[]){out});
            t->A = with_lora ? add(p, prefix, "lora_A", 2, (int[]){s->rl, in}) : -1;
            t->B = with_lora ? add(p, prefix, "lora_B", 2, (int[]){out, s->rl}) : -1;
        }
        MoilAdapter *a = &s->ad[l];
        a->Aa = a->aA = a->Ba = a->bB = -1;
        if (with_ad) {
            snprintf(prefix, sizeof prefix, "transformer.blocks.%d.attn.moil_adapter", l);
            a->Aa = add(p, prefix, "down.weight", 2, (int[]){s->ra, d});
            a->aA = add(p, prefix, "down.bias", 1, (int[]){s->ra});
            a->Ba = add(p, prefix, "up.weight", 2, (int[]){d, s->ra});
            a->bB = add(p, prefix, "up.bias", 1, (int[]){d});
        }
    }
    size_t dd = (size_t)d * d, dr = (size_t)d * (s->ra ? s->ra : 1);
    float *block = xcalloc(4 * dd + 2 * dr + 4 * (size_t)d, sizeof(float));
    s->M = block, s->What = s->M + dd, s->G = s->What + dd, s->dM = s->G + dd;
    s->Mb = s->dM + dd, s->GAt = s->Mb + dr;
    s->c = s->GAt + dr, s->bhat = s->c + d, s->g = s->bhat + d, s->dc = s->g + d;
    m->state = s;
    return 0;
}

static void set_trainable(Params *p, int i, int on) {
    if (i >= 0) p->info[i].trainable = on;
}

/* A student tensor: trained from the second step, the first with an
 * imitation loss. */
static void train_student(Params *p, int i) {
    set_trainable(p, i, 1);
    p->info[i].first_step = 2;
}

static int moil_setup(Method *m, const Backbone *bb, Params *p, Rng *rng) {
    MoilState *s = m->state;
    method_freeze_backbone(p);
    for (int i = 0; i < s->n; i++) {
        MoilTarget *t = &s->t[i];
        if (t->lin->in != s->d || t->lin->out != s->d)
            return err_set("moil: the student is d x d, but %s is %d x %d (use --targets among q, k, v, proj)",
                           p->info[t->lin->w].name, t->lin->out, t->lin->in);
        size_t nw = p->info[t->lin->w].size, nb = p->info[t->lin->b].size;
        memcpy(params_data(p, t->W0), params_data(p, t->lin->w), nw * sizeof(float));
        memcpy(params_data(p, t->Wema), params_data(p, t->lin->w), nw * sizeof(float));
        memcpy(params_data(p, t->b0), params_data(p, t->lin->b), nb * sizeof(float));
        memcpy(params_data(p, t->bema), params_data(p, t->lin->b), nb * sizeof(float));
        set_trainable(p, t->lin->w, 1), set_trainable(p, t->lin->b, 1);
        set_trainable(p, t->W0, 0), set_trainable(p, t->b0, 0);
        set_trainable(p, t->Wema, 0), set_trainable(p, t->bema, 0);
        if (t->A >= 0) {
            lora_init_pair(p, t->A, t->B, rng);
            train_student(p, t->A), train_student(p, t->B);
        }
    }
    for (int l = 0; l < bb->layers; l++) {
        MoilAdapter *a = &s->ad[l];
        if (a->Aa < 0) continue;
        float bound = sqrtf(6.0f / (float)(s->d + s->ra)); /* Xavier-uniform */
        rng_fill_uniform(rng, params_data(p, a->Aa), (long)p->info[a->Aa].size, -bound, bound);
        params_init_const(p, a->aA, 0.0f);
        params_init_const(p, a->Ba, 0.0f);
        params_init_const(p, a->bB, 0.0f);
        train_student(p, a->Aa), train_student(p, a->aA), train_student(p, a->Ba), train_student(p, a->bB);
    }
    double m_auto = m->opt.total_steps > 0 ? 1.0 - 5.0 / m->opt.total_steps : 0.9996;
    if (m_auto > 0.9996) m_auto = 0.9996;
    if (m_auto < 0) m_auto = 0;
    s->momentum = m->opt.momentum >= 0 ? m->opt.momentum : m_auto;
    return 0;
}

/* The student's W_hat [d,d] and b_hat [d] of target t into s->What, s->bhat;
 * leaves M = W0 + B_l A_l, Mb = M B_a and c = B_a a_A + b_B in the scratch. */
static void student_weights(MoilState *s, const Params *p, const MoilTarget *t) {
    int d = s->d, ra = s->ra;
    const MoilAdapter *a = &s->ad[t->layer];
    memcpy(s->M, params_data(p, t->W0), sizeof(float) * d * d);
    if (t->A >= 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, s->rl, 1.0f, params_data(p, t->B), s->rl,
                    params_data(p, t->A), d, 1.0f, s->M, d);
    memcpy(s->What, s->M, sizeof(float) * d * d);
    const float *b0 = params_data(p, t->b0);
    if (a->Aa < 0) {
        memcpy(s->bhat, b0, sizeof(float) * d);
        return;
    }
    /* Mb = M B_a; W_hat = M + Mb A_a */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, ra, d, 1.0f, s->M, d, params_data(p, a->Ba), ra, 0.0f,
                s->Mb, ra);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, ra, 1.0f, s->Mb, ra, params_data(p, a->Aa), d, 1.0f,
                s->What, d);
    /* c = B_a a_A + b_B; b_hat = M c + b0 */
    memcpy(s->c, params_data(p, a->bB), sizeof(float) * d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, ra, 1.0f, params_data(p, a->Ba), ra, params_data(p, a->aA), 1, 1.0f,
                s->c, 1);
    memcpy(s->bhat, b0, sizeof(float) * d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, s->M, d, s->c, 1, 1.0f, s->bhat, 1);
}

static double moil_extra_loss(Method *m, const Backbone *bb, Params *p) {
    MoilState *s = m->state;
    int d = s->d, ra = s->ra, rl = s->rl;
    float scale = (float)m->opt.imitation_scale;
    double total = 0.0;
    for (int i = 0; i < s->n; i++) {
        const MoilTarget *t = &s->t[i];
        const MoilAdapter *a = &s->ad[t->layer];
        student_weights(s, p, t);
        const float *We = params_data(p, t->Wema), *be = params_data(p, t->bema);
        double sw = 0.0, sb = 0.0;
        /* G = s * 2 (W_hat - W_ema) / d^2, g = s * 2 (b_hat - b_ema) / d */
        for (int k = 0; k < d * d; k++) {
            float e = s->What[k] - We[k];
            sw += (double)e * e;
            s->G[k] = scale * 2.0f * e / (float)(d * d);
        }
        for (int k = 0; k < d; k++) {
            float e = s->bhat[k] - be[k];
            sb += (double)e * e;
            s->g[k] = scale * 2.0f * e / (float)d;
        }
        total += scale * (sw / ((double)d * d) + sb / d);
        /* dM = G P^T + g c^T, P = I + B_a A_a */
        memcpy(s->dM, s->G, sizeof(float) * d * d);
        if (a->Aa >= 0) {
            float *dAa = params_grad(p, a->Aa), *dBa = params_grad(p, a->Ba), *daA = params_grad(p, a->aA);
            float *dbB = params_grad(p, a->bB);
            const float *Aa = params_data(p, a->Aa), *Ba = params_data(p, a->Ba), *aA = params_data(p, a->aA);
            /* GAt = G A_a^T [d,r_a]; dM += GAt B_a^T; dA_a += Mb^T G; dB_a += M^T GAt */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, ra, d, 1.0f, s->G, d, Aa, d, 0.0f, s->GAt, ra);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, ra, 1.0f, s->GAt, ra, Ba, ra, 1.0f, s->dM, d);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ra, d, d, 1.0f, s->Mb, ra, s->G, d, 1.0f, dAa, d);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, ra, d, 1.0f, s->M, d, s->GAt, ra, 1.0f, dBa, ra);
            /* bias path: dM += g c^T; dc = M^T g; dB_a += dc a_A^T; da_A += B_a^T dc; db_B += dc */
            cblas_sger(CblasRowMajor, d, d, 1.0f, s->g, 1, s->c, 1, s->dM, d);
            cblas_sgemv(CblasRowMajor, CblasTrans, d, d, 1.0f, s->M, d, s->g, 1, 0.0f, s->dc, 1);
            cblas_sger(CblasRowMajor, d, ra, 1.0f, s->dc, 1, aA, 1, dBa, ra);
            cblas_sgemv(CblasRowMajor, CblasTrans, d, ra, 1.0f, Ba, ra, s->dc, 1, 1.0f, daA, 1);
            for (int k = 0; k < d; k++) dbB[k] += s->dc[k];
        }
        if (t->A >= 0) {
            /* M = W0 + B_l A_l: dB_l += dM A_l^T; dA_l += B_l^T dM */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, rl, d, 1.0f, s->dM, d, params_data(p, t->A), d,
                        1.0f, params_grad(p, t->B), rl);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rl, d, d, 1.0f, params_data(p, t->B), rl, s->dM, d,
                        1.0f, params_grad(p, t->A), d);
        }
    }
    return total;
}

static void moil_before_step(Method *m, const Backbone *bb, Params *p, int step) {
    MoilState *s = m->state;
    if (step <= 1) return; /* the official update skips the first step */
    /* m W_ema + (1 - m) W as W_ema + (1 - m)(W - W_ema): the same update,
     * exact where W = W_ema (at the second step, after the first at
     * learning rate 0), so that the student's first imitation gradient is
     * zero and not float32 rounding, which AdamW would magnify */
    float om = 1.0f - (float)s->momentum;
    for (int i = 0; i < s->n; i++) {
        const MoilTarget *t = &s->t[i];
        int pairs[2][2] = {{t->Wema, t->lin->w}, {t->bema, t->lin->b}};
        for (int j = 0; j < 2; j++) {
            float *e = params_data(p, pairs[j][0]);
            const float *w = params_data(p, pairs[j][1]);
            for (size_t k = 0; k < p->info[pairs[j][0]].size; k++) e[k] += om * (w[k] - e[k]);
        }
    }
}

static int moil_n_variants(const Method *m) { return 3; }
static const char *moil_variant_name(const Method *m, int v) { return variant_names[v]; }

static void moil_restore(Method *m, const Backbone *bb, Params *p) {
    MoilState *s = m->state;
    if (s->applied < 0) return;
    for (int i = 0; i < s->n; i++) {
        MoilTarget *t = &s->t[i];
        merge_put_back(p, t->lin->w, t->saved_w);
        merge_put_back(p, t->lin->b, t->saved_b);
    }
    s->applied = -1;
}

static void moil_apply_variant(Method *m, const Backbone *bb, Params *p, int v) {
    MoilState *s = m->state;
    moil_restore(m, bb, p);
    for (int i = 0; i < s->n; i++) {
        MoilTarget *t = &s->t[i];
        size_t nw = p->info[t->lin->w].size, nb = p->info[t->lin->b].size;
        float *W = merge_keep(p, t->lin->w, &t->saved_w), *b = merge_keep(p, t->lin->b, &t->saved_b);
        if (v == 0) {
            student_weights(s, p, t);
            memcpy(W, s->What, sizeof(float) * nw);
            memcpy(b, s->bhat, sizeof(float) * nb);
        } else if (v == 1) {
            memcpy(W, params_data(p, t->Wema), sizeof(float) * nw);
            memcpy(b, params_data(p, t->bema), sizeof(float) * nb);
        }
    }
    s->applied = v;
}

/* Stored per task: the student's factors, the adapters and the heads; not
 * the online or EMA teachers, nor the W0 copies. */
static size_t moil_stored(const Method *m, const Params *p) {
    const MoilState *s = m->state;
    size_t n = params_count_group(p, PARAM_GROUP_HEAD);
    for (int i = 0; i < s->n; i++)
        if (s->t[i].A >= 0) n += p->info[s->t[i].A].size + p->info[s->t[i].B].size;
    int layers = s->n ? s->t[s->n - 1].layer + 1 : 0;
    for (int l = 0; l < layers; l++) {
        const MoilAdapter *a = &s->ad[l];
        if (a->Aa >= 0) n += p->info[a->Aa].size + p->info[a->aA].size + p->info[a->Ba].size + p->info[a->bB].size;
    }
    return n;
}

static void moil_describe(const Method *m, char *buf, size_t n) {
    const MoilState *s = m->state;
    snprintf(buf, n, "\"momentum_used\":%.10g,\"ema_span_steps\":%.1f", s->momentum,
             s->momentum < 1 ? 1.0 / (1.0 - s->momentum) : 0.0);
}

static void moil_destroy(Method *m) {
    MoilState *s = m->state;
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->t[i].saved_w), free(s->t[i].saved_b);
    free(s->t);
    free(s->ad);
    free(s->M);
    free(s);
}

const MethodOps method_moil = {
    .name = "moil",
    .summary = "MoIL: online + momentum teachers, hybrid low-rank student imitating the EMA",
    .add_params = moil_add_params,
    .setup = moil_setup,
    .extra_loss = moil_extra_loss,
    .before_step = moil_before_step,
    .n_variants = moil_n_variants,
    .variant_name = moil_variant_name,
    .apply_variant = moil_apply_variant,
    .restore = moil_restore,
    .stored_params = moil_stored,
    .describe = moil_describe,
    .destroy = moil_destroy,
};
