/* Plugin parameters: the larch_host table a plugin reads its config group through. Records what
 * the plugin asked for, so a key it never read (a typo) is reported with its file and line. */
#include "config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/abi.h>

struct host_params {
    larch_host host;
    config_setting_t *group; /* <group>.<id>, or NULL when the config has none */
    char id[HOST_NAME_SIZE];
    int log_level;
    /* Settings a getter reached (leaves and the groups on their way). */
    const config_setting_t **used;
    size_t n_used, cap_used;
    /* Keys the plugin asked for, present or not, for the typo message. */
    char **asked;
    size_t n_asked, cap_asked;
};

static int is_used(const host_params *p, const config_setting_t *s)
{
    for (size_t i = 0; i < p->n_used; i++)
        if (p->used[i] == s)
            return 1;
    return 0;
}

static int mark_used(host_params *p, const config_setting_t *s)
{
    if (is_used(p, s))
        return 1;
    if (p->n_used == p->cap_used) {
        size_t cap = p->cap_used ? 2 * p->cap_used : 16;
        const config_setting_t **used = realloc(p->used, cap * sizeof *used);
        if (!used)
            return 0;
        p->used = used;
        p->cap_used = cap;
    }
    p->used[p->n_used++] = s;
    return 1;
}

static int record_asked(host_params *p, const char *key)
{
    for (size_t i = 0; i < p->n_asked; i++)
        if (!strcmp(p->asked[i], key))
            return 1;
    if (p->n_asked == p->cap_asked) {
        size_t cap = p->cap_asked ? 2 * p->cap_asked : 16;
        char **asked = realloc(p->asked, cap * sizeof *asked);
        if (!asked)
            return 0;
        p->asked = asked;
        p->cap_asked = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return 0;
    p->asked[p->n_asked++] = copy;
    return 1;
}

static int param_error(larch_error *err, int status, const config_setting_t *s, const char *want)
{
    char where[HOST_PATH_SIZE + 64], path[256];
    host_config_where(s, where, sizeof where);
    host_config_path(s, path, sizeof path);
    return larch_error_set(err, status, "%s: %s: expected %s, got %s", where, path, want,
                           host_config_type_name(s));
}

/* Finds key (dotted, relative to the plugin's group) and records the request. Sets *out to the
 * setting or NULL when absent. */
static int find(host_params *p, const char *key, const config_setting_t **out, larch_error *err)
{
    *out = NULL;
    if (!key || !*key)
        return larch_error_set(err, LARCH_EINVAL, "[%s] parameter getter called without a key",
                               p->id);
    if (!record_asked(p, key))
        return larch_error_set(err, LARCH_ENOMEM, "[%s] out of memory reading '%s'", p->id, key);
    char buf[256];
    if (strlen(key) >= sizeof buf)
        return larch_error_set(err, LARCH_EINVAL, "[%s] parameter key too long: '%.40s...'", p->id,
                               key);
    snprintf(buf, sizeof buf, "%s", key);
    config_setting_t *s = p->group;
    for (char *part = buf; s;) {
        char *dot = strchr(part, '.');
        if (dot)
            *dot = '\0';
        if (!config_setting_is_group(s))
            return param_error(err, LARCH_ETYPE, s, "a group");
        s = config_setting_get_member(s, part);
        if (s && !mark_used(p, s))
            return larch_error_set(err, LARCH_ENOMEM, "[%s] out of memory reading '%s'", p->id,
                                   key);
        if (!dot)
            break;
        part = dot + 1;
    }
    *out = s;
    return LARCH_OK;
}

static int params_get_int(void *ctx, const char *key, int64_t def, int64_t *out, larch_error *err)
{
    const config_setting_t *s;
    int rc = find(ctx, key, &s, err);
    if (rc != LARCH_OK)
        return rc;
    if (!s) {
        *out = def;
        return LARCH_OK;
    }
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        *out = config_setting_get_int(s);
        return LARCH_OK;
    case CONFIG_TYPE_INT64:
        *out = config_setting_get_int64(s);
        return LARCH_OK;
    default:
        return param_error(err, LARCH_ETYPE, s, "an integer");
    }
}

static int params_get_float(void *ctx, const char *key, double def, double *out, larch_error *err)
{
    const config_setting_t *s;
    int rc = find(ctx, key, &s, err);
    if (rc != LARCH_OK)
        return rc;
    if (!s) {
        *out = def;
        return LARCH_OK;
    }
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        *out = config_setting_get_int(s);
        return LARCH_OK;
    case CONFIG_TYPE_INT64:
        *out = (double)config_setting_get_int64(s);
        return LARCH_OK;
    case CONFIG_TYPE_FLOAT:
        *out = config_setting_get_float(s);
        return LARCH_OK;
    default:
        return param_error(err, LARCH_ETYPE, s, "a float");
    }
}

static int params_get_bool(void *ctx, const char *key, int def, int *out, larch_error *err)
{
    const config_setting_t *s;
    int rc = find(ctx, key, &s, err);
    if (rc != LARCH_OK)
        return rc;
    if (!s) {
        *out = def;
        return LARCH_OK;
    }
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return param_error(err, LARCH_ETYPE, s, "a boolean (true or false)");
    *out = config_setting_get_bool(s);
    return LARCH_OK;
}

static int params_get_string(void *ctx, const char *key, const char *def, const char **out,
                             larch_error *err)
{
    const config_setting_t *s;
    int rc = find(ctx, key, &s, err);
    if (rc != LARCH_OK)
        return rc;
    if (!s) {
        *out = def;
        return LARCH_OK;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return param_error(err, LARCH_ETYPE, s, "a string");
    *out = config_setting_get_string(s);
    return LARCH_OK;
}

static void params_log(void *ctx, int level, const char *message)
{
    const host_params *p = ctx;
    if (level > p->log_level || !message)
        return;
    const char *tag = level <= LARCH_LOG_ERROR  ? "error: "
                      : level == LARCH_LOG_WARN ? "warning: "
                                                : "";
    /* One call, so lines from several threads do not interleave. */
    fprintf(stderr, "[%s] %s%s\n", p->id, tag, message);
}

static void *params_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return calloc(1, size ? size : 1);
}

static void params_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

host_params *host_params_new(host_config *cfg, const char *group, const char *id, int log_level)
{
    if (!id)
        return NULL;
    host_params *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->log_level = log_level;
    p->host = (larch_host){.struct_size = sizeof(larch_host),
                           .abi_major = LARCH_ABI_MAJOR,
                           .abi_minor = LARCH_ABI_MINOR,
                           .ctx = p,
                           .log = params_log,
                           .get_int = params_get_int,
                           .get_float = params_get_float,
                           .get_bool = params_get_bool,
                           .get_string = params_get_string,
                           .alloc = params_alloc,
                           .free = params_free};
    config_setting_t *s = cfg && cfg->lc ? config_root_setting((config_t *)cfg->lc) : NULL;
    if (s && group)
        s = config_setting_get_member(s, group);
    if (s && config_setting_is_group(s))
        s = config_setting_get_member(s, id);
    p->group = s && config_setting_is_group(s) ? s : NULL;
    /* strategies.<name>.plugin is the host's (the plugin a variant runs), not the plugin's. */
    config_setting_t *plugin = p->group && group && !strcmp(group, "strategies")
                                   ? config_setting_get_member(p->group, "plugin")
                                   : NULL;
    if (plugin && !mark_used(p, plugin)) {
        host_params_free(p);
        return NULL;
    }
    return p;
}

const larch_host *host_params_host(host_params *params)
{
    return params ? &params->host : NULL;
}

/* The first setting under g (depth first, in file order) that no getter reached. */
static const config_setting_t *first_unused(const host_params *p, const config_setting_t *g)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        if (!is_used(p, s))
            return s;
        if (config_setting_is_group(s)) {
            const config_setting_t *u = first_unused(p, s);
            if (u)
                return u;
        }
    }
    return NULL;
}

int host_params_check_unused(host_params *params, larch_error *err)
{
    if (!params || !params->group)
        return LARCH_OK;
    const config_setting_t *s = first_unused(params, params->group);
    if (!s)
        return LARCH_OK;
    char where[HOST_PATH_SIZE + 64], path[256], asked[256] = "";
    host_config_where(s, where, sizeof where);
    host_config_path(s, path, sizeof path);
    size_t len = 0;
    for (size_t i = 0; i < params->n_asked && len < sizeof asked; i++)
        len += (size_t)snprintf(asked + len, sizeof asked - len, "%s%s", i ? ", " : "",
                                params->asked[i]);
    if (params->n_asked)
        return larch_error_set(err, LARCH_ENOTFOUND, "%s: unknown key '%s' (%s reads: %s)", where,
                               path, params->id, asked);
    return larch_error_set(err, LARCH_ENOTFOUND, "%s: unknown key '%s' (%s takes no parameters)",
                           where, path, params->id);
}

void host_params_free(host_params *params)
{
    if (!params)
        return;
    for (size_t i = 0; i < params->n_asked; i++)
        free(params->asked[i]);
    free(params->asked);
    free(params->used);
    free(params);
}
