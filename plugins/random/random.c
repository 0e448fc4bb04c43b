/* Strategy "random": samples every decision uniformly. With no_repeat (the default) it never
 * proposes an architecture twice and returns LARCH_ASK_DONE once the whole space has been
 * proposed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

#define STATE_MAGIC 0x53444e52u /* "RNDS" little-endian */
#define STATE_VERSION 1u
/* Consecutive rejected samples after which ask() scans for an unseen arch instead. */
#define REJECTION_LIMIT 4096u

/* Open-addressing set of 64-bit keys; capacity is a power of two, at most half full. */
typedef struct key_set {
    uint64_t *keys;
    uint8_t *used;
    size_t capacity;
    size_t count;
} key_set;

typedef struct random_strategy {
    const larch_host *host;
    larch_space space;
    larch_rng rng;
    int no_repeat;
    /* Keys are exact mixed-radix indices when the space has fewer than 2^64 archs, else
     * arch hashes; exact keys make exhaustion detection and the fallback scan exact. */
    int exact_keys;
    uint64_t total; /* number of archs when exact_keys */
    uint64_t n_asked;
    uint64_t n_told;
    key_set seen;
} random_strategy;

static int host_has(const larch_host *host, size_t end)
{
    return host != NULL && host->struct_size >= end;
}

#define HOST_HAS(host, field)                                                                      \
    (host_has(host, offsetof(larch_host, field) + sizeof((host)->field)) && (host)->field != NULL)

static void *mem_alloc(const larch_host *host, size_t size)
{
    if (HOST_HAS(host, alloc) && HOST_HAS(host, free))
        return host->alloc(host->ctx, size);
    return calloc(1, size);
}

static void mem_free(const larch_host *host, void *ptr)
{
    if (HOST_HAS(host, alloc) && HOST_HAS(host, free))
        host->free(host->ctx, ptr);
    else
        free(ptr);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    return x ^ (x >> 33);
}

static void set_release(const larch_host *host, key_set *set)
{
    mem_free(host, set->keys);
    mem_free(host, set->used);
    memset(set, 0, sizeof *set);
}

static size_t set_slot(const key_set *set, uint64_t key)
{
    size_t mask = set->capacity - 1;
    size_t i = (size_t)mix64(key) & mask;
    while (set->used[i] && set->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static int set_contains(const key_set *set, uint64_t key)
{
    return set->capacity > 0 && set->used[set_slot(set, key)];
}

/* Makes room for `want` keys at load factor 1/2; LARCH_ENOMEM leaves the set as it was. */
static int set_reserve(const larch_host *host, key_set *set, size_t want)
{
    if (want <= set->capacity / 2)
        return LARCH_OK;
    if (want > SIZE_MAX / 4 / sizeof(uint64_t))
        return LARCH_ENOMEM;
    size_t capacity = set->capacity < 64 ? 64 : set->capacity;
    while (capacity / 2 < want)
        capacity *= 2;
    key_set grown = {mem_alloc(host, capacity * sizeof(uint64_t)), mem_alloc(host, capacity),
                     capacity, 0};
    if (grown.keys == NULL || grown.used == NULL) {
        set_release(host, &grown);
        return LARCH_ENOMEM;
    }
    for (size_t i = 0; i < set->capacity; i++) {
        if (set->used[i]) {
            size_t j = set_slot(&grown, set->keys[i]);
            grown.used[j] = 1;
            grown.keys[j] = set->keys[i];
            grown.count++;
        }
    }
    set_release(host, set);
    *set = grown;
    return LARCH_OK;
}

/* 1 if inserted, 0 if already present, LARCH_ENOMEM. */
static int set_insert(const larch_host *host, key_set *set, uint64_t key)
{
    if (set_contains(set, key))
        return 0;
    int rc = set_reserve(host, set, set->count + 1);
    if (rc != LARCH_OK)
        return rc;
    size_t i = set_slot(set, key);
    set->used[i] = 1;
    set->keys[i] = key;
    set->count++;
    return 1;
}

static int check_space(const larch_space *space, larch_error *err)
{
    if (space->struct_size < offsetof(larch_space, n_ops))
        return larch_error_set(err, LARCH_EINVAL, "random: space struct_size %u is too small",
                               space->struct_size);
    if (space->n_decisions == 0 || space->n_decisions > LARCH_MAX_DECISIONS)
        return larch_error_set(err, LARCH_EINVAL, "random: space has %u decisions, expected 1..%d",
                               space->n_decisions, LARCH_MAX_DECISIONS);
    for (uint32_t d = 0; d < space->n_decisions; d++) {
        uint32_t n = space->decisions[d].n_choices;
        if (n == 0 || n > LARCH_MAX_CHOICES)
            return larch_error_set(err, LARCH_EINVAL,
                                   "random: decision %u has %u choices, expected 1..%d", d, n,
                                   LARCH_MAX_CHOICES);
    }
    return LARCH_OK;
}

static uint64_t arch_key(const random_strategy *s, const larch_arch *arch)
{
    if (!s->exact_keys)
        return larch_arch_hash(arch);
    uint64_t index = 0;
    for (uint32_t d = 0; d < s->space.n_decisions; d++)
        index = index * s->space.decisions[d].n_choices + arch->choice[d];
    return index;
}

static int random_create(const larch_host *host, const larch_space *space, uint64_t seed,
                         void **self, larch_error *err)
{
    if (host == NULL || space == NULL || self == NULL)
        return larch_error_set(err, LARCH_EINVAL, "random: create got a NULL host, space or self");
    int rc = check_space(space, err);
    if (rc != LARCH_OK)
        return rc;

    int no_repeat = 1;
    if (HOST_HAS(host, get_bool)) {
        rc = host->get_bool(host->ctx, "no_repeat", 1, &no_repeat, err);
        if (rc != LARCH_OK)
            return rc;
    }

    random_strategy *s = mem_alloc(host, sizeof *s);
    if (s == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "random: out of memory for the state");
    memset(s, 0, sizeof *s);
    s->host = host;
    memcpy(&s->space, space,
           space->struct_size < sizeof s->space ? space->struct_size : sizeof s->space);
    s->space.struct_size = sizeof s->space;
    larch_rng_seed(&s->rng, seed);
    s->no_repeat = no_repeat != 0;
    s->exact_keys = 1;
    s->total = 1;
    for (uint32_t d = 0; d < space->n_decisions; d++) {
        uint64_t n = space->decisions[d].n_choices;
        if (s->total > UINT64_MAX / n) {
            s->exact_keys = 0;
            s->total = 0;
            break;
        }
        s->total *= n;
    }
    larch_log(host, LARCH_LOG_DEBUG, "random: no_repeat=%d, %.6g architectures", s->no_repeat,
              larch_space_size(space));
    *self = s;
    return LARCH_OK;
}

/* A uniformly random arch not proposed yet, found by scanning from a random index; only for
 * the tail of a nearly exhausted space, where rejection sampling would take long. */
static int scan_unseen(random_strategy *s, larch_arch *arch)
{
    uint64_t start = larch_rng_below(&s->rng, s->total);
    for (uint64_t i = 0; i < s->total; i++) {
        uint64_t index = i < s->total - start ? start + i : i - (s->total - start);
        if (!set_contains(&s->seen, index))
            return larch_arch_from_index(&s->space, index, arch);
    }
    return LARCH_EINTERNAL;
}

static int random_ask(void *self, larch_arch *arch, larch_error *err)
{
    random_strategy *s = self;
    if (s == NULL || arch == NULL)
        return larch_error_set(err, LARCH_EINVAL, "random: ask got a NULL self or arch");
    if (s->no_repeat && s->exact_keys && s->seen.count >= s->total)
        return LARCH_ASK_DONE;

    larch_arch candidate;
    candidate.n = s->space.n_decisions;
    for (uint32_t tries = 0;; tries++) {
        if (s->no_repeat && s->exact_keys && tries >= REJECTION_LIMIT) {
            if (scan_unseen(s, &candidate) != LARCH_OK)
                return larch_error_set(
                    err, LARCH_EINTERNAL, "random: %llu of %llu archs seen but none unseen found",
                    (unsigned long long)s->seen.count, (unsigned long long)s->total);
            break;
        }
        for (uint32_t d = 0; d < candidate.n; d++)
            candidate.choice[d] =
                (uint8_t)larch_rng_below(&s->rng, s->space.decisions[d].n_choices);
        if (!s->no_repeat || !set_contains(&s->seen, arch_key(s, &candidate)))
            break;
    }
    if (s->no_repeat && set_insert(s->host, &s->seen, arch_key(s, &candidate)) < 0)
        return larch_error_set(err, LARCH_ENOMEM,
                               "random: out of memory recording %llu proposed archs",
                               (unsigned long long)s->seen.count + 1);
    s->n_asked++;
    *arch = candidate;
    return LARCH_ASK_OK;
}

static int random_tell(void *self, const larch_arch *arch, const larch_result *result,
                       larch_error *err)
{
    random_strategy *s = self;
    if (s == NULL || arch == NULL || result == NULL)
        return larch_error_set(err, LARCH_EINVAL, "random: tell got a NULL self, arch or result");
    int rc = larch_arch_validate(&s->space, arch, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "random: tell: ");
    s->n_told++;
    return LARCH_OK;
}

/* Layout (little-endian): magic, version, n_decisions, n_choices[n_decisions], no_repeat,
 * rng s[4], n_asked, n_told, n_seen, seen keys[n_seen]. */
static int random_save(void *self, void **bytes, size_t *size, larch_error *err)
{
    random_strategy *s = self;
    if (s == NULL || bytes == NULL || size == NULL)
        return larch_error_set(err, LARCH_EINVAL, "random: save got a NULL argument");
    larch_buf buf;
    larch_buf_init(&buf, s->host);
    larch_buf_put_header(&buf, STATE_MAGIC, STATE_VERSION, &s->space);
    larch_buf_put_u32(&buf, (uint32_t)s->no_repeat);
    for (int i = 0; i < 4; i++)
        larch_buf_put_u64(&buf, s->rng.s[i]);
    larch_buf_put_u64(&buf, s->n_asked);
    larch_buf_put_u64(&buf, s->n_told);
    larch_buf_put_u64(&buf, s->seen.count);
    for (size_t i = 0; i < s->seen.capacity; i++)
        if (s->seen.used[i])
            larch_buf_put_u64(&buf, s->seen.keys[i]);
    int rc = larch_buf_finish(&buf, bytes, size, err);
    return rc == LARCH_OK ? rc : larch_error_prefix(err, "random: ");
}

/* Frees the half-built set and returns rc, with the reader's message given context. */
static int load_fail(const larch_host *host, key_set *set, larch_error *err, int rc)
{
    set_release(host, set);
    larch_error_prefix(err, "random: load: ");
    return rc;
}

static int random_load(void *self, const void *bytes, size_t size, larch_error *err)
{
    random_strategy *s = self;
    if (s == NULL || (bytes == NULL && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "random: load got a NULL argument");
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    key_set seen = {0};
    uint32_t no_repeat;
    int rc;
    if ((rc = larch_reader_check_header(&r, "random: load", STATE_MAGIC, STATE_VERSION, &s->space,
                                        err)) != LARCH_OK)
        return rc;
    if ((rc = larch_reader_get_u32(&r, &no_repeat, err)) != LARCH_OK)
        return load_fail(s->host, &seen, err, rc);
    if (no_repeat > 1 || (int)no_repeat != s->no_repeat)
        return larch_error_set(err, LARCH_EINVAL,
                               "random: load: checkpoint has no_repeat=%u, this instance %d",
                               no_repeat, s->no_repeat);
    larch_rng rng;
    uint64_t n_asked, n_told, n_seen;
    for (int i = 0; i < 4; i++)
        if ((rc = larch_reader_get_u64(&r, &rng.s[i], err)) != LARCH_OK)
            return load_fail(s->host, &seen, err, rc);
    if ((rc = larch_reader_get_u64(&r, &n_asked, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(&r, &n_told, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(&r, &n_seen, err)) != LARCH_OK)
        return load_fail(s->host, &seen, err, rc);
    if ((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0)
        return larch_error_set(err, LARCH_EFORMAT, "random: load: RNG state is all zero");
    /* Checked against the bytes left before allocating, so garbage cannot ask for terabytes. */
    if (n_seen > (r.size - r.offset) / 8 || n_seen > n_asked || (!s->no_repeat && n_seen > 0) ||
        (s->exact_keys && n_seen > s->total))
        return larch_error_set(err, LARCH_EFORMAT,
                               "random: load: %llu seen archs is inconsistent (asked %llu, "
                               "%zu bytes left)",
                               (unsigned long long)n_seen, (unsigned long long)n_asked,
                               r.size - r.offset);
    if (set_reserve(s->host, &seen, (size_t)n_seen) != LARCH_OK)
        return larch_error_set(err, LARCH_ENOMEM, "random: load: out of memory for %llu keys",
                               (unsigned long long)n_seen);
    for (uint64_t i = 0; i < n_seen; i++) {
        uint64_t key;
        if ((rc = larch_reader_get_u64(&r, &key, err)) != LARCH_OK)
            return load_fail(s->host, &seen, err, rc);
        if ((s->exact_keys && key >= s->total) || set_insert(s->host, &seen, key) != 1) {
            set_release(s->host, &seen);
            return larch_error_set(err, LARCH_EFORMAT,
                                   "random: load: seen key %llu is out of range or repeated",
                                   (unsigned long long)key);
        }
    }
    if (r.offset != r.size) {
        set_release(s->host, &seen);
        return larch_error_set(err, LARCH_EFORMAT,
                               "random: load: %zu trailing bytes after the state",
                               r.size - r.offset);
    }
    set_release(s->host, &s->seen);
    s->seen = seen;
    s->rng = rng;
    s->n_asked = n_asked;
    s->n_told = n_told;
    return LARCH_OK;
}

static void random_destroy(void *self)
{
    random_strategy *s = self;
    if (s == NULL)
        return;
    const larch_host *host = s->host;
    set_release(host, &s->seen);
    mem_free(host, s);
}

static const larch_strategy_vtable vtable = {sizeof(larch_strategy_vtable),
                                             random_create,
                                             random_ask,
                                             random_tell,
                                             random_save,
                                             random_load,
                                             random_destroy};

static const larch_plugin descriptor = {
    LARCH_ABI_HEADER_INIT,
    LARCH_PLUGIN_STRATEGY,
    0,
    "random",
    "Random search",
    "1.0.0",
    "uniform sampling of every decision, optionally without repeats (no_repeat)",
    &vtable,
    NULL};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
