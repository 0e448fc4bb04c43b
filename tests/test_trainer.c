/* The cell space, the cell network (wiring, gradients, sizes) and training, with the nb201 op set
 * loaded the way the host loads it. */
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <larch/larch.h>

#include "data.h"
#include "module.h"
#include "network.h"
#include "train.h"
#include "test_util.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

enum { NONE, SKIP, CONV1, CONV3, POOL };

static const larch_opset_vtable *nb201(void)
{
    const larch_opset_vtable *ops = tu_nb201();
    cr_assert_str_eq(ops->ops[CONV3].name, "nor_conv_3x3");
    return ops;
}

static larch_arch make_arch(uint32_t n, const uint8_t *choices)
{
    larch_arch a = {0};
    a.n = n;
    memcpy(a.choice, choices, n);
    return a;
}

static float *random_tensor(size_t count, larch_rng *rng)
{
    float *t = larch_tensor_alloc(count);
    cr_assert_not_null(t);
    for (size_t i = 0; i < count; i++)
        t[i] = (float)larch_rng_normal(rng);
    return t;
}

Test(cell, space)
{
    const larch_opset_vtable *ops = nb201();
    trainer_cell_config cfg = {4, 16, 5};
    larch_space space;
    larch_error err = {0};
    cr_assert_eq(trainer_cell_space(&cfg, ops, &space, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(space.n_decisions, 6);
    const char *labels[6] = {"edge 1<-0", "edge 2<-0", "edge 2<-1",
                             "edge 3<-0", "edge 3<-1", "edge 3<-2"};
    for (uint32_t d = 0; d < 6; d++) {
        cr_assert_eq(space.decisions[d].kind, LARCH_DECISION_OP);
        cr_assert_eq(space.decisions[d].n_choices, 5);
        cr_assert_str_eq(space.decisions[d].label, labels[d]);
    }
    cr_assert_eq(space.n_ops, 5);
    cr_assert_str_eq(space.op_names[0], "none");
    cr_assert_str_eq(space.op_names[4], "avg_pool_3x3");
    cr_assert_eq(larch_space_size(&space), 15625.0);

    cfg.nodes = TRAINER_MAX_NODES + 1;
    cr_assert_eq(trainer_cell_space(&cfg, ops, &space, &err), LARCH_ERANGE);
    cfg.nodes = 1;
    cr_assert_eq(trainer_cell_space(&cfg, ops, &space, &err), LARCH_ERANGE);
}

Test(cell, rejects_bad_arch)
{
    const larch_opset_vtable *ops = nb201();
    trainer_cell_config cfg = {4, 4, 1};
    trainer_input_shape in = {1, 8, 8, 10, 2};
    trainer_network *net = NULL;
    larch_error err = {0};
    uint8_t bad[6] = {0, 1, 2, 5, 3, 4};
    larch_arch a = make_arch(6, bad);
    cr_assert_lt(trainer_network_new_cell(&cfg, ops, &a, &in, 1, &net, &err), 0);
    cr_assert_null(net);
    uint8_t good[6] = {3, 3, 3, 3, 3, 3};
    a = make_arch(5, good);
    cr_assert_lt(trainer_network_new_cell(&cfg, ops, &a, &in, 1, &net, &err), 0);
    /* Odd sizes cannot be halved by the reduction block. */
    a = make_arch(6, good);
    trainer_input_shape odd = {1, 9, 9, 10, 2};
    cr_assert_eq(trainer_network_new_cell(&cfg, ops, &a, &odd, 1, &net, &err), LARCH_EINVAL);
    cr_assert_null(net);
}

/* The DAG wiring against a direct computation: with skip and pool edges only, node 1 = x,
 * node 2 = pool(node 1), node 3 = x + node 2, so y = x + pool(x) and dx = dy + pool^T(dy). */
Test(cell, wiring_matches_direct_computation)
{
    const larch_opset_vtable *ops = nb201();
    const uint32_t n = 3, c = 2, h = 5, w = 6;
    const size_t count = (size_t)n * c * h * w;
    trainer_module_shape shape = {c, h, w, n};
    uint8_t arch[6] = {SKIP, NONE, POOL, SKIP, NONE, SKIP};
    larch_rng rng;
    larch_rng_seed(&rng, 5);
    trainer_module *m = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_module_cell_new(&shape, 4, ops, arch, &rng, &m, &err), LARCH_OK, "%s",
                 err.message);
    cr_assert_eq(m->ops->params(m, NULL), 0);
    float *x = random_tensor(count, &rng);
    float *dy = random_tensor(count, &rng);
    float *pooled = larch_tensor_alloc(count), *dx_pool = larch_tensor_alloc(count);
    float *dx = larch_tensor_alloc(count);
    cr_assert(pooled && dx_pool && dx);
    larch_avgpool pool;
    cr_assert_eq(larch_avgpool_init(&pool, c, 3, 1, h, w, &err), LARCH_OK);
    larch_avgpool_forward(&pool, x, pooled, n);
    larch_avgpool_backward(&pool, dy, dx_pool, n);

    m->ops->forward(m, x, n, 1);
    for (size_t i = 0; i < count; i++)
        cr_assert_float_eq(m->y[i], x[i] + pooled[i], 1e-5, "y[%zu]", i);
    memcpy(m->dy, dy, count * sizeof(float));
    m->ops->backward(m, x, dx, n);
    for (size_t i = 0; i < count; i++)
        cr_assert_float_eq(dx[i], dy[i] + dx_pool[i], 1e-5, "dx[%zu]", i);

    /* A node without a non-zero input is all zeros, and so is the gradient into the input. */
    trainer_module_free(m);
    uint8_t cut[6] = {SKIP, NONE, NONE, NONE, NONE, NONE};
    cr_assert_eq(trainer_module_cell_new(&shape, 4, ops, cut, &rng, &m, &err), LARCH_OK);
    m->ops->forward(m, x, n, 1);
    memcpy(m->dy, dy, count * sizeof(float));
    m->ops->backward(m, x, dx, n);
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(m->y[i], 0.0f);
        cr_assert_eq(dx[i], 0.0f);
    }
    trainer_module_free(m);
    larch_tensor_free(x);
    larch_tensor_free(dy);
    larch_tensor_free(pooled);
    larch_tensor_free(dx_pool);
    larch_tensor_free(dx);
}

static double loss_of(trainer_network *net, const float *x, const uint8_t *y, uint32_t n)
{
    const float *logits = trainer_network_forward(net, x, n, 1);
    return larch_softmax_xent(logits, y, n, trainer_network_input(net)->classes, NULL, NULL);
}

/* Central difference of the loss in the parameter *v. */
static double numeric_grad(trainer_network *net, const float *x, const uint8_t *y, uint32_t n,
                           float *v, double eps)
{
    const float saved = *v;
    *v = saved + (float)eps;
    double plus = loss_of(net, x, y, n);
    *v = saved - (float)eps;
    double minus = loss_of(net, x, y, n);
    *v = saved;
    return (plus - minus) / (2 * eps);
}

/* Finite differences of the whole network (training-mode BN) against backward, on sampled
 * coordinates of every parameter tensor; then a small step along -grad must lower the loss by
 * about lr * |grad|^2. */
Test(cell, gradient_check)
{
    const larch_opset_vtable *ops = nb201();
    trainer_cell_config cfg = {4, 4, 1};
    trainer_input_shape in = {2, 8, 8, 5, 4};
    uint8_t choices[6] = {CONV3, CONV1, SKIP, POOL, NONE, CONV3};
    larch_arch arch = make_arch(6, choices);
    trainer_network *net = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_network_new_cell(&cfg, ops, &arch, &in, 3, &net, &err), LARCH_OK, "%s",
                 err.message);
    const uint32_t n = 4;
    larch_rng rng;
    larch_rng_seed(&rng, 17);
    float *x = random_tensor((size_t)n * 2 * 8 * 8, &rng);
    uint8_t y[4] = {0, 3, 1, 4};

    larch_param *params = NULL;
    uint32_t n_params = trainer_network_param_list(net, &params);
    cr_assert_gt(n_params, 20);
    float dlogits[4 * 5];
    const float *logits = trainer_network_forward(net, x, n, 1);
    double loss0 = larch_softmax_xent(logits, y, n, 5, dlogits, NULL);
    for (uint32_t p = 0; p < n_params; p++)
        memset(params[p].grad, 0, params[p].count * sizeof(float));
    trainer_network_backward(net, dlogits, n);

    uint32_t checked = 0, bad = 0;
    for (uint32_t p = 0; p < n_params; p++) {
        for (uint32_t k = 0; k < 3; k++) {
            size_t i = (size_t)larch_rng_below(&rng, params[p].count);
            const double analytic = params[p].grad[i];
            /* A ReLU kink inside +-eps spoils a difference: a smaller eps double-checks. */
            const double eps[2] = {1e-3, 3e-4};
            int ok = 0;
            double numeric = 0.0;
            for (int e = 0; e < 2 && !ok; e++) {
                numeric = numeric_grad(net, x, y, n, &params[p].value[i], eps[e]);
                double scale = fmax(fabs(numeric), fabs(analytic));
                ok = fabs(numeric - analytic) <= 3e-2 * scale + 2e-4;
            }
            checked++;
            if (!ok) {
                /* Info, not a warning: Criterion fails a run that logged a warning, and a tiny
                 * gradient may drown in the float rounding of the loss (the allowance below). */
                bad++;
                cr_log_info("param %u[%zu]: analytic %.6g numeric %.6g", p, i, analytic, numeric);
            }
        }
    }
    cr_assert_leq(bad, checked / 50, "%u of %u gradients disagree", bad, checked);

    double sq = 0.0;
    for (uint32_t p = 0; p < n_params; p++)
        for (size_t i = 0; i < params[p].count; i++)
            sq += (double)params[p].grad[i] * params[p].grad[i];
    const double lr = 1e-3 / sqrt(sq);
    for (uint32_t p = 0; p < n_params; p++)
        for (size_t i = 0; i < params[p].count; i++)
            params[p].value[i] -= (float)(lr * params[p].grad[i]);
    double loss1 = loss_of(net, x, y, n);
    double expected = lr * sq;
    cr_assert(fabs((loss0 - loss1) - expected) < 0.1 * expected,
              "step lowered the loss by %g, expected %g", loss0 - loss1, expected);
    larch_tensor_free(x);
    trainer_network_free(net);
}

static trainer_network *cell_net(const larch_opset_vtable *ops, uint32_t c, uint32_t cells,
                                 uint8_t op, const trainer_input_shape *in)
{
    trainer_cell_config cfg = {4, c, cells};
    uint8_t choices[6];
    memset(choices, op, sizeof(choices));
    larch_arch arch = make_arch(6, choices);
    trainer_network *net = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_network_new_cell(&cfg, ops, &arch, in, 1, &net, &err), LARCH_OK, "%s",
                 err.message);
    return net;
}

/* Parameters and multiply-adds by hand for C = 8, one input channel, 28x28, 10 classes. */
Test(cell, params_and_flops)
{
    const larch_opset_vtable *ops = nb201();
    const uint64_t C = 8, cells = 2;
    trainer_input_shape in = {1, 28, 28, 10, 2};
    trainer_network *none = cell_net(ops, (uint32_t)C, (uint32_t)cells, NONE, &in);
    trainer_network *conv = cell_net(ops, (uint32_t)C, (uint32_t)cells, CONV3, &in);

    /* Skeleton: stem conv + BN; reductions C->2C and 2C->4C (two ReLU-conv-BN and a 1x1
     * shortcut); head BN + linear. */
    const uint64_t stem = 9 * 1 * C + 2 * C;
    const uint64_t red1 = (9 * C * 2 * C + 4 * C) + (9 * 4 * C * C + 4 * C) + C * 2 * C;
    const uint64_t red2 = (9 * 2 * C * 4 * C + 8 * C) + (9 * 16 * C * C + 8 * C) + 2 * C * 4 * C;
    const uint64_t head = 8 * C + 4 * C * 10 + 10;
    cr_assert_eq(trainer_network_params(none), stem + red1 + red2 + head);
    cr_assert_eq(stem + red1 + red2 + head, 18594);

    /* Each conv3x3 edge adds 9 C_s^2 weights and a BN's 2 C_s, at C_s = C, 2C, 4C. */
    uint64_t extra_params = 0, extra_flops = 0;
    for (uint64_t s = 0; s < 3; s++) {
        uint64_t cs = C << s, hw = (28 >> s) * (28 >> s);
        extra_params += cells * 6 * (9 * cs * cs + 2 * cs);
        extra_flops += cells * 6 * (9 * cs * cs * hw);
    }
    cr_assert_eq(trainer_network_params(conv) - trainer_network_params(none), extra_params);

    const uint64_t flops_none = 9 * 1 * C * 784 +
                                (9 * C * 2 * C + 9 * 4 * C * C + C * 2 * C) * 196 +
                                (9 * 8 * C * C + 9 * 16 * C * C + 8 * C * C) * 49 + 4 * C * 10;
    cr_assert_eq(trainer_network_flops(none), flops_none);
    cr_assert_eq(trainer_network_flops(conv) - trainer_network_flops(none), extra_flops);
    trainer_network_free(none);
    trainer_network_free(conv);
}

/* The all-none cell cuts the input off: every image gets the same logits. */
Test(cell, all_none_ignores_input)
{
    const larch_opset_vtable *ops = nb201();
    trainer_input_shape in = {1, 8, 8, 10, 2};
    trainer_network *net = cell_net(ops, 4, 1, NONE, &in);
    larch_rng rng;
    larch_rng_seed(&rng, 2);
    float *x = random_tensor(2 * 64, &rng);
    const float *logits = trainer_network_forward(net, x, 2, 0);
    for (int k = 0; k < 10; k++)
        cr_assert_eq(logits[k], logits[10 + k]);
    larch_tensor_free(x);
    trainer_network_free(net);
}

/* A learnable synthetic set: images of side x side, class l brightens the pixels with
 * (r + 2c) % 10 == l over uniform noise. */
static void synthetic(trainer_data *d, uint32_t side, uint32_t n_train, uint32_t n_val,
                      uint32_t n_test, uint64_t seed)
{
    memset(d, 0, sizeof(*d));
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    trainer_dataset *sets[3] = {&d->train, &d->val, &d->test};
    uint32_t sizes[3] = {n_train, n_val, n_test};
    for (int s = 0; s < 3; s++) {
        trainer_dataset *ds = sets[s];
        ds->n = sizes[s];
        ds->c = 1;
        ds->h = ds->w = side;
        ds->classes = 10;
        ds->pixels = malloc((size_t)ds->n * side * side + 1);
        ds->labels = malloc(ds->n + 1);
        cr_assert(ds->pixels && ds->labels);
        for (uint32_t i = 0; i < ds->n; i++) {
            uint8_t label = (uint8_t)larch_rng_below(&rng, 10);
            ds->labels[i] = label;
            for (uint32_t r = 0; r < side; r++)
                for (uint32_t c = 0; c < side; c++) {
                    uint32_t noise = (uint32_t)larch_rng_below(&rng, 100);
                    int on = (r + 2 * c) % 10 == label;
                    ds->pixels[((size_t)i * side + r) * side + c] = (uint8_t)(noise + 150 * on);
                }
        }
    }
    d->mean[0] = 0.3f;
    d->std[0] = 0.3f;
}

static trainer_recipe small_recipe(void)
{
    trainer_recipe r = {2, 16, 0.05, 0.0, 0.9, 1, 5e-4, 1};
    return r;
}

/* Trains a fresh net (weights from seed 4) with shuffle seed `seed` and returns its outcome and
 * the final weights' checksum. */
static trainer_outcome train_once(const larch_opset_vtable *ops, const trainer_data *d,
                                  uint64_t seed, uint64_t *checksum)
{
    trainer_cell_config cfg = {4, 4, 1};
    uint8_t choices[6] = {CONV3, CONV1, SKIP, POOL, NONE, CONV3};
    larch_arch arch = make_arch(6, choices);
    trainer_input_shape in = {1, 8, 8, 10, 16};
    trainer_network *net = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_network_new_cell(&cfg, ops, &arch, &in, 4, &net, &err), LARCH_OK, "%s",
                 err.message);
    trainer_recipe r = small_recipe();
    trainer_outcome out;
    cr_assert_eq(trainer_train(net, &r, d, seed, &out, &err), LARCH_OK, "%s", err.message);
    larch_param *params = NULL;
    uint32_t n_params = trainer_network_param_list(net, &params);
    uint64_t h = 1469598103934665603ull;
    for (uint32_t p = 0; p < n_params; p++) {
        const uint8_t *bytes = (const uint8_t *)params[p].value;
        for (size_t b = 0; b < params[p].count * sizeof(float); b++)
            h = (h ^ bytes[b]) * 1099511628211ull;
    }
    *checksum = h;
    trainer_network_free(net);
    return out;
}

static void check_same_outcome(const trainer_outcome *a, const trainer_outcome *b)
{
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->epochs_run, b->epochs_run);
    cr_assert_eq(a->val_accuracy, b->val_accuracy);
    cr_assert_eq(a->test_accuracy, b->test_accuracy);
    cr_assert_eq(a->params, b->params);
    cr_assert_eq(a->flops, b->flops);
    cr_assert_arr_eq(a->train_loss, b->train_loss, sizeof(a->train_loss));
    cr_assert_arr_eq(a->val_accuracy_curve, b->val_accuracy_curve, sizeof(a->train_loss));
}

static void check_deterministic(int threads)
{
    const larch_opset_vtable *ops = nb201();
    larch_nn_set_threads(threads);
    trainer_data d;
    synthetic(&d, 8, 200, 50, 40, 9);
    uint64_t h1, h2, h3;
    trainer_outcome a = train_once(ops, &d, 21, &h1);
    trainer_outcome b = train_once(ops, &d, 21, &h2);
    trainer_outcome c = train_once(ops, &d, 22, &h3);
    cr_assert_eq(c.status, LARCH_TRIAL_OK);
    cr_assert_eq(a.status, LARCH_TRIAL_OK);
    cr_assert_eq(a.epochs_run, 2);
    cr_assert(a.train_loss[1] < a.train_loss[0], "loss %g then %g", a.train_loss[0],
              a.train_loss[1]);
    check_same_outcome(&a, &b);
    cr_assert_eq(h1, h2, "same seed, same final weights");
    cr_assert_neq(h1, h3, "another shuffle seed, other weights");
    cr_assert(a.latency_ms > 0 && a.train_seconds > 0);
    trainer_data_release(&d);
}

Test(train, deterministic)
{
    check_deterministic(1);
}

Test(train, deterministic_two_threads)
{
    check_deterministic(2);
}

Test(train, learns_synthetic)
{
    const larch_opset_vtable *ops = nb201();
    trainer_data d;
    synthetic(&d, 8, 512, 200, 100, 3);
    trainer_cell_config cfg = {4, 8, 1};
    uint8_t choices[6] = {CONV3, CONV3, SKIP, SKIP, CONV1, CONV3};
    larch_arch arch = make_arch(6, choices);
    trainer_input_shape in = {1, 8, 8, 10, 32};
    trainer_network *net = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_network_new_cell(&cfg, ops, &arch, &in, 1, &net, &err), LARCH_OK);
    trainer_recipe r = {5, 32, 0.1, 0.0, 0.9, 1, 5e-4, 1};
    trainer_outcome out;
    cr_assert_eq(trainer_train(net, &r, &d, 1, &out, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(out.status, LARCH_TRIAL_OK);
    cr_assert_eq(out.epochs_run, 5);
    cr_assert_gt(out.val_accuracy, 0.8, "val accuracy %g", out.val_accuracy);
    cr_assert_gt(out.test_accuracy, 0.8, "test accuracy %g", out.test_accuracy);
    cr_assert_eq(out.val_accuracy, out.val_accuracy_curve[4]);
    cr_assert_float_eq(trainer_accuracy(net, &d, &d.val, 7), out.val_accuracy, 1e-12,
                       "evaluation in other batch sizes agrees");
    trainer_network_free(net);
    trainer_data_release(&d);
}

Test(train, huge_lr_diverges)
{
    const larch_opset_vtable *ops = nb201();
    trainer_data d;
    synthetic(&d, 8, 256, 32, 32, 5);
    trainer_input_shape in = {1, 8, 8, 10, 16};
    trainer_network *net = cell_net(ops, 4, 1, CONV3, &in);
    trainer_recipe r = {3, 16, 1e6, 0.0, 0.9, 0, 5e-4, 0};
    trainer_outcome out;
    larch_error err = {0};
    cr_assert_eq(trainer_train(net, &r, &d, 1, &out, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(out.status, LARCH_TRIAL_DIVERGED);
    cr_assert_eq(out.val_accuracy, 0.0);
    cr_assert_eq(out.test_accuracy, 0.0);
    cr_assert_lt(out.epochs_run, 3);
    trainer_network_free(net);
    trainer_data_release(&d);
}

Test(train, rejects_bad_recipe)
{
    trainer_data d;
    synthetic(&d, 8, 20, 8, 8, 5);
    trainer_input_shape in = {1, 8, 8, 10, 16};
    trainer_network *net = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_network_new_reference(&in, 1, &net, &err), LARCH_OK, "%s", err.message);
    trainer_outcome out;
    trainer_recipe r = small_recipe();
    r.batch = 32; /* above the network's max batch */
    cr_assert_eq(trainer_train(net, &r, &d, 1, &out, &err), LARCH_ERANGE);
    r = small_recipe();
    r.epochs = 0;
    cr_assert_eq(trainer_train(net, &r, &d, 1, &out, &err), LARCH_ERANGE);
    d.train.n = 10; /* smaller than one batch */
    r = small_recipe();
    cr_assert_eq(trainer_train(net, &r, &d, 1, &out, &err), LARCH_ERANGE);
    d.train.n = 20;
    trainer_input_shape big = {1, 16, 16, 10, 16};
    trainer_network *other = NULL;
    cr_assert_eq(trainer_network_new_reference(&big, 1, &other, &err), LARCH_OK);
    cr_assert_eq(trainer_train(other, &r, &d, 1, &out, &err), LARCH_EINVAL);
    trainer_network_free(other);
    trainer_network_free(net);
    trainer_data_release(&d);
}

/* The reference net's size by hand: convs 1->16, 16->32, 32->32, 32->64 with BN, linear. */
Test(train, reference_net_size)
{
    trainer_input_shape in = {1, 28, 28, 10, 4};
    trainer_network *net = NULL;
    larch_error err = {0};
    cr_assert_eq(trainer_network_new_reference(&in, 1, &net, &err), LARCH_OK, "%s", err.message);
    uint64_t params = (9 * 16 + 32) + (9 * 16 * 32 + 64) + (9 * 32 * 32 + 64) +
                      (9 * 32 * 64 + 128) + (64 * 10 + 10);
    uint64_t flops = 9 * 16 * 784 + 9 * 16 * 32 * 196 + 9 * 32 * 32 * 196 + 9 * 32 * 64 * 49 + 640;
    cr_assert_eq(trainer_network_params(net), params);
    cr_assert_eq(trainer_network_flops(net), flops);
    trainer_network_free(net);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A small cell net on 2000 Fashion-MNIST images is far above chance after 2 short epochs. (One
 * epoch at batch 64 is only 31 steps: too few for a global-pooling net from scratch, ~0.4.) */
Test(train, fashion_mnist_small, .timeout = 60)
{
    if (access(FASHION_DIR, R_OK) != 0)
        cr_skip_test("%s is not installed", FASHION_DIR);
    const larch_opset_vtable *ops = nb201();
    trainer_data d;
    larch_error err = {0};
    trainer_data_config dc = {TRAINER_DATA_IDX, FASHION_DIR, 2000, 500, 500, 42};
    cr_assert_eq(trainer_data_load(&d, &dc, &err), LARCH_OK, "%s", err.message);
    trainer_cell_config cfg = {4, 8, 1};
    uint8_t choices[6] = {CONV3, CONV1, SKIP, POOL, SKIP, CONV3};
    larch_arch arch = make_arch(6, choices);
    trainer_input_shape in = {1, 28, 28, 10, 64};
    trainer_network *net = NULL;
    cr_assert_eq(trainer_network_new_cell(&cfg, ops, &arch, &in, 1, &net, &err), LARCH_OK, "%s",
                 err.message);
    trainer_recipe r = {2, 32, 0.05, 0.0, 0.9, 1, 5e-4, 1};
    trainer_outcome out;
    double t0 = seconds_now();
    cr_assert_eq(trainer_train(net, &r, &d, 7, &out, &err), LARCH_OK, "%s", err.message);
    double wall = seconds_now() - t0;
    cr_log_info("fashion-mnist cell C=8: val %.3f test %.3f loss %.3f, train %.2f s, total %.2f s, "
                "latency %.3f ms, %llu params, %llu flops",
                out.val_accuracy, out.test_accuracy, out.train_loss[1], out.train_seconds, wall,
                out.latency_ms, (unsigned long long)out.params, (unsigned long long)out.flops);
    cr_assert_eq(out.status, LARCH_TRIAL_OK);
    cr_assert_gt(out.val_accuracy, 0.5, "val accuracy %g", out.val_accuracy);
    cr_assert_gt(out.test_accuracy, 0.5, "test accuracy %g", out.test_accuracy);
    trainer_network_free(net);
    trainer_data_release(&d);
}
