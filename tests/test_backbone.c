/* The shipped backbone (backbones/README.md): the weights hash names the
 * tensors and not the metadata; `moil backbone install` copies a file whose
 * weights hash is the expected one and refuses another; scripts/backbone.sh
 * (make backbone), run on the tiny profile, builds the file and records its
 * hash in the shipping profile's `backbone` line; `moil table plan` prints a
 * shipped line for that profile instead of pretraining, and run_all.sh
 * installs the file and fine-tunes from it, or stops when the hash differs.
 * The commands run as the built binary ($MOIL, else ./moil). */
#include "test.h"

#include <unistd.h>

#include "check.h"
#include "io_safetensors.h"
#include "proc.h"

static char tmp_dir[] = "/tmp/moil_test_backbone_XXXXXX";
#include "tmp_path.h"

static char out[1 << 16];
static char file[512], conf[512], work[512]; /* the shipped file, profiles.conf, run_all.sh's work folder */
static char hash[17];                        /* its weights hash, from scripts/backbone.sh */

/* A tiny checkpoint of two tensors; bump changes one float. */
static void write_checkpoint(const char *path, const char *note, int bump) {
    float w[6] = {0.5f, -1.0f, 2.0f, 3.25f, 0.0f, 1e-3f};
    int32_t ids[2] = {7, 9};
    if (bump) w[3] = 3.2500002f;
    StTensor t[2] = {{"w", ST_F32, 2, {2, 3}, w}, {"ids", ST_I32, 1, {2}, ids}};
    StMeta meta[1] = {{"note", note}};
    CHECK(safetensors_write(path, t, 2, meta, 1) == 0, "%s", err_msg());
}

static void weights_hash_of(const char *path, char h[17]) {
    StFile f;
    h[0] = 0;
    CHECK(safetensors_open(path, &f) == 0, "%s", err_msg());
    if (f.tensors) safetensors_weights_hash(&f, h);
    safetensors_close(&f);
}

/* Same tensors, other metadata: same weights hash (though the files, and so
 * their file hashes, differ); one float changed: another weights hash; moil
 * backbone hash prints it. */
static void test_weights_hash(void) {
    CHECK(fnv1a_update(fnv1a_update(FNV1A_INIT, "fo", 2), "obar", 4) == 0x88fad7c0a8ff07f2ull,
          "FNV-1a 64 of foobar, in two pieces, from the suite's offset basis");
    write_checkpoint(tmp_path("a.safetensors"), "first", 0);
    write_checkpoint(tmp_path("b.safetensors"), "second, longer", 0);
    write_checkpoint(tmp_path("c.safetensors"), "first", 1);
    char ha[17], hb[17], hc[17], fa[17], fb[17];
    weights_hash_of(tmp_path("a.safetensors"), ha);
    weights_hash_of(tmp_path("b.safetensors"), hb);
    weights_hash_of(tmp_path("c.safetensors"), hc);
    CHECK(strlen(ha) == 16 && !strcmp(ha, hb), "metadata changed the weights hash: %s %s", ha, hb);
    CHECK(strcmp(ha, hc) != 0, "one float changed, same weights hash %s", ha);
    CHECK(file_hash_fnv1a(tmp_path("a.safetensors"), fa) == 0 && file_hash_fnv1a(tmp_path("b.safetensors"), fb) == 0 &&
              strcmp(fa, fb) != 0,
          "the file hashes differ");
    char want[40];
    snprintf(want, sizeof want, "weights_hash=%s\n", ha);
    int rc = proc_moil(out, sizeof out, "backbone hash %s", tmp_path("b.safetensors"));
    CHECK(rc == 0 && !strcmp(out, want), "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "backbone hash %s", tmp_path("none.safetensors"));
    CHECK(rc == 1 && strstr(out, "none.safetensors"), "status %d:\n%s", rc, out);
}

/* The right hash: written, byte for byte, then left as it is; a wrong one:
 * exit 1 naming the file, both hashes and make backbone, nothing written;
 * a malformed one: a usage error. The group's help lists both commands. */
static void test_install(void) {
    char a[512], h[17], bad[17] = "0123456789abcdef";
    snprintf(a, sizeof a, "%s", tmp_path("a.safetensors"));
    weights_hash_of(a, h);
    int rc = proc_moil(out, sizeof out, "backbone install %s --weights-hash %s --out %s", a, h, tmp_path("inst"));
    CHECK(rc == 0 && out_int(out, "copied") == 1 && strstr(out, "installed=") && strstr(out, h), "status %d:\n%s", rc,
          out);
    rc = proc_run_into(out, sizeof out, "cmp %s %s", a, tmp_path("inst/backbone.safetensors"));
    CHECK(rc == 0, "not a byte copy: %s", out);
    rc = proc_moil(out, sizeof out, "backbone install %s --weights-hash %s --out %s", a, h, tmp_path("inst"));
    CHECK(rc == 0 && out_int(out, "copied") == 0, "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "backbone install %s --weights-hash %s --out %s", a, bad, tmp_path("wrong"));
    CHECK(rc == 1 && strstr(out, a) && strstr(out, h) && strstr(out, bad) && strstr(out, "make backbone"),
          "status %d:\n%s", rc, out);
    CHECK(access(tmp_path("wrong/backbone.safetensors"), F_OK) != 0, "a refused file was installed");
    rc = proc_moil(out, sizeof out, "backbone install %s --weights-hash 12ab --out %s", a, tmp_path("wrong"));
    CHECK(rc == 2 && strstr(out, "16 hex digits"), "status %d:\n%s", rc, out);
    rc = proc_moil(out, sizeof out, "backbone --help");
    CHECK(rc == 0 && strstr(out, "\n  hash ") && strstr(out, "\n  install "), "status %d:\n%s", rc, out);
}

/* Profile tiny pretrains; profile shipped (the same dataset and fine-tuning)
 * ships the file that scripts/backbone.sh builds from tiny's pretraining. */
static void write_experiments(void) {
    snprintf(file, sizeof file, "%s", tmp_path("backbones/vilt-tiny.safetensors"));
    snprintf(conf, sizeof conf, "%s", tmp_path("exp/profiles.conf"));
    snprintf(work, sizeof work, "%s", tmp_path("w"));
    char text[2048];
    snprintf(text, sizeof text,
             "profile | tiny | tiny | 0 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 3 --batch 4 "
             "--eval-limit 20\n"
             "profile | shipped | tiny | 0 | --d 32 --layers 1 --heads 2 --steps 5 --batch 8 | --steps 3 --batch 4 "
             "--eval-limit 20\n"
             "backbone | shipped | vilt | %s | 0000000000000000\n"
             "backbone | also | vilt | %s | 0000000000000000\n"
             "backbone | other | vilt | %s.not | 0000000000000000\n",
             file, file, file);
    static const char t_exp[] = "title | Test shipped\n"
                                "column | VQA | vqa | test | vqa_score |\n"
                                "row | LoRA | | | --method lora --rank 4\n"
                                "row | Heads | | | --method heads\n";
    CHECK(dir_make(tmp_path("exp")) == 0, "%s", err_msg());
    CHECK(file_write_atomic(conf, text, strlen(text)) == 0, "%s", err_msg());
    CHECK(file_write_atomic(tmp_path("exp/t.exp"), t_exp, strlen(t_exp)) == 0, "%s", err_msg());
}

static int make_backbone(void) {
    return proc_run_into(out, sizeof out,
                         "BACKBONE_PROFILE=tiny BACKBONE_OUT=%s BACKBONE_EXPERIMENTS=%s "
                         "BACKBONE_WORK=%s BACKBONE_THREADS=1 MOIL='%s' scripts/backbone.sh",
                         file, tmp_path("exp"), work, moil_bin());
}

/* make backbone's script on the tiny profile: the file, its hash printed and
 * written into the lines of both profiles that ship it (they were all zeros:
 * changed), not into the line of another file; run again, the same weights
 * (the pretraining is deterministic): unchanged. */
static void test_make_backbone(void) {
    int rc = make_backbone();
    CHECK(rc == 0 && out_value(out, "weights_hash", hash, sizeof hash) == 0 && out_int(out, "changed") == 1 &&
              out_int(out, "conf_updated") == 2 && strstr(out, "weights CHANGED") &&
              strstr(out, "profiles shipped also now have"),
          "status %d:\n%s", rc, out);
    char h[17];
    weights_hash_of(file, h);
    CHECK(!strcmp(h, hash), "the file's weights hash %s, printed %s", h, hash);
    char *text = file_read_all(conf, 1 << 16, NULL);
    char line[700];
    snprintf(line, sizeof line, "backbone | shipped | vilt | %s | %s\n", file, hash);
    char also[700], other[700];
    snprintf(also, sizeof also, "backbone | also | vilt | %s | %s\n", file, hash);
    snprintf(other, sizeof other, "backbone | other | vilt | %s.not | 0000000000000000\n", file);
    CHECK(text && strstr(text, line) && strstr(text, also) && strstr(text, other) && strstr(text, "profile | tiny |"),
          "profiles.conf:\n%s", text ? text : "");
    free(text);
    rc = make_backbone();
    CHECK(rc == 0 && out_int(out, "changed") == 0 && strstr(out, "weights unchanged") && strstr(out, hash),
          "status %d:\n%s", rc, out);
}

/* The plan of the shipped profile: a shipped line for the vilt backbone
 * with the pretraining arguments that rebuild it, no pretrain line. */
static void test_plan_shipped(void) {
    int rc = proc_moil(out, sizeof out, "table plan --profile shipped --experiments %s --work %s --db %s",
                       tmp_path("exp"), work, tmp_path("plan.db"));
    char line[1200];
    snprintf(line, sizeof line, "\nshipped\t%s/runs/shipped/pretrain\t%s\t%s\t--d 32 --layers 1 --heads 2 --steps 5 "
             "--batch 8\n", work, file, hash);
    CHECK(rc == 0 && strstr(out, line) && !strstr(out, "\npretrain\t"), "status %d:\n%s", rc, out);
}

/* make backbone for a profile that ships its backbone (the full profile
 * does): rebuilt from the shipped line's arguments, which are tiny's, so
 * the same weights as tiny's pretraining, unchanged. */
static void test_make_backbone_of_shipping_profile(void) {
    int rc = proc_run_into(out, sizeof out,
                           "BACKBONE_PROFILE=shipped BACKBONE_OUT=%s BACKBONE_EXPERIMENTS=%s "
                           "BACKBONE_WORK=%s BACKBONE_THREADS=1 MOIL='%s' scripts/backbone.sh",
                           file, tmp_path("exp"), work, moil_bin());
    CHECK(rc == 0 && out_int(out, "changed") == 0 && strstr(out, "weights unchanged") && strstr(out, hash) &&
              strstr(out, "== pretraining ") && strstr(out, "--steps 5"),
          "status %d:\n%s", rc, out);
}

/* run_all.sh on the shipped profile: the file installed (no pretraining run
 * logged for it), the two runs fine-tuned from it, recording its weights
 * hash as their init_hash; with another hash in
 * profiles.conf it stops before any run. */
static void test_run_all_shipped(void) {
    const char *db = tmp_path("w/results/moil.db");
    long long pretrained = sql_int(db, "SELECT count(*) FROM runs WHERE task = 'pretrain'");
    int rc = proc_run_into(out, sizeof out, "./run_all.sh --no-make --experiments %s --work %s --profile shipped --jobs 2",
                           tmp_path("exp"), work);
    CHECK(rc == 0 && strstr(out, "(shipped: ") && strstr(out, "\nran=2\n") && strstr(out, "\nfailed=0\n"),
          "status %d:\n%s", rc, out);
    char o[1024];
    rc = proc_run_into(o, sizeof o, "cmp %s %s/runs/shipped/pretrain/backbone.safetensors", file, work);
    CHECK(rc == 0, "not installed: %s", o);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE task = 'pretrain'") == pretrained, "a pretraining ran");
    CHECK(sql_int(db, "SELECT count(*) FROM runs AS r JOIN run_keys AS k ON k.config_hash = r.config_hash "
                      "WHERE r.task = 'vqa' AND r.status = 'ok' "
                      "AND k.args LIKE '%runs/shipped/pretrain/backbone.safetensors%'") == 2,
          "the runs start from the installed backbone");
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE task = 'vqa' AND status = 'ok' AND "
                              "json_extract(config_json, '$.init_hash') = '%s'", hash);
    CHECK(sql_int(db, sql) == 2, "the runs' init_hash is not the backbone's weights hash %s", hash);
    rc = proc_run_into(o, sizeof o, "sed -i 's/%s/0123456789abcdef/' %s", hash, conf);
    CHECK(rc == 0, "%s", o);
    rc = proc_run_into(out, sizeof out,
                       "./run_all.sh --no-make --experiments %s --work %s --profile shipped --jobs 2 --force",
                       tmp_path("exp"), work);
    CHECK(rc == 1 && strstr(out, "refused") && strstr(out, "0123456789abcdef") && strstr(out, hash) &&
              strstr(out, "make backbone") && !strstr(out, "[run 1"),
          "status %d:\n%s", rc, out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(test_weights_hash);
    RUN(test_install);
    RUN(write_experiments);
    RUN(test_make_backbone);
    RUN(test_plan_shipped);
    RUN(test_make_backbone_of_shipping_profile);
    RUN(test_run_all_shipped);
    int failed = TEST_DONE();
    if (!failed) rm_tree(tmp_dir);
    return failed;
}
