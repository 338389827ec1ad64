/* The text tokenizers: a vocabulary (one token per line, in id order) and
 * one of two ways of cutting text into its tokens.
 *
 * TOKENIZER_WORD, our own: a vocabulary built from training text, words
 * after the normalisation below (tokenizer_normalize), applied to every text
 * before counting or encoding, so real captions ("A Man's red T-shirt.") and
 * the generated lower-case ones are read the same way:
 *  - ASCII letters are lower-cased; digits are kept;
 *  - apostrophes (' and U+2019) are deleted, joining the word: "man's" ->
 *    "mans", "don't" -> "dont";
 *  - every other ASCII character that is not a letter or digit (punctuation,
 *    hyphens, whitespace, control characters) separates words and is dropped:
 *    "t-shirt." -> "t shirt";
 *  - bytes >= 0x80 (other UTF-8 text) are kept as word characters;
 *  - words are joined by single spaces, no leading/trailing space.
 * Its ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 (TOK_WORD_*), then the
 * words that occur at least min_count times, most frequent first (ties in
 * byte order); its vocabulary file lists the five special tokens first.
 *
 * TOKENIZER_WORDPIECE, BERT's uncased WordPiece (io_wordpiece.h): a given
 * vocabulary (BERT's vocab.txt), whose special tokens may sit at any id.
 *
 * Both: the special tokens are found by name ([PAD] [UNK] [CLS] [SEP]
 * [MASK]; every vocabulary has all five) and their ids kept in the
 * Tokenizer, which is the only place code asks for them. Encoding: [CLS]
 * t1 .. tk [SEP] then [PAD] up to max_len; tokens beyond max_len - 2 are
 * dropped (truncation keeps the first tokens and always ends with [SEP]);
 * a word not in the vocabulary maps to [UNK]. */
#ifndef MOIL_TOKENIZER_H
#define MOIL_TOKENIZER_H

#include "str_map.h"
#include "str_tally.h"

#include <stdint.h>

/* How text is cut into tokens; a checkpoint names it in its "tokenizer"
 * metadata (tokenizer_kind_name), absent meaning TOKENIZER_WORD. */
typedef enum { TOKENIZER_WORD, TOKENIZER_WORDPIECE, TOKENIZER_N_KINDS } TokenizerKind;

/* The special tokens, in the order the word-level vocabulary gives them
 * ids 0..4 (TOK_WORD_*: only code that builds a word-level vocabulary may
 * count on them; everything else asks the Tokenizer). */
enum { TOK_WORD_PAD, TOK_WORD_UNK, TOK_WORD_CLS, TOK_WORD_SEP, TOK_WORD_MASK, TOK_N_SPECIAL };

typedef struct {
    TokenizerKind kind;
    int n;        /* vocabulary size, specials included */
    char **words; /* [n] */
    StrMap ids;   /* word -> id */
    int pad, unk, cls, sep, mask;  /* the special tokens' ids */
    int special[TOK_N_SPECIAL];    /* the same, ascending */
} Tokenizer;

/* "word" or "wordpiece" -> TOKENIZER_*; -1 (err_set) for another name. */
int tokenizer_kind_parse(const char *name);
const char *tokenizer_kind_name(TokenizerKind kind);

/* The normalised text (see above), a new string. */
char *tokenizer_normalize(const char *text);
/* Number of words in a normalised text. */
int tokenizer_count_words(const char *normalized);

/* Count the words of text, normalised, into words (a vocabulary's counts). */
void tokenizer_tally(Tally *words, const char *text);

/* A word-level tokenizer: specials + the words counted >= min_count times. */
void tokenizer_build(Tokenizer *t, const Tally *words, int min_count);
int tokenizer_save(const Tokenizer *t, const char *path);
/* A vocabulary file of the given kind. Fails (path:line) on an empty line,
 * a token with whitespace or a duplicate, and (path) on a special token
 * missing; a word-level file must list the specials first, in
 * TOK_WORD_* order. */
int tokenizer_load(Tokenizer *t, TokenizerKind kind, const char *path);
/* The same from a buffer holding the file's text (modified in place);
 * path names it in messages. */
int tokenizer_parse(Tokenizer *t, TokenizerKind kind, char *buf, const char *path);
void tokenizer_free(Tokenizer *t);
/* The id of a token (a normalised word, a WordPiece piece), t->unk if
 * absent. */
int tokenizer_id(const Tokenizer *t, const char *word);
/* Whether id is one of the five special tokens. */
int tokenizer_is_special(const Tokenizer *t, int id);
/* The k-th id, 0 <= k < n - TOK_N_SPECIAL, that is not a special token (a
 * uniform draw of k gives a uniform ordinary token). */
int tokenizer_ordinary(const Tokenizer *t, int k);
/* ids/mask [max_len]; mask 1 for real tokens (incl. [CLS]/[SEP]), 0 for
 * padding. Returns the number of real tokens. max_len must be >= 2. */
int tokenizer_encode(const Tokenizer *t, const char *text, int max_len, int32_t *ids, uint8_t *mask);
/* The tokens of ids[0..n-1] joined by spaces, [PAD]/[CLS]/[SEP] skipped, a
 * WordPiece continuation ("##ing") joined to the token before it (a new
 * string). */
char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, int n);

#endif
