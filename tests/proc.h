/* Helpers for the tests that drive the moil binary as a separate process
 * (crash consistency, full disk, numerics): the binary is $MOIL (set by
 * tests/run.sh to build/moil or build-san/moil) or ./moil; scratch folders
 * are made with mkdtemp and removed with everything in them. */
#ifndef MOIL_TEST_PROC_H
#define MOIL_TEST_PROC_H

#include "check.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline const char *moil_bin(void) {
    const char *m = getenv("MOIL");
    return m && *m ? m : "./moil";
}

/* Run the shell command made from fmt; its stdout and stderr go into *out
 * (a new string; NULL to drop them). Returns the exit status, 128 + the
 * signal number if it was killed, -1 if it could not run. */
static inline int proc_run(char **out, const char *fmt, ...) MOIL_PRINTF(2, 3);
static inline int proc_run(char **out, const char *fmt, ...) {
    char cmd[4096], log[] = "/tmp/moil_test_proc_XXXXXX";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int fd = mkstemp(log);
    if (fd < 0) return -1;
    close(fd);
    char full[4400];
    snprintf(full, sizeof full, "(%s) >%s 2>&1", cmd, log);
    int st = system(full);
    if (out && !(*out = file_read_all(log, (size_t)1 << 24, NULL))) *out = xstrdup("");
    unlink(log);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the shell command made from fmt through proc_run, its output (stdout
 * and stderr) into out[n], cut to fit; proc_run's status. */
static inline int proc_run_into(char *out, size_t n, const char *fmt, ...) MOIL_PRINTF(3, 4);
static inline int proc_run_into(char *out, size_t n, const char *fmt, ...) {
    char cmd[4096], *text;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = proc_run(&text, "%s", cmd);
    snprintf(out, n, "%s", text);
    free(text);
    return rc;
}

/* Run `$MOIL ARGS` from fmt through proc_run_into. */
static inline int proc_moil(char *out, size_t n, const char *fmt, ...) MOIL_PRINTF(3, 4);
static inline int proc_moil(char *out, size_t n, const char *fmt, ...) {
    char args[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return proc_run_into(out, n, "'%s' %s", moil_bin(), args);
}

/* The value of the last "name=value" line of out, into buf; 0 or -1. */
static inline int out_value(const char *out, const char *name, char *buf, size_t cap) {
    size_t len = strlen(name);
    int found = -1;
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, len) || p[len] != '=') continue;
        const char *v = p + len + 1, *e = strchr(v, '\n');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        if (n >= cap) n = cap - 1;
        memcpy(buf, v, n);
        buf[n] = 0;
        found = 0;
    }
    return found;
}

static inline int out_int(const char *out, const char *name) {
    char buf[64];
    return out_value(out, name, buf, sizeof buf) == 0 ? atoi(buf) : -999;
}

/* The first column of the first row of sql on the database at path, read
 * through a raw SQLite connection that waits up to 5 s for a writer's lock;
 * -999 (message printed) on failure. */
static inline long long sql_int(const char *path, const char *sql) {
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(c, 5000) == SQLITE_OK && sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else printf("  sql_int(%s): %s\n", sql, sqlite3_errmsg(c));
    sqlite3_finalize(st);
    sqlite3_close(c);
    return v;
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* rm -rf dir */
static inline void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

#endif
