/* data.h: training batches from a dataset: pixels scaled to [-1, 1], 28x28
 * sources (MNIST, Fashion-MNIST) padded to 32x32 with the background value
 * -1 (the digit or garment stays at its native scale, centred), one
 * shuffle of the sample order per epoch from the seed, and batches
 * assembled on the host into two staging buffers so the next batch is built
 * while the device trains on the current one.
 *
 * The order is a pure function of (seed, epoch): resuming at (epoch,
 * position) continues the same sequence. */
#ifndef CLG_DATA_H
#define CLG_DATA_H

#include "dataset.h"
#include "tensor.h"

#include <stdint.h>

typedef struct {
    clg_dataset ds;
    int size;          /* output images are size x size */
    int batch;
    uint64_t seed;
    int *order;        /* this epoch's permutation of [0, ds.n) */
    long epoch;        /* epoch of `order` */
    long pos;          /* next index into order */
    float *stage[2];   /* host batches (batch, c, size, size) */
    cl_int *label_stage[2]; /* their labels (batch), when the dataset has labels */
    int next_stage;
} clg_loader;

/* Takes ownership of `ds`. size 32 or 64; 28x28 sources are padded to 32
 * (and resized to 64 by pixel replication after padding when size is 64),
 * or kept as they are with size 28. */
clg_status clg_loader_init(clg_loader *l, clg_dataset *ds, int size, int batch, uint64_t seed);
void clg_loader_free(clg_loader *l);
/* Position the loader (resume): the next batch starts at order[pos] of epoch. */
clg_status clg_loader_seek(clg_loader *l, long epoch, long pos);
/* Batches per epoch (the last partial batch is dropped, as PyTorch's
 * drop_last would). */
long clg_loader_batches_per_epoch(const clg_loader *l);
/* Build the next batch on the host; returns its staging buffer and the
 * epoch it belongs to. Wraps into the next epoch. */
const float *clg_loader_next(clg_loader *l, long *epoch);
/* The labels of the batch clg_loader_next returned last (NULL: unlabelled). */
const cl_int *clg_loader_last_labels(const clg_loader *l);
/* Upload a staged batch without blocking (the staging buffer stays untouched
 * until the next-but-one call of clg_loader_next). */
clg_status clg_loader_upload(clg_ctx *ctx, const clg_tensor *dst, const float *staged);

/* One image of the dataset, scaled and padded as batches are (out: c*size*size). */
void clg_loader_image(const clg_loader *l, int index, float *out);
/* The same for any dataset: image `index` of d as size x size floats in [-1, 1]. */
void clg_dataset_image(const clg_dataset *d, int index, int size, float *out);

/* A permutation of [0, n) that depends only on (seed, stream): Fisher-Yates
 * over Philox draws (the loader's shuffle of epoch e is stream e). */
void clg_permutation(uint64_t seed, long stream, int n, int *out);

/* Load the dataset named by `data` with its labels: "fashion-mnist" (or
 * "fashion-mnist-test"), a folder of CIFAR-10 binary batches, a folder of
 * PNG files (sized to image_size), or an IDX file (with its labels when
 * an MNIST-named X-labels-idx1-ubyte[.gz] sits beside X-images-idx3-ubyte[.gz]). */
clg_status clg_data_open(const char *data, int image_size, int *channels, clg_dataset *out);

/* Find Fashion-MNIST's training images under Debian's path (or $CLGAN_DATA_DIR). */
clg_status clg_fashion_mnist_paths(int train, char *images, char *labels, size_t cap);

#endif
