/* runtime.c: device discovery and selection, the context, kernel lookup and
 * checked launches. Programs themselves are built in program.c. */
#include "runtime.h"
#include "program.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clGetPlatformIDs answers this (cl_khr_icd) when no ICD is installed. */
#define CLG_PLATFORM_NOT_FOUND_KHR (-1001)

struct clg_kernel_entry {
    clg_kernel_entry *next;
    cl_program program; /* owner; not released here */
    char family[32];
    char name[64];
    cl_kernel kernel;
    size_t wg_limit; /* min(CL_KERNEL_WORK_GROUP_SIZE, device max); 0 until asked */
};

const char *clg_device_type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "ACCELERATOR";
    return "OTHER";
}

/* Floats per vector for the explicitly vectorised kernels: the device's
 * preferred width (AVX2: 8, AVX-512: 16), else its native one, rounded down
 * to 4, 8 or 16; GPUs that prefer scalars (1) get 4, which still gives each
 * work-item independent loads. CLGAN_VECTOR_WIDTH overrides it, for drivers
 * that report the build machine's width rather than this CPU's. */
static clg_status vector_width(cl_device_id id, cl_uint *out) {
    const char *env = getenv("CLGAN_VECTOR_WIDTH");
    if (env && *env) {
        if (strcmp(env, "4") && strcmp(env, "8") && strcmp(env, "16"))
            return clg_fail(CLG_ERR_INVALID_ARG, "CLGAN_VECTOR_WIDTH must be 4, 8 or 16, not '%s'",
                            env);
        *out = (cl_uint)atoi(env);
        return CLG_OK;
    }
    cl_uint w = 0, native = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof w, &w, NULL) !=
        CL_SUCCESS)
        w = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof native, &native, NULL) !=
        CL_SUCCESS)
        native = 0;
    if (w <= 1) w = native;
    *out = w >= 16 ? 16 : w >= 8 ? 8 : 4;
    return CLG_OK;
}

static clg_status device_info_fill(clg_device_info *d) {
    cl_device_id id = d->device;
    CL_CHECK(clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof d->platform_name,
                               d->platform_name, NULL));
    CL_CHECK(clGetPlatformInfo(d->platform, CL_PLATFORM_VERSION,
                               sizeof d->platform_version, d->platform_version, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_NAME, sizeof d->name, d->name, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_VENDOR, sizeof d->vendor, d->vendor, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_VERSION, sizeof d->version, d->version, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DRIVER_VERSION, sizeof d->driver, d->driver, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_OPENCL_C_VERSION, sizeof d->c_version,
                             d->c_version, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof d->type, &d->type, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof d->compute_units,
                             &d->compute_units, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof d->global_mem,
                             &d->global_mem, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof d->local_mem,
                             &d->local_mem, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof d->max_alloc,
                             &d->max_alloc, NULL));
    CL_CHECK(clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof d->max_wg,
                             &d->max_wg, NULL));
    cl_device_fp_config fp64 = 0;
    /* Devices without doubles may answer this query with an error. */
    if (clGetDeviceInfo(id, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL) != CL_SUCCESS)
        fp64 = 0;
    d->has_fp64 = fp64 != 0;
    return vector_width(id, &d->float_vw);
}

clg_status clg_devices_list(clg_device_info **out, int *count) {
    *out = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == CLG_PLATFORM_NOT_FOUND_KHR || np == 0)
        return clg_fail(CLG_ERR_NO_DEVICE,
                        "no OpenCL platform found (is an ICD installed? "
                        "on Debian: apt-get install pocl-opencl-icd)");
    CL_CHECK(err);
    cl_platform_id plats[16];
    if (np > 16) np = 16;
    CL_CHECK(clGetPlatformIDs(np, plats, NULL));
    clg_device_info *devs = NULL;
    int n = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue; /* a platform without devices is not an error */
        cl_device_id ids[64];
        if (nd > 64) nd = 64;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL) != CL_SUCCESS) continue;
        clg_device_info *grown = realloc(devs, (size_t)(n + (int)nd) * sizeof *devs);
        if (!grown) {
            free(devs);
            return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory listing devices");
        }
        devs = grown;
        for (cl_uint d = 0; d < nd; d++) {
            clg_device_info *di = &devs[n];
            memset(di, 0, sizeof *di);
            di->platform_index = (int)p;
            di->device_index = (int)d;
            di->platform = plats[p];
            di->device = ids[d];
            clg_status s = device_info_fill(di);
            if (s != CLG_OK) {
                free(devs);
                return s;
            }
            n++;
        }
    }
    if (n == 0) {
        free(devs);
        return clg_fail(CLG_ERR_NO_DEVICE, "OpenCL platforms found, but no devices");
    }
    *out = devs;
    *count = n;
    return CLG_OK;
}

void clg_devices_format(const clg_device_info *devs, int count, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && len < cap; i++) {
        const clg_device_info *d = &devs[i];
        int w = snprintf(buf + len, cap - len,
                         "%d:%d  %s\n"
                         "     platform: %s (%s)\n"
                         "     vendor: %s, type: %s\n"
                         "     OpenCL: %s, C: %s, driver: %s\n"
                         "     compute units: %u, global memory: %.1f MiB, "
                         "local memory: %.1f KiB, max work-group: %zu, float vectors: %u\n",
                         d->platform_index, d->device_index, d->name, d->platform_name,
                         d->platform_version, d->vendor, clg_device_type_name(d->type),
                         d->version, d->c_version, d->driver, d->compute_units,
                         (double)d->global_mem / (1024.0 * 1024.0),
                         (double)d->local_mem / 1024.0, d->max_wg, d->float_vw);
        if (w < 0) break;
        len += (size_t)w;
    }
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

clg_status clg_device_select(const char *spec, clg_device_info *out) {
    clg_device_info *devs;
    int n;
    CLG_TRY(clg_devices_list(&devs, &n));
    const char *source = "--device";
    if (!spec || !*spec) {
        spec = getenv("CLGAN_DEVICE");
        source = "CLGAN_DEVICE";
    }
    int pick = -1;
    if (!spec || !*spec) {
        for (int i = 0; i < n && pick < 0; i++)
            if (devs[i].type & CL_DEVICE_TYPE_GPU) pick = i;
        if (pick < 0) pick = 0;
    } else {
        int p, d, used = 0;
        if (sscanf(spec, "%d:%d%n", &p, &d, &used) == 2 && spec[used] == '\0') {
            for (int i = 0; i < n; i++)
                if (devs[i].platform_index == p && devs[i].device_index == d) pick = i;
        } else {
            for (int i = 0; i < n && pick < 0; i++)
                if (contains_nocase(devs[i].name, spec)) pick = i;
            for (int i = 0; i < n && pick < 0; i++)
                if (contains_nocase(devs[i].platform_name, spec)) pick = i;
        }
    }
    if (pick < 0) {
        char list[8192];
        clg_devices_format(devs, n, list, sizeof list);
        free(devs);
        return clg_fail(CLG_ERR_NO_DEVICE,
                        "no OpenCL device matches '%s' (from %s); give P:D or part "
                        "of a name. Devices:\n%s",
                        spec, source, list);
    }
    *out = devs[pick];
    free(devs);
    return CLG_OK;
}

/* $CLGAN_BN_PATH: "gpu" or "cpu" forces that path of the norm kernels. */
static clg_status norm_path(int *out) {
    const char *env = getenv("CLGAN_BN_PATH");
    *out = CLG_NORM_AUTO;
    if (!env || !*env) return CLG_OK;
    if (strcmp(env, "gpu") == 0) *out = CLG_NORM_GPU;
    else if (strcmp(env, "cpu") == 0) *out = CLG_NORM_CPU;
    else return clg_fail(CLG_ERR_INVALID_ARG, "CLGAN_BN_PATH must be gpu or cpu, not '%s'", env);
    return CLG_OK;
}

clg_status clg_ctx_create(clg_ctx **out, const char *spec) {
    *out = NULL;
    clg_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    clg_status rc = clg_device_select(spec, &ctx->dev);
    if (rc != CLG_OK) goto fail;
    const char *pk = getenv("CLGAN_PROFILE_KERNELS");
    ctx->profile_kernels = pk && strcmp(pk, "1") == 0;
    rc = norm_path(&ctx->norm_path);
    if (rc != CLG_OK) goto fail;
    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     (cl_context_properties)ctx->dev.platform, 0};
    ctx->context = clCreateContext(props, 1, &ctx->dev.device, NULL, NULL, &err);
    CL_CHECK_GOTO(err, fail);
    ctx->queue = clCreateCommandQueue(ctx->context, ctx->dev.device,
                                      CL_QUEUE_PROFILING_ENABLE, &err);
    CL_CHECK_GOTO(err, fail);
    *out = ctx;
    return CLG_OK;
fail:
    clg_ctx_free(ctx);
    return rc;
}

void clg_ctx_free(clg_ctx *ctx) {
    if (!ctx) return;
    if (ctx->queue) clFinish(ctx->queue);
    if (ctx->scratch) clReleaseMemObject(ctx->scratch);
    for (clg_kernel_entry *k = ctx->kernels, *next; k; k = next) {
        next = k->next;
        clReleaseKernel(k->kernel);
        free(k);
    }
    for (int i = 0; i < ctx->prof_n; i++) clReleaseEvent(ctx->prof_events[i]);
    free(ctx->prof_events);
    free(ctx->prof_families);
    clg_programs_free(ctx);
    if (ctx->side) {
        clFinish(ctx->side);
        clReleaseCommandQueue(ctx->side);
    }
    if (ctx->queue) clReleaseCommandQueue(ctx->queue);
    if (ctx->context) clReleaseContext(ctx->context);
    free(ctx);
}

clg_status clg_ctx_finish(clg_ctx *ctx) {
    CL_CHECK(clFinish(ctx->queue));
    return CLG_OK;
}

clg_status clg_ctx_side_queue(clg_ctx *ctx, cl_command_queue *q) {
    if (!ctx->side) {
        cl_int err;
        ctx->side = clCreateCommandQueue(ctx->context, ctx->dev.device, 0, &err);
        CL_CHECK(err);
    }
    *q = ctx->side;
    return CLG_OK;
}

clg_status clg_buffer_create(clg_ctx *ctx, size_t bytes, const char *what, cl_mem *out) {
    *out = NULL;
    if (bytes == 0) bytes = 4; /* OpenCL rejects empty buffers */
    if (bytes > ctx->dev.max_alloc)
        return clg_fail(CLG_ERR_OUT_OF_MEMORY,
                        "buffer '%s' needs %.1f MiB, more than the device's largest "
                        "allocation (%.1f MiB) on %s; try a smaller batch",
                        what, (double)bytes / 1048576.0,
                        (double)ctx->dev.max_alloc / 1048576.0, ctx->dev.name);
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return clg_fail(err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
                                err == CL_OUT_OF_HOST_MEMORY
                            ? CLG_ERR_OUT_OF_MEMORY : CLG_ERR_OPENCL,
                        "%s allocating buffer '%s' of %.1f MiB on %s (%.1f MiB live); "
                        "try a smaller batch",
                        clg_cl_error_name(err), what, (double)bytes / 1048576.0,
                        ctx->dev.name, (double)ctx->live_bytes / 1048576.0);
    ctx->live_bytes += bytes;
    if (ctx->live_bytes > ctx->peak_bytes) ctx->peak_bytes = ctx->live_bytes;
    *out = m;
    return CLG_OK;
}

void clg_buffer_release(clg_ctx *ctx, cl_mem buf, size_t bytes) {
    if (!buf) return;
    if (bytes == 0) bytes = 4;
    clReleaseMemObject(buf);
    ctx->live_bytes -= bytes <= ctx->live_bytes ? bytes : ctx->live_bytes;
}

void clg_scratch_release(clg_ctx *ctx) {
    /* OpenCL keeps the buffer alive until kernels using it finish. */
    clg_buffer_release(ctx, ctx->scratch, ctx->scratch_bytes);
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
}

clg_status clg_scratch(clg_ctx *ctx, size_t bytes, cl_mem *out) {
    if (bytes > ctx->scratch_bytes) {
        clg_scratch_release(ctx);
        CLG_TRY(clg_buffer_create(ctx, bytes, "scratch (split-K, norm partial sums)",
                                  &ctx->scratch));
        ctx->scratch_bytes = bytes;
    }
    *out = ctx->scratch;
    return CLG_OK;
}

/* Release the kernels made from `prog` (replaced by a rebuilt program). */
static void drop_kernels_of(clg_ctx *ctx, cl_program prog) {
    for (clg_kernel_entry **p = &ctx->kernels; *p;) {
        clg_kernel_entry *k = *p;
        if (k->program != prog) {
            p = &k->next;
            continue;
        }
        *p = k->next;
        clReleaseKernel(k->kernel);
        free(k);
    }
}

clg_status clg_kernel_get(clg_ctx *ctx, const char *family, const char *defines,
                          const char *name, cl_kernel *out) {
    cl_program prog;
    CLG_TRY(clg_program_get(ctx, family, defines, &prog));
    for (clg_kernel_entry *k = ctx->kernels; k; k = k->next)
        if (k->program == prog && strcmp(k->name, name) == 0) {
            *out = k->kernel;
            return CLG_OK;
        }
    if (strlen(name) >= sizeof ctx->kernels->name)
        return clg_fail(CLG_ERR_INVALID_ARG, "kernel name too long: %s", name);
    cl_int err;
    cl_kernel kern = clCreateKernel(prog, name, &err);
    if (err != CL_SUCCESS) {
        cl_program fresh;
        CLG_TRY(clg_program_rebuild(ctx, prog, &fresh));
        if (fresh) {
            drop_kernels_of(ctx, prog);
            prog = fresh;
            kern = clCreateKernel(prog, name, &err);
        }
    }
    if (err != CL_SUCCESS)
        return clg_fail(CLG_ERR_OPENCL, "%s creating kernel '%s' from kernels/%s.cl",
                        clg_cl_error_name(err), name, family);
    clg_kernel_entry *e = calloc(1, sizeof *e);
    if (!e) {
        clReleaseKernel(kern);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    e->program = prog;
    snprintf(e->family, sizeof e->family, "%s", family);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->kernel = kern;
    e->next = ctx->kernels;
    ctx->kernels = e;
    *out = kern;
    return CLG_OK;
}

static const char *kernel_name(cl_kernel k, char *buf, size_t cap) {
    snprintf(buf, cap, "?");
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, cap, buf, NULL);
    return buf;
}

/* The 32-bit check of every element offset argument (see CLG_ARG_OFF). */
static clg_status check_offsets(cl_kernel k, const clg_arg *args, int n) {
    for (int i = 0; i < n; i++) {
        if (args[i].end <= UINT32_MAX) continue;
        char kname[64];
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "kernel %s: argument %d, an element offset, spans elements [%zu, %zu): "
                        "past the kernels' 32-bit indexing (a tensor too large or too far "
                        "into its buffer)", kernel_name(k, kname, sizeof kname), i,
                        args[i].first, args[i].end);
    }
    return CLG_OK;
}

clg_status clg_set_args(cl_kernel k, const clg_arg *args, int n) {
    CLG_TRY(check_offsets(k, args, n));
    for (int i = 0; i < n; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
        if (err != CL_SUCCESS) {
            char kname[64];
            return clg_fail(CLG_ERR_OPENCL, "%s setting argument %d of kernel %s",
                            clg_cl_error_name(err), i, kernel_name(k, kname, sizeof kname));
        }
    }
    return CLG_OK;
}

static clg_kernel_entry *find_entry(clg_ctx *ctx, cl_kernel k) {
    for (clg_kernel_entry *e = ctx->kernels; e; e = e->next)
        if (e->kernel == k) return e;
    return NULL;
}

/* Queried once per kernel: launches are on the hot path of every step. */
static size_t kernel_wg_limit(clg_ctx *ctx, cl_kernel k) {
    clg_kernel_entry *e = find_entry(ctx, k);
    if (e && e->wg_limit) return e->wg_limit;
    size_t lim = 0;
    if (clGetKernelWorkGroupInfo(k, ctx->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof lim,
                                 &lim, NULL) != CL_SUCCESS || lim == 0)
        lim = 1;
    if (lim > ctx->dev.max_wg) lim = ctx->dev.max_wg;
    if (e) e->wg_limit = lim;
    return lim;
}

size_t clg_local_size(clg_ctx *ctx, cl_kernel k, size_t want) {
    size_t lim = kernel_wg_limit(ctx, k);
    size_t l = 1;
    while (l * 2 <= want && l * 2 <= lim) l *= 2;
    return l;
}

static clg_status launch(clg_ctx *ctx, cl_kernel k, cl_uint dims, const size_t *g,
                         const size_t *l, cl_event *ev) {
    char kname[64];
    size_t total = 1, gr[2];
    for (cl_uint i = 0; i < dims; i++) {
        if (l[i] == 0)
            return clg_fail(CLG_ERR_INVALID_ARG, "kernel %s: local size 0",
                            kernel_name(k, kname, sizeof kname));
        total *= l[i];
        gr[i] = (g[i] + l[i] - 1) / l[i] * l[i];
        if (gr[i] == 0) gr[i] = l[i];
    }
    size_t lim = kernel_wg_limit(ctx, k);
    if (total > lim)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "kernel %s: work-group of %zu items exceeds the limit %zu "
                        "(kernel and device %s)",
                        kernel_name(k, kname, sizeof kname), total, lim, ctx->dev.name);
    cl_event own = NULL;
    if (ctx->profile && !ev) ev = &own;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, gr, l, 0, NULL, ev);
    if (err == CL_SUCCESS && own) {
        clg_kernel_entry *e = find_entry(ctx, k);
        CLG_TRY(clg_profile_record(ctx, own, !e ? "?" : ctx->profile_kernels ? e->name : e->family));
    }
    if (err != CL_SUCCESS)
        return clg_fail(err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES
                            ? CLG_ERR_OUT_OF_MEMORY : CLG_ERR_OPENCL,
                        "%s launching kernel %s (global %zu x %zu, local %zu x %zu)",
                        clg_cl_error_name(err), kernel_name(k, kname, sizeof kname), gr[0],
                        dims > 1 ? gr[1] : 1, l[0], dims > 1 ? l[1] : 1);
    return CLG_OK;
}

clg_status clg_launch_1d(clg_ctx *ctx, cl_kernel k, size_t global, size_t local,
                         cl_event *ev) {
    return launch(ctx, k, 1, &global, &local, ev);
}

clg_status clg_launch_2d(clg_ctx *ctx, cl_kernel k, size_t g0, size_t g1, size_t l0,
                         size_t l1, cl_event *ev) {
    size_t g[2] = {g0, g1}, l[2] = {l0, l1};
    return launch(ctx, k, 2, g, l, ev);
}

#ifndef CLG_FLAT_LOCAL
#define CLG_FLAT_LOCAL 256
#endif
#ifndef CLG_FLAT_MAX_GROUPS
#define CLG_FLAT_MAX_GROUPS (1u << 20)
#endif
clg_status clg_launch_flat(clg_ctx *ctx, cl_kernel k, size_t n, cl_event *ev) {
    size_t local = clg_local_size(ctx, k, CLG_FLAT_LOCAL);
    size_t groups = (n + local - 1) / local;
    if (groups > CLG_FLAT_MAX_GROUPS) groups = CLG_FLAT_MAX_GROUPS;
    if (groups == 0) groups = 1;
    return clg_launch_1d(ctx, k, groups * local, local, ev);
}

clg_status clg_profile_record(clg_ctx *ctx, cl_event ev, const char *family) {
    if (ctx->prof_n == ctx->prof_cap) {
        int cap = ctx->prof_cap ? ctx->prof_cap * 2 : 256;
        cl_event *e = realloc(ctx->prof_events, (size_t)cap * sizeof *e);
        if (e) ctx->prof_events = e;
        const char **f = realloc(ctx->prof_families, (size_t)cap * sizeof *f);
        if (f) ctx->prof_families = f;
        if (!e || !f) {
            clReleaseEvent(ev);
            return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory while profiling");
        }
        ctx->prof_cap = cap;
    }
    ctx->prof_events[ctx->prof_n] = ev;
    ctx->prof_families[ctx->prof_n] = family;
    ctx->prof_n++;
    return CLG_OK;
}

static void profile_add(clg_ctx *ctx, const char *family, double ms) {
    int j = 0;
    while (j < ctx->prof_count && strcmp(ctx->prof[j].family, family) != 0) j++;
    if (j == ctx->prof_count) {
        if (j == (int)(sizeof ctx->prof / sizeof ctx->prof[0])) return;
        snprintf(ctx->prof[j].family, sizeof ctx->prof[j].family, "%s", family);
        ctx->prof[j].ms = 0;
        ctx->prof[j].launches = 0;
        ctx->prof_count++;
    }
    ctx->prof[j].ms += ms;
    ctx->prof[j].launches++;
}

clg_status clg_profile_collect_first(clg_ctx *ctx, int n) {
    clg_status rc = CLG_OK;
    if (n > ctx->prof_n) n = ctx->prof_n;
    for (int i = 0; i < n; i++) {
        double ms = 0;
        if (rc == CLG_OK) rc = clg_event_ms(ctx->prof_events[i], &ms);
        clReleaseEvent(ctx->prof_events[i]);
        if (rc == CLG_OK) profile_add(ctx, ctx->prof_families[i], ms);
    }
    ctx->prof_n -= n;
    if (n == 0 || ctx->prof_n == 0) return rc;
    memmove(ctx->prof_events, ctx->prof_events + n, (size_t)ctx->prof_n * sizeof *ctx->prof_events);
    memmove(ctx->prof_families, ctx->prof_families + n,
            (size_t)ctx->prof_n * sizeof *ctx->prof_families);
    return rc;
}

clg_status clg_profile_collect(clg_ctx *ctx) { return clg_profile_collect_first(ctx, ctx->prof_n); }

clg_status clg_event_ms(cl_event ev, double *ms) {
    cl_ulong t0 = 0, t1 = 0;
    CL_CHECK(clWaitForEvents(1, &ev));
    CL_CHECK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL));
    CL_CHECK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
    *ms = (double)(t1 - t0) * 1e-6;
    return CLG_OK;
}
