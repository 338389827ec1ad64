/* Caption metrics (BLEU, CIDEr-D, ROUGE-L); see metric_caption.h.
 *
 * Words are interned to integer ids and n-grams (n = 1..4) to gram ids, so
 * the scorers work on small integer arrays. Each caption becomes a "bag":
 * its distinct n-grams with their counts, in the order in which Python's
 * precook inserts them into its dict (n ascending, then first position),
 * because the official sums run in that order. */
#include "metric_caption.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metric_text_norm.h"

enum { MAX_N = 4 };

static const double BLEU_TINY = 1e-15;  /* bleu_scorer.py `tiny` */
static const double BLEU_SMALL = 1e-9;  /* bleu_scorer.py `small` */
static const double CIDER_SIGMA = 6.0;  /* CiderScorer sigma */
static const double ROUGE_BETA = 1.2;   /* Rouge.beta */

char *metric_caption_tokenize_simple(const char *s) {
    static const char punctuation[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    size_t n = strlen(s), o = 0;
    char *out = xmalloc(n + 1);
    int in_word = 0; /* the current token has kept a character */
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0' || metric_text_norm_is_space(c)) { /* '\n' is whitespace too */
            in_word = 0;
            continue;
        }
        if (strchr(punctuation, c)) continue;
        if (!in_word && o > 0) out[o++] = ' ';
        in_word = 1;
        out[o++] = metric_text_norm_to_lower((char)c);
    }
    out[o] = '\0';
    return out;
}

/* ---- interning: byte strings to dense ids ------------------------------ */

typedef struct {
    char **keys;   /* [n] copies of the keys */
    size_t *lens;  /* [n] */
    int *slots;    /* [cap] id or -1; open addressing, linear probing */
    size_t n, cap; /* cap a power of two, kept above 2n */
} Intern;

static uint64_t hash_bytes(const void *p, size_t len) {
    return fnv1a_update(FNV1A_INIT, p, len);
}

static void intern_grow(Intern *t) {
    size_t cap = t->cap ? 2 * t->cap : 1024;
    int *slots = xmalloc(cap * sizeof *slots);
    for (size_t i = 0; i < cap; i++) slots[i] = -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t i = hash_bytes(t->keys[id], t->lens[id]) & (cap - 1);
        while (slots[i] >= 0) i = (i + 1) & (cap - 1);
        slots[i] = (int)id;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->keys = xrealloc(t->keys, cap / 2 * sizeof *t->keys);
    t->lens = xrealloc(t->lens, cap / 2 * sizeof *t->lens);
}

/* The id of key, adding it if new. */
static int intern_id(Intern *t, const void *key, size_t len) {
    if (2 * (t->n + 1) > t->cap) intern_grow(t);
    size_t i = hash_bytes(key, len) & (t->cap - 1);
    for (; t->slots[i] >= 0; i = (i + 1) & (t->cap - 1)) {
        int id = t->slots[i];
        if (t->lens[id] == len && memcmp(t->keys[id], key, len) == 0) return id;
    }
    t->keys[t->n] = xmalloc(len ? len : 1);
    memcpy(t->keys[t->n], key, len);
    t->lens[t->n] = len;
    t->slots[i] = (int)t->n;
    return (int)t->n++;
}

static void intern_free(Intern *t) {
    for (size_t i = 0; i < t->n; i++) free(t->keys[i]);
    free(t->keys);
    free(t->lens);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* Word ids of s split as Python's s.split() (runs of whitespace) or, with
 * single_space, as s.split(" ") (every space separates; empty tokens
 * count). *ids gets a malloc'd array; returns the number of tokens. */
static size_t split_words(Intern *words, const char *s, int single_space, int **ids) {
    size_t n = strlen(s), count = 0;
    *ids = xmalloc((n + 1) * sizeof **ids);
    size_t i = 0;
    while (i <= n) {
        if (!single_space) {
            while (i < n && metric_text_norm_is_space((unsigned char)s[i])) i++;
            if (i == n) break;
        }
        size_t start = i;
        while (i < n && (single_space ? s[i] != ' ' : !metric_text_norm_is_space((unsigned char)s[i]))) i++;
        (*ids)[count++] = intern_id(words, s + start, i - start);
        i++; /* past the separator (or the end) */
    }
    return count;
}

/* ---- bags of n-grams ----------------------------------------------------- */

typedef struct {
    int gram;  /* gram id */
    int n;     /* 1..4 */
    int count; /* occurrences in the caption */
} GramCount;

typedef struct {
    GramCount *g; /* distinct n-grams in precook's dict order */
    size_t len;
    int words;
} Bag;

static void bag_build(Bag *b, Intern *words, Intern *grams, const char *caption) {
    int *ids;
    size_t w = split_words(words, caption, 0, &ids);
    b->words = (int)w;
    b->g = xmalloc((MAX_N * w + 1) * sizeof *b->g);
    b->len = 0;
    for (int n = 1; n <= MAX_N; n++) {
        size_t first = b->len; /* grams of size n start here */
        for (size_t i = 0; i + (size_t)n <= w; i++) {
            int g = intern_id(grams, ids + i, (size_t)n * sizeof *ids);
            size_t k = first;
            while (k < b->len && b->g[k].gram != g) k++;
            if (k == b->len) b->g[b->len++] = (GramCount){.gram = g, .n = n, .count = 0};
            b->g[k].count++;
        }
    }
    free(ids);
}

typedef struct {
    Bag hyp;
    Bag *refs; /* [n_refs] */
    size_t n_refs;
} ImageBags;

typedef struct {
    Intern words, grams;
    ImageBags *img; /* [n] */
    size_t n;
} Corpus;

static int check_items(const CaptionItem *items, size_t n, const char *metric) {
    if (n == 0) return err_set("%s: no images to score", metric);
    for (size_t i = 0; i < n; i++)
        if (items[i].n_refs == 0) return err_set("%s: image %zu has no reference captions", metric, i);
    return 0;
}

static void corpus_build(Corpus *c, const CaptionItem *items, size_t n) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->img = xcalloc(n, sizeof *c->img);
    for (size_t i = 0; i < n; i++) {
        ImageBags *im = &c->img[i];
        bag_build(&im->hyp, &c->words, &c->grams, items[i].hyp);
        im->n_refs = items[i].n_refs;
        im->refs = xcalloc(im->n_refs, sizeof *im->refs);
        for (size_t r = 0; r < im->n_refs; r++)
            bag_build(&im->refs[r], &c->words, &c->grams, items[i].refs[r]);
    }
}

static void corpus_free(Corpus *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->img[i].hyp.g);
        for (size_t r = 0; r < c->img[i].n_refs; r++) free(c->img[i].refs[r].g);
        free(c->img[i].refs);
    }
    free(c->img);
    intern_free(&c->words);
    intern_free(&c->grams);
}

/* numpy's pairwise summation (add.reduce of a contiguous float64 array,
 * starting from the identity 0), so corpus means equal np.mean's. */
static double sum_pairwise(const double *a, size_t n) {
    if (n < 8) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (size_t j = 0; j < 8; j++) r[j] = a[j];
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (size_t j = 0; j < 8; j++) r[j] += a[i + j];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    size_t half = n / 2;
    half -= half % 8;
    return sum_pairwise(a, half) + sum_pairwise(a + half, n - half);
}

/* ---- BLEU ---------------------------------------------------------------- */

/* BLEU-1..4 from n-gram statistics (BleuScorer.compute_score). */
static double bleu_from_counts(const long *correct, const long *guess, long testlen, long reflen,
                               double out[MAX_N]) {
    double b = 1.0;
    for (int k = 0; k < MAX_N; k++) {
        b *= ((double)correct[k] + BLEU_TINY) / ((double)guess[k] + BLEU_SMALL);
        out[k] = pow(b, 1.0 / (k + 1));
    }
    double ratio = ((double)testlen + BLEU_TINY) / ((double)reflen + BLEU_SMALL);
    if (ratio < 1)
        for (int k = 0; k < MAX_N; k++) out[k] *= exp(1 - 1 / ratio);
    return ratio;
}

/* The reference length closest to testlen, ties to the shorter. */
static long closest_reflen(const ImageBags *im, long testlen) {
    long best = im->refs[0].words;
    for (size_t r = 1; r < im->n_refs; r++) {
        long len = im->refs[r].words, d = labs(len - testlen), bd = labs(best - testlen);
        if (d < bd || (d == bd && len < best)) best = len;
    }
    return best;
}

int metric_caption_bleu(const CaptionItem *items, size_t n, CaptionBleu *corpus, double (*per_image)[4]) {
    memset(corpus, 0, sizeof *corpus);
    if (check_items(items, n, "bleu") != 0) return -1;
    Corpus c;
    corpus_build(&c, items, n);
    int *maxref = xcalloc(c.grams.n, sizeof *maxref); /* [gram] max count in one reference */
    for (size_t i = 0; i < n; i++) {
        const ImageBags *im = &c.img[i];
        for (size_t r = 0; r < im->n_refs; r++)
            for (size_t k = 0; k < im->refs[r].len; k++) {
                const GramCount *g = &im->refs[r].g[k];
                if (g->count > maxref[g->gram]) maxref[g->gram] = g->count;
            }
        long testlen = im->hyp.words, reflen = closest_reflen(im, testlen);
        long guess[MAX_N], correct[MAX_N] = {0};
        for (int k = 0; k < MAX_N; k++) guess[k] = testlen > k ? testlen - k : 0;
        for (size_t k = 0; k < im->hyp.len; k++) {
            const GramCount *g = &im->hyp.g[k];
            correct[g->n - 1] += g->count < maxref[g->gram] ? g->count : maxref[g->gram];
        }
        for (size_t r = 0; r < im->n_refs; r++)
            for (size_t k = 0; k < im->refs[r].len; k++) maxref[im->refs[r].g[k].gram] = 0;

        if (per_image) bleu_from_counts(correct, guess, testlen, reflen, per_image[i]);
        corpus->testlen += testlen;
        corpus->reflen += reflen;
        for (int k = 0; k < MAX_N; k++) {
            corpus->guess[k] += guess[k];
            corpus->correct[k] += correct[k];
        }
    }
    corpus->ratio = bleu_from_counts(corpus->correct, corpus->guess, corpus->testlen,
                                     corpus->reflen, corpus->bleu);
    free(maxref);
    corpus_free(&c);
    return 0;
}

/* ---- CIDEr-D ------------------------------------------------------------- */

/* counts2vec: w[k] = tf * (log N - log max(1, df)) for each gram of the
 * bag, norm[n] = sqrt of the sum of w^2 over grams of size n+1, *length =
 * number of bigrams (the n == 1 test on a 0-based index in the original). */
static void cider_vec(const Bag *b, const int *df, double log_n, double *w, double norm[MAX_N],
                      int *length) {
    for (int k = 0; k < MAX_N; k++) norm[k] = 0.0;
    *length = 0;
    for (size_t k = 0; k < b->len; k++) {
        const GramCount *g = &b->g[k];
        double d = df[g->gram] > 1 ? (double)df[g->gram] : 1.0;
        w[k] = (double)g->count * (log_n - log(d));
        norm[g->n - 1] += w[k] * w[k];
        if (g->n == 2) *length += g->count;
    }
    for (int k = 0; k < MAX_N; k++) norm[k] = sqrt(norm[k]);
}

int metric_caption_cider_d(const CaptionItem *items, size_t n, double *corpus, double *per_image) {
    *corpus = 0.0;
    if (check_items(items, n, "cider") != 0) return -1;
    Corpus c;
    corpus_build(&c, items, n);
    size_t n_grams = c.grams.n;

    /* compute_doc_freq: images whose set of references holds the gram. */
    int *df = xcalloc(n_grams, sizeof *df);
    size_t *seen = xcalloc(n_grams, sizeof *seen); /* [gram] last image + 1 that counted it */
    size_t max_len = 0;
    for (size_t i = 0; i < n; i++) {
        const ImageBags *im = &c.img[i];
        if (im->hyp.len > max_len) max_len = im->hyp.len;
        for (size_t r = 0; r < im->n_refs; r++) {
            if (im->refs[r].len > max_len) max_len = im->refs[r].len;
            for (size_t k = 0; k < im->refs[r].len; k++) {
                int g = im->refs[r].g[k].gram;
                if (seen[g] != i + 1) {
                    seen[g] = i + 1;
                    df[g]++;
                }
            }
        }
    }
    free(seen);

    double log_n = log((double)n);
    double *wh = xmalloc((max_len + 1) * sizeof *wh);   /* hypothesis weights, bag order */
    double *wr = xmalloc((max_len + 1) * sizeof *wr);   /* one reference's weights */
    double *wref = xcalloc(n_grams, sizeof *wref);      /* [gram] that reference's weight */
    double *scores = xmalloc(n * sizeof *scores);
    for (size_t i = 0; i < n; i++) {
        const ImageBags *im = &c.img[i];
        double norm_h[MAX_N], norm_r[MAX_N], score[MAX_N] = {0};
        int len_h, len_r;
        cider_vec(&im->hyp, df, log_n, wh, norm_h, &len_h);
        for (size_t r = 0; r < im->n_refs; r++) {
            const Bag *ref = &im->refs[r];
            cider_vec(ref, df, log_n, wr, norm_r, &len_r);
            for (size_t k = 0; k < ref->len; k++) wref[ref->g[k].gram] = wr[k];
            double delta = (double)(len_h - len_r);
            double penalty = pow(M_E, -(delta * delta) / (2 * CIDER_SIGMA * CIDER_SIGMA));
            for (int order = 0; order < MAX_N; order++) {
                /* sim(): clipped dot product over the hypothesis grams. */
                double val = 0.0;
                for (size_t k = 0; k < im->hyp.len; k++) {
                    const GramCount *g = &im->hyp.g[k];
                    if (g->n != order + 1) continue;
                    double r_w = wref[g->gram];
                    val += (wh[k] < r_w ? wh[k] : r_w) * r_w;
                }
                if (norm_h[order] != 0 && norm_r[order] != 0) val /= norm_h[order] * norm_r[order];
                score[order] += val * penalty;
            }
            for (size_t k = 0; k < ref->len; k++) wref[ref->g[k].gram] = 0.0;
        }
        double avg = (((score[0] + score[1]) + score[2]) + score[3]) / MAX_N;
        avg /= (double)im->n_refs;
        scores[i] = avg * 10.0;
    }
    *corpus = sum_pairwise(scores, n) / (double)n;
    if (per_image) memcpy(per_image, scores, n * sizeof *scores);
    free(scores);
    free(wref);
    free(wr);
    free(wh);
    free(df);
    corpus_free(&c);
    return 0;
}

/* ---- ROUGE-L ------------------------------------------------------------- */

/* Length of the longest common subsequence of a and b (two-row DP). */
static int lcs_length(const int *a, size_t na, const int *b, size_t nb, int *row) {
    /* row: [nb + 1] scratch; row[j] = LCS(a[0..i), b[0..j)). */
    for (size_t j = 0; j <= nb; j++) row[j] = 0;
    for (size_t i = 0; i < na; i++) {
        int diag = 0; /* LCS(a[0..i), b[0..j)) before row[j] is overwritten */
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            row[j] = a[i] == b[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
            diag = up;
        }
    }
    return row[nb];
}

int metric_caption_rouge_l(const CaptionItem *items, size_t n, double *corpus, double *per_image) {
    *corpus = 0.0;
    if (check_items(items, n, "rouge") != 0) return -1;
    Intern words = {0};
    double *scores = xmalloc(n * sizeof *scores);
    const double beta2 = ROUGE_BETA * ROUGE_BETA;
    for (size_t i = 0; i < n; i++) {
        int *cand;
        size_t nc = split_words(&words, items[i].hyp, 1, &cand);
        int *row = xmalloc((nc + 1) * sizeof *row);
        double prec_max = 0.0, rec_max = 0.0;
        for (size_t r = 0; r < items[i].n_refs; r++) {
            int *ref;
            size_t nr = split_words(&words, items[i].refs[r], 1, &ref);
            int lcs = lcs_length(ref, nr, cand, nc, row);
            double prec = lcs / (double)nc, rec = lcs / (double)nr;
            if (r == 0 || prec > prec_max) prec_max = prec;
            if (r == 0 || rec > rec_max) rec_max = rec;
            free(ref);
        }
        scores[i] = (prec_max != 0 && rec_max != 0)
                        ? ((1 + beta2) * prec_max * rec_max) / (rec_max + beta2 * prec_max)
                        : 0.0;
        free(row);
        free(cand);
    }
    *corpus = sum_pairwise(scores, n) / (double)n;
    if (per_image) memcpy(per_image, scores, n * sizeof *scores);
    free(scores);
    intern_free(&words);
    return 0;
}

/* ---- result file --------------------------------------------------------- */

int metric_caption_results_write(const char *path, const long long *image_ids,
                          const char *const *captions, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *text = json_string(captions[i]);
        if (!text) {
            json_decref(arr);
            return err_set("%s: caption of image %lld is not valid UTF-8", path, image_ids[i]);
        }
        json_t *o = json_object();
        json_object_set_new(o, "image_id", json_integer(image_ids[i]));
        json_object_set_new(o, "caption", text);
        json_array_append_new(arr, o);
    }
    char *s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(arr);
    if (!s) return err_set("%s: cannot encode the caption results", path);
    int rc = file_write_atomic(path, s, strlen(s));
    free(s);
    return rc;
}
