/* vbn.c: host wrappers for kernels/vbn.cl, and the reference batch's passes
 * through kernels/batchnorm.cl. */
#include "vbn.h"
#include "batchnorm.h"
#include "elementwise.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAMILY "vbn"
#define VBN_ITEMS 32 /* items (vectors or floats) per work-item and row */
#define VBN_ROW_ITEMS 2   /* the row kernels (GPUs): items per work-item, about */
#define VBN_ROW_LOCAL 256 /* the row kernels: work-items per group, at most */

enum { VBN_AFFINE = 1, VBN_NO_PGRAD = 2 }; /* as kernels/vbn.cl */

clg_status clg_vbn_create(clg_ctx *ctx, clg_vbn *v, int c, int n_ref, float eps) {
    memset(v, 0, sizeof *v);
    if (c <= 0 || n_ref <= 0 || !(eps > 0.0f))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "vbn_create: C %d and n_ref %d must be > 0, eps %g > 0", c, n_ref,
                        (double)eps);
    clg_tensor ts[6];
    for (int i = 0; i < 6; i++) ts[i] = clg_tensor_view(NULL, 0, 1, c, 1, 1);
    CLG_TRY(clg_block_alloc(ctx, &v->blk, ts, 6, "vbn statistics"));
    v->c = c;
    v->n_ref = v->n_all = n_ref;
    v->eps = eps;
    v->ref_mean = ts[0];
    v->ref_var = ts[1];
    v->ref_rstd = ts[2];
    v->dref_mean = ts[3];
    v->dref_var = ts[4];
    v->ref_mean_lo = ts[5];
    return CLG_OK;
}

void clg_vbn_free(clg_ctx *ctx, clg_vbn *v) {
    if (v->blk.buf) clg_block_free(ctx, &v->blk);
    if (v->sync) clg_bn_sync_free(ctx, v->sync);
    free(v->sync);
    free(v->hstats);
    memset(v, 0, sizeof *v);
}

clg_status clg_vbn_sync(clg_ctx *ctx, clg_vbn *v) {
    if (!v->blk.buf || v->sync || !ctx->dist)
        return clg_fail(CLG_ERR_INVALID_ARG, "vbn_sync: not created, twice, or no ranks");
    v->sync = calloc(1, sizeof *v->sync);
    v->hstats = malloc((size_t)2 * (size_t)v->c * sizeof *v->hstats);
    if (!v->sync || !v->hstats) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    CLG_TRY(clg_bn_sync_create(ctx, v->sync, v->c));
    v->n_all = v->n_ref * ctx->dist->size;
    return CLG_OK;
}

/* The synchronised reference statistics: the global mean and rstd from
 * bn_sync, its variance, no rounding-error term. */
static clg_status ref_stats_sync(clg_ctx *ctx, clg_vbn *v, const clg_tensor *out_ref,
                                 const clg_tensor *inp_ref, const clg_tensor *gamma,
                                 const clg_tensor *beta) {
    CLG_TRY(clg_bn_sync_forward(ctx, ctx->dist, v->sync, out_ref, &v->ref_mean, &v->ref_rstd,
                                inp_ref, gamma, beta, NULL, NULL, 0.0f, v->eps));
    CLG_TRY(clg_copy(ctx, &v->ref_var, &v->sync->gvar));
    return clg_tensor_zero(ctx, &v->ref_mean_lo);
}

clg_status clg_vbn_init_params(clg_ctx *ctx, const clg_tensor *gamma, const clg_tensor *beta,
                               uint64_t seed) {
    const size_t c = clg_tensor_numel(gamma);
    CLG_TRY(clg_bn_check_vec("vbn_init_params", "beta", beta, (int)c));
    float *g = malloc(c * sizeof *g);
    if (!g) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "vbn_init_params: out of host memory");
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < c; i++) {
        double u[2];
        for (int k = 0; k < 2; k++) { /* xorshift64*, 53-bit uniforms in (0, 1] */
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            u[k] = ((double)((s * 0x2545F4914F6CDD1DULL) >> 11) + 1.0) / 9007199254740992.0;
        }
        g[i] = (float)(1.0 + 0.02 * sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
    }
    clg_status rc = clg_tensor_upload(ctx, gamma, g);
    free(g);
    CLG_TRY(rc);
    return clg_tensor_zero(ctx, beta);
}

static clg_status check_input(const char *op, const clg_vbn *v, const clg_tensor *inp,
                              const clg_tensor *gamma, const clg_tensor *beta) {
    if (!v->blk.buf) return clg_fail(CLG_ERR_INVALID_ARG, "%s: vbn not created", op);
    if (inp->c != v->c)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: input has %d channels, the vbn %d", op, inp->c,
                        v->c);
    if (inp->off / 4 + clg_tensor_numel(inp) > 0xffffffffu)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: tensor exceeds 32-bit indexing", op);
    if ((gamma == NULL) != (beta == NULL))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: give gamma and beta together, or neither", op);
    if (gamma) CLG_TRY(clg_bn_check_vec(op, "gamma", gamma, v->c));
    if (beta) CLG_TRY(clg_bn_check_vec(op, "beta", beta, v->c));
    return CLG_OK;
}

clg_status clg_vbn_ref_recompute(clg_ctx *ctx, clg_vbn *v, const clg_tensor *out_ref,
                                 const clg_tensor *inp_ref, const clg_tensor *gamma,
                                 const clg_tensor *beta) {
    const char *op = "vbn_ref_forward";
    CLG_TRY(check_input(op, v, inp_ref, gamma, beta));
    if (inp_ref->n != v->n_ref)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: reference batch of %d, the vbn was made for %d",
                        op, inp_ref->n, v->n_ref);
    if (v->sync) return ref_stats_sync(ctx, v, out_ref, inp_ref, gamma, beta);
    return clg_bn_forward_stats(ctx, out_ref, &v->ref_mean, &v->ref_rstd, &v->ref_var,
                                &v->ref_mean_lo, inp_ref, gamma, beta, NULL, NULL, 0.0f, v->eps);
}

clg_status clg_vbn_ref_forward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *out_ref,
                               const clg_tensor *inp_ref, const clg_tensor *gamma,
                               const clg_tensor *beta) {
    CLG_TRY(clg_vbn_ref_recompute(ctx, v, out_ref, inp_ref, gamma, beta));
    CLG_TRY(clg_tensor_zero(ctx, &v->dref_mean));
    return clg_tensor_zero(ctx, &v->dref_var);
}

/* Items in one example's row of a channel: vectors of the kernel's VBN_VW
 * floats (the device's width, kernels/vbn.cl), or floats. */
static size_t row_items(const clg_ctx *ctx, const clg_tensor *inp) {
    size_t p = (size_t)inp->h * (size_t)inp->w, vw = ctx->dev.float_vw;
    return p % vw == 0 ? p / vw : p;
}

/* The kernel `name` built for inp's rows: VBN_T work-items per row (a power
 * of two giving each at most about VBN_ITEMS items, at most the local size;
 * a build-time constant so that T = 1 needs no barrier), and its local size. */
static clg_status vbn_kernel(clg_ctx *ctx, const clg_tensor *inp, const char *name,
                             cl_kernel *k, size_t *local) {
    char defs[32];
    const size_t q = row_items(ctx, inp);
    /* The local size depends on the kernel only through its limits, equal
     * across T variants: ask the T = 1 build first. */
    CLG_TRY(clg_kernel_get(ctx, FAMILY, "VBN_T=1", name, k));
    *local = clg_bn_local(ctx, *k);
    size_t t = 1;
    while (t < *local && t * VBN_ITEMS < q) t *= 2;
    /* A group covers at most all N examples at once (GPUs: no idle lanes). */
    size_t want = t;
    while (want < *local && want < t * (size_t)inp->n) want *= 2;
    *local = want;
    if (t == 1) return CLG_OK;
    snprintf(defs, sizeof defs, "VBN_T=%zu", t);
    CLG_TRY(clg_kernel_get(ctx, FAMILY, defs, name, k));
    size_t lim = clg_local_size(ctx, *k, *local);
    if (lim < t)
        return clg_fail(CLG_ERR_UNSUPPORTED,
                        "vbn: kernel %s allows %zu work-items, rows want %zu", name, lim, t);
    *local = lim;
    return CLG_OK;
}

/* The row kernel `name` (kernels/vbn.cl, GPUs) for inp: its local size,
 * *tw work-items per row (a power of two giving each about VBN_ROW_ITEMS
 * items, at most the local size) and work-groups for the N*C rows. */
static clg_status row_kernel(clg_ctx *ctx, const clg_tensor *inp, const char *name,
                             cl_kernel *k, size_t *local, cl_uint *tw, size_t *groups) {
    const size_t q = row_items(ctx, inp), rows = (size_t)inp->n * (size_t)inp->c;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, "VBN_T=1", name, k));
    *local = clg_local_size(ctx, *k, VBN_ROW_LOCAL);
    size_t t = 1;
    while (t < *local && t * VBN_ROW_ITEMS < q) t *= 2;
    *tw = (cl_uint)t;
    *groups = (rows + *local / t - 1) / (*local / t);
    return CLG_OK;
}

static clg_status check_rows(const char *op, const char *what, const clg_tensor *t,
                             const clg_tensor *inp) {
    if (clg_tensor_numel(t) != (size_t)inp->n * (size_t)inp->c)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s has %zu elements, want N*C = %d*%d", op,
                        what, clg_tensor_numel(t), inp->n, inp->c);
    return CLG_OK;
}

clg_status clg_vbn_forward(clg_ctx *ctx, const clg_vbn *v, const clg_tensor *out,
                           const clg_tensor *mean, const clg_tensor *rstd, const clg_tensor *inp,
                           const clg_tensor *gamma, const clg_tensor *beta) {
    const char *op = "vbn_forward";
    CLG_TRY(check_input(op, v, inp, gamma, beta));
    CLG_TRY(clg_bn_check_same(op, "out", out, inp));
    CLG_TRY(check_rows(op, "mean", mean, inp));
    CLG_TRY(check_rows(op, "rstd", rstd, inp));
    /* Without gamma and beta, inp stands in; the kernel never reads it there. */
    const clg_tensor *g = gamma ? gamma : inp, *b = beta ? beta : inp;
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w);
    cl_uint flags = gamma ? VBN_AFFINE : 0, tw = 1;
    cl_float a = 1.0f / (float)(v->n_all + 1), eps = v->eps;
    cl_kernel k;
    size_t local, groups = clg_bn_groups(ctx, (inp->c + 7) / 8);
    const int rows = clg_norm_split(ctx);
    if (rows) CLG_TRY(row_kernel(ctx, inp, "vbn_fwd_row", &k, &local, &tw, &groups));
    else CLG_TRY(vbn_kernel(ctx, inp, "vbn_fwd", &k, &local));
    clg_arg args[] = {CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(mean), CLG_TENSOR_ARGS(rstd),
                      CLG_TENSOR_ARGS(inp), CLG_TENSOR_ARGS(&v->ref_mean),
                      CLG_TENSOR_ARGS(&v->ref_mean_lo), CLG_TENSOR_ARGS(&v->ref_var),
                      CLG_TENSOR_ARGS(g), CLG_TENSOR_ARGS(b), CLG_ARG(n), CLG_ARG(c),
                      CLG_ARG(p), CLG_ARG(a), CLG_ARG(eps), CLG_ARG(flags), CLG_ARG(tw),
                      CLG_LOCAL(local * sizeof(float))};
    int nargs = (int)(sizeof args / sizeof *args);
    if (!rows) { /* vbn_fwd: the same arguments without tw */
        args[nargs - 2] = args[nargs - 1];
        nargs--;
    }
    CLG_TRY(clg_set_args(k, args, nargs));
    return clg_launch_1d(ctx, k, groups * local, local, NULL);
}

static clg_status check_grads(const char *op, const clg_vbn *v, const clg_tensor *gamma,
                              const clg_tensor *dgamma, const clg_tensor *dbeta) {
    if (gamma) {
        /* Both NULL: no parameter gradient wanted; one alone is a mistake. */
        if ((dgamma == NULL) != (dbeta == NULL))
            return clg_fail(CLG_ERR_INVALID_ARG, "%s: give dgamma and dbeta together", op);
        if (dgamma) CLG_TRY(clg_bn_check_vec(op, "dgamma", dgamma, v->c));
        if (dbeta) CLG_TRY(clg_bn_check_vec(op, "dbeta", dbeta, v->c));
    } else if (dgamma || dbeta) {
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: dgamma/dbeta given without gamma", op);
    }
    return CLG_OK;
}

/* The row backward's partial sums: (4, N, C) floats. */
static size_t row_partials_bytes(size_t n, size_t c) { return 4 * n * c * sizeof(float); }

clg_status clg_vbn_reserve(clg_ctx *ctx, int n, int c, int h, int w) {
    CLG_TRY(clg_norm_reserve(ctx, n, c, h, w)); /* the reference pass's batch norm */
    if (!clg_norm_split(ctx)) return CLG_OK;
    cl_mem unused;
    return clg_scratch(ctx, row_partials_bytes((size_t)n, (size_t)c), &unused);
}

/* The backward on GPUs: vbn_bwd_row writes dinp and each row's share of
 * the sums over examples into the context's scratch, (4, N, C) floats;
 * vbn_bwd_final adds them per channel into dg, db and v's dref_*. */
static clg_status row_backward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *dinp,
                               const clg_tensor *dg, const clg_tensor *db,
                               const clg_tensor *dout, const clg_tensor *inp,
                               const clg_tensor *rstd, const clg_tensor *g, cl_uint flags) {
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w), zero = 0;
    cl_float a = 1.0f / (float)(v->n_all + 1);
    cl_mem part;
    CLG_TRY(clg_scratch(ctx, row_partials_bytes(n, c), &part));
    cl_kernel k;
    size_t local, groups;
    cl_uint tw;
    CLG_TRY(row_kernel(ctx, inp, "vbn_bwd_row", &k, &local, &tw, &groups));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dinp), CLG_ARG(part), CLG_ARG_OFF(zero, 4 * n * c),
                         CLG_TENSOR_ARGS(dout), CLG_TENSOR_ARGS(inp), CLG_TENSOR_ARGS(rstd),
                         CLG_TENSOR_ARGS(&v->ref_mean), CLG_TENSOR_ARGS(&v->ref_mean_lo),
                         CLG_TENSOR_ARGS(g), CLG_ARG(n), CLG_ARG(c), CLG_ARG(p), CLG_ARG(a),
                         CLG_ARG(flags), CLG_ARG(tw), CLG_LOCAL(local * sizeof(float))));
    CLG_TRY(clg_launch_1d(ctx, k, groups * local, local, NULL));
    CLG_TRY(clg_kernel_get(ctx, FAMILY, "VBN_T=1", "vbn_bwd_final", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dg), CLG_TENSOR_ARGS(db),
                         CLG_TENSOR_ARGS(&v->dref_mean), CLG_TENSOR_ARGS(&v->dref_var),
                         CLG_ARG(part), CLG_ARG_OFF(zero, 4 * n * c), CLG_ARG(n), CLG_ARG(c),
                         CLG_ARG(flags)));
    return clg_launch_flat(ctx, k, c, NULL);
}

clg_status clg_vbn_backward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *dinp,
                            const clg_tensor *dgamma, const clg_tensor *dbeta,
                            const clg_tensor *dout, const clg_tensor *inp,
                            const clg_tensor *rstd, const clg_tensor *gamma) {
    const char *op = "vbn_backward";
    CLG_TRY(check_input(op, v, inp, gamma, gamma));
    CLG_TRY(clg_bn_check_same(op, "dinp", dinp, inp));
    CLG_TRY(clg_bn_check_same(op, "dout", dout, inp));
    CLG_TRY(check_rows(op, "rstd", rstd, inp));
    CLG_TRY(check_grads(op, v, gamma, dgamma, dbeta));
    /* Absent tensors pass a present one, never touched (flag off). */
    const clg_tensor *dg = dgamma ? dgamma : &v->dref_mean;
    const clg_tensor *db = dbeta ? dbeta : &v->dref_mean, *g = gamma ? gamma : inp;
    cl_uint flags = (gamma ? VBN_AFFINE : 0) | (gamma && !dgamma ? VBN_NO_PGRAD : 0);
    if (clg_norm_split(ctx)) return row_backward(ctx, v, dinp, dg, db, dout, inp, rstd, g, flags);
    cl_kernel k;
    size_t local;
    CLG_TRY(vbn_kernel(ctx, inp, "vbn_bwd", &k, &local));
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w);
    cl_float a = 1.0f / (float)(v->n_all + 1);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dinp), CLG_TENSOR_ARGS(dg), CLG_TENSOR_ARGS(db),
                         CLG_TENSOR_ARGS(&v->dref_mean), CLG_TENSOR_ARGS(&v->dref_var),
                         CLG_TENSOR_ARGS(dout), CLG_TENSOR_ARGS(inp), CLG_TENSOR_ARGS(rstd),
                         CLG_TENSOR_ARGS(&v->ref_mean), CLG_TENSOR_ARGS(&v->ref_mean_lo),
                         CLG_TENSOR_ARGS(g), CLG_ARG(n), CLG_ARG(c), CLG_ARG(p), CLG_ARG(a),
                         CLG_ARG(flags), CLG_LOCAL(local * sizeof(float))));
    return clg_launch_1d(ctx, k, clg_bn_groups(ctx, (inp->c + 7) / 8) * local, local, NULL);
}

/* The gradients w.r.t. the statistics, averaged over the ranks, into the
 * synchronised batch norm's backward of this rank's reference rows (which
 * needs dout_ref: zeros when nothing downstream used the output). */
static clg_status ref_backward_sync(clg_ctx *ctx, clg_vbn *v, const clg_tensor *dinp_ref,
                                   const clg_tensor *dgamma, const clg_tensor *dbeta,
                                   const clg_tensor *dout_ref, const clg_tensor *inp_ref,
                                   const clg_tensor *gamma) {
    const int c = v->c;
    if (!dout_ref)
        return clg_fail(CLG_ERR_INVALID_ARG, "vbn_ref_backward: over several ranks it needs the "
                        "reference output's gradient (zeros when nothing used it)");
    float *h = v->hstats;
    CLG_TRY(clg_tensor_download(ctx, &v->dref_mean, h));
    CLG_TRY(clg_tensor_download(ctx, &v->dref_var, h + c));
    CLG_TRY(clg_dist_allreduce_sum(ctx->dist, h, (size_t)2 * (size_t)c));
    for (int i = 0; i < 2 * c; i++) h[i] /= (float)ctx->dist->size;
    return clg_bn_sync_backward(ctx, ctx->dist, v->sync, dinp_ref, dgamma, dbeta, dout_ref,
                                inp_ref, &v->ref_rstd, gamma, h);
}

clg_status clg_vbn_ref_backward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *dinp_ref,
                                const clg_tensor *dgamma, const clg_tensor *dbeta,
                                const clg_tensor *dout_ref, const clg_tensor *inp_ref,
                                const clg_tensor *gamma) {
    const char *op = "vbn_ref_backward";
    CLG_TRY(check_input(op, v, inp_ref, gamma, gamma));
    if (inp_ref->n != v->n_ref)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: reference batch of %d, the vbn was made for %d",
                        op, inp_ref->n, v->n_ref);
    CLG_TRY(check_grads(op, v, gamma, dgamma, dbeta));
    if (v->sync) return ref_backward_sync(ctx, v, dinp_ref, dgamma, dbeta, dout_ref, inp_ref, gamma);
    /* Without dout_ref nothing reaches gamma/beta from the reference output. */
    return clg_bn_backward_stats(ctx, dinp_ref, dout_ref ? dgamma : NULL,
                                 dout_ref ? dbeta : NULL, dout_ref, inp_ref, &v->ref_mean,
                                 &v->ref_rstd, gamma, &v->dref_mean, &v->dref_var);
}
