/* idx.c: IDX files (MNIST, Fashion-MNIST), plain or gzip (zlib reads both). */
#include "dataset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void clg_dataset_free(clg_dataset *d) {
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* Read exactly n bytes or fail naming the file and how far it got. */
static clg_status gz_read_exact(gzFile f, const char *path, void *buf, size_t n,
                                const char *what) {
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        unsigned chunk = (unsigned)((n - got) > (1u << 30) ? (1u << 30) : (n - got));
        int r = gzread(f, p + got, chunk);
        if (r < 0) {
            int e;
            const char *msg = gzerror(f, &e);
            return clg_fail(CLG_ERR_FORMAT, "%s: corrupt compressed data reading %s: %s", path,
                            what, msg);
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got != n)
        return clg_fail(CLG_ERR_FORMAT, "%s: truncated: %s needs %zu bytes, file has %zu", path,
                        what, n, got);
    return CLG_OK;
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens `path`, checks the magic (ubyte data, `ndims` dims), reads dims and
 * the payload. *data is malloc'd. */
static clg_status idx_read(const char *path, int ndims, uint32_t dims[3], unsigned char **data) {
    *data = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    clg_status rc;
    unsigned char hdr[16];
    CLG_TRY_GOTO(gz_read_exact(f, path, hdr, 4, "the IDX magic number"), done);
    uint32_t magic = be32(hdr);
    if (magic != (0x0800u | (uint32_t)ndims)) {
        rc = clg_fail(CLG_ERR_FORMAT,
                      "%s: not an IDX %s file: magic 0x%08x, expected 0x%08x", path,
                      ndims == 1 ? "label" : "image", magic, 0x0800u | (uint32_t)ndims);
        goto done;
    }
    CLG_TRY_GOTO(gz_read_exact(f, path, hdr, 4 * (size_t)ndims, "the IDX dimensions"), done);
    /* Each dimension, and the running product, checked before multiplying:
     * the payload is bounded before anything is allocated. */
    const size_t max_total = (size_t)1 << 34;
    size_t total = 1;
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(hdr + 4 * i);
        if (dims[i] == 0 || dims[i] > (1u << 24) || total > max_total / dims[i]) {
            rc = clg_fail(CLG_ERR_FORMAT, "%s: implausible IDX dimension %d: %u (the payload "
                          "would pass %zu bytes)", path, i, dims[i], max_total);
            goto done;
        }
        total *= dims[i];
    }
    *data = malloc(total);
    if (!*data) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "%s: out of host memory (%zu bytes)", path, total);
        goto done;
    }
    CLG_TRY_GOTO(gz_read_exact(f, path, *data, total, "the IDX payload"), done);
    unsigned char extra;
    if (gzread(f, &extra, 1) > 0) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s: %zu payload bytes expected, but the file is longer",
                      path, total);
        goto done;
    }
done:
    gzclose(f);
    if (rc != CLG_OK) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

clg_status clg_idx_load(const char *images_path, const char *labels_path, clg_dataset *out) {
    memset(out, 0, sizeof *out);
    uint32_t idims[3], ldims[3];
    unsigned char *px = NULL, *lb = NULL;
    CLG_TRY(idx_read(images_path, 3, idims, &px));
    if (labels_path) {
        clg_status s = idx_read(labels_path, 1, ldims, &lb);
        if (s != CLG_OK) {
            free(px);
            return s;
        }
        if (ldims[0] != idims[0]) {
            free(px);
            free(lb);
            return clg_fail(CLG_ERR_FORMAT, "%s has %u images but %s has %u labels",
                            images_path, idims[0], labels_path, ldims[0]);
        }
        int maxl = 0;
        for (uint32_t i = 0; i < ldims[0]; i++) maxl = lb[i] > maxl ? lb[i] : maxl;
        out->num_classes = maxl + 1;
    }
    out->n = (int)idims[0];
    out->c = 1;
    out->h = (int)idims[1];
    out->w = (int)idims[2];
    out->pixels = px;
    out->labels = lb;
    return CLG_OK;
}
