/* What every method shares: options, destroying, freezing, and parameter
 * accounting (the registry and method_create: method_registry.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method.h"

MethodOptions method_options_default(void) {
    MethodOptions o = {.targets = TARGETS_QKV, .rank = 16, .alpha = 16.0f, .rslora = 0, .pissa = 0,
                       .lora_plus = 1.0f, .bitfit_norms = 0, .adapter_reduction = 8, .prompt_len = 10,
                       .rank_lora = 16, .rank_adapter = 16, .momentum = -1.0, .student = MOIL_STUDENT_HYBRID,
                       .imitation_scale = 1.0, .total_steps = 0};
    return o;
}

void method_destroy(Method *m) {
    if (m->ops && m->ops->destroy) m->ops->destroy(m);
    m->state = NULL;
}

int method_n_variants(const Method *m) { return m->ops->n_variants ? m->ops->n_variants(m) : 1; }

const char *method_variant_name(const Method *m, int v) {
    return m->ops->n_variants ? m->ops->variant_name(m, v) : "trained";
}

void method_freeze_backbone(Params *p) {
    params_set_trainable_group(p, PARAM_GROUP_BACKBONE, 0);
    params_set_trainable_group(p, PARAM_GROUP_HEAD, 1);
}

ParamAccount method_account(const Method *m, const Params *p) {
    ParamAccount a;
    a.backbone = params_count_group(p, PARAM_GROUP_BACKBONE);
    a.trainable = params_count_trainable(p, -1);
    a.heads = params_count_group(p, PARAM_GROUP_HEAD);
    a.stored = m->ops->stored_params ? m->ops->stored_params(m, p) : a.trainable;
    return a;
}

/* --student's values, in MoilStudent order */
static const char *const student_forms[] = {[MOIL_STUDENT_HYBRID] = "hybrid", [MOIL_STUDENT_LORA] = "lora",
                                            [MOIL_STUDENT_ADAPTER] = "adapter"};

int method_option_parse(MethodOptions *o, const char *name, const char *value) {
    double d;
    int rc;
    if (!strcmp(name, "targets")) return backbone_targets_parse(value, &o->targets) == 0 ? 1 : -1;
    if (!strcmp(name, "rank")) return option_parse_int(name, value, 1, 4096, &o->rank) == 0 ? 1 : -1;
    if (!strcmp(name, "rank-lora")) return option_parse_int(name, value, 0, 4096, &o->rank_lora) == 0 ? 1 : -1;
    if (!strcmp(name, "rank-adapter")) return option_parse_int(name, value, 0, 4096, &o->rank_adapter) == 0 ? 1 : -1;
    if (!strcmp(name, "adapter-reduction")) return option_parse_int(name, value, 1, 4096, &o->adapter_reduction) == 0 ? 1 : -1;
    if (!strcmp(name, "prompt-len")) return option_parse_int(name, value, 1, 1024, &o->prompt_len) == 0 ? 1 : -1;
    if (!strcmp(name, "alpha")) {
        rc = option_parse_double(name, value, 1e-6, 1e6, &d);
        o->alpha = (float)d;
        return rc == 0 ? 1 : -1;
    }
    if (!strcmp(name, "lora-plus")) {
        rc = option_parse_double(name, value, 1e-3, 1e4, &d);
        o->lora_plus = (float)d;
        return rc == 0 ? 1 : -1;
    }
    if (!strcmp(name, "momentum")) {
        if (!strcmp(value, "auto")) {
            o->momentum = -1;
            return 1;
        }
        return option_parse_double(name, value, 0.0, 0.999999, &o->momentum) == 0 ? 1 : -1;
    }
    if (!strcmp(name, "imitation-scale")) return option_parse_double(name, value, 0.0, 1e9, &o->imitation_scale) == 0 ? 1 : -1;
    if (!strcmp(name, "student")) {
        int i = NAME_INDEX(student_forms, value);
        if (i < 0) return err_set("--student %s: expected hybrid, lora or adapter", value);
        o->student = (MoilStudent)i;
        return 1;
    }
    if (!strcmp(name, "rslora")) return (o->rslora = 1);
    if (!strcmp(name, "pissa")) return (o->pissa = 1);
    if (!strcmp(name, "bitfit-norms")) return (o->bitfit_norms = 1);
    return 0;
}

/* Options that take no value. */
int method_option_is_flag(const char *name) {
    return !strcmp(name, "rslora") || !strcmp(name, "pissa") || !strcmp(name, "bitfit-norms");
}

void method_options_json(const MethodOptions *o, char *buf, size_t n) {
    char targets[64];
    backbone_targets_format(o->targets, targets, sizeof targets);
    snprintf(buf, n,
             "\"targets\":\"%s\",\"rank\":%d,\"alpha\":%.9g,\"rslora\":%d,\"pissa\":%d,\"lora_plus\":%.9g,"
             "\"bitfit_norms\":%d,\"adapter_reduction\":%d,\"prompt_len\":%d,\"rank_lora\":%d,"
             "\"rank_adapter\":%d,\"momentum\":%.10g,\"student\":\"%s\",\"imitation_scale\":%g",
             targets, o->rank, o->alpha, o->rslora, o->pissa, o->lora_plus, o->bitfit_norms, o->adapter_reduction,
             o->prompt_len, o->rank_lora, o->rank_adapter, o->momentum, student_forms[o->student], o->imitation_scale);
}

const char method_options_help[] =
    "method options:\n"
    "  --targets LIST       projections LoRA/DoRA/MoIL adapt: q,k,v,proj,fc1,fc2 or all (default qkv)\n"
    "  --rank R             LoRA/DoRA rank (default 16)\n"
    "  --alpha A            LoRA scale alpha/rank (default alpha = 16)\n"
    "  --rslora             LoRA scale alpha/sqrt(rank)\n"
    "  --pissa              LoRA initialised from the top singular vectors of W0\n"
    "  --lora-plus X        learning rate of LoRA's B = X times A's (default 1)\n"
    "  --bitfit-norms       BitFit also trains LayerNorm weights and biases\n"
    "  --adapter-reduction F  bottleneck adapter hidden = d/F (default 8)\n"
    "  --prompt-len N       deep prompt tokens per layer (default 10)\n"
    "  --rank-lora R        MoIL student LoRA rank r_l (default 16)\n"
    "  --rank-adapter R     MoIL student adapter rank r_a (default 16)\n"
    "  --momentum M|auto    MoIL EMA rate; 0 = imitate the online weights; auto (default)\n"
    "                       = min(0.9996, 1 - 5/steps), so the EMA spans the run\n"
    "  --student FORM       MoIL student: hybrid (default), lora, adapter\n"
    "  --imitation-scale S  multiplies MoIL's imitation loss (default 1 = the official mean)\n";
