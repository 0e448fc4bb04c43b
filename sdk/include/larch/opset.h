/* The operator-set interface: ops, and layers built for one (C_in, C_out, stride, H, W). */
#ifndef LARCH_OPSET_H
#define LARCH_OPSET_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Op flags let the network assembler skip work it can do better itself. */
enum {
    LARCH_OP_ZERO = 1u << 0,     /* output is all zeros: the edge is cut */
    LARCH_OP_IDENTITY = 1u << 1, /* output equals input when stride 1 and C_in == C_out */
    LARCH_OP_PARAMETRIC = 1u << 2
};

typedef struct larch_op_info {
    const char *name; /* e.g. "conv3x3"; unique within the op set */
    uint32_t flags;
} larch_op_info;

typedef struct larch_layer_shape {
    uint32_t c_in, c_out;
    uint32_t stride;    /* 1 or 2 */
    uint32_t h, w;      /* input height and width */
    uint32_t max_batch; /* forward/backward never see more images than this */
} larch_layer_shape;

/* Parameter flags. */
enum { LARCH_PARAM_NO_DECAY = 1u << 0 /* e.g. batch-norm scale and shift */ };

/* One trainable tensor and its gradient; both owned by the layer. */
typedef struct larch_param {
    float *value;
    float *grad; /* accumulated by backward; the trainer zeroes it */
    size_t count;
    uint32_t flags;
} larch_param;

typedef struct larch_layer larch_layer;

/* Tensors are float32 NCHW, contiguous. x: [n, c_in, h, w]; y, dy: [n, c_out, h_out, w_out].
 * forward: computes y for n <= max_batch images; training=1 uses batch statistics and keeps what
 *   backward needs, training=0 uses running statistics.
 * backward: after a training forward on the same x, writes dx (overwriting; dx may be NULL when
 *   the input gradient is not needed) and adds parameter gradients into params[i].grad.
 * destroy: frees the layer and everything it owns. */
typedef struct larch_layer_ops {
    uint32_t struct_size;
    void (*forward)(larch_layer *layer, const float *x, float *y, uint32_t n, int training);
    void (*backward)(larch_layer *layer, const float *x, const float *dy, float *dx, uint32_t n);
    void (*destroy)(larch_layer *layer);
} larch_layer_ops;

struct larch_layer {
    uint32_t struct_size;
    const larch_layer_ops *ops;
    larch_layer_shape shape;
    uint32_t h_out, w_out;
    uint64_t flops; /* multiply-adds of one forward pass of one image */
    uint32_t n_params;
    larch_param *params;
    void *impl; /* the op set's own state */
};

/* layer_new: builds op `op` (index into ops) for shape; initialises weights from rng. On success
 *   sets *out (owned by the caller, freed with (*out)->ops->destroy). On error returns negative
 *   (LARCH_EINVAL for an unsupported shape, LARCH_ENOMEM) with a message, and *out is untouched. */
typedef struct larch_opset_vtable {
    uint32_t struct_size;
    uint32_t n_ops;
    const larch_op_info *ops;
    int (*layer_new)(uint32_t op, const larch_layer_shape *shape, larch_rng *rng, larch_layer **out,
                     larch_error *err);
} larch_opset_vtable;

#ifdef __cplusplus
}
#endif
#endif
