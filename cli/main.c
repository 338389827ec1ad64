/* moil: one program, one subcommand per job; `moil <command> --help`; the
 * help texts of the program and its command groups are in cli/cmd_help.c. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const Command commands[] = {
    {"bench", cmd_bench, "time training and inference steps, small and ViLT-B/32 size, against PyTorch"},
    {"bench-infer", cmd_bench_infer, "time inference per example of each method, as trained and merged; logs a run"},
    {"data gen", cmd_data_gen, "generate the fashion-scenes datasets (JPEG + COCO/Karpathy/VQA v2/NLVR2 files)"},
    {"pretrain", cmd_pretrain, "pretrain the backbone (MLM + ITM + ITC) and measure its grounding"},
    {"backbone hash", cmd_backbone_hash, "the weights hash of a checkpoint (its tensors, not its metadata)"},
    {"backbone install", cmd_backbone_install, "check a shipped backbone's weights hash and copy it into a backbone folder"},
    {"regions train", cmd_regions, "stage one of the VinVL-style model: train the region encoder and tagger, cache region features"},
    {"finetune", cmd_finetune, "adapt a backbone to a task with one method, evaluate, log to the results database"},
    {"convert", cmd_convert, "a released ViLT checkpoint into one of ours (model config, vocabulary, task heads), and back"},
    {"eval", cmd_eval, "evaluate a fine-tuned checkpoint without training: predictions, metrics, a logged run"},
    {"data stats", cmd_data_stats, "counts, vocabularies, answer distributions and the language-prior VQA floor of a dataset"},
    {"db runs", cmd_db_runs, "list the runs of the results database, with status and key metric"},
    {"db show", cmd_db_show, "one run of the results database: config, status, metrics, curve summary"},
    {"db pair", cmd_db_pair, "two runs' per-item scores of the same test items: paired bootstrap test"},
    {"db export", cmd_db_export, "runs, metrics or curves of the results database as CSV, TSV or Markdown"},
    {"db merge", cmd_db_merge, "fold shard results databases into one, without duplicates"},
    {"db check", cmd_db_check, "integrity, schema version and stale running rows of the results database"},
    {"table plan", cmd_table_plan, "expand experiments/ into runs for run_all.sh and record the table layouts"},
    {"table tag", cmd_table_tag, "record which run a run_all.sh run key made"},
    {"table render", cmd_table_render, "render a reproduced table (Markdown, LaTeX) from the results database"},
    {"table compare", cmd_table_compare, "compare one table of two results databases (two editions) cell by cell"},
    {"table claims", cmd_table_claims, "the paper's claims with the table-row comparisons that test them (Markdown)"},
    {"report", cmd_report, "the results report of a profile: one self-contained HTML page from the results database"},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

int cli_wants_help(int argc, char **argv, const char *usage) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (!strcmp(argv[i], "--")) break;
    }
    return 0;
}

/* Does command name `name` ("data gen") match the words argv[0..]? Returns
 * the number of words matched, 0 if it does not match. */
static int command_match(const char *name, int argc, char **argv) {
    int words = 0;
    const char *p = name;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (words >= argc || strlen(argv[words]) != len || strncmp(argv[words], p, len)) return 0;
        words++;
        p += len + (sp ? 1 : 0);
    }
    return words;
}

int main(int argc, char **argv) {
    static char help_flag[] = "--help";
    if (argc >= 3 && !strcmp(argv[1], "help")) { /* moil help db runs: moil db runs --help */
        memmove(argv + 1, argv + 2, (size_t)(argc - 2) * sizeof *argv);
        argv[argc - 1] = help_flag;
    }
    if (argc < 2) {
        help_commands(stderr, commands, n_commands);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        help_commands(stdout, commands, n_commands);
        return 0;
    }
    for (int i = 0; i < n_commands; i++) {
        int words = command_match(commands[i].name, argc - 1, argv + 1);
        if (words) return commands[i].run(argc - words, argv + words);
    }
    int rc = help_group(commands, n_commands, argc - 1, argv + 1);
    if (rc >= 0) return rc;
    fprintf(stderr, "moil: unknown command '%s'\n\n", argv[1]);
    help_commands(stderr, commands, n_commands);
    return 2;
}
