/* mbd.c: host side of minibatch discrimination: the projection M = f T and
 * its gradients as a transposed 1x1 convolution of 1x1 images on host/conv's
 * kernels (f (N, A) the input (N, C_in = A, 1, 1), T (A, B*C) the weight
 * (C_in, C_out = B*C, 1, 1), as layer_linear.c runs dense layers), and the
 * wrappers for kernels/mbd.cl. */
#include "mbd.h"
#include "conv.h"

#define FAMILY "mbd"
#define COPY_LOCAL 64

enum { MBD_BIAS = 1 };

static clg_status want_numel(const char *op, const char *what, const clg_tensor *t, size_t n,
                             const char *shape) {
    if (clg_tensor_numel(t) != n)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s has %zu elements, want %zu %s", op, what,
                        clg_tensor_numel(t), n, shape);
    if (t->off / 4 + n > 0xffffffffu)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s exceeds 32-bit indexing", op, what);
    return CLG_OK;
}

static clg_status check_dims(const char *op, int N, int A, int B, int C) {
    if (N <= 0 || A <= 0 || B <= 0 || C <= 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: N %d, A %d, B %d, C %d must all be > 0", op, N,
                        A, B, C);
    return CLG_OK;
}

/* dst[r*ldd + c] = src[r*lds + c] (+= with add) for r < rows, c < cols. */
static clg_status copy_cols(clg_ctx *ctx, const clg_tensor *dst, size_t ldd, const clg_tensor *src,
                            size_t lds, int rows, int cols, int add) {
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "mbd_copy_cols", &k));
    cl_uint dl = (cl_uint)ldd, sl = (cl_uint)lds, nc = (cl_uint)cols, a = (cl_uint)add;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dst), CLG_ARG(dl), CLG_TENSOR_ARGS(src), CLG_ARG(sl),
                         CLG_ARG(nc), CLG_ARG(a)));
    size_t local = clg_local_size(ctx, k, COPY_LOCAL);
    return clg_launch_2d(ctx, k, (size_t)cols, (size_t)rows, local, 1, NULL);
}

/* dst (cols, rows) = src (rows, cols) transposed. */
static clg_status transpose(clg_ctx *ctx, const clg_tensor *dst, const clg_tensor *src, int rows,
                            int cols) {
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "mbd_transpose", &k));
    cl_uint r = (cl_uint)rows, c = (cl_uint)cols;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dst), CLG_TENSOR_ARGS(src), CLG_ARG(r), CLG_ARG(c)));
    size_t local = clg_local_size(ctx, k, COPY_LOCAL);
    return clg_launch_2d(ctx, k, (size_t)rows, (size_t)cols, local, 1, NULL);
}

/* The projection as a transposed 1x1 convolution: input (N, A, 1, 1),
 * weight (A, B*C, 1, 1), output (N, B*C, 1, 1). */
static clg_status proj_desc(clg_conv_desc *d, int N, int A, int B, int C) {
    if ((size_t)B * (size_t)C > INT32_MAX)
        return clg_fail(CLG_ERR_INVALID_ARG, "mbd: %d kernels of %d dimensions", B, C);
    return clg_conv_transpose_desc_init(d, N, A, 1, 1, B * C, 1, 1, 1, 0);
}

static clg_tensor as_1x1(const clg_tensor *t, int n, int c) {
    return clg_tensor_view(t->buf, t->off, n, c, 1, 1);
}

clg_status clg_mbd_reserve(clg_ctx *ctx, int N, int A, int B, int C) {
    clg_conv_desc d;
    CLG_TRY(check_dims("mbd_reserve", N, A, B, C));
    CLG_TRY(proj_desc(&d, N, A, B, C));
    return clg_conv_reserve(ctx, &d);
}

clg_status clg_mbd_pairs_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *m,
                                 const clg_tensor *bias, int N, int A, int B, int C) {
    const char *op = "mbd_forward";
    CLG_TRY(check_dims(op, N, A, B, C));
    CLG_TRY(want_numel(op, "out", out, (size_t)N * (size_t)(A + B), "(N, A+B)"));
    CLG_TRY(want_numel(op, "m", m, (size_t)B * C * N, "(B*C, N)"));
    if (bias) CLG_TRY(want_numel(op, "bias", bias, (size_t)B, "(B)"));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "mbd_pairs_fwd", &k));
    cl_uint ldo = (cl_uint)(A + B), col0 = (cl_uint)A;
    cl_uint n = (cl_uint)N, b = (cl_uint)B, c = (cl_uint)C, flags = bias ? MBD_BIAS : 0;
    /* Without a bias the kernel never reads its argument: m stands in. */
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_ARG(ldo), CLG_ARG(col0), CLG_TENSOR_ARGS(m),
                         CLG_TENSOR_ARGS(bias ? bias : m), CLG_ARG(n), CLG_ARG(b), CLG_ARG(c),
                         CLG_ARG(flags)));
    return clg_launch_flat(ctx, k, (size_t)N * B, NULL);
}

clg_status clg_mbd_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *m,
                           const clg_tensor *mn, const clg_tensor *f, const clg_tensor *t,
                           const clg_tensor *bias, int B, int C) {
    const char *op = "mbd_forward";
    const int N = f->n;
    const int A = N > 0 ? (int)(clg_tensor_numel(f) / (size_t)N) : 0;
    clg_conv_desc d;
    CLG_TRY(check_dims(op, N, A, B, C));
    CLG_TRY(proj_desc(&d, N, A, B, C));
    CLG_TRY(want_numel(op, "t", t, (size_t)A * B * C, "(A, B*C)"));
    CLG_TRY(want_numel(op, "m", m, (size_t)B * C * N, "(B*C, N)"));
    CLG_TRY(want_numel(op, "mn", mn, (size_t)B * C * N, "(N, B*C)"));
    CLG_TRY(want_numel(op, "out", out, (size_t)N * (size_t)(A + B), "(N, A+B)"));
    const int bc = B * C;
    clg_tensor fv = as_1x1(f, N, A), tv = as_1x1(t, A, bc), mv = as_1x1(mn, N, bc);
    CLG_TRY(clg_conv_transpose2d_forward(ctx, &mv, &fv, &tv, NULL, &d)); /* mn = f T */
    CLG_TRY(transpose(ctx, m, mn, N, bc));
    CLG_TRY(copy_cols(ctx, out, (size_t)(A + B), f, (size_t)A, N, A, 0));
    return clg_mbd_pairs_forward(ctx, out, m, bias, N, A, B, C);
}

clg_status clg_mbd_pairs_backward(clg_ctx *ctx, const clg_tensor *dm, const clg_tensor *dbias,
                                  const clg_tensor *dout, const clg_tensor *m, int N, int A,
                                  int B, int C) {
    const char *op = "mbd_backward";
    CLG_TRY(check_dims(op, N, A, B, C));
    CLG_TRY(want_numel(op, "dout", dout, (size_t)N * (size_t)(A + B), "(N, A+B)"));
    CLG_TRY(want_numel(op, "m", m, (size_t)B * C * N, "(B*C, N)"));
    CLG_TRY(want_numel(op, "dm", dm, (size_t)B * C * N, "(B*C, N)"));
    if (dbias) CLG_TRY(want_numel(op, "dbias", dbias, (size_t)B, "(B)"));
    cl_kernel k;
    cl_uint ldo = (cl_uint)(A + B), col0 = (cl_uint)A;
    cl_uint n = (cl_uint)N, b = (cl_uint)B, c = (cl_uint)C;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "mbd_pairs_bwd", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dm), CLG_TENSOR_ARGS(dout), CLG_ARG(ldo),
                         CLG_ARG(col0), CLG_TENSOR_ARGS(m), CLG_ARG(n), CLG_ARG(b), CLG_ARG(c)));
    CLG_TRY(clg_launch_flat(ctx, k, (size_t)N * B, NULL));
    if (!dbias) return CLG_OK;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "mbd_dbias", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dbias), CLG_TENSOR_ARGS(dout), CLG_ARG(ldo),
                         CLG_ARG(col0), CLG_ARG(n), CLG_ARG(b)));
    return clg_launch_flat(ctx, k, (size_t)B, NULL);
}

clg_status clg_mbd_backward(clg_ctx *ctx, const clg_tensor *df, const clg_tensor *dt,
                            const clg_tensor *dbias, const clg_tensor *dm, const clg_tensor *mn,
                            const clg_tensor *dout, const clg_tensor *f, const clg_tensor *t,
                            const clg_tensor *m, int B, int C) {
    const char *op = "mbd_backward";
    const int N = f->n;
    const int A = N > 0 ? (int)(clg_tensor_numel(f) / (size_t)N) : 0;
    clg_conv_desc d;
    CLG_TRY(check_dims(op, N, A, B, C));
    CLG_TRY(proj_desc(&d, N, A, B, C));
    CLG_TRY(want_numel(op, "df", df, (size_t)N * A, "(N, A)"));
    CLG_TRY(want_numel(op, "t", t, (size_t)A * B * C, "(A, B*C)"));
    CLG_TRY(want_numel(op, "mn", mn, (size_t)B * C * N, "(N, B*C)"));
    if (dt) CLG_TRY(want_numel(op, "dt", dt, (size_t)A * B * C, "(A, B*C)"));
    if (df->buf == dout->buf)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: df must not share dout's buffer", op);
    const int bc = B * C;
    CLG_TRY(clg_mbd_pairs_backward(ctx, dm, dbias, dout, m, N, A, B, C));
    CLG_TRY(transpose(ctx, mn, dm, bc, N)); /* mn = dM (N, B*C) */
    clg_tensor fv = as_1x1(f, N, A), tv = as_1x1(t, A, bc), dv = as_1x1(mn, N, bc);
    clg_tensor dfv = as_1x1(df, N, A);
    /* df = dM T^T + dout[:, :A] */
    CLG_TRY(clg_conv_transpose2d_backward_data(ctx, &dfv, &dv, &tv, &d));
    CLG_TRY(copy_cols(ctx, df, (size_t)A, dout, (size_t)(A + B), N, A, 1));
    /* dT += f^T dM (dt NULL: no parameter gradients wanted) */
    if (!dt) return CLG_OK;
    clg_tensor dtv = as_1x1(dt, A, bc);
    return clg_conv_transpose2d_backward_weight(ctx, &dtv, NULL, &dv, &fv, &d);
}
