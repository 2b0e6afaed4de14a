/* program.c: program sources, the prelude, building, and the binary cache.
 *
 * Cache file layout (little-endian host order; a file from another host is
 * simply rejected by its key):
 *   "CLGANPB1"   8 bytes magic
 *   u64 key      FNV-1a of the identity (platform, device, driver, options, source)
 *   u64 size     payload bytes
 *   u64 check    FNV-1a of the payload
 *   payload      the program binary
 * Anything that does not match is counted as a reject and rebuilt, and so
 * is an entry that loads but whose kernels cannot be created (a binary of
 * another program under this one's name): clg_program_rebuild. */
#include "program.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLG_BUILD_OPTIONS "-cl-std=CL1.2"
static const char cache_magic[8] = {'C', 'L', 'G', 'A', 'N', 'P', 'B', '1'};

struct clg_program_entry {
    clg_program_entry *next;
    char *family, *defines;
    cl_program program;
    int from_cache; /* loaded from a cache file, not yet proven by a kernel */
};

uint64_t clg_fnv1a64(const void *data, size_t len, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- sources ---------------------------------------------------------- */

/* Read a whole file; *out is malloc'd and NUL-terminated. */
static clg_status read_file(const char *path, char **out, size_t *len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    clg_status rc = CLG_OK;
    char *buf = NULL;
    long sz;
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = clg_fail(CLG_ERR_IO, "cannot size %s: %s", path, strerror(errno));
        goto done;
    }
    buf = malloc((size_t)sz + 1);
    if (!buf) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
        goto done;
    }
    if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        rc = clg_fail(CLG_ERR_IO, "short read from %s", path);
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[sz] = '\0';
    *out = buf;
    if (len) *len = (size_t)sz;
done:
    fclose(f);
    return rc;
}

/* The text of kernels/<family>.cl: from CLGAN_KERNEL_DIR if set, else embedded. */
static clg_status family_source(const char *family, char **out) {
    const char *dir = getenv("CLGAN_KERNEL_DIR");
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.cl", dir, family);
        clg_status s = read_file(path, out, NULL);
        if (s != CLG_OK) clg_error_context("CLGAN_KERNEL_DIR=%s", dir);
        return s;
    }
    for (int i = 0; i < clg_kernel_source_count; i++)
        if (strcmp(clg_kernel_sources[i].name, family) == 0) {
            *out = malloc(clg_kernel_sources[i].len + 1);
            if (!*out) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
            memcpy(*out, clg_kernel_sources[i].text, clg_kernel_sources[i].len);
            (*out)[clg_kernel_sources[i].len] = '\0';
            return CLG_OK;
        }
    return clg_fail(CLG_ERR_INVALID_ARG, "no kernel family '%s' (no kernels/%s.cl was built in)",
                    family, family);
}

/* A growable string. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_add(strbuf *b, const char *t, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096);
        while (cap < b->len + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, t, n);
    b->len += n;
    b->s[b->len] = '\0';
}
static void sb_str(strbuf *b, const char *t) { sb_add(b, t, strlen(t)); }
static void sb_fmt(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(strbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Prelude: device traits, then each NAME=VALUE of `defines` as a #define. */
static clg_status add_prelude(strbuf *b, const clg_ctx *ctx, const char *defines) {
    sb_str(b, "/* clgan prelude */\n");
    sb_fmt(b, "#define CLG_DEVICE_IS_CPU %d\n", (ctx->dev.type & CL_DEVICE_TYPE_CPU) ? 1 : 0);
    sb_fmt(b, "#define CLG_DEVICE_IS_GPU %d\n", (ctx->dev.type & CL_DEVICE_TYPE_GPU) ? 1 : 0);
    sb_fmt(b, "#define CLG_LOCAL_MEM_BYTES %lu\n", (unsigned long)ctx->dev.local_mem);
    sb_fmt(b, "#define CLG_MAX_WORK_GROUP %lu\n", (unsigned long)ctx->dev.max_wg);
    sb_fmt(b, "#define CLG_COMPUTE_UNITS %u\n", ctx->dev.compute_units);
    sb_fmt(b, "#define CLG_FLOAT_VW %u\n", ctx->dev.float_vw);
    const char *p = defines ? defines : "";
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ' ') end++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        for (const char *c = p; c < (eq ? eq : end); c++)
            if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (c > p && *c >= '0' && *c <= '9')))
                return clg_fail(CLG_ERR_INVALID_ARG, "bad define '%.*s' in \"%s\"",
                                (int)(end - p), p, defines);
        if (eq)
            for (const char *c = eq + 1; c < end; c++)
                if (!(*c == '_' || *c == '.' || *c == '+' || *c == '-' ||
                      (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                      (*c >= '0' && *c <= '9')))
                    return clg_fail(CLG_ERR_INVALID_ARG, "bad define value '%.*s' in \"%s\"",
                                    (int)(end - p), p, defines);
        sb_str(b, "#define ");
        if (eq) {
            sb_add(b, p, (size_t)(eq - p));
            sb_str(b, " ");
            sb_add(b, eq + 1, (size_t)(end - eq - 1));
        } else {
            sb_add(b, p, (size_t)(end - p));
        }
        sb_str(b, "\n");
        p = end;
    }
    return CLG_OK;
}

static clg_status assemble(const clg_ctx *ctx, const char *family, const char *defines,
                           char **out) {
    *out = NULL;
    char *common = NULL, *fam = NULL;
    strbuf b = {0};
    clg_status rc;
    CLG_TRY_GOTO(family_source("common", &common), done);
    CLG_TRY_GOTO(family_source(family, &fam), done);
    CLG_TRY_GOTO(add_prelude(&b, ctx, defines), done);
    sb_str(&b, "#line 1 \"common.cl\"\n");
    sb_str(&b, common);
    sb_fmt(&b, "\n#line 1 \"%s.cl\"\n", family);
    sb_str(&b, fam);
    if (b.oom) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory assembling %s.cl", family);
        goto done;
    }
    *out = b.s;
    b.s = NULL;
done:
    free(common);
    free(fam);
    free(b.s);
    return rc;
}

/* ---- building ----------------------------------------------------------- */

static clg_status build_log_fail(clg_ctx *ctx, cl_program prog, cl_int err, const char *label) {
    size_t n = 0;
    clGetProgramBuildInfo(prog, ctx->dev.device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = malloc(n + 1);
    if (log) {
        log[0] = '\0';
        clGetProgramBuildInfo(prog, ctx->dev.device, CL_PROGRAM_BUILD_LOG, n, log, NULL);
        log[n] = '\0';
    }
    clg_status s = clg_fail(CLG_ERR_BUILD,
                            "%s building %s with options '%s' on %s; build log:\n%s",
                            clg_cl_error_name(err), label, CLG_BUILD_OPTIONS, ctx->dev.name,
                            log && *log ? log : "(empty)");
    free(log);
    return s;
}

clg_status clg_program_build_source(clg_ctx *ctx, const char *label, const char *source,
                                    cl_program *out) {
    *out = NULL;
    cl_int err;
    cl_program prog = clCreateProgramWithSource(ctx->context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return clg_fail(CLG_ERR_OPENCL, "%s creating program %s", clg_cl_error_name(err), label);
    err = clBuildProgram(prog, 1, &ctx->dev.device, CLG_BUILD_OPTIONS, NULL, NULL);
    if (err != CL_SUCCESS) {
        clg_status s = build_log_fail(ctx, prog, err, label);
        clReleaseProgram(prog);
        return s;
    }
    *out = prog;
    return CLG_OK;
}

/* ---- the cache ---------------------------------------------------------- */

clg_status clg_cache_dir(char *buf, size_t cap) {
    const char *off = getenv("CLGAN_NO_CACHE");
    if (off && *off && strcmp(off, "0") != 0) {
        buf[0] = '\0';
        return CLG_OK;
    }
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg) n = snprintf(buf, cap, "%s/clgan", xdg);
    else if (home && *home) n = snprintf(buf, cap, "%s/.cache/clgan", home);
    else n = snprintf(buf, cap, "%s", "");
    if (n < 0 || (size_t)n >= cap) return clg_fail(CLG_ERR_INVALID_ARG, "cache path too long");
    return CLG_OK;
}

static uint64_t identity_key(const clg_ctx *ctx, const char *source) {
    const clg_device_info *d = &ctx->dev;
    uint64_t h = CLG_FNV_SEED;
    const char *parts[] = {d->platform_name, d->platform_version, d->name, d->vendor,
                           d->version, d->driver, CLG_BUILD_OPTIONS, source};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        h = clg_fnv1a64(parts[i], strlen(parts[i]) + 1, h); /* +1: NUL separates parts */
    return h;
}

static clg_status cache_path_for(const char *family, uint64_t key, char *buf, size_t cap) {
    char dir[4096];
    CLG_TRY(clg_cache_dir(dir, sizeof dir));
    if (!dir[0]) {
        buf[0] = '\0';
        return CLG_OK;
    }
    int n = snprintf(buf, cap, "%s/%s-%016llx.bin", dir, family, (unsigned long long)key);
    if (n < 0 || (size_t)n >= cap) return clg_fail(CLG_ERR_INVALID_ARG, "cache path too long");
    return CLG_OK;
}

clg_status clg_program_cache_path(clg_ctx *ctx, const char *family, const char *defines,
                                  char *buf, size_t cap) {
    char *src;
    CLG_TRY(assemble(ctx, family, defines, &src));
    clg_status s = cache_path_for(family, identity_key(ctx, src), buf, cap);
    free(src);
    return s;
}

clg_status clg_mkdir_p(const char *path) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1;; p++)
        if (*p == '/' || *p == '\0') {
            char keep = *p;
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return clg_fail(CLG_ERR_IO, "cannot create folder %s: %s", tmp, strerror(errno));
            if (!keep) return CLG_OK;
            *p = keep;
        }
}

/* Try the cache file: 1 and *out on success, 0 on a miss or reject. A
 * program binary goes to the driver as it is, and a forged one can crash
 * it: only files this user owns and nobody else may write are read (the
 * checksum catches damage, not intent). */
static int cache_load(clg_ctx *ctx, const char *path, uint64_t key, cl_program *out) {
    char *data = NULL;
    size_t len = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)) || !S_ISREG(sb.st_mode)) {
        ctx->stats.cache_rejects++;
        return 0;
    }
    if (read_file(path, &data, &len) != CLG_OK) {
        ctx->stats.cache_rejects++;
        return 0;
    }
    uint64_t hk, hsize, hcheck;
    int ok = len >= 32 && memcmp(data, cache_magic, 8) == 0;
    if (ok) {
        memcpy(&hk, data + 8, 8);
        memcpy(&hsize, data + 16, 8);
        memcpy(&hcheck, data + 24, 8);
        ok = hk == key && hsize == len - 32 && hsize > 0 &&
             clg_fnv1a64(data + 32, (size_t)hsize, CLG_FNV_SEED) == hcheck;
    }
    cl_program prog = NULL;
    if (ok) {
        const unsigned char *bin = (const unsigned char *)data + 32;
        size_t binlen = (size_t)hsize;
        cl_int st = CL_SUCCESS, err;
        prog = clCreateProgramWithBinary(ctx->context, 1, &ctx->dev.device, &binlen, &bin, &st,
                                         &err);
        ok = err == CL_SUCCESS && st == CL_SUCCESS &&
             clBuildProgram(prog, 1, &ctx->dev.device, CLG_BUILD_OPTIONS, NULL, NULL) ==
                 CL_SUCCESS;
    }
    free(data);
    if (!ok) {
        if (prog) clReleaseProgram(prog);
        ctx->stats.cache_rejects++;
        return 0;
    }
    *out = prog;
    return 1;
}

/* Write atomically: temp file, fsync, rename. Failure only loses the cache. */
static void cache_store(const clg_ctx *ctx, const char *path, uint64_t key, cl_program prog) {
    size_t binlen = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof binlen, &binlen, NULL) !=
            CL_SUCCESS || binlen == 0)
        return;
    unsigned char *bin = malloc(binlen);
    if (!bin) return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return;
    }
    char dir[4400], tmp[4500];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    uint64_t size = binlen, check = clg_fnv1a64(bin, binlen, CLG_FNV_SEED);
    int fd = -1;
    if (clg_mkdir_p(dir) != CLG_OK) goto done; /* no cache, but the build stands */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) goto done;
    int ok = write(fd, cache_magic, 8) == 8 && write(fd, &key, 8) == 8 &&
             write(fd, &size, 8) == 8 && write(fd, &check, 8) == 8 &&
             write(fd, bin, binlen) == (ssize_t)binlen && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    fd = -1;
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
done:
    (void)ctx;
    free(bin);
}

/* Build from source and store in the cache file `path` (when not ""). */
static clg_status build_and_store(clg_ctx *ctx, const char *family, const char *defines,
                                  const char *src, const char *path, uint64_t key,
                                  cl_program *out) {
    char label[256];
    snprintf(label, sizeof label, "kernels/%s.cl%s%s%s", family, *defines ? " [" : "", defines,
             *defines ? "]" : "");
    CLG_TRY(clg_program_build_source(ctx, label, src, out));
    ctx->stats.cache_misses++;
    if (path[0]) cache_store(ctx, path, key, *out);
    return CLG_OK;
}

/* The source, its identity key and its cache file path ("" when off). */
static clg_status source_and_path(clg_ctx *ctx, const char *family, const char *defines,
                                  char **src, uint64_t *key, char *path, size_t cap) {
    CLG_TRY(assemble(ctx, family, defines, src));
    *key = identity_key(ctx, *src);
    clg_status s = cache_path_for(family, *key, path, cap);
    if (s != CLG_OK) {
        free(*src);
        *src = NULL;
    }
    return s;
}

clg_status clg_program_get(clg_ctx *ctx, const char *family, const char *defines,
                           cl_program *out) {
    if (!defines) defines = "";
    for (clg_program_entry *e = ctx->programs; e; e = e->next)
        if (strcmp(e->family, family) == 0 && strcmp(e->defines, defines) == 0) {
            *out = e->program;
            return CLG_OK;
        }
    char *src = NULL, path[4400];
    uint64_t key;
    clg_status rc;
    cl_program prog = NULL;
    clg_program_entry *e = NULL;
    CLG_TRY_GOTO(source_and_path(ctx, family, defines, &src, &key, path, sizeof path), fail);
    int hit = path[0] && cache_load(ctx, path, key, &prog);
    if (hit) ctx->stats.cache_hits++;
    else CLG_TRY_GOTO(build_and_store(ctx, family, defines, src, path, key, &prog), fail);
    e = calloc(1, sizeof *e);
    if (!e || !(e->family = strdup(family)) || !(e->defines = strdup(defines))) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto fail;
    }
    e->program = prog;
    e->from_cache = hit;
    e->next = ctx->programs;
    ctx->programs = e;
    free(src);
    *out = prog;
    return CLG_OK;
fail:
    if (e) {
        free(e->family);
        free(e->defines);
        free(e);
    }
    if (prog) clReleaseProgram(prog);
    free(src);
    return rc;
}

clg_status clg_program_rebuild(clg_ctx *ctx, cl_program stale, cl_program *out) {
    *out = NULL;
    clg_program_entry *e = ctx->programs;
    while (e && e->program != stale) e = e->next;
    if (!e || !e->from_cache) return CLG_OK; /* built from source: the failure is real */
    char *src, path[4400];
    uint64_t key;
    CLG_TRY(source_and_path(ctx, e->family, e->defines, &src, &key, path, sizeof path));
    unlink(path); /* even if the build below fails, the entry is not trusted again */
    ctx->stats.cache_hits--;
    ctx->stats.cache_rejects++;
    cl_program fresh;
    clg_status s = build_and_store(ctx, e->family, e->defines, src, path, key, &fresh);
    free(src);
    CLG_TRY(s);
    clReleaseProgram(stale); /* kernels made from it keep it alive until released */
    e->program = fresh;
    e->from_cache = 0;
    *out = fresh;
    return CLG_OK;
}

void clg_programs_free(clg_ctx *ctx) {
    for (clg_program_entry *e = ctx->programs, *next; e; e = next) {
        next = e->next;
        clReleaseProgram(e->program);
        free(e->family);
        free(e->defines);
        free(e);
    }
    ctx->programs = NULL;
}

clg_status clg_device_file(const clg_ctx *ctx, const char *prefix, char *buf, size_t cap) {
    char dir[4000];
    CLG_TRY(clg_cache_dir(dir, sizeof dir));
    if (!dir[0]) {
        buf[0] = '\0';
        return CLG_OK;
    }
    uint64_t h = CLG_FNV_SEED;
    h = clg_fnv1a64(ctx->dev.platform_name, strlen(ctx->dev.platform_name), h);
    h = clg_fnv1a64(ctx->dev.name, strlen(ctx->dev.name), h);
    h = clg_fnv1a64(ctx->dev.driver, strlen(ctx->dev.driver), h);
    h = clg_fnv1a64(ctx->dev.version, strlen(ctx->dev.version), h);
    snprintf(buf, cap, "%s/%s-%016llx.txt", dir, prefix, (unsigned long long)h);
    return CLG_OK;
}
