/* A VQA set parsed once: the joined questions and annotations of
 * data_vqa_load in a compact binary file, so that a run does not parse the
 * same JSON again (the full profile's 21 MB of training annotations took
 * ~2 s of CPU a run, most of it building and freeing jansson's objects).
 *
 * The cache lives in DATA/vqa_cache/<key>.bin, the key an FNV-1a 64 of the
 * format version and of both files' bytes, so a changed file is parsed
 * again (and cached under its new key); the first run of a dataset writes it
 * (atomically, so concurrent runs race harmlessly), the others read it. A
 * cache that cannot be written is only reported. Image paths are not cached:
 * they are looked up in the image index on every load, as when parsing.
 *
 * File layout (little-endian hosts only, checked): the magic "MOILVQA\0", u32
 * version, u32 question count n (>= 1), u32 has_answers (0 or 1); then per
 * question its i64 question_id and i64 image_id, then its strings, each a
 * u32 byte length and the bytes (no terminator): the question and, with
 * answers, question_type, answer_type, multiple_choice_answer and the
 * VQA_N_ANSWERS answers. A reader checks every length against the file and
 * that the file ends with the last question. docs/formats.md. */
#ifndef MOIL_DATA_VQA_CACHE_H
#define MOIL_DATA_VQA_CACHE_H

#include "data_vqa.h"

#define VQA_CACHE_VERSION 1
#define VQA_CACHE_DIR "vqa_cache" /* under the dataset folder */

/* data_vqa_load through the cache of data_dir (see above); annotations_path
 * may be NULL as for data_vqa_load. */
int data_vqa_load_cached(VqaSet *s, const char *data_dir, const char *questions_path, const char *annotations_path,
                         const ImageIndex *images);

/* The cache file of a set, and reading it back (s->questions_file is set to
 * questions_path, the file the set came from). */
int data_vqa_cache_write(const char *path, const VqaSet *s);
int data_vqa_cache_read(const char *path, const char *questions_path, VqaSet *s, const ImageIndex *images);

#endif
