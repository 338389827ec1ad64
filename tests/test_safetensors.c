/* safetensors writer and reader: the example file of docs/formats.md
 * ("safetensors"), the Rust crate's serialization vector, canonical
 * rewrites, round trips, corrupt files, and (when python3 with numpy is
 * present) a pure-python reader. */
#include "check.h"
#include "io_safetensors.h"
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <unistd.h>

#define EXAMPLE "tests/vectors/safetensors/example.safetensors"

static char tmp_dir[] = "/tmp/test_safetensors.XXXXXX";
#include "tmp_path.h"

static void bytes_save(const char *path, const void *p, size_t n) {
    if (file_write_atomic(path, p, n) != 0) die("%s", err_msg());
}

/* A file made of a header (padded to 8 with spaces) and data_len bytes of 0x11. */
static void file_make(const char *path, const char *header, size_t data_len) {
    size_t len = strlen(header), padded = (len + 7) / 8 * 8;
    unsigned char *buf = xcalloc(8 + padded + data_len, 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, header, len);
    memset(buf + 8 + len, ' ', padded - len);
    memset(buf + 8 + padded, 0x11, data_len);
    bytes_save(path, buf, 8 + padded + data_len);
    free(buf);
}

/* Opening path must fail with a message holding both the path and want. */
static void check_rejected(const char *path, const char *want) {
    StFile f;
    int rc = safetensors_open(path, &f);
    CHECK(rc == -1, "%s was accepted, expected an error with '%s'", path, want);
    if (rc == 0) {
        safetensors_close(&f);
        return;
    }
    CHECK(strstr(err_msg(), want) != NULL, "message '%s' lacks '%s'", err_msg(), want);
    CHECK(strstr(err_msg(), path) != NULL, "message '%s' lacks the path", err_msg());
    CHECK(f.bytes == NULL && f.header == NULL, "failed open left memory in the StFile");
}

static void check_shape(const StTensor *t, int ndim, int64_t d0, int64_t d1) {
    CHECK(t->ndim == ndim, "%s: ndim %d, expected %d", t->name, t->ndim, ndim);
    if (ndim > 0) CHECK(t->shape[0] == d0, "%s: shape[0] %lld", t->name, (long long)t->shape[0]);
    if (ndim > 1) CHECK(t->shape[1] == d1, "%s: shape[1] %lld", t->name, (long long)t->shape[1]);
}

static void test_example_loads(void) {
    StFile f;
    CHECK(safetensors_open(EXAMPLE, &f) == 0, "%s", err_msg());
    if (!f.bytes) return;
    CHECK(f.size == 580, "size %zu", f.size);
    CHECK(f.n_meta == 1, "n_meta %d", f.n_meta);
    const char *fmt = safetensors_meta(&f, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "format %s", fmt ? fmt : "(absent)");
    CHECK(safetensors_meta(&f, "missing") == NULL, "absent key found");
    /* In buffer order, with the offsets docs/formats.md lists. */
    static const struct {
        const char *name;
        StDtype dtype;
        long begin, end;
    } want[] = {
        {"step", ST_I64, 0, 8},
        {"empty", ST_F32, 8, 8},
        {"encoder.layer0.lora_A", ST_F32, 8, 56},
        {"encoder.layer0.lora_B", ST_F32, 56, 104},
        {"head.bias", ST_F32, 104, 124},
        {"head.weight_bf16", ST_BF16, 124, 132},
    };
    CHECK(f.n_tensors == 6, "n_tensors %d", f.n_tensors);
    const unsigned char *buffer = f.bytes + 8 + 440;
    for (int i = 0; i < 6 && i < f.n_tensors; i++) {
        const StTensor *t = &f.tensors[i];
        long begin = (long)((const unsigned char *)t->data - buffer);
        CHECK(strcmp(t->name, want[i].name) == 0, "tensor %d is %s, expected %s", i, t->name,
              want[i].name);
        CHECK(t->dtype == want[i].dtype, "%s: dtype %s", t->name, safetensors_dtype_name(t->dtype));
        CHECK(begin == want[i].begin && begin + (long)safetensors_nbytes(t) == want[i].end,
              "%s: offsets [%ld,%ld]", t->name, begin, begin + (long)safetensors_nbytes(t));
    }
    const StTensor *step = safetensors_find(&f, "step");
    if (step) {
        int64_t v;
        memcpy(&v, step->data, 8);
        CHECK(v == 1000 && step->ndim == 0, "step %lld ndim %d", (long long)v, step->ndim);
    }
    const StTensor *empty = safetensors_find(&f, "empty");
    if (empty) check_shape(empty, 2, 0, 7);
    const StTensor *a = safetensors_find(&f, "encoder.layer0.lora_A");
    if (a) check_shape(a, 2, 4, 3);
    const StTensor *b = safetensors_find(&f, "encoder.layer0.lora_B");
    if (b) check_shape(b, 2, 3, 4);
    float va[12], vb[12], bias[5], bf[4];
    CHECK(safetensors_read_f32(&f, "encoder.layer0.lora_A", va, 2, (int64_t[]){4, 3}) == 0, "%s",
          err_msg());
    CHECK(va[0] == -1.6038367748260498f, "lora_A[0] = %.9g", va[0]); /* bytes 86 4a cd bf */
    int nonzero = 0;
    for (int i = 0; i < 12; i++) nonzero += va[i] != 0 && fabsf(va[i]) < 6;
    CHECK(nonzero == 12, "lora_A does not look like 12 normal draws (%d)", nonzero);
    CHECK(safetensors_read_f32(&f, "encoder.layer0.lora_B", vb, 2, (int64_t[]){3, 4}) == 0, "%s",
          err_msg());
    for (int i = 0; i < 12; i++) CHECK(vb[i] == 0.0f, "lora_B[%d] = %g", i, vb[i]);
    CHECK(safetensors_read_f32(&f, "head.bias", bias, 1, (int64_t[]){5}) == 0, "%s", err_msg());
    for (int i = 0; i < 5; i++) CHECK(bias[i] == 0.5f * (float)i, "bias[%d] = %g", i, bias[i]);
    CHECK(safetensors_read_f32(&f, "head.weight_bf16", bf, 1, (int64_t[]){4}) == 0, "%s",
          err_msg());
    const float bf_want[4] = {1.0f, -2.5f, 3.140625f, 0.0f};
    for (int i = 0; i < 4; i++) CHECK(bf[i] == bf_want[i], "bf16[%d] = %g", i, bf[i]);
    safetensors_close(&f);
}

static void test_accessor_errors(void) {
    StFile f;
    CHECK(safetensors_open(EXAMPLE, &f) == 0, "%s", err_msg());
    if (!f.bytes) return;
    float buf[12];
    CHECK(safetensors_read_f32(&f, "head.bias", buf, 2, (int64_t[]){4, 3}) == -1, "shape accepted");
    CHECK(strstr(err_msg(), "shape [5], expected [4,3]") && strstr(err_msg(), EXAMPLE), "%s",
          err_msg());
    CHECK(safetensors_read_f32(&f, "step", buf, 0, NULL) == -1, "I64 read as F32");
    CHECK(strstr(err_msg(), "is I64, expected F32"), "%s", err_msg());
    CHECK(safetensors_find(&f, "nope") == NULL, "found a missing tensor");
    CHECK(strstr(err_msg(), "no tensor named 'nope'"), "%s", err_msg());
    safetensors_close(&f);
}

static unsigned char *file_bytes(const char *path, size_t *len) {
    unsigned char *p = (unsigned char *)file_read_all(path, 1 << 24, len);
    if (!p) die("%s", err_msg());
    return p;
}

static void test_rust_vector(void) {
    float values[6] = {0, 1, 2, 3, 4, 5};
    StTensor t = {"attn.0", ST_F32, 3, {1, 2, 3}, values};
    const char *path = tmp_path("rust.safetensors");
    CHECK(safetensors_write(path, &t, 1, NULL, ST_NO_METADATA) == 0, "%s", err_msg());
    size_t len;
    unsigned char *p = file_bytes(path, &len);
    const char *header =
        "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    static const unsigned char prefix[8] = {64, 0, 0, 0, 0, 0, 0, 0};
    CHECK(len == 96, "%zu bytes, expected 96", len);
    if (len == 96) {
        CHECK(memcmp(p, prefix, 8) == 0, "length prefix differs");
        CHECK(memcmp(p + 8, header, 64) == 0, "header is %.64s", (const char *)p + 8);
        CHECK(memcmp(p + 72, values, 24) == 0, "data differs");
    }
    free(p);
}

static void test_example_rewrite_identical(void) {
    StFile f;
    CHECK(safetensors_open(EXAMPLE, &f) == 0, "%s", err_msg());
    if (!f.bytes) return;
    /* Reversed input order: the writer must restore the canonical order. */
    StTensor rev[6];
    for (int i = 0; i < f.n_tensors && i < 6; i++) rev[i] = f.tensors[f.n_tensors - 1 - i];
    const char *path = tmp_path("rewrite.safetensors");
    CHECK(safetensors_write(path, rev, f.n_tensors, f.meta, f.n_meta) == 0, "%s", err_msg());
    size_t len;
    unsigned char *p = file_bytes(path, &len);
    CHECK(len == f.size && memcmp(p, f.bytes, len) == 0, "rewrite differs (%zu vs %zu bytes)", len,
          f.size);
    free(p);
    /* No metadata given: the writer still writes {"format":"pt"}. */
    CHECK(safetensors_write(path, f.tensors, f.n_tensors, NULL, 0) == 0, "%s", err_msg());
    p = file_bytes(path, &len);
    CHECK(len == f.size && memcmp(p, f.bytes, len) == 0, "rewrite without meta differs");
    free(p);
    safetensors_close(&f);
}

static uint32_t rng_state = 12345;
static uint32_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_round_trip(void) {
    enum { NT = 5 };
    StTensor t[NT];
    uint32_t *data[NT];
    const char *names[NT] = {"b.weight", "a\"quote\\slash\nnewline", "z/\xc3\xbc\xe2\x82\xac",
                             "scalar", "ints"};
    for (int i = 0; i < NT; i++) {
        t[i] = (StTensor){names[i], ST_F32, 1 + (int)(rng_next() % 3), {0}, NULL};
        uint64_t n = 1;
        for (int d = 0; d < t[i].ndim; d++) n *= (uint64_t)(t[i].shape[d] = 1 + rng_next() % 17);
        if (i == 3) t[i].ndim = 0, n = 1;
        if (i == 4) t[i].dtype = ST_I32;
        data[i] = xmalloc(n * 4);
        for (uint64_t k = 0; k < n; k++) data[i][k] = rng_next(); /* any bits, NaNs included */
        t[i].data = data[i];
    }
    StMeta meta[3] = {{"epoch", "3"}, {"format", "pt"}, {"note", "\"tab\there\" \xce\xbb"}};
    const char *path = tmp_path("round.safetensors");
    CHECK(safetensors_write(path, t, NT, meta, 3) == 0, "%s", err_msg());
    StFile f;
    CHECK(safetensors_open(path, &f) == 0, "%s", err_msg());
    if (!f.bytes) return;
    CHECK(f.n_tensors == NT, "n_tensors %d", f.n_tensors);
    CHECK(f.n_meta == 3 && strcmp(f.meta[0].key, "format") == 0 &&
              strcmp(f.meta[1].key, "epoch") == 0,
          "metadata order: %s first of %d", f.n_meta ? f.meta[0].key : "-", f.n_meta);
    CHECK(strcmp(safetensors_meta(&f, "note"), meta[2].value) == 0, "note differs");
    CHECK(((const unsigned char *)f.tensors[0].data - f.bytes) % 8 == 0,
          "tensor data does not start 8-aligned in the file");
    for (int i = 0; i < NT; i++) {
        const StTensor *g = safetensors_find(&f, names[i]);
        CHECK(g != NULL, "%s", err_msg());
        if (!g) continue;
        CHECK(g->dtype == t[i].dtype && g->ndim == t[i].ndim, "%s: dtype/ndim differ", names[i]);
        CHECK(memcmp(g->shape, t[i].shape, sizeof(int64_t) * (size_t)g->ndim) == 0, "%s: shape",
              names[i]);
        CHECK(safetensors_nbytes(g) == safetensors_nbytes(&t[i]) &&
                  memcmp(g->data, t[i].data, safetensors_nbytes(g)) == 0,
              "%s: data not bit-identical", names[i]);
    }
    safetensors_close(&f);
    for (int i = 0; i < NT; i++) free(data[i]);
}

static void test_f16_widening(void) {
    /* 1, -2, 0.5, smallest subnormal 2^-24, 65504, -inf */
    const uint16_t h[6] = {0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0xfc00};
    StTensor t = {"h", ST_F16, 2, {2, 3}, h};
    const char *path = tmp_path("f16.safetensors");
    CHECK(safetensors_write(path, &t, 1, NULL, 0) == 0, "%s", err_msg());
    StFile f;
    CHECK(safetensors_open(path, &f) == 0, "%s", err_msg());
    if (!f.bytes) return;
    float v[6];
    CHECK(safetensors_read_f32(&f, "h", v, 2, (int64_t[]){2, 3}) == 0, "%s", err_msg());
    const float want[6] = {1.0f, -2.0f, 0.5f, 0x1p-24f, 65504.0f, -INFINITY};
    for (int i = 0; i < 6; i++)
        CHECK(v[i] == want[i], "f16[%d] = %g, expected %g", i, v[i], want[i]);
    safetensors_close(&f);
}

static void test_writer_rejects(void) {
    const char *path = tmp_path("keep.safetensors");
    bytes_save(path, "old", 3);
    float x[2] = {1, 2};
    StTensor dup[2] = {{"w", ST_F32, 1, {2}, x}, {"w", ST_F32, 1, {1}, x}};
    CHECK(safetensors_write(path, dup, 2, NULL, 0) == -1, "duplicate names accepted");
    CHECK(strstr(err_msg(), "two tensors are named 'w'") && strstr(err_msg(), path), "%s",
          err_msg());
    StTensor reserved = {"__metadata__", ST_F32, 1, {2}, x};
    CHECK(safetensors_write(path, &reserved, 1, NULL, 0) == -1, "__metadata__ name accepted");
    StTensor negative = {"n", ST_F32, 1, {-2}, x};
    CHECK(safetensors_write(path, &negative, 1, NULL, 0) == -1, "negative size accepted");
    CHECK(strstr(err_msg(), "negative size"), "%s", err_msg());
    StTensor bad_utf8 = {"bad\xff", ST_F32, 1, {2}, x};
    CHECK(safetensors_write(path, &bad_utf8, 1, NULL, 0) == -1, "invalid UTF-8 accepted");
    StMeta twice[2] = {{"k", "1"}, {"k", "2"}};
    CHECK(safetensors_write(path, dup, 1, twice, 2) == -1, "duplicate metadata accepted");
    CHECK(strstr(err_msg(), "given twice"), "%s", err_msg());
    CHECK(safetensors_write("/nonexistent-dir/x.safetensors", dup, 1, NULL, 0) == -1,
          "write into a missing folder succeeded");
    /* Failed writes leave the old file untouched and no temporary behind. */
    size_t len;
    unsigned char *p = file_bytes(path, &len);
    CHECK(len == 3 && memcmp(p, "old", 3) == 0, "old file was changed");
    free(p);
    DIR *dir = opendir(tmp_dir);
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        CHECK(strstr(e->d_name, ".tmp.") == NULL, "temporary %s left behind", e->d_name);
    if (dir) closedir(dir);
}

static void test_truncated(void) {
    size_t len;
    unsigned char *p = file_bytes(EXAMPLE, &len);
    const size_t cuts[] = {0, 5, 8, 100, 447, 448, 500, 579};
    const char *path = tmp_path("cut.safetensors");
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        bytes_save(path, p, cuts[i]);
        check_rejected(path, "truncated");
    }
    free(p);
}

static void test_header_length_huge(void) {
    size_t len;
    unsigned char *p = file_bytes(EXAMPLE, &len);
    const char *path = tmp_path("huge.safetensors");
    const uint64_t sizes[] = {(uint64_t)1 << 40, 100000001, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        for (int b = 0; b < 8; b++) p[b] = (unsigned char)(sizes[i] >> (8 * b));
        bytes_save(path, p, len);
        check_rejected(path, "exceeds the 100000000-byte limit");
    }
    free(p);
}

static void test_header_not_json(void) {
    size_t len;
    unsigned char *p = file_bytes(EXAMPLE, &len);
    const char *path = tmp_path("bad.safetensors");
    p[8] = 'x';
    bytes_save(path, p, len);
    check_rejected(path, "header is not valid JSON");
    p[8] = '{';
    p[8 + 34] = 0xff; /* inside the key "step": invalid UTF-8 */
    bytes_save(path, p, len);
    check_rejected(path, "header is not valid JSON");
    free(p);
    file_make(path, "[]", 0);
    check_rejected(path, "not a JSON object");
    file_make(path, "{} x", 0);
    check_rejected(path, "header is not valid JSON");
}

#define F32_ENTRY(name, shape, b, e) \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_corrupt_headers(void) {
    static const struct {
        const char *header;
        size_t data_len;
        const char *want;
    } cases[] = {
        {"{" F32_ENTRY("a", "[1]", 0, 4) "," F32_ENTRY("b", "[1]", 8, 12) "}", 12,
         "hole in the data: tensor 'b' starts at byte 8"},
        {"{" F32_ENTRY("a", "[1]", 4, 8) "}", 8, "hole in the data: tensor 'a' starts at byte 4"},
        {"{" F32_ENTRY("a", "[2]", 0, 8) "," F32_ENTRY("b", "[1]", 4, 8) "}", 8,
         "overlapping tensors: 'b' starts at byte 4, inside 'a'"},
        {"{" F32_ENTRY("a", "[2]", 0, 4) "}", 4, "hold 4 bytes but F32 [2] needs 8"},
        {"{" F32_ENTRY("a", "[1]", 0, 4) "}", 8, "4 trailing bytes"},
        {"{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "unknown dtype 'F31'"},
        {"{" F32_ENTRY("a", "[1]", 0, 4) "," F32_ENTRY("a", "[1]", 0, 4) "}", 4,
         "duplicate object key"},
        {"{\"__metadata__\":{\"format\":1}}", 0, "__metadata__ value for 'format' is not a string"},
        {"{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object"},
        {"{" F32_ENTRY("a", "[-1]", 0, 0) "}", 0, "not a non-negative integer"},
        {"{" F32_ENTRY("a", "[1.0]", 0, 4) "}", 4, "not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0, "\"data_offsets\" is not [begin, end]"},
        {"{" F32_ENTRY("a", "[1]", 4, 0) "}", 4, "\"data_offsets\" is not [begin, end]"},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no \"dtype\" string"},
        {"{" F32_ENTRY("a", "[4294967296,4294967296,16]", 0, 0) "}", 0, "is too large"},
        {"{" F32_ENTRY("a", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, "9 dimensions"},
        {"{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1,
         "does not fill a whole number of bytes"},
        {"{\"a\":[]}", 0, "entry is not a JSON object"},
    };
    const char *path = tmp_path("corrupt.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        file_make(path, cases[i].header, cases[i].data_len);
        check_rejected(path, cases[i].want);
    }
    /* Accepted edge cases: no tensors at all; leading/trailing whitespace;
     * an empty tensor sharing an offset; F4 with a whole number of bytes. */
    const char *ok[] = {"{}", " {\"__metadata__\":{}}\n",
                        "{" F32_ENTRY("e", "[0]", 4, 4) "," F32_ENTRY("a", "[1]", 0, 4) "}",
                        "{\"a\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[0,3]}}"};
    const size_t ok_len[] = {0, 0, 4, 3};
    for (size_t i = 0; i < 4; i++) {
        file_make(path, ok[i], ok_len[i]);
        StFile f;
        CHECK(safetensors_open(path, &f) == 0, "valid header %s rejected: %s", ok[i], err_msg());
        if (f.bytes) safetensors_close(&f);
    }
}

/* Optional: a file we wrote parses with a pure-python reader (struct, json,
 * numpy; torch.from_numpy when torch is importable). Skipped without numpy. */
static void test_python_reader(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("  skipped: /usr/bin/python3 with numpy not available\n");
        return;
    }
    float a[6] = {0.5f, -1.25f, 3, 4, 5, 6};
    int64_t step = 77;
    StTensor t[2] = {{"layer.w", ST_F32, 2, {2, 3}, a}, {"step", ST_I64, 0, {0}, &step}};
    const char *path = tmp_path("py.safetensors");
    CHECK(safetensors_write(path, t, 2, NULL, 0) == 0, "%s", err_msg());
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import json, struct, sys, numpy as np\n"
             "raw = open(sys.argv[1], \"rb\").read()\n"
             "(n,) = struct.unpack(\"<Q\", raw[:8])\n"
             "h = json.loads(raw[8:8 + n])\n"
             "buf = raw[8 + n:]\n"
             "kinds = {\"F32\": \"<f4\", \"I64\": \"<i8\"}\n"
             "out = {}\n"
             "for k, v in h.items():\n"
             "    if k == \"__metadata__\": continue\n"
             "    b, e = v[\"data_offsets\"]\n"
             "    a = np.frombuffer(buf[b:e], dtype=kinds[v[\"dtype\"]])\n"
             "    out[k] = a.reshape(v[\"shape\"])\n"
             "try:\n"
             "    import torch\n"
             "    out = {k: torch.from_numpy(v.copy()) for k, v in out.items()}\n"
             "except ImportError:\n"
             "    pass\n"
             "w = out[\"layer.w\"]\n"
             "print(h[\"__metadata__\"][\"format\"], tuple(w.shape), float(w.sum()),\n"
             "      float(w[1, 2]), int(out[\"step\"]))\n"
             "' %s",
             path);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    if (p) {
        if (!fgets(line, sizeof line, p)) line[0] = 0;
        pclose(p);
    }
    CHECK(strcmp(line, "pt (2, 3) 17.25 6.0 77\n") == 0, "python read '%s'", line);
}

static void tmp_dir_remove(void) {
    DIR *dir = opendir(tmp_dir);
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        if (e->d_name[0] != '.') unlink(tmp_path(e->d_name));
    if (dir) closedir(dir);
    rmdir(tmp_dir);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) die("cannot create %s", tmp_dir);
    RUN(test_example_loads);
    RUN(test_accessor_errors);
    RUN(test_rust_vector);
    RUN(test_example_rewrite_identical);
    RUN(test_round_trip);
    RUN(test_f16_widening);
    RUN(test_writer_rejects);
    RUN(test_truncated);
    RUN(test_header_length_huge);
    RUN(test_header_not_json);
    RUN(test_corrupt_headers);
    RUN(test_python_reader);
    tmp_dir_remove();
    return TEST_DONE();
}
