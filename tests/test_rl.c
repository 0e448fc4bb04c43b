/* The rl strategy: its controller's gradient against finite differences (policy.c is linked into
 * this suite), learning on the synthetic landscapes of landscape.h against random search,
 * resume from a checkpoint, and errors for bad checkpoints and parameters (rl.so, dlopened). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

#include "../plugins/rl/policy.h"
#include "plugin_util.h"

/* ---- gradient checks ---- */

/* Three decisions with different choice counts, as the brief of every head differs. */
static larch_space tiny_space(void)
{
    static const uint32_t choices[] = {3, 2, 4};
    return lx_space_of(3, choices);
}

static double objective(rl_policy *p, uint8_t *tokens, double a, double b)
{
    double entropy;
    double logp = rl_policy_forward(p, tokens, NULL, &entropy);
    return a * logp + b * entropy;
}

/* Compares the analytic gradient of a * log p + b * H with central differences on every
 * parameter, and checks that every tensor receives some gradient. */
static void gradient_check(rl_policy_kind kind, uint32_t hidden, uint32_t layers,
                           double temperature, double tanh_constant, uint64_t seed)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    larch_space space = tiny_space();
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    rl_policy p;
    larch_error err = {0};
    cr_assert_eq(rl_policy_init(&p, host, kind, hidden, layers, temperature, tanh_constant, &space,
                                &rng, &err),
                 LARCH_OK, "%s", err.message);
    /* Larger weights than the initialiser's, so every non-linearity is off its linear part. */
    for (size_t i = 0; i < p.n_params; i++)
        p.theta[i] = 1.6 * larch_rng_uniform(&rng) - 0.8;
    uint8_t tokens[3];
    rl_policy_forward(&p, tokens, &rng, NULL);

    const double coef[][2] = {{1.0, 0.0}, {0.0, 1.0}, {0.7, -0.3}};
    double *grad = calloc(p.n_params, sizeof *grad);
    cr_assert_not_null(grad);
    for (size_t c = 0; c < sizeof coef / sizeof coef[0]; c++) {
        double a = coef[c][0], b = coef[c][1];
        memset(grad, 0, p.n_params * sizeof *grad);
        objective(&p, tokens, a, b);
        rl_policy_backward(&p, tokens, a, b, grad);
        for (uint32_t t = 0; t < p.n_tensors; t++) {
            const rl_tensor *tensor = &p.tensors[t];
            double largest = 0;
            for (size_t i = tensor->offset; i < tensor->offset + tensor->count; i++) {
                double keep = p.theta[i], step = 1e-5;
                p.theta[i] = keep + step;
                double up = objective(&p, tokens, a, b);
                p.theta[i] = keep - step;
                double down = objective(&p, tokens, a, b);
                p.theta[i] = keep;
                double fd = (up - down) / (2 * step);
                cr_assert(fabs(fd - grad[i]) <= 1e-7 + 1e-5 * fabs(fd),
                          "%s[%zu] (coef %g, %g): analytic %.10g, finite difference %.10g",
                          tensor->name, i - tensor->offset, a, b, grad[i], fd);
                if (fabs(grad[i]) > largest)
                    largest = fabs(grad[i]);
            }
            cr_assert(largest > 1e-9, "%s gets no gradient (coef %g, %g)", tensor->name, a, b);
        }
    }
    free(grad);
    rl_policy_release(&p);
}

Test(rl_gradient, lstm_one_layer)
{
    gradient_check(RL_POLICY_LSTM, 6, 1, 1.0, 0.0, 1);
    gradient_check(RL_POLICY_LSTM, 5, 1, 1.7, 2.5, 2);
}

Test(rl_gradient, lstm_two_layers)
{
    gradient_check(RL_POLICY_LSTM, 4, 2, 1.0, 0.0, 3);
    gradient_check(RL_POLICY_LSTM, 8, 2, 5.0, 2.5, 4);
}

Test(rl_gradient, table)
{
    gradient_check(RL_POLICY_TABLE, 0, 0, 1.0, 0.0, 5);
    gradient_check(RL_POLICY_TABLE, 0, 0, 0.5, 1.5, 6);
}

/* The head's probabilities are a softmax: sampling many tokens from a table with known logits
 * matches them. */
Test(rl_gradient, table_samples_its_distribution)
{
    lx_host h;
    const larch_host *host = lx_host_init(&h, NULL, 0);
    larch_space space = lx_space(1, 3);
    larch_rng rng;
    larch_rng_seed(&rng, 9);
    rl_policy p;
    larch_error err = {0};
    cr_assert_eq(rl_policy_init(&p, host, RL_POLICY_TABLE, 0, 0, 1.0, 0.0, &space, &rng, &err),
                 LARCH_OK);
    p.theta[0] = 0.0;
    p.theta[1] = log(2.0);
    p.theta[2] = log(5.0);
    int counts[3] = {0};
    uint8_t token;
    for (int i = 0; i < 8000; i++) {
        rl_policy_forward(&p, &token, &rng, NULL);
        counts[token]++;
    }
    for (int k = 0; k < 3; k++) {
        double expected = 8000.0 * (k == 0 ? 1 : k == 1 ? 2 : 5) / 8;
        cr_assert(fabs(counts[k] - expected) < 5 * sqrt(expected), "choice %d: %d vs %.0f", k,
                  counts[k], expected);
    }
    rl_policy_release(&p);
}

/* ---- searches on the synthetic landscapes ---- */

/* The protocol of plugin_util.h (10 seeds, 4 proposals in flight) with 300 trials. */
#define BUDGET 300

static const lx_param table_params[] = {{.key = "policy", .type = LX_STRING, .s = "table"}};

static const larch_strategy_vtable *rl_vt(void)
{
    return lx_vt("rl.so");
}

static double wins_vs_random(const lx_param *params, size_t n_params, const lx_landscape *l,
                             double target)
{
    return lx_wins_vs_random(rl_vt(), params, n_params, l, BUDGET, target);
}

/* 8 decisions x 4 choices; 0.9 needs at least 7 decisions at their best choice, which random
 * search hits with probability ~4e-4 per trial. */
Test(rl_search, separable_lstm_beats_random)
{
    lx_landscape l = lx_separable(8, 4, 7);
    double wins = wins_vs_random(NULL, 0, &l, 0.9);
    cr_log_info("rl lstm vs random, separable 8x4, target 0.9: %.1f of %d", wins, LX_SEEDS);
    cr_assert_geq(wins, 7, "lstm won %.1f of %d seeds", wins, LX_SEEDS);
}

Test(rl_search, separable_table_beats_random)
{
    lx_landscape l = lx_separable(8, 4, 7);
    double wins = wins_vs_random(table_params, 1, &l, 0.9);
    cr_log_info("rl table vs random, separable 8x4, target 0.9: %.1f of %d", wins, LX_SEEDS);
    cr_assert_geq(wins, 7, "table won %.1f of %d seeds", wins, LX_SEEDS);
}

/* The trap (blocks of 4, 8 decisions x 4 choices) deceives REINFORCE, as it deceives any
 * learner that follows the average slope: the policy climbs to the all-wrong trap (0.75) and
 * stays there, while random search more often stumbles on a solved block (>= 0.875). What is
 * asserted is what holds: rl reliably reaches the trap's level. The win counts are logged. */
Test(rl_search, trap_is_reached_but_deceives)
{
    lx_landscape l = lx_trap(8, 4, 4, 7);
    lx_host rh;
    const larch_host *host = lx_host_init(&rh, NULL, 0);
    const larch_strategy_vtable *rl = rl_vt();
    for (uint32_t s = 0; s < LX_SEEDS; s++) {
        lx_outcome o = lx_search(rl, host, &l, 1000 + s, 100, 0.75, LX_OUTSTANDING, NULL);
        cr_assert(o.to_target > 0, "seed %u: best %.3f after 100 trials", s, o.best);
    }
    double wins = wins_vs_random(NULL, 0, &l, 0.875);
    cr_log_info("rl lstm vs random, trap 8x4 blocks of 4, target 0.875: %.1f of %d", wins,
                LX_SEEDS);
}

/* ---- resume ---- */

Test(rl_resume, lstm_with_outstanding_and_pending)
{
    /* 23 tells with batch 10: three results queued, three proposals outstanding. */
    static const lx_param params[] = {{.key = "hidden", .type = LX_INT, .i = 16},
                                      {.key = "layers", .type = LX_INT, .i = 2}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, 2);
    lx_landscape l = lx_separable(6, 5, 3);
    const larch_strategy_vtable *rl = rl_vt();
    cr_assert(lx_resume_matches(rl, host, &l, 42, 80, 23, 3));
}

Test(rl_resume, table_with_outstanding_and_pending)
{
    static const lx_param params[] = {{.key = "policy", .type = LX_STRING, .s = "table"},
                                      {.key = "batch", .type = LX_INT, .i = 4}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, 2);
    lx_landscape l = lx_separable(6, 5, 3);
    const larch_strategy_vtable *rl = rl_vt();
    cr_assert(lx_resume_matches(rl, host, &l, 43, 80, 23, 5));
}

/* A small strategy with some history: hidden 3, batch 4, on 4 decisions x 3 choices (set up in
 * *h and *space), asked 7, told 5 (out of ask order), so one result is queued and two proposals
 * are outstanding. */
static void *busy_strategy(lx_host *h, larch_space *space)
{
    static const lx_param params[] = {{.key = "hidden", .type = LX_INT, .i = 3},
                                      {.key = "batch", .type = LX_INT, .i = 4}};
    const larch_strategy_vtable *vt = rl_vt();
    *space = lx_space(4, 3);
    void *self = lx_create(vt, lx_host_init(h, params, 2), space, 5);
    larch_error err = {0};
    larch_arch a[7];
    for (int i = 0; i < 7; i++)
        cr_assert_eq(vt->ask(self, &a[i], &err), LARCH_ASK_OK);
    for (int i = 0; i < 5; i++) {
        larch_result r = {.struct_size = sizeof r, .status = LARCH_TRIAL_OK, .score = 0.1 * i};
        cr_assert_eq(vt->tell(self, &a[(i * 3) % 7], &r, &err), LARCH_OK);
    }
    return self;
}

/* Everything saved comes back: save, load into a fresh instance, save again gives the same
 * bytes (this covers the outstanding proposals, which do not change what is proposed). */
Test(rl_resume, save_load_save_is_identical)
{
    lx_host h;
    larch_space space;
    void *self = busy_strategy(&h, &space), *fresh = NULL;
    const larch_host *host = &h.host;
    const larch_strategy_vtable *vt = rl_vt();
    void *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    larch_error err = {0};
    cr_assert_eq(vt->save(self, &first, &first_size, &err), LARCH_OK);
    cr_assert_eq(vt->create(host, &space, 99, &fresh, &err), LARCH_OK);
    cr_assert_eq(vt->load(fresh, first, first_size, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(vt->save(fresh, &second, &second_size, &err), LARCH_OK);
    cr_assert_eq(first_size, second_size);
    cr_assert(memcmp(first, second, first_size) == 0);
    host->free(host->ctx, first);
    host->free(host->ctx, second);
    vt->destroy(fresh);
    vt->destroy(self);
}

/* ---- errors ---- */

Test(rl_errors, bad_checkpoints_are_refused)
{
    lx_host h;
    larch_space space;
    void *self = busy_strategy(&h, &space);
    const larch_host *host = &h.host;
    const larch_strategy_vtable *vt = rl_vt();
    void *bytes = NULL;
    size_t size = 0;
    larch_error err = {0};
    cr_assert_eq(vt->save(self, &bytes, &size, &err), LARCH_OK);
    uint8_t *good = bytes;

    void *fresh = NULL;
    cr_assert_eq(vt->create(host, &space, 6, &fresh, &err), LARCH_OK);
    /* Every truncation. */
    for (size_t n = 0; n < size; n++) {
        int rc = vt->load(fresh, good, n, &err);
        cr_assert(rc < 0, "a checkpoint cut to %zu of %zu bytes loaded", n, size);
    }
    /* One trailing byte. */
    uint8_t *longer = calloc(size + 1, 1);
    cr_assert_not_null(longer);
    memcpy(longer, good, size);
    cr_assert_eq(vt->load(fresh, longer, size + 1, &err), LARCH_EFORMAT);
    free(longer);
    /* Random bytes, and random bytes behind a valid prefix (header and shape). */
    larch_rng rng;
    larch_rng_seed(&rng, 77);
    uint8_t *noise = malloc(size);
    cr_assert_not_null(noise);
    for (int trial = 0; trial < 50; trial++) {
        size_t keep = trial < 25 ? 0 : (size_t)larch_rng_below(&rng, size);
        memcpy(noise, good, keep);
        for (size_t i = keep; i < size; i++)
            noise[i] = (uint8_t)larch_rng_next(&rng);
        (void)vt->load(fresh, noise, size, &err); /* anything but a crash */
        if (keep == 0)
            cr_assert_lt(vt->load(fresh, noise, size, &err), 0);
    }
    free(noise);
    /* A NaN among the parameters (the first f64 of theta comes after the fixed fields). */
    uint8_t *nan_state = malloc(size);
    cr_assert_not_null(nan_state);
    memcpy(nan_state, good, size);
    /* theta follows the header (magic, version, n, n_choices[n]: u32 each), policy, hidden,
     * layers and batch (u32), n_params (u64), the RNG (4 u64), three counters (u64) and the
     * baseline (2 f64); see rl_save. */
    size_t theta_at = 4 * (3 + space.n_decisions) + 4 * 4 + 8 + 32 + 24 + 16;
    double nan = NAN;
    memcpy(nan_state + theta_at, &nan, sizeof nan);
    cr_assert_eq(vt->load(fresh, nan_state, size, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "theta") != NULL, "%s", err.message);
    free(nan_state);

    /* The fresh instance is unharmed by all that, and the good checkpoint still loads. */
    cr_assert_eq(vt->load(fresh, good, size, &err), LARCH_OK, "%s", err.message);
    larch_arch a, b;
    cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK);
    cr_assert_eq(vt->ask(fresh, &b, &err), LARCH_ASK_OK);
    cr_assert(larch_arch_equal(&a, &b));

    /* Another policy's or another space's checkpoint. */
    static const lx_param table[] = {{.key = "policy", .type = LX_STRING, .s = "table"},
                                     {.key = "batch", .type = LX_INT, .i = 4}};
    lx_host th;
    const larch_host *table_host = lx_host_init(&th, table, 2);
    void *other = NULL;
    cr_assert_eq(vt->create(table_host, &space, 6, &other, &err), LARCH_OK);
    cr_assert_eq(vt->load(other, good, size, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "policy") != NULL, "%s", err.message);
    vt->destroy(other);
    larch_space wider = lx_space(4, 4);
    cr_assert_eq(vt->create(host, &wider, 6, &other, &err), LARCH_OK);
    cr_assert_lt(vt->load(other, good, size, &err), 0);
    vt->destroy(other);

    host->free(host->ctx, bytes);
    vt->destroy(fresh);
    vt->destroy(self);
}

static void expect_param_error(const lx_param *param, int status, const char *key)
{
    char name[64];
    snprintf(name, sizeof name, "strategies.rl.%s", key);
    lx_expect_param_refused(rl_vt(), param, 1, status, name);
}

Test(rl_errors, bad_parameters_name_the_key)
{
    static const lx_param bad[] = {
        {.key = "layers", .type = LX_INT, .i = 3},
        {.key = "layers", .type = LX_INT, .i = 0},
        {.key = "hidden", .type = LX_INT, .i = 0},
        {.key = "hidden", .type = LX_INT, .i = RL_MAX_HIDDEN + 1},
        {.key = "batch", .type = LX_INT, .i = 0},
        {.key = "lr", .type = LX_FLOAT, .f = 0.0},
        {.key = "lr", .type = LX_FLOAT, .f = NAN},
        {.key = "baseline_decay", .type = LX_FLOAT, .f = 1.0},
        {.key = "entropy_weight", .type = LX_FLOAT, .f = -1e-3},
        {.key = "temperature", .type = LX_FLOAT, .f = 0.0},
        {.key = "tanh_constant", .type = LX_FLOAT, .f = -1.0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_param_error(&bad[i], LARCH_ERANGE, bad[i].key);
    static const lx_param policy = {.key = "policy", .type = LX_STRING, .s = "gru"};
    expect_param_error(&policy, LARCH_EINVAL, "policy");
    static const lx_param reward = {.key = "reward", .type = LX_STRING, .s = "accuracy"};
    expect_param_error(&reward, LARCH_EINVAL, "reward");
}

/* Failed and diverged trials earn reward 0 and the search goes on with valid proposals; a tell
 * of an arch of the wrong shape is an error, not a crash. */
Test(rl_errors, failed_trials_and_bad_tells)
{
    static const lx_param params[] = {{.key = "batch", .type = LX_INT, .i = 2},
                                      {.key = "reward", .type = LX_STRING, .s = "score_cubed"}};
    lx_host h;
    const larch_host *host = lx_host_init(&h, params, 2);
    lx_landscape l = lx_separable(5, 3, 1);
    const larch_strategy_vtable *vt = rl_vt();
    void *self = NULL;
    larch_error err = {0};
    cr_assert_eq(vt->create(host, &l.space, 3, &self, &err), LARCH_OK);
    for (int i = 0; i < 60; i++) {
        larch_arch a;
        cr_assert_eq(vt->ask(self, &a, &err), LARCH_ASK_OK);
        cr_assert_eq(larch_arch_validate(&l.space, &a, &err), LARCH_OK);
        larch_result r = {.struct_size = sizeof r, .status = LARCH_TRIAL_OK};
        r.score = lx_score(&l, &a);
        if (i % 3 == 1) {
            r.status = i % 2 ? LARCH_TRIAL_DIVERGED : LARCH_TRIAL_FAILED;
            r.score = -INFINITY;
        } else if (i % 7 == 0) {
            r.score = NAN;
        }
        cr_assert_eq(vt->tell(self, &a, &r, &err), LARCH_OK, "%s", err.message);
    }
    larch_arch wrong = {.n = 4};
    larch_result r = {.struct_size = sizeof r, .status = LARCH_TRIAL_OK, .score = 0.5};
    cr_assert_lt(vt->tell(self, &wrong, &r, &err), 0);
    wrong.n = 5;
    wrong.choice[2] = 3;
    cr_assert_lt(vt->tell(self, &wrong, &r, &err), 0);
    vt->destroy(self);
}
