/* The tasks by name (the table in task_registry.c). */
#ifndef MOIL_TASK_REGISTRY_H
#define MOIL_TASK_REGISTRY_H

#include "train_task.h"

/* The tasks in listing order. */
int task_count(void);
const TaskOps *task_at(int i);

/* Create a task by name with env; -1 (err_set) if unknown. */
int task_create(Task *t, const char *name, const TaskEnv *env);

#endif
