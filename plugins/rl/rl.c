/* Strategy "rl": REINFORCE (Williams 1992) on a controller that emits one token per decision, as
 * in NAS-RL (Zoph & Le, ICLR 2017) and ENAS (Pham et al., ICML 2018). The controller
 * (policy.c) is an LSTM conditioned on the tokens before, or a table of independent logits per
 * decision as in NATS-Bench's REINFORCE (Dong et al., TPAMI 2021).
 *
 * ask samples an architecture from the current policy and remembers it as outstanding. tell
 * turns the result into a reward and queues it; once `batch` results are queued, one Adam step
 * follows the policy gradient
 *     mean_i [ (R_i - b) grad log p(a_i) + entropy_weight grad H(a_i) ]
 * where b is an exponential moving average of earlier rewards. Tells arrive in any order and
 * proposals stay outstanding across updates: the gradient is evaluated at the stored tokens with
 * the current parameters (the forward pass is recomputed), which is the policy gradient of the
 * current policy at samples drawn from a slightly older one. Parameters are documented in
 * docs/STRATEGIES.md and in `read_params` below. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <larch/larch.h>

#include "policy.h"

#define STATE_MAGIC 0x54534c52u /* "RLST" little-endian */
#define STATE_VERSION 1u
/* Outstanding proposals kept for matching tells; a host that loses in-flight trials (a crash
 * before resume) would otherwise grow the list forever, so the oldest are dropped past this. */
#define OUTSTANDING_MAX 4096u
#define BATCH_MAX 4096
/* Adam's defaults (Kingma & Ba, ICLR 2015), as PyTorch and TensorFlow use them. */
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8

typedef enum reward_kind { REWARD_SCORE = 0, REWARD_SCORE_CUBED = 1 } reward_kind;

typedef struct rl_params {
    rl_policy_kind policy;
    int64_t hidden, layers, batch;
    double lr, baseline_decay, entropy_weight, temperature, tanh_constant;
    reward_kind reward;
} rl_params;

typedef struct rl_strategy {
    const larch_host *host;
    larch_space space;
    rl_params params;
    rl_policy policy; /* theta is saved state */
    double *grad;     /* scratch for one update */
    /* Everything below is saved state. */
    double *adam_m, *adam_v;
    larch_rng rng;
    uint64_t n_asked, n_told, n_updates; /* n_updates is also Adam's step count */
    /* Bias-corrected EMA of rewards (as NATS-Bench's ExponentialMovingAverage): the baseline is
     * num / den, so the first rewards are not pulled towards 0. */
    double baseline_num, baseline_den;
    uint32_t n_pending; /* results queued for the next update, < batch */
    uint8_t *pending_tokens;
    double *pending_reward;
    uint32_t n_outstanding; /* proposals asked and not yet told, oldest first */
    uint8_t *outstanding;
    int warned_outstanding; /* not saved: warn once per instance */
} rl_strategy;

/* Parameters (strategies.rl.*) and where their defaults come from (more in docs/STRATEGIES.md):
 *   policy "lstm"          the NAS-RL / ENAS controller; "table" is NATS-Bench's REINFORCE policy
 *   hidden 64, layers 1    ENAS's CIFAR-10 controller (NAS-RL: 2 layers of 35)
 *   batch 10 | 1 (table)   ENAS's micro search averages 10 samples per step; NATS-Bench steps on
 *                          every sample
 *   lr 0.01                NATS-Bench's REINFORCE (Adam); ENAS's 3.5e-4..3.5e-3 suit thousands of
 *                          controller steps, and learn 3x slower or not at all in a few hundred
 *   baseline_decay 0.9     NATS-Bench's EMA momentum (ENAS: 0.99)
 *   entropy_weight 1e-4    ENAS
 *   temperature 1          none, as NAS-RL, ENAS on CIFAR-10 and NATS-Bench (ENAS on PTB: 5)
 *   tanh_constant 2.5 | 0  ENAS on PTB (CIFAR-10: 1.5 macro, 1.1 micro); the table has none
 *   reward "score"         or "score_cubed", the cube of the accuracy as in NAS-RL */
static int read_params(const larch_host *host, rl_params *p, larch_error *err)
{
    static const char *const policies[] = {"lstm", "table"};
    static const char *const rewards[] = {"score", "score_cubed"};
    const char *id = "rl";
    int policy = RL_POLICY_LSTM, reward = REWARD_SCORE;
    int rc = larch_param_choice(host, id, "policy", policies, 2, RL_POLICY_LSTM, &policy, err);
    if (rc != LARCH_OK)
        return rc;
    p->policy = (rl_policy_kind)policy;
    int lstm = p->policy == RL_POLICY_LSTM;
    if ((rc = larch_param_int(host, id, "hidden", 64, 1, RL_MAX_HIDDEN, &p->hidden, err)) ||
        (rc = larch_param_int(host, id, "layers", 1, 1, RL_MAX_LAYERS, &p->layers, err)) ||
        (rc = larch_param_int(host, id, "batch", lstm ? 10 : 1, 1, BATCH_MAX, &p->batch, err)) ||
        (rc = larch_param_float(host, id, "lr", 0.01, 0, 1, LARCH_RANGE_OPEN_LO, &p->lr, err)) ||
        (rc = larch_param_float(host, id, "baseline_decay", 0.9, 0, 1, LARCH_RANGE_OPEN_HI,
                                &p->baseline_decay, err)) ||
        (rc = larch_param_float(host, id, "entropy_weight", 1e-4, 0, 1e6, LARCH_RANGE_CLOSED,
                                &p->entropy_weight, err)) ||
        (rc = larch_param_float(host, id, "temperature", 1.0, 0, 1e6, LARCH_RANGE_OPEN_LO,
                                &p->temperature, err)) ||
        (rc = larch_param_float(host, id, "tanh_constant", lstm ? 2.5 : 0.0, 0, 1e6,
                                LARCH_RANGE_CLOSED, &p->tanh_constant, err)) ||
        (rc = larch_param_choice(host, id, "reward", rewards, 2, REWARD_SCORE, &reward, err)))
        return rc;
    p->reward = (reward_kind)reward;
    return LARCH_OK;
}

static void rl_destroy(void *self)
{
    rl_strategy *s = self;
    if (s == NULL)
        return;
    const larch_host *host = s->host;
    rl_policy_release(&s->policy);
    host->free(host->ctx, s->grad);
    host->free(host->ctx, s->adam_m);
    host->free(host->ctx, s->adam_v);
    host->free(host->ctx, s->pending_tokens);
    host->free(host->ctx, s->pending_reward);
    host->free(host->ctx, s->outstanding);
    host->free(host->ctx, s);
}

static int rl_create(const larch_host *host, const larch_space *space, uint64_t seed, void **self,
                     larch_error *err)
{
    if (host == NULL || space == NULL || self == NULL)
        return larch_error_set(err, LARCH_EINVAL, "rl: create got a NULL host, space or self");
    if (host->struct_size < offsetof(larch_host, free) + sizeof host->free || !host->alloc ||
        !host->free || !host->get_int || !host->get_float || !host->get_string)
        return larch_error_set(err, LARCH_EINVAL, "rl: the host lacks getters or allocation");
    if (larch_space_validate(space, err) != LARCH_OK)
        return larch_error_prefix(err, "rl: ");
    rl_params params;
    int rc = read_params(host, &params, err);
    if (rc != LARCH_OK)
        return rc;

    rl_strategy *s = larch_alloc(host, 1, sizeof *s);
    if (s == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "rl: out of memory for the state");
    s->host = host;
    larch_space_copy(&s->space, space);
    s->params = params;
    larch_rng_seed(&s->rng, seed);
    rc = rl_policy_init(&s->policy, host, params.policy, (uint32_t)params.hidden,
                        (uint32_t)params.layers, params.temperature, params.tanh_constant,
                        &s->space, &s->rng, err);
    if (rc != LARCH_OK) {
        rl_destroy(s);
        return rc;
    }
    size_t n = s->policy.n_params, D = s->space.n_decisions;
    s->grad = larch_alloc(host, n, sizeof(double));
    s->adam_m = larch_alloc(host, n, sizeof(double));
    s->adam_v = larch_alloc(host, n, sizeof(double));
    s->pending_tokens = larch_alloc(host, (size_t)params.batch, D);
    s->pending_reward = larch_alloc(host, (size_t)params.batch, sizeof(double));
    s->outstanding = larch_alloc(host, OUTSTANDING_MAX, D);
    if (!s->grad || !s->adam_m || !s->adam_v || !s->pending_tokens || !s->pending_reward ||
        !s->outstanding) {
        rl_destroy(s);
        return larch_error_set(err, LARCH_ENOMEM, "rl: out of memory for %zu parameters", n);
    }
    larch_log(host, LARCH_LOG_DEBUG,
              "rl: policy=%s hidden=%lld layers=%lld (%zu parameters) batch=%lld lr=%g",
              params.policy == RL_POLICY_LSTM ? "lstm" : "table", (long long)params.hidden,
              (long long)params.layers, n, (long long)params.batch, params.lr);
    *self = s;
    return LARCH_OK;
}

static int rl_ask(void *self, larch_arch *arch, larch_error *err)
{
    rl_strategy *s = self;
    if (s == NULL || arch == NULL)
        return larch_error_set(err, LARCH_EINVAL, "rl: ask got a NULL self or arch");
    size_t D = s->space.n_decisions;
    memset(arch, 0, sizeof *arch);
    arch->n = (uint32_t)D;
    rl_policy_forward(&s->policy, arch->choice, &s->rng, NULL);
    if (s->n_outstanding == OUTSTANDING_MAX) {
        if (!s->warned_outstanding)
            larch_log(s->host, LARCH_LOG_WARN,
                      "rl: %u proposals were never told; forgetting the oldest ones",
                      OUTSTANDING_MAX);
        s->warned_outstanding = 1;
        memmove(s->outstanding, s->outstanding + D, (OUTSTANDING_MAX - 1) * D);
        s->n_outstanding--;
    }
    memcpy(s->outstanding + s->n_outstanding * D, arch->choice, D);
    s->n_outstanding++;
    s->n_asked++;
    return LARCH_ASK_OK;
}

/* A failed or diverged trial, or a score that is not finite, earns reward 0: the worst an
 * accuracy can be. */
static double shape_reward(const rl_strategy *s, const larch_result *result)
{
    if (result->status != LARCH_TRIAL_OK || !isfinite(result->score))
        return 0.0;
    double r = result->score;
    if (s->params.reward == REWARD_SCORE_CUBED)
        r = r * r * r; /* Zoph & Le 2017: the cube of the accuracy sharpens the top end */
    return isfinite(r) ? r : 0.0;
}

/* One Adam ascent step on the queued batch, then the baseline absorbs the batch's rewards. */
static void update(rl_strategy *s)
{
    rl_policy *p = &s->policy;
    size_t n = p->n_params, D = s->space.n_decisions;
    uint32_t m = s->n_pending;
    double mean_reward = 0, mean_entropy = 0;
    for (uint32_t i = 0; i < m; i++)
        mean_reward += s->pending_reward[i] / m;
    /* Before any reward was folded in, the batch's own mean is the only estimate there is. */
    double baseline = s->baseline_den > 0 ? s->baseline_num / s->baseline_den : mean_reward;

    memset(s->grad, 0, n * sizeof(double));
    for (uint32_t i = 0; i < m; i++) {
        uint8_t *tokens = s->pending_tokens + i * D;
        double entropy;
        rl_policy_forward(p, tokens, NULL, &entropy);
        rl_policy_backward(p, tokens, (s->pending_reward[i] - baseline) / m,
                           s->params.entropy_weight / m, s->grad);
        mean_entropy += entropy / m;
    }
    s->n_updates++;
    double t = (double)s->n_updates;
    double c1 = 1 - pow(ADAM_BETA1, t), c2 = 1 - pow(ADAM_BETA2, t);
    for (size_t k = 0; k < n; k++) {
        double g = s->grad[k];
        s->adam_m[k] = ADAM_BETA1 * s->adam_m[k] + (1 - ADAM_BETA1) * g;
        s->adam_v[k] = ADAM_BETA2 * s->adam_v[k] + (1 - ADAM_BETA2) * g * g;
        p->theta[k] += s->params.lr * (s->adam_m[k] / c1) / (sqrt(s->adam_v[k] / c2) + ADAM_EPS);
    }
    double decay = s->params.baseline_decay;
    for (uint32_t i = 0; i < m; i++) {
        s->baseline_num = decay * s->baseline_num + (1 - decay) * s->pending_reward[i];
        s->baseline_den = decay * s->baseline_den + (1 - decay);
    }
    s->n_pending = 0;
    larch_log(s->host, LARCH_LOG_DEBUG,
              "rl: update %llu: mean reward %.4f, baseline %.4f, mean entropy %.4f",
              (unsigned long long)s->n_updates, mean_reward, baseline, mean_entropy);
}

static int rl_tell(void *self, const larch_arch *arch, const larch_result *result, larch_error *err)
{
    rl_strategy *s = self;
    if (s == NULL || arch == NULL || result == NULL)
        return larch_error_set(err, LARCH_EINVAL, "rl: tell got a NULL self, arch or result");
    int rc = larch_arch_validate(&s->space, arch, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "rl: tell: ");
    size_t D = s->space.n_decisions;
    /* An arch that was never asked (or was forgotten) is learned from all the same. */
    for (uint32_t i = 0; i < s->n_outstanding; i++)
        if (memcmp(s->outstanding + i * D, arch->choice, D) == 0) {
            memmove(s->outstanding + i * D, s->outstanding + (i + 1) * D,
                    (s->n_outstanding - i - 1) * D);
            s->n_outstanding--;
            break;
        }
    memcpy(s->pending_tokens + s->n_pending * D, arch->choice, D);
    s->pending_reward[s->n_pending++] = shape_reward(s, result);
    s->n_told++;
    if (s->n_pending == (uint32_t)s->params.batch)
        update(s);
    return LARCH_OK;
}

static void put_doubles(larch_buf *buf, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        larch_buf_put_f64(buf, x[i]);
}

/* Layout (little-endian): header (magic, version, space shape); policy, hidden, layers, batch,
 * n_params; rng; n_asked, n_told, n_updates; baseline num, den; theta, adam m, adam v
 * [n_params each]; n_pending, then per pending result its tokens [D] and reward;
 * n_outstanding, then their tokens [D each]. */
static int rl_save(void *self, void **bytes, size_t *size, larch_error *err)
{
    rl_strategy *s = self;
    if (s == NULL || bytes == NULL || size == NULL)
        return larch_error_set(err, LARCH_EINVAL, "rl: save got a NULL argument");
    size_t n = s->policy.n_params, D = s->space.n_decisions;
    larch_buf buf;
    larch_buf_init(&buf, s->host);
    larch_buf_put_header(&buf, STATE_MAGIC, STATE_VERSION, &s->space);
    larch_buf_put_u32(&buf, (uint32_t)s->params.policy);
    larch_buf_put_u32(&buf, (uint32_t)s->params.hidden);
    larch_buf_put_u32(&buf, (uint32_t)s->params.layers);
    larch_buf_put_u32(&buf, (uint32_t)s->params.batch);
    larch_buf_put_u64(&buf, n);
    larch_buf_put_rng(&buf, &s->rng);
    larch_buf_put_u64(&buf, s->n_asked);
    larch_buf_put_u64(&buf, s->n_told);
    larch_buf_put_u64(&buf, s->n_updates);
    larch_buf_put_f64(&buf, s->baseline_num);
    larch_buf_put_f64(&buf, s->baseline_den);
    put_doubles(&buf, s->policy.theta, n);
    put_doubles(&buf, s->adam_m, n);
    put_doubles(&buf, s->adam_v, n);
    larch_buf_put_u32(&buf, s->n_pending);
    for (uint32_t i = 0; i < s->n_pending; i++) {
        larch_buf_put(&buf, s->pending_tokens + i * D, D);
        larch_buf_put_f64(&buf, s->pending_reward[i]);
    }
    larch_buf_put_u32(&buf, s->n_outstanding);
    larch_buf_put(&buf, s->outstanding, s->n_outstanding * D);
    int rc = larch_buf_finish(&buf, bytes, size, err);
    return rc == LARCH_OK ? rc : larch_error_prefix(err, "rl: save: ");
}

/* Reads n doubles into out; each must be finite (and >= 0 when nonnegative). */
static int get_doubles(larch_reader *r, double *out, size_t n, int nonnegative, const char *what,
                       larch_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = larch_reader_get_f64(r, &out[i], err);
        if (rc != LARCH_OK)
            return rc;
        if (!isfinite(out[i]) || (nonnegative && out[i] < 0))
            return larch_error_set(err, LARCH_EFORMAT, "%s[%zu] is %g", what, i, out[i]);
    }
    return LARCH_OK;
}

static int get_tokens(const rl_strategy *s, larch_reader *r, uint8_t *out, larch_error *err)
{
    int rc = larch_reader_get(r, out, s->space.n_decisions, err);
    for (uint32_t d = 0; rc == LARCH_OK && d < s->space.n_decisions; d++)
        if (out[d] >= s->space.decisions[d].n_choices)
            rc = larch_error_set(err, LARCH_EFORMAT, "token %u of decision %u is out of range",
                                 out[d], d);
    return rc;
}

/* The parts of the state that load fills before it commits. */
typedef struct loaded {
    larch_rng rng;
    uint64_t n_asked, n_told, n_updates;
    double baseline_num, baseline_den;
    double *theta, *adam_m, *adam_v, *pending_reward;
    uint8_t *pending_tokens, *outstanding;
    uint32_t n_pending, n_outstanding;
} loaded;

static int load_body(rl_strategy *s, larch_reader *r, loaded *t, larch_error *err)
{
    size_t n = s->policy.n_params, D = s->space.n_decisions;
    uint32_t policy, hidden, layers, batch;
    uint64_t n_params;
    int rc;
    if ((rc = larch_reader_get_u32(r, &policy, err)) != LARCH_OK ||
        (rc = larch_reader_get_u32(r, &hidden, err)) != LARCH_OK ||
        (rc = larch_reader_get_u32(r, &layers, err)) != LARCH_OK ||
        (rc = larch_reader_get_u32(r, &batch, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(r, &n_params, err)) != LARCH_OK)
        return rc;
    if (policy != (uint32_t)s->params.policy || hidden != (uint32_t)s->params.hidden ||
        layers != (uint32_t)s->params.layers || batch != (uint32_t)s->params.batch || n_params != n)
        return larch_error_set(err, LARCH_EINVAL,
                               "the checkpoint has policy %u, hidden %u, layers %u, batch %u "
                               "(%llu parameters); this instance %u, %lld, %lld, %lld (%zu)",
                               policy, hidden, layers, batch, (unsigned long long)n_params,
                               (unsigned)s->params.policy, (long long)s->params.hidden,
                               (long long)s->params.layers, (long long)s->params.batch, n);
    if ((rc = larch_reader_get_rng(r, &t->rng, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(r, &t->n_asked, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(r, &t->n_told, err)) != LARCH_OK ||
        (rc = larch_reader_get_u64(r, &t->n_updates, err)) != LARCH_OK ||
        (rc = get_doubles(r, &t->baseline_num, 1, 0, "baseline", err)) != LARCH_OK ||
        (rc = get_doubles(r, &t->baseline_den, 1, 1, "baseline weight", err)) != LARCH_OK)
        return rc;
    if (t->baseline_den > 1)
        return larch_error_set(err, LARCH_EFORMAT, "the baseline weight %g is above 1",
                               t->baseline_den);
    if ((rc = get_doubles(r, t->theta, n, 0, "theta", err)) != LARCH_OK ||
        (rc = get_doubles(r, t->adam_m, n, 0, "adam m", err)) != LARCH_OK ||
        (rc = get_doubles(r, t->adam_v, n, 1, "adam v", err)) != LARCH_OK ||
        (rc = larch_reader_get_u32(r, &t->n_pending, err)) != LARCH_OK)
        return rc;
    if (t->n_pending >= batch)
        return larch_error_set(err, LARCH_EFORMAT, "%u pending results, batch is %u", t->n_pending,
                               batch);
    for (uint32_t i = 0; i < t->n_pending; i++)
        if ((rc = get_tokens(s, r, t->pending_tokens + i * D, err)) != LARCH_OK ||
            (rc = get_doubles(r, &t->pending_reward[i], 1, 0, "reward", err)) != LARCH_OK)
            return rc;
    if ((rc = larch_reader_get_u32(r, &t->n_outstanding, err)) != LARCH_OK)
        return rc;
    if (t->n_outstanding > OUTSTANDING_MAX)
        return larch_error_set(err, LARCH_EFORMAT, "%u outstanding proposals, at most %u",
                               t->n_outstanding, OUTSTANDING_MAX);
    for (uint32_t i = 0; i < t->n_outstanding; i++)
        if ((rc = get_tokens(s, r, t->outstanding + i * D, err)) != LARCH_OK)
            return rc;
    return larch_reader_expect_end(r, err);
}

static void swap_ptr(void *a, void *b)
{
    void *x;
    memcpy(&x, a, sizeof x);
    memcpy(a, b, sizeof x);
    memcpy(b, &x, sizeof x);
}

/* Reads into fresh buffers and swaps them in only when the whole checkpoint is valid, so a bad
 * one leaves the strategy as it was. */
static int rl_load(void *self, const void *bytes, size_t size, larch_error *err)
{
    rl_strategy *s = self;
    if (s == NULL || (bytes == NULL && size > 0))
        return larch_error_set(err, LARCH_EINVAL, "rl: load got a NULL argument");
    const larch_host *host = s->host;
    size_t n = s->policy.n_params, D = s->space.n_decisions;
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    int rc = larch_reader_check_header(&r, "rl: load", STATE_MAGIC, STATE_VERSION, &s->space, err);
    if (rc != LARCH_OK)
        return rc;
    loaded t;
    memset(&t, 0, sizeof t);
    t.theta = larch_alloc(host, n, sizeof(double));
    t.adam_m = larch_alloc(host, n, sizeof(double));
    t.adam_v = larch_alloc(host, n, sizeof(double));
    t.pending_tokens = larch_alloc(host, (size_t)s->params.batch, D);
    t.pending_reward = larch_alloc(host, (size_t)s->params.batch, sizeof(double));
    t.outstanding = larch_alloc(host, OUTSTANDING_MAX, D);
    if (!t.theta || !t.adam_m || !t.adam_v || !t.pending_tokens || !t.pending_reward ||
        !t.outstanding)
        rc = larch_error_set(err, LARCH_ENOMEM, "out of memory");
    else
        rc = load_body(s, &r, &t, err);
    if (rc == LARCH_OK) {
        swap_ptr(&s->policy.theta, &t.theta);
        swap_ptr(&s->adam_m, &t.adam_m);
        swap_ptr(&s->adam_v, &t.adam_v);
        swap_ptr(&s->pending_tokens, &t.pending_tokens);
        swap_ptr(&s->pending_reward, &t.pending_reward);
        swap_ptr(&s->outstanding, &t.outstanding);
        s->rng = t.rng;
        s->n_asked = t.n_asked;
        s->n_told = t.n_told;
        s->n_updates = t.n_updates;
        s->baseline_num = t.baseline_num;
        s->baseline_den = t.baseline_den;
        s->n_pending = t.n_pending;
        s->n_outstanding = t.n_outstanding;
    } else {
        larch_error_prefix(err, "rl: load: ");
    }
    /* The old buffers after a swap, the unused new ones after an error. */
    host->free(host->ctx, t.theta);
    host->free(host->ctx, t.adam_m);
    host->free(host->ctx, t.adam_v);
    host->free(host->ctx, t.pending_tokens);
    host->free(host->ctx, t.pending_reward);
    host->free(host->ctx, t.outstanding);
    return rc;
}

static const larch_strategy_vtable vtable = {
    .struct_size = sizeof(larch_strategy_vtable),
    .create = rl_create,
    .ask = rl_ask,
    .tell = rl_tell,
    .save = rl_save,
    .load = rl_load,
    .destroy = rl_destroy,
};

static const larch_plugin descriptor = {
    .abi = LARCH_ABI_HEADER_INIT,
    .kind = LARCH_PLUGIN_STRATEGY,
    .id = "rl",
    .name = "REINFORCE controller",
    .version = "1.0.0",
    .description = "REINFORCE on an LSTM (NAS-RL, ENAS) or per-decision table (NATS-Bench) policy",
    .strategy = &vtable,
};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
