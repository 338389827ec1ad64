/* The words of fashion scenes and a builder for normalised text: lower-case
 * [a-z0-9] words separated by single spaces, no punctuation. */
#ifndef MOIL_GEN_WORDS_H
#define MOIL_GEN_WORDS_H

#include "gen_scene.h"

#include <stddef.h>

enum { GEN_TEXT_MAX = 512 };

typedef struct {
    char s[GEN_TEXT_MAX]; /* NUL-terminated */
    size_t n;             /* strlen(s) */
} GenText;

extern const char *const gen_class_name[GEN_N_CLASSES];    /* "t shirt", "ankle boot" */
extern const char *const gen_class_singular[GEN_N_CLASSES]; /* "t shirt", "pair of trousers" */
extern const char *const gen_class_plural[GEN_N_CLASSES];  /* "t shirts" */
extern const char *const gen_class_synonym[GEN_N_CLASSES]; /* an annotator's other word: "top" */
extern const char *const gen_colour_name[GEN_N_COLOURS];   /* "red" */
extern const char *const gen_colour_near[GEN_N_COLOURS];   /* a colour easily confused with it */
extern const char *const gen_cell_name[GEN_N_CELLS];       /* "top left" */
extern const char *const gen_super_name[GEN_N_SUPERS];     /* "shoes", "tops" (plural) */
extern const char *const gen_super_singular[GEN_N_SUPERS]; /* "shoe", "top" */
extern const char *const gen_number_word[GEN_MAX_OBJECTS * 2 + 1]; /* "zero" .. "eight" */

void gen_text_clear(GenText *t);
/* Append words (already normalised) after a single space. */
void gen_text_add(GenText *t, const char *words);
/* Append "a" or "an", whichever goes before next_word. */
void gen_text_add_article(GenText *t, const char *next_word);
/* The forms of a query's noun phrase. */
typedef enum {
    GEN_FORM_ARTICLE, /* "a red bag", "a shoe", "an object" */
    GEN_FORM_BARE,    /* "red bag", "shoe", "object" */
    GEN_FORM_PLURAL   /* "red bags", "shoes", "objects" */
} GenForm;

/* Append the noun phrase of query q in the given form. */
void gen_text_add_query(GenText *t, const GenQuery *q, GenForm form);
/* 1 if text is non-empty lower-case [a-z0-9] words separated by single spaces. */
int gen_text_is_normal(const char *text);

#endif
