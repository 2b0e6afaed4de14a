/* runtime.h: OpenCL devices, the clgan context (one device, one in-order
 * profiling queue), kernels by name and checked launches.
 *
 * Not here: what any kernel computes (host/<family>.c), program building and
 * the binary cache (host/program.c). */
#ifndef CLG_RUNTIME_H
#define CLG_RUNTIME_H

#include "status.h"

#include <stddef.h>
#include <stdint.h>

#define CLG_VERSION "0.2.0"

typedef struct {
    int platform_index, device_index;
    cl_platform_id platform;
    cl_device_id device;
    char platform_name[256], platform_version[256];
    char name[256], vendor[256], version[256], driver[256], c_version[256];
    cl_device_type type;
    cl_uint compute_units;
    cl_ulong global_mem, local_mem, max_alloc;
    size_t max_wg;
    int has_fp64;
    /* Floats per vector in explicitly vectorised kernels (4, 8 or 16): the
     * device's preferred float width, else its native one, at least 4 (see
     * clg_device_vector_width). The prelude passes it as CLG_FLOAT_VW. */
    cl_uint float_vw;
} clg_device_info;

/* Every device of every platform, in platform:device order.
 * *out is malloc'd; free it with free(). */
clg_status clg_devices_list(clg_device_info **out, int *count);
const char *clg_device_type_name(cl_device_type t);
/* Writes the device table (as `clgan devices` prints it) into buf. */
void clg_devices_format(const clg_device_info *devs, int count, char *buf, size_t cap);

/* Pick a device: `spec` is "P:D", a case-insensitive substring of the device
 * (or platform) name, or NULL/"" for $CLGAN_DEVICE, else the first GPU, else
 * the first device. An unknown spec fails with the device list in the message. */
clg_status clg_device_select(const char *spec, clg_device_info *out);

typedef struct clg_kernel_entry clg_kernel_entry;
typedef struct clg_program_entry clg_program_entry;

typedef struct {
    uint64_t cache_hits;     /* program binaries loaded from the disk cache */
    uint64_t cache_misses;   /* programs built from source */
    uint64_t cache_rejects;  /* cache files found but corrupt, stale or unloadable */
} clg_runtime_stats;

/* Device time per kernel family, gathered while ctx->profile is set. */
typedef struct {
    char family[32];
    double ms;
    long launches;
} clg_profile_entry;

typedef struct clg_ctx {
    clg_device_info dev;
    cl_context context;
    cl_command_queue queue; /* in order, profiling enabled */
    cl_command_queue side;  /* a second in-order queue, made on first use (clg_ctx_side_queue) */
    clg_program_entry *programs; /* built programs, by (family, defines) */
    clg_kernel_entry *kernels;   /* kernel objects, by (program, name) */
    void *blas_scratch;          /* reserved for host/gemm.c */
    clg_runtime_stats stats;
    size_t live_bytes, peak_bytes; /* device memory held through clg_buffer_* */
    cl_mem scratch;                /* see clg_scratch */
    size_t scratch_bytes;
    int profile;                   /* 1: every launch records an event */
    int profile_kernels;           /* $CLGAN_PROFILE_KERNELS=1: by kernel, not family */
    cl_event *prof_events;
    const char **prof_families;
    int prof_n, prof_cap;
    clg_profile_entry prof[64];
    int prof_count;
    /* Data-parallel training (host/dist.h); NULL: this process alone. With
     * sync_bn, BN layers allocated meanwhile take their training statistics
     * over every rank (host/bn_sync.h). */
    struct clg_dist *dist;
    int sync_bn;
    /* Which BN/VBN kernels run (host/batchnorm.c, host/vbn.c): CLG_NORM_AUTO
     * takes the split kernels (several work-groups per channel) on GPUs, for
     * BN where N*H*W is large enough, and the per-channel ones elsewhere; $CLGAN_BN_PATH = gpu | cpu sets it at
     * creation. norm_slices > 0 fixes BN's slices per channel (tests). */
    int norm_path, norm_slices;
} clg_ctx;

enum { CLG_NORM_AUTO, CLG_NORM_CPU, CLG_NORM_GPU };

/* Create a context on the device `spec` names (see clg_device_select).
 * Tuned CLBlast parameters are not applied here: that is the caller's
 * choice (clg_gemm_tune_apply, host/gemm_tune.h, sits above the runtime). */
clg_status clg_ctx_create(clg_ctx **out, const char *spec);
/* Releases everything the context created; NULL is fine. */
void clg_ctx_free(clg_ctx *ctx);
clg_status clg_ctx_finish(clg_ctx *ctx);
/* The second queue (made on first use): transfers that wait for an event of
 * the main queue without waiting for everything enqueued after it. */
clg_status clg_ctx_side_queue(clg_ctx *ctx, cl_command_queue *q);

/* Device buffers, counted in live_bytes/peak_bytes. A failed allocation
 * names `what` and the size. */
clg_status clg_buffer_create(clg_ctx *ctx, size_t bytes, const char *what, cl_mem *out);
void clg_buffer_release(clg_ctx *ctx, cl_mem buf, size_t bytes);

/* A device buffer of at least `bytes` owned by the context, for temporaries
 * that live within one call's kernels (the queue is in order, so the next
 * call may reuse it). It only grows; reserve it during setup (e.g.
 * clg_conv_reserve) and a training loop allocates nothing. */
clg_status clg_scratch(clg_ctx *ctx, size_t bytes, cl_mem *out);
/* Gives the scratch back (the next clg_scratch allocates it again). */
void clg_scratch_release(clg_ctx *ctx);

/* A kernel object for `name` in the program built from kernels/<family>.cl
 * with the extra `defines` (e.g. "-DTILE=16", may be NULL). Built once per
 * context, then reused. */
clg_status clg_kernel_get(clg_ctx *ctx, const char *family, const char *defines,
                          const char *name, cl_kernel *out);

/* Launch over `global` work-items (rounded up to a multiple of `local`) in
 * 1-D, or 2-D with local sizes l0 x l1. The local size is checked against the
 * kernel's and the device's limits before the launch. `ev` may be NULL. */
clg_status clg_launch_1d(clg_ctx *ctx, cl_kernel k, size_t global, size_t local,
                         cl_event *ev);
clg_status clg_launch_2d(clg_ctx *ctx, cl_kernel k, size_t g0, size_t g1,
                         size_t l0, size_t l1, cl_event *ev);
/* Launch a grid-stride kernel over n elements: local size 256 (or the
 * largest power of two the kernel allows), at most 2^20 work-groups, so up
 * to 2^28 elements run one per work-item (PoCL vectorises that far better
 * than a long grid-stride loop); the kernel loops
 * `for (i = get_global_id(0); i < n; i += get_global_size(0))`. */
clg_status clg_launch_flat(clg_ctx *ctx, cl_kernel k, size_t n, cl_event *ev);
/* The largest power-of-two local size <= `want` that kernel and device allow. */
size_t clg_local_size(clg_ctx *ctx, cl_kernel k, size_t want);

/* Set a kernel's arguments in one call, in order:
 *   CLG_SET_ARGS(k, CLG_ARG(buf), CLG_ARG_OFF(off, n), CLG_ARG(n), CLG_LOCAL(bytes));
 * CLG_ARG's argument must be an lvalue of exactly the kernel's type (cl_mem,
 * cl_uint, cl_float, ...).
 *
 * Kernels index buffers with uint, so every element offset goes through
 * CLG_ARG_OFF (for tensors, CLG_TENSOR_ARGS / CLG_TENSOR_OFF in tensor.h):
 * it records how far the kernel reaches from it, and clg_set_args, the one
 * place every wrapper passes through, fails with CLG_ERR_INVALID_ARG (naming
 * the kernel and the argument) before setting anything when offset + count
 * exceeds UINT32_MAX. So no wrapper has its own 32-bit check, and none can
 * launch with a silently truncated offset. */
typedef struct {
    size_t size;
    const void *ptr;
    size_t first, end; /* an element offset argument: it reaches [first, end); else 0, 0 */
} clg_arg;
#define CLG_ARG(x) ((clg_arg){sizeof(x), &(x), 0, 0})
#define CLG_LOCAL(bytes) ((clg_arg){(bytes), NULL, 0, 0})
/* A cl_uint element offset `off` from which the kernel reaches `count` elements. */
#define CLG_ARG_OFF(off, count)                                                 \
    ((clg_arg){sizeof(cl_uint), &(const cl_uint){(cl_uint)(off)}, (size_t)(off), \
               clg_arg_end((size_t)(off), (size_t)(count))})
/* first + count, saturating (a corrupt offset must not wrap into range). */
static inline size_t clg_arg_end(size_t first, size_t count) {
    return count > SIZE_MAX - first ? SIZE_MAX : first + count;
}
#define CLG_SET_ARGS(k, ...)                                                    \
    clg_set_args((k), (const clg_arg[]){__VA_ARGS__},                           \
                 (int)(sizeof((const clg_arg[]){__VA_ARGS__}) / sizeof(clg_arg)))
clg_status clg_set_args(cl_kernel k, const clg_arg *args, int n);

/* Profiling: while ctx->profile is 1, every launch records an event under
 * its kernel family. clg_profile_record adds an event made elsewhere
 * (CLBlast); clg_profile_collect waits for the recorded events and adds
 * their device time to ctx->prof. */
clg_status clg_profile_record(clg_ctx *ctx, cl_event ev, const char *family);
clg_status clg_profile_collect(clg_ctx *ctx);
/* The same for the first n recorded events alone (those of finished work);
 * the later ones stay recorded. */
clg_status clg_profile_collect_first(clg_ctx *ctx, int n);

/* Milliseconds between an event's start and end (profiling queue). */
clg_status clg_event_ms(cl_event ev, double *ms);

#endif
