/* A hash set (optionally a map to doubles) of architectures keyed by index or hash, with
 * checkpoint save/load and drawing of unseen architectures. */
#include <math.h>
#include <string.h>

#include "larch/archset.h"

/* larch_archset_draw: draws before settling for a repeat, and draws per extra changed decision. */
#define DRAW_TRIES 256u
#define DRAWS_PER_CHANGE 32u

void larch_archset_init(larch_archset *set, const larch_host *host, const larch_space *space,
                        int with_values)
{
    memset(set, 0, sizeof *set);
    set->host = host;
    set->n_decisions = space->n_decisions;
    for (uint32_t d = 0; d < space->n_decisions; d++)
        set->radix[d] = (uint8_t)space->decisions[d].n_choices;
    set->exact = larch_space_count(space, &set->total) == LARCH_OK;
    set->with_values = with_values != 0;
}

void larch_archset_release(larch_archset *set)
{
    larch_free(set->host, set->keys);
    larch_free(set->host, set->values);
    larch_free(set->host, set->used);
    set->keys = NULL;
    set->values = NULL;
    set->used = NULL;
    set->capacity = 0;
    set->count = 0;
}

uint64_t larch_archset_key(const larch_archset *set, const larch_arch *arch)
{
    if (!set->exact)
        return larch_arch_hash(arch);
    uint64_t index = 0;
    for (uint32_t d = 0; d < set->n_decisions; d++)
        index = index * set->radix[d] + arch->choice[d];
    return index;
}

/* Where key is, or the free slot where it would go; the table must have capacity. */
static size_t slot_of(const larch_archset *set, uint64_t key)
{
    size_t mask = set->capacity - 1;
    size_t i = (size_t)larch_mix64(key) & mask;
    while (set->used[i] && set->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

/* key's slot if present, else capacity (none). */
static size_t find(const larch_archset *set, uint64_t key)
{
    if (set->capacity == 0)
        return 0;
    size_t i = slot_of(set, key);
    return set->used[i] ? i : set->capacity;
}

int larch_archset_has_key(const larch_archset *set, uint64_t key)
{
    return set->capacity > 0 && find(set, key) != set->capacity;
}

int larch_archset_contains(const larch_archset *set, const larch_arch *arch)
{
    return larch_archset_has_key(set, larch_archset_key(set, arch));
}

/* Makes room for `want` keys at load factor 1/2; LARCH_ENOMEM leaves the set as it was. */
static int reserve(larch_archset *set, size_t want)
{
    if (want <= set->capacity / 2)
        return LARCH_OK;
    if (want > SIZE_MAX / 4 / sizeof(uint64_t))
        return LARCH_ENOMEM;
    size_t capacity = set->capacity < 64 ? 64 : set->capacity;
    while (capacity / 2 < want)
        capacity *= 2;
    larch_archset grown = *set;
    grown.keys = larch_alloc(set->host, capacity, sizeof *grown.keys);
    grown.values = set->with_values ? larch_alloc(set->host, capacity, sizeof *grown.values) : NULL;
    grown.used = larch_alloc(set->host, capacity, 1);
    grown.capacity = capacity;
    grown.count = 0;
    if (!grown.keys || !grown.used || (set->with_values && !grown.values)) {
        larch_archset_release(&grown);
        return LARCH_ENOMEM;
    }
    for (size_t i = 0; i < set->capacity; i++) {
        if (set->used[i]) {
            size_t j = slot_of(&grown, set->keys[i]);
            grown.used[j] = 1;
            grown.keys[j] = set->keys[i];
            if (set->with_values)
                grown.values[j] = set->values[i];
            grown.count++;
        }
    }
    larch_archset_release(set);
    *set = grown;
    return LARCH_OK;
}

/* Adds a key known to be absent; its value (if any) is NaN. */
static int insert_key(larch_archset *set, uint64_t key, size_t *slot)
{
    if (reserve(set, set->count + 1) != LARCH_OK)
        return LARCH_ENOMEM;
    size_t i = slot_of(set, key);
    set->used[i] = 1;
    set->keys[i] = key;
    if (set->with_values)
        set->values[i] = NAN;
    set->count++;
    *slot = i;
    return LARCH_OK;
}

int larch_archset_add(larch_archset *set, const larch_arch *arch)
{
    uint64_t key = larch_archset_key(set, arch);
    if (larch_archset_has_key(set, key))
        return 0;
    size_t slot;
    return insert_key(set, key, &slot) == LARCH_OK ? 1 : LARCH_ENOMEM;
}

double *larch_archset_value(const larch_archset *set, const larch_arch *arch)
{
    if (!set->with_values || set->capacity == 0)
        return NULL;
    size_t i = find(set, larch_archset_key(set, arch));
    return i < set->capacity ? &set->values[i] : NULL;
}

int larch_archset_put(larch_archset *set, const larch_arch *arch, double value)
{
    if (!set->with_values)
        return LARCH_EINVAL;
    uint64_t key = larch_archset_key(set, arch);
    size_t i = find(set, key);
    if (i == set->capacity && insert_key(set, key, &i) != LARCH_OK)
        return LARCH_ENOMEM;
    set->values[i] = value;
    return LARCH_OK;
}

int larch_archset_full(const larch_archset *set)
{
    return set->exact && set->count >= set->total;
}

void larch_archset_save(const larch_archset *set, larch_buf *buf)
{
    larch_buf_put_u64(buf, set->count);
    for (size_t i = 0; i < set->capacity; i++) {
        if (!set->used[i])
            continue;
        larch_buf_put_u64(buf, set->keys[i]);
        if (set->with_values)
            larch_buf_put_f64(buf, set->values[i]);
    }
}

static int load_fail(larch_archset *set, int rc)
{
    larch_archset_release(set);
    return rc;
}

int larch_archset_load(larch_archset *set, larch_reader *reader, uint64_t max_count,
                       larch_error *err)
{
    if (set->count != 0)
        return larch_error_set(err, LARCH_EINVAL, "loading into a set that is not empty");
    uint64_t n;
    int rc = larch_reader_get_u64(reader, &n, err);
    if (rc != LARCH_OK)
        return rc;
    size_t entry = set->with_values ? 16 : 8, left = reader->size - reader->offset;
    uint64_t limit = set->exact && set->total < max_count ? set->total : max_count;
    /* Checked against the bytes left before allocating, so garbage cannot ask for terabytes. */
    if (n > left / entry || n > limit)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%llu seen architectures is inconsistent (at most %llu, %zu bytes "
                               "left)",
                               (unsigned long long)n, (unsigned long long)limit, left);
    if (reserve(set, (size_t)n) != LARCH_OK)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory for %llu seen architectures",
                               (unsigned long long)n);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t key;
        double value = NAN;
        size_t slot;
        if ((rc = larch_reader_get_u64(reader, &key, err)) != LARCH_OK ||
            (set->with_values && (rc = larch_reader_get_f64(reader, &value, err)) != LARCH_OK))
            return load_fail(set, rc);
        if ((set->exact && key >= set->total) || larch_archset_has_key(set, key))
            return load_fail(set, larch_error_set(err, LARCH_EFORMAT,
                                                  "seen key %llu is out of range or repeated",
                                                  (unsigned long long)key));
        if (insert_key(set, key, &slot) != LARCH_OK)
            return load_fail(set, larch_error_set(err, LARCH_ENOMEM, "out of memory"));
        if (set->with_values)
            set->values[slot] = value;
    }
    return LARCH_OK;
}

int larch_archset_draw(const larch_archset *seen, const larch_space *space, const larch_arch *from,
                       larch_rng *rng, larch_arch *out)
{
    for (uint32_t tries = 0;; tries++) {
        if (from == NULL) {
            larch_arch_random(space, rng, out);
        } else {
            *out = *from;
            for (uint32_t c = 0; c <= tries / DRAWS_PER_CHANGE; c++)
                larch_arch_mutate(space, rng, out);
        }
        int fresh = seen == NULL || !larch_archset_contains(seen, out);
        if (fresh || tries + 1 >= DRAW_TRIES)
            return fresh;
    }
}
