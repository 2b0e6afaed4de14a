/* pool.c: host wrappers for kernels/pool.cl. */
#include "pool.h"

static clg_status check(const char *op, const clg_tensor *big, const clg_tensor *small) {
    if (big->n != small->n || big->c != small->c || small->h > big->h || small->w > big->w)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: cannot pool (%d, %d, %d, %d) to (%d, %d, %d, %d)", op, big->n,
                        big->c, big->h, big->w, small->n, small->c, small->h, small->w);
    return CLG_OK;
}

clg_status clg_adaptive_max_pool_forward(clg_ctx *ctx, const clg_tensor *out, cl_mem arg,
                                         size_t arg_off, const clg_tensor *x) {
    CLG_TRY(check("adaptive_max_pool_forward", x, out));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, "pool", NULL, "adaptive_max_pool_fwd", &k));
    cl_uint nc = (cl_uint)(x->n * x->c), h = (cl_uint)x->h, w = (cl_uint)x->w;
    cl_uint oh = (cl_uint)out->h, ow = (cl_uint)out->w;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_ARG(arg),
                         CLG_ARG_OFF(arg_off, clg_tensor_numel(out)), CLG_TENSOR_ARGS(x),
                         CLG_ARG(nc), CLG_ARG(h), CLG_ARG(w), CLG_ARG(oh), CLG_ARG(ow)));
    return clg_launch_flat(ctx, k, clg_tensor_numel(out), NULL);
}

clg_status clg_adaptive_max_pool_backward(clg_ctx *ctx, const clg_tensor *dx,
                                          const clg_tensor *dout, cl_mem arg, size_t arg_off) {
    CLG_TRY(check("adaptive_max_pool_backward", dx, dout));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, "pool", NULL, "adaptive_max_pool_bwd", &k));
    cl_uint nc = (cl_uint)(dx->n * dx->c), h = (cl_uint)dx->h, w = (cl_uint)dx->w;
    cl_uint oh = (cl_uint)dout->h, ow = (cl_uint)dout->w;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dx), CLG_TENSOR_ARGS(dout), CLG_ARG(arg),
                         CLG_ARG_OFF(arg_off, clg_tensor_numel(dout)), CLG_ARG(nc), CLG_ARG(h),
                         CLG_ARG(w), CLG_ARG(oh), CLG_ARG(ow)));
    return clg_launch_flat(ctx, k, clg_tensor_numel(dx), NULL);
}
