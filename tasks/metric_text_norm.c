/* VQA answer normalisation; see metric_text_norm.h. */
#include "metric_text_norm.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

/* VQAEval.contractions, copied entry by entry (ASCII apostrophes as in the
 * file at a013f00). Four keys contain capitals and can never match a
 * lower-cased word; "somebody'd" maps to "somebodyd" as in the original. */
static const char *const contractions[][2] = {
    {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"}, {"couldve", "could've"},
    {"couldnt", "couldn't"}, {"couldn'tve", "couldn't've"},
    {"couldnt've", "couldn't've"}, {"didnt", "didn't"}, {"doesnt", "doesn't"},
    {"dont", "don't"}, {"hadnt", "hadn't"}, {"hadnt've", "hadn't've"},
    {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"}, {"havent", "haven't"},
    {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"}, {"hes", "he's"},
    {"howd", "how'd"}, {"howll", "how'll"}, {"hows", "how's"}, {"Id've", "I'd've"},
    {"I'dve", "I'd've"}, {"Im", "I'm"}, {"Ive", "I've"}, {"isnt", "isn't"},
    {"itd", "it'd"}, {"itd've", "it'd've"}, {"it'dve", "it'd've"}, {"itll", "it'll"},
    {"let's", "let's"}, {"maam", "ma'am"}, {"mightnt", "mightn't"},
    {"mightnt've", "mightn't've"}, {"mightn'tve", "mightn't've"},
    {"mightve", "might've"}, {"mustnt", "mustn't"}, {"mustve", "must've"},
    {"neednt", "needn't"}, {"notve", "not've"}, {"oclock", "o'clock"},
    {"oughtnt", "oughtn't"}, {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"},
    {"'ow'sat", "'ow's'at"}, {"shant", "shan't"}, {"shed've", "she'd've"},
    {"she'dve", "she'd've"}, {"she's", "she's"}, {"shouldve", "should've"},
    {"shouldnt", "shouldn't"}, {"shouldnt've", "shouldn't've"},
    {"shouldn'tve", "shouldn't've"}, {"somebody'd", "somebodyd"},
    {"somebodyd've", "somebody'd've"}, {"somebody'dve", "somebody'd've"},
    {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"},
    {"someoned", "someone'd"}, {"someoned've", "someone'd've"},
    {"someone'dve", "someone'd've"}, {"someonell", "someone'll"},
    {"someones", "someone's"}, {"somethingd", "something'd"},
    {"somethingd've", "something'd've"}, {"something'dve", "something'd've"},
    {"somethingll", "something'll"}, {"thats", "that's"}, {"thered", "there'd"},
    {"thered've", "there'd've"}, {"there'dve", "there'd've"}, {"therere", "there're"},
    {"theres", "there's"}, {"theyd", "they'd"}, {"theyd've", "they'd've"},
    {"they'dve", "they'd've"}, {"theyll", "they'll"}, {"theyre", "they're"},
    {"theyve", "they've"}, {"twas", "'twas"}, {"wasnt", "wasn't"},
    {"wed've", "we'd've"}, {"we'dve", "we'd've"}, {"weve", "we've"},
    {"werent", "weren't"}, {"whatll", "what'll"}, {"whatre", "what're"},
    {"whats", "what's"}, {"whatve", "what've"}, {"whens", "when's"},
    {"whered", "where'd"}, {"wheres", "where's"}, {"whereve", "where've"},
    {"whod", "who'd"}, {"whod've", "who'd've"}, {"who'dve", "who'd've"},
    {"wholl", "who'll"}, {"whos", "who's"}, {"whove", "who've"}, {"whyll", "why'll"},
    {"whyre", "why're"}, {"whys", "why's"}, {"wont", "won't"}, {"wouldve", "would've"},
    {"wouldnt", "wouldn't"}, {"wouldnt've", "wouldn't've"},
    {"wouldn'tve", "wouldn't've"}, {"yall", "y'all"}, {"yall'll", "y'all'll"},
    {"y'allll", "y'all'll"}, {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"},
    {"y'all'dve", "y'all'd've"}, {"youd", "you'd"}, {"youd've", "you'd've"},
    {"you'dve", "you'd've"}, {"youll", "you'll"}, {"youre", "you're"},
    {"youve", "you've"},
};

/* VQAEval.manualMap: number words to digits. */
static const char *const manual_map[][2] = {
    {"none", "0"}, {"zero", "0"}, {"one", "1"}, {"two", "2"},   {"three", "3"}, {"four", "4"},
    {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"},  {"ten", "10"},
};

static const char *const articles[] = {"a", "an", "the"};

/* VQAEval.punct, 21 characters. */
static const char punct[] = ";/[]\"{}()=+\\_-><@`,?!";

/* re.UNICODE (32) passed as the count argument of periodStrip.sub. */
enum { PERIOD_STRIP_MAX = 32 };

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

int metric_text_norm_is_space(int c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

char metric_text_norm_to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int is_digit(int c) { return c >= '0' && c <= '9'; }

char *metric_text_norm_clean_answer(const char *s) {
    while (*s && metric_text_norm_is_space((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && metric_text_norm_is_space((unsigned char)s[n - 1])) n--;
    char *out = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) out[i] = (s[i] == '\n' || s[i] == '\t') ? ' ' : s[i];
    out[n] = '\0';
    return out;
}

/* True if s contains a digit, a comma and a digit in a row (commaStrip). */
static int has_digit_comma_digit(const char *s) {
    for (size_t i = 0; s[i] && s[i + 1] && s[i + 2]; i++)
        if (is_digit((unsigned char)s[i]) && s[i + 1] == ',' && is_digit((unsigned char)s[i + 2]))
            return 1;
    return 0;
}

/* True if s contains p followed by a space or a space followed by p. */
static int has_spaced(const char *s, char p) {
    for (size_t i = 0; s[i] && s[i + 1]; i++)
        if ((s[i] == p && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == p)) return 1;
    return 0;
}

char *metric_text_norm_process_punctuation(const char *s) {
    /* Each character's fate depends on the input only, and replacing one
     * punctuation character never creates another, so the 21 passes of the
     * Python loop collapse into one pass with a per-character decision. */
    int delete_all = has_digit_comma_digit(s);
    int deleted[sizeof punct] = {0};
    for (size_t k = 0; k + 1 < sizeof punct; k++) deleted[k] = delete_all || has_spaced(s, punct[k]);

    size_t n = strlen(s);
    char *mid = xmalloc(n + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(punct, s[i]);
        if (!p) mid[m++] = s[i];
        else if (!deleted[p - punct]) mid[m++] = ' ';
    }
    mid[m] = '\0';

    /* periodStrip: delete '.' not followed by a digit, first 32 only. */
    char *out = xmalloc(m + 1);
    size_t o = 0;
    int stripped = 0;
    for (size_t i = 0; i < m; i++) {
        if (mid[i] == '.' && !is_digit((unsigned char)mid[i + 1]) && stripped < PERIOD_STRIP_MAX) {
            stripped++;
            continue;
        }
        out[o++] = mid[i];
    }
    out[o] = '\0';
    free(mid);
    return out;
}

static const char *table_lookup(const char *const (*table)[2], size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i][0], key) == 0) return table[i][1];
    return NULL;
}

size_t metric_text_norm_contraction_count(void) { return COUNT_OF(contractions); }

const char *metric_text_norm_contraction_lookup(const char *word) {
    return table_lookup(contractions, COUNT_OF(contractions), word);
}

static int is_article(const char *w) {
    for (size_t i = 0; i < COUNT_OF(articles); i++)
        if (strcmp(articles[i], w) == 0) return 1;
    return 0;
}

char *metric_text_norm_process_digit_article(const char *s) {
    size_t n = strlen(s);
    char *low = xmalloc(n + 1);
    for (size_t i = 0; i <= n; i++) low[i] = metric_text_norm_to_lower(s[i]);

    /* A word grows by at most one byte under the contractions table. */
    char *out = xmalloc(2 * n + 1);
    size_t o = 0;
    for (char *w = low; *w;) {
        if (metric_text_norm_is_space((unsigned char)*w)) {
            w++;
            continue;
        }
        char *end = w;
        while (*end && !metric_text_norm_is_space((unsigned char)*end)) end++;
        char saved = *end;
        *end = '\0';
        const char *word = table_lookup(manual_map, COUNT_OF(manual_map), w);
        if (!word) word = w;
        if (!is_article(word)) {
            const char *expanded = metric_text_norm_contraction_lookup(word);
            if (expanded) word = expanded;
            if (o > 0) out[o++] = ' ';
            size_t len = strlen(word);
            memcpy(out + o, word, len);
            o += len;
        }
        *end = saved;
        w = end;
    }
    out[o] = '\0';
    free(low);
    return out;
}

char *metric_text_norm_word(const char *s) {
    char *p = metric_text_norm_process_punctuation(s);
    char *d = metric_text_norm_process_digit_article(p);
    free(p);
    size_t o = 0;
    for (size_t i = 0; d[i]; i++)
        if (d[i] != ',') d[o++] = d[i];
    d[o] = '\0';
    return d;
}
