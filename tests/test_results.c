/* The HDF5 experiment file: writer and reader round trip, errors, and kill -9 of a live writer. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <larch/larch.h>

#include "results.h"
#include "test_util.h"

#define MAX_EPOCHS 6
#define N_DECISIONS 5

static char dir[64];
static char path[128];

static void make_dir(void)
{
    tu_make_dir(dir, sizeof dir, "results");
    snprintf(path, sizeof path, "%s/exp.h5", dir);
}

static void remove_dir(void)
{
    tu_remove_dir(dir);
}

TestSuite(results, .init = make_dir, .fini = remove_dir, .timeout = 60);

/* ---- a small deterministic experiment ---- */

static const uint32_t choices_of[N_DECISIONS] = {4, 5, 3, 2, 36};

static void make_space(larch_space *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->struct_size = sizeof *sp;
    snprintf(sp->name, sizeof sp->name, "test-space");
    sp->n_decisions = N_DECISIONS;
    for (uint32_t d = 0; d < N_DECISIONS; d++) {
        sp->decisions[d].kind = d == 1 ? LARCH_DECISION_INPUT : LARCH_DECISION_OP;
        sp->decisions[d].n_choices = choices_of[d];
        snprintf(sp->decisions[d].label, LARCH_LABEL_SIZE, "decision %u", d);
    }
    sp->n_ops = 4;
    const char *ops[] = {"none", "skip", "conv3x3", "maxpool"};
    for (uint32_t o = 0; o < sp->n_ops; o++)
        snprintf(sp->op_names[o], LARCH_LABEL_SIZE, "%s", ops[o]);
}

static larch_space space;
static results_run_info run_infos[2];
static const char config_text[] = "experiment: {\n  name = \"test\";\n  trials = 4;\n};\n";

static results_experiment_info make_info(uint32_t n_runs, uint32_t max_epochs)
{
    make_space(&space);
    memset(run_infos, 0, sizeof run_infos);
    for (uint32_t i = 0; i < 2; i++) {
        snprintf(run_infos[i].name, RESULTS_NAME_SIZE, "%s-s%u", i ? "grid" : "random", i);
        snprintf(run_infos[i].strategy, RESULTS_NAME_SIZE, "%s", i ? "grid" : "random");
        snprintf(run_infos[i].strategy_version, RESULTS_NAME_SIZE, "0.%u.1", i + 1);
        run_infos[i].abi_major = 1;
        run_infos[i].abi_minor = i;
        run_infos[i].seed = 0xfedcba9876543210ull + i; /* above INT64_MAX on purpose */
        run_infos[i].seed_index = i;
    }
    /* Run 0 leaves evaluator empty: written as "train". */
    snprintf(run_infos[1].evaluator, RESULTS_NAME_SIZE, "table");
    return (results_experiment_info){.config_text = config_text,
                                     .config_path = "test.cfg",
                                     .larch_version = "0.1.0-test",
                                     .objective = "val_accuracy",
                                     .seed = 7,
                                     .space = &space,
                                     .max_epochs = max_epochs,
                                     .n_runs = n_runs,
                                     .runs = run_infos};
}

typedef struct sample {
    results_trial row;
    larch_arch arch;
    float loss[MAX_EPOCHS], val[MAX_EPOCHS];
} sample;

/* Trial t of run `run`: every field derived from (run, t); trial 1 diverged. */
static void make_sample(uint32_t run, uint64_t t, sample *s)
{
    memset(s, 0, sizeof *s);
    s->arch.n = N_DECISIONS;
    for (uint32_t d = 0; d < N_DECISIONS; d++)
        s->arch.choice[d] = (uint8_t)((t * 7 + d * 3 + run) % choices_of[d]);
    results_trial *r = &s->row;
    r->trial = t;
    r->run = run;
    r->status = t % 5 == 1 ? LARCH_TRIAL_DIVERGED : t % 11 == 3 ? LARCH_TRIAL_TIMEOUT : 0;
    r->cached = t % 3 == 2;
    r->val_accuracy = 0.25 + 0.001 * (double)t + 0.1 * run;
    r->test_accuracy = r->val_accuracy - 0.0125;
    r->score = r->status == LARCH_TRIAL_OK ? r->val_accuracy * 0.5 : NAN;
    r->params = 123456789012ull + t;
    r->flops = 9876543210ull * (t + 1);
    r->latency_ms = 0.125 * (double)(t + 1);
    r->train_seconds = 3.5 + (double)t;
    r->cost_seconds = r->cached ? 0 : r->train_seconds;
    r->charged_seconds = 10.0 * (double)t + 0.25 * run;
    r->started_s = 100.0 * (double)t + run;
    r->finished_s = r->started_s + r->train_seconds;
    r->n_epochs = (uint32_t)((t + run) % (MAX_EPOCHS + 1)); /* 0..MAX_EPOCHS */
    for (uint32_t e = 0; e < r->n_epochs; e++) {
        s->loss[e] = 2.5f / (float)(e + 1) + (float)t;
        s->val[e] = 0.05f * (float)(e + 1) + 0.001f * (float)run;
    }
    larch_arch_to_string(&s->arch, r->arch);
}

static int append_sample(results_writer *w, uint32_t run, uint64_t t, larch_error *err)
{
    sample s;
    make_sample(run, t, &s);
    return results_writer_append(w, run, &s.row, &s.arch, s.loss, s.val, err);
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void assert_trial_eq(const results_trial *got, const results_trial *want)
{
    cr_assert_eq(got->trial, want->trial);
    cr_assert_eq(got->run, want->run);
    cr_assert_eq(got->status, want->status, "trial %llu", (unsigned long long)want->trial);
    cr_assert_eq(got->cached, want->cached);
    cr_assert(same_double(got->score, want->score), "score %g != %g", got->score, want->score);
    cr_assert_eq(got->val_accuracy, want->val_accuracy);
    cr_assert_eq(got->test_accuracy, want->test_accuracy);
    cr_assert_eq(got->params, want->params);
    cr_assert_eq(got->flops, want->flops);
    cr_assert_eq(got->latency_ms, want->latency_ms);
    cr_assert_eq(got->train_seconds, want->train_seconds);
    cr_assert_eq(got->cost_seconds, want->cost_seconds);
    cr_assert_eq(got->charged_seconds, want->charged_seconds);
    cr_assert_eq(got->started_s, want->started_s);
    cr_assert_eq(got->finished_s, want->finished_s);
    cr_assert_eq(got->n_epochs, want->n_epochs);
    cr_assert_str_eq(got->arch, want->arch);
}

/* Every stored trial of the run equals make_sample: row, arch and curves. */
static void assert_run_matches(results_file *f, uint32_t run, size_t n_expected)
{
    larch_error err = {0};
    results_trial *rows = NULL;
    size_t n = 0;
    cr_assert_eq(results_file_read_trials(f, run, &rows, &n, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(n, n_expected, "run %u: %zu trials, expected %zu", run, n, n_expected);
    for (size_t i = 0; i < n; i++) {
        sample want;
        make_sample(run, i, &want);
        assert_trial_eq(&rows[i], &want.row);

        larch_arch arch;
        cr_assert_eq(results_file_read_arch(f, run, i, &arch, &err), LARCH_OK, "%s", err.message);
        cr_assert(larch_arch_equal(&arch, &want.arch), "run %u trial %zu arch", run, i);
        char text[LARCH_ARCH_STRING_SIZE];
        cr_assert_str_eq(larch_arch_to_string(&arch, text), rows[i].arch);

        float loss[MAX_EPOCHS], val[MAX_EPOCHS];
        cr_assert_eq(results_file_read_curves(f, run, i, loss, val, &err), LARCH_OK, "%s",
                     err.message);
        for (uint32_t e = 0; e < MAX_EPOCHS; e++) {
            if (e < want.row.n_epochs) {
                cr_assert_eq(loss[e], want.loss[e]);
                cr_assert_eq(val[e], want.val[e]);
            } else {
                cr_assert(isnan(loss[e]) && isnan(val[e]), "padding of epoch %u", e);
            }
        }
    }
    free(rows);
}

static void fill_bytes(uint8_t *bytes, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        bytes[i] = (uint8_t)(seed + i * 31);
}

/* ---- round trip ---- */

Test(results, round_trip)
{
    results_experiment_info info = make_info(2, MAX_EPOCHS);
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    const size_t n_trials[2] = {9, 4};
    uint8_t big[7000], small[300];
    fill_bytes(big, sizeof big, 1);
    fill_bytes(small, sizeof small, 2);
    for (uint32_t run = 0; run < 2; run++) {
        cr_assert_eq(results_writer_set_run_state(w, run, RESULTS_RUN_RUNNING, &err), LARCH_OK);
        for (size_t t = 0; t < n_trials[run]; t++)
            cr_assert_eq(append_sample(w, run, t, &err), LARCH_OK, "%s", err.message);
    }
    /* Run 0 shrinks its checkpoint (stale tail must not show), run 1 grows past a chunk. */
    cr_assert_eq(results_writer_save_checkpoint(w, 0, big, sizeof big, 2, &err), LARCH_OK);
    cr_assert_eq(results_writer_save_checkpoint(w, 0, small, sizeof small, 3, &err), LARCH_OK);
    cr_assert_eq(results_writer_save_checkpoint(w, 1, small, 100, 1, &err), LARCH_OK);
    cr_assert_eq(results_writer_save_checkpoint(w, 1, big, sizeof big, 4, &err), LARCH_OK);
    cr_assert_eq(results_writer_set_run_state(w, 0, RESULTS_RUN_FINISHED, &err), LARCH_OK);
    cr_assert_eq(results_writer_set_run_state(w, 1, RESULTS_RUN_ABORTED, &err), LARCH_OK);
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK, "%s", err.message);

    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(results_file_schema_version(f), RESULTS_SCHEMA_VERSION);
    cr_assert_eq(results_file_max_epochs(f), MAX_EPOCHS);
    cr_assert_str_eq(results_file_config_text(f), config_text);

    const larch_space *sp = results_file_space(f);
    cr_assert_eq(sp->struct_size, sizeof(larch_space));
    cr_assert_str_eq(sp->name, space.name);
    cr_assert_eq(sp->n_decisions, space.n_decisions);
    for (uint32_t d = 0; d < sp->n_decisions; d++) {
        cr_assert_eq(sp->decisions[d].kind, space.decisions[d].kind);
        cr_assert_eq(sp->decisions[d].n_choices, space.decisions[d].n_choices);
        cr_assert_str_eq(sp->decisions[d].label, space.decisions[d].label);
    }
    cr_assert_eq(sp->n_ops, space.n_ops);
    for (uint32_t o = 0; o < sp->n_ops; o++)
        cr_assert_str_eq(sp->op_names[o], space.op_names[o]);
    cr_assert_eq(memcmp(sp, &space, sizeof space), 0, "space differs in padding bytes");

    cr_assert_eq(results_file_n_runs(f), 2);
    cr_assert_null(results_file_run(f, 2));
    for (uint32_t run = 0; run < 2; run++) {
        const results_run_info *ri = results_file_run(f, run);
        cr_assert_str_eq(ri->name, run_infos[run].name);
        cr_assert_str_eq(ri->strategy, run_infos[run].strategy);
        cr_assert_str_eq(ri->strategy_version, run_infos[run].strategy_version);
        /* No plugin given: the strategy's name is its plugin's id. */
        cr_assert_str_eq(ri->plugin, run_infos[run].strategy);
        cr_assert_eq(ri->abi_major, run_infos[run].abi_major);
        cr_assert_eq(ri->abi_minor, run_infos[run].abi_minor);
        cr_assert_eq(ri->seed, run_infos[run].seed);
        cr_assert_eq(ri->seed_index, run_infos[run].seed_index);
        cr_assert_str_eq(ri->evaluator, run ? "table" : "train");
        assert_run_matches(f, run, n_trials[run]);
    }

    results_run_state state;
    cr_assert_eq(results_file_read_run_state(f, 0, &state, &err), LARCH_OK);
    cr_assert_eq(state, RESULTS_RUN_FINISHED);
    cr_assert_eq(results_file_read_run_state(f, 1, &state, &err), LARCH_OK);
    cr_assert_eq(state, RESULTS_RUN_ABORTED);

    void *bytes = NULL;
    size_t size = 0;
    uint64_t told = 0;
    cr_assert_eq(results_file_read_checkpoint(f, 0, &bytes, &size, &told, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_eq(size, sizeof small);
    cr_assert_eq(told, 3, "the trials of the latest checkpoint");
    cr_assert_eq(memcmp(bytes, small, size), 0);
    free(bytes);
    cr_assert_eq(results_file_read_checkpoint(f, 1, &bytes, &size, NULL, &err), LARCH_OK);
    cr_assert_eq(size, sizeof big);
    cr_assert_eq(memcmp(bytes, big, size), 0);
    free(bytes);

    larch_arch arch;
    cr_assert_eq(results_file_read_arch(f, 1, n_trials[1], &arch, &err), LARCH_ERANGE);
    cr_assert_eq(results_file_read_trials(f, 5, (results_trial **)&bytes, &size, &err),
                 LARCH_ERANGE);
    results_file_close(f);
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0, "HDF5 objects left open");
}

/* Blocks and single appends interleave into the same rows; a bad row writes nothing. */
Test(results, append_block_matches_single_appends)
{
    results_experiment_info info = make_info(2, MAX_EPOCHS);
    info.table_path = "tables/cell3.h5";
    info.table_best_val_accuracy = 0.9375;
    info.table_best_test_accuracy = 0.921875;
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    enum { N = 300 };
    static sample samples[N];
    static results_trial rows[N];
    static larch_arch archs[N];
    static const float *loss[N], *val[N];
    for (size_t t = 0; t < N; t++) {
        make_sample(0, t, &samples[t]);
        rows[t] = samples[t].row;
        archs[t] = samples[t].arch;
        loss[t] = samples[t].loss;
        val[t] = samples[t].val;
    }
    cr_assert_eq(results_writer_append_block(w, 0, rows, archs, 0, loss, val, &err), LARCH_OK);
    cr_assert_eq(results_writer_append_block(w, 0, rows, archs, 3, loss, val, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_eq(append_sample(w, 0, 3, &err), LARCH_OK, "%s", err.message);
    /* Row 7 of the next block claims the wrong trial: the block is refused whole. */
    rows[7].trial = 99;
    cr_assert_eq(
        results_writer_append_block(w, 0, rows + 4, archs + 4, 10, loss + 4, val + 4, &err),
        LARCH_EINVAL);
    cr_assert(strstr(err.message, "trial 99"), "%s", err.message);
    rows[7].trial = 7;
    /* More rows than a chunk, in one block. */
    cr_assert_eq(
        results_writer_append_block(w, 0, rows + 4, archs + 4, N - 4, loss + 4, val + 4, &err),
        LARCH_OK, "%s", err.message);
    /* Run 1: curves absent (NULL arrays) are NaN. */
    make_sample(1, 0, &samples[0]);
    samples[0].row.n_epochs = 0;
    cr_assert_eq(
        results_writer_append_block(w, 1, &samples[0].row, &samples[0].arch, 1, NULL, NULL, &err),
        LARCH_OK, "%s", err.message);
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK, "%s", err.message);

    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    assert_run_matches(f, 0, N);
    double v = 0;
    cr_assert_eq(results_file_root_double(f, "table_best_val_accuracy", &v, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_eq(v, 0.9375);
    cr_assert_eq(results_file_root_double(f, "table_best_test_accuracy", &v, &err), LARCH_OK);
    cr_assert_eq(v, 0.921875);
    results_file_close(f);
}

Test(results, empty_run_and_zero_epochs)
{
    results_experiment_info info = make_info(1, 0);
    info.config_text = NULL;
    info.config_path = NULL;
    space.n_ops = 0;
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK);

    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    cr_assert_str_eq(results_file_config_text(f), "");
    cr_assert_eq(results_file_space(f)->n_ops, 0);
    double v = 0;
    cr_assert_eq(results_file_root_double(f, "table_best_val_accuracy", &v, &err), LARCH_ENOTFOUND,
                 "a trained experiment has no table attributes");
    results_trial *rows = (results_trial *)1;
    size_t n = 1;
    cr_assert_eq(results_file_read_trials(f, 0, &rows, &n, &err), LARCH_OK, "%s", err.message);
    cr_assert_null(rows);
    cr_assert_eq(n, 0);
    void *bytes = (void *)1;
    cr_assert_eq(results_file_read_checkpoint(f, 0, &bytes, &n, NULL, &err), LARCH_OK);
    cr_assert_null(bytes);
    cr_assert_eq(n, 0);
    results_run_state state;
    cr_assert_eq(results_file_read_run_state(f, 0, &state, &err), LARCH_OK);
    cr_assert_eq(state, RESULTS_RUN_PENDING);
    results_file_close(f);
}

/* ---- the writer's argument checks ---- */

Test(results, append_checks_its_arguments)
{
    results_experiment_info info = make_info(2, 2);
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    sample s;
    make_sample(0, 1, &s); /* trial 1 before trial 0 */
    s.row.n_epochs = 0;
    cr_assert_eq(results_writer_append(w, 0, &s.row, &s.arch, NULL, NULL, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "trial 1") && strstr(err.message, "trial 0"), "%s", err.message);
    make_sample(0, 0, &s);
    s.row.n_epochs = 3;
    cr_assert_eq(results_writer_append(w, 0, &s.row, &s.arch, s.loss, s.val, &err), LARCH_ERANGE);
    s.row.n_epochs = 2;
    s.arch.choice[3] = 2; /* decision 3 has 2 choices */
    cr_assert_eq(results_writer_append(w, 0, &s.row, &s.arch, s.loss, s.val, &err), LARCH_ERANGE);
    s.arch.choice[3] = 1;
    cr_assert_eq(results_writer_append(w, 2, &s.row, &s.arch, s.loss, s.val, &err), LARCH_ERANGE);
    cr_assert_eq(results_writer_append(w, 1, &s.row, &s.arch, s.loss, s.val, &err), LARCH_EINVAL,
                 "row.run 0 appended to run 1");
    cr_assert_eq(results_writer_set_run_state(w, 0, (results_run_state)7, &err), LARCH_EINVAL);
    cr_assert_eq(results_writer_save_checkpoint(w, 0, NULL, 5, 0, &err), LARCH_EINVAL);
    /* The refusals left the run untouched: the right trial 0 goes in. */
    cr_assert_eq(results_writer_append(w, 0, &s.row, &s.arch, NULL, NULL, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK);

    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    results_trial *rows = NULL;
    size_t n = 0;
    cr_assert_eq(results_file_read_trials(f, 0, &rows, &n, &err), LARCH_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(rows[0].n_epochs, 2);
    free(rows);
    float loss[2] = {0, 0};
    cr_assert_eq(results_file_read_curves(f, 0, 0, loss, NULL, &err), LARCH_OK);
    cr_assert(isnan(loss[0]) && isnan(loss[1]), "NULL curves are stored as NaN");
    results_file_close(f);
}

Test(results, create_refuses_bad_runs_and_paths)
{
    results_experiment_info info = make_info(2, 2);
    larch_error err = {0};
    results_writer *w = NULL;
    snprintf(run_infos[1].name, RESULTS_NAME_SIZE, "random-s0");
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "random-s0"), "%s", err.message);
    snprintf(run_infos[1].name, RESULTS_NAME_SIZE, "a/b");
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_EINVAL);
    snprintf(run_infos[1].name, RESULTS_NAME_SIZE, "grid-s1");
    char bad[192];
    snprintf(bad, sizeof bad, "%s/no/such/dir/exp.h5", dir);
    cr_assert_eq(results_writer_create(bad, &info, &w, &err), LARCH_EIO);
    cr_assert(strstr(err.message, bad), "%s", err.message);
    cr_assert_null(w);
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0, "HDF5 objects left open");
}

/* ---- the reader's refusals ---- */

Test(results, open_missing_file_names_it)
{
    larch_error err = {0};
    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_EIO);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert_null(f);
}

Test(results, open_non_hdf5_file_names_it)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs("experiment: { name = \"not hdf5\"; };\n", fp);
    fclose(fp);
    larch_error err = {0};
    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, path) && strstr(err.message, "HDF5"), "%s", err.message);
}

Test(results, open_refuses_a_newer_schema)
{
    results_experiment_info info = make_info(1, 2);
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK);

    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    hid_t attr = H5Aopen(file, "schema_version", H5P_DEFAULT);
    cr_assert_geq(attr, 0);
    int32_t newer = RESULTS_SCHEMA_VERSION + 1;
    cr_assert_geq(H5Awrite(attr, H5T_NATIVE_INT32, &newer), 0);
    H5Aclose(attr);
    H5Fclose(file);

    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_EFORMAT);
    char want[64];
    snprintf(want, sizeof want, "schema version %d", RESULTS_SCHEMA_VERSION + 1);
    cr_assert(strstr(err.message, path) && strstr(err.message, want), "%s", err.message);
    snprintf(want, sizeof want, "(%d)", RESULTS_SCHEMA_VERSION);
    cr_assert(strstr(err.message, want), "%s", err.message);
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0, "HDF5 objects left open");
}

Test(results, open_refuses_a_foreign_hdf5_file)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    H5Fclose(file);
    larch_error err = {0};
    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "schema_version"), "%s", err.message);
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0, "HDF5 objects left open");
}

/* A row extended but never written (the writer killed in between) is not a trial. */
Test(results, unwritten_rows_are_left_out)
{
    results_experiment_info info = make_info(1, MAX_EPOCHS);
    larch_error err = {0};
    results_writer *w = NULL;
    cr_assert_eq(results_writer_create(path, &info, &w, &err), LARCH_OK, "%s", err.message);
    for (uint64_t t = 0; t < 3; t++)
        cr_assert_eq(append_sample(w, 0, t, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(results_writer_close(w, &err), LARCH_OK);

    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    hsize_t rows = 4, arch_rows[2] = {4, N_DECISIONS};
    hid_t ds = H5Dopen2(file, "runs/random-s0/trials", H5P_DEFAULT);
    cr_assert_geq(H5Dset_extent(ds, &rows), 0);
    H5Dclose(ds);
    ds = H5Dopen2(file, "runs/random-s0/arch", H5P_DEFAULT);
    cr_assert_geq(H5Dset_extent(ds, arch_rows), 0);
    H5Dclose(ds);
    H5Fclose(file);

    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    assert_run_matches(f, 0, 3);
    larch_arch arch;
    cr_assert_eq(results_file_read_arch(f, 0, 3, &arch, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "never written"), "%s", err.message);
    results_file_close(f);
}

/* ---- kill -9 of a live writer ---- */

#define KILL_ROUNDS 6

/* Checkpoint k: 8 bytes of k, then a pattern; its size varies with k and crosses chunks. */
static size_t checkpoint_size_of(uint64_t k)
{
    return 8 + (size_t)(k * 997 % 9000);
}

static void make_checkpoint(uint64_t k, uint8_t *bytes)
{
    memcpy(bytes, &k, 8);
    fill_bytes(bytes + 8, checkpoint_size_of(k) - 8, (uint8_t)k);
}

/* The child: appends trial after trial (and a checkpoint after each) until killed. */
static void write_forever(int ready_fd)
{
    results_experiment_info info = make_info(2, MAX_EPOCHS);
    larch_error err = {0};
    results_writer *w = NULL;
    if (results_writer_create(path, &info, &w, &err) != LARCH_OK)
        _exit(3);
    results_writer_set_run_state(w, 0, RESULTS_RUN_RUNNING, &err);
    if (write(ready_fd, "r", 1) != 1)
        _exit(4);
    static uint8_t bytes[9100];
    for (uint64_t t = 0;; t++) {
        if (append_sample(w, 0, t, &err) != LARCH_OK)
            _exit(5);
        make_checkpoint(t, bytes);
        if (results_writer_save_checkpoint(w, 0, bytes, checkpoint_size_of(t), t + 1, &err) !=
            LARCH_OK)
            _exit(6);
    }
}

static size_t visible_trials(void)
{
    larch_error err = {0};
    results_file *f = NULL;
    if (results_file_open(path, &f, &err) != LARCH_OK)
        return 0;
    results_trial *rows = NULL;
    size_t n = 0;
    if (results_file_read_trials(f, 0, &rows, &n, &err) != LARCH_OK)
        n = 0;
    free(rows);
    results_file_close(f);
    return n;
}

static void check_after_kill(size_t at_least)
{
    larch_error err = {0};
    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    results_trial *rows = NULL;
    size_t n = 0;
    cr_assert_eq(results_file_read_trials(f, 0, &rows, &n, &err), LARCH_OK, "%s", err.message);
    free(rows);
    cr_assert_geq(n, at_least);
    assert_run_matches(f, 0, n);
    assert_run_matches(f, 1, 0);

    /* The raw table holds at most the one trial in flight beyond the readable ones. */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    hid_t ds = H5Dopen2(file, "runs/random-s0/trials", H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hsize_t raw = 0;
    H5Sget_simple_extent_dims(sp, &raw, NULL);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(file);
    cr_assert(raw == n || raw == n + 1, "%llu raw rows, %zu readable", (unsigned long long)raw, n);

    /* The checkpoint is absent (killed mid-save) or a whole one of the last trials. */
    void *bytes = NULL;
    size_t size = 0;
    uint64_t told = 0;
    cr_assert_eq(results_file_read_checkpoint(f, 0, &bytes, &size, &told, &err), LARCH_OK, "%s",
                 err.message);
    if (size) {
        uint64_t k;
        memcpy(&k, bytes, 8);
        cr_assert_eq(told, k + 1, "checkpoint of trial %llu says %llu trials",
                     (unsigned long long)k, (unsigned long long)told);
        cr_assert(k < n && k + 2 >= n, "checkpoint of trial %llu with %zu trials",
                  (unsigned long long)k, n);
        cr_assert_eq(size, checkpoint_size_of(k));
        static uint8_t want[9100];
        make_checkpoint(k, want);
        cr_assert_eq(memcmp(bytes, want, size), 0, "torn checkpoint %llu", (unsigned long long)k);
    }
    free(bytes);
    results_run_state state;
    cr_assert_eq(results_file_read_run_state(f, 0, &state, &err), LARCH_OK);
    cr_assert_eq(state, RESULTS_RUN_RUNNING);
    results_file_close(f);
}

Test(results, kill_9_keeps_every_flushed_trial, .timeout = 30)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int round = 0; round < KILL_ROUNDS; round++) {
        unlink(path);
        int pipe_fd[2];
        cr_assert_eq(pipe(pipe_fd), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            close(pipe_fd[0]);
            write_forever(pipe_fd[1]);
        }
        close(pipe_fd[1]);
        char c;
        cr_assert_eq(read(pipe_fd[0], &c, 1), 1, "the writer failed to start");
        close(pipe_fd[0]);

        /* Watch the live file, as an analyst would, until enough trials are visible; then
         * kill at a random moment shortly after. */
        size_t threshold = 20 + (size_t)(rand() % 150);
        size_t seen = 0;
        for (int polls = 0; polls < 5000 && seen < threshold; polls++) {
            seen = visible_trials();
            usleep(1000);
        }
        usleep((useconds_t)(rand() % 3000));
        cr_assert_eq(kill(pid, SIGKILL), 0);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the writer exited on its own (status %d)", status);
        cr_assert_geq(seen, threshold, "only %zu trials became visible", seen);
        check_after_kill(seen);
    }
}
