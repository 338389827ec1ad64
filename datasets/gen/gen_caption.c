#include "gen_caption.h"

#include "check.h"

#include <string.h>

enum { GEN_N_TEMPLATES = 8, GEN_N_ALT_TEMPLATES = 6 };

static const char *const gen_size_name[2] = {"small", "large"};
static const char *const gen_alt_size_name[2] = {"tiny", "big"};
static const char *const gen_row_name[2] = {"upper", "lower"};
static const char *const gen_col_name[2] = {"left", "right"};

/* Append "a [size] [colour] <class>"; size and colour optional. */
static void gen_add_object(GenText *t, const GenObject *o, int with_size, int with_colour) {
    const char *first = with_size ? gen_size_name[o->large]
                        : with_colour ? gen_colour_name[o->colour]
                                      : gen_class_singular[o->category];
    gen_text_add_article(t, first);
    if (with_size) gen_text_add(t, gen_size_name[o->large]);
    if (with_colour) gen_text_add(t, gen_colour_name[o->colour]);
    gen_text_add(t, gen_class_singular[o->category]);
}

/* Downstream template k for the objects of s taken in order ord[]. */
static void gen_caption_template(GenText *t, const GenScene *s, const int *ord, int k) {
    for (int j = 0; j < s->n; j++) {
        const GenObject *o = &s->obj[ord[j]];
        if (j > 0) gen_text_add(t, k == 5 ? "next to" : "and");
        switch (k) {
        case 0:
            gen_add_object(t, o, 1, 1);
            gen_text_add(t, "in the");
            gen_text_add(t, gen_cell_name[o->cell]);
            break;
        case 1:
            if (j == 0) gen_text_add(t, "there is");
            gen_add_object(t, o, 0, 1);
            gen_text_add(t, "at the");
            gen_text_add(t, gen_cell_name[o->cell]);
            break;
        case 2:
            if (j == 0) {
                gen_text_add(t, gen_number_word[s->n]);
                gen_text_add(t, s->n == 1 ? "item" : "items");
            }
            gen_add_object(t, o, 1, 1);
            break;
        case 3:
            gen_text_add(t, "the");
            gen_text_add(t, gen_cell_name[o->cell]);
            gen_text_add(t, "shows");
            gen_add_object(t, o, 1, 1);
            break;
        case 4:
            gen_add_object(t, o, 0, 1);
            gen_text_add(t, "on the");
            gen_text_add(t, gen_row_name[o->cell / 2]);
            gen_text_add(t, gen_col_name[o->cell % 2]);
            break;
        case 5:
            if (s->n > 1) {
                gen_add_object(t, o, 1, 1);
                break;
            }
            gen_text_add(t, "a single");
            gen_text_add(t, gen_size_name[o->large]);
            gen_text_add(t, gen_colour_name[o->colour]);
            gen_text_add(t, gen_class_singular[o->category]);
            break;
        case 6:
            if (j == 0) gen_text_add(t, "a picture with");
            gen_add_object(t, o, 1, 0);
            gen_text_add(t, "in");
            gen_text_add(t, gen_colour_name[o->colour]);
            break;
        default:
            gen_text_add(t, "in the");
            gen_text_add(t, gen_cell_name[o->cell]);
            gen_add_object(t, o, 1, 1);
            break;
        }
    }
}

static void gen_shuffle(Rng *r, int *v, int n) {
    for (int i = 0; i < n; i++) v[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void gen_caption_make(const GenScene *s, Rng *r, GenText out[GEN_CAPTIONS_PER_IMAGE]) {
    int templates[GEN_N_TEMPLATES], ord[GEN_MAX_OBJECTS];
    gen_shuffle(r, templates, GEN_N_TEMPLATES);
    for (int i = 0; i < GEN_CAPTIONS_PER_IMAGE; i++) {
        gen_shuffle(r, ord, s->n);
        gen_text_clear(&out[i]);
        gen_caption_template(&out[i], s, ord, templates[i]);
    }
}

void gen_caption_alt_text(const GenScene *s, Rng *r, GenText *out) {
    int ord[GEN_MAX_OBJECTS];
    gen_shuffle(r, ord, s->n);
    int k = (int)rng_below(r, GEN_N_ALT_TEMPLATES);
    gen_text_clear(out);
    if (k == 0) gen_text_add(out, "photo of");
    if (k == 2) {
        gen_text_add(out, "stock photo of");
        gen_text_add(out, gen_number_word[s->n]);
        gen_text_add(out, s->n == 1 ? "fashion item" : "fashion items including");
    }
    if (k == 4) gen_text_add(out, "shop the look");
    /* "including" names only the first object or two, like real alt-text */
    int shown = k == 2 && s->n > 1 ? 1 + (int)rng_below(r, 2) : s->n;
    for (int j = 0; j < shown; j++) {
        const GenObject *o = &s->obj[ord[j]];
        if (j > 0 && k != 1 && k != 5) gen_text_add(out, k == 4 ? "with" : "and");
        if (k == 3) {
            gen_text_add(out, gen_alt_size_name[o->large]);
            gen_text_add(out, gen_class_singular[o->category]);
            gen_text_add(out, "in");
            gen_text_add(out, gen_colour_name[o->colour]);
            continue;
        }
        if (k == 2 && s->n > 1) gen_text_add_article(out, gen_colour_name[o->colour]);
        gen_text_add(out, gen_colour_name[o->colour]);
        gen_text_add(out, gen_class_singular[o->category]);
        if (k == 5) {
            gen_text_add(out, gen_row_name[o->cell / 2]);
            gen_text_add(out, gen_col_name[o->cell % 2]);
            gen_text_add(out, "corner");
        }
    }
    if (k == 1) gen_text_add(out, "product image");
}
