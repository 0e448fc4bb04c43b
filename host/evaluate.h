/* The evaluator: turns a proposed architecture into metrics, the same way for every strategy of
 * an experiment: by training it (evaluator.type "train") or by replaying the tabular benchmark
 * `larch tabulate` wrote (evaluator.type "table"). */
#ifndef HOST_EVALUATE_H
#define HOST_EVALUATE_H

#include <larch/opset.h>
#include <larch/space.h>
#include <larch/status.h>

#include "../results/table.h"
#include "config.h"

typedef struct host_evaluator {
    const host_config *cfg;
    const larch_opset_vtable *opset;
    trainer_data data; /* train mode only */
    trainer_input_shape input;
    /* table mode only */
    table_file *table;
    uint32_t n_seeds;
    double best_val_accuracy, best_test_accuracy; /* the table's best arch, means over seeds */
} host_evaluator;

/* The metrics of one evaluation. The curves hold n_epochs values and point into the storage of
 * whatever produced them (a trainer_outcome, or the table: valid until host_evaluator_release). */
typedef struct host_metrics {
    int status; /* larch_trial_status */
    double val_accuracy, test_accuracy;
    uint64_t params, flops;
    double latency_ms;
    double train_seconds;
    uint32_t n_epochs;
    const float *train_loss, *val_curve;
} host_metrics;

/* Train mode: loads the data set the config names (the slow part, done once per experiment).
 * Table mode: opens cfg->table_path and checks it before anything runs: complete (every
 * architecture trained for every seed), made for the config's space (the decisions, their
 * numbers of choices and the op names of cfg->space built with opset; LARCH_EINVAL naming the
 * table file and the first difference otherwise); no data is loaded. Errors: those of the data
 * readers or table_open (LARCH_EIO, LARCH_EFORMAT), LARCH_EINVAL. On error ev holds nothing to
 * release (host_evaluator_release is still safe). */
int host_evaluator_init(host_evaluator *ev, const host_config *cfg, const larch_opset_vtable *opset,
                        larch_error *err);
void host_evaluator_release(host_evaluator *ev);

/* Train mode: builds and trains arch with a seed derived from its hash and the experiment seed,
 * so the same architecture gets the same result in every run. A network that cannot be built
 * is an error (the caller records a FAILED trial); divergence is an outcome with status
 * DIVERGED. Table mode: the answer host_evaluate_replay gives with run_seed = the experiment
 * seed and asked_before = 0, copied into out. */
int host_evaluate(host_evaluator *ev, const larch_arch *arch, trainer_outcome *out,
                  larch_error *err);

/* Table mode: the recorded result of one of the table's training seeds for arch, drawn with an
 * RNG seeded from (run_seed, hash = larch_arch_hash(arch), asked_before = how many times the run
 * proposed arch before), so a replay is deterministic and a repeated proposal draws again.
 * Fills out without allocating (its curves point into the table). LARCH_ERANGE / LARCH_EINVAL
 * if arch does not fit the table's space, LARCH_EINVAL in train mode. Thread-safe. */
int host_evaluate_replay(const host_evaluator *ev, const larch_arch *arch, uint64_t hash,
                         uint64_t run_seed, uint64_t asked_before, host_metrics *out,
                         larch_error *err);

/* The view of a trainer outcome (pointing into it). */
void host_metrics_of_outcome(const trainer_outcome *outcome, host_metrics *out);

/* The host's objective (what strategies maximise); NaN unless status is OK. */
double host_score(const host_config *cfg, const trainer_outcome *outcome);
double host_score_metrics(const host_config *cfg, const host_metrics *m);

#endif
