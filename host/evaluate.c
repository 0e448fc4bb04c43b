#include "evaluate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <larch/rng.h>
#include <larch/strategy.h>

/* The table must be the benchmark of the config's space: same decisions, choices and ops. */
static int check_space(const char *path, const larch_space *have, const larch_space *want,
                       const host_config *cfg, larch_error *err)
{
    char what[2 * HOST_NAME_SIZE + 64];
    snprintf(what, sizeof what, "the config's space (%s, %u nodes, op set %s)", cfg->space,
             cfg->cell.nodes, cfg->opset);
    if (have->n_decisions != want->n_decisions)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: the table was made for another space: it has %u decisions, "
                               "%s has %u",
                               path, have->n_decisions, what, want->n_decisions);
    for (uint32_t d = 0; d < want->n_decisions; d++)
        if (have->decisions[d].n_choices != want->decisions[d].n_choices)
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: the table was made for another space: decision %u (%s) "
                                   "has %u choices in the table, %u in %s",
                                   path, d, want->decisions[d].label, have->decisions[d].n_choices,
                                   want->decisions[d].n_choices, what);
    if (have->n_ops != want->n_ops)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: the table was made for another op set: it has %u ops, %s has "
                               "%u",
                               path, have->n_ops, what, want->n_ops);
    for (uint32_t o = 0; o < want->n_ops; o++)
        if (strncmp(have->op_names[o], want->op_names[o], LARCH_LABEL_SIZE) != 0)
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: the table was made for another op set: op %u is '%.31s' "
                                   "in the table, '%.31s' in %s",
                                   path, o, have->op_names[o], want->op_names[o], what);
    return LARCH_OK;
}

static int open_table(host_evaluator *ev, const host_config *cfg, const larch_opset_vtable *opset,
                      larch_error *err)
{
    const char *path = cfg->table_path;
    larch_space want;
    int rc = trainer_cell_space(&cfg->cell, opset, &want, err);
    if (rc != LARCH_OK)
        return rc;
    rc = table_open(path, &ev->table, err);
    if (rc != LARCH_OK) {
        ev->table = NULL;
        return rc;
    }
    rc = check_space(path, table_space(ev->table), &want, cfg, err);
    if (rc != LARCH_OK)
        return rc;
    ev->n_seeds = table_n_seeds(ev->table);
    uint64_t total = (uint64_t)table_n_unique(ev->table) * ev->n_seeds;
    /* A replay of a partial table would only see the architectures trained first. */
    if (ev->n_seeds == 0 || table_n_done(ev->table) < total)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: the table is incomplete: %llu of %llu trainings done; finish "
                               "it with larch tabulate before replaying it",
                               path, (unsigned long long)table_n_done(ev->table),
                               (unsigned long long)total);
    if (table_max_epochs(ev->table) > TRAINER_MAX_EPOCHS)
        return larch_error_set(err, LARCH_EFORMAT, "%s: the table holds %u epochs, at most %d",
                               path, table_max_epochs(ev->table), TRAINER_MAX_EPOCHS);
    uint32_t best;
    return table_best(ev->table, &best, &ev->best_val_accuracy, &ev->best_test_accuracy, err);
}

int host_evaluator_init(host_evaluator *ev, const host_config *cfg, const larch_opset_vtable *opset,
                        larch_error *err)
{
    memset(ev, 0, sizeof *ev);
    ev->cfg = cfg;
    ev->opset = opset;
    if (cfg->evaluator_table) {
        int rc = open_table(ev, cfg, opset, err);
        if (rc != LARCH_OK)
            host_evaluator_release(ev);
        return rc;
    }
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
    table_close(ev->table);
    ev->table = NULL;
}

int host_evaluate_replay(const host_evaluator *ev, const larch_arch *arch, uint64_t hash,
                         uint64_t run_seed, uint64_t asked_before, host_metrics *out,
                         larch_error *err)
{
    if (!ev->table)
        return larch_error_set(err, LARCH_EINVAL,
                               "host_evaluate_replay: the evaluator has no "
                               "table (evaluator.type is \"train\")");
    uint32_t unique;
    int rc = table_lookup(ev->table, arch, &unique, err);
    if (rc != LARCH_OK)
        return rc;
    larch_rng rng;
    larch_rng_seed(&rng, larch_seed_derive(larch_seed_derive(run_seed, hash), asked_before));
    uint32_t seed = (uint32_t)larch_rng_below(&rng, ev->n_seeds);
    const float *loss, *val;
    const table_result *r = table_get(ev->table, unique, seed, &loss, &val);
    if (!r || !r->done)
        return larch_error_set(err, LARCH_EFORMAT, "%s: no result for entry %u seed %u",
                               ev->cfg->table_path, unique, seed);
    out->status = r->status;
    out->val_accuracy = r->val_accuracy;
    out->test_accuracy = r->test_accuracy;
    out->params = table_params(ev->table, unique);
    out->flops = table_flops(ev->table, unique);
    out->latency_ms = r->latency_ms;
    out->train_seconds = r->train_seconds;
    out->n_epochs = r->n_epochs;
    out->train_loss = loss;
    out->val_curve = val;
    return LARCH_OK;
}

int host_evaluate(host_evaluator *ev, const larch_arch *arch, trainer_outcome *out,
                  larch_error *err)
{
    if (ev->table) {
        host_metrics m;
        int rc = host_evaluate_replay(ev, arch, larch_arch_hash(arch), ev->cfg->seed, 0, &m, err);
        if (rc != LARCH_OK)
            return rc;
        memset(out, 0, sizeof *out);
        out->status = m.status;
        out->val_accuracy = m.val_accuracy;
        out->test_accuracy = m.test_accuracy;
        out->epochs_run = m.n_epochs;
        memcpy(out->train_loss, m.train_loss, m.n_epochs * sizeof *m.train_loss);
        memcpy(out->val_accuracy_curve, m.val_curve, m.n_epochs * sizeof *m.val_curve);
        out->params = m.params;
        out->flops = m.flops;
        out->latency_ms = m.latency_ms;
        out->train_seconds = m.train_seconds;
        return LARCH_OK;
    }
    uint64_t seed = larch_seed_derive(ev->cfg->seed, larch_arch_hash(arch));
    trainer_network *net = NULL;
    int rc = trainer_network_new_cell(&ev->cfg->cell, ev->opset, arch, &ev->input, seed, &net, err);
    if (rc != LARCH_OK)
        return rc;
    rc = trainer_train(net, &ev->cfg->recipe, &ev->data, seed, out, err);
    trainer_network_free(net);
    return rc;
}

void host_metrics_of_outcome(const trainer_outcome *outcome, host_metrics *out)
{
    out->status = outcome->status;
    out->val_accuracy = outcome->val_accuracy;
    out->test_accuracy = outcome->test_accuracy;
    out->params = outcome->params;
    out->flops = outcome->flops;
    out->latency_ms = outcome->latency_ms;
    out->train_seconds = outcome->train_seconds;
    out->n_epochs = outcome->epochs_run;
    out->train_loss = outcome->train_loss;
    out->val_curve = outcome->val_accuracy_curve;
}

double host_score_metrics(const host_config *cfg, const host_metrics *m)
{
    if (m->status != LARCH_TRIAL_OK)
        return NAN;
    double score = m->val_accuracy;
    if (cfg->objective == HOST_OBJECTIVE_ACCURACY_FLOPS && m->flops > 0)
        score *= pow((double)m->flops / cfg->flops_target, cfg->flops_exponent);
    return score;
}

double host_score(const host_config *cfg, const trainer_outcome *outcome)
{
    host_metrics m;
    host_metrics_of_outcome(outcome, &m);
    return host_score_metrics(cfg, &m);
}
