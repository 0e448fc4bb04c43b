/* Criterion checks shared by the strategy suites (test_genetic.c, test_energy.c, test_rl.c): a
 * plugin loaded and created or the test fails, a log that captures every line, and the checks
 * every strategy must pass: it beats random on a separable landscape, it is deceived by a trap,
 * it exhausts a tiny space without repeats, it refuses bad checkpoints and parameters, and it
 * reports running out of memory. Header-only, on top of landscape.h. */
#ifndef TESTS_PLUGIN_UTIL_H
#define TESTS_PLUGIN_UTIL_H

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "landscape.h"

/* The protocol of the comparisons with random: 8 decisions x 4 choices (65,536 archs), 400
 * trials, 4 proposals in flight told in shuffled order, 10 seeds; "the optimum region" is a
 * score >= 0.9 on the separable landscape (the optimum scores 1, a wrong decision costs at
 * least 0.05), which random reaches within 400 trials in about 1 run of 10. */
#define LX_DECISIONS 8
#define LX_CHOICES 4
#define LX_BUDGET 400
#define LX_SEEDS 10
#define LX_OUTSTANDING 4

/* The strategy of <LARCH_TEST_PLUGIN_DIR>/<file>, or the test fails. */
LX_UNUSED static const larch_strategy_vtable *lx_vt(const char *file)
{
    const larch_strategy_vtable *vt = lx_load_strategy(file);
    cr_assert_not_null(vt, "%s did not load", file);
    return vt;
}

LX_UNUSED static void *lx_create(const larch_strategy_vtable *vt, const larch_host *host,
                                 const larch_space *space, uint64_t seed)
{
    void *self = NULL;
    larch_error err = {0};
    cr_assert_eq(vt->create(host, space, seed, &self, &err), LARCH_OK, "create: %s", err.message);
    return self;
}

LX_UNUSED static void lx_tell(const larch_strategy_vtable *vt, void *self, const larch_arch *a,
                              double score)
{
    larch_error err = {0};
    larch_result r = lx_result(score);
    cr_assert_eq(vt->tell(self, a, &r, &err), LARCH_OK, "tell: %s", err.message);
}

/* ---- log capture: every line, DEBUG included ---- */

#define LX_MAX_LINES 8192
LX_UNUSED static char lx_lines[LX_MAX_LINES][256];
LX_UNUSED static int lx_n_lines;

/* A larch_host log callback; set lx_n_lines = 0 before the run to read. */
LX_UNUSED static void lx_capture_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    (void)level;
    if (lx_n_lines < LX_MAX_LINES)
        snprintf(lx_lines[lx_n_lines++], sizeof lx_lines[0], "%s", message);
}

/* ---- searches against random ---- */

/* Wins of vt (with params) over random.so in LX_SEEDS searches of the protocol above. */
LX_UNUSED static double lx_wins_vs_random(const larch_strategy_vtable *vt, const lx_param *params,
                                          size_t n_params, const lx_landscape *l, uint32_t budget,
                                          double target)
{
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, params, n_params);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    return lx_wins(vt, s, lx_vt("random.so"), b, l, LX_SEEDS, budget, target, LX_OUTSTANDING);
}

/* vt reaches the optimum region of the separable landscape faster than random in 7 of 10. */
LX_UNUSED static void lx_expect_wins_separable(const larch_strategy_vtable *vt,
                                               const lx_param *params, size_t n_params,
                                               const char *what)
{
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    double wins = lx_wins_vs_random(vt, params, n_params, &l, LX_BUDGET, 0.9);
    cr_log_info("%s: %.1f wins of %d on the separable landscape", what, wins, LX_SEEDS);
    cr_expect_geq(wins, 7.0, "%s beat random in only %.1f of %d seeds", what, wins, LX_SEEDS);
}

/* The share of the second half of a search's proposals that lie in the trap's basin (score
 * 0.75 on lx_trap(8, 4, 4): both blocks all wrong, 10% of the space). */
LX_UNUSED static double lx_basin_share(const larch_strategy_vtable *vt, const larch_host *host,
                                       const lx_landscape *l, uint64_t seed)
{
    larch_arch seen[LX_BUDGET];
    lx_outcome o = lx_search(vt, host, l, seed, LX_BUDGET, 2.0, LX_OUTSTANDING, seen);
    cr_assert(!isnan(o.best), "the search failed");
    uint32_t in = 0;
    for (uint32_t i = LX_BUDGET / 2; i < o.trials; i++)
        in += lx_score(l, &seen[i]) == 0.75;
    return (double)in / (LX_BUDGET / 2);
}

/* On lx_trap(8, 4, 4) every step towards a block's target looks worse: vt is drawn into the
 * basin (at least 30% of its late proposals there) in 7 of 10 seeds, random (10%) never. */
LX_UNUSED static void lx_expect_deceived(const larch_strategy_vtable *vt, const lx_param *params,
                                         size_t n_params, const char *what)
{
    lx_host sh, bh;
    const larch_host *s = lx_host_init(&sh, params, n_params);
    const larch_host *b = lx_host_init(&bh, NULL, 0);
    const larch_strategy_vtable *random = lx_vt("random.so");
    lx_landscape l = lx_trap(LX_DECISIONS, LX_CHOICES, 4, 1);
    int deceived = 0;
    for (uint64_t seed = 1000; seed < 1000 + LX_SEEDS; seed++) {
        cr_expect_lt(lx_basin_share(random, b, &l, seed), 0.2, "random is not deceived");
        deceived += lx_basin_share(vt, s, &l, seed) >= 0.3;
    }
    cr_log_info("%s: in the trap's basin in %d of %d seeds", what, deceived, LX_SEEDS);
    cr_expect_geq(deceived, 7, "%s was drawn into the trap in only %d of %d seeds", what, deceived,
                  LX_SEEDS);
}

/* On a space of n_decisions x n_choices the search proposes every arch exactly once and then
 * says DONE (what lx_search does not tell, it stops at DONE with outstanding proposals). */
LX_UNUSED static void lx_expect_exhausts_without_repeats(const larch_strategy_vtable *vt,
                                                         const lx_param *params, size_t n_params,
                                                         uint32_t n_decisions, uint32_t n_choices,
                                                         uint32_t outstanding)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, n_params);
    lx_landscape l = lx_separable(n_decisions, n_choices, 1);
    uint32_t size = (uint32_t)larch_space_size(&l.space);
    larch_arch seen[64];
    cr_assert_leq(2 * size, 64);
    lx_outcome o = lx_search(vt, host, &l, 5, 2 * size, 2.0, outstanding, seen);
    cr_assert(o.done, "not DONE after %u trials", o.trials);
    cr_expect_eq(o.trials, size);
    for (uint32_t i = 0; i < o.trials; i++)
        for (uint32_t j = 0; j < i; j++)
            cr_expect(!larch_arch_equal(&seen[i], &seen[j]), "proposals %u and %u repeat", j, i);
}

/* ---- checkpoints ---- */

/* Every truncation of a checkpoint, garbage, the first valid_prefix bytes followed by garbage,
 * another space's checkpoint (one more decision, one more choice) and another strategy's
 * (random's) are refused, and a refused load leaves the strategy as it was. */
LX_UNUSED static void lx_expect_bad_checkpoints_refused(const larch_strategy_vtable *vt,
                                                        const lx_param *params, size_t n_params,
                                                        size_t valid_prefix)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, n_params);
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    void *a = lx_create(vt, host, &l.space, 4), *b = lx_create(vt, host, &l.space, 4);
    larch_error err = {0};
    larch_arch x, y;
    for (int k = 0; k < 30; k++) {
        cr_assert_eq(vt->ask(a, &x, &err), LARCH_ASK_OK);
        cr_assert_eq(vt->ask(b, &y, &err), LARCH_ASK_OK);
        lx_tell(vt, a, &x, lx_score(&l, &x));
        lx_tell(vt, b, &y, lx_score(&l, &y));
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
    cr_assert_lt(valid_prefix, size);
    memcpy(garbage, bytes, valid_prefix); /* a valid header and parameters, then garbage */
    cr_expect_lt(vt->load(b, garbage, size, &err), 0);
    lx_landscape wider = lx_separable(LX_DECISIONS, LX_CHOICES + 1, 1);
    lx_landscape longer = lx_separable(LX_DECISIONS + 1, LX_CHOICES, 1);
    const lx_landscape *others[] = {&wider, &longer};
    for (int i = 0; i < 2; i++) {
        void *c = lx_create(vt, host, &others[i]->space, 4);
        cr_expect_eq(vt->load(c, bytes, size, &err), LARCH_EINVAL, "%s", err.message);
        vt->destroy(c);
    }
    const larch_strategy_vtable *rnd = lx_vt("random.so");
    void *r = lx_create(rnd, host, &l.space, 4);
    void *rbytes = NULL;
    size_t rsize = 0;
    cr_assert_eq(rnd->save(r, &rbytes, &rsize, &err), LARCH_OK);
    cr_expect_eq(vt->load(b, rbytes, rsize, &err), LARCH_EFORMAT, "%s", err.message);
    rnd->destroy(r);
    free(rbytes);

    /* b was refused every time: it goes on exactly as a, which was never touched. */
    lx_tell(vt, a, &x, lx_score(&l, &x));
    lx_tell(vt, b, &y, lx_score(&l, &y));
    for (int k = 0; k < 50; k++) {
        cr_assert_eq(vt->ask(a, &x, &err), LARCH_ASK_OK);
        cr_assert_eq(vt->ask(b, &y, &err), LARCH_ASK_OK);
        cr_assert(larch_arch_equal(&x, &y), "proposal %d differs after refused loads", k);
        lx_tell(vt, a, &x, lx_score(&l, &x));
        lx_tell(vt, b, &y, lx_score(&l, &y));
    }
    free(bytes);
    vt->destroy(a);
    vt->destroy(b);
}

/* A checkpoint made with params `made` is refused (LARCH_EINVAL, a message containing
 * `fragment`) by an instance created with params `loads`. */
LX_UNUSED static void lx_expect_other_params_refused(const larch_strategy_vtable *vt,
                                                     const lx_param *made, size_t n_made,
                                                     const lx_param *loads, size_t n_loads,
                                                     const char *fragment)
{
    lx_host ha, hb;
    const larch_host *a = lx_host_init(&ha, made, n_made), *b = lx_host_init(&hb, loads, n_loads);
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    void *x = lx_create(vt, a, &l.space, 1), *y = lx_create(vt, b, &l.space, 1);
    void *bytes = NULL;
    size_t size = 0;
    larch_error err = {0};
    cr_assert_eq(vt->save(x, &bytes, &size, &err), LARCH_OK);
    cr_expect_eq(vt->load(y, bytes, size, &err), LARCH_EINVAL);
    cr_expect(strstr(err.message, fragment), "%s", err.message);
    free(bytes);
    vt->destroy(x);
    vt->destroy(y);
}

/* ---- parameters ---- */

/* create with params fails (with `status`, or any error when status is 0), sets no instance, and
 * its message contains `fragment` (the key, or "strategies.<id>.<key>"). */
LX_UNUSED static void lx_expect_param_refused(const larch_strategy_vtable *vt,
                                              const lx_param *params, size_t n_params, int status,
                                              const char *fragment)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, n_params);
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    void *self = NULL;
    larch_error err = {0};
    int rc = vt->create(host, &l.space, 1, &self, &err);
    if (status != 0)
        cr_expect_eq(rc, status, "%s: got %d (%s)", fragment, rc, err.message);
    else
        cr_expect_lt(rc, 0, "%s accepted", fragment);
    cr_expect_null(self);
    cr_expect(strstr(err.message, fragment), "the message does not name %s: %s", fragment,
              err.message);
}

/* ---- out of memory ---- */

LX_UNUSED static long lx_allocs_left;

LX_UNUSED static void *lx_failing_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return lx_allocs_left-- > 0 ? calloc(1, size) : NULL;
}

/* Whichever of the first 40 allocations fails, during create, ask, tell, save or load, the
 * strategy reports LARCH_ENOMEM with a message and never crashes (ASan builds also check that
 * nothing leaks); at least 5 of them must be reached. */
LX_UNUSED static void lx_expect_enomem_handled(const larch_strategy_vtable *vt,
                                               const lx_param *params, size_t n_params)
{
    lx_host h;
    lx_host_init(&h, params, n_params);
    h.host.alloc = lx_failing_alloc;
    lx_landscape l = lx_separable(LX_DECISIONS, LX_CHOICES, 1);
    int failures = 0;
    for (long n = 0; n < 40; n++) {
        lx_allocs_left = n;
        void *self = NULL;
        larch_error err = {0};
        int rc = vt->create(&h.host, &l.space, 1, &self, &err);
        for (int k = 0; rc >= 0 && k < 300; k++) {
            larch_arch a;
            rc = vt->ask(self, &a, &err);
            if (rc == LARCH_ASK_OK) {
                larch_result r = lx_result(lx_score(&l, &a));
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

#endif
