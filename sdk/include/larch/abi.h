/* The versioned plugin ABI: the header every descriptor begins with and the entry symbol. */
#ifndef LARCH_ABI_H
#define LARCH_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Major: bumped on any change of layout or meaning; the host refuses another major.
 * Minor: bumped when a struct grows by appending; the host accepts older minors and reads only
 * the fields their struct_size covers. */
#define LARCH_ABI_MAJOR 1
#define LARCH_ABI_MINOR 0

#define LARCH_PLUGIN_MAGIC 0x4843524cu /* "LRCH" little-endian */

/* The build key pins what plugin and host must agree on beyond the struct layout: the float
 * type of tensors and their memory layout. */
#define LARCH_LAYOUT_NCHW 1u
#define LARCH_MAKE_BUILD_KEY(float_bits, layout)                                                   \
    (((uint32_t)(float_bits) << 8) | (uint32_t)(layout))
#define LARCH_BUILD_KEY LARCH_MAKE_BUILD_KEY(32, LARCH_LAYOUT_NCHW)

/* Token-pasted so a plugin built for another major has another symbol name altogether. */
#define LARCH_ENTRY_SYMBOL "larch_plugin_entry_v1"

typedef enum larch_plugin_kind {
    LARCH_PLUGIN_STRATEGY = 1,
    LARCH_PLUGIN_OPSET = 2
} larch_plugin_kind;

typedef struct larch_abi_header {
    uint32_t magic;       /* LARCH_PLUGIN_MAGIC */
    uint16_t abi_major;   /* LARCH_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;   /* LARCH_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* sizeof(larch_plugin) as the plugin was built */
    uint32_t build_key;   /* LARCH_BUILD_KEY the plugin was built with */
} larch_abi_header;

/* Fills a header with this SDK's version; use it in a descriptor's initialiser. */
#define LARCH_ABI_HEADER_INIT                                                                      \
    {                                                                                              \
        LARCH_PLUGIN_MAGIC, LARCH_ABI_MAJOR, LARCH_ABI_MINOR, (uint32_t)sizeof(larch_plugin),      \
            LARCH_BUILD_KEY                                                                        \
    }

struct larch_strategy_vtable;
struct larch_opset_vtable;

/* The descriptor a plugin's entry returns. It must stay valid while the plugin is loaded
 * (make it a `static const`). Exactly one of `strategy` and `opset` is set, as `kind` says. */
typedef struct larch_plugin {
    larch_abi_header abi;
    uint32_t kind;           /* larch_plugin_kind */
    uint32_t reserved;       /* 0 */
    const char *id;          /* unique short id used in configs: [a-z0-9_-]+, e.g. "random" */
    const char *name;        /* human name */
    const char *version;     /* the plugin's own version, e.g. "1.0.0" */
    const char *description; /* one line */
    const struct larch_strategy_vtable *strategy;
    const struct larch_opset_vtable *opset;
} larch_plugin;

/* Every plugin exports exactly this function (and nothing else). It must not fail or have side
 * effects; it is called once after dlopen. */
typedef const larch_plugin *(*larch_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define LARCH_EXPORT __attribute__((visibility("default")))
#else
#define LARCH_EXPORT
#endif

/* The entry point every plugin defines, declared here so plugins build with
 * -Wmissing-prototypes. Define it with:
 *   LARCH_PLUGIN_ENTRY { return &my_descriptor; } */
LARCH_EXPORT const larch_plugin *larch_plugin_entry_v1(void);
#define LARCH_PLUGIN_ENTRY LARCH_EXPORT const larch_plugin *larch_plugin_entry_v1(void)

#ifdef __cplusplus
}
#endif
#endif
