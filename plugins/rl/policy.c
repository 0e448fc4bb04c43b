/* The rl strategy's controller (see policy.h): forward pass with sampling, and backpropagation
 * through time for the gradient of log-probability and entropy. */
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Reserves a named slice of theta and returns its offset. */
static size_t add_tensor(rl_policy *p, size_t count, const char *fmt, unsigned index)
{
    rl_tensor *t = &p->tensors[p->n_tensors++];
    snprintf(t->name, sizeof t->name, fmt, index);
    t->offset = p->n_params;
    t->count = count;
    p->n_params += count;
    return t->offset;
}

void rl_policy_release(rl_policy *p)
{
    if (p->host != NULL) {
        p->host->free(p->host->ctx, p->theta);
        p->host->free(p->host->ctx, p->work);
    }
    p->theta = NULL;
    p->work = NULL;
}

/* Carves the activation and scratch buffers out of one allocation. */
static int alloc_work(rl_policy *p)
{
    size_t D = p->n_decisions, L = p->layers, H = p->hidden, C = p->max_choices;
    size_t sizes[] = {D * H, D * L * 4 * H, D * L * H, D * L * H, D * C, D * C, D,
                      H,     L * H,         L * H,     H,         2 * H, 4 * H, C};
    double **slots[] = {&p->input, &p->gates,   &p->cell,  &p->hid,     &p->squash,
                        &p->logp,  &p->entropy, &p->zeros, &p->dh_next, &p->dc_next,
                        &p->dh,    &p->dconcat, &p->dgate, &p->dlogit};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += sizes[i];
    p->work = p->host->alloc(p->host->ctx, total * sizeof(double));
    if (p->work == NULL)
        return LARCH_ENOMEM;
    double *at = p->work;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = at;
        at += sizes[i];
    }
    return LARCH_OK;
}

int rl_policy_init(rl_policy *p, const larch_host *host, rl_policy_kind kind, uint32_t hidden,
                   uint32_t layers, double temperature, double tanh_constant,
                   const larch_space *space, larch_rng *rng, larch_error *err)
{
    memset(p, 0, sizeof *p);
    if (kind == RL_POLICY_LSTM &&
        (hidden < 1 || hidden > RL_MAX_HIDDEN || layers < 1 || layers > RL_MAX_LAYERS))
        return larch_error_set(err, LARCH_EINVAL,
                               "rl: an LSTM of %u layers of %u units is not supported", layers,
                               hidden);
    if (!(temperature > 0) || !isfinite(temperature) || !(tanh_constant >= 0) ||
        !isfinite(tanh_constant))
        return larch_error_set(err, LARCH_EINVAL, "rl: temperature %g or tanh_constant %g",
                               temperature, tanh_constant);
    p->host = host;
    p->kind = kind;
    p->n_decisions = space->n_decisions;
    p->hidden = kind == RL_POLICY_LSTM ? hidden : 0;
    p->layers = kind == RL_POLICY_LSTM ? layers : 0;
    p->temperature = temperature;
    p->tanh_constant = tanh_constant;
    for (uint32_t d = 0; d < p->n_decisions; d++) {
        p->n_choices[d] = space->decisions[d].n_choices;
        if (p->n_choices[d] > p->max_choices)
            p->max_choices = p->n_choices[d];
    }

    size_t H = p->hidden;
    if (kind == RL_POLICY_LSTM) {
        for (uint32_t l = 0; l < p->layers; l++) {
            p->w_lstm[l] = add_tensor(p, 4 * H * 2 * H, "lstm%u.w", l);
            p->b_lstm[l] = add_tensor(p, 4 * H, "lstm%u.b", l);
        }
        p->start = add_tensor(p, H, "start%u", 0);
        for (uint32_t d = 0; d + 1 < p->n_decisions; d++)
            p->emb[d] = add_tensor(p, p->n_choices[d] * H, "emb%u", d);
        for (uint32_t d = 0; d < p->n_decisions; d++) {
            p->head_w[d] = add_tensor(p, p->n_choices[d] * H, "head%u.w", d);
            p->head_b[d] = add_tensor(p, p->n_choices[d], "head%u.b", d);
        }
    } else {
        for (uint32_t d = 0; d < p->n_decisions; d++)
            p->head_b[d] = add_tensor(p, p->n_choices[d], "logits%u", d);
    }

    p->theta = host->alloc(host->ctx, p->n_params * sizeof(double));
    if (p->theta == NULL || alloc_work(p) != LARCH_OK) {
        rl_policy_release(p);
        return larch_error_set(err, LARCH_ENOMEM,
                               "rl: out of memory for a policy of %zu "
                               "parameters",
                               p->n_params);
    }
    for (size_t i = 0; i < p->n_params; i++)
        p->theta[i] = kind == RL_POLICY_LSTM ? 0.2 * larch_rng_uniform(rng) - 0.1
                                             : 1e-3 * larch_rng_normal(rng);
    return LARCH_OK;
}

/* One LSTM step of layer l at decision d: reads `in` and the layer's state of step d-1. */
static void lstm_step(rl_policy *p, uint32_t d, uint32_t l, const double *in)
{
    size_t H = p->hidden, L = p->layers;
    const double *w = p->theta + p->w_lstm[l], *b = p->theta + p->b_lstm[l];
    const double *h_prev = d > 0 ? p->hid + ((d - 1) * L + l) * H : p->zeros;
    const double *c_prev = d > 0 ? p->cell + ((d - 1) * L + l) * H : p->zeros;
    double *gate = p->gates + (d * L + l) * 4 * H;
    double *c = p->cell + (d * L + l) * H, *h = p->hid + (d * L + l) * H;
    /* Four rows at a time: four independent sums keep the FPU busy, and each sum still adds
     * its terms in the same order (the results do not depend on this blocking). */
    size_t r = 0;
    for (; r + 4 <= 4 * H; r += 4) {
        const double *r0 = w + r * 2 * H, *r1 = r0 + 2 * H, *r2 = r1 + 2 * H, *r3 = r2 + 2 * H;
        double a0 = b[r], a1 = b[r + 1], a2 = b[r + 2], a3 = b[r + 3];
        for (size_t j = 0; j < H; j++) {
            double x = in[j], hp = h_prev[j];
            a0 += r0[j] * x + r0[H + j] * hp;
            a1 += r1[j] * x + r1[H + j] * hp;
            a2 += r2[j] * x + r2[H + j] * hp;
            a3 += r3[j] * x + r3[H + j] * hp;
        }
        gate[r] = a0;
        gate[r + 1] = a1;
        gate[r + 2] = a2;
        gate[r + 3] = a3;
    }
    for (; r < 4 * H; r++) {
        const double *row = w + r * 2 * H;
        double a = b[r];
        for (size_t j = 0; j < H; j++)
            a += row[j] * in[j] + row[H + j] * h_prev[j];
        gate[r] = a;
    }
    for (r = 0; r < 4 * H; r++)
        gate[r] = r < 3 * H ? sigmoid(gate[r]) : tanh(gate[r]);
    for (size_t j = 0; j < H; j++) {
        double i = gate[j], f = gate[H + j], o = gate[2 * H + j], g = gate[3 * H + j];
        c[j] = f * c_prev[j] + i * g;
        h[j] = o * tanh(c[j]);
    }
}

double rl_policy_forward(rl_policy *p, uint8_t *tokens, larch_rng *rng, double *entropy)
{
    size_t H = p->hidden, L = p->layers, C = p->max_choices;
    double log_prob = 0, entropy_sum = 0;
    for (uint32_t d = 0; d < p->n_decisions; d++) {
        uint32_t n = p->n_choices[d];
        double *squash = p->squash + d * C, *logp = p->logp + d * C;
        const double *bias = p->theta + p->head_b[d];
        double z[LARCH_MAX_CHOICES];
        if (p->kind == RL_POLICY_LSTM) {
            double *in = p->input + d * H;
            const double *src =
                d == 0 ? p->theta + p->start : p->theta + p->emb[d - 1] + tokens[d - 1] * H;
            memcpy(in, src, H * sizeof(double));
            for (uint32_t l = 0; l < L; l++)
                lstm_step(p, d, l, l == 0 ? in : p->hid + (d * L + l - 1) * H);
            const double *top = p->hid + (d * L + L - 1) * H, *w = p->theta + p->head_w[d];
            for (uint32_t k = 0; k < n; k++) {
                double u = bias[k];
                for (size_t j = 0; j < H; j++)
                    u += w[k * H + j] * top[j];
                z[k] = u;
            }
        } else {
            memcpy(z, bias, n * sizeof(double));
        }
        /* Temperature, then tanh squashing (ENAS), then a stable log-softmax. */
        double max = -INFINITY;
        for (uint32_t k = 0; k < n; k++) {
            double s = z[k] / p->temperature;
            squash[k] = p->tanh_constant > 0 ? tanh(s) : s;
            z[k] = p->tanh_constant > 0 ? p->tanh_constant * squash[k] : s;
            if (z[k] > max)
                max = z[k];
        }
        double sum = 0;
        for (uint32_t k = 0; k < n; k++)
            sum += exp(z[k] - max);
        double lse = max + log(sum), h_d = 0;
        for (uint32_t k = 0; k < n; k++) {
            logp[k] = z[k] - lse;
            h_d -= exp(logp[k]) * logp[k];
        }
        p->entropy[d] = h_d;
        entropy_sum += h_d;
        if (rng != NULL) {
            /* Inverse CDF; rounding can leave u above the last partial sum, so the last choice
             * catches it. */
            double u = larch_rng_uniform(rng), cum = 0;
            uint32_t k = 0;
            for (; k + 1 < n; k++) {
                cum += exp(logp[k]);
                if (u < cum)
                    break;
            }
            tokens[d] = (uint8_t)k;
        }
        log_prob += logp[tokens[d]];
    }
    if (entropy != NULL)
        *entropy = entropy_sum;
    return log_prob;
}

/* grow[j] += a * in[j], grow[H + j] += a * h_prev[j]: one row of a weight gradient. Distinct
 * arrays (restrict), so the loops vectorise; elementwise, so the order of sums is unchanged. */
static void outer_add(double *restrict grow, double a, const double *restrict in,
                      const double *restrict h_prev, size_t H)
{
    for (size_t j = 0; j < H; j++)
        grow[j] += a * in[j];
    for (size_t j = 0; j < H; j++)
        grow[H + j] += a * h_prev[j];
}

/* acc[j] += a * row[j] for j < n. */
static void axpy_rows(double *restrict acc, double a, const double *restrict row, size_t n)
{
    for (size_t j = 0; j < n; j++)
        acc[j] += a * row[j];
}

/* Backpropagates dh (the gradient into the top layer's output at step d) through the layers of
 * step d, adding parameter gradients to grad and leaving in dh_next/dc_next what flows to step
 * d-1. Leaves the gradient of layer 0's input in dh. */
static void lstm_backward_step(rl_policy *p, uint32_t d, double *grad)
{
    size_t H = p->hidden, L = p->layers;
    for (uint32_t l = L; l-- > 0;) {
        const double *gate = p->gates + (d * L + l) * 4 * H;
        const double *c = p->cell + (d * L + l) * H;
        const double *c_prev = d > 0 ? p->cell + ((d - 1) * L + l) * H : p->zeros;
        const double *h_prev = d > 0 ? p->hid + ((d - 1) * L + l) * H : p->zeros;
        const double *in = l == 0 ? p->input + d * H : p->hid + (d * L + l - 1) * H;
        double *dh_next = p->dh_next + l * H, *dc_next = p->dc_next + l * H;
        /* The output of this layer receives the gradient from above (head or layer l+1, in dh)
         * and from the same layer at step d+1 (dh_next). */
        for (size_t j = 0; j < H; j++) {
            double i = gate[j], f = gate[H + j], o = gate[2 * H + j], g = gate[3 * H + j];
            double tc = tanh(c[j]), dh = p->dh[j] + dh_next[j];
            double dc = dh * o * (1 - tc * tc) + dc_next[j];
            p->dgate[j] = dc * g * i * (1 - i);
            p->dgate[H + j] = dc * c_prev[j] * f * (1 - f);
            p->dgate[2 * H + j] = dh * tc * o * (1 - o);
            p->dgate[3 * H + j] = dc * i * (1 - g * g);
            dc_next[j] = dc * f;
        }
        const double *w = p->theta + p->w_lstm[l];
        double *gw = grad + p->w_lstm[l], *gb = grad + p->b_lstm[l];
        memset(p->dconcat, 0, 2 * H * sizeof(double));
        for (size_t r = 0; r < 4 * H; r++) {
            gb[r] += p->dgate[r];
            outer_add(gw + r * 2 * H, p->dgate[r], in, h_prev, H);
            axpy_rows(p->dconcat, p->dgate[r], w + r * 2 * H, 2 * H);
        }
        memcpy(dh_next, p->dconcat + H, H * sizeof(double));
        memcpy(p->dh, p->dconcat, H * sizeof(double)); /* into layer l-1's output */
    }
}

void rl_policy_backward(rl_policy *p, const uint8_t *tokens, double coef_logp, double coef_entropy,
                        double *grad)
{
    size_t H = p->hidden, L = p->layers, C = p->max_choices;
    if (p->kind == RL_POLICY_LSTM) {
        memset(p->dh_next, 0, L * H * sizeof(double));
        memset(p->dc_next, 0, L * H * sizeof(double));
    }
    for (uint32_t d = p->n_decisions; d-- > 0;) {
        uint32_t n = p->n_choices[d];
        const double *squash = p->squash + d * C, *logp = p->logp + d * C;
        /* d/dz of log p_a is 1[k = a] - p_k; d/dz of the entropy is -p_k (log p_k + H). */
        for (uint32_t k = 0; k < n; k++) {
            double pk = exp(logp[k]);
            double dz =
                coef_logp * ((k == tokens[d]) - pk) - coef_entropy * pk * (logp[k] + p->entropy[d]);
            double dsquash =
                p->tanh_constant > 0 ? p->tanh_constant * (1 - squash[k] * squash[k]) : 1.0;
            p->dlogit[k] = dz * dsquash / p->temperature;
            grad[p->head_b[d] + k] += p->dlogit[k];
        }
        if (p->kind != RL_POLICY_LSTM)
            continue;
        const double *top = p->hid + (d * L + L - 1) * H, *w = p->theta + p->head_w[d];
        double *gw = grad + p->head_w[d];
        memset(p->dh, 0, H * sizeof(double));
        for (uint32_t k = 0; k < n; k++)
            for (size_t j = 0; j < H; j++) {
                gw[k * H + j] += p->dlogit[k] * top[j];
                p->dh[j] += p->dlogit[k] * w[k * H + j];
            }
        lstm_backward_step(p, d, grad);
        double *gin = d == 0 ? grad + p->start : grad + p->emb[d - 1] + tokens[d - 1] * H;
        for (size_t j = 0; j < H; j++)
            gin[j] += p->dh[j];
    }
}
