/* Private to the SDK: the direct-convolution engine behind larch_conv2d and the fused conv-BN
 * layers, the convolution's private state, and the batch-norm steps they share. Not part of the
 * public headers. */
#ifndef LARCH_SDK_NN_INTERNAL_H
#define LARCH_SDK_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "larch/nn.h"

/* ---- the direct engine (conv_direct.c) ----
 * A "same" convolution at stride 1, or a stride-2 one on even sizes (split into even/odd phase
 * sub-images), computed without im2col: the kernels read the input at each tap's shift under a
 * lane mask that zeroes the padding. Images go in groups of G so that a group's output positions
 * fill whole 16-float vectors. Needs AVX-512F at run time. The pass functions work on images
 * [i0, i1) and are called from the tasks of a parallel run, each with its task's scratch. */
typedef struct conv_direct conv_direct;

/* A plan for conv, or NULL when the engine does not cover the shape or the CPU, or when the
 * environment variable LARCH_NN_GENERIC is set (to anything but "" or "0"): the caller then uses
 * im2col + sgemm. *out_of_memory tells a NULL due to an allocation failure. */
conv_direct *conv_direct_new(const larch_conv2d *conv, int *out_of_memory);
void conv_direct_free(conv_direct *plan);

/* Floats of per-task scratch the passes need (larch_parallel_reserve). */
size_t conv_direct_scratch_floats(const conv_direct *plan);

/* Packs the current weights for the forward pass, or (backward set) for the input gradient.
 * Once per pass that needs them, before its tasks run. */
void conv_direct_pack_weights(conv_direct *plan, const float *weight, int backward);

/* out = conv(relu(x)) when relu_in, else conv(x). When stats is not NULL, stats[2 * (i * c_out
 * + m)] and the next receive, for image i and channel m, the sum of the outputs and the sum of
 * their squared deviations from that image's own mean. */
void conv_direct_forward(const conv_direct *plan, const float *x, float *out, uint32_t i0,
                         uint32_t i1, int relu_in, double *stats, float *scratch);

/* y = a[m] * z + b[m] per channel m, then max(0, .) when relu; y may alias z. */
void conv_direct_affine(const conv_direct *plan, const float *z, float *y, const float *a,
                        const float *b, int relu, uint32_t i0, uint32_t i1);

/* For image i, channel m: sums[2 * (i * c_out + m)] = sum of g and the next = sum of
 * g * (z - mean[m]), where g = dy, or, when mask_a is not NULL, dy where
 * mask_a[m] * z + mask_b[m] > 0 (the forward's ReLU: the same FMA gives the same bits) else 0. */
void conv_direct_grad_sums(const conv_direct *plan, const float *dy, const float *z,
                           const float *mean, const float *mask_a, const float *mask_b, uint32_t i0,
                           uint32_t i1, double *sums);

/* What the backward pass differentiates: the convolution's output gradient is
 * a[m] * g + b[m] * z + c[m] (a == NULL: g), g as for conv_direct_grad_sums. */
typedef struct conv_direct_grad {
    const float *dy, *z;
    const float *a, *b, *c;
    const float *mask_a, *mask_b;
} conv_direct_grad;

/* Adds the weight gradient into wgrad_part (the plan's blocked layout, conv_direct_wgrad_floats
 * floats) and, when dx is not NULL, writes the input gradient, masked by x > 0 when relu_in. */
void conv_direct_backward(const conv_direct *plan, const float *x, const conv_direct_grad *grad,
                          float *wgrad_part, float *dx, uint32_t i0, uint32_t i1, int relu_in,
                          float *scratch);

/* Floats of a blocked weight-gradient buffer. */
size_t conv_direct_wgrad_floats(const conv_direct *plan);
/* wgrad ([c_out][c_in][k][k]) += parts[0], += parts[1], ... (buffers part_stride apart), for task
 * `task` of n_tasks's share of the output channels: the sums do not depend on n_tasks. */
void conv_direct_wgrad_add(const conv_direct *plan, const float *parts, uint32_t n_parts,
                           size_t part_stride, float *wgrad, uint32_t task, uint32_t n_tasks);

/* ---- the convolution's private state (conv.c), larch_conv2d.scratch ---- */
typedef struct conv_state {
    uint32_t n_tasks;    /* threads in force at init: tasks a pass may use */
    conv_direct *direct; /* NULL: im2col + sgemm */
    size_t col_count;    /* im2col path: floats in one column matrix; 0 if the input is one */
    float *col;          /* im2col path: [n_tasks][col_count] */
    float *wgrad_part;   /* im2col: [n_tasks - 1][weight count], weight-gradient sums of tasks 1..;
                          * direct: [n_tasks][conv_direct_wgrad_floats], blocked, of every task */
    double *bn_sums;     /* fused batch norm: per-image sums [max_batch][c_out][2] */
    float *bn_coef;      /* fused batch norm, [c_out] each: training scale and shift, evaluation
                          * scale and shift, backward a, b, c */
} conv_state;

/* Allocates the fused batch norm's buffers of conv's state; LARCH_OK or LARCH_ENOMEM. */
int conv_state_reserve_bn(larch_conv2d *conv);

/* Tasks a pass over n images uses. */
uint32_t conv_task_count(const larch_conv2d *conv, uint32_t n);
/* Where task t adds its weight gradient: weight_grad itself for task 0 of the im2col path, else a
 * partial buffer, zeroed here. */
float *conv_wgrad_target(larch_conv2d *conv, uint32_t task);
/* Adds the partial weight gradients into weight_grad in task order. */
void conv_wgrad_reduce(larch_conv2d *conv, uint32_t n_tasks);

/* ---- batch-norm steps (batchnorm.c) ---- */

/* larch_batchnorm_init without the xhat buffer, for fused layers that keep the convolution output
 * instead (larch_batchnorm_forward and _backward must not be called on it). */
int batchnorm_init_fused(larch_batchnorm *bn, uint32_t c, uint32_t hw, uint32_t max_batch,
                         larch_error *err);

/* Combines per-image statistics (as conv_direct_forward writes them), in image order so the
 * result does not depend on the thread count, into bn->mean and bn->inv_std, and moves the
 * running statistics. */
void batchnorm_finish_stats(larch_batchnorm *bn, const double *stats, uint32_t n);

/* Combines per-image gradient sums (conv_direct_grad_sums) in image order, adds the gamma and beta
 * gradients, and writes the coefficients of the input gradient: coef[0..c) = a, [c..2c) = b,
 * [2c..3c) = c with dz = a * g + b * z + c. */
void batchnorm_finish_grad(larch_batchnorm *bn, const double *sums, uint32_t n, float *coef);

#endif
