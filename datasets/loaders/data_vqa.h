/* VQA v2 question and annotation files (docs/formats.md, "VQA v2"), joined by
 * question_id. Every question's image must be in the image index; every
 * annotation must match a question (same image_id) and every question must
 * have an annotation, with exactly 10 answers. The test split may come
 * without an annotations file (real test2015): then has_answers is 0. */
#ifndef MOIL_DATA_VQA_H
#define MOIL_DATA_VQA_H

#include "data_image_index.h"

#include <stdint.h>

#define VQA_N_ANSWERS 10

typedef struct {
    int64_t question_id, image_id;
    const char *image_path;        /* borrowed from the ImageIndex */
    char *question;
    /* from the annotations file; NULL when the set has no answers */
    char *question_type, *answer_type, *multiple_choice_answer;
    char *answers[VQA_N_ANSWERS];  /* raw annotator answers */
} VqaEntry;

typedef struct {
    char *questions_file;
    int has_answers;
    int n;
    VqaEntry *q; /* [n] in the order of the questions file */
} VqaSet;

/* annotations_path may be NULL (no answers). Errors name the file, the
 * array index or question id, and the field. An empty questions list is an
 * error. */
int data_vqa_load(VqaSet *s, const char *questions_path, const char *annotations_path, const ImageIndex *images);
void data_vqa_free(VqaSet *s);
/* Every question's image_path from the index; an image id it lacks is an
 * error naming the questions file and the question. */
int data_vqa_find_images(VqaSet *s, const ImageIndex *images);
/* Free the strings of one entry. */
void data_vqa_entry_free(VqaEntry *e);

#endif
