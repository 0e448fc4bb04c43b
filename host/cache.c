#include "cache.h"

#include <stdlib.h>

void host_cache_init(host_cache *cache)
{
    cache->slots = NULL;
    cache->capacity = 0;
    cache->count = 0;
}

void host_cache_release(host_cache *cache)
{
    for (size_t i = 0; i < cache->capacity; i++)
        free(cache->slots[i]);
    free(cache->slots);
    host_cache_init(cache);
}

static size_t probe(host_cache_entry *const *slots, size_t capacity, const larch_arch *arch,
                    uint64_t hash)
{
    size_t i = (size_t)hash & (capacity - 1);
    while (slots[i] && !(slots[i]->hash == hash && larch_arch_equal(&slots[i]->arch, arch)))
        i = (i + 1) & (capacity - 1);
    return i;
}

const trainer_outcome *host_cache_find(const host_cache *cache, const larch_arch *arch)
{
    if (!cache->capacity)
        return NULL;
    size_t i = probe(cache->slots, cache->capacity, arch, larch_arch_hash(arch));
    return cache->slots[i] ? &cache->slots[i]->outcome : NULL;
}

static int grow(host_cache *cache)
{
    size_t capacity = cache->capacity ? cache->capacity * 2 : 64;
    host_cache_entry **slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return LARCH_ENOMEM;
    for (size_t i = 0; i < cache->capacity; i++) {
        host_cache_entry *e = cache->slots[i];
        if (e)
            slots[probe(slots, capacity, &e->arch, e->hash)] = e;
    }
    free(cache->slots);
    cache->slots = slots;
    cache->capacity = capacity;
    return LARCH_OK;
}

int host_cache_insert(host_cache *cache, const larch_arch *arch, const trainer_outcome *outcome)
{
    /* Keep the load factor under 1/2 so probes stay short. */
    if ((cache->count + 1) * 2 > cache->capacity && grow(cache) != LARCH_OK)
        return LARCH_ENOMEM;
    uint64_t hash = larch_arch_hash(arch);
    size_t i = probe(cache->slots, cache->capacity, arch, hash);
    if (!cache->slots[i]) {
        host_cache_entry *e = malloc(sizeof *e);
        if (!e)
            return LARCH_ENOMEM;
        e->arch = *arch;
        e->hash = hash;
        cache->slots[i] = e;
        cache->count++;
    }
    cache->slots[i]->outcome = *outcome;
    return LARCH_OK;
}

void host_arch_counts_init(host_arch_counts *counts)
{
    counts->slots = NULL;
    counts->capacity = 0;
    counts->count = 0;
}

void host_arch_counts_release(host_arch_counts *counts)
{
    free(counts->slots);
    host_arch_counts_init(counts);
}

static size_t count_probe(const host_arch_count *slots, size_t capacity, const larch_arch *arch,
                          uint64_t hash)
{
    size_t i = (size_t)hash & (capacity - 1);
    while (slots[i].count && !(slots[i].hash == hash && larch_arch_equal(&slots[i].arch, arch)))
        i = (i + 1) & (capacity - 1);
    return i;
}

static int count_grow(host_arch_counts *counts)
{
    size_t capacity = counts->capacity ? counts->capacity * 2 : 256;
    host_arch_count *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return LARCH_ENOMEM;
    for (size_t i = 0; i < counts->capacity; i++) {
        const host_arch_count *e = &counts->slots[i];
        if (e->count)
            slots[count_probe(slots, capacity, &e->arch, e->hash)] = *e;
    }
    free(counts->slots);
    counts->slots = slots;
    counts->capacity = capacity;
    return LARCH_OK;
}

int host_arch_counts_add(host_arch_counts *counts, const larch_arch *arch, uint64_t hash,
                         uint64_t *before)
{
    /* Load factor under 1/2 keeps probes short. */
    if ((counts->count + 1) * 2 > counts->capacity && count_grow(counts) != LARCH_OK)
        return LARCH_ENOMEM;
    host_arch_count *e = &counts->slots[count_probe(counts->slots, counts->capacity, arch, hash)];
    if (!e->count) {
        e->hash = hash;
        e->arch = *arch;
        counts->count++;
    }
    *before = e->count++;
    return LARCH_OK;
}
