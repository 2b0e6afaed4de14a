/* safetensors.c: atomic writer and validating reader for .safetensors. */
#include "safetensors.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static size_t entry_numel(int ndim, const int64_t *shape) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
    return n;
}

static uint32_t crc_of(const void *data, size_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

clg_status clg_safetensors_write(const char *path, const clg_st_write_entry *entries,
                                 int count, const char *const *meta, int nmeta) {
    /* The CRC covers the data section: compute it first, in file order. */
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < count; i++) {
        if (entries[i].ndim < 0 || entries[i].ndim > CLG_ST_MAX_DIMS)
            return clg_fail(CLG_ERR_INVALID_ARG, "safetensors: tensor %s has %d dims",
                            entries[i].name, entries[i].ndim);
        size_t bytes = entry_numel(entries[i].ndim, entries[i].shape) * sizeof(float);
        const unsigned char *p = (const unsigned char *)entries[i].data;
        while (bytes > 0) {
            uInt chunk = bytes > (1u << 30) ? (1u << 30) : (uInt)bytes;
            crc = crc32(crc, p, chunk);
            p += chunk;
            bytes -= chunk;
        }
    }
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *m = open_memstream(&hdr, &hlen);
    if (!m) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "safetensors: out of host memory");
    fputs("{\"__metadata__\":{", m);
    for (int i = 0; i < nmeta; i++) {
        clg_json_write_string(m, meta[2 * i]);
        fputc(':', m);
        clg_json_write_string(m, meta[2 * i + 1]);
        fputc(',', m);
    }
    fprintf(m, "\"crc32\":\"%08lx\"}", (unsigned long)crc);
    size_t off = 0;
    for (int i = 0; i < count; i++) {
        size_t bytes = entry_numel(entries[i].ndim, entries[i].shape) * sizeof(float);
        fputc(',', m);
        clg_json_write_string(m, entries[i].name);
        fputs(":{\"dtype\":\"F32\",\"shape\":[", m);
        for (int d = 0; d < entries[i].ndim; d++)
            fprintf(m, "%s%lld", d ? "," : "", (long long)entries[i].shape[d]);
        fprintf(m, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    fputc('}', m);
    while ((ftell(m) + 8) % 8 != 0) fputc(' ', m); /* data starts 8-byte aligned */
    if (fclose(m) != 0) {
        free(hdr);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "safetensors: out of host memory");
    }
    if (hlen > CLG_ST_MAX_HEADER || count > CLG_ST_MAX_TENSORS) {
        free(hdr);
        return clg_fail(CLG_ERR_INVALID_ARG, "safetensors %s: %d tensors and a %zu-byte header "
                        "pass the reader's limits (%d tensors, %zu bytes)", path, count, hlen,
                        CLG_ST_MAX_TENSORS, CLG_ST_MAX_HEADER);
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int e = errno;
        free(hdr);
        return clg_fail(CLG_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int ok = write(fd, len8, 8) == 8 && write(fd, hdr, hlen) == (ssize_t)hlen;
    for (int i = 0; ok && i < count; i++) {
        size_t bytes = entry_numel(entries[i].ndim, entries[i].shape) * sizeof(float);
        const char *p = (const char *)entries[i].data;
        while (ok && bytes > 0) {
            ssize_t w = write(fd, p, bytes);
            ok = w > 0;
            if (ok) p += w, bytes -= (size_t)w;
        }
    }
    int e = errno;
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    free(hdr);
    if (!ok) {
        unlink(tmp);
        return clg_fail(CLG_ERR_IO, "writing %s: %s", tmp, strerror(e ? e : EIO));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return clg_fail(CLG_ERR_IO, "renaming %s to %s: %s", tmp, path, strerror(e));
    }
    /* Make the rename itself durable. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return CLG_OK;
}

void clg_safetensors_free(clg_safetensors *st) {
    for (int i = 0; i < st->count; i++) free(st->entries[i].name);
    for (int i = 0; i < st->nmeta; i++) free(st->meta_keys[i]), free(st->meta_values[i]);
    free(st->entries);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->file);
    memset(st, 0, sizeof *st);
}

typedef struct {
    size_t begin, end;
    const char *name;
    int entry; /* its index in st->entries */
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Integer value of a JSON number, or -1 if it is not a non-negative integer. */
static int64_t json_uint(const clg_json *v) {
    if (!v || v->type != CLG_JSON_NUMBER || v->num < 0 || v->num > 9007199254740992.0 ||
        v->num != (double)(int64_t)v->num)
        return -1;
    return (int64_t)v->num;
}

static clg_status parse_header(const char *path, clg_safetensors *st, const clg_json *h,
                               size_t data_size, span *spans) {
    if (h->type != CLG_JSON_OBJECT)
        return clg_fail(CLG_ERR_FORMAT, "%s: header is not a JSON object", path);
    int tensors = h->count - (clg_json_get(h, "__metadata__") != NULL);
    if (tensors > CLG_ST_MAX_TENSORS)
        return clg_fail(CLG_ERR_FORMAT, "%s: %d tensors are past clgan's limit of %d", path,
                        tensors, CLG_ST_MAX_TENSORS);
    st->entries = calloc((size_t)h->count + 1, sizeof *st->entries);
    if (!st->entries) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int i = 0; i < h->count; i++) {
        const char *key = h->keys[i];
        const clg_json *v = &h->items[i];
        if (strcmp(key, "__metadata__") == 0) {
            if (st->meta_keys) /* the JSON reader refuses repeated keys; never rely on it */
                return clg_fail(CLG_ERR_FORMAT, "%s: __metadata__ appears twice", path);
            if (v->type != CLG_JSON_OBJECT)
                return clg_fail(CLG_ERR_FORMAT, "%s: __metadata__ is not an object", path);
            st->meta_keys = calloc((size_t)v->count + 1, sizeof(char *));
            st->meta_values = calloc((size_t)v->count + 1, sizeof(char *));
            if (!st->meta_keys || !st->meta_values)
                return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
            for (int k = 0; k < v->count; k++) {
                if (v->items[k].type != CLG_JSON_STRING)
                    return clg_fail(CLG_ERR_FORMAT, "%s: metadata '%s' is not a string", path,
                                    v->keys[k]);
                st->meta_keys[st->nmeta] = strdup(v->keys[k]);
                st->meta_values[st->nmeta] = strdup(v->items[k].str);
                st->nmeta++;
                if (!st->meta_keys[st->nmeta - 1] || !st->meta_values[st->nmeta - 1])
                    return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
            }
            continue;
        }
        if (v->type != CLG_JSON_OBJECT)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' is not an object", path, key);
        const clg_json *dtype = clg_json_get(v, "dtype");
        const clg_json *shape = clg_json_get(v, "shape");
        const clg_json *offs = clg_json_get(v, "data_offsets");
        if (!dtype || dtype->type != CLG_JSON_STRING)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' has no dtype", path, key);
        if (strcmp(dtype->str, "F32") != 0)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' has dtype %s; clgan reads F32 only",
                            path, key, dtype->str);
        if (!shape || shape->type != CLG_JSON_ARRAY || shape->count > CLG_ST_MAX_DIMS)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' has no valid shape", path, key);
        if (!offs || offs->type != CLG_JSON_ARRAY || offs->count != 2)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' has no valid data_offsets", path,
                            key);
        clg_st_entry *e = &st->entries[st->count];
        e->ndim = shape->count;
        size_t numel = 1;
        for (int d = 0; d < shape->count; d++) {
            int64_t s = json_uint(&shape->items[d]);
            if (s < 0 || s > (int64_t)1 << 40)
                return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' has a bad dimension", path, key);
            /* Checked before multiplying: the count and its bytes fit size_t. */
            if (s > 0 && numel > SIZE_MAX / sizeof(float) / (size_t)s)
                return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s': the element count of its "
                                "shape overflows", path, key);
            e->shape[d] = s;
            numel *= (size_t)s;
        }
        int64_t b = json_uint(&offs->items[0]), en = json_uint(&offs->items[1]);
        if (b < 0 || en < b || (size_t)en > data_size)
            return clg_fail(CLG_ERR_FORMAT,
                            "%s: tensor '%s' data_offsets [%lld, %lld] outside the %zu data bytes",
                            path, key, (long long)b, (long long)en, data_size);
        if ((size_t)(en - b) != numel * sizeof(float))
            return clg_fail(CLG_ERR_FORMAT,
                            "%s: tensor '%s' has %lld bytes but its shape needs %zu", path, key,
                            (long long)(en - b), numel * sizeof(float));
        if (b % 4 != 0)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' is not 4-byte aligned", path, key);
        if (!(e->name = strdup(key))) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        e->numel = numel;
        spans[st->count] = (span){(size_t)b, (size_t)en, e->name, st->count};
        st->count++;
    }
    /* Offsets must not overlap (the reference library also wants them to
     * tile the data exactly; we require no overlap and no data past the end). */
    qsort(spans, (size_t)st->count, sizeof *spans, cmp_span);
    for (int i = 1; i < st->count; i++)
        if (spans[i].begin < spans[i - 1].end)
            return clg_fail(CLG_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", path,
                            spans[i - 1].name, spans[i].name);
    return CLG_OK;
}

clg_status clg_safetensors_read(const char *path, clg_safetensors *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    clg_status rc = CLG_OK;
    clg_json h = {0};
    span *spans = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    rewind(f);
    if (size < 8) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s: %ld bytes is too short for a safetensors file", path,
                      size);
        goto done;
    }
    out->size = (size_t)size;
    out->file = aligned_alloc(8, (out->size + 7) / 8 * 8);
    if (!out->file) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "%s: out of host memory", path);
        goto done;
    }
    if (fread(out->file, 1, out->size, f) != out->size) {
        rc = clg_fail(CLG_ERR_IO, "%s: short read", path);
        goto done;
    }
    const unsigned char *bytes = out->file;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
    if (hlen > CLG_ST_MAX_HEADER && hlen <= out->size - 8) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s: a header of %llu bytes is past clgan's limit of %zu "
                      "bytes", path, (unsigned long long)hlen, CLG_ST_MAX_HEADER);
        goto done;
    }
    if (hlen == 0 || hlen > out->size - 8) {
        rc = clg_fail(CLG_ERR_FORMAT,
                      "%s: header length %llu does not fit the %zu-byte file (truncated, or "
                      "not a safetensors file)",
                      path, (unsigned long long)hlen, out->size);
        goto done;
    }
    if (clg_json_parse((const char *)bytes + 8, (size_t)hlen, &h) != CLG_OK) {
        clg_error_context("in the header of %s", path);
        rc = CLG_ERR_FORMAT;
        goto done;
    }
    size_t data_start = 8 + (size_t)hlen, data_size = out->size - data_start;
    spans = calloc((size_t)h.count + 1, sizeof *spans);
    if (!spans) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    CLG_TRY_GOTO(parse_header(path, out, &h, data_size, spans), done);
    if (data_start % 4 != 0) {
        /* The format does not promise alignment; move the data down over the
         * (already parsed) end of the header so floats are aligned. */
        size_t aligned = data_start / 4 * 4;
        memmove((unsigned char *)out->file + aligned, bytes + data_start, data_size);
        data_start = aligned;
    }
    for (int k = 0; k < out->count; k++)
        out->entries[spans[k].entry].data = (const float *)(bytes + data_start + spans[k].begin);
    const char *crc = clg_safetensors_meta(out, "crc32");
    /* Checked before any tensor is used: a flipped bit is a rejected file. */
    if (crc) {
        char want[16];
        snprintf(want, sizeof want, "%08lx", (unsigned long)crc_of(bytes + data_start, data_size));
        if (strcmp(crc, want) != 0) {
            rc = clg_fail(CLG_ERR_FORMAT,
                          "%s: data CRC32 is %s but the header says %s: the tensor data is "
                          "corrupt",
                          path, want, crc);
            goto done;
        }
    }
done:
    fclose(f);
    clg_json_free(&h);
    free(spans);
    if (rc != CLG_OK) clg_safetensors_free(out);
    return rc;
}

const clg_st_entry *clg_safetensors_find(const clg_safetensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->entries[i].name, name) == 0) return &st->entries[i];
    return NULL;
}

const char *clg_safetensors_meta(const clg_safetensors *st, const char *key) {
    for (int i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}
