/* The byte buffer strategies serialise into and the reader they restore from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "larch/strategy.h"

/* Whether the host lends both alloc and free; a host without them gets calloc/free, which
 * is what such a host frees with. */
static int host_allocates(const larch_host *host)
{
    return host != NULL && host->struct_size >= offsetof(larch_host, free) + sizeof host->free &&
           host->alloc != NULL && host->free != NULL;
}

static void *buf_alloc(const larch_host *host, size_t size)
{
    return host_allocates(host) ? host->alloc(host->ctx, size) : calloc(1, size);
}

static void buf_free(const larch_host *host, void *ptr)
{
    if (host_allocates(host))
        host->free(host->ctx, ptr);
    else
        free(ptr);
}

void larch_buf_init(larch_buf *buf, const larch_host *host)
{
    if (buf == NULL)
        return;
    buf->host = host;
    buf->data = NULL;
    buf->size = 0;
    buf->capacity = 0;
    buf->failed = 0;
}

void larch_buf_put(larch_buf *buf, const void *bytes, size_t size)
{
    if (buf == NULL || buf->failed || size == 0)
        return;
    if (bytes == NULL || size > SIZE_MAX - buf->size) {
        buf->failed = 1;
        return;
    }
    size_t need = buf->size + size;
    if (need > buf->capacity) {
        size_t capacity = buf->capacity < 256 ? 256 : buf->capacity;
        while (capacity < need)
            capacity = capacity > SIZE_MAX / 2 ? need : capacity * 2;
        uint8_t *data = buf_alloc(buf->host, capacity);
        if (data == NULL) {
            buf->failed = 1;
            return;
        }
        if (buf->size > 0)
            memcpy(data, buf->data, buf->size);
        buf_free(buf->host, buf->data);
        buf->data = data;
        buf->capacity = capacity;
    }
    memcpy(buf->data + buf->size, bytes, size);
    buf->size = need;
}

int larch_buf_finish(larch_buf *buf, void **bytes, size_t *size, larch_error *err)
{
    if (buf == NULL || bytes == NULL || size == NULL) {
        if (buf != NULL) {
            buf_free(buf->host, buf->data);
            larch_buf_init(buf, buf->host);
        }
        return larch_error_set(err, LARCH_EINVAL, "save: buffer or out-parameter is NULL");
    }
    if (buf->failed) {
        size_t had = buf->size;
        buf_free(buf->host, buf->data);
        larch_buf_init(buf, buf->host);
        return larch_error_set(err, LARCH_ENOMEM,
                               "save: out of memory growing the state buffer past %zu bytes", had);
    }
    *bytes = buf->data;
    *size = buf->size;
    /* Ownership has passed to the caller; the buffer is empty again. */
    larch_buf_init(buf, buf->host);
    return LARCH_OK;
}

void larch_reader_init(larch_reader *reader, const void *bytes, size_t size)
{
    if (reader == NULL)
        return;
    reader->data = bytes;
    reader->size = bytes == NULL ? 0 : size;
    reader->offset = 0;
}

int larch_reader_get(larch_reader *reader, void *out, size_t size, larch_error *err)
{
    if (reader == NULL || (out == NULL && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "load: reader or output is NULL");
    if (reader->offset > reader->size || size > reader->size - reader->offset)
        return larch_error_set(err, LARCH_EFORMAT,
                               "checkpoint is truncated: needed %zu bytes at offset %zu, only "
                               "%zu left",
                               size, reader->offset,
                               reader->offset > reader->size ? (size_t)0
                                                             : reader->size - reader->offset);
    if (size > 0)
        memcpy(out, reader->data + reader->offset, size);
    reader->offset += size;
    return LARCH_OK;
}
