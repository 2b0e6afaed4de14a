/* conv.c: host wrappers for kernels/conv.cl: shape checks, the choice of
 * variant, split-K scratch, launches. Transposed convolution maps onto the
 * same three GEMMs (see conv.h). */
#include "conv.h"
#include "conv_tune.h"
#include "elementwise.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define FAMILY "conv"

#define CONV_FLAG_BIAS 1u
#define CONV_FLAG_ACCUMULATE 2u
#define CONV_FLAG_RELU 4u
#define CONV_FLAG_LEAKY 8u

/* The kernels' epilogue activation: its flag (or 0) and leaky ReLU's slope. */
typedef struct {
    cl_uint flags;
    float slope;
} conv_epi;

/* Scratch for split-K partial sums is kept below this. */
#define CONV_SPLIT_MAX_BYTES ((size_t)128 << 20)
#define CONV_SPLIT_MAX 64

/* ---- variants ---------------------------------------------------------- */

/* Direct variants carry the tile sizes of a tiled one so that both share a
 * program (one build per tile set); mvec variants build in the 64x64x16
 * tile set's program (algo_defines). Defaults index this table. */
static const clg_conv_algo algos[] = {
    {CLG_CONV_TILED, 64, 64, 16, 8, 8, 0, 0, 0, 0},  /* 8x8 block, float8 */
    {CLG_CONV_TILED, 32, 64, 16, 4, 8, 0, 0, 0, 0},  /* fewer rows: few channels */
    {CLG_CONV_TILED, 64, 64, 16, 4, 4, 0, 0, 0, 0},  /* 256 work-items */
    {CLG_CONV_TILED, 32, 32, 8, 4, 4, 0, 0, 0, 0},   /* GPU default (won most H200 shapes) */
    {CLG_CONV_DIRECT, 64, 64, 16, 8, 8, 8, 8, 0, 0}, /* no local memory */
    {CLG_CONV_DIRECT, 64, 64, 16, 4, 4, 16, 4, 0, 0},
    {CLG_CONV_MVEC, 0, 0, 0, 2, 8, 8, 1, 0, 6},      /* CPU default, AVX2: 12 float8 sums */
    {CLG_CONV_MVEC, 0, 0, 0, 2, 16, 8, 1, 0, 8},     /* CPU default, AVX-512: 16 float16 */
    {CLG_CONV_MVEC, 0, 0, 0, 1, 16, 8, 1, 0, 12},
    {CLG_CONV_MVEC, 0, 0, 0, 4, 16, 8, 1, 0, 6},
    {CLG_CONV_MVEC, 0, 0, 0, 4, 8, 8, 1, 0, 3},
    {CLG_CONV_MVEC, 0, 0, 0, 2, 4, 8, 1, 0, 6},      /* CPU default, 4-wide SIMD */
    {CLG_CONV_DIRECT, 64, 64, 16, 4, 16, 16, 1, 0, 0}, /* few rows, wide columns (CPU) */
};
#define NALGOS (int)(sizeof algos / sizeof algos[0])

int clg_conv_algo_count(void) { return NALGOS; }
const clg_conv_algo *clg_conv_algo_at(int i) { return i >= 0 && i < NALGOS ? &algos[i] : NULL; }

void clg_conv_algo_default(const clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                           clg_conv_algo *out) {
    /* GPUs: from `clgan tune` on an H200. Few GEMM rows (D's last layer,
     * the image side of D's first and G's last) waste most of a 32- or
     * 64-row tile: backward-data there goes direct with 4-row blocks. CPUs:
     * from `clgan tune` on PoCL on a 2-core EPYC (Zen 4, AVX-512), where
     * mvec ran 2 to 7 times as fast as the tiled kernel; the 4 x 16-row
     * block won on 64 rows and more, 2 x 16 below. */
    int rows = dir == CLG_CONV_BWD_DATA ? d->C : d->K;
    int gpu = (ctx->dev.type & CL_DEVICE_TYPE_GPU) != 0;
    if (gpu) {
        *out = rows < 16 && dir == CLG_CONV_BWD_DATA ? algos[NALGOS - 1] : algos[3];
        return;
    }
    /* CPUs: vectors along the rows (output channels, say) at the device's
     * SIMD width (8 on AVX2, 16 on AVX-512) once a vector fills; fewer rows
     * vectorise along the columns instead, at that width too. */
    int vw = ctx->dev.float_vw ? (int)ctx->dev.float_vw : 8;
    *out = vw >= 16 ? algos[rows >= 64 ? 9 : 7] : vw >= 8 ? algos[6] : algos[11];
    if (rows < vw) {
        *out = algos[NALGOS - 1];
        out->vw = vw;
        if (rows < 3) out->wm = rows; /* a lone image channel: no idle rows */
    } else if (dir == CLG_CONV_BWD_WEIGHT && (long)d->N * d->P * d->Q <= 64) {
        /* A short reduction (G's 1x1 input at batch 64): mvec's scattered
         * stores of dweight would outweigh its few steps; the 8x8 tile
         * stores rows. Measured on PoCL (2-core EPYC, 2026-11-28): 64 steps
         * (DCGAN's G1) 1.2 to 1.6x faster tiled; 100 (train ssl's dense
         * layers at batch 100) 1.4 to 3x faster with mvec. */
        *out = algos[0];
        if (out->vw > vw) out->vw = vw;
    }
}

clg_status clg_conv_algo_select(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                                clg_conv_algo *out) {
    int found = 0;
    if (clg_conv_tune_lookup(ctx, dir, d, out, &found) == CLG_OK && found &&
        clg_conv_algo_check(ctx, out) == CLG_OK)
        return CLG_OK;
    clg_clear_error(); /* an unreadable tune file only costs the tuned choice */
    clg_conv_algo_default(ctx, dir, d, out);
    clg_conv_algo quick; /* the quick tune's replacement for this default */
    if (clg_conv_tune_default_lookup(ctx, dir, out, &quick, &found) == CLG_OK && found &&
        clg_conv_algo_check(ctx, &quick) == CLG_OK) {
        *out = quick;
        return CLG_OK;
    }
    clg_clear_error();
    if (clg_conv_algo_check(ctx, out) != CLG_OK) {
        /* The variant with the smallest work-groups (16 work-items). */
        *out = algos[NALGOS - 1];
        clg_clear_error();
    }
    return CLG_OK;
}

static void algo_defines(const clg_conv_algo *a, char *buf, size_t cap) {
    if (a->kind == CLG_CONV_MVEC) /* in a program of the 64x64x16:4xVW tile set */
        snprintf(buf, cap, "TM=64 TN=64 TK=16 WM=4 VW=%d MV_MB=%d MV_NB=%d", a->vw, a->wm, a->nb);
    else
        snprintf(buf, cap, "TM=%d TN=%d TK=%d WM=%d VW=%d", a->tm, a->tn, a->tk, a->wm, a->vw);
}

static clg_status algo_kernel(clg_ctx *ctx, const clg_conv_algo *a, const char *name,
                              cl_kernel *k) {
    char defs[96];
    algo_defines(a, defs, sizeof defs);
    return clg_kernel_get(ctx, FAMILY, defs, name, k);
}

static size_t kernel_limit(clg_ctx *ctx, cl_kernel k) {
    size_t lim = 0;
    if (clGetKernelWorkGroupInfo(k, ctx->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof lim, &lim,
                                 NULL) != CL_SUCCESS)
        lim = 1;
    return lim < ctx->dev.max_wg ? lim : ctx->dev.max_wg;
}

clg_status clg_conv_algo_check(clg_ctx *ctx, const clg_conv_algo *a) {
    char name[64];
    clg_conv_algo_format(a, name, sizeof name);
    if (!clg_conv_algo_valid(a)) return clg_fail(CLG_ERR_INVALID_ARG, "conv: invalid variant %s", name);
    const char *kn[2] = {"conv2d_igemm_tiled", "conv2d_bwdw_tiled"};
    if (a->kind == CLG_CONV_DIRECT) {
        kn[0] = "conv2d_igemm_direct";
        kn[1] = "conv2d_bwdw_direct";
    } else if (a->kind == CLG_CONV_MVEC) {
        kn[0] = kn[1] = "conv2d_igemm_mvec";
    }
    size_t wg = a->kind == CLG_CONV_TILED ? (size_t)(a->tm / a->wm) * (size_t)(a->tn / a->vw)
                                          : (size_t)a->lx * (size_t)a->ly;
    if (a->kind == CLG_CONV_TILED &&
        (size_t)(a->tm + a->tn) * (size_t)a->tk * sizeof(float) > ctx->dev.local_mem)
        return clg_fail(CLG_ERR_UNSUPPORTED, "conv: %s needs more local memory than %s has",
                        name, ctx->dev.name);
    for (int i = 0; i < 2; i++) {
        cl_kernel k;
        CLG_TRY(algo_kernel(ctx, a, kn[i], &k));
        size_t lim = kernel_limit(ctx, k);
        if (wg > lim)
            return clg_fail(CLG_ERR_UNSUPPORTED,
                            "conv: %s needs work-groups of %zu, %s allows %zu for %s", name, wg,
                            ctx->dev.name, lim, kn[i]);
    }
    return CLG_OK;
}

/* ---- checks ------------------------------------------------------------- */

static clg_status check_shape(const char *op, const char *what, const clg_tensor *t, int n,
                              int c, int h, int w) {
    if (!t || !t->buf) return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s is missing", op, what);
    if (t->n != n || t->c != c || t->h != h || t->w != w)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: %s is (%d, %d, %d, %d), expected (%d, %d, %d, %d)", op, what,
                        t->n, t->c, t->h, t->w, n, c, h, w);
    return CLG_OK;
}

static clg_status check_vec(const char *op, const char *what, const clg_tensor *t, int n) {
    if (!t) return CLG_OK;
    if (!t->buf || clg_tensor_numel(t) != (size_t)n)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: %s has %zu elements, expected %d", op, what,
                        t->buf ? clg_tensor_numel(t) : 0, n);
    return CLG_OK;
}

static clg_status check_desc(const char *op, const clg_conv_desc *d) {
    clg_conv_desc v;
    if (!d) return clg_fail(CLG_ERR_INVALID_ARG, "%s: no descriptor", op);
    clg_status s = clg_conv_desc_init(&v, d->N, d->C, d->H, d->W, d->K, d->R, d->S, d->stride,
                                      d->pad);
    if (s != CLG_OK) {
        clg_error_context("in %s", op);
        return s;
    }
    if (v.P != d->P || v.Q != d->Q)
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: descriptor output %dx%d should be %dx%d", op,
                        d->P, d->Q, v.P, v.Q);
    return CLG_OK;
}

/* ---- launches ----------------------------------------------------------- */

static int cdiv(long a, long b) { return (int)((a + b - 1) / b); }

/* How many ways to split the reduction: enough work-groups to fill the
 * device, each split still at least 8 reduction steps, scratch bounded. */
static int choose_split(const clg_ctx *ctx, const clg_conv_algo *a, long groups, long kd,
                        size_t numel) {
    int step = a->kind == CLG_CONV_TILED ? a->tk : 8;
    long nsplit;
    if (a->split > 0) {
        nsplit = a->split;
    } else {
        long target = 4L * (long)(ctx->dev.compute_units ? ctx->dev.compute_units : 1);
        if (target < 8) target = 8;
        if (groups >= target) return 1;
        nsplit = (target + groups - 1) / groups;
        long by_k = kd / (8L * step);
        if (nsplit > by_k) nsplit = by_k;
    }
    if (nsplit > CONV_SPLIT_MAX) nsplit = CONV_SPLIT_MAX;
    while (nsplit > 1 && ((size_t)nsplit * numel * sizeof(float) > CONV_SPLIT_MAX_BYTES ||
                          (double)nsplit * (double)numel >= (double)INT_MAX))
        nsplit--;
    return nsplit < 1 ? 1 : (int)nsplit;
}

/* Add up split partials into out (see conv_split_reduce). */
static clg_status split_reduce(clg_ctx *ctx, const clg_conv_algo *a, const clg_tensor *out,
                               cl_mem part, cl_uint numel, cl_uint nsplit, const clg_tensor *bias,
                               cl_uint plane, cl_uint nchan, cl_uint flags, float slope) {
    cl_kernel k;
    CLG_TRY(algo_kernel(ctx, a, "conv_split_reduce", &k));
    /* Without a bias the kernel never reads its argument: out stands in. */
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(out), CLG_ARG(part),
                         CLG_ARG_OFF(0, (size_t)numel * nsplit), CLG_TENSOR_ARGS(bias ? bias : out),
                         CLG_ARG(numel), CLG_ARG(nsplit), CLG_ARG(plane), CLG_ARG(nchan),
                         CLG_ARG(flags), CLG_ARG(slope)));
    return clg_launch_flat(ctx, k, numel, NULL);
}

/* Backward-data by output position (kernel mode 2) pays when dout is smaller
 * than the grid of taps that reach one output, where the phase GEMM would
 * mostly multiply zeros (DCGAN G's first layer: 1x1 -> 4x4). */
static int by_position(const clg_conv_desc *d) {
    return (d->P < cdiv(d->R, d->stride) || d->Q < cdiv(d->S, d->stride)) &&
           (long)d->H * d->W <= 4096;
}

/* Work-groups of one phase and split of an M x ncols GEMM. */
static long plan_groups(const clg_conv_algo *a, int M, long ncols) {
    long items;
    if (a->kind == CLG_CONV_TILED) return (long)cdiv(ncols, a->tn) * cdiv(M, a->tm);
    if (a->kind == CLG_CONV_MVEC) items = (long)cdiv(ncols, a->nb) * cdiv(M, a->wm * a->vw);
    else items = (long)cdiv(ncols, a->vw) * cdiv(M, a->wm);
    return (items + (long)a->lx * a->ly - 1) / ((long)a->lx * a->ly);
}

/* The shape of one implicit GEMM launch: rows, columns, phases, the
 * reduction length and how it is split. */
typedef struct {
    int mode, M, nphase, nsplit, split_len;
    long ncols, kd;
} igemm_plan;

static igemm_plan plan_igemm(const clg_ctx *ctx, const clg_conv_algo *a, int mode,
                             const clg_conv_desc *d, size_t numel) {
    igemm_plan p;
    const int st = d->stride;
    if (mode == 1 && by_position(d)) mode = 2;
    p.mode = mode;
    p.M = mode ? d->C : d->K;
    p.nphase = mode == 2 ? d->H * d->W : mode ? st * st : 1;
    p.ncols = mode == 2 ? (long)d->N
            : mode ? (long)d->N * cdiv(d->H, st) * cdiv(d->W, st)
                   : (long)d->N * d->P * d->Q;
    p.kd = mode ? (long)d->K * cdiv(d->R, st) * cdiv(d->S, st) : (long)d->C * d->R * d->S;
    int nsplit = choose_split(ctx, a, plan_groups(a, p.M, p.ncols) * p.nphase, p.kd, numel);
    int step = a->kind == CLG_CONV_TILED ? a->tk : 1;
    p.split_len = cdiv(cdiv(p.kd, nsplit), step) * step;
    if (p.split_len < 1) p.split_len = 1;
    p.nsplit = cdiv(p.kd, p.split_len);
    if (p.nsplit < 1) p.nsplit = 1;
    return p;
}

/* Rows of the packed A of conv2d_igemm_mvec: whole blocks of wm vectors. */
static size_t mvec_rows(const clg_conv_algo *a, int M) {
    return (size_t)cdiv(M, a->wm * a->vw) * (size_t)(a->wm * a->vw);
}

/* Elements of mvec's packed A for plan p (A: the weights, or dout in mode 3). */
static size_t mvec_packed(const clg_conv_algo *a, const igemm_plan *p, const clg_conv_desc *d) {
    size_t rest = p->mode == 3 ? (size_t)d->N * d->P * d->Q
                : (size_t)(p->mode ? d->K : d->C) * d->R * d->S;
    return rest * mvec_rows(a, p->M);
}

/* The zero-padded copy of mvec's source (B): its planes and sides, and the
 * zeros before (lo) and after (hi) each row and column that keep every tap
 * in range. Mode 2 (a 1x1 dout) reads its source unpadded: returns 0. */
typedef struct {
    size_t planes;
    int H, W, lo, hi;
} mvec_src;

static int mvec_padding(const igemm_plan *p, const clg_conv_desc *d, mvec_src *s) {
    const int st = d->stride;
    if (p->mode == 2) return 0;
    if (p->mode == 1) { /* B = dout: taps r = r0 + st j read dout rows down to -(ceil(R/st) - 1) */
        s->planes = (size_t)d->N * d->K, s->H = d->P, s->W = d->Q;
        s->lo = (d->R > d->S ? cdiv(d->R, st) : cdiv(d->S, st)) - 1;
        int top = (st - 1 + d->pad) / st, hy = top + cdiv(d->H, st) - d->P;
        int hx = top + cdiv(d->W, st) - d->Q;
        s->hi = hy > hx ? hy : hx;
        if (s->hi < 0) s->hi = 0;
    } else { /* modes 0 and 3: B = the input, the convolution's own padding */
        s->planes = (size_t)d->N * d->C, s->H = d->H, s->W = d->W;
        s->lo = s->hi = d->pad;
    }
    return 1;
}

static size_t mvec_padded(const mvec_src *s) {
    return s->planes * (size_t)(s->H + s->lo + s->hi) * (size_t)(s->W + s->lo + s->hi);
}

/* conv_pad_planes: src with s's zeros around each plane, into dst at dst_off. */
static clg_status pad_planes(clg_ctx *ctx, const clg_conv_algo *a, cl_mem dst, size_t dst_off,
                             const clg_tensor *src, const mvec_src *s) {
    cl_kernel k;
    CLG_TRY(algo_kernel(ctx, a, "conv_pad_planes", &k));
    cl_uint planes = (cl_uint)s->planes, H = (cl_uint)s->H, W = (cl_uint)s->W,
            lo = (cl_uint)s->lo, hi = (cl_uint)s->hi;
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(dst), CLG_ARG_OFF(dst_off, mvec_padded(s)),
                         CLG_TENSOR_ARGS(src), CLG_ARG(planes), CLG_ARG(H), CLG_ARG(W),
                         CLG_ARG(lo), CLG_ARG(hi)));
    return clg_launch_flat(ctx, k, s->planes * (size_t)(s->H + s->lo + s->hi), NULL);
}

/* Scratch elements of one mvec launch: split partials, packed A, padded B. */
static size_t mvec_scratch(const clg_conv_algo *a, const igemm_plan *p, const clg_conv_desc *d,
                           size_t numel) {
    mvec_src s;
    size_t n = (p->nsplit > 1 ? (size_t)p->nsplit * numel : 0) + mvec_packed(a, p, d);
    return mvec_padding(p, d, &s) && (s.lo || s.hi) ? n + mvec_padded(&s) : n;
}

/* conv_pack_rows: A (D0, D1, D2, D3) with dimension `dim` last, rows padded to Mp. */
static clg_status pack_rows(clg_ctx *ctx, const clg_conv_algo *a, cl_mem dst, size_t dst_off,
                            const clg_tensor *src, int dim, size_t Mp) {
    cl_kernel k;
    CLG_TRY(algo_kernel(ctx, a, "conv_pack_rows", &k));
    cl_uint D0 = (cl_uint)src->n, D1 = (cl_uint)src->c, D2 = (cl_uint)src->h,
            D3 = (cl_uint)src->w, udim = (cl_uint)dim, uMp = (cl_uint)Mp;
    size_t rows = (size_t)(dim ? D0 : D1) * D2 * D3;
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(dst), CLG_ARG_OFF(dst_off, rows * Mp), CLG_TENSOR_ARGS(src),
                         CLG_ARG(D0), CLG_ARG(D1), CLG_ARG(D2), CLG_ARG(D3), CLG_ARG(udim),
                         CLG_ARG(uMp)));
    return clg_launch_flat(ctx, k, rows, NULL);
}

/* out = A x B by conv2d_igemm_mvec: A (wt, or dout in mode 3) packed with
 * its rows last into the scratch after the split partials, then one launch. */
static clg_status igemm_mvec(clg_ctx *ctx, const clg_conv_algo *a, const igemm_plan *pl,
                             const clg_tensor *out, const clg_tensor *src, const clg_tensor *wt,
                             const clg_tensor *bias, cl_uint flags, float slope,
                             const clg_conv_desc *d) {
    const size_t numel = clg_tensor_numel(out), Mp = mvec_rows(a, pl->M);
    const size_t part = pl->nsplit > 1 ? (size_t)pl->nsplit * numel : 0;
    const size_t packed = mvec_packed(a, pl, d);
    cl_mem sc;
    CLG_TRY(clg_scratch(ctx, mvec_scratch(a, pl, d, numel) * sizeof(float), &sc));
    CLG_TRY(pack_rows(ctx, a, sc, part, wt, pl->mode == 0 ? 0 : 1, Mp));
    mvec_src ps;
    clg_tensor b = *src;
    cl_uint spad_lo = 0, spad_hi = 0xffffffffu;
    if (mvec_padding(pl, d, &ps)) {
        spad_lo = (cl_uint)ps.lo, spad_hi = (cl_uint)ps.hi;
        if (ps.lo || ps.hi) { /* else every tap lands inside: src as it is */
            CLG_TRY(pad_planes(ctx, a, sc, part + packed, src, &ps));
            b = clg_tensor_view(sc, (part + packed) * sizeof(float), 1, 1, 1,
                                (int)mvec_padded(&ps));
        }
    }
    cl_kernel k;
    CLG_TRY(algo_kernel(ctx, a, "conv2d_igemm_mvec", &k));
    clg_tensor dst = *out;
    if (pl->nsplit > 1) dst = clg_tensor_view(sc, 0, pl->nsplit, 1, 1, (int)numel);
    cl_uint uf = pl->nsplit > 1 ? 0 : flags;
    cl_uint v[11] = {(cl_uint)d->N, (cl_uint)d->C, (cl_uint)d->H, (cl_uint)d->W,
                     (cl_uint)d->K, (cl_uint)d->R, (cl_uint)d->S, (cl_uint)d->stride,
                     (cl_uint)d->pad, (cl_uint)d->P, (cl_uint)d->Q};
    cl_uint umode = (cl_uint)pl->mode, slen = (cl_uint)pl->split_len, unumel = (cl_uint)numel,
            uMp = (cl_uint)Mp;
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(&dst), CLG_TENSOR_ARGS(&b), CLG_ARG(sc),
                         CLG_ARG_OFF(part, packed), CLG_TENSOR_ARGS(bias ? bias : wt),
                         CLG_ARG(v[0]),
                         CLG_ARG(v[1]), CLG_ARG(v[2]), CLG_ARG(v[3]), CLG_ARG(v[4]),
                         CLG_ARG(v[5]), CLG_ARG(v[6]), CLG_ARG(v[7]), CLG_ARG(v[8]),
                         CLG_ARG(v[9]), CLG_ARG(v[10]), CLG_ARG(umode), CLG_ARG(uf),
                         CLG_ARG(slen), CLG_ARG(unumel), CLG_ARG(uMp), CLG_ARG(spad_lo),
                         CLG_ARG(spad_hi), CLG_ARG(slope)));
    size_t gx = (size_t)cdiv(pl->ncols, a->nb), gy = Mp / (size_t)(a->wm * a->vw);
    gx = (gx + (size_t)a->lx - 1) / (size_t)a->lx * (size_t)a->lx;
    gy = (gy + (size_t)a->ly - 1) / (size_t)a->ly * (size_t)a->ly;
    CLG_TRY(clg_launch_2d(ctx, k, gx, gy * (size_t)(pl->nphase * pl->nsplit), (size_t)a->lx,
                          (size_t)a->ly, NULL));
    if (pl->nsplit < 2) return CLG_OK;
    const int m1 = pl->mode == 1 || pl->mode == 2;
    return split_reduce(ctx, a, out, sc, (cl_uint)numel, (cl_uint)pl->nsplit, bias,
                        pl->mode == 3 ? 1 : (cl_uint)(m1 ? d->H * d->W : d->P * d->Q),
                        pl->mode == 3 ? 1 : (cl_uint)pl->M, flags, slope);
}

/* out = act(A x B + bias) as conv2d_igemm (mode 0 forward, 1 or 2 backward-data). */
static clg_status igemm(clg_ctx *ctx, const clg_conv_algo *a, int mode, const clg_tensor *out,
                        const clg_tensor *src, const clg_tensor *wt, const clg_tensor *bias,
                        conv_epi epi, const clg_conv_desc *d) {
    const size_t numel = clg_tensor_numel(out);
    const igemm_plan pl = plan_igemm(ctx, a, mode, d, numel);
    const cl_uint out_flags = (bias ? CONV_FLAG_BIAS : 0) | epi.flags;
    if (a->kind == CLG_CONV_MVEC)
        return igemm_mvec(ctx, a, &pl, out, src, wt, bias, out_flags, epi.slope, d);
    mode = pl.mode;
    const int M = pl.M, nphase = pl.nphase, nsplit = pl.nsplit, split_len = pl.split_len;
    const long ncols = pl.ncols;

    clg_status rc = CLG_OK;
    cl_mem sc = NULL;
    cl_kernel k;
    CLG_TRY(algo_kernel(ctx, a,
                        a->kind == CLG_CONV_TILED ? "conv2d_igemm_tiled" : "conv2d_igemm_direct",
                        &k));
    clg_tensor dst = *out;
    cl_uint flags = out_flags;
    if (nsplit > 1) {
        CLG_TRY(clg_scratch(ctx, (size_t)nsplit * numel * sizeof(float), &sc));
        dst = clg_tensor_view(sc, 0, nsplit, 1, 1, (int)numel);
        flags = 0;
    }
    cl_uint N = (cl_uint)d->N, C = (cl_uint)d->C, H = (cl_uint)d->H, W = (cl_uint)d->W;
    cl_uint K = (cl_uint)d->K, R = (cl_uint)d->R, S = (cl_uint)d->S;
    cl_uint ust = (cl_uint)d->stride, upad = (cl_uint)d->pad, P = (cl_uint)d->P,
            Q = (cl_uint)d->Q;
    cl_uint umode = (cl_uint)mode, slen = (cl_uint)split_len, unumel = (cl_uint)numel;
    /* Without a bias (flag off) the kernel never reads it: wt stands in. */
    CLG_TRY_GOTO(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(&dst), CLG_TENSOR_ARGS(src), CLG_TENSOR_ARGS(wt),
                              CLG_TENSOR_ARGS(bias ? bias : wt), CLG_ARG(N), CLG_ARG(C),
                              CLG_ARG(H), CLG_ARG(W), CLG_ARG(K), CLG_ARG(R), CLG_ARG(S),
                              CLG_ARG(ust), CLG_ARG(upad), CLG_ARG(P), CLG_ARG(Q),
                              CLG_ARG(umode), CLG_ARG(flags), CLG_ARG(slen), CLG_ARG(unumel),
                              CLG_ARG(epi.slope)),
                 done);
    if (a->kind == CLG_CONV_TILED) {
        size_t lx = (size_t)(a->tn / a->vw), ly = (size_t)(a->tm / a->wm);
        CLG_TRY_GOTO(clg_launch_2d(ctx, k, (size_t)cdiv(ncols, a->tn) * lx,
                                   (size_t)cdiv(M, a->tm) * ly * (size_t)(nphase * nsplit), lx,
                                   ly, NULL),
                     done);
    } else {
        size_t rb = (size_t)cdiv(cdiv(M, a->wm), a->ly) * (size_t)a->ly;
        CLG_TRY_GOTO(clg_launch_2d(ctx, k, (size_t)cdiv(ncols, a->vw),
                                   rb * (size_t)(nphase * nsplit), (size_t)a->lx, (size_t)a->ly,
                                   NULL),
                     done);
    }
    if (nsplit > 1)
        CLG_TRY_GOTO(split_reduce(ctx, a, out, sc, (cl_uint)numel, (cl_uint)nsplit, bias,
                                  (cl_uint)(mode ? d->H * d->W : d->P * d->Q), (cl_uint)M,
                                  out_flags, epi.slope),
                     done);
done:
    return rc;
}

/* dweight += dout x im2col(inp)^T (conv2d_bwdw). */
static igemm_plan plan_bwdw(const clg_ctx *ctx, const clg_conv_algo *a, const clg_conv_desc *d,
                            size_t numel) {
    igemm_plan p = {a->kind == CLG_CONV_MVEC ? 3 : 0, d->K, 1, 1, 1, (long)d->C * d->R * d->S,
                    (long)d->N * d->P * d->Q};
    int nsplit = choose_split(ctx, a, plan_groups(a, p.M, p.ncols), p.kd, numel);
    int step = a->kind == CLG_CONV_TILED ? a->tk : 1;
    p.split_len = cdiv(cdiv(p.kd, nsplit), step) * step;
    p.nsplit = cdiv(p.kd, p.split_len);
    return p;
}

static clg_status bwdw(clg_ctx *ctx, const clg_conv_algo *a, const clg_tensor *dw,
                       const clg_tensor *dout, const clg_tensor *inp, const clg_conv_desc *d) {
    const size_t numel = clg_tensor_numel(dw);
    const igemm_plan pl = plan_bwdw(ctx, a, d, numel);
    if (a->kind == CLG_CONV_MVEC)
        return igemm_mvec(ctx, a, &pl, dw, inp, dout, NULL, CONV_FLAG_ACCUMULATE, 0.0f, d);
    const int M = pl.M, nsplit = pl.nsplit, split_len = pl.split_len;
    const long ncols = pl.ncols;

    clg_status rc = CLG_OK;
    cl_mem sc = NULL;
    cl_kernel k;
    CLG_TRY(algo_kernel(ctx, a,
                        a->kind == CLG_CONV_TILED ? "conv2d_bwdw_tiled" : "conv2d_bwdw_direct",
                        &k));
    clg_tensor dst = *dw;
    cl_uint flags = CONV_FLAG_ACCUMULATE;
    if (nsplit > 1) {
        CLG_TRY(clg_scratch(ctx, (size_t)nsplit * numel * sizeof(float), &sc));
        dst = clg_tensor_view(sc, 0, nsplit, 1, 1, (int)numel);
        flags = 0;
    }
    cl_uint N = (cl_uint)d->N, C = (cl_uint)d->C, H = (cl_uint)d->H, W = (cl_uint)d->W;
    cl_uint K = (cl_uint)d->K, R = (cl_uint)d->R, S = (cl_uint)d->S;
    cl_uint ust = (cl_uint)d->stride, upad = (cl_uint)d->pad, P = (cl_uint)d->P,
            Q = (cl_uint)d->Q;
    cl_uint slen = (cl_uint)split_len, unumel = (cl_uint)numel;
    CLG_TRY_GOTO(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(&dst), CLG_TENSOR_ARGS(dout),
                              CLG_TENSOR_ARGS(inp), CLG_ARG(N), CLG_ARG(C), CLG_ARG(H),
                              CLG_ARG(W), CLG_ARG(K), CLG_ARG(R), CLG_ARG(S), CLG_ARG(ust),
                              CLG_ARG(upad), CLG_ARG(P), CLG_ARG(Q), CLG_ARG(flags),
                              CLG_ARG(slen), CLG_ARG(unumel)),
                 done);
    if (a->kind == CLG_CONV_TILED) {
        size_t lx = (size_t)(a->tn / a->vw), ly = (size_t)(a->tm / a->wm);
        CLG_TRY_GOTO(clg_launch_2d(ctx, k, (size_t)cdiv(ncols, a->tn) * lx,
                                   (size_t)cdiv(M, a->tm) * ly * (size_t)nsplit, lx, ly, NULL),
                     done);
    } else {
        size_t rb = (size_t)cdiv(cdiv(M, a->wm), a->ly) * (size_t)a->ly;
        CLG_TRY_GOTO(clg_launch_2d(ctx, k, (size_t)cdiv(ncols, a->vw), rb * (size_t)nsplit,
                                   (size_t)a->lx, (size_t)a->ly, NULL),
                     done);
    }
    if (nsplit > 1)
        CLG_TRY_GOTO(split_reduce(ctx, a, dw, sc, (cl_uint)numel, (cl_uint)nsplit, NULL, 1, 1,
                                  CONV_FLAG_ACCUMULATE, 0.0f),
                     done);
done:
    return rc;
}

/* Planes below which a GPU sums bias gradients one channel per work-item. */
#define BIAS_GRAD_GROUP_PLANE 32

/* dbias (C) += sum of x (N, C, plane) over n and the plane: a work-item per
 * channel on CPUs and for small planes (measured on PoCL, `train ssl`'s dense
 * layers, plane 1: 14 ms a step with a work-group per channel), else a
 * work-group per channel. */
static clg_status bias_grad(clg_ctx *ctx, const clg_conv_algo *a, const clg_tensor *dbias,
                            const clg_tensor *x, int N, int C, int plane) {
    cl_kernel k;
    cl_uint n = (cl_uint)N, c = (cl_uint)C, pl = (cl_uint)plane;
    if (!(ctx->dev.type & CL_DEVICE_TYPE_GPU) || plane < BIAS_GRAD_GROUP_PLANE) {
        CLG_TRY(algo_kernel(ctx, a, "conv_bias_grad_cols", &k));
        CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dbias), CLG_TENSOR_ARGS(x), CLG_ARG(n),
                             CLG_ARG(c), CLG_ARG(pl)));
        return clg_launch_flat(ctx, k, (size_t)C, NULL);
    }
    CLG_TRY(algo_kernel(ctx, a, "conv_bias_grad", &k));
    size_t ls = clg_local_size(ctx, k, 256);
    CLG_TRY(CLG_SET_ARGS(k, CLG_TENSOR_ARGS(dbias), CLG_TENSOR_ARGS(x), CLG_ARG(n), CLG_ARG(c),
                         CLG_ARG(pl), CLG_LOCAL(ls * sizeof(float))));
    return clg_launch_1d(ctx, k, (size_t)C * ls, ls, NULL);
}

static clg_status resolve(clg_ctx *ctx, const clg_conv_algo *a, clg_conv_dir dir,
                          const clg_conv_desc *d, clg_conv_algo *out) {
    if (!a && d->planned) { /* chosen and checked by clg_conv_reserve */
        *out = d->plan[dir];
        return CLG_OK;
    }
    if (a) {
        CLG_TRY(clg_conv_algo_check(ctx, a));
        *out = *a;
        return CLG_OK;
    }
    return clg_conv_algo_select(ctx, dir, d, out);
}

/* ---- convolution -------------------------------------------------------- */

/* The kernels' epilogue for a fused activation (NULL: none). */
static clg_status epilogue(const char *op, const clg_fused_act *act, conv_epi *out) {
    *out = (conv_epi){0, 0.0f};
    if (!act) return CLG_OK;
    CLG_TRY(clg_fused_act_check(op, *act));
    if (act->act == CLG_ACT_RELU) out->flags = CONV_FLAG_RELU;
    if (act->act == CLG_ACT_LEAKY_RELU) *out = (conv_epi){CONV_FLAG_LEAKY, act->slope};
    return CLG_OK;
}

clg_status clg_conv2d_forward_act_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                       const clg_tensor *out, const clg_tensor *inp,
                                       const clg_tensor *weight, const clg_tensor *bias,
                                       const clg_fused_act *act, const clg_conv_desc *d) {
    const char *op = "conv2d_forward";
    conv_epi epi;
    CLG_TRY(check_desc(op, d));
    CLG_TRY(check_shape(op, "out", out, d->N, d->K, d->P, d->Q));
    CLG_TRY(check_shape(op, "inp", inp, d->N, d->C, d->H, d->W));
    CLG_TRY(check_shape(op, "weight", weight, d->K, d->C, d->R, d->S));
    CLG_TRY(check_vec(op, "bias", bias, d->K));
    CLG_TRY(epilogue(op, act, &epi));
    clg_conv_algo use;
    CLG_TRY(resolve(ctx, a, CLG_CONV_FWD, d, &use));
    return igemm(ctx, &use, 0, out, inp, weight, bias, epi, d);
}

clg_status clg_conv2d_forward_algo(clg_ctx *ctx, const clg_conv_algo *a, const clg_tensor *out,
                                   const clg_tensor *inp, const clg_tensor *weight,
                                   const clg_tensor *bias, const clg_conv_desc *d) {
    return clg_conv2d_forward_act_algo(ctx, a, out, inp, weight, bias, NULL, d);
}

clg_status clg_conv2d_backward_data_act_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                             const clg_tensor *dinp, const clg_tensor *dout,
                                             const clg_tensor *weight, const clg_tensor *bias,
                                             const clg_fused_act *act, const clg_conv_desc *d) {
    const char *op = "conv2d_backward_data";
    conv_epi epi;
    CLG_TRY(check_desc(op, d));
    CLG_TRY(check_shape(op, "dinp", dinp, d->N, d->C, d->H, d->W));
    CLG_TRY(check_shape(op, "dout", dout, d->N, d->K, d->P, d->Q));
    CLG_TRY(check_shape(op, "weight", weight, d->K, d->C, d->R, d->S));
    CLG_TRY(check_vec(op, "bias", bias, d->C));
    CLG_TRY(epilogue(op, act, &epi));
    clg_conv_algo use;
    CLG_TRY(resolve(ctx, a, CLG_CONV_BWD_DATA, d, &use));
    return igemm(ctx, &use, 1, dinp, dout, weight, bias, epi, d);
}

clg_status clg_conv2d_backward_data_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                         const clg_tensor *dinp, const clg_tensor *dout,
                                         const clg_tensor *weight, const clg_tensor *bias,
                                         const clg_conv_desc *d) {
    return clg_conv2d_backward_data_act_algo(ctx, a, dinp, dout, weight, bias, NULL, d);
}

clg_status clg_conv2d_backward_weight_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                           const clg_tensor *dweight, const clg_tensor *dbias,
                                           const clg_tensor *dout, const clg_tensor *inp,
                                           const clg_conv_desc *d) {
    const char *op = "conv2d_backward_weight";
    CLG_TRY(check_desc(op, d));
    CLG_TRY(check_shape(op, "dweight", dweight, d->K, d->C, d->R, d->S));
    CLG_TRY(check_vec(op, "dbias", dbias, d->K));
    CLG_TRY(check_shape(op, "dout", dout, d->N, d->K, d->P, d->Q));
    CLG_TRY(check_shape(op, "inp", inp, d->N, d->C, d->H, d->W));
    clg_conv_algo use;
    CLG_TRY(resolve(ctx, a, CLG_CONV_BWD_WEIGHT, d, &use));
    CLG_TRY(bwdw(ctx, &use, dweight, dout, inp, d));
    if (dbias) CLG_TRY(bias_grad(ctx, &use, dbias, dout, d->N, d->K, d->P * d->Q));
    return CLG_OK;
}

clg_status clg_conv2d_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *inp,
                              const clg_tensor *weight, const clg_tensor *bias,
                              const clg_conv_desc *d) {
    return clg_conv2d_forward_act_algo(ctx, NULL, out, inp, weight, bias, NULL, d);
}

clg_status clg_conv2d_forward_act(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *inp,
                                  const clg_tensor *weight, const clg_tensor *bias,
                                  const clg_fused_act *act, const clg_conv_desc *d) {
    return clg_conv2d_forward_act_algo(ctx, NULL, out, inp, weight, bias, act, d);
}

clg_status clg_conv2d_backward_data(clg_ctx *ctx, const clg_tensor *dinp,
                                    const clg_tensor *dout, const clg_tensor *weight,
                                    const clg_conv_desc *d) {
    return clg_conv2d_backward_data_algo(ctx, NULL, dinp, dout, weight, NULL, d);
}

clg_status clg_conv2d_backward_weight(clg_ctx *ctx, const clg_tensor *dweight,
                                      const clg_tensor *dbias, const clg_tensor *dout,
                                      const clg_tensor *inp, const clg_conv_desc *d) {
    return clg_conv2d_backward_weight_algo(ctx, NULL, dweight, dbias, dout, inp, d);
}

/* ---- transposed convolution: the adjoint convolution's GEMMs ------------- */

/* Name the transposed call in a failure's message: shape complaints speak
 * of the adjoint convolution's roles (its dout is this layer's input). */
static clg_status transposed(clg_status s, const char *op) {
    if (s != CLG_OK)
        clg_error_context("in %s, checked as its adjoint convolution: dout is this "
                          "layer's inp, dinp its out",
                          op);
    return s;
}

clg_status clg_conv_transpose2d_forward_act(clg_ctx *ctx, const clg_tensor *out,
                                            const clg_tensor *inp, const clg_tensor *weight,
                                            const clg_tensor *bias, const clg_fused_act *act,
                                            const clg_conv_desc *d) {
    return transposed(
        clg_conv2d_backward_data_act_algo(ctx, NULL, out, inp, weight, bias, act, d),
        "conv_transpose2d_forward");
}

clg_status clg_conv_transpose2d_forward(clg_ctx *ctx, const clg_tensor *out,
                                        const clg_tensor *inp, const clg_tensor *weight,
                                        const clg_tensor *bias, const clg_conv_desc *d) {
    return clg_conv_transpose2d_forward_act(ctx, out, inp, weight, bias, NULL, d);
}

clg_status clg_conv_transpose2d_backward_data(clg_ctx *ctx, const clg_tensor *dinp,
                                              const clg_tensor *dout, const clg_tensor *weight,
                                              const clg_conv_desc *d) {
    return transposed(clg_conv2d_forward_algo(ctx, NULL, dinp, dout, weight, NULL, d),
                      "conv_transpose2d_backward_data");
}

clg_status clg_conv_transpose2d_backward_weight(clg_ctx *ctx, const clg_tensor *dweight,
                                                const clg_tensor *dbias, const clg_tensor *dout,
                                                const clg_tensor *inp, const clg_conv_desc *d) {
    const char *op = "conv_transpose2d_backward_weight";
    CLG_TRY(check_desc(op, d));
    CLG_TRY(check_vec(op, "dbias", dbias, d->C));
    CLG_TRY(check_shape(op, "dout", dout, d->N, d->C, d->H, d->W));
    /* The adjoint conv's output is this layer's input and vice versa. */
    CLG_TRY(transposed(clg_conv2d_backward_weight_algo(ctx, NULL, dweight, NULL, inp, dout, d),
                       op));
    if (!dbias) return CLG_OK;
    clg_conv_algo use;
    CLG_TRY(clg_conv_algo_select(ctx, CLG_CONV_BWD_WEIGHT, d, &use));
    return bias_grad(ctx, &use, dbias, dout, d->N, d->C, d->H * d->W);
}

clg_status clg_conv_reserve(clg_ctx *ctx, clg_conv_desc *d) {
    const size_t n_out = (size_t)d->N * d->K * d->P * d->Q;
    const size_t n_in = (size_t)d->N * d->C * d->H * d->W;
    const size_t n_w = (size_t)d->K * d->C * d->R * d->S;
    clg_conv_algo a[3];
    igemm_plan p[3];
    const size_t numel[3] = {n_out, n_in, n_w};
    CLG_TRY(clg_conv_algo_select(ctx, CLG_CONV_FWD, d, &a[0]));
    p[0] = plan_igemm(ctx, &a[0], 0, d, n_out);
    CLG_TRY(clg_conv_algo_select(ctx, CLG_CONV_BWD_DATA, d, &a[1]));
    p[1] = plan_igemm(ctx, &a[1], 1, d, n_in);
    CLG_TRY(clg_conv_algo_select(ctx, CLG_CONV_BWD_WEIGHT, d, &a[2]));
    p[2] = plan_bwdw(ctx, &a[2], d, n_w);
    for (int i = 0; i < 3; i++) d->plan[i] = a[i];
    d->planned = 1;
    size_t need = 0;
    for (int i = 0; i < 3; i++) {
        /* Split partials, then mvec's packed A and padded B (igemm_mvec). */
        size_t n = p[i].nsplit > 1 ? (size_t)p[i].nsplit * numel[i] : 0;
        if (a[i].kind == CLG_CONV_MVEC) n = mvec_scratch(&a[i], &p[i], d, numel[i]);
        if (n > need) need = n;
    }
    if (need == 0) return CLG_OK;
    cl_mem unused;
    return clg_scratch(ctx, need * sizeof(float), &unused);
}

/* ---- timing helpers --------------------------------------------------------- */

clg_status clg_conv_bufs_create(clg_ctx *ctx, clg_conv_bufs *b, const clg_conv_desc *d) {
    memset(b, 0, sizeof *b);
    b->d = *d;
    clg_status rc = CLG_OK;
    CLG_TRY_GOTO(clg_tensor_create(ctx, &b->x, d->N, d->C, d->H, d->W, "conv timing x"), fail);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &b->y, d->N, d->K, d->P, d->Q, "conv timing y"), fail);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &b->w, d->K, d->C, d->R, d->S, "conv timing w"), fail);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &b->dw, d->K, d->C, d->R, d->S, "conv timing dw"), fail);
    CLG_TRY_GOTO(clg_fill(ctx, &b->x, 0.5f), fail);
    CLG_TRY_GOTO(clg_fill(ctx, &b->y, 0.25f), fail);
    CLG_TRY_GOTO(clg_fill(ctx, &b->w, 0.125f), fail);
    CLG_TRY_GOTO(clg_fill(ctx, &b->dw, 0.0f), fail);
    return CLG_OK;
fail:
    clg_conv_bufs_free(ctx, b);
    return rc;
}

void clg_conv_bufs_free(clg_ctx *ctx, clg_conv_bufs *b) {
    clg_tensor_free(ctx, &b->x);
    clg_tensor_free(ctx, &b->y);
    clg_tensor_free(ctx, &b->w);
    clg_tensor_free(ctx, &b->dw);
}

clg_status clg_conv_run(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_algo *a,
                        const clg_conv_bufs *b) {
    switch (dir) {
    case CLG_CONV_FWD:
        return clg_conv2d_forward_algo(ctx, a, &b->y, &b->x, &b->w, NULL, &b->d);
    case CLG_CONV_BWD_DATA:
        return clg_conv2d_backward_data_algo(ctx, a, &b->x, &b->y, &b->w, NULL, &b->d);
    default:
        return clg_conv2d_backward_weight_algo(ctx, a, &b->dw, NULL, &b->y, &b->x, &b->d);
    }
}
