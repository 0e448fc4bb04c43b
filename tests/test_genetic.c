/* The genetic strategy plugin (plugins/genetic/genetic.c) in both modes, loaded as the host loads
 * it, on the synthetic landscapes of tests/landscape.h: it beats uniform random search on a
 * separable landscape, what it does on a deceptive trap, the asynchronous semantics of each mode,
 * save/load equivalence, bad checkpoints and bad parameters. */
#include "plugin_util.h"

static const larch_strategy_vtable *genetic_vt(void)
{
    return lx_vt("genetic.so");
}

static uint32_t hamming(const larch_arch *a, const larch_arch *b)
{
    uint32_t d = 0;
    for (uint32_t i = 0; i < a->n; i++)
        d += a->choice[i] != b->choice[i];
    return d;
}

/* ---- beats random on the separable landscape ---- */

Test(genetic, evolution_beats_random_on_separable)
{
    lx_expect_wins_separable(genetic_vt(), NULL, 0, "evolution (P=10, S=3)");
}

Test(genetic, ga_beats_random_on_separable)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_expect_wins_separable(genetic_vt(), p, 1, "ga (Genetic CNN defaults)");
}

Test(genetic, ga_tournament_beats_random_on_separable)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"},
                                 {"selection", LX_STRING, 0, 0, "tournament"}};
    lx_expect_wins_separable(genetic_vt(), p, 2, "ga with tournament selection");
}

/* ---- the deceptive trap: what is true ----
 * On lx_trap(8, 4, 4): two blocks of 4 decisions; a block scores 1 when all 4 are at their
 * target, else (3 - u) / 4 with u of them at target, so every step towards the optimum looks
 * worse and a local search slides into the basin where both blocks are all wrong (score 0.75,
 * 3^8 = 6561 archs, 10% of the space). Both modes are drawn into that basin: in the second half
 * of a 400-trial run most of their proposals lie in it, where random's lie there 10% of the time.
 * That is why neither mode reaches the optimum region (a solved block, score >= 0.875) faster
 * than random there (docs/STRATEGIES.md has the numbers); these tests pin the deception itself. */

Test(genetic, evolution_is_deceived_by_the_trap)
{
    lx_expect_deceived(genetic_vt(), NULL, 0, "evolution");
}

Test(genetic, ga_is_deceived_by_the_trap)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_expect_deceived(genetic_vt(), p, 1, "ga");
}

/* On a milder trap (four blocks of 2) crossover can combine solved blocks: the GA finds the
 * global optimum within the budget in some seeds, random (1 chance in 164 per run) in none. */
Test(genetic, ga_finds_the_optimum_of_a_mild_trap)
{
    static const lx_param p[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, p, 1);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    lx_landscape l = lx_trap(LX_DECISIONS, LX_CHOICES, 2, 1);
    int ga = 0, rnd = 0;
    for (uint64_t seed = 1000; seed < 1000 + LX_SEEDS; seed++) {
        ga += lx_search(genetic_vt(), s, &l, seed, LX_BUDGET, 1.0, LX_OUTSTANDING, NULL).to_target >
              0;
        rnd += lx_search(lx_vt("random.so"), b, &l, seed, LX_BUDGET, 1.0, LX_OUTSTANDING, NULL)
                   .to_target > 0;
    }
    cr_log_info("mild trap: ga reached the optimum in %d of %d seeds, random in %d", ga, LX_SEEDS,
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
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = lx_create(vt, host, &l.space, 7);
    larch_error err = {0};
    larch_arch gen[6], a;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(vt->ask(self, &gen[i], &err), LARCH_ASK_OK, "ask %d: %s", i, err.message);
    cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_WAIT, "a 7th proposal before any result");
    /* Tell in the order 3 0 5 1 4; WAIT until the last (2) arrives. */
    static const int order[] = {3, 0, 5, 1, 4};
    for (int i = 0; i < 5; i++) {
        lx_tell(vt, self, &gen[order[i]], lx_score(&l, &gen[order[i]]));
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_WAIT, "after %d of 6 results", i + 1);
    }
    lx_tell(vt, self, &gen[2], lx_score(&l, &gen[2]));
    cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK, "the next generation: %s", err.message);
    /* A result told twice, or for an arch never proposed, is refused. */
    larch_result r = lx_result(0.5);
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
    h.host.log = lx_capture_log;
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 2);
    lx_n_lines = 0;
    lx_search(genetic_vt(), host, &l, 3, LX_BUDGET, 2.0, LX_OUTSTANDING, NULL);
    double last = -1;
    int generations = 0;
    for (int i = 0; i < lx_n_lines; i++) {
        unsigned long long g;
        double best;
        if (sscanf(lx_lines[i], "genetic: generation %llu: best %lf", &g, &best) != 2)
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
    lx_expect_exhausts_without_repeats(genetic_vt(), p, 1, 2, 2, LX_OUTSTANDING);
}

/* ---- evolution: steady state and aging ---- */

Test(genetic, evolution_never_waits)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = lx_create(vt, host, &l.space, 3);
    larch_error err = {0};
    larch_arch a[40];
    /* 40 in flight with no result yet: past the 10 initial ones it keeps proposing. */
    for (int i = 0; i < 40; i++)
        cr_assert_eq(vt->ask(self, &a[i], &err), LARCH_ASK_OK, "ask %d", i);
    for (int i = 0; i < 40; i++) {
        lx_tell(vt, self, &a[i], lx_score(&l, &a[i]));
        larch_arch b;
        cr_assert_eq(vt->ask(self, &b, &err), LARCH_ASK_OK);
        lx_tell(vt, self, &b, lx_score(&l, &b));
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
    larch_space space = lx_space(LX_DECISIONS, LX_CHOICES);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = lx_create(vt, host, &space, 11);
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
        lx_tell(vt, self, &a, score);
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

/* skip_seen: no arch is proposed twice, and DONE once the space is exhausted (one in flight). */
Test(genetic, evolution_tiny_space_is_done_without_repeats)
{
    lx_expect_exhausts_without_repeats(genetic_vt(), NULL, 0, 3, 2, 1);
}

/* Failed trials take part with the worst fitness: a run where every trial fails keeps going. */
static void expect_survives_failures(const lx_param *params, size_t n_params)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, n_params);
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    const larch_strategy_vtable *vt = genetic_vt();
    void *self = lx_create(vt, host, &l.space, 1);
    larch_error err = {0};
    for (int k = 0; k < 200; k++) {
        larch_arch a;
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK, "ask %d: %s", k, err.message);
        larch_result r = lx_result(k % 3 ? -INFINITY : lx_score(&l, &a));
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
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
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
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    /* Mid-generation with results outstanding, and later. */
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 31, 200, 13, 4));
    cr_expect(lx_resume_matches(genetic_vt(), host, &l, 32, 200, 77, 5));
    cr_expect(lx_resume_matches(genetic_vt(), host_t, &l, 33, 200, 50, 3));
}

/* 48 bytes: the header (magic, version, shape) and the first of the parameters it records. */
Test(genetic, bad_checkpoints_are_refused)
{
    static const lx_param ga[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_expect_bad_checkpoints_refused(genetic_vt(), NULL, 0, 48);
    lx_expect_bad_checkpoints_refused(genetic_vt(), ga, 1, 48);
}

Test(genetic, checkpoint_of_other_parameters_is_refused)
{
    static const lx_param p10[] = {{"population", LX_INT, 10, 0, 0}};
    static const lx_param p12[] = {{"population", LX_INT, 12, 0, 0}};
    lx_expect_other_params_refused(genetic_vt(), p10, 1, p12, 1, "population 10");
}

/* ---- parameters ---- */

static void expect_param_refused(lx_param p, const char *mode, const char *key)
{
    lx_param params[2] = {p, {"mode", LX_STRING, 0, 0, mode}};
    lx_expect_param_refused(genetic_vt(), params, 2, 0, key);
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

Test(genetic, out_of_memory_is_an_error)
{
    static const lx_param ga[] = {{"mode", LX_STRING, 0, 0, "ga"}};
    lx_expect_enomem_handled(genetic_vt(), NULL, 0);
    lx_expect_enomem_handled(genetic_vt(), ga, 1);
}
