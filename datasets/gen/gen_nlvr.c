#include "gen_nlvr.h"

enum { GEN_NLVR_TRIES = 400 };

/* A query for a statement: a class, a colour and class, a super-class or a
 * colour; all objects too when allow_any. */
static GenQuery gen_statement_query(Rng *r, int allow_any) {
    uint32_t u = rng_below(r, allow_any ? 5 : 4);
    GenQuery q = {-1, -1, -1};
    if (u == 0 || u == 1) q.category = (int)rng_below(r, GEN_N_CLASSES);
    if (u == 1 || u == 3) q.colour = (int)rng_below(r, GEN_N_COLOURS);
    if (u == 2) q.super = (int)rng_below(r, GEN_N_SUPERS);
    return q;
}

void gen_nlvr_statement_sample(GenStatement *st, Rng *r) {
    st->kind = (GenNlvrKind)rng_below(r, NLVR_N_KINDS);
    int counted = st->kind >= NLVR_MORE;
    st->q = gen_statement_query(r, counted);
    st->side = (int)rng_below(r, 2);
    st->n = st->kind == NLVR_TOTAL ? 1 + (int)rng_below(r, 4) : 1 + (int)rng_below(r, 3);
    if (st->kind == NLVR_EXACTLY && st->q.category < 0 && st->q.super < 0 && st->q.colour < 0)
        st->n++; /* "exactly 2..4 objects": every scene has at least one */
}

void gen_nlvr_statement_text(const GenStatement *st, GenText *t) {
    static const char *const side_name[2] = {"left", "right"};
    gen_text_clear(t);
    switch (st->kind) {
    case NLVR_BOTH:
        gen_text_add(t, "both images contain");
        gen_text_add_query(t, &st->q, GEN_FORM_ARTICLE);
        break;
    case NLVR_ONLY_ONE:
        gen_text_add(t, "exactly one image contains");
        gen_text_add_query(t, &st->q, GEN_FORM_ARTICLE);
        break;
    case NLVR_NEITHER:
        gen_text_add(t, "neither image contains");
        gen_text_add_query(t, &st->q, GEN_FORM_ARTICLE);
        break;
    case NLVR_MORE:
        gen_text_add(t, "the");
        gen_text_add(t, side_name[st->side]);
        gen_text_add(t, "image has more");
        gen_text_add_query(t, &st->q, GEN_FORM_PLURAL);
        gen_text_add(t, "than the");
        gen_text_add(t, side_name[!st->side]);
        gen_text_add(t, "image");
        break;
    case NLVR_SAME:
        gen_text_add(t, "both images have the same number of");
        gen_text_add_query(t, &st->q, GEN_FORM_PLURAL);
        break;
    case NLVR_TOTAL:
        gen_text_add(t, st->n == 1 ? "there is exactly" : "there are exactly");
        gen_text_add(t, gen_number_word[st->n]);
        gen_text_add_query(t, &st->q, st->n == 1 ? GEN_FORM_BARE : GEN_FORM_PLURAL);
        gen_text_add(t, "in the two images");
        break;
    default:
        gen_text_add(t, "the");
        gen_text_add(t, side_name[st->side]);
        gen_text_add(t, "image contains exactly");
        gen_text_add(t, gen_number_word[st->n]);
        gen_text_add_query(t, &st->q, st->n == 1 ? GEN_FORM_BARE : GEN_FORM_PLURAL);
        break;
    }
}

int gen_nlvr_statement_eval(const GenStatement *st, const GenScene *left, const GenScene *right) {
    int cl = gen_scene_count(left, &st->q), cr = gen_scene_count(right, &st->q);
    switch (st->kind) {
    case NLVR_BOTH: return cl > 0 && cr > 0;
    case NLVR_ONLY_ONE: return (cl > 0) != (cr > 0);
    case NLVR_NEITHER: return cl == 0 && cr == 0;
    case NLVR_MORE: return st->side == 0 ? cl > cr : cr > cl;
    case NLVR_SAME: return cl == cr;
    case NLVR_TOTAL: return cl + cr == st->n;
    default: return (st->side == 0 ? cl : cr) == st->n;
    }
}

void gen_nlvr_pair_sample(const GenStatement *st, int want, Rng *r, const GenPhotoPool *pool,
                          const GenCanvas *cv, GenScene *left, GenScene *right) {
    GenQuery forced[GEN_MAX_OBJECTS];
    for (int i = 0; i < GEN_MAX_OBJECTS; i++) forced[i] = st->q;
    for (int t = 0; t < GEN_NLVR_TRIES; t++) {
        /* plant 0..3 objects matching the statement's query in each image,
         * so that both truth values come up often */
        gen_scene_sample(left, r, pool, cv, forced, (int)rng_below(r, 4));
        gen_scene_sample(right, r, pool, cv, forced, (int)rng_below(r, 4));
        if (gen_nlvr_statement_eval(st, left, right) == want) return;
    }
}
