/* resample.c: host wrappers for kernels/resample.cl. Every kernel there
 * takes (dst, dst_off, src, src_off, N*C, H, W, OH, OW), with (H, W) the
 * input's size in forward and dx's in backward. */
#include "resample.h"

#include <stdint.h>

#define FAMILY "resample"

/* fine (N, C, H, W) must be coarse (N, C, OH, OW) at twice the height and
 * width; `fine_is_input` (the down ops) names the cause when H or W is odd. */
static clg_status check(const char *op, const clg_tensor *fine, const clg_tensor *coarse,
                        const char *fine_name, const char *coarse_name, int fine_is_input) {
    if (fine_is_input && (fine->h % 2 != 0 || fine->w % 2 != 0))
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

/* kernel <op>_<fwd|bwd>: dst (N, C, dst_h, dst_w) from src; `in` is the
 * tensor whose (H, W) the kernel takes as the input size (x forward, dx
 * backward), `out` the other. */
static clg_status launch(clg_ctx *ctx, const char *kname, const clg_tensor *dst,
                         const clg_tensor *src, const clg_tensor *in, const clg_tensor *out) {
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, kname, &k));
    cl_uint doff = clg_tensor_eoff(dst), soff = clg_tensor_eoff(src);
    cl_uint nc = (cl_uint)(in->n * in->c), h = (cl_uint)in->h, w = (cl_uint)in->w;
    cl_uint oh = (cl_uint)out->h, ow = (cl_uint)out->w;
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(dst->buf), CLG_ARG(doff), CLG_ARG(src->buf), CLG_ARG(soff),
                         CLG_ARG(nc), CLG_ARG(h), CLG_ARG(w), CLG_ARG(oh), CLG_ARG(ow)));
    return clg_launch_flat(ctx, k, clg_tensor_numel(dst), NULL);
}

clg_status clg_avgpool2x_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x) {
    CLG_TRY(check("avgpool2x_forward", x, out, "x", "out", 1));
    return launch(ctx, "avgpool2x_fwd", out, x, x, out);
}

clg_status clg_avgpool2x_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dout) {
    CLG_TRY(check("avgpool2x_backward", dx, dout, "dx", "dout", 1));
    return launch(ctx, "avgpool2x_bwd", dx, dout, dx, dout);
}

clg_status clg_blur_down_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x) {
    CLG_TRY(check("blur_down_forward", x, out, "x", "out", 1));
    return launch(ctx, "blur_down_fwd", out, x, x, out);
}

clg_status clg_blur_down_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dout) {
    CLG_TRY(check("blur_down_backward", dx, dout, "dx", "dout", 1));
    return launch(ctx, "blur_down_bwd", dx, dout, dx, dout);
}

clg_status clg_upsample2x_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x) {
    CLG_TRY(check("upsample2x_forward", out, x, "out", "x", 0));
    return launch(ctx, "upsample2x_fwd", out, x, x, out);
}

clg_status clg_upsample2x_backward(clg_ctx *ctx, const clg_tensor *dx,
                                   const clg_tensor *dout) {
    CLG_TRY(check("upsample2x_backward", dout, dx, "dout", "dx", 0));
    return launch(ctx, "upsample2x_bwd", dx, dout, dx, dout);
}
