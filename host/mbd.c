/* mbd.c: host side of minibatch discrimination: the GEMMs through clg_gemm
 * (CLBlast) and the wrappers for kernels/mbd.cl. */
#include "mbd.h"
#include "gemm.h"

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

/* dst[r*ldd + c] = src[r*lds + c] for r < rows, c < cols. */
static clg_status copy_cols(clg_ctx *ctx, const clg_tensor *dst, size_t ldd, const clg_tensor *src,
                            size_t lds, int rows, int cols) {
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "mbd_copy_cols", &k));
    cl_uint dl = (cl_uint)ldd, sl = (cl_uint)lds, nc = (cl_uint)cols;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dst), CLG_ARG(dl), CLG_TENSOR_ARGS(src), CLG_ARG(sl),
                         CLG_ARG(nc)));
    size_t local = clg_local_size(ctx, k, COPY_LOCAL);
    return clg_launch_2d(ctx, k, (size_t)cols, (size_t)rows, local, 1, NULL);
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
                           const clg_tensor *f, const clg_tensor *t, const clg_tensor *bias,
                           int B, int C) {
    const char *op = "mbd_forward";
    const int N = f->n;
    const int A = N > 0 ? (int)(clg_tensor_numel(f) / (size_t)N) : 0;
    CLG_TRY(check_dims(op, N, A, B, C));
    CLG_TRY(want_numel(op, "t", t, (size_t)A * B * C, "(A, B*C)"));
    CLG_TRY(want_numel(op, "m", m, (size_t)B * C * N, "(B*C, N)"));
    CLG_TRY(want_numel(op, "out", out, (size_t)N * (size_t)(A + B), "(N, A+B)"));
    const size_t bc = (size_t)B * C;
    /* m = T^T f^T: (B*C x A) (A x N) */
    CLG_TRY(clg_gemm(ctx, 1, 1, bc, (size_t)N, (size_t)A, 1.0f, t, bc, f, (size_t)A, 0.0f, m,
                     (size_t)N, NULL));
    CLG_TRY(copy_cols(ctx, out, (size_t)(A + B), f, (size_t)A, N, A));
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
                            const clg_tensor *dbias, const clg_tensor *dm,
                            const clg_tensor *dout, const clg_tensor *f, const clg_tensor *t,
                            const clg_tensor *m, int B, int C) {
    const char *op = "mbd_backward";
    const int N = f->n;
    const int A = N > 0 ? (int)(clg_tensor_numel(f) / (size_t)N) : 0;
    CLG_TRY(check_dims(op, N, A, B, C));
    CLG_TRY(want_numel(op, "df", df, (size_t)N * A, "(N, A)"));
    CLG_TRY(want_numel(op, "t", t, (size_t)A * B * C, "(A, B*C)"));
    if (dt) CLG_TRY(want_numel(op, "dt", dt, (size_t)A * B * C, "(A, B*C)"));
    if (df->buf == dout->buf)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: df must not share dout's buffer", op);
    const size_t bc = (size_t)B * C;
    CLG_TRY(clg_mbd_pairs_backward(ctx, dm, dbias, dout, m, N, A, B, C));
    /* df = dout[:, :A] + dM T^T = dout[:, :A] + dm^T T^T */
    CLG_TRY(copy_cols(ctx, df, (size_t)A, dout, (size_t)(A + B), N, A));
    CLG_TRY(clg_gemm(ctx, 1, 1, (size_t)N, (size_t)A, bc, 1.0f, dm, (size_t)N, t, bc, 1.0f, df,
                     (size_t)A, NULL));
    /* dT += f^T dM = f^T dm^T (dt NULL: no parameter gradients wanted) */
    if (!dt) return CLG_OK;
    return clg_gemm(ctx, 1, 1, (size_t)A, bc, (size_t)N, 1.0f, f, (size_t)A, dm, (size_t)N, 1.0f,
                    dt, bc, NULL);
}
