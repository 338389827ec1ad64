/* moil pretrain: pretrain the backbone, or evaluate its grounding (run_common.c). */
#include "commands.h"
#include "run_common.h"

int cmd_pretrain(int argc, char **argv) { return run_main(argc, argv, RUN_PRETRAIN); }
