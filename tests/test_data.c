/* Dataset readers and the split: small IDX and CIFAR files written at run time into a temporary
 * directory, then read back, broken on purpose, and split. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "data.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/larch-test-data-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

TestSuite(data, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* Writes bytes to path, gzipped through zlib when gz is set. */
static void write_file(const char *path, const uint8_t *bytes, size_t size, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f);
        if (size > 0)
            cr_assert_eq(gzwrite(f, bytes, (unsigned)size), (int)size);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(bytes, 1, size, f), size);
        cr_assert_eq(fclose(f), 0);
    }
}

/* Image i has pixel k = (i * 7 + k) & 255 except the first two bytes, which encode i so that
 * every image is unique. drop removes bytes from the end (truncation). */
static void write_idx_images(const char *path, uint32_t magic, uint32_t n, uint32_t h, uint32_t w,
                             size_t drop, int gz)
{
    size_t size = 16 + (size_t)n * h * w;
    uint8_t *b = malloc(size);
    cr_assert_not_null(b);
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, h);
    put_be32(b + 12, w);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *img = b + 16 + (size_t)i * h * w;
        for (uint32_t k = 0; k < h * w; k++)
            img[k] = (uint8_t)((i * 7 + k) & 255);
        img[0] = (uint8_t)(i & 255);
        img[1] = (uint8_t)(i >> 8);
    }
    write_file(path, b, size - drop, gz);
    free(b);
}

static uint8_t label_of(uint32_t i)
{
    return (uint8_t)((i * 3 + 1) % 10);
}

static void write_idx_labels(const char *path, uint32_t n, int bad_index, int gz)
{
    size_t size = 8 + n;
    uint8_t *b = malloc(size);
    cr_assert_not_null(b);
    put_be32(b, 0x801);
    put_be32(b + 4, n);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = label_of(i);
    if (bad_index >= 0)
        b[8 + bad_index] = 10;
    write_file(path, b, size, gz);
    free(b);
}

static uint32_t image_id(const trainer_dataset *ds, uint32_t i)
{
    const uint8_t *img = ds->pixels + (size_t)i * ds->c * ds->h * ds->w;
    return img[0] | ((uint32_t)img[1] << 8);
}

static void check_roundtrip(int gz)
{
    const char *ip = tmp_path(gz ? "img.gz" : "img");
    const char *lp = tmp_path(gz ? "lab.gz" : "lab");
    write_idx_images(ip, 0x803, 12, 5, 6, 0, gz);
    write_idx_labels(lp, 12, -1, gz);
    trainer_dataset ds;
    larch_error err = {0};
    cr_assert_eq(trainer_dataset_load_idx(&ds, ip, lp, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(ds.n, 12);
    cr_assert_eq(ds.c, 1);
    cr_assert_eq(ds.h, 5);
    cr_assert_eq(ds.w, 6);
    cr_assert_eq(ds.classes, 10);
    for (uint32_t i = 0; i < 12; i++) {
        cr_assert_eq(image_id(&ds, i), i);
        cr_assert_eq(ds.pixels[i * 30 + 29], (uint8_t)((i * 7 + 29) & 255));
        cr_assert_eq(ds.labels[i], label_of(i));
    }
    trainer_dataset_release(&ds);
    trainer_dataset_release(&ds); /* releasing twice is allowed */
}

Test(data, idx_plain_roundtrip)
{
    check_roundtrip(0);
}

Test(data, idx_gzip_roundtrip)
{
    check_roundtrip(1);
}

/* Loads and expects failure with status and a message that names `name`. */
static void expect_idx_error(const char *ip, const char *lp, int status, const char *name,
                             const char *fragment)
{
    trainer_dataset ds;
    larch_error err = {0};
    int rc = trainer_dataset_load_idx(&ds, ip, lp, &err);
    cr_assert_eq(rc, status, "rc %d (%s): %s", rc, larch_status_name(rc), err.message);
    cr_assert_eq(err.status, status);
    cr_assert_not_null(strstr(err.message, name), "message '%s' lacks '%s'", err.message, name);
    if (fragment != NULL)
        cr_assert_not_null(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message,
                           fragment);
    cr_assert_null(ds.pixels);
    cr_assert_null(ds.labels);
}

Test(data, idx_truncated_images)
{
    const char *ip = tmp_path("trunc-img.gz");
    const char *lp = tmp_path("lab");
    write_idx_images(ip, 0x803, 10, 4, 4, 5, 1);
    write_idx_labels(lp, 10, -1, 0);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "trunc-img.gz", "expected 160");
}

Test(data, idx_truncated_header)
{
    const char *ip = tmp_path("short-img");
    const char *lp = tmp_path("lab");
    write_idx_images(ip, 0x803, 0, 4, 4, 8, 0);
    write_idx_labels(lp, 0, -1, 0);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "short-img", "truncated");
}

Test(data, idx_wrong_magic)
{
    const char *ip = tmp_path("magic-img");
    const char *lp = tmp_path("lab");
    write_idx_images(ip, 0x801, 3, 4, 4, 0, 0);
    write_idx_labels(lp, 3, -1, 0);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "magic-img", "0x00000803");
}

Test(data, idx_labels_wrong_magic)
{
    const char *ip = tmp_path("img");
    const char *lp = tmp_path("labels-as-images");
    write_idx_images(ip, 0x803, 3, 4, 4, 0, 0);
    write_idx_images(lp, 0x803, 3, 4, 4, 0, 0);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "labels-as-images", "magic");
}

Test(data, idx_label_count_mismatch)
{
    const char *ip = tmp_path("img");
    const char *lp = tmp_path("few-labels.gz");
    write_idx_images(ip, 0x803, 8, 4, 4, 0, 0);
    write_idx_labels(lp, 7, -1, 1);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "few-labels.gz", "expected 8");
}

Test(data, idx_label_out_of_range)
{
    const char *ip = tmp_path("img");
    const char *lp = tmp_path("bad-label");
    write_idx_images(ip, 0x803, 8, 4, 4, 0, 0);
    write_idx_labels(lp, 8, 5, 0);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "bad-label", "label 10");
}

Test(data, idx_trailing_bytes)
{
    const char *ip = tmp_path("long-img");
    const char *lp = tmp_path("lab");
    /* Header says 4 images; the file holds 5. */
    write_idx_images(ip, 0x803, 5, 4, 4, 0, 0);
    FILE *f = fopen(ip, "r+b");
    cr_assert_not_null(f);
    uint8_t four[4];
    put_be32(four, 4);
    fseek(f, 4, SEEK_SET);
    fwrite(four, 1, 4, f);
    fclose(f);
    write_idx_labels(lp, 4, -1, 0);
    expect_idx_error(ip, lp, LARCH_EFORMAT, "long-img", NULL);
}

Test(data, idx_missing_file)
{
    const char *lp = tmp_path("lab");
    write_idx_labels(lp, 4, -1, 0);
    expect_idx_error(tmp_path("no-such-file"), lp, LARCH_EIO, "no-such-file", NULL);
    const char *ip = tmp_path("img");
    write_idx_images(ip, 0x803, 4, 4, 4, 0, 0);
    expect_idx_error(ip, tmp_path("no-labels"), LARCH_EIO, "no-labels", NULL);
}

/* n CIFAR records, image i filled with (i + channel) and labelled label_of(i). */
static void write_cifar(const char *path, uint32_t n, int bad_label_at, size_t extra)
{
    size_t size = (size_t)n * 3073 + extra;
    uint8_t *b = calloc(size, 1);
    cr_assert_not_null(b);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *r = b + (size_t)i * 3073;
        r[0] = (int)i == bad_label_at ? 10 : label_of(i);
        for (uint32_t c = 0; c < 3; c++)
            memset(r + 1 + c * 1024, (int)(i + c), 1024);
    }
    write_file(path, b, size, 0);
    free(b);
}

Test(data, cifar_good)
{
    const char *paths[2] = {tmp_path("batch1.bin"), tmp_path("batch2.bin")};
    write_cifar(paths[0], 3, -1, 0);
    write_cifar(paths[1], 2, -1, 0);
    trainer_dataset ds;
    larch_error err = {0};
    cr_assert_eq(trainer_dataset_load_cifar10(&ds, paths, 2, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(ds.n, 5);
    cr_assert_eq(ds.c, 3);
    cr_assert_eq(ds.h, 32);
    cr_assert_eq(ds.w, 32);
    cr_assert_eq(ds.labels[2], label_of(2));
    cr_assert_eq(ds.labels[3], label_of(0)); /* first record of the second file */
    cr_assert_eq(ds.pixels[2 * 3072 + 2048 + 5], 4);
    cr_assert_eq(ds.pixels[4 * 3072 + 1024], 2);
    trainer_dataset_release(&ds);
}

static void expect_cifar_error(const char *path, int status, const char *fragment)
{
    trainer_dataset ds;
    larch_error err = {0};
    const char *paths[1] = {path};
    int rc = trainer_dataset_load_cifar10(&ds, paths, 1, &err);
    cr_assert_eq(rc, status, "rc %d: %s", rc, err.message);
    cr_assert_not_null(strstr(err.message, path), "message '%s'", err.message);
    cr_assert_not_null(strstr(err.message, fragment), "message '%s'", err.message);
    cr_assert_null(ds.pixels);
}

Test(data, cifar_bad_size)
{
    const char *p = tmp_path("odd.bin");
    write_cifar(p, 2, -1, 17);
    expect_cifar_error(p, LARCH_EFORMAT, "3073");
}

Test(data, cifar_bad_label)
{
    const char *p = tmp_path("label10.bin");
    write_cifar(p, 3, 1, 0);
    expect_cifar_error(p, LARCH_EFORMAT, "label 10");
}

Test(data, cifar_missing)
{
    expect_cifar_error(tmp_path("none.bin"), LARCH_EIO, "none.bin");
}

/* A tiny IDX dataset dir: 100 training and 30 test images of 4x4. */
static void write_tiny_dir(int gz)
{
    write_idx_images(tmp_path(gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte"), 0x803,
                     100, 4, 4, 0, gz);
    write_idx_labels(tmp_path(gz ? "train-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte"), 100,
                     -1, gz);
    write_idx_images(tmp_path("t10k-images-idx3-ubyte"), 0x803, 30, 4, 4, 0, 0);
    write_idx_labels(tmp_path("t10k-labels-idx1-ubyte.gz"), 30, -1, 1);
}

static trainer_data_config tiny_config(uint32_t train, uint32_t val, uint32_t test, uint64_t seed)
{
    trainer_data_config c = {TRAINER_DATA_IDX, tmpdir, train, val, test, seed};
    return c;
}

Test(data, split_sizes_and_disjoint)
{
    write_tiny_dir(1);
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = tiny_config(50, 20, 10, 7);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(d.train.n, 50);
    cr_assert_eq(d.val.n, 20);
    cr_assert_eq(d.test.n, 10);
    cr_assert_eq(d.train.h, 4);
    cr_assert_eq(d.val.c, 1);
    int seen[100] = {0};
    for (uint32_t i = 0; i < d.val.n; i++)
        seen[image_id(&d.val, i)] |= 1;
    for (uint32_t i = 0; i < d.train.n; i++) {
        uint32_t id = image_id(&d.train, i);
        cr_assert_lt(id, 100);
        cr_assert_eq(seen[id], 0, "image %u in both val and train (or twice in train)", id);
        seen[id] |= 2;
        cr_assert_eq(d.train.labels[i], label_of(id), "label travels with its image");
    }
    /* The test subset is the first test_size test images, in order. */
    for (uint32_t i = 0; i < d.test.n; i++)
        cr_assert_eq(image_id(&d.test, i), i);
    trainer_data_release(&d);
}

/* Image ids of the validation then training sets. */
static void split_ids(uint64_t seed, uint32_t *ids)
{
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = tiny_config(0, 20, 0, seed);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(d.val.n + d.train.n, 100, "train_size 0 takes all the rest");
    cr_assert_eq(d.test.n, 30, "test_size 0 takes the whole test set");
    for (uint32_t i = 0; i < d.val.n; i++)
        ids[i] = image_id(&d.val, i);
    for (uint32_t i = 0; i < d.train.n; i++)
        ids[d.val.n + i] = image_id(&d.train, i);
    trainer_data_release(&d);
}

Test(data, split_deterministic_per_seed)
{
    write_tiny_dir(0);
    uint32_t a[100], b[100], c[100];
    split_ids(11, a);
    split_ids(11, b);
    split_ids(12, c);
    cr_assert_arr_eq(a, b, sizeof(a), "same seed, same split");
    cr_assert(memcmp(a, c, 20 * sizeof(uint32_t)) != 0, "another seed, another validation set");
}

Test(data, split_too_large)
{
    write_tiny_dir(1);
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = tiny_config(81, 20, 0, 1);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_ERANGE);
    cr_assert_not_null(strstr(err.message, "81"), "%s", err.message);
    cfg = tiny_config(10, 100, 0, 1);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_ERANGE);
    cr_assert_not_null(strstr(err.message, "100"), "%s", err.message);
    cfg = tiny_config(10, 10, 31, 1);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_ERANGE);
    cr_assert_not_null(strstr(err.message, "31"), "%s", err.message);
    cfg = tiny_config(80, 20, 30, 1);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_OK, "exactly all fits: %s", err.message);
    trainer_data_release(&d);
}

Test(data, missing_dir_file)
{
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = tiny_config(10, 10, 10, 1);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_EIO);
    cr_assert_not_null(strstr(err.message, "train-images-idx3-ubyte"), "%s", err.message);
}

Test(data, normalised_batch)
{
    write_tiny_dir(0);
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = tiny_config(60, 20, 5, 3);
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_OK, "%s", err.message);
    /* Over the whole training set the normalised pixels have mean 0 and variance 1. */
    uint32_t idx[60];
    for (uint32_t i = 0; i < 60; i++)
        idx[i] = i;
    float x[60 * 16];
    uint8_t y[60];
    trainer_data_batch(&d, &d.train, idx, 60, x, y);
    double sum = 0, sumsq = 0;
    for (int k = 0; k < 60 * 16; k++) {
        sum += x[k];
        sumsq += (double)x[k] * x[k];
    }
    cr_assert_lt(fabs(sum / (60 * 16)), 1e-4);
    cr_assert_lt(fabs(sumsq / (60 * 16) - 1.0), 1e-3);
    cr_assert_eq(y[3], d.train.labels[3]);
    /* One pixel by hand. */
    float expect = ((float)d.train.pixels[3 * 16 + 5] / 255.0f - d.mean[0]) / d.std[0];
    cr_assert_float_eq(x[3 * 16 + 5], expect, 1e-5);
    trainer_data_release(&d);
}

/* A CIFAR-10 directory: 5 training batches of 2 records and a test batch of 3. */
Test(data, cifar_dir_split_and_stats)
{
    char name[32];
    for (int b = 1; b <= 5; b++) {
        snprintf(name, sizeof(name), "data_batch_%d.bin", b);
        write_cifar(tmp_path(name), 2, -1, 0);
    }
    write_cifar(tmp_path("test_batch.bin"), 3, -1, 0);
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = {TRAINER_DATA_CIFAR10, tmpdir, 0, 2, 0, 1};
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(d.train.n, 8);
    cr_assert_eq(d.val.n, 2);
    cr_assert_eq(d.test.n, 3);
    cr_assert_eq(d.train.c, 3);
    /* Channel c of record i is the constant i + c: the channel means differ by 1/255 each. */
    double sum = 0;
    for (uint32_t i = 0; i < d.train.n; i++)
        sum += d.train.pixels[(size_t)i * 3072];
    cr_assert_float_eq(d.mean[0], sum / 8 / 255, 1e-6);
    cr_assert_float_eq(d.mean[1] - d.mean[0], 1.0 / 255, 1e-6);
    cr_assert_float_eq(d.mean[2] - d.mean[0], 2.0 / 255, 1e-6);
    cr_assert_gt(d.std[2], 0.0f);
    trainer_data_release(&d);
}

Test(data, fashion_mnist)
{
    if (access(FASHION_DIR, R_OK) != 0)
        cr_skip_test("%s is not installed", FASHION_DIR);
    trainer_data d;
    larch_error err = {0};
    trainer_data_config cfg = {TRAINER_DATA_IDX, FASHION_DIR, 1000, 200, 200, 42};
    cr_assert_eq(trainer_data_load(&d, &cfg, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(d.train.n, 1000);
    cr_assert_eq(d.val.n, 200);
    cr_assert_eq(d.test.n, 200);
    cr_assert_eq(d.train.c, 1);
    cr_assert_eq(d.train.h, 28);
    cr_assert_eq(d.train.w, 28);
    cr_assert_eq(d.train.classes, 10);
    cr_assert(d.mean[0] > 0.2f && d.mean[0] < 0.4f, "mean %f", d.mean[0]);
    cr_assert(d.std[0] > 0.25f && d.std[0] < 0.45f, "std %f", d.std[0]);
    trainer_data_release(&d);

    /* The whole set is there: every image but the validation set can be taken. */
    trainer_data_config all = {TRAINER_DATA_IDX, FASHION_DIR, 0, 5000, 0, 42};
    cr_assert_eq(trainer_data_load(&d, &all, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(d.train.n + d.val.n, 60000);
    cr_assert_eq(d.test.n, 10000);
    trainer_data_release(&d);
}
