/* Paths inside a test binary's scratch folder, shared by the tests that work
 * in files of a mkdtemp folder. Header-only (each test binary is one
 * translation unit). Before including, define tmp_dir: the folder's name, a
 * char array that main fills with mkdtemp. */
#ifndef MOIL_TEST_TMP_PATH_H
#define MOIL_TEST_TMP_PATH_H

#include <stdio.h>

/* tmp_dir/name, in the next of four static buffers: up to four paths can be
 * in use at once (as arguments of one call). */
static const char *tmp_path(const char *name) {
    static char path[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "%s/%s", tmp_dir, name);
    return path[slot];
}

#endif
