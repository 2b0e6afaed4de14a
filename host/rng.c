/* rng.c: Philox4x32-10 in C, and host wrappers for kernels/rng.cl. */
#include "rng.h"
#include "elementwise.h"

#define FAMILY "rng"

void clg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* Philox blocks covering [offset, offset + n), n > 0: one work-item each. */
static size_t blocks_of(uint64_t offset, size_t n) {
    return (size_t)((offset + n - 1) / 4 - offset / 4 + 1);
}

/* Both stream kernels share one signature. */
static clg_status stream(clg_ctx *ctx, const char *name, const clg_tensor *out, uint64_t seed,
                         uint64_t offset, float a, float b) {
    const size_t n = clg_tensor_numel(out);
    if (n == 0) return CLG_OK;
    if (offset > UINT64_MAX - n)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: stream offset %llu + %zu elements overflows",
                        name, (unsigned long long)offset, n);
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint un = (cl_uint)n;
    cl_uint s_lo = (cl_uint)seed, s_hi = (cl_uint)(seed >> 32);
    cl_uint o_lo = (cl_uint)offset, o_hi = (cl_uint)(offset >> 32);
    cl_float fa = a, fb = b;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_ARG(un), CLG_ARG(s_lo), CLG_ARG(s_hi),
                         CLG_ARG(o_lo), CLG_ARG(o_hi), CLG_ARG(fa), CLG_ARG(fb)));
    return clg_launch_flat(ctx, k, blocks_of(offset, n), NULL);
}

clg_status clg_rng_uniform(clg_ctx *ctx, const clg_tensor *out, uint64_t seed, uint64_t offset,
                           float lo, float hi) {
    return stream(ctx, "rng_uniform", out, seed, offset, lo, hi);
}

clg_status clg_rng_normal(clg_ctx *ctx, const clg_tensor *out, uint64_t seed, uint64_t offset,
                          float mean, float std) {
    return stream(ctx, "rng_normal", out, seed, offset, mean, std);
}

clg_status clg_rng_raw(clg_ctx *ctx, const uint32_t ctr[4], const uint32_t key[2],
                       uint32_t out[4]) {
    clg_status rc = CLG_OK;
    cl_mem buf = NULL;
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "rng_raw", &k));
    CLG_TRY(clg_buffer_create(ctx, 4 * sizeof(cl_uint), "rng_raw output", &buf));
    cl_uint c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    CLG_TRY_GOTO(CLG_SET_ARGS(k, CLG_ARG(buf), CLG_ARG(c0), CLG_ARG(c1), CLG_ARG(c2),
                              CLG_ARG(c3), CLG_ARG(k0), CLG_ARG(k1)),
                 fail);
    CLG_TRY_GOTO(clg_launch_1d(ctx, k, 1, 1, NULL), fail);
    cl_uint got[4];
    CL_CHECK_GOTO(clEnqueueReadBuffer(ctx->queue, buf, CL_TRUE, 0, sizeof got, got, 0, NULL,
                                      NULL),
                  fail);
    for (int i = 0; i < 4; i++) out[i] = got[i];
fail:
    clg_buffer_release(ctx, buf, 4 * sizeof(cl_uint));
    return rc;
}

/* rng_dropout and rng_add_normal: (out, in, n, seed, offset, a[, b]). */
static clg_status stream_op(clg_ctx *ctx, const char *name, const clg_tensor *out,
                            const clg_tensor *in, uint64_t seed, uint64_t offset, int nargs,
                            float a, float b) {
    CLG_TRY(clg_check_numel(name, out, in));
    const size_t n = clg_tensor_numel(out);
    if (n == 0) return CLG_OK;
    if (offset > UINT64_MAX - n)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: stream offset %llu + %zu elements overflows",
                        name, (unsigned long long)offset, n);
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, name, &k));
    cl_uint un = (cl_uint)n;
    cl_uint s_lo = (cl_uint)seed, s_hi = (cl_uint)(seed >> 32);
    cl_uint o_lo = (cl_uint)offset, o_hi = (cl_uint)(offset >> 32);
    cl_float fa = a, fb = b;
    if (nargs == 2)
        CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(in), CLG_ARG(un),
                             CLG_ARG(s_lo), CLG_ARG(s_hi), CLG_ARG(o_lo), CLG_ARG(o_hi),
                             CLG_ARG(fa), CLG_ARG(fb)));
    else
        CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(in), CLG_ARG(un),
                             CLG_ARG(s_lo), CLG_ARG(s_hi), CLG_ARG(o_lo), CLG_ARG(o_hi),
                             CLG_ARG(fa)));
    return clg_launch_flat(ctx, k, blocks_of(offset, n), NULL);
}

clg_status clg_dropout(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in, uint64_t seed,
                       uint64_t offset, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "dropout: p must be in [0, 1), not %g", p);
    return stream_op(ctx, "rng_dropout", out, in, seed, offset, 2, p, 1.0f / (1.0f - p));
}

clg_status clg_add_noise(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in, uint64_t seed,
                         uint64_t offset, float std) {
    return stream_op(ctx, "rng_add_normal", out, in, seed, offset, 1, std, 0.0f);
}
