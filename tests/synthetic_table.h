/* A tabular benchmark with made-up numbers, written through the table writer, so replays can
 * be tested and benchmarked without training anything. Every architecture is its own unique
 * entry (no canonicalisation) and every recorded value is a closed-form function of (unique,
 * seed), so a test can tell which seed a replayed trial drew. Shared by tests/test_replay.c and
 * bench/bench_replay.c. */
#ifndef LARCH_TESTS_SYNTHETIC_TABLE_H
#define LARCH_TESTS_SYNTHETIC_TABLE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <larch/space.h>
#include <larch/strategy.h>

#include "../results/table.h"

/* The recorded result of (unique, seed) with its curves (max_epochs values each). Every 17th
 * entry diverged on seed 0 (its accuracies are then 0, as the trainer records them). */
static inline void synthetic_result(uint32_t u, uint32_t seed, uint32_t max_epochs, table_result *r,
                                    float *loss, float *val)
{
    memset(r, 0, sizeof *r);
    r->done = 1;
    r->status = u % 17 == 5 && seed == 0 ? LARCH_TRIAL_DIVERGED : LARCH_TRIAL_OK;
    r->n_epochs = max_epochs;
    r->train_seed = 1000u * u + seed;
    if (r->status == LARCH_TRIAL_OK) {
        double golden = fmod(0.6180339887 * (double)(u + 1), 1.0);
        r->val_accuracy = 0.5 + 0.375 * golden + 0.0078125 * seed;
        r->test_accuracy = r->val_accuracy - 0.015625;
    }
    r->latency_ms = 0.125 + 0.001 * u;
    r->train_seconds = 1.0 + (double)(u % 7) + 0.25 * seed;
    r->trained_at = 1.7e9;
    for (uint32_t e = 0; e < max_epochs; e++) {
        loss[e] = 2.0f / (float)(e + 1) + 0.0001f * (float)u + 0.01f * (float)seed;
        val[e] = (float)r->val_accuracy * (float)(e + 1) / (float)max_epochs;
    }
}

static inline uint64_t synthetic_params(uint32_t u)
{
    return 1000u + u;
}

static inline uint64_t synthetic_flops(uint32_t u)
{
    return 100000u + 7u * u;
}

/* Writes the table of space (every architecture, n_seeds seeds, max_epochs <= 64 epochs) to
 * path. complete 0 leaves the last entry's last seed unwritten. Returns a larch status. */
static inline int synthetic_table_write(const char *path, const larch_space *space,
                                        uint32_t n_seeds, uint32_t max_epochs, int complete,
                                        larch_error *err)
{
    uint64_t n = (uint64_t)larch_space_size(space);
    larch_arch *unique = malloc(n * sizeof *unique);
    uint32_t *to_unique = malloc(n * sizeof *to_unique);
    uint64_t *params = malloc(n * sizeof *params), *flops = malloc(n * sizeof *flops);
    int rc = LARCH_OK;
    if (!unique || !to_unique || !params || !flops || max_epochs > 64)
        rc = larch_error_set(err, LARCH_ENOMEM, "synthetic table: out of memory");
    for (uint64_t i = 0; rc == LARCH_OK && i < n; i++) {
        rc = larch_arch_from_index(space, i, &unique[i]);
        to_unique[i] = (uint32_t)i;
        params[i] = synthetic_params((uint32_t)i);
        flops[i] = synthetic_flops((uint32_t)i);
    }
    table_info info = {.space = space,
                       .n_seeds = n_seeds,
                       .max_epochs = max_epochs,
                       .seed = 42,
                       .config_text = "# synthetic\n",
                       .config_path = "synthetic.cfg",
                       .larch_version = "test",
                       .recipe = "synthetic = 1\n",
                       .created = "2025-01-01T00:00:00Z",
                       .n_unique = (uint32_t)n,
                       .unique = unique,
                       .arch_to_unique = to_unique,
                       .params = params,
                       .flops = flops};
    table_writer *w = NULL;
    if (rc == LARCH_OK)
        rc = table_writer_create(path, &info, &w, err);
    for (uint32_t u = 0; rc == LARCH_OK && u < n; u++)
        for (uint32_t s = 0; rc == LARCH_OK && s < n_seeds; s++) {
            if (!complete && u == n - 1 && s == n_seeds - 1)
                continue;
            table_result r;
            float loss[64], val[64];
            synthetic_result(u, s, max_epochs, &r, loss, val);
            rc = table_writer_put(w, u, s, &r, loss, val, err);
        }
    if (w) {
        larch_error close_err = {0};
        int close_rc = table_writer_close(w, &close_err);
        if (rc == LARCH_OK && close_rc != LARCH_OK) {
            *err = close_err;
            rc = close_rc;
        }
    }
    free(unique);
    free(to_unique);
    free(params);
    free(flops);
    return rc;
}

#endif
