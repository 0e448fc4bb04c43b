/* Training throughput of the shared trainer (images/s, forward + backward + SGD step) on the
 * reference net and on an all-conv3x3 cell net, batch 64, 1 and 2 threads, Fashion-MNIST.
 * Usage: bench_trainer [--images N] [--data DIR] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/nn.h>

#include "../host/loader.h"
#include "../trainer/data.h"
#include "../trainer/network.h"
#include "../trainer/train.h"

typedef struct bench_case {
    const char *name;
    int cell; /* 0: reference net; 1: all-conv3x3 cell net */
} bench_case;

static int build(const bench_case *bc, const larch_opset_vtable *opset,
                 const trainer_input_shape *input, trainer_network **net, larch_error *err)
{
    if (!bc->cell)
        return trainer_network_new_reference(input, 1, net, err);
    trainer_cell_config cell = {.nodes = 4, .channels = 16, .cells_per_stage = 1};
    uint32_t conv3x3 = 0;
    for (uint32_t i = 0; i < opset->n_ops; i++)
        if (!strcmp(opset->ops[i].name, "nor_conv_3x3"))
            conv3x3 = i;
    larch_arch arch = {.n = 6};
    memset(arch.choice, (int)conv3x3, 6);
    return trainer_network_new_cell(&cell, opset, &arch, input, 1, net, err);
}

int main(int argc, char **argv)
{
    uint32_t images = 6400;
    const char *dir = "/usr/share/datasets/fashion-mnist";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--images"))
            images = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--data"))
            dir = argv[i + 1];
    }
    larch_error err = {0};
    host_plugin nb201;
    if (host_plugin_load(LARCH_PLUGIN_BUILD_DIR "/ops-nb201.so", &nb201, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    trainer_data_config dc = {.format = TRAINER_DATA_IDX,
                              .dir = dir,
                              .train_size = images,
                              .val_size = 64,
                              .test_size = 64,
                              .split_seed = 0};
    trainer_data data;
    if (trainer_data_load(&data, &dc, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    const bench_case cases[] = {{"reference net (4 convs)", 0},
                                {"cell net, all nor_conv_3x3, C=16, 1 cell/stage", 1}};
    trainer_recipe recipe = {.epochs = 1,
                             .batch = 64,
                             .lr = 0.05,
                             .momentum = 0.9,
                             .nesterov = 1,
                             .weight_decay = 5e-4,
                             .cosine = 1};
    printf("training throughput, Fashion-MNIST 28x28, batch %u, %u images per measurement\n\n",
           recipe.batch, images);
    printf("%-48s %8s %12s %12s %10s\n", "network", "threads", "MFLOP/img", "images/s", "GFLOP/s");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int threads = 1; threads <= 2; threads++) {
            larch_nn_set_threads(threads);
            trainer_input_shape input = {.c = data.train.c,
                                         .h = data.train.h,
                                         .w = data.train.w,
                                         .classes = data.train.classes,
                                         .max_batch = recipe.batch};
            trainer_network *net = NULL;
            if (build(&cases[c], nb201.desc->opset, &input, &net, &err) != LARCH_OK) {
                fprintf(stderr, "bench: %s\n", err.message);
                return 1;
            }
            trainer_outcome out;
            if (trainer_train(net, &recipe, &data, 1, &out, &err) != LARCH_OK) {
                fprintf(stderr, "bench: %s\n", err.message);
                return 1;
            }
            double trained = (double)(images / recipe.batch * recipe.batch);
            double ips = trained / out.train_seconds;
            /* Training costs about 3x the forward pass (forward, backward-data, backward-weights).
             */
            double mflop = 2.0 * (double)out.flops / 1e6;
            printf("%-48s %8d %12.2f %12.0f %10.1f\n", cases[c].name, threads, mflop, ips,
                   3 * mflop * ips / 1e3);
            trainer_network_free(net);
        }
    }
    trainer_data_release(&data);
    return 0;
}
