/* bias.c: host wrappers for kernels/bias.cl. */
#include "bias.h"

static clg_status check(const char *op, const clg_tensor *bias, const clg_tensor *t) {
    if (clg_tensor_numel(bias) != (size_t)t->c)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: bias has %zu elements for %d channels", op,
                        clg_tensor_numel(bias), t->c);
    return CLG_OK;
}

clg_status clg_bias_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *bias) {
    CLG_TRY(check("bias_forward", bias, out));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, "bias", NULL, "bias_add", &k));
    cl_uint n = (cl_uint)out->n, c = (cl_uint)out->c, hw = (cl_uint)(out->h * out->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(bias), CLG_ARG(n), CLG_ARG(c),
                         CLG_ARG(hw)));
    return clg_launch_flat(ctx, k, clg_tensor_numel(out), NULL);
}

clg_status clg_bias_backward(clg_ctx *ctx, const clg_tensor *dbias, const clg_tensor *dout) {
    CLG_TRY(check("bias_backward", dbias, dout));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, "bias", NULL, "bias_grad", &k));
    size_t local = clg_local_size(ctx, k, 256);
    cl_uint n = (cl_uint)dout->n, c = (cl_uint)dout->c, hw = (cl_uint)(dout->h * dout->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dbias), CLG_TENSOR_ARGS(dout), CLG_ARG(n), CLG_ARG(c),
                         CLG_ARG(hw), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, local * c, local, NULL);
}
