/* Services the host lends a plugin: logging, its own config group, allocation. */
#ifndef LARCH_HOST_H
#define LARCH_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum larch_log_level {
    LARCH_LOG_ERROR = 0,
    LARCH_LOG_WARN = 1,
    LARCH_LOG_INFO = 2,
    LARCH_LOG_DEBUG = 3
} larch_log_level;

/* Passed to create(); valid until the plugin's destroy() returns. Any thread may call it, one
 * at a time per ctx. Keys are relative to the plugin's own config group (for a strategy with
 * id "random", key "no_repeat" reads `strategies.random.no_repeat`).
 *
 * Getters: a missing key yields `def` and LARCH_OK; a key of another type returns LARCH_ETYPE,
 * a value outside the type's range LARCH_ERANGE, each with a message naming the config file,
 * line and expected type in err. Strings returned by get_string are owned by the host and stay
 * valid until destroy(). alloc() returns zeroed memory or NULL; free() accepts NULL. */
typedef struct larch_host {
    uint32_t struct_size; /* sizeof(larch_host) as the host was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx;
    void (*log)(void *ctx, int level, const char *message);
    int (*get_int)(void *ctx, const char *key, int64_t def, int64_t *out, larch_error *err);
    int (*get_float)(void *ctx, const char *key, double def, double *out, larch_error *err);
    int (*get_bool)(void *ctx, const char *key, int def, int *out, larch_error *err);
    int (*get_string)(void *ctx, const char *key, const char *def, const char **out,
                      larch_error *err);
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
} larch_host;

/* 1 if host is not NULL, its struct as the host was built covers `field`, and the field is set:
 * a plugin asks this before calling a service that a later minor added. */
#define LARCH_HOST_HAS(host, field)                                                                \
    ((host) != NULL &&                                                                             \
     (host)->struct_size >= offsetof(larch_host, field) + sizeof((host)->field) &&                 \
     (host)->field != NULL)

/* printf-style convenience over host->log; silently truncates past 1 KiB. */
void larch_log(const larch_host *host, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* count * size zeroed bytes (at least one, so a zero-size request is not mistaken for a failure)
 * from host->alloc, or from calloc when the host lends no alloc/free. Free it with larch_free
 * and the same host. NULL when count * size overflows or the allocation fails. */
void *larch_alloc(const larch_host *host, size_t count, size_t size);
/* Frees what larch_alloc returned for this host; ptr may be NULL. */
void larch_free(const larch_host *host, void *ptr);

#ifdef __cplusplus
}
#endif
#endif
