/* Search spaces and architectures: size, validation, string form, enumeration, hashing, and
 * random sampling and mutation. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "larch/space.h"

static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* The number of decisions a (possibly corrupt) space or arch may be read up to. */
static uint32_t clamp_n(uint32_t n)
{
    return n > LARCH_MAX_DECISIONS ? LARCH_MAX_DECISIONS : n;
}

/* Value of a base-36 digit (either case), or -1. */
static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

double larch_space_size(const larch_space *space)
{
    if (space == NULL)
        return 0.0;
    double size = 1.0;
    uint32_t n = clamp_n(space->n_decisions);
    for (uint32_t d = 0; d < n; d++)
        size *= (double)space->decisions[d].n_choices;
    return size;
}

int larch_space_validate(const larch_space *space, larch_error *err)
{
    if (space == NULL)
        return larch_error_set(err, LARCH_EINVAL, "the space is NULL");
    if (space->struct_size < offsetof(larch_space, n_ops))
        return larch_error_set(err, LARCH_EINVAL, "space struct_size %u is too small",
                               space->struct_size);
    if (space->n_decisions == 0 || space->n_decisions > LARCH_MAX_DECISIONS)
        return larch_error_set(err, LARCH_EINVAL, "space has %u decisions, expected 1..%d",
                               space->n_decisions, LARCH_MAX_DECISIONS);
    for (uint32_t d = 0; d < space->n_decisions; d++) {
        uint32_t n = space->decisions[d].n_choices;
        if (n == 0 || n > LARCH_MAX_CHOICES)
            return larch_error_set(err, LARCH_EINVAL, "decision %u has %u choices, expected 1..%d",
                                   d, n, LARCH_MAX_CHOICES);
    }
    return LARCH_OK;
}

void larch_space_copy(larch_space *dst, const larch_space *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst, src, src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst);
    dst->struct_size = sizeof *dst;
}

int larch_space_count(const larch_space *space, uint64_t *count)
{
    *count = 0;
    if (larch_space_validate(space, NULL) != LARCH_OK)
        return LARCH_EINVAL;
    uint64_t total = 1;
    for (uint32_t d = 0; d < space->n_decisions; d++) {
        uint64_t n = space->decisions[d].n_choices;
        if (total > UINT64_MAX / n)
            return LARCH_ERANGE;
        total *= n;
    }
    *count = total;
    return LARCH_OK;
}

int larch_arch_validate(const larch_space *space, const larch_arch *arch, larch_error *err)
{
    if (space == NULL || arch == NULL)
        return larch_error_set(err, LARCH_EINVAL, "arch validation: space or arch is NULL");
    if (space->n_decisions == 0 || space->n_decisions > LARCH_MAX_DECISIONS)
        return larch_error_set(err, LARCH_EINVAL, "space \"%.*s\" has %u decisions, expected 1..%d",
                               LARCH_LABEL_SIZE, space->name, space->n_decisions,
                               LARCH_MAX_DECISIONS);
    if (arch->n != space->n_decisions)
        return larch_error_set(err, LARCH_EINVAL,
                               "arch has %u decisions, space \"%.*s\" expects %u", arch->n,
                               LARCH_LABEL_SIZE, space->name, space->n_decisions);
    for (uint32_t d = 0; d < arch->n; d++) {
        const larch_decision *dec = &space->decisions[d];
        if (arch->choice[d] >= dec->n_choices)
            return larch_error_set(err, LARCH_ERANGE,
                                   "decision %u (%.*s) has choice %u, expected 0..%u", d,
                                   LARCH_LABEL_SIZE, dec->label, arch->choice[d],
                                   dec->n_choices == 0 ? 0 : dec->n_choices - 1);
    }
    return LARCH_OK;
}

char *larch_arch_to_string(const larch_arch *arch, char *out)
{
    if (out == NULL)
        return NULL;
    uint32_t n = arch == NULL ? 0 : clamp_n(arch->n);
    for (uint32_t d = 0; d < n; d++) {
        uint8_t c = arch->choice[d];
        out[d] = c < LARCH_MAX_CHOICES ? digits[c] : '?';
    }
    out[n] = '\0';
    return out;
}

int larch_arch_from_string(const larch_space *space, const char *text, larch_arch *arch,
                           larch_error *err)
{
    if (space == NULL || text == NULL || arch == NULL)
        return larch_error_set(err, LARCH_EINVAL, "arch parse: space, text or arch is NULL");
    uint32_t n = space->n_decisions;
    if (n == 0 || n > LARCH_MAX_DECISIONS)
        return larch_error_set(err, LARCH_EINVAL, "space \"%.*s\" has %u decisions, expected 1..%d",
                               LARCH_LABEL_SIZE, space->name, n, LARCH_MAX_DECISIONS);
    /* Bounded so a very long input is neither scanned nor printed in full. */
    size_t len = strnlen(text, LARCH_ARCH_STRING_SIZE);
    if (len > LARCH_MAX_DECISIONS)
        return larch_error_set(err, LARCH_EINVAL,
                               "arch string is longer than %d characters, expected %u (one "
                               "character per decision of space \"%.*s\")",
                               LARCH_MAX_DECISIONS, n, LARCH_LABEL_SIZE, space->name);
    if (len != n)
        return larch_error_set(err, LARCH_EINVAL,
                               "arch \"%s\" has length %zu, expected %u (one character per "
                               "decision of space \"%.*s\")",
                               text, len, n, LARCH_LABEL_SIZE, space->name);
    arch->n = n;
    for (uint32_t d = 0; d < n; d++) {
        int v = digit_value(text[d]);
        if (v < 0) {
            unsigned char c = (unsigned char)text[d];
            return larch_error_set(err, LARCH_EINVAL,
                                   "arch \"%s\": character '%c' (0x%02x) at position %u is not a "
                                   "base-36 digit (0-9, a-z)",
                                   text, isprint(c) ? c : '?', (unsigned)c, d);
        }
        const larch_decision *dec = &space->decisions[d];
        if ((uint32_t)v >= dec->n_choices)
            return larch_error_set(err, LARCH_EINVAL,
                                   "arch \"%s\": choice %d at position %u (%.*s) is out of "
                                   "range, expected 0..%u",
                                   text, v, d, LARCH_LABEL_SIZE, dec->label,
                                   dec->n_choices == 0 ? 0 : dec->n_choices - 1);
        arch->choice[d] = (uint8_t)v;
    }
    return LARCH_OK;
}

int larch_arch_from_index(const larch_space *space, uint64_t index, larch_arch *arch)
{
    if (space == NULL || arch == NULL)
        return LARCH_EINVAL;
    uint32_t n = space->n_decisions;
    if (n == 0 || n > LARCH_MAX_DECISIONS)
        return LARCH_EINVAL;
    /* Peel digits off from the fastest decision; anything left means index >= size, which is
     * exact even for spaces larger than 2^64. */
    uint64_t rest = index;
    for (uint32_t i = n; i-- > 0;) {
        uint32_t radix = space->decisions[i].n_choices;
        if (radix == 0 || radix > LARCH_MAX_CHOICES)
            return LARCH_EINVAL;
        arch->choice[i] = (uint8_t)(rest % radix);
        rest /= radix;
    }
    if (rest != 0)
        return LARCH_ERANGE;
    arch->n = n;
    return LARCH_OK;
}

int larch_arch_to_index(const larch_space *space, const larch_arch *arch, uint64_t *index)
{
    if (larch_arch_validate(space, arch, NULL) != LARCH_OK)
        return LARCH_EINVAL;
    uint64_t value = 0;
    for (uint32_t d = 0; d < arch->n; d++) {
        uint64_t radix = space->decisions[d].n_choices;
        if (value > (UINT64_MAX - arch->choice[d]) / radix)
            return LARCH_ERANGE;
        value = value * radix + arch->choice[d];
    }
    *index = value;
    return LARCH_OK;
}

void larch_arch_random(const larch_space *space, larch_rng *rng, larch_arch *arch)
{
    arch->n = space->n_decisions;
    for (uint32_t d = 0; d < arch->n; d++)
        arch->choice[d] = (uint8_t)larch_rng_below(rng, space->decisions[d].n_choices);
}

void larch_arch_change_decision(const larch_space *space, uint32_t d, larch_rng *rng,
                                larch_arch *arch)
{
    uint32_t n = space->decisions[d].n_choices;
    /* Shifting by 1..n-1 reaches every other choice with equal probability. */
    if (n > 1)
        arch->choice[d] = (uint8_t)((arch->choice[d] + 1 + larch_rng_below(rng, n - 1)) % n);
}

void larch_arch_mutate(const larch_space *space, larch_rng *rng, larch_arch *arch)
{
    uint32_t n_mutable = 0;
    for (uint32_t d = 0; d < space->n_decisions; d++)
        n_mutable += space->decisions[d].n_choices > 1;
    if (n_mutable == 0)
        return;
    uint64_t k = larch_rng_below(rng, n_mutable);
    for (uint32_t d = 0; d < space->n_decisions; d++)
        if (space->decisions[d].n_choices > 1 && k-- == 0) {
            larch_arch_change_decision(space, d, rng, arch);
            return;
        }
}

uint64_t larch_arch_hash(const larch_arch *arch)
{
    uint64_t h = 0xcbf29ce484222325u;
    if (arch == NULL)
        return h;
    uint32_t n = clamp_n(arch->n);
    for (uint32_t d = 0; d < n; d++) {
        h ^= arch->choice[d];
        h *= 0x100000001b3u;
    }
    return h;
}

int larch_arch_equal(const larch_arch *a, const larch_arch *b)
{
    if (a == NULL || b == NULL || a->n != b->n || a->n > LARCH_MAX_DECISIONS)
        return 0;
    return memcmp(a->choice, b->choice, a->n) == 0;
}
