/* softmax.c: host wrappers for kernels/softmax.cl. */
#include "softmax.h"

#define FAMILY "softmax"

/* Local sizes are powers of two in 32..256 (a full warp for short rows; few
 * variants for PoCL, which compiles one per local size), growing until each
 * work-item has at most COLS_PER_ITEM columns: on PoCL a group's reductions
 * cost more than its arithmetic on short rows (rows of 128: 16 ns/element at
 * local 32, 46 ns at 256, measured on 2 cores). */
#ifndef CLG_SOFTMAX_LOCAL_MIN
#define CLG_SOFTMAX_LOCAL_MIN 32
#endif
#ifndef CLG_SOFTMAX_LOCAL_MAX
#define CLG_SOFTMAX_LOCAL_MAX 256
#endif
#ifndef CLG_SOFTMAX_COLS_PER_ITEM
#define CLG_SOFTMAX_COLS_PER_ITEM 4
#endif

static clg_status softmax_rows(clg_ctx *ctx, const char *op, const clg_tensor *out,
                               const clg_tensor *in, cl_uint log_mode) {
    /* in, out: (rows, cols) with rows = n, cols = c * h * w */
    if (out->n != in->n || clg_tensor_numel(out) != clg_tensor_numel(in))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: out (%d, %d, %d, %d) and in (%d, %d, %d, %d) differ in rows or "
                        "element count",
                        op, out->n, out->c, out->h, out->w, in->n, in->c, in->h, in->w);
    size_t rows = (size_t)in->n, cols = clg_tensor_numel(in) / (rows ? rows : 1);
    if (rows == 0 || cols == 0) return CLG_OK;
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "softmax_fwd", &k));
    size_t want = CLG_SOFTMAX_LOCAL_MIN;
    while (want * CLG_SOFTMAX_COLS_PER_ITEM < cols && want < CLG_SOFTMAX_LOCAL_MAX) want *= 2;
    size_t local = clg_local_size(ctx, k, want);
    cl_uint nc = (cl_uint)cols;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(in), CLG_ARG(nc),
                         CLG_ARG(log_mode), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, rows * local, local, NULL);
}

clg_status clg_softmax_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in) {
    return softmax_rows(ctx, "softmax_forward", out, in, 0);
}

clg_status clg_log_softmax_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in) {
    return softmax_rows(ctx, "log_softmax_forward", out, in, 1);
}
