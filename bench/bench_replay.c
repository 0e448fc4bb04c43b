/* Replay throughput: trials per second of `larch run` with evaluator.type = "table", host
 * overhead included (strategy ask/tell, table draw, score, row building, HDF5 block writes,
 * checkpoints, progress), on one core. The table is synthetic (tests/synthetic_table.h): the cell
 * space with 4 nodes (15,625 architectures) x 2 seeds, written once into a temporary directory.
 * Usage: bench_replay [--strategy ID] [--runs N] [--trials N] [--nodes N] [--repeat N]
 *                     [--table FILE] [--keep]
 * --table: a table of that space from an earlier --keep (skips writing one). --repeat: replays
 * timed (3), the fastest reported. The run summaries go to stderr.
 * Target: >= 100,000 trials/s for random. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <larch/abi.h>

#include "../host/config.h"
#include "../host/loader.h"
#include "../host/progress.h"
#include "../host/search.h"
#include "../results/results.h"
#include "../tests/synthetic_table.h"

static int fail(const larch_error *err)
{
    fprintf(stderr, "bench_replay: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *strategy = "random";
    unsigned runs = 20, trials = 5000, nodes = 4, repeat = 3;
    int keep = 0;
    const char *reuse = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--strategy") && has_value)
            strategy = argv[++i];
        else if (!strcmp(a, "--runs") && has_value)
            runs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--trials") && has_value)
            trials = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--nodes") && has_value)
            nodes = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--repeat") && has_value)
            repeat = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--table") && has_value)
            reuse = argv[++i];
        else if (!strcmp(a, "--keep"))
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_replay [--strategy ID] [--runs N] [--trials N] "
                            "[--nodes N] [--repeat N] [--table FILE] [--keep]\n");
            return 2;
        }
    }

    if (repeat < 1 || runs < 1 || trials < 1) {
        fprintf(stderr, "bench_replay: --repeat, --runs and --trials must be at least 1\n");
        return 2;
    }
    char dir[] = "/tmp/larch-bench-replay-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_replay: mkdtemp");
        return 1;
    }
    char table[4096], cfg_path[64], out[64];
    snprintf(table, sizeof table, "%s", reuse ? reuse : "");
    if (!reuse)
        snprintf(table, sizeof table, "%s/table.h5", dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/bench.cfg", dir);
    snprintf(out, sizeof out, "%s/replay.h5", dir);

    larch_error err = {0};
    const char *plugin_dirs[] = {LARCH_PLUGIN_BUILD_DIR};
    host_registry reg = {0};
    if (host_registry_discover(&reg, plugin_dirs, 1, &err) != LARCH_OK)
        return fail(&err);
    const host_plugin *nb201 = host_registry_find(&reg, LARCH_PLUGIN_OPSET, "nb201");
    if (!nb201) {
        fprintf(stderr, "bench_replay: no nb201 op set in %s\n", LARCH_PLUGIN_BUILD_DIR);
        return 1;
    }
    trainer_cell_config cell = {.nodes = nodes, .channels = 4, .cells_per_stage = 1};
    larch_space space;
    if (trainer_cell_space(&cell, nb201->desc->opset, &space, &err) != LARCH_OK)
        return fail(&err);
    double t0 = host_now_s();
    if (!reuse && synthetic_table_write(table, &space, 2, 12, 1, &err) != LARCH_OK)
        return fail(&err);
    double table_s = host_now_s() - t0;

    FILE *f = fopen(cfg_path, "w");
    if (!f) {
        perror("bench_replay: config");
        return 1;
    }
    fprintf(f,
            "experiment = { name = \"bench\"; seed = 1; seeds = %u; strategies = [\"%s\"]; };\n"
            "budget = { trials = %u; };\n"
            "space = { nodes = %u; channels = 4; };\n"
            "evaluator = { type = \"table\"; table = \"%s\"; };\n",
            runs, strategy, trials, nodes, table);
    fclose(f);
    host_config cfg;
    if (host_config_load(&cfg, cfg_path, NULL, 0, &err) != LARCH_OK)
        return fail(&err);
    host_run_options opts = {.output_path = out, .quiet = 1, .log_level = LARCH_LOG_WARN};
    /* The best of several repeats: a shared machine only ever makes a run slower. */
    double run_s = 0;
    int rc = LARCH_OK;
    for (unsigned k = 0; rc == LARCH_OK && k < repeat; k++) {
        t0 = host_now_s();
        rc = host_run_experiment(&cfg, &reg, &opts, &err);
        double s = host_now_s() - t0;
        if (k == 0 || s < run_s)
            run_s = s;
    }
    host_config_release(&cfg);
    host_registry_release(&reg);
    if (rc != LARCH_OK)
        return fail(&err);

    /* Count what was written: a strategy may end a run early (DONE). */
    results_file *rf = NULL;
    if (results_file_open(out, &rf, &err) != LARCH_OK)
        return fail(&err);
    double total = 0;
    for (uint32_t r = 0; r < results_file_n_runs(rf); r++) {
        results_trial *rows = NULL;
        size_t n = 0;
        if (results_file_read_trials(rf, r, &rows, &n, &err) != LARCH_OK)
            return fail(&err);
        free(rows);
        total += (double)n;
    }
    results_file_close(rf);
    printf("replay: %s, %u runs x %u trials on the %u-node cell space (%.0f archs, 2 seeds, 12 "
           "epochs): %.0f trials in %.3f s = %.0f trials/s (best of %u; one core; table written "
           "in %.1f s)\n",
           strategy, runs, trials, nodes, larch_space_size(&space), total, run_s, total / run_s,
           repeat, table_s);
    if (keep) {
        printf("kept %s\n", dir);
    } else {
        if (!reuse)
            unlink(table);
        unlink(cfg_path);
        unlink(out);
        rmdir(dir);
    }
    return 0;
}
