/* The fixed modules of the skeletons: conv-BN(-ReLU), the residual reduction block and the
 * classifier head. */
#include "module.h"

#include <stdlib.h>
#include <string.h>

static size_t batch_count(uint32_t max_batch, uint32_t c, uint32_t h, uint32_t w)
{
    return (size_t)max_batch * c * h * w;
}

int trainer_module_alloc_output(trainer_module *m, uint32_t c, uint32_t h, uint32_t w,
                                uint32_t max_batch, larch_error *err)
{
    size_t count = batch_count(max_batch, c, h, w);
    m->c = c;
    m->h = h;
    m->w = w;
    m->y = larch_tensor_alloc(count);
    m->dy = larch_tensor_alloc(count);
    if (m->y == NULL || m->dy == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate activations of %zu floats",
                               count);
    return LARCH_OK;
}

void trainer_module_free(trainer_module *m)
{
    if (m == NULL)
        return;
    m->ops->destroy(m);
    larch_tensor_free(m->y);
    larch_tensor_free(m->dy);
    free(m);
}

static void conv_param(larch_conv2d *conv, larch_param *out)
{
    out->value = conv->weight;
    out->grad = conv->weight_grad;
    out->count = (size_t)conv->c_out * conv->c_in * conv->k * conv->k;
    out->flags = 0;
}

static void bn_params(larch_batchnorm *bn, larch_param *out)
{
    out[0] = (larch_param){bn->gamma, bn->gamma_grad, bn->c, LARCH_PARAM_NO_DECAY};
    out[1] = (larch_param){bn->beta, bn->beta_grad, bn->c, LARCH_PARAM_NO_DECAY};
}

/* ---- conv -> BN (-> ReLU) ---- */

typedef struct conv_bn {
    trainer_module base;
    larch_conv_bn layer;
} conv_bn;

static void conv_bn_forward(trainer_module *m, const float *x, uint32_t n, int training)
{
    larch_conv_bn_forward(&((conv_bn *)m)->layer, x, m->y, n, training);
}

static void conv_bn_backward(trainer_module *m, const float *x, float *dx, uint32_t n)
{
    larch_conv_bn_backward(&((conv_bn *)m)->layer, x, m->y, m->dy, dx, n);
}

static uint32_t conv_bn_params(trainer_module *m, larch_param *out)
{
    conv_bn *cb = (conv_bn *)m;
    if (out != NULL)
        larch_conv_bn_params(&cb->layer, out);
    return 3;
}

static void conv_bn_destroy(trainer_module *m)
{
    larch_conv_bn_release(&((conv_bn *)m)->layer);
}

static const trainer_module_ops conv_bn_ops = {conv_bn_forward, conv_bn_backward, conv_bn_params,
                                               conv_bn_destroy};

int trainer_module_conv_bn_new(const trainer_module_shape *in, uint32_t c_out, uint32_t k,
                               uint32_t stride, int relu, larch_rng *rng, trainer_module **out,
                               larch_error *err)
{
    conv_bn *cb = calloc(1, sizeof(*cb));
    if (cb == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate a conv-BN module");
    cb->base.ops = &conv_bn_ops;
    int rc = larch_conv_bn_init(&cb->layer, in->c, c_out, k, stride, in->h, in->w, in->max_batch,
                                relu ? LARCH_CONV_BN_RELU_OUT : 0, rng, err);
    if (rc == LARCH_OK)
        rc = trainer_module_alloc_output(&cb->base, c_out, cb->layer.conv.h_out,
                                         cb->layer.conv.w_out, in->max_batch, err);
    if (rc != LARCH_OK) {
        trainer_module_free(&cb->base);
        return rc;
    }
    cb->base.flops = larch_conv2d_flops(&cb->layer.conv);
    *out = &cb->base;
    return LARCH_OK;
}

/* ---- residual reduction block ---- */

typedef struct reduction {
    trainer_module base;
    larch_relu_conv_bn a, b;
    larch_avgpool pool;
    larch_conv2d shortcut;
    size_t in_count, out_count, pool_count; /* floats per image */
    float *a_out;                           /* output of a */
    float *scratch;  /* shortcut output (forward), gradient of a_out (backward) */
    float *pool_out; /* output of the pool */
    float *dpool;    /* gradient of pool_out */
    float *dx_pool;  /* the shortcut's share of dx */
} reduction;

static void reduction_forward(trainer_module *m, const float *x, uint32_t n, int training)
{
    reduction *r = (reduction *)m;
    larch_relu_conv_bn_forward(&r->a, x, r->a_out, n, training);
    larch_relu_conv_bn_forward(&r->b, r->a_out, m->y, n, training);
    larch_avgpool_forward(&r->pool, x, r->pool_out, n);
    larch_conv2d_forward(&r->shortcut, r->pool_out, r->scratch, n);
    larch_tensor_add_parallel(m->y, r->scratch, n * r->out_count);
}

static void reduction_backward(trainer_module *m, const float *x, float *dx, uint32_t n)
{
    reduction *r = (reduction *)m;
    larch_relu_conv_bn_backward(&r->b, r->a_out, m->dy, r->scratch, n);
    larch_relu_conv_bn_backward(&r->a, x, r->scratch, dx, n);
    larch_conv2d_backward(&r->shortcut, r->pool_out, m->dy, dx ? r->dpool : NULL, n);
    if (dx != NULL) {
        larch_avgpool_backward(&r->pool, r->dpool, r->dx_pool, n);
        larch_tensor_add_parallel(dx, r->dx_pool, n * r->in_count);
    }
}

static uint32_t reduction_params(trainer_module *m, larch_param *out)
{
    reduction *r = (reduction *)m;
    if (out != NULL) {
        larch_relu_conv_bn_params(&r->a, &out[0]);
        larch_relu_conv_bn_params(&r->b, &out[3]);
        conv_param(&r->shortcut, &out[6]);
    }
    return 7;
}

static void reduction_destroy(trainer_module *m)
{
    reduction *r = (reduction *)m;
    larch_relu_conv_bn_release(&r->a);
    larch_relu_conv_bn_release(&r->b);
    larch_conv2d_release(&r->shortcut);
    larch_tensor_free(r->a_out);
    larch_tensor_free(r->scratch);
    larch_tensor_free(r->pool_out);
    larch_tensor_free(r->dpool);
    larch_tensor_free(r->dx_pool);
}

static const trainer_module_ops reduction_ops = {reduction_forward, reduction_backward,
                                                 reduction_params, reduction_destroy};

int trainer_module_reduction_new(const trainer_module_shape *in, uint32_t c_out, larch_rng *rng,
                                 trainer_module **out, larch_error *err)
{
    /* The 2x2 pool floors where the strided conv rounds up: only even sizes line up. */
    if (in->h % 2 != 0 || in->w % 2 != 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "a reduction block needs an even input size, got %ux%u", in->h,
                               in->w);
    reduction *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate a reduction module");
    r->base.ops = &reduction_ops;
    const uint32_t h = in->h / 2, w = in->w / 2, mb = in->max_batch;
    r->in_count = (size_t)in->c * in->h * in->w;
    r->out_count = (size_t)c_out * h * w;
    r->pool_count = (size_t)in->c * h * w;
    int rc = larch_relu_conv_bn_init(&r->a, in->c, c_out, 3, 2, in->h, in->w, mb, rng, err);
    if (rc == LARCH_OK)
        rc = larch_relu_conv_bn_init(&r->b, c_out, c_out, 3, 1, h, w, mb, rng, err);
    if (rc == LARCH_OK)
        rc = larch_avgpool_init(&r->pool, in->c, 2, 2, in->h, in->w, err);
    if (rc == LARCH_OK)
        rc = larch_conv2d_init(&r->shortcut, in->c, c_out, 1, 1, 0, h, w, mb, rng, err);
    if (rc == LARCH_OK)
        rc = trainer_module_alloc_output(&r->base, c_out, h, w, mb, err);
    if (rc == LARCH_OK) {
        r->a_out = larch_tensor_alloc(mb * r->out_count);
        r->scratch = larch_tensor_alloc(mb * r->out_count);
        r->pool_out = larch_tensor_alloc(mb * r->pool_count);
        r->dpool = larch_tensor_alloc(mb * r->pool_count);
        r->dx_pool = larch_tensor_alloc(mb * r->in_count);
        if (!r->a_out || !r->scratch || !r->pool_out || !r->dpool || !r->dx_pool)
            rc = larch_error_set(err, LARCH_ENOMEM, "cannot allocate reduction buffers");
    }
    if (rc == LARCH_OK && (r->a.conv.h_out != h || r->pool.h_out != h || r->pool.w_out != w))
        rc = larch_error_set(err, LARCH_EINTERNAL, "reduction shapes disagree: %ux%u vs %ux%u",
                             r->a.conv.h_out, r->a.conv.w_out, r->pool.h_out, r->pool.w_out);
    if (rc != LARCH_OK) {
        trainer_module_free(&r->base);
        return rc;
    }
    r->base.flops = larch_conv2d_flops(&r->a.conv) + larch_conv2d_flops(&r->b.conv) +
                    larch_conv2d_flops(&r->shortcut);
    *out = &r->base;
    return LARCH_OK;
}

/* ---- classifier head ---- */

typedef struct head {
    trainer_module base;
    int bn_relu;
    uint32_t c_in, hw;
    larch_batchnorm bn;
    larch_linear fc;
    float *act, *dact;       /* BN-ReLU output and its gradient [max_batch][c_in][hw] */
    float *pooled, *dpooled; /* [max_batch][c_in] */
} head;

static void head_forward(trainer_module *m, const float *x, uint32_t n, int training)
{
    head *hd = (head *)m;
    const float *features = x;
    if (hd->bn_relu) {
        larch_batchnorm_forward(&hd->bn, x, hd->act, n, training);
        larch_relu_forward(hd->act, hd->act, (size_t)n * hd->c_in * hd->hw);
        features = hd->act;
    }
    larch_global_avgpool_forward(features, hd->pooled, n, hd->c_in, hd->hw);
    larch_linear_forward(&hd->fc, hd->pooled, m->y, n);
}

static void head_backward(trainer_module *m, const float *x, float *dx, uint32_t n)
{
    (void)x;
    head *hd = (head *)m;
    larch_linear_backward(&hd->fc, hd->pooled, m->dy, hd->dpooled, n);
    if (hd->bn_relu) {
        larch_global_avgpool_backward(hd->dpooled, hd->dact, n, hd->c_in, hd->hw);
        larch_relu_backward(hd->act, hd->dact, hd->dact, (size_t)n * hd->c_in * hd->hw);
        larch_batchnorm_backward(&hd->bn, hd->dact, dx != NULL ? dx : hd->dact, n);
    } else if (dx != NULL) {
        larch_global_avgpool_backward(hd->dpooled, dx, n, hd->c_in, hd->hw);
    }
}

static uint32_t head_params(trainer_module *m, larch_param *out)
{
    head *hd = (head *)m;
    uint32_t k = 0;
    if (hd->bn_relu) {
        if (out != NULL)
            bn_params(&hd->bn, &out[k]);
        k += 2;
    }
    if (out != NULL) {
        out[k] =
            (larch_param){hd->fc.weight, hd->fc.weight_grad, (size_t)hd->fc.in * hd->fc.out, 0};
        out[k + 1] = (larch_param){hd->fc.bias, hd->fc.bias_grad, hd->fc.out, LARCH_PARAM_NO_DECAY};
    }
    return k + 2;
}

static void head_destroy(trainer_module *m)
{
    head *hd = (head *)m;
    larch_batchnorm_release(&hd->bn);
    larch_linear_release(&hd->fc);
    larch_tensor_free(hd->act);
    larch_tensor_free(hd->dact);
    larch_tensor_free(hd->pooled);
    larch_tensor_free(hd->dpooled);
}

static const trainer_module_ops head_ops = {head_forward, head_backward, head_params, head_destroy};

int trainer_module_head_new(const trainer_module_shape *in, int bn_relu, uint32_t classes,
                            larch_rng *rng, trainer_module **out, larch_error *err)
{
    head *hd = calloc(1, sizeof(*hd));
    if (hd == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate the classifier head");
    hd->base.ops = &head_ops;
    hd->bn_relu = bn_relu;
    hd->c_in = in->c;
    hd->hw = in->h * in->w;
    const size_t features = (size_t)in->max_batch * in->c * hd->hw;
    int rc = LARCH_OK;
    if (bn_relu) {
        rc = larch_batchnorm_init(&hd->bn, in->c, hd->hw, in->max_batch, err);
        if (rc == LARCH_OK) {
            hd->act = larch_tensor_alloc(features);
            hd->dact = larch_tensor_alloc(features);
            if (hd->act == NULL || hd->dact == NULL)
                rc = larch_error_set(err, LARCH_ENOMEM, "cannot allocate head buffers");
        }
    }
    if (rc == LARCH_OK)
        rc = larch_linear_init(&hd->fc, in->c, classes, in->max_batch, rng, err);
    if (rc == LARCH_OK) {
        hd->pooled = larch_tensor_alloc((size_t)in->max_batch * in->c);
        hd->dpooled = larch_tensor_alloc((size_t)in->max_batch * in->c);
        if (hd->pooled == NULL || hd->dpooled == NULL)
            rc = larch_error_set(err, LARCH_ENOMEM, "cannot allocate head buffers");
    }
    if (rc == LARCH_OK)
        rc = trainer_module_alloc_output(&hd->base, classes, 1, 1, in->max_batch, err);
    if (rc != LARCH_OK) {
        trainer_module_free(&hd->base);
        return rc;
    }
    hd->base.flops = (uint64_t)in->c * classes;
    *out = &hd->base;
    return LARCH_OK;
}
