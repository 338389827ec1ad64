#include "gen_words.h"

#include "check.h"

#include <string.h>

const char *const gen_class_name[GEN_N_CLASSES] = {
    "t shirt", "trousers", "pullover", "dress", "coat",
    "sandal",  "shirt",    "sneaker",  "bag",   "ankle boot",
};
const char *const gen_class_singular[GEN_N_CLASSES] = {
    "t shirt", "pair of trousers", "pullover", "dress", "coat",
    "sandal",  "shirt",            "sneaker",  "bag",   "ankle boot",
};
const char *const gen_class_plural[GEN_N_CLASSES] = {
    "t shirts", "trousers", "pullovers", "dresses", "coats",
    "sandals",  "shirts",   "sneakers",  "bags",    "ankle boots",
};
const char *const gen_class_synonym[GEN_N_CLASSES] = {
    "top", "pants", "sweater", "gown", "jacket", "shoe", "blouse", "trainer", "handbag", "boot",
};
const char *const gen_colour_name[GEN_N_COLOURS] = {
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "white",
};
const char *const gen_colour_near[GEN_N_COLOURS] = {
    "orange", "red", "orange", "blue", "purple", "blue", "purple", "gray",
};
const char *const gen_cell_name[GEN_N_CELLS] = {"top left", "top right", "bottom left", "bottom right"};
const char *const gen_super_name[GEN_N_SUPERS] = {"shoes", "tops"};
const char *const gen_super_singular[GEN_N_SUPERS] = {"shoe", "top"};
const char *const gen_number_word[GEN_MAX_OBJECTS * 2 + 1] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
};

void gen_text_clear(GenText *t) {
    t->s[0] = 0;
    t->n = 0;
}

void gen_text_add(GenText *t, const char *words) {
    size_t len = strlen(words);
    if (t->n + len + 2 > sizeof t->s) die("generated text longer than %d bytes: %s %s", GEN_TEXT_MAX, t->s, words);
    if (t->n) t->s[t->n++] = ' ';
    memcpy(t->s + t->n, words, len + 1);
    t->n += len;
}

void gen_text_add_article(GenText *t, const char *next_word) {
    gen_text_add(t, next_word[0] && strchr("aeiou", next_word[0]) ? "an" : "a");
}

void gen_text_add_query(GenText *t, const GenQuery *q, GenForm form) {
    int plural = form == GEN_FORM_PLURAL;
    const char *noun = q->category >= 0 ? (plural ? gen_class_plural : gen_class_singular)[q->category]
                       : q->super >= 0  ? (plural ? gen_super_name : gen_super_singular)[q->super]
                       : plural         ? "objects"
                                        : "object";
    const char *first = q->colour >= 0 ? gen_colour_name[q->colour] : noun;
    if (form == GEN_FORM_ARTICLE) gen_text_add_article(t, first);
    if (q->colour >= 0) gen_text_add(t, gen_colour_name[q->colour]);
    gen_text_add(t, noun);
}

int gen_text_is_normal(const char *text) {
    if (!*text || *text == ' ') return 0;
    for (const char *p = text; *p; p++) {
        int word = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
        if (!word && !(*p == ' ' && p[1] && p[1] != ' ')) return 0;
    }
    return 1;
}
