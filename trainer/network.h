/* Networks the trainer trains: the NAS-Bench-201-style cell network decoded from an
 * architecture, and the fixed reference network used by benchmarks. */
#ifndef TRAINER_NETWORK_H
#define TRAINER_NETWORK_H

#include <stdint.h>

#include <larch/opset.h>
#include <larch/space.h>
#include <larch/status.h>

#define TRAINER_MAX_NODES 8

typedef struct trainer_cell_config {
    uint32_t nodes;           /* nodes per cell incl. the input node, 2..TRAINER_MAX_NODES */
    uint32_t channels;        /* C of the first stage */
    uint32_t cells_per_stage; /* >= 1 */
} trainer_cell_config;

/* Describes the cell space: one OP decision per edge j<-i (i < j), ordered by j then i
 * (NAS-Bench-201's order), each with opset->n_ops choices, labels "edge j<-i". */
int trainer_cell_space(const trainer_cell_config *config, const larch_opset_vtable *opset,
                       larch_space *space, larch_error *err);

typedef struct trainer_network trainer_network;

typedef struct trainer_input_shape {
    uint32_t c, h, w, classes;
    uint32_t max_batch;
} trainer_input_shape;

/* Decodes arch into the skeleton stem conv3x3(C)+BN; cells; residual reduction (stride 2, 2C);
 * cells; reduction (4C); cells; BN-ReLU; global average pool; linear. Weights are initialised
 * from seed. On success *out is owned by the caller (trainer_network_free). */
int trainer_network_new_cell(const trainer_cell_config *config, const larch_opset_vtable *opset,
                             const larch_arch *arch, const trainer_input_shape *input,
                             uint64_t seed, trainer_network **out, larch_error *err);

/* The benchmark reference net: conv3x3 c->16, BN, ReLU; conv3x3 16->32 s2, BN, ReLU;
 * conv3x3 32->32, BN, ReLU; conv3x3 32->64 s2, BN, ReLU; global average pool;
 * linear 64->classes. On success *out is owned by the caller (trainer_network_free). */
int trainer_network_new_reference(const trainer_input_shape *input, uint64_t seed,
                                  trainer_network **out, larch_error *err);

void trainer_network_free(trainer_network *net);

uint64_t trainer_network_params(const trainer_network *net);
/* Multiply-adds of one forward pass of one image. */
uint64_t trainer_network_flops(const trainer_network *net);

/* The input shape net was built for (owned by net). */
const trainer_input_shape *trainer_network_input(const trainer_network *net);

/* Runs n <= max_batch images x ([n][c][h][w], copied, so x may change afterwards). training=1
 * uses batch statistics and keeps what backward needs. Returns the logits [n][classes], owned by
 * net and valid until the next forward. Never allocates. */
const float *trainer_network_forward(trainer_network *net, const float *x, uint32_t n,
                                     int training);
/* After a training forward of the same n: back-propagates dlogits ([n][classes]) and adds into
 * the parameter gradients (the caller zeroes them). Never allocates. */
void trainer_network_backward(trainer_network *net, const float *dlogits, uint32_t n);

/* The trainable parameters (owned by net, valid for its lifetime); returns their count. */
uint32_t trainer_network_param_list(trainer_network *net, larch_param **params);

#endif
