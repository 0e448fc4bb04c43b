/* Networks as chains of modules: the cell network decoded from an architecture and the fixed
 * reference network. */
#include "network.h"

#include <stdlib.h>
#include <string.h>

#include <larch/nn.h>

#include "module.h"

/* stem, 3 stages of at most 64 cells, 2 reductions, head */
#define MAX_MODULES 256

struct trainer_network {
    trainer_input_shape input;
    uint32_t n_modules;
    trainer_module *modules[MAX_MODULES];
    float *x; /* copy of the last forward's input, which backward needs */
    larch_param *params;
    uint32_t n_params;
    uint64_t param_count, flops;
};

static int network_alloc(const trainer_input_shape *input, trainer_network **out, larch_error *err)
{
    if (input == NULL || input->c == 0 || input->h == 0 || input->w == 0 || input->classes == 0 ||
        input->max_batch == 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "bad network input shape: every size must be non-zero");
    trainer_network *net = calloc(1, sizeof(*net));
    if (net == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate a network");
    net->input = *input;
    net->x = larch_tensor_alloc((size_t)input->max_batch * input->c * input->h * input->w);
    if (net->x == NULL) {
        free(net);
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate the network input");
    }
    *out = net;
    return LARCH_OK;
}

/* The shape the next module sees: the last module's output, or the network input. */
static trainer_module_shape next_shape(const trainer_network *net)
{
    trainer_module_shape s = {net->input.c, net->input.h, net->input.w, net->input.max_batch};
    if (net->n_modules > 0) {
        const trainer_module *last = net->modules[net->n_modules - 1];
        s.c = last->c;
        s.h = last->h;
        s.w = last->w;
    }
    return s;
}

static int push(trainer_network *net, int rc, trainer_module *m, larch_error *err)
{
    if (rc != LARCH_OK)
        return rc;
    if (net->n_modules == MAX_MODULES) {
        trainer_module_free(m);
        return larch_error_set(err, LARCH_ERANGE, "network has more than %d modules", MAX_MODULES);
    }
    net->modules[net->n_modules++] = m;
    return LARCH_OK;
}

static int add_conv_bn(trainer_network *net, uint32_t c_out, uint32_t stride, int relu,
                       larch_rng *rng, larch_error *err)
{
    trainer_module_shape s = next_shape(net);
    trainer_module *m = NULL;
    int rc = trainer_module_conv_bn_new(&s, c_out, 3, stride, relu, rng, &m, err);
    return push(net, rc, m, err);
}

static int add_reduction(trainer_network *net, uint32_t c_out, larch_rng *rng, larch_error *err)
{
    trainer_module_shape s = next_shape(net);
    trainer_module *m = NULL;
    int rc = trainer_module_reduction_new(&s, c_out, rng, &m, err);
    return push(net, rc, m, err);
}

static int add_cell(trainer_network *net, const trainer_cell_config *config,
                    const larch_opset_vtable *opset, const larch_arch *arch, larch_rng *rng,
                    larch_error *err)
{
    trainer_module_shape s = next_shape(net);
    trainer_module *m = NULL;
    int rc = trainer_module_cell_new(&s, config->nodes, opset, arch->choice, rng, &m, err);
    return push(net, rc, m, err);
}

static int add_head(trainer_network *net, int bn_relu, larch_rng *rng, larch_error *err)
{
    trainer_module_shape s = next_shape(net);
    trainer_module *m = NULL;
    int rc = trainer_module_head_new(&s, bn_relu, net->input.classes, rng, &m, err);
    return push(net, rc, m, err);
}

/* Gathers the parameter list and the totals once the modules are built. */
static int network_finish(trainer_network *net, larch_error *err)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < net->n_modules; k++) {
        trainer_module *m = net->modules[k];
        n += m->ops->params(m, NULL);
        net->flops += m->flops;
    }
    net->params = calloc(n ? n : 1, sizeof(*net->params));
    if (net->params == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate a list of %u parameters", n);
    for (uint32_t k = 0; k < net->n_modules; k++) {
        trainer_module *m = net->modules[k];
        net->n_params += m->ops->params(m, net->params + net->n_params);
    }
    for (uint32_t p = 0; p < net->n_params; p++)
        net->param_count += net->params[p].count;
    return LARCH_OK;
}

int trainer_network_new_cell(const trainer_cell_config *config, const larch_opset_vtable *opset,
                             const larch_arch *arch, const trainer_input_shape *input,
                             uint64_t seed, trainer_network **out, larch_error *err)
{
    if (config == NULL || opset == NULL || arch == NULL || out == NULL)
        return larch_error_set(err, LARCH_EINVAL, "trainer_network_new_cell: NULL argument");
    if (opset->layer_new == NULL)
        return larch_error_set(err, LARCH_EPLUGIN, "the op set has no layer_new");
    larch_space space;
    int rc = trainer_cell_space(config, opset, &space, err);
    if (rc != LARCH_OK)
        return rc;
    rc = larch_arch_validate(&space, arch, err);
    if (rc != LARCH_OK)
        return rc;
    if (config->channels == 0 || config->cells_per_stage == 0)
        return larch_error_set(err, LARCH_ERANGE,
                               "cell network needs channels >= 1 and cells_per_stage >= 1, got "
                               "%u and %u",
                               config->channels, config->cells_per_stage);
    if (config->cells_per_stage > 64)
        return larch_error_set(err, LARCH_ERANGE, "cells_per_stage %u out of range, expected <= 64",
                               config->cells_per_stage);
    trainer_network *net = NULL;
    rc = network_alloc(input, &net, err);
    if (rc != LARCH_OK)
        return rc;
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    const uint32_t c = config->channels;
    rc = add_conv_bn(net, c, 1, 0, &rng, err);
    for (uint32_t stage = 0; stage < 3 && rc == LARCH_OK; stage++) {
        if (stage > 0)
            rc = add_reduction(net, c << stage, &rng, err);
        for (uint32_t k = 0; k < config->cells_per_stage && rc == LARCH_OK; k++)
            rc = add_cell(net, config, opset, arch, &rng, err);
    }
    if (rc == LARCH_OK)
        rc = add_head(net, 1, &rng, err);
    if (rc == LARCH_OK)
        rc = network_finish(net, err);
    if (rc != LARCH_OK) {
        trainer_network_free(net);
        return rc;
    }
    *out = net;
    return LARCH_OK;
}

int trainer_network_new_reference(const trainer_input_shape *input, uint64_t seed,
                                  trainer_network **out, larch_error *err)
{
    if (out == NULL)
        return larch_error_set(err, LARCH_EINVAL, "trainer_network_new_reference: NULL argument");
    trainer_network *net = NULL;
    int rc = network_alloc(input, &net, err);
    if (rc != LARCH_OK)
        return rc;
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    rc = add_conv_bn(net, 16, 1, 1, &rng, err);
    if (rc == LARCH_OK)
        rc = add_conv_bn(net, 32, 2, 1, &rng, err);
    if (rc == LARCH_OK)
        rc = add_conv_bn(net, 32, 1, 1, &rng, err);
    if (rc == LARCH_OK)
        rc = add_conv_bn(net, 64, 2, 1, &rng, err);
    if (rc == LARCH_OK)
        rc = add_head(net, 0, &rng, err);
    if (rc == LARCH_OK)
        rc = network_finish(net, err);
    if (rc != LARCH_OK) {
        trainer_network_free(net);
        return rc;
    }
    *out = net;
    return LARCH_OK;
}

void trainer_network_free(trainer_network *net)
{
    if (net == NULL)
        return;
    for (uint32_t k = 0; k < net->n_modules; k++)
        trainer_module_free(net->modules[k]);
    larch_tensor_free(net->x);
    free(net->params);
    free(net);
}

uint64_t trainer_network_params(const trainer_network *net)
{
    return net->param_count;
}

uint64_t trainer_network_flops(const trainer_network *net)
{
    return net->flops;
}

const float *trainer_network_forward(trainer_network *net, const float *x, uint32_t n, int training)
{
    const trainer_input_shape *in = &net->input;
    memcpy(net->x, x, (size_t)n * in->c * in->h * in->w * sizeof(float));
    const float *act = net->x;
    for (uint32_t k = 0; k < net->n_modules; k++) {
        trainer_module *m = net->modules[k];
        m->ops->forward(m, act, n, training);
        act = m->y;
    }
    return act;
}

void trainer_network_backward(trainer_network *net, const float *dlogits, uint32_t n)
{
    trainer_module *last = net->modules[net->n_modules - 1];
    memcpy(last->dy, dlogits, (size_t)n * last->c * sizeof(float));
    for (uint32_t k = net->n_modules; k-- > 0;) {
        trainer_module *m = net->modules[k];
        const float *x = k > 0 ? net->modules[k - 1]->y : net->x;
        float *dx = k > 0 ? net->modules[k - 1]->dy : NULL;
        m->ops->backward(m, x, dx, n);
    }
}

uint32_t trainer_network_param_list(trainer_network *net, larch_param **params)
{
    *params = net->params;
    return net->n_params;
}

const trainer_input_shape *trainer_network_input(const trainer_network *net)
{
    return &net->input;
}
