/* Private to the SDK: the process-wide thread count and a small persistent thread pool that the
 * NN primitives use to split a batch. Not part of the public headers. */
#ifndef LARCH_SDK_PARALLEL_H
#define LARCH_SDK_PARALLEL_H

#include <stdint.h>

/* One task of a parallel run; task is in [0, n_tasks). */
typedef void (*larch_parallel_fn)(void *ctx, uint32_t task);

/* Runs fn(ctx, t) for every t in [0, n_tasks) and returns when all are done. Task 0 runs on the
 * calling thread, the others on pool threads (created lazily, kept for the life of the process);
 * if a pool thread cannot be created the caller runs that task itself, so the result never
 * depends on which thread ran a task. Calls from several threads are serialised; fn must not
 * call larch_parallel_run itself. */
void larch_parallel_run(uint32_t n_tasks, larch_parallel_fn fn, void *ctx);

/* Makes OpenBLAS single-threaded (once per process): the primitives split batches themselves. */
void larch_parallel_blas_single(void);

/* Task t of n_tasks covers items [larch_parallel_begin(n, t, T), larch_parallel_begin(n, t+1, T)).
 */
static inline uint32_t larch_parallel_begin(uint32_t n, uint32_t task, uint32_t n_tasks)
{
    return (uint32_t)(((uint64_t)n * task) / n_tasks);
}

#endif
