/* The small layers: ReLU, average pooling, global average pooling, fully connected, and
 * softmax cross-entropy. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "larch/nn.h"
#include "parallel.h"

/* The elementwise loops work in blocks of 8 through a local array: all loads of a block come
 * before its stores, so the compiler vectorises them at -O2 even though y may alias x. */
#define BLOCK 8

void larch_relu_forward(const float *x, float *y, size_t count)
{
    size_t i = 0;
    for (; i + BLOCK <= count; i += BLOCK) {
        float t[BLOCK];
        for (int l = 0; l < BLOCK; l++)
            t[l] = x[i + l] > 0.0f ? x[i + l] : 0.0f;
        for (int l = 0; l < BLOCK; l++)
            y[i + l] = t[l];
    }
    for (; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void larch_relu_backward(const float *x, const float *dy, float *dx, size_t count)
{
    size_t i = 0;
    for (; i + BLOCK <= count; i += BLOCK) {
        float g[BLOCK], t[BLOCK];
        for (int l = 0; l < BLOCK; l++)
            g[l] = dy[i + l];
        for (int l = 0; l < BLOCK; l++)
            t[l] = x[i + l] > 0.0f ? g[l] : 0.0f;
        for (int l = 0; l < BLOCK; l++)
            dx[i + l] = t[l];
    }
    for (; i < count; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

int larch_avgpool_init(larch_avgpool *pool, uint32_t c, uint32_t k, uint32_t stride, uint32_t h,
                       uint32_t w, larch_error *err)
{
    memset(pool, 0, sizeof *pool);
    if (c == 0 || k == 0 || stride == 0 || h == 0 || w == 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "avgpool: c %u, k %u, stride %u, h %u, w %u: all must be positive",
                               c, k, stride, h, w);
    const uint32_t pad = (k - 1) / 2;
    if ((uint64_t)h + 2u * pad < k || (uint64_t)w + 2u * pad < k)
        return larch_error_set(err, LARCH_EINVAL,
                               "avgpool: a %ux%u window does not fit a %ux%u input", k, k, h, w);
    pool->c = c;
    pool->k = k;
    pool->stride = stride;
    pool->pad = pad;
    pool->h = h;
    pool->w = w;
    pool->h_out = (h + 2 * pad - k) / stride + 1;
    pool->w_out = (w + 2 * pad - k) / stride + 1;
    return LARCH_OK;
}

/* The window of output index o along one axis, clipped to the input [0, size). */
static void window(const larch_avgpool *pool, uint32_t o, uint32_t size, uint32_t *lo, uint32_t *hi)
{
    long start = (long)o * pool->stride - (long)pool->pad;
    long end = start + (long)pool->k;
    *lo = start < 0 ? 0 : (uint32_t)start;
    *hi = end > (long)size ? size : (uint32_t)end;
}

/* Rows at most this wide go through the separable path below, with stack row buffers. */
#define ROW_MAX 1024

/* The output columns [f_lo, f_hi) whose whole window lies inside the input: they share one
 * divisor. */
static void full_columns(const larch_avgpool *pool, uint32_t *f_lo, uint32_t *f_hi)
{
    const long s = pool->stride;
    long lo = ((long)pool->pad + s - 1) / s;
    long top = (long)pool->w + (long)pool->pad - (long)pool->k;
    long hi = top < 0 ? 0 : top / s + 1;
    if (hi > (long)pool->w_out)
        hi = pool->w_out;
    if (lo > hi)
        lo = hi;
    *f_lo = (uint32_t)lo;
    *f_hi = (uint32_t)hi;
}

/* 1 / (cells of the window at output column ox inside the input), for window rows `rows`. */
static float inv_cells(const larch_avgpool *pool, uint32_t rows, uint32_t ox)
{
    uint32_t x0, x1;
    window(pool, ox, pool->w, &x0, &x1);
    return 1.0f / (float)(rows * (x1 - x0));
}

/* yrow[ox] = the mean over output column ox's window of v, the column sums of the window's
 * `rows` input rows. */
static void pool_row(const larch_avgpool *pool, const float *v, float *yrow, uint32_t rows,
                     uint32_t f_lo, uint32_t f_hi)
{
    const uint32_t k = pool->k, s = pool->stride, pad = pool->pad;
    for (uint32_t ox = 0; ox < pool->w_out; ox++) {
        if (ox == f_lo && s == 1)
            ox = f_hi; /* the full windows are done below */
        if (ox >= pool->w_out)
            break;
        uint32_t x0, x1;
        window(pool, ox, pool->w, &x0, &x1);
        float sum = 0.0f;
        for (uint32_t ix = x0; ix < x1; ix++)
            sum += v[ix];
        yrow[ox] = sum / (float)(rows * (x1 - x0));
    }
    if (s != 1)
        return;
    const float inv = 1.0f / (float)(rows * k);
    uint32_t ox = f_lo;
    for (; ox + BLOCK <= f_hi; ox += BLOCK) {
        float t[BLOCK] = {0};
        for (uint32_t kx = 0; kx < k; kx++)
            for (int l = 0; l < BLOCK; l++)
                t[l] += v[ox + l + kx - pad];
        for (int l = 0; l < BLOCK; l++)
            yrow[ox + l] = t[l] * inv;
    }
    for (; ox < f_hi; ox++) {
        float sum = 0.0f;
        for (uint32_t kx = 0; kx < k; kx++)
            sum += v[ox + kx - pad];
        yrow[ox] = sum * inv;
    }
}

/* The transpose of pool_row: g [w] receives, for each input column, the sum of u[ox] (dy already
 * divided by its cells) over the windows that contain it. */
static void unpool_row(const larch_avgpool *pool, const float *u, float *g)
{
    const uint32_t k = pool->k, s = pool->stride, pad = pool->pad, w = pool->w;
    const uint32_t w_out = pool->w_out;
    if (s != 1) {
        memset(g, 0, w * sizeof(float));
        for (uint32_t ox = 0; ox < w_out; ox++) {
            uint32_t x0, x1;
            window(pool, ox, w, &x0, &x1);
            for (uint32_t ix = x0; ix < x1; ix++)
                g[ix] += u[ox];
        }
        return;
    }
    /* Stride 1: g[ix] = sum of u[ix + pad - kx] over kx with 0 <= ix + pad - kx < w_out. */
    long lo = (long)k - 1 - (long)pad, hi = (long)w_out - (long)pad;
    if (lo < 0)
        lo = 0;
    if (hi > (long)w)
        hi = w;
    if (hi < lo)
        hi = lo;
    for (uint32_t ix = 0; ix < w; ix++) {
        if (ix == (uint32_t)lo)
            ix = (uint32_t)hi; /* all taps valid: done below */
        if (ix >= w)
            break;
        float sum = 0.0f;
        for (uint32_t kx = 0; kx < k; kx++) {
            long ox = (long)ix + (long)pad - (long)kx;
            if (ox >= 0 && ox < (long)w_out)
                sum += u[ox];
        }
        g[ix] = sum;
    }
    uint32_t ix = (uint32_t)lo;
    for (; ix + BLOCK <= (uint32_t)hi; ix += BLOCK) {
        float t[BLOCK] = {0};
        for (uint32_t kx = 0; kx < k; kx++)
            for (int l = 0; l < BLOCK; l++)
                t[l] += u[ix + l + pad - kx];
        for (int l = 0; l < BLOCK; l++)
            g[ix + l] = t[l];
    }
    for (; ix < (uint32_t)hi; ix++) {
        float sum = 0.0f;
        for (uint32_t kx = 0; kx < k; kx++)
            sum += u[ix + pad - kx];
        g[ix] = sum;
    }
}

/* Direct windows, for rows wider than ROW_MAX. */
static void forward_wide(const larch_avgpool *pool, const float *x, float *y, uint32_t n)
{
    const size_t planes = (size_t)n * pool->c;
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x + p * pool->h * pool->w;
        float *yp = y + p * pool->h_out * pool->w_out;
        for (uint32_t oy = 0; oy < pool->h_out; oy++) {
            uint32_t y0, y1;
            window(pool, oy, pool->h, &y0, &y1);
            for (uint32_t ox = 0; ox < pool->w_out; ox++) {
                uint32_t x0, x1;
                window(pool, ox, pool->w, &x0, &x1);
                float sum = 0.0f;
                for (uint32_t iy = y0; iy < y1; iy++)
                    for (uint32_t ix = x0; ix < x1; ix++)
                        sum += xp[(size_t)iy * pool->w + ix];
                yp[(size_t)oy * pool->w_out + ox] = sum / (float)((y1 - y0) * (x1 - x0));
            }
        }
    }
}

static void backward_wide(const larch_avgpool *pool, const float *dy, float *dx, uint32_t n)
{
    const size_t planes = (size_t)n * pool->c;
    for (size_t p = 0; p < planes; p++) {
        float *dxp = dx + p * pool->h * pool->w;
        const float *dyp = dy + p * pool->h_out * pool->w_out;
        for (uint32_t oy = 0; oy < pool->h_out; oy++) {
            uint32_t y0, y1;
            window(pool, oy, pool->h, &y0, &y1);
            for (uint32_t ox = 0; ox < pool->w_out; ox++) {
                uint32_t x0, x1;
                window(pool, ox, pool->w, &x0, &x1);
                const float g = dyp[(size_t)oy * pool->w_out + ox] / (float)((y1 - y0) * (x1 - x0));
                for (uint32_t iy = y0; iy < y1; iy++)
                    for (uint32_t ix = x0; ix < x1; ix++)
                        dxp[(size_t)iy * pool->w + ix] += g;
            }
        }
    }
}

/* Separable: each output row sums its window's input rows into v (whole-row adds), then takes
 * the window means along v. */
static void avgpool_forward_serial(const larch_avgpool *pool, const float *x, float *y, uint32_t n)
{
    if (pool->w > ROW_MAX) {
        forward_wide(pool, x, y, n);
        return;
    }
    const uint32_t w = pool->w, w_out = pool->w_out;
    const size_t planes = (size_t)n * pool->c;
    uint32_t f_lo, f_hi;
    full_columns(pool, &f_lo, &f_hi);
    float v[ROW_MAX];
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x + p * pool->h * w;
        float *yp = y + p * pool->h_out * w_out;
        for (uint32_t oy = 0; oy < pool->h_out; oy++) {
            uint32_t y0, y1;
            window(pool, oy, pool->h, &y0, &y1);
            memcpy(v, xp + (size_t)y0 * w, w * sizeof(float));
            for (uint32_t iy = y0 + 1; iy < y1; iy++)
                larch_tensor_add(v, xp + (size_t)iy * w, w);
            pool_row(pool, v, yp + (size_t)oy * w_out, y1 - y0, f_lo, f_hi);
        }
    }
}

/* The transpose of the forward pass: each dy row, divided by its cells, spreads along the row
 * (unpool_row) and is added into the window's input rows. */
static void avgpool_backward_serial(const larch_avgpool *pool, const float *dy, float *dx,
                                    uint32_t n)
{
    const size_t planes = (size_t)n * pool->c;
    memset(dx, 0, planes * pool->h * pool->w * sizeof(float));
    if (pool->w > ROW_MAX) {
        backward_wide(pool, dy, dx, n);
        return;
    }
    const uint32_t w = pool->w, w_out = pool->w_out;
    uint32_t f_lo, f_hi;
    full_columns(pool, &f_lo, &f_hi);
    float u[ROW_MAX], g[ROW_MAX];
    for (size_t p = 0; p < planes; p++) {
        float *dxp = dx + p * pool->h * w;
        const float *dyp = dy + p * pool->h_out * w_out;
        for (uint32_t oy = 0; oy < pool->h_out; oy++) {
            const float *dyrow = dyp + (size_t)oy * w_out;
            uint32_t y0, y1;
            window(pool, oy, pool->h, &y0, &y1);
            const uint32_t rows = y1 - y0;
            const float inv = 1.0f / (float)(rows * pool->k);
            for (uint32_t ox = 0; ox < w_out; ox++)
                u[ox] = ox >= f_lo && ox < f_hi ? dyrow[ox] * inv
                                                : dyrow[ox] * inv_cells(pool, rows, ox);
            unpool_row(pool, u, g);
            for (uint32_t iy = y0; iy < y1; iy++)
                larch_tensor_add(dxp + (size_t)iy * w, g, w);
        }
    }
}

/* The pooling passes split the batch across the thread pool, image by image. */
struct pool_job {
    const larch_avgpool *pool;
    const float *in;
    float *out;
    uint32_t n, n_tasks;
    int backward;
};

static void pool_task(void *arg, uint32_t task)
{
    const struct pool_job *job = arg;
    const larch_avgpool *pool = job->pool;
    const uint32_t begin = larch_parallel_begin(job->n, task, job->n_tasks);
    const uint32_t end = larch_parallel_begin(job->n, task + 1, job->n_tasks);
    const size_t in_img = (size_t)pool->c * pool->h * pool->w;
    const size_t out_img = (size_t)pool->c * pool->h_out * pool->w_out;
    if (job->backward)
        avgpool_backward_serial(pool, job->in + begin * out_img, job->out + begin * in_img,
                                end - begin);
    else
        avgpool_forward_serial(pool, job->in + begin * in_img, job->out + begin * out_img,
                               end - begin);
}

static void pool_run(const larch_avgpool *pool, const float *in, float *out, uint32_t n,
                     int backward)
{
    uint32_t tasks = (uint32_t)larch_nn_threads();
    if (tasks > n)
        tasks = n;
    struct pool_job job = {pool, in, out, n, tasks ? tasks : 1, backward};
    larch_parallel_run(job.n_tasks, pool_task, &job);
}

void larch_avgpool_forward(const larch_avgpool *pool, const float *x, float *y, uint32_t n)
{
    pool_run(pool, x, y, n, 0);
}

void larch_avgpool_backward(const larch_avgpool *pool, const float *dy, float *dx, uint32_t n)
{
    pool_run(pool, dy, dx, n, 1);
}

void larch_global_avgpool_forward(const float *x, float *y, uint32_t n, uint32_t c, uint32_t hw)
{
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x + p * hw;
        float sum = 0.0f;
        for (uint32_t j = 0; j < hw; j++)
            sum += xp[j];
        y[p] = sum / (float)hw;
    }
}

void larch_global_avgpool_backward(const float *dy, float *dx, uint32_t n, uint32_t c, uint32_t hw)
{
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        const float g = dy[p] / (float)hw;
        float *dxp = dx + p * hw;
        for (uint32_t j = 0; j < hw; j++)
            dxp[j] = g;
    }
}

int larch_linear_init(larch_linear *fc, uint32_t in, uint32_t out, uint32_t max_batch,
                      larch_rng *rng, larch_error *err)
{
    memset(fc, 0, sizeof *fc);
    if (in == 0 || out == 0 || max_batch == 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "linear: in %u, out %u, max_batch %u: all must be positive", in, out,
                               max_batch);
    if (rng == NULL)
        return larch_error_set(err, LARCH_EINVAL, "linear: rng is NULL");
    fc->in = in;
    fc->out = out;
    fc->max_batch = max_batch;
    const size_t wcount = (size_t)in * out;
    fc->weight = larch_tensor_alloc(wcount);
    fc->weight_grad = larch_tensor_alloc(wcount);
    fc->bias = larch_tensor_alloc(out);
    fc->bias_grad = larch_tensor_alloc(out);
    if (fc->weight == NULL || fc->weight_grad == NULL || fc->bias == NULL ||
        fc->bias_grad == NULL) {
        larch_linear_release(fc);
        return larch_error_set(err, LARCH_ENOMEM, "linear %u->%u: out of memory", in, out);
    }
    const double bound = 1.0 / sqrt((double)in);
    for (size_t i = 0; i < wcount; i++)
        fc->weight[i] = (float)((2.0 * larch_rng_uniform(rng) - 1.0) * bound);
    larch_parallel_blas_single();
    return LARCH_OK;
}

void larch_linear_release(larch_linear *fc)
{
    larch_tensor_free(fc->weight);
    larch_tensor_free(fc->weight_grad);
    larch_tensor_free(fc->bias);
    larch_tensor_free(fc->bias_grad);
    memset(fc, 0, sizeof *fc);
}

void larch_linear_forward(const larch_linear *fc, const float *x, float *y, uint32_t n)
{
    const int in = (int)fc->in, out = (int)fc->out;
    for (uint32_t i = 0; i < n; i++)
        memcpy(y + (size_t)i * out, fc->bias, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, out, in, 1.0f, x, in, fc->weight,
                in, 1.0f, y, out);
}

void larch_linear_backward(larch_linear *fc, const float *x, const float *dy, float *dx, uint32_t n)
{
    const int in = (int)fc->in, out = (int)fc->out;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)n, 1.0f, dy, out, x, in,
                1.0f, fc->weight_grad, in);
    for (uint32_t i = 0; i < n; i++)
        larch_tensor_add(fc->bias_grad, dy + (size_t)i * out, (size_t)out);
    if (dx != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, in, out, 1.0f, dy, out,
                    fc->weight, in, 0.0f, dx, in);
}

double larch_softmax_xent(const float *logits, const uint8_t *labels, uint32_t n, uint32_t classes,
                          float *dlogits, uint32_t *n_correct)
{
    double loss = 0.0;
    uint32_t correct = 0;
    if (classes == 0)
        n = 0;
    for (uint32_t i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * classes;
        uint32_t best = 0;
        for (uint32_t j = 1; j < classes; j++)
            if (row[j] > row[best])
                best = j;
        const double max = row[best];
        double sum = 0.0;
        for (uint32_t j = 0; j < classes; j++)
            sum += exp((double)row[j] - max);
        const uint32_t label = labels[i];
        /* A label outside the classes has no probability: the loss is NaN, never a stray read. */
        loss += label < classes ? log(sum) - ((double)row[label] - max) : NAN;
        correct += best == label;
        if (dlogits != NULL) {
            float *drow = dlogits + (size_t)i * classes;
            for (uint32_t j = 0; j < classes; j++) {
                const double p = exp((double)row[j] - max) / sum;
                drow[j] = (float)((p - (j == label ? 1.0 : 0.0)) / n);
            }
        }
    }
    if (n_correct != NULL)
        *n_correct = correct;
    return n > 0 ? loss / n : (classes == 0 ? NAN : 0.0);
}
