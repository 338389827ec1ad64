#include "io_image_load.h"

#include "check.h"
#include "io_jpeg_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

int image_decode_jpeg(const uint8_t *buf, size_t len, const char *name, Image *out) {
    struct jpeg_decompress_struct cinfo;
    JpegError err;
    uint8_t *volatile pix = NULL;
    memset(out, 0, sizeof *out);
    cinfo.err = jpeg_error_init(&err);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pix);
        return err_set("%s: corrupt JPEG: %s", name, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return err_set("%s: CMYK JPEG not supported (RGB or grayscale needed): convert it to RGB", name);
    }
    if (cinfo.image_width > IMAGE_MAX_SIDE || cinfo.image_height > IMAGE_MAX_SIDE) {
        jpeg_destroy_decompress(&cinfo);
        return err_set("%s: image of %ux%u pixels is larger than the %dx%d limit", name, cinfo.image_width,
                       cinfo.image_height, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    }
    cinfo.out_color_space = JCS_RGB; /* libjpeg-turbo expands grayscale to RGB */
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    pix = xmalloc((size_t)w * (size_t)h * 3);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pix + (size_t)cinfo.output_scanline * (size_t)w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->h = h;
    out->w = w;
    out->pix = pix;
    return 0;
}

int image_load(const char *path, Image *out) {
    size_t len;
    memset(out, 0, sizeof *out);
    uint8_t *buf = (uint8_t *)file_read_all(path, IMAGE_MAX_FILE_BYTES, &len);
    if (!buf) return -1;
    int rc;
    static const uint8_t png_magic[4] = {0x89, 'P', 'N', 'G'};
    if (len == 0) rc = err_set("%s: empty image file (0 bytes)", path);
    else if (len >= 4 && !memcmp(buf, png_magic, 4)) rc = image_decode_png(buf, len, path, out);
    else if (len < 3 || buf[0] != 0xFF || buf[1] != 0xD8 || buf[2] != 0xFF)
        rc = err_set("%s: neither a JPEG nor a PNG file (bad magic bytes)", path);
    else rc = image_decode_jpeg(buf, len, path, out);
    free(buf);
    return rc;
}

void image_free(Image *im) {
    free(im->pix);
    memset(im, 0, sizeof *im);
}

/* The filter taps of one axis: output i reads inputs start[i] .. start[i] +
 * n_taps - 1 with weights w[i * n_taps ..] (zero weights pad short rows). */
typedef struct {
    int n_taps;
    int *start; /* [n_out] */
    float *w;   /* [n_out][n_taps] */
} ResizeTaps;

static void resize_taps_init(ResizeTaps *t, int n_in, int n_out) {
    double scale = (double)n_in / n_out;
    double width = scale > 1 ? scale : 1; /* triangle half-width in input pixels */
    t->n_taps = 2 * (int)ceil(width) + 1;
    t->start = xmalloc((size_t)n_out * sizeof *t->start);
    t->w = xcalloc((size_t)n_out * (size_t)t->n_taps, sizeof *t->w);
    for (int i = 0; i < n_out; i++) {
        double center = (i + 0.5) * scale;
        int lo = (int)floor(center - width);
        if (lo < 0) lo = 0;
        if (lo > n_in - t->n_taps) lo = n_in - t->n_taps > 0 ? n_in - t->n_taps : 0;
        float *w = t->w + (size_t)i * (size_t)t->n_taps;
        double sum = 0;
        for (int k = 0; k < t->n_taps && lo + k < n_in; k++) {
            double d = fabs((lo + k + 0.5 - center) / width);
            w[k] = d < 1 ? (float)(1 - d) : 0.0f;
            sum += w[k];
        }
        for (int k = 0; k < t->n_taps; k++) w[k] = (float)(w[k] / sum);
        t->start[i] = lo;
    }
}

static void resize_taps_free(ResizeTaps *t) {
    free(t->start);
    free(t->w);
}

static uint8_t clamp_u8(float v) {
    v = roundf(v);
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

void image_resize(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw) {
    /* At the same size every output pixel's taps weigh its own input pixel 1
     * and its neighbours 0, so the filter returns each byte exactly: copied
     * (the generated datasets' images are already at the model's size; the
     * filter was half of NLVR's loading, 20,000 images) */
    if (sh == dh && sw == dw) {
        memcpy(dst, src, (size_t)sh * (size_t)sw * 3);
        return;
    }
    ResizeTaps tx, ty;
    resize_taps_init(&tx, sw, dw);
    resize_taps_init(&ty, sh, dh);
    float *tmp = xcalloc((size_t)sh * (size_t)dw * 3, sizeof *tmp); /* [sh][dw][3] */
    for (int y = 0; y < sh; y++) {
        for (int x = 0; x < dw; x++) {
            const float *w = tx.w + (size_t)x * (size_t)tx.n_taps;
            float *o = tmp + ((size_t)y * dw + x) * 3;
            for (int k = 0; k < tx.n_taps && tx.start[x] + k < sw; k++) {
                const uint8_t *p = src + ((size_t)y * sw + tx.start[x] + k) * 3;
                for (int c = 0; c < 3; c++) o[c] += w[k] * p[c];
            }
        }
    }
    for (int y = 0; y < dh; y++) {
        const float *w = ty.w + (size_t)y * (size_t)ty.n_taps;
        for (int x = 0; x < dw; x++) {
            float acc[3] = {0, 0, 0};
            for (int k = 0; k < ty.n_taps && ty.start[y] + k < sh; k++) {
                const float *p = tmp + ((size_t)(ty.start[y] + k) * dw + x) * 3;
                for (int c = 0; c < 3; c++) acc[c] += w[k] * p[c];
            }
            for (int c = 0; c < 3; c++) dst[((size_t)y * dw + x) * 3 + c] = clamp_u8(acc[c]);
        }
    }
    free(tmp);
    resize_taps_free(&tx);
    resize_taps_free(&ty);
}

int image_load_resized(const char *path, int h, int w, uint8_t *out) {
    Image im;
    if (image_load(path, &im) != 0) return -1;
    image_resize(im.pix, im.h, im.w, out, h, w);
    image_free(&im);
    return 0;
}

void image_to_chw(const uint8_t *hwc, int h, int w, float *chw) {
    size_t plane = (size_t)h * (size_t)w;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) chw[c * plane + i] = (hwc[i * 3 + c] / 255.0f - 0.5f) / 0.5f;
}
