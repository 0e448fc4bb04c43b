/* Locks the v1 ABI layout on LP64 (x86-64, AArch64 Linux and macOS): every struct that crosses
 * the plugin boundary has the size and field offsets below, checked at compile time wherever
 * <larch/larch.h> is included. A failing assert here means the ABI changed. Growing a struct is
 * allowed only by appending fields (update the numbers and bump LARCH_ABI_MINOR); any other
 * change of size, offset or meaning needs a new LARCH_ABI_MAJOR. */
#ifndef LARCH_ABI_LAYOUT_H
#define LARCH_ABI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "host.h"
#include "opset.h"
#include "space.h"
#include "strategy.h"

#if UINTPTR_MAX == 0xffffffffffffffffu

#ifdef __cplusplus
#define LARCH_LAYOUT_ASSERT(cond, what) static_assert(cond, what)
#else
#define LARCH_LAYOUT_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#define LARCH_LAYOUT_SIZE(type, size)                                                              \
    LARCH_LAYOUT_ASSERT(sizeof(type) == (size), "ABI v1: sizeof(" #type ") changed")
#define LARCH_LAYOUT_FIELD(type, field, offset)                                                    \
    LARCH_LAYOUT_ASSERT(offsetof(type, field) == (offset),                                         \
                        "ABI v1: offset of " #type "." #field " changed")

LARCH_LAYOUT_SIZE(larch_abi_header, 16);
LARCH_LAYOUT_FIELD(larch_abi_header, magic, 0);
LARCH_LAYOUT_FIELD(larch_abi_header, abi_major, 4);
LARCH_LAYOUT_FIELD(larch_abi_header, abi_minor, 6);
LARCH_LAYOUT_FIELD(larch_abi_header, struct_size, 8);
LARCH_LAYOUT_FIELD(larch_abi_header, build_key, 12);

LARCH_LAYOUT_SIZE(larch_plugin, 72);
LARCH_LAYOUT_FIELD(larch_plugin, abi, 0);
LARCH_LAYOUT_FIELD(larch_plugin, kind, 16);
LARCH_LAYOUT_FIELD(larch_plugin, reserved, 20);
LARCH_LAYOUT_FIELD(larch_plugin, id, 24);
LARCH_LAYOUT_FIELD(larch_plugin, name, 32);
LARCH_LAYOUT_FIELD(larch_plugin, version, 40);
LARCH_LAYOUT_FIELD(larch_plugin, description, 48);
LARCH_LAYOUT_FIELD(larch_plugin, strategy, 56);
LARCH_LAYOUT_FIELD(larch_plugin, opset, 64);

LARCH_LAYOUT_SIZE(larch_host, 72);
LARCH_LAYOUT_FIELD(larch_host, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_host, abi_major, 4);
LARCH_LAYOUT_FIELD(larch_host, abi_minor, 6);
LARCH_LAYOUT_FIELD(larch_host, ctx, 8);
LARCH_LAYOUT_FIELD(larch_host, log, 16);
LARCH_LAYOUT_FIELD(larch_host, get_int, 24);
LARCH_LAYOUT_FIELD(larch_host, get_float, 32);
LARCH_LAYOUT_FIELD(larch_host, get_bool, 40);
LARCH_LAYOUT_FIELD(larch_host, get_string, 48);
LARCH_LAYOUT_FIELD(larch_host, alloc, 56);
LARCH_LAYOUT_FIELD(larch_host, free, 64);

LARCH_LAYOUT_SIZE(larch_decision, 40);
LARCH_LAYOUT_FIELD(larch_decision, kind, 0);
LARCH_LAYOUT_FIELD(larch_decision, n_choices, 4);
LARCH_LAYOUT_FIELD(larch_decision, label, 8);

LARCH_LAYOUT_SIZE(larch_space, 3116);
LARCH_LAYOUT_FIELD(larch_space, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_space, n_decisions, 4);
LARCH_LAYOUT_FIELD(larch_space, name, 8);
LARCH_LAYOUT_FIELD(larch_space, decisions, 40);
LARCH_LAYOUT_FIELD(larch_space, n_ops, 2600);
LARCH_LAYOUT_FIELD(larch_space, op_names, 2604);

LARCH_LAYOUT_SIZE(larch_arch, 68);
LARCH_LAYOUT_FIELD(larch_arch, n, 0);
LARCH_LAYOUT_FIELD(larch_arch, choice, 4);

LARCH_LAYOUT_SIZE(larch_result, 56);
LARCH_LAYOUT_FIELD(larch_result, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_result, status, 4);
LARCH_LAYOUT_FIELD(larch_result, score, 8);
LARCH_LAYOUT_FIELD(larch_result, val_accuracy, 16);
LARCH_LAYOUT_FIELD(larch_result, params, 24);
LARCH_LAYOUT_FIELD(larch_result, flops, 32);
LARCH_LAYOUT_FIELD(larch_result, latency_ms, 40);
LARCH_LAYOUT_FIELD(larch_result, cost_seconds, 48);

LARCH_LAYOUT_SIZE(larch_strategy_vtable, 56);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, create, 8);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, ask, 16);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, tell, 24);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, save, 32);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, load, 40);
LARCH_LAYOUT_FIELD(larch_strategy_vtable, destroy, 48);

LARCH_LAYOUT_SIZE(larch_op_info, 16);
LARCH_LAYOUT_FIELD(larch_op_info, name, 0);
LARCH_LAYOUT_FIELD(larch_op_info, flags, 8);

LARCH_LAYOUT_SIZE(larch_layer_shape, 24);
LARCH_LAYOUT_FIELD(larch_layer_shape, c_in, 0);
LARCH_LAYOUT_FIELD(larch_layer_shape, c_out, 4);
LARCH_LAYOUT_FIELD(larch_layer_shape, stride, 8);
LARCH_LAYOUT_FIELD(larch_layer_shape, h, 12);
LARCH_LAYOUT_FIELD(larch_layer_shape, w, 16);
LARCH_LAYOUT_FIELD(larch_layer_shape, max_batch, 20);

LARCH_LAYOUT_SIZE(larch_param, 32);
LARCH_LAYOUT_FIELD(larch_param, value, 0);
LARCH_LAYOUT_FIELD(larch_param, grad, 8);
LARCH_LAYOUT_FIELD(larch_param, count, 16);
LARCH_LAYOUT_FIELD(larch_param, flags, 24);

LARCH_LAYOUT_SIZE(larch_layer_ops, 32);
LARCH_LAYOUT_FIELD(larch_layer_ops, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_layer_ops, forward, 8);
LARCH_LAYOUT_FIELD(larch_layer_ops, backward, 16);
LARCH_LAYOUT_FIELD(larch_layer_ops, destroy, 24);

LARCH_LAYOUT_SIZE(larch_layer, 80);
LARCH_LAYOUT_FIELD(larch_layer, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_layer, ops, 8);
LARCH_LAYOUT_FIELD(larch_layer, shape, 16);
LARCH_LAYOUT_FIELD(larch_layer, h_out, 40);
LARCH_LAYOUT_FIELD(larch_layer, w_out, 44);
LARCH_LAYOUT_FIELD(larch_layer, flops, 48);
LARCH_LAYOUT_FIELD(larch_layer, n_params, 56);
LARCH_LAYOUT_FIELD(larch_layer, params, 64);
LARCH_LAYOUT_FIELD(larch_layer, impl, 72);

LARCH_LAYOUT_SIZE(larch_opset_vtable, 24);
LARCH_LAYOUT_FIELD(larch_opset_vtable, struct_size, 0);
LARCH_LAYOUT_FIELD(larch_opset_vtable, n_ops, 4);
LARCH_LAYOUT_FIELD(larch_opset_vtable, ops, 8);
LARCH_LAYOUT_FIELD(larch_opset_vtable, layer_new, 16);

#undef LARCH_LAYOUT_FIELD
#undef LARCH_LAYOUT_SIZE
#undef LARCH_LAYOUT_ASSERT

#endif /* LP64 */
#endif
