/* The trainer's internal building block: a module maps one activation tensor to another, owns its
 * output and output-gradient buffers, and exposes its parameters. Networks are chains of modules.
 * Private to the trainer. */
#ifndef TRAINER_MODULE_H
#define TRAINER_MODULE_H

#include <stdint.h>

#include <larch/nn.h>
#include <larch/opset.h>
#include <larch/space.h>
#include <larch/status.h>

typedef struct trainer_module trainer_module;

/* forward: reads x ([n][c_in][h_in][w_in]) and writes m->y.
 * backward: after a training forward on the same x, reads m->dy (and may overwrite it), adds
 *   parameter gradients and writes dx (overwriting; NULL when the input gradient is not needed).
 * params: writes the module's parameters into out (when not NULL) and returns how many.
 * destroy: releases what the concrete module owns beyond the base (y, dy and the struct itself are
 *   freed by trainer_module_free); safe on a partly built, zeroed module. */
typedef struct trainer_module_ops {
    void (*forward)(trainer_module *m, const float *x, uint32_t n, int training);
    void (*backward)(trainer_module *m, const float *x, float *dx, uint32_t n);
    uint32_t (*params)(trainer_module *m, larch_param *out);
    void (*destroy)(trainer_module *m);
} trainer_module_ops;

/* Every concrete module embeds this as its first member. */
struct trainer_module {
    const trainer_module_ops *ops;
    uint32_t c, h, w; /* output shape of one image */
    float *y, *dy;    /* [max_batch][c][h][w], owned */
    uint64_t flops;   /* multiply-adds per image */
};

/* Input shape of a module under construction. */
typedef struct trainer_module_shape {
    uint32_t c, h, w, max_batch;
} trainer_module_shape;

/* conv k x k (stride, pad (k-1)/2) -> BN, then ReLU when relu is set: the stem and the reference
 * net's layers. */
int trainer_module_conv_bn_new(const trainer_module_shape *in, uint32_t c_out, uint32_t k,
                               uint32_t stride, int relu, larch_rng *rng, trainer_module **out,
                               larch_error *err);

/* NAS-Bench-201's ResNetBasicblock at stride 2: ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, plus the
 * shortcut avgpool 2x2/2 -> conv1x1. */
int trainer_module_reduction_new(const trainer_module_shape *in, uint32_t c_out, larch_rng *rng,
                                 trainer_module **out, larch_error *err);

/* [BN -> ReLU ->] global average pool -> linear to classes. */
int trainer_module_head_new(const trainer_module_shape *in, int bn_relu, uint32_t classes,
                            larch_rng *rng, trainer_module **out, larch_error *err);

/* One NAS-Bench-201 cell of `nodes` nodes at the input's channels and size; ops[e] is the op of
 * edge e in decision order (j then i). */
int trainer_module_cell_new(const trainer_module_shape *in, uint32_t nodes,
                            const larch_opset_vtable *opset, const uint8_t *ops, larch_rng *rng,
                            trainer_module **out, larch_error *err);

/* Frees m (NULL is fine). */
void trainer_module_free(trainer_module *m);

/* Allocates m->y and m->dy for max_batch images of shape c x h x w and sets the output shape. */
int trainer_module_alloc_output(trainer_module *m, uint32_t c, uint32_t h, uint32_t w,
                                uint32_t max_batch, larch_error *err);

#endif
