/* The evaluation cache of one experiment: an architecture is trained once, later proposals of
 * the same architecture (by any run) are answered from here and recorded as cached. */
#ifndef HOST_CACHE_H
#define HOST_CACHE_H

#include <stddef.h>

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

#endif
