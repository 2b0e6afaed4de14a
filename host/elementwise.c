/* elementwise.c: host wrappers for kernels/elementwise.cl. */
#include "elementwise.h"

#define FAMILY "elementwise"

clg_status clg_check_numel(const char *op, const clg_tensor *a, const clg_tensor *b) {
    if (clg_tensor_numel(a) != clg_tensor_numel(b))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: element counts differ (%zu vs %zu)", op,
                        clg_tensor_numel(a), clg_tensor_numel(b));
    return CLG_OK;
}

clg_status clg_fill(clg_ctx *ctx, const clg_tensor *out, float v) {
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "fill", &k));
    cl_uint off = clg_tensor_eoff(out), n = (cl_uint)clg_tensor_numel(out);
    cl_float fv = v;
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(out->buf), CLG_ARG(off), CLG_ARG(n), CLG_ARG(fv)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_copy(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in) {
    CLG_TRY(clg_check_numel("copy", out, in));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "copy", &k));
    cl_uint oo = clg_tensor_eoff(out), io = clg_tensor_eoff(in);
    cl_uint n = (cl_uint)clg_tensor_numel(out);
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(out->buf), CLG_ARG(oo), CLG_ARG(in->buf), CLG_ARG(io),
                         CLG_ARG(n)));
    return clg_launch_flat(ctx, k, n, NULL);
}

/* scale and axpy share a signature: (dst, dst_off, src, src_off, n, a). */
static clg_status unary_a(clg_ctx *ctx, const char *name, const clg_tensor *dst,
                          const clg_tensor *src, float a) {
    CLG_TRY(clg_check_numel(name, dst, src));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint doff = clg_tensor_eoff(dst), soff = clg_tensor_eoff(src);
    cl_uint n = (cl_uint)clg_tensor_numel(dst);
    cl_float fa = a;
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(dst->buf), CLG_ARG(doff), CLG_ARG(src->buf), CLG_ARG(soff),
                         CLG_ARG(n), CLG_ARG(fa)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_scale(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in, float a) {
    return unary_a(ctx, "scale", out, in, a);
}

clg_status clg_axpy(clg_ctx *ctx, const clg_tensor *y, float a, const clg_tensor *x) {
    return unary_a(ctx, "axpy", y, x, a);
}

static clg_status binary(clg_ctx *ctx, const char *name, const clg_tensor *out,
                         const clg_tensor *a, const clg_tensor *b) {
    CLG_TRY(clg_check_numel(name, out, a));
    CLG_TRY(clg_check_numel(name, out, b));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint oo = clg_tensor_eoff(out), ao = clg_tensor_eoff(a), bo = clg_tensor_eoff(b);
    cl_uint n = (cl_uint)clg_tensor_numel(out);
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(out->buf), CLG_ARG(oo), CLG_ARG(a->buf), CLG_ARG(ao),
                         CLG_ARG(b->buf), CLG_ARG(bo), CLG_ARG(n)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_add(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a, const clg_tensor *b) {
    return binary(ctx, "add", out, a, b);
}

clg_status clg_mul(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a, const clg_tensor *b) {
    return binary(ctx, "mul", out, a, b);
}
