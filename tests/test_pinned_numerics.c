/* Pinned numerics: a tiny end-to-end run whose numbers must not move unless
 * a commit says why. On `moil data gen --profile tiny`, a tiny pretraining
 * (the tiny profile's: d 32, 1 layer, 2 heads, 5 steps of 8) and one short
 * fine-tuning on VQA per method (6 steps of 4, 20 test questions), all at
 * --threads 1; every logged curve value (loss, grad_norm, lr) and final
 * metric (timings left out), printed to float32's last digit (%.9g), and the
 * weights hash of every checkpoint are compared with
 * tests/vectors/pinned_numerics.txt. Each value that differs is printed, the
 * committed one beside the new one, with how to regenerate the file.
 *
 * `test_pinned_numerics --write FILE` writes the file instead (`make
 * pinned-numerics`). The file pins this build's numerics (x86-64-v3 or any
 * build: the ops sum alike at every instruction-set level) with the OpenBLAS
 * kernels of the machine that wrote it, named in its header; on another
 * OpenBLAS core type the test may differ (docs/testing.md, "Numeric
 * reproducibility"). About 3 s. */
#include <sqlite3.h>

#include "io_safetensors.h"
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_pinned_XXXXXX";
#include "tmp_path.h"

#define VECTORS "tests/vectors/pinned_numerics.txt"
#define WRITTEN_ON "# written on: " /* the header line naming the writer's numeric environment */

static const char *const methods[] = {"full", "heads", "bitfit", "prompt", "adapter", "lora", "dora", "moil"};
enum { N_METHODS = sizeof methods / sizeof methods[0] };

/* One pinned value: "<run> <kind> <name>" and its text. */
typedef struct {
    char key[160], value[64];
} Pin;

typedef struct {
    Pin *pins;
    int n, cap;
    char env[512]; /* the writer's numeric environment, for the file's header */
} PinList;

static void pins_add(PinList *l, const char *key, const char *value) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->pins = xrealloc(l->pins, (size_t)l->cap * sizeof *l->pins);
    }
    snprintf(l->pins[l->n].key, sizeof l->pins[l->n].key, "%s", key);
    snprintf(l->pins[l->n].value, sizeof l->pins[l->n].value, "%s", value);
    l->n++;
}

/* The run's data, backbone and fine-tunings, logged to tmp/r.db; 0 or the
 * failing command's status (its output printed). */
static int run_all(void) {
    char cmd[2 + N_METHODS][1024];
    snprintf(cmd[0], sizeof cmd[0], "%s data gen --profile tiny --quiet --out %s", moil_bin(), tmp_path("tiny"));
    snprintf(cmd[1], sizeof cmd[1],
             "%s pretrain --d 32 --layers 1 --heads 2 --steps 5 --batch 8 --threads 1 --quiet --data %s --db %s "
             "--out %s",
             moil_bin(), tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre"));
    for (int m = 0; m < N_METHODS; m++) {
        char out[64];
        snprintf(out, sizeof out, "ft-%s", methods[m]);
        snprintf(cmd[2 + m], sizeof cmd[2 + m],
                 "%s finetune --task vqa --method %s --steps 6 --batch 4 --eval-limit 20 --threads 1 --quiet "
                 "--data %s --db %s --init %s/backbone.safetensors --out %s",
                 moil_bin(), methods[m], tmp_path("tiny"), tmp_path("r.db"), tmp_path("pre"), tmp_path(out));
    }
    for (int i = 0; i < 2 + N_METHODS; i++) {
        char *o;
        int rc = proc_run(&o, "%s", cmd[i]);
        if (rc != 0) printf("  %s: status %d\n%s\n", cmd[i], rc, o);
        free(o);
        if (rc != 0) return rc;
    }
    return 0;
}

/* A value as the file holds it: float32's last digit, or the nonfinite text. */
static void value_text(sqlite3_stmt *st, int col, char *out, size_t n) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, col + 1));
    else snprintf(out, n, "%.9g", sqlite3_column_double(st, col));
}

/* Every curve point and metric of the runs, in run order: 0, or -1. */
static int pins_from_db(PinList *l) {
    sqlite3 *db = NULL;
    static const char *const queries[] = {
        "SELECT r.task || '/' || r.method, 'curve', c.name || '@' || c.step, c.value, c.nonfinite "
        "FROM curves AS c JOIN runs AS r ON r.id = c.run_id ORDER BY r.id, c.name, c.step",
        "SELECT r.task || '/' || r.method, 'metric', m.split || '/' || m.name, m.value, m.nonfinite "
        "FROM metrics AS m JOIN runs AS r ON r.id = m.run_id WHERE m.name NOT LIKE '%seconds' "
        "ORDER BY r.id, m.split, m.name",
        "SELECT 'cpu ' || cpu || ', build ' || build || ', OpenBLAS core ' || openblas_core "
        "FROM run_numeric_env ORDER BY run_id LIMIT 1"};
    int rc = sqlite3_open_v2(tmp_path("r.db"), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK ? 0 : -1;
    for (int q = 0; q < 3 && rc == 0; q++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, queries[q], -1, &st, NULL) != SQLITE_OK) {
            printf("  %s: %s\n", queries[q], sqlite3_errmsg(db));
            rc = -1;
            break;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (q == 2) {
                snprintf(l->env, sizeof l->env, "%s", (const char *)sqlite3_column_text(st, 0));
                continue;
            }
            char key[160], value[64];
            snprintf(key, sizeof key, "%s %s %s", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                     sqlite3_column_text(st, 2));
            value_text(st, 3, value, sizeof value);
            pins_add(l, key, value);
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

/* The weights hash of every checkpoint: 0, or -1. */
static int pins_from_checkpoints(PinList *l) {
    for (int i = -1; i < N_METHODS; i++) {
        char path[600], key[160], hash[17];
        if (i < 0) snprintf(path, sizeof path, "%s/backbone.safetensors", tmp_path("pre"));
        else snprintf(path, sizeof path, "%s/ft-%s/model.safetensors", tmp_dir, methods[i]);
        StFile f;
        if (safetensors_open(path, &f) != 0) {
            printf("  %s\n", err_msg());
            return -1;
        }
        safetensors_weights_hash(&f, hash);
        safetensors_close(&f);
        snprintf(key, sizeof key, "%s/%s weights hash", i < 0 ? "pretrain" : "vqa", i < 0 ? "full" : methods[i]);
        pins_add(l, key, hash);
    }
    return 0;
}

static int pins_write(const PinList *l, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("  %s: cannot write\n", path);
        return -1;
    }
    fprintf(f, "# Pinned numerics of a tiny end-to-end run (tests/test_pinned_numerics.c): a\n"
               "# pretraining and one VQA fine-tuning per method at --threads 1; every logged\n"
               "# curve value and final metric to float32's last digit, every checkpoint's\n"
               "# weights hash. A change of these numbers is a deliberate commit that says\n"
               "# why: regenerate with `make pinned-numerics`. Lines: <run> <kind> <name> <value>.\n"
               WRITTEN_ON "%s\n",
            l->env);
    for (int i = 0; i < l->n; i++) fprintf(f, "%s %s\n", l->pins[i].key, l->pins[i].value);
    return fclose(f) == 0 ? 0 : -1;
}

/* The committed file's pins (the key is all but the last field; of the '#'
 * lines, the writer's environment into l->env). 0, or -1 when it cannot be
 * read. */
static int pins_read(PinList *l, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[300];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *space = strrchr(line, ' ');
        if (!strncmp(line, WRITTEN_ON, strlen(WRITTEN_ON)))
            snprintf(l->env, sizeof l->env, "%s", line + strlen(WRITTEN_ON));
        if (line[0] == '#' || !space) continue;
        *space = 0;
        pins_add(l, line, space + 1);
    }
    fclose(f);
    return 0;
}

static const Pin *pins_find(const PinList *l, const char *key) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->pins[i].key, key)) return &l->pins[i];
    return NULL;
}

/* Print each difference between the committed pins and the new ones; their
 * count. */
static int pins_compare(const PinList *old, const PinList *now) {
    int differ = 0;
    for (int i = 0; i < now->n; i++) {
        const Pin *o = pins_find(old, now->pins[i].key);
        if (o && !strcmp(o->value, now->pins[i].value)) continue;
        printf("  %s: committed %s, now %s\n", now->pins[i].key, o ? o->value : "(none)", now->pins[i].value);
        differ++;
    }
    for (int i = 0; i < old->n; i++)
        if (!pins_find(now, old->pins[i].key)) {
            printf("  %s: committed %s, now (none)\n", old->pins[i].key, old->pins[i].value);
            differ++;
        }
    return differ;
}

static PinList now;
static const char *write_path;

static void test_pinned_numerics(void) {
    CHECK(run_all() == 0, "the tiny run failed (above)");
    CHECK(pins_from_db(&now) == 0 && pins_from_checkpoints(&now) == 0, "cannot read the run's numbers");
    CHECK(now.n > 9 * 3, "only %d values from 9 runs", now.n);
    if (test_case_failed) return;
    if (write_path) {
        CHECK(pins_write(&now, write_path) == 0, "writing %s", write_path);
        printf("  wrote %d values to %s\n", now.n, write_path);
        return;
    }
    PinList old = {0};
    CHECK(pins_read(&old, VECTORS) == 0, "cannot read %s (run from the repository root)", VECTORS);
    int differ = old.n ? pins_compare(&old, &now) : 0;
    CHECK(old.n > 0 && differ == 0,
          "%d of %d values differ from %s (committed on: %s; here: %s). If the change is meant, regenerate with "
          "`make pinned-numerics` and commit the file saying why",
          differ, now.n, VECTORS, old.env, now.env);
    free(old.pins);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write")) write_path = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [--write FILE]\n", argv[0]);
        return 2;
    }
    if (!mkdtemp(tmp_dir)) {
        printf("not ok mkdtemp\n");
        return 1;
    }
    RUN(test_pinned_numerics);
    free(now.pins);
    int failed = TEST_DONE();
    if (!failed) rm_tree(tmp_dir);
    return failed;
}
