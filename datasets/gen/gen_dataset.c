#include "gen_dataset.h"

#include "check.h"
#include "data_layout.h"
#include "gen_format.h"
#include "gen_nlvr.h"
#include "gen_write.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const GenProfile gen_profiles[] = {
    /* name     pretrain      train  val   test  q/img nlvr train dev test1 */
    {"tiny", 40, 10, 30, 10, 10, 4, 24, 12, 12},
    {"quick", 4000, 200, 1500, 200, 200, 4, 2000, 300, 300},
    {"full", 16000, 1000, 6000, 1000, 1000, 5, 8000, 2000, 2000},
};
const int gen_n_profiles = (int)(sizeof gen_profiles / sizeof gen_profiles[0]);

const GenProfile *gen_profile_find(const char *name) {
    for (int i = 0; i < gen_n_profiles; i++)
        if (!strcmp(gen_profiles[i].name, name)) return &gen_profiles[i];
    return NULL;
}

/* One generation in progress. */
typedef struct {
    const GenOptions *opt;
    GenSummary *sum;
    GenWriter w;
    IdxSet train, test;
    GenPhotoPool pool_train;    /* every train photo */
    GenPhotoPool pool_even;     /* even-numbered test photos: val, NLVR dev */
    GenPhotoPool pool_odd;      /* odd-numbered test photos: test, NLVR test1 */
    long next_id;               /* next image id, unique over the dataset */
    GenCanvas canvas;           /* how scenes are drawn, from opt */
    unsigned char *rgb;         /* [size][size][3] */
} GenRun;

/* An independent random stream per purpose, so that changing one set's size
 * leaves the others unchanged. */
static void gen_stream(Rng *r, uint64_t seed, const char *name) {
    rng_seed(r, seed ^ fnv1a_update(FNV1A_INIT, name, strlen(name)));
}

static void gen_progress(GenRun *g, const char *what, long done, long total) {
    if (g->opt->progress && (done % 1000 == 0 || done == total))
        fprintf(g->opt->progress, "  %-16s %6ld / %ld\n", what, done, total);
}

static int gen_tint_percent(const GenOptions *opt) { return opt->tint_percent ? opt->tint_percent : 100; }

/* Settings the manifest records only when they are not the first edition's
 * (100% tint, jittered placement), so that datasets made before they existed
 * keep their manifest. */
static const char *const gen_optional_settings[] = {"tint_percent", "placement"};

/* The settings that make a dataset, as the manifest records them. */
static json_t *gen_settings(const GenOptions *opt) {
    const GenProfile *p = &opt->profile;
    json_t *s = json_pack("{s:s,s:i,s:s,s:I,s:i,s:i,s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}}", "generator",
                     "moil fashion-scenes", "version", 1, "profile", p->name, "seed", (json_int_t)opt->seed,
                     "image_size", opt->image_size, "jpeg_quality", opt->jpeg_quality, "sizes",
                     "pretrain_train", p->pretrain_train, "pretrain_val", p->pretrain_val, "train", p->train,
                     "val", p->val, "test", p->test, "questions_per_image", p->questions_per_image,
                     "nlvr_train", p->nlvr_train, "nlvr_dev", p->nlvr_dev, "nlvr_test1", p->nlvr_test);
    if (s && gen_tint_percent(opt) != 100) json_object_set_new(s, "tint_percent", json_integer(gen_tint_percent(opt)));
    if (s && opt->placement == GEN_PLACE_CENTRED) json_object_set_new(s, "placement", json_string("centred"));
    return s;
}

/* nftw callback of gen_clean: remove the files a generation writes and the
 * folders they leave empty; leave anything else. */
static int gen_clean_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    if (ftw->level == 0) return 0;
    if (type == FTW_DP) {
        rmdir(path); /* fails harmlessly when something else is left inside */
        return 0;
    }
    size_t n = strlen(path);
    int ours = (n > 4 && (!strcmp(path + n - 4, ".jpg"))) || (n > 5 && !strcmp(path + n - 5, ".json")) ||
               strstr(path, ".json.tmp.");
    if (type == FTW_F && ours && unlink(path) != 0) return err_set("%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

static int gen_folder_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

/* Decide what to do with an existing out_dir: *up_to_date = 1 when it holds
 * this very dataset; refuse a different one without force; else clean it. */
static int gen_prepare_folder(const GenOptions *opt, json_t *settings, int *up_to_date) {
    char path[LAYOUT_PATH_MAX];
    data_layout_manifest(path, opt->out_dir);
    *up_to_date = 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        json_error_t jerr;
        json_t *old = json_load_file(path, 0, &jerr);
        const char *differs = old ? NULL : "(unreadable manifest)";
        const char *key;
        json_t *value;
        json_object_foreach(settings, key, value) {
            if (!differs && !json_equal(value, json_object_get(old, key))) differs = key;
        }
        /* a setting recorded only when not its default: absent here, present there */
        for (size_t k = 0; k < sizeof gen_optional_settings / sizeof *gen_optional_settings && !differs; k++) {
            const char *name = gen_optional_settings[k];
            if (!json_object_get(settings, name) && json_object_get(old, name)) differs = name;
        }
        json_decref(old);
        if (!differs && !opt->force) {
            *up_to_date = 1;
            return 0;
        }
        if (differs && !opt->force)
            return err_set("%s: holds a different dataset (its \"%s\" differs from the one asked for); "
                           "pass --force to replace it, or choose another --out",
                           path, differs);
    } else if (!opt->force && !gen_folder_is_empty(opt->out_dir)) {
        return err_set("%s: folder exists, is not empty and holds no manifest.json (not a dataset, or an "
                       "interrupted generation); pass --force to write into it",
                       opt->out_dir);
    }
    if (unlink(path) != 0 && errno != ENOENT) return err_set("%s: cannot remove: %s", path, strerror(errno));
    struct stat dst;
    if (stat(opt->out_dir, &dst) == 0 && nftw(opt->out_dir, gen_clean_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return -1;
    return 0;
}

/* Sample and draw one scene of a set and write its JPEG as relpath. */
static int gen_scene_write(GenRun *g, GenScene *s, Rng *r, const GenPhotoPool *pool, const char *relpath) {
    gen_scene_sample(s, r, pool, &g->canvas, NULL, 0);
    gen_scene_render(s, pool, &g->canvas, g->rgb);
    return gen_write_jpeg(&g->w, relpath, g->rgb, g->opt->image_size, g->opt->jpeg_quality);
}

static int gen_pretrain(GenRun *g) {
    const GenProfile *p = &g->opt->profile;
    long n = p->pretrain_train + p->pretrain_val, sentid = 0;
    Rng rs, rt;
    gen_stream(&rs, g->opt->seed, "pretrain/scenes");
    gen_stream(&rt, g->opt->seed, "pretrain/text");
    json_t *kp = gen_karpathy_new("fashion-pretrain");
    json_t *inst = gen_coco_instances_new("moil fashion-scenes pretraining corpus");
    char rel[LAYOUT_PATH_MAX], images[LAYOUT_PATH_MAX];
    data_layout_images(images, NULL);
    for (long i = 0; i < n; i++) {
        long id = g->next_id++;
        char name[64];
        snprintf(name, sizeof name, "FS_pretrain_%012ld.jpg", id);
        GenScene s;
        GenText cap;
        if (gen_scene_write(g, &s, &rs, &g->pool_train, data_layout_image(rel, NULL, name))) {
            json_decref(kp);
            json_decref(inst);
            return -1;
        }
        gen_caption_alt_text(&s, &rt, &cap);
        gen_karpathy_add(kp, images, id, name, i < p->pretrain_train ? "train" : "val", &cap, 1, &sentid);
        gen_coco_instances_add(inst, id, name, g->opt->image_size, &s, "train");
        g->sum->captions++;
        gen_progress(g, "pretrain images", i + 1, n);
    }
    if (gen_write_json(&g->w, data_layout_karpathy_pretrain(rel, NULL), kp, 0)) {
        json_decref(inst);
        return -1;
    }
    return gen_write_json(&g->w, data_layout_instances(rel, NULL, "pretrain"), inst, 0);
}

/* One downstream set (train, val or test): images, captions into kp, COCO
 * instances and the set's VQA files. */
static int gen_downstream(GenRun *g, const char *set, int n, const GenPhotoPool *pool, const char *source_split,
                          json_t *kp, long *sentid) {
    char stream[64], rel[LAYOUT_PATH_MAX], images[LAYOUT_PATH_MAX];
    Rng rs, rt;
    snprintf(stream, sizeof stream, "%s/scenes", set);
    gen_stream(&rs, g->opt->seed, stream);
    snprintf(stream, sizeof stream, "%s/text", set);
    gen_stream(&rt, g->opt->seed, stream);
    snprintf(stream, sizeof stream, "%s images", set);
    char desc[96];
    snprintf(desc, sizeof desc, "moil fashion-scenes %s images", set);
    json_t *inst = gen_coco_instances_new(desc);
    const char *subtype = data_layout_vqa_subtype(set);
    json_t *qs = gen_vqa_questions_new(subtype), *as = gen_vqa_annotations_new(subtype);
    GenVqaBalance balance;
    memset(&balance, 0, sizeof balance);
    int nq_max = g->opt->profile.questions_per_image;
    GenQuestion *q = xcalloc((size_t)(nq_max ? nq_max : 1), sizeof *q);
    int rc = 0;
    data_layout_images(images, NULL);
    for (int i = 0; i < n && rc == 0; i++) {
        long id = g->next_id++;
        char name[64];
        snprintf(name, sizeof name, "FS_%s_%012ld.jpg", set, id);
        GenScene s;
        GenText caps[GEN_CAPTIONS_PER_IMAGE];
        rc = gen_scene_write(g, &s, &rs, pool, data_layout_image(rel, NULL, name));
        gen_caption_make(&s, &rt, caps);
        gen_karpathy_add(kp, images, id, name, set, caps, GEN_CAPTIONS_PER_IMAGE, sentid);
        gen_coco_instances_add(inst, id, name, g->opt->image_size, &s, source_split);
        int nq = gen_vqa_make(&s, &rt, &balance, nq_max, q);
        for (int k = 0; k < nq; k++) gen_vqa_add(qs, as, id, id * 1000 + k, &q[k]);
        g->sum->captions += GEN_CAPTIONS_PER_IMAGE;
        g->sum->questions += nq;
        gen_progress(g, stream, i + 1, n);
    }
    free(q);
    if (rc) {
        json_decref(qs);
        json_decref(as);
        json_decref(inst);
        return -1;
    }
    rc = gen_write_json(&g->w, data_layout_vqa_questions(rel, NULL, set), qs, 0);
    rc = rc ? (json_decref(as), -1) : gen_write_json(&g->w, data_layout_vqa_annotations(rel, NULL, set), as, 0);
    return rc ? (json_decref(inst), -1) : gen_write_json(&g->w, data_layout_instances(rel, NULL, set), inst, 0);
}

/* Pairs in the next NLVR set: 2..4, never leaving a remainder of 1. */
static int gen_nlvr_pairs(Rng *r, long remaining) {
    int pairs = 2 + (int)rng_below(r, 3);
    if (remaining <= pairs) return (int)remaining;
    if (remaining - pairs == 1) pairs += pairs < 4 ? 1 : -1;
    return pairs;
}

/* One NLVR split: JSON lines, image pairs and their COCO instances. */
static int gen_nlvr_split(GenRun *g, const char *split, long n, const GenPhotoPool *pool,
                          const char *source_split) {
    char stream[64], rel[LAYOUT_PATH_MAX], desc[96];
    Rng r;
    snprintf(stream, sizeof stream, "nlvr-%s", split);
    gen_stream(&r, g->opt->seed, stream);
    snprintf(stream, sizeof stream, "nlvr %s examples", split);
    snprintf(desc, sizeof desc, "moil fashion-scenes nlvr %s images", split);
    int train = !strcmp(split, "train");
    json_t *lines = json_array(), *inst = gen_coco_instances_new(desc);
    long done = 0;
    int rc = 0;
    for (int set = 0; done < n && rc == 0; set++) {
        GenStatement st;
        GenText sentence;
        gen_nlvr_statement_sample(&st, &r);
        gen_nlvr_statement_text(&st, &sentence);
        GenText synset;
        gen_text_clear(&synset);
        gen_text_add_query(&synset, &st.q, GEN_FORM_PLURAL);
        int pairs = gen_nlvr_pairs(&r, n - done), first = (int)rng_below(&r, 2);
        int directory = train ? set % 100 : -1;
        char folder[64];
        if (train) snprintf(folder, sizeof folder, "train/%d", directory);
        else snprintf(folder, sizeof folder, "%s", split);
        if (dir_make(data_layout_nlvr_image(rel, g->w.root, folder))) rc = -1;
        for (int pair = 0; pair < pairs && rc == 0; pair++) {
            GenScene side[2];
            gen_nlvr_pair_sample(&st, (first + pair) % 2, &r, pool, &g->canvas, &side[0], &side[1]);
            int label = gen_nlvr_statement_eval(&st, &side[0], &side[1]);
            for (int k = 0; k < 2 && rc == 0; k++) {
                char file[160]; /* as the instances name it: under nlvr/images */
                snprintf(file, sizeof file, "%s/%s-%d-%d-img%d.jpg", folder, split, set, pair, k);
                gen_scene_render(&side[k], pool, &g->canvas, g->rgb);
                rc = gen_write_jpeg(&g->w, data_layout_nlvr_image(rel, NULL, file), g->rgb, g->opt->image_size,
                                    g->opt->jpeg_quality);
                gen_coco_instances_add(inst, g->next_id++, file, g->opt->image_size, &side[k], source_split);
            }
            json_array_append_new(lines, gen_nlvr_line(split, set, pair, sentence.s, label, synset.s, directory));
            g->sum->nlvr_examples++;
            g->sum->nlvr_true += label;
            gen_progress(g, stream, ++done, n);
        }
    }
    if (rc || gen_write_json(&g->w, data_layout_nlvr(rel, NULL, split), lines, 1)) {
        json_decref(lines);
        json_decref(inst);
        return -1;
    }
    return gen_write_json(&g->w, data_layout_nlvr_instances(rel, NULL, split), inst, 0);
}

static int gen_all(GenRun *g) {
    const GenProfile *p = &g->opt->profile;
    if (gen_pretrain(g)) return -1;
    json_t *kp = gen_karpathy_new("fashion-scenes");
    long sentid = 0;
    if (gen_downstream(g, "train", p->train, &g->pool_train, "train", kp, &sentid) ||
        gen_downstream(g, "val", p->val, &g->pool_even, "t10k", kp, &sentid) ||
        gen_downstream(g, "test", p->test, &g->pool_odd, "t10k", kp, &sentid)) {
        json_decref(kp);
        return -1;
    }
    char rel[LAYOUT_PATH_MAX];
    if (gen_write_json(&g->w, data_layout_karpathy_captions(rel, NULL), kp, 0)) return -1;
    return gen_nlvr_split(g, "train", p->nlvr_train, &g->pool_train, "train") ||
                   gen_nlvr_split(g, "dev", p->nlvr_dev, &g->pool_even, "t10k") ||
                   gen_nlvr_split(g, "test1", p->nlvr_test, &g->pool_odd, "t10k")
               ? -1
               : 0;
}

static int gen_write_manifest(GenRun *g, json_t *settings) {
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", (unsigned)g->w.image_crc);
    json_t *m = json_deep_copy(settings);
    json_object_set_new(m, "source", json_string(g->opt->source_dir));
    json_object_set_new(m, "written",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "images", (json_int_t)g->sum->images, "captions",
                                  (json_int_t)g->sum->captions, "vqa_questions", (json_int_t)g->sum->questions,
                                  "nlvr_examples", (json_int_t)g->sum->nlvr_examples, "nlvr_true",
                                  (json_int_t)g->sum->nlvr_true));
    json_object_set_new(m, "images", json_pack("{s:I,s:I,s:s}", "count", (json_int_t)g->w.images, "bytes",
                                               (json_int_t)g->w.image_bytes, "crc32", crc));
    json_object_set(m, "files", g->w.files);
    char *text = json_dumps(m, JSON_INDENT(1));
    json_decref(m);
    char path[LAYOUT_PATH_MAX];
    data_layout_manifest(path, g->opt->out_dir);
    size_t len = strlen(text);
    int rc = file_write_atomic(path, text, len);
    free(text);
    g->w.bytes += len;
    return rc;
}

int gen_dataset_generate(const GenOptions *opt, GenSummary *sum) {
    memset(sum, 0, sizeof *sum);
    double t0 = time_now_s();
    if (opt->image_size < 32 || opt->image_size > 512 || opt->image_size % 2)
        return err_set("image size %d: must be even and in 32..512", opt->image_size);
    if (opt->jpeg_quality < 1 || opt->jpeg_quality > 100)
        return err_set("JPEG quality %d: must be in 1..100", opt->jpeg_quality);
    json_t *settings = gen_settings(opt);
    int up_to_date;
    if (gen_prepare_folder(opt, settings, &up_to_date)) {
        json_decref(settings);
        return -1;
    }
    if (up_to_date) {
        json_decref(settings);
        sum->up_to_date = 1;
        return 0;
    }
    GenRun g;
    memset(&g, 0, sizeof g);
    g.opt = opt;
    g.sum = sum;
    g.next_id = 1;
    g.canvas = (GenCanvas){opt->image_size, gen_tint_percent(opt), opt->placement};
    int rc = -1;
    if (data_layout_make_folders(opt->out_dir)) goto out;
    if (data_idx_load_split(&g.train, opt->source_dir, "train") || data_idx_load_split(&g.test, opt->source_dir, "t10k"))
        goto out;
    gen_pool_init(&g.pool_train, &g.train, -1);
    gen_pool_init(&g.pool_even, &g.test, 0);
    gen_pool_init(&g.pool_odd, &g.test, 1);
    g.rgb = xmalloc((size_t)opt->image_size * (size_t)opt->image_size * 3);
    gen_writer_init(&g.w, opt->out_dir);
    rc = gen_all(&g);
    sum->images = g.w.images;
    if (rc == 0) rc = gen_write_manifest(&g, settings);
    sum->bytes = g.w.bytes;
    gen_writer_free(&g.w);
    free(g.rgb);
    gen_pool_free(&g.pool_train);
    gen_pool_free(&g.pool_even);
    gen_pool_free(&g.pool_odd);
out:
    data_idx_free(&g.train);
    data_idx_free(&g.test);
    json_decref(settings);
    sum->seconds = time_now_s() - t0;
    return rc;
}
