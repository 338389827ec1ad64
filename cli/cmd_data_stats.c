/* `moil data stats DIR`: what a dataset folder holds, read through the same
 * loaders training uses: counts per split, vocabulary size, answer
 * distributions per question kind and answer type, the majority-answer VQA
 * score (a language-prior floor), NLVR True ratio, caption lengths. Ends with
 * name=value lines. */
#include "check.h"
#include "commands.h"
#include "data_image_index.h"
#include "data_instances.h"
#include "data_karpathy.h"
#include "data_layout.h"
#include "data_nlvr.h"
#include "data_vqa.h"
#include "io_tokenizer.h"
#include "metric_text_norm.h"
#include "metric_vqa.h"
#include "metric_vqa_answers.h"
#include "str_map.h"
#include "str_tally.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: moil data stats DIR [--min-count N] [--answer-min-count N]\n"
    "\n"
    "Summarise a dataset folder in the layout `moil data gen` writes:\n"
    "  annotations/karpathy_{pretrain,captions}.json, annotations/instances_*.json,\n"
    "  vqa/v2_*_{train2014,val2014,test2015}_*.json, nlvr/{train,dev,test1}.json,\n"
    "  images/ and nlvr/images/. A component whose first file is absent is reported\n"
    "  as absent; any file that fails to load is an error (exit 1).\n"
    "\n"
    "  --min-count N         word vocabulary threshold over training text (default 1)\n"
    "  --answer-min-count N  answer vocabulary threshold over train+val (default 9, ViLT)\n"
    "\n"
    "The majority-answer score predicts, for every question, the most frequent train\n"
    "answer (normalised multiple_choice_answer) of its question_type and scores it with\n"
    "the official VQA accuracy (soft: 0/.3/.6/.9/1 by annotator count).\n"
    "Ends with name=value lines.\n";

/* name=value lines printed at the end */
static char kv_buf[16384];
static size_t kv_len;

static void kv(const char *fmt, ...) MOIL_PRINTF(1, 2);
static void kv(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(kv_buf + kv_len, sizeof kv_buf - kv_len, fmt, ap);
    va_end(ap);
    if (n > 0 && kv_len + (size_t)n + 1 < sizeof kv_buf) {
        kv_len += (size_t)n;
        kv_buf[kv_len++] = '\n';
        kv_buf[kv_len] = 0;
    }
}

/* "name share%" of the k most frequent entries. */
static void tally_print_top(const Tally *t, int k, FILE *out) {
    long total = str_tally_total(t);
    char *used = xcalloc((size_t)t->n + 1, 1);
    for (int r = 0; r < k && r < t->n; r++) {
        int best = -1;
        for (int i = 0; i < t->n; i++)
            if (!used[i] && (best < 0 || t->counts[i] > t->counts[best])) best = i;
        used[best] = 1;
        fprintf(out, "%s%s %.1f%%", r ? ", " : "", t->names[best], 100.0 * t->counts[best] / total);
    }
    free(used);
}

static int n_present; /* dataset files found, so an empty folder is an error */

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    n_present += f != NULL;
    return f != NULL;
}

/* A Karpathy file (file: its data_layout.h function): images/captions per
 * split; training captions counted into vocab; caption lengths into hist
 * (words -> captions) when hist != NULL. */
static int stats_karpathy(const char *dir, const LayoutPath *file, const LayoutPath *images, const char *key,
                          const char *const *splits, int n_splits, Tally *vocab, Tally *hist) {
    const char *path = file->path;
    size_t n_dir = strlen(dir);
    int rc = 0;
    if (!file_exists(path)) {
        printf("%s: absent (%s)\n", key, path);
        return 0;
    }
    KarpathySet s;
    if (data_karpathy_load(&s, path, images->path) != 0) return -1;
    /* the file's name within dir, as the generated layout names it */
    printf("%s (%s):\n", key, !strncmp(path, dir, n_dir) && path[n_dir] == '/' ? path + n_dir + 1 : path);
    for (int k = 0; rc == 0 && k < n_splits; k++) {
        int *idx, n;
        if (data_karpathy_select(&s, splits[k], &idx, &n) != 0) {
            rc = -1;
            break;
        }
        long caps = 0, words = 0;
        for (int i = 0; i < n; i++) {
            const KarpathyImage *im = &s.images[idx[i]];
            caps += im->n_captions;
            for (int c = 0; c < im->n_captions; c++) {
                char *norm = tokenizer_normalize(im->captions[c]);
                int len = tokenizer_count_words(norm);
                words += len;
                if (hist) {
                    char b[16];
                    snprintf(b, sizeof b, "%d", len);
                    str_tally_add(hist, b);
                }
                if (!strcmp(splits[k], "train")) tokenizer_tally(vocab, im->captions[c]);
                free(norm);
            }
        }
        printf("  %-6s %6d images %7ld captions, %.2f words per caption\n", splits[k], n, caps,
               caps ? (double)words / caps : 0.0);
        kv("%s_%s_images=%d", key, splits[k], n);
        kv("%s_%s_captions=%ld", key, splits[k], caps);
        free(idx);
    }
    data_karpathy_free(&s);
    return rc;
}

static void print_length_histogram(const Tally *hist) {
    if (!hist->n) return;
    int lo = 1 << 30, hi = 0;
    long total = str_tally_total(hist), sum = 0;
    for (int i = 0; i < hist->n; i++) {
        int len = atoi(hist->names[i]);
        lo = len < lo ? len : lo;
        hi = len > hi ? len : hi;
        sum += (long)len * hist->counts[i];
    }
    printf("caption length (words after tokenizer normalisation), all caption splits: min %d, mean %.2f, max %d\n", lo,
           (double)sum / total, hi);
    for (int len = lo; len <= hi; len++) {
        char b[16];
        snprintf(b, sizeof b, "%d", len);
        int i = str_map_find(&hist->index, b);
        long c = i < 0 ? 0 : hist->counts[i];
        printf("  %3d words %7ld %5.1f%%\n", len, c, 100.0 * c / total);
    }
    kv("caption_len_min=%d", lo);
    kv("caption_len_mean=%.4f", (double)sum / total);
    kv("caption_len_max=%d", hi);
}

static int stats_instances(const char *dir) {
    static const char *const sets[] = {"pretrain", "train", "val", "test"};
    for (int k = 0; k < 4; k++) {
        char path[LAYOUT_PATH_MAX];
        if (!file_exists(data_layout_instances(path, dir, sets[k]))) {
            printf("instances %s: absent (%s)\n", sets[k], path);
            continue;
        }
        InstanceSet s;
        if (data_instances_load(&s, path) != 0) return -1;
        printf("instances %-8s %6d images %7d objects (%.2f per image), %d categories\n", sets[k], s.n_images,
               s.n_objects, (double)s.n_objects / s.n_images, s.n_categories);
        kv("instances_%s_images=%d", sets[k], s.n_images);
        kv("instances_%s_objects=%d", sets[k], s.n_objects);
        data_instances_free(&s);
    }
    return 0;
}

typedef struct {
    const char *name; /* train, val, test */
    VqaSet set;
    int loaded;
} VqaSplit;

/* Answer distribution per answer_type and per question_type (train). */
static void print_answer_distributions(const VqaSet *train) {
    Tally kinds[2];
    const char *titles[2] = {"answer type", "question kind (question_type)"};
    for (int w = 0; w < 2; w++) {
        Tally *t = &kinds[w];
        str_tally_init(t);
        Tally *answers = NULL;
        for (int i = 0; i < train->n; i++) {
            const VqaEntry *e = &train->q[i];
            int k = str_tally_add(t, w ? e->question_type : e->answer_type);
            if (t->counts[k] == 1) {
                answers = xrealloc(answers, (size_t)t->n * sizeof *answers);
                str_tally_init(&answers[k]);
            }
            char *norm = metric_text_norm_word(e->multiple_choice_answer);
            str_tally_add(&answers[k], norm);
            free(norm);
        }
        printf("vqa train answers per %s:\n", titles[w]);
        for (int k = 0; k < t->n; k++) {
            printf("  %-22s %6ld questions %4d answers; top: ", t->names[k], t->counts[k], answers[k].n);
            tally_print_top(&answers[k], 5, stdout);
            printf("\n");
            str_tally_free(&answers[k]);
        }
        free(answers);
        str_tally_free(t);
    }
}

/* The majority-answer score of split s with the train priors. */
static void print_prior_score(const VqaSet *train, const VqaSplit *sp) {
    Tally kinds, all;
    str_tally_init(&kinds);
    str_tally_init(&all);
    Tally *answers = NULL;
    for (int i = 0; i < train->n; i++) {
        int k = str_tally_add(&kinds, train->q[i].question_type);
        if (kinds.counts[k] == 1) {
            answers = xrealloc(answers, (size_t)kinds.n * sizeof *answers);
            str_tally_init(&answers[k]);
        }
        char *norm = metric_text_norm_word(train->q[i].multiple_choice_answer);
        str_tally_add(&answers[k], norm);
        str_tally_add(&all, norm);
        free(norm);
    }
    const char *fallback = all.names[str_tally_top(&all)];
    Tally types;
    str_tally_init(&types);
    double *sum = NULL, total = 0;
    for (int i = 0; i < sp->set.n; i++) {
        const VqaEntry *e = &sp->set.q[i];
        int k = str_map_find(&kinds.index, e->question_type);
        const char *pred = k < 0 ? fallback : answers[k].names[str_tally_top(&answers[k])];
        double acc = metric_vqa_question_accuracy((const char *const *)e->answers, VQA_N_ANSWERS, pred, VQA_MASTER);
        int t = str_tally_add(&types, e->answer_type);
        if (types.counts[t] == 1) {
            sum = xrealloc(sum, (size_t)types.n * sizeof *sum);
            sum[t] = 0;
        }
        sum[t] += acc;
        total += acc;
    }
    printf("vqa majority-answer score on %s (most frequent train answer per question_type):", sp->name);
    for (int t = 0; t < types.n; t++) {
        char key[128];
        snprintf(key, sizeof key, "%s", types.names[t]);
        for (char *c = key; *c; c++)
            if (*c == '/') *c = '_';
        printf(" %s %.2f,", types.names[t], 100 * sum[t] / types.counts[t]);
        kv("vqa_prior_score_%s_%s=%.4f", sp->name, key, 100 * sum[t] / types.counts[t]);
    }
    printf(" overall %.2f\n", 100 * total / sp->set.n);
    kv("vqa_prior_score_%s_overall=%.4f", sp->name, 100 * total / sp->set.n);
    for (int k = 0; k < kinds.n; k++) str_tally_free(&answers[k]);
    free(answers);
    free(sum);
    str_tally_free(&kinds);
    str_tally_free(&all);
    str_tally_free(&types);
}

static int stats_vqa(const DataLayout *l, Tally *vocab, int answer_min_count) {
    VqaSplit sp[3] = {{"train", {0}, 0}, {"val", {0}, 0}, {"test", {0}, 0}};
    _Static_assert(LAYOUT_VQA_SPLITS == 3, "one VqaSplit per LAYOUT_VQA_*");
    if (!file_exists(l->vqa_questions[LAYOUT_VQA_TRAIN].path)) {
        printf("vqa: absent (%s)\n", l->vqa_questions[LAYOUT_VQA_TRAIN].path);
        return 0;
    }
    ImageIndex ix;
    data_image_index_init(&ix);
    int rc = 0, present[3];
    for (int k = 0; k < 3; k++) /* the test questions may be left out (the real test2015's often are) */
        present[k] = k != LAYOUT_VQA_TEST || file_exists(l->vqa_questions[k].path);
    for (int k = 0; rc == 0 && k < 3; k++) {
        int seen = !present[k]; /* each images folder once (the generated layout has one for all) */
        for (int j = 0; j < k; j++) seen |= present[j] && !strcmp(l->vqa_images[j].path, l->vqa_images[k].path);
        if (!seen) rc = data_image_index_scan(&ix, l->vqa_images[k].path);
    }
    for (int k = 0; rc == 0 && k < 3 && present[k]; k++) {
        const char *a = l->vqa_annotations[k].path;
        rc = data_vqa_load(&sp[k].set, l->vqa_questions[k].path, k == 2 && !file_exists(a) ? NULL : a, &ix);
        sp[k].loaded = rc == 0;
    }
    for (int k = 0; rc == 0 && k < 3 && present[k]; k++) {
        StrMap imgs;
        str_map_init(&imgs);
        for (int i = 0; i < sp[k].set.n; i++) {
            char b[32];
            snprintf(b, sizeof b, "%lld", (long long)sp[k].set.q[i].image_id);
            str_map_add(&imgs, b, 0);
            if (k == 0) tokenizer_tally(vocab, sp[k].set.q[i].question);
        }
        printf("vqa %-5s %7d questions on %6zu images%s\n", sp[k].name, sp[k].set.n, imgs.n,
               sp[k].set.has_answers ? "" : " (no annotations)");
        kv("vqa_%s_questions=%d", sp[k].name, sp[k].set.n);
        str_map_free(&imgs);
    }
    AnswerVocab v;
    const VqaSet *trainval[2] = {&sp[0].set, &sp[1].set};
    if (rc == 0 && metric_vqa_answers_build(&v, trainval, 2, answer_min_count) == 0) {
        int labelled[2];
        for (int k = 0; k < 2; k++) {
            labelled[k] = 0;
            int labels[VQA_N_ANSWERS];
            float scores[VQA_N_ANSWERS];
            for (int i = 0; i < sp[k].set.n; i++) labelled[k] += metric_vqa_answers_targets(&v, &sp[k].set.q[i], labels, scores) > 0;
        }
        printf("answer vocabulary (normalised multiple_choice_answer seen >= %d times in train+val): %d answers; "
               "questions with a label: train %d/%d, val %d/%d\n",
               answer_min_count, v.n, labelled[0], sp[0].set.n, labelled[1], sp[1].set.n);
        kv("answer_vocab_size=%d", v.n);
        metric_vqa_answers_free(&v);
    } else if (rc == 0) {
        printf("answer vocabulary: %s\n", err_msg());
        kv("answer_vocab_size=0");
    }
    if (rc == 0) {
        print_answer_distributions(&sp[0].set);
        for (int k = 1; k < 3; k++)
            if (sp[k].set.has_answers) print_prior_score(&sp[0].set, &sp[k]);
    }
    for (int k = 0; k < 3; k++)
        if (sp[k].loaded) data_vqa_free(&sp[k].set);
    data_image_index_free(&ix);
    return rc;
}

static int stats_nlvr(const DataLayout *l, Tally *vocab) {
    static const char *const splits[] = {"train", "dev", "test1"};
    int rc = 0;
    for (int k = 0; rc == 0 && k < 3; k++) {
        const char *path = l->nlvr[data_layout_nlvr_split(splits[k])].path;
        if (!file_exists(path)) {
            printf("nlvr %s: absent (%s)\n", splits[k], path);
            continue;
        }
        NlvrSet s;
        rc = data_nlvr_load(&s, path, l->nlvr_images[data_layout_nlvr_split(splits[k])].path);
        if (rc != 0) break;
        StrMap pairs, groups;
        str_map_init(&pairs);
        str_map_init(&groups);
        int n_true = 0;
        for (int i = 0; i < s.n; i++) {
            n_true += s.ex[i].label;
            str_map_add(&pairs, s.ex[i].pair, 0);
            str_map_add(&groups, s.ex[i].group, 0);
            if (k == 0) tokenizer_tally(vocab, s.ex[i].sentence);
        }
        printf("nlvr %-5s %6d examples, %6zu image pairs, %5zu sentence groups, True ratio %.4f\n", splits[k], s.n,
               pairs.n, groups.n, (double)n_true / s.n);
        kv("nlvr_%s_examples=%d", splits[k], s.n);
        kv("nlvr_%s_true_ratio=%.4f", splits[k], (double)n_true / s.n);
        str_map_free(&pairs);
        str_map_free(&groups);
        data_nlvr_free(&s);
    }
    return rc;
}

static int parse_count(const char *opt, const char *val, int *out) {
    char *end;
    long v = val ? strtol(val, &end, 10) : 0;
    if (!val || *end || v < 1 || v > 1000000) return err_set("%s needs a count >= 1, got '%s'", opt, val ? val : "");
    *out = (int)v;
    return 0;
}

int cmd_data_stats(int argc, char **argv) {
    if (cli_wants_help(argc, argv, usage)) return 0;
    const char *dir = NULL;
    int min_count = 1, answer_min_count = ANSWER_VOCAB_MIN_COUNT;
    for (int i = 1; i < argc; i++) {
        int rc = 0;
        if (!strcmp(argv[i], "--min-count")) {
            rc = parse_count(argv[i], argv[i + 1], &min_count);
            i++;
        } else if (!strcmp(argv[i], "--answer-min-count")) {
            rc = parse_count(argv[i], argv[i + 1], &answer_min_count);
            i++;
        } else if (argv[i][0] == '-' || dir) rc = err_set("unexpected argument '%s'", argv[i]);
        else dir = argv[i];
        if (rc != 0) {
            fprintf(stderr, "moil data stats: %s\n\n%s", err_msg(), usage);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "moil data stats: no dataset folder given\n\n%s", usage);
        return 2;
    }
    kv_len = 0;
    kv_buf[0] = 0;
    n_present = 0;
    printf("dataset: %s\n", dir);
    Tally vocab;
    str_tally_init(&vocab);
    Tally hist;
    str_tally_init(&hist);
    static const char *const pre_splits[] = {"train", "val"}, *const cap_splits[] = {"train", "val", "test"};
    DataLayout *l = xmalloc(sizeof *l);
    int rc = data_layout_read(l, dir);
    if (rc == 0) rc = stats_karpathy(dir, &l->pretrain, &l->pretrain_images, "pretrain", pre_splits, 2, &vocab, NULL);
    if (rc == 0) rc = stats_karpathy(dir, &l->captions, &l->captions_images, "captions", cap_splits, 3, &vocab, &hist);
    if (rc == 0) print_length_histogram(&hist);
    if (rc == 0) rc = stats_instances(dir);
    if (rc == 0) rc = stats_vqa(l, &vocab, answer_min_count);
    if (rc == 0) rc = stats_nlvr(l, &vocab);
    if (rc == 0 && n_present == 0) rc = err_set("%s: no dataset files found (see --help for the layout)", dir);
    if (rc == 0) {
        Tokenizer t;
        tokenizer_build(&t, &vocab, min_count);
        printf("word vocabulary (training captions, questions and statements; min count %d): %d tokens "
               "(%d words + %d special)\n", min_count, t.n, t.n - TOK_N_SPECIAL, TOK_N_SPECIAL);
        kv("vocab_size=%d", t.n);
        tokenizer_free(&t);
        fputs(kv_buf, stdout);
    }
    str_tally_free(&vocab);
    str_tally_free(&hist);
    free(l);
    if (rc != 0) {
        fprintf(stderr, "moil data stats: %s\n", err_msg());
        return 1;
    }
    return 0;
}
