/* Conv -> batch norm with optional ReLUs before and after, as one layer: larch_conv_bn, and the
 * shared core behind larch_relu_conv_bn.
 *
 * Fused (the direct engine covers the convolution): a training forward is two parallel passes,
 * conv + per-image statistics, then the normalisation; a backward is two, the per-image gradient
 * sums, then the convolution's backward reading dy through the batch norm's coefficients. Only the
 * convolution output is kept; ReLU(x) and xhat are recomputed where needed. Unfused (im2col path):
 * the composition of the primitives. */
#include <math.h>
#include <string.h>

#include "larch/nn.h"
#include "nn_internal.h"
#include "parallel.h"

typedef struct fused {
    larch_conv2d *conv;
    larch_batchnorm *bn;
    float *z;        /* convolution output */
    float *relu_buf; /* unfused: ReLU(x) */
    uint32_t flags;
} fused;

static conv_direct *plan_of(const fused *f)
{
    return ((conv_state *)f->conv->scratch)->direct;
}

static int fused_init(fused *f, float **z, float **relu_buf, uint32_t c_in, uint32_t c_out,
                      uint32_t k, uint32_t stride, uint32_t h, uint32_t w, uint32_t max_batch,
                      larch_rng *rng, larch_error *err)
{
    int rc =
        larch_conv2d_init(f->conv, c_in, c_out, k, stride, (k - 1) / 2, h, w, max_batch, rng, err);
    if (rc != LARCH_OK)
        return rc;
    const uint32_t hw_out = f->conv->h_out * f->conv->w_out;
    const int direct = plan_of(f) != NULL;
    if (direct) {
        rc = batchnorm_init_fused(f->bn, c_out, hw_out, max_batch, err);
        if (rc == LARCH_OK && conv_state_reserve_bn(f->conv) != LARCH_OK)
            rc = LARCH_ENOMEM;
    } else {
        rc = larch_batchnorm_init(f->bn, c_out, hw_out, max_batch, err);
        if (rc == LARCH_OK && (f->flags & LARCH_CONV_BN_RELU_IN) &&
            (*relu_buf = larch_tensor_alloc((size_t)max_batch * c_in * h * w)) == NULL)
            rc = LARCH_ENOMEM;
    }
    if (rc == LARCH_OK && (*z = larch_tensor_alloc((size_t)max_batch * c_out * hw_out)) == NULL)
        rc = LARCH_ENOMEM;
    if (rc == LARCH_ENOMEM)
        larch_error_set(err, LARCH_ENOMEM, "conv-BN %u->%u k%u on %ux%u, batch %u: out of memory",
                        c_in, c_out, k, h, w, max_batch);
    return rc;
}

struct fused_job {
    const fused *f;
    const float *x, *y, *dy;
    float *out, *dx;
    uint32_t n, n_tasks;
    int training;
};

static void range(const struct fused_job *job, uint32_t task, uint32_t *begin, uint32_t *end)
{
    *begin = larch_parallel_begin(job->n, task, job->n_tasks);
    *end = larch_parallel_begin(job->n, task + 1, job->n_tasks);
}

/* Training: conv and per-image statistics. Evaluation: conv and the running-statistics affine. */
static void forward_conv_task(void *arg, uint32_t task)
{
    const struct fused_job *job = arg;
    const fused *f = job->f;
    const conv_state *state = f->conv->scratch;
    uint32_t b, e;
    range(job, task, &b, &e);
    const int relu_in = (f->flags & LARCH_CONV_BN_RELU_IN) != 0;
    float *target = job->training ? f->z : job->out;
    conv_direct_forward(state->direct, job->x, target, b, e, relu_in,
                        job->training ? state->bn_sums : NULL, larch_parallel_scratch(task));
    if (!job->training)
        conv_direct_affine(state->direct, job->out, job->out, state->bn_coef + 2 * f->bn->c,
                           state->bn_coef + 3 * f->bn->c, (f->flags & LARCH_CONV_BN_RELU_OUT) != 0,
                           b, e);
}

static void forward_norm_task(void *arg, uint32_t task)
{
    const struct fused_job *job = arg;
    const fused *f = job->f;
    const conv_state *state = f->conv->scratch;
    uint32_t b, e;
    range(job, task, &b, &e);
    conv_direct_affine(state->direct, f->z, job->out, state->bn_coef, state->bn_coef + f->bn->c,
                       (f->flags & LARCH_CONV_BN_RELU_OUT) != 0, b, e);
}

static void fused_forward(const fused *f, const float *x, float *y, uint32_t n, int training)
{
    larch_conv2d *conv = f->conv;
    larch_batchnorm *bn = f->bn;
    conv_state *state = conv->scratch;
    if (state->direct == NULL) {
        const float *in = x;
        const size_t in_count = (size_t)n * conv->c_in * conv->h * conv->w;
        if (f->flags & LARCH_CONV_BN_RELU_IN) {
            larch_relu_forward(x, f->relu_buf, in_count);
            in = f->relu_buf;
        }
        larch_conv2d_forward(conv, in, f->z, n);
        larch_batchnorm_forward(bn, f->z, y, n, training);
        if (f->flags & LARCH_CONV_BN_RELU_OUT)
            larch_relu_forward(y, y, (size_t)n * conv->c_out * conv->h_out * conv->w_out);
        return;
    }
    conv_direct_pack_weights(state->direct, conv->weight, 0);
    /* Evaluation has its own coefficients: the training ones are the ReLU mask of backward. */
    float *scale = state->bn_coef + (training ? 0 : 2 * bn->c);
    float *shift = scale + bn->c;
    if (!training)
        for (uint32_t m = 0; m < bn->c; m++) {
            scale[m] = bn->gamma[m] / sqrtf(bn->running_var[m] + bn->eps);
            shift[m] = bn->beta[m] - bn->running_mean[m] * scale[m];
        }
    struct fused_job job = {f, x, NULL, NULL, y, NULL, n, conv_task_count(conv, n), training};
    larch_parallel_run(job.n_tasks, forward_conv_task, &job);
    if (!training)
        return;
    batchnorm_finish_stats(bn, state->bn_sums, n);
    for (uint32_t m = 0; m < bn->c; m++) {
        scale[m] = bn->gamma[m] * bn->inv_std[m];
        shift[m] = bn->beta[m] - bn->mean[m] * scale[m];
    }
    larch_parallel_run(job.n_tasks, forward_norm_task, &job);
}

static void grad_sums_task(void *arg, uint32_t task)
{
    const struct fused_job *job = arg;
    const fused *f = job->f;
    const conv_state *state = f->conv->scratch;
    uint32_t b, e;
    range(job, task, &b, &e);
    const int relu_out = (f->flags & LARCH_CONV_BN_RELU_OUT) != 0;
    const uint32_t c = f->bn->c;
    conv_direct_grad_sums(state->direct, job->dy, f->z, f->bn->mean,
                          relu_out ? state->bn_coef : NULL, relu_out ? state->bn_coef + c : NULL, b,
                          e, state->bn_sums);
}

static void backward_task(void *arg, uint32_t task)
{
    const struct fused_job *job = arg;
    const fused *f = job->f;
    const conv_state *state = f->conv->scratch;
    uint32_t b, e;
    range(job, task, &b, &e);
    const uint32_t c = f->bn->c;
    const int relu_out = (f->flags & LARCH_CONV_BN_RELU_OUT) != 0;
    const float *coef = state->bn_coef;
    const conv_direct_grad grad = {job->dy,
                                   f->z,
                                   coef + 4 * c,
                                   coef + 5 * c,
                                   coef + 6 * c,
                                   relu_out ? coef : NULL,
                                   relu_out ? coef + c : NULL};
    conv_direct_backward(state->direct, job->x, &grad, conv_wgrad_target(f->conv, task), job->dx, b,
                         e, (f->flags & LARCH_CONV_BN_RELU_IN) != 0, larch_parallel_scratch(task));
}

static void fused_backward(const fused *f, const float *x, const float *y, const float *dy,
                           float *dx, uint32_t n)
{
    larch_conv2d *conv = f->conv;
    conv_state *state = conv->scratch;
    if (state->direct == NULL) {
        const size_t out_count = (size_t)n * conv->c_out * conv->h_out * conv->w_out;
        const float *g = dy;
        /* Batch norm's backward needs only its saved xhat, so z is free for the gradients. */
        if (f->flags & LARCH_CONV_BN_RELU_OUT) {
            larch_relu_backward(y, dy, f->z, out_count);
            g = f->z;
        }
        larch_batchnorm_backward(f->bn, g, f->z, n);
        const int relu_in = (f->flags & LARCH_CONV_BN_RELU_IN) != 0;
        larch_conv2d_backward(conv, relu_in ? f->relu_buf : x, f->z, dx, n);
        if (dx != NULL && relu_in)
            larch_relu_backward(x, dx, dx, (size_t)n * conv->c_in * conv->h * conv->w);
        return;
    }
    struct fused_job job = {f, x, y, dy, NULL, dx, n, conv_task_count(conv, n), 1};
    larch_parallel_run(job.n_tasks, grad_sums_task, &job);
    batchnorm_finish_grad(f->bn, state->bn_sums, n, state->bn_coef + 4 * f->bn->c);
    if (dx != NULL)
        conv_direct_pack_weights(state->direct, conv->weight, 1);
    larch_parallel_run(job.n_tasks, backward_task, &job);
    conv_wgrad_reduce(conv, job.n_tasks);
}

static uint32_t fused_params(const fused *f, larch_param *out)
{
    const larch_conv2d *conv = f->conv;
    out[0] = (larch_param){conv->weight, conv->weight_grad,
                           (size_t)conv->c_out * conv->c_in * conv->k * conv->k, 0};
    out[1] = (larch_param){f->bn->gamma, f->bn->gamma_grad, f->bn->c, LARCH_PARAM_NO_DECAY};
    out[2] = (larch_param){f->bn->beta, f->bn->beta_grad, f->bn->c, LARCH_PARAM_NO_DECAY};
    return 3;
}

/* ---- larch_conv_bn ---- */

static fused conv_bn_core(larch_conv_bn *cb)
{
    return (fused){&cb->conv, &cb->bn, cb->conv_out, cb->relu_out, cb->flags};
}

int larch_conv_bn_init(larch_conv_bn *cb, uint32_t c_in, uint32_t c_out, uint32_t k,
                       uint32_t stride, uint32_t h, uint32_t w, uint32_t max_batch, uint32_t flags,
                       larch_rng *rng, larch_error *err)
{
    memset(cb, 0, sizeof *cb);
    cb->flags = flags & (LARCH_CONV_BN_RELU_IN | LARCH_CONV_BN_RELU_OUT);
    fused f = conv_bn_core(cb);
    int rc = fused_init(&f, &cb->conv_out, &cb->relu_out, c_in, c_out, k, stride, h, w, max_batch,
                        rng, err);
    if (rc != LARCH_OK) {
        larch_conv_bn_release(cb);
        return rc;
    }
    return LARCH_OK;
}

void larch_conv_bn_release(larch_conv_bn *cb)
{
    larch_conv2d_release(&cb->conv);
    larch_batchnorm_release(&cb->bn);
    larch_tensor_free(cb->conv_out);
    larch_tensor_free(cb->relu_out);
    memset(cb, 0, sizeof *cb);
}

void larch_conv_bn_forward(larch_conv_bn *cb, const float *x, float *y, uint32_t n, int training)
{
    fused f = conv_bn_core(cb);
    fused_forward(&f, x, y, n, training);
}

void larch_conv_bn_backward(larch_conv_bn *cb, const float *x, const float *y, const float *dy,
                            float *dx, uint32_t n)
{
    fused f = conv_bn_core(cb);
    fused_backward(&f, x, y, dy, dx, n);
}

uint32_t larch_conv_bn_params(larch_conv_bn *cb, larch_param *out)
{
    fused f = conv_bn_core(cb);
    return fused_params(&f, out);
}

/* ---- larch_relu_conv_bn: the same core with a ReLU on the input ---- */

static fused relu_conv_bn_core(larch_relu_conv_bn *rcb)
{
    return (fused){&rcb->conv, &rcb->bn, rcb->conv_out, rcb->relu_out, LARCH_CONV_BN_RELU_IN};
}

int larch_relu_conv_bn_init(larch_relu_conv_bn *rcb, uint32_t c_in, uint32_t c_out, uint32_t k,
                            uint32_t stride, uint32_t h, uint32_t w, uint32_t max_batch,
                            larch_rng *rng, larch_error *err)
{
    memset(rcb, 0, sizeof *rcb);
    fused f = relu_conv_bn_core(rcb);
    int rc = fused_init(&f, &rcb->conv_out, &rcb->relu_out, c_in, c_out, k, stride, h, w, max_batch,
                        rng, err);
    if (rc != LARCH_OK) {
        larch_relu_conv_bn_release(rcb);
        return rc;
    }
    return LARCH_OK;
}

void larch_relu_conv_bn_release(larch_relu_conv_bn *rcb)
{
    larch_conv2d_release(&rcb->conv);
    larch_batchnorm_release(&rcb->bn);
    larch_tensor_free(rcb->relu_out);
    larch_tensor_free(rcb->conv_out);
    memset(rcb, 0, sizeof *rcb);
}

void larch_relu_conv_bn_forward(larch_relu_conv_bn *rcb, const float *x, float *y, uint32_t n,
                                int training)
{
    fused f = relu_conv_bn_core(rcb);
    fused_forward(&f, x, y, n, training);
}

void larch_relu_conv_bn_backward(larch_relu_conv_bn *rcb, const float *x, const float *dy,
                                 float *dx, uint32_t n)
{
    fused f = relu_conv_bn_core(rcb);
    fused_backward(&f, x, NULL, dy, dx, n);
}

uint32_t larch_relu_conv_bn_params(larch_relu_conv_bn *rcb, larch_param *out)
{
    fused f = relu_conv_bn_core(rcb);
    return fused_params(&f, out);
}
