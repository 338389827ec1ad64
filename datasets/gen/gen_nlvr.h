/* NLVR statements about a pair of fashion scenes (counts, colours,
 * comparisons across the two images) and pairs of scenes that make a given
 * statement true or false. */
#ifndef MOIL_GEN_NLVR_H
#define MOIL_GEN_NLVR_H

#include "gen_words.h"

typedef enum {
    NLVR_BOTH,     /* "both images contain a red bag" */
    NLVR_ONLY_ONE, /* "exactly one image contains a shoe" */
    NLVR_NEITHER,  /* "neither image contains a coat" */
    NLVR_MORE,     /* "the left image has more shoes than the right image" */
    NLVR_SAME,     /* "both images have the same number of red objects" */
    NLVR_TOTAL,    /* "there are exactly three bags in total" */
    NLVR_EXACTLY,  /* "the right image contains exactly two objects" */
    NLVR_N_KINDS
} GenNlvrKind;

typedef struct {
    GenNlvrKind kind;
    GenQuery q;
    int n;     /* NLVR_TOTAL, NLVR_EXACTLY: the number */
    int side;  /* NLVR_MORE: 0 the left has more, 1 the right; NLVR_EXACTLY: 0 left, 1 right */
} GenStatement;

void gen_nlvr_statement_sample(GenStatement *st, Rng *r);
void gen_nlvr_statement_text(const GenStatement *st, GenText *out);
/* Truth of st about the pair (left, right). */
int gen_nlvr_statement_eval(const GenStatement *st, const GenScene *left, const GenScene *right);
/* Sample a pair for which st has truth value `want` (up to a bounded number
 * of tries; the caller takes the label from gen_nlvr_statement_eval). */
void gen_nlvr_pair_sample(const GenStatement *st, int want, Rng *r, const GenPhotoPool *pool,
                          const GenCanvas *cv, GenScene *left, GenScene *right);

#endif
