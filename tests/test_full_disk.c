/* A full file system: a checkpoint, a dataset and the results database
 * written onto a 1 MB tmpfs that is filled up but for a few KB fail with a
 * clear message ("No space left on device", "database or disk is full")
 * and leave nothing half-written that a later run would trust: no
 * checkpoint at its final path, no dataset manifest, database files whose
 * committed transactions are whole. Needs root to mount the tmpfs; skipped
 * with a message otherwise. */
#include "check.h"
#include "db.h"
#include "proc.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/moil_test_full_disk_XXXXXX";
static char mnt[300], data[300], filler[350];

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Files in folder whose name contains part. */
static int count_named(const char *folder, const char *part) {
    DIR *d = opendir(folder);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, part) != NULL;
    if (d) closedir(d);
    return n;
}

/* Fill the file system with a file of zeros (filler), then give back room
 * bytes. */
static void fill(long room) {
    const char *path = filler;
    FILE *f = fopen(path, "wb");
    static const char zeros[4096];
    while (f && fwrite(zeros, 1, sizeof zeros, f) == sizeof zeros && fflush(f) == 0) continue;
    if (!f) return;
    long size = ftell(f);
    fclose(f);
    CHECK(truncate(path, size > room ? size - room : 0) == 0, "truncate %s", path);
}

static void test_checkpoint(void) {
    char *o, outdir[400], ck[450], db[400];
    snprintf(outdir, sizeof outdir, "%s/run", mnt);
    snprintf(ck, sizeof ck, "%s/backbone.safetensors", outdir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    fill(16 << 10); /* less than the checkpoint of this model */
    int rc = proc_run(&o, "%s pretrain --d 16 --layers 1 --heads 2 --steps 2 --quiet --data %s --db %s --out %s",
                      moil_bin(), data, db, outdir);
    CHECK(rc == 1, "exit status %d: %s", rc, o);
    CHECK(strstr(o, "backbone.safetensors") && strstr(o, "No space left on device"), "unclear message: %s", o);
    free(o);
    CHECK(!exists(ck), "a checkpoint was left at its final path");
    CHECK(count_named(outdir, ".tmp.") == 0, "a temporary file was left behind");
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE status = 'failed' AND error LIKE '%No space left%'") == 1,
          "the run is not recorded as failed with the reason");
    rm_tree(outdir);
    remove(filler);
}

static void test_dataset(void) {
    char *o, out[400], manifest[450];
    snprintf(out, sizeof out, "%s/ds", mnt);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", out);
    fill(64 << 10);
    int rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s", moil_bin(), out);
    CHECK(rc == 1 && strstr(o, "No space left on device"), "exit status %d: %s", rc, o);
    free(o);
    CHECK(!exists(manifest), "a dataset that did not fit has a manifest");
    /* a rerun must not take the partial folder for a finished dataset */
    rc = proc_run(&o, "%s data gen --profile tiny --quiet --out %s", moil_bin(), out);
    CHECK(rc == 1 && (strstr(o, "no manifest.json") || strstr(o, "No space left")), "rerun: %d: %s", rc, o);
    free(o);
    CHECK(!exists(manifest), "the rerun wrote a manifest");
    rm_tree(out);
    remove(filler);
}

static void test_database(void) {
    char path[400];
    snprintf(path, sizeof path, "%s/r.db", mnt);
    Db *db;
    CHECK(db_open(path, &db) == 0, "%s", err_msg());
    if (!db) return;
    RunInfo info = {.task = "vqa", .model = "vilt", .method = "full", .config = NULL, .code_rev = "unknown",
                    .code_dirty = -1, .threads = 1, .params_trainable = -1, .params_stored = -1,
                    .params_backbone = -1};
    json_t *config = json_pack("{s:i}", "steps", 1);
    info.config = config;
    int64_t run;
    CHECK(db_run_begin(db, &info, &run) == 0, "%s", err_msg());
    json_decref(config);
    fill(48 << 10);
    /* commits of 100 rows until the disk is full */
    int committed = 0, failed = 0;
    for (int batch = 0; batch < 400 && !failed; batch++) {
        for (int k = 0; k < 100; k++) db_curve_add(db, run, batch * 100 + k, "train/loss", 1.0 / (1 + k));
        if (db_flush(db) == 0) committed += 100;
        else failed = 1;
    }
    CHECK(committed > 0 && failed && strstr(err_msg(), "full"), "no clear failure on a full disk: %s", err_msg());
    printf("  %d curve rows committed before: %s\n", committed, err_msg());
    db_close(db);
    /* a new database cannot even get its schema */
    char fresh[400];
    snprintf(fresh, sizeof fresh, "%s/new.db", mnt);
    Db *other = NULL;
    CHECK(db_open(fresh, &other) == -1 && strstr(err_msg(), fresh) && strstr(err_msg(), "full"),
          "creating a database on a full disk: %s", err_msg());
    db_close(other);
    remove(filler);
    /* with room again: both files are sound, the first holds whole commits only */
    const char *const paths[] = {path, fresh};
    for (int i = 0; i < 2; i++) {
        CHECK(db_open(paths[i], &db) == 0, "reopen: %s", err_msg());
        DbTable bad = {0};
        CHECK(db && db_select_problems(db, &bad) == 0 && bad.n_rows == 0, "integrity problems in %s", paths[i]);
        db_table_free(&bad);
        db_close(db);
    }
    long long rows = sql_int(path, "SELECT count(*) FROM curves");
    CHECK(rows == committed, "%lld curve rows, %d committed", rows, committed);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    snprintf(mnt, sizeof mnt, "%s/mnt", dir);
    snprintf(data, sizeof data, "%s/tiny", dir);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    mkdir(mnt, 0777);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        printf("skipped: cannot mount a 1 MB tmpfs on %s (%s); the full-disk cases need root\n", mnt,
               strerror(errno));
        rm_tree(dir);
        return 0;
    }
    char *o;
    if (proc_run(&o, "%s data gen --profile tiny --quiet --out %s", moil_bin(), data) != 0) {
        printf("not ok setup: data gen failed: %s\n", o);
        umount(mnt);
        return 1;
    }
    free(o);
    RUN(test_checkpoint);
    RUN(test_dataset);
    RUN(test_database);
    umount(mnt);
    rm_tree(dir);
    return TEST_DONE();
}
