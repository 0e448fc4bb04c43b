/* Training and evaluation of one network: SGD with momentum, cosine schedule, metrics. */
#ifndef TRAINER_TRAIN_H
#define TRAINER_TRAIN_H

#include <stdint.h>

#include <larch/status.h>

#include "data.h"
#include "network.h"

#define TRAINER_MAX_EPOCHS 200

typedef struct trainer_recipe {
    uint32_t epochs; /* 1..TRAINER_MAX_EPOCHS */
    uint32_t batch;  /* images per SGD step */
    double lr;       /* initial learning rate */
    double lr_min;   /* cosine schedule floor */
    double momentum; /* 0 = plain SGD */
    int nesterov;
    double weight_decay; /* L2, not applied to LARCH_PARAM_NO_DECAY params */
    int cosine;          /* 1: cosine decay per step to lr_min; 0: constant lr */
} trainer_recipe;

typedef struct trainer_outcome {
    int status;                         /* larch_trial_status: OK or DIVERGED */
    double val_accuracy, test_accuracy; /* in [0, 1], after the last epoch */
    uint32_t epochs_run;
    float train_loss[TRAINER_MAX_EPOCHS]; /* mean loss of each epoch */
    float val_accuracy_curve[TRAINER_MAX_EPOCHS];
    uint64_t params, flops;
    double latency_ms;    /* inference, per image, batch of 1, median of several runs */
    double train_seconds; /* wall time of the training epochs (incl. their validation) */
} trainer_outcome;

/* Trains net on data->train with recipe, evaluates val (each epoch) and test (at the end).
 * Shuffling derives from seed; the same seed and thread count give a bitwise identical outcome
 * (timings aside). Each epoch takes train.n / batch full batches (the remainder is dropped).
 * A NaN or infinite loss (or eval logit) stops training with status DIVERGED (accuracies 0) and
 * returns LARCH_OK: divergence is a result, not an error. Bad recipe values or data that does
 * not fit the network are LARCH_ERANGE / LARCH_EINVAL; out is then unspecified. */
int trainer_train(trainer_network *net, const trainer_recipe *recipe, const trainer_data *data,
                  uint64_t seed, trainer_outcome *out, larch_error *err);

/* Accuracy of net (eval mode) on ds, in batches of at most max_batch (0 or more than the
 * network's: the network's). Returns -1 if its buffers cannot be allocated; 0 for an empty ds. */
double trainer_accuracy(trainer_network *net, const trainer_data *data, const trainer_dataset *ds,
                        uint32_t max_batch);

#endif
