/* Status names, the caller-owned error struct, and printf-style logging through the host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "larch/host.h"
#include "larch/status.h"

int larch_error_set(larch_error *err, int status, const char *fmt, ...)
{
    if (err == NULL)
        return status;
    err->status = status;
    err->message[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* With err NULL there is no status to return; LARCH_EINVAL says the call itself was wrong. */
int larch_error_prefix(larch_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return LARCH_EINVAL;
    if (fmt == NULL)
        return err->status;

    char old[LARCH_ERROR_MESSAGE_SIZE];
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n < 0) {
        /* A broken format: keep the original message rather than lose it. */
        memcpy(err->message, old, sizeof old);
        return err->status;
    }
    size_t used = strlen(err->message);
    if (used < sizeof err->message - 1)
        snprintf(err->message + used, sizeof err->message - used, "%s", old);
    return err->status;
}

const char *larch_status_name(int status)
{
    switch (status) {
    case LARCH_OK:
        return "OK";
    case LARCH_EINVAL:
        return "EINVAL";
    case LARCH_ENOMEM:
        return "ENOMEM";
    case LARCH_EIO:
        return "EIO";
    case LARCH_EFORMAT:
        return "EFORMAT";
    case LARCH_ETYPE:
        return "ETYPE";
    case LARCH_ERANGE:
        return "ERANGE";
    case LARCH_ENOTFOUND:
        return "ENOTFOUND";
    case LARCH_EABI:
        return "EABI";
    case LARCH_EPLUGIN:
        return "EPLUGIN";
    case LARCH_EINTERNAL:
        return "EINTERNAL";
    default:
        return "unknown";
    }
}

void larch_log(const larch_host *host, int level, const char *fmt, ...)
{
    /* An older host may predate the log field; its struct_size says what it has. */
    if (host == NULL || fmt == NULL ||
        host->struct_size < offsetof(larch_host, log) + sizeof host->log || host->log == NULL)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    host->log(host->ctx, level, message);
}
