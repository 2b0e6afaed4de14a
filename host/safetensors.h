/* safetensors.h: the safetensors format (as the Hugging Face library writes
 * it): u64 little-endian header length, a JSON header
 *   {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 *    "__metadata__": {"key": "string value", ...}}
 * padded with spaces to 8 bytes, then the raw little-endian tensor bytes.
 *
 * The writer is atomic (temporary file, fsync, rename) and stores a CRC32 of
 * the data section under __metadata__.crc32; the reader validates everything
 * (header length, JSON, dtypes, shapes against sizes, offsets inside the
 * data and not overlapping, the CRC when present). Only F32 tensors. */
#ifndef CLG_SAFETENSORS_H
#define CLG_SAFETENSORS_H

#include "status.h"

#include <stdint.h>

#define CLG_ST_MAX_DIMS 8
/* The reader's limits, so that a small file costs little: a header of at
 * most 1 MiB (parsed in milliseconds, under 64 MiB of memory at worst) and
 * at most 4096 tensors. clgan's checkpoints have headers of about 10 KB and
 * about 100 tensors; the writer refuses to pass either limit. */
#define CLG_ST_MAX_HEADER ((size_t)1 << 20)
#define CLG_ST_MAX_TENSORS 4096

typedef struct {
    const char *name;
    const float *data; /* host memory, numel floats */
    int ndim;
    int64_t shape[CLG_ST_MAX_DIMS];
} clg_st_write_entry;

/* meta: nmeta (key, value) string pairs; "crc32" is added by the writer. */
clg_status clg_safetensors_write(const char *path, const clg_st_write_entry *entries,
                                 int count, const char *const *meta, int nmeta);

typedef struct {
    char *name;
    int ndim;
    int64_t shape[CLG_ST_MAX_DIMS];
    size_t numel;
    const float *data; /* into the loaded file (aligned copy) */
} clg_st_entry;

typedef struct {
    void *file; /* the whole file, 8-byte aligned */
    size_t size;
    clg_st_entry *entries;
    int count;
    char **meta_keys, **meta_values;
    int nmeta;
} clg_safetensors;

clg_status clg_safetensors_read(const char *path, clg_safetensors *out);
void clg_safetensors_free(clg_safetensors *st);
const clg_st_entry *clg_safetensors_find(const clg_safetensors *st, const char *name);
const char *clg_safetensors_meta(const clg_safetensors *st, const char *key);

#endif
