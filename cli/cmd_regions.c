/* `moil regions train`: stage one of the two-stage (VinVL-style) model.
 * Crops every object box of the dataset's COCO instances files (standing
 * in for a detector), trains the region encoder and tagger
 * (engine/models/model_region_encoder.h) once on the crops of the training scenes
 * (pretrain + train sets, labels = categories), reports the tagger's
 * accuracy per set (val and test are held out), and writes the region
 * folder (engine/io/io_region_store.h): per set a cache of every image's region
 * features and predicted tags, the frozen encoder, and regions.json.
 * Idempotent: skipped when regions.json records the same settings and
 * instances files and the caches load (--force redoes it). */
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "commands.h"
#include "data_instances.h"
#include "data_layout.h"
#include "io_checkpoint.h"
#include "io_image_load.h"
#include "io_region_store.h"
#include "model_region_encoder.h"
#include "train.h"
#include "train_adamw.h"

static const char usage[] =
    "usage: moil regions train [--data DIR] [--out DIR] [options]\n"
    "\n"
    "Stage one of the VinVL-style model (--model vinvl): crops every object box of\n"
    "DIR/annotations/instances_{pretrain,train,val,test,nlvr_*}.json (sets whose file is\n"
    "absent are skipped; pretrain and train are required), trains a small CNN region\n"
    "encoder and a linear tagger on the pretrain + train crops (cross-entropy on the\n"
    "category), then caches every image's region features (appearance + box geometry)\n"
    "and the tagger's predicted tags into OUT/<set>.bin, with OUT/regions.json and\n"
    "OUT/region_encoder.safetensors. Skipped when OUT already matches (--force redoes it).\n"
    "\n"
    "  --data DIR     dataset folder (default datasets/data/quick)\n"
    "  --out DIR      region folder (default DIR/regions; vinvl models read DIR/regions)\n"
    "  --crop N       crop size in pixels, 3 x a power of two (default 24)\n"
    "  --feat N       appearance feature size (default 64)\n"
    "  --steps N      training steps (default 4000)   --batch N  crops per step (default 64)\n"
    "  --lr X         peak learning rate (default 2e-3)   --seed S (default 0)\n"
    "  --threads N    BLAS threads (default 1)   --force   --quiet\n"
    "\n"
    "Ends with name=value lines: tagger_acc_<set> (fraction of its crops tagged with the\n"
    "true class), tagger_acc_heldout (val + test), images, max_regions, dim, seconds.\n";

typedef struct {
    const char *name;       /* the set: its instances file, its cache <name>.bin */
    const char *nlvr_split; /* NULL, or the set is this NLVR split's images */
    int required;
} SetSpec;

static const SetSpec specs[] = {
    {"pretrain", NULL, 1},      {"train", NULL, 1},     {"val", NULL, 0}, {"test", NULL, 0},
    {"nlvr_train", "train", 0}, {"nlvr_dev", "dev", 0}, {"nlvr_test1", "test1", 0},
};
enum { N_SPECS = sizeof specs / sizeof specs[0], MAX_REGIONS = 16 };

typedef struct {
    const SetSpec *spec;
    char file[64]; /* its instances file's name (in the annotations folder) */
    InstanceSet in;
    char hash[17];
    uint8_t *crops; /* [n_objects][crop][crop][3] */
    float *geo;     /* [n_objects][REGION_GEOMETRY] */
    int *labels;    /* [n_objects] class index */
    int correct;
} SetData;

typedef struct {
    const char *data, *out;
    int crop, feat, steps, batch, threads, force, quiet;
    double lr;
    long seed;
} Args;

static int parse(int argc, char **argv, Args *a) {
    *a = (Args){.data = "datasets/data/quick", .crop = 24, .feat = 64, .steps = 4000, .batch = 64, .threads = 1, .lr = 2e-3};
    for (int i = 1; i < argc; i++) {
        const char *n = argv[i];
        if (!strcmp(n, "--force")) a->force = 1;
        else if (!strcmp(n, "--quiet")) a->quiet = 1;
        else if (i + 1 >= argc || strncmp(n, "--", 2) != 0) return err_set("unexpected argument '%s' (see --help)", n);
        else if (!strcmp(n, "--data")) a->data = argv[++i];
        else if (!strcmp(n, "--out")) a->out = argv[++i];
        else if (!strcmp(n, "--crop")) a->crop = atoi(argv[++i]);
        else if (!strcmp(n, "--feat")) a->feat = atoi(argv[++i]);
        else if (!strcmp(n, "--steps")) a->steps = atoi(argv[++i]);
        else if (!strcmp(n, "--batch")) a->batch = atoi(argv[++i]);
        else if (!strcmp(n, "--lr")) a->lr = atof(argv[++i]);
        else if (!strcmp(n, "--seed")) a->seed = atol(argv[++i]);
        else if (!strcmp(n, "--threads")) a->threads = atoi(argv[++i]);
        else return err_set("unknown option %s (see --help)", n);
    }
    if (a->feat < 1 || a->steps < 1 || a->batch < 1 || a->batch > 4096 || a->threads < 1 || !(a->lr > 0))
        return err_set("bad settings: --feat %d --steps %d --batch %d --threads %d --lr %g", a->feat, a->steps, a->batch,
                       a->threads, a->lr);
    return 0;
}


static json_t *settings_json(const Args *a) {
    return json_pack("{s:i, s:i, s:i, s:i, s:f, s:I}", "crop", a->crop, "feat", a->feat, "steps", a->steps, "batch",
                     a->batch, "lr", a->lr, "seed", (json_int_t)a->seed);
}

/* 1 when out already holds this configuration's folder and it loads. */
static int up_to_date(const Args *a, const SetData *sets, int n_sets) {
    json_t *meta;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", a->out, REGION_STORE_META);
    if (access(path, R_OK) != 0 || region_store_read_meta(a->out, &meta) != 0) return 0;
    json_t *want = settings_json(a), *sl = json_object_get(meta, "sets");
    int same = json_equal(want, json_object_get(meta, "settings")) && json_array_size(sl) == (size_t)n_sets;
    for (int i = 0; same && i < n_sets; i++) {
        const char *h = json_string_value(json_object_get(json_array_get(sl, i), "hash"));
        same = h && !strcmp(h, sets[i].hash);
    }
    json_decref(want);
    json_decref(meta);
    RegionStore st;
    if (!same || region_store_load(&st, a->out) != 0) return 0;
    region_store_free(&st);
    return 1;
}

/* Class index of every category id of s, from the class list (the pretrain
 * set's categories). */
static int labels_for(SetData *d, const InstanceSet *classes) {
    d->labels = xcalloc(d->in.n_objects ? d->in.n_objects : 1, sizeof(int));
    for (int o = 0; o < d->in.n_objects; o++) {
        const InstanceCategory *c = &d->in.categories[d->in.objects[o].category];
        int k = -1;
        for (int j = 0; j < classes->n_categories && k < 0; j++)
            if (classes->categories[j].id == c->id) k = j;
        if (k < 0) return err_set("%s: category %lld (%s) is not among the pretrain set's", d->file, (long long)c->id, c->name);
        d->labels[o] = k;
    }
    return 0;
}

static int crop_set(SetData *d, const Args *a) {
    size_t px = (size_t)a->crop * a->crop * 3;
    d->crops = xcalloc(px * (d->in.n_objects ? d->in.n_objects : 1), 1);
    d->geo = xcalloc((size_t)REGION_GEOMETRY * (d->in.n_objects ? d->in.n_objects : 1), sizeof(float));
    char path[LAYOUT_PATH_MAX];
    for (int i = 0; i < d->in.n_images; i++) {
        const InstanceImage *ii = &d->in.images[i];
        if (ii->count > MAX_REGIONS)
            return err_set("%s: image %lld has %d objects (at most %d)", d->file, (long long)ii->id, ii->count, MAX_REGIONS);
        if (d->spec->nlvr_split) data_layout_nlvr_image(path, a->data, ii->file_name);
        else data_layout_image(path, a->data, ii->file_name);
        Image im;
        if (image_load(path, &im) != 0) return -1;
        float sx = (float)im.w / ii->width, sy = (float)im.h / ii->height;
        for (int o = ii->first; o < ii->first + ii->count; o++) {
            const float *bb = d->in.objects[o].bbox;
            float box[4] = {bb[0] * sx, bb[1] * sy, bb[2] * sx, bb[3] * sy};
            region_crop(im.pix, im.h, im.w, box, a->crop, d->crops + (size_t)o * px);
            region_geometry(bb, ii->width, ii->height, d->geo + (size_t)o * REGION_GEOMETRY);
        }
        image_free(&im);
    }
    return 0;
}

static void to_input(const Args *a, const uint8_t *crop, float *chw) { image_to_chw(crop, a->crop, a->crop, chw); }

static void train(RegionEncoder *e, const Args *a, SetData *sets) {
    int n = sets[0].in.n_objects + sets[1].in.n_objects, B = a->batch;
    size_t px = (size_t)a->crop * a->crop * 3;
    float *x = xcalloc(px * B, sizeof(float));
    int *labels = xcalloc(B, sizeof(int));
    /* the tagger stands in for VinVL's detector, which has no recipe of ours
     * to follow: it keeps the first edition's (gradients clipped at norm 1,
     * torch's AdamW, the shifted warmup; docs/recipe.md) */
    AdamWConfig ac = adamw_config_default((float)a->lr);
    ac.form = ADAMW_TORCH;
    Rng rng;
    rng_seed(&rng, (uint64_t)a->seed);
    double avg = 0;
    for (int step = 0; step < a->steps; step++) {
        for (int b = 0; b < B; b++) {
            int i = (int)rng_below(&rng, (uint32_t)n), s = i >= sets[0].in.n_objects;
            int o = s ? i - sets[0].in.n_objects : i;
            to_input(a, sets[s].crops + (size_t)o * px, x + (size_t)b * px);
            labels[b] = sets[s].labels[o];
        }
        region_encoder_forward(e, x, B);
        params_zero_grad(&e->params);
        double loss = region_encoder_backward(e, labels, B);
        train_clip_grad_norm(&e->params, 1.0);
        adamw_step(&e->params, &ac, train_lr_schedule(LR_SCHEDULE_SHIFTED, step, a->steps, a->steps / 20, (float)a->lr), step + 1);
        avg = step ? 0.98 * avg + 0.02 * loss : loss;
        if (!a->quiet && (step + 1) % 100 == 0) fprintf(stderr, "regions: step %d/%d loss %.4f\n", step + 1, a->steps, avg);
    }
    free(x), free(labels);
}

/* Features and tags of every object of set d into its cache c; counts the
 * correct tags. */
static void extract(RegionEncoder *e, const Args *a, SetData *d, RegionCache *c, int R) {
    int n = d->in.n_objects, B = a->batch, D = c->dim, F = e->feat;
    size_t px = (size_t)a->crop * a->crop * 3;
    float *x = xcalloc(px * B, sizeof(float));
    int *row = xcalloc(n ? n : 1, sizeof(int)), *slot = xcalloc(n ? n : 1, sizeof(int));
    for (int i = 0; i < d->in.n_images; i++) {
        const InstanceImage *ii = &d->in.images[i];
        c->image_ids[i] = ii->id;
        c->n_regions[i] = ii->count;
        for (int r = 0; r < ii->count; r++) row[ii->first + r] = i, slot[ii->first + r] = r;
    }
    d->correct = 0;
    for (int start = 0; start < n; start += B) {
        int nb = n - start < B ? n - start : B;
        for (int b = 0; b < nb; b++) to_input(a, d->crops + (size_t)(start + b) * px, x + (size_t)b * px);
        region_encoder_forward(e, x, nb);
        for (int b = 0; b < nb; b++) {
            int o = start + b, tag = region_encoder_predict(e, b);
            size_t at = (size_t)row[o] * R + slot[o];
            c->tags[at] = tag;
            memcpy(c->feats + at * D, e->feats + (size_t)b * F, sizeof(float) * F);
            memcpy(c->feats + at * D + F, d->geo + (size_t)o * REGION_GEOMETRY, sizeof(float) * REGION_GEOMETRY);
            d->correct += tag == d->labels[o];
        }
    }
    free(x), free(row), free(slot);
}

static int write_folder(const Args *a, RegionEncoder *e, SetData *sets, int n_sets, const InstanceSet *classes, int R,
                        double seconds) {
    int D = a->feat + REGION_GEOMETRY, rc = 0;
    json_t *sl = json_array(), *acc = json_object(), *cl = json_array();
    char path[1024];
    for (int k = 0; k < classes->n_categories; k++) json_array_append_new(cl, json_string(classes->categories[k].name));
    for (int s = 0; s < n_sets && rc == 0; s++) {
        SetData *d = &sets[s];
        RegionCache c;
        region_cache_alloc(&c, d->in.n_images, R, D);
        extract(e, a, d, &c, R);
        snprintf(path, sizeof path, "%s/%s.bin", a->out, d->spec->name);
        rc = region_cache_write(path, &c);
        region_cache_free(&c);
        char file[64];
        snprintf(file, sizeof file, "%s.bin", d->spec->name);
        json_array_append_new(sl, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", d->spec->name, "file", file, "instances",
                                            d->file, "hash", d->hash, "images", d->in.n_images));
        json_object_set_new(acc, d->spec->name, json_real(d->in.n_objects ? (double)d->correct / d->in.n_objects : 0));
    }
    snprintf(path, sizeof path, "%s/region_encoder.safetensors", a->out);
    if (rc == 0) rc = checkpoint_save(path, &e->params, 1u << PARAM_GROUP_BACKBONE, NULL, 0);
    json_t *meta = json_pack("{s:i, s:o, s:i, s:i, s:o, s:o, s:o, s:f}", "version", REGION_STORE_VERSION, "classes", cl,
                             "max_regions", R, "dim", D, "settings", settings_json(a), "sets", sl, "accuracy", acc,
                             "train_seconds", seconds);
    char *text = meta ? json_dumps(meta, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    snprintf(path, sizeof path, "%s/%s", a->out, REGION_STORE_META);
    if (rc == 0) rc = text ? file_write_atomic(path, text, strlen(text)) : err_set("%s: cannot encode", path);
    free(text);
    json_decref(meta);
    return rc;
}

static void print_accuracy(const char *out) {
    json_t *meta;
    if (region_store_read_meta(out, &meta) != 0) return;
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(meta, "accuracy"), name, v) printf("tagger_acc_%s=%.4f\n", name, json_number_value(v));
    json_decref(meta);
}

static int run(Args *a) {
    double t0 = time_now_s();
    char outbuf[1024], path[LAYOUT_PATH_MAX];
    if (!a->out) region_store_default_dir(outbuf, sizeof outbuf, a->data), a->out = outbuf;
    SetData sets[N_SPECS];
    memset(sets, 0, sizeof sets);
    int n_sets = 0, rc = 0, R = 1;
    for (int i = 0; i < N_SPECS && rc == 0; i++) {
        if (specs[i].nlvr_split) data_layout_nlvr_instances(path, a->data, specs[i].nlvr_split);
        else data_layout_instances(path, a->data, specs[i].name);
        if (!specs[i].required && access(path, R_OK) != 0) continue;
        SetData *d = &sets[n_sets++];
        d->spec = &specs[i];
        snprintf(d->file, sizeof d->file, "%s", strrchr(path, '/') + 1);
        rc = file_hash_fnv1a(path, d->hash);
        if (rc == 0) rc = data_instances_load(&d->in, path);
    }
    if (rc == 0 && !a->force && up_to_date(a, sets, n_sets)) {
        printf("regions: %s is up to date (--force redoes it)\n", a->out);
        print_accuracy(a->out);
        printf("skipped=1\n");
        goto done;
    }
    for (int s = 0; s < n_sets && rc == 0; s++) {
        rc = labels_for(&sets[s], &sets[0].in);
        if (rc == 0) rc = crop_set(&sets[s], a);
        for (int i = 0; i < sets[s].in.n_images; i++) R = sets[s].in.images[i].count > R ? sets[s].in.images[i].count : R;
    }
    if (rc == 0) rc = dir_make(a->out);
    if (rc != 0) goto done;
    RegionEncoder e;
    if (region_encoder_create(&e, a->crop, a->feat, sets[0].in.n_categories, a->batch, (uint64_t)a->seed + 1) != 0) {
        rc = -1;
        goto done;
    }
    if (!a->quiet)
        fprintf(stderr, "regions: training on %d crops of %d classes (%d steps of %d)\n",
                sets[0].in.n_objects + sets[1].in.n_objects, sets[0].in.n_categories, a->steps, a->batch);
    double t1 = time_now_s();
    train(&e, a, sets);
    double train_s = time_now_s() - t1;
    rc = write_folder(a, &e, sets, n_sets, &sets[0].in, R, train_s);
    region_encoder_free(&e);
    if (rc != 0) goto done;
    int held = 0, held_ok = 0, images = 0;
    for (int s = 0; s < n_sets; s++) {
        images += sets[s].in.n_images;
        if (!strcmp(sets[s].spec->name, "val") || !strcmp(sets[s].spec->name, "test"))
            held += sets[s].in.n_objects, held_ok += sets[s].correct;
    }
    printf("regions: %d images of %d sets cached in %s\n", images, n_sets, a->out);
    print_accuracy(a->out);
    if (held) printf("tagger_acc_heldout=%.4f\n", (double)held_ok / held);
    printf("images=%d\nmax_regions=%d\ndim=%d\ntrain_seconds=%.2f\nseconds=%.2f\n", images, R, a->feat + REGION_GEOMETRY,
           train_s, time_now_s() - t0);
done:
    for (int s = 0; s < n_sets; s++) {
        data_instances_free(&sets[s].in);
        free(sets[s].crops), free(sets[s].geo), free(sets[s].labels);
    }
    return rc;
}

int cmd_regions(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    Args a;
    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "moil regions: %s\n", err_msg());
        return 2;
    }
    openblas_set_num_threads(a.threads);
    if (run(&a) != 0) {
        fprintf(stderr, "moil regions: %s\n", err_msg());
        return 1;
    }
    return 0;
}
