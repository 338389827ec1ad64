/* Image files -> RGB pixels at the model's input size.
 *
 * Decoding goes through libjpeg-turbo with the error manager of
 * io_jpeg_error.h, so every libjpeg error AND warning (a truncated file,
 * "Corrupt JPEG data") becomes a returned -1 naming the file, instead of
 * exit() or a grey-filled image.
 * Grayscale JPEGs are converted to RGB (the grey value in all three
 * channels); CMYK/YCCK JPEGs are rejected. PNG (NLVR2's images) goes
 * through libpng (io_image_png.c) as PIL's convert("RGB") reads it: palette
 * and grey expanded to RGB, 16-bit samples cut to their high byte, alpha
 * dropped, gamma ignored; libpng's errors (a bad CRC in a critical chunk,
 * truncated data) name the file, its warnings (ancillary chunks) are
 * ignored. A file is decoded by what its first bytes say, whatever its
 * extension (real NLVR2 ".png" files that hold JPEG data are decoded as
 * JPEG). Zero-byte files are rejected, and so is a header wider or taller
 * than IMAGE_MAX_SIDE pixels (before any pixel memory is allocated):
 * dataset images are far smaller (COCO's are at most 640 a side), so a
 * larger header is a damaged or hostile file.
 *
 * Resizing policy (recorded in each run's config as IMAGE_RESIZE_POLICY): the
 * image is stretched to exactly H x W, aspect ratio not kept, with a
 * separable triangle filter whose support widens with the scale factor
 * (bilinear when enlarging, area-like averaging when shrinking; PIL's
 * BILINEAR resize, which ViLT's transform uses). At the same size the filter
 * is the identity, so the pixels are copied. */
#ifndef MOIL_IMAGE_LOAD_H
#define MOIL_IMAGE_LOAD_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_RESIZE_POLICY "stretch to HxW, antialiased bilinear (PIL BILINEAR)"
#define IMAGE_NORMALIZE_POLICY "x/255, mean 0.5, std 0.5 -> [-1,1]"
#define IMAGE_MAX_SIDE 8192 /* pixels: the largest width or height decoded */

typedef struct {
    int h, w;
    uint8_t *pix; /* [h][w][3] RGB */
} Image;

/* Decode JPEG bytes; name is used in error messages. */
int image_decode_jpeg(const uint8_t *buf, size_t len, const char *name, Image *out);
/* Decode PNG bytes; name is used in error messages. */
int image_decode_png(const uint8_t *buf, size_t len, const char *name, Image *out);
/* Read and decode a file (JPEG or PNG data, whatever its extension). */
int image_load(const char *path, Image *out);
void image_free(Image *im);
/* Stretch src [sh][sw][3] to dst [dh][dw][3] (policy above). */
void image_resize(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw);
/* image_load + image_resize into out [h][w][3]. */
int image_load_resized(const char *path, int h, int w, uint8_t *out);
/* hwc [h][w][3] uint8 -> chw [3][h][w] float, (x/255 - 0.5) / 0.5. */
void image_to_chw(const uint8_t *hwc, int h, int w, float *chw);

#endif
