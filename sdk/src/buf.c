/* The byte buffer strategies serialise into and the reader they restore from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "larch/rng.h"
#include "larch/space.h"
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

void larch_buf_put_u32(larch_buf *buf, uint32_t value)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(value >> (8 * i));
    larch_buf_put(buf, b, sizeof b);
}

void larch_buf_put_u64(larch_buf *buf, uint64_t value)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(value >> (8 * i));
    larch_buf_put(buf, b, sizeof b);
}

void larch_buf_put_f64(larch_buf *buf, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    larch_buf_put_u64(buf, bits);
}

void larch_buf_put_rng(larch_buf *buf, const larch_rng *rng)
{
    for (int i = 0; i < 4; i++)
        larch_buf_put_u64(buf, rng->s[i]);
}

int larch_reader_get_u32(larch_reader *reader, uint32_t *value, larch_error *err)
{
    uint8_t b[4];
    int rc = larch_reader_get(reader, b, sizeof b, err);
    if (rc != LARCH_OK)
        return rc;
    *value = 0;
    for (int i = 0; i < 4; i++)
        *value |= (uint32_t)b[i] << (8 * i);
    return LARCH_OK;
}

int larch_reader_get_u64(larch_reader *reader, uint64_t *value, larch_error *err)
{
    uint8_t b[8];
    int rc = larch_reader_get(reader, b, sizeof b, err);
    if (rc != LARCH_OK)
        return rc;
    *value = 0;
    for (int i = 0; i < 8; i++)
        *value |= (uint64_t)b[i] << (8 * i);
    return LARCH_OK;
}

int larch_reader_get_f64(larch_reader *reader, double *value, larch_error *err)
{
    uint64_t bits;
    int rc = larch_reader_get_u64(reader, &bits, err);
    if (rc == LARCH_OK)
        memcpy(value, &bits, sizeof bits);
    return rc;
}

int larch_reader_get_rng(larch_reader *reader, larch_rng *rng, larch_error *err)
{
    for (int i = 0; i < 4; i++) {
        int rc = larch_reader_get_u64(reader, &rng->s[i], err);
        if (rc != LARCH_OK)
            return rc;
    }
    return LARCH_OK;
}

void larch_buf_put_header(larch_buf *buf, uint32_t magic, uint32_t version,
                          const larch_space *space)
{
    larch_buf_put_u32(buf, magic);
    larch_buf_put_u32(buf, version);
    larch_buf_put_u32(buf, space->n_decisions);
    for (uint32_t d = 0; d < space->n_decisions; d++)
        larch_buf_put_u32(buf, space->decisions[d].n_choices);
}

int larch_reader_check_header(larch_reader *reader, const char *who, uint32_t magic,
                              uint32_t version, const larch_space *space, larch_error *err)
{
    uint32_t got_magic, got_version, n_decisions;
    int rc;
    if ((rc = larch_reader_get_u32(reader, &got_magic, err)) != LARCH_OK ||
        (rc = larch_reader_get_u32(reader, &got_version, err)) != LARCH_OK)
        return larch_error_set(err, rc, "%s: checkpoint is truncated in its header", who);
    if (got_magic != magic)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%s: not this strategy's checkpoint (magic 0x%08x, expected 0x%08x)",
                               who, got_magic, magic);
    if (got_version != version)
        return larch_error_set(err, LARCH_EFORMAT, "%s: checkpoint version %u, expected %u", who,
                               got_version, version);
    if ((rc = larch_reader_get_u32(reader, &n_decisions, err)) != LARCH_OK)
        return larch_error_set(err, rc, "%s: checkpoint is truncated in its header", who);
    if (n_decisions != space->n_decisions)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: checkpoint has %u decisions, the space has %u", who,
                               n_decisions, space->n_decisions);
    for (uint32_t d = 0; d < n_decisions; d++) {
        uint32_t n;
        if ((rc = larch_reader_get_u32(reader, &n, err)) != LARCH_OK)
            return larch_error_set(err, rc, "%s: checkpoint is truncated in its header", who);
        if (n != space->decisions[d].n_choices)
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: checkpoint decision %u has %u choices, the space has %u",
                                   who, d, n, space->decisions[d].n_choices);
    }
    return LARCH_OK;
}
