/* scripts/deps.sh probes what the build really needs, so a header alone does
 * not fool it: run in check mode (it installs nothing) against a stand-in
 * toolchain (tests/standin_cc.sh: this machine's gcc confined to a sysroot of
 * symbolic links) in which cblas.h exists but libopenblas does not, it names
 * libopenblas-dev, and only it, with the link failure as the reason; against
 * a complete stand-in, and against this machine's own toolchain (`make test`
 * installed what was missing before building), it names nothing. */
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_deps_XXXXXX";
#include "tmp_path.h"

static char out[1 << 14];

/* The stand-in toolchain in tmp_dir/<name> without the libraries hidden (a
 * space-separated list of names as in -l<name>); its folder. */
static const char *standin(const char *name, const char *hidden) {
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp_path(name));
    int rc = proc_run_into(out, sizeof out, "sh tests/standin_cc.sh %s %s", dir, hidden);
    CHECK(rc == 0, "standin_cc.sh %s: status %d:\n%s", hidden, rc, out);
    return dir;
}

/* `scripts/deps.sh check` with the compiler of the stand-in in folder
 * standin_dir (NULL: the environment's CC, or cc); its status, its output
 * into out. */
static int deps_check(const char *standin_dir) {
    if (!standin_dir) return proc_run_into(out, sizeof out, "sh scripts/deps.sh check");
    return proc_run_into(out, sizeof out, "CC='%s/cc' sh scripts/deps.sh check", standin_dir);
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_machine_toolchain_complete(void) {
    int rc = deps_check(NULL);
    CHECK(rc == 0 && out[0] == 0, "status %d:\n%s", rc, out);
}

static void test_standin_complete(void) {
    const char *dir = standin("complete", "");
    int rc = deps_check(dir);
    CHECK(rc == 0 && out[0] == 0, "status %d:\n%s", rc, out);
}

static void test_standin_header_without_openblas(void) {
    const char *dir = standin("no-openblas", "openblas");
    /* the header is there: probing it alone (as deps.sh once did) finds it */
    int rc = proc_run_into(out, sizeof out, "printf '#include <cblas.h>\\n' | '%s/cc' -E -x c - >/dev/null", dir);
    CHECK(rc == 0, "cblas.h missing from the stand-in: status %d:\n%s", rc, out);
    rc = deps_check(dir);
    CHECK(rc == 1, "status %d:\n%s", rc, out);
    CHECK(strstr(out, "missing dependency: Debian package libopenblas-dev for matrix products") != NULL, "%s", out);
    CHECK(strstr(out, "cblas.h compiles but -lopenblas does not link") != NULL, "%s", out);
    CHECK(count(out, "missing dependency:") == 1, "only libopenblas-dev is missing:\n%s", out);
    CHECK(strstr(out, "run 'make deps'") != NULL, "%s", out);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        printf("test_deps: %s: cannot create a temporary folder\n", tmp_dir);
        return 1;
    }
    RUN(test_machine_toolchain_complete);
    RUN(test_standin_complete);
    RUN(test_standin_header_without_openblas);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
