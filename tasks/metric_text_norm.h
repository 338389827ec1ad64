/* Answer normalisation of the official VQA evaluation and of ViLT.
 *
 * Sources: GT-Vision-Lab/VQA @ a013f00 PythonEvaluationTools/vqaEvaluation/
 * vqaEval.py (processPunctuation, processDigitArticle and the tables of
 * VQAEval.__init__); dandelin/ViLT @ 762fd39 vilt/utils/glossary.py
 * (normalize_word). docs/tasks.md ("VQA accuracy" and "Answer vocabulary and
 * soft targets") spells out the rules and quirks.
 *
 * Strings are byte strings. Python works on Unicode code points; here only
 * ASCII is special: lower-casing, whitespace and \d cover ASCII characters
 * only, other bytes pass through unchanged (VQA answers are ASCII in
 * practice). Every function returning char * returns a new malloc'd string
 * the caller frees. */
#ifndef MOIL_TEXT_NORM_H
#define MOIL_TEXT_NORM_H

#include <stddef.h>

/* Python's str.isspace() restricted to ASCII: \t \n \v \f \r, 0x1c..0x1f
 * and space. */
int metric_text_norm_is_space(int c);
/* ASCII lower-casing of one character; other bytes unchanged. */
char metric_text_norm_to_lower(char c);

/* s with '\n' and '\t' replaced by spaces, then stripped of leading and
 * trailing whitespace (the cleaning step of VQAEval.evaluate). */
char *metric_text_norm_clean_answer(const char *s);

/* processPunctuation: each of the 21 punctuation characters is deleted when
 * the INPUT contains it next to a space or contains digit,digit anywhere,
 * otherwise replaced by a space; then the first 32 periods not followed by
 * a digit are deleted. */
char *metric_text_norm_process_punctuation(const char *s);

/* processDigitArticle: lower-case, split on whitespace, number words to
 * digits (manualMap), drop a/an/the, expand contractions, join with ' '. */
char *metric_text_norm_process_digit_article(const char *s);

/* ViLT normalize_word: processPunctuation, processDigitArticle, then every
 * remaining ',' deleted ("10,000" -> "10000"). */
char *metric_text_norm_word(const char *s);

/* The contractions table (120 entries, in the order of the Python dict). */
size_t metric_text_norm_contraction_count(void);
/* The expansion of word, or NULL when word is not a key. */
const char *metric_text_norm_contraction_lookup(const char *word);

#endif
