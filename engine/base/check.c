#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char err_buf[2048];

int err_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(const char *fmt, ...) {
    char head[1024], old[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err_buf, sizeof old);
    int room = (int)sizeof err_buf - 1;
    snprintf(err_buf, sizeof err_buf, "%.*s: %.*s", room / 2, head, room / 2 - 2, old);
    return -1;
}

const char *err_msg(void) { return err_buf; }

void err_clear(void) { err_buf[0] = 0; }

_Noreturn void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("moil: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static _Noreturn void die_oom(size_t n, const char *what, const char *file, int line) {
    die("%s:%d: out of memory allocating %zu bytes for %s", file, line, n, what);
}

void *xmalloc_at(size_t n, const char *what, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) die_oom(n, what, file, line);
    return p;
}

void *xcalloc_at(size_t count, size_t size, const char *what, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die_oom(count * size, what, file, line);
    return p;
}

void *xrealloc_at(void *p, size_t n, const char *what, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die_oom(n, what, file, line);
    return q;
}

char *xstrdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc_at(n, "string copy", file, line);
    memcpy(p, s, n);
    return p;
}

FILE *fopen_check(const char *path, const char *mode) {
    FILE *f = fopen(path, mode);
    if (!f) err_set("%s: cannot open for %s: %s", path, mode[0] == 'r' ? "reading" : "writing",
                    strerror(errno));
    return f;
}

char *file_read_all(const char *path, size_t max_bytes, size_t *len) {
    FILE *f = fopen_check(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        err_set("%s: cannot stat: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    if ((size_t)st.st_size > max_bytes) {
        err_set("%s: file is %lld bytes, larger than the %zu-byte limit", path,
                (long long)st.st_size, max_bytes);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = xmalloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        err_set("%s: read %zu of %zu bytes", path, got, n);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int file_write_atomic(const char *path, const void *buf, size_t len) {
    FilePart part = {buf, len};
    return file_write_atomic_parts(path, &part, 1);
}

int file_write_atomic_parts(const char *path, const FilePart *parts, int n) {
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen_check(tmp, "wb");
    if (!f) {
        free(tmp);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (parts[i].len && fwrite(parts[i].buf, 1, parts[i].len, f) != parts[i].len)
            rc = err_set("%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && fflush(f) != 0) rc = err_set("%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && fsync(fileno(f)) != 0) rc = err_set("%s: fsync failed: %s", tmp, strerror(errno));
    if (fclose(f) != 0 && rc == 0) rc = err_set("%s: close failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = err_set("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc;
}

uint64_t fnv1a_update(uint64_t h, const void *buf, size_t len) {
    const unsigned char *b = buf;
    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

int file_hash_fnv1a(const char *path, char out[17]) {
    size_t len;
    char *buf = file_read_all(path, (size_t)1 << 34, &len);
    if (!buf) return -1;
    uint64_t h = fnv1a_update(FNV1A_INIT, buf, len);
    free(buf);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return 0;
}

int dir_make(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return err_set("%s: bad folder name", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return err_set("%s: cannot create folder: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return err_set("%s: not a folder", path);
    return 0;
}

static volatile sig_atomic_t interrupt_sig;

void interrupt_request(int sig) { interrupt_sig = sig; }

int interrupt_pending(void) { return interrupt_sig; }

double time_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int option_parse_int(const char *name, const char *v, int lo, int hi, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) return err_set("--%s %s: expected an integer in [%d, %d]", name, v, lo, hi);
    *out = (int)x;
    return 0;
}

int option_parse_double(const char *name, const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) return err_set("--%s %s: expected a number in [%g, %g]", name, v, lo, hi);
    *out = x;
    return 0;
}

int name_index(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}
