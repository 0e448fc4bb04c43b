/* Plugin loading: dlopen, then check every header field and pointer before calling anything
 * but the entry. Refused files are dlclose'd at once; accepted ones stay open until the registry
 * is released, since code and descriptors of a plugin may be in use anywhere in a run. */
#define _GNU_SOURCE /* dladdr, to tell whether another major's strings are safe to print */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <larch/opset.h>
#include <larch/space.h>
#include <larch/strategy.h>

#ifndef LARCH_PLUGIN_BUILD_DIR
#define LARCH_PLUGIN_BUILD_DIR ""
#endif
#ifndef LARCH_PLUGIN_INSTALL_DIR
#define LARCH_PLUGIN_INSTALL_DIR ""
#endif

/* The v1.0 sizes: the end of each struct's last v1.0 field. A descriptor or vtable of any later
 * minor is at least this large; the host reads no field past these. */
#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define PLUGIN_SIZE_V1_0 END_OF(larch_plugin, opset)
#define STRATEGY_VTABLE_SIZE_V1_0 END_OF(larch_strategy_vtable, destroy)
#define OPSET_VTABLE_SIZE_V1_0 END_OF(larch_opset_vtable, layer_new)

/* "f32/NCHW". */
static const char *describe_key(uint32_t key, char *buf, size_t size)
{
    uint32_t layout = key & 0xffu;
    if (layout == LARCH_LAYOUT_NCHW)
        snprintf(buf, size, "f%u/NCHW", key >> 8);
    else
        snprintf(buf, size, "f%u/layout-%u", key >> 8, layout);
    return buf;
}

/* A string of another ABI major's descriptor, printed only if it lies inside the plugin's own
 * mapping (its layout is not ours, so the pointer may be anything). */
static const char *foreign_string(const void *desc, size_t offset, uint32_t struct_size, char *buf,
                                  size_t size)
{
    if (struct_size < offset + sizeof(const char *))
        return NULL;
    const char *s;
    memcpy(&s, (const char *)desc + offset, sizeof s);
    Dl_info d_desc, d_s;
    if (!s || !dladdr(desc, &d_desc) || !dladdr(s, &d_s) || d_desc.dli_fbase != d_s.dli_fbase)
        return NULL;
    size_t n = 0;
    while (n + 1 < size && s[n] && s[n] >= ' ' && s[n] < 127) {
        buf[n] = s[n];
        n++;
    }
    buf[n] = '\0';
    return n ? buf : NULL;
}

static int refuse_major(const char *path, const larch_plugin *desc, larch_error *err)
{
    char id[HOST_NAME_SIZE], version[HOST_NAME_SIZE];
    uint32_t size = desc->abi.struct_size;
    const char *pid = foreign_string(desc, offsetof(larch_plugin, id), size, id, sizeof id);
    const char *pver =
        foreign_string(desc, offsetof(larch_plugin, version), size, version, sizeof version);
    return larch_error_set(err, LARCH_EABI,
                           "%s: plugin '%s' %s was built for ABI %u.%u, this host speaks ABI "
                           "%d.%d (another major is never loaded; rebuild it against this SDK)",
                           path, pid ? pid : "?", pver ? pver : "(unknown version)",
                           desc->abi.abi_major, desc->abi.abi_minor, LARCH_ABI_MAJOR,
                           LARCH_ABI_MINOR);
}

static int check_string(const char *path, const char *what, const char *s, size_t max,
                        larch_error *err)
{
    if (!s || !*s)
        return larch_error_set(err, LARCH_EPLUGIN, "%s: descriptor field '%s' is %s", path, what,
                               s ? "empty" : "NULL");
    if (max && strlen(s) >= max)
        return larch_error_set(err, LARCH_EPLUGIN,
                               "%s: descriptor field '%s' is longer than %zu "
                               "bytes",
                               path, what, max - 1);
    return LARCH_OK;
}

static int check_strategy(const char *path, const larch_strategy_vtable *vt, larch_error *err)
{
    if (vt->struct_size < STRATEGY_VTABLE_SIZE_V1_0)
        return larch_error_set(err, LARCH_EABI,
                               "%s: strategy vtable: bad struct size %u (at least %zu expected)",
                               path, vt->struct_size, (size_t)STRATEGY_VTABLE_SIZE_V1_0);
    const struct {
        const char *name;
        int missing;
    } fns[] = {{"create", !vt->create}, {"ask", !vt->ask},   {"tell", !vt->tell},
               {"save", !vt->save},     {"load", !vt->load}, {"destroy", !vt->destroy}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (fns[i].missing)
            return larch_error_set(err, LARCH_EPLUGIN, "%s: strategy vtable: '%s' is NULL", path,
                                   fns[i].name);
    return LARCH_OK;
}

static int check_opset(const char *path, const larch_opset_vtable *vt, larch_error *err)
{
    if (vt->struct_size < OPSET_VTABLE_SIZE_V1_0)
        return larch_error_set(err, LARCH_EABI,
                               "%s: opset vtable: bad struct size %u (at least %zu expected)", path,
                               vt->struct_size, (size_t)OPSET_VTABLE_SIZE_V1_0);
    if (!vt->layer_new)
        return larch_error_set(err, LARCH_EPLUGIN, "%s: opset vtable: 'layer_new' is NULL", path);
    if (vt->n_ops < 1 || vt->n_ops > LARCH_MAX_OPS)
        return larch_error_set(err, LARCH_EPLUGIN, "%s: opset vtable: n_ops %u not in 1..%d", path,
                               vt->n_ops, LARCH_MAX_OPS);
    if (!vt->ops)
        return larch_error_set(err, LARCH_EPLUGIN, "%s: opset vtable: 'ops' is NULL", path);
    for (uint32_t i = 0; i < vt->n_ops; i++) {
        const char *name = vt->ops[i].name;
        if (!name || !*name || strlen(name) >= LARCH_LABEL_SIZE)
            return larch_error_set(err, LARCH_EPLUGIN,
                                   "%s: opset vtable: op %u has %s name (1..%d bytes expected)",
                                   path, i, name ? "a bad" : "a NULL", LARCH_LABEL_SIZE - 1);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(name, vt->ops[j].name))
                return larch_error_set(err, LARCH_EPLUGIN,
                                       "%s: opset vtable: op name '%s' is used twice", path, name);
    }
    return LARCH_OK;
}

/* Every check on a descriptor, in the order that makes each read safe: the header first (its
 * layout never changes), then the fields v1.0 defines. */
static int validate(const char *path, const larch_plugin *desc, larch_error *err)
{
    char mine[32], theirs[32];
    const larch_abi_header *abi = &desc->abi;
    if (abi->magic != LARCH_PLUGIN_MAGIC)
        return larch_error_set(err, LARCH_EABI, "%s: bad magic 0x%08x (0x%08x expected)", path,
                               abi->magic, LARCH_PLUGIN_MAGIC);
    if (abi->abi_major != LARCH_ABI_MAJOR)
        return refuse_major(path, desc, err);
    /* Structs grow by appending: any minor must cover v1.0, and the current minor must be exactly
     * the size this host was built with. A newer minor is accepted (its extra fields are not
     * read) when it is at least as large as ours. */
    int host_minor = LARCH_ABI_MINOR; /* a variable: with minor 0, "< 0" would be a warning */
    size_t want = abi->abi_minor < host_minor ? PLUGIN_SIZE_V1_0 : sizeof(larch_plugin);
    if (abi->struct_size < want ||
        (abi->abi_minor == LARCH_ABI_MINOR && abi->struct_size != sizeof(larch_plugin)))
        return larch_error_set(err, LARCH_EABI,
                               "%s: bad struct size %u for ABI %u.%u (%s%zu expected; this host "
                               "speaks ABI %d.%d)",
                               path, abi->struct_size, abi->abi_major, abi->abi_minor,
                               abi->abi_minor == LARCH_ABI_MINOR ? "" : "at least ", want,
                               LARCH_ABI_MAJOR, LARCH_ABI_MINOR);
    int rc = check_string(path, "id", desc->id, HOST_NAME_SIZE, err);
    if (rc != LARCH_OK)
        return rc;
    if (!host_config_is_id(desc->id))
        return larch_error_set(err, LARCH_EPLUGIN, "%s: plugin id '%s' is not [a-z0-9_-]+", path,
                               desc->id);
    if ((rc = check_string(path, "version", desc->version, HOST_NAME_SIZE, err)) ||
        (rc = check_string(path, "name", desc->name, 0, err)))
        return rc;
    if (abi->build_key != LARCH_BUILD_KEY)
        return larch_error_set(
            err, LARCH_EABI,
            "%s: plugin '%s' %s was built for %s tensors, this host uses %s "
            "(build key 0x%x, host 0x%x)",
            path, desc->id, desc->version, describe_key(abi->build_key, theirs, sizeof theirs),
            describe_key(LARCH_BUILD_KEY, mine, sizeof mine), abi->build_key, LARCH_BUILD_KEY);
    switch (desc->kind) {
    case LARCH_PLUGIN_STRATEGY:
        if (!desc->strategy || desc->opset)
            return larch_error_set(err, LARCH_EPLUGIN,
                                   "%s: strategy plugin '%s' must set the strategy vtable and "
                                   "only that",
                                   path, desc->id);
        return check_strategy(path, desc->strategy, err);
    case LARCH_PLUGIN_OPSET:
        if (!desc->opset || desc->strategy)
            return larch_error_set(err, LARCH_EPLUGIN,
                                   "%s: opset plugin '%s' must set the opset vtable and only that",
                                   path, desc->id);
        return check_opset(path, desc->opset, err);
    default:
        return larch_error_set(err, LARCH_EPLUGIN,
                               "%s: plugin '%s' has unknown kind %u (1 = strategy, 2 = opset)",
                               path, desc->id, desc->kind);
    }
}

/* Looks for an entry of another major, to say why a file has no v1 entry. */
static int other_major_entry(void *handle)
{
    for (int major = 2; major <= 9; major++) {
        if (major == LARCH_ABI_MAJOR)
            continue;
        char name[32];
        snprintf(name, sizeof name, "larch_plugin_entry_v%d", major);
        dlerror();
        if (dlsym(handle, name))
            return major;
    }
    return 0;
}

int host_plugin_load(const char *path, host_plugin *out, larch_error *err)
{
    if (!path || !out)
        return larch_error_set(err, LARCH_EINVAL, "plugin load: NULL argument");
    memset(out, 0, sizeof *out);
    if (strlen(path) >= sizeof out->path)
        return larch_error_set(err, LARCH_EINVAL, "%s: path too long", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return larch_error_set(err, LARCH_EIO, "%s: cannot open: %s", path, strerror(errno));

    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        /* dlerror's text lives in a buffer the next dl call overwrites: copy it now. */
        const char *why = dlerror();
        return larch_error_set(err, LARCH_EPLUGIN, "%s: not a loadable shared object: %s", path,
                               why ? why : "dlopen failed");
    }

    dlerror();
    void *sym = dlsym(handle, LARCH_ENTRY_SYMBOL);
    if (!sym) {
        int major = other_major_entry(handle);
        int rc = major ? larch_error_set(err, LARCH_EABI,
                                         "%s: exports larch_plugin_entry_v%d: built for ABI %d, "
                                         "this host speaks ABI %d.%d",
                                         path, major, major, LARCH_ABI_MAJOR, LARCH_ABI_MINOR)
                       : larch_error_set(err, LARCH_EPLUGIN,
                                         "%s: no entry symbol '%s' (not a larch plugin, or built "
                                         "for another ABI major)",
                                         path, LARCH_ENTRY_SYMBOL);
        dlclose(handle);
        return rc;
    }
    larch_plugin_entry_fn entry;
    _Static_assert(sizeof entry == sizeof sym, "function and data pointers differ in size");
    memcpy(&entry, &sym, sizeof entry);
    const larch_plugin *desc = entry();
    int rc = desc ? validate(path, desc, err)
                  : larch_error_set(err, LARCH_EPLUGIN, "%s: %s() returned NULL", path,
                                    LARCH_ENTRY_SYMBOL);
    if (rc != LARCH_OK) {
        dlclose(handle);
        return rc;
    }
    snprintf(out->path, sizeof out->path, "%s", path);
    out->handle = handle;
    out->desc = desc;
    out->kind = desc->kind;
    snprintf(out->id, sizeof out->id, "%s", desc->id);
    snprintf(out->version, sizeof out->version, "%s", desc->version);
    out->abi_major = desc->abi.abi_major;
    out->abi_minor = desc->abi.abi_minor;
    return LARCH_OK;
}

/* ---- registry ---- */

static int add_refusal(host_registry *reg, const char *path, const char *message)
{
    host_refusal *r = realloc(reg->refused, (reg->n_refused + 1) * sizeof *r);
    if (!r)
        return 0;
    reg->refused = r;
    r = &reg->refused[reg->n_refused++];
    snprintf(r->path, sizeof r->path, "%s", path);
    /* The reason without the "<path>: " every loader message starts with. */
    size_t n = strlen(path);
    if (!strncmp(message, path, n) && message[n] == ':' && message[n + 1] == ' ')
        message += n + 2;
    snprintf(r->reason, sizeof r->reason, "%s", message);
    return 1;
}

static int add_plugin(host_registry *reg, const host_plugin *p)
{
    host_plugin *ps = realloc(reg->plugins, (reg->n_plugins + 1) * sizeof *ps);
    if (!ps)
        return 0;
    reg->plugins = ps;
    reg->plugins[reg->n_plugins++] = *p;
    return 1;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && !strcmp(name + n - 3, ".so");
}

/* Loads one candidate file into reg (or its refusal). Only ENOMEM is returned as an error. */
static int consider(host_registry *reg, const char *path, larch_error *err)
{
    host_plugin p;
    larch_error why = {0};
    int rc = host_plugin_load(path, &p, &why);
    if (rc == LARCH_OK) {
        const host_plugin *first = NULL;
        for (size_t i = 0; i < reg->n_plugins && !first; i++)
            if (!strcmp(reg->plugins[i].id, p.id))
                first = &reg->plugins[i];
        if (first) {
            rc = larch_error_set(&why, LARCH_EPLUGIN,
                                 "duplicate id '%s' (version %s): already loaded from %s", p.id,
                                 p.version, first->path);
            dlclose(p.handle);
        } else if (!add_plugin(reg, &p)) {
            dlclose(p.handle);
            return larch_error_set(err, LARCH_ENOMEM, "out of memory registering %s", path);
        }
    }
    if (rc != LARCH_OK && !add_refusal(reg, path, why.message))
        return larch_error_set(err, LARCH_ENOMEM, "out of memory recording refusal of %s", path);
    return LARCH_OK;
}

static int scan_dir(host_registry *reg, const char *dir, larch_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return LARCH_OK;
        char why[LARCH_ERROR_MESSAGE_SIZE];
        snprintf(why, sizeof why, "cannot scan directory: %s", strerror(errno));
        return add_refusal(reg, dir, why)
                   ? LARCH_OK
                   : larch_error_set(err, LARCH_ENOMEM, "out of memory scanning %s", dir);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = LARCH_OK;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_so(e->d_name))
            continue;
        if (n == cap) {
            size_t new_cap = cap ? 2 * cap : 16;
            char **p = realloc(names, new_cap * sizeof *p);
            if (!p) {
                rc = larch_error_set(err, LARCH_ENOMEM, "out of memory scanning %s", dir);
                break;
            }
            names = p;
            cap = new_cap;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = larch_error_set(err, LARCH_ENOMEM, "out of memory scanning %s", dir);
            break;
        }
        n++;
    }
    closedir(d);
    /* Sorted, so which of two duplicates wins does not depend on the file system. */
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    size_t dir_len = strlen(dir);
    const char *sep = dir_len && dir[dir_len - 1] == '/' ? "" : "/";
    for (size_t i = 0; i < n && rc == LARCH_OK; i++) {
        char path[HOST_PATH_SIZE];
        struct stat st;
        if (snprintf(path, sizeof path, "%s%s%s", dir, sep, names[i]) >= (int)sizeof path)
            continue;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = consider(reg, path, err);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int host_registry_discover(host_registry *reg, const char *const *dirs, size_t n_dirs,
                           larch_error *err)
{
    if (!reg || (n_dirs && !dirs))
        return larch_error_set(err, LARCH_EINVAL, "plugin discovery: NULL argument");
    for (size_t i = 0; i < n_dirs; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        /* The same directory named twice (LARCH_PLUGIN_PATH = the build tree) is scanned once,
         * or every plugin in it would be refused as its own duplicate. */
        char real[PATH_MAX], other[PATH_MAX];
        int seen = 0;
        if (realpath(dirs[i], real))
            for (size_t j = 0; j < i && !seen; j++)
                seen = dirs[j] && realpath(dirs[j], other) && !strcmp(real, other);
        if (seen)
            continue;
        int rc = scan_dir(reg, dirs[i], err);
        if (rc != LARCH_OK)
            return rc;
    }
    return LARCH_OK;
}

/* Appends the ':'-separated parts of list to dirs, skipping empty parts and repeats. */
static size_t add_dirs(const char *list, char **dirs, size_t n, size_t max)
{
    if (!list)
        return n;
    for (const char *p = list; *p && n < max;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        int repeat = len == 0;
        for (size_t i = 0; i < n && !repeat; i++)
            repeat = strlen(dirs[i]) == len && !strncmp(dirs[i], p, len);
        if (!repeat) {
            char *d = strndup(p, len);
            if (d)
                dirs[n++] = d;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    return n;
}

size_t host_plugin_dirs(const char *extra, char **dirs, size_t max)
{
    if (!dirs)
        return 0;
    size_t n = add_dirs(extra, dirs, 0, max);
    n = add_dirs(getenv("LARCH_PLUGIN_PATH"), dirs, n, max);
    n = add_dirs(LARCH_PLUGIN_BUILD_DIR, dirs, n, max);
    n = add_dirs(LARCH_PLUGIN_INSTALL_DIR, dirs, n, max);
    return n;
}

void host_plugin_dirs_free(char **dirs, size_t n)
{
    for (size_t i = 0; dirs && i < n; i++)
        free(dirs[i]);
}

const host_plugin *host_registry_find(const host_registry *reg, uint32_t kind, const char *id)
{
    for (size_t i = 0; reg && id && i < reg->n_plugins; i++)
        if (reg->plugins[i].kind == kind && !strcmp(reg->plugins[i].id, id))
            return &reg->plugins[i];
    return NULL;
}

void host_registry_release(host_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_plugins; i++)
        if (reg->plugins[i].handle)
            dlclose(reg->plugins[i].handle);
    free(reg->plugins);
    free(reg->refused);
    memset(reg, 0, sizeof *reg);
}
