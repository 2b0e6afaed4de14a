/* loss.c: host wrappers for kernels/loss.cl. */
#include "loss.h"
#include "elementwise.h"

#define FAMILY "loss"
#define REDUCE_LOCAL 256 /* forward kernels run one work-group of up to this */

static clg_status check_stats(const char *op, const clg_tensor *stats) {
    if (clg_tensor_numel(stats) != 2)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: stats must have 2 elements, not %zu", op,
                        clg_tensor_numel(stats));
    return CLG_OK;
}

clg_status clg_bce_logits_forward(clg_ctx *ctx, const clg_tensor *stats,
                                  const clg_tensor *logits, float target) {
    CLG_TRY(check_stats("bce_logits_forward", stats));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "bce_logits_fwd", &k));
    size_t local = clg_local_size(ctx, k, REDUCE_LOCAL);
    cl_uint n = (cl_uint)clg_tensor_numel(logits);
    cl_float t = target;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(stats), CLG_TENSOR_ARGS(logits), CLG_ARG(n),
                         CLG_ARG(t), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, local, local, NULL);
}

clg_status clg_bce_logits_backward(clg_ctx *ctx, const clg_tensor *dlogits,
                                   const clg_tensor *logits, float target) {
    CLG_TRY(clg_check_numel("bce_logits_backward", dlogits, logits));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "bce_logits_bwd", &k));
    cl_uint n = (cl_uint)clg_tensor_numel(logits);
    cl_float t = target;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dlogits), CLG_TENSOR_ARGS(logits), CLG_ARG(n),
                         CLG_ARG(t)));
    return clg_launch_flat(ctx, k, n, NULL);
}

static clg_status rows_of(const clg_tensor *logits, cl_uint *n, cl_uint *k) {
    *n = (cl_uint)logits->n;
    *k = (cl_uint)(clg_tensor_numel(logits) / (size_t)logits->n);
    if (*n < 1 || *k < 1) return clg_fail(CLG_ERR_INVALID_ARG, "loss: empty logits");
    return CLG_OK;
}

static clg_status xent_dims(const clg_tensor *logits, cl_uint *n, cl_uint *k,
                            const clg_itensor *labels) {
    if (labels->n != logits->n)
        return clg_fail(CLG_ERR_INVALID_ARG, "xent: %d labels for %d rows of logits", labels->n,
                        logits->n);
    return rows_of(logits, n, k);
}

clg_status clg_xent_forward(clg_ctx *ctx, const clg_tensor *stats, const clg_tensor *logits,
                            const clg_itensor *labels) {
    CLG_TRY(check_stats("xent_forward", stats));
    cl_uint n, kk;
    CLG_TRY(xent_dims(logits, &n, &kk, labels));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "xent_fwd", &k));
    size_t local = clg_local_size(ctx, k, REDUCE_LOCAL);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(stats), CLG_TENSOR_ARGS(logits), CLG_ITENSOR_ARGS(labels),
                         CLG_ARG(n), CLG_ARG(kk), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, local, local, NULL);
}

clg_status clg_xent_backward(clg_ctx *ctx, const clg_tensor *dlogits, const clg_tensor *logits,
                             const clg_itensor *labels) {
    CLG_TRY(clg_check_numel("xent_backward", dlogits, logits));
    cl_uint n, kk;
    CLG_TRY(xent_dims(logits, &n, &kk, labels));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "xent_bwd", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dlogits), CLG_TENSOR_ARGS(logits), CLG_ITENSOR_ARGS(labels),
                         CLG_ARG(n), CLG_ARG(kk)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_lse_bce_forward(clg_ctx *ctx, const clg_tensor *stats, const clg_tensor *logits,
                               float target) {
    CLG_TRY(check_stats("lse_bce_forward", stats));
    cl_uint n, kk;
    CLG_TRY(rows_of(logits, &n, &kk));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "lse_bce_fwd", &k));
    size_t local = clg_local_size(ctx, k, REDUCE_LOCAL);
    cl_float t = target;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(stats), CLG_TENSOR_ARGS(logits), CLG_ARG(n),
                         CLG_ARG(kk), CLG_ARG(t), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, local, local, NULL);
}

clg_status clg_lse_bce_backward(clg_ctx *ctx, const clg_tensor *dlogits, const clg_tensor *logits,
                                float target, float scale) {
    CLG_TRY(clg_check_numel("lse_bce_backward", dlogits, logits));
    cl_uint n, kk;
    CLG_TRY(rows_of(logits, &n, &kk));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "lse_bce_bwd", &k));
    cl_float t = target, sc = scale;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dlogits), CLG_TENSOR_ARGS(logits), CLG_ARG(n),
                         CLG_ARG(kk), CLG_ARG(t), CLG_ARG(sc)));
    return clg_launch_flat(ctx, k, n, NULL);
}
