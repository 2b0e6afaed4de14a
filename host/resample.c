/* resample.c: host wrappers for kernels/resample.cl. Every kernel there
 * is <op>_fwd or <op>_bwd and takes (dst, dst_off, src, src_off, N*C, H, W,
 * OH, OW), with (H, W) the input's size in forward and dx's in backward. */
#include "resample.h"

#include <stdint.h>
#include <stdio.h>

#define FAMILY "resample"

/* fine (N, C, H, W) must be coarse (N, C, OH, OW) at twice the height and
 * width; `need_even` (the down ops) names the cause when H or W is odd. */
static clg_status check(const char *op, const clg_tensor *fine, const clg_tensor *coarse,
                        const char *fine_name, const char *coarse_name, int need_even) {
    if (need_even && (fine->h % 2 != 0 || fine->w % 2 != 0))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: %s (%d, %d, %d, %d): height and width must be even", op,
                        fine_name, fine->n, fine->c, fine->h, fine->w);
    if (fine->n != coarse->n || fine->c != coarse->c || fine->h != 2 * coarse->h ||
        fine->w != 2 * coarse->w || coarse->h < 1 || coarse->w < 1)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: %s (%d, %d, %d, %d) is not %s (%d, %d, %d, %d) at twice the "
                        "height and width",
                        op, fine_name, fine->n, fine->c, fine->h, fine->w, coarse_name,
                        coarse->n, coarse->c, coarse->h, coarse->w);
    size_t last = (fine->off > coarse->off ? fine->off : coarse->off) / sizeof(float) +
                  clg_tensor_numel(fine);
    if (last > UINT32_MAX)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %zu elements at their offsets exceed 2^32",
                        op, clg_tensor_numel(fine));
    return CLG_OK;
}

/* <op>_forward (dst = out, src = x) or <op>_backward (dst = dx, src =
 * dout), for the down ops (`down`: x is the larger) or upsampling. The
 * kernels take (H, W) of x forward and of dx backward. */
static clg_status run(clg_ctx *ctx, const char *op, int down, int backward,
                      const clg_tensor *dst, const clg_tensor *src) {
    char name[48], kname[48];
    snprintf(name, sizeof name, "%s_%s", op, backward ? "backward" : "forward");
    snprintf(kname, sizeof kname, "%s_%s", op, backward ? "bwd" : "fwd");
    const char *dst_name = backward ? "dx" : "out", *src_name = backward ? "dout" : "x";
    const clg_tensor *in = backward ? dst : src, *out = backward ? src : dst;
    if (down != backward) /* the fine (larger) tensor is src */
        CLG_TRY(check(name, src, dst, src_name, dst_name, down));
    else
        CLG_TRY(check(name, dst, src, dst_name, src_name, down));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, kname, &k));
    cl_uint nc = (cl_uint)(in->n * in->c), h = (cl_uint)in->h, w = (cl_uint)in->w;
    cl_uint oh = (cl_uint)out->h, ow = (cl_uint)out->w;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dst), CLG_TENSOR_ARGS(src),
                         CLG_ARG(nc), CLG_ARG(h), CLG_ARG(w), CLG_ARG(oh), CLG_ARG(ow)));
    return clg_launch_flat(ctx, k, clg_tensor_numel(dst), NULL);
}

clg_status clg_avgpool2x_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x) {
    return run(ctx, "avgpool2x", 1, 0, out, x);
}

clg_status clg_avgpool2x_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dout) {
    return run(ctx, "avgpool2x", 1, 1, dx, dout);
}

clg_status clg_blur_down_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x) {
    return run(ctx, "blur_down", 1, 0, out, x);
}

clg_status clg_blur_down_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dout) {
    return run(ctx, "blur_down", 1, 1, dx, dout);
}

clg_status clg_upsample2x_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x) {
    return run(ctx, "upsample2x", 0, 0, out, x);
}

clg_status clg_upsample2x_backward(clg_ctx *ctx, const clg_tensor *dx,
                                   const clg_tensor *dout) {
    return run(ctx, "upsample2x", 0, 1, dx, dout);
}
