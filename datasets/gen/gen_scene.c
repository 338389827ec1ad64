#include "gen_scene.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

/* RGB of each tint; the order matches the colour names of gen_words.c. */
static const unsigned char gen_colour_rgb[GEN_N_COLOURS][3] = {
    {220, 30, 30},  {245, 130, 20}, {240, 220, 40}, {40, 180, 60},
    {40, 90, 230},  {150, 60, 200}, {250, 120, 190}, {245, 245, 245},
};

/* Super-class members: shoes = sandal, sneaker, ankle boot; tops = t-shirt,
 * pullover, coat, shirt (upper-body garments). */
static const unsigned char gen_super_members[GEN_N_SUPERS][GEN_N_CLASSES] = {
    {0, 0, 0, 0, 0, 1, 0, 1, 0, 1},
    {1, 0, 1, 0, 1, 0, 1, 0, 0, 0},
};

void gen_pool_init(GenPhotoPool *pool, const IdxSet *set, int parity) {
    memset(pool, 0, sizeof *pool);
    pool->set = set;
    for (int c = 0; c < GEN_N_CLASSES; c++) pool->by_class[c] = xmalloc((size_t)set->count * sizeof(int));
    for (int i = 0; i < set->count; i++) {
        if (parity >= 0 && i % 2 != parity) continue;
        int c = set->labels[i];
        pool->by_class[c][pool->n_by_class[c]++] = i;
    }
}

void gen_pool_free(GenPhotoPool *pool) {
    for (int c = 0; c < GEN_N_CLASSES; c++) free(pool->by_class[c]);
    memset(pool, 0, sizeof *pool);
}

int gen_super_has(int super, int category) { return gen_super_members[super][category]; }

int gen_query_match(const GenQuery *q, const GenObject *o) {
    if (q->category >= 0 && o->category != q->category) return 0;
    if (q->category < 0 && q->super >= 0 && !gen_super_has(q->super, o->category)) return 0;
    return q->colour < 0 || o->colour == q->colour;
}

int gen_scene_count(const GenScene *s, const GenQuery *q) {
    int n = 0;
    for (int i = 0; i < s->n; i++) n += gen_query_match(q, &s->obj[i]);
    return n;
}

static int gen_pick_category(Rng *r, const GenQuery *q) {
    if (q && q->category >= 0) return q->category;
    if (q && q->super >= 0) {
        int members[GEN_N_CLASSES], n = 0;
        for (int c = 0; c < GEN_N_CLASSES; c++)
            if (gen_super_has(q->super, c)) members[n++] = c;
        return members[rng_below(r, (uint32_t)n)];
    }
    return (int)rng_below(r, GEN_N_CLASSES);
}

void gen_scene_sample(GenScene *s, Rng *r, const GenPhotoPool *pool, const GenCanvas *cv,
                      const GenQuery *forced, int n_forced) {
    int canvas = cv->size;
    memset(s, 0, sizeof *s);
    int n = 1 + (int)rng_below(r, GEN_MAX_OBJECTS);
    if (n < n_forced) n = n_forced;
    int cells[GEN_N_CELLS] = {0, 1, 2, 3};
    for (int i = GEN_N_CELLS - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1), t = cells[i];
        cells[i] = cells[j];
        cells[j] = t;
    }
    int half = canvas / 2;
    GenObject objs[GEN_MAX_OBJECTS];
    for (int i = 0; i < n; i++) {
        const GenQuery *q = i < n_forced ? &forced[i] : NULL;
        GenObject *o = &objs[i];
        o->category = gen_pick_category(r, q);
        o->colour = q && q->colour >= 0 ? q->colour : (int)rng_below(r, GEN_N_COLOURS);
        o->large = (int)rng_below(r, 2);
        o->cell = cells[i];
        o->side = o->large ? canvas * 15 / 32 : canvas * 5 / 16;
        int free = half - o->side, dx = (int)rng_below(r, (uint32_t)free + 1), dy = (int)rng_below(r, (uint32_t)free + 1);
        if (cv->placement == GEN_PLACE_CENTRED) dx = dy = free / 2;
        o->x = (o->cell % 2) * half + dx;
        o->y = (o->cell / 2) * half + dy;
        const int *photos = pool->by_class[o->category];
        o->photo = photos[rng_below(r, (uint32_t)pool->n_by_class[o->category])];
    }
    /* list the objects in cell order */
    s->n = n;
    for (int c = 0, k = 0; c < GEN_N_CELLS; c++)
        for (int i = 0; i < n; i++)
            if (objs[i].cell == c) s->obj[k++] = objs[i];
    for (int c = 0; c < 3; c++) s->background[c] = (unsigned char)(25 + rng_below(r, 50));
    s->texture_seed = rng_next(r);
}

static unsigned gen_hash(uint64_t seed, unsigned x, unsigned y) {
    uint64_t z = seed ^ ((uint64_t)x << 32 | y);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (unsigned)(z ^ (z >> 31));
}

static unsigned char gen_clamp(int v) { return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* Photo intensity 0..255 at box pixel (px, py), bilinear over the 28x28 photo. */
static int gen_photo_sample(const unsigned char *photo, int rows, int cols, int side, int px, int py) {
    /* source coordinates in 1/256 pixel, pixel centres aligned */
    int sx = ((2 * px + 1) * cols * 256) / (2 * side) - 128;
    int sy = ((2 * py + 1) * rows * 256) / (2 * side) - 128;
    if (sx < 0) sx = 0;
    if (sy < 0) sy = 0;
    int x0 = sx >> 8, y0 = sy >> 8, fx = sx & 255, fy = sy & 255;
    int x1 = x0 + 1 < cols ? x0 + 1 : x0, y1 = y0 + 1 < rows ? y0 + 1 : y0;
    int top = photo[y0 * cols + x0] * (256 - fx) + photo[y0 * cols + x1] * fx;
    int bot = photo[y1 * cols + x0] * (256 - fx) + photo[y1 * cols + x1] * fx;
    return (top * (256 - fy) + bot * fy) >> 16;
}

void gen_scene_render(const GenScene *s, const GenPhotoPool *pool, const GenCanvas *cv, unsigned char *rgb) {
    int canvas = cv->size, tint_percent = cv->tint_percent;
    /* background: base tone, a soft diagonal gradient and +-8 noise */
    for (int y = 0; y < canvas; y++)
        for (int x = 0; x < canvas; x++) {
            unsigned h = gen_hash(s->texture_seed, (unsigned)x, (unsigned)y);
            int shade = (x + y) * 12 / (2 * canvas);
            for (int c = 0; c < 3; c++) {
                int noise = (int)((h >> (8 * c)) & 15) - 8;
                rgb[(y * canvas + x) * 3 + c] = gen_clamp(s->background[c] + shade + noise);
            }
        }
    /* objects: the photo's intensity is both alpha and shading of the tint */
    const IdxSet *set = pool->set;
    for (int i = 0; i < s->n; i++) {
        const GenObject *o = &s->obj[i];
        const unsigned char *photo = set->pixels + (size_t)o->photo * (size_t)(set->rows * set->cols);
        const unsigned char *tint = gen_colour_rgb[o->colour];
        for (int py = 0; py < o->side; py++)
            for (int px = 0; px < o->side; px++) {
                int a = gen_photo_sample(photo, set->rows, set->cols, o->side, px, py);
                int light = 115 + 140 * a / 255;
                unsigned char *dst = rgb + ((o->y + py) * canvas + o->x + px) * 3;
                for (int c = 0; c < 3; c++) {
                    int fg = (tint[c] * light / 255) * tint_percent / 100 + light * (100 - tint_percent) / 100;
                    dst[c] = (unsigned char)((dst[c] * (255 - a) + fg * a) / 255);
                }
            }
    }
}
