/* A template strategy plugin: stochastic hill climbing over the decision vector.
 *
 * Copy this file, rename the id, and change ask/tell. It shows everything a strategy needs:
 * range-checked parameters (<larch/params.h>), an RNG seeded by the host, proposals that may be
 * outstanding while results arrive in any order, and save/load of the complete state. The SDK
 * also samples and mutates architectures (<larch/space.h>) and keeps sets of them, e.g. of
 * everything proposed, with checkpoint helpers (<larch/archset.h>).
 *
 * The search: start from a random architecture; each proposal mutates `mutations` random
 * decisions of the best architecture seen so far. Parameters (strategies.hillclimb.*):
 *   mutations  int, default 1: decisions changed per proposal
 *   restart    int, default 0: after this many proposals without improvement, jump to a random
 *              architecture (0 = never) */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

#define STATE_MAGIC 0x48494c4cu /* "HILL" */
#define STATE_VERSION 1u

typedef struct hillclimb {
    const larch_host *host;
    larch_space space;
    int64_t mutations, restart;
    /* Everything below is the saved state. */
    larch_rng rng;
    int has_best;
    larch_arch best;
    double best_score;
    int64_t since_improvement;
} hillclimb;

static int create(const larch_host *host, const larch_space *space, uint64_t seed, void **self,
                  larch_error *err)
{
    int64_t mutations, restart;
    int rc = larch_space_validate(space, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "hillclimb: ");
    /* Out of range: "strategies.hillclimb.mutations: expected 1..6, got 9". */
    rc = larch_param_int(host, "hillclimb", "mutations", 1, 1, space->n_decisions, &mutations, err);
    if (rc == LARCH_OK)
        rc = larch_param_int(host, "hillclimb", "restart", 0, 0, INT64_MAX, &restart, err);
    if (rc != LARCH_OK)
        return rc;
    hillclimb *h = host->alloc(host->ctx, sizeof *h);
    if (!h)
        return larch_error_set(err, LARCH_ENOMEM, "hillclimb: out of memory");
    h->host = host;
    larch_space_copy(&h->space, space);
    h->mutations = mutations;
    h->restart = restart;
    larch_rng_seed(&h->rng, seed);
    h->best_score = -INFINITY;
    *self = h;
    return LARCH_OK;
}

static int ask(void *self, larch_arch *arch, larch_error *err)
{
    (void)err;
    hillclimb *h = self;
    if (!h->has_best || (h->restart && h->since_improvement >= h->restart)) {
        h->since_improvement = 0;
        larch_arch_random(&h->space, &h->rng, arch);
        return LARCH_ASK_OK;
    }
    *arch = h->best;
    for (int64_t m = 0; m < h->mutations; m++) {
        uint32_t d = (uint32_t)larch_rng_below(&h->rng, arch->n);
        larch_arch_change_decision(&h->space, d, &h->rng, arch); /* another choice, if it has one */
    }
    return LARCH_ASK_OK;
}

static int tell(void *self, const larch_arch *arch, const larch_result *result, larch_error *err)
{
    (void)err;
    hillclimb *h = self;
    h->since_improvement++;
    if (result->status == LARCH_TRIAL_OK && result->score > h->best_score) {
        h->best_score = result->score;
        h->best = *arch;
        h->has_best = 1;
        h->since_improvement = 0;
    }
    return LARCH_OK;
}

static int save(void *self, void **bytes, size_t *size, larch_error *err)
{
    hillclimb *h = self;
    larch_buf buf;
    larch_buf_init(&buf, h->host);
    uint32_t header[2] = {STATE_MAGIC, STATE_VERSION};
    larch_buf_put(&buf, header, sizeof header);
    larch_buf_put(&buf, &h->rng, sizeof h->rng);
    larch_buf_put(&buf, &h->has_best, sizeof h->has_best);
    larch_buf_put(&buf, &h->best, sizeof h->best);
    larch_buf_put(&buf, &h->best_score, sizeof h->best_score);
    larch_buf_put(&buf, &h->since_improvement, sizeof h->since_improvement);
    return larch_buf_finish(&buf, bytes, size, err);
}

static int load(void *self, const void *bytes, size_t size, larch_error *err)
{
    hillclimb *h = self;
    hillclimb copy = *h;
    larch_reader in;
    larch_reader_init(&in, bytes, size);
    uint32_t header[2];
    int rc = larch_reader_get(&in, header, sizeof header, err);
    if (rc == LARCH_OK && (header[0] != STATE_MAGIC || header[1] != STATE_VERSION))
        return larch_error_set(err, LARCH_EFORMAT, "hillclimb: not a hillclimb v%u checkpoint",
                               STATE_VERSION);
    if (rc == LARCH_OK)
        rc = larch_reader_get(&in, &copy.rng, sizeof copy.rng, err);
    if (rc == LARCH_OK)
        rc = larch_reader_get(&in, &copy.has_best, sizeof copy.has_best, err);
    if (rc == LARCH_OK)
        rc = larch_reader_get(&in, &copy.best, sizeof copy.best, err);
    if (rc == LARCH_OK)
        rc = larch_reader_get(&in, &copy.best_score, sizeof copy.best_score, err);
    if (rc == LARCH_OK)
        rc = larch_reader_get(&in, &copy.since_improvement, sizeof copy.since_improvement, err);
    if (rc == LARCH_OK && copy.has_best)
        rc = larch_arch_validate(&h->space, &copy.best, err);
    if (rc != LARCH_OK)
        return rc;
    *h = copy; /* all or nothing: a bad checkpoint leaves the strategy as it was */
    return LARCH_OK;
}

static void destroy(void *self)
{
    hillclimb *h = self;
    if (h)
        h->host->free(h->host->ctx, h);
}

static const larch_strategy_vtable vtable = {
    .struct_size = sizeof(larch_strategy_vtable),
    .create = create,
    .ask = ask,
    .tell = tell,
    .save = save,
    .load = load,
    .destroy = destroy,
};

static const larch_plugin descriptor = {
    .abi = LARCH_ABI_HEADER_INIT,
    .kind = LARCH_PLUGIN_STRATEGY,
    .id = "hillclimb",
    .name = "stochastic hill climbing (template)",
    .version = "1.0.0",
    .description = "mutates the best architecture so far; a template for new strategies",
    .strategy = &vtable,
};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
