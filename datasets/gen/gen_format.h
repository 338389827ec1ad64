/* JSON records of the public datasets' formats (docs/formats.md) for
 * generated scenes: COCO instances, Karpathy split files, VQA v2 questions
 * and annotations, NLVR2 lines. */
#ifndef MOIL_GEN_FORMAT_H
#define MOIL_GEN_FORMAT_H

#include "gen_caption.h"
#include "gen_vqa.h"

#include <jansson.h>

/* {"info", "licenses", "images": [], "annotations": [], "categories": [10 classes]} */
json_t *gen_coco_instances_new(const char *description);
/* Add image `image_id` (file_name, canvas x canvas) and one annotation per
 * object: bbox [x,y,w,h], area, iscrowd 0, category_id = class + 1, plus the
 * generator's "color", "size", "position", "source_split", "source_index". */
void gen_coco_instances_add(json_t *inst, long image_id, const char *file_name, int canvas,
                            const GenScene *s, const char *source_split);

/* {"images": [], "dataset": name} */
json_t *gen_karpathy_new(const char *dataset);
/* Append one Karpathy IMAGE, the file filepath/filename (filepath: the image
 * folder, relative to the dataset folder), with captions caps[n];
 * *next_sentid advances. */
void gen_karpathy_add(json_t *kp, const char *filepath, long cocoid, const char *filename, const char *split,
                      const GenText *caps, int n, long *next_sentid);

/* The questions file of data_subtype ("train2014") with its five header keys. */
json_t *gen_vqa_questions_new(const char *data_subtype);
json_t *gen_vqa_annotations_new(const char *data_subtype);
void gen_vqa_add(json_t *questions, json_t *annotations, long image_id, long question_id,
                 const GenQuestion *q);

/* One NLVR2 line; directory < 0 for dev/test (which carry extra_validations). */
json_t *gen_nlvr_line(const char *split, int set_id, int pair_id, const char *sentence, int label,
                      const char *synset, int directory);

#endif
