#include "run_inputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data_layout.h"

/* The file's hash, or "" when it does not exist. */
static int hash_if_present(const char *path, char out[RUN_HASH_LEN]) {
    out[0] = 0;
    if (access(path, F_OK) != 0) return errno == ENOENT ? 0 : err_set("%s: %s", path, strerror(errno));
    return file_hash_fnv1a(path, out);
}

int run_init_hash(const char *init, char out[RUN_HASH_LEN]) {
    if (!init || !*init || !strcmp(init, "none")) {
        snprintf(out, RUN_HASH_LEN, "%s", RUN_INIT_RANDOM);
        return 0;
    }
    return hash_if_present(init, out);
}

int run_data_hash(const char *data_dir, char out[RUN_HASH_LEN]) {
    char path[LAYOUT_PATH_MAX];
    return hash_if_present(data_layout_manifest(path, data_dir), out);
}
