/* A mock host, test spaces, synthetic search landscapes and a driver for strategy plugins,
 * shared by the strategy suites (tests/test_rl.c, test_genetic.c, test_energy.c, ...) and
 * test_sdk.c. Header-only: every function is static (LX_UNUSED: a suite may use a few).
 *
 * A landscape scores an architecture in [0, 1] with 1 at the optimum, cheaply and without
 * training, so a test can run hundreds of searches and ask a statistical question ("does this
 * strategy reach the optimum region faster than uniform random in most seeds?"). */
#ifndef TESTS_LANDSCAPE_H
#define TESTS_LANDSCAPE_H

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

#define LX_UNUSED __attribute__((unused))

/* ---- a mock host: parameters from a table, calloc/free, no logging ---- */

typedef enum { LX_INT, LX_FLOAT, LX_BOOL, LX_STRING } lx_type;

typedef struct lx_param {
    const char *key;
    lx_type type;
    int64_t i; /* LX_INT, LX_BOOL */
    double f;  /* LX_FLOAT */
    const char *s;
} lx_param;

typedef struct lx_host {
    larch_host host;
    const lx_param *params;
    size_t n_params;
} lx_host;

LX_UNUSED static const lx_param *lx_find(void *ctx, const char *key)
{
    const lx_host *h = ctx;
    for (size_t i = 0; i < h->n_params; i++)
        if (!strcmp(h->params[i].key, key))
            return &h->params[i];
    return NULL;
}

LX_UNUSED static int lx_get_int(void *ctx, const char *key, int64_t def, int64_t *out,
                                larch_error *err)
{
    const lx_param *p = lx_find(ctx, key);
    if (p && p->type != LX_INT)
        return larch_error_set(err, LARCH_ETYPE, "test: %s: expected an integer", key);
    *out = p ? p->i : def;
    return LARCH_OK;
}

LX_UNUSED static int lx_get_float(void *ctx, const char *key, double def, double *out,
                                  larch_error *err)
{
    const lx_param *p = lx_find(ctx, key);
    if (p && p->type != LX_FLOAT && p->type != LX_INT)
        return larch_error_set(err, LARCH_ETYPE, "test: %s: expected a float", key);
    *out = p ? (p->type == LX_INT ? (double)p->i : p->f) : def;
    return LARCH_OK;
}

LX_UNUSED static int lx_get_bool(void *ctx, const char *key, int def, int *out, larch_error *err)
{
    const lx_param *p = lx_find(ctx, key);
    if (p && p->type != LX_BOOL)
        return larch_error_set(err, LARCH_ETYPE, "test: %s: expected a bool", key);
    *out = p ? (int)p->i : def;
    return LARCH_OK;
}

LX_UNUSED static int lx_get_string(void *ctx, const char *key, const char *def, const char **out,
                                   larch_error *err)
{
    const lx_param *p = lx_find(ctx, key);
    if (p && p->type != LX_STRING)
        return larch_error_set(err, LARCH_ETYPE, "test: %s: expected a string", key);
    *out = p ? p->s : def;
    return LARCH_OK;
}

LX_UNUSED static void *lx_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return calloc(1, size);
}

LX_UNUSED static void lx_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

LX_UNUSED static void lx_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    if (level <= LARCH_LOG_WARN)
        fprintf(stderr, "[plugin] %s\n", message);
}

/* params may be NULL; the table must outlive the host. */
LX_UNUSED static const larch_host *lx_host_init(lx_host *h, const lx_param *params, size_t n_params)
{
    memset(h, 0, sizeof *h);
    h->host = (larch_host){.struct_size = sizeof(larch_host),
                           .abi_major = LARCH_ABI_MAJOR,
                           .abi_minor = LARCH_ABI_MINOR,
                           .ctx = h,
                           .log = lx_log,
                           .get_int = lx_get_int,
                           .get_float = lx_get_float,
                           .get_bool = lx_get_bool,
                           .get_string = lx_get_string,
                           .alloc = lx_alloc,
                           .free = lx_free};
    h->params = params;
    h->n_params = n_params;
    return &h->host;
}

/* dlopens <LARCH_TEST_PLUGIN_DIR>/<file> and returns its strategy vtable, or NULL. */
LX_UNUSED static const larch_strategy_vtable *lx_load_strategy(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LARCH_TEST_PLUGIN_DIR, file);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "lx_load_strategy: %s\n", dlerror());
        return NULL;
    }
    larch_plugin_entry_fn entry = (larch_plugin_entry_fn)dlsym(handle, LARCH_ENTRY_SYMBOL);
    const larch_plugin *p = entry ? entry() : NULL;
    return p && p->kind == LARCH_PLUGIN_STRATEGY ? p->strategy : NULL;
}

/* A space named "test" of n_decisions OP decisions labelled "edge <d>", decision d with
 * choices[d] choices, and ops "op0".. for the largest choice count (at most LARCH_MAX_OPS). */
LX_UNUSED static larch_space lx_space_of(uint32_t n_decisions, const uint32_t *choices)
{
    larch_space s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.n_decisions = n_decisions;
    snprintf(s.name, sizeof s.name, "test");
    for (uint32_t d = 0; d < n_decisions; d++) {
        s.decisions[d].kind = LARCH_DECISION_OP;
        s.decisions[d].n_choices = choices[d];
        snprintf(s.decisions[d].label, sizeof s.decisions[d].label, "edge %u", d);
        if (choices[d] > s.n_ops)
            s.n_ops = choices[d] < LARCH_MAX_OPS ? choices[d] : LARCH_MAX_OPS;
    }
    for (uint32_t c = 0; c < s.n_ops; c++)
        snprintf(s.op_names[c], sizeof s.op_names[c], "op%u", c);
    return s;
}

/* n_decisions decisions of n_choices choices each. */
LX_UNUSED static larch_space lx_space(uint32_t n_decisions, uint32_t n_choices)
{
    uint32_t choices[LARCH_MAX_DECISIONS];
    for (uint32_t d = 0; d < n_decisions && d < LARCH_MAX_DECISIONS; d++)
        choices[d] = n_choices;
    return lx_space_of(n_decisions, choices);
}

/* A successful trial of this score (also the validation accuracy), one second of cost. */
LX_UNUSED static larch_result lx_result(double score)
{
    larch_result r = {.struct_size = sizeof r,
                      .status = LARCH_TRIAL_OK,
                      .score = score,
                      .val_accuracy = score,
                      .cost_seconds = 1.0};
    return r;
}

/* ---- landscapes ---- */

typedef struct lx_landscape {
    const char *name;
    larch_space space;
    /* separable: value[d][c] in [0, 1], the best choice of each decision has value 1 */
    double value[LARCH_MAX_DECISIONS][LARCH_MAX_CHOICES];
    /* trap: decisions in blocks of `block`; target[d] is the optimal choice */
    uint32_t block;
    uint8_t target[LARCH_MAX_DECISIONS];
    int deceptive;
} lx_landscape;

/* A separable landscape: score = mean over decisions of value[d][a[d]], fixed by `seed`. Every
 * decision can be optimised on its own; a learner should exploit that. */
LX_UNUSED static lx_landscape lx_separable(uint32_t n_decisions, uint32_t n_choices, uint64_t seed)
{
    lx_landscape l;
    memset(&l, 0, sizeof l);
    l.name = "separable";
    l.space = lx_space(n_decisions, n_choices);
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    for (uint32_t d = 0; d < n_decisions; d++) {
        uint32_t best = (uint32_t)larch_rng_below(&rng, n_choices);
        for (uint32_t c = 0; c < n_choices; c++)
            l.value[d][c] = c == best ? 1.0 : 0.6 * larch_rng_uniform(&rng);
    }
    return l;
}

/* A deceptive trap (Goldberg's trap function made categorical): decisions form blocks of
 * `block`; in a block with u decisions at their target choice the block scores 1 if u == block,
 * else (block - 1 - u) / block, so every partial step towards the optimum looks worse and the
 * local slope leads to the "all wrong" trap. Targets are fixed by `seed`. */
LX_UNUSED static lx_landscape lx_trap(uint32_t n_decisions, uint32_t n_choices, uint32_t block,
                                      uint64_t seed)
{
    lx_landscape l;
    memset(&l, 0, sizeof l);
    l.name = "trap";
    l.space = lx_space(n_decisions, n_choices);
    l.block = block;
    l.deceptive = 1;
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    for (uint32_t d = 0; d < n_decisions; d++)
        l.target[d] = (uint8_t)larch_rng_below(&rng, n_choices);
    return l;
}

LX_UNUSED static double lx_score(const lx_landscape *l, const larch_arch *a)
{
    double sum = 0;
    if (!l->deceptive) {
        for (uint32_t d = 0; d < a->n; d++)
            sum += l->value[d][a->choice[d]];
        return sum / a->n;
    }
    uint32_t blocks = 0;
    for (uint32_t start = 0; start < a->n; start += l->block, blocks++) {
        uint32_t u = 0, k = 0;
        for (uint32_t d = start; d < a->n && d < start + l->block; d++, k++)
            u += a->choice[d] == l->target[d];
        sum += u == k ? 1.0 : (double)(k - 1 - u) / k;
    }
    return sum / blocks;
}

/* ---- the driver ---- */

typedef struct lx_outcome {
    double best;        /* best score seen */
    uint32_t trials;    /* trials told */
    uint32_t to_target; /* trials until the first score >= target; 0 = never */
    int done;           /* the strategy said DONE */
} lx_outcome;

#define LX_MAX_OUTSTANDING 64

/* Runs one search of `budget` trials on l. Up to `outstanding` proposals are asked before
 * results are told, and they are told in a shuffled order (tells arrive in any order), so
 * asynchronous strategies are exercised. `seen` (may be NULL) receives the proposals in ask
 * order. Returns the outcome; fails the test through the return value's best = NAN on a
 * strategy error (message printed). */
LX_UNUSED static lx_outcome lx_search(const larch_strategy_vtable *vt, const larch_host *host,
                                      const lx_landscape *l, uint64_t seed, uint32_t budget,
                                      double target, uint32_t outstanding, larch_arch *seen)
{
    lx_outcome out = {.best = -INFINITY};
    larch_error err = {0};
    void *self = NULL;
    if (vt->create(host, &l->space, seed, &self, &err) != LARCH_OK) {
        fprintf(stderr, "create: %s\n", err.message);
        out.best = NAN;
        return out;
    }
    if (outstanding < 1)
        outstanding = 1;
    if (outstanding > LX_MAX_OUTSTANDING)
        outstanding = LX_MAX_OUTSTANDING;
    larch_arch pending[LX_MAX_OUTSTANDING];
    uint32_t n_pending = 0, asked = 0;
    larch_rng order;
    larch_rng_seed(&order, seed ^ 0x5eedu);
    while (out.trials < budget && !out.done) {
        /* Ask until `outstanding` are in flight, the budget is covered, or WAIT/DONE. */
        while (n_pending < outstanding && asked < budget) {
            larch_arch a;
            memset(&a, 0, sizeof a);
            int rc = vt->ask(self, &a, &err);
            if (rc == LARCH_ASK_WAIT)
                break;
            if (rc == LARCH_ASK_DONE) {
                out.done = 1;
                break;
            }
            if (rc != LARCH_ASK_OK || larch_arch_validate(&l->space, &a, &err) != LARCH_OK) {
                fprintf(stderr, "ask: %d %s\n", rc, err.message);
                vt->destroy(self);
                out.best = NAN;
                return out;
            }
            if (seen)
                seen[asked] = a;
            pending[n_pending++] = a;
            asked++;
        }
        if (n_pending == 0)
            break; /* DONE, or WAIT with nothing outstanding (a strategy bug the caller sees) */
        /* Tell one pending result, chosen at random. */
        uint32_t i = (uint32_t)larch_rng_below(&order, n_pending);
        larch_arch a = pending[i];
        pending[i] = pending[--n_pending];
        double score = lx_score(l, &a);
        larch_result r = lx_result(score);
        r.params = 1000;
        r.flops = 1000000;
        r.latency_ms = 0.1;
        if (vt->tell(self, &a, &r, &err) != LARCH_OK) {
            fprintf(stderr, "tell: %s\n", err.message);
            vt->destroy(self);
            out.best = NAN;
            return out;
        }
        out.trials++;
        if (score > out.best)
            out.best = score;
        if (!out.to_target && score >= target)
            out.to_target = out.trials;
    }
    vt->destroy(self);
    return out;
}

/* How many of n_seeds searches reach target with `strategy` in fewer trials than with
 * `baseline` (a search that never reaches it counts as budget + 1). Ties count half. */
LX_UNUSED static double lx_wins(const larch_strategy_vtable *strategy,
                                const larch_host *strategy_host,
                                const larch_strategy_vtable *baseline,
                                const larch_host *baseline_host, const lx_landscape *l,
                                uint32_t n_seeds, uint32_t budget, double target,
                                uint32_t outstanding)
{
    double wins = 0;
    for (uint32_t s = 0; s < n_seeds; s++) {
        lx_outcome a =
            lx_search(strategy, strategy_host, l, 1000 + s, budget, target, outstanding, NULL);
        lx_outcome b =
            lx_search(baseline, baseline_host, l, 1000 + s, budget, target, outstanding, NULL);
        uint32_t ta = a.to_target ? a.to_target : budget + 1;
        uint32_t tb = b.to_target ? b.to_target : budget + 1;
        wins += ta < tb ? 1.0 : ta == tb ? 0.5 : 0.0;
    }
    return wins;
}

/* Checks that save/load preserves the whole state: an uninterrupted search and one that is
 * saved after `split` tells (with `outstanding` proposals still in flight), destroyed, and
 * restored into a fresh instance propose exactly the same sequence of `total` architectures.
 * Results are told in ask order here so both searches see the same history. Returns 1 if the
 * sequences match, else 0 (and prints the first difference). */
LX_UNUSED static int lx_resume_matches(const larch_strategy_vtable *vt, const larch_host *host,
                                       const lx_landscape *l, uint64_t seed, uint32_t total,
                                       uint32_t split, uint32_t outstanding)
{
    larch_arch *a = calloc(total, sizeof *a), *b = calloc(total, sizeof *b);
    larch_error err = {0};
    int ok = a && b;
    for (int pass = 0; pass < 2 && ok; pass++) {
        larch_arch *seq = pass ? b : a;
        void *self = NULL;
        ok = vt->create(host, &l->space, seed, &self, &err) == LARCH_OK;
        uint32_t asked = 0, told = 0;
        while (ok && told < total) {
            while (asked < total && asked - told < outstanding) {
                int rc = vt->ask(self, &seq[asked], &err);
                if (rc == LARCH_ASK_WAIT || rc == LARCH_ASK_DONE)
                    break;
                if (rc != LARCH_ASK_OK) {
                    ok = 0;
                    break;
                }
                asked++;
            }
            if (!ok || asked == told)
                break;
            larch_result r = lx_result(lx_score(l, &seq[told]));
            ok = vt->tell(self, &seq[told], &r, &err) == LARCH_OK;
            told++;
            if (ok && pass == 1 && told == split) {
                void *bytes = NULL;
                size_t size = 0;
                ok = vt->save(self, &bytes, &size, &err) == LARCH_OK;
                vt->destroy(self);
                self = NULL;
                ok = ok && vt->create(host, &l->space, seed + 999, &self, &err) == LARCH_OK &&
                     vt->load(self, bytes, size, &err) == LARCH_OK;
                host->free(host->ctx, bytes);
            }
        }
        if (self)
            vt->destroy(self);
    }
    if (!ok)
        fprintf(stderr, "lx_resume_matches: %s\n", err.message);
    for (uint32_t i = 0; ok && i < total; i++)
        if (!larch_arch_equal(&a[i], &b[i])) {
            char x[LARCH_ARCH_STRING_SIZE], y[LARCH_ARCH_STRING_SIZE];
            fprintf(stderr, "proposal %u differs after resume: %s vs %s\n", i,
                    larch_arch_to_string(&a[i], x), larch_arch_to_string(&b[i], y));
            ok = 0;
        }
    free(a);
    free(b);
    return ok;
}

#endif
