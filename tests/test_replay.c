/* Replays (evaluator.type = "table") and budgets: searches answered from a synthetic table
 * written through the table writer, run in-process with the built plugins. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/time.h>

#include <hdf5.h>

#include <larch/abi.h>
#include <larch/strategy.h>

#include "../results/results.h"
#include "cache.h"
#include "config.h"
#include "evaluate.h"
#include "loader.h"
#include "report.h"
#include "report_csv.h"
#include "search.h"
#include "stats.h"
#include "synthetic_table.h"
#include "test_util.h"

#define N_SEEDS 3
#define MAX_EPOCHS 4

static char dir[64];
static host_registry reg;
static larch_space space3; /* the cell space with nodes = 3: 3 edges, 125 architectures */

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void cell_space(uint32_t nodes, larch_space *out)
{
    const host_plugin *nb201 = host_registry_find(&reg, LARCH_PLUGIN_OPSET, "nb201");
    cr_assert_not_null(nb201, "the nb201 op set was not built");
    trainer_cell_config cell = {.nodes = nodes, .channels = 4, .cells_per_stage = 1};
    larch_error err = {0};
    cr_assert_eq(trainer_cell_space(&cell, nb201->desc->opset, out, &err), LARCH_OK, "%s",
                 err.message);
}

static void setup(void)
{
    tu_make_dir(dir, sizeof dir, "replay");
    const char *dirs[] = {LARCH_TEST_PLUGIN_DIR};
    larch_error err = {0};
    memset(&reg, 0, sizeof reg);
    cr_assert_eq(host_registry_discover(&reg, dirs, 1, &err), LARCH_OK, "%s", err.message);
    cell_space(3, &space3);
    char path[128];
    path_in(path, sizeof path, "table.h5");
    cr_assert_eq(synthetic_table_write(path, &space3, N_SEEDS, MAX_EPOCHS, 1, &err), LARCH_OK, "%s",
                 err.message);
}

static void teardown(void)
{
    host_registry_release(&reg);
    tu_remove_dir(dir);
}

TestSuite(replay, .init = setup, .fini = teardown, .timeout = 60);

/* data.dir does not exist: a replay must not load data. */
static const char base_config[] =
    "experiment = { name = \"replay\"; seed = 11; seeds = 3; strategies = [\"random\", "
    "\"grid\"]; };\n"
    "budget = { trials = 40; };\n"
    "space = { nodes = 3; channels = 4; };\n"
    "data = { dir = \"/nonexistent/larch-data\"; };\n"
    "evaluator = { type = \"table\"; table = \"table.h5\"; };\n"
    "strategies = { random = { no_repeat = false; }; grid = { shuffle = true; }; };\n";

/* Loads base_config with the overrides and runs it into out_name (continuing it with resume;
 * stop as host_run_options.stop); returns the status. */
static int run_with(const char *out_name, const char *const *sets, size_t n_sets, int resume,
                    volatile sig_atomic_t *stop, larch_error *err)
{
    char cfg_path[128], out[128];
    path_in(cfg_path, sizeof cfg_path, "replay.cfg");
    path_in(out, sizeof out, out_name);
    FILE *f = fopen(cfg_path, "w");
    cr_assert_not_null(f);
    fputs(base_config, f);
    cr_assert_eq(fclose(f), 0);
    host_config cfg;
    memset(err, 0, sizeof *err);
    int rc = host_config_load(&cfg, cfg_path, sets, n_sets, err);
    cr_assert_eq(rc, LARCH_OK, "%s", err->message);
    host_run_options opts = {.output_path = out,
                             .resume = resume,
                             .quiet = 1,
                             .log_level = LARCH_LOG_WARN,
                             .stop = stop};
    rc = host_run_experiment(&cfg, &reg, &opts, err);
    host_config_release(&cfg);
    return rc;
}

static int run_config(const char *out_name, const char *const *sets, size_t n_sets,
                      larch_error *err)
{
    return run_with(out_name, sets, n_sets, 0, NULL, err);
}

static results_file *open_results(const char *name)
{
    char path[128];
    path_in(path, sizeof path, name);
    results_file *f = NULL;
    larch_error err = {0};
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    return f;
}

static results_trial *read_run(results_file *f, uint32_t run, size_t *n)
{
    results_trial *rows = NULL;
    larch_error err = {0};
    cr_assert_eq(results_file_read_trials(f, run, &rows, n, &err), LARCH_OK, "%s", err.message);
    return rows;
}

/* The arch index of a row (identity canonicalisation: the unique entry). */
static uint32_t unique_of(const results_trial *row)
{
    larch_arch arch;
    larch_error err = {0};
    cr_assert_eq(larch_arch_from_string(&space3, row->arch, &arch, &err), LARCH_OK, "%s",
                 err.message);
    uint64_t index = 0;
    for (uint32_t d = 0; d < arch.n; d++)
        index = index * space3.decisions[d].n_choices + arch.choice[d];
    return (uint32_t)index;
}

/* Which seed's recorded result the row (and its curves) reproduces exactly; -1 if none. */
static int drawn_seed(results_file *f, uint32_t run, const results_trial *row)
{
    uint32_t u = unique_of(row);
    float loss[MAX_EPOCHS], val[MAX_EPOCHS];
    larch_error err = {0};
    cr_assert_eq(results_file_read_curves(f, run, row->trial, loss, val, &err), LARCH_OK, "%s",
                 err.message);
    for (uint32_t s = 0; s < N_SEEDS; s++) {
        table_result r;
        float want_loss[MAX_EPOCHS], want_val[MAX_EPOCHS];
        synthetic_result(u, s, MAX_EPOCHS, &r, want_loss, want_val);
        if (row->status != r.status || row->val_accuracy != r.val_accuracy ||
            row->test_accuracy != r.test_accuracy || row->latency_ms != r.latency_ms ||
            row->train_seconds != r.train_seconds || row->n_epochs != r.n_epochs ||
            row->params != synthetic_params(u) || row->flops != synthetic_flops(u) ||
            memcmp(loss, want_loss, sizeof loss) || memcmp(val, want_val, sizeof val))
            continue;
        return (int)s;
    }
    return -1;
}

/* The mean val and test accuracy of unique u over the N_SEEDS seeds, from synthetic_result. */
static void synthetic_means(uint32_t u, double *val, double *test)
{
    double v = 0, t = 0;
    for (uint32_t s = 0; s < N_SEEDS; s++) {
        table_result r;
        float l[MAX_EPOCHS], c[MAX_EPOCHS];
        synthetic_result(u, s, MAX_EPOCHS, &r, l, c);
        v += r.val_accuracy;
        t += r.test_accuracy;
    }
    *val = v / N_SEEDS;
    *test = t / N_SEEDS;
}

/* The regret baseline: the best mean validation accuracy over seeds (the lowest entry on a
 * tie), and its mean test accuracy. */
static void synthetic_best(double *best_val, double *best_test)
{
    *best_val = -1;
    for (uint32_t u = 0; u < 125; u++) {
        double v, t;
        synthetic_means(u, &v, &t);
        if (v > *best_val) {
            *best_val = v;
            *best_test = t;
        }
    }
}

static void assert_same_rows(const results_trial *a, const results_trial *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(a[i].arch, b[i].arch, "trial %zu", i);
        cr_assert_eq(a[i].status, b[i].status);
        cr_assert_eq(a[i].val_accuracy, b[i].val_accuracy, "trial %zu", i);
        cr_assert_eq(a[i].test_accuracy, b[i].test_accuracy);
        cr_assert_eq(a[i].train_seconds, b[i].train_seconds);
        cr_assert_eq(a[i].cost_seconds, b[i].cost_seconds);
        cr_assert_eq(a[i].charged_seconds, b[i].charged_seconds);
        cr_assert_eq(a[i].cached, b[i].cached);
    }
}

Test(replay, answers_from_the_table_deterministically)
{
    larch_error err;
    cr_assert_eq(run_config("a.h5", NULL, 0, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(run_config("b.h5", NULL, 0, &err), LARCH_OK, "%s", err.message);
    results_file *a = open_results("a.h5"), *b = open_results("b.h5");
    cr_assert_eq(results_file_n_runs(a), 6);
    cr_assert_eq(results_file_max_epochs(a), MAX_EPOCHS, "the table's epochs, not train.epochs");
    unsigned seen_seed[N_SEEDS] = {0};
    unsigned repeats = 0, redraws = 0;
    for (uint32_t run = 0; run < 6; run++) {
        cr_assert_str_eq(results_file_run(a, run)->evaluator, "table");
        size_t na = 0, nb = 0;
        results_trial *ra = read_run(a, run, &na), *rb = read_run(b, run, &nb);
        cr_assert_eq(na, 40);
        cr_assert_eq(nb, na);
        assert_same_rows(ra, rb, na);
        double charged = 0;
        for (size_t i = 0; i < na; i++) {
            int s = drawn_seed(a, run, &ra[i]);
            cr_assert_geq(s, 0, "run %u trial %zu matches no recorded seed", run, i);
            seen_seed[s]++;
            cr_assert_eq(ra[i].cached, 0);
            /* Charged the drawn seed's recorded seconds, every time. */
            cr_assert_eq(ra[i].cost_seconds, ra[i].train_seconds);
            charged += ra[i].cost_seconds;
            cr_assert_eq(ra[i].charged_seconds, charged, "run %u trial %zu", run, i);
            if (ra[i].status == LARCH_TRIAL_OK)
                cr_assert_eq(ra[i].score, ra[i].val_accuracy);
            else
                cr_assert(isnan(ra[i].score));
            for (size_t j = 0; j < i; j++)
                if (!strcmp(ra[j].arch, ra[i].arch)) {
                    repeats++;
                    redraws += ra[j].train_seconds != ra[i].train_seconds;
                    break;
                }
        }
        results_run_state state;
        cr_assert_eq(results_file_read_run_state(a, run, &state, &err), LARCH_OK);
        cr_assert_eq(state, RESULTS_RUN_FINISHED);
        void *bytes = NULL;
        size_t size = 0;
        cr_assert_eq(results_file_read_checkpoint(a, run, &bytes, &size, NULL, &err), LARCH_OK);
        cr_assert_gt(size, 0, "a replay saves its checkpoint at the end of each run");
        free(bytes);
        free(ra);
        free(rb);
    }
    for (uint32_t s = 0; s < N_SEEDS; s++)
        cr_assert_gt(seen_seed[s], 20, "seed %u drawn %u times of 240", s, seen_seed[s]);
    /* random (no_repeat = false) proposes some archs twice; a repeat draws again. */
    cr_assert_gt(repeats, 0);
    cr_assert_gt(redraws, 0, "%u repeats, all drew the same seed", repeats);

    /* The regret baseline: the best mean validation accuracy over seeds, its mean test. */
    double best_val = 0, best_test = 0;
    synthetic_best(&best_val, &best_test);
    double got = 0;
    cr_assert_eq(results_file_root_double(a, "table_best_val_accuracy", &got, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_float_eq(got, best_val, 1e-12);
    cr_assert_eq(results_file_root_double(a, "table_best_test_accuracy", &got, &err), LARCH_OK);
    cr_assert_float_eq(got, best_test, 1e-12);
    results_file_close(a);
    results_file_close(b);
}

/* Runs the report of the experiment file `name` in format into a malloc'd string (warnings, if
 * not NULL, receives the warnings in another); returns the status. */
static int report_of(const char *name, host_report_format format, char **text, char **warnings,
                     larch_error *err)
{
    char path[128];
    path_in(path, sizeof path, name);
    host_report_options opts;
    host_report_options_init(&opts);
    opts.format = format;
    size_t size = 0, warn_size = 0;
    FILE *out = open_memstream(text, &size);
    opts.warnings = warnings ? open_memstream(warnings, &warn_size) : NULL;
    cr_assert_not_null(out);
    cr_assert(!warnings || opts.warnings);
    int rc = host_report(path, &opts, out, err);
    fclose(out);
    if (opts.warnings)
        fclose(opts.warnings);
    return rc;
}

/* Per strategy of a replay's file, what the report must say: the mean and sd over its runs of
 * the regret and true test computed from the table's means of each run's final best (its
 * earliest best-scored trial), and the mean of the regret computed from the observed
 * accuracies. Every run's regret from the means is >= 0. */
typedef struct want_regret {
    double val, val_sd, test, test_sd, true_test;
    double observed_val, observed_test;
    unsigned lucky;    /* runs whose observed val beat their final best's mean */
    double regrets[8]; /* each run's val regret from the means, for the U test */
    size_t n;
} want_regret;

static double sample_sd(const double *x, size_t n)
{
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i] / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

static want_regret expected_regret(results_file *f, const char *strategy)
{
    double best_val, best_test;
    synthetic_best(&best_val, &best_test);
    want_regret w = {0};
    double val[8], test[8];
    size_t k = 0;
    for (uint32_t run = 0; run < results_file_n_runs(f); run++) {
        if (strcmp(results_file_run(f, run)->strategy, strategy))
            continue;
        size_t n = 0;
        results_trial *rows = read_run(f, run, &n);
        const results_trial *best = NULL;
        for (size_t i = 0; i < n; i++)
            if (rows[i].status == LARCH_TRIAL_OK && (!best || rows[i].score > best->score))
                best = &rows[i];
        cr_assert_not_null(best, "run %u has an OK trial", run);
        cr_assert_lt(k, 8);
        double mean_val, mean_test;
        synthetic_means(unique_of(best), &mean_val, &mean_test);
        val[k] = best_val - mean_val;
        test[k] = best_test - mean_test;
        cr_assert_geq(val[k], 0, "run %u: regret %g", run, val[k]);
        w.true_test += mean_test;
        w.observed_val += best_val - best->val_accuracy;
        w.observed_test += best_test - best->test_accuracy;
        w.lucky += best->val_accuracy > mean_val;
        k++;
        free(rows);
    }
    cr_assert_geq(k, 2);
    for (size_t i = 0; i < k; i++) {
        w.val += val[i] / (double)k;
        w.test += test[i] / (double)k;
    }
    memcpy(w.regrets, val, k * sizeof *val);
    w.n = k;
    w.val_sd = sample_sd(val, k);
    w.test_sd = sample_sd(test, k);
    w.true_test /= (double)k;
    w.observed_val /= (double)k;
    w.observed_test /= (double)k;
    return w;
}

static void assert_close(double got, double want, const char *what, const char *strategy)
{
    cr_assert(fabs(got - want) <= 1e-9, "%s %s: got %.12g, want %.12g", strategy, what, got, want);
}

Test(replay, report_regret_is_against_the_table_means)
{
    larch_error err;
    cr_assert_eq(run_config("r.h5", NULL, 0, &err), LARCH_OK, "%s", err.message);
    results_file *f = open_results("r.h5");
    char *csv = NULL, *warnings = NULL;
    cr_assert_eq(report_of("r.h5", HOST_REPORT_CSV, &csv, &warnings, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_str_eq(warnings, "", "the table was read: no warning");
    free(warnings);
    unsigned lucky = 0;
    const char *strategies[] = {"random", "grid"};
    want_regret reference = expected_regret(f, "random");
    cr_assert(isnan(csv_value(csv, "random", "mwu_regret_p")), "the reference is not tested");
    for (int i = 0; i < 2; i++) {
        const char *s = strategies[i];
        want_regret w = expected_regret(f, s);
        lucky += w.lucky;
        if (i) { /* the U test of the regrets, not of the scores */
            host_stats_mwu mwu =
                host_stats_mann_whitney(w.regrets, w.n, reference.regrets, reference.n);
            assert_close(csv_value(csv, s, "mwu_regret_u"), mwu.u, "U of the regrets", s);
            assert_close(csv_value(csv, s, "mwu_regret_p"), mwu.p, "p of the regrets", s);
        }
        assert_close(csv_value(csv, s, "regret_from_table"), 1, "regret_from_table", s);
        assert_close(csv_value(csv, s, "regret_val_mean"), w.val, "regret val", s);
        assert_close(csv_value(csv, s, "regret_val_sd"), w.val_sd, "regret val sd", s);
        assert_close(csv_value(csv, s, "regret_test_mean"), w.test, "regret test", s);
        assert_close(csv_value(csv, s, "regret_test_sd"), w.test_sd, "regret test sd", s);
        assert_close(csv_value(csv, s, "true_test_accuracy_mean"), w.true_test, "true test", s);
        cr_assert_geq(csv_value(csv, s, "regret_val_mean"), 0);
    }
    /* The case the means fix: a final best's drawn seed beat the architecture's mean, so the
     * observed accuracy overstated it (and could exceed the table's best). */
    cr_assert_gt(lucky, 0, "no run drew a lucky seed for its final best");
    free(csv);

    char *text = NULL;
    cr_assert_eq(report_of("r.h5", HOST_REPORT_TEXT, &text, NULL, &err), LARCH_OK, "%s",
                 err.message);
    const char *words[] = {"true test %",
                           "regret val % / test %",
                           "true test and regret: the table's means over its 3 seeds",
                           "table.h5",
                           "(the table's means over its seeds)",
                           "p regret vs random"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_assert(strstr(text, words[i]), "text lacks '%s':\n%s", words[i], text);
    free(text);
    cr_assert_eq(report_of("r.h5", HOST_REPORT_MARKDOWN, &text, NULL, &err), LARCH_OK);
    cr_assert(strstr(text, "| true test % |"), "%s", text);
    free(text);
    cr_assert_eq(report_of("r.h5", HOST_REPORT_JSON, &text, NULL, &err), LARCH_OK);
    cr_assert(strstr(text, "\"regret_source\": \"table_means\", \"warning\": null"), "%s", text);
    cr_assert(strstr(text, "\"true_test_accuracy_mean\": 0."), "%s", text);
    cr_assert(strstr(text, "\"true_test_accuracy\": 0."), "the best's true test:\n%s", text);
    free(text);

    /* Without the table: a warning, and the observed accuracies, said so in the output. */
    char table[128];
    path_in(table, sizeof table, "table.h5");
    cr_assert_eq(unlink(table), 0);
    cr_assert_eq(report_of("r.h5", HOST_REPORT_CSV, &csv, &warnings, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert(strstr(warnings, "warning: ") && strstr(warnings, "r.h5") &&
                  strstr(warnings, "table.h5") && strstr(warnings, "observed accuracies"),
              "%s", warnings);
    free(warnings);
    for (int i = 0; i < 2; i++) {
        const char *s = strategies[i];
        want_regret w = expected_regret(f, s);
        assert_close(csv_value(csv, s, "regret_from_table"), 0, "regret_from_table", s);
        assert_close(csv_value(csv, s, "regret_val_mean"), w.observed_val, "observed regret", s);
        assert_close(csv_value(csv, s, "regret_test_mean"), w.observed_test, "observed test", s);
        cr_assert(isnan(csv_value(csv, s, "true_test_accuracy_mean")), "no true test");
    }
    free(csv);
    cr_assert_eq(report_of("r.h5", HOST_REPORT_TEXT, &text, NULL, &err), LARCH_OK);
    cr_assert(strstr(text, "note: regret from the observed accuracies") && strstr(text, "table.h5"),
              "%s", text);
    free(text);
    cr_assert_eq(report_of("r.h5", HOST_REPORT_JSON, &text, NULL, &err), LARCH_OK);
    cr_assert(strstr(text, "\"regret_source\": \"observed\", \"warning\": \""), "%s", text);
    cr_assert(strstr(text, "\"true_test_accuracy\": null"), "%s", text);
    free(text);
    results_file_close(f);
}

Test(replay, seconds_budget_ends_a_run_at_the_crossing_trial)
{
    const char *sets[] = {"budget.trials=0", "budget.seconds=50"};
    larch_error err;
    cr_assert_eq(run_config("s.h5", sets, 2, &err), LARCH_OK, "%s", err.message);
    results_file *f = open_results("s.h5");
    for (uint32_t run = 0; run < 6; run++) {
        size_t n = 0;
        results_trial *rows = read_run(f, run, &n);
        cr_assert_geq(n, 2);
        cr_assert_geq(rows[n - 1].charged_seconds, 50, "run %u", run);
        cr_assert_lt(rows[n - 2].charged_seconds, 50, "run %u", run);
        free(rows);
    }
    results_file_close(f);

    /* Both bounds: whichever comes first. */
    const char *trials_first[] = {"budget.trials=5", "budget.seconds=1000"};
    cr_assert_eq(run_config("t.h5", trials_first, 2, &err), LARCH_OK, "%s", err.message);
    f = open_results("t.h5");
    size_t n = 0;
    free(read_run(f, 0, &n));
    cr_assert_eq(n, 5);
    results_file_close(f);
    const char *seconds_first[] = {"budget.trials=30", "budget.seconds=20"};
    cr_assert_eq(run_config("u.h5", seconds_first, 2, &err), LARCH_OK, "%s", err.message);
    f = open_results("u.h5");
    results_trial *rows = read_run(f, 0, &n);
    cr_assert_lt(n, 30);
    cr_assert_geq(rows[n - 1].charged_seconds, 20);
    free(rows);
    results_file_close(f);
}

Test(replay, long_runs_are_written_in_blocks)
{
    /* More trials than a block (1024), two strategies: every row lands, in order. */
    const char *sets[] = {"budget.trials=2500", "experiment.seeds=1"};
    larch_error err;
    cr_assert_eq(run_config("long.h5", sets, 2, &err), LARCH_OK, "%s", err.message);
    results_file *f = open_results("long.h5");
    size_t n = 0;
    results_trial *rows = read_run(f, 0, &n);
    cr_assert_eq(n, 2500);
    double charged = 0;
    for (size_t i = 0; i < n; i++) {
        charged += rows[i].train_seconds;
        cr_assert_eq(rows[i].charged_seconds, charged);
    }
    free(rows);
    /* grid with shuffle: the 125 architectures, then DONE. */
    rows = read_run(f, 1, &n);
    cr_assert_eq(n, 125);
    free(rows);
    results_file_close(f);
}

/* Two variants of one plugin side by side: each its own name, parameters and runs. */
Test(replay, strategy_variants_run_one_plugin_with_their_own_parameters)
{
    const char *sets[] = {"experiment.strategies=[\"grid\", \"grid-sorted\"]",
                          "strategies.grid-sorted.plugin=\"grid\"",
                          "strategies.grid-sorted.shuffle=false", "budget.trials=10"};
    larch_error err;
    cr_assert_eq(run_config("variants.h5", sets, 4, &err), LARCH_OK, "%s", err.message);
    results_file *f = open_results("variants.h5");
    cr_assert_eq(results_file_n_runs(f), 6);
    int shuffled_differs = 0;
    for (uint32_t run = 0; run < 6; run++) {
        const results_run_info *info = results_file_run(f, run);
        int sorted = run >= 3;
        cr_expect_str_eq(info->strategy, sorted ? "grid-sorted" : "grid");
        cr_expect_str_eq(info->plugin, "grid");
        char name[64];
        snprintf(name, sizeof name, "%s-s%u", sorted ? "grid-sorted" : "grid", run % 3);
        cr_expect_str_eq(info->name, name);
        size_t n = 0;
        results_trial *rows = read_run(f, run, &n);
        cr_assert_eq(n, 10);
        for (size_t i = 0; i < n; i++) {
            if (sorted)
                cr_expect_eq(unique_of(&rows[i]), i, "grid-sorted enumerates in index order");
            else
                shuffled_differs |= unique_of(&rows[i]) != i;
        }
        free(rows);
    }
    cr_expect(shuffled_differs, "grid (shuffle = true) must not enumerate in index order");
    results_file_close(f);

    /* A typo in a variant's group names the variant; an unknown plugin names the key. */
    const char *typo[] = {"experiment.strategies=[\"grid-sorted\"]",
                          "strategies.grid-sorted.plugin=\"grid\"",
                          "strategies.grid-sorted.shufle=false"};
    cr_assert_eq(run_config("typo.h5", typo, 3, &err), LARCH_ENOTFOUND);
    cr_expect(
        strstr(err.message, "unknown key 'strategies.grid-sorted.shufle' (grid-sorted reads: "),
        "%s", err.message);
    const char *missing[] = {"experiment.strategies=[\"fast\"]", "strategies.fast.plugin=\"nope\""};
    cr_assert_eq(run_config("missing.h5", missing, 2, &err), LARCH_ENOTFOUND);
    cr_expect(strstr(err.message, "strategies.fast.plugin: no strategy plugin with id 'nope'"),
              "%s", err.message);
}

Test(replay, a_table_of_another_space_is_refused)
{
    larch_error err;
    const char *nodes4[] = {"space.nodes=4"};
    cr_assert_eq(run_config("x.h5", nodes4, 1, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "table.h5: the table was made for another space: it has 3 "
                                  "decisions, the config's space (cell, 4 nodes, op set nb201) "
                                  "has 6"),
              "%s", err.message);

    /* Same shape, another op in slot 2. */
    larch_space other = space3;
    snprintf(other.op_names[2], LARCH_LABEL_SIZE, "sep_conv3x3");
    char path[128];
    path_in(path, sizeof path, "other.h5");
    cr_assert_eq(synthetic_table_write(path, &other, 1, 1, 1, &err), LARCH_OK, "%s", err.message);
    char set[256];
    snprintf(set, sizeof set, "evaluator.table=%s", path);
    const char *ops[] = {set};
    cr_assert_eq(run_config("y.h5", ops, 1, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "other.h5: the table was made for another op set: op 2 is "
                                  "'sep_conv3x3' in the table"),
              "%s", err.message);

    /* A table not finished. */
    path_in(path, sizeof path, "partial.h5");
    cr_assert_eq(synthetic_table_write(path, &space3, 2, 1, 0, &err), LARCH_OK, "%s", err.message);
    snprintf(set, sizeof set, "evaluator.table=%s", path);
    cr_assert_eq(run_config("z.h5", ops, 1, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "partial.h5: the table is incomplete: 249 of 250"), "%s",
              err.message);
}

Test(replay, evaluate_and_replay_agree)
{
    char cfg_path[128];
    path_in(cfg_path, sizeof cfg_path, "e.cfg");
    FILE *f = fopen(cfg_path, "w");
    cr_assert_not_null(f);
    fputs(base_config, f);
    fclose(f);
    host_config cfg;
    larch_error err = {0};
    cr_assert_eq(host_config_load(&cfg, cfg_path, NULL, 0, &err), LARCH_OK, "%s", err.message);
    const host_plugin *nb201 = host_registry_find(&reg, LARCH_PLUGIN_OPSET, "nb201");
    host_evaluator ev;
    cr_assert_eq(host_evaluator_init(&ev, &cfg, nb201->desc->opset, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_eq(ev.n_seeds, N_SEEDS);
    cr_assert_eq(ev.data.train.n, 0, "no data in table mode");
    for (uint64_t i = 0; i < 125; i += 7) {
        larch_arch arch;
        cr_assert_eq(larch_arch_from_index(&space3, i, &arch), LARCH_OK);
        trainer_outcome out;
        cr_assert_eq(host_evaluate(&ev, &arch, &out, &err), LARCH_OK, "%s", err.message);
        host_metrics m;
        cr_assert_eq(
            host_evaluate_replay(&ev, &arch, larch_arch_hash(&arch), cfg.seed, 0, &m, &err),
            LARCH_OK);
        cr_assert_eq(out.val_accuracy, m.val_accuracy);
        cr_assert_eq(out.train_seconds, m.train_seconds);
        cr_assert_eq(out.epochs_run, m.n_epochs);
        cr_assert_eq(memcmp(out.train_loss, m.train_loss, m.n_epochs * sizeof(float)), 0);
        cr_assert_eq(out.params, synthetic_params((uint32_t)i));
        cr_assert_eq(host_score(&cfg, &out), host_score_metrics(&cfg, &m));
    }
    host_evaluator_release(&ev);
    host_evaluator_release(&ev); /* twice is harmless */
    host_config_release(&cfg);
}

Test(replay, arch_counts_count_each_architecture)
{
    host_arch_counts counts;
    host_arch_counts_init(&counts);
    /* Past several doublings of the table. */
    for (int round = 0; round < 3; round++)
        for (uint64_t i = 0; i < 1000; i++) {
            larch_arch arch = {.n = 3};
            arch.choice[0] = (uint8_t)(i % 10);
            arch.choice[1] = (uint8_t)(i / 10 % 10);
            arch.choice[2] = (uint8_t)(i / 100);
            uint64_t before = 99;
            cr_assert_eq(host_arch_counts_add(&counts, &arch, larch_arch_hash(&arch), &before),
                         LARCH_OK);
            cr_assert_eq(before, (uint64_t)round, "arch %llu", (unsigned long long)i);
        }
    cr_assert_eq(counts.count, 1000);
    host_arch_counts_release(&counts);
    cr_assert_null(counts.slots);
}

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Asserts that every run of the two files holds the same trials (timings aside) and state. */
static void assert_same_experiment(const char *a_name, const char *b_name)
{
    results_file *a = open_results(a_name), *b = open_results(b_name);
    cr_assert_eq(results_file_n_runs(a), results_file_n_runs(b));
    for (uint32_t run = 0; run < results_file_n_runs(a); run++) {
        size_t na = 0, nb = 0;
        results_trial *ra = read_run(a, run, &na), *rb = read_run(b, run, &nb);
        cr_assert_eq(na, nb, "run %u: %zu trials uninterrupted, %zu resumed", run, na, nb);
        assert_same_rows(ra, rb, na);
        results_run_state sa, sb;
        larch_error err = {0};
        cr_assert_eq(results_file_read_run_state(a, run, &sa, &err), LARCH_OK);
        cr_assert_eq(results_file_read_run_state(b, run, &sb, &err), LARCH_OK);
        cr_assert_eq(sa, sb, "run %u", run);
        free(ra);
        free(rb);
    }
    results_file_close(a);
    results_file_close(b);
}

/* Sets the checkpoint_size of run `run` to 0: the file as a kill before its first checkpoint
 * (or a strategy that cannot save) leaves it. */
static void drop_checkpoint(const char *name, uint32_t run)
{
    char path[128];
    path_in(path, sizeof path, name);
    results_file *f = open_results(name);
    char where[128];
    snprintf(where, sizeof where, "runs/%s/checkpoint_size", results_file_run(f, run)->name);
    results_file_close(f);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    hid_t ds = H5Dopen2(file, where, H5P_DEFAULT);
    uint64_t zero = 0;
    cr_assert_geq(H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &zero), 0);
    H5Dclose(ds);
    H5Fclose(file);
}

/* `larch run --resume`: an experiment stopped mid-run and continued has exactly the trials of
 * one that ran through, whether the stopped run's strategy comes back from its checkpoint or,
 * without one, from being told its recorded trials again. */
Test(replay, a_resumed_experiment_equals_an_uninterrupted_one)
{
    const char *sets[] = {"experiment.strategies=[\"random\", \"genetic\"]", "budget.trials=40000"};
    larch_error err;
    cr_assert_eq(run_config("whole.h5", sets, 2, &err), LARCH_OK, "%s", err.message);

    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    stop_flag = 0;
    struct itimerval soon = {.it_value = {.tv_sec = 0, .tv_usec = 30000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &soon, NULL), 0);
    cr_assert_eq(run_with("cut.h5", sets, 2, 0, &stop_flag, &err), LARCH_OK, "%s", err.message);
    cr_assert(stop_flag, "the experiment ended before the timer: make it longer");

    /* Where it stopped: mostly one run ABORTED part way and the later ones PENDING; a stop
     * between two runs leaves no run ABORTED (the copy without a checkpoint is then the same). */
    results_file *f = open_results("cut.h5");
    int aborted = -1;
    for (uint32_t run = 0; run < results_file_n_runs(f) && aborted < 0; run++) {
        results_run_state state;
        cr_assert_eq(results_file_read_run_state(f, run, &state, &err), LARCH_OK);
        if (state == RESULTS_RUN_ABORTED)
            aborted = (int)run;
    }
    if (aborted >= 0) {
        size_t n = 0;
        free(read_run(f, (uint32_t)aborted, &n));
        cr_assert_lt(n, 40000);
    }
    results_file_close(f);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s/cut.h5' '%s/cut-no-checkpoint.h5'", dir, dir);
    cr_assert_eq(system(cmd), 0);
    if (aborted >= 0)
        drop_checkpoint("cut-no-checkpoint.h5", (uint32_t)aborted);

    cr_assert_eq(run_with("cut.h5", sets, 2, 1, NULL, &err), LARCH_OK, "%s", err.message);
    assert_same_experiment("whole.h5", "cut.h5");
    cr_assert_eq(run_with("cut-no-checkpoint.h5", sets, 2, 1, NULL, &err), LARCH_OK, "%s",
                 err.message);
    assert_same_experiment("whole.h5", "cut-no-checkpoint.h5");

    /* Resuming a finished experiment changes nothing. */
    cr_assert_eq(run_with("cut.h5", sets, 2, 1, NULL, &err), LARCH_OK, "%s", err.message);
    assert_same_experiment("whole.h5", "cut.h5");

    /* Another config is refused, naming the line that differs; the file is untouched. */
    const char *other[] = {sets[0], "budget.trials=39999"};
    cr_assert_eq(run_with("cut.h5", other, 2, 1, NULL, &err), LARCH_EINVAL);
    cr_expect(strstr(err.message, "cut.h5 was written by another config") &&
                  strstr(err.message, "trials = 40000") && strstr(err.message, "trials = 39999"),
              "%s", err.message);
    assert_same_experiment("whole.h5", "cut.h5");
}
