/* Allocation through the host's services, for plugins and the SDK's own containers. */
#include <stdint.h>
#include <stdlib.h>

#include "larch/host.h"

/* A host without alloc/free gets calloc/free, which is what such a host frees with. */
static int host_allocates(const larch_host *host)
{
    return LARCH_HOST_HAS(host, alloc) && LARCH_HOST_HAS(host, free);
}

void *larch_alloc(const larch_host *host, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t bytes = count * size == 0 ? 1 : count * size;
    return host_allocates(host) ? host->alloc(host->ctx, bytes) : calloc(1, bytes);
}

void larch_free(const larch_host *host, void *ptr)
{
    if (host_allocates(host))
        host->free(host->ctx, ptr);
    else
        free(ptr);
}
