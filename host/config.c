/* The experiment config: a libconfig file, --set overrides, and the host's schema.
 *
 * The schema is one table (keys below). Loading walks the parsed file in file order so the first
 * error reported is the first one in the file, then fills host_config from the table (value or
 * default), then writes every defaulted key back into the libconfig tree so the effective text
 * stored with the results is complete. */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum value_type {
    V_INT,    /* int or int64 setting */
    V_FLOAT,  /* float, int or int64 setting */
    V_BOOL,   /* bool setting only */
    V_STRING, /* any string of imin..size-1 bytes */
    V_ID,     /* a plugin id: [a-z0-9_-]+, shorter than HOST_NAME_SIZE */
    V_ENUM,   /* one of choices */
    V_IDS     /* array or list of 1..size distinct ids (or one string) */
} value_type;

enum { OPEN_MIN = 1, OPEN_MAX = 2 }; /* float bounds that are excluded */

typedef struct key_spec {
    const char *group;
    const char *name;
    value_type type;
    int64_t imin, imax, idef; /* V_INT range and default; V_BOOL default; V_STRING min length */
    double fmin, fmax, fdef;
    unsigned open;
    const char *sdef;           /* V_STRING, V_ID, V_ENUM, V_IDS default */
    const char *const *choices; /* V_ENUM, NULL-terminated */
    size_t size;                /* V_STRING buffer size; V_IDS most entries */
} key_spec;

enum key_id {
    K_NAME,
    K_SEED,
    K_SEEDS,
    K_STRATEGIES,
    K_TRIALS,
    K_BUDGET_SECONDS,
    K_OBJECTIVE,
    K_FLOPS_TARGET,
    K_FLOPS_EXPONENT,
    K_SPACE,
    K_OPSET,
    K_NODES,
    K_CHANNELS,
    K_CELLS_PER_STAGE,
    K_FORMAT,
    K_DIR,
    K_TRAIN_SIZE,
    K_VAL_SIZE,
    K_TEST_SIZE,
    K_SPLIT_SEED,
    K_EPOCHS,
    K_BATCH,
    K_LR,
    K_LR_MIN,
    K_MOMENTUM,
    K_NESTEROV,
    K_WEIGHT_DECAY,
    K_SCHEDULE,
    K_THREADS,
    K_EVALUATOR,
    K_TABLE,
    K_TABULATE_SEEDS,
    K_TABULATE_WORKERS,
    K_PLUGIN_PATH,
    N_KEYS
};

static const char *const objective_choices[] = {"accuracy", "accuracy_flops", NULL};
static const char *const space_choices[] = {"cell", NULL};
static const char *const format_choices[] = {"idx", "cifar10", NULL};
static const char *const schedule_choices[] = {"cosine", "constant", NULL};
static const char *const evaluator_choices[] = {"train", "table", NULL};

/* clang-format off */
#define INT_KEY(g, n, def, lo, hi) \
    {.group = g, .name = n, .type = V_INT, .idef = def, .imin = lo, .imax = hi}
#define FLOAT_KEY(g, n, def, lo, hi, op) \
    {.group = g, .name = n, .type = V_FLOAT, .fdef = def, .fmin = lo, .fmax = hi, .open = op}
#define BOOL_KEY(g, n, def) {.group = g, .name = n, .type = V_BOOL, .idef = def}
#define STRING_KEY(g, n, def, min_len, sz) \
    {.group = g, .name = n, .type = V_STRING, .sdef = def, .imin = min_len, .size = sz}
#define ID_KEY(g, n, def) {.group = g, .name = n, .type = V_ID, .sdef = def, .size = HOST_NAME_SIZE}
#define ENUM_KEY(g, n, def, ch) {.group = g, .name = n, .type = V_ENUM, .sdef = def, .choices = ch}
/* clang-format on */

/* Every host key: its group, type, default and range. docs/CONFIG.md mirrors this table. */
static const key_spec keys[N_KEYS] = {
    [K_NAME] = STRING_KEY("experiment", "name", "experiment", 1, HOST_NAME_SIZE),
    [K_SEED] = INT_KEY("experiment", "seed", 0, 0, INT64_MAX),
    [K_SEEDS] = INT_KEY("experiment", "seeds", 1, 1, 10000),
    [K_STRATEGIES] = {.group = "experiment",
                      .name = "strategies",
                      .type = V_IDS,
                      .sdef = "random",
                      .size = HOST_MAX_STRATEGIES},
    [K_TRIALS] = INT_KEY("budget", "trials", 20, 0, 1000000000),
    [K_BUDGET_SECONDS] = FLOAT_KEY("budget", "seconds", 0, 0, HUGE_VAL, 0),
    [K_OBJECTIVE] = ENUM_KEY("objective", "type", "accuracy", objective_choices),
    [K_FLOPS_TARGET] = FLOAT_KEY("objective", "flops_target", 1e7, 0, HUGE_VAL, OPEN_MIN),
    [K_FLOPS_EXPONENT] = FLOAT_KEY("objective", "flops_exponent", -0.07, -1, 0, 0),
    [K_SPACE] = ENUM_KEY("space", "type", "cell", space_choices),
    [K_OPSET] = ID_KEY("space", "opset", "nb201"),
    [K_NODES] = INT_KEY("space", "nodes", 4, 2, TRAINER_MAX_NODES),
    [K_CHANNELS] = INT_KEY("space", "channels", 16, 1, 1024),
    [K_CELLS_PER_STAGE] = INT_KEY("space", "cells_per_stage", 1, 1, 32),
    [K_FORMAT] = ENUM_KEY("data", "format", "idx", format_choices),
    [K_DIR] = STRING_KEY("data", "dir", "/usr/share/datasets/fashion-mnist", 1, HOST_PATH_SIZE),
    [K_TRAIN_SIZE] = INT_KEY("data", "train_size", 0, 0, UINT32_MAX),
    [K_VAL_SIZE] = INT_KEY("data", "val_size", 5000, 0, UINT32_MAX),
    [K_TEST_SIZE] = INT_KEY("data", "test_size", 0, 0, UINT32_MAX),
    [K_SPLIT_SEED] = INT_KEY("data", "split_seed", 0, 0, INT64_MAX),
    [K_EPOCHS] = INT_KEY("train", "epochs", 1, 1, TRAINER_MAX_EPOCHS),
    [K_BATCH] = INT_KEY("train", "batch", 64, 1, 4096),
    [K_LR] = FLOAT_KEY("train", "lr", 0.1, 0, 10, OPEN_MIN),
    [K_LR_MIN] = FLOAT_KEY("train", "lr_min", 0.0, 0, 10, 0),
    [K_MOMENTUM] = FLOAT_KEY("train", "momentum", 0.9, 0, 1, OPEN_MAX),
    [K_NESTEROV] = BOOL_KEY("train", "nesterov", 1),
    [K_WEIGHT_DECAY] = FLOAT_KEY("train", "weight_decay", 5e-4, 0, 1, 0),
    [K_SCHEDULE] = ENUM_KEY("train", "schedule", "cosine", schedule_choices),
    [K_THREADS] = INT_KEY("train", "threads", 1, 1, 256),
    [K_EVALUATOR] = ENUM_KEY("evaluator", "type", "train", evaluator_choices),
    [K_TABLE] = STRING_KEY("evaluator", "table", "", 0, HOST_PATH_SIZE),
    [K_TABULATE_SEEDS] = INT_KEY("tabulate", "seeds", 2, 1, 16),
    [K_TABULATE_WORKERS] = INT_KEY("tabulate", "workers", 0, 0, 256),
    [K_PLUGIN_PATH] = STRING_KEY("plugins", "path", "", 0, HOST_PATH_SIZE),
};

/* Top-level groups in the order the docs list them; the last two hold plugin parameters. */
static const char *const groups[] = {"experiment", "budget",     "objective", "space",
                                     "data",       "train",      "evaluator", "tabulate",
                                     "plugins",    "strategies", "opsets"};
#define N_GROUPS (sizeof groups / sizeof groups[0])

static int is_plugin_group(const char *name)
{
    return !strcmp(name, "strategies") || !strcmp(name, "opsets");
}

static int find_group(const char *name)
{
    for (size_t i = 0; i < N_GROUPS; i++)
        if (!strcmp(groups[i], name))
            return (int)i;
    return -1;
}

static const key_spec *find_key(const char *group, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].group, group) && !strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

/* "experiment, budget, ..." or the keys of one group. */
static void known_keys(const char *group, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    if (!group) {
        for (size_t i = 0; i < N_GROUPS && len < size; i++)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", groups[i]);
        return;
    }
    for (size_t i = 0; i < N_KEYS && len < size; i++)
        if (!strcmp(keys[i].group, group))
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", keys[i].name);
}

int host_config_is_id(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* ---- describing settings in messages ---- */

void host_config_where(const config_setting_t *setting, char *buf, size_t size)
{
    /* An override marks what it created with its argument (the hook); elements of an array it
     * created have no mark of their own, so look up the parents. */
    for (const config_setting_t *s = setting; s; s = config_setting_parent(s)) {
        const char *arg = config_setting_get_hook(s);
        if (arg) {
            snprintf(buf, size, "--set %s", arg);
            return;
        }
        if (config_setting_source_line(s)) {
            const char *file = config_setting_source_file(s);
            snprintf(buf, size, "%s:%u", file ? file : "config", config_setting_source_line(s));
            return;
        }
    }
    snprintf(buf, size, "config");
}

void host_config_path(const config_setting_t *setting, char *buf, size_t size)
{
    const config_setting_t *chain[64];
    size_t n = 0;
    for (const config_setting_t *s = setting; s && !config_setting_is_root(s) && n < 64;
         s = config_setting_parent(s))
        chain[n++] = s;
    size_t len = 0;
    buf[0] = '\0';
    while (n-- > 0 && len < size) {
        const config_setting_t *s = chain[n];
        if (config_setting_name(s))
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "." : "",
                                    config_setting_name(s));
        else
            len += (size_t)snprintf(buf + len, size - len, "[%d]", config_setting_index(s));
    }
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "nothing";
    }
}

const char *host_config_type_name(const config_setting_t *setting)
{
    return type_name(config_setting_type(setting));
}

/* err = "<where>: <path>: <fmt...>". Returns status. */
static int setting_error(larch_error *err, int status, const config_setting_t *s, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
static int setting_error(larch_error *err, int status, const config_setting_t *s, const char *fmt,
                         ...)
{
    char where[HOST_PATH_SIZE + 64], path[256], what[LARCH_ERROR_MESSAGE_SIZE];
    host_config_where(s, where, sizeof where);
    host_config_path(s, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return larch_error_set(err, status, "%s: %s: %s", where, path, what);
}

/* ---- values ---- */

static int is_int(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static int is_number(const config_setting_t *s)
{
    return is_int(s) || config_setting_type(s) == CONFIG_TYPE_FLOAT;
}

static int64_t int_value(const config_setting_t *s)
{
    if (config_setting_type(s) == CONFIG_TYPE_INT)
        return config_setting_get_int(s);
    return config_setting_get_int64(s);
}

static double float_value(const config_setting_t *s)
{
    if (is_int(s))
        return (double)int_value(s);
    return config_setting_get_float(s);
}

/* "an integer in 1..200", "a float > 0", "a float in [0, 1)". */
static void describe(const key_spec *k, char *buf, size_t size)
{
    switch (k->type) {
    case V_INT:
        if (k->imax == INT64_MAX)
            snprintf(buf, size, "an integer >= %lld", (long long)k->imin);
        else
            snprintf(buf, size, "an integer in %lld..%lld", (long long)k->imin, (long long)k->imax);
        break;
    case V_FLOAT:
        if (isinf(k->fmax))
            snprintf(buf, size, "a float %s %g", k->open & OPEN_MIN ? ">" : ">=", k->fmin);
        else
            snprintf(buf, size, "a float in %c%g, %g%c", k->open & OPEN_MIN ? '(' : '[', k->fmin,
                     k->fmax, k->open & OPEN_MAX ? ')' : ']');
        break;
    case V_BOOL:
        snprintf(buf, size, "a boolean (true or false)");
        break;
    case V_STRING:
        snprintf(buf, size, "a string of %lld..%zu bytes", (long long)k->imin, k->size - 1);
        break;
    case V_ID:
        snprintf(buf, size, "a plugin id ([a-z0-9_-]+, at most %d bytes)", HOST_NAME_SIZE - 1);
        break;
    case V_ENUM: {
        size_t len = (size_t)snprintf(buf, size, "one of");
        for (size_t i = 0; k->choices[i] && len < size; i++)
            len +=
                (size_t)snprintf(buf + len, size - len, "%s \"%s\"", i ? "," : "", k->choices[i]);
        break;
    }
    case V_IDS:
        snprintf(buf, size, "an array of 1..%zu plugin ids", k->size);
        break;
    }
}

static int check_id_list(const key_spec *k, const config_setting_t *s, larch_error *err)
{
    char want[256];
    describe(k, want, sizeof want);
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_STRING) {
        if (!host_config_is_id(config_setting_get_string(s)) ||
            strlen(config_setting_get_string(s)) >= HOST_NAME_SIZE)
            return setting_error(err, LARCH_ERANGE, s, "expected %s, got \"%s\"", want,
                                 config_setting_get_string(s));
        return LARCH_OK;
    }
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return setting_error(err, LARCH_ETYPE, s, "expected %s, got %s", want, type_name(type));
    int n = config_setting_length(s);
    if (n < 1 || (size_t)n > k->size)
        return setting_error(err, LARCH_ERANGE, s, "expected %s, got %d", want, n);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return setting_error(err, LARCH_ETYPE, e, "expected a plugin id (a string), got %s",
                                 host_config_type_name(e));
        const char *id = config_setting_get_string(e);
        if (!host_config_is_id(id) || strlen(id) >= HOST_NAME_SIZE)
            return setting_error(err, LARCH_ERANGE, e,
                                 "expected a plugin id ([a-z0-9_-]+, at most %d bytes), got \"%s\"",
                                 HOST_NAME_SIZE - 1, id);
        for (int j = 0; j < i; j++)
            if (!strcmp(id, config_setting_get_string_elem(s, j)))
                return setting_error(err, LARCH_ERANGE, e, "'%s' is listed twice", id);
    }
    return LARCH_OK;
}

/* Type and range of one host setting. */
static int check_value(const key_spec *k, const config_setting_t *s, larch_error *err)
{
    char want[256];
    describe(k, want, sizeof want);
    int type = config_setting_type(s);
    switch (k->type) {
    case V_INT: {
        if (!is_int(s))
            return setting_error(err, LARCH_ETYPE, s, "expected %s, got %s", want, type_name(type));
        int64_t v = int_value(s);
        if (v < k->imin || v > k->imax)
            return setting_error(err, LARCH_ERANGE, s, "expected %s, got %lld", want, (long long)v);
        return LARCH_OK;
    }
    case V_FLOAT: {
        if (!is_number(s))
            return setting_error(err, LARCH_ETYPE, s, "expected %s, got %s", want, type_name(type));
        double v = float_value(s);
        int low = k->open & OPEN_MIN ? v <= k->fmin : v < k->fmin;
        int high = k->open & OPEN_MAX ? v >= k->fmax : v > k->fmax;
        if (!isfinite(v) || low || high)
            return setting_error(err, LARCH_ERANGE, s, "expected %s, got %g", want, v);
        return LARCH_OK;
    }
    case V_BOOL:
        if (type != CONFIG_TYPE_BOOL)
            return setting_error(err, LARCH_ETYPE, s, "expected %s, got %s", want, type_name(type));
        return LARCH_OK;
    case V_STRING:
    case V_ID:
    case V_ENUM: {
        if (type != CONFIG_TYPE_STRING)
            return setting_error(err, LARCH_ETYPE, s, "expected %s, got %s", want, type_name(type));
        const char *v = config_setting_get_string(s);
        size_t len = strlen(v);
        int ok = 1;
        if (k->type == V_STRING)
            ok = len >= (size_t)k->imin && len < k->size;
        else if (k->type == V_ID)
            ok = host_config_is_id(v) && len < k->size;
        else {
            ok = 0;
            for (size_t i = 0; k->choices[i]; i++)
                ok |= !strcmp(v, k->choices[i]);
        }
        if (!ok && k->type == V_STRING)
            return setting_error(err, LARCH_ERANGE, s, "expected %s, got %zu bytes", want, len);
        if (!ok)
            return setting_error(err, LARCH_ERANGE, s, "expected %s, got \"%s\"", want, v);
        return LARCH_OK;
    }
    case V_IDS:
        return check_id_list(k, s, err);
    }
    return larch_error_set(err, LARCH_EINTERNAL, "config: unknown value type %d", (int)k->type);
}

/* Every setting of the tree, in file order: known, of the right type, in range. */
static int check_tree(config_t *lc, larch_error *err)
{
    const config_setting_t *root = config_root_setting(lc);
    char where[HOST_PATH_SIZE + 64], known[512];
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *g = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(g);
        if (find_group(name) < 0) {
            host_config_where(g, where, sizeof where);
            known_keys(NULL, known, sizeof known);
            return larch_error_set(err, LARCH_ENOTFOUND, "%s: unknown key '%s' (known: %s)", where,
                                   name, known);
        }
        if (!config_setting_is_group(g))
            return setting_error(err, LARCH_ETYPE, g, "expected a group, got %s",
                                 host_config_type_name(g));
        for (int j = 0; j < config_setting_length(g); j++) {
            const config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
            if (is_plugin_group(name)) {
                if (!config_setting_is_group(s))
                    return setting_error(err, LARCH_ETYPE, s,
                                         "expected a group of plugin parameters, got %s",
                                         host_config_type_name(s));
                continue;
            }
            const key_spec *k = find_key(name, config_setting_name(s));
            if (!k) {
                host_config_where(s, where, sizeof where);
                known_keys(name, known, sizeof known);
                return larch_error_set(err, LARCH_ENOTFOUND,
                                       "%s: unknown key '%s.%s' (known in %s: %s)", where, name,
                                       config_setting_name(s), name, known);
            }
            int rc = check_value(k, s, err);
            if (rc != LARCH_OK)
                return rc;
        }
    }
    return LARCH_OK;
}

static config_setting_t *lookup(config_t *lc, enum key_id id)
{
    config_setting_t *g = config_setting_get_member(config_root_setting(lc), keys[id].group);
    return g ? config_setting_get_member(g, keys[id].name) : NULL;
}

/* The checked value of a key, or its default. */
static int64_t get_int(config_t *lc, enum key_id id)
{
    const config_setting_t *s = lookup(lc, id);
    return s ? int_value(s) : keys[id].idef;
}

static double get_float(config_t *lc, enum key_id id)
{
    const config_setting_t *s = lookup(lc, id);
    return s ? float_value(s) : keys[id].fdef;
}

static int get_bool(config_t *lc, enum key_id id)
{
    const config_setting_t *s = lookup(lc, id);
    return s ? config_setting_get_bool(s) : (int)keys[id].idef;
}

static const char *get_string(config_t *lc, enum key_id id)
{
    const config_setting_t *s = lookup(lc, id);
    return s ? config_setting_get_string(s) : keys[id].sdef;
}

/* Index of the key's value among its choices (checked before, so always found). */
static int get_choice(config_t *lc, enum key_id id)
{
    const char *v = get_string(lc, id);
    for (int i = 0; keys[id].choices[i]; i++)
        if (!strcmp(v, keys[id].choices[i]))
            return i;
    return 0;
}

static void copy_string(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

/* evaluator.table: a path in the file is relative to that file's directory (an @include'd
 * file's own), one given by --set to the working directory, like any path on a command line. */
static int table_path(host_config *cfg, config_t *lc, larch_error *err)
{
    const config_setting_t *s = lookup(lc, K_TABLE);
    const char *value = s ? config_setting_get_string(s) : "";
    if (!*value) {
        cfg->table_path[0] = '\0';
        if (!cfg->evaluator_table)
            return LARCH_OK;
        const config_setting_t *type = lookup(lc, K_EVALUATOR);
        return setting_error(err, LARCH_EINVAL, type,
                             "\"table\" needs evaluator.table, the file `larch tabulate` wrote");
    }
    const char *file = config_setting_get_hook(s) ? NULL : config_setting_source_file(s);
    const char *slash = file && value[0] != '/' ? strrchr(file, '/') : NULL;
    int len;
    if (slash)
        len = snprintf(cfg->table_path, sizeof cfg->table_path, "%.*s/%s", (int)(slash - file),
                       file, value);
    else
        len = snprintf(cfg->table_path, sizeof cfg->table_path, "%s", value);
    if (len < 0 || (size_t)len >= sizeof cfg->table_path)
        return setting_error(err, LARCH_ERANGE, s, "expected a path of at most %zu bytes%s",
                             sizeof cfg->table_path - 1,
                             slash ? " after joining it to the config file's directory" : "");
    return LARCH_OK;
}

/* The plugin a strategy name runs: strategies.<name>.plugin when given (a variant), else the name
 * itself. */
static int read_strategy_plugin(config_t *lc, const char *name, char *plugin, larch_error *err)
{
    char own[HOST_NAME_SIZE]; /* name may sit beside plugin in one host_config */
    copy_string(own, sizeof own, name);
    name = own;
    config_setting_t *group = config_lookup(lc, "strategies");
    config_setting_t *s =
        group && config_setting_is_group(group) ? config_setting_get_member(group, name) : NULL;
    s = s && config_setting_is_group(s) ? config_setting_get_member(s, "plugin") : NULL;
    if (!s) {
        copy_string(plugin, HOST_NAME_SIZE, name);
        return LARCH_OK;
    }
    const char *id = config_setting_get_string(s);
    if (!id)
        return setting_error(err, LARCH_ETYPE, s,
                             "expected a string (a strategy plugin id), got %s",
                             host_config_type_name(s));
    if (!id[0])
        return setting_error(err, LARCH_ERANGE, s, "expected a strategy plugin id, got \"\"");
    if (strlen(id) >= HOST_NAME_SIZE)
        return setting_error(err, LARCH_ERANGE, s, "expected an id of at most %d bytes",
                             HOST_NAME_SIZE - 1);
    copy_string(plugin, HOST_NAME_SIZE, id);
    return LARCH_OK;
}

static int fill(host_config *cfg, config_t *lc, larch_error *err)
{
    copy_string(cfg->name, sizeof cfg->name, get_string(lc, K_NAME));
    cfg->seed = (uint64_t)get_int(lc, K_SEED);
    cfg->seeds = (uint32_t)get_int(lc, K_SEEDS);
    const config_setting_t *list = lookup(lc, K_STRATEGIES);
    if (!list || config_setting_type(list) == CONFIG_TYPE_STRING) {
        cfg->n_strategies = 1;
        copy_string(cfg->strategies[0], HOST_NAME_SIZE, get_string(lc, K_STRATEGIES));
    } else {
        cfg->n_strategies = (uint32_t)config_setting_length(list);
        for (uint32_t i = 0; i < cfg->n_strategies; i++)
            copy_string(cfg->strategies[i], HOST_NAME_SIZE,
                        config_setting_get_string_elem(list, (int)i));
    }
    for (uint32_t i = 0; i < cfg->n_strategies; i++) {
        int rc = read_strategy_plugin(lc, cfg->strategies[i], cfg->strategy_plugins[i], err);
        if (rc != LARCH_OK)
            return rc;
    }

    cfg->trials = (uint32_t)get_int(lc, K_TRIALS);
    cfg->budget_seconds = get_float(lc, K_BUDGET_SECONDS);

    cfg->objective =
        get_choice(lc, K_OBJECTIVE) == 1 ? HOST_OBJECTIVE_ACCURACY_FLOPS : HOST_OBJECTIVE_ACCURACY;
    cfg->flops_target = get_float(lc, K_FLOPS_TARGET);
    cfg->flops_exponent = get_float(lc, K_FLOPS_EXPONENT);

    copy_string(cfg->space, sizeof cfg->space, get_string(lc, K_SPACE));
    copy_string(cfg->opset, sizeof cfg->opset, get_string(lc, K_OPSET));
    cfg->cell.nodes = (uint32_t)get_int(lc, K_NODES);
    cfg->cell.channels = (uint32_t)get_int(lc, K_CHANNELS);
    cfg->cell.cells_per_stage = (uint32_t)get_int(lc, K_CELLS_PER_STAGE);

    copy_string(cfg->data_dir, sizeof cfg->data_dir, get_string(lc, K_DIR));
    cfg->data.format = get_choice(lc, K_FORMAT) == 1 ? TRAINER_DATA_CIFAR10 : TRAINER_DATA_IDX;
    cfg->data.dir = cfg->data_dir;
    cfg->data.train_size = (uint32_t)get_int(lc, K_TRAIN_SIZE);
    cfg->data.val_size = (uint32_t)get_int(lc, K_VAL_SIZE);
    cfg->data.test_size = (uint32_t)get_int(lc, K_TEST_SIZE);
    cfg->data.split_seed = (uint64_t)get_int(lc, K_SPLIT_SEED);

    cfg->recipe.epochs = (uint32_t)get_int(lc, K_EPOCHS);
    cfg->recipe.batch = (uint32_t)get_int(lc, K_BATCH);
    cfg->recipe.lr = get_float(lc, K_LR);
    cfg->recipe.lr_min = get_float(lc, K_LR_MIN);
    cfg->recipe.momentum = get_float(lc, K_MOMENTUM);
    cfg->recipe.nesterov = get_bool(lc, K_NESTEROV);
    cfg->recipe.weight_decay = get_float(lc, K_WEIGHT_DECAY);
    cfg->recipe.cosine = get_choice(lc, K_SCHEDULE) == 0;
    cfg->threads = (uint32_t)get_int(lc, K_THREADS);

    cfg->evaluator_table = get_choice(lc, K_EVALUATOR) == 1;
    int rc = table_path(cfg, lc, err);
    if (rc != LARCH_OK)
        return rc;
    cfg->tabulate_seeds = (uint32_t)get_int(lc, K_TABULATE_SEEDS);
    cfg->tabulate_workers = (uint32_t)get_int(lc, K_TABULATE_WORKERS);
    if (cfg->tabulate_workers == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->tabulate_workers = online < 1 ? 1 : online > 256 ? 256 : (uint32_t)online;
    }

    copy_string(cfg->plugin_path, sizeof cfg->plugin_path, get_string(lc, K_PLUGIN_PATH));

    /* Checks across keys. */
    const config_setting_t *trials = lookup(lc, K_TRIALS);
    if (trials && cfg->trials == 0 && cfg->budget_seconds == 0)
        return setting_error(err, LARCH_ERANGE, trials,
                             "0 (no trial limit) needs budget.seconds > 0: one of them must "
                             "bound each run");
    const config_setting_t *lr_min = lookup(lc, K_LR_MIN);
    if (lr_min && cfg->recipe.lr_min > cfg->recipe.lr)
        return setting_error(err, LARCH_ERANGE, lr_min,
                             "expected a float in [0, train.lr = %g], got %g", cfg->recipe.lr,
                             cfg->recipe.lr_min);
    return LARCH_OK;
}

/* ---- writing settings (overrides and defaults) ---- */

static config_setting_t *group_member(config_setting_t *parent, const char *name)
{
    config_setting_t *g = config_setting_get_member(parent, name);
    return g ? g : config_setting_add(parent, name, CONFIG_TYPE_GROUP);
}

/* Adds every absent host key with its default, so the effective text is complete. */
static int write_defaults(config_t *lc, larch_error *err)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const key_spec *k = &keys[i];
        if (lookup(lc, (enum key_id)i))
            continue;
        config_setting_t *g = group_member(config_root_setting(lc), k->group);
        config_setting_t *s = NULL;
        int ok = 0;
        switch (k->type) {
        case V_INT:
            if (k->idef > INT_MAX) {
                s = g ? config_setting_add(g, k->name, CONFIG_TYPE_INT64) : NULL;
                ok = s && config_setting_set_int64(s, k->idef);
            } else {
                s = g ? config_setting_add(g, k->name, CONFIG_TYPE_INT) : NULL;
                ok = s && config_setting_set_int(s, (int)k->idef);
            }
            break;
        case V_FLOAT:
            s = g ? config_setting_add(g, k->name, CONFIG_TYPE_FLOAT) : NULL;
            ok = s && config_setting_set_float(s, k->fdef);
            break;
        case V_BOOL:
            s = g ? config_setting_add(g, k->name, CONFIG_TYPE_BOOL) : NULL;
            ok = s && config_setting_set_bool(s, (int)k->idef);
            break;
        case V_STRING:
        case V_ID:
        case V_ENUM:
            s = g ? config_setting_add(g, k->name, CONFIG_TYPE_STRING) : NULL;
            ok = s && config_setting_set_string(s, k->sdef);
            break;
        case V_IDS:
            s = g ? config_setting_add(g, k->name, CONFIG_TYPE_ARRAY) : NULL;
            ok = s && config_setting_set_string_elem(s, -1, k->sdef);
            break;
        }
        if (!ok)
            return larch_error_set(err, LARCH_ENOMEM, "out of memory writing the default of %s.%s",
                                   k->group, k->name);
    }
    return LARCH_OK;
}

/* ---- --set overrides ---- */

#define MAX_DEPTH 16

typedef struct parsed_value {
    int type; /* CONFIG_TYPE_* */
    long long i;
    double f;
    const char *s; /* points into the override's copy */
    char *items[HOST_MAX_STRATEGIES + 1];
    int n_items;
} parsed_value;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Strips one pair of surrounding double quotes. */
static char *unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

static int parse_int(const char *s, long long *out)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = v;
    return 1;
}

static int parse_float(const char *s, double *out)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "TRUE") || !strcmp(s, "True"))
        return *out = 1, 1;
    if (!strcmp(s, "false") || !strcmp(s, "FALSE") || !strcmp(s, "False"))
        return *out = 0, 1;
    return 0;
}

/* "random,grid", "[random, grid]", "[\"random\",\"grid\"]" or "(...)". */
static int parse_list(char *s, parsed_value *v)
{
    size_t n = strlen(s);
    if (n >= 2 && ((s[0] == '[' && s[n - 1] == ']') || (s[0] == '(' && s[n - 1] == ')'))) {
        s[n - 1] = '\0';
        s = trim(s + 1);
    }
    v->type = CONFIG_TYPE_ARRAY;
    v->n_items = 0;
    if (!*s)
        return 1;
    for (char *item = s;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        if (v->n_items == HOST_MAX_STRATEGIES + 1)
            return 0;
        v->items[v->n_items++] = unquote(trim(item));
        if (!comma)
            return 1;
        item = comma + 1;
    }
}

static int parse_host_value(const key_spec *k, char *text, parsed_value *v, const char *arg,
                            larch_error *err)
{
    int b;
    switch (k->type) {
    case V_INT:
        if (!parse_int(text, &v->i))
            return larch_error_set(err, LARCH_ETYPE, "--set %s: expected an integer", arg);
        v->type = v->i < INT_MIN || v->i > INT_MAX ? CONFIG_TYPE_INT64 : CONFIG_TYPE_INT;
        return LARCH_OK;
    case V_FLOAT:
        if (!parse_float(text, &v->f))
            return larch_error_set(err, LARCH_ETYPE, "--set %s: expected a float", arg);
        v->type = CONFIG_TYPE_FLOAT;
        return LARCH_OK;
    case V_BOOL:
        if (!parse_bool(text, &b))
            return larch_error_set(err, LARCH_ETYPE, "--set %s: expected true or false", arg);
        v->type = CONFIG_TYPE_BOOL;
        v->i = b;
        return LARCH_OK;
    case V_STRING:
    case V_ID:
    case V_ENUM:
        v->type = CONFIG_TYPE_STRING;
        v->s = unquote(text);
        return LARCH_OK;
    case V_IDS:
        if (!parse_list(text, v))
            return larch_error_set(err, LARCH_ERANGE, "--set %s: expected at most %d ids", arg,
                                   HOST_MAX_STRATEGIES);
        return LARCH_OK;
    }
    return larch_error_set(err, LARCH_EINTERNAL, "--set %s: unknown value type", arg);
}

/* Plugin keys have no schema: true/false, then integer, then float, else a string. */
static void infer_value(char *text, parsed_value *v)
{
    int b;
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
        v->type = CONFIG_TYPE_STRING;
        v->s = unquote(text);
    } else if (parse_bool(text, &b)) {
        v->type = CONFIG_TYPE_BOOL;
        v->i = b;
    } else if (parse_int(text, &v->i)) {
        v->type = v->i < INT_MIN || v->i > INT_MAX ? CONFIG_TYPE_INT64 : CONFIG_TYPE_INT;
    } else if (parse_float(text, &v->f)) {
        v->type = CONFIG_TYPE_FLOAT;
    } else {
        v->type = CONFIG_TYPE_STRING;
        v->s = text;
    }
}

/* A libconfig setting name: [A-Za-z][-A-Za-z0-9_]*. */
static int is_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* Marks s as made by the override arg (for messages); the config frees the copy. */
static int mark(config_setting_t *s, const char *arg)
{
    char *copy = strdup(arg);
    if (!copy)
        return 0;
    config_setting_set_hook(s, copy);
    return 1;
}

static int store_value(config_setting_t *parent, const char *name, const parsed_value *v,
                       const char *arg, larch_error *err)
{
    if (config_setting_get_member(parent, name))
        config_setting_remove(parent, name);
    config_setting_t *s = config_setting_add(parent, name, v->type);
    int ok = s != NULL;
    if (ok) {
        switch (v->type) {
        case CONFIG_TYPE_INT:
            ok = config_setting_set_int(s, (int)v->i);
            break;
        case CONFIG_TYPE_INT64:
            ok = config_setting_set_int64(s, v->i);
            break;
        case CONFIG_TYPE_FLOAT:
            ok = config_setting_set_float(s, v->f);
            break;
        case CONFIG_TYPE_BOOL:
            ok = config_setting_set_bool(s, (int)v->i);
            break;
        case CONFIG_TYPE_STRING:
            ok = config_setting_set_string(s, v->s);
            break;
        case CONFIG_TYPE_ARRAY:
            for (int i = 0; ok && i < v->n_items; i++)
                ok = config_setting_set_string_elem(s, -1, v->items[i]) != NULL;
            break;
        }
    }
    if (!ok || !mark(s, arg))
        return larch_error_set(err, LARCH_ENOMEM, "--set %s: out of memory", arg);
    return LARCH_OK;
}

static int apply_override(config_t *lc, const char *arg, char *buf, larch_error *err)
{
    char *eq = strchr(buf, '=');
    if (!eq)
        return larch_error_set(err, LARCH_EINVAL, "--set %s: expected key=value", arg);
    *eq = '\0';
    char *key = trim(buf), *text = trim(eq + 1);

    char *parts[MAX_DEPTH];
    int n = 0;
    for (char *p = key;;) {
        char *dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        if (n == MAX_DEPTH || !is_name(p))
            return larch_error_set(err, LARCH_EINVAL,
                                   "--set %s: expected a dotted key such as train.epochs", arg);
        parts[n++] = p;
        if (!dot)
            break;
        p = dot + 1;
    }

    char known[512];
    parsed_value v = {0};
    int g = find_group(parts[0]);
    if (g < 0) {
        known_keys(NULL, known, sizeof known);
        return larch_error_set(err, LARCH_ENOTFOUND, "--set %s: unknown key '%s' (known: %s)", arg,
                               parts[0], known);
    }
    if (is_plugin_group(parts[0])) {
        if (n < 3)
            return larch_error_set(err, LARCH_EINVAL, "--set %s: expected %s.<id>.<key>=value", arg,
                                   parts[0]);
        infer_value(text, &v);
    } else {
        if (n == 1)
            return larch_error_set(err, LARCH_EINVAL, "--set %s: expected %s.<key>=value", arg,
                                   parts[0]);
        const key_spec *k = n == 2 ? find_key(parts[0], parts[1]) : NULL;
        if (!k) {
            known_keys(parts[0], known, sizeof known);
            return larch_error_set(err, LARCH_ENOTFOUND,
                                   "--set %s: unknown key '%s.%s' (known in %s: %s)", arg, parts[0],
                                   parts[1], parts[0], known);
        }
        int rc = parse_host_value(k, text, &v, arg, err);
        if (rc != LARCH_OK)
            return rc;
    }

    config_setting_t *parent = config_root_setting(lc);
    for (int i = 0; i < n - 1; i++) {
        config_setting_t *child = config_setting_get_member(parent, parts[i]);
        if (child && !config_setting_is_group(child)) {
            char where[HOST_PATH_SIZE + 64], path[256];
            host_config_where(child, where, sizeof where);
            host_config_path(child, path, sizeof path);
            return larch_error_set(err, LARCH_ETYPE, "--set %s: %s (%s) is %s, not a group", arg,
                                   path, where, host_config_type_name(child));
        }
        if (!child) {
            child = config_setting_add(parent, parts[i], CONFIG_TYPE_GROUP);
            if (!child || !mark(child, arg))
                return larch_error_set(err, LARCH_ENOMEM, "--set %s: out of memory", arg);
        }
        parent = child;
    }
    return store_value(parent, parts[n - 1], &v, arg, err);
}

/* ---- load ---- */

static int read_file(config_t *lc, const char *path, larch_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return larch_error_set(err, LARCH_EIO, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);

    /* @include "x.cfg" is relative to the config's own directory. */
    char dir[HOST_PATH_SIZE];
    copy_string(dir, sizeof dir, path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        slash[slash == dir ? 1 : 0] = '\0';
        config_set_include_dir(lc, dir);
    }

    if (config_read_file(lc, path))
        return LARCH_OK;
    if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
        return larch_error_set(err, LARCH_EIO, "%s: cannot read: %s", path,
                               config_error_text(lc) ? config_error_text(lc) : "I/O error");
    return larch_error_set(
        err, LARCH_EFORMAT, "%s:%d: %s", config_error_file(lc) ? config_error_file(lc) : path,
        config_error_line(lc), config_error_text(lc) ? config_error_text(lc) : "syntax error");
}

static int write_text(host_config *cfg, config_t *lc, larch_error *err)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory writing the effective config");
    config_write(lc, mem);
    if (fclose(mem) != 0 || !text) {
        free(text);
        return larch_error_set(err, LARCH_ENOMEM, "out of memory writing the effective config");
    }
    cfg->text = text;
    return LARCH_OK;
}

static int load(host_config *cfg, const char *path, const char *const *overrides,
                size_t n_overrides, larch_error *err)
{
    if (!path || !*path)
        return larch_error_set(err, LARCH_EINVAL, "config: no file given");
    if (strlen(path) >= sizeof cfg->path)
        return larch_error_set(err, LARCH_EINVAL, "config: path longer than %zu bytes",
                               sizeof cfg->path - 1);
    copy_string(cfg->path, sizeof cfg->path, path);

    config_t *lc = malloc(sizeof *lc);
    if (!lc)
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory", path);
    config_init(lc);
    /* Frees the argument copies that mark what each override created. */
    config_set_destructor(lc, free);
    /* The effective text in the same style as the examples: "train = {". */
    config_set_options(lc, CONFIG_OPTION_SEMICOLON_SEPARATORS);
    cfg->lc = lc;

    int rc = read_file(lc, path, err);
    for (size_t i = 0; rc == LARCH_OK && i < n_overrides; i++) {
        if (!overrides[i])
            return larch_error_set(err, LARCH_EINVAL, "--set: NULL override");
        char *buf = strdup(overrides[i]);
        if (!buf)
            return larch_error_set(err, LARCH_ENOMEM, "--set %s: out of memory", overrides[i]);
        rc = apply_override(lc, overrides[i], buf, err);
        free(buf);
    }
    if (rc == LARCH_OK)
        rc = check_tree(lc, err);
    if (rc == LARCH_OK)
        rc = fill(cfg, lc, err);
    if (rc == LARCH_OK)
        rc = write_defaults(lc, err);
    if (rc == LARCH_OK)
        rc = write_text(cfg, lc, err);
    return rc;
}

int host_config_load(host_config *cfg, const char *path, const char *const *overrides,
                     size_t n_overrides, larch_error *err)
{
    if (!cfg)
        return larch_error_set(err, LARCH_EINVAL, "config: no config struct given");
    memset(cfg, 0, sizeof *cfg);
    if (n_overrides && !overrides)
        return larch_error_set(err, LARCH_EINVAL, "config: NULL overrides");
    int rc = load(cfg, path, overrides, n_overrides, err);
    if (rc != LARCH_OK)
        host_config_release(cfg);
    return rc;
}

void host_config_release(host_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->lc) {
        config_destroy(cfg->lc);
        free(cfg->lc);
    }
    free(cfg->text);
    memset(cfg, 0, sizeof *cfg);
}
