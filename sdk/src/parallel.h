/* Private to the SDK: the process-wide thread count and a small persistent thread pool that the
 * NN primitives use to split a batch. Not part of the public headers. */
#ifndef LARCH_SDK_PARALLEL_H
#define LARCH_SDK_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* One task of a parallel run; task is in [0, n_tasks). */
typedef void (*larch_parallel_fn)(void *ctx, uint32_t task);

/* Runs fn(ctx, t) for every t in [0, n_tasks) and returns when all are done. Task 0 runs on the
 * calling thread, the others on pool threads (created lazily, kept for the life of the process);
 * if a pool thread cannot be created the caller runs that task itself, so the result never
 * depends on which thread ran a task. Calls from several threads are serialised; fn must not
 * call larch_parallel_run itself. */
void larch_parallel_run(uint32_t n_tasks, larch_parallel_fn fn, void *ctx);

/* Per-task scratch shared by every primitive of this copy of the SDK (runs never overlap, so
 * one arena per task suffices however many layers a network has). larch_parallel_reserve grows
 * the arena to at least `floats` floats for each of tasks 0..n_tasks-1; call it when building a
 * layer, never from inside a task. Returns 0, or -1 when out of memory (the arena is then
 * unchanged). larch_parallel_scratch(task) is 64-byte aligned and valid until the next reserve;
 * only a task of a run (or the sole caller of a 1-task run) may use it. */
int larch_parallel_reserve(uint32_t n_tasks, size_t floats);
float *larch_parallel_scratch(uint32_t task);

/* Makes OpenBLAS single-threaded (once per process): the primitives split batches themselves. */
void larch_parallel_blas_single(void);

/* Task t of n_tasks covers items [larch_parallel_begin(n, t, T), larch_parallel_begin(n, t+1, T)).
 */
static inline uint32_t larch_parallel_begin(uint32_t n, uint32_t task, uint32_t n_tasks)
{
    return (uint32_t)(((uint64_t)n * task) / n_tasks);
}

#endif
