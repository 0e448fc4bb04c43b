/* The process-wide thread count and the persistent pool behind larch_parallel_run. */
#include "parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

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
    int stopping;                           /* set when this copy of the SDK is unloaded */
    uint64_t start_generation[MAX_THREADS]; /* the generation each worker was created in */
};

static struct pool pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
                           .wake = PTHREAD_COND_INITIALIZER,
                           .done = PTHREAD_COND_INITIALIZER};
/* Mirrors of pool.generation and of the tasks still running, read without the lock by threads
 * that spin briefly before sleeping: a layer hands work to the pool several times per pass, and a
 * futex wake-up costs more than the gap between two hand-offs. */
static atomic_uint_fast64_t published;
static atomic_uint pending;
/* Pause instructions, some 15-30 microseconds: enough for the gaps inside a layer, short enough
 * that an idle pool does not compete with the other SDK copy's pool (a plugin's layers run on
 * the plugin's own copy) for the cores. */
#define SPIN_ROUNDS 1000

/* Held for a whole run so that runs from different threads do not interleave. */
static pthread_mutex_t submit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* The scratch arena: one buffer per task, grown by larch_parallel_reserve under submit_mu. */
static struct {
    uint32_t n_tasks;
    size_t floats; /* per task */
    float *task[MAX_THREADS];
} arena;

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
    atomic_store(&pending, 0);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, reset_in_child);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void spin_while_generation(uint64_t seen)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&published, memory_order_acquire) != seen)
            return;
        cpu_relax();
    }
}

static void *worker_main(void *arg)
{
    uint32_t task = (uint32_t)(uintptr_t)arg;
#if defined(__linux__)
    prctl(PR_SET_NAME, "larch-pool", 0, 0, 0);
#endif

    pthread_mutex_lock(&pool.mu);
    /* Not pool.generation: the run that created this worker may already have started. */
    uint64_t seen = pool.start_generation[task - 1];
    pthread_mutex_unlock(&pool.mu);
    for (;;) {
        spin_while_generation(seen);
        pthread_mutex_lock(&pool.mu);
        while (pool.generation == seen && !pool.stopping)
            pthread_cond_wait(&pool.wake, &pool.mu);
        if (pool.stopping) {
            pool.n_workers--;
            pthread_cond_broadcast(&pool.done);
            pthread_mutex_unlock(&pool.mu);
            return NULL;
        }
        seen = pool.generation;
        const int mine = task < pool.n_tasks;
        larch_parallel_fn fn = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.mu);
        if (!mine)
            continue;
        fn(ctx, task);
        /* The last one out wakes the submitter, under the lock so the wake-up cannot be lost. */
        if (atomic_fetch_sub(&pending, 1) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
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

int larch_parallel_reserve(uint32_t n_tasks, size_t floats)
{
    if (n_tasks > MAX_THREADS)
        n_tasks = MAX_THREADS;
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&submit_mu);
    int rc = 0;
    const size_t want = floats > arena.floats ? floats : arena.floats;
    const uint32_t tasks = n_tasks > arena.n_tasks ? n_tasks : arena.n_tasks;
    if (want > arena.floats || tasks > arena.n_tasks) {
        float *fresh[MAX_THREADS] = {0};
        for (uint32_t t = 0; t < tasks && rc == 0; t++)
            if ((fresh[t] = larch_tensor_alloc(want)) == NULL)
                rc = -1;
        for (uint32_t t = 0; t < tasks; t++) {
            if (rc != 0) {
                larch_tensor_free(fresh[t]);
                continue;
            }
            larch_tensor_free(arena.task[t]);
            arena.task[t] = fresh[t];
        }
        if (rc == 0) {
            arena.floats = want;
            arena.n_tasks = tasks;
        }
    }
    pthread_mutex_unlock(&submit_mu);
    return rc;
}

/* Pool and arena live as long as this copy of the SDK. A plugin's copy goes with dlclose (no run
 * is active then): its workers must leave the library's code before it is unmapped. */
__attribute__((destructor)) static void pool_release(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.wake);
    while (pool.n_workers > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    for (uint32_t t = 0; t < arena.n_tasks; t++) {
        larch_tensor_free(arena.task[t]);
        arena.task[t] = NULL;
    }
    arena.n_tasks = 0;
    arena.floats = 0;
}

float *larch_parallel_scratch(uint32_t task)
{
    return task < arena.n_tasks ? arena.task[task] : NULL;
}

void larch_parallel_run(uint32_t n_tasks, larch_parallel_fn fn, void *ctx)
{
    pthread_once(&atfork_once, register_atfork);
    if (n_tasks <= 1) {
        /* Still under submit_mu: the task may use the shared scratch arena. */
        if (n_tasks == 1) {
            pthread_mutex_lock(&submit_mu);
            fn(ctx, 0);
            pthread_mutex_unlock(&submit_mu);
        }
        return;
    }
    pthread_mutex_lock(&submit_mu);

    pthread_mutex_lock(&pool.mu);
    grow(n_tasks - 1);
    uint32_t on_pool = pool.n_workers < n_tasks - 1 ? pool.n_workers : n_tasks - 1;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_tasks = on_pool + 1;
    atomic_store(&pending, on_pool);
    pool.generation++;
    atomic_store_explicit(&published, pool.generation, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);

    fn(ctx, 0);
    for (uint32_t t = on_pool + 1; t < n_tasks; t++)
        fn(ctx, t);

    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&pending) > 0; i++)
        cpu_relax();
    if (atomic_load(&pending) > 0) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load(&pending) > 0)
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }

    pthread_mutex_unlock(&submit_mu);
}
