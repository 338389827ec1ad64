/* moil finetune: adapt a backbone to one task with one method (run_common.c). */
#include "commands.h"
#include "run_common.h"

int cmd_finetune(int argc, char **argv) { return run_main(argc, argv, RUN_FINETUNE); }
