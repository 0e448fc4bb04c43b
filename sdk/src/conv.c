/* Convolution, the batch split across the thread pool. Where the direct engine covers the shape
 * and the CPU (conv_direct.c: "same" convolutions at stride 1, stride 2 on even sizes, AVX-512) it
 * does the work; otherwise im2col + sgemm, one image at a time:
 *
 * Per image: y [c_out, hw_out] = W [c_out, K] * col [K, hw_out] with K = c_in * k * k;
 * weight_grad += dy * col^T; dcol = W^T * dy, then col2im adds dcol back into dx. A 1x1,
 * stride-1, unpadded convolution uses the input itself as the column matrix. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "larch/nn.h"
#include "nn_internal.h"
#include "parallel.h"

/* Which output columns [lo, hi) read an input column (or row) inside [0, size) for kernel
 * offset kofs; the others read the zero padding. */
static void valid_range(uint32_t size, uint32_t size_out, uint32_t kofs, uint32_t stride,
                        uint32_t pad, uint32_t *lo, uint32_t *hi)
{
    long first = 0, last;
    if (pad > kofs)
        first = ((long)(pad - kofs) + stride - 1) / stride;
    long top = (long)size - 1 + (long)pad - (long)kofs;
    last = top < 0 ? 0 : top / (long)stride + 1;
    if (last > (long)size_out)
        last = (long)size_out;
    if (first > last)
        first = last;
    *lo = (uint32_t)first;
    *hi = (uint32_t)last;
}

static int is_direct(const larch_conv2d *conv)
{
    return conv->k == 1 && conv->stride == 1 && conv->pad == 0;
}

/* col [c_in * k * k][h_out * w_out] from one image x [c_in][h][w]: each row segment is one
 * memcpy (or a strided copy) between zero-filled borders. */
static void im2col(const larch_conv2d *conv, const float *restrict x, float *restrict col)
{
    const uint32_t k = conv->k, s = conv->stride, pad = conv->pad;
    const uint32_t h = conv->h, w = conv->w, h_out = conv->h_out, w_out = conv->w_out;
    const size_t hw_out = (size_t)h_out * w_out;

    for (uint32_t kx = 0; kx < k; kx++) {
        uint32_t x_lo, x_hi;
        valid_range(w, w_out, kx, s, pad, &x_lo, &x_hi);
        const uint32_t x_len = x_hi - x_lo;
        for (uint32_t ky = 0; ky < k; ky++) {
            uint32_t y_lo, y_hi;
            valid_range(h, h_out, ky, s, pad, &y_lo, &y_hi);
            for (uint32_t c = 0; c < conv->c_in; c++) {
                float *dst = col + (((size_t)c * k + ky) * k + kx) * hw_out;
                const float *plane = x + (size_t)c * h * w;
                if (y_lo > 0)
                    memset(dst, 0, (size_t)y_lo * w_out * sizeof(float));
                for (uint32_t oy = y_lo; oy < y_hi; oy++) {
                    float *d = dst + (size_t)oy * w_out;
                    const float *src =
                        plane + (size_t)(oy * s + ky - pad) * w + (x_lo * s + kx - pad);
                    if (x_lo > 0)
                        memset(d, 0, x_lo * sizeof(float));
                    if (s == 1) {
                        memcpy(d + x_lo, src, x_len * sizeof(float));
                    } else {
                        for (uint32_t j = 0; j < x_len; j++)
                            d[x_lo + j] = src[(size_t)j * s];
                    }
                    if (x_hi < w_out)
                        memset(d + x_hi, 0, (w_out - x_hi) * sizeof(float));
                }
                if (y_hi < h_out)
                    memset(dst + (size_t)y_hi * w_out, 0,
                           (size_t)(h_out - y_hi) * w_out * sizeof(float));
            }
        }
    }
}

/* dx [c_in][h][w] = the sum of col's entries over the positions im2col copied them from. */
static void col2im(const larch_conv2d *conv, const float *restrict col, float *restrict dx)
{
    const uint32_t k = conv->k, s = conv->stride, pad = conv->pad;
    const uint32_t h = conv->h, w = conv->w, h_out = conv->h_out, w_out = conv->w_out;
    const size_t hw_out = (size_t)h_out * w_out;

    memset(dx, 0, (size_t)conv->c_in * h * w * sizeof(float));
    for (uint32_t c = 0; c < conv->c_in; c++) {
        float *plane = dx + (size_t)c * h * w;
        for (uint32_t ky = 0; ky < k; ky++) {
            uint32_t y_lo, y_hi;
            valid_range(h, h_out, ky, s, pad, &y_lo, &y_hi);
            for (uint32_t kx = 0; kx < k; kx++) {
                uint32_t x_lo, x_hi;
                valid_range(w, w_out, kx, s, pad, &x_lo, &x_hi);
                const uint32_t x_len = x_hi - x_lo;
                const float *src = col + (((size_t)c * k + ky) * k + kx) * hw_out;
                for (uint32_t oy = y_lo; oy < y_hi; oy++) {
                    const float *restrict d = src + (size_t)oy * w_out + x_lo;
                    float *restrict row =
                        plane + (size_t)(oy * s + ky - pad) * w + (x_lo * s + kx - pad);
                    if (s == 1) {
                        larch_tensor_add(row, d, x_len);
                    } else {
                        for (uint32_t j = 0; j < x_len; j++)
                            row[(size_t)j * s] += d[j];
                    }
                }
            }
        }
    }
}

static size_t weight_count(const larch_conv2d *conv)
{
    return (size_t)conv->c_out * conv->c_in * conv->k * conv->k;
}

int larch_conv2d_init(larch_conv2d *conv, uint32_t c_in, uint32_t c_out, uint32_t k,
                      uint32_t stride, uint32_t pad, uint32_t h, uint32_t w, uint32_t max_batch,
                      larch_rng *rng, larch_error *err)
{
    memset(conv, 0, sizeof *conv);
    if (c_in == 0 || c_out == 0 || k == 0 || stride == 0 || h == 0 || w == 0 || max_batch == 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "conv2d: c_in %u, c_out %u, k %u, stride %u, h %u, w %u, "
                               "max_batch %u: all must be positive",
                               c_in, c_out, k, stride, h, w, max_batch);
    if (pad >= k || (uint64_t)h + 2u * pad < k || (uint64_t)w + 2u * pad < k)
        return larch_error_set(err, LARCH_EINVAL,
                               "conv2d: kernel %u with pad %u does not fit a %ux%u input "
                               "(expected pad < k <= size + 2 * pad)",
                               k, pad, h, w);
    if (rng == NULL)
        return larch_error_set(err, LARCH_EINVAL, "conv2d: rng is NULL");

    conv->c_in = c_in;
    conv->c_out = c_out;
    conv->k = k;
    conv->stride = stride;
    conv->pad = pad;
    conv->h = h;
    conv->w = w;
    conv->h_out = (h + 2 * pad - k) / stride + 1;
    conv->w_out = (w + 2 * pad - k) / stride + 1;
    conv->max_batch = max_batch;

    const size_t wcount = weight_count(conv);
    conv_state *scratch = calloc(1, sizeof *scratch);
    conv->scratch = scratch;
    conv->weight = larch_tensor_alloc(wcount);
    conv->weight_grad = larch_tensor_alloc(wcount);
    if (scratch == NULL || conv->weight == NULL || conv->weight_grad == NULL)
        goto nomem;

    scratch->n_tasks = (uint32_t)larch_nn_threads();
    if (scratch->n_tasks > max_batch)
        scratch->n_tasks = max_batch;
    int plan_nomem = 0;
    scratch->direct = conv_direct_new(conv, &plan_nomem);
    if (plan_nomem)
        goto nomem;
    if (scratch->direct != NULL) {
        if (larch_parallel_reserve(scratch->n_tasks, conv_direct_scratch_floats(scratch->direct)) !=
            0)
            goto nomem;
    } else if (!is_direct(conv)) {
        scratch->col_count = wcount / c_out * conv->h_out * conv->w_out;
        scratch->col = larch_tensor_alloc(scratch->n_tasks * scratch->col_count);
        if (scratch->col == NULL)
            goto nomem;
    }
    if (scratch->direct != NULL) {
        scratch->wgrad_part =
            larch_tensor_alloc(scratch->n_tasks * conv_direct_wgrad_floats(scratch->direct));
        if (scratch->wgrad_part == NULL)
            goto nomem;
    } else if (scratch->n_tasks > 1) {
        scratch->wgrad_part = larch_tensor_alloc((scratch->n_tasks - 1) * wcount);
        if (scratch->wgrad_part == NULL)
            goto nomem;
    }

    /* He-normal: std sqrt(2 / fan_in). */
    const double std = sqrt(2.0 / (double)(wcount / c_out));
    for (size_t i = 0; i < wcount; i++)
        conv->weight[i] = (float)(std * larch_rng_normal(rng));
    larch_parallel_blas_single();
    return LARCH_OK;

nomem:
    larch_conv2d_release(conv);
    return larch_error_set(err, LARCH_ENOMEM,
                           "conv2d %u->%u k%u on %ux%u: out of memory for weights and "
                           "%u-thread im2col buffers",
                           c_in, c_out, k, h, w, (uint32_t)larch_nn_threads());
}

void larch_conv2d_release(larch_conv2d *conv)
{
    conv_state *scratch = conv->scratch;
    if (scratch != NULL) {
        larch_tensor_free(scratch->col);
        larch_tensor_free(scratch->wgrad_part);
        conv_direct_free(scratch->direct);
        free(scratch->bn_sums);
        larch_tensor_free(scratch->bn_coef);
        free(scratch);
    }
    larch_tensor_free(conv->weight);
    larch_tensor_free(conv->weight_grad);
    memset(conv, 0, sizeof *conv);
}

int conv_state_reserve_bn(larch_conv2d *conv)
{
    conv_state *scratch = conv->scratch;
    if (scratch->bn_sums == NULL)
        scratch->bn_sums = malloc((size_t)conv->max_batch * conv->c_out * 2 * sizeof(double));
    if (scratch->bn_coef == NULL)
        scratch->bn_coef = larch_tensor_alloc((size_t)conv->c_out * 7);
    return scratch->bn_sums != NULL && scratch->bn_coef != NULL ? LARCH_OK : LARCH_ENOMEM;
}

struct conv_job {
    larch_conv2d *conv;
    const float *x, *dy;
    float *y, *dx;
    uint32_t n, n_tasks;
};

uint32_t conv_task_count(const larch_conv2d *conv, uint32_t n)
{
    const conv_state *scratch = conv->scratch;
    uint32_t tasks = (uint32_t)larch_nn_threads();
    if (tasks > scratch->n_tasks)
        tasks = scratch->n_tasks;
    if (tasks > n)
        tasks = n;
    return tasks == 0 ? 1 : tasks;
}

float *conv_wgrad_target(larch_conv2d *conv, uint32_t task)
{
    const conv_state *scratch = conv->scratch;
    if (scratch->direct != NULL) {
        const size_t count = conv_direct_wgrad_floats(scratch->direct);
        float *part = scratch->wgrad_part + task * count;
        memset(part, 0, count * sizeof(float));
        return part;
    }
    if (task == 0)
        return conv->weight_grad;
    const size_t wcount = weight_count(conv);
    float *part = scratch->wgrad_part + (task - 1) * wcount;
    memset(part, 0, wcount * sizeof(float));
    return part;
}

struct reduce_job {
    larch_conv2d *conv;
    uint32_t n_parts, n_tasks;
};

static void reduce_task(void *arg, uint32_t task)
{
    const struct reduce_job *job = arg;
    const conv_state *scratch = job->conv->scratch;
    conv_direct_wgrad_add(scratch->direct, scratch->wgrad_part, job->n_parts,
                          conv_direct_wgrad_floats(scratch->direct), job->conv->weight_grad, task,
                          job->n_tasks);
}

void conv_wgrad_reduce(larch_conv2d *conv, uint32_t n_tasks)
{
    /* In task order, so a given thread count always gives the same sums. */
    const conv_state *scratch = conv->scratch;
    if (scratch->direct != NULL) {
        /* The blocked partials unblock into weight_grad, split by output channel. */
        struct reduce_job job = {conv, n_tasks, n_tasks};
        larch_parallel_run(n_tasks, reduce_task, &job);
        return;
    }
    const size_t wcount = weight_count(conv);
    for (uint32_t t = 1; t < n_tasks; t++)
        larch_tensor_add(conv->weight_grad, scratch->wgrad_part + (t - 1) * wcount, wcount);
}

static void forward_task(void *arg, uint32_t task)
{
    const struct conv_job *job = arg;
    const larch_conv2d *conv = job->conv;
    const conv_state *scratch = conv->scratch;
    const uint32_t begin = larch_parallel_begin(job->n, task, job->n_tasks);
    const uint32_t end = larch_parallel_begin(job->n, task + 1, job->n_tasks);
    if (scratch->direct != NULL) {
        conv_direct_forward(scratch->direct, job->x, job->y, begin, end, 0, NULL,
                            larch_parallel_scratch(task));
        return;
    }
    const int kk = (int)(conv->c_in * conv->k * conv->k);
    const int hw_out = (int)(conv->h_out * conv->w_out);
    const size_t x_size = (size_t)conv->c_in * conv->h * conv->w;
    const size_t y_size = (size_t)conv->c_out * hw_out;
    float *col = scratch->col_count > 0 ? scratch->col + task * scratch->col_count : NULL;

    for (uint32_t i = begin; i < end; i++) {
        const float *xi = job->x + i * x_size;
        const float *b = xi;
        if (scratch->col_count > 0) {
            im2col(conv, xi, col);
            b = col;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)conv->c_out, hw_out, kk, 1.0f,
                    conv->weight, kk, b, hw_out, 0.0f, job->y + i * y_size, hw_out);
    }
}

void larch_conv2d_forward(larch_conv2d *conv, const float *x, float *y, uint32_t n)
{
    conv_state *scratch = conv->scratch;
    if (scratch->direct != NULL)
        conv_direct_pack_weights(scratch->direct, conv->weight, 0);
    struct conv_job job = {conv, x, NULL, y, NULL, n, conv_task_count(conv, n)};
    larch_parallel_run(job.n_tasks, forward_task, &job);
}

static void backward_task(void *arg, uint32_t task)
{
    const struct conv_job *job = arg;
    larch_conv2d *conv = job->conv;
    const conv_state *scratch = conv->scratch;
    const uint32_t begin = larch_parallel_begin(job->n, task, job->n_tasks);
    const uint32_t end = larch_parallel_begin(job->n, task + 1, job->n_tasks);
    float *wgrad = conv_wgrad_target(conv, task);
    if (scratch->direct != NULL) {
        const conv_direct_grad grad = {.dy = job->dy};
        conv_direct_backward(scratch->direct, job->x, &grad, wgrad, job->dx, begin, end, 0,
                             larch_parallel_scratch(task));
        return;
    }
    const int kk = (int)(conv->c_in * conv->k * conv->k);
    const int hw_out = (int)(conv->h_out * conv->w_out);
    const int c_out = (int)conv->c_out;
    const size_t x_size = (size_t)conv->c_in * conv->h * conv->w;
    const size_t y_size = (size_t)conv->c_out * hw_out;
    float *col = scratch->col_count > 0 ? scratch->col + task * scratch->col_count : NULL;

    for (uint32_t i = begin; i < end; i++) {
        const float *xi = job->x + i * x_size;
        const float *dyi = job->dy + i * y_size;
        const float *b = xi;
        if (scratch->col_count > 0) {
            im2col(conv, xi, col);
            b = col;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c_out, kk, hw_out, 1.0f, dyi, hw_out,
                    b, hw_out, 1.0f, wgrad, kk);
        if (job->dx == NULL)
            continue;
        float *dxi = job->dx + i * x_size;
        /* The direct case writes straight into dx; otherwise into col, then scatter. */
        float *dcol = scratch->col_count > 0 ? col : dxi;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, hw_out, c_out, 1.0f, conv->weight,
                    kk, dyi, hw_out, 0.0f, dcol, hw_out);
        if (scratch->col_count > 0)
            col2im(conv, col, dxi);
    }
}

void larch_conv2d_backward(larch_conv2d *conv, const float *x, const float *dy, float *dx,
                           uint32_t n)
{
    conv_state *scratch = conv->scratch;
    if (scratch->direct != NULL && dx != NULL)
        conv_direct_pack_weights(scratch->direct, conv->weight, 1);
    struct conv_job job = {conv, x, dy, NULL, dx, n, conv_task_count(conv, n)};
    larch_parallel_run(job.n_tasks, backward_task, &job);
    conv_wgrad_reduce(conv, job.n_tasks);
}

uint64_t larch_conv2d_flops(const larch_conv2d *conv)
{
    return (uint64_t)weight_count(conv) * conv->h_out * conv->w_out;
}
