#include "run_inputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data_layout.h"
#include "io_safetensors.h"

/* 1 when path exists, 0 when it does not, -1 (err_set) when it cannot be
 * told. */
static int present(const char *path) {
    if (access(path, F_OK) == 0) return 1;
    return errno == ENOENT ? 0 : err_set("%s: %s", path, strerror(errno));
}

int run_init_hash(const char *init, char out[RUN_HASH_LEN]) {
    out[0] = 0;
    if (!init || !*init || !strcmp(init, "none")) {
        snprintf(out, RUN_HASH_LEN, "%s", RUN_INIT_RANDOM);
        return 0;
    }
    int have = present(init);
    StFile f;
    if (have <= 0) return have;
    if (safetensors_open(init, &f) != 0) return -1;
    safetensors_weights_hash(&f, out);
    safetensors_close(&f);
    return 0;
}

int run_data_hash(const char *data_dir, char out[RUN_HASH_LEN]) {
    char path[LAYOUT_PATH_MAX];
    data_layout_manifest(path, data_dir);
    out[0] = 0;
    int have = present(path);
    return have <= 0 ? have : file_hash_fnv1a(path, out);
}
