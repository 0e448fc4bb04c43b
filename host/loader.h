/* Plugin discovery and loading: dlopen, validate the ABI header and every pointer, refuse with
 * a reason. Plugins are never dlclose'd during a run.
 *
 * ABI policy (sdk/include/larch/abi.h states the plugin author's side):
 * - another major is refused, whatever else the descriptor says;
 * - an older minor is accepted when its struct_size covers at least the v1.0 fields;
 * - the host's own minor must have exactly sizeof(larch_plugin);
 * - a newer minor is accepted when struct_size >= sizeof(larch_plugin): its appended fields
 *   are simply not read (a plugin that needs a newer host checks host->struct_size itself);
 * - vtables follow the same rule through their own struct_size (at least the v1.0 size). */
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
    char path[HOST_PATH_SIZE];             /* the file (or a directory that could not be read) */
    char reason[LARCH_ERROR_MESSAGE_SIZE]; /* why, without the leading "<path>: " */
} host_refusal;

/* Zero-initialise before the first discover; release with host_registry_release. Ids are unique
 * across kinds within a registry. */
typedef struct host_registry {
    host_plugin *plugins;
    size_t n_plugins;
    host_refusal *refused;
    size_t n_refused;
} host_registry;

/* Loads one file and validates it: a shared object, the entry symbol, magic, ABI major (the
 * host's), minor, struct sizes, build key, kind, id/name/version strings, every function
 * pointer of the vtable (and, for an op set, n_ops in 1..LARCH_MAX_OPS with distinct names).
 * On success fills out (its handle stays open until host_registry_release or dlclose). On
 * refusal the file is dlclose'd and the status is, with a message that starts "<path>: " and
 * names the plugin's version and the host's where they matter:
 *   LARCH_EIO     the file does not exist or cannot be stat'ed;
 *   LARCH_EPLUGIN dlopen failed (dlerror's text: not ELF, missing library), no entry symbol,
 *                 entry returned NULL, bad kind / id / name / version, NULL vtable pointer
 *                 ("strategy vtable: 'save' is NULL");
 *   LARCH_EABI    bad magic, another major, bad struct size, another build key
 *                 ("built for f64/NCHW tensors, this host uses f32/NCHW"). */
int host_plugin_load(const char *path, host_plugin *out, larch_error *err);

/* Scans each directory (non-recursive) for *.so files, in name order, and loads them. A
 * directory that does not exist is skipped, one that cannot be read is recorded as refused, one
 * named twice (same real path) is scanned once. A plugin whose id is already loaded (from an
 * earlier directory or file) is refused: "duplicate id 'x' (version v): already loaded from P".
 * May be called again to add directories. Only an allocation failure is an error (LARCH_ENOMEM);
 * refusals are recorded in reg->refused. */
int host_registry_discover(host_registry *reg, const char *const *dirs, size_t n_dirs,
                           larch_error *err);

/* The directories searched, in order: extra (':'-separated, may be NULL), LARCH_PLUGIN_PATH
 * (':'-separated), the build tree's plugin directory, the install directory; empty parts and
 * repeats are dropped. Returns how many were written (at most max); strings are malloc'd, free
 * with host_plugin_dirs_free. A directory whose copy cannot be allocated is left out. */
size_t host_plugin_dirs(const char *extra, char **dirs, size_t max);
void host_plugin_dirs_free(char **dirs, size_t n);

/* The loaded plugin of that kind and id, or NULL (also when the id is loaded with another
 * kind). The pointer is valid until the registry changes or is released. */
const host_plugin *host_registry_find(const host_registry *reg, uint32_t kind, const char *id);

void host_registry_release(host_registry *reg);

#endif
