/* End-to-end: the `larch` binary as a user runs it, on small Fashion-MNIST subsets. */
#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <larch/strategy.h>

#include "../results/results.h"
#include "test_util.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char tmp_dir[256];

static void make_tmp(void)
{
    tu_make_dir(tmp_dir, sizeof tmp_dir, "e2e");
}

static void remove_tmp(void)
{
    tu_remove_dir(tmp_dir);
}

TestSuite(e2e, .init = make_tmp, .fini = remove_tmp, .timeout = 240);

static void need_fashion(void)
{
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("Fashion-MNIST is not installed (make deps installs it)");
}

/* Writes a small experiment config; extra is appended inside the file (overriding groups is
 * done with --set in the tests, so extra holds whole groups). */
static void write_config(const char *name, const char *strategies, const char *extra)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.cfg", tmp_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "experiment = { name = \"%s\"; seed = 7; seeds = 1; strategies = [%s]; };\n"
            "budget = { trials = 3; };\n"
            "space = { type = \"cell\"; opset = \"nb201\"; nodes = 4; channels = 4; "
            "cells_per_stage = 1; };\n"
            "data = { format = \"idx\"; dir = \"" FASHION_DIR "\"; train_size = 2000; "
            "val_size = 256; test_size = 256; };\n"
            "train = { epochs = 1; batch = 32; lr = 0.1; };\n"
            "%s\n",
            name, strategies, extra ? extra : "");
    fclose(f);
}

/* Runs larch with args (a shell fragment) in tmp_dir; output goes to <tmp>/out.txt. Returns the
 * exit status. */
static int larch(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > out.txt 2>&1", tmp_dir, LARCH_TEST_BIN, args);
    int status = system(cmd);
    cr_assert(WIFEXITED(status), "larch did not exit normally");
    return WEXITSTATUS(status);
}

static char *output(void)
{
    static char text[65536];
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", tmp_dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static results_trial *read_trials(const char *file, uint32_t run, size_t *n, results_file **out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, file);
    larch_error err = {0};
    results_file *f = NULL;
    cr_assert_eq(results_file_open(path, &f, &err), LARCH_OK, "%s", err.message);
    results_trial *rows = NULL;
    cr_assert_eq(results_file_read_trials(f, run, &rows, n, &err), LARCH_OK, "%s", err.message);
    if (out)
        *out = f;
    else
        results_file_close(f);
    return rows;
}

Test(e2e, version_help_and_usage_errors)
{
    cr_assert_eq(larch("--version"), 0);
    cr_assert(strstr(output(), "ABI 1.0"), "%s", output());
    cr_assert_eq(larch("--help"), 0);
    cr_assert(strstr(output(), "usage: larch"));
    cr_assert_eq(larch("frobnicate"), 2);
    cr_assert(strstr(output(), "unknown command 'frobnicate'"), "%s", output());
    cr_assert_eq(larch("run"), 2);
    cr_assert_eq(larch("run missing.cfg"), 2);
    cr_assert(strstr(output(), "missing.cfg"), "%s", output());
    cr_assert_eq(larch("report missing.h5"), 2);
    cr_assert(strstr(output(), "missing.h5"), "%s", output());
}

Test(e2e, plugins_lists_builtins_and_refusals)
{
    cr_assert_eq(larch("plugins --plugin-path " LARCH_TEST_FIXTURE_DIR), 0);
    const char *out = output();
    cr_assert(strstr(out, "random") && strstr(out, "grid") && strstr(out, "nb201"), "%s", out);
    cr_assert(strstr(out, "strategy") && strstr(out, "opset"), "%s", out);
    cr_assert(strstr(out, "refused:"), "fixture plugins must be refused with a reason:\n%s", out);
}

Test(e2e, search_on_subset_beats_chance_and_reports)
{
    need_fashion();
    write_config("small", "\"random\"", NULL);
    cr_assert_eq(larch("run small.cfg -o small.h5 --quiet"), 0, "%s", output());
    size_t n = 0;
    results_file *f = NULL;
    results_trial *rows = read_trials("small.h5", 0, &n, &f);
    cr_assert_eq(n, 3);
    double best = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rows[i].trial, i);
        cr_assert_eq(rows[i].n_epochs, 1);
        cr_assert_gt(rows[i].flops, 0);
        cr_assert_gt(rows[i].params, 0);
        if (rows[i].status == LARCH_TRIAL_OK && rows[i].score > best)
            best = rows[i].score;
    }
    /* Chance is 10%; 60 SGD steps of a tiny cell net do much better. */
    cr_assert_gt(best, 0.3, "best validation accuracy %.3f is not above chance", best);
    results_run_state state;
    larch_error err = {0};
    cr_assert_eq(results_file_read_run_state(f, 0, &state, &err), LARCH_OK);
    cr_assert_eq(state, RESULTS_RUN_FINISHED);
    cr_assert(strstr(results_file_config_text(f), "small"));
    results_file_close(f);
    free(rows);

    cr_assert_eq(larch("report small.h5"), 0, "%s", output());
    cr_assert(strstr(output(), "random"), "%s", output());
    cr_assert(strstr(output(), "best architecture"), "%s", output());
    /* Without --force an existing file is never overwritten. */
    cr_assert_eq(larch("run small.cfg -o small.h5 --quiet"), 2);
    cr_assert(strstr(output(), "already exists"), "%s", output());
}

Test(e2e, same_config_and_seed_give_the_same_trials)
{
    need_fashion();
    write_config("det", "\"random\"", NULL);
    cr_assert_eq(larch("run det.cfg -o a.h5 --quiet"), 0, "%s", output());
    cr_assert_eq(larch("run det.cfg -o b.h5 --quiet"), 0, "%s", output());
    size_t na = 0, nb = 0;
    results_trial *a = read_trials("a.h5", 0, &na, NULL);
    results_trial *b = read_trials("b.h5", 0, &nb, NULL);
    cr_assert_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_str_eq(a[i].arch, b[i].arch);
        cr_assert_eq(a[i].val_accuracy, b[i].val_accuracy, "trial %zu", i);
        cr_assert_eq(a[i].test_accuracy, b[i].test_accuracy, "trial %zu", i);
        cr_assert_eq(a[i].flops, b[i].flops);
    }
    free(a);
    free(b);
}

Test(e2e, grid_exhausts_a_tiny_space_and_cache_answers_repeats)
{
    need_fashion();
    /* nodes = 2: one edge, five architectures. */
    write_config("tiny", "\"grid\", \"random\"",
                 "strategies = { random = { no_repeat = false; }; };");
    cr_assert_eq(
        larch("run tiny.cfg -o tiny.h5 --quiet --set space.nodes=2 --set budget.trials=12"), 0,
        "%s", output());
    size_t n = 0, n_grid = 0;
    results_trial *grid = read_trials("tiny.h5", 0, &n_grid, NULL);
    cr_assert_eq(n_grid, 5, "grid must stop with DONE after the 5 architectures, got %zu", n_grid);
    double charged = 0;
    for (size_t i = 0; i < n_grid; i++) {
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(grid[i].arch, grid[j].arch);
        cr_assert_eq(grid[i].cached, 0);
        cr_assert_gt(grid[i].cost_seconds, 0);
        cr_assert_eq(grid[i].cost_seconds, grid[i].train_seconds);
        charged += grid[i].cost_seconds;
        cr_assert_eq(grid[i].charged_seconds, charged);
    }
    results_trial *rnd = read_trials("tiny.h5", 1, &n, NULL);
    cr_assert_eq(n, 12);
    /* Every arch was trained by the grid run already, so all of random's trials are cached. But
     * fairness: random pays the grid's recorded seconds for the first proposal of each arch in
     * its own run; only its repeats are free. */
    charged = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rnd[i].cached, 1, "trial %zu", i);
        const results_trial *trained = NULL;
        for (size_t j = 0; j < n_grid; j++)
            if (!strcmp(grid[j].arch, rnd[i].arch))
                trained = &grid[j];
        cr_assert_not_null(trained);
        cr_assert_eq(rnd[i].train_seconds, trained->train_seconds);
        int repeat = 0;
        for (size_t j = 0; j < i; j++)
            repeat |= !strcmp(rnd[j].arch, rnd[i].arch);
        cr_assert_eq(rnd[i].cost_seconds, repeat ? 0 : trained->train_seconds, "trial %zu", i);
        charged += rnd[i].cost_seconds;
        cr_assert_eq(rnd[i].charged_seconds, charged);
    }
    free(grid);
    free(rnd);
}

Test(e2e, config_errors_exit_2_with_file_and_line)
{
    write_config("bad", "\"random\"", "train = { epochs = 0; };");
    /* A duplicate group is itself a libconfig error; either way: exit 2 naming the file:line. */
    cr_assert_eq(larch("run bad.cfg"), 2);
    cr_assert(strstr(output(), "bad.cfg:"), "%s", output());

    write_config("typo", "\"random\"", NULL);
    cr_assert_eq(larch("run typo.cfg --set train.epochs=0"), 2);
    cr_assert(strstr(output(), "train.epochs"), "%s", output());
    cr_assert_eq(larch("run typo.cfg --set experiment.strategies=nosuch"), 2);
    cr_assert(strstr(output(), "nosuch"), "%s", output());
    cr_assert_eq(larch("run typo.cfg --set strategies.random.no_repaet=true"), 2);
    cr_assert(strstr(output(), "no_repaet"), "%s", output());

    write_config("notable", "\"random\"", "evaluator = {\n  type = \"table\";\n};");
    cr_assert_eq(larch("run notable.cfg"), 2);
    cr_assert(strstr(output(), "notable.cfg:7: evaluator.type: \"table\" needs evaluator.table"),
              "%s", output());
    write_config("nobound", "\"random\"", NULL);
    cr_assert_eq(larch("run nobound.cfg --set budget.trials=0"), 2);
    cr_assert(strstr(output(), "needs budget.seconds > 0"), "%s", output());
    write_config("missing", "\"random\"", "evaluator = { type = \"table\"; table = \"no.h5\"; };");
    cr_assert_neq(larch("run missing.cfg"), 0);
    cr_assert(strstr(output(), "no.h5"), "%s", output());
}

/* The whole replay workflow with the binary: tabulate a tiny space, replay it, report. */
Test(e2e, tabulate_then_replay_then_report)
{
    need_fashion();
    /* nodes = 2: five architectures, trained once each. */
    write_config("tab", "\"random\", \"grid\"",
                 "tabulate = { seeds = 1; workers = 2; };\n"
                 "evaluator = { type = \"table\"; table = \"tiny-table.h5\"; };\n"
                 "strategies = { random = { no_repeat = false; }; };");
    cr_assert_eq(larch("tabulate tab.cfg -o tiny-table.h5 --quiet --set space.nodes=2"), 0, "%s",
                 output());
    cr_assert_eq(larch("run tab.cfg -o replay.h5 --quiet --set space.nodes=2 "
                       "--set experiment.seeds=2 --set budget.trials=8"),
                 0, "%s", output());
    results_file *f = NULL;
    size_t n = 0;
    results_trial *rows = read_trials("replay.h5", 0, &n, &f);
    cr_assert_eq(n, 8);
    cr_assert_str_eq(results_file_run(f, 0)->evaluator, "table");
    double charged = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rows[i].cached, 0);
        cr_assert_gt(rows[i].train_seconds, 0);
        cr_assert_eq(rows[i].cost_seconds, rows[i].train_seconds);
        charged += rows[i].cost_seconds;
        cr_assert_eq(rows[i].charged_seconds, charged);
    }
    double best = 0;
    larch_error err = {0};
    cr_assert_eq(results_file_root_double(f, "table_best_val_accuracy", &best, &err), LARCH_OK,
                 "%s", err.message);
    cr_assert(best > 0.1 && best <= 1, "%g", best);
    free(rows);
    results_file_close(f);
    cr_assert_eq(larch("report replay.h5"), 0, "%s", output());
    /* A table of another space is refused before anything runs. */
    cr_assert_eq(larch("run tab.cfg -o other.h5 --quiet --set space.nodes=3"), 2);
    cr_assert(strstr(output(), "tiny-table.h5: the table was made for another space"), "%s",
              output());
}

/* Waits until the log of a run started by spawn_run names at least want finished trials (a
 * trial is logged after it was written to the file) or the deadline passes; returns how many it
 * names. Watching the log, not the file: a reader that opens the file while `--force` recreates
 * it would hold HDF5's lock and make the create fail. */
static size_t wait_for_trials(const char *name, size_t want, double seconds)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.log", tmp_dir, name);
    size_t n = 0;
    for (double waited = 0; waited < seconds; waited += 0.05) {
        FILE *f = fopen(path, "r");
        char line[1024];
        n = 0;
        while (f && fgets(line, sizeof line, f))
            n += strstr(line, " trial ") != NULL;
        if (f)
            fclose(f);
        if (n >= want)
            return n;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return n;
}

/* Starts `larch run <name>.cfg -o <out_name> [--force]` with budget.trials and data.train_size
 * set, in the background, its log (a line per trial) in <name>.log; out receives the output's
 * path. */
static pid_t spawn_run(const char *name, const char *out_name, int trials, int train_size,
                       int force, char *out, size_t out_size)
{
    char cfg[512], log[512], set_trials[64], set_size[64];
    snprintf(cfg, sizeof cfg, "%s/%s.cfg", tmp_dir, name);
    snprintf(log, sizeof log, "%s/%s.log", tmp_dir, name);
    unlink(log); /* no stale lines from an earlier round */
    snprintf(out, out_size, "%s/%s", tmp_dir, out_name);
    snprintf(set_trials, sizeof set_trials, "budget.trials=%d", trials);
    snprintf(set_size, sizeof set_size, "data.train_size=%d", train_size);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (!freopen(log, "w", stderr))
            _exit(126);
        execl(LARCH_TEST_BIN, "larch", "run", cfg, "-o", out, "--set", set_trials, "--set",
              set_size, force ? "--force" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    return pid;
}

Test(e2e, kill_9_keeps_every_finished_trial)
{
    need_fashion();
    write_config("killed", "\"random\"", NULL);
    char out[512];
    for (int round = 0; round < 2; round++) {
        pid_t pid = spawn_run("killed", "killed.h5", 200, 128, 1, out, sizeof out);
        size_t seen = wait_for_trials("killed", 2 + (size_t)round * 3, 120);
        cr_assert_geq(seen, 2, "no trials appeared");
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        cr_assert(WIFSIGNALED(status));

        size_t n = 0;
        results_file *f = NULL;
        results_trial *rows = read_trials("killed.h5", 0, &n, &f);
        cr_assert_geq(n, seen, "rows lost: saw %zu before the kill, %zu after", seen, n);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(rows[i].trial, i);
            larch_arch arch;
            larch_error err = {0};
            cr_assert_eq(results_file_read_arch(f, 0, i, &arch, &err), LARCH_OK, "%s", err.message);
            char text[LARCH_ARCH_STRING_SIZE];
            cr_assert_str_eq(larch_arch_to_string(&arch, text), rows[i].arch, "row %zu", i);
        }
        results_run_state state;
        larch_error err = {0};
        cr_assert_eq(results_file_read_run_state(f, 0, &state, &err), LARCH_OK);
        cr_assert_eq(state, RESULTS_RUN_RUNNING);
        results_file_close(f);
        free(rows);
    }
}

Test(e2e, sigint_finishes_the_trial_and_marks_the_run_aborted)
{
    need_fashion();
    write_config("stopped", "\"random\"", NULL);
    char out[512];
    pid_t pid = spawn_run("stopped", "stopped.h5", 200, 128, 0, out, sizeof out);
    cr_assert_geq(wait_for_trials("stopped", 1, 120), 1);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 130);
    size_t n = 0;
    results_file *f = NULL;
    results_trial *rows = read_trials("stopped.h5", 0, &n, &f);
    cr_assert_lt(n, 200);
    results_run_state state;
    larch_error err = {0};
    cr_assert_eq(results_file_read_run_state(f, 0, &state, &err), LARCH_OK);
    cr_assert_eq(state, RESULTS_RUN_ABORTED);
    results_file_close(f);
    free(rows);
}

Test(e2e, template_plugin_runs_beside_random)
{
    need_fashion();
    write_config("template", "\"hillclimb\", \"random\"",
                 "strategies = { hillclimb = { mutations = 2; }; };");
    cr_assert_eq(
        larch("run template.cfg -o template.h5 --quiet --plugin-path " LARCH_TEST_BINARY_DIR
              "/examples"),
        0, "%s", output());
    size_t n = 0;
    results_trial *rows = read_trials("template.h5", 0, &n, NULL);
    cr_assert_eq(n, 3);
    free(rows);
    cr_assert_eq(larch("run template.cfg -o t2.h5 --quiet --set strategies.hillclimb.mutations=99 "
                       "--plugin-path " LARCH_TEST_BINARY_DIR "/examples"),
                 2, "%s", output());
    cr_assert(strstr(output(), "mutations"), "%s", output());
}

/* The committed head-to-head config runs as shipped (fewer seeds and a smaller budget): every
 * strategy and variant it names loads, replays the shipped table and reports. */
Test(e2e, shipped_replay_config_runs_every_strategy)
{
    cr_assert_eq(larch("run '" LARCH_TEST_SOURCE_DIR "/examples/nb201-fmnist-replay.cfg' -o "
                       "shipped.h5 --quiet --set experiment.seeds=2 --set budget.seconds=10"),
                 0, "%s", output());
    cr_assert_eq(larch("report shipped.h5"), 0, "%s", output());
    const char *strategies[] = {"random", "rl", "rl-table", "evolution", "ga", "energy"};
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++) {
        char row[64];
        snprintf(row, sizeof row, "\n%s ", strategies[i]);
        const char *at = strstr(output(), row);
        unsigned runs = 0;
        cr_expect(at && sscanf(at + strlen(row), "%u", &runs) == 1 && runs == 2,
                  "no row '%s' with 2 runs in the report:\n%s", strategies[i], output());
    }
    cr_expect(strstr(output(), "p regret vs random"), "%s", output());
}

/* kill -9 in the middle of a training run, then --resume: the experiment ends with the trials an
 * uninterrupted one has (the same architectures, accuracies and cache hits; timings aside). */
Test(e2e, resume_after_kill_9_gives_the_uninterrupted_trials)
{
    need_fashion();
    write_config("resumed", "\"random\", \"energy\"", NULL);
    const char *sets = "--quiet --set budget.trials=6 --set data.train_size=256";
    char args[512];
    snprintf(args, sizeof args, "run resumed.cfg -o whole.h5 %s", sets);
    cr_assert_eq(larch(args), 0, "%s", output());

    char out[512];
    pid_t pid = spawn_run("resumed", "cut.h5", 6, 256, 0, out, sizeof out);
    cr_assert_geq(wait_for_trials("resumed", 2, 120), 2, "no trials appeared");
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);

    snprintf(args, sizeof args, "run resumed.cfg -o cut.h5 --resume %s", sets);
    cr_assert_eq(larch(args), 0, "%s", output());
    cr_expect(strstr(output(), "resuming after"), "no run was resumed:\n%s", output());
    results_file *whole = NULL, *cut = NULL;
    for (uint32_t run = 0; run < 2; run++) {
        size_t n_whole = 0, n_cut = 0;
        results_trial *a = read_trials("whole.h5", run, &n_whole, &whole);
        results_trial *b = read_trials("cut.h5", run, &n_cut, &cut);
        cr_assert_eq(n_cut, n_whole, "run %u", run);
        for (size_t i = 0; i < n_whole; i++) {
            cr_expect_str_eq(b[i].arch, a[i].arch, "run %u trial %zu", run, i);
            cr_expect_eq(b[i].status, a[i].status);
            cr_expect_eq(b[i].val_accuracy, a[i].val_accuracy, "run %u trial %zu", run, i);
            cr_expect_eq(b[i].test_accuracy, a[i].test_accuracy);
            cr_expect_eq(b[i].cached, a[i].cached, "run %u trial %zu", run, i);
        }
        results_run_state state;
        larch_error err = {0};
        cr_assert_eq(results_file_read_run_state(cut, run, &state, &err), LARCH_OK);
        cr_expect_eq(state, RESULTS_RUN_FINISHED);
        results_file_close(whole);
        results_file_close(cut);
        free(a);
        free(b);
    }

    /* Usage errors: nothing to resume, and --resume with --force. */
    cr_assert_eq(larch("run resumed.cfg -o missing.h5 --resume"), 2);
    cr_expect(strstr(output(), "missing.h5 does not exist: nothing to resume"), "%s", output());
    cr_assert_eq(larch("run resumed.cfg -o cut.h5 --resume --force"), 2);
    cr_expect(strstr(output(), "--force and --resume exclude each other"), "%s", output());
}
