#include "gen_format.h"

#include <stdio.h>

static const char *const gen_coco_category_name[GEN_N_CLASSES] = {
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot",
};
static const char *const gen_coco_supercategory[GEN_N_CLASSES] = {
    "top", "bottom", "top", "dress", "top", "shoe", "top", "shoe", "accessory", "shoe",
};

json_t *gen_coco_instances_new(const char *description) {
    json_t *cats = json_array();
    for (int c = 0; c < GEN_N_CLASSES; c++)
        json_array_append_new(cats, json_pack("{s:s,s:i,s:s}", "supercategory", gen_coco_supercategory[c],
                                              "id", c + 1, "name", gen_coco_category_name[c]));
    return json_pack("{s:{s:s,s:s,s:s,s:i,s:s,s:s},s:[{s:s,s:i,s:s}],s:[],s:[],s:o}",
                     "info", "description", description, "url", "", "version", "1.0", "year", 2024,
                     "contributor", "moil fashion-scenes generator", "date_created", "",
                     "licenses", "url", "", "id", 1, "name", "generated from Fashion-MNIST (MIT)",
                     "images", "annotations", "categories", cats);
}

void gen_coco_instances_add(json_t *inst, long image_id, const char *file_name, int canvas,
                            const GenScene *s, const char *source_split) {
    json_array_append_new(json_object_get(inst, "images"),
                          json_pack("{s:i,s:s,s:i,s:i,s:I}", "license", 1, "file_name", file_name,
                                    "height", canvas, "width", canvas, "id", (json_int_t)image_id));
    json_t *anns = json_object_get(inst, "annotations");
    for (int i = 0; i < s->n; i++) {
        const GenObject *o = &s->obj[i];
        json_t *bbox = json_pack("[i,i,i,i]", o->x, o->y, o->side, o->side);
        json_array_append_new(
            anns, json_pack("{s:I,s:I,s:i,s:o,s:i,s:i,s:s,s:s,s:s,s:s,s:i}", "id",
                            (json_int_t)(image_id * 10 + i), "image_id", (json_int_t)image_id,
                            "category_id", o->category + 1, "bbox", bbox, "area", o->side * o->side,
                            "iscrowd", 0, "color", gen_colour_name[o->colour], "size",
                            o->large ? "large" : "small", "position", gen_cell_name[o->cell],
                            "source_split", source_split, "source_index", o->photo));
    }
}

json_t *gen_karpathy_new(const char *dataset) { return json_pack("{s:[],s:s}", "images", "dataset", dataset); }

void gen_karpathy_add(json_t *kp, const char *filepath, long cocoid, const char *filename, const char *split,
                      const GenText *caps, int n, long *next_sentid) {
    json_t *images = json_object_get(kp, "images");
    long imgid = (long)json_array_size(images);
    json_t *sentids = json_array(), *sentences = json_array();
    for (int i = 0; i < n; i++) {
        long sentid = (*next_sentid)++;
        json_t *tokens = json_array();
        const char *p = caps[i].s;
        while (*p) {
            const char *e = p;
            while (*e && *e != ' ') e++;
            json_array_append_new(tokens, json_stringn(p, (size_t)(e - p)));
            p = *e ? e + 1 : e;
        }
        json_array_append_new(sentids, json_integer(sentid));
        json_array_append_new(sentences, json_pack("{s:o,s:s,s:I,s:I}", "tokens", tokens, "raw", caps[i].s,
                                                   "imgid", (json_int_t)imgid, "sentid", (json_int_t)sentid));
    }
    json_array_append_new(images, json_pack("{s:s,s:o,s:s,s:I,s:s,s:o,s:I}", "filepath", filepath, "sentids",
                                            sentids, "filename", filename, "imgid", (json_int_t)imgid,
                                            "split", split, "sentences", sentences, "cocoid",
                                            (json_int_t)cocoid));
}

static json_t *gen_vqa_info(void) {
    return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "description",
                     "moil fashion-scenes questions in the format of VQA v2.0", "url", "", "version", "2.0",
                     "year", 2024, "contributor", "moil fashion-scenes generator", "date_created", "");
}

static json_t *gen_vqa_license(void) {
    return json_pack("{s:s,s:s}", "url", "", "name", "generated from Fashion-MNIST (MIT)");
}

json_t *gen_vqa_questions_new(const char *data_subtype) {
    return json_pack("{s:o,s:s,s:s,s:s,s:o,s:[]}", "info", gen_vqa_info(), "task_type", "Open-Ended",
                     "data_type", "mscoco", "data_subtype", data_subtype, "license", gen_vqa_license(),
                     "questions");
}

json_t *gen_vqa_annotations_new(const char *data_subtype) {
    return json_pack("{s:o,s:o,s:s,s:s,s:[]}", "info", gen_vqa_info(), "license", gen_vqa_license(),
                     "data_subtype", data_subtype, "data_type", "mscoco", "annotations");
}

void gen_vqa_add(json_t *questions, json_t *annotations, long image_id, long question_id,
                 const GenQuestion *q) {
    json_array_append_new(json_object_get(questions, "questions"),
                          json_pack("{s:I,s:s,s:I}", "image_id", (json_int_t)image_id, "question",
                                    q->question.s, "question_id", (json_int_t)question_id));
    json_t *answers = json_array();
    for (int k = 0; k < GEN_VQA_ANSWERS; k++)
        json_array_append_new(answers, json_pack("{s:s,s:s,s:i}", "answer", q->answers[k], "answer_confidence",
                                                 q->confidence[k], "answer_id", k + 1));
    json_array_append_new(json_object_get(annotations, "annotations"),
                          json_pack("{s:s,s:s,s:o,s:I,s:s,s:I}", "question_type", q->question_type,
                                    "multiple_choice_answer", q->multiple_choice_answer, "answers", answers,
                                    "image_id", (json_int_t)image_id, "answer_type", q->answer_type,
                                    "question_id", (json_int_t)question_id));
}

json_t *gen_nlvr_line(const char *split, int set_id, int pair_id, const char *sentence, int label,
                      const char *synset, int directory) {
    char id[96], left[160], right[160], query[96];
    const char *truth = label ? "True" : "False";
    snprintf(id, sizeof id, "%s-%d-%d-0", split, set_id, pair_id);
    snprintf(left, sizeof left, "https://fashion-scenes.invalid/%s-%d-%d-img0.jpg", split, set_id, pair_id);
    snprintf(right, sizeof right, "https://fashion-scenes.invalid/%s-%d-%d-img1.jpg", split, set_id, pair_id);
    snprintf(query, sizeof query, "some %s%d", synset, set_id % 100);
    json_t *line = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s}}", "identifier", id, "sentence", sentence,
                             "label", truth, "left_url", left, "right_url", right, "writer", "0",
                             "validation", "0", truth);
    if (directory < 0) json_object_set_new(line, "extra_validations", json_pack("{s:s}", "1", truth));
    json_object_set_new(line, "synset", json_string(synset));
    json_object_set_new(line, "query", json_string(query));
    if (directory >= 0) json_object_set_new(line, "directory", json_integer(directory));
    return line;
}
