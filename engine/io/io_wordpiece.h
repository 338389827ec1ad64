/* BERT's uncased WordPiece tokenisation (TOKENIZER_WORDPIECE of
 * io_tokenizer.h), written from the published algorithm:
 *
 * Basic tokenisation (wordpiece_basic), on the text's code points (UTF-8;
 * a malformed byte counts as U+FFFD):
 *  1. cleaning: U+0000, U+FFFD and control characters (below) are dropped,
 *     every whitespace character (below) becomes a space;
 *  2. every CJK ideograph (the CJK Unified Ideographs blocks and their
 *     extensions A-E, the compatibility ideographs) gets a space on each
 *     side, so it stands alone;
 *  3. the text is split on spaces; each word is lower-cased, and its
 *     accents stripped (Unicode NFD, combining marks dropped);
 *  4. each word is split around every punctuation character, which stands
 *     alone: "don't." -> don ' t .
 * WordPiece (wordpiece_tokens): each word of at most 100 code points is
 * cut greedily from its start into the longest piece in the vocabulary,
 * pieces after the first looked up with a "##" prefix ("playing" -> play
 * ##ing); a word that cannot be cut so, or is longer, is one [UNK].
 *
 * What is done without a Unicode database (ICU), and so where this departs
 * from BERT's Python code on rare input:
 *  - whitespace: ' ', \t, \n, \r, the whole of category Zs (U+00A0,
 *    U+1680, U+2000-U+200A, U+202F, U+205F, U+3000) and U+2028-U+2029:
 *    exact;
 *  - control characters: categories Cc, Cf and Co as of Unicode 14 (\t, \n,
 *    \r excepted); unassigned code points (Cn), which BERT also drops, are
 *    kept;
 *  - punctuation: ASCII's non-alphanumeric printable characters (as BERT,
 *    `$`, `+`, `^` and the like included), and category P in Latin-1,
 *    General Punctuation, Supplemental Punctuation, CJK Symbols and
 *    Punctuation, the vertical, small and CJK compatibility forms and the
 *    half- and full-width forms; P elsewhere (Arabic, Devanagari, ...) is
 *    kept inside words;
 *  - lower-casing and accent stripping: ASCII, the full-width Latin
 *    letters, Latin-1 Supplement and Latin Extended-A by a table
 *    (U+00C0-U+017F: "É" -> e, "Ł" -> ł, "ß" kept, "İ" -> i); the
 *    combining marks of those blocks (U+0300-U+036F, U+302A-U+302D,
 *    U+FE20-U+FE2F) are dropped wherever they stand (decomposed input);
 *    letters of other scripts (Greek, Cyrillic, Latin Extended-B and
 *    beyond, kana with voicing marks) are kept as they are, neither
 *    lower-cased nor stripped of accents, and so are the CJK
 *    compatibility ideographs (U+F900-U+FAFF), which BERT's NFD maps to
 *    unified ones.
 * tests/test_wordpiece.c checks every code point of these ranges, and
 * random text built from them, against tests/wordpiece_reference.py. */
#ifndef MOIL_WORDPIECE_H
#define MOIL_WORDPIECE_H

#include <stdint.h>

#include "io_tokenizer.h"

/* WordPiece's longest word, in code points; longer words are one [UNK]. */
#define WORDPIECE_MAX_WORD 100

/* The words of the basic tokenisation (steps 1-4), joined by single
 * spaces, as a new string. */
char *wordpiece_basic(const char *text);
/* The first max token ids of text (basic tokenisation, then WordPiece
 * pieces of t's vocabulary) into ids[max]; returns how many were written
 * (the rest of the text is not looked at). */
int wordpiece_tokens(const Tokenizer *t, const char *text, int32_t *ids, int max);

#endif
