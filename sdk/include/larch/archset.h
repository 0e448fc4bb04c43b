/* A set of architectures of one space, such as every architecture a strategy has proposed, with
 * an optional double per architecture (a score, NaN while unknown), checkpoint save/load, and
 * drawing architectures the set does not hold yet.
 *
 * Keys are an architecture's exact mixed-radix index when the space has fewer than 2^64
 * architectures (so `larch_archset_full` knows when the space is exhausted and load() can check
 * every key), else its 64-bit hash. The struct is plain data owned by the caller: copy it to
 * move it, and release it once. Not thread-safe; one thread at a time per set. */
#ifndef LARCH_ARCHSET_H
#define LARCH_ARCHSET_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "rng.h"
#include "space.h"
#include "status.h"
#include "strategy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct larch_archset {
    const larch_host *host; /* allocates the tables (larch_alloc); must outlive the set */
    uint32_t n_decisions;
    uint8_t radix[LARCH_MAX_DECISIONS]; /* each decision's choice count */
    int exact;                          /* keys are mixed-radix indices, else hashes */
    uint64_t total;                     /* architectures in the space when exact, else 0 */
    int with_values;
    /* Open addressing: capacity is 0 or a power of two, at most half full. */
    uint64_t *keys;
    double *values; /* with_values only */
    uint8_t *used;
    size_t capacity;
    size_t count; /* architectures held */
} larch_archset;

/* An empty set for space (which must pass larch_space_validate); allocates nothing, so it
 * cannot fail. with_values: keep a double per architecture. */
void larch_archset_init(larch_archset *set, const larch_host *host, const larch_space *space,
                        int with_values);

/* Frees the tables; the set is then empty and may be used again or dropped. Idempotent. */
void larch_archset_release(larch_archset *set);

/* The key arch is stored under: its mixed-radix index when set->exact, else larch_arch_hash. */
uint64_t larch_archset_key(const larch_archset *set, const larch_arch *arch);

/* 1 if the set holds arch (or key), else 0. */
int larch_archset_contains(const larch_archset *set, const larch_arch *arch);
int larch_archset_has_key(const larch_archset *set, uint64_t key);

/* Adds arch: 1 if added (its value, if any, is NaN), 0 if it was there already (its value is
 * kept), LARCH_ENOMEM if the table could not grow (the set is unchanged). */
int larch_archset_add(larch_archset *set, const larch_arch *arch);

/* The address of arch's value, or NULL if the set does not hold arch or keeps no values. Valid
 * until the next add, put, load or release. */
double *larch_archset_value(const larch_archset *set, const larch_arch *arch);

/* Sets arch's value, adding arch if needed: LARCH_OK, LARCH_ENOMEM (the set is unchanged), or
 * LARCH_EINVAL for a set without values. */
int larch_archset_put(larch_archset *set, const larch_arch *arch, double value);

/* 1 when the set holds every architecture of the space (only knowable when exact), else 0. */
int larch_archset_full(const larch_archset *set);

/* Appends the set to a checkpoint: its count (u64), then per architecture its key (u64) and,
 * with values, the value (f64), in table order. */
void larch_archset_save(const larch_archset *set, larch_buf *buf);

/* Reads what larch_archset_save wrote into set, which must be empty (else LARCH_EINVAL) and made
 * for the same space and with_values. LARCH_EFORMAT when truncated, when the count exceeds
 * max_count, the bytes left or (exact) the space's size, or when a key is out of the space or
 * repeated; LARCH_ENOMEM. The count is checked before anything is allocated. On error the set is
 * released (empty again) and err's message has no prefix: the caller adds its own. */
int larch_archset_load(larch_archset *set, larch_reader *reader, uint64_t max_count,
                       larch_error *err);

/* Draws an architecture into *out that seen does not hold: uniformly at random when from is
 * NULL, else a mutation of *from (larch_arch_mutate) that changes one more decision every 32
 * draws, so a fully explored neighbourhood is left rather than retried. After 256 draws the last
 * one is kept even if seen holds it. seen may be NULL: the first draw is kept. Returns 1 if *out
 * is not in seen, 0 if it is a repeat. space must pass larch_space_validate. */
int larch_archset_draw(const larch_archset *seen, const larch_space *space, const larch_arch *from,
                       larch_rng *rng, larch_arch *out);

#ifdef __cplusplus
}
#endif
#endif
