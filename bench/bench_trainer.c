/* Training speed, memory and accuracy of larch's trainer against PyTorch 1.13 (bench/
 * pytorch_bench.py) on the same networks, data, recipe and thread counts, on Fashion-MNIST:
 *
 *   1. the machine: CPU, load, the measured sgemm peak (OpenBLAS, one thread, 1536^3) and FMA peak;
 *   2. per layer (batch 64, one thread): forward and backward GFLOP/s and their share of both
 * peaks;
 *   3. training images/s (forward + backward + SGD step) of the reference net and the all-conv3x3
 *      cell net, batch 64 and 256, 1 and 2 threads, larch and PyTorch alternating run by run so
 *      machine noise hits both, with the ratio larch / PyTorch (medians);
 *   4. the peak RSS of a training run of the cell net at batch 64 against the sum of its
 *      activations, gradients and parameters;
 *   5. accuracy parity: the reference net trained 1 and 3 epochs on the full training set by both
 *      with the same recipe, test accuracy (skipped by --quick).
 *
 * Usage: bench_trainer [--quick] [--no-torch] [--repeats N] [--data DIR] [--python PATH]
 * Without PyTorch (no python3-torch) only larch's figures are printed. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <larch/nn.h>

#include "../host/loader.h"
#include "../trainer/data.h"
#include "../trainer/network.h"
#include "../trainer/train.h"

#define CELL_C 16
#define MAX_REPEATS 15

typedef struct options {
    int quick, torch, repeats;
    const char *data_dir, *python, *script;
} options;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_load(const char *when)
{
    double load[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = load[1] = load[2] = -1;
        fclose(f);
    }
    printf("load average %s: %.2f %.2f %.2f (1, 5, 15 min)\n", when, load[0], load[1], load[2]);
}

static void cpu_model(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon != NULL) {
                snprintf(out, size, "%s", colon + 2);
                out[strcspn(out, "\n")] = '\0';
            }
            break;
        }
    fclose(f);
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- peaks ---- */

/* Best of several single-threaded sgemm calls on a large square (GFLOP/s). */
static double sgemm_peak(void)
{
    const int n = 1536;
    float *a = larch_tensor_alloc((size_t)n * n), *b = larch_tensor_alloc((size_t)n * n);
    float *c = larch_tensor_alloc((size_t)n * n);
    if (a == NULL || b == NULL || c == NULL)
        return 0.0;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    openblas_set_num_threads(1);
    double best = 1e30;
    for (int r = 0; r < 4; r++) {
        const double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        const double t = now_seconds() - t0;
        best = t < best ? t : best;
    }
    larch_tensor_free(a);
    larch_tensor_free(b);
    larch_tensor_free(c);
    return 2.0 * n * n * (double)n / best / 1e9;
}

#if defined(__x86_64__)
/* 24 independent FMA chains per iteration: the core's FMA throughput. */
__attribute__((target("avx512f"))) static double fma_loop_avx512(long iters)
{
    __m512 acc[24];
    for (int i = 0; i < 24; i++)
        acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 m = _mm512_set1_ps(0.999f), add = _mm512_set1_ps(1e-4f);
    const double t0 = now_seconds();
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], m, add);
    const double t = now_seconds() - t0;
    __m512 s = acc[0];
    for (int i = 1; i < 24; i++)
        s = _mm512_add_ps(s, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 24 * 32 / t / 1e9;
}

__attribute__((target("avx2,fma"))) static double fma_loop_avx2(long iters)
{
    __m256 acc[12];
    for (int i = 0; i < 12; i++)
        acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 m = _mm256_set1_ps(0.999f), add = _mm256_set1_ps(1e-4f);
    const double t0 = now_seconds();
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], m, add);
    const double t = now_seconds() - t0;
    float out[8];
    _mm256_storeu_ps(out, acc[0]);
    volatile float sink = out[0];
    (void)sink;
    return (double)iters * 12 * 16 / t / 1e9;
}
#endif

/* Best of several runs of the widest FMA loop the CPU has (GFLOP/s); 0 when unknown. */
static double fma_peak(const char **isa)
{
    *isa = "none";
    double best = 0.0;
#if defined(__x86_64__)
    for (int r = 0; r < 5; r++) {
        double g = 0.0;
        if (__builtin_cpu_supports("avx512f")) {
            g = fma_loop_avx512(20000000);
            *isa = "AVX-512";
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            g = fma_loop_avx2(20000000);
            *isa = "AVX2";
        }
        best = g > best ? g : best;
    }
#endif
    return best;
}

/* ---- networks ---- */

static int build_net(int cell, const larch_opset_vtable *opset, const trainer_data *data,
                     uint32_t batch, uint64_t seed, trainer_network **net, larch_error *err)
{
    const trainer_input_shape input = {data->train.c, data->train.h, data->train.w,
                                       data->train.classes, batch};
    if (!cell)
        return trainer_network_new_reference(&input, seed, net, err);
    trainer_cell_config config = {.nodes = 4, .channels = CELL_C, .cells_per_stage = 1};
    uint32_t conv3x3 = 0;
    for (uint32_t i = 0; i < opset->n_ops; i++)
        if (strcmp(opset->ops[i].name, "nor_conv_3x3") == 0)
            conv3x3 = i;
    larch_arch arch = {.n = 6};
    memset(arch.choice, (int)conv3x3, 6);
    return trainer_network_new_cell(&config, opset, &arch, &input, seed, net, err);
}

static trainer_recipe recipe_for(uint32_t batch, uint32_t epochs)
{
    return (trainer_recipe){.epochs = epochs,
                            .batch = batch,
                            .lr = 0.05,
                            .lr_min = 0.0,
                            .momentum = 0.9,
                            .nesterov = 1,
                            .weight_decay = 5e-4,
                            .cosine = 1};
}

/* The first n training images of data, sharing its buffers (never released). */
static trainer_data head_of(const trainer_data *data, uint32_t n)
{
    trainer_data d = *data;
    d.train.n = n < data->train.n ? n : data->train.n;
    d.val.n = 0;
    d.test.n = 0;
    return d;
}

/* ---- the PyTorch side: one python3 process answering one command per line ---- */

typedef struct torch_proc {
    pid_t pid;
    FILE *to, *from;
    char version[256];
} torch_proc;

static int torch_start(torch_proc *tp, const options *opt)
{
    memset(tp, 0, sizeof *tp);
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(opt->python, opt->python, opt->script, "--serve", opt->data_dir, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    tp->pid = pid;
    tp->to = fdopen(in[1], "w");
    tp->from = fdopen(out[0], "r");
    char line[256];
    if (tp->to == NULL || tp->from == NULL || fgets(line, sizeof line, tp->from) == NULL ||
        strncmp(line, "ready torch ", 12) != 0) {
        if (tp->to != NULL)
            fclose(tp->to);
        if (tp->from != NULL)
            fclose(tp->from);
        waitpid(pid, NULL, 0);
        tp->pid = 0;
        return -1;
    }
    snprintf(tp->version, sizeof tp->version, "%s", line + 12);
    tp->version[strcspn(tp->version, "\n")] = '\0';
    return 0;
}

/* Sends one command; the answer's values after "ok" go to values (up to max). Returns how many,
 * or -1 with the answer printed. */
static int torch_ask(torch_proc *tp, const char *command, double *values, int max)
{
    if (tp->pid == 0)
        return -1;
    fprintf(tp->to, "%s\n", command);
    fflush(tp->to);
    char line[4096];
    if (fgets(line, sizeof line, tp->from) == NULL) {
        fprintf(stderr, "bench: the PyTorch process ended (command: %s)\n", command);
        tp->pid = 0;
        return -1;
    }
    if (strncmp(line, "ok", 2) != 0) {
        fprintf(stderr, "bench: PyTorch answered %s", line);
        return -1;
    }
    int n = 0;
    char *p = line + 2;
    while (n < max) {
        char *end;
        const double v = strtod(p, &end);
        if (end == p)
            break;
        values[n++] = v;
        p = end;
    }
    return n;
}

static void torch_stop(torch_proc *tp)
{
    if (tp->pid == 0)
        return;
    fprintf(tp->to, "quit\n");
    fclose(tp->to);
    fclose(tp->from);
    waitpid(tp->pid, NULL, 0);
    tp->pid = 0;
}

/* ---- 2. per-layer GFLOP/s ---- */

typedef struct layer_case {
    const char *where;
    uint32_t c_in, c_out, k, stride, hw;
    int kind; /* 0: conv-BN-ReLU, 1: conv-BN, 2: ReLU-conv-BN, 3: plain conv */
} layer_case;

static void time_layer(const layer_case *lc, uint32_t n, double peak_sgemm, double peak_fma)
{
    larch_rng rng;
    larch_rng_seed(&rng, 3);
    larch_error err = {0};
    larch_conv_bn cb;
    larch_conv2d conv;
    const uint32_t flags = lc->kind == 0   ? LARCH_CONV_BN_RELU_OUT
                           : lc->kind == 2 ? LARCH_CONV_BN_RELU_IN
                                           : 0;
    const int plain = lc->kind == 3;
    int rc = plain ? larch_conv2d_init(&conv, lc->c_in, lc->c_out, lc->k, lc->stride,
                                       (lc->k - 1) / 2, lc->hw, lc->hw, n, &rng, &err)
                   : larch_conv_bn_init(&cb, lc->c_in, lc->c_out, lc->k, lc->stride, lc->hw, lc->hw,
                                        n, flags, &rng, &err);
    if (rc != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return;
    }
    const larch_conv2d *c = plain ? &conv : &cb.conv;
    const size_t xc = (size_t)n * lc->c_in * lc->hw * lc->hw;
    const size_t yc = (size_t)n * lc->c_out * c->h_out * c->w_out;
    float *x = larch_tensor_alloc(xc), *y = larch_tensor_alloc(yc);
    float *dy = larch_tensor_alloc(yc), *dx = larch_tensor_alloc(xc);
    if (x == NULL || y == NULL || dy == NULL || dx == NULL) {
        fprintf(stderr, "bench: out of memory for a layer\n");
        return;
    }
    for (size_t i = 0; i < xc; i++)
        x[i] = (float)larch_rng_normal(&rng);
    for (size_t i = 0; i < yc; i++)
        dy[i] = (float)larch_rng_normal(&rng);
    /* The first layer of a network needs no input gradient. */
    float *dxp = lc->c_in == 1 ? NULL : dx;
    double fwd[9], bwd[9];
    for (int r = 0; r < 11; r++) {
        const double t0 = now_seconds();
        if (plain)
            larch_conv2d_forward(&conv, x, y, n);
        else
            larch_conv_bn_forward(&cb, x, y, n, 1);
        const double t1 = now_seconds();
        if (plain)
            larch_conv2d_backward(&conv, x, dy, dxp, n);
        else
            larch_conv_bn_backward(&cb, x, y, dy, dxp, n);
        const double t2 = now_seconds();
        if (r >= 2) {
            fwd[r - 2] = t1 - t0;
            bwd[r - 2] = t2 - t1;
        }
    }
    const double flop = 2.0 * (double)larch_conv2d_flops(c) * n;
    const double tf = median(fwd, 9), tb = median(bwd, 9);
    const double gf = flop / tf / 1e9, gb = (dxp ? 2 : 1) * flop / tb / 1e9;
    static const char *kinds[] = {"conv-BN-ReLU", "conv-BN", "ReLU-conv-BN", "conv"};
    char shape[64];
    snprintf(shape, sizeof shape, "%s %ux%u/%u %u->%u @%u", kinds[lc->kind], lc->k, lc->k,
             lc->stride, lc->c_in, lc->c_out, lc->hw);
    printf("%-16s %-34s %7.3f %7.1f %5.0f%% %5.0f%% %7.3f %7.1f %5.0f%% %5.0f%%\n", lc->where,
           shape, tf * 1e3, gf, 100 * gf / peak_sgemm, peak_fma > 0 ? 100 * gf / peak_fma : 0,
           tb * 1e3, gb, 100 * gb / peak_sgemm, peak_fma > 0 ? 100 * gb / peak_fma : 0);
    larch_tensor_free(x);
    larch_tensor_free(y);
    larch_tensor_free(dy);
    larch_tensor_free(dx);
    if (plain)
        larch_conv2d_release(&conv);
    else
        larch_conv_bn_release(&cb);
}

static void per_layer(double peak_sgemm, double peak_fma)
{
    static const layer_case cases[] = {
        {"reference", 1, 16, 3, 1, 28, 0},     {"reference", 16, 32, 3, 2, 28, 0},
        {"reference", 32, 32, 3, 1, 14, 0},    {"reference", 32, 64, 3, 2, 14, 0},
        {"cell stem", 1, CELL_C, 3, 1, 28, 1}, {"cell stage 1", 16, 16, 3, 1, 28, 2},
        {"reduction 1", 16, 32, 3, 2, 28, 2},  {"shortcut 1", 16, 32, 1, 1, 14, 3},
        {"cell stage 2", 32, 32, 3, 1, 14, 2}, {"reduction 2", 32, 64, 3, 2, 14, 2},
        {"shortcut 2", 32, 64, 1, 1, 7, 3},    {"cell stage 3", 64, 64, 3, 1, 7, 2},
    };
    larch_nn_set_threads(1);
    printf(
        "\nper layer, batch 64, 1 thread, training mode (median of 9; backward = input and weight "
        "gradients, 2x the forward FLOPs, weight only for a first layer):\n");
    printf("%-16s %-34s %7s %7s %6s %6s %7s %7s %6s %6s\n", "network", "layer", "fwd ms", "GFLOP/s",
           "sgemm", "FMA", "bwd ms", "GFLOP/s", "sgemm", "FMA");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        time_layer(&cases[i], 64, peak_sgemm, peak_fma);
}

/* ---- 3. throughput ---- */

/* Images per second of one epoch over data's training images (after a warm-up of two steps). */
static double larch_rate(trainer_network *net, const trainer_data *data, uint32_t batch,
                         larch_error *err)
{
    trainer_recipe recipe = recipe_for(batch, 1);
    trainer_outcome out;
    if (trainer_train(net, &recipe, data, 1, &out, err) != LARCH_OK)
        return -1.0;
    return (double)(data->train.n / batch * batch) / out.train_seconds;
}

static void throughput(const options *opt, torch_proc *tp, const larch_opset_vtable *opset,
                       const trainer_data *data)
{
    printf("\ntraining images/s (forward + backward + SGD step), medians of %d runs, larch and "
           "PyTorch alternating:\n",
           opt->repeats);
    printf("%-10s %6s %8s %10s %10s %10s %7s %12s\n", "network", "batch", "threads", "MFLOP/img",
           "larch", "PyTorch", "ratio", "larch GF/s");
    const uint32_t batches[2] = {64, 256};
    for (int cell = 0; cell < 2; cell++)
        for (int b = 0; b < 2; b++)
            for (int threads = 1; threads <= 2; threads++) {
                const uint32_t batch = batches[b];
                /* About 2-4 seconds a run on one thread. */
                uint32_t images = cell ? 1280 : 6400;
                if (images < 10 * batch)
                    images = 10 * batch;
                const trainer_data run = head_of(data, images);
                const trainer_data warm = head_of(data, 2 * batch);
                larch_nn_set_threads(threads);
                trainer_network *net = NULL;
                larch_error err = {0};
                if (build_net(cell, opset, data, batch, 1, &net, &err) != LARCH_OK) {
                    fprintf(stderr, "bench: %s\n", err.message);
                    return;
                }
                larch_rate(net, &warm, batch, &err);
                double ours[MAX_REPEATS], theirs[MAX_REPEATS];
                int n_theirs = 0;
                char command[160];
                snprintf(command, sizeof command, "throughput %s %u %d %u 1",
                         cell ? "cell" : "reference", batch, threads, images);
                for (int r = 0; r < opt->repeats; r++) {
                    ours[r] = larch_rate(net, &run, batch, &err);
                    double v;
                    if (torch_ask(tp, command, &v, 1) == 1)
                        theirs[n_theirs++] = v;
                }
                const double mflop = 2.0 * (double)trainer_network_flops(net) / 1e6;
                trainer_network_free(net);
                const double mine = median(ours, opt->repeats);
                const double other = n_theirs > 0 ? median(theirs, n_theirs) : 0.0;
                char other_text[32] = "-", ratio_text[32] = "-";
                if (other > 0) {
                    snprintf(other_text, sizeof other_text, "%.0f", other);
                    snprintf(ratio_text, sizeof ratio_text, "%.2f", mine / other);
                }
                /* Training is about 3x the forward pass (forward, input and weight gradients). */
                printf("%-10s %6u %8d %10.2f %10.0f %10s %7s %12.1f\n", cell ? "cell" : "reference",
                       batch, threads, mflop, mine, other_text, ratio_text, 3 * mflop * mine / 1e3);
                fflush(stdout);
            }
}

/* ---- 4. memory ---- */

static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kb = -1;
    const size_t len = strlen(field);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kb = strtol(line + len + 1, NULL, 10);
    fclose(f);
    return kb;
}

/* Floats of the cell net's activations: the tensors its forward pass hands to backward. Per
 * image: the input; the stem's conv output and output; per cell edge the conv output (its
 * ReLU'd input is recomputed), and the 3 node values; per reduction block the conv outputs of
 * both convs, the first one's output, the pooled shortcut input, and the block output; the head's
 * BN-ReLU output. */
static double cell_activation_floats(uint32_t batch)
{
    const double t1 = CELL_C * 28.0 * 28.0, t2 = t1 / 2, t3 = t2 / 2;
    const double per_image = 28.0 * 28.0 + 2 * t1 + (6 + 3) * t1 + (3 * t2 + t1 / 4 + t2) +
                             (6 + 3) * t2 + (3 * t3 + t2 / 4 + t3) + (6 + 3) * t3 + t3;
    return per_image * batch;
}

/* Hidden mode: a fresh process that trains the cell net one short epoch and prints its peak RSS
 * (reset after loading the data) and its baseline. */
static int memory_run(const options *opt, const larch_opset_vtable *opset)
{
    trainer_data_config dc = {.format = TRAINER_DATA_IDX,
                              .dir = opt->data_dir,
                              .train_size = 640,
                              .val_size = 64,
                              .test_size = 64,
                              .split_seed = 0};
    trainer_data data;
    larch_error err = {0};
    if (trainer_data_load(&data, &dc, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL || fputs("5", f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench: cannot reset the peak RSS: %s\n", strerror(errno));
        return 1;
    }
    const long base_kb = status_kb("VmRSS");
    larch_nn_set_threads(2);
    trainer_network *net = NULL;
    if (build_net(1, opset, &data, 64, 1, &net, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    trainer_recipe recipe = recipe_for(64, 1);
    trainer_outcome out;
    if (trainer_train(net, &recipe, &data, 1, &out, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    printf("%ld %ld %llu\n", base_kb, status_kb("VmHWM"),
           (unsigned long long)trainer_network_params(net));
    trainer_network_free(net);
    trainer_data_release(&data);
    return 0;
}

static void memory(char **argv)
{
    char exe[4096];
    const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        fprintf(stderr, "bench: cannot find its own executable\n");
        return;
    }
    exe[len] = '\0';
    char command[8192];
    snprintf(command, sizeof command, "'%s' --memory-run", exe);
    for (int i = 1; argv[i] != NULL; i++)
        if (strcmp(argv[i], "--data") == 0 && argv[i + 1] != NULL)
            snprintf(command + strlen(command), sizeof command - strlen(command), " --data '%s'",
                     argv[i + 1]);
    fflush(stdout);
    FILE *p = popen(command, "r");
    long base_kb = -1, hwm_kb = -1;
    unsigned long long params = 0;
    if (p == NULL || fscanf(p, "%ld %ld %llu", &base_kb, &hwm_kb, &params) != 3) {
        fprintf(stderr, "bench: the memory run failed\n");
        if (p != NULL)
            pclose(p);
        return;
    }
    pclose(p);
    const double mib = 1024.0 * 1024.0;
    const double act = cell_activation_floats(64) * 4 / mib;
    /* Parameters, their gradients and the momentum buffer. */
    const double par = 3.0 * (double)params * 4 / mib;
    const double minimum = 2 * act + par;
    printf("\nmemory, cell net, batch 64, 2 threads, one epoch of 10 steps:\n");
    printf("  activations %.1f MiB + their gradients %.1f MiB + parameters, gradients and "
           "momentum %.1f MiB = minimum %.1f MiB\n",
           act, act, par, minimum);
    printf("  peak RSS of the training run %.1f MiB (process baseline with libraries and data "
           "%.1f MiB): %.2f x the minimum (target <= 1.5)\n",
           hwm_kb / 1024.0, base_kb / 1024.0, hwm_kb / 1024.0 / minimum);
}

/* ---- 5. accuracy parity ---- */

static void accuracy(const options *opt, torch_proc *tp, const larch_opset_vtable *opset)
{
    trainer_data_config dc = {.format = TRAINER_DATA_IDX,
                              .dir = opt->data_dir,
                              .train_size = 0,
                              .val_size = 0,
                              .test_size = 0,
                              .split_seed = 0};
    trainer_data data;
    larch_error err = {0};
    if (trainer_data_load(&data, &dc, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return;
    }
    const uint32_t batch = 64, threads = 2;
    printf("\naccuracy parity, reference net, all %u training images, batch %u, lr 0.05 cosine, "
           "Nesterov 0.9, wd 5e-4, %u threads:\n",
           data.train.n, batch, threads);
    printf("%-7s %15s %15s %12s %12s\n", "epochs", "larch test acc", "torch test acc", "difference",
           "larch s / torch s");
    const uint32_t epochs[2] = {1, 3};
    for (int e = 0; e < 2; e++) {
        larch_nn_set_threads((int)threads);
        trainer_network *net = NULL;
        if (build_net(0, opset, &data, batch, 7, &net, &err) != LARCH_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            break;
        }
        trainer_recipe recipe = recipe_for(batch, epochs[e]);
        trainer_outcome out;
        if (trainer_train(net, &recipe, &data, 7, &out, &err) != LARCH_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            trainer_network_free(net);
            break;
        }
        trainer_network_free(net);
        char command[128];
        snprintf(command, sizeof command, "accuracy reference %u %u %u 0.05 7", batch, threads,
                 epochs[e]);
        double v[2] = {0};
        const int got = torch_ask(tp, command, v, 2);
        if (got == 2)
            printf("%-7u %14.2f%% %14.2f%% %+11.2f %7.1f / %.1f\n", epochs[e],
                   100 * out.test_accuracy, 100 * v[0], 100 * (out.test_accuracy - v[0]),
                   out.train_seconds, v[1]);
        else
            printf("%-7u %14.2f%% %15s %12s %7.1f / -\n", epochs[e], 100 * out.test_accuracy, "-",
                   "-", out.train_seconds);
        fflush(stdout);
    }
    trainer_data_release(&data);
}

int main(int argc, char **argv)
{
    options opt = {.quick = 0,
                   .torch = 1,
                   .repeats = 5,
                   .data_dir = "/usr/share/datasets/fashion-mnist",
                   .python = "/usr/bin/python3",
                   .script = LARCH_BENCH_DIR "/pytorch_bench.py"};
    int memory_child = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = i + 1 < argc;
        if (strcmp(a, "--quick") == 0)
            opt.quick = 1;
        else if (strcmp(a, "--no-torch") == 0)
            opt.torch = 0;
        else if (strcmp(a, "--memory-run") == 0)
            memory_child = 1;
        else if (strcmp(a, "--repeats") == 0 && has_value)
            opt.repeats = atoi(argv[++i]);
        else if (strcmp(a, "--data") == 0 && has_value)
            opt.data_dir = argv[++i];
        else if (strcmp(a, "--python") == 0 && has_value)
            opt.python = argv[++i];
        else {
            fprintf(stderr,
                    "usage: bench_trainer [--quick] [--no-torch] [--repeats N] [--data DIR] "
                    "[--python PATH]\n");
            return 2;
        }
    }
    if (opt.repeats < 1)
        opt.repeats = 1;
    if (opt.repeats > MAX_REPEATS)
        opt.repeats = MAX_REPEATS;

    larch_error err = {0};
    host_plugin nb201;
    if (host_plugin_load(LARCH_PLUGIN_BUILD_DIR "/ops-nb201.so", &nb201, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    const larch_opset_vtable *opset = nb201.desc->opset;
    if (memory_child)
        return memory_run(&opt, opset);

    signal(SIGPIPE, SIG_IGN);
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("larch trainer bench: Fashion-MNIST 28x28, %ld CPUs online: %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), cpu);
    print_load("at start");
    const double peak_sgemm = sgemm_peak();
    const char *isa;
    const double peak_fma = fma_peak(&isa);
    printf("sgemm peak (OpenBLAS %s kernel, 1 thread, 1536^3): %.1f GFLOP/s; FMA peak (%s, 1 "
           "core): %.1f GFLOP/s\n",
           openblas_get_corename(), peak_sgemm, isa, peak_fma);

    torch_proc tp = {0};
    if (opt.torch && torch_start(&tp, &opt) == 0)
        printf("PyTorch %s (%s), oneDNN, same networks, data and threads\n", tp.version,
               opt.python);
    else if (opt.torch)
        printf("PyTorch not available (%s %s): larch only (`make bench` installs python3-torch)\n",
               opt.python, opt.script);

    per_layer(peak_sgemm, peak_fma);

    trainer_data_config dc = {.format = TRAINER_DATA_IDX,
                              .dir = opt.data_dir,
                              .train_size = 6400,
                              .val_size = 0,
                              .test_size = 64,
                              .split_seed = 0};
    trainer_data data;
    if (trainer_data_load(&data, &dc, &err) != LARCH_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    throughput(&opt, &tp, opset, &data);
    trainer_data_release(&data);
    print_load("after the throughput runs");

    memory(argv);
    if (!opt.quick)
        accuracy(&opt, &tp, opset);
    print_load("at the end");
    torch_stop(&tp);
    return 0;
}
