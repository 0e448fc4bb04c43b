/* Tensor and neural-network primitives (float32, NCHW) that op sets and the trainer compose.
 *
 * Conventions: every struct is caller-owned; _init allocates its buffers once for max_batch
 * images and returns LARCH_OK or LARCH_ENOMEM/LARCH_EINVAL with a message (the struct is then
 * released); _release frees and may be called on a zeroed or released struct. forward/backward
 * never allocate. Backward passes overwrite dx (dx may be NULL when not needed) and ADD into
 * parameter gradients. */
#ifndef LARCH_NN_H
#define LARCH_NN_H

#include <stddef.h>
#include <stdint.h>

#include "opset.h"
#include "rng.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tensors ---- */

/* 64-byte aligned, zeroed floats; NULL on failure or count == 0. Free with larch_tensor_free. */
float *larch_tensor_alloc(size_t count);
void larch_tensor_free(float *data);
/* y[i] += x[i] */
void larch_tensor_add(float *y, const float *x, size_t count);
/* The same, split across the thread pool (see larch_nn_set_threads) when count is large: for the
 * batch tensors a network sums. Call it from the thread that drives the layers, never from
 * inside a layer's own work. */
void larch_tensor_add_parallel(float *y, const float *x, size_t count);

/* ---- threads ----
 * How many threads the primitives split a batch across (1 = the calling thread only), clamped to
 * 1..64. Process-wide: set it once, from one thread, before building layers; a convolution uses
 * at most the count in force when it was built. Since the host and every plugin link their own
 * copy of this library, the value is shared through the environment variable LARCH_NN_THREADS,
 * which larch_nn_set_threads sets and a copy that never called it reads (default 1). The
 * primitives keep OpenBLAS single-threaded. Results are identical run to run for a given count;
 * different counts differ only in the rounding of the weight-gradient sums. Returns the value in
 * force.
 *
 * On CPUs with AVX-512 the convolutions of common shapes ("same" convolutions at stride 1, and
 * stride 2 on even sizes) run on direct kernels without im2col; setting the environment variable
 * LARCH_NN_GENERIC=1 before building a layer makes it use im2col + sgemm instead. */
int larch_nn_set_threads(int threads);
int larch_nn_threads(void);

/* ---- convolution (no bias), im2col + sgemm, square kernel k, zero padding pad ---- */
typedef struct larch_conv2d {
    uint32_t c_in, c_out, k, stride, pad;
    uint32_t h, w, h_out, w_out, max_batch;
    float *weight;      /* [c_out][c_in][k][k] */
    float *weight_grad; /* same shape */
    void *scratch;      /* private: per-thread im2col buffers */
} larch_conv2d;

/* Output size (size + 2 * pad - k) / stride + 1; needs pad < k <= size + 2 * pad. He-normal
 * initialisation (std sqrt(2 / (c_in * k * k))) from rng; weight_grad starts at zero. */
int larch_conv2d_init(larch_conv2d *conv, uint32_t c_in, uint32_t c_out, uint32_t k,
                      uint32_t stride, uint32_t pad, uint32_t h, uint32_t w, uint32_t max_batch,
                      larch_rng *rng, larch_error *err);
void larch_conv2d_release(larch_conv2d *conv);
/* x [n, c_in, h, w] -> y [n, c_out, h_out, w_out], n <= max_batch; y must not alias x. */
void larch_conv2d_forward(larch_conv2d *conv, const float *x, float *y, uint32_t n);
/* x is the forward input; dx (may be NULL) must not alias x or dy. */
void larch_conv2d_backward(larch_conv2d *conv, const float *x, const float *dy, float *dx,
                           uint32_t n);
/* Multiply-adds per image. */
uint64_t larch_conv2d_flops(const larch_conv2d *conv);

/* ---- batch normalisation over N, H, W per channel ---- */
typedef struct larch_batchnorm {
    uint32_t c, hw, max_batch;
    float momentum; /* running = (1 - momentum) * running + momentum * batch; default 0.1 */
    float eps;      /* default 1e-5 */
    float *gamma, *beta, *gamma_grad, *beta_grad;
    float *running_mean, *running_var;
    float *xhat;           /* private: normalised input of the last training forward */
    float *mean, *inv_std; /* private: batch statistics of the last training forward */
} larch_batchnorm;

/* gamma 1, beta 0, running mean 0, running variance 1. */
int larch_batchnorm_init(larch_batchnorm *bn, uint32_t c, uint32_t hw, uint32_t max_batch,
                         larch_error *err);
void larch_batchnorm_release(larch_batchnorm *bn);
/* training: normalises with the batch mean and biased variance and moves the running mean and
 * the running (unbiased) variance by momentum; otherwise uses the running statistics. y may
 * alias x. */
void larch_batchnorm_forward(larch_batchnorm *bn, const float *x, float *y, uint32_t n,
                             int training);
/* Uses the statistics of the last training forward; dx may alias dy or be NULL. */
void larch_batchnorm_backward(larch_batchnorm *bn, const float *dy, float *dx, uint32_t n);

/* ---- ReLU ---- */
/* y may alias x. */
void larch_relu_forward(const float *x, float *y, size_t count);
/* dx = dy where x > 0 else 0 (x is the forward input; its output works too). dx may alias dy. */
void larch_relu_backward(const float *x, const float *dy, float *dx, size_t count);

/* ---- average pooling k x k, padding (k-1)/2, padded cells not counted ---- */
typedef struct larch_avgpool {
    uint32_t c, k, stride, pad, h, w, h_out, w_out;
} larch_avgpool;

/* Output size (size + 2 * pad - k) / stride + 1: 3x3 stride 1 keeps the size, 2x2 stride 2
 * halves it (pad 0). */
int larch_avgpool_init(larch_avgpool *pool, uint32_t c, uint32_t k, uint32_t stride, uint32_t h,
                       uint32_t w, larch_error *err);
void larch_avgpool_forward(const larch_avgpool *pool, const float *x, float *y, uint32_t n);
/* Overwrites dx; dx must not alias dy. */
void larch_avgpool_backward(const larch_avgpool *pool, const float *dy, float *dx, uint32_t n);

/* ---- global average pooling: [n, c, hw] -> [n, c] ---- */
void larch_global_avgpool_forward(const float *x, float *y, uint32_t n, uint32_t c, uint32_t hw);
void larch_global_avgpool_backward(const float *dy, float *dx, uint32_t n, uint32_t c, uint32_t hw);

/* ---- fully connected: y = x W^T + b, x [n, in], y [n, out] ---- */
typedef struct larch_linear {
    uint32_t in, out, max_batch;
    float *weight, *weight_grad; /* [out][in] */
    float *bias, *bias_grad;     /* [out] */
} larch_linear;

/* Uniform(-1/sqrt(in), 1/sqrt(in)) initialisation from rng, bias zero. */
int larch_linear_init(larch_linear *fc, uint32_t in, uint32_t out, uint32_t max_batch,
                      larch_rng *rng, larch_error *err);
void larch_linear_release(larch_linear *fc);
void larch_linear_forward(const larch_linear *fc, const float *x, float *y, uint32_t n);
void larch_linear_backward(larch_linear *fc, const float *x, const float *dy, float *dx,
                           uint32_t n);

/* ---- softmax cross-entropy ----
 * Returns the mean loss over n rows of logits [n, classes]. If dlogits is not NULL it receives
 * d(mean loss)/d(logits). If n_correct is not NULL it receives how many argmax == label. Labels
 * must be < classes; a row whose label is not gives a NaN loss. */
double larch_softmax_xent(const float *logits, const uint8_t *labels, uint32_t n, uint32_t classes,
                          float *dlogits, uint32_t *n_correct);

/* ---- ReLU -> conv (k, stride, pad (k-1)/2) -> batch norm, the op of NAS-Bench-201 ---- */
typedef struct larch_relu_conv_bn {
    larch_conv2d conv;
    larch_batchnorm bn;
    float *relu_out; /* private: ReLU(x) [max_batch, c_in, h, w] where it runs unfused, else NULL */
    float *conv_out; /* private: [max_batch, c_out, h_out, w_out] */
} larch_relu_conv_bn;

int larch_relu_conv_bn_init(larch_relu_conv_bn *rcb, uint32_t c_in, uint32_t c_out, uint32_t k,
                            uint32_t stride, uint32_t h, uint32_t w, uint32_t max_batch,
                            larch_rng *rng, larch_error *err);
void larch_relu_conv_bn_release(larch_relu_conv_bn *rcb);
void larch_relu_conv_bn_forward(larch_relu_conv_bn *rcb, const float *x, float *y, uint32_t n,
                                int training);
/* Once per training forward on the same x: it reuses conv_out as scratch. */
void larch_relu_conv_bn_backward(larch_relu_conv_bn *rcb, const float *x, const float *dy,
                                 float *dx, uint32_t n);
/* Writes its 3 parameters (conv weight; bn gamma, beta with LARCH_PARAM_NO_DECAY) into out[0..2];
 * returns 3. */
uint32_t larch_relu_conv_bn_params(larch_relu_conv_bn *rcb, larch_param *out);

/* ---- conv (k, stride, pad (k-1)/2) -> batch norm, with optional ReLUs, as one fused layer ----
 * The convolution and the batch norm run image by image across the thread pool with the batch
 * statistics reduced in image order (so they do not depend on the thread count); xhat is
 * recomputed from the saved convolution output instead of stored. */
enum {
    LARCH_CONV_BN_RELU_IN = 1u << 0, /* ReLU on the input, before the convolution */
    LARCH_CONV_BN_RELU_OUT = 1u << 1 /* ReLU on the output, after the batch norm */
};

typedef struct larch_conv_bn {
    larch_conv2d conv;
    larch_batchnorm bn;
    uint32_t flags;
    float *conv_out; /* private: [max_batch, c_out, h_out, w_out] */
    float *relu_out; /* private: ReLU(x) where the layer runs unfused, else NULL */
} larch_conv_bn;

int larch_conv_bn_init(larch_conv_bn *cb, uint32_t c_in, uint32_t c_out, uint32_t k,
                       uint32_t stride, uint32_t h, uint32_t w, uint32_t max_batch, uint32_t flags,
                       larch_rng *rng, larch_error *err);
void larch_conv_bn_release(larch_conv_bn *cb);
/* y must not alias x. */
void larch_conv_bn_forward(larch_conv_bn *cb, const float *x, float *y, uint32_t n, int training);
/* After a training forward of the same x: y is that forward's output (read only with
 * LARCH_CONV_BN_RELU_OUT, may then not be NULL), dy is not modified, dx (may be NULL) must not
 * alias x, y or dy. */
void larch_conv_bn_backward(larch_conv_bn *cb, const float *x, const float *y, const float *dy,
                            float *dx, uint32_t n);
/* Writes its 3 parameters (conv weight; bn gamma, beta with LARCH_PARAM_NO_DECAY) into out[0..2];
 * returns 3. */
uint32_t larch_conv_bn_params(larch_conv_bn *cb, larch_param *out);

#ifdef __cplusplus
}
#endif
#endif
