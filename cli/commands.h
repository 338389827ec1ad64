/* The subcommands of the moil program. Each takes the arguments after its
 * name (argv[0] is the command name) and returns the process exit status.
 * Adding a command: write cli/cmd_<name>.c and add one line to the table in
 * cli/main.c. */
#ifndef MOIL_COMMANDS_H
#define MOIL_COMMANDS_H

#include <stdio.h>

typedef int (*CommandFn)(int argc, char **argv);

typedef struct {
    const char *name;    /* "bench", or two words such as "data gen" */
    CommandFn run;
    const char *summary; /* one line for `moil --help` */
} Command;

/* Print usage to stdout if argv holds --help or -h; returns 1 if it did. */
int cli_wants_help(int argc, char **argv, const char *usage);

/* cli/cmd_help.c, over the n commands of cmds. help_commands: the usage line
 * and one line per command, to out. help_group: if argv[0] is a command group
 * ("db"), list its subcommands (to stdout with exit status 0 when argv[1] is
 * --help or -h; to stderr, after naming what is wrong, with status 2 when the
 * subcommand is missing or unknown); -1 if argv[0] is not a group. */
void help_commands(FILE *out, const Command *cmds, int n);
int help_group(const Command *cmds, int n, int argc, char **argv);

int cmd_backbone_hash(int argc, char **argv);
int cmd_backbone_install(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_infer(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_data_gen(int argc, char **argv);
int cmd_data_stats(int argc, char **argv);
int cmd_db_check(int argc, char **argv);
int cmd_db_export(int argc, char **argv);
int cmd_db_merge(int argc, char **argv);
int cmd_db_pair(int argc, char **argv);
int cmd_db_runs(int argc, char **argv);
int cmd_db_show(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_regions(int argc, char **argv);
int cmd_table_plan(int argc, char **argv);
int cmd_table_compare(int argc, char **argv);
int cmd_table_claims(int argc, char **argv);
int cmd_table_render(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_table_tag(int argc, char **argv);

#endif
