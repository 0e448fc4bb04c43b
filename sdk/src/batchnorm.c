/* Batch normalisation over (N, H, W) per channel; statistics are summed in double. */
#include <math.h>
#include <string.h>

#include "larch/nn.h"
#include "nn_internal.h"
#include "parallel.h"

/* Sums over one plane in 8 float lanes (which the compiler vectorises), combined in double. */
#define LANES 8

static double plane_sum(const float *restrict x, size_t count)
{
    float acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += x[j + l];
    double s = 0.0;
    for (; j < count; j++)
        s += x[j];
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

static double plane_sq_dev(const float *restrict x, size_t count, float mean)
{
    float acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++) {
            const float d = x[j + l] - mean;
            acc[l] += d * d;
        }
    double s = 0.0;
    for (; j < count; j++) {
        const double d = (double)x[j] - mean;
        s += d * d;
    }
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

/* sum(dy) and sum(dy * xhat) over one plane. */
static void plane_sum_dot(const float *restrict dy, const float *restrict xhat, size_t count,
                          double *sum, double *dot)
{
    float acc_s[LANES] = {0}, acc_d[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++) {
            acc_s[l] += dy[j + l];
            acc_d[l] += dy[j + l] * xhat[j + l];
        }
    double s = 0.0, d = 0.0;
    for (; j < count; j++) {
        s += dy[j];
        d += (double)dy[j] * xhat[j];
    }
    for (int l = 0; l < LANES; l++) {
        s += acc_s[l];
        d += acc_d[l];
    }
    *sum += s;
    *dot += d;
}

/* The elementwise loops below work in blocks of LANES through a local array: all loads of a
 * block come before its stores, so they vectorise at -O2 even where y may alias x. */

/* y = x * scale + shift. */
static void affine(const float *x, float *y, size_t count, float scale, float shift)
{
    size_t j = 0;
    for (; j + LANES <= count; j += LANES) {
        float t[LANES];
        for (int l = 0; l < LANES; l++)
            t[l] = x[j + l] * scale + shift;
        for (int l = 0; l < LANES; l++)
            y[j + l] = t[l];
    }
    for (; j < count; j++)
        y[j] = x[j] * scale + shift;
}

/* xhat = (x - mean) * inv_std; y = gamma * xhat + beta (y may alias x). */
static void normalise(const float *x, float *restrict xhat, float *y, size_t count, float mean,
                      float inv_std, float gamma, float beta)
{
    size_t j = 0;
    for (; j + LANES <= count; j += LANES) {
        float t[LANES];
        for (int l = 0; l < LANES; l++)
            t[l] = (x[j + l] - mean) * inv_std;
        for (int l = 0; l < LANES; l++) {
            xhat[j + l] = t[l];
            y[j + l] = gamma * t[l] + beta;
        }
    }
    for (; j < count; j++) {
        const float t = (x[j] - mean) * inv_std;
        xhat[j] = t;
        y[j] = gamma * t + beta;
    }
}

/* dx = scale * (dy - mean_dy - xhat * mean_dy_xhat). */
static void input_grad(const float *dy, const float *xhat, float *dx, size_t count, float scale,
                       float mean_dy, float mean_dy_xhat)
{
    size_t j = 0;
    for (; j + LANES <= count; j += LANES) {
        float t[LANES];
        for (int l = 0; l < LANES; l++)
            t[l] = scale * (dy[j + l] - mean_dy - xhat[j + l] * mean_dy_xhat);
        for (int l = 0; l < LANES; l++)
            dx[j + l] = t[l];
    }
    for (; j < count; j++)
        dx[j] = scale * (dy[j] - mean_dy - xhat[j] * mean_dy_xhat);
}

int larch_batchnorm_init(larch_batchnorm *bn, uint32_t c, uint32_t hw, uint32_t max_batch,
                         larch_error *err)
{
    memset(bn, 0, sizeof *bn);
    if (c == 0 || hw == 0 || max_batch == 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "batchnorm: c %u, hw %u, max_batch %u: all must be positive", c, hw,
                               max_batch);
    bn->c = c;
    bn->hw = hw;
    bn->max_batch = max_batch;
    bn->momentum = 0.1f;
    bn->eps = 1e-5f;
    bn->gamma = larch_tensor_alloc(c);
    bn->beta = larch_tensor_alloc(c);
    bn->gamma_grad = larch_tensor_alloc(c);
    bn->beta_grad = larch_tensor_alloc(c);
    bn->running_mean = larch_tensor_alloc(c);
    bn->running_var = larch_tensor_alloc(c);
    bn->mean = larch_tensor_alloc(c);
    bn->inv_std = larch_tensor_alloc(c);
    bn->xhat = larch_tensor_alloc((size_t)max_batch * c * hw);
    if (bn->gamma == NULL || bn->beta == NULL || bn->gamma_grad == NULL || bn->beta_grad == NULL ||
        bn->running_mean == NULL || bn->running_var == NULL || bn->mean == NULL ||
        bn->inv_std == NULL || bn->xhat == NULL) {
        larch_batchnorm_release(bn);
        return larch_error_set(err, LARCH_ENOMEM,
                               "batchnorm: out of memory for %u channels x %u x batch %u", c, hw,
                               max_batch);
    }
    for (uint32_t i = 0; i < c; i++) {
        bn->gamma[i] = 1.0f;
        bn->running_var[i] = 1.0f;
    }
    return LARCH_OK;
}

void larch_batchnorm_release(larch_batchnorm *bn)
{
    larch_tensor_free(bn->gamma);
    larch_tensor_free(bn->beta);
    larch_tensor_free(bn->gamma_grad);
    larch_tensor_free(bn->beta_grad);
    larch_tensor_free(bn->running_mean);
    larch_tensor_free(bn->running_var);
    larch_tensor_free(bn->mean);
    larch_tensor_free(bn->inv_std);
    larch_tensor_free(bn->xhat);
    memset(bn, 0, sizeof *bn);
}

/* Channels [c0, c1) of each pass; channels are independent, so splitting them across the
 * thread pool changes no result. */
static void forward_eval(const larch_batchnorm *bn, const float *x, float *y, uint32_t n,
                         uint32_t c0, uint32_t c1)
{
    const size_t hw = bn->hw;
    for (uint32_t ch = c0; ch < c1; ch++) {
        const float scale = bn->gamma[ch] / sqrtf(bn->running_var[ch] + bn->eps);
        const float shift = bn->beta[ch] - bn->running_mean[ch] * scale;
        for (uint32_t i = 0; i < n; i++) {
            const size_t off = ((size_t)i * bn->c + ch) * hw;
            affine(x + off, y + off, hw, scale, shift);
        }
    }
}

static void forward_train(larch_batchnorm *bn, const float *x, float *y, uint32_t n, uint32_t c0,
                          uint32_t c1)
{
    const size_t hw = bn->hw;
    const double count = (double)n * (double)hw;
    for (uint32_t ch = c0; ch < c1; ch++) {
        double sum = 0.0;
        for (uint32_t i = 0; i < n; i++)
            sum += plane_sum(x + ((size_t)i * bn->c + ch) * hw, hw);
        const double mean = sum / count;
        /* Two passes: the variance of activations with a large mean stays accurate. */
        double sq = 0.0;
        for (uint32_t i = 0; i < n; i++)
            sq += plane_sq_dev(x + ((size_t)i * bn->c + ch) * hw, hw, (float)mean);
        const double var = sq / count;
        const float inv_std = (float)(1.0 / sqrt(var + bn->eps));
        const float fmean = (float)mean;
        const float gamma = bn->gamma[ch], beta = bn->beta[ch];
        bn->mean[ch] = fmean;
        bn->inv_std[ch] = inv_std;
        for (uint32_t i = 0; i < n; i++) {
            const size_t off = ((size_t)i * bn->c + ch) * hw;
            normalise(x + off, bn->xhat + off, y + off, hw, fmean, inv_std, gamma, beta);
        }
        const double unbiased = count > 1.0 ? sq / (count - 1.0) : var;
        const float m = bn->momentum;
        bn->running_mean[ch] = (1.0f - m) * bn->running_mean[ch] + m * fmean;
        bn->running_var[ch] = (1.0f - m) * bn->running_var[ch] + m * (float)unbiased;
    }
}

/* dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)), per channel. */
static void backward_channels(larch_batchnorm *bn, const float *dy, float *dx, uint32_t n,
                              uint32_t c0, uint32_t c1)
{
    const size_t hw = bn->hw;
    const double count = (double)n * (double)hw;
    for (uint32_t ch = c0; ch < c1; ch++) {
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            const size_t off = ((size_t)i * bn->c + ch) * hw;
            plane_sum_dot(dy + off, bn->xhat + off, hw, &sum_dy, &sum_dy_xhat);
        }
        bn->beta_grad[ch] += (float)sum_dy;
        bn->gamma_grad[ch] += (float)sum_dy_xhat;
        if (dx == NULL)
            continue;
        const float scale = bn->gamma[ch] * bn->inv_std[ch];
        const float mean_dy = (float)(sum_dy / count);
        const float mean_dy_xhat = (float)(sum_dy_xhat / count);
        for (uint32_t i = 0; i < n; i++) {
            const size_t off = ((size_t)i * bn->c + ch) * hw;
            input_grad(dy + off, bn->xhat + off, dx + off, hw, scale, mean_dy, mean_dy_xhat);
        }
    }
}

struct bn_job {
    larch_batchnorm *bn;
    const float *in;
    float *out;
    uint32_t n, n_tasks;
    int pass; /* 0: evaluation, 1: training forward, 2: backward */
};

static void bn_task(void *arg, uint32_t task)
{
    const struct bn_job *job = arg;
    const uint32_t c0 = larch_parallel_begin(job->bn->c, task, job->n_tasks);
    const uint32_t c1 = larch_parallel_begin(job->bn->c, task + 1, job->n_tasks);
    if (job->pass == 0)
        forward_eval(job->bn, job->in, job->out, job->n, c0, c1);
    else if (job->pass == 1)
        forward_train(job->bn, job->in, job->out, job->n, c0, c1);
    else
        backward_channels(job->bn, job->in, job->out, job->n, c0, c1);
}

static void bn_run(larch_batchnorm *bn, const float *in, float *out, uint32_t n, int pass)
{
    uint32_t tasks = (uint32_t)larch_nn_threads();
    if (tasks > bn->c)
        tasks = bn->c;
    struct bn_job job = {bn, in, out, n, tasks ? tasks : 1, pass};
    larch_parallel_run(job.n_tasks, bn_task, &job);
}

void larch_batchnorm_forward(larch_batchnorm *bn, const float *x, float *y, uint32_t n,
                             int training)
{
    bn_run(bn, x, y, n, training ? 1 : 0);
}

void larch_batchnorm_backward(larch_batchnorm *bn, const float *dy, float *dx, uint32_t n)
{
    bn_run(bn, dy, dx, n, 2);
}

int batchnorm_init_fused(larch_batchnorm *bn, uint32_t c, uint32_t hw, uint32_t max_batch,
                         larch_error *err)
{
    int rc = larch_batchnorm_init(bn, c, hw, 1, err);
    if (rc != LARCH_OK)
        return rc;
    larch_tensor_free(bn->xhat);
    bn->xhat = NULL;
    bn->max_batch = max_batch;
    return LARCH_OK;
}

void batchnorm_finish_stats(larch_batchnorm *bn, const double *stats, uint32_t n)
{
    const double hw = (double)bn->hw;
    for (uint32_t ch = 0; ch < bn->c; ch++) {
        /* Chan et al.'s pairwise update: exact in the order of the images. */
        double count = 0.0, mean = 0.0, m2 = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            const double *s = stats + 2 * ((size_t)i * bn->c + ch);
            const double img_mean = s[0] / hw, total = count + hw;
            const double delta = img_mean - mean;
            mean += delta * hw / total;
            m2 += s[1] + delta * delta * count * hw / total;
            count = total;
        }
        const double var = count > 0.0 ? m2 / count : 0.0;
        const float fmean = (float)mean;
        bn->mean[ch] = fmean;
        bn->inv_std[ch] = (float)(1.0 / sqrt(var + bn->eps));
        const double unbiased = count > 1.0 ? m2 / (count - 1.0) : var;
        const float m = bn->momentum;
        bn->running_mean[ch] = (1.0f - m) * bn->running_mean[ch] + m * fmean;
        bn->running_var[ch] = (1.0f - m) * bn->running_var[ch] + m * (float)unbiased;
    }
}

void batchnorm_finish_grad(larch_batchnorm *bn, const double *sums, uint32_t n, float *coef)
{
    const double count = (double)n * (double)bn->hw;
    for (uint32_t ch = 0; ch < bn->c; ch++) {
        double sum = 0.0, dot = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            sum += sums[2 * ((size_t)i * bn->c + ch)];
            dot += sums[2 * ((size_t)i * bn->c + ch) + 1];
        }
        const double inv_std = bn->inv_std[ch];
        const double sum_xhat = dot * inv_std; /* sum(g * xhat) */
        bn->beta_grad[ch] += (float)sum;
        bn->gamma_grad[ch] += (float)sum_xhat;
        /* dz = scale * (g - mean(g) - xhat * mean(g * xhat)), xhat = (z - mean) * inv_std */
        const double scale = bn->gamma[ch] * inv_std;
        const double k = scale * inv_std * (sum_xhat / count);
        coef[ch] = (float)scale;
        coef[bn->c + ch] = (float)-k;
        coef[2 * bn->c + ch] = (float)(k * bn->mean[ch] - scale * sum / count);
    }
}
