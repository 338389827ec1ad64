/* Standalone fine-tuned checkpoints: the model.safetensors of moil finetune
 * carries in its metadata what using it needs (model config, vocabulary,
 * task, head layout with the VQA answer list, method, its options and
 * variants, the run's config), on a tiny dataset and backbone. */
#include <jansson.h>

#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_cli_eval_XXXXXX";
#include "tmp_path.h"

/* Fine-tune the tiny backbone: task, method and extra options, into
 * tmp_path(out), logged to tmp_path("r.db"); the output into *o (to free). */
static int finetune(char **o, const char *task, const char *method, const char *extra, const char *out) {
    return proc_run(o, "%s finetune --task %s --method %s %s --steps 4 --batch 4 --eval-limit 12 --quiet --data %s "
                       "--db %s --init %s --out %s",
                    moil_bin(), task, method, extra, tmp_path("tiny"), tmp_path("r.db"),
                    tmp_path("pre/backbone.safetensors"), tmp_path(out));
}

/* The metadata value key of the checkpoint f as JSON (NULL if absent or not JSON). */
static json_t *meta_json(const StFile *f, const char *key) {
    const char *text = safetensors_meta(f, key);
    return text ? json_loads(text, 0, NULL) : NULL;
}

static void test_finetuned_metadata(void) {
    char *o;
    int rc = finetune(&o, "vqa", "lora", "--rank 4", "vqa_lora");
    CHECK(rc == 0, "finetune: %s", o);
    free(o);
    StFile f, b;
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp_path("vqa_lora"));
    if (safetensors_open(path, &f) != 0 || safetensors_open(tmp_path("pre/backbone.safetensors"), &b) != 0) {
        CHECK(0, "open: %s", err_msg());
        return;
    }
    const char *same[] = {"model_config", "vocab", "stem"};
    for (int i = 0; i < 3; i++) {
        const char *a = safetensors_meta(&f, same[i]), *c = safetensors_meta(&b, same[i]);
        CHECK(a && c && !strcmp(a, c), "metadata %s differs from the backbone's", same[i]);
    }
    const char *want[][2] = {
        {"task", "vqa"}, {"method", "lora"}, {"weights", "as_trained"}, {"variants", "[\"merged\"]"}};
    for (int i = 0; i < 4; i++) {
        const char *v = safetensors_meta(&f, want[i][0]);
        CHECK(v && !strcmp(v, want[i][1]), "metadata %s: %s", want[i][0], v ? v : "(none)");
    }
    json_t *layout = meta_json(&f, "head_layout"), *opts = meta_json(&f, "method_options");
    json_t *config = meta_json(&f, "run_config");
    size_t n_answers = json_array_size(json_object_get(layout, "answers"));
    CHECK(n_answers >= 2, "head layout answers: %zu", n_answers);
    const json_t *tensors = json_object_get(layout, "tensors");
    const json_t *out = json_array_get(tensors, json_array_size(tensors) - 1); /* the classifier's last layer */
    CHECK(json_array_size(tensors) == 6 &&
              json_integer_value(json_array_get(json_object_get(out, "shape"), 0)) == (json_int_t)n_answers,
          "head tensors: the classifier's outputs are not the answers");
    CHECK(json_integer_value(json_object_get(opts, "rank")) == 4, "method options: rank");
    const char *command = json_string_value(json_object_get(config, "command"));
    CHECK(command && !strcmp(command, "finetune"), "run config: command");
    const StTensor *a = safetensors_find(&f, "transformer.blocks.0.attn.q.lora_A");
    CHECK(a && a->shape[0] == 4, "the LoRA factors are stored, as trained");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE config_hash = '%s' AND status = 'ok'",
             safetensors_meta(&f, "run_config_hash"));
    CHECK(sql_int(tmp_path("r.db"), sql) == 1, "run_config_hash names no run of the database");
    json_decref(layout), json_decref(opts), json_decref(config);
    safetensors_close(&f), safetensors_close(&b);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) return 1;
    char *o;
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s && "
                          "%s pretrain --d 16 --layers 1 --heads 2 --steps 5 --quiet --no-db --data %s --out %s",
                      moil_bin(), tmp_path("tiny"), moil_bin(), tmp_path("tiny"), tmp_path("pre"));
    if (rc != 0) {
        printf("test_cli_eval: setup failed: %s\n", o);
        return 1;
    }
    free(o);
    RUN(test_finetuned_metadata);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
