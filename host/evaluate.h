/* The evaluator: turns a proposed architecture into a trained network's metrics, the same way
 * for every strategy of an experiment. */
#ifndef HOST_EVALUATE_H
#define HOST_EVALUATE_H

#include <larch/opset.h>
#include <larch/space.h>
#include <larch/status.h>

#include "config.h"

typedef struct host_evaluator {
    const host_config *cfg;
    const larch_opset_vtable *opset;
    trainer_data data;
    trainer_input_shape input;
} host_evaluator;

/* Loads the data set the config names (the slow part, done once per experiment). */
int host_evaluator_init(host_evaluator *ev, const host_config *cfg, const larch_opset_vtable *opset,
                        larch_error *err);
void host_evaluator_release(host_evaluator *ev);

/* Builds and trains arch with a seed derived from its hash and the experiment seed, so the same
 * architecture gets the same result in every run. A network that cannot be built is an error
 * (the caller records a FAILED trial); divergence is an outcome with status DIVERGED. */
int host_evaluate(host_evaluator *ev, const larch_arch *arch, trainer_outcome *out,
                  larch_error *err);

/* The host's objective (what strategies maximise) for an outcome; NaN unless status is OK. */
double host_score(const host_config *cfg, const trainer_outcome *outcome);

#endif
