/* The VinVL-style model (engine/models/model_vinvl.c) behind the Model interface. */
#include <stdlib.h>

#include "check.h"
#include "model.h"
#include "model_vinvl.h"

static Vinvl *impl(Model *m) { return m->impl; }

static int vinvl_create(Model *m) {
    m->impl = xcalloc(1, sizeof(Vinvl));
    if (vinvl_register(impl(m), &m->cfg.vilt, &m->cfg.regions, &m->params) != 0) return -1;
    m->Tt = impl(m)->Tt;
    return 0;
}

static void vinvl_model_init(Model *m, Rng *rng) { vinvl_init_weights(impl(m), rng); }

static void vinvl_model_alloc(Model *m, int max_batch) {
    Vinvl *v = impl(m);
    vinvl_alloc(v, max_batch);
    m->T = v->T;
    m->n_image_tokens = v->Ntag + v->R;
    m->final = v->act.final;
    m->pooled = v->act.pooled;
}

static int vinvl_model_forward(Model *m, const ModelInput *in) { return vinvl_forward(impl(m), in); }

static void vinvl_model_backward(Model *m, const ModelInput *in, const float *dfinal, const float *dpooled) {
    vinvl_backward(impl(m), in, dfinal, dpooled);
}

static void vinvl_model_backbone(Model *m, Backbone *bb) { vinvl_backbone(impl(m), bb); }

static void vinvl_model_destroy(Model *m) {
    if (!m->impl) return;
    vinvl_free(impl(m));
    free(m->impl);
    m->impl = NULL;
}

const ModelOps model_vinvl = {
    .kind = "vinvl",
    .prepare = vinvl_config_prepare,
    .create = vinvl_create,
    .init_weights = vinvl_model_init,
    .alloc = vinvl_model_alloc,
    .forward = vinvl_model_forward,
    .backward = vinvl_model_backward,
    .backbone = vinvl_model_backbone,
    .destroy = vinvl_model_destroy,
};
