/* PNG decoding (engine/io/io_image_png.c): files written here with
 * libpng's own writer in the forms PNG takes (RGB, grey, RGB with alpha,
 * 16-bit, palette) decode to the pixels PIL's convert("RGB") gives; broken
 * files (truncated, a bad CRC, a header over the size limit) are errors
 * naming the file. */
#include "check.h"
#include "io_image_load.h"
#include "proc.h"
#include "test.h"

#include <png.h>
#include <zlib.h>

static char tmp_dir[] = "/tmp/moil_png_XXXXXX";
#include "tmp_path.h"

#define W 5
#define H 3

/* Write a W x H PNG of the given libpng format from pixels (colormap for
 * the palette formats); 16-bit formats take uint16 samples. */
static void write_png(const char *path, png_uint_32 format, const void *pixels, const void *colormap, int entries) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = W, im.height = H, im.format = format, im.colormap_entries = (png_uint_32)entries;
    if (!png_image_write_to_file(&im, path, 0, pixels, 0, colormap)) die("writing %s: %s", path, im.message);
}

/* Decode path and compare with want [H][W][3]. */
static void check_pixels(const char *path, const uint8_t *want, const char *what) {
    Image im;
    CHECK(image_load(path, &im) == 0, "%s: %s", what, err_msg());
    if (!im.pix) return;
    CHECK(im.w == W && im.h == H, "%s: %dx%d", what, im.w, im.h);
    int diff = 0;
    for (int i = 0; i < W * H * 3; i++) diff += im.pix[i] != want[i];
    CHECK(diff == 0, "%s: %d samples differ (first pixel %d %d %d, want %d %d %d)", what, diff, im.pix[0], im.pix[1],
          im.pix[2], want[0], want[1], want[2]);
    image_free(&im);
}

static void test_forms(void) {
    uint8_t rgb[H * W * 3], grey[H * W], rgba[H * W * 4], want[H * W * 3], index[H * W], map[4 * 3];
    uint16_t rgb16[H * W * 3];
    for (int i = 0; i < H * W; i++) {
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = (uint8_t)(17 * i + 60 * c + 3);
        grey[i] = (uint8_t)(16 * i + 5);
        for (int c = 0; c < 3; c++) rgba[4 * i + c] = rgb[3 * i + c];
        rgba[4 * i + 3] = (uint8_t)(i * 18); /* from transparent to nearly opaque: dropped, not composited */
        for (int c = 0; c < 3; c++) rgb16[3 * i + c] = (uint16_t)(rgb[3 * i + c] << 8 | (255 - rgb[3 * i + c]));
        index[i] = (uint8_t)(i % 4);
    }
    for (int k = 0; k < 12; k++) map[k] = (uint8_t)(20 * k + 7);
    write_png(tmp_path("rgb.png"), PNG_FORMAT_RGB, rgb, NULL, 0);
    check_pixels(tmp_path("rgb.png"), rgb, "8-bit RGB");
    write_png(tmp_path("rgba.png"), PNG_FORMAT_RGBA, rgba, NULL, 0);
    check_pixels(tmp_path("rgba.png"), rgb, "RGB with alpha");
    write_png(tmp_path("grey.png"), PNG_FORMAT_GRAY, grey, NULL, 0);
    for (int i = 0; i < H * W * 3; i++) want[i] = grey[i / 3];
    check_pixels(tmp_path("grey.png"), want, "grey");
    /* 16-bit: the high byte of each sample, as PIL reads it (no gamma) */
    write_png(tmp_path("rgb16.png"), PNG_FORMAT_LINEAR_RGB, rgb16, NULL, 0);
    check_pixels(tmp_path("rgb16.png"), rgb, "16-bit RGB");
    write_png(tmp_path("palette.png"), PNG_FORMAT_RGB_COLORMAP, index, map, 4);
    for (int i = 0; i < H * W * 3; i++) want[i] = map[3 * index[i / 3] + i % 3];
    check_pixels(tmp_path("palette.png"), want, "palette");
}

/* The bytes of path, and path rewritten with n of them (a new length). */
static uint8_t *read_bytes(const char *path, size_t *len) {
    uint8_t *b = (uint8_t *)file_read_all(path, 1 << 20, len);
    if (!b) die("%s", err_msg());
    return b;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n) {
    if (file_write_atomic(path, (const char *)b, n) != 0) die("%s", err_msg());
}

static void test_broken(void) {
    uint8_t rgb[H * W * 3] = {0};
    write_png(tmp_path("ok.png"), PNG_FORMAT_RGB, rgb, NULL, 0);
    size_t len;
    uint8_t *b = read_bytes(tmp_path("ok.png"), &len);
    Image im;
    write_bytes(tmp_path("cut.png"), b, len - 20); /* into the image data */
    CHECK(image_load(tmp_path("cut.png"), &im) != 0 && strstr(err_msg(), "cut.png: corrupt PNG: "), "%s", err_msg());
    /* IHDR is bytes 8..32: length, "IHDR", width, height, 5 bytes, CRC */
    b[20] ^= 1; /* height: the CRC no longer matches */
    write_bytes(tmp_path("crc.png"), b, len);
    CHECK(image_load(tmp_path("crc.png"), &im) != 0 && strstr(err_msg(), "crc.png: corrupt PNG: ") &&
              strstr(err_msg(), "CRC"),
          "%s", err_msg());
    b[20] ^= 1;
    b[16] = 0, b[17] = 0, b[18] = 0x23, b[19] = 0x29; /* width 9001, CRC made right again */
    uint32_t crc = (uint32_t)crc32(0, b + 12, 17);
    b[29] = (uint8_t)(crc >> 24), b[30] = (uint8_t)(crc >> 16), b[31] = (uint8_t)(crc >> 8), b[32] = (uint8_t)crc;
    write_bytes(tmp_path("wide.png"), b, len);
    CHECK(image_load(tmp_path("wide.png"), &im) != 0 && strstr(err_msg(), "wide.png: corrupt PNG: ") &&
              strstr(err_msg(), "limit"),
          "%s", err_msg());
    free(b);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) die("mkdtemp %s failed", tmp_dir);
    RUN(test_forms);
    RUN(test_broken);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
