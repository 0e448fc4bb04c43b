/* Strategy "genetic": two evolutionary searches over the decision vector.
 *
 * mode "evolution" (the default): regularized (aging) evolution, Real et al. 2019, "Regularized
 *   Evolution for Image Classifier Architecture Search", AAAI, Algorithm 1. The first
 *   `population` proposals are random; afterwards each proposal draws `sample` members of the
 *   population (with replacement), takes the best and changes one of its decisions. Every result
 *   joins the population and the oldest member leaves once there are more than `population`.
 *   Steady state: it never waits for a result, so every worker stays busy.
 *
 * mode "ga": the generational genetic algorithm of Genetic CNN, Xie & Yuille 2017, ICCV.
 *   Generations of `population` individuals; selection by roulette (weight = score minus the
 *   generation's worst, as in the paper) or tournament; pairs cross over with probability
 *   p_crossover, swapping each decision with probability q_crossover; an individual mutates with
 *   probability p_mutation, changing each decision with probability q_mutation; the best
 *   `elitism` individuals survive unchanged. The next generation is bred once every result of
 *   the current one has arrived; until then ask returns WAIT.
 *
 * Proposing an architecture twice spends a trial on something already measured (the host
 * answers a repeat from its cache, or with a table evaluator re-draws a training seed): ga keeps
 * the first score of any child it has met before, and evolution (skip_seen) mutates a child again
 * until it is new. A failed trial (status not OK, or a non-finite score) counts as the worst
 * fitness.
 *
 * Parameters (strategies.genetic.*), defaults and their sources in docs/STRATEGIES.md. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

#define STATE_MAGIC 0x534e4547u /* "GENS" little-endian */
#define STATE_VERSION 1u
#define MAX_POPULATION 100000
/* ga: generations in a row without one new child after which the search is over (the
 * population has converged beyond what mutation can escape, or p_mutation = p_crossover = 0). */
#define EMPTY_GENERATIONS_LIMIT 1000u
/* evolution: an INFO line every this many results. */
#define LOG_EVERY 50u

enum { MODE_EVOLUTION = 0, MODE_GA = 1 };

/* Where a ga individual stands in its generation. */
enum {
    TO_ASK = 0, /* new: not proposed yet */
    ASKED = 1,  /* proposed, result outstanding */
    TWIN = 2,   /* the same arch as an earlier TO_ASK/ASKED one: shares its result */
    KNOWN = 3   /* fitness known */
};

typedef struct member {
    larch_arch arch;
    double fitness; /* the score; -inf for a failed trial */
    uint32_t state; /* ga only */
} member;

typedef struct genetic {
    const larch_host *host;
    larch_space space;
    /* Parameters. */
    int mode;
    uint32_t population, sample, tournament, elitism;
    int roulette, skip_seen;
    double p_crossover, q_crossover, p_mutation, q_mutation;
    /* State: everything below is saved. */
    larch_rng rng;
    uint64_t n_asked, n_told;
    uint64_t generation;        /* ga */
    uint64_t empty_generations; /* ga: bred in a row without a new child */
    /* Every arch proposed (and every ga elite) -> its score, NaN while outstanding. */
    larch_archset seen;
    /* ga: the current generation, n_members == population. evolution: the population as a ring
     * buffer, oldest at `head`; head stays 0 until it is full. */
    member *members;
    uint32_t n_members, head;
    larch_arch *pending; /* evolution: proposals without a result, any order */
    size_t n_pending, cap_pending;
    member *next;    /* ga: scratch for breeding (not state) */
    double *weights; /* ga: scratch for roulette selection (not state) */
} genetic;

/* ---- parameters ---- */

/* Reads the parameters of g->mode into g; the defaults are those of the papers (see the top of
 * this file and docs/STRATEGIES.md). */
static int read_params(const larch_host *host, genetic *g, larch_error *err)
{
    static const char *const modes[] = {"evolution", "ga"}; /* MODE_EVOLUTION, MODE_GA */
    static const char *const selections[] = {"roulette", "tournament"};
    const char *id = "genetic";
    int rc = larch_param_choice(host, id, "mode", modes, 2, MODE_EVOLUTION, &g->mode, err);
    if (rc != LARCH_OK)
        return rc;

    if (g->mode == MODE_EVOLUTION) {
        /* P = 10, S = 3: NAS-Bench-201's REA setting for a space of this size (Dong & Yang
         * 2020); Real et al. 2019 used P = 100, S = 25 for budgets of thousands. */
        if ((rc = larch_param_u32(host, id, "population", 10, 1, MAX_POPULATION, &g->population,
                                  err)) ||
            (rc = larch_param_u32(host, id, "sample", g->population < 3 ? g->population : 3, 1,
                                  g->population, &g->sample, err)))
            return rc;
        return larch_param_bool(host, "skip_seen", 1, &g->skip_seen, err);
    }

    /* Genetic CNN: N = 20, pC = 0.2, qC = 0.2, pM = 0.8, qM = 0.05, roulette selection. */
    int selection;
    if ((rc =
             larch_param_u32(host, id, "population", 20, 2, MAX_POPULATION, &g->population, err)) ||
        (rc = larch_param_choice(host, id, "selection", selections, 2, 0, &selection, err)))
        return rc;
    g->roulette = selection == 0;
    /* Binary tournament (Goldberg & Deb 1991) unless told otherwise; elitism 1: De Jong's
     * (1975) elitist model, free here since the elite's result is reused, not re-evaluated. */
    if ((rc = larch_param_u32(host, id, "tournament", 2, 1, g->population, &g->tournament, err)) ||
        (rc = larch_param_u32(host, id, "elitism", 1, 0, g->population - 1, &g->elitism, err)) ||
        (rc = larch_param_float(host, id, "p_crossover", 0.2, 0, 1, LARCH_RANGE_CLOSED,
                                &g->p_crossover, err)) ||
        (rc = larch_param_float(host, id, "q_crossover", 0.2, 0, 1, LARCH_RANGE_CLOSED,
                                &g->q_crossover, err)) ||
        (rc = larch_param_float(host, id, "p_mutation", 0.8, 0, 1, LARCH_RANGE_CLOSED,
                                &g->p_mutation, err)) ||
        (rc = larch_param_float(host, id, "q_mutation", 0.05, 0, 1, LARCH_RANGE_CLOSED,
                                &g->q_mutation, err)))
        return rc;
    g->skip_seen = 1;
    return LARCH_OK;
}

/* ---- variation ---- */

/* A random arch, or a one-decision mutation of parent; with skip_seen one not proposed before
 * (see larch_archset_draw: the change grows as draws fail, and after 256 a repeat is taken). */
static void draw(genetic *g, const larch_arch *parent, larch_arch *child)
{
    larch_archset_draw(g->skip_seen ? &g->seen : NULL, &g->space, parent, &g->rng, child);
}

/* The fitness a result gives: its score, or -inf when it failed. */
static double fitness_of(const larch_result *result)
{
    if (result->status != LARCH_TRIAL_OK || !isfinite(result->score))
        return -INFINITY;
    return result->score;
}

/* ---- ga ---- */

/* Sets m's state from what is known of its arch: KNOWN (with the recorded score), TWIN (the same
 * arch is already waiting to be asked or told) or TO_ASK (recorded as waiting). */
static int classify(genetic *g, member *m)
{
    const double *value = larch_archset_value(&g->seen, &m->arch);
    if (value && !isnan(*value)) {
        m->state = KNOWN;
        m->fitness = *value;
    } else if (value) {
        m->state = TWIN;
    } else {
        m->state = TO_ASK;
        if (larch_archset_add(&g->seen, &m->arch) < 0)
            return LARCH_ENOMEM;
    }
    return LARCH_OK;
}

static int ga_first_generation(genetic *g, larch_error *err)
{
    for (uint32_t i = 0; i < g->population; i++) {
        member *m = &g->members[i];
        larch_arch_random(&g->space, &g->rng, &m->arch);
        m->fitness = -INFINITY;
        if (classify(g, m) != LARCH_OK)
            return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");
    }
    g->n_members = g->population;
    return LARCH_OK;
}

/* Picks a parent from the current generation. weights (roulette) are fitness minus the
 * generation's worst finite fitness, 0 for failures; total is their sum. */
static uint32_t select_parent(genetic *g, const double *weights, double total)
{
    uint32_t n = g->n_members;
    if (!g->roulette) {
        uint32_t best = (uint32_t)larch_rng_below(&g->rng, n);
        for (uint32_t k = 1; k < g->tournament; k++) {
            uint32_t c = (uint32_t)larch_rng_below(&g->rng, n);
            if (g->members[c].fitness > g->members[best].fitness)
                best = c;
        }
        return best;
    }
    if (!(total > 0))
        return (uint32_t)larch_rng_below(&g->rng, n); /* all equal: uniform */
    double x = larch_rng_uniform(&g->rng) * total;
    uint32_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (weights[i] <= 0)
            continue;
        if (x < weights[i])
            return i;
        x -= weights[i];
        last = i;
    }
    return last; /* rounding left x just past the end */
}

/* The best fitness of the members and the mean of the finite ones (NaN if none); returns how
 * many are finite. */
static uint32_t member_stats(const genetic *g, double *best, double *mean)
{
    double sum = 0;
    uint32_t ok = 0;
    *best = -INFINITY;
    for (uint32_t i = 0; i < g->n_members; i++) {
        double f = g->members[i].fitness;
        if (f > *best)
            *best = f;
        if (isfinite(f)) {
            sum += f;
            ok++;
        }
    }
    *mean = ok ? sum / ok : NAN;
    return ok;
}

static void log_generation(genetic *g)
{
    double best, mean;
    uint32_t ok = member_stats(g, &best, &mean), fresh = 0;
    for (uint32_t i = 0; i < g->population; i++)
        fresh += g->next[i].state == TO_ASK;
    larch_log(g->host, LARCH_LOG_INFO,
              "genetic: generation %llu: best %.6g, mean %.6g over %u ok; next has %u new",
              (unsigned long long)g->generation, best, mean, ok, fresh);
}

/* Breeds the next generation from the current one, every fitness of which is known: elites
 * first, then selected parents crossed over in pairs and mutated. Children met before get their
 * known fitness; only new ones will be asked. */
static int ga_breed(genetic *g, larch_error *err)
{
    uint32_t n = g->population, e = g->elitism;
    member *cur = g->members, *next = g->next;

    double worst = INFINITY, total = 0;
    for (uint32_t i = 0; i < n; i++)
        if (isfinite(cur[i].fitness) && cur[i].fitness < worst)
            worst = cur[i].fitness;
    for (uint32_t i = 0; i < n; i++) {
        g->weights[i] = isfinite(cur[i].fitness) ? cur[i].fitness - worst : 0;
        total += g->weights[i];
    }

    /* Elites: the e best, earlier individuals first on ties. */
    for (uint32_t k = 0; k < e; k++) {
        uint32_t best = n;
        for (uint32_t i = 0; i < n; i++) {
            int taken = 0;
            for (uint32_t j = 0; j < k && !taken; j++)
                taken = larch_arch_equal(&next[j].arch, &cur[i].arch);
            if (!taken && (best == n || cur[i].fitness > cur[best].fitness))
                best = i;
        }
        next[k] = cur[best < n ? best : 0];
    }
    for (uint32_t i = e; i < n; i++)
        next[i].arch = cur[select_parent(g, g->weights, total)].arch;
    for (uint32_t i = e; i + 1 < n; i += 2) {
        if (larch_rng_uniform(&g->rng) >= g->p_crossover)
            continue;
        for (uint32_t d = 0; d < g->space.n_decisions; d++) {
            if (larch_rng_uniform(&g->rng) < g->q_crossover) {
                uint8_t c = next[i].arch.choice[d];
                next[i].arch.choice[d] = next[i + 1].arch.choice[d];
                next[i + 1].arch.choice[d] = c;
            }
        }
    }
    for (uint32_t i = e; i < n; i++) {
        if (larch_rng_uniform(&g->rng) >= g->p_mutation)
            continue;
        for (uint32_t d = 0; d < g->space.n_decisions; d++)
            if (larch_rng_uniform(&g->rng) < g->q_mutation)
                larch_arch_change_decision(&g->space, d, &g->rng, &next[i].arch);
    }

    uint32_t fresh = 0;
    for (uint32_t i = 0; i < n; i++) {
        next[i].fitness = -INFINITY;
        if (classify(g, &next[i]) != LARCH_OK)
            return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");
        fresh += next[i].state == TO_ASK;
    }
    if (fresh > 0) /* a generation with nothing new is bred again at once: stay quiet */
        log_generation(g);
    g->members = next;
    g->next = cur;
    g->generation++;
    g->empty_generations = fresh > 0 ? 0 : g->empty_generations + 1;
    return LARCH_OK;
}

static int ga_ask(genetic *g, larch_arch *arch, larch_error *err)
{
    for (;;) {
        uint32_t waiting = 0;
        for (uint32_t i = 0; i < g->n_members; i++) {
            member *m = &g->members[i];
            if (m->state == TO_ASK) {
                m->state = ASKED;
                *arch = m->arch;
                return LARCH_ASK_OK;
            }
            waiting += m->state != KNOWN;
        }
        if (waiting > 0)
            return LARCH_ASK_WAIT;
        if (larch_archset_full(&g->seen))
            return LARCH_ASK_DONE;
        if (g->empty_generations >= EMPTY_GENERATIONS_LIMIT) {
            larch_log(g->host, LARCH_LOG_INFO,
                      "genetic: no new architecture in %u generations: the population has "
                      "converged, search over",
                      EMPTY_GENERATIONS_LIMIT);
            return LARCH_ASK_DONE;
        }
        int rc = ga_breed(g, err);
        if (rc != LARCH_OK)
            return rc;
    }
}

static int ga_tell(genetic *g, const larch_arch *arch, double fitness, larch_error *err)
{
    int found = 0;
    for (uint32_t i = 0; i < g->n_members; i++) {
        member *m = &g->members[i];
        if (m->state == ASKED && larch_arch_equal(&m->arch, arch)) {
            found = 1;
            break;
        }
    }
    if (!found) {
        char text[LARCH_ARCH_STRING_SIZE];
        return larch_error_set(err, LARCH_EINVAL,
                               "genetic: tell: %s is not an outstanding proposal of generation "
                               "%llu",
                               larch_arch_to_string(arch, text), (unsigned long long)g->generation);
    }
    if (larch_archset_put(&g->seen, arch, fitness) != LARCH_OK)
        return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");
    /* The proposal and its twins learn the result together. */
    for (uint32_t i = 0; i < g->n_members; i++) {
        member *m = &g->members[i];
        if (m->state != KNOWN && larch_arch_equal(&m->arch, arch)) {
            m->state = KNOWN;
            m->fitness = fitness;
        }
    }
    return LARCH_OK;
}

/* ---- evolution ---- */

static int evo_ask(genetic *g, larch_arch *arch, larch_error *err)
{
    if (g->skip_seen && larch_archset_full(&g->seen))
        return LARCH_ASK_DONE;
    larch_arch child;
    memset(&child, 0, sizeof child);
    /* Random until P proposals were made, and while no result has arrived (never WAIT). */
    if (g->n_asked < g->population || g->n_members == 0) {
        draw(g, NULL, &child);
    } else {
        const member *parent = &g->members[larch_rng_below(&g->rng, g->n_members)];
        for (uint32_t k = 1; k < g->sample; k++) {
            const member *c = &g->members[larch_rng_below(&g->rng, g->n_members)];
            if (c->fitness > parent->fitness)
                parent = c;
        }
        draw(g, &parent->arch, &child);
    }
    if (g->n_pending == g->cap_pending) {
        size_t cap = g->cap_pending ? 2 * g->cap_pending : 16;
        larch_arch *grown = cap < SIZE_MAX / sizeof *grown
                                ? g->host->alloc(g->host->ctx, cap * sizeof *grown)
                                : NULL;
        if (!grown)
            return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");
        if (g->n_pending > 0)
            memcpy(grown, g->pending, g->n_pending * sizeof *grown);
        g->host->free(g->host->ctx, g->pending);
        g->pending = grown;
        g->cap_pending = cap;
    }
    if (larch_archset_add(&g->seen, &child) < 0)
        return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");
    g->pending[g->n_pending++] = child;
    *arch = child;
    return LARCH_ASK_OK;
}

static void log_population(genetic *g)
{
    double best, mean;
    member_stats(g, &best, &mean);
    larch_log(g->host, LARCH_LOG_INFO,
              "genetic: evolution: %llu results; population %u: best %.6g, mean %.6g",
              (unsigned long long)g->n_told, g->n_members, best, mean);
}

static int evo_tell(genetic *g, const larch_arch *arch, double fitness, larch_error *err)
{
    size_t i = 0;
    while (i < g->n_pending && !larch_arch_equal(&g->pending[i], arch))
        i++;
    if (i == g->n_pending) {
        char text[LARCH_ARCH_STRING_SIZE];
        return larch_error_set(err, LARCH_EINVAL,
                               "genetic: tell: %s is not an outstanding proposal",
                               larch_arch_to_string(arch, text));
    }
    g->pending[i] = g->pending[--g->n_pending];
    if (larch_archset_put(&g->seen, arch, fitness) != LARCH_OK)
        return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");

    /* The child joins; the oldest leaves once the population is full (aging). */
    member child = {*arch, fitness, KNOWN};
    if (g->n_members < g->population) {
        g->members[g->n_members++] = child;
    } else {
        g->members[g->head] = child;
        g->head = (g->head + 1) % g->population;
    }
    return LARCH_OK;
}

/* ---- the vtable ---- */

static void genetic_destroy(void *self)
{
    genetic *g = self;
    if (!g)
        return;
    const larch_host *host = g->host;
    larch_archset_release(&g->seen);
    host->free(host->ctx, g->members);
    host->free(host->ctx, g->next);
    host->free(host->ctx, g->weights);
    host->free(host->ctx, g->pending);
    host->free(host->ctx, g);
}

static int genetic_create(const larch_host *host, const larch_space *space, uint64_t seed,
                          void **self, larch_error *err)
{
    if (!host || !space || !self)
        return larch_error_set(err, LARCH_EINVAL, "genetic: create got a NULL host, space or self");
    if (host->struct_size < offsetof(larch_host, free) + sizeof host->free || !host->alloc ||
        !host->free || !host->get_int || !host->get_float || !host->get_bool || !host->get_string)
        return larch_error_set(err, LARCH_EINVAL, "genetic: the host lacks getters or alloc/free");
    int rc = larch_space_validate(space, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "genetic: ");

    genetic *g = host->alloc(host->ctx, sizeof *g);
    if (!g)
        return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory");
    g->host = host;
    larch_space_copy(&g->space, space);
    larch_archset_init(&g->seen, host, &g->space, 1);
    if ((rc = read_params(host, g, err)) != LARCH_OK) {
        genetic_destroy(g);
        return rc;
    }
    larch_rng_seed(&g->rng, seed);

    g->members = host->alloc(host->ctx, (size_t)g->population * sizeof *g->members);
    if (g->mode == MODE_GA) {
        g->next = host->alloc(host->ctx, (size_t)g->population * sizeof *g->next);
        g->weights = host->alloc(host->ctx, (size_t)g->population * sizeof *g->weights);
    }
    if (!g->members || (g->mode == MODE_GA && (!g->next || !g->weights))) {
        uint32_t population = g->population;
        genetic_destroy(g);
        return larch_error_set(err, LARCH_ENOMEM, "genetic: out of memory for a population of %u",
                               population);
    }
    if (g->mode == MODE_GA && (rc = ga_first_generation(g, err)) != LARCH_OK) {
        genetic_destroy(g);
        return rc;
    }
    if (g->mode == MODE_GA)
        larch_log(host, LARCH_LOG_DEBUG,
                  "genetic: ga, population %u, %s selection, pC %g qC %g pM %g qM %g, elitism %u",
                  g->population, g->roulette ? "roulette" : "tournament", g->p_crossover,
                  g->q_crossover, g->p_mutation, g->q_mutation, g->elitism);
    else
        larch_log(host, LARCH_LOG_DEBUG, "genetic: evolution, population %u, sample %u",
                  g->population, g->sample);
    *self = g;
    return LARCH_OK;
}

static int genetic_ask(void *self, larch_arch *arch, larch_error *err)
{
    genetic *g = self;
    if (!g || !arch)
        return larch_error_set(err, LARCH_EINVAL, "genetic: ask got a NULL self or arch");
    int rc = g->mode == MODE_GA ? ga_ask(g, arch, err) : evo_ask(g, arch, err);
    if (rc == LARCH_ASK_OK)
        g->n_asked++;
    return rc;
}

static int genetic_tell(void *self, const larch_arch *arch, const larch_result *result,
                        larch_error *err)
{
    genetic *g = self;
    if (!g || !arch || !result)
        return larch_error_set(err, LARCH_EINVAL, "genetic: tell got a NULL self, arch or result");
    if (larch_arch_validate(&g->space, arch, err) != LARCH_OK)
        return larch_error_prefix(err, "genetic: tell: ");
    double fitness = fitness_of(result);
    int rc = g->mode == MODE_GA ? ga_tell(g, arch, fitness, err) : evo_tell(g, arch, fitness, err);
    if (rc != LARCH_OK)
        return rc;
    g->n_told++;
    if (g->mode == MODE_EVOLUTION && g->n_told % LOG_EVERY == 0)
        log_population(g);
    return LARCH_OK;
}

/* ---- checkpoints ---- */

/* Layout (little-endian): header (magic, version, space shape); mode, population, sample,
 * tournament, elitism, skip_seen; rng; n_asked, n_told, generation, empty_generations; n_members,
 * head, members (choices, fitness, state); n_pending, pending choices; n_seen, seen (key,
 * value). */
static int genetic_save(void *self, void **bytes, size_t *size, larch_error *err)
{
    genetic *g = self;
    if (!g || !bytes || !size)
        return larch_error_set(err, LARCH_EINVAL, "genetic: save got a NULL argument");
    larch_buf buf;
    larch_buf_init(&buf, g->host);
    larch_buf_put_header(&buf, STATE_MAGIC, STATE_VERSION, &g->space);
    larch_buf_put_u32(&buf, (uint32_t)g->mode);
    larch_buf_put_u32(&buf, g->population);
    larch_buf_put_u32(&buf, g->sample);
    larch_buf_put_u32(&buf, g->tournament);
    larch_buf_put_u32(&buf, g->elitism);
    larch_buf_put_u32(&buf, (uint32_t)g->skip_seen);
    larch_buf_put_rng(&buf, &g->rng);
    larch_buf_put_u64(&buf, g->n_asked);
    larch_buf_put_u64(&buf, g->n_told);
    larch_buf_put_u64(&buf, g->generation);
    larch_buf_put_u64(&buf, g->empty_generations);
    larch_buf_put_u32(&buf, g->n_members);
    larch_buf_put_u32(&buf, g->head);
    for (uint32_t i = 0; i < g->n_members; i++) {
        larch_buf_put_arch(&buf, &g->space, &g->members[i].arch);
        larch_buf_put_f64(&buf, g->members[i].fitness);
        larch_buf_put_u32(&buf, g->members[i].state);
    }
    larch_buf_put_u64(&buf, g->n_pending);
    for (size_t i = 0; i < g->n_pending; i++)
        larch_buf_put_arch(&buf, &g->space, &g->pending[i]);
    larch_archset_save(&g->seen, &buf);
    int rc = larch_buf_finish(&buf, bytes, size, err);
    return rc == LARCH_OK ? rc : larch_error_prefix(err, "genetic: ");
}

/* The parts of a checkpoint that are allocated, parsed before anything of the live state is
 * touched so a bad checkpoint leaves the strategy as it was. */
typedef struct parsed {
    larch_rng rng;
    uint64_t n_asked, n_told, generation, empty_generations;
    uint32_t n_members, head;
    member *members;
    larch_arch *pending;
    size_t n_pending;
    larch_archset seen;
} parsed;

static void parsed_release(const larch_host *host, parsed *p)
{
    host->free(host->ctx, p->members);
    host->free(host->ctx, p->pending);
    larch_archset_release(&p->seen);
}

static int parse_state(genetic *g, larch_reader *r, parsed *p, larch_error *err)
{
    uint32_t u[6];
    int rc;
    for (int i = 0; i < 6; i++)
        if ((rc = larch_reader_get_u32(r, &u[i], err)) != LARCH_OK)
            return rc;
    uint32_t want[6] = {(uint32_t)g->mode, g->population, g->sample,
                        g->tournament,     g->elitism,    (uint32_t)g->skip_seen};
    if (memcmp(u, want, sizeof u))
        return larch_error_set(err, LARCH_EINVAL,
                               "the checkpoint was made with other parameters (mode %u, population "
                               "%u, sample %u, tournament %u, elitism %u, skip_seen %u)",
                               u[0], u[1], u[2], u[3], u[4], u[5]);
    if ((rc = larch_reader_get_rng(r, &p->rng, err)) ||
        (rc = larch_reader_get_u64(r, &p->n_asked, err)) ||
        (rc = larch_reader_get_u64(r, &p->n_told, err)) ||
        (rc = larch_reader_get_u64(r, &p->generation, err)) ||
        (rc = larch_reader_get_u64(r, &p->empty_generations, err)) ||
        (rc = larch_reader_get_u32(r, &p->n_members, err)) ||
        (rc = larch_reader_get_u32(r, &p->head, err)))
        return rc;
    int full = g->mode == MODE_GA || p->n_members == g->population;
    if (p->n_members > g->population || (g->mode == MODE_GA && p->n_members != g->population) ||
        (full ? p->head >= g->population : p->head != 0) || p->n_told > p->n_asked)
        return larch_error_set(
            err, LARCH_EFORMAT, "inconsistent counts (%u members, head %u, %llu asked, %llu told)",
            p->n_members, p->head, (unsigned long long)p->n_asked, (unsigned long long)p->n_told);

    p->members = g->host->alloc(g->host->ctx, (size_t)g->population * sizeof *p->members);
    if (!p->members)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < p->n_members; i++) {
        member *m = &p->members[i];
        if ((rc = larch_reader_get_arch(r, &g->space, &m->arch, err)) ||
            (rc = larch_reader_get_f64(r, &m->fitness, err)) ||
            (rc = larch_reader_get_u32(r, &m->state, err)))
            return rc;
        if (m->state > KNOWN || isnan(m->fitness) ||
            (g->mode == MODE_EVOLUTION && m->state != KNOWN))
            return larch_error_set(err, LARCH_EFORMAT, "member %u has state %u, fitness %g", i,
                                   m->state, m->fitness);
    }

    uint64_t n;
    size_t arch_bytes = g->space.n_decisions;
    if ((rc = larch_reader_get_u64(r, &n, err)))
        return rc;
    /* Counts are checked against the bytes left before allocating, so garbage cannot ask for
     * terabytes. */
    if (n > (r->size - r->offset) / arch_bytes || (g->mode == MODE_GA && n > 0))
        return larch_error_set(err, LARCH_EFORMAT, "%llu pending proposals is inconsistent",
                               (unsigned long long)n);
    p->n_pending = (size_t)n;
    if (n > 0 && !(p->pending = g->host->alloc(g->host->ctx, (size_t)n * sizeof *p->pending)))
        return larch_error_set(err, LARCH_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n_pending; i++)
        if ((rc = larch_reader_get_arch(r, &g->space, &p->pending[i], err)))
            return rc;
    /* ga elites and children enter the set before they are asked: no bound but the space. */
    if ((rc = larch_archset_load(&p->seen, r, UINT64_MAX, err)))
        return rc;
    return larch_reader_expect_end(r, err);
}
static int genetic_load(void *self, const void *bytes, size_t size, larch_error *err)
{
    genetic *g = self;
    if (!g || (!bytes && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "genetic: load got a NULL argument");
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    int rc =
        larch_reader_check_header(&r, "genetic: load", STATE_MAGIC, STATE_VERSION, &g->space, err);
    if (rc != LARCH_OK)
        return rc;
    parsed p;
    memset(&p, 0, sizeof p);
    larch_archset_init(&p.seen, g->host, &g->space, 1);
    if ((rc = parse_state(g, &r, &p, err)) != LARCH_OK) {
        parsed_release(g->host, &p);
        return larch_error_prefix(err, "genetic: load: ");
    }
    /* All or nothing: swap the parsed state in and free what it replaces. */
    g->host->free(g->host->ctx, g->members);
    g->host->free(g->host->ctx, g->pending);
    larch_archset_release(&g->seen);
    g->rng = p.rng;
    g->n_asked = p.n_asked;
    g->n_told = p.n_told;
    g->generation = p.generation;
    g->empty_generations = p.empty_generations;
    g->members = p.members;
    g->n_members = p.n_members;
    g->head = p.head;
    g->pending = p.pending;
    g->n_pending = g->cap_pending = p.n_pending;
    g->seen = p.seen;
    return LARCH_OK;
}

static const larch_strategy_vtable vtable = {
    .struct_size = sizeof(larch_strategy_vtable),
    .create = genetic_create,
    .ask = genetic_ask,
    .tell = genetic_tell,
    .save = genetic_save,
    .load = genetic_load,
    .destroy = genetic_destroy,
};

static const larch_plugin descriptor = {
    .abi = LARCH_ABI_HEADER_INIT,
    .kind = LARCH_PLUGIN_STRATEGY,
    .id = "genetic",
    .name = "Evolutionary search (aging evolution, genetic algorithm)",
    .version = "1.0.0",
    .description = "regularized evolution (Real et al. 2019) or a Genetic CNN style GA (Xie & "
                   "Yuille 2017)",
    .strategy = &vtable,
};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
