/* program.h: building kernel programs from the embedded (or on-disk) sources,
 * with an on-disk cache of program binaries.
 *
 * A program is: a prelude of #defines (device traits, then the caller's
 * tunables) + kernels/common.cl + kernels/<family>.cl, built with
 * -cl-std=CL1.2. Binaries are cached under $XDG_CACHE_HOME/clgan (default
 * ~/.cache/clgan), keyed by platform, device, driver, source and options; a
 * cache file is checked (magic, key, length, checksum) and rebuilt when it
 * does not hold up. CLGAN_NO_CACHE=1 bypasses the cache; CLGAN_KERNEL_DIR
 * reads the .cl files from a directory instead of the embedded copies. */
#ifndef CLG_PROGRAM_H
#define CLG_PROGRAM_H

#include "runtime.h"

typedef struct {
    const char *name; /* family, e.g. "elementwise" */
    const char *text;
    size_t len;
} clg_kernel_source;

/* Generated at build time from the kernels/ folder (build/gen/kernel_sources.c). */
extern const clg_kernel_source clg_kernel_sources[];
extern const int clg_kernel_source_count;

/* The built program for (family, defines), building it on first use.
 * `defines` is NULL or space-separated NAME=VALUE (or NAME) items. The
 * program stays owned by the context. */
clg_status clg_program_get(clg_ctx *ctx, const char *family, const char *defines,
                           cl_program *out);

/* A kernel could not be created from `stale`, a program of the context:
 * when it came from the binary cache (a forged or mismatched binary), drop
 * the cache file, build the program from source in its place (stored in
 * the cache again) and return it in *out. *out = NULL when `stale` was
 * built from source, so the failure is real. */
clg_status clg_program_rebuild(clg_ctx *ctx, cl_program stale, cl_program *out);

/* Build a program from explicit source text (no cache, not kept in the
 * context): for tests of the error path. `label` names it in messages. */
clg_status clg_program_build_source(clg_ctx *ctx, const char *label, const char *source,
                                    cl_program *out);

/* The cache directory in use (for messages and tests); "" when disabled. */
clg_status clg_cache_dir(char *buf, size_t cap);
/* $cache/<prefix>-<key>.txt, key hashing ctx's platform, device, driver and
 * version: where per-device choices (conv and GEMM tuning) live; "" when the
 * cache is disabled. */
clg_status clg_device_file(const clg_ctx *ctx, const char *prefix, char *buf, size_t cap);
/* The cache file path a program would use. */
clg_status clg_program_cache_path(clg_ctx *ctx, const char *family, const char *defines,
                                  char *buf, size_t cap);

void clg_programs_free(clg_ctx *ctx);

/* mkdir -p: create `path` and the folders above it (a file-system helper
 * for the caches and output folders). */
clg_status clg_mkdir_p(const char *path);

/* 64-bit FNV-1a, used for cache keys and checksums. */
uint64_t clg_fnv1a64(const void *data, size_t len, uint64_t h);
#define CLG_FNV_SEED 0xcbf29ce484222325ULL

#endif
