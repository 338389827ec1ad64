/* Writing the files of a generated dataset: JPEG images through
 * libjpeg-turbo and JSON through jansson, with sizes and CRC-32s kept for
 * the manifest. */
#ifndef MOIL_GEN_WRITE_H
#define MOIL_GEN_WRITE_H

#include <jansson.h>
#include <stdint.h>

typedef struct {
    const char *root;     /* dataset folder; file paths are relative to it */
    json_t *files;        /* relative path -> {"bytes": n, "crc32": "%08x"}, JSON files */
    long images;          /* JPEG files written */
    uint64_t image_bytes; /* their total size */
    uint32_t image_crc;   /* CRC-32 over every image's path and bytes, in writing order */
    uint64_t bytes;       /* every file written */
} GenWriter;

void gen_writer_init(GenWriter *w, const char *root);
void gen_writer_free(GenWriter *w);
/* Encode rgb[size][size][3] as a baseline JPEG of the given quality (1..100)
 * and write it to root/relpath (no fsync: images are many and replaceable). */
int gen_write_jpeg(GenWriter *w, const char *relpath, const unsigned char *rgb, int size, int quality);
/* Write root (consumed) to root/relpath atomically; with json_lines, root is
 * an array written one compact object per line. */
int gen_write_json(GenWriter *w, const char *relpath, json_t *root, int json_lines);

#endif
