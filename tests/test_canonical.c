/* Canonical forms of cell architectures: NATS-Bench's count for NAS-Bench-201, and dead-edge and
 * isomorphism cases worked out by hand. */
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

#include "canonical.h"
#include "network.h"
#include "test_util.h"

enum { NONE, SKIP, CONV1, CONV3, POOL };

static const larch_opset_vtable *nb201(void)
{
    const larch_opset_vtable *ops = tu_nb201();
    cr_assert_str_eq(ops->ops[SKIP].name, "skip_connect");
    return ops;
}

/* The key of a cell of `nodes` nodes whose edges (1<-0, 2<-0, 2<-1, 3<-0, ...) are ops. */
static const char *key_of(uint32_t nodes, const uint8_t *ops)
{
    static char key[16][TRAINER_CANONICAL_KEY_SIZE];
    static int next;
    char *out = key[next++ % 16];
    trainer_cell_config cfg = {.nodes = nodes, .channels = 4, .cells_per_stage = 1};
    larch_arch arch = {.n = nodes * (nodes - 1) / 2};
    memcpy(arch.choice, ops, arch.n);
    larch_error err = {0};
    cr_assert_eq(trainer_cell_canonical(&cfg, nb201(), &arch, out, &err), LARCH_OK, "%s",
                 err.message);
    return out;
}

Test(canonical, nb201_has_6466_classes_like_nats_bench)
{
    trainer_cell_config cfg = {.nodes = 4, .channels = 16, .cells_per_stage = 1};
    uint32_t *to_class = NULL, n_classes = 0;
    uint64_t *rep = NULL, n_archs = 0;
    larch_error err = {0};
    cr_assert_eq(trainer_cell_classes(&cfg, nb201(), &to_class, &rep, &n_classes, &n_archs, &err),
                 LARCH_OK, "%s", err.message);
    cr_assert_eq(n_archs, 15625);
    cr_assert_eq(n_classes, 6466);
    /* Representatives: the first member of their class, increasing, each mapping to itself. */
    for (uint32_t c = 0; c < n_classes; c++) {
        cr_assert_eq(to_class[rep[c]], c);
        if (c > 0)
            cr_assert_gt(rep[c], rep[c - 1]);
    }
    for (uint64_t i = 0; i < n_archs; i++)
        cr_assert_geq(i, rep[to_class[i]], "arch %llu comes before its representative",
                      (unsigned long long)i);
    /* The classes agree with trainer_cell_canonical, arch by arch. */
    larch_space space;
    cr_assert_eq(trainer_cell_space(&cfg, nb201(), &space, &err), LARCH_OK);
    char a[TRAINER_CANONICAL_KEY_SIZE], b[TRAINER_CANONICAL_KEY_SIZE];
    for (uint64_t i = 0; i < n_archs; i += 97) {
        larch_arch x, r;
        cr_assert_eq(larch_arch_from_index(&space, i, &x), LARCH_OK);
        cr_assert_eq(larch_arch_from_index(&space, rep[to_class[i]], &r), LARCH_OK);
        cr_assert_eq(trainer_cell_canonical(&cfg, nb201(), &x, a, &err), LARCH_OK);
        cr_assert_eq(trainer_cell_canonical(&cfg, nb201(), &r, b, &err), LARCH_OK);
        cr_assert_str_eq(a, b);
    }
    free(to_class);
    free(rep);
}

Test(canonical, small_cells)
{
    trainer_cell_config cfg = {.nodes = 2, .channels = 4, .cells_per_stage = 1};
    uint32_t *to_class = NULL, n_classes = 0;
    uint64_t *rep = NULL, n_archs = 0;
    larch_error err = {0};
    cr_assert_eq(trainer_cell_classes(&cfg, nb201(), &to_class, &rep, &n_classes, &n_archs, &err),
                 LARCH_OK);
    /* One edge: every op is its own function. */
    cr_assert_eq(n_archs, 5);
    cr_assert_eq(n_classes, 5);
    free(to_class);
    free(rep);
    cfg.nodes = 3;
    cr_assert_eq(trainer_cell_classes(&cfg, nb201(), &to_class, &rep, &n_classes, &n_archs, &err),
                 LARCH_OK);
    cr_assert_eq(n_archs, 125);
    cr_assert_eq(n_classes, 60);
    free(to_class);
    free(rep);
}

Test(canonical, keys_are_nats_bench_strings)
{
    cr_assert_str_eq(key_of(2, (uint8_t[]){CONV3}), "(0)@nor_conv_3x3");
    cr_assert_str_eq(key_of(2, (uint8_t[]){SKIP}), "0");
    cr_assert_str_eq(key_of(2, (uint8_t[]){NONE}), "#");
    cr_assert_str_eq(key_of(3, (uint8_t[]){CONV3, POOL, CONV1}),
                     "((0)@nor_conv_3x3)@nor_conv_1x1+(0)@avg_pool_3x3");
}

Test(canonical, dead_edges_do_not_count)
{
    /* Node 1 has no input (1<-0 is none): whatever 2<-1 is, it adds zero. */
    const char *cut = key_of(3, (uint8_t[]){NONE, CONV3, NONE});
    cr_assert_str_eq(key_of(3, (uint8_t[]){NONE, CONV3, CONV1}), cut);
    cr_assert_str_eq(key_of(3, (uint8_t[]){NONE, CONV3, POOL}), cut);
    cr_assert_str_eq(key_of(3, (uint8_t[]){NONE, CONV3, SKIP}), cut);
    /* Node 1 computes something but nothing reads it: edge 1<-0 is dead. */
    cr_assert_str_eq(key_of(3, (uint8_t[]){CONV1, CONV3, NONE}), cut);
    cr_assert_str_eq(key_of(3, (uint8_t[]){POOL, CONV3, NONE}), cut);
    /* In a 4-node cell: node 2 unused (3<-2 none) makes 2<-0 and 2<-1 dead. */
    const char *a = key_of(4, (uint8_t[]){CONV3, CONV1, CONV1, CONV3, POOL, NONE});
    cr_assert_str_eq(key_of(4, (uint8_t[]){CONV3, POOL, SKIP, CONV3, POOL, NONE}), a);
    cr_assert_str_eq(key_of(4, (uint8_t[]){CONV3, NONE, NONE, CONV3, POOL, NONE}), a);
    /* A live edge does count. */
    cr_assert_str_neq(key_of(3, (uint8_t[]){CONV1, CONV3, CONV1}), cut);
}

Test(canonical, isomorphic_cells_are_equal)
{
    /* node2 = conv1(in) + node1 with node1 = conv3(in), versus the two ops swapped. */
    const char *a = key_of(3, (uint8_t[]){CONV3, CONV1, SKIP});
    cr_assert_str_eq(key_of(3, (uint8_t[]){CONV1, CONV3, SKIP}), a);
    cr_assert_str_eq(a, "(0)@nor_conv_1x1+(0)@nor_conv_3x3");
    /* skip passes its input through: none + skip(in) == none(node1) + skip(node1 = skip(in)). */
    cr_assert_str_eq(key_of(3, (uint8_t[]){NONE, SKIP, NONE}),
                     key_of(3, (uint8_t[]){SKIP, NONE, SKIP}));
    /* Different functions stay apart. */
    cr_assert_str_neq(key_of(3, (uint8_t[]){CONV3, CONV1, CONV1}), a);
    cr_assert_str_neq(key_of(3, (uint8_t[]){CONV3, CONV3, SKIP}), a);
    /* Order of summands does not matter, order of composition does. */
    cr_assert_str_neq(key_of(3, (uint8_t[]){CONV3, NONE, CONV1}),
                      key_of(3, (uint8_t[]){CONV1, NONE, CONV3}));
}

Test(canonical, refuses_what_is_not_a_cell)
{
    trainer_cell_config cfg = {.nodes = 3, .channels = 4, .cells_per_stage = 1};
    larch_arch arch = {.n = 2};
    char key[TRAINER_CANONICAL_KEY_SIZE];
    larch_error err = {0};
    cr_assert_eq(trainer_cell_canonical(&cfg, nb201(), &arch, key, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "3 edges"), "%s", err.message);
    arch.n = 3;
    arch.choice[1] = 5;
    cr_assert_eq(trainer_cell_canonical(&cfg, nb201(), &arch, key, &err), LARCH_ERANGE);
    cfg.nodes = TRAINER_MAX_NODES + 1;
    cr_assert_eq(trainer_cell_canonical(&cfg, nb201(), &arch, key, &err), LARCH_ERANGE);
    /* 5^28 cells of 8 nodes: too many to map. */
    cfg.nodes = 8;
    uint32_t *to_class = NULL, n_classes = 0;
    uint64_t *rep = NULL, n_archs = 0;
    cr_assert_eq(trainer_cell_classes(&cfg, nb201(), &to_class, &rep, &n_classes, &n_archs, &err),
                 LARCH_ERANGE);
    cr_assert_null(to_class);
    cr_assert(strstr(err.message, "5^28"), "%s", err.message);
}

Test(canonical, longest_key_fits)
{
    /* Every edge a conv in an 8-node cell: the longest key over nb201's op names. */
    uint8_t ops[28];
    memset(ops, CONV3, sizeof ops);
    const char *k = key_of(8, ops);
    cr_assert_gt(strlen(k), 1000);
    cr_assert_lt(strlen(k), TRAINER_CANONICAL_KEY_SIZE);
}
