/* Aligned float buffers and elementwise helpers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "larch/nn.h"
#include "parallel.h"

/* Below this many floats a split costs more than it saves. */
#define PARALLEL_MIN 65536

float *larch_tensor_alloc(size_t count)
{
    if (count == 0 || count > (SIZE_MAX - 63) / sizeof(float))
        return NULL;
    /* Whole cache lines, so vector loops may read to the end of the last line. */
    size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
    void *data = NULL;
    if (posix_memalign(&data, 64, bytes) != 0)
        return NULL;
    memset(data, 0, bytes);
    return data;
}

void larch_tensor_free(float *data)
{
    free(data);
}

void larch_tensor_add(float *y, const float *x, size_t count)
{
    /* Blocks of 8 through a local array: vectorised at -O2 though y may alias x. */
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        float t[8];
        for (int l = 0; l < 8; l++)
            t[l] = y[i + l] + x[i + l];
        for (int l = 0; l < 8; l++)
            y[i + l] = t[l];
    }
    for (; i < count; i++)
        y[i] += x[i];
}

struct add_job {
    float *y;
    const float *x;
    size_t count;
    uint32_t n_tasks;
};

static void add_task(void *arg, uint32_t task)
{
    const struct add_job *job = arg;
    /* Whole 64-byte lines per task: no line is written by two threads. */
    const size_t lines = (job->count + 15) / 16;
    const size_t begin = lines * task / job->n_tasks * 16;
    size_t end = lines * (task + 1) / job->n_tasks * 16;
    if (end > job->count)
        end = job->count;
    if (begin < end)
        larch_tensor_add(job->y + begin, job->x + begin, end - begin);
}

void larch_tensor_add_parallel(float *y, const float *x, size_t count)
{
    uint32_t tasks = (uint32_t)larch_nn_threads();
    if (tasks <= 1 || count < PARALLEL_MIN) {
        larch_tensor_add(y, x, count);
        return;
    }
    struct add_job job = {y, x, count, tasks};
    larch_parallel_run(tasks, add_task, &job);
}
