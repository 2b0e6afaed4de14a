/* cifar.c: CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin). */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIFAR_RECORD (1 + 3 * 32 * 32)
/* The dataset limits (dataset.h) in records: the byte bound is the tighter. */
#define CIFAR_MAX_IMAGES (CLG_DATASET_MAX_BYTES / 3072 < CLG_DATASET_MAX_IMAGES \
                              ? CLG_DATASET_MAX_BYTES / 3072 : (size_t)CLG_DATASET_MAX_IMAGES)

clg_status clg_cifar10_load(const char *const *paths, int count, clg_dataset *out) {
    memset(out, 0, sizeof *out);
    clg_dataset d = {0, 3, 32, 32, NULL, NULL, 10};
    clg_status rc = CLG_OK;
    FILE *f = NULL;
    unsigned char rec[CIFAR_RECORD];
    for (int b = 0; b < count; b++) {
        f = fopen(paths[b], "rb");
        if (!f) {
            rc = clg_fail(CLG_ERR_IO, "cannot open %s: %s", paths[b], strerror(errno));
            goto fail;
        }
        if (fseek(f, 0, SEEK_END) != 0) {
            rc = clg_fail(CLG_ERR_IO, "cannot seek %s", paths[b]);
            goto fail;
        }
        long size = ftell(f);
        rewind(f);
        if (size <= 0 || size % CIFAR_RECORD != 0) {
            rc = clg_fail(CLG_ERR_FORMAT,
                          "%s: %ld bytes is not a whole number of CIFAR-10 records (%d bytes "
                          "each): truncated or not a CIFAR-10 binary batch",
                          paths[b], size, CIFAR_RECORD);
            goto fail;
        }
        if ((size_t)(size / CIFAR_RECORD) > CIFAR_MAX_IMAGES - (size_t)d.n) {
            rc = clg_fail(CLG_ERR_FORMAT, "%s: %ld records, after %d already read, would pass "
                          "clgan's limit of %zu CIFAR-10 images (%zu bytes of pixels)", paths[b],
                          size / CIFAR_RECORD, d.n, CIFAR_MAX_IMAGES, CLG_DATASET_MAX_BYTES);
            goto fail;
        }
        int recs = (int)(size / CIFAR_RECORD);
        unsigned char *px = realloc(d.pixels, (size_t)(d.n + recs) * 3072);
        if (!px) goto oom;
        d.pixels = px;
        unsigned char *lb = realloc(d.labels, (size_t)(d.n + recs));
        if (!lb) goto oom;
        d.labels = lb;
        for (int r = 0; r < recs; r++) {
            if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD) {
                rc = clg_fail(CLG_ERR_IO, "%s: short read at record %d", paths[b], r);
                goto fail;
            }
            if (rec[0] > 9) {
                rc = clg_fail(CLG_ERR_FORMAT, "%s: record %d has label %d (CIFAR-10 has 0..9)",
                              paths[b], r, rec[0]);
                goto fail;
            }
            d.labels[d.n] = rec[0];
            memcpy(d.pixels + (size_t)d.n * 3072, rec + 1, 3072);
            d.n++;
        }
        fclose(f);
        f = NULL;
    }
    if (d.n == 0) {
        rc = clg_fail(CLG_ERR_INVALID_ARG, "no CIFAR-10 batch files given");
        goto fail;
    }
    *out = d;
    return CLG_OK;
oom:
    rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory loading CIFAR-10");
fail:
    if (f) fclose(f);
    clg_dataset_free(&d);
    return rc;
}
