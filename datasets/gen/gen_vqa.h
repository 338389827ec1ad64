/* VQA questions about fashion scenes with ten simulated annotator answers.
 * Kinds: colour of an object, what is at a position, counting (classes,
 * colours, super-classes, all objects), existence, relative position.
 * Within each kind the chosen question is the one whose answer has been
 * given least often so far, so answers are balanced and a language prior
 * alone does poorly. */
#ifndef MOIL_GEN_VQA_H
#define MOIL_GEN_VQA_H

#include "gen_words.h"

enum { GEN_VQA_ANSWERS = 10, GEN_VQA_MAX_ANSWER_IDS = 16 };

typedef enum {
    VQA_KIND_COLOUR,   /* "what color is the sneaker" -> "red" */
    VQA_KIND_WHAT,     /* "what is in the top left" -> "sneaker" */
    VQA_KIND_COUNT,    /* "how many shoes are there" -> "2" */
    VQA_KIND_EXIST,    /* "is there a red bag" -> "yes" */
    VQA_KIND_RELATION, /* "is the bag left of the coat" -> "no" */
    VQA_N_KINDS
} GenVqaKind;

extern const char *const gen_vqa_kind_name[VQA_N_KINDS]; /* "colour", "what", ... */

typedef struct {
    GenVqaKind kind;
    GenText question;
    const char *question_type;                  /* a prefix from mscoco_question_types.txt */
    const char *answer_type;                    /* "yes/no", "number" or "other" */
    const char *answers[GEN_VQA_ANSWERS];       /* one per annotator */
    const char *confidence[GEN_VQA_ANSWERS];    /* "yes", "maybe" or "no" */
    const char *multiple_choice_answer;         /* the most frequent answer */
} GenQuestion;

/* How often each answer of each kind has been chosen so far. */
typedef struct {
    int tally[VQA_N_KINDS][GEN_VQA_MAX_ANSWER_IDS];
} GenVqaBalance;

/* Up to n_wanted distinct questions about s into out[]; returns how many. */
int gen_vqa_make(const GenScene *s, Rng *r, GenVqaBalance *balance, int n_wanted, GenQuestion *out);
/* The most frequent of answers[n] (the first one on a tie). */
const char *gen_vqa_majority(const char *const *answers, int n);

#endif
