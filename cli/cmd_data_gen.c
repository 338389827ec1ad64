/* moil data gen: write a fashion-scenes dataset folder. */
#include "check.h"
#include "commands.h"
#include "data_idx.h"
#include "gen_dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: moil data gen [--profile tiny|quick|full] [--seed S] [--out DIR] [--source DIR]\n"
    "                     [--quality Q] [--image-size N] [--tint P]\n"
    "                     [--placement jitter|centred] [--force] [--quiet]\n"
    "\n"
    "Generates the fashion-scenes datasets: scenes of 1-4 tinted Fashion-MNIST photos\n"
    "written as JPEG files, with annotations in the formats of the public datasets\n"
    "(COCO instances, Karpathy caption splits, VQA v2, NLVR2). The output is a pure\n"
    "function of the options: the same seed gives the same bytes. Layout and formats:\n"
    "datasets/README.md.\n"
    "\n"
    "options:\n"
    "  --profile P     dataset sizes (default quick):\n"
    "                    tiny   pretrain 40+10, train/val/test 30/10/10, NLVR 24/12/12 (tests)\n"
    "                    quick  pretrain 4000+200, train/val/test 1500/200/200, NLVR 2000/300/300\n"
    "                    full   pretrain 16000+1000, train/val/test 6000/1000/1000, NLVR 8000/2000/2000\n"
    "  --seed S        random seed, 0..2^63-1 (default 1)\n"
    "  --out DIR       dataset folder (default datasets/data/<profile>)\n"
    "  --source DIR    folder of the Fashion-MNIST IDX .gz files\n"
    "                  (default " IDX_DEFAULT_SOURCE ", Debian package dataset-fashion-mnist)\n"
    "  --quality Q     JPEG quality 1..100 (default 90)\n"
    "  --tint P        the tint's share of an item's colour, 1..100 percent (default 50; the\n"
    "                  rest is the photo's grey: a milder tint keeps more of the category's look;\n"
    "                  the first edition's scenes: 100)\n"
    "  --placement P   where an item sits in its quadrant: centred (default: the patch grid\n"
    "                  sees every item of a size alike) or jitter (a random offset, the first\n"
    "                  edition's scenes)\n"
    "  --image-size N  canvas side in pixels, even, 32..512 (default 64)\n"
    "  --force         replace a different dataset (or other .jpg/.json files) in DIR\n"
    "  --quiet         no progress lines\n"
    "\n"
    "If DIR already holds the dataset these options describe (same manifest settings),\n"
    "nothing is written. Ends with name=value lines: images, captions, vqa_questions,\n"
    "nlvr_examples, nlvr_true_ratio, bytes, seconds.\n";

static int parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "moil data gen: %s '%s': expected an integer in %lld..%lld\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_data_gen(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    const char *profile = "quick", *out = NULL;
    long long seed = 1, quality = 90, size = 64, tint = 50;
    int quiet = 0;
    GenOptions opt = {0};
    opt.source_dir = IDX_DEFAULT_SOURCE;
    /* the second edition's scenes (datasets/README.md, "Scenes"): centred
     * items at half tint, which the patch models ground by category */
    opt.placement = GEN_PLACE_CENTRED;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--force")) opt.force = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!has_value && (!strcmp(a, "--profile") || !strcmp(a, "--seed") || !strcmp(a, "--out") ||
                                !strcmp(a, "--source") || !strcmp(a, "--quality") || !strcmp(a, "--image-size") ||
                                !strcmp(a, "--tint") || !strcmp(a, "--placement"))) {
            fprintf(stderr, "moil data gen: %s needs a value\n", a);
            return 2;
        } else if (!strcmp(a, "--profile")) profile = argv[++i];
        else if (!strcmp(a, "--out")) out = argv[++i];
        else if (!strcmp(a, "--source")) opt.source_dir = argv[++i];
        else if (!strcmp(a, "--seed")) {
            if (parse_int(a, argv[++i], 0, 0x7fffffffffffffffLL, &seed)) return 2;
        } else if (!strcmp(a, "--quality")) {
            if (parse_int(a, argv[++i], 1, 100, &quality)) return 2;
        } else if (!strcmp(a, "--image-size")) {
            if (parse_int(a, argv[++i], 32, 512, &size)) return 2;
        } else if (!strcmp(a, "--tint")) {
            if (parse_int(a, argv[++i], 1, 100, &tint)) return 2;
        } else if (!strcmp(a, "--placement")) {
            static const char *const placements[] = {"jitter", "centred"};
            int k = NAME_INDEX(placements, argv[++i]);
            if (k < 0) {
                fprintf(stderr, "moil data gen: --placement %s: expected jitter or centred\n", argv[i]);
                return 2;
            }
            opt.placement = (GenPlacement)k;
        } else {
            fprintf(stderr, "moil data gen: unknown option '%s'\n\n%s", a, usage);
            return 2;
        }
    }
    const GenProfile *p = gen_profile_find(profile);
    if (!p) {
        fprintf(stderr, "moil data gen: unknown profile '%s' (tiny, quick or full)\n", profile);
        return 2;
    }
    char default_out[256];
    snprintf(default_out, sizeof default_out, "datasets/data/%s", profile);
    opt.profile = *p;
    opt.seed = (uint64_t)seed;
    opt.image_size = (int)size;
    opt.jpeg_quality = (int)quality;
    opt.tint_percent = (int)tint;
    opt.out_dir = out ? out : default_out;
    opt.progress = quiet ? NULL : stderr;
    if (!quiet) fprintf(stderr, "moil data gen: profile %s, seed %lld -> %s\n", profile, seed, opt.out_dir);
    GenSummary sum;
    if (gen_dataset_generate(&opt, &sum)) {
        fprintf(stderr, "moil data gen: %s\n", err_msg());
        return 1;
    }
    if (sum.up_to_date) {
        printf("%s: already holds this dataset (profile %s, seed %lld); nothing written "
               "(--force regenerates it)\n", opt.out_dir, profile, seed);
        return 0;
    }
    printf("%s: %ld images, %ld captions, %ld VQA questions, %ld NLVR examples (%.1f%% True), "
           "%.1f MB in %.1f s\n",
           opt.out_dir, sum.images, sum.captions, sum.questions, sum.nlvr_examples,
           sum.nlvr_examples ? 100.0 * (double)sum.nlvr_true / (double)sum.nlvr_examples : 0.0,
           (double)sum.bytes / 1e6, sum.seconds);
    printf("images=%ld\ncaptions=%ld\nvqa_questions=%ld\nnlvr_examples=%ld\nnlvr_true_ratio=%.4f\n"
           "bytes=%llu\nseconds=%.2f\n",
           sum.images, sum.captions, sum.questions, sum.nlvr_examples,
           sum.nlvr_examples ? (double)sum.nlvr_true / (double)sum.nlvr_examples : 0.0,
           (unsigned long long)sum.bytes, sum.seconds);
    return 0;
}
