/* The shared run behind `moil finetune` and `moil pretrain`. */
#ifndef MOIL_RUN_COMMON_H
#define MOIL_RUN_COMMON_H

typedef enum { RUN_FINETUNE, RUN_PRETRAIN } RunKind;

int run_main(int argc, char **argv, RunKind kind);

#endif
