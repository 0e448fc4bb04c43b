/* The experiment config: schema, defaults, error messages with file:line, --set overrides, and
 * the parameter getters plugins read their group through. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <larch/abi.h>

#include "config.h"

static char dir[64];
static char cfg_path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/larch-test-config-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cfg_path, sizeof cfg_path, "%s/demo.cfg", dir);
}

static void teardown(void)
{
    unlink(cfg_path);
    rmdir(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

static void write_config(const char *text)
{
    FILE *f = fopen(cfg_path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Loads text with overrides; returns the status. */
static int load_text(const char *text, const char *const *sets, size_t n_sets, host_config *cfg,
                     larch_error *err)
{
    write_config(text);
    memset(err, 0, sizeof *err);
    return host_config_load(cfg, cfg_path, sets, n_sets, err);
}

/* Asserts that loading fails with status and a message containing "<path>:<line>: <what>". */
static void expect_error(const char *text, int status, int line, const char *what)
{
    host_config cfg;
    larch_error err;
    int rc = load_text(text, NULL, 0, &cfg, &err);
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s", cfg_path, line, what);
    cr_assert_eq(rc, status, "status %s, message: %s", larch_status_name(rc), err.message);
    cr_assert_eq(err.status, status);
    cr_assert(strstr(err.message, want), "message '%s' lacks '%s'", err.message, want);
    cr_assert_null(cfg.lc, "cfg must be released on error");
}

/* Asserts that one override fails with status and a message containing what. */
static void expect_set_error(const char *set, int status, const char *what)
{
    host_config cfg;
    larch_error err;
    int rc = load_text("", &set, 1, &cfg, &err);
    cr_assert_eq(rc, status, "--set %s: status %s, message: %s", set, larch_status_name(rc),
                 err.message);
    cr_assert(strstr(err.message, what), "message '%s' lacks '%s'", err.message, what);
}

Test(config, defaults_fill_an_empty_file)
{
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text("", NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(cfg.path, cfg_path);
    cr_expect_str_eq(cfg.name, "experiment");
    cr_expect_eq(cfg.seed, 0);
    cr_expect_eq(cfg.seeds, 1);
    cr_expect_eq(cfg.n_strategies, 1);
    cr_expect_str_eq(cfg.strategies[0], "random");
    cr_expect_eq(cfg.trials, 20);
    cr_expect_eq(cfg.objective, HOST_OBJECTIVE_ACCURACY);
    cr_expect_float_eq(cfg.flops_target, 1e7, 1e-6);
    cr_expect_float_eq(cfg.flops_exponent, -0.07, 1e-12);
    cr_expect_str_eq(cfg.space, "cell");
    cr_expect_str_eq(cfg.opset, "nb201");
    cr_expect_eq(cfg.cell.nodes, 4);
    cr_expect_eq(cfg.cell.channels, 16);
    cr_expect_eq(cfg.cell.cells_per_stage, 1);
    cr_expect_eq(cfg.data.format, TRAINER_DATA_IDX);
    cr_expect_str_eq(cfg.data_dir, "/usr/share/datasets/fashion-mnist");
    cr_expect_eq(cfg.data.dir, cfg.data_dir);
    cr_expect_eq(cfg.data.train_size, 0);
    cr_expect_eq(cfg.data.val_size, 5000);
    cr_expect_eq(cfg.data.test_size, 0);
    cr_expect_eq(cfg.data.split_seed, 0);
    cr_expect_eq(cfg.recipe.epochs, 1);
    cr_expect_eq(cfg.recipe.batch, 64);
    cr_expect_float_eq(cfg.recipe.lr, 0.1, 1e-12);
    cr_expect_float_eq(cfg.recipe.lr_min, 0.0, 1e-12);
    cr_expect_float_eq(cfg.recipe.momentum, 0.9, 1e-12);
    cr_expect_eq(cfg.recipe.nesterov, 1);
    cr_expect_float_eq(cfg.recipe.weight_decay, 5e-4, 1e-12);
    cr_expect_eq(cfg.recipe.cosine, 1);
    cr_expect_eq(cfg.threads, 1);
    cr_expect_str_eq(cfg.plugin_path, "");
    cr_expect_eq(cfg.budget_seconds, 0);
    cr_expect_eq(cfg.evaluator_table, 0);
    cr_expect_str_eq(cfg.table_path, "");
    cr_expect_eq(cfg.tabulate_seeds, 2);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_eq(cfg.tabulate_workers, online < 1 ? 1 : online > 256 ? 256 : (uint32_t)online);
    /* The effective text spells out every default. */
    cr_assert_not_null(cfg.text);
    cr_expect(strstr(cfg.text, "epochs = 1;"), "%s", cfg.text);
    cr_expect(strstr(cfg.text, "strategies = [ \"random\" ];"), "%s", cfg.text);
    cr_expect(strstr(cfg.text, "schedule = \"cosine\";"), "%s", cfg.text);
    host_config_release(&cfg);
    cr_expect_null(cfg.lc);
    cr_expect_null(cfg.text);
    host_config_release(&cfg); /* twice is harmless */
}

Test(config, values_are_read)
{
    const char *text = "# comment\n"
                       "experiment = { name = \"cmp\"; seed = 12345678901L; seeds = 3;\n"
                       "  strategies = (\"random\", \"grid\"); };\n"
                       "budget = { trials = 50; };\n"
                       "objective = { type = \"accuracy_flops\"; flops_target = 2e6;\n"
                       "  flops_exponent = -1; };\n"
                       "space = { type = \"cell\"; opset = \"nb201\"; nodes = 3; channels = 8;\n"
                       "  cells_per_stage = 2; };\n"
                       "data = { format = \"cifar10\"; dir = \"/data/c10\"; train_size = 3000;\n"
                       "  val_size = 1000; test_size = 2000; split_seed = 7; };\n"
                       "train = { epochs = 2; batch = 32; lr = 1; lr_min = 0.001; momentum = 0;\n"
                       "  nesterov = false; weight_decay = 0; schedule = \"constant\";\n"
                       "  threads = 4; };\n"
                       "plugins = { path = \"/opt/a:/opt/b\"; };\n"
                       "strategies = { random = { no_repeat = true; }; };\n";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text(text, NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(cfg.name, "cmp");
    cr_expect_eq(cfg.seed, 12345678901ull);
    cr_expect_eq(cfg.seeds, 3);
    cr_assert_eq(cfg.n_strategies, 2);
    cr_expect_str_eq(cfg.strategies[0], "random");
    cr_expect_str_eq(cfg.strategies[1], "grid");
    cr_expect_eq(cfg.trials, 50);
    cr_expect_eq(cfg.objective, HOST_OBJECTIVE_ACCURACY_FLOPS);
    cr_expect_float_eq(cfg.flops_target, 2e6, 1e-6);
    cr_expect_float_eq(cfg.flops_exponent, -1.0, 1e-12);
    cr_expect_eq(cfg.cell.nodes, 3);
    cr_expect_eq(cfg.cell.channels, 8);
    cr_expect_eq(cfg.cell.cells_per_stage, 2);
    cr_expect_eq(cfg.data.format, TRAINER_DATA_CIFAR10);
    cr_expect_str_eq(cfg.data.dir, "/data/c10");
    cr_expect_eq(cfg.data.train_size, 3000);
    cr_expect_eq(cfg.data.val_size, 1000);
    cr_expect_eq(cfg.data.test_size, 2000);
    cr_expect_eq(cfg.data.split_seed, 7);
    cr_expect_eq(cfg.recipe.epochs, 2);
    cr_expect_eq(cfg.recipe.batch, 32);
    cr_expect_float_eq(cfg.recipe.lr, 1.0, 1e-12); /* an integer is accepted as a float */
    cr_expect_float_eq(cfg.recipe.lr_min, 0.001, 1e-12);
    cr_expect_float_eq(cfg.recipe.momentum, 0.0, 1e-12);
    cr_expect_eq(cfg.recipe.nesterov, 0);
    cr_expect_eq(cfg.recipe.cosine, 0);
    cr_expect_eq(cfg.threads, 4);
    cr_expect_str_eq(cfg.plugin_path, "/opt/a:/opt/b");
    host_config_release(&cfg);
}

Test(config, a_single_strategy_may_be_a_string)
{
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text("experiment = { strategies = \"grid\"; };\n", NULL, 0, &cfg, &err),
                 LARCH_OK, "%s", err.message);
    cr_expect_eq(cfg.n_strategies, 1);
    cr_expect_str_eq(cfg.strategies[0], "grid");
    host_config_release(&cfg);
}

Test(config, missing_file_is_eio)
{
    host_config cfg;
    larch_error err = {0};
    char path[160];
    snprintf(path, sizeof path, "%s/nope.cfg", dir);
    cr_assert_eq(host_config_load(&cfg, path, NULL, 0, &err), LARCH_EIO);
    cr_expect(strstr(err.message, path), "%s", err.message);
}

Test(config, syntax_error_names_file_and_line)
{
    expect_error("experiment = {\n  name = \"x\";\n  seed = ;\n};\n", LARCH_EFORMAT, 3,
                 "syntax error");
}

Test(config, unknown_top_level_key)
{
    expect_error("budget = { trials = 3; };\ntrian = { epochs = 1; };\n", LARCH_ENOTFOUND, 2,
                 "unknown key 'trian' (known: experiment, budget, objective, space, data, train, "
                 "evaluator, tabulate, plugins, strategies, opsets)");
}

Test(config, unknown_key_inside_a_group)
{
    expect_error("train = {\n  epochs = 1;\n  epoch = 2;\n};\n", LARCH_ENOTFOUND, 3,
                 "unknown key 'train.epoch' (known in train: epochs, batch, lr, lr_min");
}

Test(config, wrong_types)
{
    expect_error("train = {\n  lr = \"fast\";\n};\n", LARCH_ETYPE, 2,
                 "train.lr: expected a float in (0, 10], got a string");
    expect_error("train = {\n\n  epochs = 2.0;\n};\n", LARCH_ETYPE, 3,
                 "train.epochs: expected an integer in 1..200, got a float");
    expect_error("train = { nesterov = 1; };\n", LARCH_ETYPE, 1,
                 "train.nesterov: expected a boolean (true or false), got an integer");
    expect_error("budget = 5;\n", LARCH_ETYPE, 1, "budget: expected a group, got an integer");
    expect_error("\nstrategies = { random = 3; };\n", LARCH_ETYPE, 2,
                 "strategies.random: expected a group of plugin parameters, got an integer");
    expect_error("experiment = {\n strategies = [1, 2];\n};\n", LARCH_ETYPE, 2,
                 "experiment.strategies[0]: expected a plugin id (a string), got an integer");
}

Test(config, out_of_range)
{
    expect_error("# the budget\nbudget = { trials = 10; };\ntrain = {\n  epochs = 0;\n};\n",
                 LARCH_ERANGE, 4, "train.epochs: expected an integer in 1..200, got 0");
    expect_error("train = { momentum = 1.0; };\n", LARCH_ERANGE, 1,
                 "train.momentum: expected a float in [0, 1), got 1");
    expect_error("objective = { flops_target = 0; };\n", LARCH_ERANGE, 1,
                 "objective.flops_target: expected a float > 0, got 0");
    expect_error("experiment = { seed = -1; };\n", LARCH_ERANGE, 1,
                 "experiment.seed: expected an integer >= 0, got -1");
    expect_error("space = { nodes = 9; };\n", LARCH_ERANGE, 1,
                 "space.nodes: expected an integer in 2..8, got 9");
    expect_error("experiment = { name = \"\"; };\n", LARCH_ERANGE, 1,
                 "experiment.name: expected a string of 1..63 bytes, got 0 bytes");
    expect_error("train = { lr = 0.1;\n lr_min = 0.5; };\n", LARCH_ERANGE, 2,
                 "train.lr_min: expected a float in [0, train.lr = 0.1], got 0.5");
}

Test(config, bad_enum_strings)
{
    expect_error("train = {\n  schedule = \"linear\";\n};\n", LARCH_ERANGE, 2,
                 "train.schedule: expected one of \"cosine\", \"constant\", got \"linear\"");
    expect_error("space = { opset = \"NB 201\"; };\n", LARCH_ERANGE, 1,
                 "space.opset: expected a plugin id");
}

Test(config, strategies_list)
{
    expect_error("experiment = {\n  strategies = [];\n};\n", LARCH_ERANGE, 2,
                 "experiment.strategies: expected an array of 1..16 plugin ids, got 0");
    expect_error("experiment = {\n  strategies = [\"random\", \"Grid\"];\n};\n", LARCH_ERANGE, 2,
                 "experiment.strategies[1]: expected a plugin id ([a-z0-9_-]+, at most 63 bytes), "
                 "got \"Grid\"");
    expect_error("experiment = {\n  strategies = [\"random\", \"random\"];\n};\n", LARCH_ERANGE, 2,
                 "experiment.strategies[1]: 'random' is listed twice");
}

Test(config, overrides_of_each_type)
{
    const char *sets[] = {
        "train.epochs=3",
        "train.lr=0.05",
        "train.weight_decay=0", /* an integer for a float key */
        "experiment.name=my-run",
        "data.dir=\"/data/with space\"",
        "train.nesterov=false",
        "experiment.strategies=random,grid",
        "strategies.random.no_repeat=false",
        "strategies.rl.lr=0.01",
        "strategies.rl.cells=5",
        "strategies.rl.mode=greedy",
        "strategies.rl.label=\"42\"",
    };
    host_config cfg;
    larch_error err;
    int rc = load_text("train = {\n  epochs = 9;\n};\nstrategies = { random = { no_repeat = true; "
                       "}; };\n",
                       sets, sizeof sets / sizeof sets[0], &cfg, &err);
    cr_assert_eq(rc, LARCH_OK, "%s", err.message);
    cr_expect_eq(cfg.recipe.epochs, 3);
    cr_expect_float_eq(cfg.recipe.lr, 0.05, 1e-12);
    cr_expect_float_eq(cfg.recipe.weight_decay, 0.0, 1e-12);
    cr_expect_str_eq(cfg.name, "my-run");
    cr_expect_str_eq(cfg.data_dir, "/data/with space");
    cr_expect_eq(cfg.recipe.nesterov, 0);
    cr_assert_eq(cfg.n_strategies, 2);
    cr_expect_str_eq(cfg.strategies[1], "grid");
    /* The effective text carries the overrides, not the file's values. */
    cr_expect(strstr(cfg.text, "epochs = 3;"), "%s", cfg.text);
    cr_expect_null(strstr(cfg.text, "epochs = 9;"), "%s", cfg.text);
    cr_expect(strstr(cfg.text, "strategies = [ \"random\", \"grid\" ];"), "%s", cfg.text);

    /* Plugin keys keep the type the value looks like. */
    host_params *rl = host_params_new(&cfg, "strategies", "rl", LARCH_LOG_ERROR);
    cr_assert_not_null(rl);
    const larch_host *h = host_params_host(rl);
    double lr = 0;
    int64_t cells = 0;
    const char *mode = NULL, *label = NULL;
    cr_expect_eq(h->get_float(h->ctx, "lr", 1.0, &lr, &err), LARCH_OK);
    cr_expect_float_eq(lr, 0.01, 1e-12);
    cr_expect_eq(h->get_int(h->ctx, "cells", 0, &cells, &err), LARCH_OK);
    cr_expect_eq(cells, 5);
    cr_expect_eq(h->get_string(h->ctx, "mode", NULL, &mode, &err), LARCH_OK);
    cr_expect_str_eq(mode, "greedy");
    cr_expect_eq(h->get_string(h->ctx, "label", NULL, &label, &err), LARCH_OK);
    cr_expect_str_eq(label, "42");
    cr_expect_eq(host_params_check_unused(rl, &err), LARCH_OK, "%s", err.message);
    host_params_free(rl);

    host_params *random = host_params_new(&cfg, "strategies", "random", LARCH_LOG_ERROR);
    cr_assert_not_null(random);
    h = host_params_host(random);
    int no_repeat = 1;
    cr_expect_eq(h->get_bool(h->ctx, "no_repeat", 1, &no_repeat, &err), LARCH_OK);
    cr_expect_eq(no_repeat, 0);
    host_params_free(random);
    host_config_release(&cfg);
}

Test(config, array_override_in_brackets)
{
    const char *set = "experiment.strategies=[\"grid\", \"random\"]";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text("", &set, 1, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(cfg.n_strategies, 2);
    cr_expect_str_eq(cfg.strategies[0], "grid");
    cr_expect_str_eq(cfg.strategies[1], "random");
    host_config_release(&cfg);
}

Test(config, a_strategy_variant_names_its_plugin)
{
    const char *text = "experiment = { strategies = [\"rl\", \"rl-table\"]; };\n"
                       "strategies = {\n"
                       "  rl-table = { plugin = \"rl\"; policy = \"table\"; };\n"
                       "};\n";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text(text, NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(cfg.n_strategies, 2);
    cr_expect_str_eq(cfg.strategy_plugins[0], "rl", "a plain name is its plugin's id");
    cr_expect_str_eq(cfg.strategies[1], "rl-table");
    cr_expect_str_eq(cfg.strategy_plugins[1], "rl");
    /* `plugin` is the host's key: the variant's plugin reading only `policy` is no typo. */
    host_params *p = host_params_new(&cfg, "strategies", "rl-table", LARCH_LOG_ERROR);
    cr_assert_not_null(p);
    const larch_host *h = host_params_host(p);
    const char *policy = NULL;
    cr_assert_eq(h->get_string(h->ctx, "policy", "lstm", &policy, &err), LARCH_OK);
    cr_expect_str_eq(policy, "table");
    cr_expect_eq(host_params_check_unused(p, &err), LARCH_OK, "%s", err.message);
    host_params_free(p);
    host_config_release(&cfg);

    expect_error(
        "experiment = { strategies = [\"x\"]; };\nstrategies = {\n x = { plugin = 3; };\n};\n",
        LARCH_ETYPE, 3,
        "strategies.x.plugin: expected a string (a strategy plugin id), got an integer");
    expect_error(
        "experiment = { strategies = [\"x\"]; };\nstrategies = { x = { plugin = \"\"; }; };\n",
        LARCH_ERANGE, 2, "strategies.x.plugin: expected a strategy plugin id, got \"\"");
}

Test(config, bad_overrides_name_the_argument)
{
    expect_set_error("train.epochs=abc", LARCH_ETYPE,
                     "--set train.epochs=abc: expected an integer");
    expect_set_error("train.lr=fast", LARCH_ETYPE, "--set train.lr=fast: expected a float");
    expect_set_error("train.nesterov=yes", LARCH_ETYPE,
                     "--set train.nesterov=yes: expected true or false");
    expect_set_error("train.epochs=0", LARCH_ERANGE,
                     "--set train.epochs=0: train.epochs: expected an integer in 1..200, got 0");
    expect_set_error("train.schedule=linear", LARCH_ERANGE,
                     "--set train.schedule=linear: train.schedule: expected one of");
    expect_set_error("experiment.strategies=", LARCH_ERANGE,
                     "--set experiment.strategies=: experiment.strategies: expected an array of "
                     "1..16 plugin ids, got 0");
    expect_set_error("train.epoch=3", LARCH_ENOTFOUND,
                     "--set train.epoch=3: unknown key 'train.epoch' (known in train: epochs");
    expect_set_error("train=3", LARCH_EINVAL, "--set train=3: expected train.<key>=value");
    expect_set_error("trian.epochs=3", LARCH_ENOTFOUND,
                     "--set trian.epochs=3: unknown key 'trian'");
    expect_set_error("train.epochs", LARCH_EINVAL, "--set train.epochs: expected key=value");
    expect_set_error("strategies.random=1", LARCH_EINVAL,
                     "--set strategies.random=1: expected strategies.<id>.<key>=value");
    expect_set_error("train..epochs=1", LARCH_EINVAL, "expected a dotted key");
}

Test(config, override_through_a_non_group_is_refused)
{
    const char *set = "strategies.random.x.y=1";
    host_config cfg;
    larch_error err;
    int rc = load_text("strategies = {\n  random = { x = 5; };\n};\n", &set, 1, &cfg, &err);
    cr_assert_eq(rc, LARCH_ETYPE, "%s", err.message);
    char want[256];
    snprintf(want, sizeof want, "strategies.random.x (%s:2) is an integer, not a group", cfg_path);
    cr_expect(strstr(err.message, want), "%s", err.message);
}

Test(config, params_getters)
{
    const char *text = "strategies = {\n"
                       "  rl = {\n"
                       "    cells = 5;\n"
                       "    big = 5000000000L;\n"
                       "    lr = 0.01;\n"
                       "    steps = 2;\n"
                       "    greedy = true;\n"
                       "    mode = \"ppo\";\n"
                       "    controller = { hidden = 32; };\n"
                       "  };\n"
                       "};\n";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text(text, NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    host_params *p = host_params_new(&cfg, "strategies", "rl", LARCH_LOG_ERROR);
    cr_assert_not_null(p);
    const larch_host *h = host_params_host(p);
    cr_expect_eq(h->struct_size, sizeof(larch_host));
    cr_expect_eq(h->abi_major, LARCH_ABI_MAJOR);
    cr_expect_eq(h->abi_minor, LARCH_ABI_MINOR);

    int64_t i = 0;
    double f = 0;
    int b = 0;
    const char *s = NULL;
    cr_expect_eq(h->get_int(h->ctx, "cells", 0, &i, &err), LARCH_OK);
    cr_expect_eq(i, 5);
    cr_expect_eq(h->get_int(h->ctx, "big", 0, &i, &err), LARCH_OK);
    cr_expect_eq(i, 5000000000ll);
    cr_expect_eq(h->get_float(h->ctx, "lr", 0, &f, &err), LARCH_OK);
    cr_expect_float_eq(f, 0.01, 1e-12);
    cr_expect_eq(h->get_float(h->ctx, "steps", 0, &f, &err), LARCH_OK); /* int as float */
    cr_expect_float_eq(f, 2.0, 1e-12);
    cr_expect_eq(h->get_bool(h->ctx, "greedy", 0, &b, &err), LARCH_OK);
    cr_expect_eq(b, 1);
    cr_expect_eq(h->get_string(h->ctx, "mode", "x", &s, &err), LARCH_OK);
    cr_expect_str_eq(s, "ppo");
    cr_expect_eq(h->get_int(h->ctx, "controller.hidden", 0, &i, &err), LARCH_OK);
    cr_expect_eq(i, 32);

    /* Missing keys give the default. */
    cr_expect_eq(h->get_int(h->ctx, "missing", -3, &i, &err), LARCH_OK);
    cr_expect_eq(i, -3);
    cr_expect_eq(h->get_float(h->ctx, "missing_f", 0.5, &f, &err), LARCH_OK);
    cr_expect_float_eq(f, 0.5, 1e-12);
    cr_expect_eq(h->get_bool(h->ctx, "missing_b", 1, &b, &err), LARCH_OK);
    cr_expect_eq(b, 1);
    cr_expect_eq(h->get_string(h->ctx, "missing_s", "dflt", &s, &err), LARCH_OK);
    cr_expect_str_eq(s, "dflt");
    cr_expect_eq(h->get_int(h->ctx, "controller.missing", 7, &i, &err), LARCH_OK);
    cr_expect_eq(i, 7);

    /* Wrong types name file:line and what was expected. */
    char want[256];
    memset(&err, 0, sizeof err);
    cr_expect_eq(h->get_int(h->ctx, "lr", 0, &i, &err), LARCH_ETYPE);
    cr_expect_eq(err.status, LARCH_ETYPE);
    snprintf(want, sizeof want, "%s:5: strategies.rl.lr: expected an integer, got a float",
             cfg_path);
    cr_expect(strstr(err.message, want), "%s", err.message);
    cr_expect_eq(h->get_bool(h->ctx, "cells", 0, &b, &err), LARCH_ETYPE);
    snprintf(want, sizeof want, "%s:3: strategies.rl.cells: expected a boolean", cfg_path);
    cr_expect(strstr(err.message, want), "%s", err.message);
    cr_expect_eq(h->get_float(h->ctx, "mode", 0, &f, &err), LARCH_ETYPE);
    cr_expect(strstr(err.message, "expected a float, got a string"), "%s", err.message);
    cr_expect_eq(h->get_string(h->ctx, "greedy", NULL, &s, &err), LARCH_ETYPE);
    cr_expect(strstr(err.message, "expected a string, got a boolean"), "%s", err.message);
    cr_expect_eq(h->get_int(h->ctx, "mode.x", 0, &i, &err), LARCH_ETYPE);
    cr_expect(strstr(err.message, "strategies.rl.mode: expected a group"), "%s", err.message);

    cr_expect_eq(host_params_check_unused(p, &err), LARCH_OK, "%s", err.message);

    void *mem = h->alloc(h->ctx, 64);
    cr_assert_not_null(mem);
    cr_expect_eq(((unsigned char *)mem)[63], 0);
    h->free(h->ctx, mem);
    h->free(h->ctx, NULL);
    h->log(h->ctx, LARCH_LOG_ERROR, "a message from a test");
    host_params_free(p);
    host_config_release(&cfg);
}

Test(config, check_unused_reports_a_typo_with_its_line)
{
    const char *text = "strategies = {\n"
                       "  random = {\n"
                       "    no_repeat = false;\n"
                       "    no_repaet = true;\n"
                       "  };\n"
                       "};\n";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text(text, NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    host_params *p = host_params_new(&cfg, "strategies", "random", LARCH_LOG_ERROR);
    cr_assert_not_null(p);
    const larch_host *h = host_params_host(p);
    int b;
    cr_assert_eq(h->get_bool(h->ctx, "no_repeat", 1, &b, &err), LARCH_OK);
    cr_expect_eq(b, 0);
    memset(&err, 0, sizeof err);
    cr_assert_eq(host_params_check_unused(p, &err), LARCH_ENOTFOUND);
    char want[256];
    snprintf(want, sizeof want,
             "%s:4: unknown key 'strategies.random.no_repaet' (random reads: no_repeat)", cfg_path);
    cr_expect(strstr(err.message, want), "%s", err.message);
    host_params_free(p);

    /* A plugin that reads nothing gets told so. */
    p = host_params_new(&cfg, "strategies", "random", LARCH_LOG_ERROR);
    cr_assert_not_null(p);
    cr_assert_eq(host_params_check_unused(p, &err), LARCH_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s:3: unknown key 'strategies.random.no_repeat' (random takes no parameters)",
             cfg_path);
    cr_expect(strstr(err.message, want), "%s", err.message);
    host_params_free(p);
    host_config_release(&cfg);
}

Test(config, check_unused_names_an_override)
{
    const char *set = "strategies.random.no_repaet=true";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text("", &set, 1, &cfg, &err), LARCH_OK, "%s", err.message);
    host_params *p = host_params_new(&cfg, "strategies", "random", LARCH_LOG_ERROR);
    cr_assert_not_null(p);
    cr_assert_eq(host_params_check_unused(p, &err), LARCH_ENOTFOUND);
    cr_expect(strstr(err.message, "--set strategies.random.no_repaet=true: unknown key "
                                  "'strategies.random.no_repaet'"),
              "%s", err.message);
    host_params_free(p);
    host_config_release(&cfg);
}

Test(config, params_without_a_group_give_defaults)
{
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text("", NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    host_params *p = host_params_new(&cfg, "strategies", "grid", LARCH_LOG_ERROR);
    cr_assert_not_null(p);
    const larch_host *h = host_params_host(p);
    int64_t i = 0;
    cr_expect_eq(h->get_int(h->ctx, "anything", 11, &i, &err), LARCH_OK);
    cr_expect_eq(i, 11);
    cr_expect_eq(h->get_int(h->ctx, "", 0, &i, &err), LARCH_EINVAL);
    cr_expect_eq(host_params_check_unused(p, &err), LARCH_OK);
    host_params_free(p);
    host_params_free(NULL);
    host_config_release(&cfg);
}

Test(config, effective_text_loads_again_to_the_same_config)
{
    const char *sets[] = {"train.epochs=4", "strategies.random.no_repeat=false"};
    host_config a, b;
    larch_error err;
    cr_assert_eq(load_text("experiment = { seeds = 2; };\n", sets, 2, &a, &err), LARCH_OK, "%s",
                 err.message);
    write_config(a.text);
    cr_assert_eq(host_config_load(&b, cfg_path, NULL, 0, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(a.text, b.text);
    cr_expect_eq(b.recipe.epochs, 4);
    cr_expect_eq(b.seeds, 2);
    host_config_release(&a);
    host_config_release(&b);
}

Test(config, demo_config_loads)
{
    host_config cfg;
    larch_error err = {0};
    int rc = host_config_load(&cfg, LARCH_TEST_SOURCE_DIR "/examples/demo.cfg", NULL, 0, &err);
    cr_assert_eq(rc, LARCH_OK, "%s", err.message);
    cr_expect_str_eq(cfg.strategies[0], "random");
    cr_expect_eq(cfg.seeds, 2);
    host_config_release(&cfg);
}

Test(config, budget_evaluator_and_tabulate_keys)
{
    const char *text = "budget = { trials = 0; seconds = 3600; };\n"
                       "evaluator = { type = \"table\"; table = \"tables/c3.h5\"; };\n"
                       "tabulate = { seeds = 3; workers = 5; };\n";
    host_config cfg;
    larch_error err;
    cr_assert_eq(load_text(text, NULL, 0, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_expect_eq(cfg.trials, 0);
    cr_expect_float_eq(cfg.budget_seconds, 3600, 1e-9);
    cr_expect_eq(cfg.evaluator_table, 1);
    /* A relative table path in the file is relative to the file's directory. */
    char want[256];
    snprintf(want, sizeof want, "%s/tables/c3.h5", dir);
    cr_expect_str_eq(cfg.table_path, want);
    cr_expect_eq(cfg.tabulate_seeds, 3);
    cr_expect_eq(cfg.tabulate_workers, 5);
    cr_expect(strstr(cfg.text, "seconds = 3600"), "%s", cfg.text);
    host_config_release(&cfg);

    /* Absolute paths are kept; a --set path is relative to the working directory. */
    cr_assert_eq(load_text("evaluator = { type = \"table\"; table = \"/abs/t.h5\"; };\n", NULL, 0,
                           &cfg, &err),
                 LARCH_OK, "%s", err.message);
    cr_expect_str_eq(cfg.table_path, "/abs/t.h5");
    host_config_release(&cfg);
    const char *sets[] = {"evaluator.type=table", "evaluator.table=rel/t.h5", "budget.seconds=1.5"};
    cr_assert_eq(load_text("", sets, 3, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_expect_str_eq(cfg.table_path, "rel/t.h5");
    cr_expect_eq(cfg.evaluator_table, 1);
    cr_expect_float_eq(cfg.budget_seconds, 1.5, 1e-12);
    host_config_release(&cfg);

    /* A table path with the train evaluator is kept (tabulate writes it) but not used. */
    cr_assert_eq(load_text("evaluator = { table = \"t.h5\"; };\n", NULL, 0, &cfg, &err), LARCH_OK,
                 "%s", err.message);
    cr_expect_eq(cfg.evaluator_table, 0);
    snprintf(want, sizeof want, "%s/t.h5", dir);
    cr_expect_str_eq(cfg.table_path, want);
    host_config_release(&cfg);
}

Test(config, budget_evaluator_and_tabulate_errors)
{
    expect_error("budget = {\n  trials = 0;\n};\n", LARCH_ERANGE, 2,
                 "budget.trials: 0 (no trial limit) needs budget.seconds > 0");
    expect_error("budget = {\n  trials = 0;\n  seconds = 0;\n};\n", LARCH_ERANGE, 2,
                 "budget.trials: 0 (no trial limit) needs budget.seconds > 0");
    expect_error("budget = { seconds = -1; };\n", LARCH_ERANGE, 1,
                 "budget.seconds: expected a float >= 0, got -1");
    expect_error("budget = { seconds = \"1h\"; };\n", LARCH_ETYPE, 1,
                 "budget.seconds: expected a float >= 0, got a string");
    expect_error("\nevaluator = {\n  type = \"table\";\n};\n", LARCH_EINVAL, 3,
                 "evaluator.type: \"table\" needs evaluator.table");
    expect_error("evaluator = { type = \"table\"; table = \"\"; };\n", LARCH_EINVAL, 1,
                 "evaluator.type: \"table\" needs evaluator.table");
    expect_error("evaluator = { type = \"tabular\"; };\n", LARCH_ERANGE, 1,
                 "evaluator.type: expected one of \"train\", \"table\", got \"tabular\"");
    expect_error("evaluator = { tabel = \"x\"; };\n", LARCH_ENOTFOUND, 1,
                 "unknown key 'evaluator.tabel' (known in evaluator: type, table)");
    expect_error("tabulate = { seeds = 17; };\n", LARCH_ERANGE, 1,
                 "tabulate.seeds: expected an integer in 1..16, got 17");
    expect_error("tabulate = { seeds = 0; };\n", LARCH_ERANGE, 1,
                 "tabulate.seeds: expected an integer in 1..16, got 0");
    expect_error("tabulate = { workers = 257; };\n", LARCH_ERANGE, 1,
                 "tabulate.workers: expected an integer in 0..256, got 257");
    expect_error("tabulate = {\n workers = -1; };\n", LARCH_ERANGE, 2,
                 "tabulate.workers: expected an integer in 0..256, got -1");
    expect_set_error("evaluator.type=table", LARCH_EINVAL,
                     "--set evaluator.type=table: evaluator.type: \"table\" needs evaluator.table");
    expect_set_error("budget.trials=0", LARCH_ERANGE,
                     "--set budget.trials=0: budget.trials: 0 (no trial limit) needs "
                     "budget.seconds > 0");
}

Test(config, replay_example_loads)
{
    host_config cfg;
    larch_error err = {0};
    int rc = host_config_load(&cfg, LARCH_TEST_SOURCE_DIR "/examples/nb201-fmnist-replay.cfg", NULL,
                              0, &err);
    cr_assert_eq(rc, LARCH_OK, "%s", err.message);
    cr_expect_eq(cfg.evaluator_table, 1);
    cr_expect_str_eq(cfg.table_path,
                     LARCH_TEST_SOURCE_DIR "/examples/../benchmarks/nb201-fmnist.h5");
    cr_expect_eq(cfg.trials, 0);
    cr_expect_gt(cfg.budget_seconds, 0);
    host_config_release(&cfg);
}
