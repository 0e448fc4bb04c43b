/* The experiment config: libconfig file + --set overrides, validated against the host's schema.
 * Every error names the file and line (or the --set argument) and what was expected. */
#ifndef HOST_CONFIG_H
#define HOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <larch/host.h>
#include <larch/status.h>

#include "../trainer/data.h"
#include "../trainer/network.h"
#include "../trainer/train.h"

#define HOST_MAX_STRATEGIES 16
#define HOST_NAME_SIZE 64
#define HOST_PATH_SIZE 4096

typedef enum host_objective {
    HOST_OBJECTIVE_ACCURACY = 0,      /* score = val_accuracy */
    HOST_OBJECTIVE_ACCURACY_FLOPS = 1 /* MnasNet: val_accuracy * (flops / target)^exponent */
} host_objective;

typedef struct host_config {
    char path[HOST_PATH_SIZE];
    char *text; /* the effective config (overrides applied), libconfig syntax; owned */

    /* experiment */
    char name[HOST_NAME_SIZE];
    uint64_t seed;
    uint32_t seeds; /* runs per strategy */
    uint32_t n_strategies;
    /* Strategy names; a name is its plugin's id unless strategies.<name>.plugin names another
     * (a variant: "rl-table" running plugin "rl" with its own parameters). */
    char strategies[HOST_MAX_STRATEGIES][HOST_NAME_SIZE];
    char strategy_plugins[HOST_MAX_STRATEGIES][HOST_NAME_SIZE]; /* the plugin id of each */

    /* budget: a run ends at whichever bound it reaches first (at least one is set) */
    uint32_t trials;       /* per run; 0 = no limit (then budget_seconds > 0) */
    double budget_seconds; /* training seconds charged per run; 0 = no limit */

    /* objective */
    host_objective objective;
    double flops_target;   /* multiply-adds */
    double flops_exponent; /* negative, e.g. -0.07 */

    /* space */
    char space[HOST_NAME_SIZE]; /* "cell" */
    char opset[HOST_NAME_SIZE]; /* op-set plugin id, e.g. "nb201" */
    trainer_cell_config cell;

    /* data: data.dir points into data_dir */
    char data_dir[HOST_PATH_SIZE];
    trainer_data_config data;

    /* train */
    trainer_recipe recipe;
    uint32_t threads;

    /* evaluator: 0 trains every candidate; 1 replays the table of `larch tabulate` */
    int evaluator_table;
    char table_path[HOST_PATH_SIZE]; /* resolved (see docs/CONFIG.md); "" unless given */

    /* tabulate */
    uint32_t tabulate_seeds;   /* training seeds per architecture, 1..16 */
    uint32_t tabulate_workers; /* 1..256; a 0 in the file is resolved to the online CPUs */

    /* plugins: extra search directories, ':'-separated (may be empty) */
    char plugin_path[HOST_PATH_SIZE];

    void *lc; /* private: the parsed libconfig config_t, kept for host_params */
} host_config;

/* Parses path, applies overrides ("key=value", key a dotted path such as train.epochs; the
 * value is parsed with the key's type; see docs/CONFIG.md), checks every key against the schema
 * (unknown keys, wrong types, out-of-range values; keys under strategies.<id> and opsets.<id>
 * belong to plugins and are checked by them through host_params) and fills cfg with defaults for
 * what is absent. cfg->text then holds the effective config: the file with the overrides applied
 * and every defaulted host key written out. Returns LARCH_OK, or with a message in err:
 * LARCH_EIO (cannot read the file), LARCH_EFORMAT (syntax error), LARCH_EINVAL (malformed --set),
 * LARCH_ETYPE, LARCH_ERANGE or LARCH_ENOTFOUND (unknown key), e.g.
 * "demo.cfg:12: train.epochs: expected an integer in 1..200, got 0"; a value given by --set is
 * named by its argument instead of file:line ("--set train.epochs=abc: expected an integer").
 * cfg need not be initialised; on error it is released (and zeroed). overrides may be NULL when
 * n_overrides is 0; they are copied. cfg->data.dir points into cfg->data_dir: do not copy a
 * host_config by value. */
int host_config_load(host_config *cfg, const char *path, const char *const *overrides,
                     size_t n_overrides, larch_error *err);
/* Frees what load allocated and zeroes cfg; safe on a zeroed or released cfg. Every host_params
 * made from cfg must be freed first (strings plugins got from get_string die here). */
void host_config_release(host_config *cfg);

/* Plugin parameters: a larch_host whose getters read `<group>.<id>.<key>` of cfg (group is
 * "strategies" or "opsets"; a key may itself be dotted, "controller.lr") and whose log prints
 * "[id] message" to stderr for levels <= log_level. A group absent from the config gives every
 * getter its default. Returns NULL when out of memory. The params object is owned by the caller
 * (host_params_free) and must outlive the plugin instance; cfg must outlive it. */
typedef struct host_params host_params;
host_params *host_params_new(host_config *cfg, const char *group, const char *id, int log_level);
/* The table to pass to the plugin's create(); valid until host_params_free. */
const larch_host *host_params_host(host_params *params);
/* After the plugin's create(): LARCH_ENOTFOUND naming file:line of the first key in the
 * plugin's group that the plugin never asked for (a typo), with the keys it did ask for, e.g.
 * "demo.cfg:30: unknown key 'strategies.random.no_repaet' (random reads: no_repeat)";
 * else LARCH_OK. */
int host_params_check_unused(host_params *params, larch_error *err);
/* params may be NULL. */
void host_params_free(host_params *params);

/* 1 if s is a plugin id: non-empty, [a-z0-9_-]+ (no length check). */
int host_config_is_id(const char *s);

/* Internal to config.c and params.c: describe a libconfig setting (struct config_setting_t)
 * for messages. where: "file:line", or "--set ARG" for a value an override gave. path: its
 * dotted path, "experiment.strategies[1]". type: "an integer", "a string", ... */
struct config_setting_t;
void host_config_where(const struct config_setting_t *setting, char *buf, size_t size);
void host_config_path(const struct config_setting_t *setting, char *buf, size_t size);
const char *host_config_type_name(const struct config_setting_t *setting);

#endif
