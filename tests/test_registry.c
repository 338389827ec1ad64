/* The name registries: lookup by name in a table of structs named by their
 * first member, and the "unknown X" message of each real table, word for
 * word (scripts and users read it). */
#include "check.h"
#include "method.h"
#include "model.h"
#include "registry.h"
#include "task_registry.h"
#include "test.h"

typedef struct {
    const char *name;
    int value;
} Entry;

static void test_find_and_get(void) {
    static const Entry a = {"alpha", 1}, b = {"beta", 2};
    static const void *const items[] = {&a, &b};
    const Registry r = REGISTRY_OF("thing", items);
    CHECK(r.n == 2, "n %d", r.n);
    const Entry *e = registry_find(&r, "beta");
    CHECK(e == &b, "found %p, expected %p", (const void *)e, (const void *)&b);
    CHECK(registry_find(&r, "gamma") == NULL, "gamma found");
    err_clear();
    CHECK(registry_get(&r, "alpha") == &a && !*err_msg(), "alpha: %s", err_msg());
    CHECK(registry_get(&r, "gamma") == NULL, "gamma got");
    CHECK(!strcmp(err_msg(), "unknown thing 'gamma' (known: alpha, beta)"), "%s", err_msg());
}

static void test_unknown_names(void) {
    ModelConfig c;
    CHECK(model_config_default(&c, "vlmo", 100) == 0 && !strcmp(c.kind, "vlmo"), "vlmo: %s", err_msg());
    CHECK(model_config_default(&c, "bogus", 100) != 0, "model bogus accepted");
    CHECK(!strcmp(err_msg(), "unknown model 'bogus' (known: vilt, vlmo, vinvl)"), "%s", err_msg());

    Method m;
    MethodOptions o = method_options_default();
    CHECK(method_create(&m, "dora", &o) == 0 && !strcmp(m.ops->name, "dora"), "dora: %s", err_msg());
    method_destroy(&m);
    CHECK(method_create(&m, "bogus", &o) != 0 && m.ops == NULL, "method bogus accepted");
    CHECK(!strcmp(err_msg(), "unknown method 'bogus' (known: full, heads, bitfit, prompt, adapter, lora, dora, moil)"),
          "%s", err_msg());

    Task t;
    TaskEnv env = {0};
    CHECK(task_create(&t, "nlvr", &env) == 0 && !strcmp(t.ops->name, "nlvr"), "nlvr: %s", err_msg());
    CHECK(task_create(&t, "bogus", &env) != 0 && t.ops == NULL, "task bogus accepted");
    CHECK(!strcmp(err_msg(), "unknown task 'bogus' (known: pretrain, vqa, retrieval, nlvr, caption)"), "%s",
          err_msg());
}

int main(void) {
    RUN(test_find_and_get);
    RUN(test_unknown_names);
    return TEST_DONE();
}
