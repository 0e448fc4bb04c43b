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
    char strategies[HOST_MAX_STRATEGIES][HOST_NAME_SIZE]; /* plugin ids */

    /* budget */
    uint32_t trials; /* per run */

    /* objective */
    host_objective objective;
    double flops_target;   /* multiply-adds */
    double flops_exponent; /* negative, e.g. -0.07 */

    /* space */
    char space[HOST_NAME_SIZE]; /* "cell" */
    char opset[HOST_NAME_SIZE]; /* op-set plugin id, e.g. "nb201" */
    trainer_cell_config cell;

    /* data: data_config.dir points into data_dir */
    char data_dir[HOST_PATH_SIZE];
    trainer_data_config data;

    /* train */
    trainer_recipe recipe;
    uint32_t threads;

    /* plugins: extra search directories, ':'-separated (may be empty) */
    char plugin_path[HOST_PATH_SIZE];

    void *lc; /* private: the parsed libconfig config_t */
} host_config;

/* Parses path, applies overrides ("key=value", key a dotted path such as train.epochs; the
 * value is parsed with the key's type), checks every key against the schema (unknown keys,
 * wrong types, out-of-range values; keys under strategies.<id> belong to plugins and are
 * checked by them) and fills cfg with defaults for what is absent. Returns LARCH_OK, or
 * LARCH_EIO / LARCH_EFORMAT / LARCH_ETYPE / LARCH_ERANGE / LARCH_ENOTFOUND with a message like
 * "demo.cfg:12: train.epochs: expected an integer in 1..200, got 0". On error cfg is released. */
int host_config_load(host_config *cfg, const char *path, const char *const *overrides,
                     size_t n_overrides, larch_error *err);
void host_config_release(host_config *cfg);

/* Plugin parameters: a larch_host whose getters read `strategies.<id>.<key>` (or
 * `opsets.<id>.<key>`) of cfg and whose log prints "[id] message". The returned params struct
 * is owned by the caller and must outlive the plugin instance. */
typedef struct host_params host_params;
host_params *host_params_new(host_config *cfg, const char *group, const char *id,
                             int log_level);
const larch_host *host_params_host(host_params *params);
/* After the plugin's create(): LARCH_ENOTFOUND naming file:line of the first key in the
 * plugin's group that the plugin never asked for (a typo), else LARCH_OK. */
int host_params_check_unused(host_params *params, larch_error *err);
void host_params_free(host_params *params);

#endif
