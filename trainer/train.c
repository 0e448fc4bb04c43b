/* Mini-batch SGD with momentum, cosine schedule and weight decay; evaluation and timing. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <larch/nn.h>
#include <larch/rng.h>
#include <larch/strategy.h>

#define LATENCY_RUNS 5
#define PI 3.14159265358979323846

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Buffers of one train or evaluation call, sized for `batch` images. */
typedef struct batch_buffers {
    uint32_t batch;
    float *x;       /* [batch][c][h][w] */
    uint8_t *y;     /* [batch] */
    uint32_t *idx;  /* [batch] */
    float *dlogits; /* [batch][classes] */
} batch_buffers;

static void buffers_release(batch_buffers *b)
{
    larch_tensor_free(b->x);
    larch_tensor_free(b->dlogits);
    free(b->y);
    free(b->idx);
    memset(b, 0, sizeof(*b));
}

static int buffers_init(batch_buffers *b, const trainer_input_shape *in, uint32_t batch,
                        larch_error *err)
{
    memset(b, 0, sizeof(*b));
    b->batch = batch;
    b->x = larch_tensor_alloc((size_t)batch * in->c * in->h * in->w);
    b->dlogits = larch_tensor_alloc((size_t)batch * in->classes);
    b->y = malloc(batch);
    b->idx = malloc((size_t)batch * sizeof(*b->idx));
    if (b->x == NULL || b->dlogits == NULL || b->y == NULL || b->idx == NULL) {
        buffers_release(b);
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate batch buffers for %u images",
                               batch);
    }
    return LARCH_OK;
}

/* Eval-mode accuracy over all of ds; *finite becomes 0 if any logit is NaN or infinite. */
static double evaluate(trainer_network *net, const trainer_data *data, const trainer_dataset *ds,
                       batch_buffers *b, int *finite)
{
    const uint32_t classes = trainer_network_input(net)->classes;
    uint64_t correct = 0;
    for (uint32_t start = 0; start < ds->n; start += b->batch) {
        uint32_t m = ds->n - start < b->batch ? ds->n - start : b->batch;
        for (uint32_t i = 0; i < m; i++)
            b->idx[i] = start + i;
        trainer_data_batch(data, ds, b->idx, m, b->x, b->y);
        const float *logits = trainer_network_forward(net, b->x, m, 0);
        for (size_t k = 0; k < (size_t)m * classes; k++)
            if (!isfinite(logits[k]))
                *finite = 0;
        uint32_t n_correct = 0;
        larch_softmax_xent(logits, b->y, m, classes, NULL, &n_correct);
        correct += n_correct;
    }
    return ds->n > 0 ? (double)correct / ds->n : 0.0;
}

double trainer_accuracy(trainer_network *net, const trainer_data *data, const trainer_dataset *ds,
                        uint32_t max_batch)
{
    const trainer_input_shape *in = trainer_network_input(net);
    uint32_t batch = max_batch == 0 || max_batch > in->max_batch ? in->max_batch : max_batch;
    batch_buffers b;
    if (buffers_init(&b, in, batch, NULL) != LARCH_OK)
        return -1.0;
    int finite = 1;
    double acc = evaluate(net, data, ds, &b, &finite);
    buffers_release(&b);
    return acc;
}

static int check_inputs(trainer_network *net, const trainer_recipe *r, const trainer_data *data,
                        larch_error *err)
{
    const trainer_input_shape *in = trainer_network_input(net);
    if (r->epochs < 1 || r->epochs > TRAINER_MAX_EPOCHS)
        return larch_error_set(err, LARCH_ERANGE, "epochs %u out of range, expected 1..%d",
                               r->epochs, TRAINER_MAX_EPOCHS);
    if (r->batch < 1 || r->batch > in->max_batch)
        return larch_error_set(err, LARCH_ERANGE,
                               "batch %u out of range, expected 1..%u (the network's max batch)",
                               r->batch, in->max_batch);
    if (!(r->lr >= 0) || !(r->lr_min >= 0) || !isfinite(r->lr) || !isfinite(r->lr_min))
        return larch_error_set(err, LARCH_ERANGE,
                               "learning rates %g and %g, expected finite and >= 0", r->lr,
                               r->lr_min);
    if (!(r->momentum >= 0 && r->momentum < 1))
        return larch_error_set(err, LARCH_ERANGE, "momentum %g out of range, expected [0, 1)",
                               r->momentum);
    if (!(r->weight_decay >= 0) || !isfinite(r->weight_decay))
        return larch_error_set(err, LARCH_ERANGE, "weight decay %g, expected finite and >= 0",
                               r->weight_decay);
    const trainer_dataset *sets[3] = {&data->train, &data->val, &data->test};
    for (int s = 0; s < 3; s++)
        if (sets[s]->n > 0 && (sets[s]->c != in->c || sets[s]->h != in->h || sets[s]->w != in->w ||
                               sets[s]->classes > in->classes))
            return larch_error_set(err, LARCH_EINVAL,
                                   "data of %ux%ux%u images and %u classes does not fit a network "
                                   "built for %ux%ux%u and %u classes",
                                   sets[s]->c, sets[s]->h, sets[s]->w, sets[s]->classes, in->c,
                                   in->h, in->w, in->classes);
    if (data->train.n < r->batch)
        return larch_error_set(err, LARCH_ERANGE,
                               "the training set of %u images is smaller than one batch of %u",
                               data->train.n, r->batch);
    return LARCH_OK;
}

static double learning_rate(const trainer_recipe *r, uint64_t step, uint64_t total)
{
    if (!r->cosine || total == 0)
        return r->lr;
    return r->lr_min + 0.5 * (r->lr - r->lr_min) * (1.0 + cos(PI * (double)step / total));
}

/* One SGD step (PyTorch's formulation): g = grad + wd * w; v = mu * v + g;
 * w -= lr * (nesterov ? g + mu * v : v). */
static void sgd_step(larch_param *params, uint32_t n_params, float *velocity,
                     const trainer_recipe *r, double lr)
{
    const float mu = (float)r->momentum, step = (float)lr;
    for (uint32_t p = 0; p < n_params; p++) {
        float *w = params[p].value, *dw = params[p].grad, *v = velocity;
        const float wd = (params[p].flags & LARCH_PARAM_NO_DECAY) ? 0.0f : (float)r->weight_decay;
        for (size_t i = 0; i < params[p].count; i++) {
            float g = dw[i] + wd * w[i];
            v[i] = mu * v[i] + g;
            w[i] -= step * (r->nesterov ? g + mu * v[i] : v[i]);
        }
        velocity += params[p].count;
    }
}

static void zero_grads(larch_param *params, uint32_t n_params)
{
    for (uint32_t p = 0; p < n_params; p++)
        memset(params[p].grad, 0, params[p].count * sizeof(float));
}

static void shuffle(uint32_t *order, uint32_t n, larch_rng *rng)
{
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = (uint32_t)larch_rng_below(rng, (uint64_t)i + 1);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median wall time of eval forwards of one image, after a warm-up run. */
static double latency_ms(trainer_network *net, const trainer_data *data, batch_buffers *b)
{
    const trainer_dataset *ds = data->test.n  ? &data->test
                                : data->val.n ? &data->val
                                              : &data->train;
    b->idx[0] = 0;
    trainer_data_batch(data, ds, b->idx, 1, b->x, b->y);
    trainer_network_forward(net, b->x, 1, 0);
    double runs[LATENCY_RUNS];
    for (int k = 0; k < LATENCY_RUNS; k++) {
        double t0 = now_seconds();
        trainer_network_forward(net, b->x, 1, 0);
        runs[k] = (now_seconds() - t0) * 1e3;
    }
    qsort(runs, LATENCY_RUNS, sizeof(runs[0]), compare_double);
    return runs[LATENCY_RUNS / 2];
}

int trainer_train(trainer_network *net, const trainer_recipe *recipe, const trainer_data *data,
                  uint64_t seed, trainer_outcome *out, larch_error *err)
{
    if (net == NULL || recipe == NULL || data == NULL || out == NULL)
        return larch_error_set(err, LARCH_EINVAL, "trainer_train: NULL argument");
    int rc = check_inputs(net, recipe, data, err);
    if (rc != LARCH_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->status = LARCH_TRIAL_OK;
    out->params = trainer_network_params(net);
    out->flops = trainer_network_flops(net);

    const trainer_input_shape *in = trainer_network_input(net);
    larch_param *params = NULL;
    const uint32_t n_params = trainer_network_param_list(net, &params);
    size_t n_weights = 0;
    for (uint32_t p = 0; p < n_params; p++)
        n_weights += params[p].count;
    batch_buffers b;
    rc = buffers_init(&b, in, in->max_batch, err);
    if (rc != LARCH_OK)
        return rc;
    float *velocity = larch_tensor_alloc(n_weights ? n_weights : 1);
    uint32_t *order = malloc((size_t)data->train.n * sizeof(*order));
    if (velocity == NULL || order == NULL) {
        larch_tensor_free(velocity);
        free(order);
        buffers_release(&b);
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate training state (%zu weights)",
                               n_weights);
    }

    larch_rng rng;
    larch_rng_seed(&rng, seed);
    const uint32_t batch = recipe->batch;
    /* The last partial batch is dropped: a tiny batch would give noisy BN statistics. */
    const uint32_t steps = data->train.n / batch;
    const uint64_t total_steps = (uint64_t)steps * recipe->epochs;
    uint64_t step = 0;
    int diverged = 0;
    double t0 = now_seconds();
    for (uint32_t epoch = 0; epoch < recipe->epochs && !diverged; epoch++) {
        shuffle(order, data->train.n, &rng);
        double loss_sum = 0.0;
        for (uint32_t s = 0; s < steps; s++, step++) {
            trainer_data_batch(data, &data->train, order + (size_t)s * batch, batch, b.x, b.y);
            const float *logits = trainer_network_forward(net, b.x, batch, 1);
            double loss = larch_softmax_xent(logits, b.y, batch, in->classes, b.dlogits, NULL);
            if (!isfinite(loss)) {
                diverged = 1;
                break;
            }
            loss_sum += loss;
            zero_grads(params, n_params);
            trainer_network_backward(net, b.dlogits, batch);
            sgd_step(params, n_params, velocity, recipe, learning_rate(recipe, step, total_steps));
        }
        if (diverged)
            break;
        int finite = 1;
        double val = evaluate(net, data, &data->val, &b, &finite);
        if (!finite) {
            diverged = 1;
            break;
        }
        out->train_loss[epoch] = (float)(loss_sum / steps);
        out->val_accuracy_curve[epoch] = (float)val;
        out->val_accuracy = val;
        out->epochs_run = epoch + 1;
    }
    out->train_seconds = now_seconds() - t0;

    if (diverged) {
        out->status = LARCH_TRIAL_DIVERGED;
        out->val_accuracy = 0.0;
    } else {
        int finite = 1;
        out->test_accuracy = evaluate(net, data, &data->test, &b, &finite);
        if (!finite) {
            out->status = LARCH_TRIAL_DIVERGED;
            out->val_accuracy = out->test_accuracy = 0.0;
        }
    }
    out->latency_ms = latency_ms(net, data, &b);

    larch_tensor_free(velocity);
    free(order);
    buffers_release(&b);
    return LARCH_OK;
}
