/* BERT's uncased WordPiece tokenisation (io_wordpiece.h): the character
 * classes, the basic tokenisation and the greedy pieces. */
#include "io_wordpiece.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

#define REPLACEMENT 0xFFFD /* what a malformed UTF-8 byte reads as */

typedef struct {
    uint32_t lo, hi; /* inclusive */
} CodeRange;

static int in_ranges(uint32_t cp, const CodeRange *r, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi) return 1;
    return 0;
}
#define IN_RANGES(cp, table) in_ranges(cp, table, sizeof table / sizeof table[0])

/* Categories Cc, Cf and Co (Unicode 14), without \t \n \r. */
static const CodeRange control[] = {
    {0x0000, 0x0008},   {0x000B, 0x000C},   {0x000E, 0x001F},   {0x007F, 0x009F},   {0x00AD, 0x00AD},
    {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},
    {0x08E2, 0x08E2},   {0x180E, 0x180E},   {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064},
    {0x2066, 0x206F},   {0xE000, 0xF8FF},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD},
    {0x110CD, 0x110CD}, {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD},
};

/* Category Zs, the ASCII whitespace BERT counts, and the line and paragraph
 * separators, on which its split() splits. */
static const CodeRange whitespace[] = {
    {' ', ' '}, {'\t', '\n'}, {'\r', '\r'}, {0x00A0, 0x00A0}, {0x1680, 0x1680},
    {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

/* Category P in the blocks io_wordpiece.h names (Unicode 14); ASCII apart. */
static const CodeRange punctuation[] = {
    {0x00A1, 0x00A1}, {0x00A7, 0x00A7}, {0x00AB, 0x00AB}, {0x00B6, 0x00B7}, {0x00BB, 0x00BB}, {0x00BF, 0x00BF},
    {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x2E00, 0x2E2E}, {0x2E30, 0x2E4F},
    {0x2E52, 0x2E5D}, {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D},
    {0x30FB, 0x30FB}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61}, {0xFE63, 0xFE63}, {0xFE68, 0xFE68},
    {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20},
    {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65},
};

/* Combining marks (category Mn) of the blocks io_wordpiece.h names: what
 * stripping accents drops. */
static const CodeRange combining[] = {{0x0300, 0x036F}, {0x302A, 0x302D}, {0xFE20, 0xFE2F}};

/* BERT's CJK ideographs: each one a word of its own. */
static const CodeRange cjk[] = {
    {0x4E00, 0x9FFF},   {0x3400, 0x4DBF},   {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
    {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF}, {0xF900, 0xFAFF},   {0x2F800, 0x2FA1F},
};

/* U+00C0..U+017F lower-cased, then decomposed (NFD) with the combining
 * marks dropped: the letter BERT's uncased basic tokeniser keeps. */
#define FOLD_FIRST 0x00C0
#define FOLD_LAST 0x017F
static const uint16_t fold[FOLD_LAST - FOLD_FIRST + 1] = {
    /* U+00C0 */ 'a', 'a', 'a', 'a', 'a', 'a', 0x00E6, 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
    /* U+00D0 */ 0x00F0, 'n', 'o', 'o', 'o', 'o', 'o', 0x00D7, 0x00F8, 'u', 'u', 'u', 'u', 'y', 0x00FE, 0x00DF,
    /* U+00E0 */ 'a', 'a', 'a', 'a', 'a', 'a', 0x00E6, 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
    /* U+00F0 */ 0x00F0, 'n', 'o', 'o', 'o', 'o', 'o', 0x00F7, 0x00F8, 'u', 'u', 'u', 'u', 'y', 0x00FE, 'y',
    /* U+0100 */ 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'd', 'd',
    /* U+0110 */ 0x0111, 0x0111, 'e', 'e', 'e', 'e', 'e', 'e', 'e', 'e', 'e', 'e', 'g', 'g', 'g', 'g',
    /* U+0120 */ 'g', 'g', 'g', 'g', 'h', 'h', 0x0127, 0x0127, 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i',
    /* U+0130 */ 'i', 0x0131, 0x0133, 0x0133, 'j', 'j', 'k', 'k', 0x0138, 'l', 'l', 'l', 'l', 'l', 'l', 0x0140,
    /* U+0140 */ 0x0140, 0x0142, 0x0142, 'n', 'n', 'n', 'n', 'n', 'n', 0x0149, 0x014B, 0x014B, 'o', 'o', 'o', 'o',
    /* U+0150 */ 'o', 'o', 0x0153, 0x0153, 'r', 'r', 'r', 'r', 'r', 'r', 's', 's', 's', 's', 's', 's',
    /* U+0160 */ 's', 's', 't', 't', 't', 't', 0x0167, 0x0167, 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    /* U+0170 */ 'u', 'u', 'u', 'u', 'w', 'w', 'y', 'y', 'y', 'z', 'z', 'z', 'z', 'z', 'z', 0x017F,
};

static int is_punctuation(uint32_t cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
        return 1;
    return cp >= 0x80 && IN_RANGES(cp, punctuation);
}

/* The next code point of *p, advancing it; a malformed or overlong
 * sequence, a surrogate or a value past U+10FFFF reads as REPLACEMENT and
 * advances one byte. */
static uint32_t utf8_next(const unsigned char **p) {
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
    if (n < 0) {
        *p = s + 1;
        return REPLACEMENT;
    }
    uint32_t cp = n ? c & (0x3F >> n) : c;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *p = s + 1;
            return REPLACEMENT;
        }
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t least[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *p = s + 1;
        return REPLACEMENT;
    }
    *p = s + 1 + n;
    return cp;
}

/* cp as UTF-8 at out; returns the bytes written (1..4). */
static int utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000)
        return out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
               out[2] = (char)(0x80 | (cp & 0x3F)), 3;
    out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *wordpiece_basic(const char *text) {
    /* each input byte gives at most 3 output bytes: a 3-byte ideograph or
     * a 1-byte punctuation mark with a space on each side */
    size_t len = strlen(text);
    char *out = xmalloc(3 * len + 1);
    size_t o = 0;
    int split = 0; /* a space before the next character kept */
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        uint32_t cp = utf8_next(&p);
        if (cp == REPLACEMENT || IN_RANGES(cp, control)) continue;
        if (IN_RANGES(cp, combining)) continue; /* the accent stripped */
        if (IN_RANGES(cp, whitespace)) {
            split = 1;
            continue;
        }
        int alone = is_punctuation(cp) || IN_RANGES(cp, cjk);
        if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xFF21 && cp <= 0xFF3A)) cp += 'a' - 'A'; /* and full-width */
        else if (cp >= FOLD_FIRST && cp <= FOLD_LAST) cp = fold[cp - FOLD_FIRST];
        if ((split || alone) && o > 0) out[o++] = ' ';
        o += (size_t)utf8_put(out + o, cp);
        split = alone;
    }
    out[o] = 0;
    return out;
}

/* The pieces of one word (w, its code points starting at byte offsets
 * at[0..n-1], at[n] its end) into ids[max]; returns how many were written,
 * the word's pieces or one [UNK]. */
static int word_pieces(const Tokenizer *t, const char *w, const int *at, int n, int32_t *ids, int max) {
    char piece[2 + 4 * WORDPIECE_MAX_WORD + 1] = "##";
    int32_t found[WORDPIECE_MAX_WORD];
    int k = 0;
    for (int start = 0; start < n; k++) {
        int id = -1, end = n;
        for (;; end--) {
            if (end == start) {
                ids[0] = t->unk;
                return 1;
            }
            size_t len = (size_t)(at[end] - at[start]);
            memcpy(piece + 2, w + at[start], len);
            piece[2 + len] = 0;
            if ((id = str_map_find(&t->ids, start > 0 ? piece : piece + 2)) >= 0) break;
        }
        found[k] = id;
        start = end;
    }
    int m = k < max ? k : max;
    memcpy(ids, found, (size_t)m * sizeof *ids);
    return m;
}

int wordpiece_tokens(const Tokenizer *t, const char *text, int32_t *ids, int max) {
    char *words = wordpiece_basic(text);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save)) {
        int at[WORDPIECE_MAX_WORD + 1], chars = 0;
        const unsigned char *p = (const unsigned char *)w;
        while (*p && chars <= WORDPIECE_MAX_WORD) {
            if (chars < WORDPIECE_MAX_WORD) at[chars] = (int)(p - (const unsigned char *)w);
            chars++;
            utf8_next(&p);
        }
        if (chars > WORDPIECE_MAX_WORD) ids[n++] = t->unk;
        else {
            at[chars] = (int)(p - (const unsigned char *)w);
            n += word_pieces(t, w, at, chars, ids + n, max - n);
        }
    }
    free(words);
    return n;
}
