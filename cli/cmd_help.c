/* What moil prints when a person asks it what it can do: the list of its
 * commands (`moil`, `moil --help`, `moil help`, an unknown command) and the
 * list of a command group's subcommands (`moil db`, `moil db --help`,
 * `moil db bogus`). A group is the first word of the two-word commands of the
 * table in cli/main.c ("db" of "db runs", "db show", ...). */
#include "commands.h"

#include <string.h>

/* The length of "group " if command name `name` is a subcommand of group
 * ("db runs" of "db"), else 0; with group NULL, 0 for every name. */
static size_t group_prefix(const char *name, const char *group) {
    if (!group) return 0;
    size_t len = strlen(group);
    return strncmp(name, group, len) == 0 && name[len] == ' ' ? len + 1 : 0;
}

/* One line "  name  summary" per command (group NULL) or per subcommand of
 * group, without the group's word, the summaries in one column. */
static void list_commands(FILE *out, const Command *cmds, int n, const char *group) {
    int width = 0;
    for (int i = 0; i < n; i++) {
        size_t skip = group_prefix(cmds[i].name, group);
        int len = (int)strlen(cmds[i].name + skip);
        if ((skip || !group) && len > width) width = len;
    }
    for (int i = 0; i < n; i++) {
        size_t skip = group_prefix(cmds[i].name, group);
        if (skip || !group) fprintf(out, "  %-*s  %s\n", width, cmds[i].name + skip, cmds[i].summary);
    }
}

void help_commands(FILE *out, const Command *cmds, int n) {
    fputs("usage: moil <command> [options]\n"
          "(a command's options: moil <command> --help, or moil help <command>)\n\n"
          "commands:\n", out);
    list_commands(out, cmds, n, NULL);
}

static void help_subcommands(FILE *out, const Command *cmds, int n, const char *group) {
    fprintf(out, "usage: moil %s <subcommand> [options]   (moil %s <subcommand> --help for its options)\n\n"
                 "subcommands:\n", group, group);
    list_commands(out, cmds, n, group);
}

int help_group(const Command *cmds, int n, int argc, char **argv) {
    const char *group = argv[0];
    int known = 0;
    for (int i = 0; i < n && !known; i++) known = group_prefix(cmds[i].name, group) != 0;
    if (!known) return -1;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        help_subcommands(stdout, cmds, n, group);
        return 0;
    }
    if (argc < 2) fprintf(stderr, "moil %s: missing subcommand\n\n", group);
    else fprintf(stderr, "moil %s: unknown subcommand '%s'\n\n", group, argv[1]);
    help_subcommands(stderr, cmds, n, group);
    return 2;
}
