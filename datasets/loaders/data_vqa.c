#include "data_id_index.h"
#include "data_vqa.h"

#include "check.h"
#include "io_json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_questions(VqaSet *s, json_t *arr, const char *path, const ImageIndex *images) {
    s->q = xcalloc(json_array_size(arr), sizeof *s->q);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char ctx[1200];
        snprintf(ctx, sizeof ctx, "%s: questions[%zu]", path, i);
        json_t *j = json_array_get(arr, i);
        VqaEntry *e = &s->q[i];
        const char *text;
        if (json_need_object(j, ctx) || json_need_int(j, "question_id", ctx, &e->question_id) ||
            json_need_int(j, "image_id", ctx, &e->image_id) || json_need_str(j, "question", ctx, &text))
            return -1;
        e->question = xstrdup(text);
        s->n++;
    }
    return data_vqa_find_images(s, images);
}

int data_vqa_find_images(VqaSet *s, const ImageIndex *images) {
    for (int i = 0; i < s->n; i++) {
        VqaEntry *e = &s->q[i];
        if (!(e->image_path = data_image_index_find(images, e->image_id)))
            return err_set("%s: question %lld points at unknown image %lld", s->questions_file,
                           (long long)e->question_id, (long long)e->image_id);
    }
    return 0;
}

static int read_answers(VqaEntry *e, const json_t *j, const char *ctx) {
    const char *qt, *at, *mc;
    json_t *answers;
    if (json_need_str(j, "question_type", ctx, &qt) || json_need_str(j, "answer_type", ctx, &at) ||
        json_need_str(j, "multiple_choice_answer", ctx, &mc) || json_need_array(j, "answers", ctx, &answers))
        return -1;
    if (json_array_size(answers) != VQA_N_ANSWERS)
        return err_set("%s: %zu answers, expected %d", ctx, json_array_size(answers), VQA_N_ANSWERS);
    for (int k = 0; k < VQA_N_ANSWERS; k++) {
        char actx[1300];
        snprintf(actx, sizeof actx, "%s.answers[%d]", ctx, k);
        const char *a;
        json_t *aj = json_array_get(answers, (size_t)k);
        if (json_need_object(aj, actx) || json_need_str(aj, "answer", actx, &a)) return -1;
        e->answers[k] = xstrdup(a);
    }
    e->question_type = xstrdup(qt);
    e->answer_type = xstrdup(at);
    e->multiple_choice_answer = xstrdup(mc);
    return 0;
}

static int join_annotations(VqaSet *s, json_t *arr, const char *path) {
    IdSlot *slots = data_id_index_sort(&s->q[0].question_id, sizeof *s->q, s->n);
    int rc = 0;
    for (int i = 1; rc == 0 && i < s->n; i++)
        if (slots[i].id == slots[i - 1].id)
            rc = err_set("%s: question_id %lld appears twice", s->questions_file, (long long)slots[i].id);
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
        char ctx[1200];
        snprintf(ctx, sizeof ctx, "%s: annotations[%zu]", path, i);
        json_t *j = json_array_get(arr, i);
        int64_t qid, iid;
        if (json_need_object(j, ctx) || json_need_int(j, "question_id", ctx, &qid) ||
            json_need_int(j, "image_id", ctx, &iid)) {
            rc = -1;
            break;
        }
        int at = data_id_index_find(slots, s->n, qid);
        VqaEntry *e = at >= 0 ? &s->q[at] : NULL;
        if (!e) rc = err_set("%s: question_id %lld is not in %s", ctx, (long long)qid, s->questions_file);
        else if (e->question_type) rc = err_set("%s: question %lld annotated twice", ctx, (long long)qid);
        else if (e->image_id != iid)
            rc = err_set("%s: question %lld has image_id %lld here but %lld in %s", ctx, (long long)qid,
                         (long long)iid, (long long)e->image_id, s->questions_file);
        else rc = read_answers(e, j, ctx);
    }
    for (int i = 0; rc == 0 && i < s->n; i++)
        if (!s->q[i].question_type)
            rc = err_set("%s: question %lld has no annotation", path, (long long)s->q[i].question_id);
    free(slots);
    return rc;
}

int data_vqa_load(VqaSet *s, const char *questions_path, const char *annotations_path, const ImageIndex *images) {
    memset(s, 0, sizeof *s);
    s->questions_file = xstrdup(questions_path);
    json_t *qroot = json_read_file(questions_path), *aroot = NULL, *arr;
    int rc = qroot ? 0 : -1;
    if (rc == 0) rc = json_need_object(qroot, questions_path) || json_need_array(qroot, "questions", questions_path, &arr) ? -1 : 0;
    if (rc == 0 && json_array_size(arr) == 0) rc = err_set("%s: 'questions' is empty (empty split)", questions_path);
    if (rc == 0) rc = read_questions(s, arr, questions_path, images);
    if (rc == 0 && annotations_path) {
        aroot = json_read_file(annotations_path);
        rc = aroot ? 0 : -1;
        if (rc == 0) rc = json_need_object(aroot, annotations_path) || json_need_array(aroot, "annotations", annotations_path, &arr) ? -1 : 0;
        if (rc == 0) rc = join_annotations(s, arr, annotations_path);
        s->has_answers = rc == 0;
    }
    json_decref(qroot);
    json_decref(aroot);
    if (rc != 0) data_vqa_free(s);
    return rc;
}

void data_vqa_entry_free(VqaEntry *e) {
    free(e->question);
    free(e->question_type);
    free(e->answer_type);
    free(e->multiple_choice_answer);
    for (int k = 0; k < VQA_N_ANSWERS; k++) free(e->answers[k]);
    memset(e, 0, sizeof *e);
}

void data_vqa_free(VqaSet *s) {
    for (int i = 0; i < s->n; i++) data_vqa_entry_free(&s->q[i]);
    free(s->q);
    free(s->questions_file);
    memset(s, 0, sizeof *s);
}
