/* This file contains the per-item scores of the results database (migration
 * 3 of results/schema.sql; db.h, "Per-item scores"): the ids of a list of
 * test items stored once per distinct list (item_sets), and each run's
 * scores as one array in the narrowest encoding that holds every value
 * exactly, both deflated with zlib. */
#include "db_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"

typedef enum { ENC_U8, ENC_U16, ENC_F32, ENC_F64 } Encoding;

static const char *const encoding_names[] = {"u8", "u16", "f32", "f64"};
static const size_t encoding_bytes[] = {1, 2, 4, 8};

/* The narrowest encoding that gives back every value bit for bit: unsigned
 * integers (not -0) up to 255 or 65535, else float32 when each value is
 * one, else float64 (NaN and inf included). */
static Encoding encoding_of(const double *v, int n) {
    int max = ENC_U8;
    for (int i = 0; i < n && max < ENC_F64; i++) {
        double x = v[i];
        int enc = ENC_F64;
        if (x >= 0 && x <= 65535 && x == floor(x) && !signbit(x)) enc = x <= 255 ? ENC_U8 : ENC_U16;
        else if ((double)(float)x == x) enc = ENC_F32;
        if (enc > max) max = enc;
    }
    return (Encoding)max;
}

/* v[n] as little-endian values of enc into buf[n * encoding_bytes[enc]]. */
static void encode(const double *v, int n, Encoding enc, unsigned char *buf) {
    for (int i = 0; i < n; i++) {
        uint64_t bits;
        if (enc == ENC_F32) {
            float f = (float)v[i];
            uint32_t b32;
            memcpy(&b32, &f, 4);
            bits = b32;
        } else if (enc == ENC_F64) {
            memcpy(&bits, &v[i], 8);
        } else {
            bits = (uint64_t)v[i];
        }
        for (size_t k = 0; k < encoding_bytes[enc]; k++) buf[(size_t)i * encoding_bytes[enc] + k] = bits >> (8 * k) & 0xff;
    }
}

static void decode(const unsigned char *buf, int n, Encoding enc, double *v) {
    for (int i = 0; i < n; i++) {
        uint64_t bits = 0;
        for (size_t k = 0; k < encoding_bytes[enc]; k++) bits |= (uint64_t)buf[(size_t)i * encoding_bytes[enc] + k] << (8 * k);
        if (enc == ENC_F32) {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, 4);
            v[i] = f;
        } else if (enc == ENC_F64) {
            memcpy(&v[i], &bits, 8);
        } else {
            v[i] = (double)bits;
        }
    }
}

/* A zlib stream of src[len] (caller frees *out). */
static int deflate_all(Db *db, const void *src, size_t len, unsigned char **out, size_t *out_len) {
    uLongf cap = compressBound((uLong)len);
    *out = xmalloc(cap ? cap : 1);
    if (compress2(*out, &cap, src, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
        free(*out);
        return err_set("%s: zlib cannot deflate %zu bytes of item scores", db->path, len);
    }
    *out_len = cap;
    return 0;
}

/* Inflate the zlib stream src[len] into a new buffer (caller frees),
 * NUL-terminated after its *out_len bytes. */
static int inflate_all(Db *db, const void *src, size_t len, unsigned char **out, size_t *out_len) {
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) return err_set("%s: zlib cannot start inflating item scores", db->path);
    size_t cap = len * 4 + 64, n = 0;
    unsigned char *buf = xmalloc(cap);
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)len;
    int rc;
    do {
        if (cap - n < 2) buf = xrealloc(buf, cap *= 2);
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        n = cap - 1 - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return err_set("%s: item scores: corrupt zlib stream of %zu bytes (zlib error %d)", db->path, len, rc);
    }
    buf[n] = 0;
    *out = buf;
    *out_len = n;
    return 0;
}

/* Insert the ids' set unless it is there; its hash into hash. */
static int put_set(Db *db, int n, const char *ids, char hash[DB_HASH_LEN]) {
    size_t len = strlen(ids);
    snprintf(hash, DB_HASH_LEN, "%016llx", (unsigned long long)fnv1a_update(FNV1A_INIT, ids, len));
    sqlite3_stmt *st = db_query(db, "SELECT n FROM item_sets WHERE hash = ?", "t", hash);
    if (!st) return -1;
    int rc = db_step(db, st);
    int have = rc == 1 ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc < 0) return -1;
    if (rc == 1) return have == n ? 0 : err_set("%s: item set %s holds %d items, not %d", db->path, hash, have, n);
    unsigned char *z;
    size_t z_len;
    if (deflate_all(db, ids, len, &z, &z_len)) return -1;
    rc = db_run_sql(db, "INSERT INTO item_sets (hash, n, ids) VALUES (?, ?, ?)", "tib", hash, (int64_t)n, z, z_len);
    free(z);
    return rc;
}

int db_items_set(Db *db, int64_t run_id, const char *split, const char *name, int n, const char *ids,
                 const double *values) {
    int lines = 0;
    for (const char *p = ids; *p; p++) lines += *p == '\n';
    size_t len = strlen(ids);
    if (n < 0 || lines != n || (len && ids[len - 1] != '\n'))
        return err_set("%s: item scores %s/%s of run %lld: %d values but %d ids", db->path, split, name,
                       (long long)run_id, n, lines);
    if (db_flush(db) || db_exec(db, "BEGIN IMMEDIATE")) return -1;
    char hash[DB_HASH_LEN];
    Encoding enc = encoding_of(values, n);
    size_t raw_len = (size_t)n * encoding_bytes[enc];
    unsigned char *raw = xmalloc(raw_len ? raw_len : 1), *z = NULL;
    size_t z_len = 0;
    encode(values, n, enc, raw);
    int rc = put_set(db, n, ids, hash);
    if (rc == 0) rc = deflate_all(db, raw, raw_len, &z, &z_len);
    if (rc == 0)
        rc = db_run_sql(db,
                        "INSERT INTO item_scores (run_id, split, name, item_set, encoding, scores) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, split, name) DO UPDATE SET "
                        "item_set = excluded.item_set, encoding = excluded.encoding, scores = excluded.scores",
                        "ittttb", run_id, split, name, hash, encoding_names[enc], z, z_len);
    free(raw);
    free(z);
    if (rc == 0) rc = db_exec(db, "COMMIT");
    if (rc) db_rollback(db);
    return rc;
}

/* The ids of set hash into out->ids, checking their count. */
static int get_ids(Db *db, DbItems *out) {
    sqlite3_stmt *st = db_query(db, "SELECT ids FROM item_sets WHERE hash = ?", "t", out->set_hash);
    if (!st) return -1;
    int rc = db_step(db, st);
    size_t len = 0;
    unsigned char *text = NULL;
    if (rc == 1) rc = inflate_all(db, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &text, &len);
    else if (rc == 0) rc = err_set("%s: no item set %s", db->path, out->set_hash);
    sqlite3_finalize(st);
    if (rc) return -1;
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (lines != out->n || strlen((char *)text) != len) {
        free(text);
        return err_set("%s: item set %s holds %d ids, not %d", db->path, out->set_hash, lines, out->n);
    }
    out->ids = (char *)text;
    return 0;
}

int db_items_get(Db *db, int64_t run_id, const char *split, const char *name, int want_ids, DbItems *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = db_query(db,
                                "SELECT s.item_set, t.n, s.encoding, s.scores FROM item_scores AS s "
                                "JOIN item_sets AS t ON t.hash = s.item_set "
                                "WHERE s.run_id = ? AND s.split = ? AND s.name = ?",
                                "itt", run_id, split, name);
    if (!st) return -1;
    int rc = db_step(db, st);
    if (rc != 1) {
        sqlite3_finalize(st);
        return rc;
    }
    snprintf(out->set_hash, DB_HASH_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
    out->n = sqlite3_column_int(st, 1);
    int enc = NAME_INDEX(encoding_names, (const char *)sqlite3_column_text(st, 2));
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    rc = enc < 0 ? err_set("%s: run %lld: unknown item encoding", db->path, (long long)run_id)
                 : inflate_all(db, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &raw, &raw_len);
    sqlite3_finalize(st);
    if (rc == 0 && raw_len != (size_t)out->n * encoding_bytes[enc])
        rc = err_set("%s: item scores %s/%s of run %lld: %zu bytes for %d %s values", db->path, split, name,
                     (long long)run_id, raw_len, out->n, encoding_names[enc]);
    if (rc == 0) {
        out->values = xmalloc((size_t)(out->n > 0 ? out->n : 1) * sizeof *out->values);
        decode(raw, out->n, (Encoding)enc, out->values);
    }
    free(raw);
    if (rc == 0 && want_ids) rc = get_ids(db, out);
    if (rc) {
        db_items_free(out);
        return -1;
    }
    return 1;
}

void db_items_free(DbItems *it) {
    free(it->ids);
    free(it->values);
    memset(it, 0, sizeof *it);
}
