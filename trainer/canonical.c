/* Canonical keys of cell architectures (dead edges pruned, isomorphic cells merged) and the
 * equivalence classes of a whole cell space. */
#include "canonical.h"

#include <stdlib.h>
#include <string.h>

#define MAX_EDGES (TRAINER_MAX_NODES * (TRAINER_MAX_NODES - 1) / 2)

/* The decision index of edge j <- i (trainer_cell_space's order: by j, then i). */
static uint32_t edge_index(uint32_t j, uint32_t i)
{
    return j * (j - 1) / 2 + i;
}

static int check_cell(const trainer_cell_config *config, const larch_opset_vtable *opset,
                      larch_error *err)
{
    if (config == NULL || opset == NULL || opset->ops == NULL)
        return larch_error_set(err, LARCH_EINVAL, "cell canonical form: NULL argument");
    if (config->nodes < 2 || config->nodes > TRAINER_MAX_NODES)
        return larch_error_set(err, LARCH_ERANGE, "cell nodes %u out of range, expected 2..%d",
                               config->nodes, TRAINER_MAX_NODES);
    if (opset->n_ops < 1 || opset->n_ops > LARCH_MAX_OPS)
        return larch_error_set(err, LARCH_ERANGE, "op set has %u ops, expected 1..%d", opset->n_ops,
                               LARCH_MAX_OPS);
    return LARCH_OK;
}

/* Working memory of one key: a string per node and per term of the node being built. */
typedef struct key_scratch {
    char node[TRAINER_MAX_NODES][TRAINER_CANONICAL_KEY_SIZE];
    char term[TRAINER_MAX_NODES - 1][TRAINER_CANONICAL_KEY_SIZE];
} key_scratch;

/* What the key needs of the op set: per op, ZERO / IDENTITY and the name. */
typedef struct op_kinds {
    uint8_t zero[LARCH_MAX_OPS], identity[LARCH_MAX_OPS];
    const char *name[LARCH_MAX_OPS];
} op_kinds;

static void op_kinds_init(op_kinds *k, const larch_opset_vtable *opset)
{
    for (uint32_t o = 0; o < opset->n_ops; o++) {
        k->zero[o] = (opset->ops[o].flags & LARCH_OP_ZERO) != 0;
        k->identity[o] = !k->zero[o] && (opset->ops[o].flags & LARCH_OP_IDENTITY) != 0;
        k->name[o] = opset->ops[o].name ? opset->ops[o].name : "?";
    }
}

/* snprintf-style append: returns 0, or -1 when out does not hold it all. */
static int put(char *out, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > TRAINER_CANONICAL_KEY_SIZE)
        return -1;
    memcpy(out + *len, s, n + 1);
    *len += n;
    return 0;
}

/* NATS-Bench's to_unique_str(consider_zero=True) of a cell whose choices are valid, into
 * s->node[nodes - 1]; -1 if a string outgrows TRAINER_CANONICAL_KEY_SIZE. */
static int cell_key(uint32_t nodes, const uint8_t *choice, const op_kinds *k, key_scratch *s)
{
    memcpy(s->node[0], "0", 2);
    for (uint32_t j = 1; j < nodes; j++) {
        const char *sorted[TRAINER_MAX_NODES - 1];
        for (uint32_t i = 0; i < j; i++) {
            uint32_t op = choice[edge_index(j, i)];
            const char *in = s->node[i];
            char *t = s->term[i];
            size_t len = 0;
            int failed;
            if (k->zero[op] || !strcmp(in, "#"))
                failed = put(t, &len, "#");
            else if (k->identity[op])
                failed = put(t, &len, in);
            else
                failed = put(t, &len, "(") || put(t, &len, in) || put(t, &len, ")@") ||
                         put(t, &len, k->name[op]);
            if (failed)
                return -1;
            /* Insertion sort: at most TRAINER_MAX_NODES - 1 terms. */
            uint32_t at = i;
            for (; at > 0 && strcmp(t, sorted[at - 1]) < 0; at--)
                sorted[at] = sorted[at - 1];
            sorted[at] = t;
        }
        size_t len = 0;
        s->node[j][0] = '\0';
        for (uint32_t i = 0; i < j; i++)
            if ((i > 0 && put(s->node[j], &len, "+")) || put(s->node[j], &len, sorted[i]))
                return -1;
    }
    return 0;
}

int trainer_cell_canonical(const trainer_cell_config *config, const larch_opset_vtable *opset,
                           const larch_arch *arch, char *key, larch_error *err)
{
    int rc = check_cell(config, opset, err);
    if (rc != LARCH_OK)
        return rc;
    if (arch == NULL || key == NULL)
        return larch_error_set(err, LARCH_EINVAL, "cell canonical form: NULL argument");
    uint32_t n_edges = edge_index(config->nodes, 0);
    if (arch->n != n_edges)
        return larch_error_set(err, LARCH_EINVAL,
                               "arch has %u decisions, a cell of %u nodes has %u edges", arch->n,
                               config->nodes, n_edges);
    for (uint32_t e = 0; e < n_edges; e++)
        if (arch->choice[e] >= opset->n_ops)
            return larch_error_set(err, LARCH_ERANGE, "arch decision %u is op %u, expected < %u", e,
                                   arch->choice[e], opset->n_ops);
    key_scratch *s = malloc(sizeof *s);
    if (!s)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory for a canonical key");
    op_kinds kinds;
    op_kinds_init(&kinds, opset);
    if (cell_key(config->nodes, arch->choice, &kinds, s) < 0)
        rc = larch_error_set(err, LARCH_EINTERNAL, "canonical key longer than %d bytes",
                             TRAINER_CANONICAL_KEY_SIZE);
    else
        memcpy(key, s->node[config->nodes - 1], strlen(s->node[config->nodes - 1]) + 1);
    free(s);
    return rc;
}

/* ---- the whole space: an open-addressing map from key to class ---- */

typedef struct class_map {
    uint32_t *slot; /* class + 1; 0 = empty */
    uint64_t *hash; /* of the class's key, per class */
    char **key;     /* per class, malloc'd */
    uint32_t capacity, n;
    uint32_t class_capacity;
} class_map;

static uint64_t key_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

static void map_release(class_map *m)
{
    for (uint32_t c = 0; c < m->n; c++)
        free(m->key[c]);
    free(m->key);
    free(m->hash);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static int map_rehash(class_map *m, uint32_t capacity)
{
    uint32_t *slot = calloc(capacity, sizeof *slot);
    if (!slot)
        return -1;
    for (uint32_t c = 0; c < m->n; c++) {
        uint32_t s = (uint32_t)m->hash[c] & (capacity - 1);
        while (slot[s])
            s = (s + 1) & (capacity - 1);
        slot[s] = c + 1;
    }
    free(m->slot);
    m->slot = slot;
    m->capacity = capacity;
    return 0;
}

/* The class of key, adding a new one if unseen (*is_new = 1). -1 when out of memory. */
static int64_t map_find_or_add(class_map *m, const char *key, int *is_new)
{
    uint64_t h = key_hash(key);
    uint32_t s = (uint32_t)h & (m->capacity - 1);
    for (; m->slot[s]; s = (s + 1) & (m->capacity - 1)) {
        uint32_t c = m->slot[s] - 1;
        if (m->hash[c] == h && !strcmp(m->key[c], key)) {
            *is_new = 0;
            return c;
        }
    }
    if (m->n == m->class_capacity) {
        uint32_t cap = m->class_capacity ? 2 * m->class_capacity : 256;
        uint64_t *hash = realloc(m->hash, cap * sizeof *hash);
        if (!hash)
            return -1;
        m->hash = hash;
        char **keys = realloc(m->key, cap * sizeof *keys);
        if (!keys)
            return -1;
        m->key = keys;
        m->class_capacity = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    uint32_t c = m->n++;
    m->key[c] = copy;
    m->hash[c] = h;
    m->slot[s] = c + 1;
    *is_new = 1;
    /* Keep the load under one half so probes stay short. */
    if (2 * (uint64_t)m->n > m->capacity && map_rehash(m, 2 * m->capacity) < 0)
        return -1;
    return c;
}

int trainer_cell_classes(const trainer_cell_config *config, const larch_opset_vtable *opset,
                         uint32_t **arch_to_class, uint64_t **representative, uint32_t *n_classes,
                         uint64_t *n_archs, larch_error *err)
{
    int rc = check_cell(config, opset, err);
    if (rc != LARCH_OK)
        return rc;
    if (!arch_to_class || !representative || !n_classes || !n_archs)
        return larch_error_set(err, LARCH_EINVAL, "trainer_cell_classes: NULL argument");
    const uint32_t nodes = config->nodes, n_edges = edge_index(nodes, 0);
    uint64_t size = 1;
    for (uint32_t e = 0; e < n_edges; e++) {
        size *= opset->n_ops;
        if (size > TRAINER_CANONICAL_MAX_ARCHS)
            return larch_error_set(err, LARCH_ERANGE,
                                   "a cell of %u nodes over %u ops has %u^%u architectures, more "
                                   "than the %u that can be mapped",
                                   nodes, opset->n_ops, opset->n_ops, n_edges,
                                   TRAINER_CANONICAL_MAX_ARCHS);
    }
    op_kinds kinds;
    op_kinds_init(&kinds, opset);

    class_map map = {0};
    uint32_t *to_class = malloc(size * sizeof *to_class);
    key_scratch *scratch = malloc(sizeof *scratch);
    uint64_t *rep = NULL;
    if (!to_class || !scratch || map_rehash(&map, 1024) < 0)
        goto oom;
    uint8_t choice[MAX_EDGES] = {0};
    const char *key = scratch->node[nodes - 1];
    for (uint64_t index = 0; index < size; index++) {
        if (cell_key(nodes, choice, &kinds, scratch) < 0) {
            rc = larch_error_set(err, LARCH_EINTERNAL, "canonical key longer than %d bytes",
                                 TRAINER_CANONICAL_KEY_SIZE);
            goto fail;
        }
        int is_new;
        int64_t c = map_find_or_add(&map, key, &is_new);
        if (c < 0)
            goto oom;
        to_class[index] = (uint32_t)c;
        /* Odometer in mixed-radix order: the last decision varies fastest. */
        for (uint32_t e = n_edges; e-- > 0;) {
            if (++choice[e] < opset->n_ops)
                break;
            choice[e] = 0;
        }
    }
    rep = malloc((map.n ? map.n : 1) * sizeof *rep);
    if (!rep)
        goto oom;
    /* Classes were numbered at their first member: the first index mapping to c is its
     * representative, and these increase with c. */
    uint32_t next = 0;
    for (uint64_t index = 0; index < size; index++)
        if (to_class[index] == next)
            rep[next++] = index;
    *n_classes = map.n;
    *n_archs = size;
    *arch_to_class = to_class;
    *representative = rep;
    map_release(&map);
    free(scratch);
    return LARCH_OK;
oom:
    rc = larch_error_set(err, LARCH_ENOMEM, "out of memory mapping %llu architectures to classes",
                         (unsigned long long)size);
fail:
    free(scratch);
    free(to_class);
    free(rep);
    map_release(&map);
    return rc;
}
