/* Command-line behaviour of moil finetune and moil pretrain that the tables
 * rely on: a row's `--init none` overrides the profile's --init (the run
 * starts from random weights and its config says so), and --objectives
 * names every objective in its error message. */
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_cli_finetune_XXXXXX";
#include "tmp_path.h"

static void test_init_none_overrides_init(void) {
    char *o;
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s && "
                          "%s pretrain --d 16 --layers 1 --heads 2 --steps 1 --quiet --no-db --data %s --out %s",
                      moil_bin(), tmp_path("tiny"), moil_bin(), tmp_path("tiny"), tmp_path("pre"));
    CHECK(rc == 0, "setup: %s", o);
    free(o);
    const char *ft = "%s finetune --task vqa --method heads --steps 2 --batch 4 --eval-limit 5 --quiet --data %s "
                     "--db %s --init %s/backbone.safetensors %s --out %s";
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre"), "", tmp_path("a"));
    CHECK(rc == 0, "finetune from the backbone: %s", o);
    free(o);
    rc = proc_run(&o, ft, moil_bin(), tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre"), "--init none", tmp_path("b"));
    CHECK(rc == 0, "finetune with --init none: %s", o);
    free(o);
    CHECK(sql_int(tmp_path("r.db"), "SELECT count(*) FROM runs WHERE status = 'ok' AND "
                                    "json_extract(config_json, '$.init_hash') != 'random'") == 1,
          "the run from the backbone is not recorded with its hash");
    CHECK(sql_int(tmp_path("r.db"), "SELECT count(*) FROM runs WHERE status = 'ok' AND "
                                    "json_extract(config_json, '$.init_hash') = 'random' AND "
                                    "json_extract(config_json, '$.init') = ''") == 1,
          "the run with --init none is not recorded as starting from random weights");
}

static void test_objectives_listed(void) {
    char out[2048];
    int rc = proc_moil(out, sizeof out, "pretrain --objectives mlm,bogus --no-db --data %s", tmp_path("tiny"));
    CHECK(rc != 0 && strstr(out, "unknown objective 'bogus'") && strstr(out, "cells, swap"), "exit %d: %s", rc, out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) return 1;
    RUN(test_init_none_overrides_init);
    RUN(test_objectives_listed);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
