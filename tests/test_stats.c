/* host/stats.c against hand-computed values (and scipy 1.10's, quoted where a hand computation
 * is long), and `larch report` on a hand-made experiment file in every output format. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <larch/larch.h>

#include "report.h"
#include "report_csv.h"
#include "results.h"
#include "stats.h"
#include "test_util.h"

#define EPS 1e-9

static void assert_near(double got, double want, double tol, const char *what)
{
    cr_assert(fabs(got - want) <= tol, "%s: got %.12g, want %.12g", what, got, want);
}

/* ---- summaries ---- */

Test(stats, mean_sd_median)
{
    double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    /* mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32, sample sd sqrt(32/7). */
    assert_near(host_stats_mean(x, 8), 5, EPS, "mean");
    assert_near(host_stats_sd(x, 8), sqrt(32.0 / 7), EPS, "sd");
    assert_near(host_stats_median(x, 8), 4.5, EPS, "even median");
    double odd[] = {3, 1, 2};
    assert_near(host_stats_median(odd, 3), 2, EPS, "odd median");
    cr_assert_eq(odd[0], 1, "median sorts in place");
    double one = 0.25;
    assert_near(host_stats_mean(&one, 1), 0.25, EPS, "mean of one");
    cr_assert(isnan(host_stats_sd(&one, 1)), "sd of one value is undefined");
    cr_assert(isnan(host_stats_mean(NULL, 0)) && isnan(host_stats_median(NULL, 0)));
}

/* ---- best-so-far curves ---- */

static const double nan_first[] = {NAN, 0.5, 0.4, 0.7};

Test(stats, best_so_far_skips_failed_trials)
{
    double best[4];
    host_stats_best_so_far(nan_first, 4, best);
    cr_assert(isnan(best[0]), "undefined before the first OK trial");
    assert_near(best[1], 0.5, EPS, "best[1]");
    assert_near(best[2], 0.5, EPS, "best[2]");
    assert_near(best[3], 0.7, EPS, "best[3]");
    double in_place[] = {0.3, NAN, 0.2, 0.6};
    host_stats_best_so_far(in_place, 4, in_place);
    assert_near(in_place[1], 0.3, EPS, "a failed trial keeps the best");
    assert_near(in_place[2], 0.3, EPS, "a worse trial keeps the best");
}

Test(stats, first_reach)
{
    double best[4];
    host_stats_best_so_far(nan_first, 4, best);
    cr_assert_eq(host_stats_first_reach(best, 4, 0.5), 1);
    cr_assert_eq(host_stats_first_reach(best, 4, 0.7), 3);
    cr_assert_eq(host_stats_first_reach(best, 4, 0.71), 4, "never reached: n");
    cr_assert_eq(host_stats_first_reach(best, 4, -1), 1, "undefined entries never reach");
}

Test(stats, auc_trials_counts_undefined_as_zero_and_carries_forward)
{
    double best[4];
    host_stats_best_so_far(nan_first, 4, best);
    /* (0 + .5 + .5 + .7 + .7 + .7) / 6 over a horizon of 6 trials: the run ended after 4. */
    assert_near(host_stats_auc_trials(best, 4, 6), 3.1 / 6, EPS, "auc over 6");
    assert_near(host_stats_auc_trials(best, 4, 4), 1.7 / 4, EPS, "auc over 4");
    double early[] = {0.6, 0.8};
    /* Ended early (DONE) after 2 of 4: (.6 + .8 + .8 + .8) / 4. */
    assert_near(host_stats_auc_trials(early, 2, 4), 0.75, EPS, "ended early");
    assert_near(host_stats_auc_trials(NULL, 0, 3), 0, EPS, "no trials");
    cr_assert(isnan(host_stats_auc_trials(early, 2, 0)));
}

Test(stats, auc_seconds_integrates_the_step_function)
{
    double best[4];
    host_stats_best_so_far(nan_first, 4, best);
    /* Trial 2 was cached (cost 0): it ends when trial 1 does.
     * [0,1) 0, [1,3) undefined = 0, [3,6) .5, [6,10) .7: (1.5 + 2.8) / 10. */
    const double seconds[] = {1, 3, 3, 6};
    assert_near(host_stats_auc_seconds(best, seconds, 4, 10), 0.43, EPS, "auc seconds");
    /* Cut at t_end = 4: (.5 * 1) / 4. */
    assert_near(host_stats_auc_seconds(best, seconds, 4, 4), 0.125, EPS, "cut short");
    cr_assert(isnan(host_stats_auc_seconds(best, seconds, 4, 0)), "empty interval");
}

/* ---- Mann-Whitney U ---- */

Test(stats, mann_whitney_exact_separated)
{
    const double x[] = {1, 2, 3, 4, 5}, y[] = {6, 7, 8, 9, 10};
    /* No x beats any y: U = 0. Only 1 of C(10,5) = 252 arrangements is this extreme, and one
     * the other way: p = 2/252 (scipy: 0.007936507936507936). */
    host_stats_mwu r = host_stats_mann_whitney(x, 5, y, 5);
    cr_assert(r.exact);
    assert_near(r.u, 0, EPS, "U");
    assert_near(r.p, 2.0 / 252, 1e-12, "p");
    r = host_stats_mann_whitney(y, 5, x, 5);
    assert_near(r.u, 25, EPS, "mirrored U");
    assert_near(r.p, 2.0 / 252, 1e-12, "mirrored p");
}

Test(stats, mann_whitney_exact_small)
{
    const double x[] = {1, 3, 5}, y[] = {2, 4, 6, 8};
    /* U = 0 + 1 + 2 = 3 of 12. P(U <= 3) counts partitions of 0..3 into at most 3 parts of at
     * most 4: 1 + 1 + 2 + 3 = 7 of C(7,3) = 35, so p = 2 * 7/35 = 0.4 (scipy: 0.4). */
    host_stats_mwu r = host_stats_mann_whitney(x, 3, y, 4);
    cr_assert(r.exact);
    assert_near(r.u, 3, EPS, "U");
    assert_near(r.p, 0.4, 1e-12, "p");
}

Test(stats, mann_whitney_exact_at_the_size_limit)
{
    double x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i + 1;
        y[i] = i + 3.5;
    }
    /* x_i > y_j iff i > j + 2: U = sum_{i} max(0, i - 2) = 153 (scipy exact: 0.21096432724812078,
     * statistic 153). */
    host_stats_mwu r = host_stats_mann_whitney(x, 20, y, 20);
    cr_assert(r.exact);
    assert_near(r.u, 153, EPS, "U");
    assert_near(r.p, 0.21096432724812078, 1e-12, "p");
}

Test(stats, mann_whitney_normal_with_ties)
{
    const double x[] = {1, 2, 2, 3, 5}, y[] = {2, 3, 4, 4, 6, 7};
    /* Pooled ranks: 1 -> 1, the three 2s -> 3, the two 3s -> 5.5, the two 4s -> 7.5, 5 -> 9,
     * 6 -> 10, 7 -> 11. R_x = 1 + 3 + 3 + 5.5 + 9 = 21.5, U = 21.5 - 15 = 6.5, mirror 23.5.
     * Ties: (27 - 3) + (8 - 2) + (8 - 2) = 36. var = 30/12 * (12 - 36/110) = 29.181818...
     * z = (23.5 - 15 - 0.5) / sqrt(var) = 1.480928..., p = erfc(z / sqrt 2) = 0.13862588
     * (scipy asymptotic: 0.13862587987892763). */
    host_stats_mwu r = host_stats_mann_whitney(x, 5, y, 6);
    cr_assert(!r.exact, "ties force the normal approximation");
    assert_near(r.u, 6.5, EPS, "U");
    double var = 30.0 / 12 * (12 - 36.0 / 110);
    assert_near(r.p, erfc(8 / sqrt(var) / sqrt(2.0)), 1e-12, "p by the formula");
    assert_near(r.p, 0.13862587987892763, 1e-12, "p as scipy");
}

Test(stats, mann_whitney_normal_for_large_samples)
{
    const double x[] = {0.346,  0.822,  0.33,  -1.303, 0.905,  0.446,  -0.537, 0.581, 0.365,
                        0.294,  0.028,  0.547, -0.736, -0.163, -0.482, 0.599,  0.04,  -0.292,
                        -0.782, -0.257, 0.008, -0.276, 1.294,  1.007,  -2.711};
    const double y[] = {-1.389, 0.325, 0.078,  0.714,  0.717,  2.618, -0.612, 0.122,
                        2.543,  1.147, 1.163,  -0.014, -1.148, 0.667, 0.609,  -0.727,
                        -0.183, 0.428, -0.445, 0.402,  0.595,  0.536};
    /* 25 and 22 values, no ties: above the exact limit (scipy asymptotic: U 220,
     * p 0.24525825172955873). */
    host_stats_mwu r = host_stats_mann_whitney(x, 25, y, 22);
    cr_assert(!r.exact);
    assert_near(r.u, 220, EPS, "U");
    assert_near(r.p, 0.24525825172955873, 1e-12, "p");
}

Test(stats, mann_whitney_degenerate)
{
    const double same[] = {0.7, 0.7, 0.7};
    host_stats_mwu r = host_stats_mann_whitney(same, 3, same, 2);
    assert_near(r.u, 3, EPS, "all ties: U = mn/2");
    assert_near(r.p, 1, EPS, "all ties: no evidence");
    r = host_stats_mann_whitney(same, 3, NULL, 0);
    cr_assert(isnan(r.p) && isnan(r.u), "an empty sample has no test");
}

/* ---- the report on a hand-made experiment ---- */

#define N_DECISIONS 3
#define TRIALS 4
#define COST 10.0

static char dir[64], path[128];

static void make_dir(void)
{
    tu_make_dir(dir, sizeof dir, "stats");
    snprintf(path, sizeof path, "%s/exp.h5", dir);
}

static void remove_dir(void)
{
    tu_remove_dir(dir);
}

TestSuite(report, .init = make_dir, .fini = remove_dir, .timeout = 60);

/* Scores per trial (NaN: DIVERGED; -1: the run ended before that trial); val = score,
 * test = val - 0.01, every trial costs COST seconds. */
static const char *const strategies[] = {"better", "random"};
static const double scores[6][TRIALS] = {
    {0.70, 0.72, 0.71, 0.74}, /* better-s0: final .74 */
    {0.65, 0.75, 0.70, 0.73}, /* better-s1: final .75 */
    {0.69, 0.68, 0.76, -1},   /* better-s2: final .76, ended after 3 trials */
    {0.50, 0.60, 0.55, 0.62}, /* random-s0: final .62 */
    {0.40, NAN, 0.58, 0.61},  /* random-s1: final .61 */
    {0.52, 0.53, 0.63, 0.60}, /* random-s2: final .63 */
};

/* replayed: add the table_best_* root attributes. charged_scale: 0 leaves charged_seconds 0, as
 * files from before that column read; otherwise it is charged_scale times the cost so far. */
static void write_experiment(int replayed, double charged_scale)
{
    larch_space sp;
    memset(&sp, 0, sizeof sp);
    sp.struct_size = sizeof sp;
    snprintf(sp.name, sizeof sp.name, "tiny");
    sp.n_decisions = N_DECISIONS;
    for (uint32_t d = 0; d < N_DECISIONS; d++) {
        sp.decisions[d].kind = LARCH_DECISION_OTHER;
        sp.decisions[d].n_choices = 4;
        snprintf(sp.decisions[d].label, LARCH_LABEL_SIZE, "d%u", d);
    }
    results_run_info runs[6];
    memset(runs, 0, sizeof runs);
    for (uint32_t r = 0; r < 6; r++) {
        snprintf(runs[r].strategy, sizeof runs[r].strategy, "%s", strategies[r / 3]);
        snprintf(runs[r].name, sizeof runs[r].name, "%s-s%u", strategies[r / 3], r % 3);
        snprintf(runs[r].strategy_version, sizeof runs[r].strategy_version, "1.0.0");
        runs[r].abi_major = 1;
        runs[r].seed_index = r % 3;
    }
    results_experiment_info info = {.config_text = "x",
                                    .config_path = "x.cfg",
                                    .larch_version = "0",
                                    .objective = "val_accuracy",
                                    .space = &sp,
                                    .max_epochs = 1,
                                    .n_runs = 6,
                                    .runs = runs};
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    for (uint32_t r = 0; r < 6; r++) {
        for (uint32_t t = 0; t < TRIALS && scores[r][t] != -1; t++) {
            larch_arch arch = {.n = N_DECISIONS};
            arch.choice[0] = (uint8_t)(r % 4);
            arch.choice[1] = (uint8_t)(t % 4);
            arch.choice[2] = (uint8_t)(r / 4);
            results_trial row;
            memset(&row, 0, sizeof row);
            row.trial = t;
            row.run = r;
            row.status = isnan(scores[r][t]) ? LARCH_TRIAL_DIVERGED : LARCH_TRIAL_OK;
            row.score = scores[r][t];
            row.val_accuracy = isnan(scores[r][t]) ? 0.1 : scores[r][t];
            row.test_accuracy = row.val_accuracy - 0.01;
            row.flops = 1000;
            row.train_seconds = row.cost_seconds = COST;
            row.charged_seconds = charged_scale * COST * (t + 1);
            row.n_epochs = 1;
            cr_assert_eq(results_writer_append(w, r, &row, &arch, NULL, NULL, &err), LARCH_OK, "%s",
                         err.message);
        }
        cr_assert_eq(results_writer_set_run_state(w, r, RESULTS_RUN_FINISHED, &err), LARCH_OK);
    }
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK, "%s", err.message);
    if (!replayed)
        return;
    /* The tabular benchmark's best, as a replaying experiment records it. */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    const char *names[] = {"table_best_val_accuracy", "table_best_test_accuracy"};
    const double values[] = {0.80, 0.79};
    for (int i = 0; i < 2; i++) {
        hid_t space = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, names[i], H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert_geq(a, 0);
        cr_assert_geq(H5Awrite(a, H5T_NATIVE_DOUBLE, &values[i]), 0);
        H5Aclose(a);
        H5Sclose(space);
    }
    H5Fclose(f);
}

/* Runs the report into a malloc'd string; returns the status. */
static int report_to_string(const host_report_options *opts, char **text, larch_error *err)
{
    size_t size = 0;
    FILE *out = open_memstream(text, &size);
    cr_assert_not_null(out);
    int rc = host_report(path, opts, out, err);
    fclose(out);
    return rc;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

Test(report, csv_numbers_match_the_hand_computation)
{
    write_experiment(1, 0);
    host_report_options opts;
    host_report_options_init(&opts);
    opts.format = HOST_REPORT_CSV;
    char *csv = NULL;
    larch_error err = {0};
    cr_assert_eq(report_to_string(&opts, &csv, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(count_lines(csv), 3, "a header and one row per strategy:\n%s", csv);
    cr_assert(!strncmp(csv, "strategy,is_reference,runs,", 27), "%s", csv);
    /* Final bests: better .74 .75 .76, random .62 .61 .63. */
    assert_near(csv_value(csv, "better", "runs"), 3, EPS, "runs");
    assert_near(csv_value(csv, "better", "trials"), 11, EPS, "trials");
    assert_near(csv_value(csv, "random", "failed_trials"), 1, EPS, "failed");
    assert_near(csv_value(csv, "better", "val_accuracy_mean"), 0.75, EPS, "val mean");
    assert_near(csv_value(csv, "better", "val_accuracy_sd"), 0.01, EPS, "val sd");
    assert_near(csv_value(csv, "random", "val_accuracy_median"), 0.62, EPS, "val median");
    assert_near(csv_value(csv, "random", "test_accuracy_mean"), 0.61, EPS, "test mean");
    /* Regret against the table's .80 / .79. */
    assert_near(csv_value(csv, "random", "regret_val_mean"), 0.18, EPS, "regret val");
    assert_near(csv_value(csv, "better", "regret_test_mean"), 0.05, EPS, "regret test");
    /* Target: median of the six final bests, (.63 + .74) / 2. better reaches it after 1, 2 and
     * 1 trials (10, 20, 10 s); random never does. */
    assert_near(csv_value(csv, "better", "target_score"), 0.685, EPS, "target");
    assert_near(csv_value(csv, "better", "target_reached"), 3, EPS, "reached");
    assert_near(csv_value(csv, "better", "trials_to_target_mean"), 4.0 / 3, EPS, "trials");
    assert_near(csv_value(csv, "better", "seconds_to_target_mean"), 40.0 / 3, EPS, "seconds");
    assert_near(csv_value(csv, "random", "target_reached"), 0, EPS, "random reached");
    cr_assert(isnan(csv_value(csv, "random", "trials_to_target_mean")));
    /* AUC over 4 trials: random .58, .4975 (the diverged trial keeps .40), .5775; better .72,
     * .725, .725 (better-s2 ended after 3 trials and carries .76). */
    assert_near(csv_value(csv, "random", "auc_trials_mean"), 1.655 / 3, EPS, "auc random");
    assert_near(csv_value(csv, "better", "auc_trials_mean"), 2.17 / 3, EPS, "auc better");
    /* Over [0, 40] s, each trial ending 10 s after the last: random 17/40, 13.8/40, 16.8/40;
     * better 21.4/40, 21.5/40, 21.4/40 (s2 keeps .76 for the last 10 s). */
    assert_near(csv_value(csv, "random", "auc_seconds_mean"), 47.6 / 120, EPS, "auc s random");
    assert_near(csv_value(csv, "better", "auc_seconds_mean"), 64.3 / 120, EPS, "auc s better");
    /* Every better final beats every random one: U = 9 of 9, exact p = 2 / C(6,3) = 0.1. */
    assert_near(csv_value(csv, "better", "mwu_u"), 9, EPS, "U");
    assert_near(csv_value(csv, "better", "mwu_p"), 0.1, 1e-12, "p");
    assert_near(csv_value(csv, "better", "mwu_exact"), 1, EPS, "exact");
    assert_near(csv_value(csv, "random", "is_reference"), 1, EPS, "reference by default");
    cr_assert(isnan(csv_value(csv, "random", "mwu_p")), "no p for the reference itself");
    free(csv);
}

Test(report, target_and_reference_options)
{
    write_experiment(0, 0);
    host_report_options opts;
    host_report_options_init(&opts);
    opts.format = HOST_REPORT_CSV;
    opts.target = 0.6;
    opts.reference = "better";
    char *csv = NULL;
    larch_error err = {0};
    cr_assert_eq(report_to_string(&opts, &csv, &err), LARCH_OK, "%s", err.message);
    /* random reaches .6 after 2, 4 and 3 trials. */
    assert_near(csv_value(csv, "random", "target_reached"), 3, EPS, "reached");
    assert_near(csv_value(csv, "random", "trials_to_target_mean"), 3, EPS, "trials");
    assert_near(csv_value(csv, "random", "mwu_u"), 0, EPS, "U against better");
    assert_near(csv_value(csv, "better", "is_reference"), 1, EPS, "chosen reference");
    cr_assert(isnan(csv_value(csv, "random", "regret_val_mean")), "no regret without a table");
    free(csv);

    opts.reference = "nope";
    cr_assert_eq(report_to_string(&opts, &csv, &err), LARCH_ENOTFOUND);
    cr_assert(strstr(err.message, "nope") && strstr(err.message, "better, random"), "%s",
              err.message);
    free(csv);

    double target = 0;
    cr_assert_eq(host_report_target_parse("0.9", &target, &err), LARCH_OK);
    assert_near(target, 0.9, EPS, "parsed target");
    cr_assert_eq(host_report_target_parse("nan", &target, &err), LARCH_EINVAL);
    cr_assert_eq(host_report_target_parse("0.9x", &target, &err), LARCH_EINVAL);
    host_report_format format;
    cr_assert_eq(host_report_format_parse("md", &format, &err), LARCH_OK);
    cr_assert_eq(format, HOST_REPORT_MARKDOWN);
    cr_assert_eq(host_report_format_parse("xml", &format, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "xml"), "%s", err.message);
}

Test(report, charged_seconds_column_wins_when_present)
{
    write_experiment(0, 2);
    host_report_options opts;
    host_report_options_init(&opts);
    opts.format = HOST_REPORT_CSV;
    char *csv = NULL;
    larch_error err = {0};
    cr_assert_eq(report_to_string(&opts, &csv, &err), LARCH_OK, "%s", err.message);
    /* Twice the running cost: 20, 40 and 20 s to the target instead of 10, 20, 10. */
    assert_near(csv_value(csv, "better", "seconds_to_target_mean"), 80.0 / 3, 1e-12, "seconds");
    /* Scaling time scales the whole step function: the normalised area does not change. */
    assert_near(csv_value(csv, "better", "auc_seconds_mean"), 64.3 / 120, 1e-12, "auc s");
    free(csv);
}

Test(report, json_text_and_markdown)
{
    write_experiment(1, 0);
    host_report_options opts;
    host_report_options_init(&opts);
    opts.format = HOST_REPORT_JSON;
    char *text = NULL;
    larch_error err = {0};
    cr_assert_eq(report_to_string(&opts, &text, &err), LARCH_OK, "%s", err.message);
    const char *keys[] = {"\"strategies\": {",
                          "\"better\": {",
                          "\"random\": {",
                          "\"reference\": \"random\"",
                          "\"table_best\": {\"val_accuracy\": 0.8",
                          "\"target\": {\"score\": 0.685, \"source\": \"median\"}",
                          "\"mwu_p\": 0.1,",
                          "\"best\": {\"run\": \"better-s2\""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(strstr(text, keys[i]), "json lacks %s:\n%s", keys[i], text);
    cr_assert(!strstr(text, "nan") && !strstr(text, "inf"), "NaN must be null:\n%s", text);
    free(text);

    opts.format = HOST_REPORT_TEXT;
    cr_assert_eq(report_to_string(&opts, &text, &err), LARCH_OK, "%s", err.message);
    const char *words[] = {"6 runs, 23 trials",     "target score 0.6850",
                           "regret val % / test %", "18.00 / 18.00",
                           "75.00 +- 1.00",         "p vs random",
                           "(reference)",           "0/3",
                           "best architecture:",    "better-s2"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_assert(strstr(text, words[i]), "text lacks '%s':\n%s", words[i], text);
    free(text);

    opts.format = HOST_REPORT_MARKDOWN;
    cr_assert_eq(report_to_string(&opts, &text, &err), LARCH_OK, "%s", err.message);
    cr_assert(strstr(text, "| strategy | runs |") && strstr(text, "|---|---:|"), "%s", text);
    cr_assert(strstr(text, "| better | 3 | 11 | 0 |"), "%s", text);
    free(text);
}

Test(report, root_double_attribute)
{
    write_experiment(1, 0);
    results_file *f = NULL;
    larch_error err = {0};
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    double v = 0;
    cr_assert_eq(results_file_root_double(f, "table_best_test_accuracy", &v, &err), LARCH_OK, "%s",
                 err.message);
    assert_near(v, 0.79, EPS, "attribute");
    cr_assert_eq(results_file_root_double(f, "max_epochs", &v, &err), LARCH_OK, "%s", err.message);
    assert_near(v, 1, EPS, "an integer attribute converts");
    v = 42;
    cr_assert_eq(results_file_root_double(f, "no_such", &v, &err), LARCH_ENOTFOUND);
    cr_assert(strstr(err.message, "no_such"), "%s", err.message);
    cr_assert_eq(v, 42, "untouched on error");
    cr_assert_eq(results_file_root_double(f, "created", &v, &err), LARCH_EFORMAT,
                 "a string is not a number");
    results_file_close(f);
}

Test(report, missing_file_names_it)
{
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.h5", dir);
    larch_error err = {0};
    FILE *out = fopen("/dev/null", "w");
    cr_assert_not_null(out);
    cr_assert_eq(host_report(missing, NULL, out, &err), LARCH_EIO);
    fclose(out);
    cr_assert(strstr(err.message, "missing.h5"), "%s", err.message);
}
