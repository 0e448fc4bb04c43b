/* The evaluation cache of one experiment: an architecture is trained once, later proposals of
 * the same architecture (by any run) are answered from here and recorded as cached. And the
 * per-run count of proposals of each architecture, which decides what a run is charged. */
#ifndef HOST_CACHE_H
#define HOST_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <larch/space.h>

#include "../trainer/train.h"

typedef struct host_cache_entry {
    larch_arch arch;
    uint64_t hash;
    trainer_outcome outcome;
} host_cache_entry;

/* Open addressing on the arch hash; grows by doubling. */
typedef struct host_cache {
    host_cache_entry **slots;
    size_t capacity, count;
} host_cache;

void host_cache_init(host_cache *cache);
void host_cache_release(host_cache *cache);
/* The entry for arch, or NULL. Valid until the next insert. */
const trainer_outcome *host_cache_find(const host_cache *cache, const larch_arch *arch);
/* Copies outcome in; LARCH_ENOMEM on allocation failure (the cache stays usable). */
int host_cache_insert(host_cache *cache, const larch_arch *arch, const trainer_outcome *outcome);

/* How many times one run proposed each architecture: open addressing on the arch hash, entries
 * inline (a replay counts tens of thousands of proposals a second). */
typedef struct host_arch_count {
    uint64_t hash;
    uint64_t count; /* 0: empty slot */
    larch_arch arch;
} host_arch_count;

typedef struct host_arch_counts {
    host_arch_count *slots;
    size_t capacity, count;
} host_arch_counts;

void host_arch_counts_init(host_arch_counts *counts);
void host_arch_counts_release(host_arch_counts *counts);
/* Counts one more proposal of arch (hash = larch_arch_hash(arch)); *before receives the number
 * counted before this one. LARCH_ENOMEM when the table cannot grow (nothing is counted). */
int host_arch_counts_add(host_arch_counts *counts, const larch_arch *arch, uint64_t hash,
                         uint64_t *before);

#endif
