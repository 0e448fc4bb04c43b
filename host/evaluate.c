#include "evaluate.h"

#include <math.h>
#include <string.h>

#include <larch/rng.h>
#include <larch/strategy.h>

int host_evaluator_init(host_evaluator *ev, const host_config *cfg, const larch_opset_vtable *opset,
                        larch_error *err)
{
    memset(ev, 0, sizeof *ev);
    ev->cfg = cfg;
    ev->opset = opset;
    int rc = trainer_data_load(&ev->data, &cfg->data, err);
    if (rc != LARCH_OK)
        return rc;
    const trainer_dataset *train = &ev->data.train;
    ev->input = (trainer_input_shape){.c = train->c,
                                      .h = train->h,
                                      .w = train->w,
                                      .classes = train->classes,
                                      .max_batch = cfg->recipe.batch};
    return LARCH_OK;
}

void host_evaluator_release(host_evaluator *ev)
{
    trainer_data_release(&ev->data);
}

int host_evaluate(host_evaluator *ev, const larch_arch *arch, trainer_outcome *out,
                  larch_error *err)
{
    uint64_t seed = larch_seed_derive(ev->cfg->seed, larch_arch_hash(arch));
    trainer_network *net = NULL;
    int rc = trainer_network_new_cell(&ev->cfg->cell, ev->opset, arch, &ev->input, seed, &net, err);
    if (rc != LARCH_OK)
        return rc;
    rc = trainer_train(net, &ev->cfg->recipe, &ev->data, seed, out, err);
    trainer_network_free(net);
    return rc;
}

double host_score(const host_config *cfg, const trainer_outcome *outcome)
{
    if (outcome->status != LARCH_TRIAL_OK)
        return NAN;
    double score = outcome->val_accuracy;
    if (cfg->objective == HOST_OBJECTIVE_ACCURACY_FLOPS && outcome->flops > 0)
        score *= pow((double)outcome->flops / cfg->flops_target, cfg->flops_exponent);
    return score;
}
