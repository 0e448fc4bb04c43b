/* ReLU -> conv -> batch norm, composed from the primitives. */
#include <stdlib.h>
#include <string.h>

#include "larch/nn.h"

int larch_relu_conv_bn_init(larch_relu_conv_bn *rcb, uint32_t c_in, uint32_t c_out, uint32_t k,
                            uint32_t stride, uint32_t h, uint32_t w, uint32_t max_batch,
                            larch_rng *rng, larch_error *err)
{
    memset(rcb, 0, sizeof *rcb);
    int rc = larch_conv2d_init(&rcb->conv, c_in, c_out, k, stride, (k - 1) / 2, h, w, max_batch,
                               rng, err);
    if (rc != LARCH_OK)
        return rc;
    const uint32_t hw_out = rcb->conv.h_out * rcb->conv.w_out;
    rc = larch_batchnorm_init(&rcb->bn, c_out, hw_out, max_batch, err);
    if (rc != LARCH_OK) {
        larch_conv2d_release(&rcb->conv);
        return rc;
    }
    rcb->relu_out = larch_tensor_alloc((size_t)max_batch * c_in * h * w);
    rcb->conv_out = larch_tensor_alloc((size_t)max_batch * c_out * hw_out);
    if (rcb->relu_out == NULL || rcb->conv_out == NULL) {
        larch_relu_conv_bn_release(rcb);
        return larch_error_set(err, LARCH_ENOMEM,
                               "relu_conv_bn %u->%u k%u on %ux%u, batch %u: out of memory", c_in,
                               c_out, k, h, w, max_batch);
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
    const larch_conv2d *conv = &rcb->conv;
    larch_relu_forward(x, rcb->relu_out, (size_t)n * conv->c_in * conv->h * conv->w);
    larch_conv2d_forward(&rcb->conv, rcb->relu_out, rcb->conv_out, n);
    larch_batchnorm_forward(&rcb->bn, rcb->conv_out, y, n, training);
}

void larch_relu_conv_bn_backward(larch_relu_conv_bn *rcb, const float *x, const float *dy,
                                 float *dx, uint32_t n)
{
    const larch_conv2d *conv = &rcb->conv;
    /* Batch norm's backward needs only its saved xhat, so conv_out holds d(conv_out). */
    larch_batchnorm_backward(&rcb->bn, dy, rcb->conv_out, n);
    larch_conv2d_backward(&rcb->conv, rcb->relu_out, rcb->conv_out, dx, n);
    if (dx != NULL)
        larch_relu_backward(x, dx, dx, (size_t)n * conv->c_in * conv->h * conv->w);
}

uint32_t larch_relu_conv_bn_params(larch_relu_conv_bn *rcb, larch_param *out)
{
    const larch_conv2d *conv = &rcb->conv;
    out[0] = (larch_param){rcb->conv.weight, rcb->conv.weight_grad,
                           (size_t)conv->c_out * conv->c_in * conv->k * conv->k, 0};
    out[1] = (larch_param){rcb->bn.gamma, rcb->bn.gamma_grad, rcb->bn.c, LARCH_PARAM_NO_DECAY};
    out[2] = (larch_param){rcb->bn.beta, rcb->bn.beta_grad, rcb->bn.c, LARCH_PARAM_NO_DECAY};
    return 3;
}
