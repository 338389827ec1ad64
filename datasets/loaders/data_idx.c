#include "data_idx.h"

#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { IDX_MAX_BYTES = 64 << 20 }; /* the largest file decompresses to 47 MB */

/* Decompress a whole gzip file into *buf (*len bytes). */
static int idx_read_gz(const char *path, unsigned char **buf, size_t *len) {
    gzFile f = gzopen(path, "rb");
    if (!f)
        return err_set("%s: cannot open: %s (the Fashion-MNIST IDX files come from the Debian "
                       "package dataset-fashion-mnist: apt-get install dataset-fashion-mnist; "
                       "or pass --source DIR to a folder holding them)",
                       path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 20, n = 0;
    unsigned char *p = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= IDX_MAX_BYTES) {
                gzclose(f);
                free(p);
                return err_set("%s: decompresses to more than %d bytes", path, IDX_MAX_BYTES);
            }
            cap *= 2;
            p = xrealloc(p, cap);
        }
        int got = gzread(f, p + n, (unsigned)(cap - n));
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            err_set("%s: corrupt gzip data: %s", path, msg);
            gzclose(f);
            free(p);
            return -1;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    gzclose(f);
    *buf = p;
    *len = n;
    return 0;
}

static uint32_t idx_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Check the header of an unsigned-byte IDX buffer with `ndims` dimensions;
 * dims[] gets them. Returns the data offset, or -1 (err_set). */
static long idx_parse_header(const char *path, const unsigned char *buf, size_t len, int ndims,
                             uint32_t *dims) {
    size_t head = 4 + 4 * (size_t)ndims;
    if (len < head) return err_set("%s: %zu bytes, too short for an IDX header", path, len);
    if (buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || buf[3] != ndims)
        return err_set("%s: bad IDX magic %02x%02x%02x%02x, expected 000008%02x", path, buf[0],
                       buf[1], buf[2], buf[3], ndims);
    size_t total = 1, data = len - head;
    for (int i = 0; i < ndims; i++) {
        dims[i] = idx_be32(buf + 4 + 4 * i);
        if (dims[i] == 0) return err_set("%s: IDX dimension %d is 0", path, i);
        if (total > data / dims[i]) /* also keeps the product from wrapping */
            return err_set("%s: header promises more data bytes than the %zu in the file", path, data);
        total *= dims[i];
    }
    if (data != total)
        return err_set("%s: header promises %zu data bytes, file holds %zu", path, total, len - head);
    return (long)head;
}

int data_idx_load_split(IdxSet *set, const char *source_dir, const char *prefix) {
    memset(set, 0, sizeof *set);
    char ipath[4096], lpath[4096];
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", source_dir, prefix);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", source_dir, prefix);
    unsigned char *ibuf = NULL, *lbuf = NULL;
    size_t ilen = 0, llen = 0;
    uint32_t idims[3], ldims[1];
    int rc = -1;
    if (idx_read_gz(ipath, &ibuf, &ilen) || idx_read_gz(lpath, &lbuf, &llen)) goto done;
    long ioff = idx_parse_header(ipath, ibuf, ilen, 3, idims);
    long loff = ioff < 0 ? -1 : idx_parse_header(lpath, lbuf, llen, 1, ldims);
    if (ioff < 0 || loff < 0) goto done;
    if (idims[0] != ldims[0] || idims[0] == 0) {
        err_set("%s: %u images but %s has %u labels", ipath, idims[0], lpath, ldims[0]);
        goto done;
    }
    for (uint32_t i = 0; i < ldims[0]; i++)
        if (lbuf[loff + i] > 9) {
            err_set("%s: label %u of item %u is not a class 0..9", lpath, lbuf[loff + i], i);
            goto done;
        }
    set->count = (int)idims[0];
    set->rows = (int)idims[1];
    set->cols = (int)idims[2];
    memmove(ibuf, ibuf + ioff, ilen - (size_t)ioff);
    memmove(lbuf, lbuf + loff, llen - (size_t)loff);
    set->pixels = ibuf;
    set->labels = lbuf;
    ibuf = lbuf = NULL;
    rc = 0;
done:
    free(ibuf);
    free(lbuf);
    return rc;
}

void data_idx_free(IdxSet *set) {
    free(set->pixels);
    free(set->labels);
    memset(set, 0, sizeof *set);
}
