/* reduce.c: host wrappers for kernels/reduce.cl. */
#include "reduce.h"

#define FAMILY "reduce"

/* Work-items per channel in the strided layout (GPUs): enough to hide
 * memory latency, coalesced. */
#ifndef CLG_REDUCE_LOCAL_STRIDED
#define CLG_REDUCE_LOCAL_STRIDED 256
#endif

/* The contiguous layout (CPUs) runs a work-group's items one after the other
 * on one thread: parallelism comes from the channels, and each item should
 * own at least ~1024 elements. Measured on PoCL (2 cores): local 1 is 3x
 * faster than 256 at (64, 512, 4, 4), local 64 2x faster than 16 at
 * (1, 3, 577, 577). PoCL compiles one variant per local size, so only
 * 1, 4, 16 and 64 are used. */
static size_t contiguous_local(size_t per_channel) {
    size_t l = 1;
    while (l < 64 && l * 4 * 1024 <= per_channel) l *= 4;
    return l;
}

static clg_status check_channels(const char *what, const clg_tensor *t, size_t c) {
    if (clg_tensor_numel(t) != c)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "channel_stats: %s has %zu elements, x has %zu channels", what,
                        clg_tensor_numel(t), c);
    return CLG_OK;
}

clg_status clg_channel_stats_layout(clg_ctx *ctx, const clg_tensor *sum, const clg_tensor *mean,
                                    const clg_tensor *var, const clg_tensor *x,
                                    clg_reduce_layout layout) {
    if (x->n < 1 || x->c < 1 || x->h < 1 || x->w < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "channel_stats: x has an empty shape (%d, %d, %d, %d)",
                        x->n, x->c, x->h, x->w);
    const size_t c = (size_t)x->c;
    CLG_TRY(check_channels("sum", sum, c));
    CLG_TRY(check_channels("mean", mean, c));
    CLG_TRY(check_channels("var", var, c));
    if (layout == CLG_REDUCE_AUTO)
        layout = (ctx->dev.type & CL_DEVICE_TYPE_CPU) ? CLG_REDUCE_CONTIGUOUS : CLG_REDUCE_STRIDED;
    const int contiguous = layout == CLG_REDUCE_CONTIGUOUS;
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, contiguous ? "REDUCE_LAYOUT=1" : "REDUCE_LAYOUT=0",
                           "channel_stats", &k));
    const size_t per_channel = clg_tensor_numel(x) / c;
    size_t local = clg_local_size(ctx, k, contiguous ? contiguous_local(per_channel)
                                                     : CLG_REDUCE_LOCAL_STRIDED);
    cl_uint un = (cl_uint)x->n, uc = (cl_uint)x->c, hw = (cl_uint)x->h * (cl_uint)x->w;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(sum), CLG_TENSOR_ARGS(mean), CLG_TENSOR_ARGS(var),
                         CLG_TENSOR_ARGS(x), CLG_ARG(un), CLG_ARG(uc), CLG_ARG(hw),
                         CLG_LOCAL(local * sizeof(cl_float))));
    return clg_launch_1d(ctx, k, c * local, local, NULL);
}

clg_status clg_channel_stats(clg_ctx *ctx, const clg_tensor *sum, const clg_tensor *mean,
                             const clg_tensor *var, const clg_tensor *x) {
    return clg_channel_stats_layout(ctx, sum, mean, var, x, CLG_REDUCE_AUTO);
}
