/* The shared run behind `moil finetune` and `moil pretrain`. */
#ifndef MOIL_RUN_COMMON_H
#define MOIL_RUN_COMMON_H

#include "train_task.h"

typedef enum { RUN_FINETUNE, RUN_PRETRAIN } RunKind;

int run_main(int argc, char **argv, RunKind kind);

/* The metrics as the name=value lines every command that computes them ends
 * with. */
void run_print_metrics(const MetricList *l);

#endif
