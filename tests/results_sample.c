/* Writes a small sample experiment file with the results writer, for the Python tool's test:
 * 2 runs x 5 trials, a 6-decision space, curves of 1..4 epochs, one DIVERGED trial per run.
 * Usage: results_sample FILE */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <larch/strategy.h>

#include "results.h"

#define N_RUNS 2
#define N_TRIALS 5
#define MAX_EPOCHS 4

static void make_space(larch_space *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->struct_size = sizeof *sp;
    snprintf(sp->name, sizeof sp->name, "sample-cell");
    sp->n_decisions = 6;
    for (uint32_t d = 0; d < sp->n_decisions; d++) {
        sp->decisions[d].kind = LARCH_DECISION_OP;
        sp->decisions[d].n_choices = 5;
        snprintf(sp->decisions[d].label, LARCH_LABEL_SIZE, "edge %u", d);
    }
    sp->n_ops = 5;
    const char *ops[] = {"none", "skip", "conv1x1", "conv3x3", "avgpool3x3"};
    for (uint32_t o = 0; o < sp->n_ops; o++)
        snprintf(sp->op_names[o], LARCH_LABEL_SIZE, "%s", ops[o]);
}

static int write_run(results_writer *w, uint32_t run, larch_error *err)
{
    int rc = results_writer_set_run_state(w, run, RESULTS_RUN_RUNNING, err);
    double charged = 0;
    for (uint32_t t = 0; rc == LARCH_OK && t < N_TRIALS; t++) {
        larch_arch arch = {.n = 6};
        for (uint32_t d = 0; d < arch.n; d++)
            arch.choice[d] = (uint8_t)((t + d + run) % 5);
        results_trial row;
        memset(&row, 0, sizeof row);
        row.trial = t;
        row.run = run;
        row.status = t == 2 ? LARCH_TRIAL_DIVERGED : LARCH_TRIAL_OK;
        row.cached = t == 4;
        row.val_accuracy = 0.5 + 0.05 * t;
        row.test_accuracy = row.val_accuracy - 0.01;
        row.score = row.status == LARCH_TRIAL_OK ? row.val_accuracy : NAN;
        row.params = 1000u * (t + 1);
        row.flops = 100000u * (t + 1);
        row.latency_ms = 0.25 * (t + 1);
        row.train_seconds = 1.5 * (t + 1);
        row.cost_seconds = row.cached ? 0 : row.train_seconds;
        charged += row.cost_seconds;
        row.charged_seconds = charged;
        row.started_s = 10.0 * t;
        row.finished_s = row.started_s + row.train_seconds;
        row.n_epochs = 1 + t % MAX_EPOCHS;
        float loss[MAX_EPOCHS], val[MAX_EPOCHS];
        for (uint32_t e = 0; e < row.n_epochs; e++) {
            loss[e] = 2.0f / (float)(e + 1);
            val[e] = 0.1f * (float)(e + 1);
        }
        rc = results_writer_append(w, run, &row, &arch, loss, val, err);
        if (rc == LARCH_OK) {
            char state[32];
            int len = snprintf(state, sizeof state, "state after %u", t + 1);
            rc = results_writer_save_checkpoint(w, run, state, (size_t)len, 0, err);
        }
    }
    if (rc == LARCH_OK)
        rc = results_writer_set_run_state(w, run, RESULTS_RUN_FINISHED, err);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    larch_space space;
    make_space(&space);
    results_run_info runs[N_RUNS];
    memset(runs, 0, sizeof runs);
    const char *strategies[N_RUNS] = {"random", "evolution"};
    for (uint32_t i = 0; i < N_RUNS; i++) {
        snprintf(runs[i].name, sizeof runs[i].name, "%s-s0", strategies[i]);
        snprintf(runs[i].strategy, sizeof runs[i].strategy, "%s", strategies[i]);
        snprintf(runs[i].strategy_version, sizeof runs[i].strategy_version, "1.%u.0", i);
        /* "evolution" a variant of plugin "genetic"; "" writes the strategy name. */
        snprintf(runs[i].plugin, sizeof runs[i].plugin, "%s", i ? "genetic" : "");
        runs[i].abi_major = 1;
        runs[i].abi_minor = 0;
        runs[i].seed = 1234 + i;
        runs[i].seed_index = 0;
    }
    results_experiment_info info = {.config_text = "experiment: { name = \"sample\"; };\n",
                                    .config_path = "sample.cfg",
                                    .larch_version = "0.1.0",
                                    .objective = "val_accuracy",
                                    .seed = 42,
                                    .space = &space,
                                    .max_epochs = MAX_EPOCHS,
                                    .n_runs = N_RUNS,
                                    .runs = runs};
    larch_error err = {0};
    results_writer *w = NULL;
    int rc = results_writer_create(argv[1], &info, &w, &err);
    for (uint32_t i = 0; rc == LARCH_OK && i < N_RUNS; i++)
        rc = write_run(w, i, &err);
    larch_error close_err = {0};
    if (results_writer_close(w, &close_err) != LARCH_OK && rc == LARCH_OK) {
        err = close_err;
        rc = err.status;
    }
    if (rc != LARCH_OK) {
        fprintf(stderr, "results_sample: %s\n", err.message);
        return 1;
    }
    return 0;
}
