/* The genetic strategy plugin (plugins/genetic/genetic.c) in both modes, loaded as the host loads
 * it, on the synthetic landscapes of tests/landscape.h: it beats uniform random search on a
 * separable landscape, what it does on a deceptive trap, the asynchronous semantics of each mode,
 * save/load equivalence, bad checkpoints and bad parameters. */
#include <criterion/criterion.h>

#include "landscape.h"

/* The protocol of the comparisons with random: 8 decisions x 4 choices (65,536 archs), 400
 * trials, 4 proposals in flight told in shuffled order, 10 seeds; "the optimum region" is a
 * score >= 0.9 on the separable landscape (the optimum scores 1, a wrong decision costs at
 * least 0.05), which random reaches within 400 trials in about 1 run of 10. */
#define N_DECISIONS 8
#define N_CHOICES 4
#define BUDGET 400
#define SEEDS 10
#define OUTSTANDING 4

static const larch_strategy_vtable *genetic_vt(void)
{
    const larch_strategy_vtable *vt = lx_load_strategy("genetic.so");
    cr_assert_not_null(vt, "genetic.so did not load");
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

static uint32_t hamming(const larch_arch *a, const larch_arch *b)
{
    uint32_t d = 0;
    for (uint32_t i = 0; i < a->n; i++)
        d += a->choice[i] != b->choice[i];
    return d;
}

/* ---- log capture, for what the strategy reports at INFO ---- */

#define MAX_LINES 4096
static char lines[MAX_LINES][256];
static int n_lines;

static void capture_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    if (level <= LARCH_LOG_INFO && n_lines < MAX_LINES)
        snprintf(lines[n_lines++], sizeof lines[0], "%s", message);
}

/* ---- beats random on the separable landscape ---- */

static void expect_wins_separable(const lx_param *params, size_t n_params, const char *what)
{
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, params, n_params);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    double wins = lx_wins(genetic_vt(), s, random_vt(), b, &l, SEEDS, BUDGET, 0.9, OUTSTANDING);
    cr_log_info("%s: %.1f wins of %d on the separable landscape", what, wins, SEEDS);
    cr_expect_geq(wins, 7.0, "%s beat random in only %.1f of %d seeds", what, wins, SEEDS);
}

Test(genetic, evolution_beats_random_on_separable)
{
    expect_wins_separable(NULL, 0, "evolution (P=10, S=3)");
}

Test(genetic, ga_beats_random_on_separable)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    expect_wins_separable(p, 1, "ga (Genetic CNN defaults)");
}

Test(genetic, ga_tournament_beats_random_on_separable)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"},
                                 {"selection", LX_STRING, 0, 0, "tournament"}};
    expect_wins_separable(p, 2, "ga with tournament selection");
}

/* ---- the deceptive trap: what is true ----
 * On lx_trap(8, 4, 4): two blocks of 4 decisions; a block scores 1 when all 4 are at their
 * target, else (3 - u) / 4 with u of them at target, so every step towards the optimum looks
 * worse and a local search slides into the basin where both blocks are all wrong (score 0.75,
 * 3^8 = 6561 archs, 10% of the space). Both modes are drawn into that basin: in the second half
 * of a 400-trial run most of their proposals lie in it, where random's lie there 10% of the time.
 * That is why neither mode reaches the optimum region (a solved block, score >= 0.875) faster
 * than random there (docs/STRATEGIES.md has the numbers); this test pins the deception itself. */
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
        deceived += basin_share(genetic_vt(), s, &l, seed) >= 0.3;
    }
    cr_log_info("%s: in the trap's basin in %d of %d seeds", what, deceived, SEEDS);
    cr_expect_geq(deceived, 7, "%s was drawn into the trap in only %d of %d seeds", what, deceived,
                  SEEDS);
}

Test(genetic, evolution_is_deceived_by_the_trap)
{
    expect_deceived(NULL, 0, "evolution");
}

Test(genetic, ga_is_deceived_by_the_trap)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    expect_deceived(p, 1, "ga");
}

/* On a milder trap (four blocks of 2) crossover can combine solved blocks: the GA finds the
 * global optimum within the budget in some seeds, random (1 chance in 164 per run) in none. */
Test(genetic, ga_finds_the_optimum_of_a_mild_trap)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, p, 1);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    lx_landscape l = lx_trap(N_DECISIONS, N_CHOICES, 2, 1);
    int ga = 0, rnd = 0;
    for (uint64_t seed = 1000; seed < 1000 + SEEDS; seed++) {
        ga += lx_search(genetic_vt(), s, &l, seed, BUDGET, 1.0, OUTSTANDING, NULL).to_target > 0;
        rnd += lx_search(random_vt(), b, &l, seed, BUDGET, 1.0, OUTSTANDING, NULL).to_target > 0;
    }
    cr_log_info("mild trap: ga reached the optimum in %d of %d seeds, random in %d", ga, SEEDS,
                rnd);
    cr_expect_gt(ga, rnd);
    cr_expect_geq(ga, 2);
}

/* ---- ga: generations ---- */

/* A generation is proposed in full, then WAIT until its last result arrives, in any order. */
Test(genetic, ga_waits_for_the_whole_generation)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}, {"population", LX_INT, 6, 0, 0}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, p, 2);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = create(vt, host, &l.space, 7);
    larch_error err = {0};
    larch_arch gen[6], a;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(vt->ask(self, &gen[i], &err), LARCH_ASK_OK, "ask %d: %s", i, err.message);
    cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_WAIT, "a 7th proposal before any result");
    /* Tell in the order 3 0 5 1 4; WAIT until the last (2) arrives. */
    static const int order[] = {3, 0, 5, 1, 4};
    for (int i = 0; i < 5; i++) {
        tell(vt, self, &gen[order[i]], lx_score(&l, &gen[order[i]]));
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_WAIT, "after %d of 6 results", i + 1);
    }
    tell(vt, self, &gen[2], lx_score(&l, &gen[2]));
    cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK, "the next generation: %s", err.message);
    /* A result told twice, or for an arch never proposed, is refused. */
    larch_result r = result_of(0.5);
    cr_expect_lt(vt->tell(self, &gen[2], &r, &err), 0);
    cr_expect(strstr(err.message, "not an outstanding proposal"), "%s", err.message);
    vt->destroy(self);
}

/* Elites survive: the best score of a generation never drops (read from the INFO lines). */
Test(genetic, ga_elitism_keeps_the_best)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"},
                                 {"p_mutation", LX_FLOAT, 0, 1.0, 0},
                                 {"q_mutation", LX_FLOAT, 0, 0.5, 0}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, p, 3);
    h.host.log = capture_log;
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 2);
    n_lines = 0;
    lx_search(genetic_vt(), host, &l, 3, BUDGET, 2.0, OUTSTANDING, NULL);
    double last = -1;
    int generations = 0;
    for (int i = 0; i < n_lines; i++) {
        unsigned long long g;
        double best;
        if (sscanf(lines[i], "genetic: generation %llu: best %lf", &g, &best) != 2)
            continue;
        cr_expect_geq(best, last, "generation %llu: best %g after %g", g, best, last);
        last = best;
        generations++;
    }
    cr_expect_geq(generations, 10, "only %d generation lines", generations);
}

/* On a space smaller than the population the GA proposes each arch at most once, reuses known
 * results, and ends with DONE once every arch is known. */
Test(genetic, ga_tiny_space_is_done_without_repeats)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, p, 1);
    lx_landscape l = lx_separable(2, 2, 1);
    larch_arch seen[8];
    lx_outcome o = lx_search(genetic_vt(), host, &l, 5, 8, 2.0, OUTSTANDING, seen);
    cr_assert(o.done, "not DONE after %u trials", o.trials);
    cr_expect_eq(o.trials, 4);
    for (uint32_t i = 0; i < o.trials; i++)
        for (uint32_t j = 0; j < i; j++)
            cr_expect(!larch_arch_equal(&seen[i], &seen[j]), "proposals %u and %u repeat", j, i);
}

/* ---- evolution: steady state and aging ---- */

Test(genetic, evolution_never_waits)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = create(vt, host, &l.space, 3);
    larch_error err = {0};
    larch_arch a[40];
    /* 40 in flight with no result yet: past the 10 initial ones it keeps proposing. */
    for (int i = 0; i < 40; i++)
        cr_assert_eq(vt->ask(self, &a[i], &err), LARCH_ASK_OK, "ask %d", i);
    for (int i = 0; i < 40; i++) {
        tell(vt, self, &a[i], lx_score(&l, &a[i]));
        larch_arch b;
        cr_assert_eq(vt->ask(self, &b, &err), LARCH_ASK_OK);
        tell(vt, self, &b, lx_score(&l, &b));
    }
    vt->destroy(self);
}

/* A rugged landscape: every arch gets an unrelated score in [0, 1), so an old member of the
 * population is as likely as a new one to be the best of a sample. */
static double rugged(const larch_arch *a)
{
    return (double)(larch_seed_derive(larch_arch_hash(a), 1) >> 11) / 9007199254740992.0;
}

/* With population P, each child (after the first P random ones) is a one-decision mutation of
 * one of the last P results: older ones have left the population. With P = 1 it is always the
 * latest result, however bad, never the best so far. */
static void expect_parent_among_last(int64_t population)
{
    const lx_param p[] = {{"population", LX_INT, population, 0, 0},
                          {"sample", LX_INT, population, 0, 0},
                          {"skip_seen", LX_BOOL, 0, 0, 0}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, p, 3);
    larch_space space = lx_space(N_DECISIONS, N_CHOICES);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = create(vt, host, &space, 11);
    larch_error err = {0};
    enum { STEPS = 300 };
    larch_arch told[STEPS];
    int worse_parent = 0;
    double best = -1;
    for (int k = 0; k < STEPS; k++) {
        larch_arch a;
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK);
        if (k >= population) {
            int found = 0;
            for (int j = k - 1; j >= k - population && !found; j--)
                found = hamming(&a, &told[j]) == 1;
            cr_assert(found, "child %d is not a mutation of the last %lld results", k,
                      (long long)population);
            worse_parent += rugged(&told[k - 1]) < best;
        }
        told[k] = a;
        double score = rugged(&a);
        best = score > best ? score : best;
        tell(vt, self, &a, score);
    }
    cr_expect_gt(worse_parent, 100, "the latest result was rarely worse than the best so far");
    vt->destroy(self);
}

Test(genetic, evolution_population_of_one_ages)
{
    expect_parent_among_last(1);
}

Test(genetic, evolution_population_of_three_ages)
{
    expect_parent_among_last(3);
}

/* skip_seen: no arch is proposed twice, and DONE once the space is exhausted. */
Test(genetic, evolution_tiny_space_is_done_without_repeats)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(3, 2, 1);
    larch_arch seen[16];
    /* One in flight: lx_search stops at DONE without telling what is still outstanding. */
    lx_outcome o = lx_search(genetic_vt(), host, &l, 5, 16, 2.0, 1, seen);
    cr_assert(o.done);
    cr_expect_eq(o.trials, 8);
    for (uint32_t i = 0; i < o.trials; i++)
        for (uint32_t j = 0; j < i; j++)
            cr_expect(!larch_arch_equal(&seen[i], &seen[j]), "proposals %u and %u repeat", j, i);
}

/* Failed trials take part with the worst fitness: a run where every trial fails keeps going. */
static void expect_survives_failures(const lx_param *params, size_t n_params)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, n_params);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = create(vt, host, &l.space, 1);
    larch_error err = {0};
    for (int k = 0; k < 200; k++) {
        larch_arch a;
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK, "ask %d: %s", k, err.message);
        larch_result r = result_of(k % 3 ? -INFINITY : lx_score(&l, &a));
        r.status = k % 3 ? LARCH_TRIAL_FAILED : LARCH_TRIAL_OK;
        cr_assert_eq(vt->tell(self, &a, &r, &err), LARCH_OK, "%s", err.message);
    }
    vt->destroy(self);
}

Test(genetic, failures_take_part_as_the_worst)
{
    static const lx_param ga[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    static const lx_param ga_t[] = {{"mode", LX_STRING, 0, 0, "ga"},
                                    {"selection", LX_STRING, 0, 0, "tournament"}};
    expect_survives_failures(NULL, 0);
    expect_survives_failures(ga, 1);
    expect_survives_failures(ga_t, 2);
}

/* ---- checkpoints ---- */

Test(genetic, evolution_resumes_identically)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    /* Saved in the random phase, just after it, and deep into the search. */
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 21, 200, 5, 4));
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 21, 200, 11, 4));
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 22, 200, 123, 6));
}

Test(genetic, ga_resumes_identically)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    static const lx_param pt[] = {{"mode", LX_STRING, 0, 0, "ga"},
                                  {"selection", LX_STRING, 0, 0, "tournament"},
                                  {"elitism", LX_INT, 3, 0, 0}};
    lx_host h, ht;
    const larch_host *host = lx_host_init(&h, p, 1), *host_t = lx_host_init(&ht, pt, 3);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    /* Mid-generation with results outstanding, and later. */
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 31, 200, 13, 4));
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 32, 200, 77, 5));
    cr_expect(lx_resume_matches(genetic_vt(), host_t, &l, 33, 200, 50, 3));
}

/* Every truncation of a checkpoint, garbage, another strategy's checkpoint and another space's
 * are refused, and a refused load leaves the strategy as it was. */
static void expect_bad_checkpoints_refused(const lx_param *params, size_t n_params)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, n_params);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
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
    /* Valid header, garbage body. */
    memcpy(garbage, bytes, size < 48 ? size : 48);
    cr_expect_lt(vt->load(b, garbage, size < sizeof garbage ? size : sizeof garbage, &err), 0);
    /* Another space's shape. */
    lx_landscape other = lx_separable(N_DECISIONS, N_CHOICES + 1, 1);
    void *c = create(vt, host, &other.space, 4);
    cr_expect_eq(vt->load(c, bytes, size, &err), LARCH_EINVAL, "%s", err.message);
    vt->destroy(c);
    /* Another strategy's checkpoint. */
    const larch_strategy_vtable *rnd = random_vt();
    void *r = create(rnd, host, &l.space, 4);
    void *rbytes = NULL;
    size_t rsize = 0;
    cr_assert_eq(rnd->save(r, &rbytes, &rsize, &err), LARCH_OK);
    cr_expect_eq(vt->load(b, rbytes, rsize, &err), LARCH_EFORMAT, "%s", err.message);
    rnd->destroy(r);
    free(rbytes);

    /* b was refused every time: it goes on exactly as a, which was never touched. */
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

Test(genetic, bad_checkpoints_are_refused)
{
    static const lx_param ga[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    expect_bad_checkpoints_refused(NULL, 0);
    expect_bad_checkpoints_refused(ga, 1);
}

Test(genetic, checkpoint_of_other_parameters_is_refused)
{
    static const lx_param p10[] = {{"population", LX_INT, 10, 0, 0}};
    static const lx_param p12[] = {{"population", LX_INT, 12, 0, 0}};
    lx_host h10, h12;
    const larch_host *a = lx_host_init(&h10, p10, 1), *b = lx_host_init(&h12, p12, 1);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *x = create(vt, a, &l.space, 1), *y = create(vt, b, &l.space, 1);
    void *bytes = NULL;
    size_t size = 0;
    larch_error err = {0};
    cr_assert_eq(vt->save(x, &bytes, &size, &err), LARCH_OK);
    cr_expect_eq(vt->load(y, bytes, size, &err), LARCH_EINVAL);
    cr_expect(strstr(err.message, "population 10"), "%s", err.message);
    free(bytes);
    vt->destroy(x);
    vt->destroy(y);
}

/* ---- parameters ---- */

static void expect_param_refused(lx_param p, const char *mode, const char *key)
{
    lx_param params[2] = {p, {"mode", LX_STRING, 0, 0, mode}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, 2);
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    void *self = NULL;
    larch_error err = {0};
    int rc = genetic_vt()->create(host, &l.space, 1, &self, &err);
    cr_expect_lt(rc, 0, "%s accepted", key);
    cr_expect_null(self);
    cr_expect(strstr(err.message, key), "the message does not name %s: %s", key, err.message);
}

Test(genetic, parameter_range_errors_name_the_key)
{
    expect_param_refused((lx_param){"population", LX_INT, 0, 0, 0}, "evolution", "population");
    expect_param_refused((lx_param){"sample", LX_INT, 11, 0, 0}, "evolution", "sample");
    expect_param_refused((lx_param){"sample", LX_INT, 0, 0, 0}, "evolution", "sample");
    expect_param_refused((lx_param){"population", LX_INT, 1, 0, 0}, "ga", "population");
    expect_param_refused((lx_param){"selection", LX_STRING, 0, 0, "rank"}, "ga", "selection");
    expect_param_refused((lx_param){"tournament", LX_INT, 21, 0, 0}, "ga", "tournament");
    expect_param_refused((lx_param){"elitism", LX_INT, 20, 0, 0}, "ga", "elitism");
    expect_param_refused((lx_param){"elitism", LX_INT, -1, 0, 0}, "ga", "elitism");
    expect_param_refused((lx_param){"p_crossover", LX_FLOAT, 0, 1.5, 0}, "ga", "p_crossover");
    expect_param_refused((lx_param){"q_crossover", LX_FLOAT, 0, -0.1, 0}, "ga", "q_crossover");
    expect_param_refused((lx_param){"p_mutation", LX_FLOAT, 0, NAN, 0}, "ga", "p_mutation");
    expect_param_refused((lx_param){"q_mutation", LX_FLOAT, 0, 2, 0}, "ga", "q_mutation");
    expect_param_refused((lx_param){"skip_seen", LX_STRING, 0, 0, "yes"}, "evolution", "skip_seen");
    expect_param_refused((lx_param){"x", LX_INT, 0, 0, 0}, "annealing", "mode");
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
static void expect_enomem_handled(const lx_param *params, size_t n_params)
{
    lx_host h;
    lx_host_init(&h, params, n_params);
    h.host.alloc = failing_alloc;
    lx_landscape l = lx_separable(N_DECISIONS, N_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
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

Test(genetic, out_of_memory_is_an_error)
{
    static const lx_param ga[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    expect_enomem_handled(NULL, 0);
    expect_enomem_handled(ga, 1);
}
