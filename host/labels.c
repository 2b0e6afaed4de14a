/* labels.c: host wrappers for kernels/labels.cl (see labels.h). */
#include "labels.h"

#define FAMILY "labels"

static clg_status check_one_hot(const clg_tensor *out, const clg_itensor *labels, int classes) {
    if (classes < 1 || out->c != classes || out->n != labels->n)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "one_hot: out (%d, %d, %d, %d) is not (N, classes, H, W) for %d labels "
                        "and %d classes", out->n, out->c, out->h, out->w, labels->n, classes);
    return CLG_OK;
}

clg_status clg_one_hot(clg_ctx *ctx, const clg_tensor *out, const clg_itensor *labels,
                       int classes, float on, float off) {
    CLG_TRY(check_one_hot(out, labels, classes));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "one_hot", &k));
    cl_uint total = (cl_uint)clg_tensor_numel(out), uc = (cl_uint)classes;
    cl_uint plane = (cl_uint)out->h * (cl_uint)out->w;
    cl_float fon = on, foff = off;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_ITENSOR_ARGS(labels), CLG_ARG(total),
                         CLG_ARG(uc), CLG_ARG(plane), CLG_ARG(fon), CLG_ARG(foff)));
    return clg_launch_flat(ctx, k, total, NULL);
}
