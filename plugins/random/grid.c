/* Strategy "grid": proposes every architecture of the space exactly once, in mixed-radix order
 * or (shuffle = true) in a seeded pseudo-random order, then returns LARCH_ASK_DONE.
 *
 * The shuffled order is a 4-round Feistel permutation over the smallest even-bit power of two
 * covering the space, restricted to [0, N) by cycle walking: every index exactly once with O(1)
 * memory, and at most 4 Feistel evaluations per proposal on average. */
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

#define STATE_MAGIC 0x53445247u /* "GRDS" little-endian */
#define STATE_VERSION 1u
#define FEISTEL_ROUNDS 4

typedef struct grid_strategy {
    const larch_host *host;
    larch_space space;
    int shuffle;
    uint64_t total; /* architectures in the space */
    uint64_t next;  /* position in the visiting order of the next proposal */
    uint64_t n_told;
    uint32_t half_bits; /* each Feistel half; the permuted domain is 2^(2 * half_bits) */
    uint64_t keys[FEISTEL_ROUNDS];
} grid_strategy;

/* Smallest h >= 1 with 2^(2h) >= total. */
static uint32_t half_bits_for(uint64_t total)
{
    uint32_t bits = 0;
    for (uint64_t v = total - 1; v != 0; v >>= 1)
        bits++;
    uint32_t half = (bits + 1) / 2;
    return half == 0 ? 1 : half;
}

/* A bijection of [0, 2^(2 * half_bits)): balanced Feistel rounds permute whatever the round
 * function is. */
static uint64_t feistel(const grid_strategy *g, uint64_t x)
{
    uint32_t h = g->half_bits;
    uint64_t mask = (UINT64_C(1) << h) - 1;
    uint64_t left = (x >> h) & mask;
    uint64_t right = x & mask;
    for (int i = 0; i < FEISTEL_ROUNDS; i++) {
        uint64_t t = left ^ (larch_mix64(right ^ g->keys[i]) & mask);
        left = right;
        right = t;
    }
    return (left << h) | right;
}

/* Cycle walking: the permutation's cycle through position (< total) returns below total. */
static uint64_t permute(const grid_strategy *g, uint64_t position)
{
    uint64_t x = feistel(g, position);
    while (x >= g->total)
        x = feistel(g, x);
    return x;
}

static int grid_create(const larch_host *host, const larch_space *space, uint64_t seed, void **self,
                       larch_error *err)
{
    if (host == NULL || space == NULL || self == NULL)
        return larch_error_set(err, LARCH_EINVAL, "grid: create got a NULL host, space or self");
    int rc = larch_space_validate(space, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "grid: ");
    uint64_t total;
    if (larch_space_count(space, &total) != LARCH_OK)
        return larch_error_set(err, LARCH_ERANGE,
                               "grid: space \"%.*s\" has %.6g architectures, more than a grid "
                               "can enumerate (2^64)",
                               LARCH_LABEL_SIZE, space->name, larch_space_size(space));

    int shuffle;
    rc = larch_param_bool(host, "shuffle", 0, &shuffle, err);
    if (rc != LARCH_OK)
        return rc;

    grid_strategy *g = larch_alloc(host, 1, sizeof *g);
    if (g == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "grid: out of memory for the state");
    g->host = host;
    larch_space_copy(&g->space, space);
    g->shuffle = shuffle;
    g->total = total;
    g->half_bits = half_bits_for(total);
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    for (int i = 0; i < FEISTEL_ROUNDS; i++)
        g->keys[i] = larch_rng_next(&rng);
    larch_log(host, LARCH_LOG_DEBUG, "grid: %llu architectures, shuffle=%d",
              (unsigned long long)total, g->shuffle);
    *self = g;
    return LARCH_OK;
}

static int grid_ask(void *self, larch_arch *arch, larch_error *err)
{
    grid_strategy *g = self;
    if (g == NULL || arch == NULL)
        return larch_error_set(err, LARCH_EINVAL, "grid: ask got a NULL self or arch");
    if (g->next >= g->total)
        return LARCH_ASK_DONE;
    uint64_t index = g->shuffle ? permute(g, g->next) : g->next;
    if (larch_arch_from_index(&g->space, index, arch) != LARCH_OK)
        return larch_error_set(err, LARCH_EINTERNAL, "grid: index %llu of %llu is out of range",
                               (unsigned long long)index, (unsigned long long)g->total);
    g->next++;
    return LARCH_ASK_OK;
}

static int grid_tell(void *self, const larch_arch *arch, const larch_result *result,
                     larch_error *err)
{
    grid_strategy *g = self;
    if (g == NULL || arch == NULL || result == NULL)
        return larch_error_set(err, LARCH_EINVAL, "grid: tell got a NULL self, arch or result");
    if (larch_arch_validate(&g->space, arch, err) != LARCH_OK)
        return larch_error_prefix(err, "grid: tell: ");
    g->n_told++;
    return LARCH_OK;
}

/* Layout (little-endian): magic, version, n_decisions, n_choices[n_decisions], shuffle,
 * half_bits, keys[4], total, next, n_told. */
static int grid_save(void *self, void **bytes, size_t *size, larch_error *err)
{
    grid_strategy *g = self;
    if (g == NULL || bytes == NULL || size == NULL)
        return larch_error_set(err, LARCH_EINVAL, "grid: save got a NULL argument");
    larch_buf buf;
    larch_buf_init(&buf, g->host);
    larch_buf_put_header(&buf, STATE_MAGIC, STATE_VERSION, &g->space);
    larch_buf_put_u32(&buf, (uint32_t)g->shuffle);
    larch_buf_put_u32(&buf, g->half_bits);
    for (int i = 0; i < FEISTEL_ROUNDS; i++)
        larch_buf_put_u64(&buf, g->keys[i]);
    larch_buf_put_u64(&buf, g->total);
    larch_buf_put_u64(&buf, g->next);
    larch_buf_put_u64(&buf, g->n_told);
    int rc = larch_buf_finish(&buf, bytes, size, err);
    return rc == LARCH_OK ? rc : larch_error_prefix(err, "grid: ");
}

static int grid_load(void *self, const void *bytes, size_t size, larch_error *err)
{
    grid_strategy *g = self;
    if (g == NULL || (bytes == NULL && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "grid: load got a NULL argument");
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    uint32_t shuffle, half_bits;
    int rc;
    if ((rc = larch_reader_check_header(&r, "grid: load", STATE_MAGIC, STATE_VERSION, &g->space,
                                        err)) != LARCH_OK)
        return rc;
    if ((rc = larch_reader_get_u32(&r, &shuffle, err)) != LARCH_OK ||
        (rc = larch_reader_get_u32(&r, &half_bits, err)) != LARCH_OK)
        return larch_error_prefix(err, "grid: load: ");
    if (shuffle > 1 || (int)shuffle != g->shuffle)
        return larch_error_set(err, LARCH_EINVAL,
                               "grid: load: checkpoint has shuffle=%u, this instance %d", shuffle,
                               g->shuffle);
    uint64_t keys[FEISTEL_ROUNDS], total, next, n_told;
    for (int i = 0; i < FEISTEL_ROUNDS; i++)
        if ((rc = larch_reader_get_u64(&r, &keys[i], err)) != LARCH_OK)
            return larch_error_prefix(err, "grid: load: ");
    if ((rc = larch_reader_get_u64(&r, &total, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(&r, &next, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(&r, &n_told, err)) != LARCH_OK)
        return larch_error_prefix(err, "grid: load: ");
    if (total != g->total || half_bits != g->half_bits || next > total)
        return larch_error_set(err, LARCH_EFORMAT,
                               "grid: load: inconsistent checkpoint (total %llu, next %llu, half "
                               "bits %u; expected total %llu, half bits %u)",
                               (unsigned long long)total, (unsigned long long)next, half_bits,
                               (unsigned long long)g->total, g->half_bits);
    if (larch_reader_expect_end(&r, err) != LARCH_OK)
        return larch_error_prefix(err, "grid: load: ");
    memcpy(g->keys, keys, sizeof keys);
    g->next = next;
    g->n_told = n_told;
    return LARCH_OK;
}

static void grid_destroy(void *self)
{
    grid_strategy *g = self;
    if (g != NULL)
        larch_free(g->host, g);
}

static const larch_strategy_vtable vtable = {sizeof(larch_strategy_vtable),
                                             grid_create,
                                             grid_ask,
                                             grid_tell,
                                             grid_save,
                                             grid_load,
                                             grid_destroy};

static const larch_plugin descriptor = {
    LARCH_ABI_HEADER_INIT,
    LARCH_PLUGIN_STRATEGY,
    0,
    "grid",
    "Grid search",
    "1.0.0",
    "every architecture exactly once, in mixed-radix or seeded shuffled order (shuffle)",
    &vtable,
    NULL};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
