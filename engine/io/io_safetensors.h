/* safetensors checkpoints (docs/formats.md, "safetensors"): write and read.
 *
 * File layout: u64 little-endian header length N, N bytes of JSON header
 * ({"__metadata__":{...}, "NAME":{"dtype":..,"shape":[..],"data_offsets":[B,E]}}),
 * then the byte buffer holding every tensor little-endian, row-major.
 * The writer is canonical (byte-identical to the Rust library's `serialize`):
 * tensors ordered by dtype descending then name ascending, compact JSON,
 * header padded with spaces to a multiple of 8. The reader loads the whole
 * file and validates it as strictly as the Rust reader (exact tiling of the
 * buffer, byte sizes, no trailing bytes) and also rejects duplicate keys. */
#ifndef MOIL_SAFETENSORS_H
#define MOIL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

/* In the declared order of the Rust `enum Dtype`; the writer sorts by it. */
typedef enum {
    ST_BOOL,
    ST_F4,
    ST_F6_E2M3,
    ST_F6_E3M2,
    ST_U8,
    ST_I8,
    ST_F8_E5M2,
    ST_F8_E4M3,
    ST_F8_E8M0,
    ST_F8_E4M3FNUZ,
    ST_F8_E5M2FNUZ,
    ST_I16,
    ST_U16,
    ST_F16,
    ST_BF16,
    ST_I32,
    ST_U32,
    ST_F32,
    ST_C64,
    ST_F64,
    ST_I64,
    ST_U64,
    ST_DTYPE_COUNT
} StDtype;

#define ST_MAX_DIMS 8
/* Readers refuse headers longer than this (the Rust MAX_HEADER_SIZE). */
#define ST_MAX_HEADER ((uint64_t)100000000)
/* Readers refuse files larger than this (the whole file is loaded). */
#define ST_MAX_FILE ((size_t)8 << 30)
/* Pass as n_meta to write no __metadata__ block at all. */
#define ST_NO_METADATA (-1)

/* One tensor. For writing, name and data belong to the caller; in an StFile
 * they point into the file's memory (data is not necessarily aligned). */
typedef struct {
    const char *name;
    StDtype dtype;
    int ndim;                     /* 0 for a scalar */
    int64_t shape[ST_MAX_DIMS];   /* [ndim] */
    const void *data;             /* safetensors_nbytes() bytes, little-endian */
} StTensor;

typedef struct {
    const char *key;
    const char *value;
} StMeta;

/* An opened file. tensors are in buffer order (by data offset); every string
 * and pointer lives until safetensors_close. */
typedef struct {
    char *path;
    unsigned char *bytes;   /* the whole file */
    size_t size;            /* bytes in the file */
    struct json_t *header;  /* parsed header; owns the names and metadata strings */
    int n_tensors;
    StTensor *tensors;      /* [n_tensors] */
    int n_meta;
    StMeta *meta;           /* [n_meta], header order */
} StFile;

/* "F32", "BF16", ...; NULL for a value outside the enum. */
const char *safetensors_dtype_name(StDtype dtype);
/* Bits per element (4 for F4, 6 for F6_*, 8..64 otherwise). */
int safetensors_dtype_bits(StDtype dtype);
/* Byte size of the tensor's data: prod(shape) * bits / 8 (shape assumed valid). */
uint64_t safetensors_nbytes(const StTensor *t);

/* Write n tensors to path atomically (temporary file, fsync, rename: a failed
 * or killed write never leaves a partial file at path). __metadata__ holds
 * "format" first ("pt" unless meta gives another value), then the other pairs
 * of meta in the order given; n_meta = ST_NO_METADATA omits __metadata__.
 * Rejects duplicate tensor names or metadata keys, bad shapes, invalid UTF-8. */
int safetensors_write(const char *path, const StTensor *tensors, int n, const StMeta *meta,
                      int n_meta);

/* Load and validate path into *out. On failure nothing needs closing and the
 * message names the file and the problem. */
int safetensors_open(const char *path, StFile *out);
void safetensors_close(StFile *f);

/* The tensor called name, or NULL (err_set "path: no tensor named 'name'"). */
const StTensor *safetensors_find(const StFile *f, const char *name);
/* The metadata value for key, or NULL when absent. */
const char *safetensors_meta(const StFile *f, const char *key);
/* Copy tensor name into out[prod(shape)] as float, converting from F32, BF16
 * or F16. Fails (message shows both shapes) unless the stored shape equals
 * shape[ndim]. */
int safetensors_read_f32(const StFile *f, const char *name, float *out, int ndim,
                         const int64_t *shape);
/* The weights hash of f as 16 hex digits (out[17]): FNV-1a 64 over every
 * tensor in buffer order, each as its name, a NUL byte, its dtype name
 * ("F32"), a NUL, its shape as "[4,3]" ("[]" for a scalar), a NUL, then its
 * data bytes. The metadata is left out, so it names the weights alone: a
 * checkpoint whose metadata changes keeps it, one changed value changes it
 * (`moil backbone hash`; the shipped backbone's check). */
void safetensors_weights_hash(const StFile *f, char out[17]);
/* 1 if s has the form of a weights hash: 16 lowercase hex digits. */
int safetensors_is_weights_hash(const char *s);

#endif
