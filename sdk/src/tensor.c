/* Aligned float buffers and elementwise helpers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "larch/nn.h"

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
