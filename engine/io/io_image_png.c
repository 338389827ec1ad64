/* PNG decoding through libpng (image_decode_png, io_image_load.h), read as
 * PIL's Image.open(...).convert("RGB") reads it, which is what ViLT does:
 * palette and low-bit grey expanded, grey replicated to RGB, 16-bit
 * samples cut to their high byte, alpha dropped (not composited), no
 * gamma correction. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_image_load.h"

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    char message[256]; /* libpng's error message */
    char warning[256]; /* its first warning, which may say why the error came */
} PngSource;

static void png_read_mem(png_structp png, png_bytep out, size_t n) {
    PngSource *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "file truncated");
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
}

static void png_fail(png_structp png, png_const_charp msg) {
    PngSource *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings are about ancillary chunks (a bad CRC, an odd colour profile),
 * which the pixels do not depend on: PIL reads past them too. The first is
 * kept for the message of an error that follows it (a header over the size
 * limit warns first, then fails). */
static void png_warn(png_structp png, png_const_charp msg) {
    PngSource *s = png_get_error_ptr(png);
    if (!s->warning[0]) snprintf(s->warning, sizeof s->warning, "%s", msg);
}

int image_decode_png(const uint8_t *buf, size_t len, const char *name, Image *out) {
    memset(out, 0, sizeof *out);
    if (len < 8 || png_sig_cmp(buf, 0, 8)) return err_set("%s: not a PNG file (bad signature)", name);
    PngSource src = {.buf = buf, .len = len, .pos = 8};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return err_set("%s: cannot set up the PNG decoder (out of memory)", name);
    }
    uint8_t *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pix);
        free(rows);
        return err_set("%s: corrupt PNG: %s%s%s%s", name, src.message, src.warning[0] ? " (" : "", src.warning,
                       src.warning[0] ? ")" : "");
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE); /* larger headers are a libpng error */
    png_read_info(png, info);
    int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    png_set_expand(png);      /* palette -> RGB, grey < 8 bits -> 8, tRNS -> alpha */
    png_set_strip_16(png);    /* 16-bit samples: the high byte */
    png_set_strip_alpha(png); /* alpha dropped */
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row size after conversion to RGB");
    pix = xmalloc((size_t)w * (size_t)h * 3);
    rows = xmalloc((size_t)h * sizeof *rows);
    for (int y = 0; y < h; y++) rows[y] = pix + (size_t)y * (size_t)w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->h = h;
    out->w = w;
    out->pix = pix;
    return 0;
}
