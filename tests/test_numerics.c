/* Numerics: NaN/inf is not compiled away (no -ffast-math / -Ofast in the
 * build), and a NaN planted in a backbone weight stops fine-tuning at step 1
 * with the run recorded as diverged, naming the step and the tensor. */
#include "check.h"
#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

#ifdef __FAST_MATH__
#error "built with -ffast-math (or -Ofast): NaN and inf checks would be compiled away"
#endif

#define BAD_TENSOR "transformer.blocks.0.attn.q.weight"

static char dir[] = "/tmp/moil_test_numerics_XXXXXX";

static void test_no_fast_math(void) {
    static const char *const files[] = {"Makefile", "scripts/fuzz.sh", "scripts/deps.sh"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *text = file_read_all(files[i], 1 << 20, NULL);
        if (!text) continue;
        CHECK(!strstr(text, "fast-math") && !strstr(text, "-Ofast") && !strstr(text, "unsafe-math"),
              "%s asks for unsafe floating-point optimisations", files[i]);
        free(text);
    }
    volatile float zero = 0.0f;
    float nan = zero / zero, inf = 1.0f / zero;
    CHECK(isnan(nan) && !isfinite(nan) && isinf(inf) && !isfinite(inf), "isfinite does not see NaN/inf");
}

/* A copy of the checkpoint src at dst with element 3 of BAD_TENSOR NaN. */
static int plant_nan(const char *src, const char *dst) {
    StFile f;
    if (safetensors_open(src, &f) != 0) return -1;
    const StTensor *t = safetensors_find(&f, BAD_TENSOR);
    int rc = -1;
    if (t && t->dtype == ST_F32) {
        float nan = NAN;
        memcpy((unsigned char *)t->data + 3 * sizeof(float), &nan, sizeof nan);
        rc = file_write_atomic(dst, f.bytes, f.size);
    }
    safetensors_close(&f);
    return rc;
}

static void test_nan_weight_diverges(void) {
    char data[300], db[300], good[300], bad[300], *o;
    snprintf(data, sizeof data, "%s/tiny", dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(good, sizeof good, "%s/pre/backbone.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/nan.safetensors", dir);
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s && "
                          "%s pretrain --d 16 --layers 1 --heads 2 --steps 1 --quiet --no-db --data %s --out %s/pre",
                      moil_bin(), data, moil_bin(), data, dir);
    CHECK(rc == 0, "setup: %s", o);
    free(o);
    CHECK(plant_nan(good, bad) == 0, "%s", err_msg());
    rc = proc_run(&o, "%s finetune --task vqa --method full --steps 5 --quiet --init %s --data %s --db %s --out %s/ft",
                  moil_bin(), bad, data, db, dir);
    CHECK(rc == 1 && strstr(o, "diverged"), "exit status %d: %s", rc, o);
    free(o);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'diverged' AND error LIKE '%at step 1 %' "
                      "AND error LIKE '%weight ''" BAD_TENSOR "''[3]%'") == 1,
          "the run is not recorded as diverged at step 1 naming " BAD_TENSOR "[3]");
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_no_fast_math);
    RUN(test_nan_weight_diverges);
    rm_tree(dir);
    return TEST_DONE();
}
