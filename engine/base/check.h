/* Checked wrappers and the error-reporting convention of the whole engine.
 *
 * Fallible functions return 0 on success and -1 on failure after recording a
 * message with err_set() ("path: what went wrong"). Callers either pass the
 * failure up or report it with err_msg(). The x* wrappers are for failures a
 * run cannot recover from (out of memory): they print file, line and what was
 * attempted, then exit(1). */
#ifndef MOIL_CHECK_H
#define MOIL_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define MOIL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MOIL_PRINTF(a, b)
#endif

/* Record the current error message (printf-style); always returns -1. */
int err_set(const char *fmt, ...) MOIL_PRINTF(1, 2);
/* Prefix the current error message with more context; always returns -1. */
int err_prefix(const char *fmt, ...) MOIL_PRINTF(1, 2);
/* The last message recorded by err_set (empty string if none). */
const char *err_msg(void);
/* Forget the last message, so that a later err_msg() tells whether anything
 * since failed. */
void err_clear(void);
/* Print "moil: <msg>" to stderr and exit(1). */
_Noreturn void die(const char *fmt, ...) MOIL_PRINTF(1, 2);

void *xmalloc_at(size_t n, const char *what, const char *file, int line);
void *xcalloc_at(size_t count, size_t size, const char *what, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *what, const char *file, int line);
char *xstrdup_at(const char *s, const char *file, int line);

#define xmalloc(n) xmalloc_at((n), #n, __FILE__, __LINE__)
#define xcalloc(c, s) xcalloc_at((c), (s), #c " x " #s, __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), #n, __FILE__, __LINE__)
#define xstrdup(s) xstrdup_at((s), __FILE__, __LINE__)

/* fopen that records "path: cannot open for <mode>: <strerror>" on failure. */
FILE *fopen_check(const char *path, const char *mode);
/* Read a whole file into a NUL-terminated buffer; *len gets its size.
 * Refuses files larger than max_bytes. Returns NULL (err_set) on failure. */
char *file_read_all(const char *path, size_t max_bytes, size_t *len);
/* Write buf to path atomically: temporary file in the same folder, fsync,
 * rename. Nothing is left at path if any step fails. */
int file_write_atomic(const char *path, const void *buf, size_t len);
/* The same for a file made of n consecutive parts (no copy into one buffer). */
typedef struct {
    const void *buf;
    size_t len;
} FilePart;
int file_write_atomic_parts(const char *path, const FilePart *parts, int n);
/* FNV-1a 64, incrementally: start from FNV1A_INIT and feed the bytes in
 * order, in as many pieces as convenient (the result is that of the whole).
 * The offset basis is the suite's own, 1469598103934665603 (the published
 * one, 14695981039346656037, without its last digit), kept so that the
 * hashes recorded in existing databases stay valid. */
#define FNV1A_INIT 1469598103934665603ull
uint64_t fnv1a_update(uint64_t h, const void *buf, size_t len);
/* FNV-1a 64 of a file's bytes as 16 hex digits (out[17]): names the exact
 * content of a checkpoint in a run's config. */
int file_hash_fnv1a(const char *path, char out[17]);
/* mkdir -p; 0 on success (also when it exists). */
int dir_make(const char *path);

/* Seconds on the monotonic clock (for durations, ETAs and timings). */
double time_now_s(void);

/* The value v of option --name as an integer / a number in [lo, hi]; -1
 * (err_set naming the option) if it is not one. */
int option_parse_int(const char *name, const char *v, int lo, int hi, int *out);
int option_parse_double(const char *name, const char *v, double lo, double hi, double *out);

/* The index of name among names[0..n) (an option's values), or -1. */
int name_index(const char *const *names, int n, const char *name);
/* The same for a static array of names. */
#define NAME_INDEX(names, name) name_index((names), (int)(sizeof(names) / sizeof(names)[0]), (name))

/* A stop request (SIGINT/SIGTERM, set from a signal handler): long loops
 * (training steps, model forwards of an evaluation) check it and wind down
 * with an error, so the run is recorded as killed. */
void interrupt_request(int sig);
/* The signal that asked to stop, 0 if none. */
int interrupt_pending(void);

#endif
