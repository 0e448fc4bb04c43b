/* Canonical form of cell architectures: which architectures of the cell space compute the same
 * function up to weights, so a table trains each class once.
 *
 * The key is NATS-Bench's unique string (xautodl CellStructure.to_unique_str(consider_zero=True)),
 * so a table over nb201 deduplicates the 15,625 NAS-Bench-201 cells to the same 6,466 classes as
 * NATS-Bench: node 0 is "0"; an edge with a ZERO op (none), or whose source node is "#", is the
 * term "#"; an IDENTITY op (skip_connect) passes its source's string through unchanged (skip(x)
 * is x); any other op is "(" source ")@" op-name; a node is its terms sorted (byte order) and
 * joined by "+"; the key is the output node's string. Equal keys denote the same sum of the same
 * terms, so every merge is sound. Edges that cannot influence the output count as none (their
 * source is "#") or are not reached at all (their target does not reach the output). The string is
 * not a full normal form (a "#" term is kept, and a passed-through sum is not re-sorted with its
 * siblings), so a few equivalent cells stay apart (flattening sums gives 5,755 classes, also
 * dropping zero terms 4,930); we keep NATS-Bench's rule so tables and published NAS-Bench-201
 * results deduplicate alike. */
#ifndef TRAINER_CANONICAL_H
#define TRAINER_CANONICAL_H

#include <stddef.h>
#include <stdint.h>

#include <larch/opset.h>
#include <larch/space.h>
#include <larch/status.h>

#include "network.h"

/* Enough for any key of a cell of TRAINER_MAX_NODES nodes with op names of up to
 * LARCH_LABEL_SIZE - 1 bytes (the longest is 4,445 bytes + NUL). */
#define TRAINER_CANONICAL_KEY_SIZE 8192
/* Largest cell space trainer_cell_classes maps (it keeps one uint32 per architecture). */
#define TRAINER_CANONICAL_MAX_ARCHS (1u << 26)

/* The canonical key of arch, a cell of config->nodes nodes over opset, into key (which must hold
 * TRAINER_CANONICAL_KEY_SIZE bytes): equal keys <=> the same class. LARCH_EINVAL / LARCH_ERANGE
 * if arch is not a cell of that shape, LARCH_ENOMEM. */
int trainer_cell_canonical(const trainer_cell_config *config, const larch_opset_vtable *opset,
                           const larch_arch *arch, char *key, larch_error *err);

/* The equivalence classes of the whole cell space (trainer_cell_space's decisions, arch index =
 * larch_arch_from_index's mixed-radix order). Classes are numbered in the order of their first
 * member, which is their representative: representative[c] is the index of class c's first arch
 * (increasing in c). On success *arch_to_class (space size entries) and *representative
 * (*n_classes entries) are malloc'd and owned by the caller (free()); on error they are
 * untouched: LARCH_ERANGE for a space larger than TRAINER_CANONICAL_MAX_ARCHS, LARCH_ENOMEM. */
int trainer_cell_classes(const trainer_cell_config *config, const larch_opset_vtable *opset,
                         uint32_t **arch_to_class, uint64_t **representative, uint32_t *n_classes,
                         uint64_t *n_archs, larch_error *err);

#endif
