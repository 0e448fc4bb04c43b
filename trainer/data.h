/* Image classification datasets: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary readers, and
 * the train / validation / test split the search uses. */
#ifndef TRAINER_DATA_H
#define TRAINER_DATA_H

#include <stdint.h>

#include <larch/status.h>

/* Images stay uint8 (4x less memory than float); batches are normalised when copied out. */
typedef struct trainer_dataset {
    uint32_t n, c, h, w;
    uint32_t classes;
    uint8_t *pixels; /* [n][c][h][w] */
    uint8_t *labels; /* [n], each < classes */
} trainer_dataset;

/* Reads an IDX image file (magic 0x00000803, [n][h][w] uint8) and its label file (0x00000801)
 * from plain or gzip files (detected by content). Validates magics, dimensions, that the two
 * counts match, that labels are < 10 and that the files hold exactly what their headers say;
 * errors name the file and what was wrong (LARCH_EIO, LARCH_EFORMAT). On success ds owns its
 * buffers (trainer_dataset_release); on error ds is zeroed. */
int trainer_dataset_load_idx(trainer_dataset *ds, const char *images_path, const char *labels_path,
                             larch_error *err);

/* Reads CIFAR-10 binary batch files (records of 1 label byte + 3072 pixel bytes) and
 * concatenates them. A size that is not a whole number of records, or a label > 9, is
 * LARCH_EFORMAT naming the file. */
int trainer_dataset_load_cifar10(trainer_dataset *ds, const char *const *paths, uint32_t n_paths,
                                 larch_error *err);

/* Frees the buffers; ds may be zeroed or already released. */
void trainer_dataset_release(trainer_dataset *ds);

/* Copies the images indices[0..n-1] of src into out (a new dataset it owns; n may be 0). An index
 * >= src->n is LARCH_ERANGE, a failed allocation LARCH_ENOMEM; out is then zeroed. */
int trainer_dataset_select(const trainer_dataset *src, const uint32_t *indices, uint32_t n,
                           trainer_dataset *out, larch_error *err);

typedef enum trainer_data_format {
    TRAINER_DATA_IDX = 0,
    TRAINER_DATA_CIFAR10 = 1
} trainer_data_format;

typedef struct trainer_data_config {
    trainer_data_format format;
    const char *dir;     /* e.g. /usr/share/datasets/fashion-mnist */
    uint32_t train_size; /* images used for training after the split; 0 = all the rest */
    uint32_t val_size;   /* carved from the training set */
    uint32_t test_size;  /* 0 = the whole test set */
    uint64_t split_seed; /* fixed seed of the split shuffle */
} trainer_data_config;

/* The three sets a search uses. Per-channel mean and std of the training pixels (0..1 scale)
 * normalise every batch of every set. */
typedef struct trainer_data {
    trainer_dataset train, val, test;
    float mean[3], std[3];
} trainer_data;

/* Loads dir (IDX: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...;
 * CIFAR-10: data_batch_1..5.bin, test_batch.bin), shuffles the training set with split_seed,
 * takes the first val_size as validation and the next train_size for training, and the first
 * test_size test images. Sizes larger than available are LARCH_ERANGE naming the value. On
 * success data owns its sets (trainer_data_release); on error it is zeroed. */
int trainer_data_load(trainer_data *data, const trainer_data_config *config, larch_error *err);
void trainer_data_release(trainer_data *data);

/* Writes images indices[0..n-1] of ds as normalised floats into x ([n][c][h][w]) and their
 * labels into y. */
void trainer_data_batch(const trainer_data *data, const trainer_dataset *ds,
                        const uint32_t *indices, uint32_t n, float *x, uint8_t *y);

#endif
