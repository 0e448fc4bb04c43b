/* The NAS-Bench-201 cell: a DAG of nodes where node j sums op_{j<-i}(node i) over i < j. */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"

#define MAX_EDGES (TRAINER_MAX_NODES * (TRAINER_MAX_NODES - 1) / 2)

/* The decision index of edge j <- i in NAS-Bench-201's order (by j, then i). */
static uint32_t edge_index(uint32_t j, uint32_t i)
{
    return j * (j - 1) / 2 + i;
}

int trainer_cell_space(const trainer_cell_config *config, const larch_opset_vtable *opset,
                       larch_space *space, larch_error *err)
{
    if (config == NULL || opset == NULL || space == NULL)
        return larch_error_set(err, LARCH_EINVAL, "trainer_cell_space: NULL argument");
    if (config->nodes < 2 || config->nodes > TRAINER_MAX_NODES)
        return larch_error_set(err, LARCH_ERANGE, "cell nodes %u out of range, expected 2..%d",
                               config->nodes, TRAINER_MAX_NODES);
    if (opset->n_ops < 1 || opset->n_ops > LARCH_MAX_OPS || opset->ops == NULL)
        return larch_error_set(err, LARCH_ERANGE, "op set has %u ops, expected 1..%d", opset->n_ops,
                               LARCH_MAX_OPS);
    memset(space, 0, sizeof(*space));
    space->struct_size = sizeof(*space);
    snprintf(space->name, sizeof(space->name), "cell");
    for (uint32_t j = 1; j < config->nodes; j++)
        for (uint32_t i = 0; i < j; i++) {
            larch_decision *d = &space->decisions[edge_index(j, i)];
            d->kind = LARCH_DECISION_OP;
            d->n_choices = opset->n_ops;
            snprintf(d->label, sizeof(d->label), "edge %u<-%u", j, i);
        }
    space->n_decisions = edge_index(config->nodes, 0);
    space->n_ops = opset->n_ops;
    for (uint32_t k = 0; k < opset->n_ops; k++)
        snprintf(space->op_names[k], sizeof(space->op_names[k]), "%s",
                 opset->ops[k].name ? opset->ops[k].name : "?");
    return LARCH_OK;
}

typedef enum edge_kind { EDGE_ZERO, EDGE_IDENTITY, EDGE_LAYER } edge_kind;

typedef struct edge {
    edge_kind kind;
    larch_layer *layer; /* EDGE_LAYER only */
} edge;

typedef struct cell {
    trainer_module base;
    uint32_t nodes;
    size_t count; /* floats per image of every node */
    edge edges[MAX_EDGES];
    /* Node values and their gradients; [0] is the cell input (not owned), [nodes-1] the output
     * (base.y, base.dy). */
    float *value[TRAINER_MAX_NODES];
    float *grad[TRAINER_MAX_NODES];
    float *scratch; /* one op's output (forward) or input gradient (backward) */
} cell;

static void cell_forward(trainer_module *m, const float *x, uint32_t n, int training)
{
    cell *c = (cell *)m;
    const size_t count = n * c->count;
    c->value[0] = (float *)x; /* only read */
    for (uint32_t j = 1; j < c->nodes; j++) {
        float *dst = c->value[j];
        int written = 0;
        for (uint32_t i = 0; i < j; i++) {
            const edge *e = &c->edges[edge_index(j, i)];
            const float *src = c->value[i];
            if (e->kind == EDGE_ZERO)
                continue;
            /* The first term is written in place, later ones are added. */
            if (e->kind == EDGE_LAYER) {
                float *out = written ? c->scratch : dst;
                e->layer->ops->forward(e->layer, src, out, n, training);
                if (written)
                    larch_tensor_add_parallel(dst, out, count);
            } else if (written) {
                larch_tensor_add_parallel(dst, src, count);
            } else {
                memcpy(dst, src, count * sizeof(float));
            }
            written = 1;
        }
        if (!written)
            memset(dst, 0, count * sizeof(float));
    }
}

/* Adds (or, first time, writes) src into dst. */
static void accumulate(float *dst, const float *src, size_t count, int *written)
{
    if (*written)
        larch_tensor_add_parallel(dst, src, count);
    else
        memcpy(dst, src, count * sizeof(float));
    *written = 1;
}

static void cell_backward(trainer_module *m, const float *x, float *dx, uint32_t n)
{
    cell *c = (cell *)m;
    const size_t count = n * c->count;
    c->value[0] = (float *)x;
    c->grad[0] = dx;
    int written[TRAINER_MAX_NODES] = {0};
    written[c->nodes - 1] = 1;
    /* Descending j: every consumer of node j (k > j) has added its share before j is used. */
    for (uint32_t j = c->nodes - 1; j >= 1; j--) {
        if (!written[j])
            memset(c->grad[j], 0, count * sizeof(float));
        for (uint32_t i = 0; i < j; i++) {
            const edge *e = &c->edges[edge_index(j, i)];
            if (e->kind == EDGE_ZERO)
                continue;
            float *target = c->grad[i];
            if (e->kind == EDGE_IDENTITY) {
                if (target != NULL)
                    accumulate(target, c->grad[j], count, &written[i]);
                continue;
            }
            if (target == NULL) {
                /* Only the parameter gradients are wanted. */
                e->layer->ops->backward(e->layer, c->value[i], c->grad[j], NULL, n);
            } else if (written[i]) {
                e->layer->ops->backward(e->layer, c->value[i], c->grad[j], c->scratch, n);
                larch_tensor_add_parallel(target, c->scratch, count);
            } else {
                e->layer->ops->backward(e->layer, c->value[i], c->grad[j], target, n);
                written[i] = 1;
            }
        }
    }
    if (dx != NULL && !written[0])
        memset(dx, 0, count * sizeof(float));
}

static uint32_t cell_params(trainer_module *m, larch_param *out)
{
    cell *c = (cell *)m;
    uint32_t k = 0;
    for (uint32_t e = 0; e < edge_index(c->nodes, 0); e++) {
        const larch_layer *layer = c->edges[e].layer;
        if (layer == NULL)
            continue;
        for (uint32_t p = 0; p < layer->n_params; p++, k++)
            if (out != NULL)
                out[k] = layer->params[p];
    }
    return k;
}

static void cell_destroy(trainer_module *m)
{
    cell *c = (cell *)m;
    for (uint32_t e = 0; e < MAX_EDGES; e++)
        if (c->edges[e].layer != NULL)
            c->edges[e].layer->ops->destroy(c->edges[e].layer);
    /* value/grad[nodes-1] are base.y/dy, freed by trainer_module_free. */
    for (uint32_t j = 1; j + 1 < c->nodes; j++) {
        larch_tensor_free(c->value[j]);
        larch_tensor_free(c->grad[j]);
    }
    larch_tensor_free(c->scratch);
}

static const trainer_module_ops cell_ops = {cell_forward, cell_backward, cell_params, cell_destroy};

/* Builds the layer of one edge and checks what the op set returned. */
static int edge_new(edge *e, const larch_opset_vtable *opset, uint32_t op,
                    const larch_layer_shape *shape, larch_rng *rng, uint32_t j, uint32_t i,
                    larch_error *err)
{
    const uint32_t flags = opset->ops[op].flags;
    if (flags & LARCH_OP_ZERO) {
        e->kind = EDGE_ZERO;
        return LARCH_OK;
    }
    if (flags & LARCH_OP_IDENTITY) {
        e->kind = EDGE_IDENTITY; /* stride 1 and C_in == C_out inside a cell */
        return LARCH_OK;
    }
    larch_layer *layer = NULL;
    int rc = opset->layer_new(op, shape, rng, &layer, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "edge %u<-%u (%s): ", j, i, opset->ops[op].name);
    if (layer == NULL || layer->ops == NULL || layer->ops->forward == NULL ||
        layer->ops->backward == NULL || layer->ops->destroy == NULL)
        return larch_error_set(err, LARCH_EPLUGIN,
                               "edge %u<-%u: op %s returned an incomplete layer", j, i,
                               opset->ops[op].name);
    e->kind = EDGE_LAYER;
    e->layer = layer;
    if (layer->h_out != shape->h || layer->w_out != shape->w ||
        layer->shape.c_out != shape->c_out || (layer->n_params > 0 && layer->params == NULL))
        return larch_error_set(err, LARCH_EPLUGIN,
                               "edge %u<-%u: op %s built a %ux%ux%u output, expected %ux%ux%u", j,
                               i, opset->ops[op].name, layer->shape.c_out, layer->h_out,
                               layer->w_out, shape->c_out, shape->h, shape->w);
    return LARCH_OK;
}

int trainer_module_cell_new(const trainer_module_shape *in, uint32_t nodes,
                            const larch_opset_vtable *opset, const uint8_t *ops, larch_rng *rng,
                            trainer_module **out, larch_error *err)
{
    if (nodes < 2 || nodes > TRAINER_MAX_NODES)
        return larch_error_set(err, LARCH_ERANGE, "cell nodes %u out of range, expected 2..%d",
                               nodes, TRAINER_MAX_NODES);
    cell *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate a cell");
    c->base.ops = &cell_ops;
    c->nodes = nodes;
    c->count = (size_t)in->c * in->h * in->w;
    const size_t batch = in->max_batch * c->count;
    const larch_layer_shape shape = {in->c, in->c, 1, in->h, in->w, in->max_batch};
    int rc = LARCH_OK;
    for (uint32_t j = 1; j < nodes && rc == LARCH_OK; j++)
        for (uint32_t i = 0; i < j && rc == LARCH_OK; i++) {
            uint32_t op = ops[edge_index(j, i)];
            if (op >= opset->n_ops)
                rc = larch_error_set(err, LARCH_ERANGE, "edge %u<-%u: op %u, expected < %u", j, i,
                                     op, opset->n_ops);
            else
                rc = edge_new(&c->edges[edge_index(j, i)], opset, op, &shape, rng, j, i, err);
        }
    if (rc == LARCH_OK)
        rc = trainer_module_alloc_output(&c->base, in->c, in->h, in->w, in->max_batch, err);
    if (rc == LARCH_OK) {
        for (uint32_t j = 1; j + 1 < nodes; j++) {
            c->value[j] = larch_tensor_alloc(batch);
            c->grad[j] = larch_tensor_alloc(batch);
            if (c->value[j] == NULL || c->grad[j] == NULL)
                rc = LARCH_ENOMEM;
        }
        c->value[nodes - 1] = c->base.y;
        c->grad[nodes - 1] = c->base.dy;
        c->scratch = larch_tensor_alloc(batch);
        if (rc != LARCH_OK || c->scratch == NULL)
            rc = larch_error_set(err, LARCH_ENOMEM, "cannot allocate %u cell nodes of %zu floats",
                                 nodes, batch);
    }
    if (rc != LARCH_OK) {
        trainer_module_free(&c->base);
        return rc;
    }
    for (uint32_t e = 0; e < edge_index(nodes, 0); e++)
        if (c->edges[e].layer != NULL)
            c->base.flops += c->edges[e].layer->flops;
    *out = &c->base;
    return LARCH_OK;
}
