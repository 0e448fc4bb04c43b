/* The process-wide thread count and the persistent pool behind larch_parallel_run. */
#include "parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "larch/nn.h"

#define MAX_THREADS 64

/* The host and every plugin link their own copy of the SDK, so the thread count is shared
 * through the environment: larch_nn_set_threads sets THREADS_ENV, and a copy in which it was
 * never called reads it. 0 here means "not set in this copy". */
#define THREADS_ENV "LARCH_NN_THREADS"

static atomic_int thread_count = 0;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint32_t n_workers;
    uint64_t generation;
    larch_parallel_fn fn;
    void *ctx;
    uint32_t n_tasks;
    uint32_t pending;
    uint64_t start_generation[MAX_THREADS]; /* the generation each worker was created in */
};

static struct pool pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
                           .wake = PTHREAD_COND_INITIALIZER,
                           .done = PTHREAD_COND_INITIALIZER};
/* Held for a whole run so that runs from different threads do not interleave. */
static pthread_mutex_t submit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static int clamp_threads(long threads)
{
    return threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : (int)threads;
}

int larch_nn_set_threads(int threads)
{
    threads = clamp_threads(threads);
    atomic_store(&thread_count, threads);
    char text[16];
    snprintf(text, sizeof text, "%d", threads);
    setenv(THREADS_ENV, text, 1);
    return threads;
}

int larch_nn_threads(void)
{
    int threads = atomic_load(&thread_count);
    if (threads > 0)
        return threads;
    const char *text = getenv(THREADS_ENV);
    if (text == NULL || *text == '\0')
        return 1;
    return clamp_threads(strtol(text, NULL, 10));
}

static void blas_single(void)
{
    openblas_set_num_threads(1);
}

void larch_parallel_blas_single(void)
{
    pthread_once(&blas_once, blas_single);
}

/* A forked child has none of the parent's pool threads: start it with an empty pool. */
static void reset_in_child(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pthread_mutex_init(&submit_mu, NULL);
    pool.n_workers = 0;
    pool.pending = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, reset_in_child);
}

static void *worker_main(void *arg)
{
    uint32_t task = (uint32_t)(uintptr_t)arg;

    pthread_mutex_lock(&pool.mu);
    /* Not pool.generation: the run that created this worker may already have started. */
    uint64_t seen = pool.start_generation[task - 1];
    for (;;) {
        while (pool.generation == seen)
            pthread_cond_wait(&pool.wake, &pool.mu);
        seen = pool.generation;
        if (task >= pool.n_tasks)
            continue;
        larch_parallel_fn fn = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.mu);
        fn(ctx, task);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* Grows the pool to `want` workers (worker i runs task i + 1); called with pool.mu held. */
static void grow(uint32_t want)
{
    while (pool.n_workers < want) {
        pthread_t thread;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0)
            return;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pool.start_generation[pool.n_workers] = pool.generation;
        int rc =
            pthread_create(&thread, &attr, worker_main, (void *)(uintptr_t)(pool.n_workers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0)
            return;
        pool.n_workers++;
    }
}

void larch_parallel_run(uint32_t n_tasks, larch_parallel_fn fn, void *ctx)
{
    if (n_tasks <= 1) {
        if (n_tasks == 1)
            fn(ctx, 0);
        return;
    }
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&submit_mu);

    pthread_mutex_lock(&pool.mu);
    grow(n_tasks - 1);
    uint32_t on_pool = pool.n_workers < n_tasks - 1 ? pool.n_workers : n_tasks - 1;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_tasks = on_pool + 1;
    pool.pending = on_pool;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);

    fn(ctx, 0);
    for (uint32_t t = on_pool + 1; t < n_tasks; t++)
        fn(ctx, t);

    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);

    pthread_mutex_unlock(&submit_mu);
}
