/* Status codes and the caller-owned error struct shared by the SDK, the host and plugins. */
#ifndef LARCH_STATUS_H
#define LARCH_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* 0 is success; errors are negative. Strategy ask() also returns the positive LARCH_ASK_*. */
typedef enum larch_status {
    LARCH_OK = 0,
    LARCH_EINVAL = -1,    /* an argument or value is not what was expected */
    LARCH_ENOMEM = -2,    /* an allocation failed */
    LARCH_EIO = -3,       /* a file could not be opened, read or written */
    LARCH_EFORMAT = -4,   /* a file or buffer is malformed or truncated */
    LARCH_ETYPE = -5,     /* a config value has the wrong type */
    LARCH_ERANGE = -6,    /* a value is out of its allowed range */
    LARCH_ENOTFOUND = -7, /* a named thing (key, plugin, op) does not exist */
    LARCH_EABI = -8,      /* a plugin's ABI does not match the host's */
    LARCH_EPLUGIN = -9,   /* a plugin misbehaved or refused */
    LARCH_EINTERNAL = -10 /* a bug: an invariant did not hold */
} larch_status;

#define LARCH_ERROR_MESSAGE_SIZE 512

/* Filled by a failing call; the caller owns it (usually on its stack). `status` repeats the
 * return code; `message` is a NUL-terminated human sentence naming the file, key or value and
 * what was expected. A successful call leaves it untouched. */
typedef struct larch_error {
    int status;
    char message[LARCH_ERROR_MESSAGE_SIZE];
} larch_error;

/* Sets err (if not NULL) to status and a printf-style message; returns status so callers can
 * write `return larch_error_set(err, LARCH_EINVAL, "...")`. */
int larch_error_set(larch_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err->message with a printf-style context ("config.cfg: "); returns err->status. */
int larch_error_prefix(larch_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A static, never-NULL name for a status code ("EINVAL", "OK", "unknown"). */
const char *larch_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
