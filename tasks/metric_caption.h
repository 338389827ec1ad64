/* Caption metrics as coco-caption computes them: BLEU-1..4, CIDEr-D and
 * ROUGE-L, plus the "simple" tokenisation used for the test vectors and a
 * writer for COCO caption result files.
 *
 * Sources (docs/tasks.md, "Caption metrics"): salaniz/pycocoevalcap @ ad63453
 * bleu/bleu_scorer.py, cider/cider_scorer.py, rouge/rouge.py. The scorers
 * take captions that are already tokenised (words separated by spaces):
 * the official pipeline runs the PTB tokenizer first; the test vectors use
 * metric_caption_tokenize_simple. Images are scored in the order given. */
#ifndef MOIL_METRIC_CAPTION_H
#define MOIL_METRIC_CAPTION_H

#include <stddef.h>

/* One evaluated image. The strings are borrowed. */
typedef struct {
    const char *hyp;         /* the one candidate caption */
    const char *const *refs; /* [n_refs] reference captions, n_refs >= 1 */
    size_t n_refs;
} CaptionItem;

/* Corpus BLEU and its internals (the `verbose` output of BleuScorer). */
typedef struct {
    double bleu[4];  /* corpus BLEU-1..4 */
    long testlen;    /* total hypothesis words */
    long reflen;     /* total closest reference lengths (ties to the shorter) */
    long guess[4];   /* total hypothesis n-grams, n = 1..4 */
    long correct[4]; /* total clipped n-gram matches */
    double ratio;    /* (testlen + 1e-15) / (reflen + 1e-9) */
} CaptionBleu;

/* Tokenisation 'simple' (docs/tasks.md, "Caption metrics"): '\n' to space,
 * ASCII lower-case, split on whitespace, delete the 32 ASCII punctuation
 * characters from each token, drop empty tokens, join with single spaces.
 * New malloc'd string. */
char *metric_caption_tokenize_simple(const char *s);

/* BLEU-1..4 with option "closest". per_image (may be NULL): [n][4] the
 * per-image BLEU-1..4. Returns -1 (err_set) if n is 0 or an item has no
 * references. */
int metric_caption_bleu(const CaptionItem *items, size_t n, CaptionBleu *corpus, double (*per_image)[4]);

/* CIDEr-D (sigma 6, document frequencies from the references of these
 * images, x10): *corpus = mean of per_image [n] (may be NULL). */
int metric_caption_cider_d(const CaptionItem *items, size_t n, double *corpus, double *per_image);

/* ROUGE-L (beta 1.2, tokens by single spaces): *corpus = mean of
 * per_image [n] (may be NULL). */
int metric_caption_rouge_l(const CaptionItem *items, size_t n, double *corpus, double *per_image);

/* Write a COCO caption result file [{"image_id": id, "caption": text}, ...]
 * atomically. */
int metric_caption_results_write(const char *path, const long long *image_ids,
                          const char *const *captions, size_t n);

#endif
