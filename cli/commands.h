/* The subcommands of the moil program. Each takes the arguments after its
 * name (argv[0] is the command name) and returns the process exit status.
 * Adding a command: write cli/cmd_<name>.c and add one line to the table in
 * cli/main.c. */
#ifndef MOIL_COMMANDS_H
#define MOIL_COMMANDS_H

typedef int (*CommandFn)(int argc, char **argv);

typedef struct {
    const char *name;    /* "bench", or two words such as "data gen" */
    CommandFn run;
    const char *summary; /* one line for `moil --help` */
} Command;

/* Print usage to stdout if argv holds --help or -h; returns 1 if it did. */
int cli_wants_help(int argc, char **argv, const char *usage);

int cmd_bench(int argc, char **argv);
int cmd_bench_infer(int argc, char **argv);
int cmd_data_gen(int argc, char **argv);
int cmd_data_stats(int argc, char **argv);
int cmd_db_check(int argc, char **argv);
int cmd_db_export(int argc, char **argv);
int cmd_db_merge(int argc, char **argv);
int cmd_db_runs(int argc, char **argv);
int cmd_db_show(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_regions(int argc, char **argv);
int cmd_table_plan(int argc, char **argv);
int cmd_table_render(int argc, char **argv);
int cmd_table_tag(int argc, char **argv);

#endif
