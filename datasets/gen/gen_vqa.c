#include "gen_vqa.h"

#include "check.h"

#include <string.h>

enum { GEN_MAX_CANDIDATES = 64 };

const char *const gen_vqa_kind_name[VQA_N_KINDS] = {"colour", "what", "count", "exist", "relation"};

static const char *const gen_digit[GEN_MAX_OBJECTS + 2] = {"0", "1", "2", "3", "4", "5"};
static const char *const gen_yes_no[2] = {"no", "yes"};

typedef struct {
    GenText question;
    const char *question_type;
    int answer; /* colour, class, count or 0 no / 1 yes */
} GenCandidate;

typedef struct {
    GenCandidate c[GEN_MAX_CANDIDATES];
    int n;
} GenCandidates;

static GenCandidate *gen_candidate_add(GenCandidates *cs, const char *question_type, int answer) {
    if (cs->n == GEN_MAX_CANDIDATES) die("more than %d candidate questions", GEN_MAX_CANDIDATES);
    GenCandidate *c = &cs->c[cs->n++];
    gen_text_clear(&c->question);
    c->question_type = question_type;
    c->answer = answer;
    return c;
}

/* Append a phrase naming object i of s uniquely without its position
 * ("the sneaker", "the red sneaker", "the small sneaker"); colour only if
 * with_colour. Returns 0 when no such phrase exists. */
static int gen_add_reference(GenText *t, const GenScene *s, int i, int with_colour, Rng *r) {
    const GenObject *o = &s->obj[i];
    int same_class = 0, same_colour = 0, same_size = 0;
    for (int j = 0; j < s->n; j++) {
        if (j == i || s->obj[j].category != o->category) continue;
        same_class++;
        same_colour += s->obj[j].colour == o->colour;
        same_size += s->obj[j].large == o->large;
    }
    const char *adjective[3];
    int n = 0;
    if (!same_class) adjective[n++] = NULL;
    if (with_colour && !same_colour) adjective[n++] = gen_colour_name[o->colour];
    if (!same_size) adjective[n++] = o->large ? "large" : "small";
    if (!n) return 0;
    const char *a = adjective[rng_below(r, (uint32_t)n)];
    gen_text_add(t, "the");
    if (a) gen_text_add(t, a);
    gen_text_add(t, gen_class_name[o->category]);
    return 1;
}

static void gen_candidates_colour(GenCandidates *cs, const GenScene *s, Rng *r) {
    for (int i = 0; i < s->n; i++) {
        GenCandidate *c = gen_candidate_add(cs, "what color is the", s->obj[i].colour);
        gen_text_add(&c->question, "what color is");
        if (rng_below(r, 2) && gen_add_reference(&c->question, s, i, 0, r)) continue;
        gen_text_clear(&c->question);
        gen_text_add(&c->question, "what color is the object in the");
        gen_text_add(&c->question, gen_cell_name[s->obj[i].cell]);
    }
}

static void gen_candidates_what(GenCandidates *cs, const GenScene *s) {
    for (int i = 0; i < s->n; i++) {
        GenCandidate *c = gen_candidate_add(cs, "what is in the", s->obj[i].category);
        gen_text_add(&c->question, "what is in the");
        gen_text_add(&c->question, gen_cell_name[s->obj[i].cell]);
    }
}

/* Every query a count or existence question may ask about in s. */
static int gen_queries(const GenScene *s, GenQuery *q) {
    int n = 0;
    for (int c = 0; c < GEN_N_CLASSES; c++) q[n++] = (GenQuery){c, -1, -1};
    for (int k = 0; k < GEN_N_COLOURS; k++) q[n++] = (GenQuery){-1, -1, k};
    for (int k = 0; k < GEN_N_SUPERS; k++) q[n++] = (GenQuery){-1, k, -1};
    for (int i = 0; i < s->n; i++) {
        q[n++] = (GenQuery){s->obj[i].category, -1, s->obj[i].colour};
        /* the same class in another colour: a plausible absent object */
        q[n++] = (GenQuery){s->obj[i].category, -1, (s->obj[i].colour + 1 + i) % GEN_N_COLOURS};
    }
    return n;
}

static void gen_candidates_count(GenCandidates *cs, const GenScene *s) {
    GenQuery q[GEN_N_CLASSES + GEN_N_COLOURS + GEN_N_SUPERS + 2 * GEN_MAX_OBJECTS + 1];
    int n = gen_queries(s, q);
    q[n++] = (GenQuery){-1, -1, -1};
    for (int i = 0; i < n; i++) {
        GenCandidate *c = gen_candidate_add(cs, "how many", gen_scene_count(s, &q[i]));
        gen_text_add(&c->question, "how many");
        gen_text_add_query(&c->question, &q[i], GEN_FORM_PLURAL);
        gen_text_add(&c->question, "are there");
    }
}

static void gen_candidates_exist(GenCandidates *cs, const GenScene *s) {
    GenQuery q[GEN_N_CLASSES + GEN_N_COLOURS + GEN_N_SUPERS + 2 * GEN_MAX_OBJECTS];
    int n = gen_queries(s, q);
    for (int i = 0; i < n; i++) {
        int yes = gen_scene_count(s, &q[i]) > 0;
        int any = q[i].category < 0 && q[i].super >= 0;
        /* answer id yes/no + 2 for "are there any", so both forms are balanced */
        GenCandidate *c = gen_candidate_add(cs, any ? "are there any" : "is there a", yes + 2 * any);
        gen_text_add(&c->question, any ? "are there any" : "is there");
        gen_text_add_query(&c->question, &q[i], any ? GEN_FORM_PLURAL : GEN_FORM_ARTICLE);
        if (!any && strncmp(c->question.s, "is there a ", 11)) c->question_type = "is there";
    }
}

static void gen_candidates_relation(GenCandidates *cs, const GenScene *s, Rng *r) {
    static const char *const relation[4] = {"left of", "right of", "above", "below"};
    for (int i = 0; i < s->n; i++)
        for (int j = 0; j < s->n; j++) {
            if (i == j) continue;
            int ci = s->obj[i].cell, cj = s->obj[j].cell;
            for (int k = 0; k < 4; k++) {
                int axis_i = k < 2 ? ci % 2 : ci / 2, axis_j = k < 2 ? cj % 2 : cj / 2;
                if (axis_i == axis_j) continue; /* same column (row): no answer */
                int yes = k % 2 == 0 ? axis_i < axis_j : axis_i > axis_j;
                GenCandidate *c = gen_candidate_add(cs, "is the", yes);
                gen_text_add(&c->question, "is");
                if (!gen_add_reference(&c->question, s, i, 1, r)) {
                    cs->n--;
                    continue;
                }
                gen_text_add(&c->question, relation[k]);
                if (!gen_add_reference(&c->question, s, j, 1, r)) cs->n--;
            }
        }
}

/* The answer string of answer id a of a question of kind k. */
static const char *gen_answer_text(GenVqaKind k, int a) {
    switch (k) {
    case VQA_KIND_COLOUR: return gen_colour_name[a];
    case VQA_KIND_WHAT: return gen_class_name[a];
    case VQA_KIND_COUNT: return gen_digit[a];
    default: return gen_yes_no[a % 2];
    }
}

/* An annotator's mistake: a near colour, a synonym, off by one, the other of yes/no. */
static const char *gen_answer_other(GenVqaKind k, int a, Rng *r) {
    switch (k) {
    case VQA_KIND_COLOUR: return gen_colour_near[a];
    case VQA_KIND_WHAT: return gen_class_synonym[a];
    case VQA_KIND_COUNT: return gen_digit[a == 0 || rng_below(r, 2) ? a + 1 : a - 1];
    default: return gen_yes_no[!(a % 2)];
    }
}

static void gen_annotate(GenQuestion *q, GenVqaKind kind, int answer, Rng *r) {
    uint32_t u = rng_below(r, 100);
    int disagree = u < 50 ? 0 : u < 75 ? 1 : u < 90 ? 2 : 3; /* at most 3 of 10 */
    int wrong[GEN_VQA_ANSWERS] = {0};
    for (int d = 0; d < disagree;) {
        int k = (int)rng_below(r, GEN_VQA_ANSWERS);
        if (!wrong[k]) wrong[k] = 1, d++;
    }
    for (int k = 0; k < GEN_VQA_ANSWERS; k++) {
        uint32_t c = rng_below(r, 100);
        if (wrong[k]) {
            q->answers[k] = gen_answer_other(kind, answer, r);
            q->confidence[k] = c < 60 ? "maybe" : c < 85 ? "no" : "yes";
        } else {
            q->answers[k] = gen_answer_text(kind, answer);
            q->confidence[k] = c < 85 ? "yes" : "maybe";
        }
    }
    q->multiple_choice_answer = gen_vqa_majority(q->answers, GEN_VQA_ANSWERS);
}

const char *gen_vqa_majority(const char *const *answers, int n) {
    int best = 0, best_count = 0;
    for (int i = 0; i < n; i++) {
        int count = 0;
        for (int j = 0; j < n; j++) count += !strcmp(answers[i], answers[j]);
        if (count > best_count) best = i, best_count = count;
    }
    return answers[best];
}

static void gen_candidates_of(GenCandidates *cs, GenVqaKind kind, const GenScene *s, Rng *r) {
    cs->n = 0;
    switch (kind) {
    case VQA_KIND_COLOUR: gen_candidates_colour(cs, s, r); break;
    case VQA_KIND_WHAT: gen_candidates_what(cs, s); break;
    case VQA_KIND_COUNT: gen_candidates_count(cs, s); break;
    case VQA_KIND_EXIST: gen_candidates_exist(cs, s); break;
    default: gen_candidates_relation(cs, s, r); break;
    }
}

static const char *const gen_answer_type[VQA_N_KINDS] = {"other", "other", "number", "yes/no", "yes/no"};

int gen_vqa_make(const GenScene *s, Rng *r, GenVqaBalance *balance, int n_wanted, GenQuestion *out) {
    int kinds[VQA_N_KINDS];
    for (int i = 0; i < VQA_N_KINDS; i++) kinds[i] = i;
    for (int i = VQA_N_KINDS - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1), t = kinds[i];
        kinds[i] = kinds[j];
        kinds[j] = t;
    }
    GenCandidates cs;
    int made = 0;
    /* go round the kinds (in a random order) until enough questions are made */
    for (int round = 0; round < n_wanted + 1 && made < n_wanted; round++)
        for (int ki = 0; ki < VQA_N_KINDS && made < n_wanted; ki++) {
            GenVqaKind kind = (GenVqaKind)kinds[ki];
            gen_candidates_of(&cs, kind, s, r);
            int best = -1, ties = 0;
            for (int i = 0; i < cs.n; i++) {
                int dup = 0;
                for (int m = 0; m < made; m++) dup |= !strcmp(out[m].question.s, cs.c[i].question.s);
                if (dup) continue;
                int t = balance->tally[kind][cs.c[i].answer];
                int bt = best < 0 ? 0 : balance->tally[kind][cs.c[best].answer];
                if (best < 0 || t < bt) best = i, ties = 1;
                else if (t == bt && rng_below(r, (uint32_t)++ties) == 0) best = i;
            }
            if (best < 0) continue;
            GenQuestion *q = &out[made++];
            q->kind = kind;
            q->question = cs.c[best].question;
            q->question_type = cs.c[best].question_type;
            q->answer_type = gen_answer_type[kind];
            balance->tally[kind][cs.c[best].answer]++;
            gen_annotate(q, kind, cs.c[best].answer, r);
        }
    return made;
}
