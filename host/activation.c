/* activation.c: host wrappers for kernels/activation.cl. */
#include "activation.h"
#include "elementwise.h"

#include <math.h>
#include <stdio.h>

#define FAMILY "activation"

/* Kernel names are act_fwd_<name> / act_bwd_<name>, <name> as here. */
const char *clg_act_name(clg_act a) {
    switch (a) {
    case CLG_ACT_IDENTITY: return "identity";
    case CLG_ACT_RELU: return "relu";
    case CLG_ACT_LEAKY_RELU: return "leaky_relu";
    case CLG_ACT_TANH: return "tanh";
    case CLG_ACT_SIGMOID: return "sigmoid";
    case CLG_ACT_SOFTPLUS: return "softplus";
    default: return "unknown";
    }
}

int clg_fused_act_valid(clg_fused_act a) {
    return a.act == CLG_ACT_IDENTITY || a.act == CLG_ACT_RELU ||
           (a.act == CLG_ACT_LEAKY_RELU && a.slope > 0.0f && isfinite(a.slope));
}

clg_status clg_fused_act_check(const char *op, clg_fused_act a) {
    if (clg_fused_act_valid(a)) return CLG_OK;
    return clg_fail(CLG_ERR_INVALID_ARG, "%s: no fused %s of slope %g (ReLU, and leaky ReLU "
                    "of a slope > 0, are)", op, clg_act_name(a.act), (double)a.slope);
}

/* The checks forward and backward share: a known activation and a positive
 * slope for leaky ReLU. */
static clg_status check_act(const char *op, clg_act act, float slope) {
    if ((int)act < 0 || act >= CLG_ACT_COUNT)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: unknown activation %d", op, (int)act);
    if (act == CLG_ACT_LEAKY_RELU && !(slope > 0.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: leaky_relu slope must be > 0 (got %g)", op,
                        (double)slope);
    return CLG_OK;
}

/* One work-item per element (the kernels guard i < n). Not clg_launch_flat:
 * its grid-stride loop defeats PoCL's vectoriser on tanh and sigmoid. */
static clg_status launch_elements(clg_ctx *ctx, cl_kernel k, cl_uint n) {
    return clg_launch_1d(ctx, k, n ? n : 1, clg_local_size(ctx, k, 256), NULL);
}

clg_status clg_act_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in,
                           clg_act act, float slope) {
    CLG_TRY(check_act("act_forward", act, slope));
    CLG_TRY(clg_check_numel("act_forward", out, in));
    char name[32];
    snprintf(name, sizeof name, "act_fwd_%s", clg_act_name(act));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint n = (cl_uint)clg_tensor_numel(out);
    cl_float s = slope;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(in), CLG_ARG(n), CLG_ARG(s)));
    return launch_elements(ctx, k, n);
}

clg_status clg_act_backward(clg_ctx *ctx, const clg_tensor *din, const clg_tensor *dout,
                            const clg_tensor *out, clg_act act, float slope) {
    CLG_TRY(check_act("act_backward", act, slope));
    CLG_TRY(clg_check_numel("act_backward", din, dout));
    CLG_TRY(clg_check_numel("act_backward", din, out));
    char name[32];
    snprintf(name, sizeof name, "act_bwd_%s", clg_act_name(act));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint n = (cl_uint)clg_tensor_numel(din);
    cl_float s = slope;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(din), CLG_TENSOR_ARGS(dout), CLG_TENSOR_ARGS(out),
                         CLG_ARG(n), CLG_ARG(s)));
    return launch_elements(ctx, k, n);
}
