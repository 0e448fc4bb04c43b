/* xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64. */
#include <math.h>
#include <stddef.h>

#include "larch/rng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* One splitmix64 step: advances *state and returns a well-mixed word. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void larch_rng_seed(larch_rng *rng, uint64_t seed)
{
    if (rng == NULL)
        return;
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&state);
    /* splitmix64 is a bijection of its counter, so four consecutive outputs are never all zero,
     * but keep the generator out of its one fixed point regardless. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

uint64_t larch_seed_derive(uint64_t seed, uint64_t tag)
{
    /* Mix both words separately before combining so (seed, tag) and (tag, seed), or seeds
     * that differ by a multiple of the splitmix increment, do not collide systematically. */
    uint64_t a = seed;
    uint64_t b = tag ^ 0x6a09e667f3bcc909u;
    uint64_t ms = splitmix64(&a);
    uint64_t mt = splitmix64(&b);
    uint64_t c = ms ^ rotl(mt, 23);
    return splitmix64(&c);
}

uint64_t larch_rng_next(larch_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t larch_rng_below(larch_rng *rng, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Reject the lowest 2^64 mod n values so every residue has equally many preimages. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = larch_rng_next(rng);
        if (r >= threshold)
            return r % n;
    }
}

double larch_rng_uniform(larch_rng *rng)
{
    return (double)(larch_rng_next(rng) >> 11) * 0x1.0p-53;
}

double larch_rng_normal(larch_rng *rng)
{
    /* u1 in (0, 1] keeps log() finite. */
    double u1 = 1.0 - larch_rng_uniform(rng);
    double u2 = larch_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

uint64_t larch_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    return x ^ (x >> 33);
}
