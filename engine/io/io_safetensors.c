#include "io_safetensors.h"

#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "io_safetensors.c stores tensors in host byte order, which must be little-endian"
#endif

static const struct {
    const char *name;
    int bits;
} dtype_info[] = {
    [ST_BOOL] = {"BOOL", 8},
    [ST_F4] = {"F4", 4},
    [ST_F6_E2M3] = {"F6_E2M3", 6},
    [ST_F6_E3M2] = {"F6_E3M2", 6},
    [ST_U8] = {"U8", 8},
    [ST_I8] = {"I8", 8},
    [ST_F8_E5M2] = {"F8_E5M2", 8},
    [ST_F8_E4M3] = {"F8_E4M3", 8},
    [ST_F8_E8M0] = {"F8_E8M0", 8},
    [ST_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [ST_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [ST_I16] = {"I16", 16},
    [ST_U16] = {"U16", 16},
    [ST_F16] = {"F16", 16},
    [ST_BF16] = {"BF16", 16},
    [ST_I32] = {"I32", 32},
    [ST_U32] = {"U32", 32},
    [ST_F32] = {"F32", 32},
    [ST_C64] = {"C64", 64},
    [ST_F64] = {"F64", 64},
    [ST_I64] = {"I64", 64},
    [ST_U64] = {"U64", 64},
};
_Static_assert(sizeof dtype_info / sizeof dtype_info[0] == ST_DTYPE_COUNT,
               "dtype_info needs one entry per StDtype");

const char *safetensors_dtype_name(StDtype dtype) {
    return (unsigned)dtype < ST_DTYPE_COUNT ? dtype_info[dtype].name : NULL;
}

int safetensors_dtype_bits(StDtype dtype) {
    return (unsigned)dtype < ST_DTYPE_COUNT ? dtype_info[dtype].bits : 0;
}

static uint64_t shape_numel(int ndim, const int64_t *shape) {
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (uint64_t)shape[d];
    return n;
}

uint64_t safetensors_nbytes(const StTensor *t) {
    return shape_numel(t->ndim, t->shape) * (uint64_t)dtype_info[t->dtype].bits / 8;
}

/* "[4,3]" into buf. */
static void shape_format(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, d ? "," : "", shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Byte size of a dtype x shape, refusing sizes that overflow 2^63 or do not
 * fill whole bytes (sub-byte dtypes). -1 with err_set (no path) on failure. */
static int shape_nbytes(StDtype dtype, int ndim, const int64_t *shape, uint64_t *nbytes) {
    const uint64_t limit = (uint64_t)INT64_MAX;
    uint64_t bits = (uint64_t)dtype_info[dtype].bits;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        uint64_t dim = (uint64_t)shape[d];
        if (dim != 0 && n > limit / dim) n = limit + 1;
        else n *= dim;
    }
    if (n <= limit / bits && n * bits % 8 == 0) {
        *nbytes = n * bits / 8;
        return 0;
    }
    char buf[256];
    shape_format(buf, sizeof buf, ndim, shape);
    return err_set("%s %s %s", dtype_info[dtype].name, buf,
                   n > limit / bits ? "is too large" : "does not fill a whole number of bytes");
}

/* ---- writer ---- */

static int tensor_check(const StTensor *t, uint64_t *nbytes) {
    if (!t->name) return err_set("a tensor has no name");
    if (strcmp(t->name, "__metadata__") == 0)
        return err_set("'__metadata__' is reserved and cannot name a tensor");
    if ((unsigned)t->dtype >= ST_DTYPE_COUNT)
        return err_set("tensor '%s': dtype %d is not a safetensors dtype", t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return err_set("tensor '%s': %d dimensions, expected 0..%d", t->name, t->ndim, ST_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0)
            return err_set("tensor '%s': negative size %" PRId64 " in dimension %d", t->name,
                           t->shape[d], d);
    if (shape_nbytes(t->dtype, t->ndim, t->shape, nbytes) != 0)
        return err_prefix("tensor '%s'", t->name);
    if (*nbytes && !t->data) return err_set("tensor '%s': no data", t->name);
    return 0;
}

/* A tensor to write and its byte size. */
typedef struct {
    const StTensor *t;
    uint64_t nbytes;
} Item;

/* Canonical order: dtype descending, then name ascending (bytewise). */
static int item_cmp_canonical(const void *a, const void *b) {
    const StTensor *x = ((const Item *)a)->t, *y = ((const Item *)b)->t;
    if (x->dtype != y->dtype) return x->dtype > y->dtype ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The __metadata__ object: "format" first ("pt" unless given), then the
 * other pairs in order. NULL with err_set (no path) on failure. */
static json_t *meta_build(const StMeta *meta, int n_meta) {
    json_t *m = json_object();
    json_object_set_new(m, "format", json_string("pt"));
    int seen_format = 0;
    for (int i = 0; i < n_meta; i++) {
        const char *key = meta[i].key, *value = meta[i].value;
        if (!key || !value) {
            err_set("metadata pair %d has no key or no value", i);
            goto fail;
        }
        int is_format = strcmp(key, "format") == 0;
        if (is_format ? seen_format : json_object_get(m, key) != NULL) {
            err_set("metadata key '%s' given twice", key);
            goto fail;
        }
        seen_format |= is_format;
        json_t *v = json_string(value);
        if (!v) {
            err_set("metadata value for '%s' is not valid UTF-8", key);
            goto fail;
        }
        if (json_object_set_new(m, key, v) != 0) {
            err_set("metadata key %d is not valid UTF-8", i);
            goto fail;
        }
    }
    return m;
fail:
    json_decref(m);
    return NULL;
}

/* The header JSON for items in order, offsets assigned from 0. NULL with
 * err_set (no path) on failure. */
static char *header_build(const Item *items, int n, const StMeta *meta, int n_meta) {
    json_t *root = json_object();
    if (n_meta != ST_NO_METADATA) {
        json_t *m = meta_build(meta, n_meta);
        if (!m) goto fail;
        json_object_set_new(root, "__metadata__", m);
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        const StTensor *t = items[i].t;
        if (json_object_get(root, t->name)) {
            err_set("two tensors are named '%s'", t->name);
            goto fail;
        }
        if (items[i].nbytes > (uint64_t)INT64_MAX - offset) {
            err_set("the tensors add up to more than 2^63 bytes");
            goto fail;
        }
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_t *entry = json_pack("{s:s,s:o,s:[I,I]}", "dtype", dtype_info[t->dtype].name, "shape",
                                  shape, "data_offsets", (json_int_t)offset,
                                  (json_int_t)(offset + items[i].nbytes));
        offset += items[i].nbytes;
        if (json_object_set_new(root, t->name, entry) != 0) {
            err_set("tensor name %d is not valid UTF-8", i);
            goto fail;
        }
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) err_set("cannot encode the header as JSON");
    return text;
fail:
    json_decref(root);
    return NULL;
}

/* The file as parts: 8-byte length, space-padded header, tensor data;
 * written atomically (temporary file, fsync, rename). */
static int file_write_tensors(const char *path, const char *header, const Item *items, int n) {
    size_t len = strlen(header), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    FilePart *parts = xcalloc((size_t)n + 3, sizeof *parts);
    parts[0] = (FilePart){prefix, 8};
    parts[1] = (FilePart){header, len};
    parts[2] = (FilePart){"       ", padded - len};
    for (int i = 0; i < n; i++) parts[3 + i] = (FilePart){items[i].t->data, (size_t)items[i].nbytes};
    int rc = file_write_atomic_parts(path, parts, n + 3);
    free(parts);
    return rc;
}

int safetensors_write(const char *path, const StTensor *tensors, int n, const StMeta *meta,
                      int n_meta) {
    if (n < 0 || n_meta < ST_NO_METADATA)
        return err_set("%s: bad tensor count %d or metadata count %d", path, n, n_meta);
    Item *items = xcalloc((size_t)n, sizeof *items);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        items[i].t = &tensors[i];
        if (tensor_check(&tensors[i], &items[i].nbytes) != 0) rc = err_prefix("%s", path);
    }
    char *header = NULL;
    if (rc == 0) {
        qsort(items, (size_t)n, sizeof *items, item_cmp_canonical);
        header = header_build(items, n, meta, n_meta);
        if (!header) rc = err_prefix("%s", path);
    }
    if (rc == 0) rc = file_write_tensors(path, header, items, n);
    free(header);
    free(items);
    return rc;
}

/* ---- reader ---- */

/* Where one tensor's bytes lie in the data buffer. */
typedef struct {
    uint64_t begin, end;
    int index; /* into the header's tensor list */
} Span;

static int span_cmp(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int dtype_parse(const char *name, StDtype *out) {
    for (int d = 0; d < ST_DTYPE_COUNT; d++)
        if (strcmp(name, dtype_info[d].name) == 0) {
            *out = (StDtype)d;
            return 0;
        }
    return -1;
}

/* One header entry into t (name not set) and span. -1 with err_set (no path). */
static int entry_parse(const char *name, json_t *entry, StTensor *t, Span *span) {
    if (!json_is_object(entry)) return err_set("tensor '%s': entry is not a JSON object", name);
    json_t *dtype = json_object_get(entry, "dtype");
    json_t *shape = json_object_get(entry, "shape");
    json_t *offsets = json_object_get(entry, "data_offsets");
    if (!json_is_string(dtype)) return err_set("tensor '%s': no \"dtype\" string", name);
    if (dtype_parse(json_string_value(dtype), &t->dtype) != 0)
        return err_set("tensor '%s': unknown dtype '%s'", name, json_string_value(dtype));
    if (!json_is_array(shape)) return err_set("tensor '%s': no \"shape\" array", name);
    if (json_array_size(shape) > ST_MAX_DIMS)
        return err_set("tensor '%s': %zu dimensions, more than the %d supported", name,
                       json_array_size(shape), ST_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    for (int d = 0; d < t->ndim; d++) {
        json_t *dim = json_array_get(shape, (size_t)d);
        if (!json_is_integer(dim) || json_integer_value(dim) < 0)
            return err_set("tensor '%s': shape entry %d is not a non-negative integer", name, d);
        t->shape[d] = json_integer_value(dim);
    }
    if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
        !json_is_integer(json_array_get(offsets, 0)) ||
        !json_is_integer(json_array_get(offsets, 1)) ||
        json_integer_value(json_array_get(offsets, 0)) < 0 ||
        json_integer_value(json_array_get(offsets, 1)) <
            json_integer_value(json_array_get(offsets, 0)))
        return err_set("tensor '%s': \"data_offsets\" is not [begin, end] with 0 <= begin <= end",
                       name);
    span->begin = (uint64_t)json_integer_value(json_array_get(offsets, 0));
    span->end = (uint64_t)json_integer_value(json_array_get(offsets, 1));
    uint64_t nbytes;
    if (shape_nbytes(t->dtype, t->ndim, t->shape, &nbytes) != 0)
        return err_prefix("tensor '%s'", name);
    if (span->end - span->begin != nbytes) {
        char buf[256];
        shape_format(buf, sizeof buf, t->ndim, t->shape);
        return err_set("tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] hold %" PRIu64
                       " bytes but %s %s needs %" PRIu64,
                       name, span->begin, span->end, span->end - span->begin,
                       dtype_info[t->dtype].name, buf, nbytes);
    }
    return 0;
}

static int meta_parse(json_t *m, StFile *f) {
    if (!json_is_object(m)) return err_set("__metadata__ is not a JSON object");
    f->meta = xcalloc(json_object_size(m), sizeof *f->meta);
    const char *key;
    json_t *value;
    json_object_foreach(m, key, value) {
        if (!json_is_string(value))
            return err_set("__metadata__ value for '%s' is not a string", key);
        f->meta[f->n_meta].key = key;
        f->meta[f->n_meta].value = json_string_value(value);
        f->n_meta++;
    }
    return 0;
}

/* Sorted spans must tile [0, data_len) exactly. */
static int spans_check(const Span *spans, int n, const StTensor *tensors, uint64_t data_len) {
    uint64_t end = 0;
    const char *prev = NULL;
    for (int i = 0; i < n; i++) {
        const char *name = tensors[spans[i].index].name;
        if (spans[i].begin > end)
            return err_set("hole in the data: tensor '%s' starts at byte %" PRIu64
                           " but the tensors before it end at byte %" PRIu64,
                           name, spans[i].begin, end);
        if (spans[i].begin < end)
            return err_set("overlapping tensors: '%s' starts at byte %" PRIu64
                           ", inside '%s' which ends at byte %" PRIu64,
                           name, spans[i].begin, prev, end);
        end = spans[i].end;
        prev = name;
    }
    if (end > data_len)
        return err_set("truncated: header says %" PRIu64 " bytes of data but file has %" PRIu64,
                       end, data_len);
    if (end < data_len)
        return err_set("%" PRIu64 " trailing bytes after the %" PRIu64 " bytes of tensor data",
                       data_len - end, end);
    return 0;
}

/* Tensors and metadata of the parsed header into f, in buffer order. */
static int header_parse(json_t *h, const unsigned char *data, uint64_t data_len, StFile *f) {
    size_t cap = json_object_size(h);
    StTensor *listed = xcalloc(cap, sizeof *listed);
    Span *spans = xcalloc(cap, sizeof *spans);
    int n = 0, rc = 0;
    const char *key;
    json_t *value;
    json_object_foreach(h, key, value) {
        if (strcmp(key, "__metadata__") == 0) rc = meta_parse(value, f);
        else {
            listed[n].name = key;
            spans[n].index = n;
            rc = entry_parse(key, value, &listed[n], &spans[n]);
            n++;
        }
        if (rc != 0) break;
    }
    if (rc == 0) {
        qsort(spans, (size_t)n, sizeof *spans, span_cmp);
        rc = spans_check(spans, n, listed, data_len);
    }
    if (rc == 0) {
        f->tensors = xcalloc((size_t)n, sizeof *f->tensors);
        for (int i = 0; i < n; i++) {
            f->tensors[i] = listed[spans[i].index];
            f->tensors[i].data = data + spans[i].begin;
        }
        f->n_tensors = n;
    }
    free(spans);
    free(listed);
    return rc;
}

int safetensors_open(const char *path, StFile *out) {
    memset(out, 0, sizeof *out);
    size_t size;
    unsigned char *bytes = (unsigned char *)file_read_all(path, ST_MAX_FILE, &size);
    if (!bytes) return -1;
    out->path = xstrdup(path);
    out->bytes = bytes;
    out->size = size;
    if (size < 8) {
        err_set("%s: truncated: %zu bytes, shorter than the 8-byte header length", path, size);
        safetensors_close(out);
        return -1;
    }
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)bytes[i] << (8 * i);
    if (n > ST_MAX_HEADER || n > size - 8) {
        if (n > ST_MAX_HEADER)
            err_set("%s: header length %" PRIu64 " exceeds the %" PRIu64 "-byte limit", path, n,
                    ST_MAX_HEADER);
        else
            err_set("%s: truncated: header length is %" PRIu64 " but only %zu bytes follow it",
                    path, n, size - 8);
        safetensors_close(out);
        return -1;
    }
    json_error_t jerr;
    out->header = json_loadb((const char *)bytes + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;
    if (!out->header)
        rc = err_set("%s: header is not valid JSON: %s (at byte %d of the header)", path, jerr.text,
                     jerr.position);
    else if (!json_is_object(out->header))
        rc = err_set("%s: header is not a JSON object", path);
    else if (header_parse(out->header, bytes + 8 + n, size - 8 - n, out) != 0)
        rc = err_prefix("%s", path);
    if (rc != 0) safetensors_close(out);
    return rc;
}

void safetensors_close(StFile *f) {
    json_decref(f->header);
    free(f->tensors);
    free(f->meta);
    free(f->bytes);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *safetensors_find(const StFile *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    err_set("%s: no tensor named '%s'", f->path, name);
    return NULL;
}

const char *safetensors_meta(const StFile *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

static float f16_to_f32(uint16_t h) {
    int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0x1f) v = man ? NAN : INFINITY;
    else if (exp == 0) v = ldexpf((float)man, -24);
    else v = ldexpf((float)(man | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

int safetensors_read_f32(const StFile *f, const char *name, float *out, int ndim,
                         const int64_t *shape) {
    const StTensor *t = safetensors_find(f, name);
    if (!t) return -1;
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char want[256], got[256];
        shape_format(want, sizeof want, ndim, shape);
        shape_format(got, sizeof got, t->ndim, t->shape);
        return err_set("%s: tensor '%s' has shape %s, expected %s", f->path, name, got, want);
    }
    size_t n = (size_t)shape_numel(t->ndim, t->shape);
    const unsigned char *src = t->data;
    if (t->dtype == ST_F32) {
        memcpy(out, src, n * sizeof(float));
        return 0;
    }
    if (t->dtype != ST_BF16 && t->dtype != ST_F16)
        return err_set("%s: tensor '%s' is %s, expected F32, BF16 or F16", f->path, name,
                       dtype_info[t->dtype].name);
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
        if (t->dtype == ST_F16) out[i] = f16_to_f32(h);
        else {
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, sizeof bits);
        }
    }
    return 0;
}

int safetensors_is_weights_hash(const char *s) {
    size_t hex = strspn(s, "0123456789abcdef");
    return hex == 16 && s[hex] == 0;
}

void safetensors_weights_hash(const StFile *f, char out[17]) {
    uint64_t h = FNV1A_INIT;
    for (int i = 0; i < f->n_tensors; i++) {
        const StTensor *t = &f->tensors[i];
        char shape[ST_MAX_DIMS * 24 + 8];
        shape_format(shape, sizeof shape, t->ndim, t->shape);
        const char *dtype = safetensors_dtype_name(t->dtype);
        h = fnv1a_update(h, t->name, strlen(t->name) + 1);
        h = fnv1a_update(h, dtype, strlen(dtype) + 1);
        h = fnv1a_update(h, shape, strlen(shape) + 1);
        h = fnv1a_update(h, t->data, (size_t)safetensors_nbytes(t));
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
