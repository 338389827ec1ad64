/* Word-level tokenizer with a vocabulary built from training text.
 *
 * Normalisation (tokenizer_normalize), applied to every text before counting
 * or encoding, so real captions ("A Man's red T-shirt.") and the generated
 * lower-case ones are read the same way:
 *  - ASCII letters are lower-cased; digits are kept;
 *  - apostrophes (' and U+2019) are deleted, joining the word: "man's" ->
 *    "mans", "don't" -> "dont";
 *  - every other ASCII character that is not a letter or digit (punctuation,
 *    hyphens, whitespace, control characters) separates words and is dropped:
 *    "t-shirt." -> "t shirt";
 *  - bytes >= 0x80 (other UTF-8 text) are kept as word characters;
 *  - words are joined by single spaces, no leading/trailing space.
 *
 * Ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then the words that occur at
 * least min_count times, most frequent first (ties in byte order).
 * Vocabulary file: one token per line, the five special tokens first.
 * Encoding: [CLS] w1 .. wk [SEP] then [PAD] up to max_len; words beyond
 * max_len - 2 are dropped (truncation keeps the first words and always ends
 * with [SEP]); unknown words map to [UNK]. */
#ifndef MOIL_TOKENIZER_H
#define MOIL_TOKENIZER_H

#include "str_map.h"
#include "str_tally.h"

#include <stdint.h>

enum { TOK_PAD = 0, TOK_UNK = 1, TOK_CLS = 2, TOK_SEP = 3, TOK_MASK = 4, TOK_N_SPECIAL = 5 };

typedef struct {
    int n;        /* vocabulary size, specials included */
    char **words; /* [n] */
    StrMap ids;   /* word -> id */
} Tokenizer;

/* The normalised text (see above), a new string. */
char *tokenizer_normalize(const char *text);
/* Number of words in a normalised text. */
int tokenizer_count_words(const char *normalized);

/* Count the words of text, normalised, into words (a vocabulary's counts). */
void tokenizer_tally(Tally *words, const char *text);

/* Specials + the words counted >= min_count times. */
void tokenizer_build(Tokenizer *t, const Tally *words, int min_count);
int tokenizer_save(const Tokenizer *t, const char *path);
/* Fails (path:line) on a missing/misplaced special token, an empty line, a
 * token with whitespace, or a duplicate. */
int tokenizer_load(Tokenizer *t, const char *path);
/* The same from a buffer holding the file's text (modified in place);
 * path names it in messages. */
int tokenizer_parse(Tokenizer *t, char *buf, const char *path);
void tokenizer_free(Tokenizer *t);
/* The id of a word (already normalised), TOK_UNK if absent. */
int tokenizer_id(const Tokenizer *t, const char *word);
/* ids/mask [max_len]; mask 1 for real tokens (incl. [CLS]/[SEP]), 0 for
 * padding. Returns the number of real tokens. max_len must be >= 2. */
int tokenizer_encode(const Tokenizer *t, const char *text, int max_len, int32_t *ids, uint8_t *mask);
/* The words of ids[0..n-1] joined by spaces, [PAD]/[CLS]/[SEP] skipped (a
 * new string). */
char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, int n);

#endif
