/* dataset.h: image datasets held in host memory as 8-bit pixels, and the
 * file formats they come from: IDX (MNIST, Fashion-MNIST; plain or gzip),
 * CIFAR-10 binary batches, folders of PNG files. Every loader validates
 * what it reads and says what is wrong and where.
 *
 * Not here: scaling to [-1, 1], padding, shuffling and batching (models/data.c). */
#ifndef CLG_DATASET_H
#define CLG_DATASET_H

#include "status.h"

/* Limits every loader enforces, so that a small (or compressed) file cannot
 * claim gigabytes: at most CLG_DATASET_MAX_IMAGES images, each side at most
 * CLG_IMAGE_MAX_SIDE pixels, and CLG_DATASET_MAX_BYTES bytes of pixels in
 * all (Fashion-MNIST holds 47 MB, CIFAR-10 184 MB). A PNG is also refused
 * past CLG_IMAGE_MAX_SIDE before it is decoded (at most 48 MiB decoded). */
#define CLG_DATASET_MAX_IMAGES (1 << 22)
#define CLG_IMAGE_MAX_SIDE 4096
#define CLG_DATASET_MAX_BYTES ((size_t)1 << 30)

typedef struct {
    int n, c, h, w;
    unsigned char *pixels; /* (n, c, h, w), planar per image */
    unsigned char *labels; /* (n), or NULL when the source has none */
    int num_classes;       /* 0 when unlabelled */
} clg_dataset;

void clg_dataset_free(clg_dataset *d);

/* IDX images (magic 0x00000803, n x h x w ubyte) and optionally the matching
 * labels (magic 0x00000801); gzip or plain. labels_path may be NULL. */
clg_status clg_idx_load(const char *images_path, const char *labels_path, clg_dataset *out);

/* CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (3 x 32 x 32). */
clg_status clg_cifar10_load(const char *const *paths, int count, clg_dataset *out);

/* Every *.png in `dir` (sorted by name), centre-cropped to a square and
 * area-resized to size x size, with `channels` 1 (grey) or 3 (RGB). */
clg_status clg_png_folder_load(const char *dir, int size, int channels, clg_dataset *out);

/* PNG files. Pixels are interleaved (h, w, channels), 8-bit; channels 1 or 3.
 * clg_png_read converts palette, 16-bit and alpha images to that form
 * (channels_out 1 for grey sources, 3 for colour). *pixels is malloc'd. */
clg_status clg_png_write(const char *path, const unsigned char *pixels, int w, int h,
                         int channels);
clg_status clg_png_read(const char *path, unsigned char **pixels, int *w, int *h,
                        int *channels_out);

/* Write n images (n, c, h, w) with values in [-1, 1] as one PNG grid of
 * `nrow` images per row, 2-pixel dark borders (torchvision's make_grid). */
clg_status clg_png_write_grid(const char *path, const float *images, int n, int c, int h, int w,
                              int nrow);
/* The same with each tile's index (0, 1, ... row by row) in its top-left
 * corner, so a user can pick samples by number (clgan sample, clgan arith). */
clg_status clg_png_write_grid_numbered(const char *path, const float *images, int n, int c,
                                       int h, int w, int nrow);

#endif
