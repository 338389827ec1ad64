/* The moil program answers every way a person asks what it can do: `moil`,
 * `moil --help`, `moil -h`, `moil help` list the commands; every command of
 * that list answers `--help` with its usage; a command group (`moil db`,
 * `moil data`, `moil table`, `moil regions`) without its subcommand, with
 * --help or -h, with an unknown subcommand, or asked through `moil help db`,
 * lists its subcommands with the same summaries as the full list. The
 * commands and groups are read from `moil --help` itself, so a new command is
 * checked without a change here. Runs the built binary ($MOIL, else ./moil). */
#include "proc.h"
#include "test.h"

static char tmp_dir[] = "/tmp/moil_test_cli_help_XXXXXX";
#include "tmp_path.h"

/* Command lines, as listed under "commands:" in `moil --help`. */
#define MAX_COMMANDS 64
typedef struct {
    char name[64], summary[256];
} Listed;

/* The "  name  summary" lines after the line `header` of out, into list;
 * their number. */
static int parse_list(const char *out, const char *header, Listed *list, int cap) {
    const char *p = strstr(out, header);
    int n = 0;
    for (p = p ? strchr(p, '\n') : NULL; p && p[1] == ' ' && p[2] == ' ' && n < cap; p = strchr(p + 1, '\n')) {
        const char *name = p + 3, *gap = strstr(name, "  "), *end = strchr(name, '\n');
        if (!gap || !end || gap > end) break;
        const char *summary = gap;
        while (*summary == ' ') summary++;
        snprintf(list[n].name, sizeof list[n].name, "%.*s", (int)(gap - name), name);
        snprintf(list[n].summary, sizeof list[n].summary, "%.*s", (int)(end - summary), summary);
        n++;
    }
    return n;
}

static int listed_commands(Listed *list) {
    char *out;
    int rc = proc_run(&out, "'%s' --help 2>/dev/null", moil_bin());
    int n = rc == 0 ? parse_list(out, "commands:\n", list, MAX_COMMANDS) : 0;
    free(out);
    return n;
}

/* Exit status of `moil args`; its stdout and its stderr, each into a new
 * string. */
static int moil_split(char **out, char **err, const char *args) {
    int rc = proc_run(out, "'%s' %s 2>'%s'", moil_bin(), args, tmp_path("stderr"));
    if (!(*err = file_read_all(tmp_path("stderr"), 1 << 20, NULL))) *err = xstrdup("(no stderr file)");
    return rc;
}

static void test_top_level_help(void) {
    static const char *const asks[] = {"--help", "-h", "help"};
    char *out, *err;
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        int rc = moil_split(&out, &err, asks[i]);
        CHECK(rc == 0 && strstr(out, "usage: moil <command>") && strstr(out, "  db runs  ") && !*err,
              "moil %s: exit %d, stdout: %s, stderr: %s", asks[i], rc, out, err);
        free(out), free(err);
    }
    int rc = moil_split(&out, &err, "");
    CHECK(rc == 2 && !*out && strstr(err, "usage: moil <command>") && strstr(err, "  finetune  "),
          "bare moil: exit %d, stdout: %s, stderr: %s", rc, out, err);
    free(out), free(err);
    rc = moil_split(&out, &err, "nosuch");
    CHECK(rc == 2 && !*out && strstr(err, "unknown command 'nosuch'") && strstr(err, "  pretrain  "),
          "moil nosuch: exit %d, stdout: %s, stderr: %s", rc, out, err);
    free(out), free(err);
    rc = moil_split(&out, &err, "help nosuch");
    CHECK(rc == 2 && strstr(err, "unknown command 'nosuch'"), "moil help nosuch: exit %d, stderr: %s", rc, err);
    free(out), free(err);
}

/* Every listed command, asked with --help, -h or through `moil help`, prints
 * its usage to stdout and exits 0. */
static void test_every_command_has_help(void) {
    Listed list[MAX_COMMANDS];
    int n = listed_commands(list);
    CHECK(n >= 10, "moil --help lists %d commands", n);
    for (int i = 0; i < n; i++) {
        char args[3][128], usage[96];
        snprintf(args[0], sizeof args[0], "%s --help", list[i].name);
        snprintf(args[1], sizeof args[1], "%s -h", list[i].name);
        snprintf(args[2], sizeof args[2], "help %s", list[i].name);
        snprintf(usage, sizeof usage, "usage: moil %s", list[i].name);
        for (int a = 0; a < 3; a++) {
            char *out, *err;
            int rc = moil_split(&out, &err, args[a]);
            CHECK(rc == 0 && strstr(out, usage) == out && !*err, "moil %s: exit %d, stdout: %.200s, stderr: %s",
                  args[a], rc, out, err);
            free(out), free(err);
        }
    }
}

typedef struct {
    char name[32];
} Group;

/* The groups of the listed commands: the first words of the two-word names. */
static int groups_of(const Listed *list, int n, Group *groups) {
    int n_groups = 0;
    for (int i = 0; i < n; i++) {
        const char *sp = strchr(list[i].name, ' ');
        if (!sp) continue;
        char g[32];
        snprintf(g, sizeof g, "%.*s", (int)(sp - list[i].name), list[i].name);
        int seen = 0;
        for (int k = 0; k < n_groups; k++) seen |= !strcmp(groups[k].name, g);
        if (!seen) strcpy(groups[n_groups++].name, g);
    }
    return n_groups;
}

/* text lists exactly the subcommands of group among list, each with its
 * summary, under "subcommands:". */
static int lists_group(const char *text, const char *group, const Listed *list, int n) {
    Listed sub[MAX_COMMANDS];
    int n_sub = parse_list(text, "subcommands:\n", sub, MAX_COMMANDS), expected = 0;
    size_t len = strlen(group);
    for (int i = 0; i < n; i++) {
        if (strncmp(list[i].name, group, len) || list[i].name[len] != ' ') continue;
        int found = 0;
        for (int k = 0; k < n_sub; k++)
            found |= !strcmp(sub[k].name, list[i].name + len + 1) && !strcmp(sub[k].summary, list[i].summary);
        if (!found) return 0;
        expected++;
    }
    return expected > 0 && n_sub == expected;
}

static void test_groups_list_subcommands(void) {
    Listed list[MAX_COMMANDS];
    Group groups[MAX_COMMANDS];
    int n = listed_commands(list), n_groups = groups_of(list, n, groups);
    const char *expect[] = {"data", "regions", "db", "table"};
    for (size_t e = 0; e < sizeof expect / sizeof expect[0]; e++) {
        int seen = 0;
        for (int k = 0; k < n_groups; k++) seen |= !strcmp(groups[k].name, expect[e]);
        CHECK(seen, "group '%s' is not among the listed commands", expect[e]);
    }
    for (int g = 0; g < n_groups; g++) {
        const char *group = groups[g].name;
        char args[3][64], usage[96], *out, *err;
        snprintf(args[0], sizeof args[0], "%.31s --help", group);
        snprintf(args[1], sizeof args[1], "%.31s -h", group);
        snprintf(args[2], sizeof args[2], "help %.31s", group);
        snprintf(usage, sizeof usage, "usage: moil %.31s <subcommand>", group);
        for (int a = 0; a < 3; a++) {
            int rc = moil_split(&out, &err, args[a]);
            CHECK(rc == 0 && strstr(out, usage) == out && lists_group(out, group, list, n) && !*err,
                  "moil %s: exit %d, stdout: %s, stderr: %s", args[a], rc, out, err);
            free(out), free(err);
        }
        int rc = moil_split(&out, &err, group);
        CHECK(rc == 2 && !*out && strstr(err, "missing subcommand") && lists_group(err, group, list, n),
              "moil %s: exit %d, stdout: %s, stderr: %s", group, rc, out, err);
        free(out), free(err);
        snprintf(args[0], sizeof args[0], "%.31s bogus", group);
        rc = moil_split(&out, &err, args[0]);
        CHECK(rc == 2 && !*out && strstr(err, "unknown subcommand 'bogus'") && lists_group(err, group, list, n),
              "moil %s: exit %d, stdout: %s, stderr: %s", args[0], rc, out, err);
        free(out), free(err);
    }
}

int main(void) {
    if (!mkdtemp(tmp_dir)) return 1;
    RUN(test_top_level_help);
    RUN(test_every_command_has_help);
    RUN(test_groups_list_subcommands);
    rm_tree(tmp_dir);
    return TEST_DONE();
}
