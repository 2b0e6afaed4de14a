/* batchnorm.c: host wrappers for kernels/batchnorm.cl. */
#include "batchnorm.h"

#include <math.h>
#include <stdio.h>

#define FAMILY "batchnorm"
#define BN_GROUPS_PER_CU 4 /* work-groups per compute unit on CPUs */
#define BN_SPLIT_GROUPS_PER_CU 8 /* split kernels: work-groups per compute unit */
#define BN_SLICE_MIN 2048        /* split kernels: elements per slice, at least */
#define BN_SPLIT_LOCAL 256       /* split kernels: work-items per group, at most */
/* GPUs: N*H*W per channel from which the split kernels run. Below it their
 * three launches cost more than they win: on the H200 (2026-11-28, clgan
 * bench --filter norm) the per-channel kernels were 1.5 to 2.0x faster at
 * 1,024 to 16,384 values per channel and the split ones 1.1 to 1.6x faster
 * at 65,536. */
#define BN_SPLIT_MIN_COUNT 32768

/* Kernel flags, as in kernels/batchnorm.cl. */
enum {
    BN_AFFINE = 1,
    BN_RUNNING = 2,
    BN_SAVE_VAR = 4,
    BN_HAS_DOUT = 8,
    BN_DSTATS = 16,
    BN_NO_PGRAD = 32,
};

size_t clg_bn_local(clg_ctx *ctx, cl_kernel k) {
    /* On CPUs a work-group runs on one core as a loop over its work-items and
     * the kernels vectorise explicitly, so more work-items only add PoCL's
     * per-barrier-region cost: one work-item does best (measured on PoCL
     * on DCGAN-64's shapes: 1 beat 4 and 16). */
    if (!(ctx->dev.type & CL_DEVICE_TYPE_GPU)) return 1;
    return clg_local_size(ctx, k, 256);
}

/* The split kernels (several work-groups per channel) on GPUs, or where
 * ctx->norm_path asks for them. */
int clg_norm_split(const clg_ctx *ctx) {
    if (ctx->norm_path != CLG_NORM_AUTO) return ctx->norm_path == CLG_NORM_GPU;
    return (ctx->dev.type & CL_DEVICE_TYPE_GPU) != 0;
}

/* This tensor's BN takes the split kernels: forced, or on a GPU with
 * enough values per channel. */
static int bn_split(const clg_ctx *ctx, const clg_tensor *inp) {
    if (!clg_norm_split(ctx)) return 0;
    const size_t m = (size_t)inp->n * (size_t)inp->h * (size_t)inp->w;
    return ctx->norm_path == CLG_NORM_GPU || m >= BN_SPLIT_MIN_COUNT;
}

/* Slices per channel for the split kernels: enough work-groups to give every
 * compute unit BN_SPLIT_GROUPS_PER_CU of them, each at least BN_SLICE_MIN
 * elements (fewer slices for small channels: a slice's partial sums cost a
 * group-wide reduction). ctx->norm_slices overrides it. */
static cl_uint split_slices(const clg_ctx *ctx, const clg_tensor *inp) {
    if (ctx->norm_slices > 0) return (cl_uint)ctx->norm_slices;
    const size_t m = (size_t)inp->n * (size_t)inp->h * (size_t)inp->w;
    const size_t cu = ctx->dev.compute_units ? ctx->dev.compute_units : 1;
    const size_t want = (cu * BN_SPLIT_GROUPS_PER_CU + (size_t)inp->c - 1) / (size_t)inp->c;
    const size_t cap = m / BN_SLICE_MIN ? m / BN_SLICE_MIN : 1;
    return (cl_uint)(want < cap ? want : cap);
}

/* The context's scratch as (J, C, S) partial sums then K (C) coefficients:
 * J, K = 2, 4 forward, 3, 5 backward. */
static size_t split_bytes(size_t c, size_t s, int j, int k) {
    return c * ((size_t)j * s + (size_t)k) * sizeof(float);
}

static clg_status split_scratch(clg_ctx *ctx, size_t c, size_t s, int j, int k, cl_mem *out) {
    return clg_scratch(ctx, split_bytes(c, s, j, k), out);
}

clg_status clg_norm_reserve(clg_ctx *ctx, int n, int c, int h, int w) {
    clg_tensor shape = clg_tensor_view(NULL, 0, n, c, h, w);
    if (!bn_split(ctx, &shape)) return CLG_OK;
    cl_mem unused; /* the backward's need, the larger */
    return split_scratch(ctx, (size_t)c, split_slices(ctx, &shape), 3, 5, &unused);
}

/* Items of the apply kernels: vectors of the device's width when rows hold
 * whole vectors (kernels/batchnorm.cl), else floats. */
static size_t split_items(const clg_ctx *ctx, const clg_tensor *inp) {
    const size_t p = (size_t)inp->h * (size_t)inp->w, vw = ctx->dev.float_vw;
    return p % vw == 0 ? clg_tensor_numel(inp) / vw : clg_tensor_numel(inp);
}

/* bn_fwd_train8/bn_bwd8 (blocks of 8 channels) on CPUs for short rows:
 * there the one-channel walk waits on a cache miss per row. */
static int use_blocks8(const clg_ctx *ctx, const clg_tensor *inp) {
    return !(ctx->dev.type & CL_DEVICE_TYPE_GPU) && inp->h * inp->w < 256;
}

size_t clg_bn_groups(clg_ctx *ctx, int channels) {
    size_t g = (size_t)channels;
    if (!(ctx->dev.type & CL_DEVICE_TYPE_GPU)) {
        size_t cu = ctx->dev.compute_units ? ctx->dev.compute_units : 1;
        if (g > cu * BN_GROUPS_PER_CU) g = cu * BN_GROUPS_PER_CU;
    }
    return g;
}

clg_status clg_bn_check_vec(const char *op, const char *what, const clg_tensor *t, int c) {
    if (clg_tensor_numel(t) != (size_t)c)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s has %zu elements, want %d (one per channel)",
                        op, what, clg_tensor_numel(t), c);
    return CLG_OK;
}

clg_status clg_bn_check_same(const char *op, const char *what, const clg_tensor *t,
                             const clg_tensor *ref) {
    if (t->n != ref->n || t->c != ref->c || t->h != ref->h || t->w != ref->w)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: %s is (%d, %d, %d, %d), want (%d, %d, %d, %d)", op, what, t->n,
                        t->c, t->h, t->w, ref->n, ref->c, ref->h, ref->w);
    return CLG_OK;
}

static clg_status check_affine(const char *op, const clg_tensor *gamma, const clg_tensor *beta,
                               int c) {
    if ((gamma == NULL) != (beta == NULL))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: give gamma and beta together, or neither", op);
    if (gamma) {
        CLG_TRY(clg_bn_check_vec(op, "gamma", gamma, c));
        CLG_TRY(clg_bn_check_vec(op, "beta", beta, c));
    }
    return CLG_OK;
}

/* The program's defines for a fused activation (kernels/batchnorm.cl's
 * BN_ACT, BN_SLOPE) into buf; *defs NULL for none (the plain program). */
static clg_status act_defines(const char *op, clg_fused_act a, char *buf, size_t cap,
                              const char **defs) {
    *defs = NULL;
    CLG_TRY(clg_fused_act_check(op, a));
    if (a.act == CLG_ACT_IDENTITY) return CLG_OK;
    if (a.act == CLG_ACT_RELU) snprintf(buf, cap, "BN_ACT=1");
    else snprintf(buf, cap, "BN_ACT=2 BN_SLOPE=%.9gf", (double)a.slope);
    *defs = buf;
    return CLG_OK;
}

#define ACT_DEFS_MAX 48
static const clg_fused_act no_act = {CLG_ACT_IDENTITY, 0.0f};

/* A training forward's tensors, absent ones replaced (see below); defs: a
 * fused activation's program defines, or NULL. */
typedef struct {
    const clg_tensor *out, *mean, *rstd, *var, *lo, *rm, *rv, *inp, *g, *b;
    cl_float eps, mom;
    cl_uint flags;
    const char *defs;
} fwd_args;

/* A backward's tensors, absent ones replaced; yo: the forward's output
 * (a fused activation's backward reads it). */
typedef struct {
    const clg_tensor *dinp, *dg, *db, *dy, *yo, *inp, *mean, *rstd, *g, *dm, *dv;
    cl_uint flags;
    const char *defs;
} bwd_args;

/* bn_fwd_train (or bn_fwd_train8): work-groups own whole channels. */
static clg_status channel_forward(clg_ctx *ctx, const fwd_args *a) {
    cl_kernel k;
    const int b8 = use_blocks8(ctx, a->inp);
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, b8 ? "bn_fwd_train8" : "bn_fwd_train", &k));
    size_t local = b8 ? 1 : clg_bn_local(ctx, k); /* the 8-channel kernels require 1 */
    const clg_tensor *inp = a->inp;
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(a->out), CLG_TENSOR_ARGS(a->mean),
                         CLG_TENSOR_ARGS(a->rstd), CLG_TENSOR_ARGS(a->var),
                         CLG_TENSOR_ARGS(a->lo), CLG_TENSOR_ARGS(a->rm), CLG_TENSOR_ARGS(a->rv),
                         CLG_TENSOR_ARGS(inp), CLG_TENSOR_ARGS(a->g), CLG_TENSOR_ARGS(a->b),
                         CLG_ARG(n), CLG_ARG(c), CLG_ARG(p), CLG_ARG(a->eps), CLG_ARG(a->mom),
                         CLG_ARG(a->flags), CLG_LOCAL(local * sizeof(float))));
    size_t groups = clg_bn_groups(ctx, b8 ? (inp->c + 7) / 8 : inp->c);
    return clg_launch_1d(ctx, k, groups * local, local, NULL);
}

/* The split kernels: partial sums of C*S slices, per-channel statistics,
 * then the elementwise output (kernels/batchnorm.cl). */
static clg_status split_forward(clg_ctx *ctx, const fwd_args *a) {
    const clg_tensor *inp = a->inp;
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w);
    cl_uint S = split_slices(ctx, inp), total = (cl_uint)clg_tensor_numel(inp);
    cl_uint zero = 0, coef_off = 2 * c * S;
    cl_mem sc;
    CLG_TRY(split_scratch(ctx, c, S, 2, 4, &sc));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, "bn_split_fwd_stats", &k));
    size_t local = clg_local_size(ctx, k, BN_SPLIT_LOCAL);
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(sc), CLG_ARG_OFF(zero, 2 * c * S), CLG_TENSOR_ARGS(inp),
                         CLG_ARG(n), CLG_ARG(c), CLG_ARG(p), CLG_ARG(S),
                         CLG_LOCAL(local * sizeof(float))));
    CLG_TRY(clg_launch_1d(ctx, k, (size_t)c * S * local, local, NULL));
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, "bn_split_fwd_final", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(sc), CLG_ARG_OFF(coef_off, 4 * c), CLG_TENSOR_ARGS(a->mean),
                         CLG_TENSOR_ARGS(a->rstd), CLG_TENSOR_ARGS(a->var),
                         CLG_TENSOR_ARGS(a->lo), CLG_TENSOR_ARGS(a->rm), CLG_TENSOR_ARGS(a->rv),
                         CLG_ARG(sc), CLG_ARG_OFF(zero, 2 * c * S), CLG_TENSOR_ARGS(inp),
                         CLG_TENSOR_ARGS(a->g), CLG_TENSOR_ARGS(a->b), CLG_ARG(n), CLG_ARG(c),
                         CLG_ARG(p), CLG_ARG(S), CLG_ARG(a->eps), CLG_ARG(a->mom),
                         CLG_ARG(a->flags)));
    CLG_TRY(clg_launch_flat(ctx, k, c, NULL));
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, "bn_split_fwd_apply", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(a->out), CLG_TENSOR_ARGS(inp), CLG_ARG(sc),
                         CLG_ARG_OFF(coef_off, 4 * c), CLG_ARG(total), CLG_ARG(c), CLG_ARG(p)));
    return clg_launch_flat(ctx, k, split_items(ctx, inp), NULL);
}

/* bn_bwd (or bn_bwd8): work-groups own whole channels. */
static clg_status channel_backward(clg_ctx *ctx, const bwd_args *a) {
    cl_kernel k;
    const int b8 = use_blocks8(ctx, a->inp);
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, b8 ? "bn_bwd8" : "bn_bwd", &k));
    size_t local = b8 ? 1 : clg_bn_local(ctx, k); /* the 8-channel kernels require 1 */
    const clg_tensor *inp = a->inp;
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(a->dinp), CLG_TENSOR_ARGS(a->dg),
                         CLG_TENSOR_ARGS(a->db), CLG_TENSOR_ARGS(a->dy), CLG_TENSOR_ARGS(a->yo),
                         CLG_TENSOR_ARGS(inp), CLG_TENSOR_ARGS(a->mean), CLG_TENSOR_ARGS(a->rstd),
                         CLG_TENSOR_ARGS(a->g), CLG_TENSOR_ARGS(a->dm), CLG_TENSOR_ARGS(a->dv),
                         CLG_ARG(n), CLG_ARG(c), CLG_ARG(p), CLG_ARG(a->flags),
                         CLG_LOCAL(local * sizeof(float))));
    size_t groups = clg_bn_groups(ctx, b8 ? (inp->c + 7) / 8 : inp->c);
    return clg_launch_1d(ctx, k, groups * local, local, NULL);
}

/* The split backward: as split_forward, with 3 sums and 5 coefficients. */
static clg_status split_backward(clg_ctx *ctx, const bwd_args *a) {
    const clg_tensor *inp = a->inp;
    cl_uint n = (cl_uint)inp->n, c = (cl_uint)inp->c, p = (cl_uint)(inp->h * inp->w);
    cl_uint S = split_slices(ctx, inp), total = (cl_uint)clg_tensor_numel(inp);
    cl_uint zero = 0, coef_off = 3 * c * S;
    cl_mem sc;
    CLG_TRY(split_scratch(ctx, c, S, 3, 5, &sc));
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, "bn_split_bwd_stats", &k));
    size_t local = clg_local_size(ctx, k, BN_SPLIT_LOCAL);
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(sc), CLG_ARG_OFF(zero, 3 * c * S), CLG_TENSOR_ARGS(a->dy),
                         CLG_TENSOR_ARGS(a->yo), CLG_TENSOR_ARGS(inp), CLG_TENSOR_ARGS(a->mean), CLG_ARG(n), CLG_ARG(c),
                         CLG_ARG(p), CLG_ARG(S), CLG_ARG(a->flags),
                         CLG_LOCAL(local * sizeof(float))));
    CLG_TRY(clg_launch_1d(ctx, k, (size_t)c * S * local, local, NULL));
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, "bn_split_bwd_final", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(sc), CLG_ARG_OFF(coef_off, 5 * c), CLG_TENSOR_ARGS(a->dg),
                         CLG_TENSOR_ARGS(a->db), CLG_ARG(sc), CLG_ARG_OFF(zero, 3 * c * S),
                         CLG_TENSOR_ARGS(a->mean), CLG_TENSOR_ARGS(a->rstd),
                         CLG_TENSOR_ARGS(a->g), CLG_TENSOR_ARGS(a->dm), CLG_TENSOR_ARGS(a->dv),
                         CLG_ARG(n), CLG_ARG(c), CLG_ARG(p), CLG_ARG(S), CLG_ARG(a->flags)));
    CLG_TRY(clg_launch_flat(ctx, k, c, NULL));
    CLG_TRY(clg_kernel_get(ctx, FAMILY, a->defs, "bn_split_bwd_apply", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(a->dinp), CLG_TENSOR_ARGS(a->dy),
                         CLG_TENSOR_ARGS(a->yo), CLG_TENSOR_ARGS(inp), CLG_ARG(sc), CLG_ARG_OFF(coef_off, 5 * c),
                         CLG_ARG(total), CLG_ARG(c), CLG_ARG(p), CLG_ARG(a->flags)));
    return clg_launch_flat(ctx, k, split_items(ctx, inp), NULL);
}

static clg_status forward_act(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                              const clg_tensor *rstd, const clg_tensor *var,
                              const clg_tensor *mean_lo, const clg_tensor *inp,
                              const clg_tensor *gamma, const clg_tensor *beta,
                              const clg_tensor *running_mean, const clg_tensor *running_var,
                              float momentum, float eps, clg_fused_act act) {
    const char *op = "batchnorm_forward";
    const int C = inp->c;
    char buf[ACT_DEFS_MAX];
    const char *defs;
    CLG_TRY(act_defines(op, act, buf, sizeof buf, &defs));
    CLG_TRY(clg_bn_check_same(op, "out", out, inp));
    CLG_TRY(clg_bn_check_vec(op, "mean", mean, C));
    CLG_TRY(clg_bn_check_vec(op, "rstd", rstd, C));
    if ((var == NULL) != (mean_lo == NULL))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: give var and mean_lo together", op);
    if (var) CLG_TRY(clg_bn_check_vec(op, "var", var, C));
    if (mean_lo) CLG_TRY(clg_bn_check_vec(op, "mean_lo", mean_lo, C));
    CLG_TRY(check_affine(op, gamma, beta, C));
    if ((running_mean == NULL) != (running_var == NULL))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: give running_mean and running_var together, or neither", op);
    const size_t count = (size_t)inp->n * (size_t)inp->h * (size_t)inp->w;
    if (running_mean) {
        CLG_TRY(clg_bn_check_vec(op, "running_mean", running_mean, C));
        CLG_TRY(clg_bn_check_vec(op, "running_var", running_var, C));
        if (count < 2)
            return clg_fail(CLG_ERR_INVALID_ARG,
                            "%s: one value per channel (N*H*W = 1) has no unbiased variance "
                            "for the running statistics", op);
    }
    if (!(eps > 0.0f) || !(momentum >= 0.0f && momentum <= 1.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: eps %g must be > 0, momentum %g in [0, 1]", op,
                        (double)eps, (double)momentum);

    cl_uint flags = (gamma ? BN_AFFINE : 0) | (running_mean ? BN_RUNNING : 0) |
                    (var ? BN_SAVE_VAR : 0);
    /* Absent tensors pass a present one, which the kernels never touch
     * (their flag is off). */
    const fwd_args a = {out, mean, rstd, var ? var : mean, mean_lo ? mean_lo : mean,
                        running_mean ? running_mean : mean, running_var ? running_var : mean,
                        inp, gamma ? gamma : inp, beta ? beta : inp, eps, momentum, flags, defs};
    return bn_split(ctx, inp) ? split_forward(ctx, &a) : channel_forward(ctx, &a);
}

clg_status clg_bn_forward_stats(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                                const clg_tensor *rstd, const clg_tensor *var,
                                const clg_tensor *mean_lo, const clg_tensor *inp,
                                const clg_tensor *gamma,
                                const clg_tensor *beta, const clg_tensor *running_mean,
                                const clg_tensor *running_var, float momentum, float eps) {
    return forward_act(ctx, out, mean, rstd, var, mean_lo, inp, gamma, beta, running_mean,
                       running_var, momentum, eps, no_act);
}

clg_status clg_batchnorm_act_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                                     const clg_tensor *rstd, const clg_tensor *inp,
                                     const clg_tensor *gamma, const clg_tensor *beta,
                                     const clg_tensor *running_mean,
                                     const clg_tensor *running_var, float momentum, float eps,
                                     clg_fused_act act) {
    return forward_act(ctx, out, mean, rstd, NULL, NULL, inp, gamma, beta, running_mean,
                       running_var, momentum, eps, act);
}

clg_status clg_batchnorm_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                                 const clg_tensor *rstd, const clg_tensor *inp,
                                 const clg_tensor *gamma, const clg_tensor *beta,
                                 const clg_tensor *running_mean, const clg_tensor *running_var,
                                 float momentum, float eps) {
    return forward_act(ctx, out, mean, rstd, NULL, NULL, inp, gamma, beta, running_mean,
                       running_var, momentum, eps, no_act);
}

clg_status clg_batchnorm_act_forward_inference(clg_ctx *ctx, const clg_tensor *out,
                                               const clg_tensor *inp, const clg_tensor *gamma,
                                               const clg_tensor *beta,
                                               const clg_tensor *running_mean,
                                               const clg_tensor *running_var, float eps,
                                               clg_fused_act act) {
    const char *op = "batchnorm_forward_inference";
    const int C = inp->c;
    char buf[ACT_DEFS_MAX];
    const char *defs;
    CLG_TRY(act_defines(op, act, buf, sizeof buf, &defs));
    CLG_TRY(clg_bn_check_same(op, "out", out, inp));
    CLG_TRY(check_affine(op, gamma, beta, C));
    CLG_TRY(clg_bn_check_vec(op, "running_mean", running_mean, C));
    CLG_TRY(clg_bn_check_vec(op, "running_var", running_var, C));
    if (!(eps > 0.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: eps %g must be > 0", op, (double)eps);
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, FAMILY, defs, "bn_fwd_infer", &k));
    const clg_tensor *g = gamma ? gamma : inp, *b = beta ? beta : inp; /* as above */
    cl_uint total = (cl_uint)clg_tensor_numel(inp), c = (cl_uint)C;
    cl_uint p = (cl_uint)(inp->h * inp->w), flags = gamma ? BN_AFFINE : 0;
    cl_float e = eps;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_TENSOR_ARGS(inp),
                         CLG_TENSOR_ARGS(running_mean), CLG_TENSOR_ARGS(running_var),
                         CLG_TENSOR_ARGS(g), CLG_TENSOR_ARGS(b), CLG_ARG(total), CLG_ARG(c),
                         CLG_ARG(p), CLG_ARG(e), CLG_ARG(flags)));
    return clg_launch_flat(ctx, k, total, NULL);
}

clg_status clg_batchnorm_forward_inference(clg_ctx *ctx, const clg_tensor *out,
                                           const clg_tensor *inp, const clg_tensor *gamma,
                                           const clg_tensor *beta,
                                           const clg_tensor *running_mean,
                                           const clg_tensor *running_var, float eps) {
    return clg_batchnorm_act_forward_inference(ctx, out, inp, gamma, beta, running_mean,
                                               running_var, eps, no_act);
}

/* Whether a and b share storage. */
static int overlap(const clg_tensor *a, const clg_tensor *b) {
    size_t a1 = a->off + clg_tensor_numel(a) * sizeof(float);
    size_t b1 = b->off + clg_tensor_numel(b) * sizeof(float);
    return a->buf == b->buf && a->off < b1 && b->off < a1;
}

/* The backward; with a fused activation `out` is the forward's output. */
static clg_status backward_act(clg_ctx *ctx, const clg_tensor *dinp, const clg_tensor *dgamma,
                               const clg_tensor *dbeta, const clg_tensor *dout,
                               const clg_tensor *out, const clg_tensor *inp,
                               const clg_tensor *mean, const clg_tensor *rstd,
                               const clg_tensor *gamma, const clg_tensor *dmean_x,
                               const clg_tensor *dvar_x, clg_fused_act act) {
    const char *op = "batchnorm_backward";
    const int C = inp->c;
    char buf[ACT_DEFS_MAX];
    const char *defs;
    CLG_TRY(act_defines(op, act, buf, sizeof buf, &defs));
    CLG_TRY(clg_bn_check_same(op, "dinp", dinp, inp));
    if (dout) CLG_TRY(clg_bn_check_same(op, "dout", dout, inp));
    if (defs) {
        if (!out) return clg_fail(CLG_ERR_INVALID_ARG, "%s: a fused activation needs out", op);
        CLG_TRY(clg_bn_check_same(op, "out", out, inp));
        if (overlap(out, dinp))
            return clg_fail(CLG_ERR_INVALID_ARG, "%s: dinp must not overlap out", op);
    }
    CLG_TRY(clg_bn_check_vec(op, "mean", mean, C));
    CLG_TRY(clg_bn_check_vec(op, "rstd", rstd, C));
    if (gamma) {
        CLG_TRY(clg_bn_check_vec(op, "gamma", gamma, C));
        /* Both absent: the caller wants no parameter gradient (without dout
         * nothing reaches them anyway); one alone is a mistake. */
        if ((dgamma == NULL) != (dbeta == NULL))
            return clg_fail(CLG_ERR_INVALID_ARG, "%s: give dgamma and dbeta together", op);
        if (dgamma) CLG_TRY(clg_bn_check_vec(op, "dgamma", dgamma, C));
        if (dbeta) CLG_TRY(clg_bn_check_vec(op, "dbeta", dbeta, C));
    } else if (dgamma || dbeta) {
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: dgamma/dbeta given without gamma", op);
    }
    if ((dmean_x == NULL) != (dvar_x == NULL))
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: give dmean_x and dvar_x together", op);
    if (dmean_x) {
        CLG_TRY(clg_bn_check_vec(op, "dmean_x", dmean_x, C));
        CLG_TRY(clg_bn_check_vec(op, "dvar_x", dvar_x, C));
    }
    cl_uint flags = (gamma ? BN_AFFINE : 0) | (dout ? BN_HAS_DOUT : 0) | (dmean_x ? BN_DSTATS : 0) |
                    (gamma && !dgamma ? BN_NO_PGRAD : 0);
    /* Absent tensors pass a present one, never touched (flag off). */
    const clg_tensor *dy = dout ? dout : inp;
    const bwd_args a = {dinp, dgamma ? dgamma : mean, dbeta ? dbeta : mean, dy,
                        defs ? out : dy, inp, mean, rstd, gamma ? gamma : mean,
                        dmean_x ? dmean_x : mean, dvar_x ? dvar_x : mean, flags, defs};
    return bn_split(ctx, inp) ? split_backward(ctx, &a) : channel_backward(ctx, &a);
}

clg_status clg_bn_backward_stats(clg_ctx *ctx, const clg_tensor *dinp, const clg_tensor *dgamma,
                                 const clg_tensor *dbeta, const clg_tensor *dout,
                                 const clg_tensor *inp, const clg_tensor *mean,
                                 const clg_tensor *rstd, const clg_tensor *gamma,
                                 const clg_tensor *dmean_x, const clg_tensor *dvar_x) {
    return backward_act(ctx, dinp, dgamma, dbeta, dout, NULL, inp, mean, rstd, gamma, dmean_x,
                        dvar_x, no_act);
}

clg_status clg_batchnorm_act_backward(clg_ctx *ctx, const clg_tensor *dinp,
                                      const clg_tensor *dgamma, const clg_tensor *dbeta,
                                      const clg_tensor *dout, const clg_tensor *out,
                                      const clg_tensor *inp, const clg_tensor *mean,
                                      const clg_tensor *rstd, const clg_tensor *gamma,
                                      clg_fused_act act) {
    if (!dout) return clg_fail(CLG_ERR_INVALID_ARG, "batchnorm_backward: dout is NULL");
    return backward_act(ctx, dinp, dgamma, dbeta, dout, out, inp, mean, rstd, gamma, NULL, NULL,
                        act);
}

clg_status clg_batchnorm_backward(clg_ctx *ctx, const clg_tensor *dinp, const clg_tensor *dgamma,
                                  const clg_tensor *dbeta, const clg_tensor *dout,
                                  const clg_tensor *inp, const clg_tensor *mean,
                                  const clg_tensor *rstd, const clg_tensor *gamma) {
    if (!dout) return clg_fail(CLG_ERR_INVALID_ARG, "batchnorm_backward: dout is NULL");
    return clg_bn_backward_stats(ctx, dinp, dgamma, dbeta, dout, inp, mean, rstd, gamma, NULL,
                                 NULL);
}
