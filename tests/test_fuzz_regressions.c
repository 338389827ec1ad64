/* The inputs that once crashed a reader under the fuzzer (and the
 * hand-made cases of the same bugs), replayed through the same code as the
 * harnesses: every file under fuzz/regressions/<reader>/ must give a clean
 * error (-1 with a message) or success, never a crash, a sanitizer report
 * or an exit. */
#include "../fuzz/fuzz_readers.h"
#include "check.h"
#include "test.h"

#include <dirent.h>

typedef struct {
    const char *name;
    int (*read)(const uint8_t *data, size_t size);
} Reader;

static const Reader readers[] = {
    {"jpeg", fuzz_read_jpeg},
    {"png", fuzz_read_png},
    {"karpathy", fuzz_read_karpathy},
    {"vqa", fuzz_read_vqa},
    {"nlvr", fuzz_read_nlvr},
    {"instances", fuzz_read_instances},
    {"idx", fuzz_read_idx},
    {"safetensors", fuzz_read_safetensors},
    {"region_cache", fuzz_read_region_cache},
    {"vqa_cache", fuzz_read_vqa_cache},
    {"tokenizer", fuzz_read_tokenizer},
    {"wordpiece", fuzz_read_wordpiece},
    {"experiment", fuzz_read_experiment},
};

/* Replay every file of fuzz/regressions/<reader>/; returns how many. */
static int replay(const Reader *r) {
    char dir[256];
    snprintf(dir, sizeof dir, "fuzz/regressions/%s", r->name);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *buf = file_read_all(path, (size_t)1 << 26, &len);
        CHECK(buf, "%s", err_msg());
        if (!buf) continue;
        err_set("%s", "");
        int rc = r->read((const uint8_t *)buf, len);
        CHECK(rc == 0 || (rc == -1 && err_msg()[0]), "%s: result %d without a message", path, rc);
        printf("  %s: %s\n", path, rc == 0 ? "read" : err_msg());
        free(buf);
        n++;
    }
    if (d) closedir(d);
    return n;
}

static void test_regressions(void) {
    int n = 0;
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) n += replay(&readers[i]);
    CHECK(n > 0, "no regression inputs found (run from the repository root)");
}

/* The seed corpora read cleanly too (they are the generator's own output). */
static void test_seed_corpora_read(void) {
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "fuzz/corpus/%s", readers[i].name);
        DIR *d = opendir(dir);
        CHECK(d, "%s missing", dir);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            char path[600];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            size_t len;
            char *buf = file_read_all(path, (size_t)1 << 20, &len);
            CHECK(buf && readers[i].read((const uint8_t *)buf, len) == 0, "%s: %s", path, err_msg());
            free(buf);
        }
        if (d) closedir(d);
    }
}

int main(void) {
    RUN(test_regressions);
    RUN(test_seed_corpora_read);
    fuzz_cleanup();
    return TEST_DONE();
}
