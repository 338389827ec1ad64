/* The layout of a dataset folder: the one place that names its files. The
 * generator (`moil data gen`) writes them, the loaders, the tasks and `moil
 * data stats` read them (through DataLayout, below, which a folder of the
 * real datasets overrides); datasets/README.md describes what each holds.
 *
 *   manifest.json
 *   images/<file>                        COCO-style scenes
 *   annotations/karpathy_pretrain.json   the pretraining corpus
 *   annotations/karpathy_captions.json   captions of the downstream scenes
 *   annotations/instances_<set>.json     set: pretrain, train, val, test
 *   annotations/instances_nlvr_<split>.json
 *   vqa/v2_OpenEnded_mscoco_<subtype>_questions.json
 *   vqa/v2_mscoco_<subtype>_annotations.json
 *   nlvr/<split>.json                    split: train, dev, test1 (as NLVR2 names them)
 *   nlvr/images/<file>                   <file> as instances_nlvr_<split>.json names it:
 *                                        <split>/[<directory>/]<pair>-img{0,1}.jpg
 *
 * The region folder `moil regions train` adds is io_region_store.h's.
 *
 * Each function writes one path into out and returns out: dir/<path>, or
 * <path> alone, relative to the folder, when dir is NULL (the names the
 * generator records). A path longer than LAYOUT_PATH_MAX (the system's
 * PATH_MAX, beyond which no file can be opened) dies. */
#ifndef MOIL_DATA_LAYOUT_H
#define MOIL_DATA_LAYOUT_H

enum { LAYOUT_PATH_MAX = 4096 };

char *data_layout_manifest(char out[LAYOUT_PATH_MAX], const char *dir);
/* The folder of the COCO-style scenes, and one file in it. */
char *data_layout_images(char out[LAYOUT_PATH_MAX], const char *dir);
char *data_layout_image(char out[LAYOUT_PATH_MAX], const char *dir, const char *file);
char *data_layout_karpathy_pretrain(char out[LAYOUT_PATH_MAX], const char *dir);
char *data_layout_karpathy_captions(char out[LAYOUT_PATH_MAX], const char *dir);
char *data_layout_instances(char out[LAYOUT_PATH_MAX], const char *dir, const char *set);
char *data_layout_nlvr_instances(char out[LAYOUT_PATH_MAX], const char *dir, const char *split);
/* VQA v2's data_subtype of a split: train -> train2014, val -> val2014,
 * test -> test2015; NULL for any other split. */
const char *data_layout_vqa_subtype(const char *split);
/* The VQA files of a split (train, val, test: see data_layout_vqa_subtype). */
char *data_layout_vqa_questions(char out[LAYOUT_PATH_MAX], const char *dir, const char *split);
char *data_layout_vqa_annotations(char out[LAYOUT_PATH_MAX], const char *dir, const char *split);
char *data_layout_nlvr(char out[LAYOUT_PATH_MAX], const char *dir, const char *split);
/* The folder of the NLVR image pairs, and one file (or subfolder) in it. */
char *data_layout_nlvr_images(char out[LAYOUT_PATH_MAX], const char *dir);
char *data_layout_nlvr_image(char out[LAYOUT_PATH_MAX], const char *dir, const char *file);
/* Make the folders of the layout under dir (mkdir -p each). */
int data_layout_make_folders(const char *dir);

/* Where the readers (the tasks, the vocabulary) find each part of a
 * dataset folder: the generated layout above, unless the folder holds a
 * layout description, <dir>/layout.json (docs/data.md, "Data layouts"),
 * which names files and image folders of the datasets' own layouts:
 *
 *   {"pretrain": {"file": F, "images": D},       Karpathy file, image root
 *    "captions": {"file": F, "images": D},       (<root>/<filepath>/<filename>)
 *    "vqa":  {"train"|"val"|"test": {"questions": F, "annotations": F, "images": D}},
 *    "nlvr": {"train"|"dev"|"test1"|"test2": {"file": F, "images": D}}}
 *
 * Every member is optional (what it leaves out keeps the generated
 * layout's path); paths are relative to dir unless absolute. VQA's images
 * folder is listed (data_image_index.h), NLVR's holds the split's pairs
 * (train's in <directory>/ sub-folders). The instances files and the
 * region folder stay the generated layout's. */
enum { LAYOUT_VQA_TRAIN, LAYOUT_VQA_VAL, LAYOUT_VQA_TEST, LAYOUT_VQA_SPLITS };
enum { LAYOUT_NLVR_TRAIN, LAYOUT_NLVR_DEV, LAYOUT_NLVR_TEST1, LAYOUT_NLVR_TEST2, LAYOUT_NLVR_SPLITS };
#define LAYOUT_FILE "layout.json"

typedef struct {
    char path[LAYOUT_PATH_MAX]; /* the file or folder, dir/ prefixed */
} LayoutPath;

typedef struct {
    LayoutPath pretrain, pretrain_images;      /* the pretraining corpus (Karpathy), its image root */
    LayoutPath captions, captions_images;      /* the caption splits (Karpathy), their image root */
    LayoutPath vqa_questions[LAYOUT_VQA_SPLITS], vqa_annotations[LAYOUT_VQA_SPLITS], vqa_images[LAYOUT_VQA_SPLITS];
    LayoutPath nlvr[LAYOUT_NLVR_SPLITS], nlvr_images[LAYOUT_NLVR_SPLITS]; /* JSON lines; the split's images */
} DataLayout;

/* The layout of dir: the generated one, with <dir>/layout.json's entries
 * over it when that file exists. Fails naming layout.json and the member
 * on malformed JSON, an unknown member (a misspelt key is not ignored) or
 * a value that is not a string. */
int data_layout_read(DataLayout *l, const char *dir);
/* LAYOUT_VQA_* of "train", "val", "test"; LAYOUT_NLVR_* of "train",
 * "dev", "test1", "test2"; -1 for another name. */
int data_layout_vqa_split(const char *split);
int data_layout_nlvr_split(const char *split);

#endif
