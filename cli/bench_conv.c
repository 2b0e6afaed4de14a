/* bench_conv.c: `clgan bench --filter conv`: every conv and transposed-conv
 * layer of DCGAN-64 and DCGAN-32 (batch 64, ngf = ndf = 64, nc = 3) and of
 * the demo's model, fmnist32 (DCGAN-32, ngf = ndf = 32, nc = 1), each
 * direction, clgan's kernels against CLBlast in the same run (unless
 * --no-reference: clgan alone, as scripts/compare-pytorch.py runs it):
 *   clblast_convgemm     CLBlastSconvgemm (convolution forward GEMMs only:
 *                        a conv's fwd, a transposed conv's bwd_data)
 *   clblast_im2col_gemm  per-sample CLBlast im2col + one strided-batched
 *                        SGEMM (fwd); SGEMM + per-sample col2im (bwd_data,
 *                        and a transposed conv's fwd); im2col + per-sample
 *                        SGEMM accumulating (bwd_weight). Its im2col buffer
 *                        holds the whole batch.
 * Names: conv_<net>_<layer>_<dir>. Per layer, a "_step" pair of records sums
 * fwd + bwd_data + bwd_weight for clgan and for the best CLBlast path of each
 * direction; "conv_<net>_step" sums the whole network (one training step's
 * convolution work counted as one fwd, one bwd_data and one bwd_weight per
 * layer). The shape column of step records carries the ratio. Before timing,
 * each CLBlast path's result is compared with clgan's (a mismatch fails). */
#include "bench.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *net, *name;
    int transposed, Cin, Cout, Hin, R, st, pad;
} bench_layer;

static const bench_layer layers[] = {
    {"dcgan64", "D1", 0, 3, 64, 64, 4, 2, 1},    {"dcgan64", "D2", 0, 64, 128, 32, 4, 2, 1},
    {"dcgan64", "D3", 0, 128, 256, 16, 4, 2, 1}, {"dcgan64", "D4", 0, 256, 512, 8, 4, 2, 1},
    {"dcgan64", "D5", 0, 512, 1, 4, 4, 1, 0},    {"dcgan64", "G1", 1, 100, 512, 1, 4, 1, 0},
    {"dcgan64", "G2", 1, 512, 256, 4, 4, 2, 1},  {"dcgan64", "G3", 1, 256, 128, 8, 4, 2, 1},
    {"dcgan64", "G4", 1, 128, 64, 16, 4, 2, 1},  {"dcgan64", "G5", 1, 64, 3, 32, 4, 2, 1},
    {"dcgan32", "D1", 0, 3, 64, 32, 4, 2, 1},    {"dcgan32", "D2", 0, 64, 128, 16, 4, 2, 1},
    {"dcgan32", "D3", 0, 128, 256, 8, 4, 2, 1},  {"dcgan32", "D4", 0, 256, 1, 4, 4, 1, 0},
    {"dcgan32", "G1", 1, 100, 256, 1, 4, 1, 0},  {"dcgan32", "G2", 1, 256, 128, 4, 4, 2, 1},
    {"dcgan32", "G3", 1, 128, 64, 8, 4, 2, 1},   {"dcgan32", "G4", 1, 64, 3, 16, 4, 2, 1},
    {"fmnist32", "D1", 0, 1, 32, 32, 4, 2, 1},   {"fmnist32", "D2", 0, 32, 64, 16, 4, 2, 1},
    {"fmnist32", "D3", 0, 64, 128, 8, 4, 2, 1},  {"fmnist32", "D4", 0, 128, 1, 4, 4, 1, 0},
    {"fmnist32", "G1", 1, 100, 128, 1, 4, 1, 0}, {"fmnist32", "G2", 1, 128, 64, 4, 4, 2, 1},
    {"fmnist32", "G3", 1, 64, 32, 8, 4, 2, 1},   {"fmnist32", "G4", 1, 32, 1, 16, 4, 2, 1},
};
#define NLAYERS (int)(sizeof layers / sizeof layers[0])
#define BATCH 64

/* The tensors of one layer, in the adjoint-conv roles of its descriptor:
 * x (N, C, H, W), y (N, K, P, Q), w (K, C, R, S). */
typedef struct {
    clg_conv_desc d;
    clg_tensor x, y, w, dw, col, check;
    int conv_op; /* the conv GEMM being timed: clg_conv_dir */
} conv_arg;

static clg_status clb(CLBlastStatusCode st, const char *what) {
    if (st == CLBlastSuccess) return CLG_OK;
    return clg_fail(CLG_ERR_CLBLAST, "%s in %s", clg_clblast_status_name(st), what);
}

/* ---- the timed operations ------------------------------------------------- */

static clg_status op_clgan(clg_ctx *ctx, void *p) {
    conv_arg *a = p;
    switch (a->conv_op) {
    case CLG_CONV_FWD: return clg_conv2d_forward(ctx, &a->y, &a->x, &a->w, NULL, &a->d);
    case CLG_CONV_BWD_DATA: return clg_conv2d_backward_data(ctx, &a->x, &a->y, &a->w, &a->d);
    default: return clg_conv2d_backward_weight(ctx, &a->dw, NULL, &a->y, &a->x, &a->d);
    }
}

static clg_status op_convgemm(clg_ctx *ctx, void *p) {
    conv_arg *a = p;
    const clg_conv_desc *d = &a->d;
    return clb(CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, (size_t)d->C, (size_t)d->H,
                                (size_t)d->W, (size_t)d->R, (size_t)d->S, (size_t)d->pad,
                                (size_t)d->pad, (size_t)d->stride, (size_t)d->stride, 1, 1,
                                (size_t)d->K, (size_t)d->N, a->x.buf, a->x.off / 4, a->w.buf,
                                a->w.off / 4, a->y.buf, a->y.off / 4, &ctx->queue, NULL),
               "CLBlastSconvgemm");
}

static clg_status im2col_all(clg_ctx *ctx, conv_arg *a) {
    const clg_conv_desc *d = &a->d;
    size_t crs = (size_t)d->C * d->R * d->S, pq = (size_t)d->P * d->Q;
    for (int n = 0; n < d->N; n++)
        CLG_TRY(clb(CLBlastSim2col(CLBlastKernelModeCrossCorrelation, (size_t)d->C, (size_t)d->H,
                                   (size_t)d->W, (size_t)d->R, (size_t)d->S, (size_t)d->pad,
                                   (size_t)d->pad, (size_t)d->stride, (size_t)d->stride, 1, 1,
                                   a->x.buf, a->x.off / 4 + (size_t)n * d->C * d->H * d->W,
                                   a->col.buf, (size_t)n * crs * pq, &ctx->queue, NULL),
                    "CLBlastSim2col"));
    return CLG_OK;
}

static clg_status op_im2col_gemm(clg_ctx *ctx, void *p) {
    conv_arg *a = p;
    const clg_conv_desc *d = &a->d;
    size_t crs = (size_t)d->C * d->R * d->S, pq = (size_t)d->P * d->Q, K = (size_t)d->K;
    if (a->conv_op == CLG_CONV_FWD) {
        /* y_n (K x PQ) = w (K x CRS) col_n (CRS x PQ) */
        CLG_TRY(im2col_all(ctx, a));
        return clb(CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                              CLBlastTransposeNo, K, pq, crs, 1.0f, a->w.buf,
                                              a->w.off / 4, crs, 0, a->col.buf, 0, pq, crs * pq,
                                              0.0f, a->y.buf, a->y.off / 4, pq, K * pq,
                                              (size_t)d->N, &ctx->queue, NULL),
                   "CLBlastSgemmStridedBatched");
    }
    if (a->conv_op == CLG_CONV_BWD_DATA) {
        /* col_n (CRS x PQ) = w^T (CRS x K) y_n (K x PQ), then col2im. */
        CLG_TRY(clb(CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeYes,
                                               CLBlastTransposeNo, crs, pq, K, 1.0f, a->w.buf,
                                               a->w.off / 4, crs, 0, a->y.buf, a->y.off / 4, pq,
                                               K * pq, 0.0f, a->col.buf, 0, pq, crs * pq,
                                               (size_t)d->N, &ctx->queue, NULL),
                    "CLBlastSgemmStridedBatched"));
        /* col2im adds into the image: clear it first. */
        CLG_TRY(clg_fill(ctx, &a->x, 0.0f));
        for (int n = 0; n < d->N; n++)
            CLG_TRY(clb(CLBlastScol2im(CLBlastKernelModeCrossCorrelation, (size_t)d->C,
                                       (size_t)d->H, (size_t)d->W, (size_t)d->R, (size_t)d->S,
                                       (size_t)d->pad, (size_t)d->pad, (size_t)d->stride,
                                       (size_t)d->stride, 1, 1, a->col.buf, (size_t)n * crs * pq,
                                       a->x.buf, a->x.off / 4 + (size_t)n * d->C * d->H * d->W,
                                       &ctx->queue, NULL),
                        "CLBlastScol2im"));
        return CLG_OK;
    }
    /* dw (K x CRS) += sum_n y_n (K x PQ) col_n^T (PQ x CRS) */
    CLG_TRY(im2col_all(ctx, a));
    for (int n = 0; n < d->N; n++)
        CLG_TRY(clb(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, K,
                                 crs, pq, 1.0f, a->y.buf, a->y.off / 4 + (size_t)n * K * pq, pq,
                                 a->col.buf, (size_t)n * crs * pq, pq, 1.0f, a->dw.buf,
                                 a->dw.off / 4, crs, &ctx->queue, NULL),
                    "CLBlastSgemm"));
    return CLG_OK;
}

/* ---- one layer ------------------------------------------------------------ */

/* The tensor the direction writes. */
static const clg_tensor *result_of(const conv_arg *a) {
    return a->conv_op == CLG_CONV_FWD ? &a->y : a->conv_op == CLG_CONV_BWD_DATA ? &a->x : &a->dw;
}

/* Run clgan and `other` once from the same inputs and compare. */
static clg_status verify(clg_ctx *ctx, conv_arg *a, bench_op other, const char *what) {
    const clg_tensor *res = result_of(a);
    clg_tensor keep = *res;
    if (a->conv_op == CLG_CONV_BWD_WEIGHT) CLG_TRY(clg_fill(ctx, &a->dw, 0.0f));
    CLG_TRY(op_clgan(ctx, a));
    clg_tensor ref = a->check;
    ref.n = keep.n, ref.c = keep.c, ref.h = keep.h, ref.w = keep.w;
    CLG_TRY(clg_copy(ctx, &ref, &keep));
    if (a->conv_op == CLG_CONV_BWD_WEIGHT) CLG_TRY(clg_fill(ctx, &a->dw, 0.0f));
    CLG_TRY(other(ctx, a));
    double err = 0;
    CLG_TRY(bench_rel_diff(ctx, &keep, &ref, &err));
    if (!(err <= 1e-3))
        return clg_fail(CLG_ERR_UNSUPPORTED, "bench conv: %s disagrees with clgan (rel err %.3g)",
                        what, err);
    return CLG_OK;
}

typedef struct {
    double ours_ms, best_ms, flops;
} step_sum;

/* A "_step" pair of records: clgan's sum, and the best CLBlast paths' sum
 * unless the references were skipped. */
static clg_status add_step(bench_state *st, const char *name, double ours_ms, double best_ms,
                           double flops) {
    char sh[96];
    if (st->no_refs) snprintf(sh, sizeof sh, "fwd + bwd_data + bwd_weight");
    else snprintf(sh, sizeof sh, "ratio %.2fx vs best CLBlast", best_ms / ours_ms);
    CLG_TRY(bench_add(st, name, sh, "clgan", ours_ms, flops, 0));
    return st->no_refs ? CLG_OK : bench_add(st, name, sh, "clblast_best", best_ms, flops, 0);
}

static clg_status bench_layer_run(bench_state *st, const bench_layer *l, const char *filter,
                                  step_sum *net) {
    clg_ctx *ctx = st->ctx;
    static const char *dirs[3] = {"fwd", "bwd_data", "bwd_weight"};
    char names[3][64];
    int want = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(names[i], sizeof names[i], "conv_%s_%s_%s", l->net, l->name, dirs[i]);
        want |= bench_wanted(filter, names[i]);
    }
    if (!want) return CLG_OK;
    conv_arg a;
    memset(&a, 0, sizeof a);
    if (l->transposed)
        CLG_TRY(clg_conv_transpose_desc_init(&a.d, BATCH, l->Cin, l->Hin, l->Hin, l->Cout, l->R,
                                             l->R, l->st, l->pad));
    else
        CLG_TRY(clg_conv_desc_init(&a.d, BATCH, l->Cin, l->Hin, l->Hin, l->Cout, l->R, l->R,
                                   l->st, l->pad));
    const clg_conv_desc *d = &a.d;
    clg_status rc = CLG_OK;
    size_t ncol = (size_t)d->N * d->C * d->R * d->S * d->P * d->Q;
    size_t nx = (size_t)d->N * d->C * d->H * d->W, ny = (size_t)d->N * d->K * d->P * d->Q;
    size_t nw = (size_t)d->K * d->C * d->R * d->S;
    size_t nmax = nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &a.x, d->N, d->C, d->H, d->W, "bench conv x"), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &a.y, d->N, d->K, d->P, d->Q, "bench conv y"), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &a.w, d->K, d->C, d->R, d->S, "bench conv w"), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &a.dw, d->K, d->C, d->R, d->S, "bench conv dw"), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &a.col, 1, (int)ncol, 1, 1, "bench conv im2col"), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &a.check, 1, (int)nmax, 1, 1, "bench conv check"), done);
    {
        /* Non-trivial data so the comparison means something. */
        float *h = malloc(nmax * sizeof *h);
        if (!h) {
            rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
            goto done;
        }
        uint64_t s = 88172645463325252ULL;
        for (size_t i = 0; i < nmax; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            h[i] = (float)((s >> 40) * (1.0 / 16777216.0)) - 0.5f;
        }
        rc = clg_tensor_upload(ctx, &a.x, h);
        if (rc == CLG_OK) rc = clg_tensor_upload(ctx, &a.y, h);
        if (rc == CLG_OK) rc = clg_tensor_upload(ctx, &a.w, h);
        free(h);
        if (rc != CLG_OK) goto done;
    }
    char shape[96];
    snprintf(shape, sizeof shape, "%s N%d %d->%d %dx%d k%d s%d p%d",
             l->transposed ? "convT" : "conv", BATCH, l->Cin, l->Cout, l->Hin, l->Hin, l->R,
             l->st, l->pad);
    double flops = clg_conv_flops(d), ours_sum = 0, best_sum = 0;
    int all3 = 1;
    for (int i = 0; i < 3; i++) {
        if (!bench_wanted(filter, names[i])) {
            all3 = 0;
            continue;
        }
        /* Layer direction -> the conv GEMM: a transposed layer's fwd is
         * conv's bwd_data and its bwd_data conv's fwd. */
        a.conv_op = i == 2 ? CLG_CONV_BWD_WEIGHT
                  : (i == 0) != (l->transposed != 0) ? CLG_CONV_FWD : CLG_CONV_BWD_DATA;
        double ms, best = 1e30;
        CLG_TRY_GOTO(bench_time(st, op_clgan, &a, &ms), done);
        CLG_TRY_GOTO(bench_add(st, names[i], shape, "clgan", ms, flops, 0), done);
        ours_sum += ms;
        if (st->no_refs) continue;
        if (a.conv_op == CLG_CONV_FWD) {
            double cms;
            CLG_TRY_GOTO(verify(ctx, &a, op_convgemm, "CLBlastSconvgemm"), done);
            CLG_TRY_GOTO(bench_time(st, op_convgemm, &a, &cms), done);
            CLG_TRY_GOTO(bench_add(st, names[i], shape, "clblast_convgemm", cms, flops, 0), done);
            if (cms < best) best = cms;
        }
        double gms;
        CLG_TRY_GOTO(verify(ctx, &a, op_im2col_gemm, "CLBlast im2col + SGEMM"), done);
        CLG_TRY_GOTO(bench_time(st, op_im2col_gemm, &a, &gms), done);
        CLG_TRY_GOTO(bench_add(st, names[i], shape, "clblast_im2col_gemm", gms, flops, 0), done);
        if (gms < best) best = gms;
        best_sum += best;
        printf("  -> %s: clgan / best CLBlast = %.2fx\n", names[i], best / ms);
    }
    if (all3) {
        char nm[64];
        snprintf(nm, sizeof nm, "conv_%s_%s_step", l->net, l->name);
        CLG_TRY_GOTO(add_step(st, nm, ours_sum, best_sum, 3 * flops), done);
        net->ours_ms += ours_sum;
        net->best_ms += best_sum;
        net->flops += 3 * flops;
    }
done:
    clg_tensor_free(ctx, &a.x);
    clg_tensor_free(ctx, &a.y);
    clg_tensor_free(ctx, &a.w);
    clg_tensor_free(ctx, &a.dw);
    clg_tensor_free(ctx, &a.col);
    clg_tensor_free(ctx, &a.check);
    return rc;
}

clg_status bench_conv(bench_state *st, const char *filter) {
    const char *nets[3] = {"dcgan64", "dcgan32", "fmnist32"};
    for (int k = 0; k < 3; k++) {
        step_sum net = {0, 0, 0};
        int complete = 1;
        for (int i = 0; i < NLAYERS; i++) {
            if (strcmp(layers[i].net, nets[k])) continue;
            double before = net.flops;
            CLG_TRY(bench_layer_run(st, &layers[i], filter, &net));
            if (net.flops == before) complete = 0;
        }
        if (complete && net.flops > 0) {
            char nm[64];
            snprintf(nm, sizeof nm, "conv_%s_step", nets[k]);
            CLG_TRY(add_step(st, nm, net.ours_ms, net.best_ms, net.flops));
        }
    }
    return CLG_OK;
}
