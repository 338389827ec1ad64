/* The table of tasks, by name, and creating a task by name. */
#include "task_registry.h"

#include <string.h>

#include "registry.h"

extern const TaskOps task_vqa, task_pretrain;
extern const TaskOps task_retrieval;
extern const TaskOps task_nlvr;
extern const TaskOps task_caption;

static const void *const tasks[] = {
    &task_pretrain,
    &task_vqa,
    &task_retrieval,
    &task_nlvr,
    &task_caption,
};
static const Registry registry = REGISTRY_OF("task", tasks);

int task_count(void) { return registry.n; }
const TaskOps *task_at(int i) { return tasks[i]; }

int task_create(Task *t, const char *name, const TaskEnv *env) {
    memset(t, 0, sizeof *t);
    t->ops = registry_get(&registry, name);
    if (!t->ops) return -1;
    t->env = *env;
    return 0;
}
