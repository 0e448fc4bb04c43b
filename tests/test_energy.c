/* The energy strategy plugin (plugins/energy/energy.c), loaded as the host loads it, on the
 * synthetic landscapes of tests/landscape.h: it beats uniform random search on a separable
 * landscape, what it does on a deceptive trap, the calibration of T0 and the cooling schedule
 * (checked against the moves it logs), chains and WAIT, replica exchange, save/load equivalence,
 * bad checkpoints and bad parameters. */
#include <criterion/criterion.h>

#include "landscape.h"

/* The protocol of the comparisons with random, as in test_genetic.c: 8 decisions x 4 choices,
 * 400 trials, 4 proposals in flight told in shuffled order, 10 seeds, the optimum region is a
 * score >= 0.9 on the separable landscape. */
#define N_DECISIONS 8
#define N_CHOICES 4
#define BUDGET 400
#define SEEDS 10
#define OUTSTANDING 4

static const larch_strategy_vtable *energy_vt(void)
{
    const larch_strategy_vtable *vt = lx_load_strategy("energy.so");
    cr_assert_not_null(vt, "energy.so did not load");
    return vt;
}

static const larch_strategy_vtable *random_vt(void)
{
    const larch_strategy_vtable *vt = lx_load_strategy("random.so");
    cr_assert_not_null(vt, "random.so did not load");
    return vt;
}

static void *create(const larch_strategy_vtable *vt, const larch_host *host,
                    const larch_space *space, uint64_t seed)
{
    void *self = NULL;
    larch_error err = {0};
    cr_assert_eq(vt->create(host, space, seed, &self, &err), LARCH_OK, "create: %s", err.message);
    return self;
}

static larch_result result_of(double score)
{
    larch_result r = {.struct_size = sizeof r,
                      .status = LARCH_TRIAL_OK,
                      .score = score,
                      .val_accuracy = score,
                      .cost_seconds = 1.0};
    return r;
}

static void tell(const larch_strategy_vtable *vt, void *self, const larch_arch *a, double score)
{
    larch_error err = {0};
    larch_result r = result_of(score);
    cr_assert_eq(vt->tell(self, a, &r, &err), LARCH_OK, "tell: %s", err.message);
}

/* ---- log capture: every line, DEBUG included ---- */

#define MAX_LINES 8192
static char lines[MAX_LINES][256];
static int n_lines;

static void capture_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    (void)level;
    if (n_lines < MAX_LINES)
        snprintf(lines[n_lines++], sizeof lines[0], "%s", message);
}

/* Runs a search with a host that captures the log. */
static lx_outcome logged_search(const lx_param *params, size_t n_params, const lx_landscape *l,
                                uint64_t seed, uint32_t budget, uint32_t outstanding)
{
    lx_host h;
    lx_host_init(&h, params, n_params);
    h.host.log = capture_log;
    n_lines = 0;
    lx_outcome o = lx_search(energy_vt(), &h.host, l, seed, budget, 2.0, outstanding, NULL);
    cr_assert(!isnan(o.best), "the search failed");
    return o;
}

/* One logged move: "energy: chain C move M T=... E=... E'=... dE=... accepted|rejected...". */
typedef struct logged_move {
    unsigned chain;
    unsigned long long move;
    double t, e, e_new, de;
    int accepted, calibration;
} logged_move;

static int parse_move(const char *line, logged_move *m)
{
    char verdict[16];
    if (sscanf(line, "energy: chain %u move %llu T=%lf E=%lf E'=%lf dE=%lf %15s", &m->chain,
               &m->move, &m->t, &m->e, &m->e_new, &m->de, verdict) != 7)
        return 0;
    m->accepted = !strcmp(verdict, "accepted");
    m->calibration = strstr(line, "(calibration, uphill)") != NULL;
    return 1;
}

/* ---- beats random on the separable landscape ---- */

static void expect_wins_separable(const lx_param *params, size_t n_params, const char *what)
{
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, params, n_params);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    double wins = lx_wins(energy_vt(), s, random_vt(), b, &l, SEEDS, BUDGET, 0.9, OUTSTANDING);
    cr_log_info("%s: %.1f wins of %d on the separable landscape", what, wins, SEEDS);
    cr_expect_geq(wins, 7.0, "%s beat random in only %.1f of %d seeds", what, wins, SEEDS);
}

Test(energy, annealing_beats_random_on_separable)
{
    expect_wins_separable(NULL, 0, "annealing (4 chains)");
}

Test(energy, tempering_beats_random_on_separable)
{
    static const lx_param p[] = {{"exchange", LX_BOOL, 1, 0, 0}};
    expect_wins_separable(p, 1, "parallel tempering (4 chains)");
}

Test(energy, one_chain_beats_random_on_separable)
{
    static const lx_param p[] = {{"chains", LX_INT, 1, 0, 0}};
    expect_wins_separable(p, 1, "annealing (1 chain)");
}

/* ---- the deceptive trap: what is true ----
 * As in test_genetic.c: on lx_trap(8, 4, 4) every step towards a block's target looks worse, so
 * the chains slide into the basin where both blocks are all wrong (score 0.75, 10% of the
 * space). Annealing is drawn into it (most of its late proposals lie there, random's 10%) and
 * reaches the optimum region of the trap no faster than random (docs/STRATEGIES.md has the
 * numbers); this test pins the deception itself. */
static double basin_share(const larch_strategy_vtable *vt, const larch_host *host,
                          const lx_landscape *l, uint64_t seed)
{
    larch_arch seen[BUDGET];
    lx_outcome o = lx_search(vt, host, l, seed, BUDGET, 2.0, OUTSTANDING, seen);
    cr_assert(!isnan(o.best), "the search failed");
    uint32_t in = 0;
    for (uint32_t i = BUDGET / 2; i < o.trials; i++)
        in += lx_score(l, &seen[i]) == 0.75;
    return (double)in / (BUDGET / 2);
}

static void expect_deceived(const lx_param *params, size_t n_params, const char *what)
{
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, params, n_params);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    lx_landscape l = lx_trap(N_DECISIONS, N_CHOICES, 4, 1);
    int deceived = 0;
    for (uint64_t seed = 1000; seed < 1000 + SEEDS; seed++) {
        cr_expect_lt(basin_share(random_vt(), b, &l, seed), 0.2, "random is not deceived");
        deceived += basin_share(energy_vt(), s, &l, seed) >= 0.3;
    }
    cr_log_info("%s: in the trap's basin in %d of %d seeds", what, deceived, SEEDS);
    cr_expect_geq(deceived, 7, "%s was drawn into the trap in only %d of %d seeds", what, deceived,
                  SEEDS);
}

Test(energy, annealing_is_deceived_by_the_trap)
{
    expect_deceived(NULL, 0, "annealing");
}

Test(energy, tempering_is_deceived_by_the_trap)
{
    static const lx_param p[] = {{"exchange", LX_BOOL, 1, 0, 0}};
    expect_deceived(p, 1, "parallel tempering");
}

/* ---- temperature ---- */

/* T0 is calibrated so that the calibration's uphill moves would be accepted with mean
 * probability accept_target: recomputed here from the dE the moves logged and the T0 the INFO
 * line reports. */
static void expect_calibrated(double target, int64_t moves)
{
    const lx_param p[] = {{"accept_target", LX_FLOAT, 0, target, 0},
                          {"calibration_moves", LX_INT, moves, 0, 0}};
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 3);
    logged_search(p, 2, &l, 17, 200, OUTSTANDING);
    double t0 = NAN, sum = 0;
    int n = 0, lines_t0 = 0;
    for (int i = 0; i < n_lines; i++) {
        logged_move m;
        unsigned from;
        if (parse_move(lines[i], &m) && m.calibration) {
            cr_expect(isinf(m.t) && m.accepted && m.de > 0, "%s", lines[i]);
            cr_expect(isnan(t0), "a calibration move after T0 was set: %s", lines[i]);
            n++;
        }
        if (sscanf(lines[i], "energy: calibrated T0=%lf from %u uphill moves", &t0, &from) == 2) {
            lines_t0++;
            cr_expect_eq((int64_t)from, moves);
        }
    }
    cr_assert_eq(lines_t0, 1, "T0 calibrated %d times", lines_t0);
    cr_assert_eq(n, moves, "%d calibration moves logged", n);
    for (int i = 0; i < n_lines; i++) {
        logged_move m;
        if (parse_move(lines[i], &m) && m.calibration)
            sum += exp(-m.de / t0);
    }
    cr_expect(fabs(sum / n - target) < 1e-9,
              "at T0 = %g the calibration moves are accepted "
              "with mean probability %.12f, not %g",
              t0, sum / n, target);
}

Test(energy, calibrated_t0_accepts_the_target_share)
{
    expect_calibrated(0.8, 10);
    expect_calibrated(0.5, 25);
}

/* After calibration the ladder cools geometrically: cooling per step of each chain, so two
 * consecutive moves of a chain (the other chains' results in between) differ by exactly that. */
static void expect_geometric(int64_t chains, double cooling)
{
    const lx_param p[] = {{"chains", LX_INT, chains, 0, 0}, {"cooling", LX_FLOAT, 0, cooling, 0}};
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 3);
    /* One in flight, so the chains take turns and each chain's step is `chains` results. */
    logged_search(p, 2, &l, 5, 200, 1);
    double last_t[8] = {0};
    int checked = 0;
    for (int i = 0; i < n_lines; i++) {
        logged_move m;
        if (!parse_move(lines[i], &m) || isinf(m.t))
            continue;
        cr_assert_lt(m.chain, 8u);
        if (last_t[m.chain] > 0) {
            cr_expect(fabs(m.t / last_t[m.chain] - cooling) < 1e-12,
                      "chain %u: T %.17g after %.17g, ratio %.15f", m.chain, m.t, last_t[m.chain],
                      m.t / last_t[m.chain]);
            checked++;
        }
        last_t[m.chain] = m.t;
    }
    cr_expect_geq(checked, 100, "only %d moves checked", checked);
}

Test(energy, temperature_decreases_geometrically)
{
    expect_geometric(1, 0.95);
    expect_geometric(4, 0.9);
}

/* The ladder: with t_ratio r, chain k (rung k, no exchange) runs at T_base * r^k. */
Test(energy, chains_form_a_geometric_ladder)
{
    static const lx_param p[] = {{"t0", LX_FLOAT, 0, 2.0, 0},
                                 {"t_ratio", LX_FLOAT, 0, 0.25, 0},
                                 {"cooling", LX_FLOAT, 0, 1.0, 0}};
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 3);
    logged_search(p, 3, &l, 5, 100, OUTSTANDING);
    int checked = 0;
    for (int i = 0; i < n_lines; i++) {
        logged_move m;
        if (parse_move(lines[i], &m)) {
            cr_expect(fabs(m.t - 2.0 * pow(0.25, m.chain)) < 1e-12, "%s", lines[i]);
            checked++;
        }
    }
    cr_expect_geq(checked, 80);
}

/* The INFO lines a plot reads: "energy: chain C T=... accept=..." for every chain. */
Test(energy, logs_temperature_and_acceptance)
{
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 3);
    logged_search(NULL, 0, &l, 5, 400, OUTSTANDING);
    int per_chain[4] = {0};
    for (int i = 0; i < n_lines; i++) {
        unsigned c;
        double t, accept;
        if (sscanf(lines[i], "energy: chain %u T=%lf accept=%lf", &c, &t, &accept) == 3) {
            cr_assert_lt(c, 4u);
            cr_expect(accept >= 0 && accept <= 1, "%s", lines[i]);
            per_chain[c]++;
        }
    }
    for (int c = 0; c < 4; c++)
        cr_expect_geq(per_chain[c], 3, "chain %d logged %d INFO lines", c, per_chain[c]);
}

/* ---- chains, WAIT, exchange ---- */

Test(energy, waits_only_when_every_chain_is_outstanding)
{
    static const lx_param p[] = {{"chains", LX_INT, 3, 0, 0}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, p, 1);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = energy_vt();
    void *self = create(vt, host, &l.space, 2);
    larch_error err = {0};
    larch_arch a[3], b;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 3; i++)
            cr_assert_eq(vt->ask(self, &a[i], &err), LARCH_ASK_OK, "round %d ask %d", round, i);
        cr_assert_eq(vt->ask(self, &b, &err), LARCH_ASK_WAIT, "a 4th proposal with 3 chains");
        tell(vt, self, &a[1], lx_score(&l, &a[1]));
        cr_assert_eq(vt->ask(self, &a[1], &err), LARCH_ASK_OK, "chain 1 is free again");
        cr_assert_eq(vt->ask(self, &b, &err), LARCH_ASK_WAIT);
        tell(vt, self, &a[2], lx_score(&l, &a[2]));
        tell(vt, self, &a[0], lx_score(&l, &a[0]));
        tell(vt, self, &a[1], lx_score(&l, &a[1]));
    }
    larch_result r = result_of(0.5);
    cr_expect_lt(vt->tell(self, &a[1], &r, &err), 0, "a result told twice");
    cr_expect(strstr(err.message, "not an outstanding proposal"), "%s", err.message);
    vt->destroy(self);
}

/* Moves into a failed trial (infinite energy) are rejected. */
Test(energy, never_moves_into_a_failure)
{
    lx_host h;
    lx_host_init(&h, NULL, 0);
    h.host.log = capture_log;
    n_lines = 0;
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = energy_vt();
    void *self = create(vt, &h.host, &l.space, 2);
    larch_error err = {0};
    for (int k = 0; k < 300; k++) {
        larch_arch a;
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK);
        larch_result r = result_of(lx_score(&l, &a));
        if (k % 3 == 1) {
            r.status = LARCH_TRIAL_FAILED;
            r.score = -INFINITY;
        }
        cr_assert_eq(vt->tell(self, &a, &r, &err), LARCH_OK, "%s", err.message);
    }
    vt->destroy(self);
    int failures = 0;
    for (int i = 0; i < n_lines; i++) {
        logged_move m;
        if (parse_move(lines[i], &m) && isinf(m.e_new) && !isinf(m.e)) {
            cr_expect(!m.accepted, "%s", lines[i]);
            failures++;
        }
    }
    cr_expect_geq(failures, 50);
}

Test(energy, exchange_swaps_temperatures)
{
    static const lx_param p[] = {{"exchange", LX_BOOL, 1, 0, 0},
                                 {"exchange_every", LX_INT, 2, 0, 0}};
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 3);
    logged_search(p, 2, &l, 5, 300, OUTSTANDING);
    int tried = 0, swapped = 0;
    for (int i = 0; i < n_lines; i++) {
        if (strncmp(lines[i], "energy: exchange rungs", 22))
            continue;
        tried++;
        swapped += strstr(lines[i], "swapped") != NULL;
    }
    cr_expect_geq(tried, 100, "%d exchanges tried", tried);
    cr_expect(swapped > 0 && swapped < tried, "%d of %d swapped", swapped, tried);
}

/* skip_seen: no arch is proposed twice, and DONE once the space is exhausted. */
Test(energy, tiny_space_is_done_without_repeats)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(3, 2, 1);
    larch_arch seen[16];
    /* One in flight: lx_search stops at DONE without telling what is still outstanding. */
    lx_outcome o = lx_search(energy_vt(), host, &l, 5, 16, 2.0, 1, seen);
    cr_assert(o.done);
    cr_expect_eq(o.trials, 8);
    for (uint32_t i = 0; i < o.trials; i++)
        for (uint32_t j = 0; j < i; j++)
            cr_expect(!larch_arch_equal(&seen[i], &seen[j]), "proposals %u and %u repeat", j, i);
}

/* ---- checkpoints ---- */

Test(energy, annealing_resumes_identically)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    /* Saved while chains start, during calibration, and while cooling. */
    cr_expect(lx_resume_matches(energy_vt(), host, &l, 21, 200, 2, 4));
    cr_expect(lx_resume_matches(energy_vt(), host, &l, 21, 200, 9, 3));
    cr_expect(lx_resume_matches(energy_vt(), host, &l, 22, 200, 123, 4));
}

Test(energy, tempering_resumes_identically)
{
    static const lx_param p[] = {{"exchange", LX_BOOL, 1, 0, 0},
                                 {"exchange_every", LX_INT, 1, 0, 0}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, p, 2);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    cr_expect(lx_resume_matches(energy_vt(), host, &l, 31, 200, 9, 4));
    cr_expect(lx_resume_matches(energy_vt(), host, &l, 32, 200, 101, 2));
}

/* Every truncation of a checkpoint, garbage, another strategy's checkpoint and another space's
 * are refused, and a refused load leaves the strategy as it was. */
Test(energy, bad_checkpoints_are_refused)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = energy_vt();
    void *a = create(vt, host, &l.space, 4), *b = create(vt, host, &l.space, 4);
    larch_error err = {0};
    larch_arch x, y;
    for (int k = 0; k < 30; k++) {
        cr_assert_eq(vt->ask(a, &x, &err), LARCH_ASK_OK);
        cr_assert_eq(vt->ask(b, &y, &err), LARCH_ASK_OK);
        tell(vt, a, &x, lx_score(&l, &x));
        tell(vt, b, &y, lx_score(&l, &y));
    }
    cr_assert_eq(vt->ask(a, &x, &err), LARCH_ASK_OK); /* one outstanding in the checkpoint */
    cr_assert_eq(vt->ask(b, &y, &err), LARCH_ASK_OK);
    void *bytes = NULL;
    size_t size = 0;
    cr_assert_eq(vt->save(a, &bytes, &size, &err), LARCH_OK, "%s", err.message);
    for (size_t n = 0; n < size; n++)
        cr_assert_lt(vt->load(b, bytes, n, &err), 0, "a checkpoint cut at %zu of %zu loaded", n,
                     size);
    uint8_t garbage[4096];
    larch_rng rng;
    larch_rng_seed(&rng, 9);
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)larch_rng_next(&rng);
    cr_expect_eq(vt->load(b, garbage, sizeof garbage, &err), LARCH_EFORMAT);
    cr_assert_lt(size, sizeof garbage);
    memcpy(garbage, bytes, 56); /* a valid header and parameters, then garbage */
    cr_expect_lt(vt->load(b, garbage, size, &err), 0);
    lx_landscape other = lx_separable(N_DECISIONS + 1, N_CHOICES, 1);
    void *c = create(vt, host, &other.space, 4);
    cr_expect_eq(vt->load(c, bytes, size, &err), LARCH_EINVAL, "%s", err.message);
    vt->destroy(c);
    const larch_strategy_vtable *rnd = random_vt();
    void *r = create(rnd, host, &l.space, 4);
    void *rbytes = NULL;
    size_t rsize = 0;
    cr_assert_eq(rnd->save(r, &rbytes, &rsize, &err), LARCH_OK);
    cr_expect_eq(vt->load(b, rbytes, rsize, &err), LARCH_EFORMAT, "%s", err.message);
    rnd->destroy(r);
    free(rbytes);

    tell(vt, a, &x, lx_score(&l, &x));
    tell(vt, b, &y, lx_score(&l, &y));
    for (int k = 0; k < 50; k++) {
        cr_assert_eq(vt->ask(a, &x, &err), LARCH_ASK_OK);
        cr_assert_eq(vt->ask(b, &y, &err), LARCH_ASK_OK);
        cr_assert(larch_arch_equal(&x, &y), "proposal %d differs after refused loads", k);
        tell(vt, a, &x, lx_score(&l, &x));
        tell(vt, b, &y, lx_score(&l, &y));
    }
    free(bytes);
    vt->destroy(a);
    vt->destroy(b);
}

Test(energy, checkpoint_of_other_parameters_is_refused)
{
    static const lx_param p3[] = {{"chains", LX_INT, 3, 0, 0}};
    lx_host h3, h4;
    const larch_host *a = lx_host_init(&h3, p3, 1), *b = lx_host_init(&h4, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = energy_vt();
    void *x = create(vt, a, &l.space, 1), *y = create(vt, b, &l.space, 1);
    void *bytes = NULL;
    size_t size = 0;
    larch_error err = {0};
    cr_assert_eq(vt->save(x, &bytes, &size, &err), LARCH_OK);
    cr_expect_eq(vt->load(y, bytes, size, &err), LARCH_EINVAL);
    cr_expect(strstr(err.message, "chains 3"), "%s", err.message);
    free(bytes);
    vt->destroy(x);
    vt->destroy(y);
}

/* ---- parameters ---- */

static void expect_param_refused(lx_param p, const char *key)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, &p, 1);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    void *self = NULL;
    larch_error err = {0};
    int rc = energy_vt()->create(host, &l.space, 1, &self, &err);
    cr_expect_lt(rc, 0, "%s accepted", key);
    cr_expect_null(self);
    cr_expect(strstr(err.message, key), "the message does not name %s: %s", key, err.message);
}

Test(energy, parameter_range_errors_name_the_key)
{
    expect_param_refused((lx_param){"chains", LX_INT, 0, 0, 0}, "chains");
    expect_param_refused((lx_param){"chains", LX_INT, 257, 0, 0}, "chains");
    expect_param_refused((lx_param){"t0", LX_FLOAT, 0, -1, 0}, "t0");
    expect_param_refused((lx_param){"t0", LX_FLOAT, 0, INFINITY, 0}, "t0");
    expect_param_refused((lx_param){"accept_target", LX_FLOAT, 0, 1.0, 0}, "accept_target");
    expect_param_refused((lx_param){"accept_target", LX_FLOAT, 0, 0.0, 0}, "accept_target");
    expect_param_refused((lx_param){"cooling", LX_FLOAT, 0, 0.0, 0}, "cooling");
    expect_param_refused((lx_param){"cooling", LX_FLOAT, 0, 1.01, 0}, "cooling");
    expect_param_refused((lx_param){"cooling", LX_FLOAT, 0, NAN, 0}, "cooling");
    expect_param_refused((lx_param){"calibration_moves", LX_INT, 0, 0, 0}, "calibration_moves");
    expect_param_refused((lx_param){"exchange_every", LX_INT, 0, 0, 0}, "exchange_every");
    expect_param_refused((lx_param){"t_ratio", LX_FLOAT, 0, 0.0, 0}, "t_ratio");
    expect_param_refused((lx_param){"t_ratio", LX_FLOAT, 0, 1.5, 0}, "t_ratio");
    expect_param_refused((lx_param){"exchange", LX_INT, 1, 0, 0}, "exchange");
}

/* ---- out of memory ---- */

static long allocs_left;

static void *failing_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return allocs_left-- > 0 ? calloc(1, size) : NULL;
}

/* Whichever allocation fails, the strategy reports LARCH_ENOMEM with a message and never
 * crashes (ASan builds also check that nothing leaks). */
Test(energy, out_of_memory_is_an_error)
{
    lx_host h;
    lx_host_init(&h, NULL, 0);
    h.host.alloc = failing_alloc;
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = energy_vt();
    int failures = 0;
    for (long n = 0; n < 40; n++) {
        allocs_left = n;
        void *self = NULL;
        larch_error err = {0};
        int rc = vt->create(&h.host, &l.space, 1, &self, &err);
        for (int k = 0; rc >= 0 && k < 300; k++) {
            larch_arch a;
            rc = vt->ask(self, &a, &err);
            if (rc == LARCH_ASK_OK) {
                larch_result r = result_of(lx_score(&l, &a));
                rc = vt->tell(self, &a, &r, &err);
            }
            if (rc >= 0 && k % 50 == 0) {
                void *bytes = NULL;
                size_t size = 0;
                rc = vt->save(self, &bytes, &size, &err);
                if (rc == LARCH_OK)
                    rc = vt->load(self, bytes, size, &err);
                free(bytes);
            }
        }
        if (rc < 0) {
            cr_expect_eq(rc, LARCH_ENOMEM, "allocation %ld: %d %s", n, rc, err.message);
            cr_expect(err.message[0], "no message");
            failures++;
        }
        vt->destroy(self);
    }
    cr_expect_geq(failures, 5);
}
