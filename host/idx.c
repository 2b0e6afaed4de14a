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

/* Read up to n bytes (fewer only at the end of the file) into buf; *got
 * says how many. Fails only on corrupt compressed data. */
static clg_status gz_read_some(gzFile f, const char *path, void *buf, size_t n, size_t *got,
                               const char *what) {
    unsigned char *p = buf;
    *got = 0;
    while (*got < n) {
        unsigned chunk = (unsigned)((n - *got) > (1u << 30) ? (1u << 30) : (n - *got));
        int r = gzread(f, p + *got, chunk);
        if (r < 0) {
            int e;
            const char *msg = gzerror(f, &e);
            return clg_fail(CLG_ERR_FORMAT, "%s: corrupt compressed data reading %s: %s", path,
                            what, msg);
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return CLG_OK;
}

/* Read exactly n bytes or fail naming the file and how far it got. */
static clg_status gz_read_exact(gzFile f, const char *path, void *buf, size_t n,
                                const char *what) {
    size_t got;
    CLG_TRY(gz_read_some(f, path, buf, n, &got, what));
    if (got != n)
        return clg_fail(CLG_ERR_FORMAT, "%s: truncated: %s needs %zu bytes, file has %zu", path,
                        what, n, got);
    return CLG_OK;
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The dimensions after the magic: each, and the payload, within the
 * dataset limits (dataset.h), checked before multiplying. */
static clg_status idx_dims(gzFile f, const char *path, int ndims, uint32_t dims[3],
                           size_t *total) {
    unsigned char hdr[12];
    CLG_TRY(gz_read_exact(f, path, hdr, 4 * (size_t)ndims, "the IDX dimensions"));
    static const char *names[3] = {"image count", "image height", "image width"};
    *total = 1;
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(hdr + 4 * i);
        uint32_t max = i == 0 ? CLG_DATASET_MAX_IMAGES : CLG_IMAGE_MAX_SIDE;
        if (dims[i] == 0 || dims[i] > max)
            return clg_fail(CLG_ERR_FORMAT, "%s: IDX %s %u is outside 1..%u (clgan's limit)",
                            path, ndims == 1 ? "label count" : names[i], dims[i], max);
        *total *= dims[i]; /* below 2^22 * 2^12 * 2^12 = 2^46: no overflow */
    }
    if (*total > CLG_DATASET_MAX_BYTES)
        return clg_fail(CLG_ERR_FORMAT, "%s: IDX payload of %zu bytes is past clgan's limit of "
                        "%zu bytes of pixels", path, *total, CLG_DATASET_MAX_BYTES);
    return CLG_OK;
}

/* Read the `total`-byte payload into a buffer that grows with the data
 * read, so a short file that claims a large payload costs little. */
static clg_status idx_payload(gzFile f, const char *path, size_t total, unsigned char **data) {
    size_t have = 0, cap = 0;
    unsigned char *buf = NULL;
    while (have < total) {
        size_t next = cap ? 2 * cap : (size_t)1 << 20;
        if (next > total) next = total;
        unsigned char *grown = realloc(buf, next);
        if (!grown) {
            free(buf);
            return clg_fail(CLG_ERR_OUT_OF_MEMORY, "%s: out of host memory (%zu bytes)", path,
                            next);
        }
        buf = grown;
        cap = next;
        size_t got;
        clg_status s = gz_read_some(f, path, buf + have, cap - have, &got, "the IDX payload");
        have += got;
        if (s == CLG_OK && have < cap)
            s = clg_fail(CLG_ERR_FORMAT, "%s: truncated: the IDX payload needs %zu bytes, file "
                         "has %zu", path, total, have);
        if (s != CLG_OK) {
            free(buf);
            return s;
        }
    }
    *data = buf;
    return CLG_OK;
}

/* Opens `path`, checks the magic (ubyte data, `ndims` dims), reads dims and
 * the payload. *data is malloc'd. */
static clg_status idx_read(const char *path, int ndims, uint32_t dims[3], unsigned char **data) {
    *data = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    clg_status rc;
    unsigned char hdr[4];
    CLG_TRY_GOTO(gz_read_exact(f, path, hdr, 4, "the IDX magic number"), done);
    uint32_t magic = be32(hdr);
    if (magic != (0x0800u | (uint32_t)ndims)) {
        rc = clg_fail(CLG_ERR_FORMAT,
                      "%s: not an IDX %s file: magic 0x%08x, expected 0x%08x", path,
                      ndims == 1 ? "label" : "image", magic, 0x0800u | (uint32_t)ndims);
        goto done;
    }
    size_t total;
    CLG_TRY_GOTO(idx_dims(f, path, ndims, dims, &total), done);
    CLG_TRY_GOTO(idx_payload(f, path, total, data), done);
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
