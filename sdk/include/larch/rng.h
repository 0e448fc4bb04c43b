/* A small, seedable, savable random generator (xoshiro256**), identical on every platform. */
#ifndef LARCH_RNG_H
#define LARCH_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plain data: save it by copying the struct (or its 4 words), restore by copying back. */
typedef struct larch_rng {
    uint64_t s[4];
} larch_rng;

/* Seeds via splitmix64 so that nearby seeds give unrelated streams. */
void larch_rng_seed(larch_rng *rng, uint64_t seed);
/* Derives an independent child seed from (seed, tag), e.g. the seed of run 3 of an experiment. */
uint64_t larch_seed_derive(uint64_t seed, uint64_t tag);
uint64_t larch_rng_next(larch_rng *rng);
/* Uniform integer in [0, n) without modulo bias; n must be > 0 (returns 0 for n == 0). */
uint64_t larch_rng_below(larch_rng *rng, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double larch_rng_uniform(larch_rng *rng);
/* Standard normal (Box-Muller, no cached second value so the state alone defines the stream). */
double larch_rng_normal(larch_rng *rng);
/* A bijective 64-bit mixer (the MurmurHash3 finaliser) for hash tables and round functions. Its
 * output is fixed forever: checkpoints and seeded visiting orders depend on it. */
uint64_t larch_mix64(uint64_t x);

#ifdef __cplusplus
}
#endif
#endif
