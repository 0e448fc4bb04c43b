/* Op set "nb201": the five operations of NAS-Bench-201 (Dong and Yang, 2020), in its order:
 * none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3.
 *
 * Where NAS-Bench-201 uses a factorized reduce (skip_connect at stride 2 or with a change of
 * width), this op set uses ReLU-conv1x1(stride)-BN, which works for any c_out. FLOPs count the
 * multiply-adds of convolutions plus one add per pooled input cell; ReLU and BN are not counted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

enum { OP_NONE, OP_SKIP, OP_CONV1X1, OP_CONV3X3, OP_POOL, N_OPS };

static const larch_op_info op_infos[N_OPS] = {
    {"none", LARCH_OP_ZERO},
    {"skip_connect", LARCH_OP_IDENTITY},
    {"nor_conv_1x1", LARCH_OP_PARAMETRIC},
    {"nor_conv_3x3", LARCH_OP_PARAMETRIC},
    {"avg_pool_3x3", 0},
};

typedef struct nb_layer {
    larch_layer base; /* first, so a larch_layer * is an nb_layer * */
    int has_rcb;
    larch_relu_conv_bn rcb; /* the convs, a reducing skip, the pool's width change */
    larch_avgpool pool;
    float *pre;                 /* pool with a width change: the rcb output, then its gradient */
    size_t in_count, out_count; /* floats per image of x and y */
    larch_param params[3];
} nb_layer;

/* The calls the trainer makes are trusted for shape, but a bad pointer or batch must not write
 * out of bounds. */
static int call_ok(const larch_layer *layer, const float *x, const float *y, uint32_t n)
{
    return layer != NULL && x != NULL && y != NULL && n <= layer->shape.max_batch;
}

static void zero_forward(larch_layer *layer, const float *x, float *y, uint32_t n, int training)
{
    (void)training;
    if (!call_ok(layer, x, y, n))
        return;
    nb_layer *l = (nb_layer *)layer;
    memset(y, 0, (size_t)n * l->out_count * sizeof *y);
}

static void zero_backward(larch_layer *layer, const float *x, const float *dy, float *dx,
                          uint32_t n)
{
    if (!call_ok(layer, x, dy, n) || dx == NULL)
        return;
    nb_layer *l = (nb_layer *)layer;
    memset(dx, 0, (size_t)n * l->in_count * sizeof *dx);
}

static void identity_forward(larch_layer *layer, const float *x, float *y, uint32_t n, int training)
{
    (void)training;
    if (!call_ok(layer, x, y, n) || x == y)
        return;
    nb_layer *l = (nb_layer *)layer;
    memmove(y, x, (size_t)n * l->out_count * sizeof *y);
}

static void identity_backward(larch_layer *layer, const float *x, const float *dy, float *dx,
                              uint32_t n)
{
    if (!call_ok(layer, x, dy, n) || dx == NULL || dx == dy)
        return;
    nb_layer *l = (nb_layer *)layer;
    memmove(dx, dy, (size_t)n * l->in_count * sizeof *dx);
}

static void rcb_forward(larch_layer *layer, const float *x, float *y, uint32_t n, int training)
{
    if (!call_ok(layer, x, y, n))
        return;
    larch_relu_conv_bn_forward(&((nb_layer *)layer)->rcb, x, y, n, training);
}

static void rcb_backward(larch_layer *layer, const float *x, const float *dy, float *dx, uint32_t n)
{
    if (!call_ok(layer, x, dy, n))
        return;
    larch_relu_conv_bn_backward(&((nb_layer *)layer)->rcb, x, dy, dx, n);
}

static void pool_forward(larch_layer *layer, const float *x, float *y, uint32_t n, int training)
{
    if (!call_ok(layer, x, y, n))
        return;
    nb_layer *l = (nb_layer *)layer;
    const float *src = x;
    if (l->has_rcb) {
        larch_relu_conv_bn_forward(&l->rcb, x, l->pre, n, training);
        src = l->pre;
    }
    larch_avgpool_forward(&l->pool, src, y, n);
}

static void pool_backward(larch_layer *layer, const float *x, const float *dy, float *dx,
                          uint32_t n)
{
    if (!call_ok(layer, x, dy, n))
        return;
    nb_layer *l = (nb_layer *)layer;
    if (!l->has_rcb) {
        if (dx != NULL)
            larch_avgpool_backward(&l->pool, dy, dx, n);
        return;
    }
    /* pre is free after forward: the rcb keeps what its backward needs itself. */
    larch_avgpool_backward(&l->pool, dy, l->pre, n);
    larch_relu_conv_bn_backward(&l->rcb, x, l->pre, dx, n);
}

static void layer_destroy(larch_layer *layer)
{
    nb_layer *l = (nb_layer *)layer;
    if (l == NULL)
        return;
    if (l->has_rcb)
        larch_relu_conv_bn_release(&l->rcb);
    larch_tensor_free(l->pre);
    free(l);
}

static const larch_layer_ops zero_ops = {sizeof(larch_layer_ops), zero_forward, zero_backward,
                                         layer_destroy};
static const larch_layer_ops identity_ops = {sizeof(larch_layer_ops), identity_forward,
                                             identity_backward, layer_destroy};
static const larch_layer_ops rcb_ops = {sizeof(larch_layer_ops), rcb_forward, rcb_backward,
                                        layer_destroy};
static const larch_layer_ops pool_ops = {sizeof(larch_layer_ops), pool_forward, pool_backward,
                                         layer_destroy};

/* a * b into *out unless it overflows size_t. */
static int mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static int check_shape(uint32_t op, const larch_layer_shape *s, larch_error *err)
{
    if (s->c_in == 0 || s->c_out == 0 || s->h == 0 || s->w == 0 || s->max_batch == 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "nb201: %s: shape c_in=%u c_out=%u h=%u w=%u max_batch=%u has a "
                               "zero, expected all >= 1",
                               op_infos[op].name, s->c_in, s->c_out, s->h, s->w, s->max_batch);
    if (s->stride != 1 && s->stride != 2)
        return larch_error_set(err, LARCH_EINVAL, "nb201: %s: stride %u, expected 1 or 2",
                               op_infos[op].name, s->stride);
    uint32_t c = s->c_in > s->c_out ? s->c_in : s->c_out;
    size_t count;
    if (!mul_ok((size_t)c, s->h, &count) || !mul_ok(count, s->w, &count) ||
        !mul_ok(count, s->max_batch, &count) || !mul_ok(count, sizeof(float), &count))
        return larch_error_set(err, LARCH_EINVAL, "nb201: %s: shape %u x %u x %u x %u is too large",
                               op_infos[op].name, s->max_batch, c, s->h, s->w);
    return LARCH_OK;
}

static int nb201_layer_new(uint32_t op, const larch_layer_shape *shape, larch_rng *rng,
                           larch_layer **out, larch_error *err)
{
    if (shape == NULL || rng == NULL || out == NULL)
        return larch_error_set(err, LARCH_EINVAL, "nb201: layer_new got a NULL argument");
    if (op >= N_OPS)
        return larch_error_set(err, LARCH_EINVAL, "nb201: op %u does not exist, expected 0..%d", op,
                               N_OPS - 1);
    int rc = check_shape(op, shape, err);
    if (rc != LARCH_OK)
        return rc;

    nb_layer *l = calloc(1, sizeof *l);
    if (l == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "nb201: %s: out of memory for the layer",
                               op_infos[op].name);
    const larch_layer_shape *s = shape;
    larch_layer *base = &l->base;
    base->struct_size = sizeof *base;
    base->shape = *s;
    base->h_out = (s->h - 1) / s->stride + 1;
    base->w_out = (s->w - 1) / s->stride + 1;
    base->params = l->params;
    base->impl = l;
    l->in_count = (size_t)s->c_in * s->h * s->w;
    l->out_count = (size_t)s->c_out * base->h_out * base->w_out;
    int reshapes = s->stride != 1 || s->c_in != s->c_out;

    if (op == OP_NONE) {
        base->ops = &zero_ops;
    } else if (op == OP_SKIP && !reshapes) {
        base->ops = &identity_ops;
    } else if (op != OP_POOL) {
        /* The convs, and a reducing skip as a 1x1 ReLU-conv-BN. */
        uint32_t k = op == OP_CONV3X3 ? 3 : 1;
        base->ops = &rcb_ops;
        rc = larch_relu_conv_bn_init(&l->rcb, s->c_in, s->c_out, k, s->stride, s->h, s->w,
                                     s->max_batch, rng, err);
        l->has_rcb = rc == LARCH_OK;
    } else {
        base->ops = &pool_ops;
        if (s->c_in != s->c_out) {
            /* NAS-Bench-201 changes the width first with a stride-1 1x1 ReLU-conv-BN. */
            rc = larch_relu_conv_bn_init(&l->rcb, s->c_in, s->c_out, 1, 1, s->h, s->w, s->max_batch,
                                         rng, err);
            l->has_rcb = rc == LARCH_OK;
            if (rc == LARCH_OK) {
                l->pre = larch_tensor_alloc((size_t)s->max_batch * s->c_out * s->h * s->w);
                if (l->pre == NULL)
                    rc = larch_error_set(err, LARCH_ENOMEM,
                                         "out of memory for %u x %u x %u x %u floats", s->max_batch,
                                         s->c_out, s->h, s->w);
            }
        }
        if (rc == LARCH_OK)
            rc = larch_avgpool_init(&l->pool, s->c_out, 3, s->stride, s->h, s->w, err);
        if (rc == LARCH_OK)
            base->flops = (uint64_t)s->c_out * l->pool.h_out * l->pool.w_out * 9u;
        if (rc == LARCH_OK && (l->pool.h_out != base->h_out || l->pool.w_out != base->w_out))
            rc = larch_error_set(err, LARCH_EINTERNAL, "pool output %ux%u, expected %ux%u",
                                 l->pool.h_out, l->pool.w_out, base->h_out, base->w_out);
    }
    if (rc == LARCH_OK && base->ops == &rcb_ops &&
        (l->rcb.conv.h_out != base->h_out || l->rcb.conv.w_out != base->w_out))
        rc = larch_error_set(err, LARCH_EINTERNAL, "conv output %ux%u, expected %ux%u",
                             l->rcb.conv.h_out, l->rcb.conv.w_out, base->h_out, base->w_out);
    if (rc == LARCH_OK && l->has_rcb) {
        base->flops += larch_conv2d_flops(&l->rcb.conv);
        base->n_params = larch_relu_conv_bn_params(&l->rcb, l->params);
    }
    if (rc != LARCH_OK) {
        layer_destroy(base);
        larch_error_prefix(err, "nb201: %s: ", op_infos[op].name);
        return rc;
    }
    *out = base;
    return LARCH_OK;
}

static const larch_opset_vtable vtable = {sizeof(larch_opset_vtable), N_OPS, op_infos,
                                          nb201_layer_new};

static const larch_plugin descriptor = {
    LARCH_ABI_HEADER_INIT,
    LARCH_PLUGIN_OPSET,
    0,
    "nb201",
    "NAS-Bench-201 operations",
    "1.0.0",
    "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3 (ReLU-Conv-BN)",
    NULL,
    &vtable};

LARCH_PLUGIN_ENTRY
{
    return &descriptor;
}
