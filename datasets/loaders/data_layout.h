/* The layout of a dataset folder: the one place that names its files. The
 * generator (`moil data gen`) writes them, the loaders, the tasks and `moil
 * data stats` read them; datasets/README.md describes what each holds.
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
 *   nlvr/images/<file>                   <file> as instances_nlvr_<split>.json names it
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

#endif
