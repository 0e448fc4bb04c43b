/* Strategy "energy": simulated annealing, optionally with replica exchange (parallel tempering),
 * over the decision vector.
 *
 * The energy of an architecture is E = -score (the host's score may already carry a cost term
 * such as FLOPs). Each of `chains` Metropolis chains (Metropolis et al. 1953) proposes a change
 * of one decision of its current architecture, skipping architectures proposed before, and moves
 * there with probability min(1, exp(-dE / T)) once the result arrives (Kirkpatrick, Gelatt &
 * Vecchi 1983). Each chain has at most one proposal outstanding, so the chains run side by side
 * on `chains` workers and ask returns WAIT only while all of them are outstanding.
 *
 * Temperatures form a ladder: the chain on rung r runs at T = T_base * t_ratio^r (rung 0 the
 * hottest). T_base starts at t0, or, with t0 = 0, is calibrated: the chains walk freely (every
 * move accepted, T = inf) until `calibration_moves` uphill moves were seen, then T0 is set so
 * that on average accept_target of those moves would have been accepted (Kirkpatrick's initial
 * acceptance of about 0.8). T0 solves mean(exp(-dE_i / T0)) = accept_target by bisection rather
 * than the usual shortcut T0 = -mean(dE) / ln(accept_target), which accepts more (Jensen). After
 * that the ladder cools geometrically, by `cooling` per step of each chain (cooling^(1/chains)
 * per result). With `exchange`, every `exchange_every` results two chains on neighbouring rungs
 * swap temperatures with probability min(1, exp((1/T_a - 1/T_b)(E_a - E_b))) (Swendsen & Wang 1986;
 * Earl & Deem 2005); swapping temperatures rather than architectures keeps the proposals in
 * flight valid.
 *
 * It logs at INFO, every LOG_EVERY moves of a chain, "energy: chain 2 T=0.0123 accept=0.41 ..."
 * (the acceptance over those moves), and at DEBUG every move and swap.
 *
 * Parameters (strategies.energy.*), defaults and their sources in docs/STRATEGIES.md. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

#define STATE_MAGIC 0x53475245u /* "ERGS" little-endian */
#define STATE_VERSION 1u
#define MAX_CHAINS 256
#define LOG_EVERY 20u

typedef struct chain {
    uint32_t rung; /* its place on the temperature ladder */
    uint32_t has_current;
    larch_arch current;
    double energy; /* of current; +inf for a failed trial */
    uint32_t outstanding;
    larch_arch proposal;
    double best; /* lowest energy this chain has seen */
    uint64_t moves, accepted;
    uint32_t window_moves, window_accepted; /* since its last INFO line */
} chain;

typedef struct energy {
    const larch_host *host;
    larch_space space;
    /* Parameters. */
    uint32_t n_chains, calibration_moves, exchange_every;
    int exchange, skip_seen;
    double t0, accept_target, cooling, t_ratio;
    double cool_step; /* cooling^(1/n_chains): the ladder's factor per result */
    /* State: everything below is saved. */
    larch_rng rng;
    uint32_t calibrated;
    double t_base;  /* the temperature of rung 0 once calibrated */
    double *uphill; /* calibration: the uphill dE seen so far */
    uint32_t n_uphill;
    uint64_t n_asked, n_told;
    uint64_t n_cooled; /* results told since calibration */
    uint64_t swaps_tried, swaps;
    uint32_t next_chain; /* where the round-robin of ask starts */
    chain *chains;
    larch_archset seen; /* every arch proposed */
} energy;

/* ---- parameters ---- */

/* Defaults and their sources are in docs/STRATEGIES.md: accept_target 0.8 is Kirkpatrick's
 * initial acceptance, cooling 0.95 a common geometric factor (Johnson et al. 1989), the rest
 * (4 chains, 10 calibration moves, a ladder halving T per rung) are this plugin's choices. */
static int read_params(const larch_host *host, energy *s, larch_error *err)
{
    const char *id = "energy";
    int rc;
    if ((rc = larch_param_u32(host, id, "chains", 4, 1, MAX_CHAINS, &s->n_chains, err)) ||
        (rc = larch_param_float(host, id, "t0", 0.0, 0.0, INFINITY, LARCH_RANGE_OPEN_HI, &s->t0,
                                err)) ||
        (rc = larch_param_float(host, id, "accept_target", 0.8, 0.0, 1.0, LARCH_RANGE_OPEN,
                                &s->accept_target, err)) ||
        (rc = larch_param_float(host, id, "cooling", 0.95, 0.0, 1.0, LARCH_RANGE_OPEN_LO,
                                &s->cooling, err)) ||
        (rc = larch_param_u32(host, id, "calibration_moves", 10, 1, 100000, &s->calibration_moves,
                              err)) ||
        (rc = larch_param_bool(host, "exchange", 0, &s->exchange, err)) ||
        (rc =
             larch_param_u32(host, id, "exchange_every", 4, 1, 1000000, &s->exchange_every, err)) ||
        (rc = larch_param_float(host, id, "t_ratio", 0.5, 0.0, 1.0, LARCH_RANGE_OPEN_LO,
                                &s->t_ratio, err)) ||
        (rc = larch_param_bool(host, "skip_seen", 1, &s->skip_seen, err)))
        return rc;
    return LARCH_OK;
}

/* ---- temperatures ---- */

static double temperature(const energy *s, uint32_t rung)
{
    if (!s->calibrated)
        return INFINITY;
    return s->t_base * pow(s->t_ratio, (double)rung);
}

/* The mean of exp(-d / t) over the calibration moves: the fraction of them accepted at t. */
static double mean_acceptance(const double *d, uint32_t n, double t)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += exp(-d[i] / t);
    return sum / n;
}

/* The T0 at which mean_acceptance equals target, by bisection (it grows with t). At
 * t = -d_min / ln(target) every move is accepted with probability <= target, at
 * t = -d_max / ln(target) with >= target, so the root lies between. */
static double calibrate_t0(const double *d, uint32_t n, double target)
{
    double d_min = d[0], d_max = d[0];
    for (uint32_t i = 1; i < n; i++) {
        d_min = d[i] < d_min ? d[i] : d_min;
        d_max = d[i] > d_max ? d[i] : d_max;
    }
    double lo = -d_min / log(target), hi = -d_max / log(target);
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (!(mid > lo && mid < hi))
            break;
        if (mean_acceptance(d, n, mid) < target)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* ---- proposals ---- */

/* A new random arch (from NULL) or a new neighbour of *from; a repeat only when 256 draws found
 * nothing new (larch_archset_draw: every 32 draws the change grows by one decision, so a chain
 * whose neighbourhood is fully explored moves further out). */
static void propose(energy *s, const larch_arch *from, larch_arch *out)
{
    larch_archset_draw(s->skip_seen ? &s->seen : NULL, &s->space, from, &s->rng, out);
}

static int energy_ask(void *self, larch_arch *arch, larch_error *err)
{
    energy *s = self;
    if (!s || !arch)
        return larch_error_set(err, LARCH_EINVAL, "energy: ask got a NULL self or arch");
    if (s->skip_seen && larch_archset_full(&s->seen))
        return LARCH_ASK_DONE;
    /* Round-robin over the idle chains, so that with one worker every chain still walks. */
    chain *c = NULL;
    uint32_t k;
    for (k = 0; k < s->n_chains && !c; k++) {
        chain *x = &s->chains[(s->next_chain + k) % s->n_chains];
        if (!x->outstanding)
            c = x;
    }
    if (!c)
        return LARCH_ASK_WAIT;
    s->next_chain = (s->next_chain + k) % s->n_chains;
    propose(s, c->has_current ? &c->current : NULL, &c->proposal);
    if (larch_archset_add(&s->seen, &c->proposal) < 0)
        return larch_error_set(err, LARCH_ENOMEM, "energy: out of memory");
    c->outstanding = 1;
    s->n_asked++;
    *arch = c->proposal;
    return LARCH_ASK_OK;
}

/* ---- results ---- */

static chain *on_rung(energy *s, uint32_t rung)
{
    for (uint32_t i = 0; i < s->n_chains; i++)
        if (s->chains[i].rung == rung)
            return &s->chains[i];
    return NULL;
}

/* Replica exchange between the chains on a random pair of neighbouring rungs. */
static void try_exchange(energy *s)
{
    uint32_t r = (uint32_t)larch_rng_below(&s->rng, s->n_chains - 1);
    chain *a = on_rung(s, r), *b = on_rung(s, r + 1);
    if (!a || !b || !a->has_current || !b->has_current)
        return;
    double x = (1.0 / temperature(s, r) - 1.0 / temperature(s, r + 1)) * (a->energy - b->energy);
    s->swaps_tried++;
    int swap = x >= 0 || (!isnan(x) && larch_rng_uniform(&s->rng) < exp(x));
    larch_log(s->host, LARCH_LOG_DEBUG, "energy: exchange rungs %u and %u (chains %u, %u): %s", r,
              r + 1, (uint32_t)(a - s->chains), (uint32_t)(b - s->chains),
              swap ? "swapped" : "kept");
    if (swap) {
        a->rung = r + 1;
        b->rung = r;
        s->swaps++;
    }
}

/* A Metropolis step of chain c to its proposal, whose energy is e. */
static void move(energy *s, chain *c, double e)
{
    uint32_t id = (uint32_t)(c - s->chains);
    double t = temperature(s, c->rung);
    double de = e - c->energy;
    const char *why = "";
    int accept;
    if (isinf(e) || isinf(c->energy)) {
        accept = !(isinf(e) && !isinf(c->energy)); /* never into a failure, always out of one */
    } else if (de <= 0) {
        accept = 1;
    } else if (!s->calibrated) {
        accept = 1; /* calibration: walk freely and record the uphill step */
        s->uphill[s->n_uphill++] = de;
        why = " (calibration, uphill)";
    } else {
        accept = larch_rng_uniform(&s->rng) < exp(-de / t);
    }
    larch_log(s->host, LARCH_LOG_DEBUG,
              "energy: chain %u move %llu T=%.17g E=%.17g E'=%.17g dE=%.17g %s%s", id,
              (unsigned long long)c->moves + 1, t, c->energy, e, de,
              accept ? "accepted" : "rejected", why);
    c->moves++;
    c->window_moves++;
    if (accept) {
        c->current = c->proposal;
        c->energy = e;
        c->accepted++;
        c->window_accepted++;
    }
    if (!s->calibrated && s->n_uphill == s->calibration_moves) {
        s->t_base = calibrate_t0(s->uphill, s->n_uphill, s->accept_target);
        s->calibrated = 1;
        larch_log(s->host, LARCH_LOG_INFO,
                  "energy: calibrated T0=%.17g from %u uphill moves (accept_target %g)", s->t_base,
                  s->n_uphill, s->accept_target);
    }
    if (c->window_moves == LOG_EVERY) {
        larch_log(s->host, LARCH_LOG_INFO,
                  "energy: chain %u T=%.6g accept=%.2f (moves %llu-%llu, result %llu) E=%.6g "
                  "best=%.6g",
                  id, t, (double)c->window_accepted / c->window_moves,
                  (unsigned long long)(c->moves - c->window_moves + 1),
                  (unsigned long long)c->moves, (unsigned long long)s->n_told + 1, c->energy,
                  c->best);
        if (s->exchange && id == 0)
            larch_log(s->host, LARCH_LOG_INFO, "energy: exchange: %llu of %llu swaps accepted",
                      (unsigned long long)s->swaps, (unsigned long long)s->swaps_tried);
        c->window_moves = c->window_accepted = 0;
    }
}

static int energy_tell(void *self, const larch_arch *arch, const larch_result *result,
                       larch_error *err)
{
    energy *s = self;
    if (!s || !arch || !result)
        return larch_error_set(err, LARCH_EINVAL, "energy: tell got a NULL self, arch or result");
    if (larch_arch_validate(&s->space, arch, err) != LARCH_OK)
        return larch_error_prefix(err, "energy: tell: ");
    chain *c = NULL;
    for (uint32_t i = 0; i < s->n_chains && !c; i++)
        if (s->chains[i].outstanding && larch_arch_equal(&s->chains[i].proposal, arch))
            c = &s->chains[i];
    if (!c) {
        char text[LARCH_ARCH_STRING_SIZE];
        return larch_error_set(err, LARCH_EINVAL, "energy: tell: %s is not an outstanding proposal",
                               larch_arch_to_string(arch, text));
    }
    /* E = -score; a failed trial has infinite energy. */
    double e =
        result->status == LARCH_TRIAL_OK && isfinite(result->score) ? -result->score : INFINITY;
    int was_calibrated = (int)s->calibrated;
    c->outstanding = 0;
    if (e < c->best)
        c->best = e;
    if (!c->has_current) {
        c->current = c->proposal;
        c->energy = e;
        c->has_current = 1;
        larch_log(s->host, LARCH_LOG_DEBUG, "energy: chain %u starts at E=%.17g",
                  (uint32_t)(c - s->chains), e);
    } else {
        move(s, c, e);
    }
    s->n_told++;
    if (was_calibrated) {
        s->t_base *= s->cool_step;
        s->n_cooled++;
        if (s->exchange && s->n_chains > 1 && s->n_cooled % s->exchange_every == 0)
            try_exchange(s);
    }
    return LARCH_OK;
}

/* ---- lifecycle ---- */

static void energy_destroy(void *self)
{
    energy *s = self;
    if (!s)
        return;
    const larch_host *host = s->host;
    larch_archset_release(&s->seen);
    host->free(host->ctx, s->chains);
    host->free(host->ctx, s->uphill);
    host->free(host->ctx, s);
}

static int energy_create(const larch_host *host, const larch_space *space, uint64_t seed,
                         void **self, larch_error *err)
{
    if (!host || !space || !self)
        return larch_error_set(err, LARCH_EINVAL, "energy: create got a NULL host, space or self");
    if (host->struct_size < offsetof(larch_host, free) + sizeof host->free || !host->alloc ||
        !host->free || !host->get_int || !host->get_float || !host->get_bool)
        return larch_error_set(err, LARCH_EINVAL, "energy: the host lacks getters or alloc/free");
    int rc = larch_space_validate(space, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "energy: ");
    energy *s = host->alloc(host->ctx, sizeof *s);
    if (!s)
        return larch_error_set(err, LARCH_ENOMEM, "energy: out of memory");
    s->host = host;
    larch_space_copy(&s->space, space);
    larch_archset_init(&s->seen, host, &s->space, 0);
    if ((rc = read_params(host, s, err)) != LARCH_OK) {
        energy_destroy(s);
        return rc;
    }
    s->cool_step = pow(s->cooling, 1.0 / s->n_chains);
    larch_rng_seed(&s->rng, seed);
    s->chains = host->alloc(host->ctx, s->n_chains * sizeof *s->chains);
    s->uphill = host->alloc(host->ctx, s->calibration_moves * sizeof *s->uphill);
    if (!s->chains || !s->uphill) {
        uint32_t n_chains = s->n_chains;
        energy_destroy(s);
        return larch_error_set(err, LARCH_ENOMEM, "energy: out of memory for %u chains", n_chains);
    }
    for (uint32_t i = 0; i < s->n_chains; i++) {
        s->chains[i].rung = i;
        s->chains[i].best = INFINITY;
    }
    if (s->t0 > 0) {
        s->calibrated = 1;
        s->t_base = s->t0;
    }
    larch_log(host, LARCH_LOG_DEBUG,
              "energy: %u chains, t0 %g, accept_target %g, cooling %g, exchange %d every %u, "
              "t_ratio %g",
              s->n_chains, s->t0, s->accept_target, s->cooling, s->exchange, s->exchange_every,
              s->t_ratio);
    *self = s;
    return LARCH_OK;
}

/* ---- checkpoints ---- */

/* Layout (little-endian): header (magic, version, space shape); chains, calibration_moves,
 * skip_seen; rng; calibrated, t_base, n_uphill, uphill[n_uphill]; n_asked, n_told, n_cooled,
 * swaps_tried, swaps; next_chain; per chain: rung, has_current, current, energy, outstanding,
 * proposal, best, moves, accepted, window_moves, window_accepted; n_seen, seen keys. */
static int energy_save(void *self, void **bytes, size_t *size, larch_error *err)
{
    energy *s = self;
    if (!s || !bytes || !size)
        return larch_error_set(err, LARCH_EINVAL, "energy: save got a NULL argument");
    larch_buf buf;
    larch_buf_init(&buf, s->host);
    larch_buf_put_header(&buf, STATE_MAGIC, STATE_VERSION, &s->space);
    larch_buf_put_u32(&buf, s->n_chains);
    larch_buf_put_u32(&buf, s->calibration_moves);
    larch_buf_put_u32(&buf, (uint32_t)s->skip_seen);
    larch_buf_put_rng(&buf, &s->rng);
    larch_buf_put_u32(&buf, s->calibrated);
    larch_buf_put_f64(&buf, s->t_base);
    larch_buf_put_u32(&buf, s->n_uphill);
    for (uint32_t i = 0; i < s->n_uphill; i++)
        larch_buf_put_f64(&buf, s->uphill[i]);
    larch_buf_put_u64(&buf, s->n_asked);
    larch_buf_put_u64(&buf, s->n_told);
    larch_buf_put_u64(&buf, s->n_cooled);
    larch_buf_put_u64(&buf, s->swaps_tried);
    larch_buf_put_u64(&buf, s->swaps);
    larch_buf_put_u32(&buf, s->next_chain);
    for (uint32_t i = 0; i < s->n_chains; i++) {
        const chain *c = &s->chains[i];
        larch_buf_put_u32(&buf, c->rung);
        larch_buf_put_u32(&buf, c->has_current);
        larch_buf_put_arch(&buf, &s->space, &c->current);
        larch_buf_put_f64(&buf, c->energy);
        larch_buf_put_u32(&buf, c->outstanding);
        larch_buf_put_arch(&buf, &s->space, &c->proposal);
        larch_buf_put_f64(&buf, c->best);
        larch_buf_put_u64(&buf, c->moves);
        larch_buf_put_u64(&buf, c->accepted);
        larch_buf_put_u32(&buf, c->window_moves);
        larch_buf_put_u32(&buf, c->window_accepted);
    }
    larch_archset_save(&s->seen, &buf);
    int rc = larch_buf_finish(&buf, bytes, size, err);
    return rc == LARCH_OK ? rc : larch_error_prefix(err, "energy: ");
}

/* Parses everything after the header into `into` (a copy of s whose chains, uphill and seen are
 * fresh allocations), so a bad checkpoint leaves s untouched. */
static int parse_state(const energy *s, larch_reader *r, energy *into, larch_error *err)
{
    uint32_t u[3];
    int rc;
    for (int i = 0; i < 3; i++)
        if ((rc = larch_reader_get_u32(r, &u[i], err)))
            return rc;
    if (u[0] != s->n_chains || u[1] != s->calibration_moves || u[2] != (uint32_t)s->skip_seen)
        return larch_error_set(err, LARCH_EINVAL,
                               "the checkpoint was made with chains %u, calibration_moves %u, "
                               "skip_seen %u; this run has %u, %u, %d",
                               u[0], u[1], u[2], s->n_chains, s->calibration_moves, s->skip_seen);
    if ((rc = larch_reader_get_rng(r, &into->rng, err)) ||
        (rc = larch_reader_get_u32(r, &into->calibrated, err)) ||
        (rc = larch_reader_get_f64(r, &into->t_base, err)) ||
        (rc = larch_reader_get_u32(r, &into->n_uphill, err)))
        return rc;
    /* t_base >= 0, not > 0: a long run may cool it to 0. */
    if (into->calibrated > 1 || (into->calibrated && !(into->t_base >= 0)) ||
        into->n_uphill > s->calibration_moves ||
        (!into->calibrated && into->n_uphill == s->calibration_moves))
        return larch_error_set(err, LARCH_EFORMAT, "inconsistent calibration (%u, T %g, %u moves)",
                               into->calibrated, into->t_base, into->n_uphill);
    for (uint32_t i = 0; i < into->n_uphill; i++) {
        if ((rc = larch_reader_get_f64(r, &into->uphill[i], err)))
            return rc;
        if (!(into->uphill[i] > 0) || !isfinite(into->uphill[i]))
            return larch_error_set(err, LARCH_EFORMAT, "calibration move %u has dE %g", i,
                                   into->uphill[i]);
    }
    if ((rc = larch_reader_get_u64(r, &into->n_asked, err)) ||
        (rc = larch_reader_get_u64(r, &into->n_told, err)) ||
        (rc = larch_reader_get_u64(r, &into->n_cooled, err)) ||
        (rc = larch_reader_get_u64(r, &into->swaps_tried, err)) ||
        (rc = larch_reader_get_u64(r, &into->swaps, err)) ||
        (rc = larch_reader_get_u32(r, &into->next_chain, err)))
        return rc;
    if (into->next_chain >= s->n_chains || into->n_told > into->n_asked ||
        into->swaps > into->swaps_tried)
        return larch_error_set(err, LARCH_EFORMAT, "inconsistent counters");
    /* A chain without a current has all-zero archs there, which every space holds. */
    for (uint32_t i = 0; i < s->n_chains; i++) {
        chain *c = &into->chains[i];
        if ((rc = larch_reader_get_u32(r, &c->rung, err)) ||
            (rc = larch_reader_get_u32(r, &c->has_current, err)) ||
            (rc = larch_reader_get_arch(r, &s->space, &c->current, err)) ||
            (rc = larch_reader_get_f64(r, &c->energy, err)) ||
            (rc = larch_reader_get_u32(r, &c->outstanding, err)) ||
            (rc = larch_reader_get_arch(r, &s->space, &c->proposal, err)) ||
            (rc = larch_reader_get_f64(r, &c->best, err)) ||
            (rc = larch_reader_get_u64(r, &c->moves, err)) ||
            (rc = larch_reader_get_u64(r, &c->accepted, err)) ||
            (rc = larch_reader_get_u32(r, &c->window_moves, err)) ||
            (rc = larch_reader_get_u32(r, &c->window_accepted, err)))
            return rc;
        if (c->rung >= s->n_chains || c->has_current > 1 || c->outstanding > 1 ||
            c->accepted > c->moves || c->window_accepted > c->window_moves ||
            c->window_moves >= LOG_EVERY || isnan(c->energy) || isnan(c->best))
            return larch_error_set(err, LARCH_EFORMAT, "chain %u is inconsistent", i);
        for (uint32_t j = 0; j < i; j++)
            if (into->chains[j].rung == c->rung)
                return larch_error_set(err, LARCH_EFORMAT, "chains %u and %u share rung %u", j, i,
                                       c->rung);
    }
    if ((rc = larch_archset_load(&into->seen, r, UINT64_MAX, err)))
        return rc;
    return larch_reader_expect_end(r, err);
}

static int energy_load(void *self, const void *bytes, size_t size, larch_error *err)
{
    energy *s = self;
    if (!s || (!bytes && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "energy: load got a NULL argument");
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    int rc =
        larch_reader_check_header(&r, "energy: load", STATE_MAGIC, STATE_VERSION, &s->space, err);
    if (rc != LARCH_OK)
        return rc;
    energy into = *s;
    larch_archset_init(&into.seen, s->host, &s->space, 0);
    into.chains = s->host->alloc(s->host->ctx, s->n_chains * sizeof *into.chains);
    into.uphill = s->host->alloc(s->host->ctx, s->calibration_moves * sizeof *into.uphill);
    if (!into.chains || !into.uphill)
        rc = larch_error_set(err, LARCH_ENOMEM, "out of memory");
    else
        rc = parse_state(s, &r, &into, err);
    if (rc != LARCH_OK) {
        larch_archset_release(&into.seen);
        s->host->free(s->host->ctx, into.chains);
        s->host->free(s->host->ctx, into.uphill);
        return larch_error_prefix(err, "energy: load: ");
    }
    /* All or nothing: the parsed state replaces the live one. */
    larch_archset_release(&s->seen);
    s->host->free(s->host->ctx, s->chains);
    s->host->free(s->host->ctx, s->uphill);
    *s = into;
    return LARCH_OK;
}

static const larch_strategy_vtable vtable = {
    .struct_size = sizeof(larch_strategy_vtable),
    .create = energy_create,
    .ask = energy_ask,
    .tell = energy_tell,
    .save = energy_save,
    .load = energy_load,
    .destroy = energy_destroy,
};

static const larch_plugin descriptor = {
    .abi = LARCH_ABI_HEADER_INIT,
    .kind = LARCH_PLUGIN_STRATEGY,
    .id = "energy",
    .name = "Energy-based search (simulated annealing, parallel tempering)",
    .version = "1.0.0",
    .description = "Metropolis chains on E = -score with a calibrated, geometrically cooled "
                   "temperature and optional replica exchange",
    .strategy = &vtable,
};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
