/* Plugin discovery and loading: dlopen, validate the ABI header and every pointer, refuse with
 * a reason. Plugins are never dlclose'd during a run. */
#ifndef HOST_LOADER_H
#define HOST_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <larch/abi.h>
#include <larch/status.h>

#include "config.h"

typedef struct host_plugin {
    char path[HOST_PATH_SIZE];
    void *handle;
    const larch_plugin *desc; /* validated; fields beyond abi.struct_size are not read */
    uint32_t kind;
    char id[HOST_NAME_SIZE];
    char version[HOST_NAME_SIZE];
    uint16_t abi_major, abi_minor;
} host_plugin;

typedef struct host_refusal {
    char path[HOST_PATH_SIZE];
    char reason[LARCH_ERROR_MESSAGE_SIZE];
} host_refusal;

typedef struct host_registry {
    host_plugin *plugins;
    size_t n_plugins;
    host_refusal *refused;
    size_t n_refused;
} host_registry;

/* Loads one file and validates it: a shared object, the entry symbol, magic, ABI major (the
 * host's), minor, struct sizes, build key, kind, id/name/version strings, every function
 * pointer of the vtable. On refusal returns LARCH_EABI/LARCH_EPLUGIN/LARCH_EIO with a message
 * naming the file, the plugin's version and the host's; the file is then dlclose'd. */
int host_plugin_load(const char *path, host_plugin *out, larch_error *err);

/* Scans each directory (non-recursive) for *.so files and loads them. A directory that does
 * not exist is skipped. A second plugin with an id already loaded is refused ("duplicate").
 * Only an allocation failure is an error; refusals are recorded in reg->refused. */
int host_registry_discover(host_registry *reg, const char *const *dirs, size_t n_dirs,
                           larch_error *err);

/* The directories searched, in order: extra (':'-separated, may be NULL), LARCH_PLUGIN_PATH,
 * the build tree's plugin directory, the install directory. Returns how many were written
 * (at most max); strings are malloc'd, free with host_plugin_dirs_free. */
size_t host_plugin_dirs(const char *extra, char **dirs, size_t max);
void host_plugin_dirs_free(char **dirs, size_t n);

/* The loaded plugin of that kind and id, or NULL. */
const host_plugin *host_registry_find(const host_registry *reg, uint32_t kind, const char *id);

void host_registry_release(host_registry *reg);

#endif
