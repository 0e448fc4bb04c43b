/* Dataset readers (IDX, CIFAR-10 binary) and the train / validation / test split. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <larch/rng.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define DATA_CLASSES 10u
/* Far beyond any real dataset; keeps n * h * w well inside size_t and the header sane. */
#define IDX_MAX_SIDE 4096u
#define CIFAR_SIDE 32u
#define CIFAR_RECORD (1u + 3u * CIFAR_SIDE * CIFAR_SIDE)

static gzFile open_gz(const char *path, larch_error *err)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (f == NULL)
        larch_error_set(err, LARCH_EIO, "cannot open %s: %s", path,
                        errno ? strerror(errno) : "out of memory");
    return f;
}

/* Reads exactly size bytes; a short read is a truncated file (EFORMAT), a zlib error is EIO. */
static int read_exact(gzFile f, void *buf, size_t size, const char *path, const char *what,
                      larch_error *err)
{
    size_t done = 0;
    while (done < size) {
        size_t chunk = size - done;
        if (chunk > (1u << 30))
            chunk = 1u << 30;
        int got = gzread(f, (uint8_t *)buf + done, (unsigned)chunk);
        if (got < 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            return larch_error_set(err, zerr == Z_ERRNO ? LARCH_EIO : LARCH_EFORMAT,
                                   "%s: cannot read %s: %s", path, what,
                                   zerr == Z_ERRNO ? strerror(errno) : msg);
        }
        if (got == 0)
            return larch_error_set(err, LARCH_EFORMAT,
                                   "%s: truncated: expected %zu bytes of %s, found %zu", path, size,
                                   what, done);
        done += (size_t)got;
    }
    return LARCH_OK;
}

static uint32_t be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Reads the magic and n_dims big-endian dimensions that begin an IDX file. */
static int read_idx_header(gzFile f, const char *path, uint32_t magic, uint32_t n_dims,
                           uint32_t *dims, larch_error *err)
{
    uint8_t head[16];
    int rc = read_exact(f, head, 4u * (1u + n_dims), path, "IDX header", err);
    if (rc != LARCH_OK)
        return rc;
    uint32_t found = be32(head);
    if (found != magic)
        return larch_error_set(err, LARCH_EFORMAT, "%s: bad IDX magic 0x%08x, expected 0x%08x",
                               path, found, magic);
    for (uint32_t i = 0; i < n_dims; i++)
        dims[i] = be32(head + 4u * (1u + i));
    return LARCH_OK;
}

/* A file longer than its header says is as malformed as a shorter one. */
static int expect_eof(gzFile f, const char *path, size_t expected, larch_error *err)
{
    uint8_t extra;
    if (gzread(f, &extra, 1) != 0)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%s: expected %zu bytes of data after the header, found more", path,
                               expected);
    return LARCH_OK;
}

static int check_labels(const uint8_t *labels, uint32_t n, const char *path, larch_error *err)
{
    for (uint32_t i = 0; i < n; i++)
        if (labels[i] >= DATA_CLASSES)
            return larch_error_set(err, LARCH_EFORMAT,
                                   "%s: label %u of item %u is out of range, expected < %u", path,
                                   labels[i], i, DATA_CLASSES);
    return LARCH_OK;
}

static int load_idx_images(trainer_dataset *ds, const char *path, larch_error *err)
{
    gzFile f = open_gz(path, err);
    if (f == NULL)
        return LARCH_EIO;
    uint32_t dims[3];
    int rc = read_idx_header(f, path, IDX_MAGIC_IMAGES, 3, dims, err);
    if (rc == LARCH_OK && (dims[0] == 0 || dims[1] == 0 || dims[2] == 0 || dims[1] > IDX_MAX_SIDE ||
                           dims[2] > IDX_MAX_SIDE))
        rc = larch_error_set(err, LARCH_EFORMAT,
                             "%s: bad image dimensions %u x %u x %u, expected non-zero sizes "
                             "with sides <= %u",
                             path, dims[0], dims[1], dims[2], IDX_MAX_SIDE);
    size_t size = 0;
    if (rc == LARCH_OK) {
        size = (size_t)dims[0] * dims[1] * dims[2];
        ds->pixels = malloc(size);
        if (ds->pixels == NULL)
            rc = larch_error_set(err, LARCH_ENOMEM, "%s: cannot allocate %zu bytes of images", path,
                                 size);
    }
    if (rc == LARCH_OK)
        rc = read_exact(f, ds->pixels, size, path, "image data", err);
    if (rc == LARCH_OK)
        rc = expect_eof(f, path, size, err);
    gzclose(f);
    if (rc == LARCH_OK) {
        ds->n = dims[0];
        ds->c = 1;
        ds->h = dims[1];
        ds->w = dims[2];
    }
    return rc;
}

static int load_idx_labels(trainer_dataset *ds, const char *path, larch_error *err)
{
    gzFile f = open_gz(path, err);
    if (f == NULL)
        return LARCH_EIO;
    uint32_t n = 0;
    int rc = read_idx_header(f, path, IDX_MAGIC_LABELS, 1, &n, err);
    if (rc == LARCH_OK && n != ds->n)
        rc = larch_error_set(err, LARCH_EFORMAT,
                             "%s: %u labels, expected %u (the number of images)", path, n, ds->n);
    if (rc == LARCH_OK) {
        ds->labels = malloc(n);
        if (ds->labels == NULL)
            rc = larch_error_set(err, LARCH_ENOMEM, "%s: cannot allocate %u labels", path, n);
    }
    if (rc == LARCH_OK)
        rc = read_exact(f, ds->labels, n, path, "labels", err);
    if (rc == LARCH_OK)
        rc = expect_eof(f, path, n, err);
    if (rc == LARCH_OK)
        rc = check_labels(ds->labels, n, path, err);
    gzclose(f);
    return rc;
}

int trainer_dataset_load_idx(trainer_dataset *ds, const char *images_path, const char *labels_path,
                             larch_error *err)
{
    if (ds == NULL || images_path == NULL || labels_path == NULL)
        return larch_error_set(err, LARCH_EINVAL, "trainer_dataset_load_idx: NULL argument");
    memset(ds, 0, sizeof(*ds));
    int rc = load_idx_images(ds, images_path, err);
    if (rc == LARCH_OK)
        rc = load_idx_labels(ds, labels_path, err);
    if (rc != LARCH_OK) {
        trainer_dataset_release(ds);
        return rc;
    }
    ds->classes = DATA_CLASSES;
    return LARCH_OK;
}

/* Size of a CIFAR file in records, validated before anything is allocated. */
static int cifar_records(const char *path, uint32_t *records, larch_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return larch_error_set(err, LARCH_EIO, "cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return larch_error_set(err, LARCH_EIO, "%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0 || size % CIFAR_RECORD != 0)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%s: size %llu bytes is not a non-zero multiple of the %u-byte "
                               "CIFAR-10 record",
                               path, (unsigned long long)size, CIFAR_RECORD);
    if (size / CIFAR_RECORD > UINT32_MAX / 2)
        return larch_error_set(err, LARCH_EFORMAT, "%s: %llu bytes is too large", path,
                               (unsigned long long)size);
    *records = (uint32_t)(size / CIFAR_RECORD);
    return LARCH_OK;
}

static int read_cifar_file(trainer_dataset *ds, const char *path, uint32_t first, uint32_t records,
                           uint8_t *record, larch_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return larch_error_set(err, LARCH_EIO, "cannot open %s: %s", path, strerror(errno));
    const size_t image = CIFAR_RECORD - 1;
    int rc = LARCH_OK;
    for (uint32_t r = 0; r < records && rc == LARCH_OK; r++) {
        if (fread(record, 1, CIFAR_RECORD, f) != CIFAR_RECORD)
            rc = larch_error_set(err, LARCH_EFORMAT, "%s: truncated in record %u of %u", path, r,
                                 records);
        else if (record[0] >= DATA_CLASSES)
            rc = larch_error_set(err, LARCH_EFORMAT,
                                 "%s: label %u of record %u is out of range, expected < %u", path,
                                 record[0], r, DATA_CLASSES);
        else {
            ds->labels[first + r] = record[0];
            memcpy(ds->pixels + (size_t)(first + r) * image, record + 1, image);
        }
    }
    fclose(f);
    return rc;
}

int trainer_dataset_load_cifar10(trainer_dataset *ds, const char *const *paths, uint32_t n_paths,
                                 larch_error *err)
{
    if (ds == NULL || paths == NULL || n_paths == 0)
        return larch_error_set(err, LARCH_EINVAL, "trainer_dataset_load_cifar10: no files");
    memset(ds, 0, sizeof(*ds));
    uint32_t *records = calloc(n_paths, sizeof(*records));
    if (records == NULL)
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate CIFAR-10 file table");
    uint64_t total = 0;
    int rc = LARCH_OK;
    for (uint32_t i = 0; i < n_paths && rc == LARCH_OK; i++) {
        rc = cifar_records(paths[i], &records[i], err);
        total += records[i];
    }
    if (rc == LARCH_OK && total > UINT32_MAX / 2)
        rc = larch_error_set(err, LARCH_ERANGE, "CIFAR-10: %llu records is too many",
                             (unsigned long long)total);
    uint8_t *record = NULL;
    if (rc == LARCH_OK) {
        ds->pixels = malloc((size_t)total * (CIFAR_RECORD - 1));
        ds->labels = malloc((size_t)total);
        record = malloc(CIFAR_RECORD);
        if (ds->pixels == NULL || ds->labels == NULL || record == NULL)
            rc = larch_error_set(err, LARCH_ENOMEM, "cannot allocate %llu CIFAR-10 images",
                                 (unsigned long long)total);
    }
    uint32_t first = 0;
    for (uint32_t i = 0; i < n_paths && rc == LARCH_OK; i++) {
        rc = read_cifar_file(ds, paths[i], first, records[i], record, err);
        first += records[i];
    }
    free(record);
    free(records);
    if (rc != LARCH_OK) {
        trainer_dataset_release(ds);
        return rc;
    }
    ds->n = (uint32_t)total;
    ds->c = 3;
    ds->h = CIFAR_SIDE;
    ds->w = CIFAR_SIDE;
    ds->classes = DATA_CLASSES;
    return LARCH_OK;
}

void trainer_dataset_release(trainer_dataset *ds)
{
    if (ds == NULL)
        return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof(*ds));
}

int trainer_dataset_select(const trainer_dataset *src, const uint32_t *indices, uint32_t n,
                           trainer_dataset *out, larch_error *err)
{
    memset(out, 0, sizeof(*out));
    const size_t image = (size_t)src->c * src->h * src->w;
    for (uint32_t i = 0; i < n; i++)
        if (indices[i] >= src->n)
            return larch_error_set(err, LARCH_ERANGE, "image index %u out of range, expected < %u",
                                   indices[i], src->n);
    /* malloc(0) may return NULL: keep at least one byte so an empty set is not an error. */
    uint8_t *pixels = malloc(n ? (size_t)n * image : 1);
    uint8_t *labels = malloc(n ? n : 1);
    if (pixels == NULL || labels == NULL) {
        free(pixels);
        free(labels);
        return larch_error_set(err, LARCH_ENOMEM, "cannot allocate %u images", n);
    }
    for (uint32_t i = 0; i < n; i++) {
        memcpy(pixels + (size_t)i * image, src->pixels + (size_t)indices[i] * image, image);
        labels[i] = src->labels[indices[i]];
    }
    *out = *src;
    out->n = n;
    out->pixels = pixels;
    out->labels = labels;
    return LARCH_OK;
}

/* dir/name if it exists, else dir/name.gz; EIO naming both when neither does. */
static int find_file(char *out, size_t size, const char *dir, const char *name, larch_error *err)
{
    snprintf(out, size, "%s/%s", dir, name);
    if (access(out, R_OK) == 0)
        return LARCH_OK;
    snprintf(out, size, "%s/%s.gz", dir, name);
    if (access(out, R_OK) == 0)
        return LARCH_OK;
    return larch_error_set(err, LARCH_EIO, "cannot find %s/%s or %s/%s.gz: %s", dir, name, dir,
                           name, strerror(errno));
}

static int load_idx_pair(trainer_dataset *ds, const char *dir, const char *images,
                         const char *labels, larch_error *err)
{
    char ipath[4096], lpath[4096];
    int rc = find_file(ipath, sizeof(ipath), dir, images, err);
    if (rc == LARCH_OK)
        rc = find_file(lpath, sizeof(lpath), dir, labels, err);
    if (rc == LARCH_OK)
        rc = trainer_dataset_load_idx(ds, ipath, lpath, err);
    return rc;
}

static int load_cifar_dir(trainer_dataset *train, trainer_dataset *test, const char *dir,
                          larch_error *err)
{
    char names[6][4096];
    const char *paths[6];
    for (int i = 0; i < 5; i++) {
        snprintf(names[i], sizeof(names[i]), "%s/data_batch_%d.bin", dir, i + 1);
        paths[i] = names[i];
    }
    snprintf(names[5], sizeof(names[5]), "%s/test_batch.bin", dir);
    paths[5] = names[5];
    int rc = trainer_dataset_load_cifar10(train, paths, 5, err);
    if (rc == LARCH_OK)
        rc = trainer_dataset_load_cifar10(test, paths + 5, 1, err);
    return rc;
}

/* Per-channel mean and std of the pixels on the 0..1 scale; exact integer sums keep the result
 * independent of summation order. */
static void channel_stats(const trainer_dataset *ds, float *mean, float *std)
{
    const size_t hw = (size_t)ds->h * ds->w;
    for (uint32_t c = 0; c < 3; c++) {
        mean[c] = 0.0f;
        std[c] = 1.0f;
    }
    for (uint32_t c = 0; c < ds->c && c < 3; c++) {
        uint64_t sum = 0, sumsq = 0;
        for (uint32_t i = 0; i < ds->n; i++) {
            const uint8_t *p = ds->pixels + ((size_t)i * ds->c + c) * hw;
            for (size_t k = 0; k < hw; k++) {
                sum += p[k];
                sumsq += (uint64_t)p[k] * p[k];
            }
        }
        double count = (double)ds->n * (double)hw;
        if (count == 0)
            continue;
        double m = (double)sum / count;
        double var = (double)sumsq / count - m * m;
        double s = var > 0 ? sqrt(var) : 0.0;
        mean[c] = (float)(m / 255.0);
        /* A constant channel would divide by zero; leave it unscaled. */
        std[c] = s > 1e-3 ? (float)(s / 255.0) : 1.0f;
    }
}

int trainer_data_load(trainer_data *data, const trainer_data_config *config, larch_error *err)
{
    if (data == NULL || config == NULL || config->dir == NULL)
        return larch_error_set(err, LARCH_EINVAL, "trainer_data_load: NULL argument");
    memset(data, 0, sizeof(*data));
    trainer_dataset full_train, full_test;
    memset(&full_train, 0, sizeof(full_train));
    memset(&full_test, 0, sizeof(full_test));
    int rc;
    if (config->format == TRAINER_DATA_IDX) {
        rc = load_idx_pair(&full_train, config->dir, "train-images-idx3-ubyte",
                           "train-labels-idx1-ubyte", err);
        if (rc == LARCH_OK)
            rc = load_idx_pair(&full_test, config->dir, "t10k-images-idx3-ubyte",
                               "t10k-labels-idx1-ubyte", err);
    } else if (config->format == TRAINER_DATA_CIFAR10) {
        rc = load_cifar_dir(&full_train, &full_test, config->dir, err);
    } else {
        rc = larch_error_set(err, LARCH_EINVAL, "unknown data format %d", (int)config->format);
    }
    if (rc == LARCH_OK &&
        (full_train.c != full_test.c || full_train.h != full_test.h || full_train.w != full_test.w))
        rc = larch_error_set(err, LARCH_EFORMAT,
                             "%s: training images are %ux%ux%u but test images %ux%ux%u",
                             config->dir, full_train.c, full_train.h, full_train.w, full_test.c,
                             full_test.h, full_test.w);

    uint32_t n = full_train.n;
    uint32_t train_size = config->train_size;
    if (rc == LARCH_OK && config->val_size >= n)
        rc = larch_error_set(err, LARCH_ERANGE,
                             "val_size %u is too large: %s has %u training images",
                             config->val_size, config->dir, n);
    if (rc == LARCH_OK && train_size == 0)
        train_size = n - config->val_size;
    if (rc == LARCH_OK && train_size > n - config->val_size)
        rc = larch_error_set(err, LARCH_ERANGE,
                             "train_size %u is too large: %s has %u training images, %u after "
                             "the validation split of %u",
                             train_size, config->dir, n, n - config->val_size, config->val_size);
    uint32_t test_size = config->test_size ? config->test_size : full_test.n;
    if (rc == LARCH_OK && test_size > full_test.n)
        rc = larch_error_set(err, LARCH_ERANGE, "test_size %u is too large: %s has %u test images",
                             test_size, config->dir, full_test.n);

    uint32_t *order = NULL;
    if (rc == LARCH_OK) {
        order = malloc((size_t)(n > test_size ? n : test_size) * sizeof(*order));
        if (order == NULL)
            rc = larch_error_set(err, LARCH_ENOMEM, "cannot allocate the split of %u images", n);
    }
    if (rc == LARCH_OK) {
        /* Fisher-Yates with the split seed: the split depends on nothing else. */
        larch_rng rng;
        larch_rng_seed(&rng, config->split_seed);
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        for (uint32_t i = n - 1; i > 0; i--) {
            uint32_t j = (uint32_t)larch_rng_below(&rng, (uint64_t)i + 1);
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        rc = trainer_dataset_select(&full_train, order, config->val_size, &data->val, err);
    }
    if (rc == LARCH_OK)
        rc = trainer_dataset_select(&full_train, order + config->val_size, train_size, &data->train,
                                    err);
    if (rc == LARCH_OK) {
        for (uint32_t i = 0; i < test_size; i++)
            order[i] = i;
        rc = trainer_dataset_select(&full_test, order, test_size, &data->test, err);
    }
    free(order);
    trainer_dataset_release(&full_train);
    trainer_dataset_release(&full_test);
    if (rc != LARCH_OK) {
        trainer_data_release(data);
        return rc;
    }
    channel_stats(&data->train, data->mean, data->std);
    return LARCH_OK;
}

void trainer_data_release(trainer_data *data)
{
    if (data == NULL)
        return;
    trainer_dataset_release(&data->train);
    trainer_dataset_release(&data->val);
    trainer_dataset_release(&data->test);
    memset(data, 0, sizeof(*data));
}

void trainer_data_batch(const trainer_data *data, const trainer_dataset *ds,
                        const uint32_t *indices, uint32_t n, float *x, uint8_t *y)
{
    const uint32_t c = ds->c < 3 ? ds->c : 3;
    const size_t hw = (size_t)ds->h * ds->w;
    /* A lookup table per channel: one multiply-add per pixel value instead of per pixel. */
    float table[3][256];
    for (uint32_t ch = 0; ch < c; ch++)
        for (int v = 0; v < 256; v++)
            table[ch][v] = ((float)v / 255.0f - data->mean[ch]) / data->std[ch];
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *src = ds->pixels + (size_t)indices[i] * ds->c * hw;
        float *dst = x + (size_t)i * ds->c * hw;
        for (uint32_t ch = 0; ch < ds->c; ch++) {
            const float *t = table[ch < 3 ? ch : 2];
            for (size_t k = 0; k < hw; k++)
                dst[ch * hw + k] = t[src[ch * hw + k]];
        }
        if (y != NULL)
            y[i] = ds->labels[indices[i]];
    }
}
