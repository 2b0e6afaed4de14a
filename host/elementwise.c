/* elementwise.c: host wrappers for kernels/elementwise.cl. */
#include "elementwise.h"

#include <stdio.h>

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
    cl_uint n = (cl_uint)clg_tensor_numel(out);
    cl_float fv = v;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_ARG(n), CLG_ARG(fv)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_copy(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in) {
    CLG_TRY(clg_check_numel("copy", out, in));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "copy", &k));
    cl_uint n = (cl_uint)clg_tensor_numel(out);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(in), CLG_ARG(n)));
    return clg_launch_flat(ctx, k, n, NULL);
}

/* scale and axpy share a signature: (dst, dst_off, src, src_off, n, a). */
static clg_status unary_a(clg_ctx *ctx, const char *name, const clg_tensor *dst,
                          const clg_tensor *src, float a) {
    CLG_TRY(clg_check_numel(name, dst, src));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint n = (cl_uint)clg_tensor_numel(dst);
    cl_float fa = a;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dst), CLG_TENSOR_ARGS(src), CLG_ARG(n), CLG_ARG(fa)));
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
    cl_uint n = (cl_uint)clg_tensor_numel(out);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(a), CLG_TENSOR_ARGS(b),
                         CLG_ARG(n)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_add(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a, const clg_tensor *b) {
    return binary(ctx, "add", out, a, b);
}

clg_status clg_mul(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a, const clg_tensor *b) {
    return binary(ctx, "mul", out, a, b);
}

/* dst channels [dc0, dc0 + count) = src channels [sc0, sc0 + count). */
static clg_status copy_channels(clg_ctx *ctx, const clg_tensor *dst, int dc0,
                                const clg_tensor *src, int sc0, int count) {
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "copy_channels", &k));
    cl_uint oc = (cl_uint)dst->c, o0 = (cl_uint)dc0, ic = (cl_uint)src->c, i0 = (cl_uint)sc0;
    cl_uint n = (cl_uint)dst->n, cnt = (cl_uint)count, hw = (cl_uint)(dst->h * dst->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dst), CLG_ARG(oc), CLG_ARG(o0), CLG_TENSOR_ARGS(src),
                         CLG_ARG(ic), CLG_ARG(i0), CLG_ARG(n), CLG_ARG(cnt), CLG_ARG(hw)));
    return clg_launch_flat(ctx, k, (size_t)n * cnt * hw, NULL);
}

static clg_status check_concat(const char *op, const clg_tensor *whole, const clg_tensor *a,
                               const clg_tensor *b) {
    if (a->n != whole->n || b->n != whole->n || a->h != whole->h || b->h != whole->h ||
        a->w != whole->w || b->w != whole->w || a->c + b->c != whole->c)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: (%d, %d, %d, %d) is not (%d, %d, %d, %d) and (%d, %d, %d, %d) "
                        "joined along channels", op, whole->n, whole->c, whole->h, whole->w,
                        a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w);
    return CLG_OK;
}

clg_status clg_concat_channels(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a,
                               const clg_tensor *b) {
    CLG_TRY(check_concat("concat_channels", out, a, b));
    CLG_TRY(copy_channels(ctx, out, 0, a, 0, a->c));
    return copy_channels(ctx, out, a->c, b, 0, b->c);
}

clg_status clg_split_channels(clg_ctx *ctx, const clg_tensor *da, const clg_tensor *db,
                              const clg_tensor *dout) {
    CLG_TRY(check_concat("split_channels", dout, da, db));
    CLG_TRY(copy_channels(ctx, da, 0, dout, 0, da->c));
    return copy_channels(ctx, db, 0, dout, da->c, db->c);
}

/* whole (N, C + L, H, W) against x (N, C, H, W) and v (N, L, 1, 1), either of
 * which may be NULL (backward); sets C and L. */
static clg_status check_planes(const char *op, const char *whole_name, const clg_tensor *whole,
                               const clg_tensor *x, const clg_tensor *v, int *c, int *l) {
    *c = x ? x->c : whole->c - v->c;
    *l = v ? v->c : whole->c - x->c;
    int ok = *c >= 0 && *l >= 0 && *c + *l == whole->c;
    if (x) ok = ok && x->n == whole->n && x->h == whole->h && x->w == whole->w;
    if (v) ok = ok && v->n == whole->n && v->h == 1 && v->w == 1;
    if (ok) return CLG_OK;
    char xs[64] = "none", vs[64] = "none";
    if (x) snprintf(xs, sizeof xs, "(%d, %d, %d, %d)", x->n, x->c, x->h, x->w);
    if (v) snprintf(vs, sizeof vs, "(%d, %d, %d, %d)", v->n, v->c, v->h, v->w);
    return clg_fail(CLG_ERR_INVALID_ARG,
                    "%s: %s (%d, %d, %d, %d), x %s and v %s are not (N, C + L, H, W), "
                    "(N, C, H, W) and (N, L, 1, 1)",
                    op, whole_name, whole->n, whole->c, whole->h, whole->w, xs, vs);
}

clg_status clg_concat_planes_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x,
                                     const clg_tensor *v) {
    int c, l;
    CLG_TRY(check_planes("concat_planes_forward", "out", out, x, v, &c, &l));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "concat_planes_fwd", &k));
    cl_uint n = (cl_uint)out->n, cc = (cl_uint)c, ll = (cl_uint)l;
    cl_uint hw = (cl_uint)(out->h * out->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(x), CLG_TENSOR_ARGS(v),
                         CLG_ARG(n), CLG_ARG(cc), CLG_ARG(ll),
                         CLG_ARG(hw)));
    return clg_launch_flat(ctx, k, clg_tensor_numel(out), NULL);
}

clg_status clg_concat_planes_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dv,
                                      const clg_tensor *dout) {
    if (!dx && !dv) return CLG_OK;
    int c, l;
    CLG_TRY(check_planes("concat_planes_backward", "dout", dout, dx, dv, &c, &l));
    if (dx) CLG_TRY(copy_channels(ctx, dx, 0, dout, 0, c));
    if (!dv) return CLG_OK;
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "plane_sums", &k));
    cl_uint n = (cl_uint)dout->n, cc = (cl_uint)c, ll = (cl_uint)l;
    cl_uint hw = (cl_uint)(dout->h * dout->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dv), CLG_TENSOR_ARGS(dout), CLG_ARG(n), CLG_ARG(cc), CLG_ARG(ll), CLG_ARG(hw)));
    return clg_launch_flat(ctx, k, (size_t)n * ll, NULL);
}
