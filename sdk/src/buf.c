/* The byte buffer strategies serialise into and the reader they restore from. */
#include <stdint.h>
#include <string.h>

#include "larch/host.h"
#include "larch/rng.h"
#include "larch/space.h"
#include "larch/strategy.h"

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
        uint8_t *data = larch_alloc(buf->host, 1, capacity);
        if (data == NULL) {
            buf->failed = 1;
            return;
        }
        if (buf->size > 0)
            memcpy(data, buf->data, buf->size);
        larch_free(buf->host, buf->data);
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
            larch_free(buf->host, buf->data);
            larch_buf_init(buf, buf->host);
        }
        return larch_error_set(err, LARCH_EINVAL, "save: buffer or out-parameter is NULL");
    }
    if (buf->failed) {
        size_t had = buf->size;
        larch_free(buf->host, buf->data);
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
    /* Seeding never yields the generator's fixed point, so only corruption does. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        return larch_error_set(err, LARCH_EFORMAT, "the RNG state is all zero");
    return LARCH_OK;
}

void larch_buf_put_arch(larch_buf *buf, const larch_space *space, const larch_arch *arch)
{
    larch_buf_put(buf, arch->choice, space->n_decisions);
}

int larch_reader_get_arch(larch_reader *reader, const larch_space *space, larch_arch *arch,
                          larch_error *err)
{
    memset(arch, 0, sizeof *arch);
    arch->n = space->n_decisions;
    int rc = larch_reader_get(reader, arch->choice, arch->n, err);
    if (rc != LARCH_OK)
        return rc;
    larch_error why = {0};
    if (larch_arch_validate(space, arch, &why) != LARCH_OK)
        return larch_error_set(err, LARCH_EFORMAT, "an architecture is out of the space (%s)",
                               why.message);
    return LARCH_OK;
}

int larch_reader_expect_end(const larch_reader *reader, larch_error *err)
{
    if (reader->offset != reader->size)
        return larch_error_set(err, LARCH_EFORMAT, "%zu trailing bytes after the state",
                               reader->size - reader->offset);
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
