#include "gen_write.h"

#include "check.h"
#include "io_jpeg_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void gen_writer_init(GenWriter *w, const char *root) {
    memset(w, 0, sizeof *w);
    w->root = root;
    w->files = json_object();
    w->image_crc = (uint32_t)crc32(0L, Z_NULL, 0);
}

void gen_writer_free(GenWriter *w) {
    json_decref(w->files);
    w->files = NULL;
}

/* Encode into a malloc'd buffer (*out, *len). */
static int gen_jpeg_encode(const char *path, const unsigned char *rgb, int size, int quality,
                           unsigned char **out, unsigned long *len) {
    struct jpeg_compress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_error_init(&err);
    *out = NULL;
    *len = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(*out);
        *out = NULL;
        return err_set("%s: libjpeg cannot encode the image: %s", path, err.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, out, len);
    cinfo.image_width = (JDIMENSION)size;
    cinfo.image_height = (JDIMENSION)size;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)size * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

static int gen_write_file(const char *path, const void *buf, size_t len) {
    FILE *f = fopen_check(path, "wb");
    if (!f) return -1;
    int rc = 0;
    if (fwrite(buf, 1, len, f) != len) rc = err_set("%s: write failed: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == 0) rc = err_set("%s: close failed: %s", path, strerror(errno));
    return rc;
}

int gen_write_jpeg(GenWriter *w, const char *relpath, const unsigned char *rgb, int size, int quality) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->root, relpath);
    unsigned char *buf;
    unsigned long len;
    if (gen_jpeg_encode(path, rgb, size, quality, &buf, &len)) return -1;
    int rc = gen_write_file(path, buf, len);
    if (rc == 0) {
        w->image_crc = (uint32_t)crc32(w->image_crc, (const Bytef *)relpath, (uInt)strlen(relpath));
        w->image_crc = (uint32_t)crc32(w->image_crc, buf, (uInt)len);
        w->images++;
        w->image_bytes += len;
        w->bytes += len;
    }
    free(buf);
    return rc;
}

int gen_write_json(GenWriter *w, const char *relpath, json_t *root, int json_lines) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->root, relpath);
    char *text = NULL;
    size_t len = 0;
    if (json_lines) {
        size_t cap = 1 << 16, i;
        json_t *line;
        text = xmalloc(cap);
        json_array_foreach(root, i, line) {
            char *s = json_dumps(line, JSON_COMPACT);
            if (!s) die("%s: cannot serialise line %zu", path, i + 1);
            size_t n = strlen(s);
            while (len + n + 2 > cap) text = xrealloc(text, cap *= 2);
            memcpy(text + len, s, n);
            len += n;
            text[len++] = '\n';
            free(s);
        }
    } else {
        text = json_dumps(root, JSON_COMPACT);
        if (!text) die("%s: cannot serialise JSON", path);
        len = strlen(text);
    }
    json_decref(root);
    int rc = file_write_atomic(path, text, len);
    if (rc == 0) {
        char crc[16];
        snprintf(crc, sizeof crc, "%08x", (unsigned)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)len));
        json_object_set_new(w->files, relpath, json_pack("{s:I,s:s}", "bytes", (json_int_t)len, "crc32", crc));
        w->bytes += len;
    }
    free(text);
    return rc;
}
