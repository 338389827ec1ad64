/* `moil backbone hash|install`: a backbone that a profile ships in the
 * repository instead of pretraining it (experiments/profiles.conf's
 * `backbone` lines, backbones/README.md). hash prints a checkpoint's weights
 * hash (safetensors_weights_hash: its tensors, not its metadata); install
 * checks a file against the weights hash it must have and copies it, byte
 * for byte, into a backbone folder, as run_all.sh does before the runs that
 * start from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "io_safetensors.h"

static const char hash_usage[] =
    "usage: moil backbone hash FILE\n"
    "\n"
    "Prints the weights hash of the safetensors checkpoint FILE: FNV-1a 64 over\n"
    "every tensor's name, dtype, shape and data, in the file's order, leaving out\n"
    "its metadata (16 hex digits; the hash of a profile's `backbone` line in\n"
    "experiments/profiles.conf).\n"
    "Ends with a name=value line: weights_hash.\n";

static const char install_usage[] =
    "usage: moil backbone install FILE --weights-hash H --out DIR\n"
    "\n"
    "Checks that the weights hash of the safetensors checkpoint FILE (moil backbone\n"
    "hash) is H, then writes DIR/backbone.safetensors as a byte copy of FILE\n"
    "(atomically), or leaves it when an identical file is already there. A file\n"
    "whose weights differ is refused (exit status 1): it is not the backbone the\n"
    "profile ships; `make backbone` rebuilds that one and records its new hash.\n"
    "Ends with name=value lines: installed (the path), copied (0: it was already\n"
    "there), weights_hash.\n";

static int usage_error(const char *cmd, const char *usage, const char *msg, const char *arg) {
    fprintf(stderr, "moil backbone %s: %s%s\n\n%s", cmd, msg, arg, usage);
    return 2;
}

static int fail(const char *cmd) {
    fprintf(stderr, "moil backbone %s: %s\n", cmd, err_msg());
    return 1;
}

int cmd_backbone_hash(int argc, char **argv) {
    if (cli_wants_help(argc, argv, hash_usage)) return 0;
    if (argc != 2) return usage_error("hash", hash_usage, "expected one FILE", "");
    StFile f;
    if (safetensors_open(argv[1], &f) != 0) return fail("hash");
    char hash[17];
    safetensors_weights_hash(&f, hash);
    safetensors_close(&f);
    printf("weights_hash=%s\n", hash);
    return 0;
}

/* Is the file at path byte for byte the n bytes of buf? 0 when it is absent,
 * unreadable or differs (then it is written anew). */
static int same_file(const char *path, const unsigned char *buf, size_t n) {
    size_t len;
    char *have = file_read_all(path, ST_MAX_FILE, &len);
    int same = have && len == n && memcmp(have, buf, n) == 0;
    free(have);
    return same;
}

/* FILE checked against want, then copied to out_dir/backbone.safetensors
 * unless already there; *copied says whether it was written. */
static int install(const char *file, const char *want, const char *out_dir, char *path, size_t cap, int *copied) {
    StFile f;
    if (safetensors_open(file, &f) != 0) return -1;
    char have[17];
    safetensors_weights_hash(&f, have);
    int rc = 0;
    if (strcmp(have, want) != 0)
        rc = err_set("%s: weights hash %s, expected %s: not the backbone this profile ships (a changed or damaged "
                     "file); `make backbone` rebuilds it and records its new hash in experiments/profiles.conf",
                     file, have, want);
    snprintf(path, cap, "%s/backbone.safetensors", out_dir);
    *copied = rc == 0 && !same_file(path, f.bytes, f.size);
    if (*copied) rc = dir_make(out_dir);
    if (*copied && rc == 0) rc = file_write_atomic(path, f.bytes, f.size);
    safetensors_close(&f);
    return rc;
}

int cmd_backbone_install(int argc, char **argv) {
    if (cli_wants_help(argc, argv, install_usage)) return 0;
    const char *file = NULL, *want = NULL, *out_dir = NULL;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--weights-hash") && has_value) want = argv[++i];
        else if (!strcmp(argv[i], "--out") && has_value) out_dir = argv[++i];
        else if (argv[i][0] != '-' && !file) file = argv[i];
        else return usage_error("install", install_usage, "unknown argument or missing value: ", argv[i]);
    }
    if (!file || !want || !out_dir) return usage_error("install", install_usage, "FILE, --weights-hash and --out are required", "");
    if (!safetensors_is_weights_hash(want)) return usage_error("install", install_usage, "--weights-hash: expected 16 hex digits, not ", want);
    char path[4200];
    int copied;
    if (install(file, want, out_dir, path, sizeof path, &copied) != 0) return fail("install");
    printf("installed=%s\ncopied=%d\nweights_hash=%s\n", path, copied, want);
    return 0;
}
