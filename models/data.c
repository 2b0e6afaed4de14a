/* data.c: scaling, padding, per-epoch shuffles and host batch staging. */
#include "data.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A deterministic uniform integer in [0, bound) from the Philox stream
 * (seed, epoch, i): the shuffle of an epoch depends on nothing else. */
static uint32_t draw(uint64_t seed, long epoch, uint32_t i, uint32_t bound) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {i, (uint32_t)epoch, (uint32_t)((uint64_t)epoch >> 32), 0x5eed};
    uint32_t out[4];
    clg_philox4x32_10(ctr, key, out);
    uint64_t wide = (uint64_t)out[0] << 32 | out[1];
    return (uint32_t)(wide % bound); /* bias < 2^-32 for datasets this size */
}

void clg_permutation(uint64_t seed, long stream, int n, int *out) {
    for (int i = 0; i < n; i++) out[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)draw(seed, stream, (uint32_t)i, (uint32_t)i + 1);
        int t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

static void shuffle(clg_loader *l) { clg_permutation(l->seed, l->epoch, l->ds.n, l->order); }

clg_status clg_loader_init(clg_loader *l, clg_dataset *ds, int size, int batch, uint64_t seed) {
    memset(l, 0, sizeof *l);
    if (size != 32 && size != 64 && !(size == 28 && ds->h == 28 && ds->w == 28))
        return clg_fail(CLG_ERR_INVALID_ARG, "image size must be 32 or 64 (or 28 for 28x28 "
                        "data), not %d", size);
    if (!((ds->h == 28 && ds->w == 28) || (ds->h == size && ds->w == size) ||
          (ds->h == 32 && ds->w == 32)))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "dataset images are %dx%d; clgan takes 28x28, 32x32 or %dx%d", ds->h,
                        ds->w, size, size);
    if (batch <= 0 || batch > ds->n)
        return clg_fail(CLG_ERR_INVALID_ARG, "batch size %d for a dataset of %d images", batch,
                        ds->n);
    l->ds = *ds;
    memset(ds, 0, sizeof *ds);
    l->size = size;
    l->batch = batch;
    l->seed = seed;
    size_t per = (size_t)l->ds.c * size * size * (size_t)batch;
    l->order = malloc((size_t)l->ds.n * sizeof *l->order);
    l->stage[0] = malloc(per * sizeof(float));
    l->stage[1] = malloc(per * sizeof(float));
    l->label_stage[0] = malloc((size_t)batch * sizeof(cl_int));
    l->label_stage[1] = malloc((size_t)batch * sizeof(cl_int));
    if (!l->order || !l->stage[0] || !l->stage[1] || !l->label_stage[0] || !l->label_stage[1]) {
        clg_loader_free(l);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for the data loader");
    }
    shuffle(l);
    return CLG_OK;
}

void clg_loader_free(clg_loader *l) {
    clg_dataset_free(&l->ds);
    free(l->order);
    free(l->stage[0]);
    free(l->stage[1]);
    free(l->label_stage[0]);
    free(l->label_stage[1]);
    memset(l, 0, sizeof *l);
}

clg_status clg_loader_seek(clg_loader *l, long epoch, long pos) {
    if (epoch < 0 || pos < 0 || pos > l->ds.n)
        return clg_fail(CLG_ERR_INVALID_ARG, "data position epoch %ld index %ld is out of range",
                        epoch, pos);
    if (epoch != l->epoch) {
        l->epoch = epoch;
        shuffle(l);
    }
    l->pos = pos;
    return CLG_OK;
}

long clg_loader_batches_per_epoch(const clg_loader *l) { return l->ds.n / l->batch; }

void clg_loader_image(const clg_loader *l, int index, float *out) {
    clg_dataset_image(&l->ds, index, l->size, out);
}

void clg_dataset_image(const clg_dataset *d, int index, int size, float *out) {
    const unsigned char *src = d->pixels + (size_t)index * d->c * d->h * d->w;
    int s = size;
    /* Source pixel for output (y, x): pad 28 -> 32 by 2 on each side, then
     * replicate 2x for 64; 28 -> 28 as it is. */
    int scale = (d->h == 28 || d->h == 32) && s != 28 ? s / 32 : 1;
    int pad = d->h == 28 && s != 28 ? 2 : 0;
    for (int c = 0; c < d->c; c++)
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                int sy = y / scale - pad, sx = x / scale - pad;
                float v = -1.0f;
                if (sy >= 0 && sy < d->h && sx >= 0 && sx < d->w)
                    v = src[((size_t)c * d->h + sy) * d->w + sx] * (2.0f / 255.0f) - 1.0f;
                out[((size_t)c * s + y) * s + x] = v;
            }
}

const float *clg_loader_next(clg_loader *l, long *epoch) {
    if (l->pos + l->batch > l->ds.n) {
        l->epoch++;
        l->pos = 0;
        shuffle(l);
    }
    float *dst = l->stage[l->next_stage];
    cl_int *lab = l->label_stage[l->next_stage];
    l->next_stage ^= 1;
    size_t per = (size_t)l->ds.c * l->size * l->size;
    for (int b = 0; b < l->batch; b++) {
        clg_loader_image(l, l->order[l->pos + b], dst + per * b);
        lab[b] = l->ds.labels ? l->ds.labels[l->order[l->pos + b]] : 0;
    }
    l->pos += l->batch;
    *epoch = l->epoch;
    return dst;
}

const cl_int *clg_loader_last_labels(const clg_loader *l) {
    return l->ds.labels ? l->label_stage[l->next_stage ^ 1] : NULL;
}

clg_status clg_loader_upload(clg_ctx *ctx, const clg_tensor *dst, const float *staged) {
    return clg_tensor_upload_async(ctx, dst, staged);
}

clg_status clg_fashion_mnist_paths(int train, char *images, char *labels, size_t cap) {
    const char *dir = getenv("CLGAN_DATA_DIR");
    if (!dir || !*dir) dir = "/usr/share/datasets/fashion-mnist";
    const char *pre = train ? "train" : "t10k";
    snprintf(images, cap, "%s/%s-images-idx3-ubyte.gz", dir, pre);
    snprintf(labels, cap, "%s/%s-labels-idx1-ubyte.gz", dir, pre);
    if (access(images, R_OK) != 0)
        return clg_fail(CLG_ERR_IO,
                        "Fashion-MNIST not found at %s (install Debian's dataset-fashion-mnist, "
                        "or set CLGAN_DATA_DIR to a folder with the IDX files)",
                        images);
    return CLG_OK;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* MNIST's naming: the labels of X-images-idx3-ubyte[.gz] are
 * X-labels-idx1-ubyte[.gz] beside it, used when that file exists. */
static const char *idx_labels(const char *images, char *buf, size_t cap) {
    const char *base = strrchr(images, '/'), *at;
    base = base ? base + 1 : images;
    if (!(at = strstr(base, "images-idx3")) || strlen(images) >= cap) return NULL;
    memcpy(buf, images, strlen(images) + 1);
    memcpy(buf + (at - images), "labels-idx1", 11);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

clg_status clg_data_open(const char *data, int image_size, int *channels, clg_dataset *out) {
    char img[4096], lab[4096];
    if (!strcmp(data, "fashion-mnist") || !strcmp(data, "fashion-mnist-test")) {
        CLG_TRY(clg_fashion_mnist_paths(strcmp(data, "fashion-mnist") == 0, img, lab, sizeof img));
        CLG_TRY(clg_idx_load(img, lab, out));
    } else if (is_dir(data)) {
        snprintf(img, sizeof img, "%s/data_batch_1.bin", data);
        if (access(img, R_OK) == 0) {
            char paths[5][4096];
            const char *pp[5];
            int n = 0;
            for (int i = 1; i <= 5; i++) {
                snprintf(paths[n], sizeof paths[n], "%s/data_batch_%d.bin", data, i);
                if (access(paths[n], R_OK) == 0) pp[n] = paths[n], n++;
            }
            CLG_TRY(clg_cifar10_load(pp, n, out));
        } else {
            CLG_TRY(clg_png_folder_load(data, image_size, 3, out));
        }
    } else if (access(data, R_OK) == 0) {
        CLG_TRY(clg_idx_load(data, idx_labels(data, lab, sizeof lab), out));
    } else {
        return clg_fail(CLG_ERR_IO,
                        "--data '%s': not 'fashion-mnist', a folder (CIFAR-10 batches or PNG "
                        "files) or an IDX file",
                        data);
    }
    *channels = out->c;
    return CLG_OK;
}
