/* weightnorm.c: host wrappers for kernels/weightnorm.cl. */
#include "weightnorm.h"

#include <math.h>

#define FAMILY "weightnorm"

/* Work-items per row in forward and backward on GPUs; rows are up to ~1000
 * wide (16 columns per item at 64), and K rows give the parallelism. CPUs
 * take one work-item per row (as batch norm's kernels): PoCL pays for each
 * of the group sum's barrier rounds, and at 64 items `train ssl`'s forward
 * and backward ran 1.9 and 2.3 times slower (`--profile`, 2-core EPYC). */
#ifndef CLG_WEIGHTNORM_LOCAL
#define CLG_WEIGHTNORM_LOCAL 64
#endif

static size_t row_local(clg_ctx *ctx, cl_kernel k) {
    if (!(ctx->dev.type & CL_DEVICE_TYPE_GPU)) return 1;
    return clg_local_size(ctx, k, CLG_WEIGHTNORM_LOCAL);
}

/* m (K, Cin) must have v's rows and row length. */
static clg_status check_rows(const char *op, const char *name, const clg_tensor *m,
                             const clg_tensor *v) {
    if (m->n != v->n || clg_tensor_numel(m) != clg_tensor_numel(v) || clg_tensor_numel(v) == 0)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: %s (%d, %d, %d, %d) is not v (%d, %d, %d, %d) as (K, Cin) rows",
                        op, name, m->n, m->c, m->h, m->w, v->n, v->c, v->h, v->w);
    return CLG_OK;
}

/* t must have one element per row (unit) of v. */
static clg_status check_units(const char *op, const char *name, const clg_tensor *t, int k) {
    if (clg_tensor_numel(t) != (size_t)k)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s (%d, %d, %d, %d) has %zu elements, not K = %d",
                        op, name, t->n, t->c, t->h, t->w, clg_tensor_numel(t), k);
    return CLG_OK;
}

clg_status clg_weightnorm_forward(clg_ctx *ctx, const clg_tensor *w, const clg_tensor *norm,
                                  const clg_tensor *v, const clg_tensor *g) {
    const char *op = "weightnorm_forward";
    CLG_TRY(check_rows(op, "w", w, v));
    CLG_TRY(check_units(op, "norm", norm, v->n));
    CLG_TRY(check_units(op, "g", g, v->n));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "weightnorm_fwd", &k));
    size_t local = row_local(ctx, k);
    cl_uint cols = (cl_uint)(clg_tensor_numel(v) / (size_t)v->n);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(w), CLG_TENSOR_ARGS(norm), CLG_TENSOR_ARGS(v),
                         CLG_TENSOR_ARGS(g), CLG_ARG(cols), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, (size_t)v->n * local, local, NULL);
}

clg_status clg_weightnorm_backward(clg_ctx *ctx, const clg_tensor *dv, const clg_tensor *dg,
                                   const clg_tensor *dw, const clg_tensor *v,
                                   const clg_tensor *g, const clg_tensor *norm, int accumulate) {
    const char *op = "weightnorm_backward";
    if (accumulate != 0 && accumulate != 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: accumulate is %d, not 0 or 1", op,
                        accumulate);
    CLG_TRY(check_rows(op, "dv", dv, v));
    CLG_TRY(check_rows(op, "dw", dw, v));
    CLG_TRY(check_units(op, "dg", dg, v->n));
    CLG_TRY(check_units(op, "g", g, v->n));
    CLG_TRY(check_units(op, "norm", norm, v->n));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "weightnorm_bwd", &k));
    size_t local = row_local(ctx, k);
    cl_uint cols = (cl_uint)(clg_tensor_numel(v) / (size_t)v->n), acc = (cl_uint)accumulate;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dv), CLG_TENSOR_ARGS(dg), CLG_TENSOR_ARGS(dw),
                         CLG_TENSOR_ARGS(v), CLG_TENSOR_ARGS(g), CLG_TENSOR_ARGS(norm),
                         CLG_ARG(cols), CLG_ARG(acc), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, (size_t)v->n * local, local, NULL);
}

clg_status clg_weightnorm_data_init(clg_ctx *ctx, const clg_tensor *g, const clg_tensor *b,
                                    const clg_tensor *pre, float init_scale) {
    const char *op = "weightnorm_data_init";
    CLG_TRY(check_units(op, "g", g, pre->c));
    CLG_TRY(check_units(op, "b", b, pre->c));
    if ((size_t)pre->n * pre->h * pre->w < 2)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: pre (%d, %d, %d, %d) has fewer than 2 values per unit (N*H*W): "
                        "no spread to normalise",
                        op, pre->n, pre->c, pre->h, pre->w);
    if (!(init_scale > 0.0f) || !isfinite(init_scale))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: init_scale must be finite and > 0 (got %g)",
                        op, (double)init_scale);
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, NULL, "weightnorm_data_init", &k));
    cl_uint n = (cl_uint)pre->n, units = (cl_uint)pre->c, hw = (cl_uint)(pre->h * pre->w);
    cl_float s = init_scale;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(g), CLG_TENSOR_ARGS(b), CLG_TENSOR_ARGS(pre),
                         CLG_ARG(n), CLG_ARG(units),
                         CLG_ARG(hw), CLG_ARG(s)));
    return clg_launch_flat(ctx, k, units, NULL);
}
