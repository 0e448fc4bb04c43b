/* Strategy "random": samples every decision uniformly. With no_repeat (the default) it never
 * proposes an architecture twice and returns LARCH_ASK_DONE once the whole space has been
 * proposed. */
#include <stdint.h>

#include <larch/larch.h>

#define STATE_MAGIC 0x53444e52u /* "RNDS" little-endian */
#define STATE_VERSION 1u
/* Consecutive rejected samples after which ask() scans for an unseen arch instead. */
#define REJECTION_LIMIT 4096u

typedef struct random_strategy {
    const larch_host *host;
    larch_space space;
    larch_rng rng;
    int no_repeat;
    uint64_t n_asked;
    uint64_t n_told;
    /* Every arch proposed, with no_repeat. Its keys are exact mixed-radix indices when the space
     * has fewer than 2^64 archs, which makes exhaustion detection and the fallback scan exact. */
    larch_archset seen;
} random_strategy;

static int random_create(const larch_host *host, const larch_space *space, uint64_t seed,
                         void **self, larch_error *err)
{
    if (host == NULL || space == NULL || self == NULL)
        return larch_error_set(err, LARCH_EINVAL, "random: create got a NULL host, space or self");
    int rc = larch_space_validate(space, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "random: ");

    int no_repeat;
    rc = larch_param_bool(host, "no_repeat", 1, &no_repeat, err);
    if (rc != LARCH_OK)
        return rc;

    random_strategy *s = larch_alloc(host, 1, sizeof *s);
    if (s == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "random: out of memory for the state");
    s->host = host;
    larch_space_copy(&s->space, space);
    larch_rng_seed(&s->rng, seed);
    s->no_repeat = no_repeat;
    larch_archset_init(&s->seen, host, &s->space, 0);
    larch_log(host, LARCH_LOG_DEBUG, "random: no_repeat=%d, %.6g architectures", s->no_repeat,
              larch_space_size(space));
    *self = s;
    return LARCH_OK;
}

/* A uniformly random arch not proposed yet, found by scanning from a random index; only for
 * the tail of a nearly exhausted space, where rejection sampling would take long. */
static int scan_unseen(random_strategy *s, larch_arch *arch)
{
    uint64_t total = s->seen.total;
    uint64_t start = larch_rng_below(&s->rng, total);
    for (uint64_t i = 0; i < total; i++) {
        uint64_t index = i < total - start ? start + i : i - (total - start);
        if (!larch_archset_has_key(&s->seen, index))
            return larch_arch_from_index(&s->space, index, arch);
    }
    return LARCH_EINTERNAL;
}

static int random_ask(void *self, larch_arch *arch, larch_error *err)
{
    random_strategy *s = self;
    if (s == NULL || arch == NULL)
        return larch_error_set(err, LARCH_EINVAL, "random: ask got a NULL self or arch");
    if (s->no_repeat && larch_archset_full(&s->seen))
        return LARCH_ASK_DONE;

    larch_arch candidate;
    for (uint32_t tries = 0;; tries++) {
        if (s->no_repeat && s->seen.exact && tries >= REJECTION_LIMIT) {
            if (scan_unseen(s, &candidate) != LARCH_OK)
                return larch_error_set(
                    err, LARCH_EINTERNAL, "random: %llu of %llu archs seen but none unseen found",
                    (unsigned long long)s->seen.count, (unsigned long long)s->seen.total);
            break;
        }
        larch_arch_random(&s->space, &s->rng, &candidate);
        if (!s->no_repeat || !larch_archset_contains(&s->seen, &candidate))
            break;
    }
    if (s->no_repeat && larch_archset_add(&s->seen, &candidate) < 0)
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
    larch_buf_put_rng(&buf, &s->rng);
    larch_buf_put_u64(&buf, s->n_asked);
    larch_buf_put_u64(&buf, s->n_told);
    larch_archset_save(&s->seen, &buf);
    int rc = larch_buf_finish(&buf, bytes, size, err);
    return rc == LARCH_OK ? rc : larch_error_prefix(err, "random: ");
}

static int random_load(void *self, const void *bytes, size_t size, larch_error *err)
{
    random_strategy *s = self;
    if (s == NULL || (bytes == NULL && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "random: load got a NULL argument");
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    uint32_t no_repeat;
    int rc;
    if ((rc = larch_reader_check_header(&r, "random: load", STATE_MAGIC, STATE_VERSION, &s->space,
                                        err)) != LARCH_OK)
        return rc;
    if ((rc = larch_reader_get_u32(&r, &no_repeat, err)) != LARCH_OK)
        return larch_error_prefix(err, "random: load: ");
    if (no_repeat > 1 || (int)no_repeat != s->no_repeat)
        return larch_error_set(err, LARCH_EINVAL,
                               "random: load: checkpoint has no_repeat=%u, this instance %d",
                               no_repeat, s->no_repeat);
    larch_rng rng;
    uint64_t n_asked, n_told;
    larch_archset seen;
    larch_archset_init(&seen, s->host, &s->space, 0);
    /* Only proposals are recorded, and only with no_repeat. */
    if ((rc = larch_reader_get_rng(&r, &rng, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(&r, &n_asked, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(&r, &n_told, err)) != LARCH_OK ||
        (rc = larch_archset_load(&seen, &r, s->no_repeat ? n_asked : 0, err)) != LARCH_OK ||
        (rc = larch_reader_expect_end(&r, err)) != LARCH_OK) {
        larch_archset_release(&seen);
        return larch_error_prefix(err, "random: load: ");
    }
    larch_archset_release(&s->seen);
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
    larch_archset_release(&s->seen);
    larch_free(s->host, s);
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
