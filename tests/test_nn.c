/* NN primitives against independent computations: a naive direct convolution, central
 * finite differences of sum(y * r) in double, and small hand-computed cases. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "larch/nn.h"

#define FD_REL_TOL 2e-2
#define FD_ABS_TOL 1e-3
#define FD_SAMPLES 40

static void fill_normal(larch_rng *rng, float *x, size_t count, double scale)
{
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(scale * larch_rng_normal(rng));
}

/* Values at least `gap` away from 0, so a finite difference never straddles ReLU's kink. */
static void fill_away_from_zero(larch_rng *rng, float *x, size_t count, double gap)
{
    for (size_t i = 0; i < count; i++) {
        double v;
        do
            v = larch_rng_normal(rng);
        while (fabs(v) < gap);
        x[i] = (float)v;
    }
}

static float *alloc_or_die(size_t count)
{
    float *p = larch_tensor_alloc(count);
    cr_assert_not_null(p, "larch_tensor_alloc(%zu)", count);
    return p;
}

static double dot(const float *a, const float *b, size_t count)
{
    double s = 0.0;
    for (size_t i = 0; i < count; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* The loss sum(y * r) for the current parameters; ctx is the test's own state. */
typedef double (*loss_fn)(void *ctx);

/* Compares analytic[j] with the central difference of loss in param[j] for a sample of j. */
static void check_grad(const char *what, float *param, const float *analytic, size_t count,
                       loss_fn loss, void *ctx, larch_rng *rng, float eps)
{
    size_t samples = count < FD_SAMPLES ? count : FD_SAMPLES;
    for (size_t s = 0; s < samples; s++) {
        size_t j = count <= FD_SAMPLES ? s : (size_t)larch_rng_below(rng, count);
        const float saved = param[j];
        const float plus = saved + eps, minus = saved - eps;
        param[j] = plus;
        const double lp = loss(ctx);
        param[j] = minus;
        const double lm = loss(ctx);
        param[j] = saved;
        const double numeric = (lp - lm) / ((double)plus - (double)minus);
        const double a = analytic[j];
        const double tol = FD_REL_TOL * fmax(fabs(a), fabs(numeric)) + FD_ABS_TOL;
        cr_expect(fabs(a - numeric) <= tol, "%s[%zu]: analytic %.6g, numeric %.6g", what, j, a,
                  numeric);
    }
}

/* ---- convolution ---- */

struct conv_case {
    uint32_t c_in, c_out, k, stride, pad, h, w;
};

static const struct conv_case conv_cases[] = {
    {3, 5, 3, 1, 1, 7, 7}, {3, 5, 3, 2, 1, 7, 7}, {4, 6, 3, 1, 0, 7, 7},   {2, 3, 3, 2, 0, 8, 8},
    {4, 8, 1, 1, 0, 7, 7}, {3, 5, 1, 2, 0, 7, 7}, {3, 4, 3, 2, 1, 28, 28}, {2, 3, 3, 1, 1, 28, 28},
    {3, 2, 3, 1, 1, 5, 9}, {2, 3, 3, 2, 1, 9, 6}, {2, 2, 5, 1, 2, 7, 7},   {3, 3, 2, 2, 0, 8, 8},
};

static void naive_conv(const larch_conv2d *c, const float *x, double *y, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t co = 0; co < c->c_out; co++)
            for (uint32_t oy = 0; oy < c->h_out; oy++)
                for (uint32_t ox = 0; ox < c->w_out; ox++) {
                    double s = 0.0;
                    for (uint32_t ci = 0; ci < c->c_in; ci++)
                        for (uint32_t ky = 0; ky < c->k; ky++)
                            for (uint32_t kx = 0; kx < c->k; kx++) {
                                long iy = (long)(oy * c->stride + ky) - (long)c->pad;
                                long ix = (long)(ox * c->stride + kx) - (long)c->pad;
                                if (iy < 0 || ix < 0 || iy >= (long)c->h || ix >= (long)c->w)
                                    continue;
                                double wv =
                                    c->weight[((co * c->c_in + ci) * c->k + ky) * c->k + kx];
                                double xv = x[((size_t)(i * c->c_in + ci) * c->h + iy) * c->w + ix];
                                s += wv * xv;
                            }
                    y[((size_t)(i * c->c_out + co) * c->h_out + oy) * c->w_out + ox] = s;
                }
}

static void conv_forward_matches_naive(int threads)
{
    cr_assert_eq(larch_nn_set_threads(threads), threads);
    larch_rng rng;
    larch_rng_seed(&rng, 42);
    const uint32_t n = 3;
    for (size_t t = 0; t < sizeof conv_cases / sizeof conv_cases[0]; t++) {
        const struct conv_case *cc = &conv_cases[t];
        larch_conv2d conv;
        larch_error err = {0};
        int rc = larch_conv2d_init(&conv, cc->c_in, cc->c_out, cc->k, cc->stride, cc->pad, cc->h,
                                   cc->w, n, &rng, &err);
        cr_assert_eq(rc, LARCH_OK, "case %zu: %s", t, err.message);
        cr_assert_eq(conv.h_out, (cc->h + 2 * cc->pad - cc->k) / cc->stride + 1);
        cr_assert_eq(larch_conv2d_flops(&conv),
                     (uint64_t)cc->c_out * cc->c_in * cc->k * cc->k * conv.h_out * conv.w_out);
        const size_t xc = (size_t)n * cc->c_in * cc->h * cc->w;
        const size_t yc = (size_t)n * cc->c_out * conv.h_out * conv.w_out;
        float *x = alloc_or_die(xc), *y = alloc_or_die(yc);
        double *ref = calloc(yc, sizeof *ref);
        cr_assert_not_null(ref);
        fill_normal(&rng, x, xc, 1.0);
        larch_conv2d_forward(&conv, x, y, n);
        naive_conv(&conv, x, ref, n);
        for (size_t i = 0; i < yc; i++)
            cr_assert(fabs(y[i] - ref[i]) <= 1e-4 * (1.0 + fabs(ref[i])),
                      "case %zu (k%u s%u p%u %ux%u) y[%zu] = %g, expected %g", t, cc->k, cc->stride,
                      cc->pad, cc->h, cc->w, i, y[i], ref[i]);
        free(ref);
        larch_tensor_free(x);
        larch_tensor_free(y);
        larch_conv2d_release(&conv);
    }
}

Test(conv, forward_matches_naive_one_thread)
{
    conv_forward_matches_naive(1);
}

Test(conv, forward_matches_naive_two_threads)
{
    conv_forward_matches_naive(2);
}

struct conv_ctx {
    larch_conv2d *conv;
    const float *x, *r;
    float *y;
    uint32_t n;
    size_t yc;
};

static double conv_loss(void *arg)
{
    struct conv_ctx *c = arg;
    larch_conv2d_forward(c->conv, c->x, c->y, c->n);
    return dot(c->y, c->r, c->yc);
}

Test(conv, gradients_match_finite_differences)
{
    larch_rng rng;
    larch_rng_seed(&rng, 7);
    const uint32_t n = 3;
    static const struct conv_case cases[] = {
        {3, 4, 3, 1, 1, 7, 7}, {3, 4, 3, 2, 1, 7, 7}, {2, 3, 3, 2, 0, 8, 8},
        {4, 3, 1, 1, 0, 5, 5}, {3, 2, 1, 2, 0, 7, 7}, {2, 3, 3, 2, 1, 9, 6},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const struct conv_case *cc = &cases[t];
        larch_conv2d conv;
        larch_error err = {0};
        cr_assert_eq(larch_conv2d_init(&conv, cc->c_in, cc->c_out, cc->k, cc->stride, cc->pad,
                                       cc->h, cc->w, n, &rng, &err),
                     LARCH_OK, "%s", err.message);
        const size_t xc = (size_t)n * cc->c_in * cc->h * cc->w;
        const size_t yc = (size_t)n * cc->c_out * conv.h_out * conv.w_out;
        const size_t wc = (size_t)cc->c_out * cc->c_in * cc->k * cc->k;
        float *x = alloc_or_die(xc), *dx = alloc_or_die(xc);
        float *y = alloc_or_die(yc), *r = alloc_or_die(yc);
        fill_normal(&rng, x, xc, 1.0);
        fill_normal(&rng, r, yc, 1.0);
        /* Backward adds into weight_grad: a nonzero start must be kept. */
        for (size_t i = 0; i < wc; i++)
            conv.weight_grad[i] = 0.5f;
        larch_conv2d_forward(&conv, x, y, n);
        larch_conv2d_backward(&conv, x, r, dx, n);
        for (size_t i = 0; i < wc; i++)
            conv.weight_grad[i] -= 0.5f;

        struct conv_ctx ctx = {&conv, x, r, y, n, yc};
        check_grad("conv dx", x, dx, xc, conv_loss, &ctx, &rng, 1e-2f);
        check_grad("conv dW", conv.weight, conv.weight_grad, wc, conv_loss, &ctx, &rng, 1e-2f);

        /* dx == NULL computes the same weight gradient. */
        float *wg = alloc_or_die(wc);
        memcpy(wg, conv.weight_grad, wc * sizeof(float));
        memset(conv.weight_grad, 0, wc * sizeof(float));
        larch_conv2d_backward(&conv, x, r, NULL, n);
        for (size_t i = 0; i < wc; i++)
            cr_expect(fabsf(conv.weight_grad[i] - wg[i]) <= 1e-5f * (1.0f + fabsf(wg[i])));
        larch_tensor_free(wg);
        larch_tensor_free(x);
        larch_tensor_free(dx);
        larch_tensor_free(y);
        larch_tensor_free(r);
        larch_conv2d_release(&conv);
    }
}

Test(conv, init_rejects_bad_shapes)
{
    larch_rng rng;
    larch_rng_seed(&rng, 1);
    larch_conv2d conv;
    larch_error err = {0};
    cr_expect_eq(larch_conv2d_init(&conv, 3, 4, 0, 1, 0, 7, 7, 2, &rng, &err), LARCH_EINVAL);
    cr_expect_eq(err.status, LARCH_EINVAL);
    cr_expect(strstr(err.message, "k 0") != NULL, "message: %s", err.message);
    cr_expect_null(conv.weight);
    cr_expect_eq(larch_conv2d_init(&conv, 3, 4, 5, 1, 0, 3, 3, 2, &rng, &err), LARCH_EINVAL);
    cr_expect(strstr(err.message, "3x3") != NULL, "message: %s", err.message);
    larch_conv2d_release(&conv);
}

/* ---- batch norm ---- */

struct bn_ctx {
    larch_batchnorm *bn;
    const float *x, *r;
    float *y;
    uint32_t n;
    size_t count;
};

static double bn_loss(void *arg)
{
    struct bn_ctx *c = arg;
    larch_batchnorm_forward(c->bn, c->x, c->y, c->n, 1);
    return dot(c->y, c->r, c->count);
}

Test(batchnorm, training_gradients_match_finite_differences)
{
    larch_rng rng;
    larch_rng_seed(&rng, 11);
    const uint32_t c = 3, hw = 25, n = 4;
    larch_batchnorm bn;
    larch_error err = {0};
    cr_assert_eq(larch_batchnorm_init(&bn, c, hw, n, &err), LARCH_OK, "%s", err.message);
    const size_t count = (size_t)n * c * hw;
    float *x = alloc_or_die(count), *y = alloc_or_die(count);
    float *r = alloc_or_die(count), *dx = alloc_or_die(count);
    fill_normal(&rng, x, count, 2.0);
    for (size_t i = 0; i < count; i++)
        x[i] += 1.5f;
    fill_normal(&rng, r, count, 1.0);
    for (uint32_t i = 0; i < c; i++) {
        bn.gamma[i] = (float)(1.0 + 0.5 * larch_rng_normal(&rng));
        bn.beta[i] = (float)larch_rng_normal(&rng);
    }
    larch_batchnorm_forward(&bn, x, y, n, 1);
    larch_batchnorm_backward(&bn, r, dx, n);

    struct bn_ctx ctx = {&bn, x, r, y, n, count};
    check_grad("bn dx", x, dx, count, bn_loss, &ctx, &rng, 1e-2f);
    check_grad("bn dgamma", bn.gamma, bn.gamma_grad, c, bn_loss, &ctx, &rng, 1e-2f);
    check_grad("bn dbeta", bn.beta, bn.beta_grad, c, bn_loss, &ctx, &rng, 1e-2f);

    /* dx may alias dy. */
    larch_batchnorm_forward(&bn, x, y, n, 1);
    memcpy(y, r, count * sizeof(float));
    larch_batchnorm_backward(&bn, y, y, n);
    for (size_t i = 0; i < count; i++)
        cr_expect(fabsf(y[i] - dx[i]) <= 1e-5f, "aliased dx[%zu] = %g, expected %g", i, y[i],
                  dx[i]);
    larch_tensor_free(x);
    larch_tensor_free(y);
    larch_tensor_free(r);
    larch_tensor_free(dx);
    larch_batchnorm_release(&bn);
}

Test(batchnorm, training_normalises_and_updates_running_stats)
{
    larch_batchnorm bn;
    larch_error err = {0};
    cr_assert_eq(larch_batchnorm_init(&bn, 1, 2, 1, &err), LARCH_OK, "%s", err.message);
    cr_expect_float_eq(bn.momentum, 0.1f, 1e-7f);
    const float x[2] = {1.0f, 3.0f};
    float y[2];
    larch_batchnorm_forward(&bn, x, y, 1, 1);
    /* Batch mean 2, biased variance 1: y = -+1 / sqrt(1 + eps). */
    cr_expect_float_eq(y[0], -1.0f / sqrtf(1.0f + 1e-5f), 1e-6f);
    cr_expect_float_eq(y[1], 1.0f / sqrtf(1.0f + 1e-5f), 1e-6f);
    /* Running stats: 0.9 * 0 + 0.1 * 2 and, with the unbiased variance 2, 0.9 * 1 + 0.1 * 2. */
    cr_expect_float_eq(bn.running_mean[0], 0.2f, 1e-6f);
    cr_expect_float_eq(bn.running_var[0], 1.1f, 1e-6f);
    larch_batchnorm_release(&bn);
}

Test(batchnorm, eval_uses_running_stats)
{
    larch_batchnorm bn;
    larch_error err = {0};
    cr_assert_eq(larch_batchnorm_init(&bn, 2, 2, 1, &err), LARCH_OK, "%s", err.message);
    bn.running_mean[0] = 1.0f;
    bn.running_var[0] = 4.0f;
    bn.gamma[0] = 2.0f;
    bn.beta[0] = 0.5f;
    bn.running_mean[1] = -1.0f;
    bn.running_var[1] = 0.25f;
    bn.gamma[1] = 1.0f;
    bn.beta[1] = 0.0f;
    float x[4] = {3.0f, -1.0f, 0.0f, 1.0f};
    larch_batchnorm_forward(&bn, x, x, 1, 0); /* in place */
    const float s0 = 2.0f / sqrtf(4.0f + 1e-5f), s1 = 1.0f / sqrtf(0.25f + 1e-5f);
    cr_expect_float_eq(x[0], 2.0f * s0 + 0.5f, 1e-6f);
    cr_expect_float_eq(x[1], -2.0f * s0 + 0.5f, 1e-6f);
    cr_expect_float_eq(x[2], 1.0f * s1, 1e-5f);
    cr_expect_float_eq(x[3], 2.0f * s1, 1e-5f);
    /* Eval leaves the running statistics alone. */
    cr_expect_float_eq(bn.running_mean[0], 1.0f, 0.0f);
    cr_expect_float_eq(bn.running_var[1], 0.25f, 0.0f);
    larch_batchnorm_release(&bn);
}

/* ---- pooling ---- */

struct pool_ctx {
    const larch_avgpool *pool;
    const float *x, *r;
    float *y;
    uint32_t n;
    size_t yc;
};

static double pool_loss(void *arg)
{
    struct pool_ctx *c = arg;
    larch_avgpool_forward(c->pool, c->x, c->y, c->n);
    return dot(c->y, c->r, c->yc);
}

static void avgpool_grad_case(uint32_t k, uint32_t stride, uint32_t h, uint32_t w, uint32_t h_out,
                              uint32_t w_out)
{
    larch_rng rng;
    larch_rng_seed(&rng, 100 + k * 10 + stride);
    const uint32_t n = 2, c = 3;
    larch_avgpool pool;
    larch_error err = {0};
    cr_assert_eq(larch_avgpool_init(&pool, c, k, stride, h, w, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(pool.pad, (k - 1) / 2);
    cr_assert_eq(pool.h_out, h_out, "k%u s%u: h_out %u, expected %u", k, stride, pool.h_out, h_out);
    cr_assert_eq(pool.w_out, w_out);
    const size_t xc = (size_t)n * c * h * w, yc = (size_t)n * c * h_out * w_out;
    float *x = alloc_or_die(xc), *dx = alloc_or_die(xc);
    float *y = alloc_or_die(yc), *r = alloc_or_die(yc);
    fill_normal(&rng, x, xc, 1.0);
    fill_normal(&rng, r, yc, 1.0);
    larch_avgpool_forward(&pool, x, y, n);
    larch_avgpool_backward(&pool, r, dx, n);
    struct pool_ctx ctx = {&pool, x, r, y, n, yc};
    check_grad("avgpool dx", x, dx, xc, pool_loss, &ctx, &rng, 1e-2f);
    larch_tensor_free(x);
    larch_tensor_free(dx);
    larch_tensor_free(y);
    larch_tensor_free(r);
}

Test(avgpool, gradients_3x3_stride1)
{
    avgpool_grad_case(3, 1, 7, 6, 7, 6);
}

Test(avgpool, gradients_3x3_stride2)
{
    avgpool_grad_case(3, 2, 7, 8, 4, 4);
}

Test(avgpool, gradients_2x2_stride2)
{
    avgpool_grad_case(2, 2, 8, 7, 4, 3);
}

Test(avgpool, padded_cells_are_not_counted)
{
    larch_avgpool pool;
    larch_error err = {0};
    cr_assert_eq(larch_avgpool_init(&pool, 1, 3, 1, 3, 3, &err), LARCH_OK, "%s", err.message);
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float y[9];
    larch_avgpool_forward(&pool, x, y, 1);
    cr_expect_float_eq(y[0], (1 + 2 + 4 + 5) / 4.0f, 1e-6f);
    cr_expect_float_eq(y[1], (1 + 2 + 3 + 4 + 5 + 6) / 6.0f, 1e-6f);
    cr_expect_float_eq(y[4], 5.0f, 1e-6f);
    cr_expect_float_eq(y[8], (5 + 6 + 8 + 9) / 4.0f, 1e-6f);

    cr_assert_eq(larch_avgpool_init(&pool, 1, 2, 2, 3, 3, &err), LARCH_OK, "%s", err.message);
    cr_expect_eq(pool.h_out, 1);
    larch_avgpool_forward(&pool, x, y, 1);
    cr_expect_float_eq(y[0], (1 + 2 + 4 + 5) / 4.0f, 1e-6f);
}

/* Mean over the window cells inside the input, in double. */
static void naive_avgpool(const larch_avgpool *pool, const float *x, double *y, uint32_t n)
{
    const long pad = pool->pad;
    for (size_t p = 0; p < (size_t)n * pool->c; p++)
        for (uint32_t oy = 0; oy < pool->h_out; oy++)
            for (uint32_t ox = 0; ox < pool->w_out; ox++) {
                double sum = 0.0;
                int cells = 0;
                for (uint32_t ky = 0; ky < pool->k; ky++)
                    for (uint32_t kx = 0; kx < pool->k; kx++) {
                        long iy = (long)(oy * pool->stride + ky) - pad;
                        long ix = (long)(ox * pool->stride + kx) - pad;
                        if (iy < 0 || ix < 0 || iy >= (long)pool->h || ix >= (long)pool->w)
                            continue;
                        sum += x[(p * pool->h + iy) * pool->w + ix];
                        cells++;
                    }
                y[(p * pool->h_out + oy) * pool->w_out + ox] = sum / cells;
            }
}

/* Forward against the naive mean; backward as its exact transpose: <P x, r> = <x, P^T r>. The
 * widths above 1024 take the direct path instead of the separable one. */
Test(avgpool, matches_naive_and_backward_is_transpose)
{
    static const uint32_t cases[][4] = {
        {3, 1, 7, 6}, {3, 2, 7, 8}, {3, 2, 8, 8},    {2, 2, 8, 7},    {2, 2, 7, 7},
        {3, 1, 1, 1}, {5, 1, 6, 9}, {5, 2, 9, 6},    {3, 1, 28, 28},  {3, 2, 28, 28},
        {3, 1, 3, 2}, {1, 1, 4, 5}, {3, 1, 3, 1030}, {3, 2, 2, 1031}, {2, 2, 3, 1100},
    };
    larch_rng rng;
    larch_rng_seed(&rng, 31);
    const uint32_t n = 2, c = 2;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const uint32_t k = cases[t][0], stride = cases[t][1], h = cases[t][2], w = cases[t][3];
        larch_avgpool pool;
        larch_error err = {0};
        cr_assert_eq(larch_avgpool_init(&pool, c, k, stride, h, w, &err), LARCH_OK, "%s",
                     err.message);
        const size_t xc = (size_t)n * c * h * w, yc = (size_t)n * c * pool.h_out * pool.w_out;
        float *x = alloc_or_die(xc), *dx = alloc_or_die(xc);
        float *y = alloc_or_die(yc), *r = alloc_or_die(yc);
        double *ref = calloc(yc, sizeof *ref);
        cr_assert_not_null(ref);
        fill_normal(&rng, x, xc, 1.0);
        fill_normal(&rng, r, yc, 1.0);
        larch_avgpool_forward(&pool, x, y, n);
        naive_avgpool(&pool, x, ref, n);
        for (size_t i = 0; i < yc; i++)
            cr_assert(fabs(y[i] - ref[i]) <= 1e-5, "k%u s%u %ux%u: y[%zu] = %g, expected %g", k,
                      stride, h, w, i, y[i], ref[i]);
        for (size_t i = 0; i < xc; i++)
            dx[i] = 123.0f; /* backward overwrites */
        larch_avgpool_backward(&pool, r, dx, n);
        const double lhs = dot(y, r, yc), rhs = dot(x, dx, xc);
        cr_expect(fabs(lhs - rhs) <= 1e-4 * (1.0 + fabs(lhs)), "k%u s%u %ux%u: %g vs %g", k, stride,
                  h, w, lhs, rhs);
        free(ref);
        larch_tensor_free(x);
        larch_tensor_free(dx);
        larch_tensor_free(y);
        larch_tensor_free(r);
    }
}

struct gap_ctx {
    const float *x, *r;
    float *y;
    uint32_t n, c, hw;
};

static double gap_loss(void *arg)
{
    struct gap_ctx *g = arg;
    larch_global_avgpool_forward(g->x, g->y, g->n, g->c, g->hw);
    return dot(g->y, g->r, (size_t)g->n * g->c);
}

Test(global_avgpool, forward_and_gradients)
{
    larch_rng rng;
    larch_rng_seed(&rng, 5);
    const uint32_t n = 3, c = 4, hw = 49;
    const size_t xc = (size_t)n * c * hw, yc = (size_t)n * c;
    float *x = alloc_or_die(xc), *dx = alloc_or_die(xc);
    float *y = alloc_or_die(yc), *r = alloc_or_die(yc);
    fill_normal(&rng, x, xc, 1.0);
    fill_normal(&rng, r, yc, 1.0);
    larch_global_avgpool_forward(x, y, n, c, hw);
    double mean = 0.0;
    for (uint32_t j = 0; j < hw; j++)
        mean += x[hw + j];
    cr_expect(fabs(y[1] - mean / hw) < 1e-5);
    larch_global_avgpool_backward(r, dx, n, c, hw);
    struct gap_ctx ctx = {x, r, y, n, c, hw};
    check_grad("gap dx", x, dx, xc, gap_loss, &ctx, &rng, 1e-2f);
    larch_tensor_free(x);
    larch_tensor_free(dx);
    larch_tensor_free(y);
    larch_tensor_free(r);
}

/* ---- linear ---- */

struct linear_ctx {
    larch_linear *fc;
    const float *x, *r;
    float *y;
    uint32_t n;
};

static double linear_loss(void *arg)
{
    struct linear_ctx *c = arg;
    larch_linear_forward(c->fc, c->x, c->y, c->n);
    return dot(c->y, c->r, (size_t)c->n * c->fc->out);
}

Test(linear, gradients_match_finite_differences)
{
    larch_rng rng;
    larch_rng_seed(&rng, 3);
    const uint32_t n = 5, in = 12, out = 7;
    larch_linear fc;
    larch_error err = {0};
    cr_assert_eq(larch_linear_init(&fc, in, out, n, &rng, &err), LARCH_OK, "%s", err.message);
    const float bound = 1.0f / sqrtf((float)in);
    for (size_t i = 0; i < (size_t)in * out; i++)
        cr_assert(fabsf(fc.weight[i]) <= bound);
    for (uint32_t i = 0; i < out; i++) {
        cr_assert_eq(fc.bias[i], 0.0f);
        fc.bias[i] = (float)larch_rng_normal(&rng);
    }
    float *x = alloc_or_die((size_t)n * in), *dx = alloc_or_die((size_t)n * in);
    float *y = alloc_or_die((size_t)n * out), *r = alloc_or_die((size_t)n * out);
    fill_normal(&rng, x, (size_t)n * in, 1.0);
    fill_normal(&rng, r, (size_t)n * out, 1.0);
    larch_linear_forward(&fc, x, y, n);
    /* y[1][2] by hand. */
    double ref = fc.bias[2];
    for (uint32_t j = 0; j < in; j++)
        ref += (double)x[in + j] * fc.weight[2 * in + j];
    cr_expect(fabs(y[out + 2] - ref) < 1e-5, "y[1][2] = %g, expected %g", y[out + 2], ref);
    larch_linear_backward(&fc, x, r, dx, n);
    struct linear_ctx ctx = {&fc, x, r, y, n};
    check_grad("linear dx", x, dx, (size_t)n * in, linear_loss, &ctx, &rng, 1e-2f);
    check_grad("linear dW", fc.weight, fc.weight_grad, (size_t)in * out, linear_loss, &ctx, &rng,
               1e-2f);
    check_grad("linear db", fc.bias, fc.bias_grad, out, linear_loss, &ctx, &rng, 1e-2f);
    larch_tensor_free(x);
    larch_tensor_free(dx);
    larch_tensor_free(y);
    larch_tensor_free(r);
    larch_linear_release(&fc);
}

/* ---- softmax cross-entropy ---- */

struct xent_ctx {
    const float *logits;
    const uint8_t *labels;
    uint32_t n, classes;
};

static double xent_loss(void *arg)
{
    struct xent_ctx *c = arg;
    return larch_softmax_xent(c->logits, c->labels, c->n, c->classes, NULL, NULL);
}

Test(softmax_xent, gradients_match_finite_differences)
{
    larch_rng rng;
    larch_rng_seed(&rng, 9);
    const uint32_t n = 6, classes = 10;
    const size_t count = (size_t)n * classes;
    float *logits = alloc_or_die(count), *dlogits = alloc_or_die(count);
    uint8_t labels[6];
    fill_normal(&rng, logits, count, 3.0);
    for (uint32_t i = 0; i < n; i++)
        labels[i] = (uint8_t)larch_rng_below(&rng, classes);
    larch_softmax_xent(logits, labels, n, classes, dlogits, NULL);
    struct xent_ctx ctx = {logits, labels, n, classes};
    check_grad("xent dlogits", logits, dlogits, count, xent_loss, &ctx, &rng, 1e-2f);
    larch_tensor_free(logits);
    larch_tensor_free(dlogits);
}

Test(softmax_xent, zero_logits_and_accuracy)
{
    float logits[3 * 4] = {0};
    const uint8_t labels[3] = {0, 2, 3};
    uint32_t correct = 99;
    double loss = larch_softmax_xent(logits, labels, 3, 4, NULL, &correct);
    cr_expect(fabs(loss - log(4.0)) < 1e-9, "loss %g, expected log 4", loss);

    /* Row 0 predicts 0 (right), row 1 predicts 1 (wrong), row 2 predicts 3 (right). */
    logits[0] = 5.0f;
    logits[4 + 1] = 2.0f;
    logits[8 + 3] = 1.0f;
    larch_softmax_xent(logits, labels, 3, 4, NULL, &correct);
    cr_expect_eq(correct, 2);

    /* Large logits stay finite (the max is subtracted). */
    const float big[2] = {1000.0f, 0.0f};
    const uint8_t label0 = 1;
    float dbig[2];
    loss = larch_softmax_xent(big, &label0, 1, 2, dbig, NULL);
    cr_expect(fabs(loss - 1000.0) < 1e-3, "loss %g", loss);
    cr_expect_float_eq(dbig[0], 1.0f, 1e-6f);
    cr_expect_float_eq(dbig[1], -1.0f, 1e-6f);
}

/* ---- relu -> conv -> bn ---- */

struct rcb_ctx {
    larch_relu_conv_bn *rcb;
    const float *x, *r;
    float *y;
    uint32_t n;
    size_t yc;
};

static double rcb_loss(void *arg)
{
    struct rcb_ctx *c = arg;
    larch_relu_conv_bn_forward(c->rcb, c->x, c->y, c->n, 1);
    return dot(c->y, c->r, c->yc);
}

static void rcb_grad_case(uint32_t k, uint32_t stride)
{
    larch_rng rng;
    larch_rng_seed(&rng, 20 + k + stride);
    const uint32_t n = 3, c_in = 3, c_out = 4, h = 7, w = 7;
    larch_relu_conv_bn rcb;
    larch_error err = {0};
    cr_assert_eq(larch_relu_conv_bn_init(&rcb, c_in, c_out, k, stride, h, w, n, &rng, &err),
                 LARCH_OK, "%s", err.message);
    cr_assert_eq(rcb.conv.pad, (k - 1) / 2);
    larch_param params[3];
    cr_assert_eq(larch_relu_conv_bn_params(&rcb, params), 3);
    cr_expect_eq(params[0].count, (size_t)c_out * c_in * k * k);
    cr_expect_eq(params[0].flags, 0);
    cr_expect_eq(params[1].flags, LARCH_PARAM_NO_DECAY);
    cr_expect_eq(params[2].value, rcb.bn.beta);

    const size_t xc = (size_t)n * c_in * h * w;
    const size_t yc = (size_t)n * c_out * rcb.conv.h_out * rcb.conv.w_out;
    float *x = alloc_or_die(xc), *dx = alloc_or_die(xc);
    float *y = alloc_or_die(yc), *r = alloc_or_die(yc);
    fill_away_from_zero(&rng, x, xc, 0.05);
    fill_normal(&rng, r, yc, 1.0);
    larch_relu_conv_bn_forward(&rcb, x, y, n, 1);
    larch_relu_conv_bn_backward(&rcb, x, r, dx, n);
    for (size_t i = 0; i < xc; i++)
        if (x[i] < 0.0f)
            cr_expect_eq(dx[i], 0.0f);

    struct rcb_ctx ctx = {&rcb, x, r, y, n, yc};
    check_grad("rcb dx", x, dx, xc, rcb_loss, &ctx, &rng, 1e-2f);
    for (int p = 0; p < 3; p++)
        check_grad(p == 0   ? "rcb dW"
                   : p == 1 ? "rcb dgamma"
                            : "rcb dbeta",
                   params[p].value, params[p].grad, params[p].count, rcb_loss, &ctx, &rng, 1e-2f);
    larch_tensor_free(x);
    larch_tensor_free(dx);
    larch_tensor_free(y);
    larch_tensor_free(r);
    larch_relu_conv_bn_release(&rcb);
    larch_relu_conv_bn_release(&rcb); /* a released struct may be released again */
}

Test(relu_conv_bn, gradients_3x3_stride1)
{
    rcb_grad_case(3, 1);
}

Test(relu_conv_bn, gradients_3x3_stride2)
{
    rcb_grad_case(3, 2);
}

Test(relu_conv_bn, gradients_1x1_stride1)
{
    rcb_grad_case(1, 1);
}

/* ---- threads ---- */

static void expect_close(const char *what, const float *a, const float *b, size_t count, float tol)
{
    for (size_t i = 0; i < count; i++)
        cr_expect(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])), "%s[%zu]: %g vs %g", what, i,
                  a[i], b[i]);
}

/* The same layer run on 1 and on 2 threads: a layer built for 2 uses 1 when the count drops. */
static void threads_case(uint32_t k, uint32_t stride, uint32_t pad)
{
    larch_rng rng;
    larch_rng_seed(&rng, 77);
    const uint32_t n = 5, c_in = 4, c_out = 6, h = 12, w = 12;
    larch_nn_set_threads(2);
    cr_assert_eq(larch_nn_threads(), 2);
    larch_conv2d conv;
    larch_error err = {0};
    cr_assert_eq(larch_conv2d_init(&conv, c_in, c_out, k, stride, pad, h, w, n, &rng, &err),
                 LARCH_OK, "%s", err.message);
    const size_t xc = (size_t)n * c_in * h * w;
    const size_t yc = (size_t)n * c_out * conv.h_out * conv.w_out;
    const size_t wc = (size_t)c_out * c_in * k * k;
    float *x = alloc_or_die(xc), *dy = alloc_or_die(yc);
    float *y1 = alloc_or_die(yc), *y2 = alloc_or_die(yc);
    float *dx1 = alloc_or_die(xc), *dx2 = alloc_or_die(xc);
    float *wg1 = alloc_or_die(wc);
    fill_normal(&rng, x, xc, 1.0);
    fill_normal(&rng, dy, yc, 1.0);

    larch_nn_set_threads(1);
    larch_conv2d_forward(&conv, x, y1, n);
    larch_conv2d_backward(&conv, x, dy, dx1, n);
    memcpy(wg1, conv.weight_grad, wc * sizeof(float));
    memset(conv.weight_grad, 0, wc * sizeof(float));

    larch_nn_set_threads(2);
    for (int rep = 0; rep < 3; rep++) {
        larch_conv2d_forward(&conv, x, y2, n);
        larch_conv2d_backward(&conv, x, dy, dx2, n);
    }
    for (size_t i = 0; i < wc; i++)
        conv.weight_grad[i] /= 3.0f;
    expect_close("y", y2, y1, yc, 1e-6f);
    expect_close("dx", dx2, dx1, xc, 1e-5f);
    expect_close("dW", conv.weight_grad, wg1, wc, 1e-5f);

    /* A batch smaller than the thread count. */
    larch_conv2d_forward(&conv, x, y2, 1);
    expect_close("y n=1", y2, y1, yc / n, 1e-6f);

    larch_tensor_free(x);
    larch_tensor_free(dy);
    larch_tensor_free(y1);
    larch_tensor_free(y2);
    larch_tensor_free(dx1);
    larch_tensor_free(dx2);
    larch_tensor_free(wg1);
    larch_conv2d_release(&conv);
}

Test(threads, conv_3x3_same_on_two_threads)
{
    threads_case(3, 1, 1);
}

Test(threads, conv_strided_and_1x1_same_on_two_threads)
{
    threads_case(3, 2, 1);
    threads_case(1, 1, 0);
}

Test(threads, relu_conv_bn_same_on_two_threads)
{
    larch_rng rng;
    larch_rng_seed(&rng, 78);
    const uint32_t n = 7, c_in = 5, c_out = 5, h = 10, w = 10;
    larch_nn_set_threads(2);
    larch_relu_conv_bn a, b;
    larch_error err = {0};
    larch_rng rng_b = rng;
    cr_assert_eq(larch_relu_conv_bn_init(&a, c_in, c_out, 3, 1, h, w, n, &rng, &err), LARCH_OK,
                 "%s", err.message);
    larch_nn_set_threads(1);
    cr_assert_eq(larch_relu_conv_bn_init(&b, c_in, c_out, 3, 1, h, w, n, &rng_b, &err), LARCH_OK,
                 "%s", err.message);
    const size_t xc = (size_t)n * c_in * h * w, yc = (size_t)n * c_out * h * w;
    float *x = alloc_or_die(xc), *dy = alloc_or_die(yc);
    float *ya = alloc_or_die(yc), *yb = alloc_or_die(yc);
    float *dxa = alloc_or_die(xc), *dxb = alloc_or_die(xc);
    fill_normal(&rng, x, xc, 1.0);
    fill_normal(&rng, dy, yc, 1.0);

    larch_relu_conv_bn_forward(&b, x, yb, n, 1);
    larch_relu_conv_bn_backward(&b, x, dy, dxb, n);
    larch_nn_set_threads(2);
    larch_relu_conv_bn_forward(&a, x, ya, n, 1);
    larch_relu_conv_bn_backward(&a, x, dy, dxa, n);
    expect_close("y", ya, yb, yc, 1e-6f);
    expect_close("dx", dxa, dxb, xc, 1e-5f);
    expect_close("dW", a.conv.weight_grad, b.conv.weight_grad, (size_t)c_out * c_in * 9, 1e-5f);
    expect_close("dgamma", a.bn.gamma_grad, b.bn.gamma_grad, c_out, 1e-5f);

    /* Same thread count, same bits. */
    float *ya2 = alloc_or_die(yc);
    larch_relu_conv_bn_forward(&a, x, ya2, n, 1);
    cr_expect(memcmp(ya, ya2, yc * sizeof(float)) == 0);

    larch_tensor_free(x);
    larch_tensor_free(dy);
    larch_tensor_free(ya);
    larch_tensor_free(yb);
    larch_tensor_free(ya2);
    larch_tensor_free(dxa);
    larch_tensor_free(dxb);
    larch_relu_conv_bn_release(&a);
    larch_relu_conv_bn_release(&b);
}

Test(tensor, alloc_is_aligned_and_zeroed)
{
    float *p = larch_tensor_alloc(37);
    cr_assert_not_null(p);
    cr_expect_eq((uintptr_t)p % 64, 0);
    for (int i = 0; i < 37; i++)
        cr_expect_eq(p[i], 0.0f);
    float one[37];
    for (int i = 0; i < 37; i++)
        one[i] = (float)i;
    larch_tensor_add(p, one, 37);
    cr_expect_eq(p[36], 36.0f);
    larch_tensor_free(p);
    cr_expect_null(larch_tensor_alloc(0));
    cr_expect_null(larch_tensor_alloc(SIZE_MAX / 2));
}

/* Plugins link their own copy of the SDK: a copy that never set the count reads the environment
 * variable the host's copy sets. */
Test(threads, count_is_shared_through_the_environment)
{
    setenv("LARCH_NN_THREADS", "3", 1);
    cr_expect_eq(larch_nn_threads(), 3);
    cr_expect_eq(larch_nn_set_threads(0), 1);
    cr_expect_str_eq(getenv("LARCH_NN_THREADS"), "1");
    cr_expect_eq(larch_nn_set_threads(1000), 64);
    cr_expect_eq(larch_nn_threads(), 64);
}

/* ---- fused conv-BN (direct kernels) against the unfused composition (im2col + sgemm) ---- */

struct fused_case {
    uint32_t c_in, c_out, k, stride, h, w, n, flags;
};

/* Builds the layer with the direct engine allowed (generic = 0) or forced off. */
static void conv_bn_build(larch_conv_bn *cb, const struct fused_case *fc, int generic,
                          uint64_t seed)
{
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    if (generic)
        setenv("LARCH_NN_GENERIC", "1", 1);
    else
        unsetenv("LARCH_NN_GENERIC");
    larch_error err = {0};
    cr_assert_eq(larch_conv_bn_init(cb, fc->c_in, fc->c_out, fc->k, fc->stride, fc->h, fc->w, fc->n,
                                    fc->flags, &rng, &err),
                 LARCH_OK, "%s", err.message);
    unsetenv("LARCH_NN_GENERIC");
    for (uint32_t m = 0; m < fc->c_out; m++) {
        cb->bn.gamma[m] = (float)(1.0 + 0.3 * larch_rng_normal(&rng));
        cb->bn.beta[m] = (float)(0.2 * larch_rng_normal(&rng));
    }
}

static void fused_matches_unfused(const struct fused_case *fc, int threads)
{
    larch_nn_set_threads(threads);
    larch_conv_bn a, b;
    conv_bn_build(&a, fc, 0, 90 + fc->k);
    conv_bn_build(&b, fc, 1, 90 + fc->k);
    const size_t xc = (size_t)fc->n * fc->c_in * fc->h * fc->w;
    const size_t yc = (size_t)fc->n * fc->c_out * a.conv.h_out * a.conv.w_out;
    const size_t wc = (size_t)fc->c_out * fc->c_in * fc->k * fc->k;
    float *x = alloc_or_die(xc), *dy = alloc_or_die(yc);
    float *ya = alloc_or_die(yc), *yb = alloc_or_die(yc);
    float *dxa = alloc_or_die(xc), *dxb = alloc_or_die(xc);
    larch_rng rng;
    larch_rng_seed(&rng, 5);
    fill_normal(&rng, x, xc, 1.0);
    for (size_t i = 0; i < xc; i++)
        x[i] += 0.3f; /* a nonzero mean */
    fill_normal(&rng, dy, yc, 1.0);

    for (int step = 0; step < 2; step++) {
        larch_conv_bn_forward(&a, x, ya, fc->n, 1);
        larch_conv_bn_forward(&b, x, yb, fc->n, 1);
        expect_close("fused y", ya, yb, yc, 2e-5f);
        larch_conv_bn_backward(&a, x, ya, dy, dxa, fc->n);
        larch_conv_bn_backward(&b, x, yb, dy, dxb, fc->n);
        expect_close("fused dx", dxa, dxb, xc, 2e-4f);
    }
    expect_close("fused dW", a.conv.weight_grad, b.conv.weight_grad, wc, 2e-4f);
    expect_close("fused dgamma", a.bn.gamma_grad, b.bn.gamma_grad, fc->c_out, 2e-4f);
    expect_close("fused dbeta", a.bn.beta_grad, b.bn.beta_grad, fc->c_out, 2e-4f);
    expect_close("fused running mean", a.bn.running_mean, b.bn.running_mean, fc->c_out, 1e-5f);
    expect_close("fused running var", a.bn.running_var, b.bn.running_var, fc->c_out, 1e-5f);

    /* Evaluation mode, and a batch smaller than the one built for. */
    const uint32_t n2 = fc->n > 1 ? fc->n - 1 : 1;
    larch_conv_bn_forward(&a, x, ya, n2, 0);
    larch_conv_bn_forward(&b, x, yb, n2, 0);
    expect_close("fused eval y", ya, yb, yc / fc->n * n2, 2e-5f);
    /* dx == NULL gives the same weight gradient. */
    larch_conv_bn_forward(&a, x, ya, fc->n, 1);
    memset(a.conv.weight_grad, 0, wc * sizeof(float));
    larch_conv_bn_backward(&a, x, ya, dy, NULL, fc->n);
    memset(b.conv.weight_grad, 0, wc * sizeof(float));
    larch_conv_bn_forward(&b, x, yb, fc->n, 1);
    larch_conv_bn_backward(&b, x, yb, dy, dxb, fc->n);
    expect_close("fused dW (no dx)", a.conv.weight_grad, b.conv.weight_grad, wc, 2e-4f);

    larch_tensor_free(x);
    larch_tensor_free(dy);
    larch_tensor_free(ya);
    larch_tensor_free(yb);
    larch_tensor_free(dxa);
    larch_tensor_free(dxb);
    larch_conv_bn_release(&a);
    larch_conv_bn_release(&b);
}

static const struct fused_case fused_cases[] = {
    {4, 4, 3, 1, 8, 8, 4, LARCH_CONV_BN_RELU_IN},
    {2, 4, 3, 1, 8, 8, 4, 0},
    {3, 5, 3, 1, 7, 7, 5, LARCH_CONV_BN_RELU_IN | LARCH_CONV_BN_RELU_OUT},
    {16, 16, 3, 1, 28, 28, 3, LARCH_CONV_BN_RELU_IN},
    {9, 12, 3, 1, 14, 14, 6, LARCH_CONV_BN_RELU_OUT},
    {1, 16, 3, 1, 28, 28, 2, LARCH_CONV_BN_RELU_OUT},
    {6, 10, 3, 2, 28, 28, 3, LARCH_CONV_BN_RELU_IN},
    {5, 7, 3, 2, 14, 14, 19, LARCH_CONV_BN_RELU_OUT},
    {4, 6, 3, 2, 6, 10, 4, 0},
    {8, 8, 1, 1, 7, 7, 18, LARCH_CONV_BN_RELU_IN},
    {5, 3, 1, 2, 8, 8, 3, LARCH_CONV_BN_RELU_IN},
    {3, 4, 5, 1, 9, 9, 3, LARCH_CONV_BN_RELU_IN},
    {3, 4, 5, 2, 12, 12, 3, LARCH_CONV_BN_RELU_IN},
};

Test(fused, matches_unfused_one_thread)
{
    for (size_t t = 0; t < sizeof fused_cases / sizeof fused_cases[0]; t++)
        fused_matches_unfused(&fused_cases[t], 1);
}

Test(fused, matches_unfused_two_threads)
{
    for (size_t t = 0; t < sizeof fused_cases / sizeof fused_cases[0]; t++)
        fused_matches_unfused(&fused_cases[t], 2);
}

/* ---- the direct convolution engine against im2col + sgemm, plain convolutions ---- */

struct direct_case {
    uint32_t c_in, c_out, k, stride, pad, h, w, n;
};

/* Shapes that exercise the engine's geometry: a group of several images whose vectors straddle
 * two images (14x14, 7x7), planes smaller than a vector (3x3, 2x2), a last partial group, the
 * even/odd split at stride 2 with 1x1, 3x3 and 5x5 kernels, and shapes it leaves to im2col. */
static const struct direct_case direct_cases[] = {
    {3, 5, 3, 1, 1, 14, 14, 9}, {4, 6, 3, 1, 1, 7, 7, 21},  {5, 4, 3, 1, 1, 3, 3, 7},
    {2, 3, 3, 1, 1, 2, 2, 5},   {6, 9, 1, 1, 0, 7, 7, 19},  {3, 4, 1, 2, 0, 8, 8, 3},
    {3, 4, 3, 2, 1, 14, 14, 6}, {2, 5, 5, 2, 2, 12, 12, 3}, {3, 2, 5, 1, 2, 9, 11, 4},
    {4, 4, 3, 2, 1, 4, 4, 17},  {3, 3, 3, 1, 0, 8, 8, 2},   {3, 3, 3, 2, 1, 7, 9, 2},
    {17, 9, 3, 1, 1, 10, 6, 3},
};

static void direct_matches_generic(const struct direct_case *dc, int threads)
{
    larch_nn_set_threads(threads);
    larch_conv2d a, b;
    larch_error err = {0};
    larch_rng ra, rb;
    larch_rng_seed(&ra, 300 + dc->k);
    larch_rng_seed(&rb, 300 + dc->k);
    unsetenv("LARCH_NN_GENERIC");
    cr_assert_eq(larch_conv2d_init(&a, dc->c_in, dc->c_out, dc->k, dc->stride, dc->pad, dc->h,
                                   dc->w, dc->n, &ra, &err),
                 LARCH_OK, "%s", err.message);
    setenv("LARCH_NN_GENERIC", "1", 1);
    cr_assert_eq(larch_conv2d_init(&b, dc->c_in, dc->c_out, dc->k, dc->stride, dc->pad, dc->h,
                                   dc->w, dc->n, &rb, &err),
                 LARCH_OK, "%s", err.message);
    unsetenv("LARCH_NN_GENERIC");
    const size_t xc = (size_t)dc->n * dc->c_in * dc->h * dc->w;
    const size_t yc = (size_t)dc->n * dc->c_out * a.h_out * a.w_out;
    const size_t wc = (size_t)dc->c_out * dc->c_in * dc->k * dc->k;
    float *x = alloc_or_die(xc), *dy = alloc_or_die(yc), *ya = alloc_or_die(yc);
    float *yb = alloc_or_die(yc), *dxa = alloc_or_die(xc), *dxb = alloc_or_die(xc);
    fill_normal(&ra, x, xc, 1.0);
    fill_normal(&ra, dy, yc, 1.0);
    /* dx must be overwritten, not added to. */
    for (size_t i = 0; i < xc; i++)
        dxa[i] = dxb[i] = 7.0f;
    for (uint32_t n = dc->n; n >= 1; n = n > 2 ? n / 2 : n - 1) {
        larch_conv2d_forward(&a, x, ya, n);
        larch_conv2d_forward(&b, x, yb, n);
        expect_close("direct y", ya, yb, yc / dc->n * n, 2e-5f);
        memset(a.weight_grad, 0, wc * sizeof(float));
        memset(b.weight_grad, 0, wc * sizeof(float));
        larch_conv2d_backward(&a, x, dy, dxa, n);
        larch_conv2d_backward(&b, x, dy, dxb, n);
        expect_close("direct dx", dxa, dxb, xc / dc->n * n, 2e-4f);
        expect_close("direct dW", a.weight_grad, b.weight_grad, wc, 2e-4f);
    }
    larch_tensor_free(x);
    larch_tensor_free(dy);
    larch_tensor_free(ya);
    larch_tensor_free(yb);
    larch_tensor_free(dxa);
    larch_tensor_free(dxb);
    larch_conv2d_release(&a);
    larch_conv2d_release(&b);
}

Test(direct, matches_im2col_one_thread)
{
    for (size_t t = 0; t < sizeof direct_cases / sizeof direct_cases[0]; t++)
        direct_matches_generic(&direct_cases[t], 1);
}

Test(direct, matches_im2col_two_threads)
{
    for (size_t t = 0; t < sizeof direct_cases / sizeof direct_cases[0]; t++)
        direct_matches_generic(&direct_cases[t], 2);
}

/* Same seed, same thread count: the same bits, pass after pass. */
Test(direct, deterministic_for_a_thread_count)
{
    for (int threads = 1; threads <= 2; threads++) {
        larch_nn_set_threads(threads);
        const struct fused_case fc = {16, 16, 3, 1, 14, 14, 37, LARCH_CONV_BN_RELU_IN};
        larch_conv_bn a, b;
        conv_bn_build(&a, &fc, 0, 5);
        conv_bn_build(&b, &fc, 0, 5);
        const size_t xc = (size_t)fc.n * fc.c_in * fc.h * fc.w, yc = xc;
        float *x = alloc_or_die(xc), *dy = alloc_or_die(yc), *ya = alloc_or_die(yc);
        float *yb = alloc_or_die(yc), *dxa = alloc_or_die(xc), *dxb = alloc_or_die(xc);
        larch_rng rng;
        larch_rng_seed(&rng, 6);
        fill_normal(&rng, x, xc, 1.0);
        fill_normal(&rng, dy, yc, 1.0);
        for (int rep = 0; rep < 2; rep++) {
            larch_conv_bn_forward(&a, x, ya, fc.n, 1);
            larch_conv_bn_backward(&a, x, ya, dy, dxa, fc.n);
            larch_conv_bn_forward(&b, x, yb, fc.n, 1);
            larch_conv_bn_backward(&b, x, yb, dy, dxb, fc.n);
        }
        cr_expect(memcmp(ya, yb, yc * sizeof(float)) == 0, "y differs on %d threads", threads);
        cr_expect(memcmp(dxa, dxb, xc * sizeof(float)) == 0, "dx differs on %d threads", threads);
        cr_expect(memcmp(a.conv.weight_grad, b.conv.weight_grad, 16 * 16 * 9 * sizeof(float)) == 0,
                  "dW differs on %d threads", threads);
        larch_tensor_free(x);
        larch_tensor_free(dy);
        larch_tensor_free(ya);
        larch_tensor_free(yb);
        larch_tensor_free(dxa);
        larch_tensor_free(dxb);
        larch_conv_bn_release(&a);
        larch_conv_bn_release(&b);
    }
}

/* The pool-split helpers give the serial results. */
Test(tensor, parallel_add_and_pooling_match_serial)
{
    larch_rng rng;
    larch_rng_seed(&rng, 9);
    const size_t count = 100003;
    float *y1 = alloc_or_die(count), *y2 = alloc_or_die(count), *x = alloc_or_die(count);
    fill_normal(&rng, x, count, 1.0);
    fill_normal(&rng, y1, count, 1.0);
    memcpy(y2, y1, count * sizeof(float));
    larch_nn_set_threads(2);
    larch_tensor_add_parallel(y1, x, count);
    larch_tensor_add(y2, x, count);
    cr_expect(memcmp(y1, y2, count * sizeof(float)) == 0);

    larch_avgpool pool;
    larch_error err = {0};
    cr_assert_eq(larch_avgpool_init(&pool, 3, 3, 1, 9, 9, &err), LARCH_OK, "%s", err.message);
    const uint32_t n = 11;
    const size_t pc = (size_t)n * 3 * 81;
    float *p1 = alloc_or_die(pc), *p2 = alloc_or_die(pc), *g1 = alloc_or_die(pc);
    float *g2 = alloc_or_die(pc);
    larch_avgpool_forward(&pool, x, p1, n);
    larch_avgpool_backward(&pool, x, g1, n);
    larch_nn_set_threads(1);
    larch_avgpool_forward(&pool, x, p2, n);
    larch_avgpool_backward(&pool, x, g2, n);
    cr_expect(memcmp(p1, p2, pc * sizeof(float)) == 0);
    cr_expect(memcmp(g1, g2, pc * sizeof(float)) == 0);
    larch_tensor_free(y1);
    larch_tensor_free(y2);
    larch_tensor_free(x);
    larch_tensor_free(p1);
    larch_tensor_free(p2);
    larch_tensor_free(g1);
    larch_tensor_free(g2);
}
